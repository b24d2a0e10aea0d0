"""ActorCritic: every env id x observation mode, masks, the shared trunk, arch choice, bad spaces, fine-tuning."""

import gymnasium as gym
import numpy as np
import pytest
import torch
from torch import nn

from agents.policies import (
    MASKED_LOGIT,
    ActorCritic,
    PretrainedEncoder,
    masked_distribution,
)
from agents.tensors import as_batch
from text_envs.tasks import BUILTIN, OBSERVATION_MODES, spec_of

NAMES = [spec.name for spec in BUILTIN]

ARCH_OF_MODE = {"compact": "mlp", "sequence": "transformer", "tokens": "finetune"}
SMALL = {"d_model": 16, "n_layers": 1, "n_heads": 2, "hidden_sizes": (32,), "encoder": "tiny"}


@pytest.fixture
def make_env(mixed_datasets, tiny):
    def make(name, mode, **kwargs):
        return gym.make(f"text_envs/{name}-v0", dataset=mixed_datasets[spec_of(name).records], encoder=tiny, cache_dir=None,
                        observation=mode, **kwargs)
    return make


def rollout(env, steps=8, seed=0):
    """Observations and masks of a few steps of random valid actions, across episodes."""
    rng = np.random.default_rng(seed)
    observations, masks = [], []
    obs, info = env.reset(seed=seed)
    for _ in range(steps):
        observations.append(obs)
        masks.append(info["action_mask"])
        obs, _, terminated, truncated, info = env.step(int(rng.choice(np.flatnonzero(info["action_mask"]))))
        if terminated or truncated:
            obs, info = env.reset()
    return as_batch(observations, "cpu"), torch.as_tensor(np.stack(masks))


def as_float(obs):
    """What SB3's rollout buffer hands a policy: every observation as float32."""
    return {k: v.float() for k, v in obs.items()} if isinstance(obs, dict) else obs.float()


@pytest.mark.parametrize("mode", OBSERVATION_MODES)
@pytest.mark.parametrize("name", NAMES)
def test_outputs_and_masks_for_every_env_and_mode(make_env, name, mode):
    env = make_env(name, mode)
    torch.manual_seed(0)
    policy = ActorCritic(env.observation_space, env.action_space, **SMALL)
    assert policy.arch == ARCH_OF_MODE[mode]
    obs, masks = rollout(env)
    logits, values = policy(obs, masks)
    assert logits.shape == (len(masks), env.action_space.n) and logits.dtype == torch.float32
    assert values.shape == (len(masks),) and values.dtype == torch.float32
    assert torch.isfinite(values).all()
    assert (logits[~masks] == MASKED_LOGIT).all()
    assert (logits[masks] > MASKED_LOGIT / 2).all()
    samples = masked_distribution(logits).sample((500,))  # [500, B]
    assert masks.gather(1, samples.T).all(), "a masked action was sampled"
    float_logits, float_values = policy(as_float(obs), masks)  # SB3's dtypes give the same answer
    torch.testing.assert_close(float_logits, logits)
    torch.testing.assert_close(float_values, values)


@pytest.mark.parametrize(("name", "mode"), [("NER", "sequence"), ("QA", "tokens"), ("Summarize", "tokens"),
                                            ("SummarizeTokens", "sequence"), ("ClassifyReading", "sequence")])
