"""The NER env: spaces, rewards by hand, incremental F1 == seqeval, masks, modes, errors."""

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from hypothesis import given, settings
from hypothesis import strategies as st
from seqeval.metrics import f1_score
from seqeval.metrics.sequence_labeling import get_entities
from stable_baselines3.common.env_checker import check_env as sb3_check_env

from text_envs.data import load
from text_envs.envs import InvalidActionError
from text_envs.metrics import entity_scores
from text_envs.records import TaggingRecord, TaskDataset, bio_tag_set
from text_envs.tasks.ner.entity_f1 import EntityF1Tracker
from text_envs.tasks.ner.env import NerEnv
from text_envs.tasks.ner.spec import SHAPES, NerSpec, word_shape

TAGS = bio_tag_set(["LOC", "PER"])  # O, B-LOC, I-LOC, B-PER, I-PER


def sentence_dataset(*records):
    return TaskDataset("ner", "hand", "test", [TaggingRecord(f"s{i}", words, tags)
                                                for i, (words, tags) in enumerate(records)], TAGS)


JOHN = (["John", "Smith", "lives", "in", "Paris"], ["B-PER", "I-PER", "O", "O", "B-LOC"])


def make(dataset=None, **kwargs):
    kwargs.setdefault("encoder", "tiny")
    return NerEnv(dataset if dataset is not None else "embedded", **kwargs)


def play(env, tags, index=0):
    env.reset(options={"index": index})
    rewards, info = [], {}
    for tag in tags:
        _, reward, terminated, truncated, info = env.step(env.task_spec.tags.index(tag))
        rewards.append(reward)
    assert terminated and not truncated
    return rewards, info


@pytest.mark.parametrize("observation", ["compact", "sequence", "tokens"])
@pytest.mark.parametrize("reward", NerSpec.rewards)
def test_passes_both_checkers(observation, reward):
    env = gym.make("text_envs/NER-v0", encoder="tiny", observation=observation, reward=reward,
                   invalid_action="penalty").unwrapped
    check_env(env)
    sb3_check_env(env)


def test_make_with_no_arguments_uses_the_embedded_set_and_minilm():
    env = gym.make("text_envs/NER-v0")
    observation, info = env.reset(seed=0)
    assert observation.shape == (384 + 9 + 1,) and observation.dtype == np.float32
    assert env.unwrapped.data.name == "embedded" and info["action_mask"].dtype == bool
    assert gym.make("text_envs:text_envs/NER-v0", encoder="tiny").unwrapped.data.split == "train"


def test_rewards_by_hand():
    dataset = sentence_dataset(JOHN)
    predicted = ["B-PER", "O", "O", "O", "B-LOC"]  # PER span too short: 1 of 2 entities right
    rewards, info = play(make(dataset, reward="token"), predicted)
    assert rewards == [1.0, 0.0, 1.0, 1.0, 1.0]
    assert info["metrics"] == {"entity_f1": 0.5, "token_accuracy": 0.8}
    assert info["prediction"] == predicted
    rewards, _ = play(make(dataset, reward="entity_f1"), predicted)
    assert rewards == [0.0, 0.0, 0.0, 0.0, 0.5]
    rewards, _ = play(make(dataset, reward="entity_f1_delta"), predicted)
    assert sum(rewards) == pytest.approx(0.5)
    rewards, info = play(make(dataset, reward="entity_f1_delta"), JOHN[1])
    assert sum(rewards) == pytest.approx(1.0) and info["metrics"]["entity_f1"] == 1.0


def test_a_sentence_without_entities_scores_one_when_none_are_predicted():
    dataset = sentence_dataset((["It", "rained", "."], ["O", "O", "O"]))
    assert play(make(dataset, reward="entity_f1"), ["O", "O", "O"])[0][-1] == 1.0
    assert play(make(dataset, reward="entity_f1"), ["O", "B-LOC", "O"])[0][-1] == 0.0


