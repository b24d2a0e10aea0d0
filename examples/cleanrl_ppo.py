"""PPO in one file, CleanRL style, on text-envs through ``gymnasium.vector``.

What it shows: a text-envs env is an ordinary Gymnasium env. Nothing of text-envs is used
here but its env ids (``import text_envs`` registers them): the vector env is Gymnasium's
``SyncVectorEnv`` (``AsyncVectorEnv`` with ``--async-envs``), the actor-critic a small
torch MLP on the ``compact`` observation (the current word's encoder state, the previous
tag and the progress, for NER), actions are sampled under the masks in
``infos["action_mask"]``, and the update is PPO's clipped objective on GAE advantages, all
written out below. At the end the greedy policy plays
every example of the test split once, and so does a random masked policy, for comparison.

Autoreset: Gymnasium 1.x vector envs reset a finished sub-env on the *next* ``step()`` by
default, a step whose action is ignored and whose reward is 0; counted as a transition it
would teach the agent nothing true. This script asks for ``AutoresetMode.SAME_STEP``
instead: the terminal step already returns the next episode's first observation (and its
mask), and the finished episode's ``info`` is in ``infos["final_info"]``, so every stored
transition is a real one.

Run it (defaults: NER, MiniLM states, 100k env steps, half a minute on a laptop CPU):

    python examples/cleanrl_ppo.py
    python examples/cleanrl_ppo.py --env text_envs/Classify-v0 --gamma 0.99 --timesteps 20000
    python examples/cleanrl_ppo.py --encoder tiny --timesteps 4096   # the tests' settings
    python examples/cleanrl_ppo.py --async-envs   # the envs in subprocesses (AsyncVectorEnv)

The MLP reads the flattened compact observation, which suits NER, Classify,
ClassifyReading and Summarize; QA's compact observation is one row per token, better read
by a pointer policy (``agents.ActorCritic`` does that).
"""

import argparse
import random
import time

import gymnasium as gym
import numpy as np
import torch
from torch import nn
from torch.distributions.categorical import Categorical

