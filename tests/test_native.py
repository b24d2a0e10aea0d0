"""The native PPO/A2C trainer: loss terms on fixed tensors, then training on the embedded sets with the tiny encoder."""

import gymnasium as gym
import numpy as np
import pytest
import torch

import text_envs
from agents.a2c import A2C, a2c_losses
from agents.baselines import RandomAgent
from agents.on_policy import LossTerms, explained_variance, normalize_advantages
from agents.ppo import PPO, ppo_losses
from agents.schedules import LinearSchedule
from text_envs.vector import vector_class

TINY = {"encoder": "tiny", "cache_dir": None}

# -- loss terms ---------------------------------------------------------------------------------


def _ppo(new_log_prob, advantages, clip_range=0.2, values=None, old_values=None, returns=None, clip_range_vf=None):
    n = len(new_log_prob)
    zeros = torch.zeros(n)
    return ppo_losses(torch.tensor(new_log_prob).log(), zeros, torch.tensor(advantages),
                      zeros if values is None else torch.tensor(values),
                      zeros if old_values is None else torch.tensor(old_values),
                      zeros if returns is None else torch.tensor(returns), torch.tensor([0.5] * n), clip_range,
                      clip_range_vf)


def test_ppo_policy_loss_unclipped_inside_the_trust_region():
    # old probability 1 (log 0), so the ratio is the new probability: 1.1 and 0.9 are inside 1 +- 0.2
    terms = _ppo([1.1, 0.9], [1.0, -2.0])
    assert terms.policy.item() == pytest.approx(-(1.1 * 1.0 + 0.9 * -2.0) / 2)
    assert terms.clip_fraction.item() == 0.0


def test_ppo_policy_loss_clipped_where_the_ratio_left_the_region_in_the_advantage_direction():
    # A > 0, ratio 1.5: the objective stops growing at 1.2; A < 0, ratio 0.5: it stops at 0.8
    terms = _ppo([1.5, 0.5], [1.0, -1.0])
    assert terms.policy.item() == pytest.approx(-(1.2 * 1.0 + 0.8 * -1.0) / 2)
    assert terms.clip_fraction.item() == 1.0
    # ...but a ratio that moved against the advantage is not clipped (the min keeps the pessimistic side)
    terms = _ppo([0.5, 1.5], [1.0, -1.0])
    assert terms.policy.item() == pytest.approx(-(0.5 * 1.0 + 1.5 * -1.0) / 2)
    assert terms.clip_fraction.item() == 1.0  # still counted as outside the region


def test_ppo_policy_gradient_is_zero_on_clipped_samples():
    log_prob = torch.tensor([1.5]).log().requires_grad_()
    ppo_losses(log_prob, torch.zeros(1), torch.ones(1), torch.zeros(1), torch.zeros(1), torch.zeros(1),
               torch.zeros(1), 0.2).policy.backward()
    assert log_prob.grad.item() == 0.0


def test_ppo_value_loss_with_and_without_clipping():
    values, old_values, returns = [3.0, 0.05], [0.0, 0.0], [1.0, 1.0]
    terms = _ppo([1.0, 1.0], [0.0, 0.0], values=values, old_values=old_values, returns=returns)
    assert terms.value.item() == pytest.approx(((1 - 3.0) ** 2 + (1 - 0.05) ** 2) / 2)
    # clipped: 3.0 may move only 0.1 from 0.0 -> 0.1; 0.05 is inside and stays
    terms = _ppo([1.0, 1.0], [0.0, 0.0], values=values, old_values=old_values, returns=returns, clip_range_vf=0.1)
    assert terms.value.item() == pytest.approx(((1 - 0.1) ** 2 + (1 - 0.05) ** 2) / 2)


