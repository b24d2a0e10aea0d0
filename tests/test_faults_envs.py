"""Faults found in a reliability pass, each pinned by a test that fails if it comes back.

* Observations and masks are the caller's own: editing one in place changes nothing the
  env, or another env over the same (shared, in-memory) encoded split, returns later.
* Values outside the action space (inf, nan, 2.5, -1, n, a string, None) raise under every
  invalid-action rule: only elements of the space are owed an outcome (Gymnasium's contract),
  and the rule covers masked ones; numpy integers, 0-d int arrays and 2.0 are actions.
* A torch vector env's ``state_dict()`` holds the whole state of its episodes in flight, as
  plain tensors that ``torch.load(weights_only=True)`` reads: a fresh env given it continues
  exactly as the original (observations, rewards, masks, ``final_obs``, every info tensor).
"""

import copy
import io

import gymnasium as gym
import numpy as np
import pytest
import torch

from text_envs.envs.base import InvalidActionError
from text_envs.registration import NAMESPACE
from text_envs.tasks import OBSERVATION_MODES, env_names
from text_envs.vector import make_torch_vec_env

pytestmark = pytest.mark.filterwarnings("ignore:.*more than max_chunks")  # the cut is meant: short episodes



# -- observations are the caller's own ----------------------------------------------------------

def arrays(value) -> list:
    """Every numpy array in an observation or info."""
    values = value.values() if isinstance(value, dict) else [value]
    return [item for item in values if isinstance(item, np.ndarray)]


def vandalise(observation, info) -> None:
    """What a careless agent does: zero every array it was given, in place."""
    for array in arrays(observation) + arrays(info):
        array[...] = 0


def assert_same(expected, actual) -> None:
    if isinstance(expected, dict):
        assert set(expected) == set(actual)
        for key in expected:
            np.testing.assert_array_equal(actual[key], expected[key], err_msg=key)
    else:
        np.testing.assert_array_equal(actual, expected)


@pytest.mark.parametrize("dtype", [np.float32, np.float16])
@pytest.mark.parametrize("observation", OBSERVATION_MODES)
@pytest.mark.parametrize("name", env_names())
def test_editing_an_observation_changes_no_other(name, observation, dtype, kwargs_of):
    """Two envs over one in-memory split: zeroing every array the first returns leaves the
    second's observations pristine, and the first's own later ones equal the second's."""
    first, second = (gym.make(f"{NAMESPACE}/{name}", observation=observation, dtype=dtype,
                              **kwargs_of(name)).unwrapped for _ in range(2))
    assert first.encoded is second.encoded  # the shared split the fault went through
    for index in (1, 2):
        pristine = copy.deepcopy(second.reset(options={"index": index}))
        vandalise(*first.reset(options={"index": index}))
        observation_, info = second.reset(options={"index": index})
        assert_same(pristine[0], observation_)
        assert_same(pristine[1]["action_mask"], info["action_mask"])
        vandalise(first.action_masks(), {})
        for _ in range(3):
            action = second.expert_action()
            got = first.step(action)
            want = second.step(action)
            assert_same(want[0], got[0])
            assert_same(want[4]["action_mask"], got[4]["action_mask"])
            assert got[1:4] == want[1:4]
            vandalise(got[0], got[4])
            if want[2] or want[3]:
                break


# -- actions outside the space -----------------------------------------------------------------

OUTSIDE = [float("inf"), float("-inf"), float("nan"), 2.5, np.float32(0.5), -1, "n"]


def outside(action, env):
    return env.action_space.n if action == "n" else action


@pytest.mark.parametrize("rule", ["penalty", "error"])
@pytest.mark.parametrize("action", OUTSIDE, ids=repr)
@pytest.mark.parametrize("name", env_names())
def test_numbers_outside_the_space_raise_under_every_rule(name, action, rule, kwargs_of):
    """The error names the env, the value and the space."""
    env = gym.make(f"{NAMESPACE}/{name}", invalid_action=rule, **kwargs_of(name)).unwrapped
    env.reset(options={"index": 0})
    action = outside(action, env)
    with pytest.raises(InvalidActionError) as raised:
        env.step(action)
    message = str(raised.value)
    assert type(env).__name__ in message and f"[0, {env.action_space.n})" in message
    assert str(env.action_space) in message and f"invalid action {np.asarray(action).item()!r} " in message


