"""The classification envs: one-step labelling and reading chunk by chunk before labelling."""

import warnings

import gymnasium
import numpy as np
import pytest
import torch
from gymnasium.utils.env_checker import check_env as gymnasium_check_env
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from stable_baselines3.common.env_checker import check_env as sb3_check_env

from text_envs.data import load
from text_envs.envs import InvalidActionError
from text_envs.records import ClassificationRecord, TaskDataset
from text_envs.tasks.classify.env import ClassifyEnv
from text_envs.tasks.classify_reading.env import ClassifyReadingEnv
from text_envs.tasks.classify_reading.spec import ClassifyReadingSpec, reading_reward

LABELS = ("red", "green", "blue")
WORDS = "the river city team market bank game planet water energy north south over under".split()
MODES = ("compact", "sequence", "tokens")
ENVS = (ClassifyEnv, ClassifyReadingEnv)
READ = ClassifyReadingSpec.READ


def _text(i: int, words: int) -> str:
    return " ".join(WORDS[(i * 7 + j * 3) % len(WORDS)] for j in range(words))


@pytest.fixture(scope="module")
def toy():
    """12 texts of 3 to 30 words (1 to 4 chunks of 8), labels cycling through LABELS."""
    records = [ClassificationRecord(f"t{i}", _text(i, 3 + (i * 5) % 28), LABELS[i % 3]) for i in range(12)]
    return TaskDataset("classification", "toy", "train", records, LABELS)


def _env(cls, dataset, **kwargs):
    return cls(dataset, encoder="tiny", **kwargs)


def _chunk_count(env, index):
    return len(env.encoded.segments(index))


# -- the checkers and gymnasium.make ----------------------------------------------------------

@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("cls", ENVS)
def test_gymnasium_and_sb3_checkers_pass(cls, mode, toy):
    # the checkers step random unmasked actions: masked ones must be penalised, not raise
    env = _env(cls, toy, observation=mode, invalid_action="penalty", render_mode="ansi")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.filterwarnings("ignore", message=".*unconventional shape")  # SB3 on 2-D states: by design
        warnings.filterwarnings("ignore", message=".*alternative render modes")  # env.unwrapped has no spec
        gymnasium_check_env(env.unwrapped)
        sb3_check_env(env.unwrapped)


@pytest.mark.parametrize("env_id", ["text_envs/Classify-v0", "text_envs/ClassifyReading-v0"])
def test_gymnasium_make_works_on_the_embedded_default(env_id):
    env = gymnasium.make(env_id, encoder="tiny")
    obs, info = env.reset(seed=0)
    assert env.observation_space.contains(obs)
    assert env.unwrapped.task_spec.labels == list(load("classification", "embedded", "train").labels)
    _, reward, terminated, _, info = env.step(env.unwrapped.expert_action())
    assert terminated and reward == 1.0 and info["metrics"]["accuracy"] == 1.0


@pytest.mark.parametrize("cls", ENVS)
def test_float16_observations(cls, toy):
    env = _env(cls, toy, dtype=np.float16)
    obs, _ = env.reset(seed=0)
    assert obs.dtype == np.float16 and env.observation_space.contains(obs)


# -- rewards, masks and metrics by hand ------------------------------------------------------

def test_classify_rewards_the_gold_label_with_one():
    dataset = TaskDataset("classification", "hand", "train",
                          [ClassificationRecord("x", "the river", "green")], LABELS)
    for action, reward in ((1, 1.0), (0, 0.0), (2, 0.0)):
        env = _env(ClassifyEnv, dataset)
        _, info = env.reset(seed=0)
        assert info["action_mask"].all() and env.expert_action() == 1
        _, got, terminated, truncated, info = env.step(action)
        assert (got, terminated, truncated) == (reward, True, False)
        assert info["prediction"] == LABELS[action] and info["metrics"] == {"accuracy": reward}


@pytest.fixture(scope="module")
def three_chunks():
    """One text of 20 distinct words: chunks of 8, 8 and 4 words; gold label blue (action 3).
    Strict, so that a masked READ raises."""
    dataset = TaskDataset("classification", "hand", "train",
                          [ClassificationRecord("x", " ".join(f"w{j}" for j in range(20)), "blue")], LABELS)
    return _env(ClassifyReadingEnv, dataset, reading_cost=0.1, render_mode="ansi", invalid_action="error")


