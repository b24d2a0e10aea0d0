"""Batched, torch-native vector envs: many episodes of one task as tensors on one device.

``make_torch_vec_env("text_envs/NER-v0", 64, device="cuda")`` builds the task's spec over
the split (its data, encoded cache and tables, as ``gymnasium.make`` does for one env) and
steps 64 episodes of it as tensor operations on the GPU, for trainers that keep rollouts on
the device (``agents/``). :func:`vectorize` does the same over the spec of an env you
already have. See :class:`~text_envs.vector.base.TorchVectorEnv` for the API; each task's
``vector.py`` says which of its parts run on the host.
"""

from __future__ import annotations

import dataclasses

import torch

from ..envs.base import EnvOptions, TextEnv
from ..tasks import TaskSpec, resolve, spec_of
from .base import TorchVectorEnv

_OPTIONS = tuple(field.name for field in dataclasses.fields(EnvOptions))


def vector_class(task_spec: type[TaskSpec] | TaskSpec) -> type[TorchVectorEnv]:
    """The torch vector env class of a task (a spec class or instance)."""
    if task_spec.vector_class is None:
        raise TypeError(f"{task_spec.name} has no torch vector env")
    return resolve(task_spec.vector_class)


def make_torch_vec_env(env_id: str, num_envs: int, *, device: str | torch.device = "auto", seed: int | None = None,
                       **env_kwargs) -> TorchVectorEnv:
    """``num_envs`` episodes of ``gymnasium.make(env_id, **env_kwargs)``'s task as one
    :class:`TorchVectorEnv` on ``device`` (``"auto"``: the GPU when there is one), its episodes
    sampled with ``seed``. ``env_kwargs`` are the env's: the split, encoder and task options
    build the spec, the :class:`~text_envs.envs.base.EnvOptions` set the rules."""
    for name in ("max_episode_steps", "render_mode"):
        if name in env_kwargs:
            raise TypeError(f"make_torch_vec_env does not take {name}: the torch vector env runs the task's own "
                            f"episodes, without Gymnasium's wrappers, and does not render")
    spec = spec_of(env_id)
    options = EnvOptions(**{name: env_kwargs.pop(name) for name in _OPTIONS if name in env_kwargs})
    return vector_class(spec)(spec.load(**env_kwargs), num_envs, options=options, device=device, seed=seed)


def vectorize(env, num_envs: int, *, device: str | torch.device = "auto", seed: int | None = None) -> TorchVectorEnv:
    """``num_envs`` episodes of the task of ``env`` (a text env, wrapped or not), over its spec
    and with its options: the split is shared, nothing is loaded or encoded again."""
    base = env.unwrapped
    if not isinstance(base, TextEnv):
        raise TypeError(f"{type(base).__name__} is not a text_envs environment")
    return vector_class(base.task_spec)(base.task_spec, num_envs, options=base.options, device=device, seed=seed)


__all__ = ["TorchVectorEnv", "make_torch_vec_env", "vector_class", "vectorize"]
