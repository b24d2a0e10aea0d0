"""What every text environment shares: episodes, masks, invalid actions, render.

A concrete env sets ``spec_class`` (its task's :class:`~text_envs.tasks.spec.TaskSpec`),
reads the spec's tables (``self.task_spec``) and implements the hooks:

* ``_begin(index)``: start an episode on example ``index``;
* ``_act(action) -> (reward, done)``: apply a valid action;
* ``_observation()`` and ``_mask()``: the current observation and valid-action mask, as
  fresh arrays or read-only ones (see below); the base adds the mask to the observation
  when the env is made with ``mask_in_observation=True`` (see :func:`with_mask`);
* ``_result() -> (prediction, metrics)``: what the agent produced and its task metric,
  put in ``info`` at the end of the episode (``info["prediction"]``, ``info["metrics"]``);
* ``_render_text(gold)``: the ``ansi`` picture of the episode so far, with or without
  the gold answer (``text-envs play`` hides it);
* ``why_invalid(action)``: why the mask rules ``action`` out now, in words;
* ``expert_action()``: what an oracle that reads the gold answer does now (the teacher of
  the supervised baseline, and the proof in tests that the maximum reward is reachable).

The spaces are the spec's. The spec is built from the split once, at construction
(:meth:`TaskSpec.load <text_envs.tasks.spec.TaskSpec.load>`: the data, encoded through
the cache, a lookup when it is cached); nothing here runs the encoder after that, and
every step reads arrays.

Actions. ``step`` accepts every element of ``action_space`` (Gymnasium's contract): a
masked one gets a valid outcome under the default rule ``invalid_action="penalty"``, or
raises under the opt-in strict rule ``"error"``. A value outside the space (-1, ``n``,
2.5, inf, nan, a string) is a caller's bug and raises :class:`InvalidActionError` under
every rule, as Gymnasium's own envs assert.

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

import dataclasses
import os
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np

from ..cache import DEFAULT_CACHE_DIR
from ..checks import one_of, positive_int
from ..encoders import DEFAULT_ENCODER, Encoder
from ..records import TaskDataset
from ..tasks.spec import TaskSpec

INVALID_ACTION_RULES = ("penalty", "error")
#: the key of the action mask in observations of envs made with ``mask_in_observation=True``
MASK_KEY = "action_mask"
#: the key of a compact (``Box``) observation inside such a ``Dict`` observation
WRAPPED_KEY = "observations"


class InvalidActionError(ValueError):
    """A value outside the action space, under every rule (a caller's bug); or a masked
    action, with ``invalid_action="error"``."""


@dataclasses.dataclass(frozen=True)
class EnvOptions:
    """How an env serves its agent, whatever the task: the example order and the rules for
    masked actions and masks (see :class:`TextEnv` for each). The Gymnasium env and its torch
    vector twin take the same options, so they play by the same rules."""

    sequential: bool = False
    invalid_action: str = "penalty"
    invalid_action_penalty: float = -1.0
    max_invalid_actions: int = 10
    mask_in_observation: bool = False

    def __post_init__(self) -> None:
        one_of("invalid_action rule", self.invalid_action, INVALID_ACTION_RULES)
        positive_int("max_invalid_actions", self.max_invalid_actions)
        object.__setattr__(self, "invalid_action_penalty", float(self.invalid_action_penalty))
        object.__setattr__(self, "sequential", bool(self.sequential))
        object.__setattr__(self, "mask_in_observation", bool(self.mask_in_observation))


def with_mask_space(space: gym.Space, n_actions: int) -> gym.spaces.Dict:
    """``space`` with the action mask as a ``Box(0, 1, (n_actions,), int8)`` under
    :data:`MASK_KEY`: a ``Dict`` gets the key added, a ``Box`` becomes ``Dict(observations=...,
    action_mask=...)``. The convention of RLlib's action-masking modules and TorchRL, whose
    agents read masks from the observation rather than from ``info``."""
    parts = dict(space.spaces) if isinstance(space, gym.spaces.Dict) else {WRAPPED_KEY: space}
    if MASK_KEY in parts:
        raise ValueError(f"the observation space already has a {MASK_KEY!r} key")
    return gym.spaces.Dict({**parts, MASK_KEY: gym.spaces.Box(0, 1, (n_actions,), np.int8)})


def with_mask(observation, mask):
    """An observation (an array or tensor, or a dict of them) with ``mask`` (int8) added, as
    :func:`with_mask_space` lays it out; shared by the envs and their torch vector twins."""
    parts = dict(observation) if isinstance(observation, dict) else {WRAPPED_KEY: observation}
    return {**parts, MASK_KEY: mask}


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
    """``text`` drawn in a monospace font, as an RGB ``uint8`` array [height, width, 3]
    (``render_mode="rgb_array"``). It needs matplotlib, which an env-only install leaves out."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ModuleNotFoundError as err:
        if (err.name or "").partition(".")[0] != "matplotlib":
            raise
        raise ModuleNotFoundError('render_mode="rgb_array" needs matplotlib: pip install matplotlib (or the agents '
                                  'extra: pip install "text-envs[agents]")', name="matplotlib") from None

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
        dataset: ``"embedded"`` (default), a hub id, a local path (a ``save_to_disk`` folder
            too), a ``datasets.Dataset`` or ``DatasetDict``, or a ready
            :class:`~text_envs.records.TaskDataset` of this env's record kind.
        split: ``"train"``, ``"validation"`` or ``"test"``.
        encoder: an :class:`~text_envs.encoders.Encoder` or a name/path for one.
        max_length: encoder tokens per segment (default: the task layout's).
        cache_dir: where encodings are cached on disk (``"default"``: see
            :func:`text_envs.cache.default_cache_dir`; None: in memory only).
        observation: ``"compact"``, ``"sequence"`` or ``"tokens"`` (the modes the task has).
        dtype: float dtype of observation states, ``np.float32`` (default) or ``np.float16``.
        sequential: walk the split in order, example 0, 1, ... (wrapping after the last),
            instead of sampling examples; for evaluation.
        invalid_action: what a masked action (an element of the action space that the mask
            rules out now) does. ``"penalty"`` (default) leaves the state as it was, gives
            ``invalid_action_penalty`` and sets ``info["invalid_action"]``; after
            ``max_invalid_actions`` such actions in one episode it is truncated, so an agent
            that ignores masks (``action_space.sample()``) still ends every episode within
            its natural length plus ``max_invalid_actions`` steps. ``"error"`` (strict, opt-in)
            raises :class:`InvalidActionError`. A value outside the action space raises under
            either rule.
        invalid_action_penalty: the reward of a masked action under ``"penalty"`` (default
            -1.0: the scale of the best reward of one step, so invalid moves never pay).
        max_invalid_actions: masked actions in one episode after which it is truncated, under
            ``"penalty"`` (default 10).
        mask_in_observation: add the valid-action mask to the observation (see
            :func:`with_mask_space`), for agents that read masks there (RLlib, TorchRL);
            ``info["action_mask"]`` and ``action_masks()`` give it either way.
        render_mode: ``None``, ``"ansi"`` (returns the text), ``"human"`` (prints it) or
            ``"rgb_array"`` (the text drawn as an image, for video recorders; SB3's
            ``make_vec_env`` asks for this mode by default).
        progress: when the split is not in the cache yet, say what is being encoded and show a
            progress bar (rate, time left) on stderr while it is. None (default): when stderr
            is a terminal or a notebook (:func:`text_envs.cache.watched`); True or False:
            always or never.
        options: the task's own options (``reward=``, ``max_words=``, ...): see its spec.
    """

    spec_class: ClassVar[type[TaskSpec]]
    metadata = {"render_modes": ["ansi", "human", "rgb_array"], "render_fps": 4}

    def __init__(self, dataset: str | os.PathLike | TaskDataset = "embedded", split: str = "train", *,
                 encoder: Encoder | str = DEFAULT_ENCODER, max_length: int | None = None,
                 cache_dir: str | os.PathLike | None = DEFAULT_CACHE_DIR, observation: str = "compact",
                 dtype: type = np.float32, sequential: bool = False, invalid_action: str = "penalty",
                 invalid_action_penalty: float = -1.0, max_invalid_actions: int = 10,
                 mask_in_observation: bool = False, render_mode: str | None = None,
                 progress: bool | None = None, **options) -> None:
        env_options = EnvOptions(sequential=sequential, invalid_action=invalid_action,
                                 invalid_action_penalty=invalid_action_penalty,
                                 max_invalid_actions=max_invalid_actions, mask_in_observation=mask_in_observation)
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"unknown render_mode {render_mode!r}; expected one of {self.metadata['render_modes']}")
        self.task_spec = self.spec_class.load(dataset, split, encoder=encoder, max_length=max_length,
                                              cache_dir=cache_dir, progress=progress, observation=observation,
                                              dtype=dtype, **options)
        self.options = env_options
        self.render_mode = render_mode
        self.index = -1
        self._next_sequential = 0
        self._invalid_count = 0
        self._done = True
        self.action_space = self.task_spec.action_space
        self.observation_space = self.task_spec.observation_space
        if env_options.mask_in_observation:
            self.observation_space = with_mask_space(self.observation_space, self.action_space.n)
        self._setup()

    # -- what the spec holds, by its usual names ------------------------------------------------

    @property
    def data(self) -> TaskDataset:
        """The split's records."""
        return self.task_spec.data

    @property
    def encoded(self):
        """The split's :class:`~text_envs.cache.EncodedSplit`."""
        return self.task_spec.encoded

    @property
    def encoder(self) -> Encoder:
        return self.task_spec.encoder

    @property
    def observation_mode(self) -> str:
        return self.task_spec.observation

    @property
    def dtype(self) -> np.dtype:
        return self.task_spec.dtype

    # -- hooks ------------------------------------------------------------------------------

    def _setup(self) -> None:
        """Per-env preparation after the spaces are set (none by default)."""

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

    def _render_text(self, gold: bool) -> str:
        raise NotImplementedError

    def why_invalid(self, action: int) -> str:
        """Why the mask rules out ``action`` now, in words (for error messages and ``play``)."""
        return "see the env's documentation of its mask"

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
        elif self.options.sequential:
            index, self._next_sequential = self._next_sequential, (self._next_sequential + 1) % self.num_examples
        else:
            index = int(self.np_random.integers(self.num_examples))
        self.index = int(index)
        self._invalid_count = 0
        self._done = False
        self._begin(self.index)
        mask = self.action_masks()
        return self._observe(mask), {"index": self.index, "id": self.record.id, "action_mask": mask}

    def step(self, action):
        if self._done:
            raise RuntimeError("step() called on a finished episode; call reset() first")
        action = self._check_action(action)
        if action is None:  # invalid, and the rule is "penalty"
            self._invalid_count += 1
            truncated = self._invalid_count >= self.options.max_invalid_actions
            self._done = truncated
            info = {"invalid_action": True, "action_mask": self.action_masks()}
            if truncated:
                info.update(self._final_info())
            return self._observe(info["action_mask"]), self.options.invalid_action_penalty, False, truncated, info
        reward, done = self._act(action)
        self._done = done
        info = {"action_mask": self.action_masks()}
        if done:
            info.update(self._final_info())
        if self.render_mode == "human":
            self.render()
        return self._observe(info["action_mask"]), float(reward), done, False, info

    def result(self) -> tuple[object, dict[str, float]]:
        """What the agent has produced in this episode so far, and its task metrics: at the end of
        an episode, ``info["prediction"]`` and ``info["metrics"]``. For an episode that something
        outside the env ended (a ``TimeLimit`` wrapper), whose last ``info`` has neither."""
        return self._result()

    def _final_info(self) -> dict:
        prediction, metrics = self._result()
        return {"prediction": prediction, "metrics": metrics, "index": self.index, "id": self.record.id}

    def _observe(self, mask: np.ndarray):
        """The observation handed out: the caller's own (see the module docstring), with
        ``mask`` (the one ``info`` carries) added when the env was made with
        ``mask_in_observation=True``."""
        observation = owned(self._observation())
        if self.options.mask_in_observation:
            observation = with_mask(observation, mask.astype(np.int8))
        return observation

    def _check_action(self, action) -> int | None:
        """The action as an int; None if it is masked out and the rule is ``"penalty"``.

        A masked action is an element of the action space, which Gymnasium's contract says
        ``step`` accepts, so it follows the env's rule; a value outside the space is not owed
        an outcome (see :meth:`_in_space`)."""
        number = self._in_space(action)
        if self._mask()[number]:
            return number
        if self.options.invalid_action == "penalty":
            return None
        raise InvalidActionError(f"invalid action {number!r} in {type(self).__name__}: masked out here "
                                 f"({self.why_invalid(number)}); valid actions are info['action_mask'] / "
                                 f"env.action_masks(), or leave invalid_action at its default 'penalty'")

    def _in_space(self, action) -> int:
        """The action as an int if it is an element of the action space (an integer, in any
        form: numpy ints, 0-d int arrays, an integral float such as 2.0); else an error under
        every rule: a value outside the space is a caller's bug, never an agent's move."""
        try:
            number = np.asarray(action).item()
        except (TypeError, ValueError):  # several numbers, or ragged
            number = None
        space, n = self.action_space, self.action_space.n
        if not isinstance(number, (int, float)):  # bool is an int, as in Discrete.contains
            raise InvalidActionError(f"{type(self).__name__}.step() takes one action of its action space {space} "
                                     f"(an integer in [0, {n})), got {action!r}")
        if isinstance(number, float) and not number.is_integer():
            reason = "not a single integer, so outside"
        elif not 0 <= number < n:
            reason = "outside"
        else:
            return int(number)
        raise InvalidActionError(f"invalid action {number!r} in {type(self).__name__}: {reason} the action space "
                                 f"[0, {n}) ({space}); this raises under every invalid_action rule, which covers "
                                 f"masked actions only")

    def render_text(self, gold: bool = True) -> str:
        """The episode so far as text (what the ``ansi`` mode renders); ``gold=False`` leaves
        out the gold answer, for a human who plays the env."""
        if self.index < 0:
            return f"{type(self).__name__}: no episode yet; call reset()"
        return self._render_text(gold)

    def action_masks(self) -> np.ndarray:
        """The valid actions now, as a bool array of the caller's own (the method sb3-contrib's
        MaskablePPO calls)."""
        return owned(self._mask())

    def render(self) -> str | None:
        if self.render_mode is None:
            gym.logger.warn("render() called without a render_mode; pass render_mode='ansi' or 'human'")
            return None
        text = self.render_text()
        if self.render_mode == "human":
            print(text)
            return None
        if self.render_mode == "rgb_array":
            return text_image(text)
        return text
