"""How a transformer policy reads a task's ``sequence``/``tokens`` observation: its *family*.

A family turns one batched observation into *items* (one encoder state per word, token,
sentence, source position or chunk, with a mask of which exist), embeds the per-item and
global episode state, and maps the trunk's hidden states to action logits. What each key
of a task's observation is, is written once, in the task's spec
(:class:`~text_envs.tasks.spec.PolicySchema`, ``TaskSpec.schemas``): :func:`schema_of`
finds the registered task mode whose keys the space has, and the schema's ``head`` picks
the family class here:

================  ==========================================================================
head              logits
================  ==========================================================================
``label``         a Linear from the pooled state to the actions (NER tags, labels, READ)
``pointer``       one logit per item, a shared Linear (QA token positions)
``pointer_stop``  one logit per item, then a STOP logit from the pooled state (Summarize)
``copy``          a vocabulary of token ids (SummarizeTokens): in sequence mode a Linear to
                  the vocabulary; in tokens mode each source position's score goes to its
                  id's slot (the max over the positions holding it) and EOS has its own logit
================  ==========================================================================

The trunk reads only the items (``text_keys``); the episode's state is the step head's
(see :mod:`agents.policies`), embedded generically from the space's bounds: the schema's
``item_fields`` (a value per item: NER tags, QA context flags, Summarize picked flags) and
``marker_fields`` (a position: NER cursor, QA chosen start) are added to the trunk's items;
``global_fields`` (a counter: QA step, sentences picked, chunks revealed, tokens written)
to its summary. The head's query is that summary plus the item at the schema's ``focus``
marker (NER's cursor), if it names one. The copy family adds the bag and the last of the
ids written so far (its ``generated`` key) to the summary, and in tokens mode flags the
source positions already copied.

A task of your own gets a transformer policy by declaring its schemas in its spec and
registering it (:func:`text_envs.tasks.register`); nothing here changes.

An env made with ``mask_in_observation=True`` adds the action mask to its observation
(key ``"action_mask"``; a compact ``Box`` observation moves under ``"observations"``).
:func:`split_space` and :func:`split_observation` take it out again: a policy reads the
rest as it reads the same env without the mask, and applies the mask to its logits.
"""

from __future__ import annotations

import gymnasium as gym
import torch
from torch import nn

