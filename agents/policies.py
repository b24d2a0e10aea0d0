"""The actor-critic every trainer here uses: one model, one trunk, an actor head and a critic head.

:class:`ActorCritic` has three architectures, picked from the observation space by
``arch="auto"``:

=================  ===================================  ==============================================
``arch``           observation (mode)                   trunk
=================  ===================================  ==============================================
``"mlp"``          ``Box`` (``compact``)                an MLP (``hidden_sizes``, tanh or relu). A 1-D
                                                        Box gives logits from its output; a 2-D
                                                        ``Box(n_actions, F)`` (QA: one row per action)
                                                        is read row by row by the same MLP, a Linear
                                                        scores each row, the mean of the rows feeds the
                                                        critic.
``"transformer"``  ``Dict`` with ``states``             a **text trunk**: the text's items (encoder
                   (``sequence``)                       states, projected to ``d_model``) + a learned
                                                        position, behind a summary token, through
                                                        ``n_layers`` of ``nn.TransformerEncoder``
                                                        (pre-norm, padding masked); then a **step
                                                        head** (below).
``"finetune"``     ``Dict`` with ``input_ids`` or       the pretrained encoder (``encoder``) run on the
                   ``source_ids`` (``tokens``)          ids and fine-tuned (``freeze_encoder`` to keep
                                                        it), then the ``"transformer"`` trunk and head.
=================  ===================================  ==============================================

**Read once.** The trunk (:meth:`ActorCritic.text`) reads only the text (the observation
keys the task's schema names as items: :attr:`ActorCritic.text_keys`), never the episode's
state, so it runs once per episode: the native trainer keeps each env's text as the trunk
read it and runs only the step head (:meth:`ActorCritic.decide`) at each step, stores each
text once in the rollout, and in the update runs the trunk once per text of a minibatch
(see :mod:`agents.on_policy`). ``forward`` is ``decide(text(obs), obs)``: what SB3 and other
agents call with whole observations, with the same result.

The step head adds the episode's state to the trunk's output: per-item embeddings (NER's
tags so far, QA's context flags, Summarize's picks) to the items, counters (QA's step,
picks, chunks revealed, tokens written) to the summary. Its *query* is the summary plus,
where the schema names a focus (NER: the word being tagged), the item there; the query
reads the items once by attention. Pointer heads score the items steered by the query and
what it read; label heads and the critic read those two. A step costs a read of the
items, linear in the text's length, where the trunk's self-attention is quadratic. How each
task's observation becomes items, episode state and logits (the *family*: the head and the
keys' roles that the task's spec declares, found by the observation's keys and checked
against the action space) is in :mod:`agents.observations`. Actor and critic share every
trunk parameter.

Observations of envs made with ``mask_in_observation=True`` carry the action mask
(``"action_mask"``; a compact Box then sits under ``"observations"``): the trunk reads the
rest, as the same env's observation without the mask, and ``forward`` masks the logits with
it when no explicit ``action_mask`` is given (:func:`~agents.observations.split_observation`).

Inputs may come in any numeric dtype (SB3 stores observations as float32, the native
trainer keeps the env's dtypes): states are cast to float, ids, positions and counters to
long. Dropout defaults to 0 everywhere, the fine-tuned encoder's included, so a policy in
train mode computes what it computed in eval mode during the rollout and PPO's first ratio
is 1 (up to float rounding: PyTorch's eval-mode transformer takes a fused path).
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Sequence
from typing import NamedTuple

import gymnasium as gym
import torch
from torch import nn
from torch.distributions import Categorical

from text_envs.encoders import DEFAULT_ENCODER

from .observations import HEADS, MASKED_LOGIT, Family, masked_mean, schema_of, split_observation, split_space

ARCHS = ("auto", "mlp", "transformer", "finetune")
ACTIVATIONS = {"tanh": nn.Tanh, "relu": nn.ReLU}

__all__ = ["ARCHS", "MASKED_LOGIT", "ActorCritic", "PretrainedEncoder", "Text", "apply_mask", "masked_distribution"]


class Text(NamedTuple):
    """A batch of texts as the trunk read them: the summary token's state [B, d], the items'
    states [B, n, d] and which items exist [B, n]."""

    summary: torch.Tensor
    items: torch.Tensor
    mask: torch.Tensor

    def select(self, index: torch.Tensor) -> Text:
        """The texts of rows ``index`` (a repeated row is one text read by several samples)."""
        return Text(self.summary[index], self.items[index], self.mask[index])

    def replace(self, rows: torch.Tensor, new: Text) -> Text:
        """These texts with rows ``rows`` replaced by ``new`` (out of place; the items padded to
        the wider of the two)."""
        width = max(self.items.shape[1], new.items.shape[1])

        def widen(text: Text) -> Text:
            pad = width - text.items.shape[1]
            return Text(text.summary, nn.functional.pad(text.items, (0, 0, 0, pad)),
                        nn.functional.pad(text.mask, (0, pad), value=False))

        old, new = widen(self), widen(new)
        return Text(old.summary.index_copy(0, rows, new.summary.to(old.summary.dtype)),
                    old.items.index_copy(0, rows, new.items.to(old.items.dtype)),
                    old.mask.index_copy(0, rows, new.mask))


def _attend(query: torch.Tensor, items: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """One dot-product attention read [B, d] of ``items`` [B, n, d] (where ``mask``) by
    ``query`` [B, d], the items serving as keys and values. A null slot of score 0 and value 0
    takes part in the softmax, so a row with no items reads zeros, not NaN."""
    scores = torch.einsum("bnd,bd->bn", items, query) / items.shape[-1] ** 0.5
    scores = torch.cat([scores.new_zeros(len(scores), 1), scores.masked_fill(~mask, float("-inf"))], dim=1)
    weights = torch.softmax(scores.float(), dim=1).to(items.dtype)[:, 1:]
    return torch.einsum("bn,bnd->bd", weights, items)


def apply_mask(logits: torch.Tensor, action_mask: torch.Tensor | None) -> torch.Tensor:
    """``logits`` with :data:`MASKED_LOGIT` where ``action_mask`` is False (None: unchanged)."""
    if action_mask is None:
        return logits
    return logits.masked_fill(~action_mask.to(device=logits.device, dtype=torch.bool), MASKED_LOGIT)


def masked_distribution(logits: torch.Tensor) -> Categorical:
    """The categorical distribution of (already masked) logits: masked actions have probability 0."""
    return Categorical(logits=logits)


def mlp(sizes: Sequence[int], activation: str) -> nn.Sequential:
    """Linear layers of the given sizes, each followed by the activation."""
    layers: list[nn.Module] = []
    for fan_in, fan_out in itertools.pairwise(sizes):
        layers += [nn.Linear(fan_in, fan_out), ACTIVATIONS[activation]()]
    return nn.Sequential(*layers)


def _init_output(layer: nn.Linear, gain: float) -> None:
    """SB3/CleanRL output init: actor gain 0.01 (a near-uniform first policy), critic 1."""
    nn.init.orthogonal_(layer.weight, gain)
    nn.init.zeros_(layer.bias)


class PretrainedEncoder(nn.Module):
    """A :class:`text_envs.encoders.Encoder`'s model as a trainable module, run on padded ids.

    The model is loaded in float32 on the CPU (moved with the policy) and its dropout set to
    ``dropout``. Only rows that hold tokens are run, cut to the longest row in the batch.
    """

    def __init__(self, encoder: str | os.PathLike, *, dropout: float = 0.0, freeze: bool = False) -> None:
        super().__init__()
        from text_envs.encoders import Encoder

        source = Encoder(encoder, device="cpu")
        self.model = source.model.float().train()
        for module in self.model.modules():
            if isinstance(module, nn.Dropout):
                module.p = dropout
        self.hidden_size = source.hidden_size
        self.vocab_size = source.vocab_size
        self.max_length = source.max_length
        self.eos_id = source.tokenizer.sep_token_id
        self.frozen = freeze
        self.model.requires_grad_(not freeze)

    def _run(self, ids: torch.Tensor, mask: torch.Tensor, type_ids: torch.Tensor | None) -> torch.Tensor:
        """States [R, T, H] of the rows of ``ids`` [R, T] (zeros where ``mask`` is False)."""
        states = torch.zeros(*ids.shape, self.hidden_size, device=ids.device)
        rows = mask.any(-1).nonzero().squeeze(-1)
        if len(rows) == 0:
            return states
        length = int(mask[rows].any(0).nonzero()[-1]) + 1  # cut the padding columns no row uses
        inputs = {"input_ids": ids[rows, :length], "attention_mask": mask[rows, :length].long()}
        if type_ids is not None and getattr(self.model.config, "type_vocab_size", 0) > 1:
            inputs["token_type_ids"] = type_ids[rows, :length]
        with torch.set_grad_enabled(torch.is_grad_enabled() and not self.frozen):
            hidden = self.model(**inputs).last_hidden_state
        states[rows, :length] = hidden.float() * inputs["attention_mask"].unsqueeze(-1)  # padding: zero
        return states

    def tokens(self, ids: torch.Tensor, mask: torch.Tensor, type_ids: torch.Tensor | None = None) -> torch.Tensor:
        """One state per token [B, L, H]; inputs longer than the encoder takes (the source of
        SummarizeTokens) are cut into windows of its length, each encoded on its own."""
        batch, length = ids.shape
        window = min(length, self.max_length)
        pad = -length % window
        if pad:
            ids, mask = nn.functional.pad(ids, (0, pad)), nn.functional.pad(mask, (0, pad))
            type_ids = None if type_ids is None else nn.functional.pad(type_ids, (0, pad))
        states = self._run(ids.reshape(-1, window), mask.reshape(-1, window),
                           None if type_ids is None else type_ids.reshape(-1, window))
        return states.reshape(batch, length + pad, -1)[:, :length]

    def rows(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """One mean-pooled vector per row [B, R, H] of ``ids`` [B, R, T] (zeros for empty rows),
        the pooling the env's cached sentence/chunk vectors use."""
        batch, n_rows, length = ids.shape
        states = self._run(ids.reshape(-1, length), mask.reshape(-1, length), None)
        return masked_mean(states.reshape(batch * n_rows, length, -1), mask.reshape(-1, length)).reshape(
            batch, n_rows, -1)


