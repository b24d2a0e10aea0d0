"""Hyperparameter schedules: functions of ``progress_remaining`` (1 at the start of training, 0 at the end).

The convention is SB3's, so a schedule written for SB3 works here unchanged. Schedules are
small classes rather than closures so that a checkpoint stores them as data (:mod:`agents.checkpoints`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

Schedule = Callable[[float], float]
ScheduleLike = float | str | Schedule


@dataclass(frozen=True)
class ConstantSchedule:
    value: float

    def __call__(self, progress_remaining: float) -> float:
        return self.value


@dataclass(frozen=True)
class LinearSchedule:
    """``start`` at the beginning of training, ``end`` at the end, linear in between."""

    start: float
    end: float = 0.0

    def __call__(self, progress_remaining: float) -> float:
        return self.end + progress_remaining * (self.start - self.end)


def as_schedule(value: ScheduleLike, name: str = "schedule") -> Schedule:
    """A float (constant), ``"lin_<start>"`` (linear to 0, as the RL Zoo writes it) or a callable."""
    if callable(value):
        return value
    if isinstance(value, str):
        if value.startswith("lin_"):
            try:
                return LinearSchedule(float(value[len("lin_"):]))
            except ValueError:
                pass
        raise ValueError(f"{name} {value!r}: expected a float, 'lin_<float>' or a callable(progress_remaining)")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return ConstantSchedule(float(value))
    raise TypeError(f"{name} must be a float, 'lin_<float>' or a callable(progress_remaining), got {value!r}")
