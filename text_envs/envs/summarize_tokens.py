"""Abstractive summarisation by copying: write the summary token by token from the document's tokens.

Actions: ``Discrete(V)``, a token id of the encoder's vocabulary (``V`` =
``env.encoder.vocab_size``, 30,522 for MiniLM). The mask is the episode's *copy
vocabulary*: every token id that occurs in the document's sentences as the encoder cached
them (so cut at its ``max_length`` per sentence), special tokens excluded, plus EOS. EOS is
the tokenizer's SEP token (``env.eos_id``): BERT-style encoders have no EOS of their own,
and SEP is the token that closes a sequence for them. EOS is masked until one token is
written, so every summary is non-empty (as STOP in :mod:`~text_envs.envs.summarize`).

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
``source_ids[p]``), cut at ``max_source_tokens`` (``N``). Observations (float32 unless
``dtype=np.float16``; ``H`` = encoder hidden size, ``M`` = ``max_summary_tokens``):

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

import gymnasium as gym
import numpy as np

from ..metrics import rouge_scores
from .base import TextEnv, read_only
from .summarize import check_positive, check_rouge, format_scores, rouge_reward


class SummarizeTokensEnv(TextEnv):
    """Write a summary token by token from the document's tokens (see the module docstring).

    Args (besides :class:`~text_envs.envs.base.TextEnv`'s):
        rouge: the score the reward is: ``"mean"``, ``"rouge1"``, ``"rouge2"`` or ``"rougeL"``.
        max_summary_tokens: the budget: tokens after which the episode ends.
        max_source_tokens: source tokens shown in the ``sequence`` and ``tokens`` observations.
    """

    task = "summarization"

    def __init__(self, dataset="embedded", split="train", *, rouge: str = "mean", max_summary_tokens: int = 64,
                 max_source_tokens: int = 512, **kwargs) -> None:
        self.rouge = check_rouge(rouge)
        self.max_summary_tokens = check_positive("max_summary_tokens", max_summary_tokens)
        self.max_source_tokens = check_positive("max_source_tokens", max_source_tokens)
        super().__init__(dataset, split, **kwargs)

    def _setup(self) -> None:
        tokenizer = self.encoder.tokenizer
        if tokenizer.sep_token_id is None:
            raise ValueError(f"encoder {self.encoder.name!r} has no SEP token, which {type(self).__name__} uses as EOS")
        self.eos_id = int(tokenizer.sep_token_id)
        self._special_ids = np.array(sorted(tokenizer.all_special_ids), dtype=np.int64)
        self._pad_id = int(tokenizer.pad_token_id or 0)
        vocab, hidden = self.encoder.vocab_size, self.encoded.hidden_size
        source, summary = self.max_source_tokens, self.max_summary_tokens
        self.action_space = gym.spaces.Discrete(vocab)
        generated = gym.spaces.Box(-1, vocab - 1, (summary,), np.int64)
        length = gym.spaces.Box(0, summary, (1,), np.int64)
        source_mask = gym.spaces.Box(0, 1, (source,), np.int8)
        if self.observation_mode == "compact":
            self.observation_space = self._state_box((3 * hidden + 1,))
        elif self.observation_mode == "sequence":
            self.observation_space = gym.spaces.Dict({
                "states": self._state_box((source, hidden)), "source_mask": source_mask, "generated": generated,
                "length": length})
        else:
            self.observation_space = gym.spaces.Dict({
                "source_ids": gym.spaces.Box(0, vocab - 1, (source,), np.int64), "source_mask": source_mask,
                "generated": generated, "length": length})

    def _begin(self, index: int) -> None:
        segments = self.encoded.segments(index)
        first, stop = int(self.encoded.token_starts[segments.start]), int(self.encoded.token_starts[segments.stop])
        ids = np.asarray(self.encoded.input_ids[first:stop], dtype=np.int64)
        content = ~np.isin(ids, self._special_ids)
        self._source_ids = ids[content]
        self._source_rows = first + np.flatnonzero(content)  # flat cache rows of the source tokens
        copy = np.zeros(self.encoder.vocab_size, dtype=bool)  # the source's ids; _mask adds EOS
        copy[self._source_ids] = True
        self._copy = read_only(copy)
        self._generated = np.full(self.max_summary_tokens, -1, dtype=np.int64)
        self._length = 0
        self._scores: dict[str, float] | None = None
        self._reference_ids: np.ndarray | None = None
        if self.observation_mode == "compact":
            self._document = np.asarray(self.encoded.pooled[segments.start:segments.stop], dtype=np.float32).mean(0)
            self._token_ids, self._token_states = self._token_means()
        else:
            self._source = self._padded_source()

    def _token_means(self) -> tuple[np.ndarray, np.ndarray]:
        """The copy vocabulary's ids (sorted) and each one's mean state over its source occurrences."""
        ids, inverse = np.unique(self._source_ids, return_inverse=True)
        sums = np.zeros((len(ids), self.encoded.hidden_size), dtype=np.float32)
        np.add.at(sums, inverse, np.asarray(self.encoded.states[self._source_rows], dtype=np.float32))
        return ids, sums / np.bincount(inverse)[:, None]

    def _padded_source(self) -> dict[str, np.ndarray]:
        """The first ``N`` source tokens' states (``sequence``) or ids (``tokens``), padded, and the
        mask (read-only, so that a step hands out copies of them)."""
        n = min(len(self._source_ids), self.max_source_tokens)
        mask = np.zeros(self.max_source_tokens, dtype=np.int8)
        mask[:n] = 1
        if self.observation_mode == "sequence":
            states = np.zeros((self.max_source_tokens, self.encoded.hidden_size), dtype=self.dtype)
            states[:n] = self._states(self._source_rows[:n])
            return {"states": read_only(states), "source_mask": read_only(mask)}
        ids = np.full(self.max_source_tokens, self._pad_id, dtype=np.int64)
        ids[:n] = self._source_ids[:n]
        return {"source_ids": read_only(ids), "source_mask": read_only(mask)}

    # -- hooks -------------------------------------------------------------------------------

    def _act(self, action: int) -> tuple[float, bool]:
        if action == self.eos_id:
            return rouge_reward(self._final_scores(), self.rouge), True
        self._generated[self._length] = action
        self._length += 1
        if self._length == self.max_summary_tokens:
            return rouge_reward(self._final_scores(), self.rouge), True
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
        mask[self.eos_id] = self._length > 0
        return mask

    def _describe_invalid(self, action: int) -> str:
        if action == self.eos_id:
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
        used = np.array([self._length / self.max_summary_tokens], dtype=np.float32)
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
        return self.eos_id if self._length else int(self._source_ids[0])

    def _result(self):
        # mid-episode (an outside time limit ended it): score the text so far without caching it
        scores = self._final_scores() if self._done else rouge_scores([self._text()], self.record.summary)
        return self._text(), dict(scores)

    def _render_text(self) -> str:
        record = self.record
        state = "finished" if self._done else "running"
        lines = [f"SummarizeTokens {self.data.split} #{self.index} ({record.id}): "
                 f"{self._length}/{self.max_summary_tokens} tokens, {state}",
                 "document:  " + " ".join(record.sentences),
                 "written:   " + self._text() + ("" if self._done else " _"),
                 "reference: " + " ".join(record.summary)]
        if self._done:
            lines.append("ROUGE F: " + format_scores(self._final_scores()))
        return "\n".join(lines)
