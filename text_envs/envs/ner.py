"""NER tagging: one sentence per episode, one step per word, the action is the word's BIO tag.

Actions: ``Discrete(len(tags))`` over the dataset's BIO tag set (``env.tags``; ``O`` is 0).
The mask forbids the invalid IOB2 move ``I-X`` unless the previous tag is ``B-X`` or ``I-X``
(so a masked agent always emits well-formed entities).

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

Words past the encoder's ``max_length`` (rare; see ``encoded.truncated``) have a zero
state. A sentence with more than ``max_words`` words is an error at construction.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np

from ..metrics import EntityF1Tracker, chunk_tables
from ..records import entity_type
from .base import TextEnv, read_only

REWARDS = ("token", "entity_f1", "entity_f1_delta")


class NerEnv(TextEnv):
    task = "ner"

    def __init__(self, dataset="embedded", split="train", *, reward: str = "token", max_words: int = 128,
                 **kwargs) -> None:
        if reward not in REWARDS:
            raise ValueError(f"unknown reward {reward!r}; expected one of {REWARDS}")
        self.reward_kind = reward
        self.max_words = max_words
        super().__init__(dataset, split, **kwargs)

    def _setup(self) -> None:
        self.tags = self.data.labels
        num_tags, hidden = len(self.tags), self.encoded.hidden_size
        longest = max(range(len(self.data)), key=lambda i: len(self.data[i].tokens))
        if len(self.data[longest].tokens) > self.max_words:
            raise ValueError(f"record {self.data[longest].id!r} has {len(self.data[longest].tokens)} words, more than "
                             f"max_words={self.max_words}; pass a larger max_words")
        self._tag_index = {tag: i for i, tag in enumerate(self.tags)}
        chunk_tables(self.tags)  # imports seqeval (about a second) now rather than mid-episode
        self._gold = [np.array([self._tag_index[t] for t in r.tags], dtype=np.int64) for r in self.data]
        # allowed[prev, tag]; row num_tags is "no previous tag" (the sentence start)
        kinds = [entity_type(t) for t in self.tags]
        allowed = np.ones((num_tags + 1, num_tags), dtype=bool)
        for tag, name in enumerate(self.tags):
            if name.startswith("I-"):
                allowed[:, tag] = [p < num_tags and kinds[p] == kinds[tag] for p in range(num_tags + 1)]
        self._allowed = read_only(allowed)
        self._previous_one_hot = np.eye(num_tags + 1, num_tags, dtype=self.dtype)
        self.action_space = gym.spaces.Discrete(num_tags)
        words, length = self.max_words, self.encoded.max_length
        tags = gym.spaces.Box(-1, num_tags - 1, (words,), np.int64)
        cursor = gym.spaces.Box(0, words, (1,), np.int64)
        if self.observation_mode == "compact":
            self.observation_space = self._state_box((hidden + num_tags + 1,))
        elif self.observation_mode == "sequence":
            self.observation_space = gym.spaces.Dict({
                "states": self._state_box((words, hidden)), "mask": gym.spaces.Box(0, 1, (words,), np.int8),
                "tags": tags, "cursor": cursor})
        else:
            vocab = self.encoder.vocab_size
            self.observation_space = gym.spaces.Dict({
                "input_ids": gym.spaces.Box(0, vocab - 1, (length,), np.int64),
                "attention_mask": gym.spaces.Box(0, 1, (length,), np.int64),
                "word_starts": gym.spaces.Box(-1, length - 1, (words,), np.int64), "tags": tags, "cursor": cursor})

    def _begin(self, index: int) -> None:
        record = self.data[index]
        self._n = len(record.tokens)
        segment = self.encoded.segments(index)[0]
        self._span = self.encoded.tokens(segment)
        self._word_starts = self.encoded.word_positions(segment, self._n)
        rows = self._span.start + np.maximum(self._word_starts, 0)
        self._word_states = self._states(rows)
        self._word_states[self._word_starts < 0] = 0
        self._predicted = np.full(self.max_words, -1, dtype=np.int64)
        self._t = 0
        self._prev = len(self.tags)
        self._tracker = EntityF1Tracker(self.tags, self._gold[index]) if self.reward_kind != "token" else None

    def _act(self, action: int) -> tuple[float, bool]:
        t = self._t
        self._predicted[t] = action
        self._prev = action
        self._t += 1
        done = self._t == self._n
        if self.reward_kind == "token":
            return float(action == self._gold[self.index][t]), done
        delta = self._tracker.add(action)
        if done:
            delta += self._tracker.finish()
        return (delta if self.reward_kind == "entity_f1_delta" else (self._tracker.potential if done else 0.0)), done

    def _observation(self):
        t = min(self._t, self._n - 1)  # after the last word, repeat the last observation's word
        if self.observation_mode == "compact":
            return np.concatenate((self._word_states[t], self._previous_one_hot[self._prev],
                                   np.array([self._t / self._n], dtype=self.dtype)))
        cursor = np.array([self._t], dtype=np.int64)
        if self.observation_mode == "sequence":
            states = np.zeros((self.max_words, self._word_states.shape[1]), dtype=self.dtype)
            states[:self._n] = self._word_states
            mask = np.zeros(self.max_words, dtype=np.int8)
            mask[:self._n] = 1
            return {"states": states, "mask": mask, "tags": self._predicted.copy(), "cursor": cursor}
        input_ids, attention = self.encoded.padded_tokens([self.encoded.segments(self.index)[0]],
                                                           (1, self.encoded.max_length))
        word_starts = np.full(self.max_words, -1, dtype=np.int64)
        word_starts[:self._n] = self._word_starts
        return {"input_ids": input_ids[0], "attention_mask": attention[0], "word_starts": word_starts,
                "tags": self._predicted.copy(), "cursor": cursor}

    def _mask(self) -> np.ndarray:
        return self._allowed[self._prev]

    def _describe_invalid(self, action: int) -> str:
        previous = self.tags[self._prev] if self._prev < len(self.tags) else "the sentence start"
        return f"{self.tags[action]} cannot follow {previous}"

    def expert_action(self) -> int:
        """The gold tag of the current word."""
        return int(self._gold[self.index][self._t])

    def _result(self):
        predicted = [self.tags[i] for i in self._predicted[:self._t]]
        gold = self.record.tags[:self._t]
        correct = sum(p == g for p, g in zip(predicted, gold))
        tracker = EntityF1Tracker(self.tags, self._gold[self.index])
        for tag in self._predicted[:self._t]:
            tracker.add(int(tag))
        tracker.finish()
        return predicted, {"entity_f1": tracker.potential, "token_accuracy": correct / self._n}

    def _render_text(self) -> str:
        record = self.record
        columns = []
        for i, word in enumerate(record.tokens):
            predicted = self.tags[self._predicted[i]] if i < self._t else ("?" if i == self._t else "")
            gold = record.tags[i]
            mark = "" if i >= self._t else (" ok" if predicted == gold else " x")
            columns.append((word, predicted + mark, gold))
        widths = [max(len(c) for c in column) for column in columns]
        lines = ["  ".join(c[row].ljust(w) for c, w in zip(columns, widths)) for row in range(3)]
        header = f"NER {self.data.split} #{self.index} ({record.id}), word {min(self._t + 1, self._n)}/{self._n}"
        return "\n".join([header, "words:  " + lines[0], "agent:  " + lines[1], "gold:   " + lines[2]])
