"""Rollout storage and GAE that stay on one torch device.

The native trainer collects ``n_steps`` steps from ``n_envs`` environments into
preallocated ``[n_steps, n_envs, ...]`` tensors on the training device, so observations
produced by a :class:`~text_envs.vector.TorchVectorEnv` on the GPU never visit the host.
Observations keep the env's dtypes (float16 encoder states stay float16: half the memory,
and the policy casts them as it needs).

Step ``t`` of the buffer holds the observation the agent acted on, the action, its
log-probability and value, the reward that followed, and whether the episode ended there
(``dones[t]``: terminated or truncated). Truncation is not failure: an episode cut short
bootstraps with the value of the observation it was cut at (``info["final_obs"]``), stored
in ``truncation_values[t]``; :func:`compute_gae` adds ``gamma * truncation_values[t]`` to
the reward, which is SB3's ``rewards[idx] += gamma * terminal_value``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, NamedTuple

import gymnasium as gym
import numpy as np
import torch


def compute_gae(rewards: torch.Tensor, values: torch.Tensor, dones: torch.Tensor, last_values: torch.Tensor, *,
                truncation_values: torch.Tensor | None = None, gamma: float,
                gae_lambda: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Generalised advantage estimates and lambda-returns, ``([T, N], [T, N])``.

    Args:
        rewards, values: ``[T, N]``: the reward after step ``t`` and ``V(s_t)``.
        dones: ``[T, N]`` bool: the episode ended at step ``t`` (``s_{t+1}`` is then the next
            episode's first observation, whose value must not leak back).
        last_values: ``[N]``: ``V(s_T)``, the value of the observation after the last step.
        truncation_values: ``[T, N]``: ``V(final observation)`` where step ``t`` truncated the
            episode, 0 elsewhere (terminated episodes have no future: leave them 0).
        gamma, gae_lambda: discount and GAE lambda (``gae_lambda=1``: Monte-Carlo returns
            bootstrapped at the end of the rollout; ``0``: one-step TD).

    ``delta_t = r_t + gamma * (V(s_{t+1}) * (1 - done_t) + truncation_value_t) - V(s_t)`` and
    ``A_t = delta_t + gamma * lambda * (1 - done_t) * A_{t+1}``; returns are ``A + V``.
    """
    if not (rewards.shape == values.shape == dones.shape) or rewards.ndim != 2:
        raise ValueError(f"rewards, values and dones must share one [T, N] shape, got {tuple(rewards.shape)}, "
                         f"{tuple(values.shape)}, {tuple(dones.shape)}")
    if last_values.shape != rewards.shape[1:]:
        raise ValueError(f"last_values must be [N] = {tuple(rewards.shape[1:])}, got {tuple(last_values.shape)}")
    if truncation_values is not None:
        rewards = rewards + gamma * truncation_values
    not_done = 1.0 - dones.to(values.dtype)
    advantages = torch.empty_like(values)
    next_advantage = torch.zeros_like(last_values)
    next_values = last_values
    for t in reversed(range(rewards.shape[0])):
        delta = rewards[t] + gamma * next_values * not_done[t] - values[t]
        next_advantage = delta + gamma * gae_lambda * not_done[t] * next_advantage
        advantages[t] = next_advantage
        next_values = values[t]
    return advantages, advantages + values


def torch_dtype(dtype: Any) -> torch.dtype:
    """The torch dtype of a numpy dtype (``np.float16`` -> ``torch.float16``, ...)."""
    return torch.from_numpy(np.zeros(0, dtype=dtype)).dtype


def _allocate(space: gym.Space, leading: tuple[int, ...], device: torch.device) -> Any:
    if isinstance(space, gym.spaces.Dict):
        return {key: _allocate(sub, leading, device) for key, sub in space.spaces.items()}
    if isinstance(space, gym.spaces.Box):
        return torch.zeros(leading + space.shape, dtype=torch_dtype(space.dtype), device=device)
    raise TypeError(f"observation spaces must be Box or Dict of Box, got {space}")


def map_observation(function, observation: Any) -> Any:
    """``function`` applied to a tensor observation or to every tensor of a dict one."""
    if isinstance(observation, dict):
        return {key: function(value) for key, value in observation.items()}
    return function(observation)


