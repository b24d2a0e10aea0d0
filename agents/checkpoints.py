"""What a checkpoint holds, and how it is written and read without ever running code from it.

Run folders are shared between people, so loading one must be as safe as reading a CSV
file. A checkpoint therefore holds tensors and plain data only:

* the native trainer's file (``checkpoint.pt``) is a ``torch.save`` dict of tensors,
  numbers and strings, read back with ``torch.load(..., weights_only=True)``, PyTorch's
  restricted unpickler that builds nothing else. Its ``spec`` entry is a JSON string: the
  algorithm's name, the hyperparameters (schedules as data, see :func:`schedule_to_json`),
  the policy class *by name* and its keyword arguments, and the spaces as JSON
  (:func:`space_to_json`). A name is never imported: the class must be one of
  :data:`POLICY_CLASSES`, or the caller hands it over (``custom_objects``), as with SB3.
* Stable-Baselines3's zip files pickle some entries (spaces, schedules, the policy class,
  the last observation). :func:`load_sb3` reads such a zip without unpickling any of them:
  each pickled entry is replaced by the value a fresh model built from the run's own
  settings has (SB3's ``custom_objects`` mechanism), the in-flight episode state is dropped
  (the envs restart), and a zip holding a pickled entry that cannot be rebuilt that way is
  refused unless the caller says it trusts the file (``trust=True``; on the command line
  ``--trust-checkpoint``), which hands it to SB3's own ``load``.

Checkpoints are written with :func:`text_envs.files.atomic_write`, so a crash, a full
disk or a Ctrl-C leaves either the old file or the new one.
"""

from __future__ import annotations

import json
import math
import os
import pickle
import zipfile
from collections.abc import Callable, Mapping
from typing import Any

import gymnasium as gym
import numpy as np
import torch

from .schedules import ConstantSchedule, LinearSchedule

class CheckpointError(ValueError):
    """A checkpoint that cannot be read, or cannot be read safely; the message says which file and why."""


# -- reading -------------------------------------------------------------------------------------------


