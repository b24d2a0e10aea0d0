"""Your own torch policy, trained by the native ``agents.PPO`` on ``text_envs.vector`` envs.

What it shows: the native trainer takes any ``nn.Module`` whose
``forward(observation, action_mask=None)`` returns ``(logits, values)`` for a batch: here
a small attention policy for NER written from scratch, on the ``sequence`` observation
(every word's encoder state, which words exist, the tags chosen so far and the cursor).
The word being tagged, with the tag before it, attends over the words around it (four on
each side by default, each marked with its offset: a word's neighbours say most about its
tag); an MLP on the word, what it attended to and the previous tag gives the tag logits
and the value. The trainer steps a ``TorchVectorEnv`` (``text_envs.vector``): observations
arrive as a dict of tensors, and rollouts, GAE and minibatches stay on one device.

Contract of a policy for ``agents.PPO`` / ``agents.A2C``:

* ``policy=`` a class (built as ``cls(observation_space, action_space, **policy_kwargs)``,
  as here), or a ready instance;
* ``forward(observation, action_mask=None)``: ``observation`` is a batch (a dict of
  tensors for ``sequence``), ``action_mask`` a bool tensor ``[B, n_actions]`` or ``None``
  (the critic's bootstrap call passes none); return float logits ``[B, n_actions]``, with
  masked actions set very low (-1e8), and values ``[B]``.

Run it (defaults: NER, MiniLM states, 100k env steps, a minute or two on a laptop CPU):

    python examples/custom_policy.py
    python examples/custom_policy.py --encoder tiny --timesteps 4096   # the tests' settings

The policy reads NER's observation; ``--env`` takes another NER id (e.g. a future
version), other tasks need a policy of their own.
"""

import argparse
import math
import time

import numpy as np
import torch
from torch import nn

import text_envs
from agents import PPO
from agents.baselines import RandomAgent
from text_envs.vector import make_torch_vec_env
from text_envs.encoders import DEFAULT_ENCODER

MASKED_LOGIT = -1e8  # exp() of it is exactly 0 in float32: a masked action is never sampled


class WordAttentionPolicy(nn.Module):
    """Actor-critic for NER's ``sequence`` observation: the word being tagged attends over its neighbours."""

    def __init__(self, observation_space, action_space, hidden: int = 128, window: int = 4):
        super().__init__()
        state_size = observation_space["states"].shape[-1]
        self.n_tags, self.window = int(action_space.n), window
        self.project = nn.Linear(state_size, hidden)                  # encoder state -> hidden
        self.offset = nn.Embedding(2 * window + 1, hidden)             # where a word sits relative to the cursor
        self.previous_tag = nn.Embedding(self.n_tags + 1, hidden)      # index n_tags: sentence start
        self.query = nn.Linear(2 * hidden, hidden)
        self.key = nn.Linear(hidden, hidden)
        self.value = nn.Linear(hidden, hidden)
        self.trunk = nn.Sequential(nn.Linear(3 * hidden, hidden), nn.Tanh(), nn.Linear(hidden, hidden), nn.Tanh())
        self.actor = nn.Linear(hidden, self.n_tags)
        self.critic = nn.Linear(hidden, 1)
        nn.init.orthogonal_(self.actor.weight, 0.01)  # a near-uniform first policy
        nn.init.zeros_(self.actor.bias)
        self.register_buffer("offsets", torch.arange(-window, window + 1))

    def forward(self, observation, action_mask=None):
        states, exists = observation["states"], observation["mask"].bool()   # [B, W, H], [B, W]
        words = exists.shape[1]
        # after an episode's last word the cursor may point past the sentence: clamp it
        cursor = observation["cursor"].long().clamp(max=words - 1)            # [B, 1]

        # the window of words around the cursor, cursor - window ... cursor + window: [B, 2 * window + 1]
        positions = cursor + self.offsets
        inside = (positions >= 0) & (positions < words)
        positions = positions.clamp(0, words - 1)
        inside = inside & exists.gather(1, positions)
        inside[:, self.window] = True                                         # the cursor word itself, always
        nearby = states.gather(1, positions[..., None].expand(-1, -1, states.shape[-1]))
        nearby = self.project(nearby.float()) + self.offset.weight            # [B, 2 * window + 1, hidden]
        word = nearby[:, self.window]                                         # the word being tagged

        tags = observation["tags"].long()
        previous = tags.gather(1, (cursor - 1).clamp(min=0))[:, 0]
        previous = torch.where(cursor[:, 0] == 0, self.n_tags, previous)     # no previous tag at the start
        previous = self.previous_tag(previous)                               # [B, hidden]

        # single-head attention of the cursor word (and the tag before it) over the window
        query = self.query(torch.cat([word, previous], -1))                  # [B, hidden]
        scores = torch.einsum("bh,bwh->bw", query, self.key(nearby)) / math.sqrt(query.shape[-1])
        weights = scores.masked_fill(~inside, float("-inf")).softmax(-1)
        context = torch.einsum("bw,bwh->bh", weights, self.value(nearby))

        features = self.trunk(torch.cat([word, context, previous], -1))
        logits = self.actor(features)
        if action_mask is not None:
            logits = logits.masked_fill(~action_mask.bool(), MASKED_LOGIT)
        return logits, self.critic(features).squeeze(-1)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="text_envs/NER-v0", help="a NER env id")
    parser.add_argument("--encoder", default=DEFAULT_ENCODER, help="encoder name or folder ('tiny' for tests)")
    parser.add_argument("--timesteps", type=int, default=100_000, help="env steps of training")
    parser.add_argument("--n-envs", type=int, default=16)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--max-words", type=int, default=48,
                        help="words the observation holds (the embedded set's longest sentence has 39)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu", help="cpu, cuda or auto")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    # the rollout buffer holds [n_steps, n_envs, max_words, encoder size] states, and each minibatch copies its
    # share: float16 states (the policy casts them) and no more words than the data needs keep that small
    env_kwargs = {"encoder": args.encoder, "observation": "sequence", "dtype": np.float16,
                  "max_words": args.max_words}
    venv = make_torch_vec_env(args.env, args.n_envs, device=args.device, seed=args.seed, **env_kwargs)
    model = PPO(WordAttentionPolicy, venv, policy_kwargs={"hidden": args.hidden}, seed=args.seed,
                n_steps=64, batch_size=512, n_epochs=10, learning_rate=1e-3, gamma=0.5, gae_lambda=0.9)
    print(f"policy: {sum(p.numel() for p in model.policy.parameters()):,} parameters, on {model.device}")

    def log(stats):
        if "episode_return" in stats and stats["num_timesteps"] % (args.timesteps // 5 or 1) < venv.num_envs * 64:
            print(f"step {stats['num_timesteps']:>7}  episode_return {stats['episode_return']:6.3f}  "
                  f"approx_kl {stats['approx_kl']:.4f}  explained_variance {stats['explained_variance']:.3f}  "
                  f"fps {stats['fps']:.0f}")

    start = time.time()
    model.learn(args.timesteps, callback=log)
    print(f"trained {model.num_timesteps} steps in {time.time() - start:.0f} s")

    # model.predict(observation, action_masks=...) is what evaluate() calls, one numpy observation at a time
    for name, agent in (("custom policy", model), ("random", RandomAgent(args.seed))):
        scores = text_envs.evaluate(args.env, agent, split="test", **env_kwargs)
        print(f"eval {name:<13} (test split): " + "  ".join(f"{key} {value:.3f}" for key, value in scores.items()
                                                          if key not in ("episodes", "truncated_episodes")))


if __name__ == "__main__":
    main()
