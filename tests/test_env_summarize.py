"""The summarisation envs (extractive sentence picking, and copying tokens): spaces, checkers,
ROUGE rewards by hand, oracles against Lead-3 and random, masks, replay, render, arguments."""

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env as gym_check_env
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rouge_score.rouge_scorer import RougeScorer
from stable_baselines3.common.env_checker import check_env as sb3_check_env

from text_envs.data import load
from text_envs.envs import InvalidActionError
from text_envs.tasks.summarize.env import SummarizeEnv
from text_envs.tasks.summarize.rouge import SentenceRouge
from text_envs.tasks.summarize_tokens.env import SummarizeTokensEnv
from text_envs.metrics import rouge_scores
from text_envs.records import SummarizationRecord, TaskDataset

OBSERVATIONS = ("compact", "sequence", "tokens")
ENVS = (SummarizeEnv, SummarizeTokensEnv)
# mostly words of the tiny encoder's vocabulary, so they are one token each
SENTENCES = ("the team won the first match of the season.",
             "the bank said growth was over three years.",
             "police in paris found the phone.",
             "oil prices rose after the trade talks.")
REFERENCE = (SENTENCES[1], SENTENCES[3])


def dataset(*records):
    """A hand-made split; each record is (sentences, summary)."""
    return TaskDataset("summarization", "hand", "test", [SummarizationRecord(f"d{i}", sentences, summary)
                                                         for i, (sentences, summary) in enumerate(records)])


TOY = dataset((SENTENCES, REFERENCE), (SENTENCES[:2], SENTENCES[:1]),
              (SENTENCES[::-1] + SENTENCES[:2], (SENTENCES[2],)))


def make(cls=SummarizeEnv, data=TOY, **kwargs):
    kwargs.setdefault("encoder", "tiny")
    return cls(data, **kwargs)


def hand_rouge(prediction: str, reference: str) -> dict:
    """ROUGE straight from rouge-score, independent of the envs and of text_envs.metrics."""
    scores = RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True).score(reference, prediction)
    return {name: score.fmeasure for name, score in scores.items()}


def play(env, actions, index=0):
    """Play the actions from the start of example ``index``; the rewards and the last info."""
    env.reset(options={"index": index})
    rewards, info = [], {}
    for action in actions:
        _, reward, terminated, truncated, info = env.step(action)
        rewards.append(reward)
        if terminated or truncated:
            break
    return rewards, info


def run(env, policy, index):
    """One episode of ``policy(env, mask)`` on example ``index``: the return and the last info."""
    _, info = env.reset(options={"index": index})
    total, done = 0.0, False
    while not done:
        _, reward, terminated, truncated, info = env.step(policy(env, info["action_mask"]))
        total += reward
        done = terminated or truncated
    return total, info


def expert(env, mask):
    return env.expert_action()


def random_policy(seed):
    rng = np.random.default_rng(seed)
    return lambda env, mask: int(rng.choice(np.flatnonzero(mask)))


def token_id(env, token):
    return env.encoder.tokenizer.convert_tokens_to_ids(token)


@pytest.fixture(scope="module")
def validation(tiny):
    """The embedded validation split's envs (its first 100 documents are used)."""
    return {"extractive": SummarizeEnv("embedded", "validation", encoder=tiny),
            "tokens": SummarizeTokensEnv("embedded", "validation", encoder=tiny, max_summary_tokens=256)}


# -- spaces, checkers, make -----------------------------------------------------------------

@pytest.mark.parametrize("observation", OBSERVATIONS)
@pytest.mark.parametrize("cls", ENVS)
def test_checkers_pass(cls, observation, tiny):
    env = make(cls, observation=observation, encoder=tiny, invalid_action="penalty")
    gym_check_env(env, skip_render_check=True)
    sb3_check_env(env)


@pytest.mark.parametrize("env_id", ["text_envs/Summarize-v0", "text_envs/SummarizeTokens-v0"])
def test_gymnasium_make(env_id):
    env = gym.make(env_id, encoder="tiny")
    observation, info = env.reset(seed=0)
    assert env.observation_space.contains(observation)
    observation, *_ = env.step(int(np.flatnonzero(info["action_mask"])[0]))
    assert env.observation_space.contains(observation)


