"""The extractive QA env: spaces, checkers, masks, rewards by hand, oracle, replay, render."""

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium.utils.env_checker import check_env as gym_check_env
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from stable_baselines3.common.env_checker import check_env as sb3_check_env

from text_envs.data import load
from text_envs.envs.base import InvalidActionError
from text_envs.tasks.qa.env import QaEnv
from text_envs.records import Answer, QARecord, RecordError, TaskDataset
from text_envs.vector import vectorize

LENGTH = 128
CONTEXT = "Across the valley stands the old red bridge. It opened in 1932, and it is 400 metres long."


def make(dataset, tiny, **kwargs):
    return QaEnv(dataset, encoder=tiny, max_length=LENGTH, **kwargs)


def record(record_id, question, answer, context=CONTEXT):
    return QARecord(record_id, question, context, [Answer(answer, context.index(answer))])


@pytest.fixture
def bridge(tiny):
    """One hand-made example whose answer is "the old red bridge"."""
    dataset = TaskDataset("qa", "bridge", "train", [record("b0", "What stands there?", "the old red bridge")])
    return make(dataset, tiny)


def token_at(env, char_start=None, char_end=None):
    """The context position whose characters start at ``char_start`` (or end at ``char_end``),
    read straight from the cache's offsets, independent of the env's own span logic."""
    rows = env.encoded.tokens(env.encoded.segments(env.index)[0])
    offsets, sequence_ids = env.encoded.offsets[rows], env.encoded.sequence_ids[rows]
    column, value = (0, char_start) if char_start is not None else (1, char_end)
    (found,) = np.flatnonzero((sequence_ids == 1) & (offsets[:, column] == value))
    return int(found)


def play(env, start_char, end_char):
    """Point at the tokens that start at ``start_char`` and end at ``end_char``."""
    env.reset(options={"index": 0})
    _, first_reward, *_ = env.step(token_at(env, char_start=start_char))
    _, reward, terminated, _, info = env.step(token_at(env, char_end=end_char))
    assert first_reward == 0.0 and terminated
    return reward, info


# -- spaces and checkers --------------------------------------------------------------------

@pytest.mark.parametrize("observation", ["compact", "sequence", "tokens"])
def test_checkers_pass(mixed_datasets, tiny, observation):
    env = make(mixed_datasets["qa"], tiny, observation=observation, invalid_action="penalty")
    gym_check_env(env, skip_render_check=True)
    sb3_check_env(env)


def test_float16_observations(mixed_datasets, tiny):
    env = make(mixed_datasets["qa"], tiny, dtype=np.float16, invalid_action="penalty")
    gym_check_env(env, skip_render_check=True)
    assert env.observation_space.dtype == np.float16


def test_gymnasium_make():
    env = gym.make("text_envs/QA-v0", encoder="tiny", max_length=LENGTH)
    observation, info = env.reset(seed=0)
    hidden = env.unwrapped.encoded.hidden_size
    assert env.action_space == gym.spaces.Discrete(LENGTH)
    assert observation.shape == (LENGTH, hidden + 2) and observation.dtype == np.float32
    assert info["action_mask"].shape == (LENGTH,)
    env.close()


def test_observation_modes_describe_the_state(mixed_datasets, tiny):
    compact, sequence, tokens = (make(mixed_datasets["qa"], tiny, observation=mode)
                                 for mode in ("compact", "sequence", "tokens"))
    observations = [env.reset(options={"index": 1})[0] for env in (compact, sequence, tokens)]
    mask = compact.action_masks()
    first = int(np.flatnonzero(mask)[0])
    np.testing.assert_array_equal(observations[0][:, -2], mask)
    assert not observations[0][:, -1].any()
    np.testing.assert_array_equal(observations[0][:, :-2], observations[1]["states"])
    for observation in observations[1:]:
        np.testing.assert_array_equal(observation["context_mask"], mask)
        assert observation["start"][0] == -1 and observation["step"][0] == 0
    n = int(observations[1]["attention_mask"].sum())
    assert not observations[1]["states"][n:].any() and (observations[2]["input_ids"][n:] == 0).all()
    assert set(observations[2]["token_type_ids"][mask]) == {1}
    observations = [env.step(first)[0] for env in (compact, sequence, tokens)]
    assert observations[0][first, -1] == 1 and observations[0][:, -1].sum() == 1
    for observation in observations[1:]:
        assert observation["start"][0] == first and observation["step"][0] == 1


