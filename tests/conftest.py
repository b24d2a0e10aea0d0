"""Shared fixtures: a tiny encoder and small datasets built in code (no downloads, no ../shared)."""

import pytest

import text_envs  # noqa: F401  (registers the env ids)

from text_envs.encoders import Encoder
from text_envs.records import (Answer, ClassificationRecord, QARecord, SummarizationRecord, TaggingRecord,
                               TaskDataset, bio_tag_set)


@pytest.fixture(autouse=True, scope="session")
def private_cache_dir(tmp_path_factory):
    """Envs cache encodings on disk by default: keep the tests' out of the user's cache."""
    import os
    folder = tmp_path_factory.mktemp("text-envs-cache")
    previous = os.environ.get("TEXT_ENVS_CACHE")
    os.environ["TEXT_ENVS_CACHE"] = str(folder)
    yield folder
    if previous is None:
        del os.environ["TEXT_ENVS_CACHE"]
    else:
        os.environ["TEXT_ENVS_CACHE"] = previous


@pytest.fixture(scope="session")
def tiny():
    return Encoder("tiny", device="cpu")


@pytest.fixture
def ner_dataset():
    records = [TaggingRecord(f"s{i}", ["John", "Smith", "visited", "New", "York", "on", "Monday", "."][: 3 + i % 6],
                             ["B-PER", "I-PER", "O", "B-LOC", "I-LOC", "O", "O", "O"][: 3 + i % 6])
               for i in range(40)]
    return TaskDataset("ner", "toy", "train", records, bio_tag_set(["PER", "LOC"]))


@pytest.fixture
def mixed_datasets(ner_dataset):
    """One small dataset per task."""
    context = "The bridge opened in 1932. It spans the river at Millford and is 400 metres long."
    qa = TaskDataset("qa", "toy", "train", [
        QARecord(f"q{i}", question, context, [Answer(answer, context.index(answer))])
        for i, (question, answer) in enumerate([("When did the bridge open?", "1932"),
                                                 ("Where is the bridge?", "Millford"),
                                                 ("How long is it?", "400 metres")])])
    summarization = TaskDataset("summarization", "toy", "train", [
        SummarizationRecord(f"d{i}", [f"Sentence {j} of document {i}." for j in range(2 + i)],
                            [f"Sentence 1 of document {i}."]) for i in range(5)])
    classification = TaskDataset("classification", "toy", "train", [
        ClassificationRecord(f"c{i}", f"text number {i} about {'sport' if i % 2 else 'money'}",
                             "sport" if i % 2 else "business") for i in range(10)], ("business", "sport"))
    return {"ner": ner_dataset, "qa": qa, "summarization": summarization, "classification": classification}