def test_extractive_observations_describe_the_state(tiny):
    env = make(encoder=tiny)
    observation, _ = env.reset(options={"index": 0})
    pooled = env.encoded.pooled[env.encoded.segments(0).start:env.encoded.segments(0).stop].astype(np.float32)
    hidden = env.encoded.hidden_size
    assert observation.shape == (64 * (hidden + 2),)
    observation = observation.reshape(64, hidden + 2)
    np.testing.assert_array_equal(observation[:4, :hidden], pooled)
    assert observation[:, hidden].tolist() == [1] * 4 + [0] * 60 and not observation[:, hidden + 1].any()
    assert not observation[4:].any()
    observation = env.step(2)[0].reshape(64, hidden + 2)
    assert observation[:6, hidden].tolist() == [1, 1, 0, 1, 0, 0]
    assert observation[:4, hidden + 1].tolist() == [0, 0, 1, 0]

    env = make(encoder=tiny, observation="sequence")
    env.reset(options={"index": 0})
    observation, *_ = env.step(3)
    assert observation["mask"][:5].tolist() == [1, 1, 1, 1, 0] and observation["picked"][:4].tolist() == [0, 0, 0, 1]
    assert observation["num_picked"].tolist() == [1]

    env = make(encoder=tiny, observation="tokens")
    observation, _ = env.reset(options={"index": 0})
    for row, segment in enumerate(env.encoded.segments(0)):
        ids = env.encoded.input_ids[env.encoded.tokens(segment)]
        assert observation["input_ids"][row, :len(ids)].tolist() == ids.tolist()
        assert observation["attention_mask"][row].sum() == len(ids)
    assert not observation["input_ids"][4:].any() and observation["input_ids"].shape == (64, env.encoded.max_length)
    assert make(encoder=tiny, dtype=np.float16).reset()[0].dtype == np.float16


def test_token_observations_describe_the_source_and_what_was_written(tiny):
    env = make(SummarizeTokensEnv, encoder=tiny, observation="tokens", max_source_tokens=20)
    observation, _ = env.reset(options={"index": 0})
    words = " ".join(SENTENCES)
    source = env.encoder.tokenizer(words, add_special_tokens=False)["input_ids"]
    assert observation["source_ids"].tolist() == source[:20] and observation["source_mask"].sum() == 20
    assert observation["generated"].tolist() == [-1] * 64 and observation["length"].tolist() == [0]
    bank = token_id(env, "bank")
    observation, *_ = env.step(bank)
    assert observation["generated"][:2].tolist() == [bank, -1] and observation["length"].tolist() == [1]

    env = make(SummarizeTokensEnv, encoder=tiny, observation="sequence")
    observation, _ = env.reset(options={"index": 0})
    rows = [row for s in env.encoded.segments(0) for row in range(env.encoded.tokens(s).start + 1,
                                                                    env.encoded.tokens(s).stop - 1)]
    n = len(source)
    np.testing.assert_array_equal(observation["states"][:n], env.encoded.states[rows].astype(np.float32))
    assert observation["source_mask"].sum() == n and not observation["states"][n:].any()

    env = make(SummarizeTokensEnv, encoder=tiny)
    observation, _ = env.reset(options={"index": 0})
    hidden = env.encoded.hidden_size
    document = env.encoded.pooled[0:4].astype(np.float32).mean(0)
    np.testing.assert_allclose(observation[:hidden], document, rtol=1e-6)
    assert not observation[hidden:].any()
    observation, *_ = env.step(bank)
    (position,) = [i for i, row in enumerate(rows) if source[i] == bank]
    np.testing.assert_allclose(observation[hidden:2 * hidden], env.encoded.states[rows[position]], rtol=1e-3)
    np.testing.assert_allclose(observation[2 * hidden:3 * hidden], observation[hidden:2 * hidden])
    assert observation[-1] == pytest.approx(1 / 64)


# -- ROUGE rewards ----------------------------------------------------------------------------

def test_sentence_rouge_equals_rouge_scores():
    rng = np.random.default_rng(0)
    for record in list(load("summarization", "embedded", "validation"))[:40]:
        rouge = SentenceRouge(record.sentences, record.summary)
        for _ in range(3):
            size = int(rng.integers(1, 5))
            picks = tuple(sorted(rng.choice(len(record.sentences), size=size, replace=False).tolist()))
            assert rouge(picks) == rouge_scores([record.sentences[i] for i in picks], record.summary)
    assert rouge(()) == rouge_scores([], record.summary) == {"rouge1": 0.0, "rouge2": 0.0, "rougeL": 0.0}


