"""QA: the spec of extractive question answering by pointing (see :mod:`text_envs.tasks.qa.env`)."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from ...cache import LAYOUTS, EncodedSplit
from ...metrics import squad_scores
from ...records import TaskDataset
from ..spec import PolicySchema, TaskSpec, positive_int


class QaSpec(TaskSpec):
    """Tables, one row per example (a pair layout encodes each record as one segment):

    * ``token_starts`` [N]: the first row of its encoding in the cache's flat token arrays;
    * ``lengths`` [N]: its token count (positions from there on are padding);
    * ``context_ranges`` [N, 2]: its first and last context position (the context is one
      contiguous run between two [SEP]s; the tokenizer keeps at least one context token or
      refuses the record);
    * ``answers``: its gold answer texts, which a span's text is scored against;
    * ``gold_spans`` [N, 2]: the positions (start, end) of its first gold answer that a valid
      action pair can select, -1 where none can (cut off by truncation, or longer than
      ``max_answer_tokens``). A span runs from the first context token whose characters end
      after the answer's start to the last one that starts before the answer's end: the
      smallest token span covering the answer's characters;
    * ``reachable`` [N] bool: whether one can; ``unreachable``: how many examples have no such
      span (mostly answers cut off by truncation): the oracle's mean EM is
      ``1 - unreachable / N``. An agent may still score on them where the answer's words also
      occur in what it sees.

    Args:
        max_answer_tokens: the longest span, in encoder tokens, that step 2 may close
            (default 30); the other arguments are :class:`~text_envs.tasks.spec.TaskSpec`'s.
    """

    name = "QA"
    summary = "point at the answer's start token, then its end token"
    records = "qa"
    env_class = "text_envs.tasks.qa.env:QaEnv"
    vector_class = "text_envs.tasks.qa.vector:QaVectorEnv"
    schemas = {
        "sequence": PolicySchema({"states", "attention_mask", "context_mask", "start", "step"}, "pointer",
                                 item_fields=("context_mask",), marker_fields=("start",), global_fields=("step",)),
        "tokens": PolicySchema({"input_ids", "attention_mask", "token_type_ids", "context_mask", "start", "step"},
                               "pointer", items="input_ids", item_fields=("context_mask",),
                               marker_fields=("start",), global_fields=("step",)),
    }
    actions_kind = "span"
    headline = "f1"

    def __init__(self, data: TaskDataset, encoded: EncodedSplit, *, max_answer_tokens: int = 30,
                 **common) -> None:
        self.max_answer_tokens = positive_int("max_answer_tokens", max_answer_tokens)
        super().__init__(data, encoded, **common)

    def _build(self) -> None:
        encoded = self.encoded
        if LAYOUTS[encoded.layout].kind != "pair":
            raise ValueError(f"QaEnv needs a (question, context) pair layout such as 'qa', got {encoded.layout!r}")
        token_starts = np.asarray(encoded.token_starts)
        segments = np.asarray(encoded.segment_starts[:-1])  # a pair layout gives one segment per record
        self.token_starts = token_starts[segments]
        self.lengths = token_starts[segments + 1] - self.token_starts
        context = np.flatnonzero(np.asarray(encoded.sequence_ids) == 1)  # every context token's row
        first = np.searchsorted(context, self.token_starts)  # each record's first and last entry of context
        last = np.searchsorted(context, self.token_starts + self.lengths) - 1
        self.context_ranges = np.stack([context[first], context[last]], axis=1) - self.token_starts[:, None]
        self.answers = [[answer.text for answer in record.answers] for record in self.data]
        self.gold_spans = self._gold_spans(context, first, last)
        self.reachable = self.gold_spans[:, 0] >= 0
        self.unreachable = int((~self.reachable).sum())
        length, hidden = encoded.max_length, encoded.hidden_size
        self.action_space = gym.spaces.Discrete(length)
        flags = {"context_mask": gym.spaces.Box(0, 1, (length,), np.int8),
                 "start": gym.spaces.Box(-1, length - 1, (1,), np.int64),
                 "step": gym.spaces.Box(0, 2, (1,), np.int64)}
        attention = gym.spaces.Box(0, 1, (length,), np.int64)
        if self.observation == "compact":
            self.observation_space = self.state_box((length, hidden + 2))
        elif self.observation == "sequence":
            self.observation_space = gym.spaces.Dict({
                "states": self.state_box((length, hidden)), "attention_mask": attention, **flags})
        else:
            self.observation_space = gym.spaces.Dict({
                "input_ids": gym.spaces.Box(0, self.vocab_size - 1, (length,), np.int64),
                "attention_mask": attention, "token_type_ids": gym.spaces.Box(0, 1, (length,), np.int64), **flags})

    def _gold_spans(self, context: np.ndarray, first: np.ndarray, last: np.ndarray) -> np.ndarray:
        """The ``gold_spans`` table (see the class docstring).

        ``context`` holds the rows of the split's context tokens, record by record, and
        ``first``/``last`` each record's first and last entry of it. Every answer of the split is
        searched at once (this runs at every construction): keyed by record, then by character,
        the context offsets of all records form one sorted array, as each record's own do.
        """
        offsets = np.asarray(self.encoded.offsets)[context].astype(np.int64)
        flat = np.array([(i, answer.start, answer.end, answer.start + len(answer.text.rstrip()))
                            for i, record in enumerate(self.data) for answer in record.answers], dtype=np.int64)
        owner, starts, ends, visible_ends = flat.T  # one row per answer
        stride = int(max(offsets.max(), ends.max())) + 1  # above every character offset: records never mix
        token_keys = np.repeat(np.arange(len(first)) * stride, last - first + 1)[:, None] + offsets
        key, base = owner * stride, first[owner]
        start = np.searchsorted(token_keys[:, 1], key + starts, side="right") - base
        end = np.searchsorted(token_keys[:, 0], key + ends, side="left") - 1 - base
        selectable = ((visible_ends <= offsets[last[owner], 1]) & (start <= end)
                      & (end - start + 1 <= self.max_answer_tokens))
        chosen = np.flatnonzero(selectable)
        records, first_chosen = np.unique(owner[chosen], return_index=True)  # answers come record by record
        chosen = chosen[first_chosen]
        spans = np.full((len(first), 2), -1, dtype=np.int64)
        spans[records] = np.stack([start[chosen], end[chosen]], axis=1) + self.context_ranges[records, :1]
        return spans

    def score_span(self, index: int, start: int, end: int) -> tuple[str, dict[str, float]]:
        """The text of positions ``start..end`` of example ``index``, cut from the original
        context by the tokens' character offsets (exactly what a SQuAD scorer reads), and its
        SQuAD exact match and token F1 against the gold answers."""
        offsets, base = self.encoded.offsets, self.token_starts[index]
        text = self.data[index].context[offsets[base + start, 0]:offsets[base + end, 1]]
        return text, squad_scores(text, self.answers[index])

    @classmethod
    def scores(cls, data: TaskDataset, predictions: dict[int, Any]) -> dict[str, float]:
        """Mean SQuAD exact match and token F1 of the answer strings predicted (the empty
        string for an episode cut before its answer)."""
        scores = [squad_scores(predictions[i], [a.text for a in data[i].answers]) for i in sorted(predictions)]
        return {key: float(np.mean([s[key] for s in scores])) for key in ("exact_match", "f1")}