def _write(target: Any, index: int, source: Any) -> None:
    """``source`` into step ``index`` of ``target`` (for a dict, the keys ``target`` has)."""
    if isinstance(target, dict):
        for key, value in target.items():
            value[index] = source[key]
    else:
        target[index] = source


class RolloutBatch(NamedTuple):
    """One minibatch of flattened samples (``[B, ...]``). With a buffer that stores texts once
    (``text_keys``), ``observations`` lack those keys and ``texts`` [B] says which of the
    buffer's :meth:`~RolloutBuffer.texts` each sample read."""

    observations: Any
    actions: torch.Tensor
    action_masks: torch.Tensor | None
    old_log_probs: torch.Tensor
    old_values: torch.Tensor
    advantages: torch.Tensor
    returns: torch.Tensor
    texts: torch.Tensor | None = None


def _select(batch: RolloutBatch, index: torch.Tensor) -> RolloutBatch:
    return RolloutBatch(*(None if field is None else map_observation(lambda value: value[index], field)
                          for field in batch))


class RolloutBuffer:
    """``n_steps`` x ``n_envs`` transitions, preallocated on ``device``.

    Args:
        n_steps, n_envs: the rollout's shape.
        observation_space: the single env's space (Box, or Dict of Box); dtypes are kept.
        n_actions: size of the Discrete action space.
        device: where every tensor lives.
        store_masks: keep each step's bool action mask (``[n_steps, n_envs, n_actions]``),
            for masked training; off when the agent ignores masks (token-level actions can
            have tens of thousands of them).
        text_keys: the keys of a ``Dict`` observation that hold the text (a read-once policy's
            :attr:`~agents.policies.ActorCritic.text_keys`). They are stored once per text
            (:meth:`open_texts`), not once per step: a step stores the episode's state and
            the id of the text it read, so its memory does not grow with the text.
    """

    def __init__(self, n_steps: int, n_envs: int, observation_space: gym.Space, n_actions: int,
                 device: torch.device, *, store_masks: bool = True, text_keys: frozenset[str] = frozenset()) -> None:
        if n_steps < 1 or n_envs < 1:
            raise ValueError(f"n_steps and n_envs must be positive, got {n_steps} and {n_envs}")
        self.n_steps, self.n_envs, self.device = n_steps, n_envs, torch.device(device)
        shape = (n_steps, n_envs)
        self.text_keys = frozenset(text_keys)
        if self.text_keys:
            observation_space = gym.spaces.Dict({key: space for key, space in observation_space.spaces.items()
                                                 if key not in self.text_keys})
            self.text_ids = torch.zeros(shape, dtype=torch.int64, device=self.device)
            self._open = torch.zeros(n_envs, dtype=torch.int64, device=self.device)  # each env's text now
        self._texts: list[dict[str, torch.Tensor]] = []
        self._table: dict[str, torch.Tensor] | None = None
        self.num_texts = 0
        self.observations = _allocate(observation_space, shape, self.device)
        self.actions = torch.zeros(shape, dtype=torch.int64, device=self.device)
        self.action_masks = (torch.zeros(shape + (n_actions,), dtype=torch.bool, device=self.device)
                             if store_masks else None)
        floats = {"dtype": torch.float32, "device": self.device}
        self.log_probs = torch.zeros(shape, **floats)
        self.values = torch.zeros(shape, **floats)
        self.rewards = torch.zeros(shape, **floats)
        self.truncation_values = torch.zeros(shape, **floats)
        self.dones = torch.zeros(shape, dtype=torch.bool, device=self.device)
        self.advantages = torch.zeros(shape, **floats)
        self.returns = torch.zeros(shape, **floats)
        self.pos = 0
        self._pending = False

    @property
    def full(self) -> bool:
        return self.pos == self.n_steps

    def reset(self) -> None:
        self.pos, self._pending = 0, False
        self._texts, self._table, self.num_texts = [], None, 0

    def open_texts(self, rows: torch.Tensor, observations: dict) -> None:
        """Store the texts that env slots ``rows`` (indices) read from now on, taken from
        ``observations`` (every slot's): at the start of a rollout for every slot, then where
        an episode starts or its text grows (ClassifyReading reveals chunks)."""
        self._texts.append({key: observations[key][rows] for key in self.text_keys})
        self._open[rows] = torch.arange(self.num_texts, self.num_texts + len(rows), device=self.device)
        self.num_texts += len(rows)
        self._table = None

    def texts(self) -> dict[str, torch.Tensor]:
        """Every text the rollout read, ``[texts, ...]`` per text key (``RolloutBatch.texts`` indexes it)."""
        if self._table is None:
            self._table = {key: torch.cat([chunk[key] for chunk in self._texts]) for key in self.text_keys}
        return self._table

    def add(self, observations: Any, actions: torch.Tensor, action_masks: torch.Tensor | None,
            log_probs: torch.Tensor, values: torch.Tensor) -> None:
        """Store what the agent saw and did at the current step (each argument ``[n_envs, ...]``).

        Called before the env steps, so an env that updates its observation tensors in place
        cannot change what was stored; :meth:`add_outcome` then completes the step.
        """
        if self.full:
            raise RuntimeError(f"the rollout buffer is full ({self.n_steps} steps); call reset() first")
        if self._pending:
            raise RuntimeError("add_outcome() must follow add() before the next step is added")
        t = self.pos
        _write(self.observations, t, observations)
        if self.text_keys:
            self.text_ids[t] = self._open
        self.actions[t] = actions
        if self.action_masks is not None:
            if action_masks is None:
                raise ValueError("this buffer stores action masks; pass them to add()")
            self.action_masks[t] = action_masks
        self.log_probs[t] = log_probs
        self.values[t] = values
        self._pending = True

    def add_outcome(self, rewards: torch.Tensor, dones: torch.Tensor,
                    truncation_values: torch.Tensor | None = None) -> None:
        """Complete the current step with what the env answered (``truncation_values``: see the module docstring)."""
        if not self._pending:
            raise RuntimeError("add_outcome() needs the step's add() first")
        t = self.pos
        self.rewards[t] = rewards
        self.dones[t] = dones
        if truncation_values is None:
            self.truncation_values[t] = 0.0
        else:
            self.truncation_values[t] = truncation_values
        self._pending = False
        self.pos += 1

    def compute_returns_and_advantages(self, last_values: torch.Tensor, *, gamma: float, gae_lambda: float) -> None:
        """Fill ``advantages`` and ``returns`` with :func:`compute_gae` (the buffer must be full)."""
        if not self.full:
            raise RuntimeError(f"the rollout holds {self.pos} of {self.n_steps} steps; fill it before GAE")
        self.advantages, self.returns = compute_gae(self.rewards, self.values, self.dones, last_values,
                                                    truncation_values=self.truncation_values, gamma=gamma,
                                                    gae_lambda=gae_lambda)

    def minibatches(self, batch_size: int, generator: torch.Generator | None = None) -> Iterator[RolloutBatch]:
        """Every sample exactly once, in ``batch_size`` chunks of a random order (the last may be smaller).

        The order is drawn on the buffer's device from ``generator`` (which must live on
        that device), so shuffling never moves data to the host. A buffer that stores texts
        groups the samples by text (the texts in a random order, each text's samples
        together), so a minibatch reads few texts and the trunk runs once per text in it.
        """
        if batch_size < 1:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        total = self.n_steps * self.n_envs
        flat = self.flat()
        if self.text_keys:
            rank = torch.randperm(self.num_texts, generator=generator, device=self.device)[flat.texts]
            order = torch.argsort(rank, stable=True)
        else:
            order = torch.randperm(total, generator=generator, device=self.device)
        for start in range(0, total, batch_size):
            yield _select(flat, order[start:start + batch_size])

    def flat(self) -> RolloutBatch:
        """Every sample in storage order, as one batch (what A2C's single gradient step uses)."""
        def flatten(value: torch.Tensor) -> torch.Tensor:
            return value.reshape((self.n_steps * self.n_envs,) + value.shape[2:])

        masks = None if self.action_masks is None else flatten(self.action_masks)
        texts = flatten(self.text_ids) if self.text_keys else None
        return RolloutBatch(map_observation(flatten, self.observations), flatten(self.actions), masks,
                            flatten(self.log_probs), flatten(self.values), flatten(self.advantages),
                            flatten(self.returns), texts)
