"""Gymnasium ids of the environments, all in the ``text_envs`` namespace.

Ids are versioned: anything that changes observations, rewards or data splits gets a new
version, so published numbers stay comparable. Registration is lazy (entry points are
strings), so ``import text_envs`` stays light.
"""

from __future__ import annotations

import gymnasium as gym

NAMESPACE = "text_envs"

#: id (without namespace) -> (entry point, one-line description)
ENVIRONMENTS: dict[str, tuple[str, str]] = {
    "NER-v0": ("text_envs.envs.ner:NerEnv", "tag each word of a sentence with a BIO tag"),
    "QA-v0": ("text_envs.envs.qa:QaEnv", "point at the answer's start token, then its end token"),
    "Summarize-v0": ("text_envs.envs.summarize:SummarizeEnv", "pick document sentences one at a time, or STOP"),
    "SummarizeTokens-v0": ("text_envs.envs.summarize_tokens:SummarizeTokensEnv",
                           "write a summary token by token from a copy vocabulary"),
    "Classify-v0": ("text_envs.envs.classify:ClassifyEnv", "label a text in one step"),
    "ClassifyReading-v0": ("text_envs.envs.classify_reading:ClassifyReadingEnv",
                           "read a text chunk by chunk, then label it; reading costs"),
}


def resolve_env_id(name: str) -> str:
    """``"NER"``, ``"NER-v0"`` or ``"text_envs/NER-v0"`` as the registered id (a clear error if none)."""
    env_id = name if "/" in name else f"{NAMESPACE}/{name if '-v' in name else name + '-v0'}"
    if env_id not in gym.registry:
        raise ValueError(f"unknown env {name!r}; `text-envs list` shows the registered ones")
    return env_id


def register_all() -> None:
    for name, (entry_point, _) in ENVIRONMENTS.items():
        env_id = f"{NAMESPACE}/{name}"
        if env_id not in gym.registry:
            gym.register(id=env_id, entry_point=entry_point)
