"""Rollout storage, GAE and schedules of the native trainer, on fixed tensors (no env, no policy)."""

import gymnasium as gym
import numpy as np
import pytest
import torch

from agents.rollout import RolloutBuffer, compute_gae
from agents.schedules import ConstantSchedule, LinearSchedule, as_schedule


def test_gae_by_hand_with_an_episode_boundary_and_a_truncation():
    # gamma = lambda = 0.5 keep the hand arithmetic exact.
    # env 0: the episode terminates at step 1; step 2 starts the next one, cut by the rollout end (V = 4).
    #   t=2: delta = 3 + 0.5*4 - 2 = 3                       A = 3
    #   t=1: delta = 2 + 0 (terminated) - 1 = 1              A = 1 (nothing flows back over the boundary)
    #   t=0: delta = 1 + 0.5*1.0 - 0.5 = 1                   A = 1 + 0.25*1 = 1.25
    # env 1: the episode is truncated at step 0, its final observation worth V = 2.
    #   t=2: delta = 0 + 0.5*0 - 1 = -1                      A = -1
    #   t=1: delta = 0 + 0.5*1 - 1 = -0.5                    A = -0.5 + 0.25*(-1) = -0.75
    #   t=0: delta = 1 + 0.5*2 (bootstrap) + 0 - 1 = 1       A = 1
    rewards = torch.tensor([[1.0, 1.0], [2.0, 0.0], [3.0, 0.0]])
    values = torch.tensor([[0.5, 1.0], [1.0, 1.0], [2.0, 1.0]])
    dones = torch.tensor([[False, True], [True, False], [False, False]])
    truncation_values = torch.tensor([[0.0, 2.0], [0.0, 0.0], [0.0, 0.0]])
    last_values = torch.tensor([4.0, 0.0])
    advantages, returns = compute_gae(rewards, values, dones, last_values, truncation_values=truncation_values,
                                      gamma=0.5, gae_lambda=0.5)
    expected = torch.tensor([[1.25, 1.0], [1.0, -0.75], [3.0, -1.0]])
    torch.testing.assert_close(advantages, expected)
    torch.testing.assert_close(returns, expected + values)


def test_terminated_episodes_do_not_bootstrap():
    # the same env 1 as above, but terminated: no future after step 0, A_0 = 1 - 1 = 0
    rewards, values = torch.tensor([[1.0], [0.0]]), torch.tensor([[1.0], [1.0]])
    dones = torch.tensor([[True], [False]])
    advantages, _ = compute_gae(rewards, values, dones, torch.tensor([0.0]), gamma=0.5, gae_lambda=0.5)
    assert advantages[0, 0].item() == 0.0


def test_gae_lambda_one_is_the_discounted_return_and_zero_is_one_step_td():
    generator = torch.Generator().manual_seed(0)
    rewards, values = torch.rand(6, 3, generator=generator), torch.rand(6, 3, generator=generator)
    dones = torch.zeros(6, 3, dtype=torch.bool)
    last_values = torch.rand(3, generator=generator)
    gamma = 0.9
    _, returns = compute_gae(rewards, values, dones, last_values, gamma=gamma, gae_lambda=1.0)
    discounted = last_values.clone()
    for t in reversed(range(6)):
        discounted = rewards[t] + gamma * discounted
        torch.testing.assert_close(returns[t], discounted)
    advantages, _ = compute_gae(rewards, values, dones, last_values, gamma=gamma, gae_lambda=0.0)
    next_values = torch.cat([values[1:], last_values[None]])
    torch.testing.assert_close(advantages, rewards + gamma * next_values - values)


def test_gae_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="last_values"):
        compute_gae(torch.zeros(2, 3), torch.zeros(2, 3), torch.zeros(2, 3, dtype=torch.bool), torch.zeros(2),
                    gamma=0.9, gae_lambda=0.9)


def _dict_space():
    return gym.spaces.Dict({"states": gym.spaces.Box(-1, 1, (4, 2), np.float16),
                            "cursor": gym.spaces.Box(0, 4, (1,), np.int64)})


