"""Batched, torch-native vector envs: many episodes of one text env as tensors on one device.

``make_torch_vec_env("text_envs/NER-v0", 64, device="cuda")`` makes one Gymnasium env
(for its data, encoded cache and rules) and steps 64 episodes of it as tensor operations on
the GPU, for trainers that keep rollouts on the device (``agents/``). See
:class:`~text_envs.vector.base.TorchVectorEnv` for the API; every env's module says which of
its parts run on the host.
"""

from __future__ import annotations

import gymnasium as gym
import torch

from ..envs.base import TextEnv
from .base import TorchVectorEnv
from .classify import ClassifyReadingVectorEnv, ClassifyVectorEnv
from .ner import NerVectorEnv
from .qa import QaVectorEnv
from .summarize import SummarizeTokensVectorEnv, SummarizeVectorEnv

VECTOR_ENVS: tuple[type[TorchVectorEnv], ...] = (NerVectorEnv, QaVectorEnv, SummarizeVectorEnv,
                                                  SummarizeTokensVectorEnv, ClassifyVectorEnv,
                                                  ClassifyReadingVectorEnv)


def vector_env_class(env: TextEnv) -> type[TorchVectorEnv]:
    """The torch vector env class of a text env (instance)."""
    for cls in VECTOR_ENVS:
        if isinstance(env, cls.env_class):
            return cls
    raise TypeError(f"no torch vector env for {type(env).__name__}; known: "
                    f"{', '.join(cls.env_class.__name__ for cls in VECTOR_ENVS)}")


def make_torch_vec_env(env_id: str, num_envs: int, *, device: str | torch.device = "auto", seed: int | None = None,
                       **env_kwargs) -> TorchVectorEnv:
    """``num_envs`` episodes of ``gymnasium.make(env_id, **env_kwargs)`` as one :class:`TorchVectorEnv`
    on ``device`` (``"auto"``: the GPU when there is one), its episodes sampled with ``seed``."""
    if "max_episode_steps" in env_kwargs:
        raise TypeError("make_torch_vec_env does not take max_episode_steps: the torch vector env runs the env's "
                        "own episodes, without Gymnasium's wrappers")
    env = gym.make(env_id, **env_kwargs).unwrapped
    if not isinstance(env, TextEnv):
        raise TypeError(f"{env_id!r} is not a text_envs environment")
    return vector_env_class(env)(env, num_envs, device=device, seed=seed)


__all__ = ["ClassifyReadingVectorEnv", "ClassifyVectorEnv", "NerVectorEnv", "QaVectorEnv", "SummarizeTokensVectorEnv",
           "SummarizeVectorEnv", "TorchVectorEnv", "make_torch_vec_env", "vector_env_class"]
