"""Returns, advantages and GAE, by hand, on one real episode of the NER env.

Trains PPO briefly on the NER env (or not at all: ``--timesteps 0`` keeps the random
initial policy), plays one validation sentence with it, and prints per word: the action,
the reward, the critic's value V(s_t), the TD error, the GAE advantage, the lambda-return
and the Monte-Carlo return, all computed by a plain loop below, then checked against
:func:`agents.rollout.compute_gae` (the function the trainer uses). It ends with lambda=0
(one-step TD) against lambda=1 (Monte Carlo) side by side. See ``docs/tutorials/gae.md``.

    python docs/tutorials/gae.py                                   # MiniLM, 30k steps of PPO
    python docs/tutorials/gae.py --encoder tiny --timesteps 2048 --examples 64   # seconds, for tests
"""

from __future__ import annotations

import argparse
import time

import gymnasium as gym
import torch

import text_envs  # noqa: F401  (registers the env ids)
from agents import PPO
from agents.rollout import compute_gae
from text_envs.data import load
from text_envs.encoders import DEFAULT_ENCODER, Encoder
from text_envs.records import TaskDataset

ENV_ID = "text_envs/NER-v0"


def dataset(split: str, examples: int | None) -> TaskDataset | str:
    """The embedded NER split, or its first ``examples`` sentences."""
    if examples is None:
        return "embedded"
    full = load("ner", "embedded", split)
    return TaskDataset("ner", full.name, full.split, full.records[:examples], full.labels)


def play_episode(model: PPO, env: gym.Env, index: int, generator: torch.Generator, deterministic: bool):
    """One episode of ``model``'s policy: per step the word, action, reward, V(s_t) and done."""
    base = env.unwrapped
    observation, info = env.reset(options={"index": index})
    steps, done = [], False
    while not done:
        obs = torch.as_tensor(observation, device=model.device)[None]
        mask = torch.as_tensor(info["action_mask"], device=model.device)[None]
        with torch.no_grad():
            logits, value = model.policy(obs, mask)
        probs = torch.softmax(logits[0], -1)
        action = int(probs.argmax()) if deterministic else int(torch.multinomial(probs, 1, generator=generator))
        t = len(steps)
        word, gold = base.record.tokens[t], base.record.tags[t]
        observation, reward, terminated, truncated, info = env.step(action)
        done = terminated or truncated
        steps.append({"word": word, "action": base.task_spec.tags[action], "gold": gold, "reward": float(reward),
                      "value": float(value[0]), "done": done})
    return steps, info


def gae_by_hand(rewards, values, dones, last_value, gamma, lam):
    """TD errors, GAE advantages and lambda-returns with a plain loop, backwards in time.

    delta_t = r_t + gamma * V(s_{t+1}) * (1 - done_t) - V(s_t)
    A_t     = delta_t + gamma * lam * (1 - done_t) * A_{t+1}
    R_t     = A_t + V(s_t)                                    (the lambda-return, the critic's target)
    """
    T = len(rewards)
    deltas, advantages = [0.0] * T, [0.0] * T
    next_advantage = 0.0
    for t in reversed(range(T)):
        next_value = values[t + 1] if t + 1 < T else last_value
        not_done = 0.0 if dones[t] else 1.0
        deltas[t] = rewards[t] + gamma * next_value * not_done - values[t]
        next_advantage = deltas[t] + gamma * lam * not_done * next_advantage
        advantages[t] = next_advantage
    returns = [a + v for a, v in zip(advantages, values)]
    return deltas, advantages, returns


def monte_carlo_returns(rewards, gamma):
    """G_t = r_t + gamma * r_{t+1} + gamma^2 * r_{t+2} + ... to the end of the episode."""
    returns, future = [0.0] * len(rewards), 0.0
    for t in reversed(range(len(rewards))):
        future = rewards[t] + gamma * future
        returns[t] = future
    return returns


def library_gae(rewards, values, dones, last_value, gamma, lam):
    """The same through agents.rollout.compute_gae: [T, N=1] float32 tensors, as in the trainer."""
    advantages, returns = compute_gae(torch.tensor(rewards)[:, None], torch.tensor(values)[:, None],
                                      torch.tensor(dones)[:, None], torch.tensor([last_value]),
                                      gamma=gamma, gae_lambda=lam)
    return advantages[:, 0].tolist(), returns[:, 0].tolist()


def check_close(name: str, ours, theirs, tolerance: float = 1e-4) -> float:
    difference = max(abs(a - b) for a, b in zip(ours, theirs))
    assert difference <= tolerance, f"{name}: the hand loop and compute_gae differ by {difference}"
    return difference


