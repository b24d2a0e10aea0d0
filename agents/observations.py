"""Task families: how a transformer policy reads each env's ``sequence``/``tokens`` observation.

A family turns one batched observation into *items* (one encoder state per word, token,
sentence, source position or chunk, with a mask of which exist), embeds the per-item and
global episode state, and maps the trunk's hidden states to action logits. It is chosen by
the observation's exact key set (one row per env and mode), and checked against the action
space:

=================  ============================================  ============================  =========================
family (env)       keys (``sequence`` / ``tokens`` mode)         items                         head -> actions
=================  ============================================  ============================  =========================
``ner``            states, mask, tags, cursor /                  words (tokens: the state of   label: the cursor word's
(NER)              input_ids, attention_mask, word_starts,       each word's first subword)    state -> ``Discrete(K)``
                   tags, cursor                                                                tags
``qa``             states, attention_mask, context_mask, start,  tokens                        pointer: one logit per
(QA)               step / input_ids, attention_mask,                                           token, ``Discrete(L)``
                   token_type_ids, context_mask, start, step
``summarize``      states, mask, picked, num_picked /            sentences (tokens: each       pointer per sentence +
(Summarize)        input_ids, attention_mask, picked, num_picked row mean-pooled)              STOP, ``Discrete(S+1)``
``copy``           states, source_mask, generated, length /      source token positions        vocabulary, ``Discrete(V)``:
(SummarizeTokens)  source_ids, source_mask, generated, length                                  sequence: a Linear to V;
                                                                                               tokens: pointer scores
                                                                                               scattered (max) onto the
                                                                                               source ids + an EOS logit
``classify``       states, attention_mask /                      tokens                        label: masked mean ->
(Classify)         input_ids, attention_mask                                                   ``Discrete(labels)``
``reading``        states, mask, num_revealed /                  revealed chunks (tokens:      label: masked mean ->
(ClassifyReading)  input_ids, attention_mask, num_revealed       each row mean-pooled)         READ + labels
=================  ============================================  ============================  =========================

Episode state is embedded generically from the space's bounds: ``item_fields`` (a value
per item: NER tags, QA context flags, Summarize picked flags) and ``marker_fields`` (a
position: NER cursor, QA chosen start) are added to the items; ``global_fields`` (a
counter: QA step, sentences picked, chunks revealed, tokens written) go into a summary
token that the trunk prepends to the items. The copy family adds the bag and the last of
the generated ids there, and in tokens mode flags the source positions already copied.

An env made with ``mask_in_observation=True`` adds the action mask to its observation
(key ``"action_mask"``; a compact ``Box`` observation moves under ``"observations"``).
:func:`split_space` and :func:`split_observation` take it out again: a policy reads the
rest as it reads the same env without the mask, and applies the mask to its logits.
"""

from __future__ import annotations

from typing import ClassVar

import gymnasium as gym
import torch
from torch import nn

from text_envs.envs.base import MASK_KEY, WRAPPED_KEY

MASKED_LOGIT = -1e8  # as sb3-contrib's MaskableCategorical: exp() underflows to exactly 0 in float32


