"""What every registered env promises: make() with no setup, seeded replay, vector envs,
Gymnasium's default next-step autoreset, SB3's make_vec_env, oracle >= random, evaluate()."""

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode
from stable_baselines3.common.env_util import make_vec_env

from text_envs import evaluate
from text_envs.registration import NAMESPACE
from text_envs.tasks import env_names, spec_of

IDS = [f"{NAMESPACE}/{name}" for name in env_names()]


def make(env_id, **kwargs):
    kwargs.setdefault("encoder", "tiny")
    return gym.make(env_id, **kwargs)


def random_masked(rng):
    return lambda observation, mask: int(rng.choice(np.flatnonzero(mask)))


@pytest.mark.parametrize("env_id", IDS)
def test_seeded_episodes_replay_exactly(env_id):
    def trajectory(seed):
        env, rng = make(env_id), np.random.default_rng(seed)
        observation, info = env.reset(seed=seed)
        steps = [info["index"]]
        for _ in range(30):
            observation, reward, terminated, truncated, info = env.step(int(rng.choice(np.flatnonzero(
                info["action_mask"]))))
            steps.append((reward, terminated, gym.spaces.flatten(env.observation_space, observation).sum()))
            if terminated or truncated:
                observation, info = env.reset()
                steps.append(info["index"])
        return steps

    assert trajectory(3) == trajectory(3)
    assert trajectory(3) != trajectory(4)


@pytest.mark.parametrize("env_id", IDS)
@pytest.mark.parametrize("vector", ["sync", "async"])
def test_vector_envs_autoreset_on_the_next_step(env_id, vector):
    """Gymnasium 1.x default: after a terminal step, the next step() resets that sub-env
    (its action is ignored, reward 0) and returns the new episode's first observation."""
    vector_class = gym.vector.SyncVectorEnv if vector == "sync" else gym.vector.AsyncVectorEnv
    envs = vector_class([lambda: make(env_id) for _ in range(2)])
    assert envs.metadata["autoreset_mode"] == AutoresetMode.NEXT_STEP
    rng = np.random.default_rng(0)
    observations, infos = envs.reset(seed=0)
    assert infos["action_mask"].shape[0] == 2
    finished = np.zeros(2, dtype=bool)
    resets = 0
    for _ in range(60):
        actions = [int(rng.choice(np.flatnonzero(mask))) for mask in infos["action_mask"]]
        observations, rewards, terminated, truncated, infos = envs.step(actions)
        assert envs.observation_space.contains(observations)
        resets += int(finished.sum())
        assert np.all(rewards[finished] == 0)  # the autoreset step carries no reward
        finished = terminated | truncated
    envs.close()
    assert resets > 0


@pytest.mark.parametrize("env_id", IDS)
def test_sb3_make_vec_env_steps_with_masks_from_the_envs(env_id):
    venv = make_vec_env(env_id, n_envs=2, env_kwargs={"encoder": "tiny"}, seed=0)
    venv.reset()
    rng = np.random.default_rng(0)
    for _ in range(20):
        masks = np.stack(venv.env_method("action_masks"))
        venv.step(np.array([rng.choice(np.flatnonzero(m)) for m in masks]))
    venv.close()


@pytest.mark.parametrize("env_id", IDS)
def test_oracle_beats_random_and_evaluate_reports_the_metric(env_id):
    env = make(env_id, split="validation")
    oracle = evaluate(env, lambda observation, mask: env.unwrapped.expert_action(), episodes=60)
    random = evaluate(env, random_masked(np.random.default_rng(0)), episodes=60)
    metric = spec_of(env_id).headline
    assert oracle["episodes"] == random["episodes"] == 60
    assert oracle[metric] > random[metric] + 0.2, (oracle, random)
    assert oracle["mean_return"] > random["mean_return"]


@pytest.mark.parametrize("env_id", IDS)
def test_ansi_render_and_human_render(env_id, capsys):
    env = make(env_id, render_mode="ansi")
    env.reset(seed=0)
    text = env.render()
    assert isinstance(text, str) and text.strip()
    human = make(env_id, render_mode="human")
    human.reset(seed=0)
    assert human.render() is None and capsys.readouterr().out.strip()
    image = make(env_id, render_mode="rgb_array")
    image.reset(seed=0)
    pixels = image.render()
    assert pixels.dtype == np.uint8 and pixels.ndim == 3 and pixels.shape[2] == 3
    assert pixels.min() < 128 < pixels.max()  # dark text on a light background