def test_extractive_rewards_by_hand(tiny):
    env = make(encoder=tiny)
    rewards, info = play(env, [3, 1, env.task_spec.stop_action])  # the reference, picked out of order
    assert rewards == [0.0, 0.0, 1.0]
    assert info["metrics"] == {"rouge1": 1.0, "rouge2": 1.0, "rougeL": 1.0}
    assert info["prediction"] == list(REFERENCE)

    # one of the two reference sentences: 8 of the reference's 15 words, 7 of its 14 bigrams
    rewards, info = play(env, [1, env.task_spec.stop_action])
    expected = {"rouge1": 16 / 23, "rouge2": 2 / 3, "rougeL": 16 / 23}
    assert info["metrics"] == pytest.approx(expected)
    assert info["metrics"] == hand_rouge(SENTENCES[1], " ".join(REFERENCE))
    assert rewards == [0.0, pytest.approx(sum(expected.values()) / 3)]

    env = make(encoder=tiny, reward="gain")
    rewards, info = play(env, [1, 3, 0, env.task_spec.stop_action])
    assert rewards[:2] == pytest.approx([sum(expected.values()) / 3, 1 - sum(expected.values()) / 3])
    assert rewards[2] < 0 and rewards[3] == 0.0  # an unmatched sentence lowers precision
    assert sum(rewards) == pytest.approx(np.mean(list(info["metrics"].values())))

    env = make(encoder=tiny, rouge="rouge2")
    assert play(env, [1, env.task_spec.stop_action])[0] == [0.0, pytest.approx(2 / 3)]


def test_gain_rewards_sum_to_the_final_reward(validation, tiny):
    final = validation["extractive"]
    gain = SummarizeEnv("embedded", "validation", encoder=tiny, reward="gain")
    for index in range(20):
        policy, actions = random_policy(index), []
        total, info = run(gain, lambda env, mask: actions.append(policy(env, mask)) or actions[-1], index)
        rewards, final_info = play(final, actions, index)
        assert final_info["metrics"] == info["metrics"]
        assert rewards[-1] == pytest.approx(np.mean(list(info["metrics"].values())), abs=1e-12)
        assert total == pytest.approx(rewards[-1], abs=1e-12) and not any(rewards[:-1])


def test_token_reward_is_rouge_of_the_decoded_text(tiny):
    env = make(SummarizeTokensEnv, encoder=tiny)
    actions = [token_id(env, token) for token in ["oil", "r", "##o", "##s", "##e", "the", "bank"]]
    rewards, info = play(env, [*actions, env.task_spec.eos_id])
    assert info["prediction"] == "oil rose the bank"  # "##" pieces are merged into words
    assert info["metrics"] == hand_rouge("oil rose the bank", " ".join(REFERENCE))
    assert rewards[:-1] == [0.0] * len(actions)
    assert rewards[-1] == pytest.approx(np.mean(list(info["metrics"].values())))
    rouge1 = make(SummarizeTokensEnv, encoder=tiny, rouge="rouge1")
    assert play(rouge1, [*actions, env.task_spec.eos_id])[0][-1] == info["metrics"]["rouge1"]


def test_token_budget_ends_the_episode_and_is_scored(tiny):
    env = make(SummarizeTokensEnv, encoder=tiny, max_summary_tokens=3)
    bank = token_id(env, "bank")
    env.reset(options={"index": 0})
    for step in range(3):
        _, reward, terminated, truncated, info = env.step(bank)
        assert terminated == (step == 2) and not truncated
    assert info["prediction"] == "bank bank bank" and reward == pytest.approx(
        np.mean(list(hand_rouge("bank bank bank", " ".join(REFERENCE)).values())))


# -- oracles and baselines ------------------------------------------------------------------