def test_entropy_term_is_minus_the_mean_entropy_and_kl_statistics():
    terms = _ppo([1.0, 1.0], [1.0, 1.0])
    assert terms.entropy.item() == -0.5  # minimising it raises the entropy
    assert terms.approx_kl.item() == 0.0
    assert LossTerms(torch.tensor(1.0), torch.tensor(2.0), torch.tensor(-3.0)).total(0.1, 0.5).item() == \
        pytest.approx(1.0 + 0.1 * -3.0 + 0.5 * 2.0)
    # approx_kl = mean((r - 1) - log r) is positive once the policy moved
    ratio = torch.tensor([1.5, 0.5])
    assert _ppo(ratio.tolist(), [0.0, 0.0]).approx_kl.item() == pytest.approx(((ratio - 1) - ratio.log()).mean().item())


def test_a2c_losses():
    log_prob = torch.tensor([-1.0, -2.0], requires_grad=True)
    advantages = torch.tensor([2.0, -1.0], requires_grad=True)
    terms = a2c_losses(log_prob, advantages, torch.tensor([0.0, 1.0]), torch.tensor([1.0, 3.0]), torch.tensor([0.2, 0.4]))
    assert terms.policy.item() == pytest.approx(-(2.0 * -1.0 + -1.0 * -2.0) / 2)
    assert terms.value.item() == pytest.approx((1 + 4) / 2)
    assert terms.entropy.item() == pytest.approx(-0.3)
    terms.policy.backward()
    assert advantages.grad is None  # the advantage is a constant of the policy gradient
    torch.testing.assert_close(log_prob.grad, torch.tensor([-1.0, 0.5]))


def test_advantage_normalisation_and_explained_variance():
    normalized = normalize_advantages(torch.tensor([1.0, 2.0, 3.0, 6.0]))
    assert normalized.mean().item() == pytest.approx(0.0, abs=1e-6)
    assert normalized.std().item() == pytest.approx(1.0, abs=1e-4)
    assert normalize_advantages(torch.tensor([5.0])).item() == 5.0
    returns = torch.tensor([1.0, 2.0, 3.0])
    assert explained_variance(returns, returns) == 1.0
    assert explained_variance(torch.full((3,), 2.0), returns) == pytest.approx(0.0)
    assert np.isnan(explained_variance(torch.zeros(3), torch.ones(3)))


# -- training on the embedded sets -------------------------------------------------------------


@pytest.fixture(scope="module")
def ner_env():
    return gym.make("text_envs/NER-v0", **TINY).unwrapped


@pytest.fixture(scope="module")
def classify_env():
    return gym.make("text_envs/Classify-v0", **TINY).unwrapped


def _vec(base, n=8, seed=0, cls=None):
    return (cls or vector_class(base.task_spec))(base.task_spec, n, options=base.options, device="cpu", seed=seed)


def _score(env_id, policy, metric, episodes=200):
    return text_envs.evaluate(env_id, policy, split="test", episodes=episodes, **TINY)[metric]


@pytest.mark.parametrize("algo, kwargs, steps", [
    (PPO, {"n_steps": 32, "batch_size": 128, "n_epochs": 10, "learning_rate": 1e-3}, 16 * 32 * 10),
    (A2C, {}, 16 * 5 * 300),
])
def test_learning_beats_random_on_classify(classify_env, algo, kwargs, steps):
    model = algo("auto", _vec(classify_env, 16), seed=0, device="cpu", **kwargs).learn(steps)
    random = _score("text_envs/Classify-v0", RandomAgent(0), "accuracy")
    assert random < 0.35  # 4 balanced labels
    assert _score("text_envs/Classify-v0", model, "accuracy") > random + 0.12


def test_ppo_beats_random_on_ner(ner_env):
    model = PPO("auto", _vec(ner_env, 16), seed=0, device="cpu", n_steps=32, batch_size=128,
                learning_rate=1e-3).learn(16 * 32 * 8)
    random = _score("text_envs/NER-v0", RandomAgent(0), "mean_return", episodes=100)
    learned = _score("text_envs/NER-v0", model, "mean_return", episodes=100)
    assert learned > 1.5 * random  # the return is the number of correctly tagged words


