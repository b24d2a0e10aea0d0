"""Agents for text-envs: transformer actor-critic policies, their trainers and baselines.

* :class:`ActorCritic` (:mod:`agents.policies`): one torch module, shared trunk, actor and
  critic heads, for every env id and observation mode.
* :class:`PPO`, :class:`A2C` (:mod:`agents.ppo`, :mod:`agents.a2c`): the native,
  SB3-style trainers whose rollouts, GAE and minibatches stay on one device, stepping
  :class:`text_envs.vector.TorchVectorEnv`.
* :mod:`agents.sb3`: ``TransformerPolicy`` / ``MaskableTransformerPolicy`` for
  Stable-Baselines3 and sb3-contrib (imported from there, so that importing ``agents``
  does not import SB3).
* :mod:`agents.baselines`: random, heuristic and supervised reference agents.
* :mod:`agents.train`: the run folder behind ``text-envs train``.
"""

from .a2c import A2C
from .policies import ActorCritic
from .ppo import PPO

__all__ = ["A2C", "PPO", "ActorCritic"]