def test_an_observation_scores_the_same_alone_or_padded_in_a_batch(make_env, name, mode):
    """Padding is masked and the batch is cut to its longest item without changing anything."""
    env = make_env(name, mode)
    policy = ActorCritic(env.observation_space, env.action_space, **SMALL).eval()
    obs, _ = rollout(env, steps=12)
    logits, values = policy(obs)
    for i in (0, 5, 11):
        alone = {k: v[i:i + 1] for k, v in obs.items()}
        one_logits, one_value = policy(alone)
        torch.testing.assert_close(one_logits, logits[i:i + 1], atol=1e-4, rtol=1e-4)
        torch.testing.assert_close(one_value, values[i:i + 1], atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("mode", OBSERVATION_MODES)
def test_actor_and_critic_share_one_trunk(make_env, mode):
    env = make_env("NER", mode)
    policy = ActorCritic(env.observation_space, env.action_space, **SMALL)
    assert sum(isinstance(m, nn.TransformerEncoder) for m in policy.modules()) == (0 if mode == "compact" else 1)
    obs, _ = rollout(env)
    trunk = policy.trunk if mode == "compact" else policy.transformer
    trunk_params = list(trunk.parameters()) + (list(policy.encoder.parameters()) if mode == "tokens" else [])
    for output in (0, 1):  # the actor's loss and the critic's loss both reach every trunk weight
        policy.zero_grad()
        policy(obs)[output].pow(2).sum().backward()
        missing = [p.shape for p in trunk_params if p.grad is None or not p.grad.any()]
        assert not missing, missing


def test_auto_arch_and_explicit_arch_mismatch(make_env):
    spaces = {mode: make_env("Classify", mode) for mode in OBSERVATION_MODES}
    for mode, env in spaces.items():
        assert ActorCritic(env.observation_space, env.action_space, **SMALL).arch == ARCH_OF_MODE[mode]
    env = spaces["sequence"]
    with pytest.raises(ValueError, match="arch='mlp' cannot read"):
        ActorCritic(env.observation_space, env.action_space, arch="mlp")
    with pytest.raises(ValueError, match="needs arch='finetune'"):
        ActorCritic(spaces["tokens"].observation_space, env.action_space, arch="transformer")
    with pytest.raises(ValueError, match="unknown arch"):
        ActorCritic(env.observation_space, env.action_space, arch="lstm")


def test_unrecognised_spaces_raise_errors_naming_what_was_seen():
    box = gym.spaces.Box(0, 1, (4,))
    with pytest.raises(ValueError, match=r"\['bar', 'foo'\]"):
        ActorCritic(gym.spaces.Dict(foo=box, bar=box), gym.spaces.Discrete(3))
    with pytest.raises(ValueError, match=r"\['attention_mask', 'extra', 'states'\]"):
        ActorCritic(gym.spaces.Dict(states=gym.spaces.Box(0, 1, (4, 8)), attention_mask=box, extra=box),
                    gym.spaces.Discrete(3))
    with pytest.raises(ValueError, match="MultiDiscrete"):
        ActorCritic(gym.spaces.MultiDiscrete([3, 3]), gym.spaces.Discrete(3))
    with pytest.raises(ValueError, match=r"shape \(2, 3, 4\)"):
        ActorCritic(gym.spaces.Box(0, 1, (2, 3, 4)), gym.spaces.Discrete(3))
    with pytest.raises(TypeError, match="Discrete action space"):
        ActorCritic(box, gym.spaces.Box(0, 1, (2,)))


def test_action_space_must_match_the_family(make_env):
    env = make_env("QA", "sequence")
    with pytest.raises(ValueError, match="a pointer over 128 items needs 128 actions, got 5"):
        ActorCritic(env.observation_space, gym.spaces.Discrete(5), **SMALL)
    env = make_env("Summarize", "sequence")
    with pytest.raises(ValueError, match=r"items \+ STOP"):
        ActorCritic(env.observation_space, gym.spaces.Discrete(3), **SMALL)


def test_pointer_heads_never_point_past_the_items(make_env):
    """Without a mask too: padding tokens/sentences get MASKED_LOGIT from the policy itself."""
    env = make_env("QA", "sequence")
    policy = ActorCritic(env.observation_space, env.action_space, **SMALL)
    obs, _ = rollout(env)
    logits, _ = policy(obs)
    assert torch.equal(logits > MASKED_LOGIT, obs["attention_mask"] > 0)
    env = make_env("Summarize", "sequence")
    policy = ActorCritic(env.observation_space, env.action_space, **SMALL)
    obs, _ = rollout(env)
    logits, _ = policy(obs)
    assert torch.equal(logits[:, :-1] > MASKED_LOGIT, obs["mask"] > 0)
    assert (logits[:, -1] > MASKED_LOGIT).all()  # STOP


def test_copy_pointer_scores_exactly_the_source_ids_and_eos(make_env):
    env = make_env("SummarizeTokens", "tokens")
    policy = ActorCritic(env.observation_space, env.action_space, **SMALL)
    obs, masks = rollout(env)
    logits, _ = policy(obs)
    for row, (ids, present) in enumerate(zip(obs["source_ids"], obs["source_mask"] > 0)):
        expected = torch.zeros(env.action_space.n, dtype=torch.bool)
        expected[ids[present]] = True
        expected[env.unwrapped.task_spec.eos_id] = True
        assert torch.equal(logits[row] > MASKED_LOGIT, expected)
        # the toy documents fit the source window, so the copy vocabulary is what the pointer can name
        assert torch.equal(expected[masks[row]], masks[row][masks[row]])
    # a source position's score is the logit of its id: two positions holding one id share it (max)
    policy.zero_grad()
    logits[0, obs["source_ids"][0, 0]].backward()
    assert policy.family.pointer.weight.grad.any()


def test_qa_compact_rows_are_scored_by_one_shared_row_mlp(make_env):
    env = make_env("QA", "compact")
    policy = ActorCritic(env.observation_space, env.action_space, hidden_sizes=(16, 16), activation="relu")
    obs, _ = rollout(env, steps=2)
    logits, _ = policy(obs)
    changed = obs.clone()
    changed[:, 7] += 1.0
    new_logits, _ = policy(changed)
    differs = (new_logits != logits).any(0)
    assert differs[7] and differs.sum() == 1
    assert [m.out_features for m in policy.trunk if isinstance(m, nn.Linear)] == [16, 16]
    assert any(isinstance(m, nn.ReLU) for m in policy.trunk)


def test_row_mlp_skips_padding_rows_exactly(make_env):
    """Running the trunk on the non-blank rows only gives what running it on every row gives."""
    env = make_env("QA", "compact")
    policy = ActorCritic(env.observation_space, env.action_space, hidden_sizes=(16,))
    obs, _ = rollout(env, steps=2)
    assert (obs == 0).all(-1).any(), "the test needs padding rows"
    logits, values = policy(obs)
    features = policy.trunk(obs)  # every row, padding included
    torch.testing.assert_close(logits, policy.actor(features).squeeze(-1))
    torch.testing.assert_close(values, policy.critic(features.mean(1)).squeeze(-1))
    logits.sum().backward()
    assert all(p.grad is not None and p.grad.any() for p in policy.trunk.parameters())


def test_finetune_keeps_pretrained_weights_and_has_no_dropout(make_env, tiny):
    env = make_env("NER", "tokens")
    policy = ActorCritic(env.observation_space, env.action_space, **SMALL)
    for name, weight in tiny.model.state_dict().items():
        torch.testing.assert_close(policy.encoder.model.state_dict()[name], weight, rtol=0, atol=0)
    obs, _ = rollout(env)
    policy.train()
    train_logits, train_values = policy(obs)
    policy.eval()
    eval_logits, eval_values = policy(obs)  # so PPO's first ratio is 1
    torch.testing.assert_close(train_logits, eval_logits, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(train_values, eval_values, atol=1e-5, rtol=1e-5)


def test_frozen_encoder_gets_no_gradient(make_env):
    env = make_env("Classify", "tokens")
    policy = ActorCritic(env.observation_space, env.action_space, freeze_encoder=True, **SMALL)
    obs, _ = rollout(env)
    logits, values = policy(obs)
    (logits.sum() + values.sum()).backward()
    assert all(p.grad is None for p in policy.encoder.parameters())
    assert policy.project.weight.grad.any()


def test_finetune_refuses_ids_from_a_bigger_vocabulary(make_env):
    env = make_env("Classify", "tokens")
    space = gym.spaces.Dict({**env.observation_space.spaces,
                             "input_ids": gym.spaces.Box(0, 50_000, (128,), np.int64)})
    with pytest.raises(ValueError, match="329-token vocabulary"):
        ActorCritic(space, env.action_space, **SMALL)


def test_long_inputs_are_encoded_in_windows_of_the_encoder_length():
    encoder = PretrainedEncoder("tiny").eval()
    ids = torch.randint(5, encoder.vocab_size, (2, 300))
    mask = torch.ones_like(ids, dtype=torch.bool)
    mask[1, 200:] = False
    with torch.no_grad():
        states = encoder.tokens(ids, mask)
        first = encoder.model(input_ids=ids[:1, 128:256]).last_hidden_state
        tail = encoder.model(input_ids=ids[1:, 128:200]).last_hidden_state
    assert states.shape == (2, 300, encoder.hidden_size)
    torch.testing.assert_close(states[:1, 128:256], first)
    torch.testing.assert_close(states[1:, 128:200], tail, atol=1e-5, rtol=1e-5)
    assert not states[1, 200:].any()