def test_env_id_float16_sequence_observations_and_the_transformer_policy():
    """An env id is made with env_kwargs; float16 states stay float16 in the buffer."""
    model = A2C("auto", "text_envs/NER-v0", n_envs=4, seed=0, device="cpu", n_steps=4,
                policy_kwargs={"d_model": 32, "n_layers": 1},
                env_kwargs={**TINY, "observation": "sequence", "dtype": np.float16})
    assert model.policy.arch == "transformer"
    stats = []
    model.learn(32, callback=stats.append)
    assert "states" not in model.rollout_buffer.observations  # the text is stored once per text, not per step
    assert model.rollout_buffer.texts()["states"].dtype == torch.float16
    assert model.num_timesteps == 32 and len(stats) == 2
    assert all(np.isfinite(s["loss"]) for s in stats)


def test_callback_stats_schedule_and_stop(classify_env):
    stats = []
    model = PPO("auto", _vec(classify_env, 4), seed=0, device="cpu", n_steps=8, batch_size=16,
                learning_rate=LinearSchedule(1e-3), clip_range="lin_0.2")
    model.learn(4 * 8 * 4, callback=stats.append)
    assert [s["num_timesteps"] for s in stats] == [32, 64, 96, 128]
    # progress_remaining after each rollout: 3/4, 1/2, 1/4, 0
    assert [s["learning_rate"] for s in stats] == pytest.approx([7.5e-4, 5e-4, 2.5e-4, 0.0])
    assert [s["clip_range"] for s in stats] == pytest.approx([0.15, 0.1, 0.05, 0.0])
    expected = {"policy_loss", "value_loss", "entropy_loss", "loss", "approx_kl", "clip_fraction",
                "explained_variance", "episodes", "episode_return", "episode_length", "fps"}
    assert expected <= set(stats[0])
    assert stats[0]["episodes"] == 32 and stats[0]["episode_length"] == 1.0  # one-step episodes
    calls = []
    model.learn(10_000, callback=lambda s: calls.append(s) or len(calls) < 2)
    assert len(calls) == 2 and model.num_timesteps == 64


def test_target_kl_stops_the_update_early(classify_env):
    stats = []
    PPO("auto", _vec(classify_env, 4), seed=0, device="cpu", n_steps=16, batch_size=16, n_epochs=10,
        learning_rate=1e-2, target_kl=1e-9).learn(4 * 16 * 2, callback=stats.append)
    assert stats[-1]["kl_stop"] and stats[-1]["epochs"] < 10


def test_predict_shapes_and_masks(ner_env):
    model = PPO("auto", _vec(ner_env, 2), seed=0, device="cpu")
    observation, _ = ner_env.reset(seed=0)
    action, state = model.predict(observation)
    assert state is None and isinstance(action, np.ndarray) and action.shape == ()
    batch = np.stack([observation] * 3)
    assert model.predict(batch)[0].shape == (3,)
    only = np.zeros((3, ner_env.action_space.n), dtype=bool)
    only[:, 2] = True
    assert (model.predict(batch, action_masks=only)[0] == 2).all()
    assert model.predict(observation, action_masks=only[0], deterministic=True)[0] == 2
    with pytest.raises(ValueError, match="neither"):
        model.predict(observation[:-1])
    with pytest.raises(ValueError, match="action_masks"):
        model.predict(batch, action_masks=only[:2])


def test_bad_arguments(classify_env):
    env = _vec(classify_env, 2)
    with pytest.raises(ValueError, match="mixed_precision"):
        PPO("auto", env, mixed_precision="fp8")
    with pytest.raises(ValueError, match="env_kwargs"):
        PPO("auto", env, env_kwargs={"encoder": "tiny"})
    with pytest.raises(ValueError, match="policy"):
        PPO("mlp", env)


