"""Run a policy over a whole split and report the task's standard metrics.

``evaluate("text_envs/NER-v0", policy, split="test")`` plays one episode per example of
the split, in order, and returns corpus-level metrics computed the way the literature
does (seqeval micro entity F1, SQuAD EM/F1, ROUGE-1/2/L, accuracy and macro-F1), plus the
mean episode return and the mean of any other per-episode metric the env reports.

Every episode counts, however it ends: one cut short (by the env's ``max_invalid_actions``
or by an outside wrapper such as ``gymnasium.wrappers.TimeLimit``) is scored as what the
agent produced so far, completed the way the task's spec scores it (:meth:`TaskSpec.scores
<text_envs.tasks.spec.TaskSpec.scores>`),
and counted in ``truncated_episodes``.
"""

from __future__ import annotations

import inspect
from typing import Any, Callable

import gymnasium as gym
import numpy as np

from .envs.base import TextEnv
from .records import canonical_split
from .registration import resolve_env_id


def _as_policy(policy: Any, deterministic: bool) -> Callable[[Any, np.ndarray], int]:
    """A function (observation, action_mask) -> action from what the user passed.

    Accepted: an object with SB3's ``predict`` (MaskablePPO's gets ``action_masks``), a
    callable of the observation, or a callable of the observation and the action mask.
    """
    if hasattr(policy, "predict"):
        takes_masks = "action_masks" in inspect.signature(policy.predict).parameters

        def predict(observation, mask):
            extra = {"action_masks": mask} if takes_masks else {}
            action, _ = policy.predict(observation, deterministic=deterministic, **extra)
            return action

        return predict
    if not callable(policy):
        raise TypeError(f"policy must be callable or have a predict() method, got {type(policy).__name__}")
    try:
        parameters = [p for p in inspect.signature(policy).parameters.values()
                      if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):  # builtins without a signature: call with the observation
        parameters = []
    if len(parameters) >= 2:
        return policy
    return lambda observation, mask: policy(observation)


def evaluate(env: str | gym.Env, policy: Any, *, split: str | None = None, episodes: int | None = None,
             deterministic: bool = True, **make_kwargs) -> dict[str, float]:
    """Play ``policy`` on every example of a split (or the first ``episodes``) and score it.

    Args:
        env: an env id (``"text_envs/NER-v0"``, ``"NER-v0"`` or ``"NER"``), made with ``split``
            (default ``"test"``) and ``make_kwargs``; or an env instance (a text-envs env,
            possibly wrapped), which is evaluated on its own split (``split``, if given,
            must name it).
        policy: an SB3 model, ``f(observation)`` or ``f(observation, action_mask)``.
        deterministic: passed to ``predict`` of SB3 models.

    Returns:
        The task's corpus metrics, the mean of the env's other per-episode metrics,
        ``mean_return``, ``episodes`` and ``truncated_episodes`` (those cut short, scored
        as far as the agent got).
    """
    if isinstance(env, str):
        env = gym.make(resolve_env_id(env), split=split or "test", **make_kwargs)
    elif make_kwargs:
        raise TypeError(f"make arguments {sorted(make_kwargs)} only apply when env is an id")
    if isinstance(env, gym.vector.VectorEnv):
        raise TypeError(f"evaluate() plays one env, episode by episode; got the vector env {type(env).__name__}: "
                        "pass an env id or a single env")
    base = env.unwrapped
    if not isinstance(base, TextEnv):
        raise TypeError(f"evaluate() needs a text-envs environment, got {type(base).__name__}")
    if split is not None and canonical_split(split) != base.data.split:
        raise ValueError(f"the env holds the {base.data.split!r} split, not {split!r}; make one on that split")
    act = _as_policy(policy, deterministic)
    count = base.num_examples if episodes is None else min(episodes, base.num_examples)
    predictions, returns, extra, truncated_episodes = {}, [], {}, 0
    for index in range(count):
        predictions[index], total, metrics, truncated = _play(env, act, index)
        returns.append(total)
        truncated_episodes += truncated
        for key, value in metrics.items():
            extra.setdefault(key, []).append(value)
    scores = base.task_spec.scores(base.data, predictions)
    for key, values in extra.items():
        scores.setdefault(key, float(np.mean(values)))
    return {**scores, "mean_return": float(np.mean(returns)), "episodes": count,
            "truncated_episodes": truncated_episodes}


def _play(env: gym.Env, act: Callable[[Any, np.ndarray], int], index: int) -> tuple[Any, float, dict, bool]:
    """One episode on example ``index``: (prediction, return, per-episode metrics, whether it
    was truncated rather than finished), so that the caller scores every episode alike."""
    observation, info = env.reset(options={"index": index})
    total, terminated, truncated = 0.0, False, False
    while not (terminated or truncated):
        action = act(observation, info["action_mask"])
        observation, reward, terminated, truncated, info = env.step(np.asarray(action).item())
        total += reward
    prediction, metrics = _outcome(env, info)
    return prediction, total, metrics, truncated and not terminated


def _outcome(env: gym.Env, info: dict) -> tuple[Any, dict[str, float]]:
    """The episode's (prediction, metrics): from the final ``info`` when the env ended the
    episode; from the env itself when a wrapper (``TimeLimit``) ended it first, since the env
    then never wrote its final info."""
    if "prediction" in info:
        return info["prediction"], info["metrics"]
    return env.unwrapped.result()
