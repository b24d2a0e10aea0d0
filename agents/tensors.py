"""Moving observations between numpy (the Gymnasium envs) and torch (the policies)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from text_envs.vector.base import resolve_device

__all__ = ["as_batch", "as_tensors", "resolve_device"]


def as_tensors(observation: Any, device: torch.device) -> Any:
    """A batched numpy observation (array, or dict of arrays) as tensors on ``device``, dtypes kept."""
    if isinstance(observation, dict):
        return {key: torch.as_tensor(np.asarray(value), device=device) for key, value in observation.items()}
    return torch.as_tensor(np.asarray(observation), device=device)


def as_batch(observations: Sequence[Any], device: torch.device) -> Any:
    """Single observations (arrays, or dicts of arrays) stacked into one batch of tensors."""
    if isinstance(observations[0], dict):
        return as_tensors({key: np.stack([o[key] for o in observations]) for key in observations[0]}, device)
    return as_tensors(np.stack(observations), device)