# -- masks --------------------------------------------------------------------------------

def test_mask_limits_the_end_to_a_short_span_after_the_start(mixed_datasets, tiny):
    env = make(mixed_datasets["qa"], tiny, max_answer_tokens=3, invalid_action="error")
    _, info = env.reset(options={"index": 0})
    context = np.flatnonzero(info["action_mask"])
    assert (np.diff(context) == 1).all()
    assert (env.encoded.sequence_ids[env.encoded.tokens(env.encoded.segments(0)[0])][context] == 1).all()
    start = int(context[2])
    _, _, _, _, info = env.step(start)
    np.testing.assert_array_equal(np.flatnonzero(info["action_mask"]), [start, start + 1, start + 2])
    with pytest.raises(InvalidActionError, match="before the chosen start"):
        env.step(start - 1)
    with pytest.raises(InvalidActionError, match="more than max_answer_tokens=3"):
        env.step(start + 3)


def test_mask_stops_at_the_context_end(mixed_datasets, tiny):
    env = make(mixed_datasets["qa"], tiny, invalid_action="error")
    _, info = env.reset(options={"index": 0})
    last = int(np.flatnonzero(info["action_mask"])[-1])
    _, _, _, _, info = env.step(last)
    np.testing.assert_array_equal(np.flatnonzero(info["action_mask"]), [last])
    with pytest.raises(InvalidActionError, match="special token"):
        env.step(last + 1)


def test_invalid_descriptions(mixed_datasets, tiny):
    env = make(mixed_datasets["qa"], tiny, invalid_action="error")
    _, info = env.reset(options={"index": 0})
    with pytest.raises(InvalidActionError, match="special token"):
        env.step(0)
    with pytest.raises(InvalidActionError, match="question token"):
        env.step(1)
    with pytest.raises(InvalidActionError, match="padding"):
        env.step(LENGTH - 1)
    for action in (LENGTH, -1):
        with pytest.raises(InvalidActionError, match="outside the action space"):
            env.step(action)


@pytest.fixture(scope="module")
def strict_and_lenient():
    """Two envs over the embedded validation split: the strict rule and the penalty rule."""
    from text_envs.encoders import Encoder
    tiny = Encoder("tiny", device="cpu")
    dataset = load("qa", "embedded", "validation")
    return (QaEnv(dataset, encoder=tiny, max_length=LENGTH, max_answer_tokens=5, invalid_action="error"),
            QaEnv(dataset, encoder=tiny, max_length=LENGTH, max_answer_tokens=5, invalid_action="penalty",
                  max_invalid_actions=1000))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_masks_never_allow_an_invalid_action(strict_and_lenient, data):
    strict, lenient = strict_and_lenient
    index = data.draw(st.integers(0, strict.num_examples - 1), label="index")
    strict.reset(options={"index": index})
    observation, _ = lenient.reset(options={"index": index})
    done, steps = False, 0
    while not done and steps < 20:  # fewer than max_invalid_actions, so no truncation
        steps += 1
        mask = strict.action_masks()
        assert mask.any()
        np.testing.assert_array_equal(mask, lenient.action_masks())
        if data.draw(st.booleans(), label="pick a valid action"):
            action = data.draw(st.sampled_from(np.flatnonzero(mask).tolist()), label="valid action")
        else:
            action = data.draw(st.integers(0, LENGTH - 1), label="any action")
        if mask[action]:
            _, reward, done, _, _ = strict.step(action)
            observation, lenient_reward, lenient_done, _, _ = lenient.step(action)
            assert (reward, done) == (lenient_reward, lenient_done)
        else:
            with pytest.raises(InvalidActionError, match="masked out"):
                strict.step(action)
            after, reward, terminated, truncated, info = lenient.step(action)
            assert reward == lenient.options.invalid_action_penalty and info["invalid_action"]
            assert not terminated and not truncated
            np.testing.assert_array_equal(after, observation)
            np.testing.assert_array_equal(lenient.action_masks(), mask)


