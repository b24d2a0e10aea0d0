"""What PPO and A2C share: env and policy set-up, rollouts on one device, schedules, predict, save/load.

The native trainer mirrors Stable-Baselines3's ``OnPolicyAlgorithm`` (same hyperparameter
names and meanings, ``.learn()`` / ``.predict()`` / ``.save()`` / ``.load()``), with one
difference that is the point of it: observations come from a
:class:`~text_envs.vector.TorchVectorEnv` as tensors on the training device, and the
rollout buffer, GAE and minibatch shuffling stay there (:mod:`agents.rollout`), so a GPU
run moves nothing through the host but the statistics.

Sampling. Actions are drawn from the masked policy (``use_masks=True``: where
``info["action_mask"]`` is False the logit is ``MASKED_LOGIT``, so the probability is 0)
with a ``torch.Generator`` on the device, seeded by ``seed``; minibatch permutations use
the same generator. Together with the env's own generator and ``torch.manual_seed(seed)``
for the policy's initial weights, a run is reproducible on a CPU (and on a GPU up to the
non-determinism of its kernels).

Mixed precision. ``mixed_precision="auto"`` runs the policy's forward passes under bfloat16
autocast on CUDA and in float32 on the CPU (where bfloat16 is slow); ``True`` forces
bfloat16 autocast on any device, ``False`` turns it off. bfloat16 keeps float32's exponent
range, so no loss scaling is needed; logits and values are cast to float32 before the
distribution, GAE and the losses, and the weights and optimizer state stay float32.

Checkpoints. :meth:`save` writes one file atomically (:func:`text_envs.files.atomic_write`)
holding tensors and plain data only (see :mod:`agents.checkpoints`): a JSON spec (the
algorithm, the hyperparameters with schedules as data, the policy class by name and its
keyword arguments, the spaces), the policy and optimizer state dicts, ``num_timesteps``,
the random states (the sampling generator, and torch's global one, which dropout uses) and,
when the env can give its state (``state_dict()``), the env's state and the last
observation, so that ``load(path, env=env).learn(n, reset_num_timesteps=False)`` continues
exactly where an uninterrupted run would be. :meth:`load` reads it with PyTorch's
restricted unpickler and imports nothing the file names: a policy class or schedule of
your own comes back through ``custom_objects``, as in SB3.
"""

from __future__ import annotations

import inspect
import io
import json
import os
import time
from collections.abc import Callable
from typing import Any, NamedTuple

import gymnasium as gym
import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from text_envs.files import atomic_write

from .checkpoints import (CheckpointError, class_name, read_torch, resolve_policy_class, schedule_from_json,
                          schedule_to_json, space_from_json, space_to_json, to_json)
from .policies import ActorCritic, masked_distribution
from .rollout import RolloutBatch, RolloutBuffer, map_observation
from .schedules import ScheduleLike, as_schedule
from .tensors import as_tensors, resolve_device

CHECKPOINT_FORMAT = "text-envs-native-2"
#: the policy classes a checkpoint may name (others come back through ``load(custom_objects=...)``)
POLICY_CLASSES = {class_name(ActorCritic): ActorCritic}
MIXED_PRECISION = ("auto", True, False)
Callback = Callable[[dict], Any]


class LossTerms(NamedTuple):
    """The loss of one gradient step, term by term (``approx_kl``/``clip_fraction``: PPO only)."""

    policy: torch.Tensor
    value: torch.Tensor
    entropy: torch.Tensor  # minus the mean entropy: minimising it favours exploration
    approx_kl: torch.Tensor | None = None
    clip_fraction: torch.Tensor | None = None

    def total(self, ent_coef: float, vf_coef: float) -> torch.Tensor:
        return self.policy + ent_coef * self.entropy + vf_coef * self.value


def normalize_advantages(advantages: torch.Tensor) -> torch.Tensor:
    """Zero mean, unit variance (a single sample is left as it is: its std is undefined)."""
    if advantages.numel() < 2:
        return advantages
    return (advantages - advantages.mean()) / (advantages.std() + 1e-8)


