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
metrics say so. ``env.task_spec.unreachable`` counts the examples where no gold answer can
be selected by a valid action pair (cut off, or longer than ``max_answer_tokens`` tokens);
``env.task_spec.reachable`` marks them per example, so a score can be read against its
ceiling.

Options: ``max_answer_tokens`` (default 30), the longest span step 2 may close (see
:class:`~text_envs.tasks.qa.spec.QaSpec`, which also holds the split's tables: context
ranges, gold spans, answers).
"""

from __future__ import annotations

import numpy as np

from ...envs.base import TextEnv, read_only
from ...metrics import squad_scores
from .spec import QaSpec

_START, _END = "[[", "]]"


class QaEnv(TextEnv):
    """Point at an answer span in a context (see the module docstring).

    What a player or a tool reads of the episode in flight: :attr:`token_rows`,
    :attr:`num_tokens`, :attr:`token_offsets`, :attr:`context_positions` and
    :attr:`chosen_start`.
    """

    spec_class = QaSpec

    # -- episodes -------------------------------------------------------------------------------

    def _begin(self, index: int) -> None:
        spec = self.task_spec
        self._n = int(spec.lengths[index])
        self._rows = slice(int(spec.token_starts[index]), int(spec.token_starts[index] + self._n))
        self._first, self._last = (int(p) for p in spec.context_ranges[index])
        self._offsets = np.asarray(self.encoded.offsets[self._rows])
        context_mask = np.zeros(self.encoded.max_length, dtype=bool)
        context_mask[self._first:self._last + 1] = True
        self._context_mask = read_only(context_mask)
        self._gold = tuple(int(p) for p in spec.gold_spans[index]) if spec.reachable[index] else None
        self._chosen_start = self._chosen_end = -1
        self._prediction, self._scores = "", None
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
            arrays["features"][:n, :-2] = self.task_spec.states(self._rows)
        elif self.observation_mode == "sequence":
            arrays["states"] = padded(self.task_spec.states(self._rows), self.dtype, (self.encoded.hidden_size,))
        else:
            arrays["input_ids"] = padded(self.encoded.input_ids[self._rows], np.int64)
            arrays["token_type_ids"] = padded(self.encoded.type_ids[self._rows], np.int64)
        return {name: read_only(array) for name, array in arrays.items()}

    # -- the episode in flight, for players ------------------------------------------------------

    @property
    def token_rows(self) -> slice:
        """The episode's rows in the cache's flat token arrays: ``encoded.input_ids[env.token_rows]``
        are the ids at positions 0, 1, ... of its encoding."""
        return self._rows

    @property
    def num_tokens(self) -> int:
        """The episode's token count: positions from there on are padding."""
        return self._n

    @property
    def token_offsets(self) -> np.ndarray:
        """[num_tokens, 2], read-only: each position's character span (start, end) in the
        context (meaningful at context positions)."""
        return self._offsets

    @property
    def context_positions(self) -> range:
        """The positions of the context's tokens, the only ones an answer may cover."""
        return range(self._first, self._last + 1)

    @property
    def chosen_start(self) -> int | None:
        """The start chosen at step 1; None before it (step 2 then chooses the end)."""
        return self._chosen_start if self._chosen_start >= 0 else None

    # -- steps ----------------------------------------------------------------------------------

    def _act(self, action: int) -> tuple[float, bool]:
        if self._chosen_start < 0:
            self._chosen_start = action
            return 0.0, False
        self._chosen_end = action
        self._prediction, self._scores = self.task_spec.score_span(self.index, self._chosen_start, action)
        return self._scores["f1"], True

    @property
    def _steps_taken(self) -> int:
        return int(self._chosen_start >= 0) + int(self._chosen_end >= 0)

    def _observation(self):
        parts = self._tensors
        if self.observation_mode == "compact":
            features = parts["features"].copy()
            features[:, -2] = self._mask()
            if self._chosen_start >= 0:
                features[self._chosen_start, -1] = 1
            return features
        names = ("states",) if self.observation_mode == "sequence" else ("input_ids", "token_type_ids")
        observation = {name: parts[name] for name in (*names, "attention_mask", "context_mask")}
        observation["start"] = np.array([self._chosen_start], dtype=np.int64)
        observation["step"] = np.array([self._steps_taken], dtype=np.int64)
        return observation

    def _mask(self) -> np.ndarray:
        if self._chosen_start < 0:
            return self._context_mask
        mask = np.zeros(self.encoded.max_length, dtype=bool)
        mask[self._chosen_start:min(self._chosen_start + self.task_spec.max_answer_tokens, self._last + 1)] = True
        return mask

    def why_invalid(self, action: int) -> str:
        """Padding, a special or question token, an end before the start, or a span too long."""
        if action >= self._n:
            return f"position {action} is padding: this encoding has {self._n} tokens"
        if not self._first <= action <= self._last:
            kind = "a special token" if self.encoded.sequence_ids[self._rows.start + action] < 0 else "a question token"
            return f"position {action} is {kind}; the answer lies in the context, positions {self._first}..{self._last}"
        if action < self._chosen_start:
            return f"the end {action} comes before the chosen start {self._chosen_start}"
        return (f"the span {self._chosen_start}..{action} has {action - self._chosen_start + 1} tokens, more than "
                f"max_answer_tokens={self.task_spec.max_answer_tokens}")

    def expert_action(self) -> int:
        """The first selectable gold answer's start token, then its end token; where no
        gold answer can be selected (see ``task_spec.gold_spans``), the first valid position."""
        if self._gold is None:
            return int(np.flatnonzero(self._mask())[0])
        return self._gold[0] if self._chosen_start < 0 else self._gold[1]

    def _result(self):
        return self._prediction, self._scores or squad_scores(self._prediction, self.task_spec.answers[self.index])

    # -- render ---------------------------------------------------------------------------------

    def _render_text(self, gold: bool) -> str:
        record = self.record
        lines = [f"QA {self.data.split} #{self.index} ({record.id}), step {min(self._steps_taken + 1, 2)}/2",
                 f"question: {record.question}", f"context:  {self._marked_context()}"]
        if gold:
            lines.append("gold:     " + " | ".join(repr(a) for a in self.task_spec.answers[self.index])
                         + ("" if self._gold is not None else "  (unreachable: cut off or too long)"))
        if self._chosen_end >= 0:
            scores = "  ".join(f"{name} {value:.2f}" for name, value in self._scores.items())
            lines.append(f"agent:    {self._prediction!r}  {scores}")
        return "\n".join(lines)

    def _marked_context(self) -> str:
        """The context the agent sees, with [[ before the chosen start and ]] after the
        chosen end, and a note of how much truncation cut off."""
        context = self.record.context
        truncated = self.encoded.truncated[self.encoded.segment_starts[self.index]]
        seen = int(self._offsets[self._last, 1]) if truncated else len(context)
        cuts = [(int(self._offsets[self._chosen_start, 0]), _START)] if self._chosen_start >= 0 else []
        if self._chosen_end >= 0:
            cuts.append((int(self._offsets[self._chosen_end, 1]), _END))
        pieces, previous = [], 0
        for position, mark in cuts:
            pieces += [context[previous:position], mark]
            previous = position
        pieces.append(context[previous:seen])
        if seen < len(context):
            pieces.append(f" [... {len(context) - seen} characters cut by max_length={self.encoded.max_length}]")
        return "".join(pieces)
