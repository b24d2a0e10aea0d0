"""What every torch vector env shares: episode sampling, same-step autoreset, bookkeeping, action checks.

A :class:`TorchVectorEnv` runs ``num_envs`` episodes of one text env as tensors on one
device, so an on-device trainer steps them without a Python loop over envs and without
copying observations between host and device. It is built from the task's spec over an
encoded split (``self.task_spec``, see :mod:`text_envs.tasks.spec`), as the Gymnasium env
is: the cached encoder states and the spec's tables are moved to the device once, at
construction; nothing is encoded again. A concrete env sets ``spec_class`` and implements
the hooks:

* ``_setup()``: move the per-example tables it needs to the device and make its state;
* ``_begin(starting)``: start a new episode, on example ``self.index``, in the sub-envs
  where the bool tensor ``starting`` is True (the others keep their state);
* ``_act(actions, valid) -> (reward, terminated)``: apply the actions where ``valid`` (the
  actions of the other sub-envs are replaced by 0, so they index safely; their state must
  not change); reward float64 [N];
* ``_observation()`` (may read ``self.action_mask``, the mask of the current state) and
  ``_mask()``, both batched over the sub-envs;
* ``_derive(starting)`` (optional): rebuild, from the state, the per-episode caches
  (tensors computed from it, such as QA's padded episode parts) of the sub-envs where
  ``starting`` is True: after ``_begin`` for those that start, after ``load_state_dict`` for all.

and declares its episode state in ``state``: the names of the per-sub-env tensors (first
dimension ``num_envs``) that, with the base's (:data:`BASE_STATE`), determine every
observation, mask, reward and termination to come. ``state_dict`` saves exactly those and
nothing else; what can be computed from them is a cache that ``_derive`` rebuilds.

State is updated out of place (``torch.where``, not in-place writes), so an observation may
hold state tensors without a copy: a later step never changes what an earlier one returned.

The rules are the Gymnasium env's, sub-env by sub-env (``tests/test_vector.py`` replays
every episode in the Gymnasium env and compares): the same observations (with the mask
under ``"action_mask"`` when the env was made with ``mask_in_observation=True``), masks,
rewards, terminations, and ``invalid_action`` rule (masked actions get the penalty by
default; actions outside the action space raise under every rule). Episodes restart in the
same step that ends them (as SB3's VecEnvs and Gymnasium's ``SAME_STEP`` mode): ``step``
returns the next episode's first observation, and ``info["final_obs"]`` the last one of the
episode that ended.
"""

from __future__ import annotations

from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
import torch

from ..envs.base import EnvOptions, InvalidActionError, with_mask, with_mask_space
from ..checks import positive_int
from ..tasks.spec import TaskSpec


