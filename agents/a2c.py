"""Advantage Actor-Critic (the synchronous A3C of Mnih et al. 2016), native, with SB3's defaults.

Each update is one gradient step on the whole rollout (``n_steps * n_envs`` samples, 5 x
16 by default) of ``policy_loss + ent_coef * entropy_loss + vf_coef * value_loss``
(:func:`a2c_losses`), the gradient norm clipped to ``max_grad_norm``, with RMSprop
(``alpha=0.99, eps=1e-5``; ``use_rms_prop=False``: Adam), ``gae_lambda=1`` (n-step returns)
and no advantage normalisation by default, as SB3's A2C. Weight initialisation is the
policy's job.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .on_policy import (
    LossTerms,
    OnPolicyAlgorithm,
    explained_variance,
    normalize_advantages,
)
from .schedules import ScheduleLike


def a2c_losses(log_prob: torch.Tensor, advantages: torch.Tensor, values: torch.Tensor, returns: torch.Tensor,
               entropy: torch.Tensor) -> LossTerms:
    """A2C's loss terms: ``policy = -mean(A * log_prob)`` (A is a constant: it carries no
    gradient to the critic), ``value = mean((returns - values)^2)``, ``entropy = -mean(entropy)``."""
    return LossTerms(-(advantages.detach() * log_prob).mean(), F.mse_loss(values, returns), -entropy.mean())


class A2C(OnPolicyAlgorithm):
    """A2C with SB3's hyperparameter names and defaults (see the module docstring and
    :class:`~agents.on_policy.OnPolicyAlgorithm` for the arguments).

    Args:
        use_rms_prop: RMSprop (SB3's and the paper's choice) rather than Adam.
        rms_prop_eps: RMSprop's epsilon.
    """

    def __init__(self, policy, env, *, learning_rate: ScheduleLike = 7e-4, n_steps: int = 5, gamma: float = 0.99,
                 gae_lambda: float = 1.0, ent_coef: float = 0.0, vf_coef: float = 0.5, max_grad_norm: float = 0.5,
                 use_rms_prop: bool = True, rms_prop_eps: float = 1e-5, normalize_advantage: bool = False,
                 use_masks: bool = True, policy_kwargs: dict | None = None, n_envs: int = 16,
                 seed: int | None = None, device: str | torch.device = "auto", mixed_precision: str | bool = "auto",
                 env_kwargs: dict | None = None) -> None:
        self.use_rms_prop, self.rms_prop_eps = use_rms_prop, rms_prop_eps
        super().__init__(policy, env, **self.shared_arguments(locals()))

    def _make_optimizer(self, parameters, learning_rate: float) -> torch.optim.Optimizer:
        if self.use_rms_prop:
            return torch.optim.RMSprop(parameters, lr=learning_rate, alpha=0.99, eps=self.rms_prop_eps,
                                       weight_decay=0, foreach=True)
        # fused: one kernel over every parameter, where torch's default on a CPU loops over them
        return torch.optim.Adam(parameters, lr=learning_rate, eps=1e-5, fused=True)

    def _train(self, progress_remaining: float) -> dict[str, float]:
        learning_rate = self._set_learning_rate(progress_remaining)
        self.policy.train()
        buffer = self.rollout_buffer
        batch = buffer.flat()
        log_prob, entropy, values = self._evaluate(batch)
        advantages = normalize_advantages(batch.advantages) if self.normalize_advantage else batch.advantages
        terms = a2c_losses(log_prob, advantages, values, batch.returns, entropy)
        loss = terms.total(self.ent_coef, self.vf_coef)
        self._gradient_step(loss)
        means = torch.stack([terms.policy, terms.value, terms.entropy, loss]).detach().tolist()
        return {**dict(zip(("policy_loss", "value_loss", "entropy_loss", "loss"), means)),
                "explained_variance": explained_variance(buffer.values, buffer.returns),
                "learning_rate": learning_rate}
