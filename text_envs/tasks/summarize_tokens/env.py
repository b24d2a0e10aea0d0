"""Abstractive summarisation by copying: write the summary token by token from the document's tokens.

Actions: ``Discrete(V)``, a token id of the encoder's vocabulary (``V`` =
``env.encoder.vocab_size``, 30,522 for MiniLM). The mask is the episode's *copy
vocabulary*: every token id that occurs in the document's sentences as the encoder cached
them (so cut at its ``max_length`` per sentence), special tokens excluded, plus EOS. EOS is
the tokenizer's SEP token (``env.task_spec.eos_id``): BERT-style encoders have no EOS of
their own, and SEP is the token that closes a sequence for them. EOS is masked until one
token is written, so every summary is non-empty (as STOP in
:mod:`~text_envs.tasks.summarize.env`).

The episode ends at EOS or after ``max_summary_tokens`` tokens (EOS not counted). Ending
at the budget is termination, not truncation: the summary is complete there and is scored
like one that ended at EOS, so an agent must not bootstrap past it.

Reward: 0 until the end, then the ROUGE F-measure score (``rouge=``: ``"mean"`` of
ROUGE-1/2/L, default, or one of ``"rouge1"``, ``"rouge2"``, ``"rougeL"``) of the summary
text, which is the generated ids decoded with ``tokenizer.decode(ids,
skip_special_tokens=True)`` (that merges WordPiece ``##`` pieces into words). At the end
``info["metrics"]`` holds ``rouge1``, ``rouge2`` and ``rougeL`` and ``info["prediction"]``
the summary text. One ROUGE call per episode.

The *source* of the observations is the document's tokens in order, every sentence's
tokens concatenated with the special tokens dropped (so every source position holds a
copyable token, and a pointer agent's choice of position ``p`` is the action
``source_ids[p]``), cut at ``max_source_tokens`` (``N``); ``env.source_ids`` is the whole
source. Observations (float32 unless ``dtype=np.float16``; ``H`` = encoder hidden size,
``M`` = ``max_summary_tokens``):

* ``"compact"``: ``Box(3H + 1)``: the document's vector (the mean of its sentences' pooled
  vectors); the last generated token's state, and the mean of every generated token's
  state, where a token's state is the mean encoder state of its occurrences in the source
  (zeros before the first token); and the fraction of the budget used.
* ``"sequence"``: ``Dict(states=Box(N, H), source_mask=Box(N) int8, generated=Box(M) int64,
  length=Box(1) int64)``: the source token states (zero-padded), which positions hold a
  token, the ids written so far (-1 where none yet) and how many.
* ``"tokens"``: ``Dict(source_ids=Box(N) int64, source_mask, generated, length)``: the source
  token ids (padded with the pad id), for agents that run their own encoder.

:meth:`SummarizeTokensEnv.expert_action` copies the reference: the reference summary
tokenized with the env's tokenizer (no special tokens), restricted to the copy vocabulary;
with ``t`` tokens written it writes the reference's token ``t``, then EOS. It follows the
reference by position and does not repair an agent's earlier deviations. (If no reference
token occurs in the document it writes the document's first token, as EOS may not come
first.) With WordPiece the restricted reference decodes to the reference's words wherever
all of a word's pieces occur in the document, so it scores close to 1.0 when the budget
holds it.
"""

from __future__ import annotations

import numpy as np

from ...envs.base import TextEnv, read_only
from ...metrics import rouge_scores
from ..summarize.rouge import format_scores, rouge_reward
from .spec import SummarizeTokensSpec