def test_extractive_oracle_beats_lead3_and_random(validation):
    env = validation["extractive"]

    def lead3(env, mask):  # sentences 0, 1, 2, then STOP
        first = int(np.flatnonzero(mask[:-1])[0])
        return first if first < 3 else env.task_spec.stop_action

    def mean_score(policy):
        return np.mean([run(env, policy, i)[0] for i in range(100)])

    oracle, lead, random = mean_score(expert), mean_score(lead3), mean_score(random_policy(0))
    assert oracle > lead + 0.15 and oracle > random + 0.3, (oracle, lead, random)
    assert random < 0.4


def test_extractive_oracle_is_exact_when_the_reference_is_document_sentences(tiny):
    env = make(encoder=tiny, reward="gain")
    for index in range(len(TOY)):
        total, info = run(env, expert, index)
        assert total == pytest.approx(1.0) and info["metrics"] == {"rouge1": 1.0, "rouge2": 1.0, "rougeL": 1.0}
    assert info["prediction"] == [SENTENCES[2]]


def test_token_oracle_copies_the_reference(tiny):
    env = make(SummarizeTokensEnv, encoder=tiny)
    total, info = run(env, expert, 0)
    assert total == pytest.approx(1.0) and info["prediction"] == " ".join(REFERENCE)


def test_token_oracle_skips_reference_tokens_missing_from_the_document(tiny):
    env = make(SummarizeTokensEnv, dataset(((SENTENCES[1],), ("the bank of paris said",))), encoder=tiny)
    total, info = run(env, expert, 0)
    assert info["prediction"] == "the bank said"  # "of" and "paris" are not in the document
    assert total == pytest.approx(np.mean(list(hand_rouge("the bank said", "the bank of paris said").values())))
    env = make(SummarizeTokensEnv, dataset(((SENTENCES[1],), ("paris",))), encoder=tiny)
    env.reset()
    assert env.expert_action() == token_id(env, "the")  # the document's first token: EOS may not come first


def test_token_oracle_beats_lead_and_random(validation):
    env = validation["tokens"]

    def lead(index):  # copy the document from its start until the budget (or the document) ends
        source = env.task_spec.source_ids[env.task_spec.source(index)]
        return sum(play(env, [*source.tolist(), env.task_spec.eos_id], index)[0])

    def mean_score(policy):
        return np.mean([run(env, policy, i)[0] for i in range(100)])

    oracle, lead, random = mean_score(expert), np.mean([lead(i) for i in range(100)]), mean_score(random_policy(0))
    assert oracle > 0.9 and oracle > lead + 0.3 and oracle > random + 0.5, (oracle, lead, random)


# -- masks and invalid actions ----------------------------------------------------------------

def test_extractive_mask(tiny):
    env = make(encoder=tiny, max_sentences=6, max_picks=3, invalid_action="error")
    _, info = env.reset(options={"index": 0})
    assert info["action_mask"].tolist() == [True] * 4 + [False] * 2 + [False]  # STOP only after a pick
    _, _, _, _, info = env.step(2)
    assert info["action_mask"].tolist() == [True, True, False, True, False, False, True]
    with pytest.raises(InvalidActionError, match="sentence 2 is already picked"):
        env.step(2)
    with pytest.raises(InvalidActionError, match="only 4 sentences"):
        env.step(5)
    with pytest.raises(InvalidActionError, match=r"outside the action space \[0, 7\)"):
        env.step(7)
    env.step(0)
    *_, terminated, _, info = env.step(1)  # max_picks
    assert terminated and info["action_mask"].tolist() == [False] * 6 + [True]
    env.reset(options={"index": 1})  # two sentences: picking both ends the episode
    assert env.step(1)[2] is False and env.step(0)[2] is True
    env.reset(options={"index": 0})
    with pytest.raises(InvalidActionError, match="STOP needs at least one picked sentence"):
        env.step(env.task_spec.stop_action)


