"""Proximal Policy Optimization (Schulman et al. 2017), native: rollouts, GAE and minibatches on one device.

Each update runs ``n_epochs`` passes over the rollout in shuffled minibatches of
``batch_size`` and minimises ``policy_loss + ent_coef * entropy_loss + vf_coef *
value_loss`` (:func:`ppo_losses`), with the details that make PPO work, all on by default as
in SB3:

* advantages standardised per minibatch (``normalize_advantage``);
* the clipped surrogate objective, ``clip_range`` (a float or a schedule);
* optional value clipping, ``clip_range_vf``: the new value may move at most this far from
  the rollout's value before the squared error is taken (SB3's form; it depends on the
  reward scale, hence off by default);
* the global gradient norm clipped to ``max_grad_norm``;
* the learning rate (and clip range) annealed by a schedule of ``progress_remaining``
  (e.g. ``learning_rate="lin_3e-4"``);
* KL early stopping: with ``target_kl``, the update stops (before the step) at the first
  minibatch whose ``approx_kl = mean((ratio - 1) - log ratio)`` (an unbiased, always
  positive estimator of KL(old || new)) exceeds ``1.5 * target_kl``, as in SB3;
* statistics: ``clip_fraction`` (share of samples whose ratio left ``1 +- clip_range``) and
  the critic's ``explained_variance``.

Orthogonal initialisation is the policy's job, not the trainer's
(:class:`~agents.policies.ActorCritic` decides, and keeps a pretrained encoder as it is).
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
from .schedules import ScheduleLike, as_schedule


def ppo_losses(new_log_prob: torch.Tensor, old_log_prob: torch.Tensor, advantages: torch.Tensor,
               values: torch.Tensor, old_values: torch.Tensor, returns: torch.Tensor, entropy: torch.Tensor,
               clip_range: float, clip_range_vf: float | None = None) -> LossTerms:
    """PPO's loss terms on one minibatch (advantages already normalised if they are to be).

    ``policy``: ``-mean(min(ratio * A, clip(ratio, 1 - eps, 1 + eps) * A))`` with
    ``ratio = exp(new_log_prob - old_log_prob)``; ``value``: ``mean((returns - v)^2)`` where
    ``v`` is ``values``, or with ``clip_range_vf`` ``old_values + clip(values - old_values,
    -clip_range_vf, clip_range_vf)``; ``entropy``: ``-mean(entropy)``. ``approx_kl`` and
    ``clip_fraction`` are statistics (no gradient).
    """
    log_ratio = new_log_prob - old_log_prob
    ratio = torch.exp(log_ratio)
    unclipped = advantages * ratio
    clipped = advantages * torch.clamp(ratio, 1 - clip_range, 1 + clip_range)
    policy_loss = -torch.min(unclipped, clipped).mean()
    if clip_range_vf is not None:
        values = old_values + torch.clamp(values - old_values, -clip_range_vf, clip_range_vf)
    with torch.no_grad():
        approx_kl = ((ratio - 1) - log_ratio).mean()
        clip_fraction = ((ratio - 1).abs() > clip_range).float().mean()
    return LossTerms(policy_loss, F.mse_loss(values, returns), -entropy.mean(), approx_kl, clip_fraction)


class PPO(OnPolicyAlgorithm):
    """PPO with SB3's hyperparameter names and defaults (see the module docstring and
    :class:`~agents.on_policy.OnPolicyAlgorithm` for the shared arguments). Adam with
    ``eps=1e-5``, SB3's choice for its actor-critic policies.

    Args:
        batch_size: minibatch size (the last minibatch of an epoch may be smaller).
        n_epochs: passes over each rollout.
        clip_range, clip_range_vf: see :func:`ppo_losses`; floats or schedules.
        target_kl: KL early-stopping threshold (None: off).
    """

    def __init__(self, policy, env, *, learning_rate: ScheduleLike = 3e-4, n_steps: int = 128,
                 batch_size: int = 256, n_epochs: int = 4, gamma: float = 0.99, gae_lambda: float = 0.95,
                 clip_range: ScheduleLike = 0.2, clip_range_vf: ScheduleLike | None = None,
                 normalize_advantage: bool = True, ent_coef: float = 0.0, vf_coef: float = 0.5,
                 max_grad_norm: float = 0.5, target_kl: float | None = None, use_masks: bool = True,
                 policy_kwargs: dict | None = None, n_envs: int = 16, seed: int | None = None,
                 device: str | torch.device = "auto", mixed_precision: str | bool = "auto",
                 env_kwargs: dict | None = None) -> None:
        if batch_size < 1 or n_epochs < 1:
            raise ValueError(f"batch_size and n_epochs must be positive, got {batch_size} and {n_epochs}")
        self.batch_size, self.n_epochs, self.target_kl = batch_size, n_epochs, target_kl
        self.clip_range, self.clip_range_vf = clip_range, clip_range_vf
        self.clip_range_schedule = as_schedule(clip_range, "clip_range")
        self.clip_range_vf_schedule = None if clip_range_vf is None else as_schedule(clip_range_vf, "clip_range_vf")
        super().__init__(policy, env, **self.shared_arguments(locals()))

    def _make_optimizer(self, parameters, learning_rate: float) -> torch.optim.Optimizer:
        # fused: one kernel over every parameter, where torch's default on a CPU loops over them
        return torch.optim.Adam(parameters, lr=learning_rate, eps=1e-5, fused=True)

    def _train(self, progress_remaining: float) -> dict[str, float]:
        learning_rate = self._set_learning_rate(progress_remaining)
        clip_range = float(self.clip_range_schedule(progress_remaining))
        clip_range_vf = None if self.clip_range_vf_schedule is None else float(
            self.clip_range_vf_schedule(progress_remaining))
        self.policy.train()
        buffer = self.rollout_buffer
        history: list[torch.Tensor] = []
        epochs, stopped = 0, False
        for _ in range(self.n_epochs):
            epochs += 1
            for batch in buffer.minibatches(self.batch_size, self.generator):
                new_log_prob, entropy, values = self._evaluate(batch)
                advantages = normalize_advantages(batch.advantages) if self.normalize_advantage else batch.advantages
                terms = ppo_losses(new_log_prob, batch.old_log_probs, advantages, values, batch.old_values,
                                   batch.returns, entropy, clip_range, clip_range_vf)
                loss = terms.total(self.ent_coef, self.vf_coef)
                history.append(torch.stack([terms.policy, terms.value, terms.entropy, loss, terms.approx_kl,
                                            terms.clip_fraction]).detach())
                if self.target_kl is not None and terms.approx_kl.item() > 1.5 * self.target_kl:
                    stopped = True
                    break
                self._gradient_step(loss)
            if stopped:
                break
        means = torch.stack(history).mean(0).tolist()
        names = ("policy_loss", "value_loss", "entropy_loss", "loss", "approx_kl", "clip_fraction")
        return {**dict(zip(names, means)), "explained_variance": explained_variance(buffer.values, buffer.returns),
                "learning_rate": learning_rate, "clip_range": clip_range, "epochs": epochs, "kl_stop": stopped}
