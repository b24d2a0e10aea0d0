"""``datasets.Dataset`` / ``DatasetDict`` objects and ``save_to_disk`` folders as env data.

Every table is built in code with the features the hub datasets have (``ClassLabel`` labels,
conll2003's tag sequences, SQuAD's answer structs); nothing is downloaded.
"""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import pytest

from text_envs.data import load
from text_envs.data.local import load_local
from text_envs.records import Answer, RecordError

datasets = pytest.importorskip("datasets")
from datasets import ClassLabel, Dataset, DatasetDict, Features, Sequence, Value  # noqa: E402

TOPICS = ["World", "Sports", "Business", "Sci/Tech"]
CONLL_TAGS = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC"]


def news(n: int, offset: int = 0) -> Dataset:
    """AG News-like rows: text + ClassLabel topic."""
    features = Features({"text": Value("string"), "label": ClassLabel(names=TOPICS)})
    return Dataset.from_dict({"text": [f"story {offset + i} about {TOPICS[i % 4].lower()}" for i in range(n)],
                              "label": [i % 4 for i in range(n)]}, features=features)


def news_dict() -> DatasetDict:
    return DatasetDict({"train": news(12), "validation": news(4, 100), "test": news(4, 200)})


def conll(n: int) -> Dataset:
    """conll2003's features: id, tokens, pos/chunk tags and a ClassLabel sequence of NER tags."""
    features = Features({"id": Value("string"), "tokens": Sequence(Value("string")),
                         "pos_tags": Sequence(Value("int32")), "chunk_tags": Sequence(Value("int32")),
                         "ner_tags": Sequence(ClassLabel(names=CONLL_TAGS))})
    return Dataset.from_dict({"id": [str(i) for i in range(n)], "tokens": [["EU", "rejects", "German", "call"]] * n,
                              "pos_tags": [[22, 42, 16, 21]] * n, "chunk_tags": [[11, 21, 11, 12]] * n,
                              "ner_tags": [[3, 0, 7, 0]] * n}, features=features)


def squad(titles: list[str]) -> Dataset:
    """SQuAD's features: answers as a struct of parallel lists."""
    features = Features({"id": Value("string"), "title": Value("string"), "context": Value("string"),
                         "question": Value("string"),
                         "answers": Sequence({"text": Value("string"), "answer_start": Value("int32")})})
    context = "Denver won the game in 2016 at Levi's Stadium."
    rows = [{"id": f"{t}-q", "title": t, "context": context, "question": "Who won?",
             "answers": {"text": ["Denver", "Denver"], "answer_start": [0, 0]}} for t in titles]
    return Dataset.from_dict({key: [row[key] for row in rows] for key in rows[0]}, features=features)


def xsum(n: int) -> Dataset:
    """XSum-like rows: document and summary strings."""
    return Dataset.from_dict({"id": [f"d{i}" for i in range(n)],
                              "document": [f"First line {i}. It goes on.\nA new paragraph here." for i in range(n)],
                              "summary": [f"Line {i} goes on." for i in range(n)]})


# -- classification ----------------------------------------------------------------------------

def test_dataset_dict_with_class_labels():
    data = news_dict()
    train = load("classification", data, "train")
    assert (train.name, train.split, len(train)) == ("in-memory", "train", 12)
    assert train.labels == tuple(TOPICS)  # the ClassLabel order is the label index
    assert [(r.id, r.label) for r in train][:2] == [("train-0", "World"), ("train-1", "Sports")]
    assert load("classification", data, "dev")[0].text == "story 100 about world"  # split aliases


def test_a_dataset_is_one_split_taken_for_any_split_name():
    table = news(8)
    for split in ("train", "validation", "test"):
        loaded = load("classification", table, split)
        assert loaded.split == split and len(loaded) == 8 and loaded.labels == tuple(TOPICS)


def test_the_name_is_the_dataset_own_when_it_has_one():
    named = news(4)
    named.info.dataset_name = "my_news"  # as load_dataset sets it
    assert load("classification", named, "test").name == "my_news"
    assert load("classification", news(4), "test", name="topics").name == "topics"


def test_string_labels_share_one_label_set_over_every_split():
    data = DatasetDict({"train": Dataset.from_dict({"text": ["a b", "c d"], "label": ["spam", "ham"]}),
                        "test": Dataset.from_dict({"text": ["e f"], "label": ["eggs"]})})
    train, test = load("classification", data, "train"), load("classification", data, "test")
    assert train.labels == test.labels == ("eggs", "ham", "spam")
    assert load("classification", data, "test", labels=["eggs", "ham", "spam", "toast"]).labels[-1] == "toast"


def test_columns_option_maps_other_column_names():
    table = Dataset.from_dict({"body": ["x y", "z w"], "topic": ["a", "b"]})
    loaded = load("classification", table, "train", columns={"text": "body", "label": "topic"})
    assert [(r.text, r.label) for r in loaded] == [("x y", "a"), ("z w", "b")]


# -- the other tasks ---------------------------------------------------------------------------