from text_envs.envs.base import MASK_KEY, WRAPPED_KEY
from text_envs.tasks import SPECS, PolicySchema

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
    """Base of the families (see the module docstring): reads the items and episode state the
    schema names; subclasses are the heads and override :meth:`logits`.

    Args:
        space: the env's ``Dict`` observation space (``sequence`` or ``tokens`` mode), with or
            without the action mask (see :func:`split_space`).
        n_actions: the size of its ``Discrete`` action space.
        d_model: width of the embeddings and of the trunk.
        schema: what each key of ``space`` is (:func:`schema_of` finds it).
        eos_id: the encoder's EOS (SEP) id; only the copy family's tokens mode uses it.
    """

    def __init__(self, space: gym.spaces.Dict, n_actions: int, d_model: int, schema: PolicySchema,
                 eos_id: int | None = None) -> None:
        super().__init__()
        space = split_space(space)
        self.schema = schema
        self.tokens_mode = schema.items != "states"  # token ids: the policy runs its own encoder over them
        self.n_actions = n_actions
        words = self.tokens_mode and schema.tokens_layout == "words"
        self.n_items = int(space["word_starts" if words else schema.items].shape[0])
        #: the text fields this observation has (see :class:`~text_envs.tasks.spec.PolicySchema`)
        self.text_fields = tuple(key for key in schema.text_fields if key in space.spaces)
        #: the keys :meth:`items` and :meth:`text_features` read: the text, the same at every step of an episode
        type_ids = ["token_type_ids"] if self.tokens_mode and "token_type_ids" in space.spaces else []
        self.text_keys = frozenset({schema.items, schema.item_mask, *self.text_fields,
                                    *(["word_starts"] if words else []), *type_ids})
        self._check_actions(space, n_actions)
        # a value v of a field with bounds [low, high] is row v - low of its embedding
        self._low = {key: _box_range(space, key)[0]
                     for key in schema.item_fields + schema.global_fields + self.text_fields}
        self.text_embeddings = nn.ModuleDict({key: self._embedding(space, key, d_model) for key in self.text_fields})
        self.item_embeddings = nn.ModuleDict({key: self._embedding(space, key, d_model)
                                              for key in schema.item_fields})
        self.marker_embeddings = nn.ModuleDict({key: nn.Embedding(2, d_model) for key in schema.marker_fields})
        self.global_embeddings = nn.ModuleDict({key: self._embedding(space, key, d_model)
                                                for key in schema.global_fields})

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
        token (windows of the encoder's length for longer inputs; with ``token_type_ids``
        when the observation has them), ``"words"`` gathers the state of each word's first
        subword (at ``word_starts``), ``"rows"`` mean-pools each row of a 2-D id grid.
        """
        schema = self.schema
        if not self.tokens_mode:
            return obs[schema.items].float(), obs[schema.item_mask] > 0
        ids, mask = obs[schema.items].long(), obs[schema.item_mask] > 0
        if schema.tokens_layout == "rows":
            return encoder.rows(ids, mask), mask.any(-1)
        states = encoder.tokens(ids, mask, obs["token_type_ids"].long() if "token_type_ids" in obs else None)
        if schema.tokens_layout == "words":
            starts = obs["word_starts"].long()
            index = starts.clamp(min=0).unsqueeze(-1).expand(-1, -1, states.shape[-1])
            return states.gather(1, index), starts >= 0
        return states, mask

    def text_features(self, obs: dict, n: int) -> torch.Tensor | float:
        """Embeddings [B, n, d] of the text fields (0.0 if none), added to the trunk's input."""
        features: torch.Tensor | float = 0.0
        for key in self.text_fields:
            features = features + self._lookup(self.text_embeddings, key, obs[key][:, :n])
        return features

    def episode(self, obs: dict, n: int) -> tuple[torch.Tensor | float, torch.Tensor | float]:
        """Embeddings of the episode state: per item [B, n, d] and global [B, d] (0.0 if none)."""
        per_item: torch.Tensor | float = 0.0
        for key in self.schema.item_fields:
            per_item = per_item + self._lookup(self.item_embeddings, key, obs[key][:, :n])
        for key, embedding in self.marker_embeddings.items():
            positions = torch.arange(n, device=obs[key].device)
            per_item = per_item + embedding((positions == obs[key].long().reshape(-1, 1)).long())
        glob: torch.Tensor | float = 0.0
        for key in self.schema.global_fields:
            glob = glob + self._lookup(self.global_embeddings, key, obs[key].reshape(-1))
        return per_item, glob

    # -- heads --------------------------------------------------------------------------------

    def focus(self, items: torch.Tensor, summary: torch.Tensor, obs: dict) -> torch.Tensor:
        """The head's query [B, d]: the summary (the text's summary token with the episode's
        counters), plus the item at the schema's ``focus`` marker where it names one (clamped
        into range: at the end of an NER sentence the cursor is past the last word)."""
        if self.schema.focus is None:
            return summary
        position = obs[self.schema.focus].long().reshape(-1).clamp(0, items.shape[1] - 1)
        return summary + items[torch.arange(items.shape[0], device=items.device), position]

    def logits(self, items: torch.Tensor, mask: torch.Tensor, pooled: torch.Tensor, obs: dict) -> torch.Tensor:
        """Action logits [B, n_actions] from the item states [B, n, d] (the trunk's, with the
        episode's state added), their mask and the pooled state [B, 2d] (the query and what it
        read)."""
        raise NotImplementedError


class LabelFamily(Family):
    """One decision from the pooled state: a Linear to the actions."""

    def __init__(self, space: gym.spaces.Dict, n_actions: int, d_model: int, schema: PolicySchema,
                 eos_id: int | None = None) -> None:
        super().__init__(space, n_actions, d_model, schema, eos_id)
        self.label = nn.Linear(2 * d_model, n_actions)

    def logits(self, items, mask, pooled, obs):
        return self.label(pooled)


class PointerFamily(Family):
    """One score per item (a shared Linear over the item, steered by the pooled state: a
    pointer's choice depends on the episode); items that do not exist get :data:`MASKED_LOGIT`."""

    def __init__(self, space: gym.spaces.Dict, n_actions: int, d_model: int, schema: PolicySchema,
                 eos_id: int | None = None) -> None:
        super().__init__(space, n_actions, d_model, schema, eos_id)
        self.steer = nn.Linear(2 * d_model, d_model)
        self.pointer = nn.Linear(d_model, 1)

    def _check_actions(self, space, n_actions):
        if n_actions != self.n_items:
            raise ValueError(f"a pointer over {self.n_items} items needs {self.n_items} actions, got {n_actions}")

    def scores(self, items: torch.Tensor, mask: torch.Tensor, pooled: torch.Tensor) -> torch.Tensor:
        """[B, n_items]: the trunk may have cut the items to the longest in the batch; pad back."""
        scores = self.pointer(items + self.steer(pooled).unsqueeze(1)).squeeze(-1).float()
        scores = scores.masked_fill(~mask, MASKED_LOGIT)
        return nn.functional.pad(scores, (0, self.n_items - scores.shape[1]), value=MASKED_LOGIT)

    def logits(self, items, mask, pooled, obs):
        return self.scores(items, mask, pooled)