def resolve_device(device: str | torch.device) -> torch.device:
    """``"auto"``: the GPU when there is one, else the CPU."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def take(table: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """``table[index]`` (whole rows of the first dimension, any index shape) by ``index_select``,
    which on the CPU stays on one thread for small gathers where advanced indexing starts the
    thread pool (milliseconds on a busy machine)."""
    return table.index_select(0, index.reshape(-1)).reshape(*index.shape, *table.shape[1:])


def padded_gather(table: torch.Tensor, starts: torch.Tensor, lengths: torch.Tensor, width: int,
                  fill: float = 0) -> torch.Tensor:
    """Rows ``starts[i] : starts[i] + lengths[i]`` of a flat ``table`` as one padded batch:
    [len(starts), width, *table.shape[1:]], ``fill`` past each length (ragged data, stored flat
    with offsets as the cache stores it, read without a loop)."""
    columns = torch.arange(width, device=table.device)
    present = columns < lengths[..., None]
    rows = (starts[..., None] + columns).clamp(0, table.shape[0] - 1)
    values = take(table, rows)  # a new tensor: fill it in place
    return values.masked_fill_(~present.reshape(*present.shape, *([1] * (values.dim() - present.dim()))), fill)


class TokenRows:
    """A mixin: segments' token ids (and states) read as padded rows from the cache's flat arrays."""

    def _setup_tokens(self, states: bool) -> None:
        encoded = self.task_spec.encoded
        token_starts = np.asarray(encoded.token_starts)
        self._token_start = self.tensor(token_starts[:-1])
        self._token_count = self.tensor(np.diff(token_starts))
        self._input_ids = self.tensor(encoded.input_ids, torch.int64)
        if states:
            self._token_states = self.tensor(encoded.states)

    def _rows(self, segments: torch.Tensor, present: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """Token ids, attention mask and (if kept) states of ``segments`` (any shape), padded to
        ``max_length``; all zero where ``present`` is False."""
        length = self.task_spec.encoded.max_length
        segments = segments.clamp(max=len(self._token_count) - 1)  # rows past the split are not present
        counts = self._token_count[segments]
        if present is not None:
            counts = torch.where(present, counts, 0)
        rows = {"input_ids": padded_gather(self._input_ids, self._token_start[segments], counts, length),
                "attention_mask": (torch.arange(length, device=self.device) < counts[..., None]).long()}
        if hasattr(self, "_token_states"):
            rows["states"] = padded_gather(self._token_states, self._token_start[segments], counts, length)
        return rows


BASE_STATE = ("index", "_returns", "_lengths", "_invalid_count")


class TorchVectorEnv:
    """``num_envs`` episodes of one text env, stepped together as tensors on ``device``.

    ``reset(seed=...)`` and ``step(actions)`` follow Gymnasium's vector API with tensors:
    ``actions`` is an integer tensor [N] of elements of the action space; observations are a
    tensor or a dict of tensors shaped and typed like ``single_observation_space`` batched
    (the mask included, as int8, under ``mask_in_observation=True``); rewards float32 [N],
    terminated/truncated bool [N], all on ``device``. ``info`` holds ``action_mask`` (bool
    [N, n_actions], of the returned observations), ``index`` (int64 [N], the example each
    sub-env now runs), and after a step ``final_obs`` (the observation where an episode ended,
    valid where ``terminated | truncated``), ``episode_return`` (float32) and
    ``episode_length`` (int64) (valid there too), and ``invalid_action`` (bool [N]).

    Episodes are sampled from the split with a ``torch.Generator`` on the device, seeded by
    ``seed`` (here or in ``reset``), so a seed replays the same episodes on one device. With
    ``sequential=True`` (one of the :class:`~text_envs.envs.base.EnvOptions`) the sub-envs walk the split together in
    order: ``reset`` gives sub-env ``i`` example ``i``, and each episode that ends takes the
    next example not yet started (wrapping after the last).
    """

    spec_class: ClassVar[type[TaskSpec]]
    #: the names of the tensors of the episodes in flight, besides :data:`BASE_STATE` (see the module doc)
    state: ClassVar[tuple[str, ...]] = ()

    def __init__(self, task_spec: TaskSpec, num_envs: int, *, options: EnvOptions = EnvOptions(),
                 device: str | torch.device = "auto", seed: int | None = None) -> None:
        if not isinstance(task_spec, self.spec_class):
            raise TypeError(f"{type(self).__name__} plays {self.spec_class.__name__}, got {type(task_spec).__name__}")
        positive_int("num_envs", num_envs)
        self.task_spec = task_spec
        self.options = options
        self.num_envs = int(num_envs)
        self.device = resolve_device(device)
        self.single_action_space: gym.spaces.Discrete = task_spec.action_space
        self.single_observation_space: gym.Space = task_spec.observation_space
        if options.mask_in_observation:
            self.single_observation_space = with_mask_space(self.single_observation_space, self.single_action_space.n)
        self.num_actions = int(self.single_action_space.n)
        self.num_examples = task_spec.num_examples
        self.dtype = torch.float16 if task_spec.dtype == np.float16 else torch.float32
        self._generator = torch.Generator(device=self.device)
        self._seed(seed)
        zeros = torch.zeros(self.num_envs, dtype=torch.int64, device=self.device)
        self.index = zeros
        self._next_example = torch.zeros((), dtype=torch.int64, device=self.device)
        self._returns = zeros.double()
        self._lengths = zeros
        self._invalid_count = zeros
        self._penalty = torch.tensor(options.invalid_action_penalty, dtype=torch.float64, device=self.device)
        self._started = False
        self._setup()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.task_spec.env_id()}, num_envs={self.num_envs}, device={self.device})"

    # -- hooks ------------------------------------------------------------------------------

    def _setup(self) -> None:
        raise NotImplementedError

    def _begin(self, starting: torch.Tensor) -> None:
        raise NotImplementedError

    def _act(self, actions: torch.Tensor, valid: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        raise NotImplementedError

    def _observation(self) -> Any:
        raise NotImplementedError

    def _mask(self) -> torch.Tensor:
        raise NotImplementedError

    def _derive(self, starting: torch.Tensor) -> None:
        """Rebuild the per-episode caches of the sub-envs in ``starting`` from the state (none by default)."""

    def state_names(self) -> tuple[str, ...]:
        """The tensors :meth:`state_dict` saves: :data:`BASE_STATE` and the class's ``state``."""
        return (*BASE_STATE, *self.state)

    # -- helpers for subclasses -------------------------------------------------------------

    def tensor(self, array, dtype: torch.dtype | None = None) -> torch.Tensor:
        """A host array (memory-mapped cache arrays included) as a tensor on the device."""
        return torch.from_numpy(np.array(array)).to(self.device, dtype)

    # -- the API ----------------------------------------------------------------------------

    def reset(self, *, seed: int | None = None) -> tuple[Any, dict]:
        """Start a new episode in every sub-env (``seed`` reseeds the example sampler)."""
        if seed is not None:
            self._seed(seed)
        self._next_example = torch.zeros_like(self._next_example)
        self._start_episodes(torch.ones(self.num_envs, dtype=torch.bool, device=self.device))
        self._started = True
        self.action_mask = self._mask()
        return self._observe(), {"action_mask": self.action_mask, "index": self.index}

    def step(self, actions) -> tuple[Any, torch.Tensor, torch.Tensor, torch.Tensor, dict]:
        if not self._started:
            raise RuntimeError("step() called before reset()")
        actions = self._as_actions(actions)
        valid = self._valid(actions)
        if self.options.invalid_action == "error" and not bool(valid.all()):
            self._raise_invalid(actions, valid, "masked out here (invalid_action='error'; the default "
                                "'penalty' gives it a penalty instead)")
        reward, terminated = self._act(torch.where(valid, actions, 0), valid)
        terminated = terminated & valid
        self._invalid_count = self._invalid_count + ~valid
        truncated = ~valid & (self._invalid_count >= self.options.max_invalid_actions)
        reward = torch.where(valid, reward, self._penalty)
        self._returns = self._returns + reward
        self._lengths = self._lengths + 1
        done = terminated | truncated
        self.action_mask = self._mask()
        info = {"final_obs": self._observe(), "episode_return": self._returns.float(),
                "episode_length": self._lengths, "invalid_action": ~valid}
        self._start_episodes(done)
        self.action_mask = self._mask()
        info.update(action_mask=self.action_mask, index=self.index)
        return self._observe(), reward.float(), terminated, truncated, info

    def close(self) -> None:
        """Nothing to release (the tensors go with the object); for Gymnasium's vector API."""

    # -- checkpoints ------------------------------------------------------------------------

    def state_dict(self) -> dict:
        """The episodes in flight, on the CPU: the declared state tensors (:meth:`state_names`;
        state is replaced out of place, so these are snapshots) and the sampler, as plain
        tensors, numbers and strings (``torch.load(..., weights_only=True)`` reads it back).

        A trainer saves it with its model so that, after :meth:`load_state_dict`, a resumed
        run continues these episodes exactly instead of starting new ones. Host-side memos
        (e.g. ROUGE tokenizations) are not state: they are rebuilt on demand.
        """
        tensors = {name: getattr(self, name).cpu() for name in self.state_names()}
        return {"env": type(self).__name__, "num_envs": self.num_envs, "num_examples": self.num_examples,
                "tensors": tensors, "next_example": self._next_example.cpu(), "started": self._started,
                "device_type": self.device.type, "generator": self._generator.get_state()}

    def load_state_dict(self, state: dict) -> None:
        """Put back episodes saved by :meth:`state_dict` (same env class, split size and ``num_envs``,
        and the same state tensors, which the env's options such as the reward or ``max_words`` shape)."""
        self._check_state(state)
        for name, value in state["tensors"].items():
            setattr(self, name, value.to(self.device))
        self._next_example = state["next_example"].to(self.device)
        self._started = state["started"]
        if state["device_type"] == self.device.type:  # CPU and CUDA generators have different states
            self._generator.set_state(state["generator"])
        self._derive(torch.ones(self.num_envs, dtype=torch.bool, device=self.device))
        if self._started:
            self.action_mask = self._mask()

    def _check_state(self, state: dict) -> None:
        """A clear error unless ``state`` is one this env can continue."""
        expected = (type(self).__name__, self.num_envs, self.num_examples)
        saved = (state["env"], state["num_envs"], state["num_examples"])
        if saved != expected:
            raise ValueError(f"this state is of {saved[0]} with {saved[1]} sub-envs over {saved[2]} examples; this env "
                             f"is {expected[0]} with {expected[1]} over {expected[2]}")
        shapes = {name: tuple(getattr(self, name).shape) for name in self.state_names()}
        saved = {name: tuple(value.shape) for name, value in state["tensors"].items()}
        differ = {name: (saved.get(name), shapes.get(name)) for name in sorted(saved.keys() | shapes.keys())
                  if saved.get(name) != shapes.get(name)}
        if differ:
            raise ValueError(f"this state does not fit this {expected[0]}, made with other options (reward, "
                             f"max_words, ...): state tensor: (saved shape, shape here): {differ}")

    # -- internals --------------------------------------------------------------------------

    def _observe(self) -> Any:
        """The observation of the current state, with ``self.action_mask`` (the mask of that
        state) added as the env adds it when made with ``mask_in_observation=True``."""
        observation = self._observation()
        if self.options.mask_in_observation:
            observation = with_mask(observation, self.action_mask.to(torch.int8))
        return observation

    def _seed(self, seed: int | None) -> None:
        if seed is None:
            self._generator.seed()
        else:
            self._generator.manual_seed(int(seed))

    def _start_episodes(self, starting: torch.Tensor) -> None:
        """Pick the next example for the sub-envs in ``starting`` and begin their episodes."""
        if self.options.sequential:
            order = torch.cumsum(starting.long(), 0) - 1
            examples = (self._next_example + order) % self.num_examples
            self._next_example = (self._next_example + starting.sum()) % self.num_examples
        else:
            examples = torch.randint(self.num_examples, (self.num_envs,), generator=self._generator,
                                     device=self.device)
        self.index = torch.where(starting, examples, self.index)
        self._returns = torch.where(starting, 0.0, self._returns)
        self._lengths = torch.where(starting, 0, self._lengths)
        self._invalid_count = torch.where(starting, 0, self._invalid_count)
        self._begin(starting)
        self._derive(starting)

    def _as_actions(self, actions) -> torch.Tensor:
        """``actions`` as an int64 tensor [N] on the device, if each is an element of the action
        space; else an error under every rule (as in the Gymnasium env: only elements are owed
        an outcome). Actions that arrive on the host are range-checked there, for free; a tensor
        already on a GPU (a trainer's own samples) is not, since the check would make every
        step wait for the device."""
        actions = torch.as_tensor(actions)
        if actions.dtype.is_floating_point or actions.dtype.is_complex or actions.dtype == torch.bool:
            raise InvalidActionError(f"actions must be an integer tensor, got dtype {actions.dtype}")
        if actions.shape not in ((self.num_envs,), (self.num_envs, 1)):
            raise InvalidActionError(f"actions must have shape [{self.num_envs}] (one per sub-env), "
                                     f"got {tuple(actions.shape)}")
        actions = actions.reshape(self.num_envs).long()
        if actions.device.type == "cpu":
            outside = (actions < 0) | (actions >= self.num_actions)
            if bool(outside.any()):
                self._raise_invalid(actions.to(self.device), ~outside.to(self.device),
                                    f"outside the action space [0, {self.num_actions}) ({self.single_action_space}), "
                                    f"under every invalid_action rule")
        return actions.to(self.device)

    def _valid(self, actions: torch.Tensor) -> torch.Tensor:
        """Which of ``actions`` (elements of the action space) the masks allow."""
        return self.action_mask.gather(1, actions[:, None])[:, 0]

    def _raise_invalid(self, actions: torch.Tensor, valid: torch.Tensor, reason: str) -> None:
        """An error naming the first sub-env whose action is not ``valid``, its action and ``reason``."""
        bad = torch.nonzero(~valid)[:, 0].tolist()
        env_index, action = bad[0], int(actions[bad[0]])
        others = f" (and {len(bad) - 1} more sub-envs)" if len(bad) > 1 else ""
        raise InvalidActionError(
            f"invalid action {action} for sub-env {env_index} (example {int(self.index[env_index])}) of "
            f"{type(self).__name__}: {reason}{others}; valid actions are info['action_mask']")