def test_penalty_budget_truncates_with_empty_prediction(mixed_datasets, tiny):
    env = make(mixed_datasets["qa"], tiny, invalid_action="penalty", max_invalid_actions=2)
    env.reset(options={"index": 0})
    env.step(0)
    _, reward, terminated, truncated, info = env.step(0)
    assert (reward, terminated, truncated) == (-1.0, False, True)
    assert info["prediction"] == "" and info["metrics"] == {"exact_match": 0.0, "f1": 0.0}


# -- rewards --------------------------------------------------------------------------------

def test_reward_is_token_f1_of_the_span(bridge):
    start = CONTEXT.index("red bridge")
    reward, info = play(bridge, start, start + len("red bridge"))
    assert info["prediction"] == "red bridge"
    assert reward == pytest.approx(0.8)  # precision 2/2, recall 2/3 ("the" is dropped)
    assert info["metrics"] == {"exact_match": 0.0, "f1": pytest.approx(0.8)}


def test_reward_uses_squad_normalisation(bridge):
    start = CONTEXT.index("old red")
    reward, info = play(bridge, start, CONTEXT.index(". It") + 1)
    assert info["prediction"] == "old red bridge."  # no article, a trailing full stop
    assert reward == 1.0 and info["metrics"]["exact_match"] == 1.0


def test_reward_is_zero_without_overlap(bridge):
    start = CONTEXT.index("1932")
    reward, info = play(bridge, start, start + 4)
    assert reward == 0.0 and info["metrics"] == {"exact_match": 0.0, "f1": 0.0}


def test_reward_takes_the_best_gold_answer(tiny):
    answers = [Answer("400 metres", CONTEXT.index("400 metres")), Answer("1932", CONTEXT.index("1932"))]
    env = make(TaskDataset("qa", "two", "train", [QARecord("t0", "When?", CONTEXT, answers)]), tiny)
    start = CONTEXT.index("1932")
    reward, info = play(env, start, start + 4)
    assert reward == 1.0 and info["prediction"] == "1932"


def test_answer_cut_off_by_truncation_is_unreachable(tiny):
    filler = " ".join(["lorem ipsum dolor"] * 20)
    context = f"{filler}. The answer is 1932."
    dataset = TaskDataset("qa", "long", "train", [record("far", "When?", "1932", context),
                                                  record("near", "What?", "lorem ipsum", context)])
    env = make(dataset, tiny, render_mode="ansi")
    spec = env.task_spec
    assert spec.unreachable == 1 and spec.reachable.tolist() == [False, True]
    assert spec.gold_spans[0].tolist() == [-1, -1]
    env.reset(options={"index": 0})
    assert "characters cut by max_length=128" in env.render() and "unreachable" in env.render()
    reward = env.step(env.expert_action())[1] + env.step(env.expert_action())[1]
    assert reward == 0.0


def test_answer_longer_than_max_answer_tokens_is_unreachable(bridge, tiny):
    assert bridge.task_spec.unreachable == 0
    short = make(bridge.data, tiny, max_answer_tokens=2)
    assert short.task_spec.unreachable == 1


# -- oracle, random policy, replay ----------------------------------------------------------

def run_episodes(env, policy):
    scores = []
    for _ in range(env.num_examples):
        _, info = env.reset()
        done = False
        while not done:
            _, _, done, _, info = env.step(policy(env, info["action_mask"]))
        scores.append(info["metrics"])
    return scores


@pytest.fixture(scope="module")
def validation_env():
    from text_envs.encoders import Encoder
    return QaEnv("embedded", "validation", encoder=Encoder("tiny", device="cpu"), max_length=LENGTH, sequential=True)


def test_oracle_is_exact_on_reachable_examples(validation_env):
    env = validation_env
    scores = run_episodes(env, lambda env, mask: env.expert_action())
    reachable = env.task_spec.reachable
    assert 0 < env.task_spec.unreachable < env.num_examples  # the tiny encoder's 128 tokens cut most contexts
    assert np.mean([s["f1"] for s, ok in zip(scores, reachable) if ok]) == 1.0
    assert np.mean([s["exact_match"] for s, ok in zip(scores, reachable) if ok]) == 1.0