class PointerStopFamily(PointerFamily):
    """A pointer over the items, then one STOP logit from the pooled state."""

    def __init__(self, space: gym.spaces.Dict, n_actions: int, d_model: int, schema: PolicySchema,
                 eos_id: int | None = None) -> None:
        super().__init__(space, n_actions, d_model, schema, eos_id)
        self.stop = nn.Linear(2 * d_model, 1)

    def _check_actions(self, space, n_actions):
        if n_actions != self.n_items + 1:
            raise ValueError(f"a pointer over {self.n_items} items + STOP needs {self.n_items + 1} actions, "
                             f"got {n_actions}")

    def logits(self, items, mask, pooled, obs):
        return torch.cat([self.scores(items, mask, pooled), self.stop(pooled).float()], dim=1)


class CopyFamily(PointerFamily):
    """Token ids as actions. Sequence mode has no source ids, so a pointer cannot name a
    vocabulary slot: a Linear from the pooled state to the vocabulary scores every id (the
    env's copy mask keeps the valid ones). Tokens mode points: each source position's score
    goes to its id's slot (the max over the positions holding that id), EOS gets its own
    logit, and ids absent from the source get :data:`MASKED_LOGIT`. Either way the only
    vocabulary-sized tensor is the [B, V] float32 of logits."""

    def __init__(self, space: gym.spaces.Dict, n_actions: int, d_model: int, schema: PolicySchema,
                 eos_id: int | None = None) -> None:
        super().__init__(space, n_actions, d_model, schema, eos_id)
        # generated ids are -1 where none yet: row 0 is that padding
        self.generated = nn.Embedding(n_actions + 1, d_model, padding_idx=0)
        self.last = nn.Embedding(n_actions + 1, d_model, padding_idx=0)
        if self.tokens_mode:
            if eos_id is None:
                raise ValueError("the copy head's tokens mode needs the encoder's EOS (SEP) id")
            self.eos_id = eos_id
            self.copied = nn.Embedding(2, d_model)
            self.eos = nn.Linear(2 * d_model, 1)
        else:
            self.vocabulary = nn.Linear(2 * d_model, n_actions)

    def _check_actions(self, space, n_actions):
        vocabulary = _box_range(space, "generated")[1] + 1
        if n_actions != vocabulary:
            raise ValueError(f"the observation writes ids of a {vocabulary}-token vocabulary but the action space "
                             f"has {n_actions} actions")

    def episode(self, obs, n):
        per_item, glob = super().episode(obs, n)
        generated = obs["generated"].long() + 1  # 0: not written yet
        written = (generated > 0).unsqueeze(-1).float()
        bag = (self.generated(generated) * written).sum(1) / written.sum(1).clamp(min=1)
        length = obs[self.schema.global_fields[0]].long().reshape(-1, 1)
        last = generated.gather(1, (length - 1).clamp(min=0))
        glob = glob + bag + self.last(last.squeeze(1))
        if self.tokens_mode:
            source = obs[self.schema.items][:, :n].long() + 1
            copied = (source.unsqueeze(-1) == generated.unsqueeze(1)).any(-1)
            per_item = per_item + self.copied(copied.long())
        return per_item, glob

    def logits(self, items, mask, pooled, obs):
        if not self.tokens_mode:
            return self.vocabulary(pooled).float()
        # EOS (never a source token: special tokens are dropped) is scattered as one more position
        scores = torch.cat([self.scores(items, mask, pooled), self.eos(pooled).float()], dim=1)  # missing: MASKED_LOGIT
        ids = obs[self.schema.items].long()
        ids = torch.cat([ids, ids.new_full((len(ids), 1), self.eos_id)], dim=1)
        logits = scores.new_full((len(scores), self.n_actions), MASKED_LOGIT)
        return logits.scatter_reduce(1, ids, scores, reduce="amax")


#: the family class of each :class:`~text_envs.tasks.spec.PolicySchema` ``head``
HEADS: dict[str, type[Family]] = {"label": LabelFamily, "pointer": PointerFamily, "pointer_stop": PointerStopFamily,
                                  "copy": CopyFamily}


def schema_of(space: gym.Space) -> PolicySchema:
    """The schema of the registered task mode whose keys are exactly ``space``'s (its action
    mask aside); a ValueError naming the keys if none is, or if tasks with different schemas
    share them."""
    space = split_space(space)
    keys = frozenset(space.spaces) if isinstance(space, gym.spaces.Dict) else None
    found = {(spec.name, mode): schema for spec in SPECS.values() for mode, schema in spec.schemas.items()
             if keys is not None and schema.matches(keys)}
    if len(set(found.values())) == 1:
        return next(iter(found.values()))
    if found:
        raise ValueError(f"tasks with different schemas share the observation keys {sorted(keys)}: "
                         f"{', '.join(f'{name} ({mode})' for name, mode in found)}; give one of them other keys")
    known = "; ".join(f"{spec.name} {mode}: {sorted(schema.keys)}" for spec in SPECS.values()
                      for mode, schema in spec.schemas.items())
    seen = f"a Dict with keys {sorted(keys)}" if keys is not None else repr(space)
    raise ValueError(f"unrecognised observation space: {seen}; a transformer policy reads the Dict observations "
                     f"of the registered tasks' schemas ({known}); a new task declares its own in its spec")
