"""PPO against A2C on one env, the same budget of env steps: learning curves on the validation split.

Trains the native :class:`agents.PPO` and :class:`agents.A2C` on the NER (or Classify) env
with the settings ``text-envs train`` uses (``agents.train.RunConfig(...).hyperparameters``:
PPO 16 envs x 128 steps, 10 epochs of 512, learning rate 1e-3; A2C SB3's defaults, 16 envs
x 5 steps, one RMSprop step per rollout; NER's gamma=0.5, gae_lambda=0.9 for both), scores
the policy on validation every ``--eval-every`` env steps from the ``learn`` callback with
:func:`text_envs.evaluate`, prints a table and draws both curves into one PNG.
See ``docs/tutorials/ppo-vs-a2c.md``.

    python docs/tutorials/ppo_vs_a2c.py                        # NER, MiniLM, 100k steps each
    python docs/tutorials/ppo_vs_a2c.py --encoder tiny --timesteps 4096 --eval-every 2048 \\
        --eval-episodes 20 --examples 64 --out /tmp/curves.png    # seconds, for tests
"""

from __future__ import annotations

import argparse
import time

import gymnasium as gym
import torch

import text_envs
from agents import A2C, PPO
from agents.train import RunConfig
from text_envs.data import load
from text_envs.encoders import DEFAULT_ENCODER, Encoder
from text_envs.records import TaskDataset

ENVS = {"NER": ("ner", "entity_f1"), "Classify": ("classification", "accuracy")}
ALGORITHMS = {"ppo": PPO, "a2c": A2C}


def dataset(task: str, split: str, examples: int | None) -> TaskDataset | str:
    """The embedded split, or its first ``examples`` records."""
    if examples is None:
        return "embedded"
    full = load(task, "embedded", split)
    return TaskDataset(task, full.name, full.split, full.records[:examples], full.labels)


def learning_curve(algo: str, args, encoder: Encoder) -> dict:
    """Train one algorithm; its validation score at 0, every ``eval_every`` steps and at the end."""
    task, metric = ENVS[args.env]
    config = RunConfig(env=args.env, algo=algo, total_timesteps=args.timesteps, n_envs=args.n_envs, seed=args.seed)
    hyperparameters = config.hyperparameters
    model = ALGORITHMS[algo]("auto", config.env, n_envs=args.n_envs, seed=args.seed, device="cpu",
                             env_kwargs={"encoder": encoder, "dataset": dataset(task, "train", args.examples)},
                             **hyperparameters)
    validation = gym.make(config.env, dataset=dataset(task, "validation", args.examples), split="validation",
                          encoder=encoder)
    points, clock = [], {"train": 0.0, "since": time.perf_counter()}

    def score(target: int) -> None:
        clock["train"] += time.perf_counter() - clock["since"]
        scores = text_envs.evaluate(validation, model, episodes=args.eval_episodes)
        points.append((target, model.num_timesteps, scores[metric], clock["train"]))
        print(f"  {algo:3}  {model.num_timesteps:>8,} steps  validation {metric} {scores[metric]:.3f}  "
              f"({clock['train']:.1f} s of training)", flush=True)
        clock["since"] = time.perf_counter()

    def callback(stats: dict) -> None:  # after every update: score at the first one past each eval_every
        target = len(points) * args.eval_every
        if stats["num_timesteps"] >= target:
            score(target)

    score(0)
    model.learn(args.timesteps, callback=callback)
    if points[-1][1] != model.num_timesteps:
        score(model.num_timesteps)
    return {"algo": algo, "metric": metric, "points": points, "hyperparameters": hyperparameters,
            "steps_per_second": model.num_timesteps / max(clock["train"], 1e-9)}


def plot(curves: list[dict], path: str, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(6.4, 4.0), dpi=120)
    for curve in curves:
        _, steps, scores, _ = zip(*curve["points"])
        axis.plot(steps, scores, marker="o", markersize=3, label=curve["algo"].upper())
    axis.set_xlabel("env steps")
    axis.set_ylabel(f"validation {curves[0]['metric']}")
    axis.set_title(title, fontsize=10)
    axis.grid(alpha=0.3)
    axis.legend()
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--env", default="NER", choices=sorted(ENVS))
    parser.add_argument("--encoder", default=DEFAULT_ENCODER, help="encoder name ('tiny' for a quick run)")
    parser.add_argument("--timesteps", type=int, default=100_000, help="env steps per algorithm")
    parser.add_argument("--eval-every", type=int, default=10_000, help="env steps between validation scores")
    parser.add_argument("--eval-episodes", type=int, default=200, help="validation examples per score")
    parser.add_argument("--n-envs", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--examples", type=int, default=None, help="use only the first N records of each split")
    parser.add_argument("--out", default="ppo-vs-a2c.png", help="where to write the PNG")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch CPU threads (default: torch's; 1 is fastest for these small MLPs on a busy CPU)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)

    encoder = Encoder(args.encoder)
    print(f"{args.env}, encoder {encoder.name}, {args.timesteps:,} env steps each, seed {args.seed}")
    start = time.perf_counter()
    curves = [learning_curve(algo, args, encoder) for algo in ALGORITHMS]
    metric = curves[0]["metric"]

    print(f"\nvalidation {metric} at the first update past each step count")
    by_step = [{target: score for target, _, score, _ in curve["points"]} for curve in curves]
    print("| env steps | " + " | ".join(c["algo"].upper() for c in curves) + " |")
    print("|---:|" + "---:|" * len(curves))
    for step in sorted(set().union(*by_step)):
        cells = [f"{scores[step]:.3f}" if step in scores else "" for scores in by_step]
        print(f"| {step:,} | " + " | ".join(cells) + " |")
    print("\n| algorithm | final | best | training s | env steps/s | settings |")
    print("|---|---:|---:|---:|---:|---|")
    for curve in curves:
        scores = [score for _, _, score, _ in curve["points"]]
        settings = ", ".join(f"{key}={value}" for key, value in sorted(curve["hyperparameters"].items())) or "defaults"
        print(f"| {curve['algo'].upper()} | {scores[-1]:.3f} | {max(scores):.3f} | {curve['points'][-1][3]:.1f} | "
              f"{curve['steps_per_second']:,.0f} | {settings} |")
    plot(curves, args.out, f"{args.env}, {encoder.name}: PPO vs A2C, seed {args.seed}")
    print(f"\nwrote {args.out} ({time.perf_counter() - start:.0f} s in all)")
    return curves


if __name__ == "__main__":
    main()
