"""Baselines: random (valid actions only), heuristics (majority tag, Lead-3, majority label), supervised."""

import numpy as np
import pytest

from agents.baselines import RandomAgent, SupervisedAgent, heuristic_scores
from text_envs import evaluate
from text_envs.records import ClassificationRecord, SummarizationRecord, TaggingRecord, TaskDataset, bio_tag_set
from text_envs.tasks import spec_of

TINY = {"encoder": "tiny", "cache_dir": None}


def test_random_agent_only_picks_valid_actions_and_is_seeded():
    mask = np.array([False, True, False, True, True])
    picks = [RandomAgent(3)(None, mask) for _ in range(3)]
    agent = RandomAgent(3)
    assert picks == [agent(None, mask)] * 3  # fresh agents with one seed start alike
    seen = {agent(None, mask) for _ in range(200)}
    assert seen == {1, 3, 4}


def test_majority_tag_is_per_word_and_unseen_words_are_outside():
    tags = bio_tag_set(["PER", "LOC"])
    train = TaskDataset("ner", "toy", "train", [
        TaggingRecord("a", ["Paris", "is", "big"], ["B-LOC", "O", "O"]),
        TaggingRecord("b", ["Paris", "Hilton"], ["B-PER", "I-PER"]),
        TaggingRecord("c", ["Paris", "again"], ["B-LOC", "O"])], tags)
    test = TaskDataset("ner", "toy", "test", [TaggingRecord("t", ["Paris", "Hilton", "sings"], ["B-PER", "I-PER", "O"])],
                       tags)
    assert spec_of("NER").heuristic_predictions(train, test) == {0: ["B-LOC", "I-PER", "O"]}


def test_lead_three_and_majority_label():
    docs = TaskDataset("summarization", "toy", "test", [
        SummarizationRecord("d", ["One.", "Two.", "Three.", "Four."], ["One."])])
    for name in ("Summarize", "SummarizeTokens"):
        assert spec_of(name).heuristic_predictions(docs, docs) == {0: ["One.", "Two.", "Three."]}
    texts = TaskDataset("classification", "toy", "train", [
        ClassificationRecord(str(i), f"text {i}", "b" if i % 3 else "a") for i in range(6)], ("a", "b"))
    for name in ("Classify", "ClassifyReading"):
        assert set(spec_of(name).heuristic_predictions(texts, texts).values()) == {"b"}


def test_qa_has_no_heuristic():
    assert heuristic_scores("QA") is None and spec_of("QA").heuristic is None
    with pytest.raises(NotImplementedError, match="QA has no heuristic baseline"):
        from text_envs.data import load
        spec_of("QA").heuristic_predictions(load("qa", "embedded", "train"), load("qa", "embedded", "test"))


def test_heuristic_scores_on_the_embedded_sets_beat_chance():
    assert heuristic_scores("NER")["entity_f1"] > 0.4
    assert heuristic_scores("text_envs/Summarize-v0")["rouge1"] > 0.3
    assert 0.2 < heuristic_scores("Classify")["accuracy"] < 0.5  # four balanced-ish classes


@pytest.mark.parametrize("env_id, metric, margin", [("text_envs/Classify-v0", "accuracy", 0.1),
                                                    ("text_envs/NER-v0", "token_accuracy", 0.4)])
def test_supervised_agent_beats_random_clearly(env_id, metric, margin):
    """The tiny random encoder's features are weak (hence the margins); MiniLM's are not."""
    agent = SupervisedAgent.fit(env_id, env_kwargs=TINY, epochs=5, batch_size=64,
                                policy_kwargs={"hidden_sizes": (64,)}, seed=0, device="cpu")
    supervised = evaluate(env_id, agent, split="validation", episodes=150, **TINY)[metric]
    random = evaluate(env_id, RandomAgent(0), split="validation", episodes=150, **TINY)[metric]
    assert supervised > random + margin, (supervised, random)


def test_supervised_fit_asks_the_expert_once_per_step_of_the_first_pass(monkeypatch):
    """Later passes replay the expert's actions: Summarize's greedy ROUGE expert is slow."""
    from text_envs.tasks.summarize.env import SummarizeEnv

    calls = []
    expert_action = SummarizeEnv.expert_action
    monkeypatch.setattr(SummarizeEnv, "expert_action", lambda self: calls.append(1) or expert_action(self))
    kwargs = {**TINY, "split": "validation"}
    agent = SupervisedAgent.fit("text_envs/Summarize-v0", env_kwargs=kwargs, epochs=3,
                                policy_kwargs={"hidden_sizes": (16,)}, device="cpu")
    assert agent.samples_seen == 3 * len(calls) > 0
