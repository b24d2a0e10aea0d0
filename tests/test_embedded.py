"""The embedded default datasets: sizes, determinism, clean splits, and that each task is
learnable but not trivial (measured with simple baselines written here)."""

from __future__ import annotations

import collections
import json
import math
import os
import re
import subprocess
import sys
from importlib import import_module

import pytest
from seqeval.metrics import f1_score

from text_envs.data import load
from text_envs.data.embedded import qa
from text_envs.records import SPLITS, TASKS, bio_tag_set, entity_type

SIZES = {
    "ner": {"train": 1500, "validation": 300, "test": 300},
    "qa": {"train": 800, "validation": 200, "test": 200},
    "summarization": {"train": 800, "validation": 200, "test": 200},
    "classification": {"train": 1500, "validation": 300, "test": 300},
}


def splits(task: str) -> dict:
    return {split: load(task, "embedded", split) for split in SPLITS}


def example_text(record) -> str:
    """The text an example is about: what must never appear in two splits."""
    for attribute in ("context", "text"):
        if hasattr(record, attribute):
            return getattr(record, attribute)
    return " ".join(record.sentences)


def words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


# --- every task ------------------------------------------------------------------------

@pytest.mark.parametrize("task", TASKS)
def test_splits_load_with_the_expected_sizes(task):
    for split, dataset in splits(task).items():
        assert dataset.task == task and dataset.name == "embedded" and dataset.split == split
        assert len(dataset) == SIZES[task][split]


@pytest.mark.parametrize("task", TASKS)
def test_loading_again_is_free_and_aliases_work(task):
    assert load(task, "embedded", "test") is load(task, "embedded", "test")
    assert load(task, "embedded", "dev") is load(task, "embedded", "validation")


@pytest.mark.parametrize("task", TASKS)
def test_generation_is_deterministic(task):
    again = import_module(f"text_envs.data.embedded.{task}").generate()
    for split, dataset in splits(task).items():
        assert again[split] == dataset.records


def test_fingerprints_do_not_depend_on_the_hash_seed():
    script = ("import json; from text_envs.data import load; from text_envs.records import SPLITS, TASKS; "
              "print(json.dumps({f'{t}/{s}': load(t, 'embedded', s).fingerprint for t in TASKS for s in SPLITS}))")
    here = {f"{task}/{split}": dataset.fingerprint for task in TASKS for split, dataset in splits(task).items()}
    for seed in ("1", "4242"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True)
        assert json.loads(out.stdout) == here


@pytest.mark.parametrize("task", TASKS)
def test_ids_are_unique_across_splits_and_name_their_split(task):
    ids = [record.id for dataset in splits(task).values() for record in dataset]
    assert len(ids) == len(set(ids))
    for split, dataset in splits(task).items():
        assert all(re.fullmatch(rf"{task}-{split}-\d{{5}}", record.id) for record in dataset)


@pytest.mark.parametrize("task", TASKS)
def test_no_example_text_is_in_two_splits(task):
    texts = {split: {example_text(record) for record in dataset} for split, dataset in splits(task).items()}
    assert not texts["train"] & texts["validation"]
    assert not texts["train"] & texts["test"]
    assert not texts["validation"] & texts["test"]


@pytest.mark.parametrize("task", TASKS)
def test_label_sets_are_the_same_in_every_split(task):
    labels = {dataset.labels for dataset in splits(task).values()}
    assert len(labels) == 1


# --- NER -------------------------------------------------------------------------------

def test_ner_has_every_type_multi_word_entities_and_plain_sentences():
    for dataset in splits("ner").values():
        assert dataset.labels == bio_tag_set(["PER", "LOC", "ORG", "MISC"])
        tags = collections.Counter(tag for record in dataset for tag in record.tags)
        assert all(tags[label] > 0 for label in dataset.labels), tags
        assert any(all(tag == "O" for tag in record.tags) for record in dataset)
        lengths = [len(record.tokens) for record in dataset]
        assert min(lengths) <= 6 and max(lengths) >= 30 and max(lengths) <= 50


def test_ner_entities_are_not_split():
    """Two slots of one type side by side would make one name two entities (B-PER B-PER)."""
    for dataset in splits("ner").values():
        for record in dataset:
            assert not any(a == b and a.startswith("B-") for a, b in zip(record.tags, record.tags[1:])), record


def test_ner_same_word_takes_different_types_in_different_contexts():
    types = collections.defaultdict(set)
    for record in load("ner", "embedded", "train"):
        for token, tag in zip(record.tokens, record.tags):
            types[token].add(entity_type(tag))
    for word, expected in [("Jordan", {"PER", "LOC"}), ("Washington", {"PER", "LOC", "ORG"}),
                           ("Paris", {"PER", "LOC"}), ("Ford", {"PER", "ORG"}), ("May", {"PER", None})]:
        assert expected <= types[word], (word, types[word])
    assert sum(len(kinds - {None}) >= 2 for kinds in types.values()) >= 30


