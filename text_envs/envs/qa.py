"""Extractive QA: one question about a context per episode; step 1 points at the answer's
first token, step 2 at its last token.

Actions: ``Discrete(L)``, a position in the encoding of the (question, context) pair
(``L`` = encoder ``max_length``; ``[CLS] question [SEP] context [SEP]`` then padding). The
mask allows, at step 1, the context tokens only (no question token, special token or
padding); at step 2, the context tokens ``end`` with ``start <= end`` and
``end - start + 1 <= max_answer_tokens``. After the last step the mask stays the step-2
mask (never empty, so a vectorised agent that samples on the terminal observation is safe).

Reward: 0.0 at step 1; at step 2 the SQuAD token F1 (max over the gold answers, SQuAD v1.1
normalisation) of the span text ``context[offsets[start][0]:offsets[end][1]]``, cut from the
original context by character offsets, so the prediction is exactly what a SQuAD scorer
would read. ``info["metrics"]`` = ``{"exact_match", "f1"}`` and ``info["prediction"]`` = the
span text at the end ("" if the episode was cut short by invalid actions).

Observations (float32 unless ``dtype=np.float16``; ``H`` = encoder hidden size, ``L`` =
encoder ``max_length``; rows past the encoding are zero):

* ``"compact"``: ``Box(L, H + 2)``: per position, the token's state, then whether the
  position is a valid action now (the mask), then whether it is the chosen start. A
  pointer policy scores each row with a shared head; an MLP policy flattens it. Which step
  it is follows from the last column (all zero before the start is chosen).
* ``"sequence"``: ``Dict(states=Box(L, H), attention_mask=Box(L) int64,
  context_mask=Box(L) int8, start=Box(1) int64, step=Box(1) int64)``: the token states,
  which positions hold tokens, which hold context tokens, the chosen start (-1 before
  step 1) and the number of steps taken (0, 1, or 2 at the end).
* ``"tokens"``: ``Dict(input_ids=Box(L), attention_mask=Box(L), token_type_ids=Box(L),
  context_mask=Box(L) int8, start=Box(1), step=Box(1))``, int64 unless noted: the
  encoder's inputs, for agents that run their own encoder.

Truncation: a context longer than the encoder's limit is cut by the cache's rule (its
first tokens are kept; the question is never cut). Such an example stays an episode even
if its gold answer lies in the cut part: the agent cannot point at it, and its reward and
metrics say so. ``env.unreachable`` counts the examples where no gold answer can be
selected by a valid action pair (cut off, or longer than ``max_answer_tokens`` tokens);
``env.reachable`` marks them per example, so a score can be read against its ceiling.
"""

from __future__ import annotations

from functools import cached_property

import gymnasium as gym
import numpy as np

from ..cache import LAYOUTS
from ..metrics import squad_scores
from .base import TextEnv, read_only

_START, _END = "[[", "]]"