def explained_variance(values: torch.Tensor, returns: torch.Tensor) -> float:
    """``1 - Var(returns - values) / Var(returns)``: 1 is a perfect critic, 0 one that predicts the mean, NaN if
    the returns do not vary."""
    variance = returns.var()
    return float("nan") if variance.item() == 0 else (1 - (returns - values).var() / variance).item()


class _TextReader:
    """The texts the envs of a rollout read now, as the policy's trunk read them (``text``):
    every env's at the start, then, after each step, those of the envs whose text changed (a
    new episode, or a text that grew: the schema's item mask changed). Each new text also
    goes into the rollout buffer, once."""

    def __init__(self, policy: ActorCritic, buffer: RolloutBuffer, observations: dict, autocast) -> None:
        self.policy, self.buffer, self.autocast = policy, buffer, autocast
        self.mask_key = policy.family.schema.item_mask
        every = torch.arange(buffer.n_envs, device=buffer.device)
        with autocast():
            self.text = policy.text(observations)
        buffer.open_texts(every, observations)

    def update(self, before: dict, after: dict, dones: torch.Tensor) -> None:
        """Read the texts that changed from ``before`` to ``after`` (the observations around a step)."""
        changed = dones | (after[self.mask_key] != before[self.mask_key]).flatten(1).any(1)
        if not changed.any():
            return
        rows = changed.nonzero().squeeze(1)
        with self.autocast():
            new = self.policy.text({key: after[key][rows] for key in self.policy.text_keys})
        self.text = self.text.replace(rows, new)
        self.buffer.open_texts(rows, after)