def test_ner_most_frequent_tag_baseline_is_well_short_of_perfect():
    counts = collections.defaultdict(collections.Counter)
    for record in load("ner", "embedded", "train"):
        for token, tag in zip(record.tokens, record.tags):
            counts[token][tag] += 1
    test = load("ner", "embedded", "test")
    predicted = [[counts[t].most_common(1)[0][0] if t in counts else "O" for t in r.tokens] for r in test]
    f1 = f1_score([list(r.tags) for r in test], predicted)
    assert 0.3 < f1 < 0.8  # measured: 0.60


# --- QA --------------------------------------------------------------------------------

def test_qa_answers_match_their_offsets_and_vary_in_length():
    lengths = collections.Counter()
    for dataset in splits("qa").values():
        for record in dataset:
            assert record.title and record.question.endswith("?")
            for answer in record.answers:
                assert record.context[answer.start:answer.end] == answer.text
                lengths[len(answer.text.split())] += 1
    assert lengths[1] and lengths[2] and lengths[3] and sum(n for size, n in lengths.items() if size >= 5)


def test_qa_answers_are_spread_through_the_paragraphs():
    first_sentence = later = 0
    train = load("qa", "embedded", "train")
    for record in train:
        sentence = len(re.findall(r"[.] (?=[A-Z])", record.context[:record.answers[0].start]))
        first_sentence += sentence == 0
        later += sentence >= 3
    assert first_sentence < 0.5 * len(train)
    assert later > 0.15 * len(train)


def test_qa_paragraphs_hold_distractors_of_the_answer_type():
    years = [r for r in load("qa", "embedded", "train") if re.fullmatch(r"\d{4}", r.answers[0].text)]
    with_other_year = [r for r in years if set(re.findall(r"\b\d{4}\b", r.context)) - {r.answers[0].text}]
    assert len(years) > 100 and len(with_other_year) > 0.6 * len(years)


def test_qa_questions_only_use_slots_of_their_own_sentence():
    """A question that named a slot absent from its fact's sentence would draw a value the
    paragraph never mentions."""
    for topic in qa.TOPICS:
        for fact in (topic.intro, *topic.facts):
            in_sentence = set(re.findall(r"\{(\w+)\}", fact.sentence)) | {"name", "short"}
            for slot, phrasings in fact.questions.items():
                assert slot in in_sentence
                for question in phrasings:
                    assert set(re.findall(r"\{(\w+)\}", question)) <= in_sentence, question


# --- summarisation ---------------------------------------------------------------------

def summary_positions(record) -> list[int]:
    """The index of the document sentence each summary sentence was taken from (a summary
    sentence may be the document sentence without an opening phrase or attribution)."""
    return [next(i for i, sentence in enumerate(record.sentences) if line.rstrip(".").lower() in sentence.lower())
            for line in record.summary]


def test_summaries_are_near_extractive_and_not_always_the_lead():
    train = load("summarization", "embedded", "train")
    beyond_lead = lead_is_summary = 0
    for record in train:
        assert 6 <= len(record.sentences) <= 20 and 2 <= len(record.summary) <= 4 and record.title
        positions = summary_positions(record)
        assert positions == sorted(positions)
        beyond_lead += max(positions) >= 3
        lead_is_summary += record.summary == record.sentences[:3]
    assert beyond_lead > 0.4 * len(train)
    assert 0 < lead_is_summary < 0.2 * len(train)  # measured: about 4%


def test_summaries_sometimes_shorten_the_document_sentence():
    train = load("summarization", "embedded", "train")
    shortened = sum(line not in record.sentences for record in train for line in record.summary)
    assert shortened > 50


# --- classification --------------------------------------------------------------------

def test_classification_classes_are_balanced():
    for dataset in splits("classification").values():
        assert len(dataset.labels) >= 4
        counts = collections.Counter(record.label for record in dataset)
        assert set(counts) == set(dataset.labels)
        assert len(set(counts.values())) == 1


def naive_bayes(train):
    """Multinomial naive Bayes over lower-cased words, add-one smoothing."""
    counts = {label: collections.Counter() for label in train.labels}
    for record in train:
        counts[record.label].update(words(record.text))
    vocabulary = set().union(*counts.values())
    totals = {label: sum(c.values()) + len(vocabulary) for label, c in counts.items()}

    def predict(text: str) -> str:
        return max(counts, key=lambda label: sum(math.log((counts[label][w] + 1) / totals[label])
                                                 for w in words(text)))
    return predict


def test_classification_bag_of_words_is_good_but_not_perfect():
    predict = naive_bayes(load("classification", "embedded", "train"))
    test = load("classification", "embedded", "test")
    accuracy = sum(predict(record.text) == record.label for record in test) / len(test)
    assert 0.7 < accuracy < 0.98  # chance is 0.25; measured: 0.94
