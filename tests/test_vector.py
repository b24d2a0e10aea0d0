"""The torch vector envs agree step for step with the Gymnasium envs they vectorise.

Each case steps a :class:`~text_envs.vector.TorchVectorEnv` with random actions sampled
from its masks, then replays every sub-env's episodes (``info["index"]``) with the same
actions in a Gymnasium env and compares observations, masks, rewards, terminations,
final observations and episode returns.
"""

import gymnasium as gym
import numpy as np
import pytest
import torch

from text_envs.envs.base import InvalidActionError
from text_envs.tasks import BUILTIN, OBSERVATION_MODES, env_names
from text_envs.vector import TorchVectorEnv, make_torch_vec_env

def _name(spec) -> str:
    return spec.env_id().split("/", 1)[1]


# every task x reward x observation mode its spec declares
CASES = [(_name(spec), {"reward": reward} if reward else {}, mode) for spec in BUILTIN
         for reward in spec.rewards or (None,) for mode in spec.observations]
# the mask in the observation: a label env and a pointer env (whose compact Box moves under "observations")
CASES += [(name, {"mask_in_observation": True}, mode) for name in ("NER-v0", "QA-v0") for mode in OBSERVATION_MODES]
# NER's word shapes (an option that adds to every observation mode)
CASES += [("NER-v0", {"word_shape": True}, mode) for mode in OBSERVATION_MODES]
IDS = [f"{name}-{mode}-{'-'.join(v if isinstance(v, str) else k for k, v in options.items())}"
       for name, options, mode in CASES]

def host(value):
    """A tensor or dict of tensors as numpy (the Gymnasium env's form)."""
    if isinstance(value, dict):
        return {key: tensor.cpu().numpy() for key, tensor in value.items()}
    return value.cpu().numpy()


def select(value, row):
    return {key: array[row] for key, array in value.items()} if isinstance(value, dict) else value[row]


def assert_observation(expected, actual, space: gym.Space):
    """``actual`` (one sub-env's) equals the Gymnasium env's ``expected``, in the space's dtypes."""
    if isinstance(space, gym.spaces.Dict):
        assert set(actual) == set(expected) == set(space.spaces)
        for key in space.spaces:
            assert_observation(expected[key], actual[key], space.spaces[key])
        return
    assert actual.dtype == space.dtype and actual.shape == space.shape == expected.shape
    if np.issubdtype(space.dtype, np.floating):
        tolerance = 1e-3 if space.dtype == np.float16 else 1e-5
        np.testing.assert_allclose(actual, expected, rtol=tolerance, atol=tolerance)
    else:
        np.testing.assert_array_equal(actual, expected)


def run(venv: TorchVectorEnv, steps: int, seed: int = 0, invalid_rate: float = 0.0):
    """Step ``venv`` with random actions from its masks (a fraction ``invalid_rate`` of them
    uniform over the action space, so mostly masked); returns what it gave, on the host."""
    generator = torch.Generator().manual_seed(seed)
    observation, info = venv.reset(seed=seed)
    start = {"obs": host(observation), "mask": host(info["action_mask"]), "index": host(info["index"])}
    trace = []
    for _ in range(steps):
        actions = torch.multinomial(info["action_mask"].cpu().float(), 1, generator=generator)[:, 0]
        if invalid_rate:
            wild = torch.rand(venv.num_envs, generator=generator) < invalid_rate
            actions = torch.where(wild, torch.randint(venv.num_actions, (venv.num_envs,), generator=generator),
                                  actions)
        observation, reward, terminated, truncated, info = venv.step(actions.to(venv.device))
        assert reward.dtype == torch.float32 and terminated.dtype == truncated.dtype == torch.bool
        assert info["action_mask"].dtype == torch.bool and info["action_mask"].shape == (venv.num_envs,
                                                                                        venv.num_actions)
        trace.append({"action": actions.numpy(), "obs": host(observation), "reward": host(reward),
                      "terminated": host(terminated), "truncated": host(truncated),
                      **{key: host(value) for key, value in info.items()}})
    return start, trace


