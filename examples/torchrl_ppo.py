"""PPO built from TorchRL's own pieces, on a text-envs env with the action mask in the observation.

What it shows: with ``mask_in_observation=True`` a text-envs env plugs into TorchRL as any
Gymnasium env does. ``torchrl.envs.GymEnv`` makes it (its keyword arguments go to
``gymnasium.make``; ``import text_envs`` registers the ids), and the observation
``Dict({"observations": ..., "action_mask": ...})`` becomes two entries of the tensordict.
TorchRL's ``ActionMask`` transform keeps the action spec's mask up to date, the actor
samples from a ``MaskedCategorical`` that reads ``action_mask``, and the rest is TorchRL's
PPO recipe: a ``Collector`` (TorchRL 0.14's name for ``SyncDataCollector``) gathers
batches from 16 env copies in a ``SerialEnv``, ``GAE`` computes advantages, ``ClipPPOLoss``
is the objective, a replay buffer sampled without replacement serves the minibatches. At
the end the greedy policy plays every example of the test split once through
``text_envs.evaluate``, next to a random masked agent, and both scores are printed;
``main()`` returns them.

Run it (defaults: NER, MiniLM states, 100k env steps):

    python examples/torchrl_ppo.py
    python examples/torchrl_ppo.py --env text_envs/Classify-v0 --timesteps 20000
    python examples/torchrl_ppo.py --encoder tiny --timesteps 2048   # the tests' settings (NER)
    python examples/torchrl_ppo.py --encoder tiny --timesteps 4096 --env text_envs/Classify-v0

The MLPs read the compact observation (a vector), which suits NER, Classify,
ClassifyReading and Summarize; QA's compact observation is one row per token, better read
by a pointer policy (``agents.ActorCritic`` does that).
"""

import argparse
import time
from functools import partial

import torch
from tensordict import TensorDict
from tensordict.nn import TensorDictModule
from torch import nn
from torchrl.collectors import Collector
from torchrl.data import LazyTensorStorage, ReplayBuffer, SamplerWithoutReplacement
from torchrl.envs import (ActionMask, Compose, DTypeCastTransform, ExplorationType, GymEnv, RewardSum, SerialEnv,
                          StepCounter, TransformedEnv, check_env_specs, set_exploration_type)
from torchrl.modules import MLP, MaskedCategorical, ProbabilisticActor, ValueOperator
from torchrl.objectives import ClipPPOLoss
from torchrl.objectives.value import GAE

import text_envs  # registers the text_envs/... ids, and scores policies with text_envs.evaluate
from text_envs.encoders import DEFAULT_ENCODER
from agents.baselines import RandomAgent


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="text_envs/NER-v0", help="env id")
    parser.add_argument("--encoder", default=DEFAULT_ENCODER, help="encoder name or folder ('tiny' for tests)")
    parser.add_argument("--timesteps", type=int, default=100_000, help="total env steps of training")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--num-envs", type=int, default=16, help="env copies the policy acts in at once")
    parser.add_argument("--frames-per-batch", type=int, default=1024, help="env steps collected per PPO update")
    parser.add_argument("--minibatch-size", type=int, default=256)
    parser.add_argument("--update-epochs", type=int, default=10, help="passes over each batch")
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    # NER's token reward is immediate: a short horizon keeps later words' noise out of each advantage
    parser.add_argument("--gamma", type=float, default=0.5)
    parser.add_argument("--gae-lambda", type=float, default=0.9)
    parser.add_argument("--clip-coef", type=float, default=0.2)
    parser.add_argument("--ent-coef", type=float, default=0.0)
    parser.add_argument("--vf-coef", type=float, default=0.5)
    parser.add_argument("--max-grad-norm", type=float, default=0.5)
    parser.add_argument("--hidden", type=int, default=256, help="width of the MLPs")
    return parser.parse_args(argv)


def make_env(env_id, encoder, num_envs, seed, **env_kwargs):
    """``num_envs`` copies of the env, stepped in turn, as TorchRL sees them; their specs checked.

    ``env_kwargs`` go to ``gymnasium.make``, as ``encoder`` and ``mask_in_observation`` do."""
    make_one = partial(GymEnv, env_id, encoder=encoder, mask_in_observation=True, **env_kwargs,
                       categorical_action_encoding=True)  # actions as integers, not one-hot vectors
    # SerialEnv batches the policy's calls; ParallelEnv would step the copies in subprocesses
    env = TransformedEnv(SerialEnv(num_envs, make_one), Compose(
        # the Gymnasium mask is a Box of int8 0/1; MaskedCategorical reads a non-bool mask as a list of
        # valid indices, so it must be bool
        DTypeCastTransform(torch.int8, torch.bool, in_keys=["action_mask"]),
        ActionMask(),  # the action spec's mask follows the observation's: env.rand_step() samples valid actions
        StepCounter(),
        RewardSum(),  # "episode_reward": each episode's return so far, for the log
    ))
    env.set_seed(seed)
    check_env_specs(env)
    return env