class OnPolicyAlgorithm:
    """Base of :class:`~agents.ppo.PPO` and :class:`~agents.a2c.A2C` (see the module docstring).

    Args:
        policy: ``"auto"`` (an :class:`~agents.policies.ActorCritic` for the env's spaces,
            built with ``policy_kwargs``), an ``ActorCritic`` subclass (built the same way),
            or a ready instance (then ``policy_kwargs`` must be empty). Weight initialisation
            (orthogonal or not) is the policy's business, not the trainer's.
        env: a :class:`~text_envs.vector.TorchVectorEnv`, or an env id, made with
            ``make_torch_vec_env(env, n_envs, device=device, seed=seed, **env_kwargs)``.
            ``None`` only for a loaded model used to predict.
        learning_rate: a float, ``"lin_<float>"`` or a callable of ``progress_remaining``
            (1 at the start of a ``learn`` call's budget, 0 at its end, as in SB3: a run cut
            into several ``learn`` calls restarts the schedule in each).
        n_steps: steps per env in each rollout (a rollout is ``n_steps * n_envs`` samples).
        gamma, gae_lambda: discount and GAE lambda.
        ent_coef, vf_coef: weights of the entropy bonus and value loss.
        max_grad_norm: the global gradient norm is clipped to this.
        normalize_advantage: standardise advantages (per minibatch for PPO).
        use_masks: act and learn with the env's action masks (without them a masked action is
            an invalid one, which the envs' default ``invalid_action="penalty"`` rule penalises).
        n_envs: parallel envs when ``env`` is an id (a ready env brings its own count).
        seed: seeds the policy's initial weights, the sampling generator and the env.
        device: ``"auto"`` (a ready env's device, else CUDA when there is one), or a device.
        mixed_precision: ``"auto"``, ``True`` or ``False`` (see the module docstring).
        env_kwargs: keyword arguments of the env when ``env`` is an id.
    """

    def __init__(self, policy: str | type[nn.Module] | nn.Module, env, *, learning_rate: ScheduleLike,
                 n_steps: int, gamma: float, gae_lambda: float, ent_coef: float, vf_coef: float,
                 max_grad_norm: float, normalize_advantage: bool, use_masks: bool, policy_kwargs: dict | None,
                 n_envs: int, seed: int | None, device: str | torch.device, mixed_precision: str | bool,
                 env_kwargs: dict | None) -> None:
        if n_steps < 1:
            raise ValueError(f"n_steps must be positive, got {n_steps}")
        if mixed_precision not in MIXED_PRECISION:
            raise ValueError(f"mixed_precision must be one of {MIXED_PRECISION}, got {mixed_precision!r}")
        self.learning_rate, self.n_steps, self.gamma, self.gae_lambda = learning_rate, n_steps, gamma, gae_lambda
        self.ent_coef, self.vf_coef, self.max_grad_norm = ent_coef, vf_coef, max_grad_norm
        self.normalize_advantage, self.use_masks, self.seed = normalize_advantage, use_masks, seed
        self.mixed_precision, self.policy_kwargs = mixed_precision, dict(policy_kwargs or {})
        self.env_kwargs, self.n_envs = dict(env_kwargs or {}), n_envs
        self.lr_schedule = as_schedule(learning_rate, "learning_rate")
        self.device = self._resolve_device(env, device)
        self.env = self._make_env(env)
        if self.env is not None:
            self.n_envs = self.env.num_envs
        if seed is not None:
            torch.manual_seed(seed)
        # the spaces come from the env; a model loaded without one gets them from its checkpoint
        self.observation_space: gym.Space | None = None if self.env is None else self.env.single_observation_space
        self.action_space: gym.spaces.Discrete | None = None if self.env is None else self.env.single_action_space
        self.policy, self.policy_class = self._make_policy(policy)
        self.optimizer = self._make_optimizer(self.policy.parameters(), self.lr_schedule(1.0))
        self.generator = torch.Generator(device=self.device)
        if seed is None:
            self.generator.seed()
        else:
            self.generator.manual_seed(seed)
        self.use_amp = mixed_precision is True or (mixed_precision == "auto" and self.device.type == "cuda")
        self.num_timesteps = 0
        self.rollout_buffer: RolloutBuffer | None = None
        self._last_obs: Any = None
        self._last_masks: torch.Tensor | None = None
        self._env_seeded = False

    # -- set-up --------------------------------------------------------------------------------

    @staticmethod
    def shared_arguments(arguments: dict[str, Any]) -> dict[str, Any]:
        """The keyword arguments of this base class out of a subclass ``__init__``'s ``locals()``:
        subclasses spell out every hyperparameter (with their own defaults, as SB3's do) and
        pass the shared ones on without listing them twice."""
        names = set(inspect.signature(OnPolicyAlgorithm.__init__).parameters) - {"self", "policy", "env"}
        return {name: value for name, value in arguments.items() if name in names}

    @staticmethod
    def _resolve_device(env, device) -> torch.device:
        env_device = getattr(env, "device", None)
        if env_device is None or isinstance(env, str):
            return resolve_device(device)
        if isinstance(device, str) and device == "auto":
            return torch.device(env_device)
        device = resolve_device(device)
        if torch.device(env_device).type != device.type:
            raise ValueError(f"the env runs on {env_device} but device={device}: make the env on the training device")
        return torch.device(env_device)

    def _make_env(self, env):
        if isinstance(env, str):
            from text_envs.vector import make_torch_vec_env
            return make_torch_vec_env(env, self.n_envs, device=self.device, seed=self.seed, **self.env_kwargs)
        if self.env_kwargs and env is not None:
            raise ValueError("env_kwargs apply only when env is an id; this env is already made")
        return env

    def _make_policy(self, policy) -> tuple[nn.Module, type[nn.Module] | None]:
        """The policy on the device, and its class when the trainer built it (None for an instance)."""
        if isinstance(policy, nn.Module):
            if self.policy_kwargs:
                raise ValueError("policy_kwargs apply only when the trainer builds the policy, not to an instance")
            return policy.to(self.device), None
        if self.env is None:
            raise ValueError("an env is needed to build a policy (its spaces); pass env, or a policy instance")
        if isinstance(policy, str):
            if policy != "auto":
                raise ValueError(f"policy must be 'auto', an ActorCritic class or instance, got {policy!r}")
            policy = ActorCritic
        if not (isinstance(policy, type) and issubclass(policy, nn.Module)):
            raise TypeError(f"policy must be 'auto', an ActorCritic class or instance, got {policy!r}")
        module = policy(self.observation_space, self.action_space, **self.policy_kwargs)
        return module.to(self.device), policy

    def _make_optimizer(self, parameters, learning_rate: float) -> torch.optim.Optimizer:
        raise NotImplementedError

    def _train(self, progress_remaining: float) -> dict[str, float]:
        """One update on the full rollout buffer; returns its statistics."""
        raise NotImplementedError

    def _new_buffer(self) -> RolloutBuffer:
        return RolloutBuffer(self.n_steps, self.n_envs, self.observation_space, int(self.action_space.n), self.device,
                             store_masks=self.use_masks,
                             text_keys=self.policy.text_keys if self._reads_text else frozenset())

    @property
    def _reads_text(self) -> bool:
        """Whether the policy reads each text once (an :class:`ActorCritic` over ``Dict``
        observations); any other policy module is called on whole observations."""
        return bool(getattr(self.policy, "reads_text", False))

    def _autocast(self):
        return torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.use_amp)

    def hyperparameters(self) -> dict[str, Any]:
        """The constructor's keyword arguments as given (what :meth:`save` stores; ``device`` excluded)."""
        names = [name for name, parameter in inspect.signature(type(self).__init__).parameters.items()
                 if parameter.kind == parameter.KEYWORD_ONLY and name != "device"]
        return {name: getattr(self, name) for name in names}

    # -- rollouts and updates ---------------------------------------------------------------------

    @torch.no_grad()
    def _collect_rollout(self) -> dict[str, float]:
        """Fill the buffer with ``n_steps`` steps of every env and compute GAE; episode statistics back.

        A read-once policy (:attr:`~agents.policies.ActorCritic.reads_text`) reads each env's
        text once: its trunk runs on every env at the start of the rollout (the weights have
        changed since the last one) and then only on the envs whose text changed, where an
        episode started or its text grew; every step runs the head alone."""
        self.policy.eval()
        if self._last_obs is None:
            self._last_obs, info = self.env.reset(seed=None if self._env_seeded else self.seed)
            self._last_masks, self._env_seeded = info["action_mask"], True
        buffer = self.rollout_buffer = self.rollout_buffer or self._new_buffer()
        buffer.reset()
        reader = _TextReader(self.policy, buffer, self._last_obs, self._autocast) if self._reads_text else None
        episode_returns = torch.zeros(self.n_steps, self.n_envs, device=self.device)
        episode_lengths = torch.zeros(self.n_steps, self.n_envs, dtype=torch.int64, device=self.device)
        for t in range(self.n_steps):
            masks = self._last_masks if self.use_masks else None
            logits, values = self._act(reader, self._last_obs, masks)
            distribution = masked_distribution(logits.float())
            actions = torch.multinomial(distribution.probs, 1, generator=self.generator).squeeze(1)
            buffer.add(self._last_obs, actions, masks, distribution.log_prob(actions), values.float())
            observations, rewards, terminated, truncated, info = self.env.step(actions)
            dones = terminated | truncated
            buffer.add_outcome(rewards, dones, self._truncation_values(info["final_obs"], truncated))
            if reader is not None:
                reader.update(self._last_obs, observations, dones)
            episode_returns[t], episode_lengths[t] = info["episode_return"], info["episode_length"]
            self._last_obs, self._last_masks = observations, info["action_mask"]
            self.num_timesteps += self.n_envs
        last_values = self._act(reader, self._last_obs, None)[1].float()
        buffer.compute_returns_and_advantages(last_values, gamma=self.gamma, gae_lambda=self.gae_lambda)
        finished = buffer.dones
        if not finished.any():
            return {"episodes": 0}
        return {"episodes": int(finished.sum()), "episode_return": episode_returns[finished].mean().item(),
                "episode_length": episode_lengths[finished].float().mean().item()}

    def _act(self, reader: _TextReader | None, observations: Any,
             masks: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        """Logits and values of the envs' current observations (over the texts ``reader`` holds)."""
        with self._autocast():
            if reader is None:
                return self.policy(observations, masks)
            return self.policy.decide(reader.text, observations, masks)

    def _truncation_values(self, final_obs: Any, truncated: torch.Tensor) -> torch.Tensor | None:
        """``V(final_obs)`` where an episode was truncated (a time limit is not the end of the task), else 0.
        Rare, so the policy reads the final observations whole."""
        if not truncated.any():
            return None
        values = self._act(None, final_obs, None)[1].float()
        return torch.where(truncated, values, torch.zeros_like(values))

    def _evaluate(self, batch: RolloutBatch) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Log-probabilities of the batch's actions, entropies and values under the current policy.
        Samples that read one text share one run of the trunk."""
        masks = batch.action_masks if self.use_masks else None
        with self._autocast():
            if batch.texts is None:
                logits, values = self.policy(batch.observations, masks)
            else:
                texts, inverse = torch.unique(batch.texts, return_inverse=True)
                rows = {key: value[texts] for key, value in self.rollout_buffer.texts().items()}
                observations = {**batch.observations, **{key: value[inverse] for key, value in rows.items()
                                                         if key in self.policy.head_text_keys}}
                logits, values = self.policy.decide(self.policy.text(rows).select(inverse), observations, masks)
        distribution = masked_distribution(logits.float())
        return distribution.log_prob(batch.actions), distribution.entropy(), values.float()

    def _gradient_step(self, loss: torch.Tensor) -> None:
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(self.policy.parameters(), self.max_grad_norm)
        self.optimizer.step()

    def _set_learning_rate(self, progress_remaining: float) -> float:
        learning_rate = float(self.lr_schedule(progress_remaining))
        for group in self.optimizer.param_groups:
            group["lr"] = learning_rate
        return learning_rate

    def learn(self, total_timesteps: int, callback: Callback | None = None, progress_bar: bool = False,
              reset_num_timesteps: bool = True):
        """Train for ``total_timesteps`` env steps (whole rollouts, so possibly a little more).

        ``reset_num_timesteps=False`` continues the count (and the schedules' progress) from
        ``num_timesteps``: ``total_timesteps`` more steps. ``callback(stats)`` is called after
        each update with a dict: ``num_timesteps``, ``learning_rate``, the loss terms
        (``policy_loss``, ``value_loss``, ``entropy_loss``, ``loss``; PPO adds ``approx_kl``,
        ``clip_fraction``, ``clip_range``), ``explained_variance``, ``episodes`` finished in
        the rollout and, when there were some, their mean ``episode_return`` and
        ``episode_length``, and ``fps``; returning ``False`` (not ``None``) stops training.
        """
        if self.env is None:
            raise RuntimeError("this model has no env; load it with env=... (or set .env) to train it")
        if total_timesteps < 0:
            raise ValueError(f"total_timesteps must be >= 0, got {total_timesteps}")
        if reset_num_timesteps:
            self.num_timesteps, self._last_obs = 0, None
        start_steps, start_time = self.num_timesteps, time.perf_counter()
        target = self.num_timesteps + total_timesteps
        with tqdm(total=total_timesteps, disable=not progress_bar, unit="step") as bar:
            while self.num_timesteps < target:
                stats = self._collect_rollout()
                progress_remaining = 1.0 - self.num_timesteps / target
                stats.update(self._train(progress_remaining))
                stats["num_timesteps"] = self.num_timesteps
                stats["fps"] = (self.num_timesteps - start_steps) / max(time.perf_counter() - start_time, 1e-9)
                bar.update(self.n_steps * self.n_envs)
                if callback is not None and callback(stats) is False:
                    break
        return self

    # -- inference ----------------------------------------------------------------------------

    def predict(self, observation: Any, action_masks: np.ndarray | None = None,
                deterministic: bool = False) -> tuple[np.ndarray, None]:
        """Actions for numpy observations, with SB3's shape rule: one observation (the space's shape)
        gives one action (a 0-d array), a batch ``[B, ...]`` gives ``B`` actions. ``action_masks``
        (bool, ``[n_actions]`` or ``[B, n_actions]``) forbids actions. The second value is
        SB3's recurrent state, always ``None``."""
        batched = self._is_batched(observation)
        observations = as_tensors(observation, self.device)
        masks = None if action_masks is None else torch.as_tensor(np.asarray(action_masks, dtype=bool),
                                                                 device=self.device)
        if not batched:
            observations = map_observation(lambda value: value[None], observations)
            masks = None if masks is None else masks[None]
        size = next(iter(observations.values())).shape[0] if isinstance(observations, dict) else observations.shape[0]
        if masks is not None and masks.shape != (size, self.action_space.n):
            raise ValueError(f"action_masks must be [{self.action_space.n}] or [B, {self.action_space.n}] like the "
                             f"observation, got {tuple(np.shape(action_masks))}")
        self.policy.eval()
        with torch.no_grad(), self._autocast():
            logits, _ = self.policy(observations, masks)
        distribution = masked_distribution(logits.float())
        actions = distribution.probs.argmax(-1) if deterministic else distribution.sample()
        actions = actions.cpu().numpy()
        return (actions if batched else actions.squeeze(0)), None

    def _is_batched(self, observation: Any) -> bool:
        space = self.observation_space
        if space is None:
            raise RuntimeError("this model has no observation space: give it an env")
        if isinstance(space, gym.spaces.Dict):
            if not isinstance(observation, dict) or set(observation) != set(space.spaces):
                raise ValueError(f"observation must be a dict with keys {sorted(space.spaces)}")
            pairs = [(np.shape(observation[key]), space.spaces[key].shape) for key in space.spaces]
        else:
            pairs = [(np.shape(observation), space.shape)]
        if all(shape == expected for shape, expected in pairs):
            return False
        if all(shape[1:] == expected for shape, expected in pairs) and len({shape[0] for shape, _ in pairs}) == 1:
            return True
        raise ValueError(f"observation shapes {[shape for shape, _ in pairs]} match neither the space "
                         f"{[expected for _, expected in pairs]} nor a batch of it")

    # -- checkpoints ------------------------------------------------------------------------------

    def save(self, path: str | os.PathLike) -> None:
        """Write everything needed to predict and to resume training to ``path``, atomically.

        A policy handed over as an instance is saved by its weights only: loading needs the
        instance back (``custom_objects={"policy": module}``), since a constructor's arguments
        cannot be known from a built module."""
        hyperparameters = self.hyperparameters()
        schedules = {key: schedule_to_json(value) for key, value in hyperparameters.items() if callable(value)}
        spec = {"algorithm": type(self).__name__, "schedules": schedules,
                "hyperparameters": {key: value for key, value in hyperparameters.items() if key not in schedules},
                "policy_class": None if self.policy_class is None else class_name(self.policy_class),
                "observation_space": space_to_json(self.observation_space),
                "action_space": space_to_json(self.action_space)}
        rng = {"torch": torch.get_rng_state(), "generator": self.generator.get_state(),
               "device_type": self.device.type}
        if self.device.type == "cuda":
            rng["cuda"] = torch.cuda.get_rng_state(self.device)
        checkpoint = {"format": CHECKPOINT_FORMAT, "spec": to_json(spec, f"{type(self).__name__}'s settings"),
                      "policy": self.policy.state_dict(), "optimizer": self.optimizer.state_dict(),
                      "num_timesteps": self.num_timesteps, "rng": rng, "env": self._env_checkpoint()}
        buffer = io.BytesIO()
        torch.save(checkpoint, buffer)
        atomic_write(path, buffer.getvalue())

    def _env_checkpoint(self) -> dict | None:
        """The env's state and the observation it is waiting on, when both exist."""
        state_dict = getattr(self.env, "state_dict", None)
        if self._last_obs is None or state_dict is None:
            return None
        return {"state": state_dict(), "last_obs": self._last_obs, "last_masks": self._last_masks}

    @classmethod
    def load(cls, path: str | os.PathLike, env=None, device: str | torch.device = "auto",
             custom_objects: dict[str, Any] | None = None):
        """A model saved by :meth:`save`. With ``env`` it can train on: when the checkpoint holds the
        env's state and ``env`` has ``load_state_dict(state)`` (given the state as saved, on the CPU),
        the env is put back in it and training resumes exactly; otherwise the next ``learn`` starts
        new episodes. ``device="auto"``: ``env``'s device, else CUDA when there is one.

        Nothing in the file is run or imported (see :mod:`agents.checkpoints`). What a file cannot
        hold comes back through ``custom_objects``, as in SB3: ``"policy_class"`` (a policy class
        of your own), ``"policy"`` (a policy that was handed over built: an instance of the same
        architecture, whose weights are then loaded), or a hyperparameter's name (a schedule
        function of your own). A damaged file raises :class:`~agents.checkpoints.CheckpointError`."""
        custom_objects = dict(custom_objects or {})
        checkpoint = read_torch(path)
        if not isinstance(checkpoint, dict) or checkpoint.get("format") != CHECKPOINT_FORMAT:
            found = checkpoint.get("format") if isinstance(checkpoint, dict) else type(checkpoint).__name__
            raise CheckpointError(f"{path} is not a text-envs native checkpoint of format {CHECKPOINT_FORMAT!r} "
                                  f"(found {found!r})")
        try:
            spec = json.loads(checkpoint["spec"])
        except (TypeError, ValueError) as err:
            raise CheckpointError(f"{path}: its spec is not valid JSON ({err})") from err
        if spec["algorithm"] not in {klass.__name__ for klass in cls.__mro__}:
            raise ValueError(f"{path} holds a {spec['algorithm']} model, not a {cls.__name__} one")
        saved = {**spec["hyperparameters"], **{key: schedule_from_json(key, value, custom_objects, path)
                                               for key, value in spec["schedules"].items()}}
        observation_space, action_space = (space_from_json(spec[key]) for key in ("observation_space", "action_space"))
        # the policy is built here, and a ready env is not made from env_kwargs: put both back after
        hyperparameters = dict(saved, policy_kwargs=None, env_kwargs=None if env is not None else saved["env_kwargs"])
        if spec["policy_class"] is None:
            if not isinstance(custom_objects.get("policy"), nn.Module):
                raise CheckpointError(f"{path} was trained with a policy handed over as an instance; pass one of the "
                                      f"same architecture: load(..., custom_objects={{'policy': module}})")
            policy_class, policy = None, custom_objects["policy"]
        else:
            policy_class = resolve_policy_class(spec["policy_class"], POLICY_CLASSES, custom_objects, path)
            policy = policy_class(observation_space, action_space, **saved["policy_kwargs"])
        try:
            policy.load_state_dict(checkpoint["policy"])
        except RuntimeError as err:
            raise CheckpointError(f"{path}: the saved weights do not fit the policy ({err})") from err
        model = cls(policy, env, device=device, **hyperparameters)
        model.policy_class, model.policy_kwargs, model.env_kwargs = (policy_class, saved["policy_kwargs"],
                                                                     saved["env_kwargs"])
        model.observation_space, model.action_space = observation_space, action_space
        model.optimizer.load_state_dict(checkpoint["optimizer"])
        model.num_timesteps = checkpoint["num_timesteps"]
        model._restore_rng(checkpoint["rng"])
        model._env_seeded = True
        saved_env = checkpoint["env"]
        if env is not None and saved_env is not None and hasattr(env, "load_state_dict"):
            env.load_state_dict(saved_env["state"])
            model._last_obs = map_observation(lambda value: value.to(model.device), saved_env["last_obs"])
            model._last_masks = saved_env["last_masks"].to(model.device)
        return model

    def _restore_rng(self, rng: dict) -> None:
        torch.set_rng_state(rng["torch"])
        if rng["device_type"] != self.device.type:  # CUDA and CPU generators have different states
            return
        self.generator.set_state(rng["generator"])
        if "cuda" in rng:
            torch.cuda.set_rng_state(rng["cuda"], self.device)