@pytest.mark.parametrize("rule", ["error", "penalty"])
@pytest.mark.parametrize("action", ["2", None, [1, 2], 1j, object()], ids=["str", "None", "list", "complex", "object"])
def test_what_is_not_a_number_raises_under_either_rule(action, rule, kwargs_of):
    env = gym.make(f"{NAMESPACE}/Classify-v0", invalid_action=rule, **kwargs_of("Classify-v0")).unwrapped
    env.reset(options={"index": 0})
    with pytest.raises(InvalidActionError, match=r"ClassifyEnv\.step\(\) takes one action of its action space "
                                                 r"Discrete\(\d+\) \(an integer in \[0, \d+\)\)"):
        env.step(action)


@pytest.mark.parametrize("make_action", [int, np.int64, np.int32, np.uint8, np.array,
                                         lambda a: np.array(a, dtype=np.int16), float],
                         ids=["int", "int64", "int32", "uint8", "0-d array", "0-d int16", "integral float"])
def test_integers_in_any_form_are_actions(make_action, kwargs_of):
    env = gym.make(f"{NAMESPACE}/NER-v0", **kwargs_of("NER-v0")).unwrapped
    reference = gym.make(f"{NAMESPACE}/NER-v0", **kwargs_of("NER-v0")).unwrapped
    env.reset(options={"index": 3})
    reference.reset(options={"index": 3})
    for _ in range(3):
        action = reference.expert_action()
        got, want = env.step(make_action(action)), reference.step(action)
        assert_same(want[0], got[0])
        assert got[1:4] == want[1:4]


@pytest.mark.parametrize("rule", ["penalty", "error"])
def test_the_torch_vector_env_refuses_actions_outside_the_space_under_every_rule(rule, kwargs_of):
    kwargs = kwargs_of("NER-v0", invalid_action=rule)
    venv = make_torch_vec_env(f"{NAMESPACE}/NER-v0", 2, device="cpu", seed=0, **kwargs)
    venv.reset()
    with pytest.raises(InvalidActionError, match="integer tensor"):
        venv.step(torch.tensor([float("inf"), 0.0]))
    for action in (-1, venv.num_actions):
        with pytest.raises(InvalidActionError, match=rf"invalid action {action} for sub-env 1 .*outside the action "
                                                     rf"space \[0, {venv.num_actions}\) \(Discrete"):
            venv.step(torch.tensor([0, action]))
    _, _, _, _, info = venv.step(torch.tensor([0, 0]))  # nothing was stepped before
    assert info["episode_length"].tolist() == [1, 1]


# -- torch vector env checkpoints ----------------------------------------------------------------

CASES = [("NER-v0", {"reward": "token"}), ("NER-v0", {"reward": "entity_f1_delta"}),
         ("NER-v0", {"invalid_action": "penalty", "max_invalid_actions": 2}), ("QA-v0", {}),
         ("Summarize-v0", {"reward": "gain"}), ("SummarizeTokens-v0", {}), ("Classify-v0", {}),
         ("ClassifyReading-v0", {})]
AFTER = 6  # steps compared after each restore


def round_trip(state: dict) -> dict:
    """``state`` through ``torch.save`` and ``torch.load(weights_only=True)``, as the trainer saves it."""
    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    return torch.load(buffer, weights_only=True)


def actions_for(venv, generator, invalid: bool) -> torch.Tensor:
    """Random actions from the masks (and, if ``invalid``, some uniform over the space, mostly masked)."""
    actions = torch.multinomial(venv.action_mask.float(), 1, generator=generator)[:, 0]
    if invalid:
        wild = torch.rand(venv.num_envs, generator=generator) < 0.4
        actions = torch.where(wild, torch.randint(venv.num_actions, (venv.num_envs,), generator=generator),
                              actions)
    return actions