tag_sequences = st.lists(st.sampled_from(TAGS), min_size=1, max_size=12)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_incremental_f1_agrees_with_seqeval_on_any_sequences(data):
    gold = data.draw(tag_sequences)
    predicted = data.draw(st.lists(st.sampled_from(TAGS), min_size=len(gold), max_size=len(gold)))
    tracker = EntityF1Tracker(TAGS, [TAGS.index(t) for t in gold])
    total = sum(tracker.add(TAGS.index(t)) for t in predicted) + tracker.finish()
    expected = f1_score([gold], [predicted], zero_division=0)
    if not get_entities(gold) and not get_entities(predicted):
        expected = 1.0
    assert tracker.potential == pytest.approx(expected)
    assert total == pytest.approx(expected)


def test_tracker_final_f1_is_seqevals_on_every_sentence_of_a_split_with_random_tags():
    data = load("ner", "embedded", "validation")
    tags, rng = data.labels, np.random.default_rng(0)
    counts = np.zeros(3, dtype=np.int64)  # true positives, predicted entities, gold entities
    gold, predicted = [], []
    for record in data:
        guess = [tags[i] for i in rng.integers(len(tags), size=len(record.tags))]  # I- anywhere, too
        tracker = EntityF1Tracker(tags, [tags.index(t) for t in record.tags])
        total = sum(tracker.add(tags.index(t)) for t in guess) + tracker.finish()
        alone = entity_scores([record.tags], [guess])["entity_f1"]
        if not get_entities(list(record.tags)) and not get_entities(guess):
            alone = 1.0  # seqeval's 0/0; the tracker's convention
        assert tracker.potential == pytest.approx(alone) and total == pytest.approx(alone), record.id
        counts += (tracker.true_positives, tracker.predicted, len(tracker.gold))
        gold.append(record.tags)
        predicted.append(guess)
    assert counts[0] > 0  # random tags hit some entities, so the check covers true positives
    micro = entity_scores(gold, predicted)
    assert 2 * counts[0] / (counts[1] + counts[2]) == pytest.approx(micro["entity_f1"])


def test_spec_tables_cut_into_each_sentence():
    spec = make(split="validation", reward="entity_f1").task_spec
    assert spec.action_names == list(spec.tags) == list(spec.data.labels)
    every_word = spec.word_states()
    chunks = spec.gold_chunks
    for index in (0, 1, len(spec.data) - 1):
        record, words = spec.data[index], spec.words(index)
        assert [spec.tags[i] for i in spec.gold[words]] == list(record.tags) and spec.lengths[index] == len(record.tags)
        segment = spec.encoded.segments(index)[0]
        np.testing.assert_array_equal(spec.positions[words], spec.encoded.word_positions(segment, len(record.tags)))
        np.testing.assert_array_equal(spec.word_states(index), every_word[words])
        tracker = EntityF1Tracker(spec.tags, spec.gold[words])
        firsts = np.flatnonzero(chunks.last[words] >= 0)
        assert [(f, chunks.last[words][f]) for f in firsts] == [(f, last) for f, last, _ in tracker.gold]
        np.testing.assert_array_equal(chunks.closed[words], tracker.gold_closed[:len(record.tags)])
        assert chunks.count[index] == len(tracker.gold)
    assert not spec.allowed.flags.writeable and not spec.gold.flags.writeable


def test_compact_observation_is_the_word_state_previous_tag_and_progress():
    env = make(sentence_dataset(JOHN))
    observation, _ = env.reset(options={"index": 0})
    encoded = env.encoded
    positions = encoded.word_positions(0, 5)
    hidden = encoded.hidden_size
    np.testing.assert_array_equal(observation[:hidden], encoded.states[positions[0]].astype(np.float32))
    assert observation[hidden:].tolist() == [0] * len(TAGS) + [0.0]
    observation, *_ = env.step(TAGS.index("B-PER"))
    np.testing.assert_array_equal(observation[:hidden], encoded.states[positions[1]].astype(np.float32))
    assert observation[hidden:hidden + len(TAGS)].tolist() == [0, 0, 0, 1, 0] and observation[-1] == 0.2
    assert make(sentence_dataset(JOHN), dtype=np.float16).reset()[0].dtype == np.float16