def replay(env: gym.Env, start: dict, trace: list, row: int) -> int:
    """Replay sub-env ``row``'s episodes in ``env`` and compare every step; returns the episodes ended."""
    space = env.observation_space
    observation, info = env.reset(options={"index": int(start["index"][row])})
    assert_observation(observation, select(start["obs"], row), space)
    np.testing.assert_array_equal(info["action_mask"], start["mask"][row])
    episode_return, episode_length, ended = 0.0, 0, 0
    for step in trace:
        observation, reward, terminated, truncated, info = env.step(int(step["action"][row]))
        episode_return, episode_length = episode_return + reward, episode_length + 1
        assert step["reward"][row] == pytest.approx(reward, abs=1e-6)
        assert (step["terminated"][row], step["truncated"][row]) == (terminated, truncated)
        assert step["invalid_action"][row] == info.get("invalid_action", False)
        if terminated or truncated:
            assert_observation(observation, select(step["final_obs"], row), space)
            assert step["episode_return"][row] == pytest.approx(episode_return, abs=1e-5)
            assert step["episode_length"][row] == episode_length
            observation, info = env.reset(options={"index": int(step["index"][row])})
            episode_return, episode_length, ended = 0.0, 0, ended + 1
        else:
            assert step["index"][row] == env.unwrapped.index
        assert_observation(observation, select(step["obs"], row), space)
        np.testing.assert_array_equal(info["action_mask"], step["action_mask"][row])
    return ended


def check_against_gymnasium(name, kwargs, *, device="cpu", steps=200, num_envs=4, invalid_rate=0.0) -> list:
    """Run, replay and compare (see the module docstring); returns the trace."""
    venv = make_torch_vec_env(f"text_envs/{name}", num_envs, device=device, seed=0, **kwargs)
    assert venv.device.type == device
    start, trace = run(venv, steps, invalid_rate=invalid_rate)
    env = gym.make(f"text_envs/{name}", **kwargs)
    ended = sum(replay(env, start, trace, row) for row in range(num_envs))
    assert ended >= num_envs  # the replay crossed episode ends (final_obs, autoreset) in every sub-env
    assert any(step["reward"].any() for step in trace)  # rewards were compared, not only zeros
    return trace


@pytest.mark.parametrize(("name", "options", "observation"), CASES, ids=IDS)
def test_agrees_with_gymnasium_step_for_step(name, options, observation, kwargs_of):
    trace = check_against_gymnasium(name, kwargs_of(name, observation=observation, **options))
    if options.get("mask_in_observation"):  # the mask rode in every observation (compared in the replay)
        assert all(np.array_equal(step["obs"]["action_mask"], step["action_mask"]) for step in trace)


@pytest.mark.parametrize("name", env_names())
def test_penalty_rule_agrees_with_gymnasium(name, kwargs_of):
    """Masked actions leave the state, cost the penalty and truncate after the limit."""
    kwargs = kwargs_of(name, invalid_action="penalty", invalid_action_penalty=-0.5, max_invalid_actions=2)
    trace = check_against_gymnasium(name, kwargs, invalid_rate=0.5)
    # masks that rule out much of the space reach the limit (Classify's mask is all True, and
    # ClassifyReading's rules out READ only once the whole text is shown)
    if not name.startswith("Classify"):
        assert any(step["truncated"].any() for step in trace)


@pytest.mark.parametrize(("name", "observation"), [("NER-v0", "sequence"), ("QA-v0", "compact"),
                                                   ("ClassifyReading-v0", "compact"), ("SummarizeTokens-v0", "compact")])
def test_float16_observations_agree_with_gymnasium(name, observation, kwargs_of):
    check_against_gymnasium(name, kwargs_of(name, observation=observation, dtype=np.float16), steps=80)


def test_sequential_walks_the_split_in_order(kwargs_of):
    venv = make_torch_vec_env("text_envs/Classify-v0", 3, device="cpu", **kwargs_of("Classify-v0", sequential=True))
    _, info = venv.reset()
    seen = info["index"].tolist()
    for _ in range(14):  # Classify ends every episode at every step
        _, _, _, _, info = venv.step(torch.zeros(3, dtype=torch.int64))
        seen += info["index"].tolist()
    assert seen == [i % 40 for i in range(45)]


def test_same_seed_same_episodes(kwargs_of):
    def episodes(seed, reseed=None):
        venv = make_torch_vec_env("text_envs/NER-v0", 3, device="cpu", seed=seed, **kwargs_of("NER-v0"))
        _, info = venv.reset(seed=reseed)
        indices, rewards = [info["index"]], []
        for _ in range(40):
            _, reward, _, _, info = venv.step(info["action_mask"].long().argmax(1))
            indices.append(info["index"])
            rewards.append(reward)
        return torch.stack(indices), torch.stack(rewards)

    first, again = episodes(7), episodes(7)
    assert torch.equal(first[0], again[0]) and torch.equal(first[1], again[1])
    assert torch.equal(episodes(None, reseed=7)[0], first[0])  # reset(seed=...) reseeds
    assert not torch.equal(episodes(8)[0], first[0])


