"""evaluate(): whole-split scoring with literature metrics, for every kind of policy."""

import gymnasium as gym
import numpy as np
import pytest
from seqeval.metrics import f1_score

from text_envs import evaluate
from text_envs.tasks.ner.env import NerEnv


@pytest.fixture
def env():
    return NerEnv(encoder="tiny", split="validation")


def test_oracle_scores_perfectly_over_the_whole_split(env):
    scores = evaluate(env, lambda observation, mask: env.expert_action())
    assert scores["episodes"] == 300
    assert scores["entity_f1"] == 1.0 and scores["token_accuracy"] == 1.0


def test_corpus_f1_is_seqeval_micro_f1_not_a_mean_of_sentences(env):
    rng = np.random.default_rng(0)
    predictions = {}

    def noisy(observation, mask):
        expert = env.expert_action()
        return expert if rng.random() < 0.8 and mask[expert] else int(np.flatnonzero(mask)[0])

    scores = evaluate(env, noisy, episodes=50)
    # replay the same predictions through seqeval directly
    rng = np.random.default_rng(0)
    for index in range(50):
        env.reset(options={"index": index})
        done = False
        while not done:
            _, _, done, _, info = env.step(noisy(None, env.action_masks()))
        predictions[index] = info["prediction"]
    gold = [env.data[i].tags for i in range(50)]
    assert scores["entity_f1"] == pytest.approx(f1_score([list(g) for g in gold],
                                                         [predictions[i] for i in range(50)]))
    assert 0 < scores["entity_f1"] < 1 and scores["episodes"] == 50


def test_sb3_style_models_get_masks_when_they_take_them(env):
    class MaskablePredictor:
        def __init__(self):
            self.masks = []

        def predict(self, observation, state=None, episode_start=None, deterministic=False, action_masks=None):
            self.masks.append(action_masks)
            assert deterministic
            return np.array(0), None

    model = MaskablePredictor()
    scores = evaluate(env, model, episodes=3)
    assert scores["episodes"] == 3 and all(m is not None and m.dtype == bool for m in model.masks)


def test_env_ids_are_made_on_the_requested_split():
    scores = evaluate("NER-v0", lambda observation: 0, split="validation", encoder="tiny", episodes=5)
    assert scores["episodes"] == 5 and scores["entity_f1"] == 0.0 and scores["mean_return"] > 0


def test_bad_policies_and_arguments_are_named(env):
    with pytest.raises(TypeError, match="policy must be callable"):
        evaluate(env, 42)
    with pytest.raises(TypeError, match="only apply when env is an id"):
        evaluate(env, lambda o: 0, encoder="tiny")
    with pytest.raises(ValueError, match="holds the 'validation' split, not 'test'"):
        evaluate(env, lambda o: 0, split="test")


# -- episodes cut short, and wrappers ----------------------------------------------------------

def masked_action(observation, mask):
    """An action the env refuses here: the penalty rule truncates after max_invalid_actions."""
    return int(np.flatnonzero(~mask)[0])


def padded(tags, length):
    return [*tags, *["O"] * (length - len(tags))]


def test_ner_episodes_cut_short_by_invalid_actions_count_untagged_words_as_o():
    env = NerEnv(encoder="tiny", split="validation", invalid_action="penalty", max_invalid_actions=2)
    tagged = set()

    def first_word_then_invalid(observation, mask):
        if env.index in tagged:
            return masked_action(observation, mask)
        tagged.add(env.index)
        return env.expert_action()

    scores = evaluate(env, first_word_then_invalid, episodes=40)
    gold = [list(env.data[i].tags) for i in range(40)]
    predicted = [padded(tags[:1], len(tags)) for tags in gold]
    assert scores["episodes"] == scores["truncated_episodes"] == 40
    assert scores["entity_f1"] == pytest.approx(f1_score(gold, predicted))
    correct = sum(p == g for ps, gs in zip(predicted, gold) for p, g in zip(ps, gs))
    assert scores["token_accuracy"] == pytest.approx(correct / sum(map(len, gold)))


@pytest.mark.parametrize(("env_id", "empty_scores"), [
    ("QA-v0", {"exact_match": 0.0, "f1": 0.0}),
    ("Summarize-v0", {"rouge1": 0.0, "rouge2": 0.0, "rougeL": 0.0}),
])
def test_episodes_cut_short_before_any_valid_action_score_as_the_empty_prediction(env_id, empty_scores):
    env = gym.make(f"text_envs/{env_id}", split="validation", encoder="tiny", cache_dir=None,
                   invalid_action="penalty", invalid_action_penalty=-1.0, max_invalid_actions=2)
    scores = evaluate(env, masked_action, episodes=10)
    assert scores["episodes"] == scores["truncated_episodes"] == 10
    assert {key: scores[key] for key in empty_scores} == empty_scores
    assert scores["mean_return"] == -2.0


def test_a_classification_episode_cut_short_before_its_label_is_wrong():
    # needs the env's public result(): the wrapper truncates, so the env never wrote its final info
    env = gym.make("text_envs/ClassifyReading-v0", split="validation", encoder="tiny", cache_dir=None)
    read = 0  # READ, masked only once the whole text is shown: under the penalty rule, a valid outcome
    scores = evaluate(gym.wrappers.TimeLimit(env, max_episode_steps=1), lambda observation: read, episodes=10)
    assert scores["episodes"] == scores["truncated_episodes"] == 10
    assert scores["accuracy"] == 0.0 and scores["macro_f1"] == 0.0


def test_an_outside_time_limit_is_scored_from_the_env_as_far_as_it_got():
    # needs the env's public result(): the wrapper truncates, so the env never wrote its final info
    env = NerEnv(encoder="tiny", split="validation")
    limited = gym.wrappers.TimeLimit(env, max_episode_steps=3)
    scores = evaluate(limited, lambda observation, mask: env.expert_action(), episodes=40)
    gold = [list(env.data[i].tags) for i in range(40)]
    assert scores["episodes"] == 40
    assert scores["truncated_episodes"] == sum(len(tags) > 3 for tags in gold) > 0
    assert scores["entity_f1"] == pytest.approx(f1_score(gold, [padded(tags[:3], len(tags)) for tags in gold]))
    assert scores["entity_f1"] < 1.0 and scores["mean_return"] == pytest.approx(
        np.mean([min(len(tags), 3) for tags in gold]))


@pytest.mark.parametrize("wrap", [
    gym.wrappers.RecordEpisodeStatistics,
    lambda env: gym.wrappers.TimeLimit(env, max_episode_steps=1000),
    gym.wrappers.OrderEnforcing,
    gym.wrappers.PassiveEnvChecker,
], ids=["RecordEpisodeStatistics", "TimeLimit", "OrderEnforcing", "PassiveEnvChecker"])
def test_standard_wrappers_do_not_change_the_scores(env, wrap):
    oracle = lambda observation, mask: env.expert_action()  # noqa: E731
    bare = evaluate(env, oracle, episodes=20)
    assert evaluate(wrap(env), oracle, episodes=20) == bare
    assert bare["entity_f1"] == 1.0 and bare["truncated_episodes"] == 0


def test_vector_envs_are_refused_with_a_clear_error():
    envs = gym.make_vec("text_envs/NER-v0", num_envs=2, split="validation", encoder="tiny", cache_dir=None)
    with pytest.raises(TypeError, match="plays one env.*got the vector env SyncVectorEnv"):
        evaluate(envs, lambda observation: 0)
