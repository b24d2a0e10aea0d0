"""The environments, one module per task; :mod:`text_envs.registration` names them."""

from .base import InvalidActionError, TextEnv

__all__ = ["InvalidActionError", "TextEnv"]
