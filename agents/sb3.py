"""Stable-Baselines3 policies that wrap one :class:`~agents.policies.ActorCritic`.

``PPO(TransformerPolicy, env)``, ``A2C(TransformerPolicy, env)`` and
``MaskablePPO(MaskableTransformerPolicy, env)`` train it on every text-envs id and
observation mode; ``policy_kwargs`` go to :class:`ActorCritic` (``arch``, ``d_model``,
``n_layers``, ``encoder``, ...), except SB3's own ``optimizer_class``/``optimizer_kwargs``.
Nothing in SB3 is patched; the policies override what reads the network
(``forward``, ``evaluate_actions``, ``get_distribution``, ``predict_values``, ``_predict``)
and build the :class:`ActorCritic` in ``_build`` instead of SB3's MLP extractor.

SB3's traps, and what is done about them:

* Orthogonal init: SB3's ``ortho_init`` re-initialises every Linear of the policy,
  which would wipe a pretrained encoder. It is always off here; :class:`ActorCritic`
  initialises its own output layers as SB3 would (actor gain 0.01, critic 1).
* Train/eval mode: SB3 collects rollouts in eval mode and trains in train mode. Dropout
  defaults to 0 (the encoder's too), so both compute the same thing and PPO's first
  ratio is 1 (up to float rounding); with ``dropout > 0`` it is not.
* Observation dtypes: SB3's rollout buffers store every observation as float32 (it
  would one-hot a MultiDiscrete; text-envs uses Box ids for that reason).
  :class:`ActorCritic` casts ids, masks and positions back to long/bool.
* Masks: MaskablePPO stores each step's action mask as float32, ``n_steps * n_envs *
  n_actions`` numbers: SummarizeTokens' vocabulary-sized masks (30,522 for MiniLM) cost
  about 122 KB a step there, 250 MB for 2,048 steps of one env. The native trainer
  (:mod:`agents.ppo`) stores bool masks.
"""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np
import torch
from sb3_contrib.common.maskable.policies import MaskableActorCriticPolicy
from stable_baselines3.common.distributions import Distribution
from stable_baselines3.common.policies import ActorCriticPolicy

from .policies import ActorCritic, apply_mask

# the keyword arguments of ActorCritic; policy_kwargs outside these go to SB3
ACTOR_CRITIC_KWARGS = frozenset(name for name, parameter in inspect.signature(ActorCritic).parameters.items()
                                if parameter.kind is inspect.Parameter.KEYWORD_ONLY)
# SB3 ActorCriticPolicy arguments that would silently do nothing here
_IGNORED_SB3_KWARGS = ("net_arch", "activation_fn", "features_extractor_class", "features_extractor_kwargs",
                       "share_features_extractor")


class _ActorCriticMixin:
    """What both SB3 policies share: build one :class:`ActorCritic`, read it for actions and values."""

    def __init__(self, observation_space, action_space, lr_schedule, **kwargs: Any) -> None:
        given = sorted(set(kwargs) & set(_IGNORED_SB3_KWARGS))
        if given:
            raise TypeError(f"{type(self).__name__} builds an ActorCritic, so {given} would be ignored; its "
                            f"arguments are {sorted(ACTOR_CRITIC_KWARGS)}")
        if kwargs.get("ortho_init"):
            raise ValueError("ortho_init=True would re-initialise every Linear, the pretrained encoder's included; "
                             "ActorCritic initialises its own output layers")
        if kwargs.get("use_sde"):
            raise ValueError("use_sde is for continuous actions; text-envs actions are Discrete")
        self.actor_critic_kwargs = {key: kwargs.pop(key) for key in list(kwargs) if key in ACTOR_CRITIC_KWARGS}
        kwargs["ortho_init"] = False
        super().__init__(observation_space, action_space, lr_schedule, **kwargs)

    def _build(self, lr_schedule) -> None:
        self.actor_critic = ActorCritic(self.observation_space, self.action_space, **self.actor_critic_kwargs)
        self.optimizer = self.optimizer_class(self.parameters(), lr=lr_schedule(1), **self.optimizer_kwargs)

    def _get_constructor_parameters(self) -> dict[str, Any]:
        data = super()._get_constructor_parameters()
        for key in (*_IGNORED_SB3_KWARGS, "ortho_init"):
            data.pop(key, None)
        return {**data, **self.actor_critic_kwargs}

    def _distribution(self, logits: torch.Tensor, action_masks) -> Distribution:
        raise NotImplementedError

    def _evaluate(self, obs, action_masks=None) -> tuple[Distribution, torch.Tensor]:
        logits, values = self.actor_critic(obs)
        return self._distribution(logits, action_masks), values.unsqueeze(-1)  # SB3 wants values [B, 1]

    def forward(self, obs, deterministic: bool = False, action_masks=None):
        distribution, values = self._evaluate(obs, action_masks)
        actions = distribution.get_actions(deterministic=deterministic)
        return actions, values, distribution.log_prob(actions)

    def evaluate_actions(self, obs, actions: torch.Tensor, action_masks=None):
        distribution, values = self._evaluate(obs, action_masks)
        return values, distribution.log_prob(actions), distribution.entropy()

    def get_distribution(self, obs, action_masks=None) -> Distribution:
        return self._evaluate(obs, action_masks)[0]

    def predict_values(self, obs) -> torch.Tensor:
        return self.actor_critic(obs)[1].unsqueeze(-1)

    def _predict(self, observation, deterministic: bool = False, action_masks=None) -> torch.Tensor:
        return self.get_distribution(observation, action_masks).get_actions(deterministic=deterministic)


def _mask_tensor(action_masks, logits: torch.Tensor) -> torch.Tensor:
    return torch.as_tensor(np.asarray(action_masks) if not torch.is_tensor(action_masks) else action_masks,
                           device=logits.device).reshape(logits.shape).bool()


class TransformerPolicy(_ActorCriticMixin, ActorCriticPolicy):
    """An :class:`ActorCritic` as an SB3 policy, for ``PPO`` and ``A2C``.

    Plain PPO and A2C never pass action masks to the policy, so it cannot see them: under
    the envs' default ``invalid_action="penalty"`` rule a masked action costs a penalty and
    does nothing (not ``"error"``, which raises), or use :class:`MaskableTransformerPolicy`
    with ``MaskablePPO``.
    ``predict(..., action_masks=...)`` is not part of SB3's API for this policy either.
    """

    def _distribution(self, logits, action_masks):
        if action_masks is not None:
            logits = apply_mask(logits, _mask_tensor(action_masks, logits))
        return self.action_dist.proba_distribution(action_logits=logits)


class MaskableTransformerPolicy(_ActorCriticMixin, MaskableActorCriticPolicy):
    """An :class:`ActorCritic` as an sb3-contrib policy, for ``MaskablePPO``: masked actions
    get probability 0 (sb3-contrib's ``MaskableCategorical``, whose entropy counts only
    the valid actions). See the module docstring for the memory its float32 masks take."""

    def _distribution(self, logits, action_masks):
        distribution = self.action_dist.proba_distribution(action_logits=logits)
        if action_masks is not None:
            distribution.apply_masking(action_masks)
        return distribution