class QaEnv(TextEnv):
    """Point at an answer span in a context (see the module docstring).

    Args:
        max_answer_tokens: the longest span, in encoder tokens, that step 2 may close
            (default 30); the other arguments are :class:`~text_envs.envs.base.TextEnv`'s.
    """

    task = "qa"

    def __init__(self, dataset="embedded", split="train", *, max_answer_tokens: int = 30, **kwargs) -> None:
        integer = isinstance(max_answer_tokens, (int, np.integer)) and not isinstance(max_answer_tokens, bool)
        if not integer or max_answer_tokens < 1:
            raise ValueError(f"max_answer_tokens must be an integer >= 1, got {max_answer_tokens!r}")
        self.max_answer_tokens = int(max_answer_tokens)
        super().__init__(dataset, split, **kwargs)

    # -- construction -------------------------------------------------------------------------

    def _setup(self) -> None:
        encoded = self.encoded
        if LAYOUTS[encoded.layout].kind != "pair":
            raise ValueError(f"QaEnv needs a (question, context) pair layout such as 'qa', got {encoded.layout!r}")
        token_starts = np.asarray(encoded.token_starts)
        segments = np.asarray(encoded.segment_starts[:-1])  # a pair layout gives one segment per record
        self._token_starts = token_starts[segments]
        self._lengths = token_starts[segments + 1] - self._token_starts
        self._contexts = self._context_ranges()
        length, hidden = encoded.max_length, encoded.hidden_size
        self.action_space = gym.spaces.Discrete(length)
        flags = {"context_mask": gym.spaces.Box(0, 1, (length,), np.int8),
                 "start": gym.spaces.Box(-1, length - 1, (1,), np.int64),
                 "step": gym.spaces.Box(0, 2, (1,), np.int64)}
        attention = gym.spaces.Box(0, 1, (length,), np.int64)
        if self.observation_mode == "compact":
            self.observation_space = self._state_box((length, hidden + 2))
        elif self.observation_mode == "sequence":
            self.observation_space = gym.spaces.Dict({
                "states": self._state_box((length, hidden)), "attention_mask": attention, **flags})
        else:
            self.observation_space = gym.spaces.Dict({
                "input_ids": gym.spaces.Box(0, self.encoder.vocab_size - 1, (length,), np.int64),
                "attention_mask": attention, "token_type_ids": gym.spaces.Box(0, 1, (length,), np.int64), **flags})

    def _context_ranges(self) -> np.ndarray:
        """[N, 2]: the first and last context position of each record's encoding (the
        context is one contiguous run between two [SEP]s; the tokenizer keeps at least one
        context token or refuses the record). Vectorised, as it runs at every construction."""
        context = np.flatnonzero(np.asarray(self.encoded.sequence_ids) == 1)
        first = np.searchsorted(context, self._token_starts)
        last = np.searchsorted(context, self._token_starts + self._lengths) - 1
        return np.stack([context[first], context[last]], axis=1) - self._token_starts[:, None]

    def gold_span(self, index: int) -> tuple[int, int] | None:
        """The token positions (start, end) of the first gold answer of example ``index``
        that a valid action pair can select, or None if none can (cut off by truncation,
        or longer than ``max_answer_tokens``). The span runs from the first context token
        whose characters end after the answer's start to the last one that starts before
        the answer's end: the smallest token span covering the answer's characters."""
        first, last = self._contexts[index]
        base = self._token_starts[index]
        offsets = np.asarray(self.encoded.offsets[base + first:base + last + 1])
        for answer in self.data[index].answers:
            if answer.start + len(answer.text.rstrip()) > offsets[-1, 1]:  # cut off by truncation
                continue
            start = int(np.searchsorted(offsets[:, 1], answer.start, side="right"))
            end = int(np.searchsorted(offsets[:, 0], answer.end, side="left")) - 1
            if start <= end and end - start + 1 <= self.max_answer_tokens:
                return first + start, first + end
        return None

    @cached_property
    def reachable(self) -> np.ndarray:
        """Per example, whether some gold answer can be selected (see :meth:`gold_span`);
        computed on first use, as it reads every example's offsets."""
        return np.array([self.gold_span(i) is not None for i in range(self.num_examples)], dtype=bool)

    @property
    def unreachable(self) -> int:
        """How many examples have no gold span a valid action pair can select (mostly
        answers cut off by truncation): the oracle's mean EM is ``1 - unreachable / N``. An
        agent may still score on them where the answer's words also occur in what it sees."""
        return int((~self.reachable).sum())

    # -- episodes -------------------------------------------------------------------------------

    def _begin(self, index: int) -> None:
        self._n = int(self._lengths[index])
        self._rows = slice(int(self._token_starts[index]), int(self._token_starts[index] + self._n))
        self._first, self._last = (int(p) for p in self._contexts[index])
        self._offsets = np.asarray(self.encoded.offsets[self._rows])
        context_mask = np.zeros(self.encoded.max_length, dtype=bool)
        context_mask[self._first:self._last + 1] = True
        self._context_mask = read_only(context_mask)
        self._gold = self.gold_span(index)
        self._answers = [answer.text for answer in self.data[index].answers]
        self._start = self._end = -1
        self._scores = None
        self._tensors = self._episode_arrays()

    def _episode_arrays(self) -> dict[str, np.ndarray]:
        """The observation parts that do not change within an episode, padded to ``L``
        once here (read-only, so that a step hands out copies of them)."""
        length, n = self.encoded.max_length, self._n

        def padded(values, dtype, width=()):
            array = np.zeros((length, *width), dtype=dtype)
            array[:n] = values
            return array

        arrays = {"attention_mask": padded(1, np.int64), "context_mask": self._context_mask.astype(np.int8)}
        if self.observation_mode == "compact":
            arrays["features"] = padded(0, self.dtype, (self.encoded.hidden_size + 2,))
            arrays["features"][:n, :-2] = self._states(self._rows)
        elif self.observation_mode == "sequence":
            arrays["states"] = padded(self._states(self._rows), self.dtype, (self.encoded.hidden_size,))
        else:
            arrays["input_ids"] = padded(self.encoded.input_ids[self._rows], np.int64)
            arrays["token_type_ids"] = padded(self.encoded.type_ids[self._rows], np.int64)
        return {name: read_only(array) for name, array in arrays.items()}

    def _act(self, action: int) -> tuple[float, bool]:
        if self._start < 0:
            self._start = action
            return 0.0, False
        self._end = action
        self._scores = squad_scores(self._span_text(), self._answers)
        return self._scores["f1"], True

    def _span_text(self) -> str:
        """The chosen span cut from the original context ("" until both ends are chosen)."""
        if self._end < 0:
            return ""
        return self.record.context[self._offsets[self._start, 0]:self._offsets[self._end, 1]]

    @property
    def _steps_taken(self) -> int:
        return int(self._start >= 0) + int(self._end >= 0)

    def _observation(self):
        parts = self._tensors
        if self.observation_mode == "compact":
            features = parts["features"].copy()
            features[:, -2] = self._mask()
            if self._start >= 0:
                features[self._start, -1] = 1
            return features
        names = ("states",) if self.observation_mode == "sequence" else ("input_ids", "token_type_ids")
        observation = {name: parts[name] for name in (*names, "attention_mask", "context_mask")}
        observation["start"] = np.array([self._start], dtype=np.int64)
        observation["step"] = np.array([self._steps_taken], dtype=np.int64)
        return observation

    def _mask(self) -> np.ndarray:
        if self._start < 0:
            return self._context_mask
        mask = np.zeros(self.encoded.max_length, dtype=bool)
        mask[self._start:min(self._start + self.max_answer_tokens, self._last + 1)] = True
        return mask

    def _describe_invalid(self, action: int) -> str:
        if action >= self._n:
            return f"position {action} is padding: this encoding has {self._n} tokens"
        if not self._first <= action <= self._last:
            kind = "a special token" if self.encoded.sequence_ids[self._rows.start + action] < 0 else "a question token"
            return f"position {action} is {kind}; the answer lies in the context, positions {self._first}..{self._last}"
        if action < self._start:
            return f"the end {action} comes before the chosen start {self._start}"
        return (f"the span {self._start}..{action} has {action - self._start + 1} tokens, more than "
                f"max_answer_tokens={self.max_answer_tokens}")

    def expert_action(self) -> int:
        """The first selectable gold answer's start token, then its end token; where no
        gold answer can be selected (see :meth:`gold_span`), the first valid position."""
        if self._gold is None:
            return int(np.flatnonzero(self._mask())[0])
        return self._gold[0] if self._start < 0 else self._gold[1]

    def _result(self):
        prediction = self._span_text()
        return prediction, self._scores or squad_scores(prediction, self._answers)

    def _render_text(self) -> str:
        record = self.record
        lines = [f"QA {self.data.split} #{self.index} ({record.id}), step {min(self._steps_taken + 1, 2)}/2",
                 f"question: {record.question}", f"context:  {self._marked_context()}",
                 "gold:     " + " | ".join(repr(a) for a in self._answers)
                 + ("" if self._gold is not None else "  (unreachable: cut off or too long)")]
        if self._end >= 0:
            scores = "  ".join(f"{name} {value:.2f}" for name, value in self._scores.items())
            lines.append(f"agent:    {self._span_text()!r}  {scores}")
        return "\n".join(lines)

    def _marked_context(self) -> str:
        """The context the agent sees, with [[ before the chosen start and ]] after the
        chosen end, and a note of how much truncation cut off."""
        context = self.record.context
        truncated = self.encoded.truncated[self.encoded.segment_starts[self.index]]
        seen = int(self._offsets[self._last, 1]) if truncated else len(context)
        cuts = [(int(self._offsets[self._start, 0]), _START)] if self._start >= 0 else []
        if self._end >= 0:
            cuts.append((int(self._offsets[self._end, 1]), _END))
        pieces, previous = [], 0
        for position, mark in cuts:
            pieces += [context[previous:position], mark]
            previous = position
        pieces.append(context[previous:seen])
        if seen < len(context):
            pieces.append(f" [... {len(context) - seen} characters cut by max_length={self.encoded.max_length}]")
        return "".join(pieces)
