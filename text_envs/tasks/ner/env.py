"""NER tagging: one sentence per episode, one step per word, the action is the word's BIO tag.

Actions: ``Discrete(len(tags))`` over the dataset's BIO tag set (``env.task_spec.tags``, which
are the action names; ``O`` is 0). The mask forbids the invalid IOB2 move ``I-X`` unless the
previous tag is ``B-X`` or ``I-X`` (so a masked agent always emits well-formed entities).

Rewards (``reward=``):

* ``"token"`` (dense): 1.0 for a correct tag, 0.0 otherwise; the return is the number of
  correct tags.
* ``"entity_f1"`` (sparse): 0 until the last word, then the sentence's entity-level F1
  (seqeval rules; 1.0 for a sentence with no entity where none was predicted).
* ``"entity_f1_delta"`` (dense, shaped): the change in the F1 of the entities closed so
  far, computed incrementally in O(1) a step; the return equals the sparse reward's.

Observations (float32 unless ``dtype=np.float16``; ``H`` = encoder hidden size, ``K`` =
number of tags, ``W`` = ``max_words``, ``L`` = encoder ``max_length``):

* ``"compact"``: ``Box(H + K + 1)``: the current word's state (its first subword), a
  one-hot of the previous tag (all zero at the first word), and the fraction of the
  sentence already tagged.
* ``"sequence"``: ``Dict(states=Box(W, H), mask=Box(W) int8, tags=Box(W) int64,
  cursor=Box(1) int64)``: the first-subword state of every word (zero-padded), which
  words exist, the tags chosen so far (-1 where none yet) and the index of the word to tag.
* ``"tokens"``: ``Dict(input_ids=Box(L), attention_mask=Box(L), word_starts=Box(W),
  tags=Box(W), cursor=Box(1))``, all int64: the encoder's token ids, for agents that run
  their own encoder; ``word_starts`` is each word's first-subword position (-1: none).

With ``word_shape=True`` each word's shape (an index of ``text_envs.tasks.ner.spec.SHAPES``:
lower, Title, UPPER, MiXed, digit, symbol), which an uncased encoder's states do not carry,
is added: its one-hot after the compact observation (``Box(H + K + 1 + 6)``), and a
``shapes=Box(W) int64`` key (-1 past the sentence) in the ``sequence`` and ``tokens`` ones.

Words past the encoder's ``max_length`` (rare; see ``encoded.truncated``) have a zero
state. A sentence with more than ``max_words`` words is an error at construction.
"""

from __future__ import annotations

import numpy as np

from ...envs.base import TextEnv, read_only
from .entity_f1 import EntityF1Tracker
from .spec import NerSpec


class NerEnv(TextEnv):
    spec_class = NerSpec

    def _begin(self, index: int) -> None:
        spec = self.task_spec
        words = spec.words(index)
        self._n = int(spec.lengths[index])
        self._gold = spec.gold[words]
        self._word_starts = spec.positions[words]
        self._word_states = spec.word_states(index) if self.observation_mode != "tokens" else None
        self._predicted = np.full(spec.max_words, -1, dtype=np.int64)
        if spec.word_shape:
            self._shapes = spec.shapes[words]
            self._padded_shapes = read_only(np.pad(self._shapes, (0, spec.max_words - self._n), constant_values=-1))
        self._t = 0
        self._prev = len(spec.tags)
        self._tracker = EntityF1Tracker(spec.tags, self._gold) if spec.reward != "token" else None

    def _act(self, action: int) -> tuple[float, bool]:
        t = self._t
        self._predicted[t] = action
        self._prev = action
        self._t += 1
        done = self._t == self._n
        reward = self.task_spec.reward
        if reward == "token":
            return float(action == self._gold[t]), done
        delta = self._tracker.add(action)
        if done:
            delta += self._tracker.finish()
        return (delta if reward == "entity_f1_delta" else (self._tracker.potential if done else 0.0)), done

    def _observation(self):
        t = min(self._t, self._n - 1)  # after the last word, repeat the last observation's word
        spec = self.task_spec
        if self.observation_mode == "compact":
            shape = (spec.shape_one_hot[self._shapes[t]],) if spec.word_shape else ()
            return np.concatenate((self._word_states[t], spec.previous_one_hot[self._prev],
                                   np.array([self._t / self._n], dtype=self.dtype), *shape))
        cursor = np.array([self._t], dtype=np.int64)
        max_words = spec.max_words
        shapes = {"shapes": self._padded_shapes} if spec.word_shape else {}
        if self.observation_mode == "sequence":
            states = np.zeros((max_words, self._word_states.shape[1]), dtype=self.dtype)
            states[:self._n] = self._word_states
            mask = np.zeros(max_words, dtype=np.int8)
            mask[:self._n] = 1
            return {"states": states, "mask": mask, "tags": self._predicted.copy(), "cursor": cursor, **shapes}
        input_ids, attention = self.encoded.padded_tokens([spec.segments[self.index]], (1, self.encoded.max_length))
        word_starts = np.full(max_words, -1, dtype=np.int64)
        word_starts[:self._n] = self._word_starts
        return {"input_ids": input_ids[0], "attention_mask": attention[0], "word_starts": word_starts,
                "tags": self._predicted.copy(), "cursor": cursor, **shapes}

    def _mask(self) -> np.ndarray:
        return self.task_spec.allowed[self._prev]

    def why_invalid(self, action: int) -> str:
        tags = self.task_spec.tags
        previous = tags[self._prev] if self._prev < len(tags) else "the sentence start"
        return f"{tags[action]} cannot follow {previous}"

    def expert_action(self) -> int:
        """The gold tag of the current word."""
        return int(self._gold[self._t])

    def _result(self):
        tags = self.task_spec.tags
        predicted = [tags[i] for i in self._predicted[:self._t]]
        gold = self.record.tags[:self._t]
        correct = sum(p == g for p, g in zip(predicted, gold))
        tracker = EntityF1Tracker(tags, self._gold)
        for tag in self._predicted[:self._t]:
            tracker.add(int(tag))
        tracker.finish()
        return predicted, {"entity_f1": tracker.potential, "token_accuracy": correct / self._n}

    def _render_text(self, gold: bool) -> str:
        record, tags = self.record, self.task_spec.tags
        columns = []
        for i, word in enumerate(record.tokens):
            predicted = tags[self._predicted[i]] if i < self._t else ("?" if i == self._t else "")
            if gold:
                mark = "" if i >= self._t else (" ok" if predicted == record.tags[i] else " x")
                columns.append((word, predicted + mark, record.tags[i]))
            else:
                columns.append((word, predicted))
        widths = [max(len(c) for c in column) for column in columns]
        lines = ["  ".join(c[row].ljust(w) for c, w in zip(columns, widths)) for row in range(len(columns[0]))]
        header = f"NER {self.data.split} #{self.index} ({record.id}), word {min(self._t + 1, self._n)}/{self._n}"
        rows = [header, "words:  " + lines[0], "agent:  " + lines[1]]
        return "\n".join([*rows, "gold:   " + lines[2]] if gold else rows)