def test_random_policy_scores_low(validation_env):
    rng = np.random.default_rng(0)
    scores = run_episodes(validation_env, lambda env, mask: int(rng.choice(np.flatnonzero(mask))))
    assert np.mean([s["f1"] for s in scores]) < 0.2


def test_sequential_walks_the_split_in_order(mixed_datasets, tiny):
    env = make(mixed_datasets["qa"], tiny, sequential=True)
    assert [env.reset()[1]["index"] for _ in range(4)] == [0, 1, 2, 0]


def test_reset_option_picks_the_example(mixed_datasets, tiny):
    env = make(mixed_datasets["qa"], tiny)
    _, info = env.reset(options={"index": 2})
    assert info["index"] == 2 and info["id"] == "q2" and env.record.question == "How long is it?"
    with pytest.raises(ValueError, match="options\\['index'\\]"):
        env.reset(options={"index": 3})


def episode(env, seed):
    """Observations and rewards of one seeded episode under a seeded masked random policy."""
    rng = np.random.default_rng(seed)
    observation, info = env.reset(seed=seed)
    trace, done = [(info["index"], observation)], False
    while not done:
        observation, reward, done, _, info = env.step(int(rng.choice(np.flatnonzero(info["action_mask"]))))
        trace.append((reward, observation))
    return trace, info["prediction"]


def test_seeded_replay_is_deterministic(tiny):
    dataset = load("qa", "embedded", "validation")
    first, second = (make(dataset, tiny) for _ in range(2))
    for seed in (0, 7):
        (trace_a, prediction_a), (trace_b, prediction_b) = episode(first, seed), episode(second, seed)
        assert prediction_a == prediction_b
        for (a, obs_a), (b, obs_b) in zip(trace_a, trace_b, strict=True):
            assert a == b
            np.testing.assert_array_equal(obs_a, obs_b)


@pytest.mark.parametrize("observation", ["sequence", "tokens"])
def test_vector_observations_stay_as_returned(mixed_datasets, tiny, observation):
    """The torch vector env's observations hold its per-episode parts without a copy: the
    episodes that later steps start replace those parts, never write into them."""
    venv = vectorize(make(mixed_datasets["qa"], tiny, observation=observation), 4, device="cpu", seed=0)
    first, info = venv.reset()
    kept = {name: part.clone() for name, part in first.items()}
    for _ in range(6):  # every episode ends after two steps, so the sub-envs start new examples
        _, _, _, _, info = venv.step(info["action_mask"].long().argmax(1))
    for name, part in kept.items():
        assert torch.equal(first[name], part), name


# -- render and arguments -------------------------------------------------------------------

def test_render_marks_the_span_and_the_score(tiny):
    dataset = TaskDataset("qa", "bridge", "train", [record("b0", "When did it open?", "1932")])
    env = make(dataset, tiny, render_mode="ansi")
    env.reset(options={"index": 0})
    env.step(env.expert_action())
    assert "[[1932, and" in env.render() and "]]" not in env.render()
    env.step(env.expert_action())
    text = env.render()
    assert "When did it open?" in text and "[[1932]]" in text and "gold:     '1932'" in text
    assert "exact_match 1.00" in text and "f1 1.00" in text and "cut by max_length" not in text


@pytest.mark.parametrize("kwargs, message", [
    ({"max_answer_tokens": 0}, "max_answer_tokens must be a positive integer"),
    ({"max_answer_tokens": 2.5}, "max_answer_tokens must be a positive integer"),
    ({"observation": "pixels"}, "unknown observation mode"),
])
def test_bad_arguments(mixed_datasets, tiny, kwargs, message):
    with pytest.raises(ValueError, match=message):
        make(mixed_datasets["qa"], tiny, **kwargs)


def test_wrong_task_dataset(mixed_datasets, tiny):
    with pytest.raises(ValueError, match="needs a 'qa' dataset"):
        make(mixed_datasets["ner"], tiny)


def test_question_that_fills_max_length_is_an_error(tiny):
    long_question = " ".join(["why"] * 200) + "?"
    dataset = TaskDataset("qa", "long", "train", [record("lq", long_question, "1932")])
    with pytest.raises(RecordError, match="'lq'"):
        make(dataset, tiny)
