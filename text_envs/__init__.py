"""text-envs: NLP tasks as Gymnasium environments over cached transformer encoder states.

``import text_envs`` registers the environment ids (``text_envs/NER-v0``, ...), so
``gymnasium.make("text_envs/NER-v0")`` works, as does ``gymnasium.make("text_envs:text_envs/NER-v0")``;
:func:`evaluate` scores a policy over a whole split.
"""

from .registration import register_all

__version__ = "0.1.0"

register_all()

from .evaluation import evaluate  # noqa: E402  (after the ids exist)

__all__ = ["evaluate"]