def test_token_mask_is_the_copy_vocabulary(tiny):
    env = make(SummarizeTokensEnv, encoder=tiny, invalid_action="error")
    _, info = env.reset(options={"index": 0})
    source = set(env.encoder.tokenizer(" ".join(SENTENCES), add_special_tokens=False)["input_ids"])
    assert set(np.flatnonzero(info["action_mask"])) == source and env.action_masks().shape == (env.action_space.n,)
    with pytest.raises(InvalidActionError, match="EOS needs at least one written token"):
        env.step(env.task_spec.eos_id)
    with pytest.raises(InvalidActionError, match="'minister' does not occur in the document"):
        env.step(token_id(env, "minister"))
    _, _, _, _, info = env.step(token_id(env, "bank"))
    assert set(np.flatnonzero(info["action_mask"])) == source | {env.task_spec.eos_id}
    assert env.task_spec.eos_id == env.encoder.tokenizer.sep_token_id
    specials = [i for i in env.encoder.tokenizer.all_special_ids if i != env.task_spec.eos_id]
    assert not info["action_mask"][specials].any()


@pytest.fixture(scope="module", params=ENVS, ids=lambda cls: cls.__name__)
def strict_and_lenient(request, tiny):
    """The same env twice: invalid actions raise in one and are penalised in the other."""
    return (make(request.param, encoder=tiny, observation="sequence", invalid_action="error"),
            make(request.param, encoder=tiny, observation="sequence", invalid_action="penalty",
                 invalid_action_penalty=-0.5, max_invalid_actions=1000))


def same(a, b):
    return all(np.array_equal(a[key], b[key]) for key in a)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_masks_never_allow_an_invalid_action(strict_and_lenient, data):
    strict, lenient = strict_and_lenient
    index = data.draw(st.integers(0, len(TOY) - 1))
    observation, info = strict.reset(options={"index": index})
    lenient.reset(options={"index": index})
    for _ in range(12):
        mask = info["action_mask"]
        assert mask.any() and np.array_equal(mask, lenient.action_masks())
        if data.draw(st.booleans()):
            action = data.draw(st.sampled_from(np.flatnonzero(mask).tolist()))
            observation, reward, terminated, truncated, info = strict.step(action)
            assert strict.observation_space.contains(observation)
            expected = lenient.step(action)
            assert same(observation, expected[0]) and (reward, terminated, truncated) == expected[1:4]
            if terminated or truncated:
                return
        else:
            action = data.draw(st.sampled_from([-1, len(mask), *np.flatnonzero(~mask).tolist()]))
            with pytest.raises(InvalidActionError):
                strict.step(action)
            if not 0 <= action < len(mask):  # outside the space: an error under every rule
                with pytest.raises(InvalidActionError, match="outside the action space"):
                    lenient.step(action)
                continue
            penalised, reward, terminated, truncated, penalty_info = lenient.step(action)
            assert same(penalised, observation) and reward == -0.5 and penalty_info["invalid_action"]
            assert not (terminated or truncated) and np.array_equal(penalty_info["action_mask"], mask)


def test_penalty_budget_truncates_with_the_summary_so_far(tiny):
    env = make(encoder=tiny, invalid_action="penalty", max_invalid_actions=2)
    env.reset(options={"index": 0})
    env.step(1)
    env.step(1)
    *_, terminated, truncated, info = env.step(1)
    assert truncated and not terminated and info["prediction"] == [SENTENCES[1]]


# -- episodes: replay, options, sequential ------------------------------------------------------

@pytest.mark.parametrize("cls", ENVS)
def test_seeded_replay_is_deterministic(cls, tiny):
    def trajectory(seed):
        env, rng = make(cls, encoder=tiny, observation="compact"), np.random.default_rng(seed)
        observation, info = env.reset(seed=seed)
        steps = [info["index"]]
        for _ in range(40):
            observation, reward, terminated, truncated, info = env.step(int(rng.choice(np.flatnonzero(
                info["action_mask"]))))
            steps.append((reward, terminated, observation.tobytes()))
            if terminated or truncated:
                observation, info = env.reset()
                steps.append(info["index"])
        return steps

    assert trajectory(1) == trajectory(1)
    assert trajectory(1) != trajectory(2)


@pytest.mark.parametrize("cls", ENVS)
def test_options_and_sequential_mode(cls, tiny):
    env = make(cls, encoder=tiny)
    assert env.reset(options={"index": 2})[1]["id"] == "d2" and env.record.id == "d2"
    sequential = make(cls, encoder=tiny, sequential=True)
    assert [sequential.reset()[1]["index"] for _ in range(4)] == [0, 1, 2, 0]


# -- render ---------------------------------------------------------------------------------

