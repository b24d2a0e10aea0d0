"""A task's spec: the one place where a task is written down.

Each task (an env id) has a :class:`TaskSpec` subclass in its folder,
``text_envs/tasks/<task>/spec.py``. Its class attributes are the task's facts, read by
everything that needs them and written nowhere else:

* the id, its one-line summary and the Gymnasium env and torch vector env that play it;
* the record kind it reads (a key of :data:`text_envs.records.TASKS`);
* its reward options (and the choices of its other named options), its observation modes
  and, per ``Dict`` mode, the :class:`PolicySchema` that tells a transformer policy what
  each key is;
* how ``play`` reads typed actions (``actions_kind``);
* its metrics over a split (:meth:`TaskSpec.scores`), the headline one (``headline``) and
  its heuristic baseline (``heuristic`` and :meth:`TaskSpec.heuristic_predictions`);
* the trainer's defaults for it (``training``).

An instance is the task bound to one encoded split and one set of options: it builds,
once, the per-split tables that both implementations read (gold actions, transition
tables, spans, ranges) and the spaces. The Gymnasium env plays one episode at a time over
those tables; the torch vector env moves them to a device and plays many at once. Neither
is built from the other, and nothing reads either's private state.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np

from .. import cache as cache_module
from ..checks import one_of, positive_int  # noqa: F401  (the checks a spec's options use)
from ..data import load
from ..encoders import DEFAULT_ENCODER, Encoder
from ..records import TaskDataset

OBSERVATION_MODES = ("compact", "sequence", "tokens")
#: how ``text-envs play`` reads a typed action: a name of ``action_names``, a sentence
#: number or a span of the text, or a token of the copy vocabulary
ACTION_KINDS = ("names", "sentences", "span", "tokens")


@dataclasses.dataclass(frozen=True)
class PolicySchema:
    """How a transformer policy reads one ``Dict`` observation mode of a task (see
    :mod:`agents.observations`, whose heads these name).

    Attributes:
        keys: the observation's keys (the action mask aside); a test checks them against
            the spec's own observation space.
        head: ``"label"`` (one decision from the pooled state), ``"pointer"`` (one logit per
            item), ``"pointer_stop"`` (one per item, then STOP) or ``"copy"`` (a vocabulary
            of the source's token ids).
        items: the key of the items' states (``sequence`` mode) or token ids (``tokens``).
        item_mask: the key saying which items exist.
        tokens_layout: in ``tokens`` mode, how ids become items: ``"tokens"`` (one per
            token), ``"words"`` (each word's first subword, at ``word_starts``) or
            ``"rows"`` (a 2-D id grid, one item per mean-pooled row).
        item_fields: keys holding a value per item (tags chosen, context flags, picks).
        marker_fields: keys holding one position among the items (the cursor, the start).
        global_fields: keys holding a counter of the episode (step, picks, chunks, length).
        focus: a marker whose item the head reads besides the pooled state (NER's cursor);
            None: the summary token.
        text_fields: keys holding a value per item that the text fixes (NER's word shapes),
            which the trunk reads with the items. Optional: they are in the observation only
            where an option of the task puts them there, so they are not among ``keys``.
    """

    keys: frozenset[str]
    head: str
    items: str = "states"
    item_mask: str = "attention_mask"
    tokens_layout: str = "tokens"
    item_fields: tuple[str, ...] = ()
    marker_fields: tuple[str, ...] = ()
    global_fields: tuple[str, ...] = ()
    focus: str | None = None
    text_fields: tuple[str, ...] = ()

    def matches(self, keys: frozenset[str]) -> bool:
        """Whether an observation with ``keys`` is this schema's: all of ``keys`` and no more
        than those and the ``text_fields``."""
        return self.keys <= keys <= self.keys | set(self.text_fields)

    def __post_init__(self) -> None:
        object.__setattr__(self, "keys", frozenset(self.keys))
        named = {self.items, self.item_mask, *self.item_fields, *self.marker_fields, *self.global_fields}
        if not named <= self.keys:
            raise ValueError(f"schema names keys {sorted(named - self.keys)} that are not among {sorted(self.keys)}")
        if set(self.text_fields) & self.keys:
            raise ValueError(f"text_fields {sorted(set(self.text_fields) & self.keys)} are optional: not among keys")


def state_box(shape: tuple[int, ...], dtype) -> gym.spaces.Box:
    """A Box for encoder states: they are stored as float16, so float16's range bounds them."""
    limit = float(np.finfo(np.float16).max)
    return gym.spaces.Box(low=-limit, high=limit, shape=shape, dtype=dtype)


class TaskSpec:
    """A task: its facts (class attributes, see the module docstring) and, as an instance,
    its tables and spaces over one encoded split.

    Subclasses set the class attributes and implement :meth:`_build`, which reads
    ``self.data`` and ``self.encoded`` and sets ``action_space``, ``observation_space`` and
    the public tables the env and its vector twin read; a subclass's ``__init__`` takes
    the task's own options as keywords (documented there), checks them, sets them as
    attributes and calls ``super().__init__``.

    Args:
        data: the split's records (of the kind ``records``).
        encoded: the split encoded through the cache (:func:`text_envs.cache.encode`) in
            this task's :meth:`layout`.
        observation: one of ``observations``.
        dtype: float dtype of observation states, ``np.float32`` or ``np.float16``.
        encoder: the encoder of ``encoded``; only its tokenizer is used after encoding
            (vocabulary size, special ids, decoding).
    """

    name: ClassVar[str]
    version: ClassVar[int] = 0
    summary: ClassVar[str]
    records: ClassVar[str]
    #: the Gymnasium env: a class, or ``"module:Class"`` (imported when first made)
    env_class: ClassVar[str | type]
    #: the torch vector env, as ``env_class``; None if the task has none
    vector_class: ClassVar[str | type | None] = None
    #: the values of the ``reward`` keyword, the default first (empty: one reward rule)
    rewards: ClassVar[tuple[str, ...]] = ()
    #: the values of the task's other keywords that take one of a few names (``rouge``, ...)
    choices: ClassVar[dict[str, tuple[str, ...]]] = {}
    observations: ClassVar[tuple[str, ...]] = OBSERVATION_MODES
    schemas: ClassVar[dict[str, PolicySchema]] = {}
    actions_kind: ClassVar[str] = "names"
    headline: ClassVar[str]
    #: the name of the heuristic baseline (see :meth:`heuristic_predictions`); None: none
    heuristic: ClassVar[str | None] = None
    #: the trainer's defaults: ``total_timesteps`` and any algorithm keyword (``gamma``, ...)
    training: ClassVar[dict[str, Any]] = {}

    action_space: gym.spaces.Discrete
    observation_space: gym.Space
    #: a name per action (play and renders use them); None where actions are positions or ids
    action_names: list[str] | None = None

    def __init__(self, data: TaskDataset, encoded: cache_module.EncodedSplit, *, observation: str = "compact",
                 dtype: type = np.float32, encoder: Encoder) -> None:
        if data.task != self.records:
            raise ValueError(f"{self.name} reads {self.records!r} records, got a {data.task!r} dataset")
        self.observation = one_of("observation mode", observation, self.observations)
        if np.dtype(dtype) not in (np.float32, np.float16):
            raise ValueError(f"dtype must be np.float32 or np.float16, got {dtype!r}")
        self.dtype = np.dtype(dtype)
        self.data = data
        self.encoded = encoded
        self.encoder = encoder
        self._build()

    # -- the id --------------------------------------------------------------------------------

    @classmethod
    def env_id(cls) -> str:
        """The registered id, ``text_envs/<name>-v<version>``."""
        from ..registration import NAMESPACE
        return f"{NAMESPACE}/{cls.name}-v{cls.version}"

    # -- a split -------------------------------------------------------------------------------

    @classmethod
    def layout(cls, **options) -> str | None:
        """The cache layout this task reads with ``options`` (None: the record kind's)."""
        return None

    @classmethod
    def load(cls, dataset: str | os.PathLike | TaskDataset = "embedded", split: str = "train", *,
             encoder: Encoder | str = DEFAULT_ENCODER, max_length: int | None = None,
             cache_dir: str | os.PathLike | None = cache_module.DEFAULT_CACHE_DIR, progress: bool | None = None,
             observation: str = "compact", dtype: type = np.float32, **options) -> TaskSpec:
        """The task over ``split`` of ``dataset``, encoded through the cache: what the env and
        the torch vector env are built from (see :class:`~text_envs.envs.base.TextEnv` for
        the arguments; ``options`` are the task's own)."""
        one_of("observation mode", observation, cls.observations)  # before the expensive part
        if isinstance(dataset, TaskDataset):
            if dataset.task != cls.records:
                raise ValueError(f"{cls.name} needs a {cls.records!r} dataset, got a {dataset.task!r} one")
            data = dataset
        else:
            data = load(cls.records, dataset, split)
        if cache_dir == cache_module.DEFAULT_CACHE_DIR:
            cache_dir = cache_module.default_cache_dir()
        encoder = encoder if isinstance(encoder, Encoder) else Encoder(encoder)
        encoded = cache_module.encode(data, encoder, cache_dir=cache_dir, max_length=max_length,
                                      layout=cls.layout(**options), progress=progress)
        return cls(data, encoded, observation=observation, dtype=dtype, encoder=encoder, **options)

    def _build(self) -> None:
        raise NotImplementedError

    def state_box(self, shape: tuple[int, ...]) -> gym.spaces.Box:
        """A :func:`state_box` of the observation dtype."""
        return state_box(shape, self.dtype)

    def states(self, rows) -> np.ndarray:
        """Cached float16 states (token rows) as the observation dtype: a read-only view of the
        cache where no conversion or gather is needed, so copy it before writing to it."""
        return np.asarray(self.encoded.states[rows], dtype=self.dtype)

    @property
    def num_examples(self) -> int:
        return len(self.data)

    @property
    def vocab_size(self) -> int:
        return self.encoder.vocab_size

    def action_name(self, action: int) -> str:
        """How renders and ``play`` name ``action``."""
        return self.action_names[action] if self.action_names is not None else str(action)

    # -- scores --------------------------------------------------------------------------------

    @classmethod
    def scores(cls, data: TaskDataset, predictions: dict[int, Any]) -> dict[str, float]:
        """The task's standard metrics over a split, from each example's ``info["prediction"]``
        (``predictions`` maps record index to it); ``headline`` is one of them."""
        raise NotImplementedError

    @classmethod
    def heuristic_predictions(cls, train: TaskDataset, data: TaskDataset) -> dict[int, Any]:
        """Each record of ``data``'s prediction by the heuristic baseline (fitted on ``train``
        where it needs to be), in the form of ``info["prediction"]``."""
        raise NotImplementedError(f"{cls.name} has no heuristic baseline; its floor is the random agent")