@pytest.mark.parametrize("name", env_names())
def test_state_dict_continues_the_episodes_in_flight(name, kwargs_of):
    """A fresh env (other seed) given another's state continues exactly as the original does."""
    def stepper(venv, seed):
        generator = torch.Generator().manual_seed(seed)
        def step():
            actions = torch.multinomial(venv.action_mask.float(), 1, generator=generator)[:, 0]
            return venv.step(actions)
        return step

    original = make_torch_vec_env(f"text_envs/{name}", 3, device="cpu", seed=1, **kwargs_of(name))
    original.reset()
    step = stepper(original, 5)
    for _ in range(7):
        step()
    state = original.state_dict()
    step = stepper(original, 6)
    expected = [step() for _ in range(12)]
    restored = make_torch_vec_env(f"text_envs/{name}", 3, device="cpu", seed=99, **kwargs_of(name))
    restored.load_state_dict(state)
    replay = stepper(restored, 6)
    for want, got in zip(expected, (replay() for _ in range(12))):
        for a, b in zip(want[:4], got[:4]):
            for key in (a if isinstance(a, dict) else [None]):
                assert torch.equal(a[key] if key else a, b[key] if key else b)
        assert torch.equal(want[4]["index"], got[4]["index"])
    other = make_torch_vec_env(f"text_envs/{name}", 2, device="cpu", **kwargs_of(name))
    with pytest.raises(ValueError, match="with 3 sub-envs"):
        other.load_state_dict(state)


def test_error_rule_names_the_sub_env_and_the_action(kwargs_of):
    kwargs = kwargs_of("NER-v0", invalid_action="error")
    venv = make_torch_vec_env("text_envs/NER-v0", 3, device="cpu", seed=0, **kwargs)
    _, info = venv.reset()
    masked = int(torch.nonzero(~info["action_mask"][2])[0, 0])  # an I- tag at the sentence start
    actions = info["action_mask"].long().argmax(1)
    with pytest.raises(InvalidActionError, match=rf"invalid action {masked} for sub-env 2 .*masked out"):
        venv.step(torch.where(torch.arange(3) == 2, masked, actions))
    with pytest.raises(InvalidActionError, match=r"invalid action 99 for sub-env 0 .*outside the action space"):
        venv.step(torch.tensor([99, 0, 0]))
    with pytest.raises(InvalidActionError, match="shape"):
        venv.step(torch.zeros(2, dtype=torch.int64))
    with pytest.raises(InvalidActionError, match="integer"):
        venv.step(torch.zeros(3))
    _, _, _, _, after = venv.step(actions)  # nothing changed: the valid actions still step
    assert torch.equal(after["episode_length"], torch.ones(3, dtype=torch.int64))


def test_penalty_rule_is_the_default_and_truncates_after_the_limit(kwargs_of):
    kwargs = kwargs_of("NER-v0", invalid_action_penalty=-2.0, max_invalid_actions=3)
    venv = make_torch_vec_env("text_envs/NER-v0", 2, device="cpu", seed=0, **kwargs)
    first, info = venv.reset()
    masked = int(torch.nonzero(~info["action_mask"][0])[0, 0])  # an I- tag at the sentence start
    for step in range(3):
        actions = torch.tensor([masked, int(info["action_mask"][1].long().argmax())])  # sub-env 0: invalid
        _, reward, terminated, truncated, info = venv.step(actions)
        assert reward[0] == -2.0 and not terminated[0] and bool(truncated[0]) == (step == 2)
        assert info["invalid_action"].tolist() == [True, False]
    assert torch.equal(info["final_obs"][0], first[0])  # the state never changed
    assert info["episode_return"][0] == -6.0 and info["episode_length"][0] == 3


def test_rejects_what_it_cannot_run(kwargs_of):
    with pytest.raises(TypeError, match="render"):
        make_torch_vec_env("text_envs/Classify-v0", 2, device="cpu", render_mode="ansi", **kwargs_of("Classify-v0"))
    with pytest.raises(ValueError, match="num_envs"):
        make_torch_vec_env("text_envs/Classify-v0", 0, device="cpu", **kwargs_of("Classify-v0"))
    venv = make_torch_vec_env("text_envs/Classify-v0", 2, device="cpu", **kwargs_of("Classify-v0"))
    with pytest.raises(RuntimeError, match="reset"):
        venv.step(torch.zeros(2, dtype=torch.int64))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize(("name", "options", "observation"), CASES, ids=IDS)
def test_agrees_with_gymnasium_on_cuda(name, options, observation, kwargs_of):
    check_against_gymnasium(name, kwargs_of(name, observation=observation, **options), device="cuda", steps=60)
