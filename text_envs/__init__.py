"""text-envs: NLP tasks as Gymnasium environments over cached transformer encoder states."""

__version__ = "0.1.0"