def test_sequence_and_token_observations_track_the_episode():
    env = make(sentence_dataset(JOHN), observation="sequence", max_words=8)
    observation, _ = env.reset()
    assert observation["states"].shape == (8, env.encoded.hidden_size)
    assert observation["mask"].tolist() == [1] * 5 + [0] * 3 and observation["cursor"].tolist() == [0]
    observation, *_ = env.step(TAGS.index("B-PER"))
    assert observation["tags"].tolist()[:2] == [TAGS.index("B-PER"), -1] and observation["cursor"].tolist() == [1]
    tokens = make(sentence_dataset(JOHN), observation="tokens", max_words=8).reset()[0]
    starts = tokens["word_starts"]
    assert (starts[:5] > 0).all() and (starts[5:] == -1).all()
    assert tokens["attention_mask"].sum() == len(env.encoded.input_ids)


def test_mask_forbids_inside_tags_that_continue_nothing():
    env = make(sentence_dataset(JOHN), invalid_action="error")
    _, info = env.reset()
    assert info["action_mask"].tolist() == [True, True, False, True, False]  # no I- at the start
    _, _, _, _, info = env.step(TAGS.index("B-PER"))
    assert info["action_mask"].tolist() == [True, True, False, True, True]  # I-PER may follow B-PER
    assert (env.action_masks() == info["action_mask"]).all()
    with pytest.raises(InvalidActionError, match="I-LOC cannot follow B-PER"):
        env.step(TAGS.index("I-LOC"))
    with pytest.raises(InvalidActionError, match="outside the action space"):
        env.step(7)
    with pytest.raises(InvalidActionError, match="single integer"):
        env.step(1.5)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, len(TAGS) - 1), min_size=1, max_size=30))
def test_masks_never_allow_an_invalid_move(actions):
    env = make(sentence_dataset(JOHN, (["a", "b", "c", "d", "e", "f", "g"], ["O"] * 7)), invalid_action="error")
    penalised = make(env.data, invalid_action="penalty", max_invalid_actions=len(actions) + 1)  # never truncated
    env.reset(seed=1)
    observation, _ = penalised.reset(seed=1)
    previous = None
    for action in actions:
        mask = env.action_masks()
        tag = TAGS[action]
        valid = not tag.startswith("I-") or (previous is not None and previous[2:] == tag[2:])
        assert mask[action] == valid
        if not valid:
            with pytest.raises(InvalidActionError):
                env.step(action)
            after, reward, terminated, _, info = penalised.step(action)
            assert reward == -1.0 and info["invalid_action"] and not terminated
            np.testing.assert_array_equal(after, observation)  # the state is as it was
            continue
        _, _, terminated, _, _ = env.step(action)
        observation, *_ = penalised.step(action)
        previous = tag
        if terminated:
            env.reset()
            observation, _ = penalised.reset()
            previous = None


def test_penalty_mode_truncates_after_too_many_invalid_actions():
    env = make(sentence_dataset(JOHN), invalid_action="penalty", max_invalid_actions=3)
    env.reset()
    outcomes = [env.step(TAGS.index("I-LOC")) for _ in range(3)]
    assert [o[3] for o in outcomes] == [False, False, True]
    assert outcomes[-1][4]["metrics"]["token_accuracy"] == 0.0
    with pytest.raises(RuntimeError, match="reset"):
        env.step(0)


def test_seeded_resets_replay_and_options_pick_examples():
    first, second = make(), make()
    indices = [first.reset(seed=7)[1]["index"]] + [first.reset()[1]["index"] for _ in range(5)]
    assert indices == [second.reset(seed=7)[1]["index"]] + [second.reset()[1]["index"] for _ in range(5)]
    assert len(set(indices)) > 1
    assert first.reset(options={"index": 3})[1]["id"] == first.data[3].id
    with pytest.raises(ValueError, match=r"options\['index'\] must be an integer in \[0, 1500\)"):
        first.reset(options={"index": 1500})
    with pytest.raises(ValueError, match="unknown reset options"):
        first.reset(options={"sentence": 2})