def test_reading_costs_per_chunk_and_the_decision_is_forced_at_the_end(three_chunks):
    env = three_chunks
    assert _chunk_count(env, 0) == 3
    _, info = env.reset(seed=0)
    assert info["action_mask"].tolist() == [True, True, True, True]
    for step in range(2):
        _, reward, terminated, _, info = env.step(READ)
        assert reward == pytest.approx(-0.1) and not terminated
    assert info["action_mask"].tolist() == [False, True, True, True]
    assert env.action_masks().tolist() == [False, True, True, True]
    with pytest.raises(InvalidActionError, match="READ with the whole text revealed"):
        env.step(READ)
    _, reward, terminated, _, info = env.step(1)  # red: wrong
    assert reward == -1.0 and terminated
    assert info["prediction"] == "red"
    assert info["metrics"] == {"accuracy": 0.0, "chunks_read": 3, "fraction_read": 1.0}


def test_a_right_label_after_one_read_returns_one_minus_the_cost(three_chunks):
    env = three_chunks
    env.reset(seed=0)
    rewards = [env.step(READ)[1], env.step(3)[1]]
    assert sum(rewards) == pytest.approx(1.0 - 0.1)
    assert env.result()[1] == {"accuracy": 1.0, "chunks_read": 2, "fraction_read": pytest.approx(2 / 3)}


def test_render_shows_the_revealed_text_only_the_choice_gold_and_reward(three_chunks):
    env = three_chunks
    env.reset(seed=0)
    chunks = [" ".join(f"w{j}" for j in range(i, min(i + 8, 20))) for i in (0, 8, 16)]
    picture = env.render()
    assert chunks[0] + " …" in picture and chunks[1] not in picture
    env.step(READ)
    env.step(2)
    picture = env.render()
    assert chunks[1] + " …" in picture and chunks[2] not in picture
    assert "READ, green x" in picture and "gold:   blue" in picture and "reward: -1.1" in picture


def test_classify_render_shows_text_choice_gold_and_reward(toy):
    env = _env(ClassifyEnv, toy, render_mode="ansi")
    env.reset(options={"index": 4})
    assert "agent:  ?" in env.render()
    env.step(env.expert_action())
    picture = env.render()
    assert toy[4].text in picture and f"{toy[4].label} ok" in picture and "reward: 1" in picture


# -- no unread text leaks into observations --------------------------------------------------

@pytest.fixture(scope="module")
def shared_start():
    """Two 16-word texts with the same first chunk of 8 words and different second chunks."""
    first = _text(0, 8)
    records = [ClassificationRecord("a", first + " bank game planet water energy north south over", "red"),
               ClassificationRecord("b", first + " city team market river the under over game", "green")]
    return TaskDataset("classification", "hand", "train", records, LABELS)


def test_chunk_states_do_not_depend_on_later_text(shared_start):
    env = _env(ClassifyReadingEnv, shared_start)
    encoded = env.encoded
    first_a, first_b = (encoded.tokens(encoded.segments(i)[0]) for i in (0, 1))
    np.testing.assert_array_equal(encoded.input_ids[first_a], encoded.input_ids[first_b])
    np.testing.assert_array_equal(encoded.states[first_a], encoded.states[first_b])
    np.testing.assert_array_equal(encoded.pooled[encoded.segments(0)[0]], encoded.pooled[encoded.segments(1)[0]])
    # the check has teeth: encoding the whole text lets the first words attend to later ones
    whole = _env(ClassifyEnv, shared_start).encoded
    prefix = slice(0, first_a.stop - first_a.start - 1)  # the shared tokens, without [SEP]
    starts = [whole.tokens(i).start for i in (0, 1)]
    assert not np.array_equal(whole.states[starts[0]:][prefix], whole.states[starts[1]:][prefix])


@pytest.mark.parametrize("mode", MODES)
def test_observations_before_reading_on_are_the_same_for_texts_sharing_a_start(mode, shared_start):
    env = _env(ClassifyReadingEnv, shared_start, observation=mode)
    first = [env.reset(options={"index": i})[0] for i in (0, 1)]
    _assert_equal(first[0], first[1])
    env.reset(options={"index": 0})
    later = env.step(READ)[0]
    env.reset(options={"index": 1})
    assert not _equal(later, env.step(READ)[0])


def _equal(a, b) -> bool:
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)
    return np.array_equal(a, b)


def _assert_equal(a, b) -> None:
    assert _equal(a, b), (a, b)