def table(header: list[str], rows: list[list], formats: list[str]) -> str:
    cells = [header] + [[format(value, spec) for value, spec in zip(row, formats)] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    return "\n".join("  ".join(cell.rjust(width) if i else cell.ljust(width) for i, (cell, width)
                               in enumerate(zip(row, widths))) for row in cells)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--encoder", default=DEFAULT_ENCODER, help="encoder name ('tiny' for a quick run)")
    parser.add_argument("--timesteps", type=int, default=30_000, help="PPO env steps before the episode (0: none)")
    parser.add_argument("--gamma", type=float, default=0.9)
    parser.add_argument("--gae-lambda", type=float, default=0.9)
    parser.add_argument("--index", type=int, default=3, help="the validation sentence to play")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--examples", type=int, default=None, help="use only the first N sentences of each split")
    parser.add_argument("--deterministic", action="store_true", help="play the policy's most likely tags")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch CPU threads (default: torch's; 1 is fastest for these small MLPs on a busy CPU)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    gamma, lam = args.gamma, args.gae_lambda

    encoder = Encoder(args.encoder)
    start = time.perf_counter()
    model = PPO("auto", ENV_ID, n_envs=16, seed=args.seed, gamma=gamma, gae_lambda=lam, learning_rate=1e-3,
                n_epochs=10, batch_size=512, device="cpu",
                env_kwargs={"encoder": encoder, "dataset": dataset("train", args.examples)})
    model.learn(args.timesteps)
    env = gym.make(ENV_ID, dataset=dataset("validation", args.examples), split="validation", encoder=encoder)
    generator = torch.Generator().manual_seed(args.seed)
    steps, info = play_episode(model, env, args.index, generator, args.deterministic)
    policy = f"PPO after {args.timesteps:,} env steps" if args.timesteps else "the untrained (random) policy"
    print(f"One NER episode: validation sentence {args.index}, encoder {encoder.name}, {policy} "
          f"({'most likely' if args.deterministic else 'sampled'} tags; trained in "
          f"{time.perf_counter() - start:.0f} s), gamma={gamma}, lambda={lam}\n")

    rewards = [s["reward"] for s in steps]
    values = [s["value"] for s in steps]
    dones = [s["done"] for s in steps]
    last_value = 0.0  # the episode terminated at its last step: nothing after it is bootstrapped
    deltas, advantages, lambda_returns = gae_by_hand(rewards, values, dones, last_value, gamma, lam)
    mc_returns = monte_carlo_returns(rewards, gamma)

    rows = [[t, s["word"], s["action"], s["gold"], s["reward"], s["value"], deltas[t], advantages[t],
             lambda_returns[t], mc_returns[t]] for t, s in enumerate(steps)]
    print(table(["t", "word", "action", "gold", "r_t", "V(s_t)", "delta_t", "A_t", "A_t+V(s_t)", "G_t"], rows,
                ["d", "s", "s", "s", ".0f", ".3f", "+.3f", "+.3f", ".3f", ".3f"]))
    print(f"\nepisode return {sum(rewards):g} (undiscounted), entity F1 {info['metrics']['entity_f1']:.3f}, "
          f"token accuracy {info['metrics']['token_accuracy']:.3f}")

    # the library computes the same numbers (float32 tensors, so equal up to rounding)
    library_advantages, library_returns = library_gae(rewards, values, dones, last_value, gamma, lam)
    a = check_close("advantages", advantages, library_advantages)
    r = check_close("returns", lambda_returns, library_returns)
    print(f"hand loop == agents.rollout.compute_gae: max |difference| {a:.1e} (advantages), {r:.1e} (returns)")

    # the two ends of lambda
    td, _ = library_gae(rewards, values, dones, last_value, gamma, 0.0)
    mc, mc_targets = library_gae(rewards, values, dones, last_value, gamma, 1.0)
    check_close("lambda=0 is the TD error", td, deltas)
    check_close("lambda=1 is G_t - V(s_t)", mc, [g - v for g, v in zip(mc_returns, values)])
    check_close("lambda=1's target is G_t", mc_targets, mc_returns)
    print("\nlambda=0: A_t = delta_t (one step of reward, then the critic's guess: low variance, biased by V)")
    print("lambda=1: A_t = G_t - V(s_t) (every reward to the end: unbiased, but every later random tag adds noise)")
    print(f"lambda={lam}: the exponentially weighted mix of the n-step estimates in between\n")
    rows = [[t, s["word"], s["reward"], td[t], advantages[t], mc[t]] for t, s in enumerate(steps)]
    print(table(["t", "word", "r_t", "A_t (lambda=0)", f"A_t (lambda={lam})", "A_t (lambda=1)"], rows,
                ["d", "s", ".0f", "+.3f", "+.3f", "+.3f"]))
    print()
    print("checked: lambda=0 gives delta_t, lambda=1 gives G_t - V(s_t) and the target G_t, for every t")


if __name__ == "__main__":
    main()