def test_sequential_mode_walks_the_split_once_then_wraps():
    env = make(split="validation", sequential=True)
    seen = [env.reset()[1]["index"] for _ in range(env.num_examples)]
    assert seen == list(range(300))
    assert env.reset()[1]["index"] == 0


def test_oracle_scores_the_maximum_and_random_scores_low():
    env = make(split="validation", reward="entity_f1", sequential=True)
    rng = np.random.default_rng(0)
    for policy, check in (("oracle", lambda f: f == 1.0), ("random", lambda f: f < 0.2)):
        scores = []
        for _ in range(100):
            env.reset()
            terminated = False
            while not terminated:
                mask = env.action_masks()
                action = env.expert_action() if policy == "oracle" else rng.choice(np.flatnonzero(mask))
                _, reward, terminated, _, info = env.step(action)
            scores.append(info["metrics"]["entity_f1"])
        assert check(np.mean(scores)), (policy, np.mean(scores))


def test_ansi_render_shows_words_the_agents_tags_and_gold():
    env = make(sentence_dataset(JOHN), render_mode="ansi")
    env.reset()
    env.step(TAGS.index("B-PER"))
    env.step(TAGS.index("O"))
    text = env.render()
    assert "John" in text and "Paris" in text
    agent_line = next(line for line in text.splitlines() if line.startswith("agent:"))
    assert "B-PER ok" in agent_line and "O x" in agent_line and "?" in agent_line
    header, words, agent = env.render_text(gold=False).splitlines()  # no gold line, no ok/x marks
    assert header == text.splitlines()[0] and words.split() == ["words:", *JOHN[0]]
    assert agent.split() == ["agent:", "B-PER", "O", "?"]


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="unknown reward 'f1'"):
        make(reward="f1")
    with pytest.raises(ValueError, match="more than max_words=3"):
        make(sentence_dataset(JOHN), max_words=3)
    with pytest.raises(ValueError, match="unknown observation mode"):
        make(observation="pixels")
    with pytest.raises(ValueError, match="dtype must be"):
        make(dtype=np.int32)
    with pytest.raises(ValueError, match="unknown invalid_action rule"):
        make(invalid_action="ignore")
    with pytest.raises(ValueError, match="needs a 'ner' dataset"):
        make(TaskDataset("classification", "x", "train",
                         [__import__("text_envs.records").records.ClassificationRecord("a", "t", "l")], ["l"]))


def test_word_shapes_say_what_an_uncased_encoder_loses():
    assert [SHAPES[word_shape(w)] for w in ("the", "Paris", "A", "NATO", "iPhone", "1996", "U.S.", "-", "e-mail")] == \
        ["lower", "Title", "Title", "UPPER", "MiXed", "digit", "UPPER", "symbol", "lower"]
    data = sentence_dataset(JOHN)
    compact = make(data, word_shape=True)
    observation, _ = compact.reset(options={"index": 0})
    shapes = [word_shape(w) for w in data[0].tokens]
    one_hot = observation[-len(SHAPES):]
    assert compact.observation_space.shape[0] == make(data).observation_space.shape[0] + len(SHAPES)
    assert one_hot.argmax() == shapes[0] and one_hot.sum() == 1
    observation, *_ = compact.step(0)
    assert observation[-len(SHAPES):].argmax() == shapes[1]  # the shape of the word to tag now
    for mode in ("sequence", "tokens"):
        env = make(data, observation=mode, word_shape=True)
        observation, _ = env.reset(options={"index": 0})
        assert observation["shapes"].tolist() == shapes + [-1] * (env.unwrapped.task_spec.max_words - len(shapes))
    with pytest.raises(ValueError, match="word_shape must be True or False"):
        make(word_shape="yes")
