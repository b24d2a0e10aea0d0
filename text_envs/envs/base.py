"""What every text environment shares: data, cache, episodes, masks, invalid actions, render.

A concrete env sets ``task`` and implements five hooks:

* ``_setup()``: build the observation and action spaces (called once, after the cache);
* ``_begin(index)``: start an episode on example ``index``;
* ``_act(action) -> (reward, done)``: apply a valid action;
* ``_observation()`` and ``_mask()``: the current observation and valid-action mask, as
  fresh arrays or read-only ones (see below);
* ``_result() -> (prediction, metrics)``: what the agent produced and its task metric,
  put in ``info`` at the end of the episode (``info["prediction"]``, ``info["metrics"]``);
* ``_render_text()``: the ``ansi`` picture of the episode so far;
* ``expert_action()``: what an oracle that reads the gold answer does now (the teacher of
  the supervised baseline, and the proof in tests that the maximum reward is reachable).

Nothing here runs the encoder after construction: ``__init__`` encodes the split through
the cache (a lookup when it is cached), and every step reads arrays.

Every array ``reset``, ``step`` and ``action_masks`` hand out is the caller's own: an agent
may edit it in place without changing what this env or another env over the same split
later returns. The encoded split is shared by all envs over it; its arrays are read-only
(the cache makes them so), and an env freezes the per-episode arrays it keeps with
:func:`read_only`. A hook may then return those, or views of them, without copying:
:func:`owned` copies exactly the read-only arrays of what it returns, once, and passes the
arrays a hook has just built as they are. The one thing a hook must not return is a
writable array the env keeps and changes (chosen tags, picks): it returns a copy of that.
"""

from __future__ import annotations

import os
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np

from .. import cache as cache_module
from ..data import load
from ..encoders import DEFAULT_ENCODER, Encoder
from ..records import TaskDataset

OBSERVATION_MODES = ("compact", "sequence", "tokens")
INVALID_ACTION_RULES = ("error", "penalty")
_DEFAULT = "default"


class InvalidActionError(ValueError):
    """An action outside the action space or masked out, with ``invalid_action="error"``; or,
    with either rule, something that is not one number (a string, None, a list)."""


def read_only(array: np.ndarray) -> np.ndarray:
    """``array``, made read-only: for arrays an env keeps and hands out, so that a view of
    them is copied by :func:`owned`, and a write through a view that escaped anyway raises
    instead of corrupting the env."""
    array.setflags(write=False)
    return array


def owned(value):
    """``value`` (an array or a dict of arrays) with each read-only array replaced by a copy:
    what the env returns is then the caller's own (see the module docstring)."""
    if isinstance(value, dict):
        return {key: owned(item) for key, item in value.items()}
    return value if value.flags.writeable else value.copy()