@pytest.mark.parametrize("algo", [PPO, A2C])
def test_save_load_predict_gives_the_same_actions(classify_env, algo, tmp_path):
    extra = {"batch_size": 16} if algo is PPO else {}
    def schedule(progress):
        return 1e-3 * progress

    model = algo("auto", _vec(classify_env, 4), seed=0, device="cpu", n_steps=8, **extra, learning_rate=schedule)
    model.learn(64)
    path = tmp_path / "model.pt"
    model.save(path)
    assert [p.name for p in tmp_path.iterdir()] == ["model.pt"]  # no temporary file left behind
    with pytest.raises(ValueError, match="learning_rate=.*schedule.*custom_objects"):  # a file holds no code
        algo.load(path, device="cpu")
    loaded = algo.load(path, device="cpu", custom_objects={"learning_rate": schedule})  # no env: enough to predict
    assert loaded.num_timesteps == 64 and loaded.learning_rate(0.5) == pytest.approx(5e-4)
    observations = np.stack([classify_env.reset(seed=i)[0] for i in range(20)])
    np.testing.assert_array_equal(loaded.predict(observations, deterministic=True)[0],
                                  model.predict(observations, deterministic=True)[0])
    for a, b in zip(model.policy.parameters(), loaded.policy.parameters()):
        assert torch.equal(a, b)
    with pytest.raises(RuntimeError, match="env"):
        loaded.learn(8)
    with pytest.raises(ValueError, match="not a"):
        (A2C if algo is PPO else PPO).load(path)


@pytest.mark.parametrize("algo, kwargs", [(PPO, {"n_steps": 8, "batch_size": 12, "n_epochs": 2}), (A2C, {})])
def test_resume_after_save_and_load_matches_an_uninterrupted_run(ner_env, algo, kwargs, tmp_path):
    cls = vector_class(ner_env.task_spec)  # has state_dict(): the episodes in flight are saved and put back
    rollout = 4 * kwargs.get("n_steps", 5)
    settings = {"seed": 3, "device": "cpu", **kwargs}
    uninterrupted = algo("auto", _vec(ner_env, 4, seed=3, cls=cls), **settings).learn(4 * rollout)

    halfway = algo("auto", _vec(ner_env, 4, seed=3, cls=cls), **settings).learn(2 * rollout)
    halfway.save(tmp_path / "half.pt")
    torch.manual_seed(1234)  # whatever happens to the global RNG in between does not matter
    resumed = algo.load(tmp_path / "half.pt", env=_vec(ner_env, 4, seed=99, cls=cls), device="cpu")
    assert resumed.num_timesteps == 2 * rollout
    resumed.learn(2 * rollout, reset_num_timesteps=False)
    assert resumed.num_timesteps == uninterrupted.num_timesteps == 4 * rollout
    for a, b in zip(uninterrupted.policy.parameters(), resumed.policy.parameters()):
        assert torch.equal(a, b)
    for a, b in zip(uninterrupted.optimizer.state_dict()["state"].values(),
                    resumed.optimizer.state_dict()["state"].values()):
        for key in a:
            assert torch.equal(torch.as_tensor(a[key]), torch.as_tensor(b[key]))


def test_without_env_state_a_loaded_model_starts_new_episodes(classify_env, tmp_path):
    """A plain vector env cannot be put back mid-episode: the next learn() resets it instead of acting on a
    stale observation."""
    stateless = type("Stateless", (vector_class(classify_env.task_spec),),
                     {"state_dict": None, "load_state_dict": None})
    model = PPO("auto", _vec(classify_env, 4, cls=stateless), seed=0, device="cpu", n_steps=8, batch_size=16)
    model.learn(32).save(tmp_path / "model.pt")
    resumed = PPO.load(tmp_path / "model.pt", env=_vec(classify_env, 4, seed=1, cls=stateless), device="cpu")
    assert resumed._last_obs is None
    resumed.learn(32, reset_num_timesteps=False)
    assert resumed.num_timesteps == 64