def make_actor_critic(env, hidden):
    """An MLP actor with a masked categorical head and an MLP critic, both on ``observations``."""
    obs_size = env.observation_spec["observations"].shape[-1]
    n_actions = env.action_spec.space.n
    logits = TensorDictModule(MLP(in_features=obs_size, out_features=n_actions, num_cells=[hidden, hidden],
                                  activation_class=nn.Tanh),
                              in_keys=["observations"], out_keys=["logits"])
    actor = ProbabilisticActor(logits, spec=env.action_spec, in_keys={"logits": "logits", "mask": "action_mask"},
                               distribution_class=MaskedCategorical, return_log_prob=True)
    critic = ValueOperator(MLP(in_features=obs_size, out_features=1, num_cells=[hidden, hidden],
                               activation_class=nn.Tanh),
                           in_keys=["observations"])
    return actor, critic


def main(argv=None):
    args = parse_args(argv)
    torch.manual_seed(args.seed)
    env = make_env(args.env, args.encoder, args.num_envs, args.seed)
    actor, critic = make_actor_critic(env, args.hidden)

    collector = Collector(env, actor, frames_per_batch=args.frames_per_batch, total_frames=args.timesteps,
                          split_trajs=False,
                          # the policy keeps no state between steps: no InitTracker to add (TorchRL warns otherwise)
                          auto_register_policy_transforms=False)
    buffer = ReplayBuffer(storage=LazyTensorStorage(args.frames_per_batch), sampler=SamplerWithoutReplacement(),
                          batch_size=args.minibatch_size)
    advantage = GAE(gamma=args.gamma, lmbda=args.gae_lambda, value_network=critic, average_gae=True)
    loss_module = ClipPPOLoss(actor, critic, clip_epsilon=args.clip_coef, entropy_coeff=args.ent_coef,
                              critic_coeff=args.vf_coef, loss_critic_type="l2")
    optimizer = torch.optim.Adam(loss_module.parameters(), lr=args.learning_rate, eps=1e-5)
    iterations = max(1, -(-args.timesteps // args.frames_per_batch))  # the collector's, rounding up
    scheduler = torch.optim.lr_scheduler.LinearLR(optimizer, 1.0, 0.0, total_iters=iterations)

    steps, start_time, finished_returns = 0, time.time(), []
    for iteration, batch in enumerate(collector, 1):
        steps += batch.numel()
        done = batch["next", "done"].squeeze(-1)
        finished_returns.extend(batch["next", "episode_reward"][done].squeeze(-1).tolist())
        for _ in range(args.update_epochs):
            advantage(batch)  # recomputed each pass, with the critic as it is now (as TorchRL's tutorial does)
            buffer.extend(batch.reshape(-1))
            for minibatch in buffer:  # a pass over the batch, without replacement
                losses = loss_module(minibatch)
                loss = losses["loss_objective"] + losses["loss_critic"] + losses["loss_entropy"]
                optimizer.zero_grad()
                loss.backward()
                nn.utils.clip_grad_norm_(loss_module.parameters(), args.max_grad_norm)
                optimizer.step()
        scheduler.step()
        if iteration % max(1, iterations // 10) == 0 or iteration == iterations:
            recent = sum(finished_returns[-100:]) / max(1, len(finished_returns[-100:]))
            print(f"step {steps:>7}  episodic_return {recent:6.3f}  loss_critic {losses['loss_critic'].item():.4f}  "
                  f"entropy {losses['entropy'].item():.3f}  SPS {int(steps / (time.time() - start_time))}")

    # evaluation on the test split, on the plain Gymnasium env: the greedy policy, then a random masked one.
    # The TorchRL actor plays there as a function of the observation, which holds the mask too.
    @set_exploration_type(ExplorationType.DETERMINISTIC)  # the distribution's mode: the most likely valid action
    @torch.no_grad()
    def greedy(observation):
        step = TensorDict({"observations": torch.as_tensor(observation["observations"]),
                           "action_mask": torch.as_tensor(observation["action_mask"], dtype=torch.bool)})
        return actor(step)["action"].item()

    scores = {}
    for name, policy in (("ppo", greedy), ("random", RandomAgent(args.seed))):
        scores[name] = text_envs.evaluate(args.env, policy, split="test", encoder=args.encoder,
                                          mask_in_observation=True)
        print(f"eval {name:<6} (test split): " + "  ".join(f"{key} {value:.3f}" if isinstance(value, float)
                                                         else f"{key} {value}" for key, value in scores[name].items()))
    print(f"trained {steps} steps in {time.time() - start_time:.0f} s")
    # last: closing a SerialEnv raises torch's thread count by its number of envs (up to the count at import), as if
    # they were worker processes handing their threads back; evaluation keeps the thread count the caller set
    collector.shutdown()
    return scores


if __name__ == "__main__":
    main()
