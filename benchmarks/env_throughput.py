"""Environment steps per second on one CPU core, against re-encoding the text every step.

Each env is made with ``gymnasium.make`` (so the Gymnasium wrappers are included) on the
embedded dataset with the default encoder, and stepped by the same cheap policy (the first
valid action of ``info["action_mask"]``) for a fixed number of steps, resetting at episode
ends, after an untimed warm-up of the same loop (first touches of the memory-mapped cache,
lazy imports). The baseline is the same env and loop, wrapped so that every step first tokenizes
and encodes the current example again — what an env without an encoded cache (NLPGym's,
for one) pays per step. The ratio cached/baseline is printed for each env (target for
NER: >= 20,000 steps/s in compact mode with every reward, and >= 100x the baseline).

    python benchmarks/env_throughput.py                 # all envs
    python benchmarks/env_throughput.py --env NER-v0 --steps 50000
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import gymnasium as gym
import numpy as np
import torch

import text_envs
from text_envs.cache import layout_named, padded_batch
from text_envs.encoders import DEFAULT_ENCODER
from text_envs.tasks import SPECS


def _cases():
    """(env id, extra make() arguments, label): every task with its default options, and NER (whose
    step cost depends most on the reward: the entity-F1 tracker) with every reward."""
    for env_id, spec in SPECS.items():
        name = env_id.split("/", 1)[1]
        if spec.name == "NER":
            yield from ((name, {"reward": reward}, f"reward={reward}") for reward in spec.rewards)
        else:
            yield name, {}, ""


CASES = list(_cases())


class ReencodeEveryStep(gym.Wrapper):
    """Before every step, tokenize and encode the current example's text again."""

    def step(self, action):
        env = self.env.unwrapped
        layout = layout_named(env.encoded.layout)
        segments = layout.segments(env.record)
        tokenized = env.encoder.tokenize(segments, layout.kind, max_length=env.encoded.max_length)
        batch = padded_batch(tokenized, np.arange(len(tokenized)), env.encoder.tokenizer.pad_token_id or 0)
        env.encoder.forward(*(torch.from_numpy(a) for a in batch[:3]))
        return self.env.step(action)


def run(env: gym.Env, steps: int, info: dict) -> dict:
    for _ in range(steps):
        _, _, terminated, truncated, info = env.step(int(info["action_mask"].argmax()))
        if terminated or truncated:
            _, info = env.reset()
    return info


def steps_per_second(env: gym.Env, steps: int, warmup: int, seed: int = 0) -> float:
    _, info = env.reset(seed=seed)
    info = run(env, warmup, info)
    start = time.perf_counter()
    run(env, steps, info)
    return steps / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", action="append", help="env id without namespace (repeatable; default: all)")
    parser.add_argument("--steps", type=int, default=20_000, help="steps of the cached env per case")
    parser.add_argument("--baseline-steps", type=int, default=200, help="steps of the re-encoding baseline")
    parser.add_argument("--encoder", default=DEFAULT_ENCODER)
    parser.add_argument("--observation", default="compact")
    args = parser.parse_args()

    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    torch.set_num_threads(1)
    cases = [c for c in CASES if not args.env or c[0] in args.env]
    print(f"one CPU core ({platform.processor() or platform.machine()}), torch {torch.__version__}, "
          f"gymnasium {gym.__version__}, text-envs {text_envs.__version__}; encoder {args.encoder}; "
          f"observation={args.observation}; policy: first valid action")
    print(f"{'env':<22}{'options':<26}{'cached steps/s':>16}{'re-encoding steps/s':>22}{'ratio':>10}")
    for name, kwargs, label in cases:
        make = lambda: gym.make(f"text_envs/{name}", encoder=args.encoder,
                                observation=args.observation, **kwargs)
        cached = steps_per_second(make(), args.steps, warmup=args.steps)
        baseline = steps_per_second(ReencodeEveryStep(make()), args.baseline_steps, warmup=10)
        print(f"{name:<22}{label:<26}{cached:>16,.0f}{baseline:>22,.1f}{cached / baseline:>9,.0f}x")


if __name__ == "__main__":
    main()