def test_ansi_render(tiny):
    env = make(encoder=tiny, render_mode="ansi")
    env.reset(options={"index": 0})
    env.step(3)
    text = env.render()
    assert "* (1)  3 oil prices" in text and "running" in text and "ROUGE" not in text
    assert "reference: " + " ".join(REFERENCE) in text
    env.step(1)
    env.step(env.task_spec.stop_action)
    assert "finished" in env.render() and "rouge1 1.000  rouge2 1.000  rougeL 1.000" in env.render()

    env = make(SummarizeTokensEnv, encoder=tiny, render_mode="ansi")
    env.reset(options={"index": 0})
    env.step(token_id(env, "bank"))
    assert "written:   bank _" in env.render() and "1/64 tokens, running" in env.render()
    env.step(env.task_spec.eos_id)
    assert "finished" in env.render() and "rouge1 " in env.render()


@pytest.mark.parametrize("cls", ENVS)
def test_render_without_gold_leaves_out_only_the_reference(cls, tiny):
    env = make(cls, encoder=tiny)
    env.reset(options={"index": 0})
    env.step(env.expert_action())
    with_gold = env.render_text().splitlines()
    assert env.render_text(gold=False).splitlines() == [line for line in with_gold
                                                         if not line.startswith("reference: ")] != with_gold


# -- the specs' tables ------------------------------------------------------------------------

def test_extractive_spec_tables(tiny):
    spec = make(encoder=tiny, max_picks=3).task_spec
    assert spec.first_segment.tolist() == [0, 4, 6] and spec.num_sentences.tolist() == [4, 2, 6]
    assert spec.pick_limit.tolist() == [3, 2, 3]
    assert spec.stop_action == 64 and spec.action_names == [*map(str, range(64)), "STOP"]
    assert (spec.reward, spec.rouge, spec.max_sentences, spec.max_picks) == ("final", "mean", 64, 3)


def test_token_spec_tables_hold_each_source(tiny):
    env = make(SummarizeTokensEnv, encoder=tiny)
    spec, tokenizer = env.task_spec, env.encoder.tokenizer
    for index, record in enumerate(TOY):
        env.reset(options={"index": index})
        source = tokenizer(" ".join(record.sentences), add_special_tokens=False)["input_ids"]
        assert env.source_ids.tolist() == spec.source_ids[spec.source(index)].tolist() == source
    assert not env.source_ids.flags.writeable
    assert spec.encoded.input_ids[spec.source_rows].tolist() == spec.source_ids.tolist()
    assert (spec.eos_id, spec.pad_id) == (tokenizer.sep_token_id, tokenizer.pad_token_id)
    assert spec.special_ids.tolist() == sorted(tokenizer.all_special_ids)


# -- arguments --------------------------------------------------------------------------------

@pytest.mark.parametrize("cls, kwargs, message", [
    (SummarizeEnv, {"reward": "dense"}, "unknown reward 'dense'"),
    (SummarizeEnv, {"rouge": "rouge3"}, "unknown rouge score 'rouge3'"),
    (SummarizeEnv, {"max_picks": 0}, "max_picks must be a positive integer"),
    (SummarizeEnv, {"max_sentences": 2.5}, "max_sentences must be a positive integer"),
    (SummarizeEnv, {"max_picks": True}, "max_picks must be a positive integer"),
    (SummarizeEnv, {"max_sentences": 5}, "record 'd2' has 6 sentences, more than max_sentences=5"),
    (SummarizeTokensEnv, {"rouge": "bleu"}, "unknown rouge score 'bleu'"),
    (SummarizeTokensEnv, {"max_summary_tokens": 0}, "max_summary_tokens must be a positive integer"),
    (SummarizeTokensEnv, {"max_source_tokens": -3}, "max_source_tokens must be a positive integer"),
    (SummarizeTokensEnv, {"observation": "pixels"}, "unknown observation mode 'pixels'"),
])
def test_bad_arguments(cls, kwargs, message, tiny):
    with pytest.raises(ValueError, match=message):
        make(cls, encoder=tiny, **kwargs)


@pytest.mark.parametrize("cls", ENVS)
def test_wrong_task_dataset(cls, mixed_datasets, tiny):
    with pytest.raises(ValueError, match="needs a 'summarization' dataset"):
        make(cls, mixed_datasets["ner"], encoder=tiny)
