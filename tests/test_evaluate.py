"""evaluate(): whole-split scoring with literature metrics, for every kind of policy."""

import numpy as np
import pytest
from seqeval.metrics import f1_score

from text_envs import evaluate
from text_envs.envs.ner import NerEnv


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