def text_image(text: str) -> np.ndarray:
    """``text`` drawn in a monospace font, as an RGB ``uint8`` array [height, width, 3]."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(dpi=100)
    canvas = FigureCanvasAgg(figure)
    label = figure.text(0, 1, text, family="monospace", size=9, va="top")
    extent = label.get_window_extent(canvas.get_renderer())  # fit the figure to the text
    figure.set_size_inches((extent.width + 12) / 100, (extent.height + 12) / 100)
    label.set_position((6 / (extent.width + 12), 1 - 6 / (extent.height + 12)))
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()


class TextEnv(gym.Env):
    """Base class of the text-envs environments (see the module docstring for the hooks).

    Args:
        dataset: ``"embedded"`` (default), a hub id, a local path, or a ready
            :class:`~text_envs.records.TaskDataset` of this env's task.
        split: ``"train"``, ``"validation"`` or ``"test"``.
        encoder: an :class:`~text_envs.encoders.Encoder` or a name/path for one.
        max_length: encoder tokens per segment (default: the task layout's).
        cache_dir: where encodings are cached on disk (``"default"``: see
            :func:`text_envs.cache.default_cache_dir`; None: in memory only).
        observation: ``"compact"``, ``"sequence"`` or ``"tokens"``.
        dtype: float dtype of observation states, ``np.float32`` (default) or ``np.float16``.
        sequential: walk the split in order, example 0, 1, ... (wrapping after the last),
            instead of sampling examples; for evaluation.
        invalid_action: ``"error"`` raises :class:`InvalidActionError` for an out-of-range
            or masked action; ``"penalty"`` leaves the state as it was, gives
            ``invalid_action_penalty`` and sets ``info["invalid_action"]``; after
            ``max_invalid_actions`` such actions in one episode it is truncated.
        render_mode: ``None``, ``"ansi"`` (returns the text), ``"human"`` (prints it) or
            ``"rgb_array"`` (the text drawn as an image, for video recorders; SB3's
            ``make_vec_env`` asks for this mode by default).
    """

    task: ClassVar[str]
    metadata = {"render_modes": ["ansi", "human", "rgb_array"], "render_fps": 4}

    def __init__(self, dataset: str | os.PathLike | TaskDataset = "embedded", split: str = "train", *,
                 encoder: Encoder | str = DEFAULT_ENCODER, max_length: int | None = None,
                 cache_dir: str | os.PathLike | None = _DEFAULT, observation: str = "compact",
                 dtype: type = np.float32, sequential: bool = False, invalid_action: str = "error",
                 invalid_action_penalty: float = -1.0, max_invalid_actions: int = 10,
                 render_mode: str | None = None, layout: str | None = None) -> None:
        if observation not in OBSERVATION_MODES:
            raise ValueError(f"unknown observation mode {observation!r}; expected one of {OBSERVATION_MODES}")
        if invalid_action not in INVALID_ACTION_RULES:
            raise ValueError(f"unknown invalid_action rule {invalid_action!r}; expected one of "
                             f"{INVALID_ACTION_RULES}")
        if np.dtype(dtype) not in (np.float32, np.float16):
            raise ValueError(f"dtype must be np.float32 or np.float16, got {dtype!r}")
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"unknown render_mode {render_mode!r}; expected one of {self.metadata['render_modes']}")
        if isinstance(dataset, TaskDataset):
            if dataset.task != self.task:
                raise ValueError(f"{type(self).__name__} needs a {self.task!r} dataset, got a {dataset.task!r} one")
            self.data = dataset
        else:
            self.data = load(self.task, dataset, split)
        if cache_dir == _DEFAULT:
            cache_dir = cache_module.default_cache_dir()
        self.encoder = encoder if isinstance(encoder, Encoder) else Encoder(encoder)
        self.encoded = cache_module.encode(self.data, self.encoder, cache_dir=cache_dir, max_length=max_length,
                                           layout=layout, progress=False)
        self.observation_mode = observation
        self.dtype = np.dtype(dtype)
        self.sequential = sequential
        self.invalid_action = invalid_action
        self.invalid_action_penalty = float(invalid_action_penalty)
        self.max_invalid_actions = max_invalid_actions
        self.render_mode = render_mode
        self.index = -1
        self._next_sequential = 0
        self._invalid_count = 0
        self._done = True
        self._setup()

    # -- hooks ------------------------------------------------------------------------------

    def _setup(self) -> None:
        raise NotImplementedError

    def _begin(self, index: int) -> None:
        raise NotImplementedError

    def _act(self, action: int) -> tuple[float, bool]:
        raise NotImplementedError

    def _observation(self) -> Any:
        raise NotImplementedError

    def _mask(self) -> np.ndarray:
        raise NotImplementedError

    def _result(self) -> tuple[Any, dict[str, float]]:
        raise NotImplementedError

    def _render_text(self) -> str:
        raise NotImplementedError

    def expert_action(self) -> int:
        """The action an oracle that knows the gold answer takes in the current state."""
        raise NotImplementedError

    # -- the Gymnasium API ------------------------------------------------------------------

    @property
    def num_examples(self) -> int:
        """Examples in the split: a sequential pass is this many episodes."""
        return len(self.data)

    @property
    def record(self):
        """The dataset record of the current episode."""
        return self.data[self.index]

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        options = options or {}
        unknown = set(options) - {"index"}
        if unknown:
            raise ValueError(f"unknown reset options {sorted(unknown)}; the only option is 'index'")
        if "index" in options:
            index = options["index"]
            if not isinstance(index, (int, np.integer)) or not 0 <= index < self.num_examples:
                raise ValueError(f"options['index'] must be an integer in [0, {self.num_examples}), got {index!r}")
        elif self.sequential:
            index, self._next_sequential = self._next_sequential, (self._next_sequential + 1) % self.num_examples
        else:
            index = int(self.np_random.integers(self.num_examples))
        self.index = int(index)
        self._invalid_count = 0
        self._done = False
        self._begin(self.index)
        return owned(self._observation()), {"index": self.index, "id": self.record.id,
                                            "action_mask": self.action_masks()}

    def step(self, action):
        if self._done:
            raise RuntimeError("step() called on a finished episode; call reset() first")
        action = self._check_action(action)
        if action is None:  # invalid, and the rule is "penalty"
            self._invalid_count += 1
            truncated = self._invalid_count >= self.max_invalid_actions
            self._done = truncated
            info = {"invalid_action": True, "action_mask": self.action_masks()}
            if truncated:
                info.update(self._final_info())
            return owned(self._observation()), self.invalid_action_penalty, False, truncated, info
        reward, done = self._act(action)
        self._done = done
        info = {"action_mask": self.action_masks()}
        if done:
            info.update(self._final_info())
        if self.render_mode == "human":
            self.render()
        return owned(self._observation()), float(reward), done, False, info

    def _final_info(self) -> dict:
        prediction, metrics = self._result()
        return {"prediction": prediction, "metrics": metrics, "index": self.index, "id": self.record.id}

    def _check_action(self, action) -> int | None:
        """The action as an int if it is valid; else None (penalty rule) or an error (error rule).

        A number that is not a valid action, an integer outside the space or masked out, or a
        float that is not an integer (2.5, inf, nan), is what an agent may sample, so every
        such number takes the invalid-action rule. Anything else (a string, None, several
        numbers) is a caller's bug and raises whatever the rule."""
        try:
            number = np.asarray(action).item()
        except (TypeError, ValueError):  # several numbers, or ragged
            number = None
        if not isinstance(number, (int, float)):  # bool is an int, as in Discrete.contains
            raise InvalidActionError(f"{type(self).__name__}.step() takes one action of its action space "
                                     f"{self.action_space} (an integer in [0, {self.action_space.n})), "
                                     f"got {action!r}")
        mask = self._mask()
        integral = isinstance(number, int) or number.is_integer()
        if integral and 0 <= number < len(mask) and mask[int(number)]:
            return int(number)
        if self.invalid_action == "penalty":
            return None
        if not integral:
            reason = f"not a single integer, so outside the action space [0, {len(mask)})"
        elif not 0 <= number < len(mask):
            reason = f"outside the action space [0, {len(mask)})"
        else:
            reason = f"masked out here ({self._describe_invalid(int(number))})"
        raise InvalidActionError(f"invalid action {number!r} in {type(self).__name__}: {reason}; valid actions are "
                                 f"info['action_mask'] / env.action_masks(), or pass invalid_action='penalty'")

    def _describe_invalid(self, action: int) -> str:
        return "see the env's documentation of its mask"

    def action_masks(self) -> np.ndarray:
        """The valid actions now, as a bool array of the caller's own (the method sb3-contrib's
        MaskablePPO calls)."""
        return owned(self._mask())

    def render(self) -> str | None:
        if self.render_mode is None:
            gym.logger.warn("render() called without a render_mode; pass render_mode='ansi' or 'human'")
            return None
        if self.index < 0:
            text = f"{type(self).__name__}: no episode yet; call reset()"
        else:
            text = self._render_text()
        if self.render_mode == "human":
            print(text)
            return None
        if self.render_mode == "rgb_array":
            return text_image(text)
        return text

    # -- helpers for subclasses ---------------------------------------------------------------

    def _states(self, rows) -> np.ndarray:
        """Cached float16 states (token rows) as the observation dtype: a read-only view of the
        cache where no conversion or gather is needed, so copy it into an array of the env's."""
        return np.asarray(self.encoded.states[rows], dtype=self.dtype)

    def _state_box(self, shape: tuple[int, ...]) -> gym.spaces.Box:
        """A Box for encoder states: they are stored as float16, so float16's range bounds them."""
        limit = float(np.finfo(np.float16).max)
        return gym.spaces.Box(low=-limit, high=limit, shape=shape, dtype=self.dtype)