# -- policies -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def embedded_validation():
    return load("classification", "embedded", "validation")


def _evaluate(env, policy) -> float:
    """Mean accuracy of ``policy(env, mask) -> action`` over one sequential pass."""
    correct = 0.0
    for _ in range(env.num_examples):
        _, info = env.reset()
        terminated = False
        while not terminated:
            _, _, terminated, _, info = env.step(policy(env, info["action_mask"]))
        correct += info["metrics"]["accuracy"]
    return correct / env.num_examples


@pytest.mark.parametrize("cls", ENVS)
def test_the_expert_is_always_right_and_random_is_at_chance(cls, embedded_validation):
    chance = 1 / len(embedded_validation.labels)
    expert = _env(cls, embedded_validation, sequential=True)
    assert _evaluate(expert, lambda env, mask: env.expert_action()) == 1.0
    rng = np.random.default_rng(0)
    randomly = _env(cls, embedded_validation, sequential=True)
    assert abs(_evaluate(randomly, lambda env, mask: rng.choice(np.flatnonzero(mask))) - chance) < 0.08


# -- episodes: seeds, options, sequential mode ------------------------------------------------

def _rollout(env, seed: int, episodes: int):
    rng = np.random.default_rng(seed)
    trace = []
    obs, info = env.reset(seed=seed)
    for _ in range(episodes):
        done = False
        trace.append(("reset", info["index"], obs))
        while not done:
            obs, reward, terminated, truncated, info = env.step(rng.choice(np.flatnonzero(info["action_mask"])))
            trace.append((reward, obs))
            done = terminated or truncated
        obs, info = env.reset()
    return trace


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("cls", ENVS)
def test_replay_under_a_seed_is_deterministic(cls, mode, toy):
    first, second = (_rollout(_env(cls, toy, observation=mode), seed=7, episodes=6) for _ in range(2))
    assert len(first) == len(second)
    for a, b in zip(first, second):
        assert a[:-1] == b[:-1]
        _assert_equal(a[-1], b[-1])
    assert [t[1] for t in first if t[0] == "reset"] != [t[1] for t in _rollout(_env(cls, toy), 8, 6)
                                                       if t[0] == "reset"]


@pytest.mark.parametrize("cls", ENVS)
def test_options_pick_the_example_and_sequential_mode_walks_the_split(cls, toy):
    env = _env(cls, toy)
    _, info = env.reset(seed=0, options={"index": 5})
    assert info["index"] == 5 and info["id"] == "t5" and env.record is toy[5]
    walker = _env(cls, toy, sequential=True)
    assert [walker.reset()[1]["index"] for _ in range(len(toy) + 2)] == [*range(len(toy)), 0, 1]


# -- masks: a property test --------------------------------------------------------------------

@pytest.fixture(scope="module")
def rule_envs(toy):
    return {(cls, rule): _env(cls, toy, invalid_action=rule, max_invalid_actions=100)
            for cls in ENVS for rule in ("error", "penalty")}


def _snapshot(env):
    return env._observation(), env.action_masks(), env._done


