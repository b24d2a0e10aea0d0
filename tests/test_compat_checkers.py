"""Every registered id, with default kwargs (but the tiny encoder), works where an outside
tool expects a Gymnasium env: Gymnasium's and SB3's env checkers pass, an agent that ignores
masks (``action_space.sample()``) ends every episode without an error, masks can ride in the
observation (``mask_in_observation=True``, RLlib's and TorchRL's convention) for the
checkers, for that agent and for the policies here, and values outside the action space
raise under either invalid-action rule."""

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium.utils.env_checker import check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

from agents import PPO, ActorCritic
from agents.policies import MASKED_LOGIT
from agents.tensors import as_batch
from text_envs.envs.base import InvalidActionError
from text_envs.registration import NAMESPACE
from text_envs.tasks import env_names

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")  # the checkers' advice (shapes, bounds, render)

EPISODES = 3
#: steps within which an episode of a mask-unaware agent must end (the longest embedded
#: episode, a budget of 64 written tokens, plus the default 10 masked actions, with room)
MAX_EPISODE_STEPS = 200
#: the ids whose masks rule out many actions at most steps (random sampling meets them)
MASKED_OFTEN = ("NER-v0", "QA-v0", "Summarize-v0", "SummarizeTokens-v0")


@pytest.fixture(scope="module")
def envs(tiny):
    """``envs(name, **kwargs)``: the env made with default kwargs but the tiny encoder and
    ``kwargs``, once per module. Every env of a task shares one encoding of its split (the
    cache's in-process registry hands it on while an env holds it), so only the first costs."""
    made = {}

    def make(name, **kwargs):
        key = (name, *sorted(kwargs.items()))
        if key not in made:
            made[key] = gym.make(f"{NAMESPACE}/{name}", encoder=tiny, **kwargs)
        return made[key]
    return make


@pytest.mark.parametrize("mask_in_observation", [False, True], ids=["plain", "mask_in_observation"])
@pytest.mark.parametrize("name", env_names())
def test_both_checkers_pass_with_default_kwargs(name, mask_in_observation, envs):
    env = envs(name, mask_in_observation=mask_in_observation).unwrapped
    assert env.options.invalid_action == "penalty"  # the default rule, under which every element of the space steps
    check_env(env)
    sb3_check_env(env)


@pytest.mark.parametrize("mask_in_observation", [False, True], ids=["plain", "mask_in_observation"])
@pytest.mark.parametrize("name", env_names())
def test_an_agent_that_ignores_masks_ends_every_episode(name, mask_in_observation, envs):
    """Masked actions cost the penalty and leave the state; after ``max_invalid_actions`` of
    them the episode is truncated, so it ends within its natural length plus that budget."""
    env = envs(name, mask_in_observation=mask_in_observation)
    env.action_space.seed(0)
    invalid_seen = 0
    for episode in range(EPISODES):
        observation, info = env.reset(seed=episode)
        invalid = 0
        for _ in range(MAX_EPISODE_STEPS):
            assert env.observation_space.contains(observation)
            if mask_in_observation:
                np.testing.assert_array_equal(observation["action_mask"], info["action_mask"])
            action = env.action_space.sample()
            was_valid = bool(info["action_mask"][action])
            observation, reward, terminated, truncated, info = env.step(action)
            assert info.get("invalid_action", False) == (not was_valid)
            if not was_valid:
                invalid += 1
                assert reward == env.unwrapped.options.invalid_action_penalty
            if terminated or truncated:
                break
        else:
            pytest.fail(f"an episode of {name} did not end within {MAX_EPISODE_STEPS} steps")
        assert invalid <= env.unwrapped.options.max_invalid_actions
        assert truncated == (invalid == env.unwrapped.options.max_invalid_actions)  # the budget is what truncates
        assert "metrics" in info
        invalid_seen += invalid
    if name in MASKED_OFTEN:
        assert invalid_seen > 0  # the penalty path was taken, not only valid moves


OUTSIDE = [-1, "n", 2.5, float("inf"), float("nan")]


@pytest.mark.parametrize("rule", ["penalty", "error"])
@pytest.mark.parametrize("name", env_names())
def test_values_outside_the_space_raise_under_either_rule(name, rule, envs):
    env = envs(name, invalid_action=rule).unwrapped
    env.reset(options={"index": 0})
    n = env.action_space.n
    for value in OUTSIDE:
        value = n if value == "n" else value
        with pytest.raises(InvalidActionError, match=rf"{type(env).__name__}: .*outside the action space "
                                                     rf"\[0, {n}\) \(Discrete\({n}\)\)"):
            env.step(value)
    for value in (np.int64(n - 1), np.array(0), 0.0):  # elements of the space in other forms: an outcome
        env.reset(options={"index": 0})
        if rule == "penalty" or env.action_masks()[int(value)]:
            env.step(value)


@pytest.mark.parametrize("observation", ["compact", "sequence"])
def test_the_policy_reads_the_mask_from_the_observation(observation, envs):
    """Without an explicit mask the one in the observation masks the logits; the rest of the
    observation is read as the same env's observation without the mask."""
    plain = envs("NER-v0", observation=observation)
    masked = envs("NER-v0", observation=observation, mask_in_observation=True)
    torch.manual_seed(0)
    policy = ActorCritic(masked.observation_space, masked.action_space, d_model=16, n_layers=1, hidden_sizes=(16,))
    assert policy.arch == ("mlp" if observation == "compact" else "transformer")
    without, info = plain.reset(options={"index": 0})
    with_mask, _ = masked.reset(options={"index": 0})
    logits, values = policy(as_batch([with_mask], "cpu"))
    expected = policy(as_batch([without], "cpu"), torch.as_tensor(info["action_mask"])[None])
    torch.testing.assert_close(logits, expected[0])
    torch.testing.assert_close(values, expected[1])
    assert (logits[0, ~torch.as_tensor(info["action_mask"])] == MASKED_LOGIT).all() and not info["action_mask"].all()


@pytest.mark.parametrize("observation", ["compact", "sequence"])
def test_the_native_trainer_runs_on_mask_in_observation_envs(observation, envs, tiny):
    """``use_masks=False``: the trainer passes no masks, so only those in the observations act."""
    kwargs = {"observation": observation, "mask_in_observation": True}
    env = envs("NER-v0", **kwargs)  # first, so that the trainer's env finds the split encoded
    model = PPO("auto", f"{NAMESPACE}/NER-v0", n_envs=2, n_steps=8, batch_size=16, n_epochs=1, seed=0, device="cpu",
                policy_kwargs={"d_model": 16, "n_layers": 1} if observation == "sequence" else {"hidden_sizes": (16,)},
                use_masks=False, env_kwargs={"encoder": tiny, **kwargs})
    stats = []
    model.learn(32, callback=stats.append)
    assert model.rollout_buffer.observations["action_mask"].dtype == torch.int8
    assert stats and all(np.isfinite(s["loss"]) for s in stats)
    observation_, info = env.reset(seed=0)
    for _ in range(20):  # the mask in the observation is enough: no masked action is taken
        action, _ = model.predict(observation_, deterministic=False)
        observation_, _, terminated, truncated, info = env.step(action)
        assert "invalid_action" not in info
        if terminated or truncated:
            observation_, info = env.reset()
