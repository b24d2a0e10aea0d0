"""Shared fixtures: a tiny encoder and small datasets built in code (no downloads, no ../shared)."""

import pytest

import text_envs  # noqa: F401  (registers the env ids)

from text_envs.cache import chunk_layout, encode
from text_envs.data import load
from text_envs.encoders import Encoder
from text_envs.tasks import spec_of
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


@pytest.fixture
def one_thread():
    """One torch thread for a training test: PyTorch's two-thread pool slows small ops a
    hundredfold when another process holds a core (and closing a TorchRL ``SerialEnv`` raises
    the thread count, which this puts back for the tests that follow)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


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


#: env options that keep episodes short, so that a few hundred steps end many of them and the
#: cuts (max_chunks, max_source_tokens) are exercised
SHORT_EPISODES = {"SummarizeTokens-v0": {"max_summary_tokens": 6, "max_source_tokens": 24},
                  "ClassifyReading-v0": {"chunk_words": 3, "max_chunks": 4}, "Summarize-v0": {"max_sentences": 20}}


@pytest.fixture(scope="session")
def embedded_subsets(tiny):
    """The first examples of each task's embedded train split: every shape of example, small
    enough to replay. Each is encoded once here and the encodings are kept alive with the
    datasets: the cache's in-process registry (weak references) hands them to every env made
    over them."""
    subsets, encodings = {}, []
    for task, size in {"ner": 40, "qa": 24, "summarization": 16, "classification": 40}.items():
        data = load(task)
        subsets[task] = TaskDataset(task, f"embedded-first-{size}", "train", data.records[:size], data.labels)
        encodings.append(encode(subsets[task], tiny, progress=False))
    layout = chunk_layout(SHORT_EPISODES["ClassifyReading-v0"]["chunk_words"])
    encodings.append(encode(subsets["classification"], tiny, layout=layout, progress=False))
    yield subsets


@pytest.fixture
def kwargs_of(embedded_subsets, tiny):
    """``kwargs_of("NER-v0", **extra)``: make arguments of a registered env over its task's
    embedded subset, in memory, with short episodes."""
    def kwargs(name, **extra):
        return {"dataset": embedded_subsets[spec_of(name).records], "encoder": tiny, "cache_dir": None,
                **SHORT_EPISODES.get(name, {}), **extra}
    return kwargs
