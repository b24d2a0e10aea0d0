"""SummarizeTokens: the spec of writing a summary token by token from a copy vocabulary (see
:mod:`text_envs.tasks.summarize_tokens.env`)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np

from ... import cache as cache_module
from ...records import TaskDataset
from ..spec import PolicySchema, TaskSpec, one_of, positive_int
from ..summarize.rouge import ROUGE_REWARDS
from ..summarize.spec import SummarizeSpec


class SummarizeTokensSpec(TaskSpec):
    """Tables. Example ``i``'s *source* is its document's tokens in order, every sentence's
    cached tokens with the special tokens dropped: positions :meth:`source` ``(i)`` (from
    ``source_starts[i]`` to ``source_starts[i + 1]``) of the flat ``source_ids`` (the token
    ids) and ``source_rows`` (their rows in the cache's flat token arrays, as ``encoded.states``),
    all read-only. Its copy vocabulary is the set of its source ids.

    ``eos_id`` is the EOS action (the tokenizer's SEP token), ``pad_id`` pads the ``tokens``
    observation's source and ``special_ids`` are the tokenizer's special ids (sorted), which
    no source holds. The compact observation's parts are computed per example on demand
    (:meth:`document_vector`, :meth:`token_states`): the env needs one episode's at a time.

    Args (the task's options, besides :class:`~text_envs.tasks.spec.TaskSpec`'s):
        rouge: the score the reward is: ``"mean"``, ``"rouge1"``, ``"rouge2"`` or ``"rougeL"``.
        max_summary_tokens: the budget: tokens after which the episode ends.
        max_source_tokens: source tokens shown in the ``sequence`` and ``tokens`` observations.
    """

    name = "SummarizeTokens"
    summary = "write a summary token by token from a copy vocabulary"
    records = "summarization"
    choices = {"rouge": ROUGE_REWARDS}
    env_class = "text_envs.tasks.summarize_tokens.env:SummarizeTokensEnv"
    vector_class = "text_envs.tasks.summarize_tokens.vector:SummarizeTokensVectorEnv"
    schemas = {
        "sequence": PolicySchema({"states", "source_mask", "generated", "length"}, "copy", item_mask="source_mask",
                                 global_fields=("length",)),
        "tokens": PolicySchema({"source_ids", "source_mask", "generated", "length"}, "copy", items="source_ids",
                               item_mask="source_mask", global_fields=("length",)),
    }
    actions_kind = "tokens"
    headline = "rouge1"
    heuristic = "lead-3"
    scores = SummarizeSpec.scores
    heuristic_predictions = SummarizeSpec.heuristic_predictions

    def __init__(self, data: TaskDataset, encoded: cache_module.EncodedSplit, *, rouge: str = "mean",
                 max_summary_tokens: int = 64, max_source_tokens: int = 512, **common) -> None:
        self.rouge = one_of("rouge score", rouge, self.choices["rouge"])
        self.max_summary_tokens = positive_int("max_summary_tokens", max_summary_tokens)
        self.max_source_tokens = positive_int("max_source_tokens", max_source_tokens)
        super().__init__(data, encoded, **common)

    def _build(self) -> None:
        tokenizer = self.encoder.tokenizer
        if tokenizer.sep_token_id is None:
            raise ValueError(f"encoder {self.encoder.name!r} has no SEP token, which {self.name} uses as EOS")
        self.eos_id = int(tokenizer.sep_token_id)
        self.pad_id = int(tokenizer.pad_token_id or 0)
        self.special_ids = np.array(sorted(tokenizer.all_special_ids), dtype=np.int64)
        encoded = self.encoded
        ids = np.asarray(encoded.input_ids)
        self.source_rows = np.flatnonzero(~np.isin(ids, self.special_ids))
        self.source_ids = ids[self.source_rows].astype(np.int64)
        first_tokens = np.asarray(encoded.token_starts)[np.asarray(encoded.segment_starts)]
        self.source_starts = np.searchsorted(self.source_rows, first_tokens)
        for table in (self.special_ids, self.source_rows, self.source_ids, self.source_starts):
            table.setflags(write=False)  # shared by every env over the split, and handed out as views
        vocab, hidden = self.vocab_size, encoded.hidden_size
        source, summary = self.max_source_tokens, self.max_summary_tokens
        self.action_space = gym.spaces.Discrete(vocab)
        generated = gym.spaces.Box(-1, vocab - 1, (summary,), np.int64)
        length = gym.spaces.Box(0, summary, (1,), np.int64)
        source_mask = gym.spaces.Box(0, 1, (source,), np.int8)
        if self.observation == "compact":
            self.observation_space = self.state_box((3 * hidden + 1,))
        elif self.observation == "sequence":
            self.observation_space = gym.spaces.Dict({
                "states": self.state_box((source, hidden)), "source_mask": source_mask, "generated": generated,
                "length": length})
        else:
            self.observation_space = gym.spaces.Dict({
                "source_ids": gym.spaces.Box(0, vocab - 1, (source,), np.int64), "source_mask": source_mask,
                "generated": generated, "length": length})

    def source(self, index: int) -> slice:
        """Where example ``index``'s source lies in ``source_ids`` and ``source_rows``."""
        return slice(int(self.source_starts[index]), int(self.source_starts[index + 1]))

    def document_vector(self, index: int) -> np.ndarray:
        """Example ``index``'s document vector (float32 [H]): the mean of its sentences' pooled vectors."""
        segments = self.encoded.segments(index)
        return np.asarray(self.encoded.pooled[segments.start:segments.stop], dtype=np.float32).mean(0)

    def token_states(self, first: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
        """The copy vocabularies of examples ``first`` to ``stop - 1`` as sorted keys
        ``example * vocab_size + token id``, and each key's token state: the mean encoder state
        of the token's occurrences in that example's source. The env asks for one episode's
        (its compact observation's written-token states), its vector twin for the split's."""
        rows = slice(int(self.source_starts[first]), int(self.source_starts[stop]))
        example = np.repeat(np.arange(first, stop), np.diff(self.source_starts[first:stop + 1]))
        keys, inverse = np.unique(example * self.vocab_size + self.source_ids[rows], return_inverse=True)
        sums = np.zeros((len(keys), self.encoded.hidden_size), dtype=np.float32)
        np.add.at(sums, inverse, np.asarray(self.encoded.states[self.source_rows[rows]], dtype=np.float32))
        return keys, sums / np.bincount(inverse)[:, None]