def test_ner_with_conll2003_features():
    data = DatasetDict({"train": conll(3), "validation": conll(2), "test": conll(2)})
    loaded = load("ner", data, "validation")
    assert loaded[0].tokens == ("EU", "rejects", "German", "call")
    assert loaded[0].tags == ("B-ORG", "O", "B-MISC", "O") and [r.id for r in loaded] == ["0", "1"]
    assert loaded.labels == ("O", "B-LOC", "I-LOC", "B-MISC", "I-MISC", "B-ORG", "I-ORG", "B-PER", "I-PER")


def test_ner_iob1_tags_are_refused_or_converted():
    table = Dataset.from_dict({"tokens": [["Peter", "Blackburn"]], "tags": [["I-PER", "I-PER"]]})
    with pytest.raises(RecordError, match=r"Dataset 'in-memory', row 0: .*I-PER"):
        load("ner", table, "train")
    assert load("ner", table, "train", tag_scheme="iob1")[0].tags == ("B-PER", "I-PER")


def test_qa_with_squad_features():
    loaded = load("qa", DatasetDict({"train": squad(["A", "B"]), "validation": squad(["C"])}), "valid")
    record = loaded[0]
    assert (record.id, record.title, record.question) == ("C-q", "C", "Who won?")
    assert record.answers == (Answer("Denver", 0), Answer("Denver", 0))


def test_summarization_with_document_and_summary_strings():
    loaded = load("summarization", xsum(3), "test")
    assert loaded[1].sentences == ("First line 1.", "It goes on.", "A new paragraph here.")
    assert loaded[1].summary == ("Line 1 goes on.",)


# -- save_to_disk folders ----------------------------------------------------------------------

def test_save_to_disk_folders_of_a_dataset_dict_and_of_a_dataset(tmp_path: Path):
    news_dict().save_to_disk(str(tmp_path / "ag_news_small"))
    conll(3).save_to_disk(str(tmp_path / "conll_part"))
    loaded = load("classification", tmp_path / "ag_news_small", "validation")
    assert (loaded.name, loaded.split, len(loaded), loaded.labels) == ("ag_news_small", "validation", 4, tuple(TOPICS))
    tagged = load("ner", str(tmp_path / "conll_part"), "test")
    assert (tagged.name, len(tagged), tagged[0].tags[0]) == ("conll_part", 3, "B-ORG")
    with pytest.raises(ValueError, match=r"save_to_disk, not data files; load it with text_envs\.data\.load"):
        load_local("classification", tmp_path / "ag_news_small", "train")


# -- errors ------------------------------------------------------------------------------------

def test_missing_column_names_the_columns_and_the_option():
    with pytest.raises(ValueError, match=r"Dataset 'in-memory': no 'text' column .*columns are \['body', 'label'\]"
                                         r".*columns=\{'text': \.\.\.\}"):
        load("classification", Dataset.from_dict({"body": ["x"], "label": ["a"]}), "train")


def test_missing_split_names_the_splits_there_are():
    data = DatasetDict({"train": news(4), "test": news(4), "unsupervised": news(4)})
    with pytest.raises(ValueError, match=r"no validation split: its splits are 'train', 'test', 'unsupervised'"):
        load("classification", data, "validation")
    with pytest.raises(ValueError, match=r"two validation splits, 'validation' and 'dev'"):
        load("classification", DatasetDict({"validation": news(2), "dev": news(2)}), "train")


def test_bad_rows_and_mixed_label_kinds_name_the_row():
    with pytest.raises(RecordError, match=r"Dataset 'in-memory', row 1: .*empty"):
        load("classification", Dataset.from_dict({"text": ["fine", " "], "label": ["a", "b"]}), "train")
    with pytest.raises(RecordError, match=r"as class indices \(first at .*, row 0\) and as names \(first at .*, row 1\)"):
        load("classification", Dataset.from_dict({"text": ["x", "y"], "label": ["1", "positive"]}), "train")


def test_other_objects_are_refused_by_type():
    with pytest.raises(TypeError, match=r"a local path, or a datasets\.Dataset or DatasetDict, not list"):
        load("classification", [{"text": "x", "label": "a"}], "train")


# -- envs --------------------------------------------------------------------------------------

def test_env_made_from_a_dataset_dict_steps_and_caches_by_content(tmp_path: Path):
    env = gym.make("text_envs/Classify-v0", dataset=news_dict(), split="validation", encoder="tiny",
                   cache_dir=tmp_path)
    obs, info = env.reset(seed=0)
    assert env.observation_space.contains(obs)
    _, reward, terminated, _, info = env.step(0)
    assert terminated and reward in (0.0, 1.0) and "accuracy" in info["metrics"]
    base = env.unwrapped
    assert base.data.name == "in-memory" and [p.name.split("-")[:3] for p in tmp_path.iterdir()] == \
        [["classification", "in", "memory"]]
    # the entry is keyed by the records, not by the object or its name: equal data shares it, other data does not
    again = gym.make("text_envs/Classify-v0", dataset=news_dict(), split="validation", encoder="tiny",
                     cache_dir=tmp_path).unwrapped
    assert again.encoded.fingerprint == base.encoded.fingerprint
    other = DatasetDict({"validation": news(4, 300)})
    changed = gym.make("text_envs/Classify-v0", dataset=other, split="validation", encoder="tiny",
                       cache_dir=tmp_path).unwrapped
    assert changed.encoded.fingerprint != base.encoded.fingerprint and len(list(tmp_path.iterdir())) == 2
