"""A random agent on a text-envs env with nothing but the plain Gymnasium API.

What it shows: ``gym.make`` on a text-envs id, the ``reset``/``step`` loop, valid actions
from ``info["action_mask"]``, the episode's result in the terminal step's ``info``
(``prediction``, ``metrics``), and ``render()`` in ``ansi`` mode. It is also the floor any
learning agent has to beat.

Run it:

    python examples/random_agent.py                      # NER, MiniLM states, test split
    python examples/random_agent.py --env text_envs/Classify-v0 --timesteps 500
    python examples/random_agent.py --encoder tiny       # a random BERT built in code (tests)
"""

import argparse

import gymnasium as gym
import numpy as np

import text_envs  # noqa: F401  (registers the text_envs/... ids)
from text_envs.encoders import DEFAULT_ENCODER


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="text_envs/NER-v0", help="env id")
    parser.add_argument("--encoder", default=DEFAULT_ENCODER, help="encoder name or folder ('tiny' for tests)")
    parser.add_argument("--split", default="test", help="train, validation or test")
    parser.add_argument("--timesteps", type=int, default=2000, help="env steps to play")
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    env = gym.make(args.env, encoder=args.encoder, split=args.split, render_mode="ansi")
    env.action_space.seed(args.seed)

    episode_returns, episode_metrics, last_render = [], [], None
    episode_return = 0.0
    _observation, info = env.reset(seed=args.seed)  # a random agent never looks at the observation
    for _ in range(args.timesteps):
        # the mask is a bool array of the valid actions; Discrete.sample wants it as int8
        action = env.action_space.sample(mask=info["action_mask"].astype(np.int8))
        _observation, reward, terminated, truncated, info = env.step(action)
        episode_return += reward
        if terminated or truncated:
            # the terminal step's info holds what the agent produced and the example's metrics
            episode_returns.append(episode_return)
            episode_metrics.append(info["metrics"])
            last_render = env.render()  # the finished episode, as text (before reset starts the next)
            episode_return = 0.0
            _observation, info = env.reset()
    env.close()

    if last_render is None:
        print(f"no episode finished in {args.timesteps} steps: give more --timesteps")
        return
    print("last episode:")
    print(last_render)
    print(f"random agent on {args.env} ({args.split} split, {args.encoder}): {len(episode_returns)} episodes, "
          f"{args.timesteps} steps")
    print(f"  mean return: {np.mean(episode_returns):.3f}")
    for key in episode_metrics[0]:
        print(f"  mean {key}: {np.mean([metrics[key] for metrics in episode_metrics]):.3f}")


if __name__ == "__main__":
    main()