def test_buffer_keeps_observation_dtypes_and_rejects_overflow():
    buffer = RolloutBuffer(2, 3, _dict_space(), n_actions=5, device=torch.device("cpu"))
    assert buffer.observations["states"].dtype == torch.float16
    assert buffer.observations["states"].shape == (2, 3, 4, 2)
    assert buffer.observations["cursor"].dtype == torch.int64
    assert buffer.action_masks.dtype == torch.bool and buffer.action_masks.shape == (2, 3, 5)
    def step():
        observation = {"states": torch.ones(3, 4, 2, dtype=torch.float16), "cursor": torch.tensor([[1], [2], [3]])}
        return (observation, torch.zeros(3, dtype=torch.int64), torch.ones(3, 5, dtype=torch.bool), torch.zeros(3),
                torch.zeros(3))

    for _ in range(2):
        arguments = step()
        buffer.add(*arguments)
        arguments[0]["states"].fill_(2)  # an env updating its tensors in place after add() changes nothing stored
        buffer.add_outcome(torch.ones(3), torch.zeros(3, dtype=torch.bool))
    assert buffer.full and (buffer.observations["states"] == 1).all()
    with pytest.raises(RuntimeError, match="full"):
        buffer.add(*step())
    buffer.reset()
    buffer.add(*step())
    with pytest.raises(RuntimeError, match="add_outcome"):
        buffer.add(*step())
    without_masks = RolloutBuffer(2, 3, _dict_space(), n_actions=5, device=torch.device("cpu"), store_masks=False)
    assert without_masks.action_masks is None


def test_gae_needs_a_full_buffer():
    buffer = RolloutBuffer(2, 1, gym.spaces.Box(0, 1, (3,), np.float32), n_actions=2, device=torch.device("cpu"))
    with pytest.raises(RuntimeError, match="fill it"):
        buffer.compute_returns_and_advantages(torch.zeros(1), gamma=0.9, gae_lambda=0.9)


def test_minibatches_cover_every_sample_exactly_once_per_epoch():
    n_steps, n_envs = 5, 3
    buffer = RolloutBuffer(n_steps, n_envs, gym.spaces.Box(0, 100, (2,), np.float32), n_actions=4,
                           device=torch.device("cpu"))
    for t in range(n_steps):
        ids = torch.arange(n_envs) + t * n_envs  # a unique id per sample, stored as the action and in the obs
        buffer.add(torch.stack([ids, ids], 1).float(), ids, torch.ones(n_envs, 4, dtype=torch.bool),
                   torch.zeros(n_envs), ids.float())
        buffer.add_outcome(torch.zeros(n_envs), torch.zeros(n_envs, dtype=torch.bool))
    buffer.compute_returns_and_advantages(torch.zeros(n_envs), gamma=0.9, gae_lambda=0.9)
    generator = torch.Generator().manual_seed(0)
    orders = []
    for _ in range(2):
        batches = list(buffer.minibatches(4, generator))
        assert [len(batch.actions) for batch in batches] == [4, 4, 4, 3]
        seen = torch.cat([batch.actions for batch in batches])
        assert sorted(seen.tolist()) == list(range(n_steps * n_envs))
        for batch in batches:  # every field of a sample stays with it
            torch.testing.assert_close(batch.observations[:, 0], batch.actions.float())
            torch.testing.assert_close(batch.old_values, batch.actions.float())
        orders.append(seen.tolist())
    assert orders[0] != orders[1]  # reshuffled each epoch


def test_schedules():
    assert as_schedule(3e-4)(0.3) == 3e-4 and isinstance(as_schedule(1), ConstantSchedule)
    linear = as_schedule("lin_2e-3")
    assert linear == LinearSchedule(2e-3) and linear(1.0) == 2e-3 and linear(0.0) == 0.0
    assert linear(0.5) == pytest.approx(1e-3)
    assert LinearSchedule(1.0, 0.5)(0.0) == 0.5

    def custom(progress):
        return progress * 2

    assert as_schedule(custom) is custom
    with pytest.raises(ValueError, match="lin_"):
        as_schedule("cosine")
    with pytest.raises(TypeError):
        as_schedule(None)
