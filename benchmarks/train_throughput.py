"""Training throughput: env steps per second of native PPO against SB3 PPO, same policy, same env.

Both train the same :class:`agents.policies.ActorCritic` (native: directly; SB3: inside
:class:`agents.sb3.TransformerPolicy`) with the same hyperparameters (``n_envs``,
``n_steps``, ``batch_size``, ``n_epochs``) on the same env id and observation mode. The
native trainer steps :class:`text_envs.vector.TorchVectorEnv` and keeps rollouts on the
device; SB3 steps a ``DummyVecEnv`` of Gymnasium envs and moves every step through numpy.
Each is warmed up with one short ``learn`` (compilation, caches, CUDA context) before the
timed one. The ratio is native / SB3, both measured in this run.

``--baseline compact`` measures something else: native PPO with the observation given
(``sequence``: the read-once transformer policy) against native PPO on the same env's
``compact`` observation with the default MLP, the cheapest policy there is, both in this
run; the ratio is the first over the second.

    python benchmarks/train_throughput.py --env NER --observation compact --timesteps 20000
    python benchmarks/train_throughput.py --env NER --observation sequence --baseline compact --timesteps 8192
    python benchmarks/train_throughput.py --env NER --observation sequence --device cuda --n-envs 256
"""

from __future__ import annotations

import argparse
import platform
import time

import torch

from text_envs.encoders import DEFAULT_ENCODER


def native_rate(args, env_id: str, env_kwargs: dict, policy_kwargs: dict, hyper: dict) -> float:
    from agents.ppo import PPO

    model = PPO("auto", env_id, n_envs=args.n_envs, device=args.device, seed=0, env_kwargs=env_kwargs,
                policy_kwargs=policy_kwargs, **hyper)
    model.learn(hyper["n_steps"] * args.n_envs)  # warm-up: one update
    start, before = time.perf_counter(), model.num_timesteps
    model.learn(args.timesteps, reset_num_timesteps=False)
    if model.device.type == "cuda":
        torch.cuda.synchronize()
    return (model.num_timesteps - before) / (time.perf_counter() - start)


def sb3_rate(args, env_id: str, env_kwargs: dict, policy_kwargs: dict, hyper: dict) -> float:
    from stable_baselines3 import PPO
    from stable_baselines3.common.env_util import make_vec_env

    from agents.sb3 import TransformerPolicy

    env = make_vec_env(env_id, n_envs=args.n_envs, seed=0, env_kwargs={**env_kwargs, "invalid_action": "penalty"})
    model = PPO(TransformerPolicy, env, device=args.device, seed=0, policy_kwargs=policy_kwargs, **hyper)
    model.learn(hyper["n_steps"] * args.n_envs)
    start, before = time.perf_counter(), model.num_timesteps
    model.learn(args.timesteps, reset_num_timesteps=False)
    if model.device.type == "cuda":
        torch.cuda.synchronize()
    return (model.num_timesteps - before) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", default="NER", help="env id without namespace/version, e.g. NER, Classify")
    parser.add_argument("--observation", default="compact", choices=("compact", "sequence", "tokens"))
    parser.add_argument("--encoder", default=DEFAULT_ENCODER)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--n-envs", type=int, default=16)
    parser.add_argument("--n-steps", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--n-epochs", type=int, default=4)
    parser.add_argument("--timesteps", type=int, default=20_000)
    parser.add_argument("--d-model", type=int, default=128)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    parser.add_argument("--baseline", choices=("sb3", "compact"), default="sb3",
                        help="sb3: SB3 PPO on the same observation; compact: native PPO on the compact one (MLP)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    import text_envs  # noqa: F401  (registers the ids)

    env_id = f"text_envs/{args.env}-v0"
    env_kwargs = {"encoder": args.encoder, "observation": args.observation}
    policy_kwargs = {"d_model": args.d_model}
    hyper = {"n_steps": args.n_steps, "batch_size": args.batch_size, "n_epochs": args.n_epochs}
    native = native_rate(args, env_id, env_kwargs, policy_kwargs, hyper)
    if args.baseline == "sb3":
        base, base_name = sb3_rate(args, env_id, env_kwargs, policy_kwargs, hyper), "SB3 PPO (DummyVecEnv)"
        name = "native PPO (TorchVectorEnv)"
    else:
        base = native_rate(args, env_id, {**env_kwargs, "observation": "compact"}, {}, hyper)
        base_name = "native PPO, compact (MLP 256x256)"
        name = f"native PPO, {args.observation} (d_model {args.d_model})"
    device = torch.cuda.get_device_name() if args.device.startswith("cuda") else platform.processor() or "cpu"
    print(f"{env_id} observation={args.observation} encoder={args.encoder} n_envs={args.n_envs} "
          f"n_steps={args.n_steps} batch_size={args.batch_size} n_epochs={args.n_epochs} "
          f"timesteps={args.timesteps} device={args.device} ({device}), torch {torch.__version__}, "
          f"threads {torch.get_num_threads()}\n")
    print("| trainer | env steps/s | ratio |")
    print("|---|---:|---:|")
    print(f"| {base_name} | {base:,.0f} | 1.00 |")
    print(f"| {name} | {native:,.0f} | {native / base:.2f} |")


if __name__ == "__main__":
    main()
