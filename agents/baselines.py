"""The reference points every RL figure is reported against, on the same frozen features.

* :class:`RandomAgent`: a uniformly random *valid* action each step (the floor an RL
  agent must clear; it uses the mask, as a masked RL agent does).
* :func:`heuristic_scores`: the simplest answer a practitioner would try first, built
  from the training split and scored on the evaluation split with the task's corpus
  metric; each task's spec names and defines it (``heuristic``, ``heuristic_predictions``).
  NER: each word's most frequent training tag (unseen words: ``O``). Summaries: Lead-3
  (the document's first three sentences). Classification: the majority label. QA has no
  such baseline here (random is its floor).
* :class:`SupervisedAgent`: the same :class:`~agents.policies.ActorCritic` architecture
  trained by cross-entropy on the env's gold actions (:meth:`TextEnv.expert_action`, with
  the gold history in the observation: teacher forcing), the ceiling a reward-only learner
  is compared to.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import torch
from tqdm.auto import tqdm

from text_envs.data import load
from text_envs.tasks import spec_of

from .policies import ActorCritic
from .tensors import as_batch, resolve_device

class RandomAgent:
    """``agent(observation, action_mask)``: a uniformly random valid action, from a seeded generator."""

    def __init__(self, seed: int | None = None) -> None:
        self.rng = np.random.default_rng(seed)

    def __call__(self, observation, action_mask: np.ndarray) -> int:
        return int(self.rng.choice(np.flatnonzero(action_mask)))


def heuristic_scores(env_id: str, dataset="embedded", split: str = "test") -> dict[str, float] | None:
    """The corpus metrics on ``split`` of the heuristic baseline of ``env_id``'s task (fitted on
    the train split of the same dataset); None for a task without one."""
    spec = spec_of(env_id)
    if spec.heuristic is None:
        return None
    train, data = load(spec.records, dataset, "train"), load(spec.records, dataset, split)
    return spec.scores(data, spec.heuristic_predictions(train, data))


class SupervisedAgent:
    """An :class:`ActorCritic` trained to imitate the env's expert (behaviour cloning).

    Use :meth:`fit` to train one; the agent then plays like an SB3 model
    (``predict(observation, action_masks=..., deterministic=True)``), so
    :func:`text_envs.evaluate` scores it as it scores the RL agents.
    """

    def __init__(self, policy: ActorCritic, device: str | torch.device = "auto") -> None:
        self.device = resolve_device(device)
        self.policy = policy.to(self.device).eval()
        self.samples_seen = 0  # (observation, gold action) pairs trained on: the env steps it cost

    @classmethod
    def fit(cls, env_id: str, *, env_kwargs: dict | None = None, policy_kwargs: dict | None = None,
            epochs: int = 10, batch_size: int = 64, learning_rate: float = 1e-3, seed: int = 0,
            device: str | torch.device = "auto", progress: bool = False) -> SupervisedAgent:
        """Train on every example of the env's split (``env_kwargs``, default train), ``epochs`` passes.

        Each pass plays the expert through every example in a fresh random order and takes
        one Adam step per ``batch_size`` (observation, mask, expert action) triples, so
        memory holds one batch at a time whatever the split's size. The expert is
        deterministic, so its actions are worked out in the first pass and replayed after
        (Summarize's greedy ROUGE expert scores every sentence at every step).
        """
        env = gym.make(env_id, **(env_kwargs or {})).unwrapped
        torch.manual_seed(seed)
        policy = ActorCritic(env.observation_space, env.action_space, **(policy_kwargs or {}))
        agent = cls(policy, device)
        optimizer = torch.optim.Adam(agent.policy.parameters(), lr=learning_rate)
        rng = np.random.default_rng(seed)
        agent.policy.train()
        bar = tqdm(total=epochs * env.num_examples, desc="supervised", unit="episode", disable=not progress)
        expert: dict[int, list[int]] = {}  # example index -> the expert's actions, from the first pass
        for _ in range(epochs):
            batch: list[tuple] = []
            for index in map(int, rng.permutation(env.num_examples)):
                observation, info = env.reset(options={"index": index})
                actions = expert.setdefault(index, [])
                step, done = 0, False
                while not done:
                    if step == len(actions):
                        actions.append(env.expert_action())
                    action = actions[step]
                    step += 1
                    batch.append((observation, info["action_mask"], action))
                    agent.samples_seen += 1
                    if len(batch) == batch_size:
                        agent._step(optimizer, batch)
                        batch = []
                    observation, _, terminated, truncated, info = env.step(action)
                    done = terminated or truncated
                bar.update()
            if batch:
                agent._step(optimizer, batch)
        bar.close()
        agent.policy.eval()
        return agent

    def _step(self, optimizer: torch.optim.Optimizer, batch: list[tuple]) -> None:
        observations, masks, actions = zip(*batch)
        logits, _ = self.policy(as_batch(observations, self.device),
                                torch.as_tensor(np.stack(masks), dtype=torch.bool, device=self.device))
        loss = torch.nn.functional.cross_entropy(logits, torch.as_tensor(actions, device=self.device))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    @torch.no_grad()
    def predict(self, observation, action_masks: np.ndarray | None = None, deterministic: bool = True):
        """The most likely valid action for one observation (``deterministic=False``: sampled)."""
        masks = None if action_masks is None else torch.as_tensor(
            np.asarray(action_masks)[None], dtype=torch.bool, device=self.device)
        logits, _ = self.policy(as_batch([observation], self.device), masks)
        action = logits.argmax(-1) if deterministic else torch.distributions.Categorical(logits=logits).sample()
        return int(action[0]), None
