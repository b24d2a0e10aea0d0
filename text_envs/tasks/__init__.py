"""The tasks, one folder each (``spec.py``, ``env.py``, ``vector.py``), and their registry.

A task's folder holds its :class:`~text_envs.tasks.spec.TaskSpec` (the task's facts and its
per-split tables), its Gymnasium env and its torch vector env, side by side. The registry
below is the only list of tasks: the Gymnasium ids, ``text-envs list``, the policies'
observation schemas, ``play``, the trainer's defaults and the baselines all read it.
Adding a task is one folder plus one line in :data:`BUILTIN`; a task defined outside the
package joins with :func:`register`.
"""

from __future__ import annotations

from .classify.spec import ClassifySpec
from .classify_reading.spec import ClassifyReadingSpec
from .ner.spec import NerSpec
from .qa.spec import QaSpec
from .spec import OBSERVATION_MODES, PolicySchema, TaskSpec
from .summarize.spec import SummarizeSpec
from .summarize_tokens.spec import SummarizeTokensSpec

BUILTIN: tuple[type[TaskSpec], ...] = (NerSpec, QaSpec, SummarizeSpec, SummarizeTokensSpec, ClassifySpec,
                                       ClassifyReadingSpec)

#: registered id (``text_envs/NER-v0``) -> spec class
SPECS: dict[str, type[TaskSpec]] = {}


def register(spec: type[TaskSpec]) -> None:
    """Make ``spec``'s task an env id: ``gymnasium.make(spec.env_id())`` and every tool that
    reads the registry (policies, ``play``, ``train``) then know it."""
    import gymnasium as gym

    env_id = spec.env_id()
    if SPECS.get(env_id, spec) is not spec:
        raise ValueError(f"{env_id} is already registered, by {SPECS[env_id].__qualname__}")
    SPECS[env_id] = spec
    if env_id not in gym.registry:
        gym.register(id=env_id, entry_point=spec.env_class)


def env_names() -> list[str]:
    """The registered tasks' ids without the namespace: ``["NER-v0", "QA-v0", ...]``."""
    return [env_id.split("/", 1)[1] for env_id in SPECS]


def spec_of(env_id: str) -> type[TaskSpec]:
    """The spec of a registered id: ``"NER"``, ``"NER-v0"`` or ``"text_envs/NER-v0"``."""
    from ..registration import resolve_env_id

    env_id = resolve_env_id(env_id)
    if env_id not in SPECS:
        raise ValueError(f"{env_id} is a Gymnasium id but not a text-envs task; register its TaskSpec with "
                         f"text_envs.tasks.register")
    return SPECS[env_id]


def resolve(target: str | type) -> type:
    """A class given as itself or as ``"module:Class"``."""
    if isinstance(target, str):
        import importlib

        module, _, name = target.partition(":")
        return getattr(importlib.import_module(module), name)
    return target


__all__ = ["BUILTIN", "OBSERVATION_MODES", "PolicySchema", "SPECS", "TaskSpec", "env_names", "register", "resolve", "spec_of"]