import text_envs  # noqa: F401  (registers the text_envs/... ids; nothing else of it is used)
from text_envs.encoders import DEFAULT_ENCODER


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="text_envs/NER-v0", help="env id")
    parser.add_argument("--encoder", default=DEFAULT_ENCODER, help="encoder name or folder ('tiny' for tests)")
    parser.add_argument("--timesteps", type=int, default=100_000, help="total env steps of training")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--num-envs", type=int, default=16, help="parallel envs in the vector env")
    parser.add_argument("--async-envs", action="store_true",
                        help="step the envs in subprocesses (gymnasium's AsyncVectorEnv) instead of in this one")
    parser.add_argument("--num-steps", type=int, default=128, help="steps per env in each rollout")
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--anneal-lr", action=argparse.BooleanOptionalAction, default=True)
    # NER's token reward is immediate: a short horizon keeps later words' noise out of each advantage
    parser.add_argument("--gamma", type=float, default=0.5)
    parser.add_argument("--gae-lambda", type=float, default=0.9)
    parser.add_argument("--num-minibatches", type=int, default=4)
    parser.add_argument("--update-epochs", type=int, default=10)
    parser.add_argument("--clip-coef", type=float, default=0.2)
    parser.add_argument("--ent-coef", type=float, default=0.0)
    parser.add_argument("--vf-coef", type=float, default=0.5)
    parser.add_argument("--max-grad-norm", type=float, default=0.5)
    parser.add_argument("--hidden", type=int, default=256, help="width of the MLPs")
    args = parser.parse_args(argv)
    args.batch_size = args.num_envs * args.num_steps
    args.minibatch_size = args.batch_size // args.num_minibatches
    args.num_iterations = max(1, args.timesteps // args.batch_size)
    return args


def make_env(env_id, encoder, split="train"):
    def thunk():
        return gym.make(env_id, encoder=encoder, split=split)
    return thunk


def layer_init(layer, std=2 ** 0.5, bias_const=0.0):
    nn.init.orthogonal_(layer.weight, std)
    nn.init.constant_(layer.bias, bias_const)
    return layer


class Agent(nn.Module):
    """Separate actor and critic MLPs on the flattened observation."""

    def __init__(self, obs_size, n_actions, hidden):
        super().__init__()
        self.critic = nn.Sequential(
            layer_init(nn.Linear(obs_size, hidden)), nn.Tanh(),
            layer_init(nn.Linear(hidden, hidden)), nn.Tanh(),
            layer_init(nn.Linear(hidden, 1), std=1.0),
        )
        self.actor = nn.Sequential(
            layer_init(nn.Linear(obs_size, hidden)), nn.Tanh(),
            layer_init(nn.Linear(hidden, hidden)), nn.Tanh(),
            layer_init(nn.Linear(hidden, n_actions), std=0.01),
        )

    def get_value(self, x):
        return self.critic(x.flatten(1)).squeeze(-1)

    def get_action_and_value(self, x, mask, action=None):
        logits = self.actor(x.flatten(1))
        # invalid actions: a logit so low that their probability is exactly 0 (and entropy ignores them)
        logits = torch.where(mask, logits, torch.tensor(-1e8, dtype=logits.dtype))
        probs = Categorical(logits=logits)
        if action is None:
            action = probs.sample()
        return action, probs.log_prob(action), probs.entropy(), self.get_value(x)

    def greedy_action(self, x, mask):
        logits = self.actor(x.flatten(1))
        return torch.where(mask, logits, torch.tensor(-1e8, dtype=logits.dtype)).argmax(-1)


def evaluate(env_id, encoder, choose_action):
    """Play every example of the test split once; mean return and mean per-episode metrics."""
    env = gym.make(env_id, encoder=encoder, split="test")
    returns, metrics = [], {}
    for index in range(env.unwrapped.num_examples):
        obs, info = env.reset(options={"index": index})  # example `index` of the split
        done, total = False, 0.0
        while not done:
            obs, reward, terminated, truncated, info = env.step(choose_action(obs, info["action_mask"]))
            total += reward
            done = terminated or truncated
        returns.append(total)
        for key, value in info["metrics"].items():
            metrics.setdefault(key, []).append(value)
    env.close()
    return {"mean_return": float(np.mean(returns)), **{key: float(np.mean(v)) for key, v in metrics.items()}}


def main(argv=None):
    args = parse_args(argv)
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)

    # env setup: same-step autoreset (see the docstring)
    vector_env = gym.vector.AsyncVectorEnv if args.async_envs else gym.vector.SyncVectorEnv
    envs = vector_env([make_env(args.env, args.encoder) for _ in range(args.num_envs)],
                      autoreset_mode=gym.vector.AutoresetMode.SAME_STEP)
    obs_shape, n_actions = envs.single_observation_space.shape, envs.single_action_space.n
    agent = Agent(int(np.prod(obs_shape)), n_actions, args.hidden)
    optimizer = torch.optim.Adam(agent.parameters(), lr=args.learning_rate, eps=1e-5)

    # rollout storage
    obs = torch.zeros((args.num_steps, args.num_envs) + obs_shape)
    masks = torch.zeros((args.num_steps, args.num_envs, n_actions), dtype=torch.bool)
    actions = torch.zeros((args.num_steps, args.num_envs), dtype=torch.long)
    logprobs = torch.zeros((args.num_steps, args.num_envs))
    rewards = torch.zeros((args.num_steps, args.num_envs))
    dones = torch.zeros((args.num_steps, args.num_envs))
    values = torch.zeros((args.num_steps, args.num_envs))

    global_step, start_time = 0, time.time()
    next_obs, infos = envs.reset(seed=args.seed)
    next_obs, next_mask = torch.as_tensor(next_obs, dtype=torch.float32), torch.as_tensor(infos["action_mask"])
    next_done = torch.zeros(args.num_envs)
    episode_returns = np.zeros(args.num_envs)
    finished_returns = []

    for iteration in range(1, args.num_iterations + 1):
        if args.anneal_lr:
            optimizer.param_groups[0]["lr"] = (1.0 - (iteration - 1.0) / args.num_iterations) * args.learning_rate

        for step in range(args.num_steps):
            global_step += args.num_envs
            obs[step], masks[step], dones[step] = next_obs, next_mask, next_done
            with torch.no_grad():
                action, logprob, _, value = agent.get_action_and_value(next_obs, next_mask)
            actions[step], logprobs[step], values[step] = action, logprob, value

            next_obs, reward, terminations, truncations, infos = envs.step(action.numpy())
            rewards[step] = torch.as_tensor(reward, dtype=torch.float32)
            # a masked agent is never truncated here; a truncation would be treated as the end, as CleanRL does
            done = np.logical_or(terminations, truncations)
            next_obs, next_mask = torch.as_tensor(next_obs, dtype=torch.float32), torch.as_tensor(infos["action_mask"])
            next_done = torch.as_tensor(done, dtype=torch.float32)
            episode_returns += reward
            finished_returns.extend(episode_returns[done])
            episode_returns[done] = 0.0

        # bootstrap value if not done, then GAE backwards through the rollout
        with torch.no_grad():
            next_value = agent.get_value(next_obs)
            advantages = torch.zeros_like(rewards)
            lastgaelam = 0
            for t in reversed(range(args.num_steps)):
                if t == args.num_steps - 1:
                    nextnonterminal, nextvalues = 1.0 - next_done, next_value
                else:
                    nextnonterminal, nextvalues = 1.0 - dones[t + 1], values[t + 1]
                delta = rewards[t] + args.gamma * nextvalues * nextnonterminal - values[t]
                advantages[t] = lastgaelam = delta + args.gamma * args.gae_lambda * nextnonterminal * lastgaelam
            returns = advantages + values

        # flatten the batch
        b_obs, b_masks = obs.reshape((-1,) + obs_shape), masks.reshape(-1, n_actions)
        b_actions, b_logprobs = actions.reshape(-1), logprobs.reshape(-1)
        b_advantages, b_returns, b_values = advantages.reshape(-1), returns.reshape(-1), values.reshape(-1)

        # optimize the policy and value network
        b_inds = np.arange(args.batch_size)
        clipfracs = []
        for epoch in range(args.update_epochs):
            np.random.shuffle(b_inds)
            for start in range(0, args.batch_size, args.minibatch_size):
                mb_inds = b_inds[start:start + args.minibatch_size]
                _, newlogprob, entropy, newvalue = agent.get_action_and_value(
                    b_obs[mb_inds], b_masks[mb_inds], b_actions[mb_inds])
                logratio = newlogprob - b_logprobs[mb_inds]
                ratio = logratio.exp()
                with torch.no_grad():
                    approx_kl = ((ratio - 1) - logratio).mean()
                    clipfracs.append(((ratio - 1.0).abs() > args.clip_coef).float().mean().item())

                mb_advantages = b_advantages[mb_inds]
                mb_advantages = (mb_advantages - mb_advantages.mean()) / (mb_advantages.std() + 1e-8)

                # policy loss: the clipped surrogate objective
                pg_loss1 = -mb_advantages * ratio
                pg_loss2 = -mb_advantages * torch.clamp(ratio, 1 - args.clip_coef, 1 + args.clip_coef)
                pg_loss = torch.max(pg_loss1, pg_loss2).mean()
                v_loss = 0.5 * ((newvalue - b_returns[mb_inds]) ** 2).mean()
                entropy_loss = entropy.mean()
                loss = pg_loss - args.ent_coef * entropy_loss + v_loss * args.vf_coef

                optimizer.zero_grad()
                loss.backward()
                nn.utils.clip_grad_norm_(agent.parameters(), args.max_grad_norm)
                optimizer.step()

        y_pred, y_true = b_values.numpy(), b_returns.numpy()
        var_y = np.var(y_true)
        explained_var = np.nan if var_y == 0 else 1 - np.var(y_true - y_pred) / var_y
        if iteration % max(1, args.num_iterations // 10) == 0 or iteration == args.num_iterations:
            recent = np.mean(finished_returns[-100:]) if finished_returns else float("nan")
            print(f"step {global_step:>7}  episodic_return {recent:6.3f}  value_loss {v_loss.item():.4f}  "
                  f"approx_kl {approx_kl.item():.4f}  clipfrac {np.mean(clipfracs):.3f}  "
                  f"explained_var {explained_var:.3f}  SPS {int(global_step / (time.time() - start_time))}")
    envs.close()

    # evaluation on the test split: the greedy policy, then a random masked one for comparison
    def greedy(observation, mask):
        with torch.no_grad():
            x = torch.as_tensor(observation, dtype=torch.float32)[None]
            return agent.greedy_action(x, torch.as_tensor(mask)[None]).item()

    rng = np.random.default_rng(args.seed)
    for name, policy in (("ppo", greedy), ("random", lambda observation, mask: rng.choice(np.flatnonzero(mask)))):
        scores = evaluate(args.env, args.encoder, policy)
        print(f"eval {name:<6} (test split): " + "  ".join(f"{key} {value:.3f}" for key, value in scores.items()))
    print(f"trained {global_step} steps in {time.time() - start_time:.0f} s")


if __name__ == "__main__":
    main()
