"""Gymnasium ids of the environments, all in the ``text_envs`` namespace.

Ids are versioned: anything that changes observations, rewards or data splits gets a new
version, so published numbers stay comparable. The ids are the tasks of
:mod:`text_envs.tasks` (its registry is the one list); registration is lazy (entry points
are strings), so ``import text_envs`` imports no env module, torch or transformers.
"""

from __future__ import annotations

import gymnasium as gym

NAMESPACE = "text_envs"


def resolve_env_id(name: str) -> str:
    """``"NER"``, ``"NER-v0"`` or ``"text_envs/NER-v0"`` as the registered id (a clear error if none)."""
    env_id = name if "/" in name else f"{NAMESPACE}/{name if '-v' in name else name + '-v0'}"
    if env_id not in gym.registry:
        raise ValueError(f"unknown env {name!r}; `text-envs list` shows the registered ones")
    return env_id


def register_all() -> None:
    from .tasks import BUILTIN, register

    for spec in BUILTIN:
        register(spec)