class SummarizeTokensEnv(TextEnv):
    """Write a summary token by token from the document's tokens (see the module docstring;
    the options are :class:`~text_envs.tasks.summarize_tokens.spec.SummarizeTokensSpec`'s)."""

    spec_class = SummarizeTokensSpec

    @property
    def source_ids(self) -> np.ndarray:
        """The episode's source: its document's token ids in order, special tokens dropped
        (read-only). The copy vocabulary is their set; ``dict.fromkeys(env.source_ids)`` lists
        it in the order of first occurrence."""
        return self._source_ids

    def _begin(self, index: int) -> None:
        spec = self.task_spec
        source = spec.source(index)
        self._source_ids = spec.source_ids[source]
        self._source_rows = spec.source_rows[source]  # flat cache rows of the source tokens
        copy = np.zeros(spec.vocab_size, dtype=bool)  # the source's ids; _mask adds EOS
        copy[self._source_ids] = True
        self._copy = read_only(copy)
        self._generated = np.full(spec.max_summary_tokens, -1, dtype=np.int64)
        self._length = 0
        self._scores: dict[str, float] | None = None
        self._reference_ids: np.ndarray | None = None
        if self.observation_mode == "compact":
            self._document = spec.document_vector(index)
            keys, self._token_states = spec.token_states(index, index + 1)
            self._token_ids = keys - index * spec.vocab_size  # the copy vocabulary, sorted
        else:
            self._source = self._padded_source()

    def _padded_source(self) -> dict[str, np.ndarray]:
        """The first ``N`` source tokens' states (``sequence``) or ids (``tokens``), padded, and the
        mask (read-only, so that a step hands out copies of them)."""
        width = self.task_spec.max_source_tokens
        n = min(len(self._source_ids), width)
        mask = np.zeros(width, dtype=np.int8)
        mask[:n] = 1
        if self.observation_mode == "sequence":
            states = np.zeros((width, self.encoded.hidden_size), dtype=self.dtype)
            states[:n] = self.task_spec.states(self._source_rows[:n])
            return {"states": read_only(states), "source_mask": read_only(mask)}
        ids = np.full(width, self.task_spec.pad_id, dtype=np.int64)
        ids[:n] = self._source_ids[:n]
        return {"source_ids": read_only(ids), "source_mask": read_only(mask)}

    # -- hooks -------------------------------------------------------------------------------

    def _act(self, action: int) -> tuple[float, bool]:
        spec = self.task_spec
        if action == spec.eos_id:
            return rouge_reward(self._final_scores(), spec.rouge), True
        self._generated[self._length] = action
        self._length += 1
        if self._length == spec.max_summary_tokens:
            return rouge_reward(self._final_scores(), spec.rouge), True
        return 0.0, False

    def _text(self) -> str:
        return self.encoder.tokenizer.decode(self._generated[:self._length].tolist(), skip_special_tokens=True)

    def _final_scores(self) -> dict[str, float]:
        """The summary's ROUGE scores, computed once: call it only when the episode is over."""
        if self._scores is None:
            self._scores = rouge_scores([self._text()], self.record.summary)
        return self._scores

    def _mask(self) -> np.ndarray:
        mask = self._copy.copy()
        mask[self.task_spec.eos_id] = self._length > 0
        return mask

    def why_invalid(self, action: int) -> str:
        if action == self.task_spec.eos_id:
            return "EOS needs at least one written token"
        token = self.encoder.tokenizer.convert_ids_to_tokens(action)
        return f"token {token!r} does not occur in the document"

    def _observation(self):
        if self.observation_mode == "compact":
            return self._compact_observation()
        length = np.array([self._length], dtype=np.int64)
        return {**self._source, "generated": self._generated.copy(), "length": length}

    def _compact_observation(self) -> np.ndarray:
        written = self._token_states[np.searchsorted(self._token_ids, self._generated[:self._length])]
        hidden = self.encoded.hidden_size
        last = written[-1] if self._length else np.zeros(hidden, dtype=np.float32)
        mean = written.mean(axis=0) if self._length else np.zeros(hidden, dtype=np.float32)
        used = np.array([self._length / self.task_spec.max_summary_tokens], dtype=np.float32)
        return np.concatenate((self._document, last, mean, used)).astype(self.dtype)

    def _expert_reference(self) -> np.ndarray:
        """The reference's token ids that are in the copy vocabulary (tokenized on first use)."""
        if self._reference_ids is None:
            ids = self.encoder.tokenizer(" ".join(self.record.summary), add_special_tokens=False)["input_ids"]
            ids = np.asarray(ids, dtype=np.int64)
            self._reference_ids = ids[self._copy[ids]]
        return self._reference_ids

    def expert_action(self) -> int:
        """The reference's next token by position (see the module docstring), then EOS."""
        reference = self._expert_reference()
        if self._length < len(reference):
            return int(reference[self._length])
        return self.task_spec.eos_id if self._length else int(self._source_ids[0])

    def _result(self):
        # mid-episode (an outside time limit ended it): score the text so far without caching it
        scores = self._final_scores() if self._done else rouge_scores([self._text()], self.record.summary)
        return self._text(), dict(scores)

    def _render_text(self, gold: bool) -> str:
        record = self.record
        state = "finished" if self._done else "running"
        lines = [f"SummarizeTokens {self.data.split} #{self.index} ({record.id}): "
                 f"{self._length}/{self.task_spec.max_summary_tokens} tokens, {state}",
                 "document:  " + " ".join(record.sentences),
                 "written:   " + self._text() + ("" if self._done else " _")]
        if gold:
            lines.append("reference: " + " ".join(record.summary))
        if self._done:
            lines.append("ROUGE F: " + format_scores(self._final_scores()))
        return "\n".join(lines)