def _expected_mask(env, record, reads: int) -> list[bool]:
    """The mask worked out from the text alone: labels are always valid; READ is valid while
    the chunks seen (the first, free, plus one per READ) are fewer than the text's chunks."""
    labels = [True] * len(LABELS)
    if isinstance(env, ClassifyEnv):
        return labels
    chunks = -(-len(record.text.split()) // env.task_spec.chunk_words)
    return [1 + reads < chunks, *labels]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
@pytest.mark.parametrize("cls", ENVS)
@pytest.mark.parametrize("rule", ["error", "penalty"])
def test_masks_never_allow_an_invalid_action(cls, rule, rule_envs, toy, data):
    env = rule_envs[(cls, rule)]
    _, info = env.reset(seed=0, options={"index": data.draw(st.integers(0, len(toy) - 1), label="index")})
    done, reads = False, 0
    for _ in range(40):  # well under max_invalid_actions: penalties never truncate here
        mask = env.action_masks()
        assert mask.tolist() == info["action_mask"].tolist() == _expected_mask(env, env.record, reads)
        if data.draw(st.booleans(), label="try an invalid action"):
            action = data.draw(st.sampled_from([*np.flatnonzero(~mask).tolist(), -1, len(mask)]), label="invalid")
            before = _snapshot(env)
            if rule == "error" or not 0 <= action < len(mask):  # outside the space: an error under every rule
                with pytest.raises(InvalidActionError):
                    env.step(action)
            else:
                _, reward, terminated, truncated, info = env.step(action)
                assert reward == env.options.invalid_action_penalty and info["invalid_action"]
                assert not terminated and not truncated
            after = _snapshot(env)
            _assert_equal(before[0], after[0])
            assert np.array_equal(before[1], after[1]) and before[2] == after[2]
        else:
            action = data.draw(st.sampled_from(np.flatnonzero(mask).tolist()), label="valid")
            obs, _, done, truncated, info = env.step(action)
            assert not truncated and "invalid_action" not in info
            assert env.observation_space.contains(obs)
            reads += isinstance(env, ClassifyReadingEnv) and action == READ
        if done:
            break


# -- arguments ------------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs, message", [
    ({"reading_cost": -0.01}, "reading_cost must be a finite number >= 0"),
    ({"reading_cost": float("nan")}, "reading_cost must be a finite number >= 0"),
    ({"reading_cost": "cheap"}, "reading_cost must be a finite number >= 0"),
    ({"chunk_words": 0}, "chunk_words must be a positive integer"),
    ({"chunk_words": 2.5}, "chunk_words must be a positive integer"),
    ({"chunk_words": True}, "chunk_words must be a positive integer"),
    ({"max_chunks": 0}, "max_chunks must be a positive integer"),
    ({"observation": "pixels"}, "unknown observation mode"),
])
def test_bad_arguments_are_refused_clearly(kwargs, message, toy):
    with pytest.raises(ValueError, match=message):
        _env(ClassifyReadingEnv, toy, **kwargs)


def test_the_reading_env_picks_its_own_layout(toy):
    with pytest.raises(TypeError, match="layout"):  # chunk_words picks it; there is no layout option
        _env(ClassifyReadingEnv, toy, layout="classification")


def test_the_envs_refuse_a_dataset_of_another_task(mixed_datasets):
    for cls in ENVS:
        with pytest.raises(ValueError, match="needs a 'classification' dataset"):
            _env(cls, mixed_datasets["qa"])


def test_texts_over_max_chunks_are_cut_with_a_warning(three_chunks):
    with pytest.warns(UserWarning, match=r"1 of 1 texts have more than max_chunks=2 .* record 'x', has 3"):
        env = _env(ClassifyReadingEnv, three_chunks.data, max_chunks=2)
    _, info = env.reset(seed=0)
    assert info["action_mask"][READ]
    obs, _, _, _, info = env.step(READ)
    assert not info["action_mask"][READ] and obs[-2:].tolist() == [1.0, 0.0]
    assert env.step(3)[-1]["metrics"] == {"accuracy": 1.0, "chunks_read": 2, "fraction_read": 1.0}


def test_other_chunk_sizes_get_their_own_layout_and_cache_entry(toy):
    fours, eights = _env(ClassifyReadingEnv, toy, chunk_words=4), _env(ClassifyReadingEnv, toy)
    assert (fours.encoded.layout, eights.encoded.layout) == ("classification-chunks-4", "classification-chunks-8")
    assert fours.encoded.fingerprint != eights.encoded.fingerprint
    longest = max(range(len(toy)), key=lambda i: len(toy[i].text.split()))
    assert _chunk_count(fours, longest) == -(-len(toy[longest].text.split()) // 4)


# -- a step never runs the encoder -----------------------------------------------------------

@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("cls", ENVS)
def test_steps_never_run_the_encoder(cls, mode, toy, monkeypatch):
    env = _env(cls, toy, observation=mode, render_mode="ansi")

    def refuse(*args, **kwargs):
        raise AssertionError("the encoder ran during an episode")

    monkeypatch.setattr(env.encoder, "forward", refuse)
    monkeypatch.setattr(type(env.encoder), "model", property(refuse))
    _rollout(env, seed=1, episodes=5)
    env.render()


def test_the_reward_rule_is_the_same_for_one_episode_and_a_batch():
    actions, gold = [READ, 1, 2, 3], 1  # read, wrong, right, wrong
    expected = [-0.05, -1.0, 1.0, -1.0]
    assert [float(reading_reward(a, gold, 0.05)) for a in actions] == expected
    batch = reading_reward(torch.tensor(actions), torch.tensor(gold), torch.tensor(0.05, dtype=torch.float64))
    assert batch.dtype == torch.float64 and batch.tolist() == expected
