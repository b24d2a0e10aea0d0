"""Stable-Baselines3 PPO and sb3-contrib MaskablePPO on a text-envs env, scored by ``text_envs.evaluate``.

What it shows:

1. SB3's plain ``PPO`` with ``agents.sb3.TransformerPolicy``. PPO never sees action
   masks; under the envs' ``invalid_action="penalty"`` rule (the default, spelled out
   here) a masked action (for NER, an ``I-X`` tag that does not continue an ``X`` entity)
   leaves the state as it is and costs ``-1``, and the agent learns to avoid it.
2. sb3-contrib's ``MaskablePPO`` with ``agents.sb3.MaskableTransformerPolicy``: it asks
   each env for ``env.action_masks()`` every step and never samples a masked action.
3. ``text_envs.evaluate(env_id, model, split="test")``: one episode per test example,
   scored with the task's corpus metric (seqeval entity F1 for NER), next to a random
   agent that picks valid actions (``agents.baselines.RandomAgent``).

Both policies wrap ``agents.ActorCritic``, which picks its trunk from the observation
space: an MLP on the ``compact`` observation (the default here, fast on a CPU), a
transformer over the encoder states with ``--observation sequence`` (slower: give it a
smaller ``--timesteps`` on a laptop, or a GPU).

Run it (defaults: NER, MiniLM states, 100k env steps per algorithm, about a minute in all
on a laptop CPU):

    python examples/sb3_ppo.py
    python examples/sb3_ppo.py --observation sequence --timesteps 20000
    python examples/sb3_ppo.py --encoder tiny --timesteps 2048       # the tests' settings
"""

import argparse
import time

from sb3_contrib import MaskablePPO
from stable_baselines3 import PPO
from stable_baselines3.common.env_util import make_vec_env

import text_envs
from text_envs.encoders import DEFAULT_ENCODER
from agents.baselines import RandomAgent
from agents.sb3 import MaskableTransformerPolicy, TransformerPolicy


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="text_envs/NER-v0", help="env id")
    parser.add_argument("--encoder", default=DEFAULT_ENCODER, help="encoder name or folder ('tiny' for tests)")
    parser.add_argument("--timesteps", type=int, default=100_000, help="env steps of training, per algorithm")
    parser.add_argument("--observation", default="compact", choices=("compact", "sequence"),
                        help="compact: MLP trunk; sequence: transformer over the encoder states")
    parser.add_argument("--n-envs", type=int, default=16)
    # NER's token reward is immediate: a short horizon keeps later words' noise out of each advantage
    parser.add_argument("--gamma", type=float, default=0.5)
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    env_kwargs = {"encoder": args.encoder, "observation": args.observation}
    hyperparameters = {"n_steps": 128, "batch_size": 512, "n_epochs": 10, "learning_rate": 1e-3, "gamma": args.gamma,
                       "gae_lambda": 0.9, "seed": args.seed, "device": "cpu"}
    policy_kwargs = {"d_model": 64} if args.observation == "sequence" else {}
    results = {}

    # 1. plain PPO: no masks, so a masked action must be a penalty rather than an error
    start = time.time()
    penalty_envs = make_vec_env(args.env, n_envs=args.n_envs, seed=args.seed,
                                env_kwargs={**env_kwargs, "invalid_action": "penalty"})
    model = PPO(TransformerPolicy, penalty_envs, policy_kwargs=policy_kwargs, **hyperparameters)
    model.learn(args.timesteps)
    print(f"PPO + TransformerPolicy: {model.num_timesteps} steps in {time.time() - start:.0f} s")
    # the evaluation env needs the penalty rule too: a deterministic PPO may still pick a masked action
    results["PPO (penalty)"] = text_envs.evaluate(args.env, model, split="test", invalid_action="penalty",
                                                  **env_kwargs)

    # 2. MaskablePPO: reads env.action_masks() each step, so masked actions are never taken
    start = time.time()
    envs = make_vec_env(args.env, n_envs=args.n_envs, seed=args.seed, env_kwargs=env_kwargs)
    model = MaskablePPO(MaskableTransformerPolicy, envs, policy_kwargs=policy_kwargs, **hyperparameters)
    model.learn(args.timesteps)
    print(f"MaskablePPO + MaskableTransformerPolicy: {model.num_timesteps} steps in {time.time() - start:.0f} s")
    # evaluate() passes the mask of every step to MaskablePPO.predict(action_masks=...)
    results["MaskablePPO"] = text_envs.evaluate(args.env, model, split="test", **env_kwargs)

    # 3. the floor: a random valid action each step
    results["random"] = text_envs.evaluate(args.env, RandomAgent(args.seed), split="test", **env_kwargs)

    keys = [key for key in results["random"] if key not in ("episodes", "truncated_episodes")]
    print(f"\n{args.env}, test split ({results['random']['episodes']} episodes), {args.encoder} states:")
    print(f"| agent | {' | '.join(keys)} |")
    print(f"|---|{'---|' * len(keys)}")
    for name, scores in results.items():
        print(f"| {name} | {' | '.join(f'{scores[key]:.3f}' for key in keys)} |")


if __name__ == "__main__":
    main()