def read_torch(path: str | os.PathLike) -> dict:
    """A ``torch.save`` file read with the restricted unpickler, or a :class:`CheckpointError` saying why not."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        raise CheckpointError(f"{path} holds Python objects, not only tensors and plain data; text-envs does not "
                              f"unpickle them, since that can run code ({str(err).splitlines()[0]})") from err
    except FileNotFoundError:
        raise
    except (RuntimeError, OSError, EOFError, zipfile.BadZipFile) as err:
        raise CheckpointError(f"{path} is damaged or truncated and cannot be read ({err}); a run folder's "
                              f"checkpoint is replaced atomically, so this file was cut or changed after it was "
                              f"written") from err


# -- spaces --------------------------------------------------------------------------------------------


def _number(value: float) -> float | str:
    """JSON has no infinities: they are written as strings."""
    return value if math.isfinite(value) else str(value)


def _bound(array: np.ndarray) -> float | str | list:
    """A Box bound: one number when it is uniform (the usual case), else the full nested list."""
    flat = array.reshape(-1)
    if flat.size and (flat == flat[0]).all():
        return _number(float(flat[0]))
    return np.vectorize(_number, otypes=[object])(array).tolist()


def space_to_json(space: gym.Space) -> dict:
    """A Gymnasium space as plain data that :func:`space_from_json` turns back into an equal space."""
    if isinstance(space, gym.spaces.Discrete):
        return {"type": "Discrete", "n": int(space.n), "start": int(space.start)}
    if isinstance(space, gym.spaces.Box):
        return {"type": "Box", "shape": list(space.shape), "dtype": np.dtype(space.dtype).name,
                "low": _bound(space.low), "high": _bound(space.high)}
    if isinstance(space, gym.spaces.MultiBinary):
        return {"type": "MultiBinary", "n": np.asarray(space.n).tolist()}
    if isinstance(space, gym.spaces.MultiDiscrete):
        return {"type": "MultiDiscrete", "nvec": space.nvec.tolist(), "dtype": np.dtype(space.dtype).name}
    if isinstance(space, gym.spaces.Dict):
        return {"type": "Dict", "spaces": {key: space_to_json(value) for key, value in space.spaces.items()}}
    if isinstance(space, gym.spaces.Tuple):
        return {"type": "Tuple", "spaces": [space_to_json(value) for value in space.spaces]}
    raise CheckpointError(f"cannot store a {type(space).__name__} space in a checkpoint")


def space_from_json(data: dict) -> gym.Space:
    kind = data.get("type")
    if kind == "Discrete":
        return gym.spaces.Discrete(data["n"], start=data["start"])
    if kind == "Box":
        dtype, shape = np.dtype(data["dtype"]), tuple(data["shape"])
        low, high = (np.broadcast_to(np.asarray(data[key], dtype=np.float64), shape) for key in ("low", "high"))
        return gym.spaces.Box(low.astype(dtype), high.astype(dtype), shape, dtype)
    if kind == "MultiBinary":
        return gym.spaces.MultiBinary(data["n"])
    if kind == "MultiDiscrete":
        return gym.spaces.MultiDiscrete(data["nvec"], dtype=data["dtype"])
    if kind == "Dict":
        return gym.spaces.Dict({key: space_from_json(value) for key, value in data["spaces"].items()})
    if kind == "Tuple":
        return gym.spaces.Tuple([space_from_json(value) for value in data["spaces"]])
    raise CheckpointError(f"unknown space type {kind!r} in a checkpoint")


# -- hyperparameters and classes ---------------------------------------------------------------------------


def class_name(cls: type) -> str:
    """``"module:QualName"``: how a checkpoint names a class (it is looked up, never imported)."""
    return f"{cls.__module__}:{cls.__qualname__}"


def schedule_to_json(value: Callable) -> dict:
    """A callable hyperparameter (a schedule) as plain data: the project's schedules by their
    numbers, any other callable by its name only (loading then needs it back through
    ``custom_objects``)."""
    if isinstance(value, ConstantSchedule):
        return {"schedule": "constant", "value": value.value}
    if isinstance(value, LinearSchedule):
        return {"schedule": "linear", "start": value.start, "end": value.end}
    return {"schedule": "custom", "name": getattr(value, "__qualname__", type(value).__qualname__)}


def schedule_from_json(key: str, value: dict, custom_objects: Mapping[str, Any], path) -> Callable:
    if value["schedule"] == "constant":
        return ConstantSchedule(value["value"])
    if value["schedule"] == "linear":
        return LinearSchedule(value["start"], value["end"])
    if key not in custom_objects:
        raise CheckpointError(f"{path} was trained with {key}={value['name']}, a function a checkpoint cannot "
                              f"hold; pass it back: load(..., custom_objects={{{key!r}: ...}})")
    return custom_objects[key]


def to_json(value: Any, what: str) -> str:
    """``json.dumps`` that names what could not be stored (tuples become lists, as JSON has no tuples)."""
    try:
        return json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as err:
        raise CheckpointError(f"cannot store {what} in a checkpoint as plain data: {err}") from err


def resolve_policy_class(name: str, known: Mapping[str, type], custom_objects: Mapping[str, Any], path) -> type:
    """The class a checkpoint names: one of ``known`` (the project's own), or the caller's
    ``custom_objects["policy_class"]``. Nothing named in a file is imported."""
    if name in known:
        return known[name]
    if "policy_class" in custom_objects:
        return custom_objects["policy_class"]
    raise CheckpointError(f"{path} was saved with the policy class {name}, which is not one of text-envs' own "
                          f"({', '.join(known)}); a checkpoint never names code to import: pass the class, "
                          f"load(..., custom_objects={{'policy_class': YourPolicy}})")


# -- Stable-Baselines3 zips --------------------------------------------------------------------------------

#: the pickled entries of an SB3 zip that :func:`load_sb3` drops: the episodes in flight (the envs
#: given to ``load`` are new, so they restart) and episode statistics
SB3_EPISODE_STATE = ("_last_obs", "_last_episode_starts", "_last_original_obs", "ep_info_buffer",
                     "ep_success_buffer")


def sb3_pickled_entries(path: str | os.PathLike) -> set[str]:
    """The entries of an SB3 zip's ``data`` that SB3 would unpickle."""
    try:
        with zipfile.ZipFile(path) as archive:
            data = json.loads(archive.read("data"))
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as err:
        raise CheckpointError(f"{path} is not a readable Stable-Baselines3 zip ({err})") from err
    return {key for key, value in data.items() if isinstance(value, dict) and ":serialized:" in value}


def load_sb3(cls, path: str | os.PathLike, *, env, device, fresh: Callable[[], Any], trust: bool = False):
    """``cls.load(path, env=env)`` with nothing unpickled: every pickled entry is replaced by the value
    of ``fresh()``, a model built from the run's own settings (not trained), or dropped (the
    episode state). SB3 reads the weights and optimizer state with ``weights_only=True``.
    A zip with any other pickled entry is refused unless ``trust``."""
    if trust:
        return cls.load(path, env=env, device=device)
    pickled = sb3_pickled_entries(path)
    template = fresh()
    replacements = {key: None for key in SB3_EPISODE_STATE}
    replacements.update({key: getattr(template, key) for key in pickled - set(SB3_EPISODE_STATE)
                         if hasattr(template, key)})
    unknown = sorted(pickled - set(replacements))
    if unknown:
        raise CheckpointError(f"{path} holds pickled entries text-envs cannot rebuild from the run's settings "
                              f"({', '.join(unknown)}); unpickling them could run code. Load it only if you trust "
                              f"who made it: --trust-checkpoint (trust_checkpoint=True)")
    return cls.load(path, env=env, device=device, custom_objects=replacements)
