"""Steps per second of the torch vector env against Gymnasium's SyncVectorEnv, same envs, same run.

For each case both vector envs run ``--num-envs`` copies of the env (made the same way, on
the embedded dataset), with same-step autoreset, stepped by the same cheap policy (the
first valid action of ``info["action_mask"]``, taken on the vector env's own device) for
``--steps`` vector steps after an untimed warm-up of the same loop. Env steps per second
(vector steps x num_envs) and their ratio are printed as a markdown table. The
SyncVectorEnv numbers are for observations on the host: a GPU trainer would copy them to
the device on top.

    python benchmarks/vector_throughput.py                               # all envs, device "auto"
    python benchmarks/vector_throughput.py --env NER-v0 --num-envs 256 --device cuda
    python benchmarks/vector_throughput.py --encoder tiny --threads 1    # quick, on a small CPU
"""

from __future__ import annotations

import argparse
import platform
import time
from functools import partial

import gymnasium as gym
import numpy as np
import torch
from gymnasium.vector import AutoresetMode

import text_envs
from env_throughput import CASES
from text_envs.encoders import DEFAULT_ENCODER
from text_envs.vector import make_torch_vec_env
from text_envs.vector.base import resolve_device


def torch_steps_per_second(venv, steps: int, warmup: int) -> float:
    def run(count, info):
        for _ in range(count):
            _, _, _, _, info = venv.step(info["action_mask"].to(torch.uint8).argmax(1))
        return info

    info = run(warmup, venv.reset(seed=0)[1])
    if venv.device.type == "cuda":
        torch.cuda.synchronize(venv.device)
    start = time.perf_counter()
    run(steps, info)
    if venv.device.type == "cuda":
        torch.cuda.synchronize(venv.device)
    return steps * venv.num_envs / (time.perf_counter() - start)


def sync_steps_per_second(envs: gym.vector.SyncVectorEnv, steps: int, warmup: int) -> float:
    def run(count, info):
        for _ in range(count):
            _, _, _, _, info = envs.step(np.argmax(info["action_mask"], axis=1))
        return info

    info = run(warmup, envs.reset(seed=0)[1])
    start = time.perf_counter()
    run(steps, info)
    return steps * envs.num_envs / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", action="append", help="env id without namespace (repeatable; default: all)")
    parser.add_argument("--num-envs", type=int, default=64)
    parser.add_argument("--steps", type=int, default=200, help="timed vector steps per case and vector env")
    parser.add_argument("--warmup", type=int, default=20, help="untimed vector steps before timing")
    parser.add_argument("--device", default="auto", help="device of the torch vector env (auto: cuda if available)")
    parser.add_argument("--encoder", default=DEFAULT_ENCODER)
    parser.add_argument("--observation", default="compact", choices=("compact", "sequence", "tokens"))
    parser.add_argument("--threads", type=int, help="torch intra-op threads (default: torch's)")
    args = parser.parse_args()

    if args.threads:
        torch.set_num_threads(args.threads)
    cases = [case for case in CASES if not args.env or case[0] in args.env]
    if not cases:
        parser.error(f"no env among {args.env}; known: {', '.join(name for name, _, _ in CASES)}")
    kwargs = {"encoder": args.encoder, "observation": args.observation}
    print(f"{platform.processor() or platform.machine()}, torch {torch.__version__} ({torch.get_num_threads()} "
          f"threads), gymnasium {gym.__version__}, text-envs {text_envs.__version__}; encoder {args.encoder}; "
          f"observation={args.observation}; {args.num_envs} envs; torch vector env on {resolve_device(args.device)}; "
          f"policy: first valid action\n")
    print("| env | options | TorchVectorEnv steps/s | SyncVectorEnv steps/s | ratio |")
    print("|---|---|---:|---:|---:|")
    for name, options, label in cases:
        env_id, env_kwargs = f"text_envs/{name}", {**kwargs, **options}
        venv = make_torch_vec_env(env_id, args.num_envs, device=args.device, seed=0, **env_kwargs)
        vectorised = torch_steps_per_second(venv, args.steps, args.warmup)
        make = partial(gym.make, env_id, **env_kwargs)
        envs = gym.vector.SyncVectorEnv([make] * args.num_envs, autoreset_mode=AutoresetMode.SAME_STEP)
        sync = sync_steps_per_second(envs, args.steps, args.warmup)
        envs.close()
        print(f"| {name} | {label} | {vectorised:,.0f} | {sync:,.0f} | {vectorised / sync:,.1f}x |")


if __name__ == "__main__":
    main()