def masked_mean(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of ``x`` [B, N, D] over the items where ``mask`` [B, N] is True (zero where none)."""
    weights = mask.unsqueeze(-1).to(x.dtype)
    return (x * weights).sum(1) / weights.sum(1).clamp(min=1)


def split_space(space: gym.Space) -> gym.Space:
    """The observation space without the action mask a ``mask_in_observation=True`` env adds
    (the space as it is when there is none): what a policy's trunk reads."""
    if not (isinstance(space, gym.spaces.Dict) and MASK_KEY in space.spaces):
        return space
    rest = {key: value for key, value in space.spaces.items() if key != MASK_KEY}
    return rest[WRAPPED_KEY] if set(rest) == {WRAPPED_KEY} else gym.spaces.Dict(rest)


def split_observation(obs):
    """A batched observation without its action mask, and the mask (None if it carries none):
    :func:`split_space` for values."""
    if not (isinstance(obs, dict) and MASK_KEY in obs):
        return obs, None
    rest = {key: value for key, value in obs.items() if key != MASK_KEY}
    return (rest[WRAPPED_KEY] if set(rest) == {WRAPPED_KEY} else rest), obs[MASK_KEY]


def _box_range(space: gym.Space, key: str) -> tuple[int, int]:
    box = space[key]
    return int(box.low.min()), int(box.high.max())


class Family(nn.Module):
    """Base of the families (see the module docstring). Subclasses set the class attributes
    and override :meth:`logits` (and, where needed, :meth:`focus` or :meth:`episode`).

    Args:
        space: the env's ``Dict`` observation space (``sequence`` or ``tokens`` mode), with or
            without the action mask (see :func:`split_space`).
        n_actions: the size of its ``Discrete`` action space.
        d_model: width of the embeddings and of the trunk.
        eos_id: the encoder's EOS (SEP) id; only the copy family's tokens mode uses it.
    """

    name: ClassVar[str]
    sequence_keys: ClassVar[frozenset[str]]
    tokens_keys: ClassVar[frozenset[str]]
    sequence_mask: ClassVar[str] = "attention_mask"  # which items exist, sequence mode
    tokens_layout: ClassVar[str] = "tokens"          # "tokens", "words" or "rows" (see items())
    ids_key: ClassVar[str] = "input_ids"
    ids_mask: ClassVar[str] = "attention_mask"
    item_fields: ClassVar[tuple[str, ...]] = ()
    marker_fields: ClassVar[tuple[str, ...]] = ()
    global_fields: ClassVar[tuple[str, ...]] = ()

    def __init__(self, space: gym.spaces.Dict, n_actions: int, d_model: int, eos_id: int | None = None) -> None:
        super().__init__()
        space = split_space(space)
        self.tokens_mode = set(space.spaces) == self.tokens_keys
        self.n_actions = n_actions
        self.n_items = self._count_items(space)
        self._check_actions(space, n_actions)
        # a value v of a field with bounds [low, high] is row v - low of its embedding
        self._low = {key: _box_range(space, key)[0] for key in self.item_fields + self.global_fields}
        self.item_embeddings = nn.ModuleDict({key: self._embedding(space, key, d_model) for key in self.item_fields})
        self.marker_embeddings = nn.ModuleDict({key: nn.Embedding(2, d_model) for key in self.marker_fields})
        self.global_embeddings = nn.ModuleDict({key: self._embedding(space, key, d_model)
                                                for key in self.global_fields})

    @classmethod
    def matches(cls, space: gym.spaces.Dict) -> bool:
        return set(space.spaces) in (cls.sequence_keys, cls.tokens_keys)

    def _count_items(self, space: gym.spaces.Dict) -> int:
        key = self.ids_key if self.tokens_mode else "states"
        if self.tokens_mode and self.tokens_layout == "words":
            key = "word_starts"
        return int(space[key].shape[0])

    def _check_actions(self, space: gym.spaces.Dict, n_actions: int) -> None:
        """Raise if the action space is not what this family's head produces."""

    @staticmethod
    def _embedding(space: gym.spaces.Dict, key: str, d_model: int) -> nn.Embedding:
        low, high = _box_range(space, key)
        return nn.Embedding(high - low + 1, d_model)

    def _lookup(self, embeddings: nn.ModuleDict, key: str, values: torch.Tensor) -> torch.Tensor:
        embedding = embeddings[key]
        return embedding((values.long() - self._low[key]).clamp(0, embedding.num_embeddings - 1))

    # -- reading ------------------------------------------------------------------------------

    def items(self, obs: dict, encoder=None) -> tuple[torch.Tensor, torch.Tensor]:
        """Item states [B, N, H] (float) and which items exist [B, N] (bool).

        Sequence mode reads the cached states. Tokens mode runs ``encoder`` (a
        :class:`~agents.policies.PretrainedEncoder`): ``"tokens"`` gives one state per
        token (windows of the encoder's length for longer inputs), ``"words"`` gathers the
        state of each word's first subword, ``"rows"`` mean-pools each row of a 2-D id grid.
        """
        if not self.tokens_mode:
            return obs["states"].float(), obs[self.sequence_mask] > 0
        ids, mask = obs[self.ids_key].long(), obs[self.ids_mask] > 0
        if self.tokens_layout == "rows":
            return encoder.rows(ids, mask), mask.any(-1)
        states = encoder.tokens(ids, mask, obs["token_type_ids"].long() if "token_type_ids" in obs else None)
        if self.tokens_layout == "words":
            starts = obs["word_starts"].long()
            index = starts.clamp(min=0).unsqueeze(-1).expand(-1, -1, states.shape[-1])
            return states.gather(1, index), starts >= 0
        return states, mask

    def episode(self, obs: dict, n: int) -> tuple[torch.Tensor | float, torch.Tensor | float]:
        """Embeddings of the episode state: per item [B, n, d] and global [B, d] (0.0 if none)."""
        per_item: torch.Tensor | float = 0.0
        for key in self.item_fields:
            per_item = per_item + self._lookup(self.item_embeddings, key, obs[key][:, :n])
        for key, embedding in self.marker_embeddings.items():
            positions = torch.arange(n, device=obs[key].device)
            per_item = per_item + embedding((positions == obs[key].long().reshape(-1, 1)).long())
        glob: torch.Tensor | float = 0.0
        for key in self.global_fields:
            glob = glob + self._lookup(self.global_embeddings, key, obs[key].reshape(-1))
        return per_item, glob

    # -- heads --------------------------------------------------------------------------------

    def focus(self, items: torch.Tensor, summary: torch.Tensor, obs: dict) -> torch.Tensor:
        """The state [B, d] that heads and critic read next to the items' masked mean: by
        default the output of the summary token (which carries the global episode state)."""
        return summary

    def logits(self, items: torch.Tensor, mask: torch.Tensor, pooled: torch.Tensor, obs: dict) -> torch.Tensor:
        """Action logits [B, n_actions] from the trunk's item states [B, n, d], their mask
        and the pooled state [B, 2d] (masked mean and :meth:`focus`)."""
        raise NotImplementedError


class LabelFamily(Family):
    """One decision from the pooled state: a Linear to the actions."""

    def __init__(self, space: gym.spaces.Dict, n_actions: int, d_model: int, eos_id: int | None = None) -> None:
        super().__init__(space, n_actions, d_model, eos_id)
        self.label = nn.Linear(2 * d_model, n_actions)

    def logits(self, items, mask, pooled, obs):
        return self.label(pooled)


class PointerFamily(Family):
    """One score per item (a shared Linear); items that do not exist get :data:`MASKED_LOGIT`."""

    def __init__(self, space: gym.spaces.Dict, n_actions: int, d_model: int, eos_id: int | None = None) -> None:
        super().__init__(space, n_actions, d_model, eos_id)
        self.pointer = nn.Linear(d_model, 1)

    def scores(self, items: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """[B, n_items]: the trunk may have cut the items to the longest in the batch; pad back."""
        scores = self.pointer(items).squeeze(-1).float().masked_fill(~mask, MASKED_LOGIT)
        return nn.functional.pad(scores, (0, self.n_items - scores.shape[1]), value=MASKED_LOGIT)

    def logits(self, items, mask, pooled, obs):
        return self.scores(items, mask)


class NerFamily(LabelFamily):
    name = "ner"
    sequence_keys = frozenset({"states", "mask", "tags", "cursor"})
    tokens_keys = frozenset({"input_ids", "attention_mask", "word_starts", "tags", "cursor"})
    sequence_mask = "mask"
    tokens_layout = "words"
    item_fields = ("tags",)
    marker_fields = ("cursor",)

    def _check_actions(self, space, n_actions):
        tags = _box_range(space, "tags")[1] + 1
        if n_actions != tags:
            raise ValueError(f"NER observations carry {tags} tags but the action space has {n_actions} actions")

    def focus(self, items, summary, obs):
        """The word being tagged (the cursor clamped into range: at the end it is past the last word)."""
        cursor = obs["cursor"].long().reshape(-1).clamp(0, items.shape[1] - 1)
        return items[torch.arange(items.shape[0], device=items.device), cursor]


class QaFamily(PointerFamily):
    name = "qa"
    sequence_keys = frozenset({"states", "attention_mask", "context_mask", "start", "step"})
    tokens_keys = frozenset({"input_ids", "attention_mask", "token_type_ids", "context_mask", "start", "step"})
    item_fields = ("context_mask",)
    marker_fields = ("start",)
    global_fields = ("step",)

    def _check_actions(self, space, n_actions):
        if n_actions != self.n_items:
            raise ValueError(f"QA points at one of {self.n_items} tokens but the action space has {n_actions} actions")


class SummarizeFamily(PointerFamily):
    name = "summarize"
    sequence_keys = frozenset({"states", "mask", "picked", "num_picked"})
    tokens_keys = frozenset({"input_ids", "attention_mask", "picked", "num_picked"})
    sequence_mask = "mask"
    tokens_layout = "rows"
    item_fields = ("picked",)
    global_fields = ("num_picked",)

    def __init__(self, space: gym.spaces.Dict, n_actions: int, d_model: int, eos_id: int | None = None) -> None:
        super().__init__(space, n_actions, d_model, eos_id)
        self.stop = nn.Linear(2 * d_model, 1)

    def _check_actions(self, space, n_actions):
        if n_actions != self.n_items + 1:
            raise ValueError(f"Summarize has {self.n_items} sentences + STOP but the action space has "
                             f"{n_actions} actions")

    def logits(self, items, mask, pooled, obs):
        return torch.cat([self.scores(items, mask), self.stop(pooled).float()], dim=1)


class CopyFamily(PointerFamily):
    """SummarizeTokens. Sequence mode has no source ids, so a pointer cannot name a vocabulary
    slot: a Linear from the pooled state to the vocabulary scores every id (the env's copy
    mask keeps the valid ones). Tokens mode points: each source position's score goes to
    its id's slot (the max over the positions holding that id), EOS gets its own logit, and
    ids absent from the source get :data:`MASKED_LOGIT`. Either way the only vocabulary-sized
    tensor is the [B, V] float32 of logits."""

    name = "copy"
    sequence_keys = frozenset({"states", "source_mask", "generated", "length"})
    tokens_keys = frozenset({"source_ids", "source_mask", "generated", "length"})
    sequence_mask = "source_mask"
    ids_key = "source_ids"
    ids_mask = "source_mask"
    global_fields = ("length",)

    def __init__(self, space: gym.spaces.Dict, n_actions: int, d_model: int, eos_id: int | None = None) -> None:
        super().__init__(space, n_actions, d_model, eos_id)
        # generated ids are -1 where none yet: row 0 is that padding
        self.generated = nn.Embedding(n_actions + 1, d_model, padding_idx=0)
        self.last = nn.Embedding(n_actions + 1, d_model, padding_idx=0)
        if self.tokens_mode:
            if eos_id is None:
                raise ValueError("the SummarizeTokens tokens-mode head needs the encoder's EOS (SEP) id")
            self.eos_id = eos_id
            self.copied = nn.Embedding(2, d_model)
            self.eos = nn.Linear(2 * d_model, 1)
        else:
            self.vocabulary = nn.Linear(2 * d_model, n_actions)

    def _check_actions(self, space, n_actions):
        vocabulary = _box_range(space, "generated")[1] + 1
        if n_actions != vocabulary:
            raise ValueError(f"SummarizeTokens writes ids of a {vocabulary}-token vocabulary but the action space "
                             f"has {n_actions} actions")

    def episode(self, obs, n):
        per_item, glob = super().episode(obs, n)
        generated = obs["generated"].long() + 1  # 0: not written yet
        written = (generated > 0).unsqueeze(-1).float()
        bag = (self.generated(generated) * written).sum(1) / written.sum(1).clamp(min=1)
        last = generated.gather(1, (obs["length"].long().reshape(-1, 1) - 1).clamp(min=0))
        glob = glob + bag + self.last(last.squeeze(1))
        if self.tokens_mode:
            source = obs["source_ids"][:, :n].long() + 1
            copied = (source.unsqueeze(-1) == generated.unsqueeze(1)).any(-1)
            per_item = per_item + self.copied(copied.long())
        return per_item, glob

    def logits(self, items, mask, pooled, obs):
        if not self.tokens_mode:
            return self.vocabulary(pooled).float()
        # EOS (never a source token: special tokens are dropped) is scattered as one more position
        scores = torch.cat([self.scores(items, mask), self.eos(pooled).float()], dim=1)  # missing: MASKED_LOGIT
        ids = obs["source_ids"].long()
        ids = torch.cat([ids, ids.new_full((len(ids), 1), self.eos_id)], dim=1)
        logits = scores.new_full((len(scores), self.n_actions), MASKED_LOGIT)
        return logits.scatter_reduce(1, ids, scores, reduce="amax")


class ClassifyFamily(LabelFamily):
    name = "classify"
    sequence_keys = frozenset({"states", "attention_mask"})
    tokens_keys = frozenset({"input_ids", "attention_mask"})


class ReadingFamily(LabelFamily):
    name = "reading"
    sequence_keys = frozenset({"states", "mask", "num_revealed"})
    tokens_keys = frozenset({"input_ids", "attention_mask", "num_revealed"})
    sequence_mask = "mask"
    tokens_layout = "rows"
    global_fields = ("num_revealed",)

    def _check_actions(self, space, n_actions):
        if n_actions < 2:
            raise ValueError(f"ClassifyReading needs READ + at least one label, got {n_actions} actions")


FAMILIES: tuple[type[Family], ...] = (NerFamily, QaFamily, SummarizeFamily, CopyFamily, ClassifyFamily,
                                      ReadingFamily)


def family_class(space: gym.Space) -> type[Family]:
    """The family whose key set is exactly ``space``'s (its action mask aside); a ValueError
    naming the keys if none is."""
    space = split_space(space)
    keys = sorted(space.spaces) if isinstance(space, gym.spaces.Dict) else None
    for family in FAMILIES:
        if keys is not None and family.matches(space):
            return family
    known = "; ".join(f"{f.name}: {sorted(f.sequence_keys)} or {sorted(f.tokens_keys)}" for f in FAMILIES)
    seen = f"a Dict with keys {keys}" if keys is not None else repr(space)
    raise ValueError(f"unrecognised observation space: {seen}; a transformer policy reads the Dict spaces of the "
                     f"text-envs sequence/tokens modes ({known})")