def assert_equal(expected, actual, where: str) -> None:
    if isinstance(expected, dict):
        assert set(expected) == set(actual), where
        for key in expected:
            assert_equal(expected[key], actual[key], f"{where}[{key!r}]")
    else:
        assert torch.equal(expected, actual), where


@pytest.mark.parametrize("observation", OBSERVATION_MODES)
@pytest.mark.parametrize(("name", "options"), CASES, ids=[f"{n}-{'-'.join(map(str, o.values()))}" for n, o in CASES])
def test_state_dict_continues_every_episode_exactly(name, options, observation, kwargs_of):
    """Checkpoints after 7 (mid-episode for QA), 8 and past every sub-env's first episode end;
    a fresh env (another seed) given the round-tripped state gives what the original gave."""
    kwargs = kwargs_of(name, observation=observation, **options)
    original = make_torch_vec_env(f"{NAMESPACE}/{name}", 3, device="cpu", seed=1, **kwargs)
    original.reset()
    generator = torch.Generator().manual_seed(5)
    invalid = options.get("invalid_action") == "penalty"
    states, steps, ended = {}, [], torch.zeros(3, dtype=torch.bool)
    past = None
    while past is None or len(steps) < past + AFTER:
        if len(steps) in (7, 8) or len(steps) == past:
            states[len(steps)] = round_trip(original.state_dict())
        actions = actions_for(original, generator, invalid)
        observation_, reward, terminated, truncated, info = original.step(actions)
        steps.append((actions, (observation_, reward, terminated, truncated, info)))
        ended |= terminated | truncated
        if past is None and ended.all() and len(steps) > 8:
            past = len(steps) + 1
        assert len(steps) < 300, "episodes too long for this test"
    assert set(states) == {7, 8, past}
    assert set(steps[0][1][4]) == {"final_obs", "action_mask", "episode_return", "episode_length",
                                   "invalid_action", "index"}  # every info tensor is compared below
    for k, state in states.items():
        restored = make_torch_vec_env(f"{NAMESPACE}/{name}", 3, device="cpu", seed=99, **kwargs)
        restored.load_state_dict(state)
        for offset, (actions, want) in enumerate(steps[k:k + AFTER]):
            got = restored.step(actions)
            for part, (a, b) in enumerate(zip(want, got)):
                assert_equal(a, b, f"checkpoint after {k} steps, step {k + offset + 1}, output {part}")


def test_state_dict_holds_only_plain_declared_tensors(kwargs_of):
    venv = make_torch_vec_env(f"{NAMESPACE}/QA-v0", 3, device="cpu", seed=0, **kwargs_of("QA-v0"))
    venv.reset()
    state = venv.state_dict()
    assert set(state["tensors"]) == set(venv.state_names()) >= {"index", "_start", "_end"}
    assert all(type(value) in (str, int, bool, dict, torch.Tensor) for value in state.values())


def test_load_state_dict_refuses_a_state_it_cannot_continue(kwargs_of):
    state = make_torch_vec_env(f"{NAMESPACE}/NER-v0", 3, device="cpu", **kwargs_of("NER-v0")).state_dict()
    with pytest.raises(ValueError, match="NerVectorEnv with 3 sub-envs .* this env is NerVectorEnv with 2"):
        make_torch_vec_env(f"{NAMESPACE}/NER-v0", 2, device="cpu", **kwargs_of("NER-v0")).load_state_dict(state)
    with pytest.raises(ValueError, match="this env is QaVectorEnv"):
        make_torch_vec_env(f"{NAMESPACE}/QA-v0", 3, device="cpu", **kwargs_of("QA-v0")).load_state_dict(state)
    tracking = make_torch_vec_env(f"{NAMESPACE}/NER-v0", 3, device="cpu",
                                  **kwargs_of("NER-v0", reward="entity_f1"))
    with pytest.raises(ValueError, match="_potential"):  # the token reward's state lacks the tracker's
        tracking.load_state_dict(state)