class ActorCritic(nn.Module):
    """A policy (logits) and a value function sharing one trunk; see the module docstring.

    Args:
        observation_space: the env's (single, unbatched) observation space, with or without
            the action mask of ``mask_in_observation=True`` (see the module docstring).
        action_space: its ``Discrete`` action space.
        arch: ``"auto"``, ``"mlp"``, ``"transformer"`` or ``"finetune"``.
        d_model, n_layers, n_heads: the transformer trunk's width, depth and heads.
        dropout: dropout of the transformer trunk and of a fine-tuned encoder.
        encoder: ``"finetune"`` only: the :class:`text_envs.encoders.Encoder` name or path,
            the one the env's ids come from.
        freeze_encoder: ``"finetune"`` only: keep the encoder's weights fixed.
        hidden_sizes, activation: ``"mlp"`` only: hidden layer sizes, ``"tanh"`` or ``"relu"``.
    """

    def __init__(self, observation_space: gym.Space, action_space: gym.spaces.Discrete, *, arch: str = "auto",
                 d_model: int = 128, n_layers: int = 2, n_heads: int = 4, dropout: float = 0.0,
                 encoder: str | os.PathLike = DEFAULT_ENCODER, freeze_encoder: bool = False,
                 hidden_sizes: Sequence[int] = (256, 256), activation: str = "tanh") -> None:
        super().__init__()
        if not isinstance(action_space, gym.spaces.Discrete):
            raise TypeError(f"ActorCritic needs a Discrete action space, got {action_space!r}")
        if activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {activation!r}; expected one of {sorted(ACTIVATIONS)}")
        observation_space = split_space(observation_space)
        self.arch = self._resolve_arch(observation_space, arch)
        self.n_actions = int(action_space.n)
        if self.arch == "mlp":
            self._build_mlp(observation_space, tuple(hidden_sizes), activation)
        else:
            self._build_transformer(observation_space, d_model, n_layers, n_heads, dropout, encoder, freeze_encoder)

    @staticmethod
    def _resolve_arch(space: gym.Space, arch: str) -> str:
        if arch not in ARCHS:
            raise ValueError(f"unknown arch {arch!r}; expected one of {ARCHS}")
        if isinstance(space, gym.spaces.Box):
            found = "mlp"
        else:  # the task's schema says whether the items are cached states or token ids to encode
            found = "transformer" if schema_of(space).items == "states" else "finetune"
        if arch != "auto" and arch != found:
            raise ValueError(f"arch={arch!r} cannot read this observation space ({space!r}); it needs "
                             f"arch={found!r} (or 'auto')")
        return found

    # -- "mlp" -----------------------------------------------------------------------------------

    def _build_mlp(self, space: gym.spaces.Box, hidden_sizes: tuple[int, ...], activation: str) -> None:
        if not hidden_sizes:
            raise ValueError("hidden_sizes must name at least one layer")
        shape = space.shape
        self.rows = len(shape) == 2 and shape[0] == self.n_actions
        if len(shape) != 1 and not self.rows:
            raise ValueError(f"the mlp arch reads a 1-D Box or a 2-D Box with one row per action "
                             f"({self.n_actions}), got shape {shape}")
        self.trunk = mlp((shape[-1], *hidden_sizes), activation)
        self.actor = nn.Linear(hidden_sizes[-1], 1 if self.rows else self.n_actions)
        self.critic = nn.Linear(hidden_sizes[-1], 1)
        _init_output(self.actor, 0.01)
        _init_output(self.critic, 1.0)

    def _forward_mlp(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.rows:  # [B, n_actions, h]: one logit per row, the mean row for the value
            features = self._row_features(obs.float())
            return self.actor(features).squeeze(-1), self.critic(features.mean(1)).squeeze(-1)
        features = self.trunk(obs.float())
        return self.actor(features), self.critic(features).squeeze(-1)

    def _row_features(self, obs: torch.Tensor) -> torch.Tensor:
        """``trunk`` of every row of ``obs`` [B, R, F], running it only on the rows that hold
        something: an all-zero row (padding past a short context or article) always maps to
        ``trunk(0)``. Exact, and it makes the cost follow the text's length rather than the
        padded ``R`` (QA's 384 rows hold about 180 tokens of a SQuAD question and context)."""
        present = obs.ne(0).any(-1)
        blank = self.trunk(obs.new_zeros(obs.shape[-1]))
        features = blank.expand(*present.shape, -1).clone()
        features[present] = self.trunk(obs[present])
        return features

    # -- "transformer" and "finetune" ------------------------------------------------------------

    def _build_transformer(self, space: gym.spaces.Dict, d_model: int, n_layers: int, n_heads: int,
                           dropout: float, encoder: str | os.PathLike, freeze_encoder: bool) -> None:
        schema = schema_of(space)
        self.encoder = PretrainedEncoder(encoder, dropout=dropout, freeze=freeze_encoder) \
            if self.arch == "finetune" else None
        if self.encoder is not None:
            ids = space[schema.items]
            if int(ids.high.max()) >= self.encoder.vocab_size:
                raise ValueError(f"the observation's token ids go up to {int(ids.high.max())} but encoder "
                                 f"{str(encoder)!r} has a {self.encoder.vocab_size}-token vocabulary; pass the "
                                 f"encoder the env was built with")
        self.family: Family = HEADS[schema.head](space, self.n_actions, d_model, schema,
                                                 eos_id=None if self.encoder is None else self.encoder.eos_id)
        in_features = self.encoder.hidden_size if self.encoder is not None else space[schema.items].shape[-1]
        # the trunk: the text alone
        self.project = nn.Linear(in_features, d_model)
        self.summary_token = nn.Parameter(torch.zeros(d_model))
        self.position = nn.Embedding(self.family.n_items + 1, d_model)
        layer = nn.TransformerEncoderLayer(d_model, n_heads, dim_feedforward=4 * d_model, dropout=dropout,
                                           activation="gelu", batch_first=True, norm_first=True)
        self.transformer = nn.TransformerEncoder(layer, n_layers, norm=nn.LayerNorm(d_model),
                                                 enable_nested_tensor=False)
        # the step head: the episode's state, one attention read of the text, the actor and critic heads
        self.read = nn.Linear(d_model, d_model)  # the query, as the attention read's key-space vector
        self.critic = nn.Sequential(nn.Linear(2 * d_model, d_model), nn.Tanh(), nn.Linear(d_model, 1))
        for head in self.family.modules():
            if isinstance(head, nn.Linear):  # a family's Linears are its action heads (and a pointer's steer)
                _init_output(head, 0.01)
        _init_output(self.critic[-1], 1.0)

    @property
    def reads_text(self) -> bool:
        """Whether the policy splits into :meth:`text` (once per episode) and :meth:`decide` (each step)."""
        return self.arch != "mlp"

    @property
    def text_keys(self) -> frozenset[str]:
        """The observation keys that hold the text: the same at every step of an episode, but
        for items that appear (ClassifyReading's revealed chunks)."""
        return self.family.text_keys

    @property
    def head_text_keys(self) -> frozenset[str]:
        """The text keys :meth:`decide` reads too (token ids; not the states, which only the trunk reads)."""
        return self.family.text_keys - ({self.family.schema.items} if not self.family.tokens_mode else set())

    def text(self, obs: dict) -> Text:
        """The trunk: the text's items (encoder states, or the fine-tuned encoder over the ids)
        projected to ``d_model``, with the embeddings of the schema's text fields (word shapes)
        and a learned position, behind a summary token, through the transformer. It reads only
        :attr:`text_keys`, so an episode's text is read once and every step of it reuses the
        result (see :meth:`decide`)."""
        states, mask = self.family.items(obs, self.encoder)
        # cut the padding every text in the batch has (sentences are much shorter than max_words)
        present = mask.any(0).nonzero()
        n = int(present[-1]) + 1 if len(present) else 1
        states, mask = states[:, :n], mask[:, :n]
        summary = self.summary_token.expand(len(states), 1, -1)
        items = self.project(states) + self.family.text_features(obs, n)
        x = torch.cat([summary, items], dim=1) + self.position.weight[: n + 1]
        padding = torch.cat([torch.zeros_like(mask[:, :1]), ~mask], dim=1)
        hidden = self.transformer(x, src_key_padding_mask=padding)
        return Text(hidden[:, 0], hidden[:, 1:], mask)

    def decide(self, text: Text, obs: dict,
               action_mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """The step head: logits and values (as :meth:`forward`) from the text (:meth:`text`, of
        the same episodes, possibly wider than this batch needs) and the episode's state in
        ``obs``. The state's per-item embeddings are added to the items, its counters to the
        summary; the query (the summary, plus the item at the schema's focus) reads the items
        once by attention (:func:`_attend`); the pointer heads score the items steered by
        both, the label heads and the critic read the query and what it read. The cost is
        linear in the text's length, with no matrix product over the items (no self-attention,
        no key or value projection), so a step costs a small fraction of the trunk."""
        obs, carried = split_observation(obs)
        present = text.mask.any(0).nonzero()
        n = int(present[-1]) + 1 if len(present) else 1
        items, mask = text.items[:, :n], text.mask[:, :n]
        per_item, glob = self.family.episode(obs, n)
        items = items + per_item
        query = self.family.focus(items, text.summary + glob, obs)
        context = _attend(self.read(query), items, mask)
        pooled = torch.cat([context, query], dim=-1)
        logits = apply_mask(self.family.logits(items, mask, pooled, obs).float(),
                            carried if action_mask is None else action_mask)
        return logits, self.critic(pooled).squeeze(-1).float()

    # -- both --------------------------------------------------------------------------------------

    def forward(self, obs, action_mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Logits [B, n_actions] (float32; :data:`MASKED_LOGIT` where ``action_mask`` [B,
        n_actions] is False) and values [B] (float32) of a batched observation (a Tensor, or
        a dict of Tensors for Dict spaces). Without ``action_mask``, the mask the observation
        carries (``mask_in_observation=True``) is applied, if any."""
        obs, carried = split_observation(obs)
        if action_mask is None:
            action_mask = carried
        if self.reads_text:
            return self.decide(self.text(obs), obs, action_mask)
        logits, values = self._forward_mlp(obs)
        return apply_mask(logits.float(), action_mask), values.float()
