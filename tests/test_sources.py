"""Data sources: local file formats, seeded splits, sentence splitting and hub adapters.

Every test writes its own small files into tmp_path; nothing here reads ../shared or the
network. The hub tests build datasets with the hub schemas (ClassLabel included), save
them to disk, and stand in for ``datasets.load_dataset``, so the adapters run end to end.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path

import pytest

from text_envs.data import load
from text_envs.data.columns import RowConverter, label_name
from text_envs.data.local import guess_format, load_local
from text_envs.data.sentences import split_paragraphs, split_sentences
from text_envs.data.splits import assign_splits, check_fractions
from text_envs.records import SPLITS, Answer, RecordError

# --- helpers -----------------------------------------------------------------------------


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    return write(path, "".join(json.dumps(row) + "\n" for row in rows))


def write_csv(path: Path, rows: list[list], delimiter: str = ",") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as file:
        csv.writer(file, delimiter=delimiter, quoting=csv.QUOTE_MINIMAL).writerows(rows)
    return path


def all_splits(task: str, path: Path, **options):
    return {split: load(task, path, split, **options) for split in SPLITS}


def ids(ds) -> list[str]:
    return [record.id for record in ds]


def assert_partition(parts: dict, total: int) -> None:
    """Every record in exactly one split."""
    every = [i for split in SPLITS for i in ids(parts[split])]
    assert len(every) == len(set(every)) == total


CONLL_TRAIN = """\
-DOCSTART- -X- -X- O

EU NNP B-NP B-ORG
rejects VBZ B-VP O
German JJ B-NP B-MISC
call NN I-NP O

Peter NNP B-NP B-PER
Blackburn NNP I-NP I-PER
"""
CONLL_VALID = "Paris NNP B-NP B-LOC\nis VBZ B-VP O\nnice JJ B-NP O\n"
CONLL_TEST = "New NNP B-NP B-LOC\nYork NNP I-NP I-LOC\nTimes NNP I-NP B-ORG\n\nhello UH O O\n"


@pytest.fixture
def conll_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "conll"
    write(folder / "train.txt", CONLL_TRAIN)
    write(folder / "valid.txt", CONLL_VALID)
    write(folder / "test.txt", CONLL_TEST)
    write(folder / "README.md", "not data\n")
    return folder


# --- CoNLL -------------------------------------------------------------------------------


def test_conll_folder_of_split_files(conll_dir: Path):
    parts = all_splits("ner", conll_dir)
    train = parts["train"]
    assert [r.tokens for r in train] == [("EU", "rejects", "German", "call"), ("Peter", "Blackburn")]
    assert train[0].tags == ("B-ORG", "O", "B-MISC", "O")
    assert ids(train) == ["train-3", "train-8"]  # file stem and first line; -DOCSTART- skipped
    assert train.name == "conll" and [len(parts[s]) for s in SPLITS] == [2, 1, 2]


def test_conll_label_set_is_the_union_of_all_split_files(conll_dir: Path):
    parts = all_splits("ner", conll_dir)
    expected = ("O", "B-LOC", "I-LOC", "B-MISC", "I-MISC", "B-ORG", "I-ORG", "B-PER", "I-PER")
    assert all(parts[s].labels == expected for s in SPLITS)  # validation has only LOC, train no LOC


@pytest.mark.parametrize("alias", ["valid", "val", "dev", "validation"])
def test_split_aliases(conll_dir: Path, alias: str):
    ds = load("ner", conll_dir, alias)
    assert ds.split == "validation" and ids(ds) == ["valid-1"]


def test_split_file_names_with_dev_and_extra_parts(tmp_path: Path):
    folder = tmp_path / "sst"
    write(folder / "stsa.binary.train", "1 good\n0 bad\n")
    write(folder / "stsa.binary.dev", "1 great\n")
    write(folder / "stsa.binary.test", "0 awful\n")
    assert ids(load("classification", folder, "validation")) == ["stsa.binary.dev-1"]


def test_conll_tag_column_option(tmp_path: Path):
    path = write(tmp_path / "d" / "train.conll", "Ada B-PER NNP\nsings O VBZ\n")
    write(tmp_path / "d" / "test.conll", "Bob B-PER NNP\n")
    ds = load("ner", tmp_path / "d", "train", tag_column=1)
    assert ds[0].tags == ("B-PER", "O")
    with pytest.raises(RecordError, match=rf"{path.name}, line 1: .*not a BIO tag"):
        load("ner", tmp_path / "d", "train")  # the last column is a POS tag


def test_conll_line_without_a_tag_is_an_error_naming_file_and_line(tmp_path: Path):
    path = write(tmp_path / "bad.conll", "Ada B-PER\nsings\n")
    with pytest.raises(RecordError, match=rf"bad.conll, line 2: 1 column"):
        load("ner", path, "train")
    assert path.exists()


def test_conll_bad_bio_tag_names_file_and_line(tmp_path: Path):
    write(tmp_path / "d" / "train.txt", "Ada B-PER\n\nBob PER\nsings O\n")
    write(tmp_path / "d" / "test.txt", "x O\n")
    with pytest.raises(RecordError, match=r"train.txt, line 3: record 'train-3': token 0 \('Bob'\)"):
        load("ner", tmp_path / "d", "train")


def test_single_conll_file_is_split_by_document(tmp_path: Path):
    lines = []
    for doc in range(10):
        lines.append("-DOCSTART- -X- O O\n\n")
        for sentence in range(3):
            lines.append(f"doc{doc} O\nsent{sentence} B-MISC\n\n")
    path = write(tmp_path / "all.txt", "".join(lines))
    parts = all_splits("ner", path, seed=3)
    assert_partition(parts, 30)
    for split in SPLITS:
        docs = Counter(r.tokens[0] for r in parts[split])
        assert all(count == 3 for count in docs.values())  # a document's sentences stay together
    assert [len({r.tokens[0] for r in parts[s]}) for s in SPLITS] == [8, 1, 1]


def test_a_conll_file_of_conll2003_train_size_loads(tmp_path: Path):
    sentence = "".join(f"w{i} {'B-PER' if i % 5 == 0 else 'O'}\n" for i in range(14)) + "\n"
    write(tmp_path / "big" / "train.txt", sentence * 14000)
    write(tmp_path / "big" / "test.txt", sentence)
    assert len(load("ner", tmp_path / "big", "train")) == 14000


# --- SQuAD JSON --------------------------------------------------------------------------


def squad_json(articles: int, questions_per_article: int = 2) -> dict:
    data = []
    for a in range(articles):
        context = f"Article {a} is about topic {a}. It was written in {1900 + a}."
        qas = [{"id": f"a{a}q{q}", "question": f"When was article {a} written?",
                "answers": [{"text": str(1900 + a), "answer_start": context.index(str(1900 + a))}] * 3}
               for q in range(questions_per_article)]
        data.append({"title": f"Title_{a}", "paragraphs": [{"context": context, "qas": qas}]})
    return {"version": "1.1", "data": data}


def test_squad_json_is_split_by_article_contiguously(tmp_path: Path):
    path = tmp_path / "squad" / "dev-v1.1.json"
    write(path, json.dumps(squad_json(48)))
    parts = all_splits("qa", path.parent)  # a folder with one (dev) file: the whole dataset
    titles = {s: list(dict.fromkeys(r.title for r in parts[s])) for s in SPLITS}
    assert [len(titles[s]) for s in SPLITS] == [32, 6, 10]
    assert titles["train"] == [f"Title_{a}" for a in range(32)]
    assert titles["validation"] == [f"Title_{a}" for a in range(32, 38)]
    assert titles["test"] == [f"Title_{a}" for a in range(38, 48)]
    assert_partition(parts, 96)
    record = parts["train"][0]
    assert record.id == "a0q0" and len(record.answers) == 3  # every gold answer kept
    assert record.context[record.answers[0].start:record.answers[0].end] == "1900"


def test_squad_answer_offset_mismatch_names_file_and_question(tmp_path: Path):
    content = squad_json(2)
    content["data"][1]["paragraphs"][0]["qas"][1]["answers"][0]["answer_start"] = 3
    path = write(tmp_path / "bad.json", json.dumps(content))
    with pytest.raises(RecordError, match=r"bad.json, data\[1\].paragraphs\[0\].qas\[1\]: record 'a1q1': "
                                          r"answers\[0\] offset 3 does not match"):
        load("qa", path, "train")


def test_squad_skips_unanswerable_and_reports_missing_fields(tmp_path: Path):
    content = squad_json(8)
    content["data"][0]["paragraphs"][0]["qas"].append({"id": "x", "question": "?", "answers": [],
                                                       "is_impossible": True})
    path = write(tmp_path / "v2.json", json.dumps(content))
    assert "x" not in {i for s in SPLITS for i in ids(load("qa", path, s))}
    del content["data"][2]["paragraphs"][0]["context"]
    write(path, json.dumps(content))
    with pytest.raises(RecordError, match=r"data\[2\].paragraphs\[0\]: missing field 'context'"):
        load("qa", path, "train")
    write(path, json.dumps([1, 2]))
    with pytest.raises(RecordError, match="not SQuAD-format JSON"):
        load("qa", path, "train")


# --- JSONL and CSV -----------------------------------------------------------------------


def test_jsonl_ner_with_integer_tags_and_label_names(tmp_path: Path):
    path = write_jsonl(tmp_path / "ner.jsonl", [
        {"id": str(i), "tokens": ["Ada", "met", "Bob"], "ner_tags": [1, 0, 1]} for i in range(10)])
    ds = load("ner", path, "train", label_names=["O", "B-PER", "I-PER"])
    assert ds[0].tags == ("B-PER", "O", "B-PER") and ds.labels == ("O", "B-PER", "I-PER")
    with pytest.raises(RecordError, match="label index 7 is out of range"):
        load("ner", write_jsonl(tmp_path / "x.jsonl", [{"tokens": ["a"], "tags": [7]}]), "train",
             label_names=["O"], split_fractions=(1, 0, 0))


def test_jsonl_tags_not_aligned_with_tokens(tmp_path: Path):
    path = write_jsonl(tmp_path / "ner.jsonl", [{"tokens": ["a", "b"], "tags": ["O", "O"]},
                                                {"tokens": ["Ada", "sings"], "tags": ["B-PER"]}])
    with pytest.raises(RecordError, match=r"ner.jsonl, line 2: record 'ner-2': 1 tags for 2 tokens"):
        load("ner", path, "train")


def test_jsonl_qa_with_hub_style_answers_and_offset_error(tmp_path: Path):
    good = {"id": "q1", "title": "T", "context": "Ada lives in Paris.", "question": "Where?",
            "answers": {"text": ["Paris", "Paris."], "answer_start": [13, 13]}}
    path = write_jsonl(tmp_path / "qa.jsonl", [good])
    record = load("qa", path, "test", split_fractions=(0, 0, 1))[0]
    assert record.answers == (Answer("Paris", 13), Answer("Paris.", 13)) and record.title == "T"
    bad = {**good, "id": "q2", "answers": [{"text": "Paris", "answer_start": 2}]}
    write_jsonl(path, [good, bad])
    with pytest.raises(RecordError, match=r"qa.jsonl, line 2: record 'q2': answers\[0\] offset 2"):
        load("qa", path, "train")


def test_jsonl_summarization_bbc_style(tmp_path: Path):
    rows = []
    for i, category in enumerate(["business", "sport"] * 10):
        article = (f"Story {i} title\n\nProfits rose to $10.9bn this year. Mr. Smith said so.\n\n"
                   f"\"We are happy,\" he said. Sales fell in the U.S. market.")
        summary = "Profits rose to $10.9bn this year.\"We are happy,\" he said.Mr. Smith said so."
        rows.append({"id": f"{category}/{i:03d}", "category": category, "title": f"Story {i} title",
                     "article": article, "summary": summary})
    path = write_jsonl(tmp_path / "bbc.jsonl", rows)
    parts = all_splits("summarization", path)
    record = parts["train"][0]
    assert record.sentences == ("Profits rose to $10.9bn this year.", "Mr. Smith said so.",
                                "\"We are happy,\" he said.", "Sales fell in the U.S. market.")
    assert record.summary == ("Profits rose to $10.9bn this year.", "\"We are happy,\" he said.",
                              "Mr. Smith said so.")
    assert record.title.endswith("title")  # the title paragraph is the title, not a sentence
    assert_partition(parts, 20)
    for split, size in zip(SPLITS, (8, 1, 1)):  # stratified by category: 10 each -> 8 / 1 / 1
        assert Counter(r.id.split("/")[0] for r in parts[split]) == {"business": size, "sport": size}


def test_summarization_lists_and_newline_highlights(tmp_path: Path):
    path = write_jsonl(tmp_path / "s.jsonl", [
        {"document": ["First sentence.", "Second one."], "highlights": "Point one\nPoint two. And more."}])
    record = load("summarization", path, "train", split_fractions=(1, 0, 0))[0]
    assert record.sentences == ("First sentence.", "Second one.")
    assert record.summary == ("Point one", "Point two.", "And more.")
    assert record.id == "s-1"


def test_csv_classification_with_column_overrides_and_stratified_split(tmp_path: Path):
    rows = [["review", "stars", "id"]] + [[f"text {i}", "good" if i % 4 else "bad", f"r{i}"] for i in range(40)]
    path = write_csv(tmp_path / "reviews.csv", rows)
    parts = all_splits("classification", path, columns={"text": "review", "label": "stars"}, seed=1)
    assert parts["train"].labels == ("bad", "good")
    assert_partition(parts, 40)
    assert [Counter(r.label for r in parts[s]) for s in SPLITS] == [
        {"good": 24, "bad": 8}, {"good": 3, "bad": 1}, {"good": 3, "bad": 1}]


def test_csv_and_tsv_default_columns_for_every_task(tmp_path: Path):
    folder = tmp_path / "csvs"
    write_csv(folder / "ner" / "train.csv", [["tokens", "tags"], ["Ada sings", "B-PER O"]])
    write_csv(folder / "ner" / "test.csv", [["tokens", "tags"], ["Bob", "B-PER"]])
    answers = json.dumps([{"text": "Paris", "answer_start": 13}])  # a JSON cell
    write_csv(folder / "qa" / "train.tsv", [["context", "question", "answers"],
                                             ["Ada lives in Paris.", "Where?", answers]], delimiter="\t")
    write_csv(folder / "qa" / "test.tsv", [["context", "question", "answer", "answer_start"],
                                            ["Bob is in Rome.", "Where?", "Rome", "10"]], delimiter="\t")
    write_csv(folder / "clf" / "train.csv", [["sentence", "label"], ["good", "1"], ["bad", "0"]])
    write_csv(folder / "clf" / "test.csv", [["sentence", "label"], ["fine", "1"]])
    assert load("ner", folder / "ner", "train")[0].tags == ("B-PER", "O")
    assert load("qa", folder / "qa", "train")[0].answers == (Answer("Paris", 13),)
    assert load("qa", folder / "qa", "test")[0].answers == (Answer("Rome", 10),)
    clf = load("classification", folder / "clf", "train", label_names=["negative", "positive"])
    assert [r.label for r in clf] == ["positive", "negative"] and clf.labels == ("negative", "positive")
    assert load("classification", folder / "clf", "train").labels == ("0", "1")


def test_csv_empty_text_names_file_and_line(tmp_path: Path):
    path = write_csv(tmp_path / "d.csv", [["text", "label"], ["fine", "a"], ["  ", "b"]])
    with pytest.raises(RecordError, match=r"d.csv, line 3: record 'd-3': text is empty"):
        load("classification", path, "train")


def test_missing_column_is_a_clear_error(tmp_path: Path):
    path = write_jsonl(tmp_path / "d.jsonl", [{"body": "x", "label": "a"}])
    with pytest.raises(ValueError, match=r"d.jsonl: no 'text' column .*columns=\{'text': \.\.\.\}"):
        load("classification", path, "train")
    with pytest.raises(ValueError, match="no column 'content'"):
        load("classification", path, "train", columns={"text": "content"})
    with pytest.raises(ValueError, match="unknown column role"):
        load("classification", path, "train", columns={"body": "text"})


def test_unknown_label_with_a_given_label_set(tmp_path: Path):
    path = write_jsonl(tmp_path / "d.jsonl", [{"text": f"t{i}", "label": "neutral" if i == 3 else "positive"}
                                              for i in range(10)])
    with pytest.raises(RecordError, match=r"d.jsonl: record 'd-4': unknown label 'neutral'"):
        load("classification", path, "train", labels=["negative", "positive"], split_fractions=(1, 0, 0))


# --- AG News and SST ---------------------------------------------------------------------


def test_ag_news_csv_with_classes_file(tmp_path: Path):
    folder = tmp_path / "ag_news"
    write(folder / "classes.txt", "World\nSports\nBusiness\nSci/Tech\n")
    rows = [[str(c), f"Title {c}-{i}", f"Line one\\line two {i}"] for i in range(10) for c in (1, 2, 3, 4)]
    rows[0][1] = "Is it over?"
    write_csv(folder / "test.csv", rows)
    assert guess_format(folder / "test.csv") == "ag_news"
    parts = all_splits("classification", folder)
    assert parts["test"].labels == ("World", "Sports", "Business", "Sci/Tech")
    assert_partition(parts, 40)
    for split, size in zip(SPLITS, (8, 1, 1)):
        assert Counter(r.label for r in parts[split]) == {name: size for name in parts["test"].labels}
    everything = {r.id: r for s in SPLITS for r in parts[s]}
    assert everything["test-1"].text == "Is it over? Line one\nline two 0"
    assert everything["test-2"].text == "Title 2-0. Line one\nline two 0" and everything["test-2"].label == "Sports"


def test_ag_news_bad_class_index(tmp_path: Path):
    path = write_csv(tmp_path / "train.csv", [["1", "a", "b"], ["x", "c", "d"]])
    with pytest.raises(RecordError, match=r"train.csv, line 2: expected a class index"):
        load("classification", path, "train", format="ag_news")


def test_sst_lines_named_labels_and_empty_text(tmp_path: Path):
    folder = tmp_path / "sst2"
    write(folder / "stsa.binary.train", "1 a stirring , funny film\n0 apparently reassembled\n")
    write(folder / "stsa.binary.dev", "1 good\n")
    write(folder / "stsa.binary.test", "0 bad\n")
    ds = load("classification", folder, "train")
    assert [(r.label, r.text) for r in ds] == [("positive", "a stirring , funny film"),
                                                 ("negative", "apparently reassembled")]
    assert ds.labels == ("negative", "positive") and ids(ds) == ["stsa.binary.train-1", "stsa.binary.train-2"]
    write(folder / "stsa.binary.test", "0 bad\n1\n")
    with pytest.raises(RecordError, match=r"stsa.binary.test, line 2: record 'stsa.binary.test-2': text is empty"):
        load("classification", folder, "test")


def test_generic_label_text_lines_are_guessed(tmp_path: Path):
    path = write(tmp_path / "reviews.txt", "".join(f"{i % 3} review number {i}\n" for i in range(30)))
    assert guess_format(path) == "sst"
    assert load("classification", path, "train").labels == ("0", "1", "2")


# --- formats, folders and errors ---------------------------------------------------------


def test_format_guessing_and_its_errors(tmp_path: Path, conll_dir: Path):
    assert guess_format(conll_dir / "train.txt") == "conll"
    assert guess_format(write(tmp_path / "a.json", "{}")) == "squad"
    assert guess_format(write(tmp_path / "a.jsonl", "{}")) == "jsonl"
    assert guess_format(write_csv(tmp_path / "h.csv", [["text", "label"]])) == "csv"
    odd = write(tmp_path / "notes.txt", "some free text\nwithout any structure\n")
    with pytest.raises(ValueError, match=r"cannot guess the format of .*notes.txt.*format="):
        load("classification", odd, "train")
    with pytest.raises(ValueError, match=r"unknown format 'xml' for .*notes.txt"):
        load("classification", odd, "train", format="xml")
    with pytest.raises(ValueError, match=r"train.txt is in the conll format, which holds ner data, not classification"):
        load("classification", conll_dir, "train")


def test_missing_split_file(tmp_path: Path):
    write(tmp_path / "d" / "train.txt", CONLL_VALID)
    write(tmp_path / "d" / "test.txt", CONLL_VALID)
    with pytest.raises(FileNotFoundError, match=r"d has no validation file \(found train: train.txt, test: test.txt"):
        load("ner", tmp_path / "d", "validation")
    with pytest.raises(ValueError, match="split_fractions applies only to single-file datasets"):
        load("ner", tmp_path / "d", "train", split_fractions=(0.5, 0.25, 0.25))


def test_folder_errors(tmp_path: Path):
    write(tmp_path / "two" / "train.txt", CONLL_VALID)
    write(tmp_path / "two" / "train.conll", CONLL_VALID)
    write(tmp_path / "two" / "test.txt", CONLL_VALID)
    with pytest.raises(ValueError, match="more than one train file"):
        load("ner", tmp_path / "two", "train")
    write(tmp_path / "none" / "a.txt", CONLL_VALID)
    write(tmp_path / "none" / "b.txt", CONLL_VALID)
    with pytest.raises(FileNotFoundError, match="cannot tell the dataset's files"):
        load("ner", tmp_path / "none", "train")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="0 data files"):
        load("ner", tmp_path / "empty", "train")
    with pytest.raises(FileNotFoundError, match="neither 'embedded', an existing local path, nor a known hub id"):
        load("ner", tmp_path / "nowhere", "train")
    with pytest.raises(FileNotFoundError, match="no such dataset file"):
        load_local("ner", tmp_path / "nowhere", "train")


def test_single_file_in_a_folder_with_no_split_name(tmp_path: Path):
    write(tmp_path / "one" / "sentences.conll", "".join(f"w{i} O\n\n" for i in range(10)))
    write(tmp_path / "one" / "README.md", "about\n")
    assert [len(load("ner", tmp_path / "one", s)) for s in SPLITS] == [8, 1, 1]


def test_empty_file_is_an_error(tmp_path: Path):
    with pytest.raises(RecordError, match=r"empty.jsonl: no examples"):
        load("classification", write(tmp_path / "empty.jsonl", "\n"), "train")


def test_file_changes_are_seen(tmp_path: Path):
    path = write_jsonl(tmp_path / "d.jsonl", [{"text": "a", "label": "x"}])
    assert load("classification", path, "train", split_fractions=(1, 0, 0))[0].text == "a"
    write_jsonl(path, [{"text": "bb", "label": "x"}])
    assert load("classification", path, "train", split_fractions=(1, 0, 0))[0].text == "bb"


# --- seeded splits -----------------------------------------------------------------------


def test_seeded_split_is_deterministic_and_a_partition(tmp_path: Path):
    path = write_jsonl(tmp_path / "d.jsonl", [{"text": f"t{i}", "label": "ab"[i % 2]} for i in range(60)])
    first = all_splits("classification", path, seed=7)
    again = all_splits("classification", path, seed=7)
    other = all_splits("classification", path, seed=8)
    assert all(ids(first[s]) == ids(again[s]) for s in SPLITS)
    assert any(ids(first[s]) != ids(other[s]) for s in SPLITS)
    assert_partition(first, 60)
    assert_partition(other, 60)
    assert [len(first[s]) for s in SPLITS] == [48, 6, 6]


def test_assign_splits_sizes_groups_and_strata():
    parts = assign_splits(48, fractions=(2 / 3, 1 / 8, 5 / 24), shuffle=False)
    assert parts == {"train": list(range(32)), "validation": list(range(32, 38)), "test": list(range(38, 48))}
    groups = [i // 3 for i in range(30)]
    parts = assign_splits(30, groups=groups, seed=5)
    assert sorted(i for p in parts.values() for i in p) == list(range(30))
    owner = {groups[i]: split for split, part in parts.items() for i in part}
    assert all(owner[groups[i]] == split for split, part in parts.items() for i in part)
    assert [len(parts[s]) for s in SPLITS] == [24, 3, 3]
    strata = ["a"] * 20 + ["b"] * 10
    parts = assign_splits(30, strata=strata, seed=1)
    assert [Counter(strata[i] for i in parts[s]) for s in SPLITS] == [{"a": 16, "b": 8}, {"a": 2, "b": 1},
                                                                     {"a": 2, "b": 1}]
    assert assign_splits(10, seed=2) == assign_splits(10, seed=2) != assign_splits(10, seed=3)
    assert assign_splits(0) == {"train": [], "validation": [], "test": []}


def test_split_fraction_checks():
    assert check_fractions([0.5, 0.25, 0.25]) == (0.5, 0.25, 0.25)
    for bad in ([0.5, 0.5], [0.8, 0.1, 0.2], [1.2, -0.1, -0.1], [float("nan"), 0.5, 0.5]):
        with pytest.raises(ValueError, match="split fractions"):
            check_fractions(bad)
    with pytest.raises(ValueError, match="groups has 2 keys for 3 examples"):
        assign_splits(3, groups=[1, 2])


# --- sentences ---------------------------------------------------------------------------


@pytest.mark.parametrize("text, expected", [
    ("Mr. Smith went to Washington. He liked it.", ["Mr. Smith went to Washington.", "He liked it."]),
    ("Dr. Jones met Prof. Lee at St. Mary's. They talked.", ["Dr. Jones met Prof. Lee at St. Mary's.", "They talked."]),
    ("The U.S. Senate voted. The U.S. economy grew.", ["The U.S. Senate voted.", "The U.S. economy grew."]),
    ("It grew in the U.S. The rest fell.", ["It grew in the U.S.", "The rest fell."]),
    ("Use tools, e.g. Python and R. The tests pass.", ["Use tools, e.g. Python and R.", "The tests pass."]),
    ("John F. Kennedy spoke. Crowds cheered!", ["John F. Kennedy spoke.", "Crowds cheered!"]),
    ("Sales were $10.9bn in 2004. Profits rose 3.5%.", ["Sales were $10.9bn in 2004.", "Profits rose 3.5%."]),
    ('He said: "We won." Then he left.', ['He said: "We won."', "Then he left."]),
    ('"Is it over?" she asked. "No," he said.', ['"Is it over?" she asked.', '"No," he said.']),
    ("Wait... What happened? Nothing.", ["Wait...", "What happened?", "Nothing."]),
    ("It cost 5m. 2005 will be better.", ["It cost 5m.", "2005 will be better."]),
    ("See No. 5 for details. Done.", ["See No. 5 for details.", "Done."]),
    ("One paragraph\n\nand a second one.", ["One paragraph", "and a second one."]),
    ("lower case after a dot. stays together", ["lower case after a dot. stays together"]),
])
def test_split_sentences(text: str, expected: list[str]):
    assert split_sentences(text) == expected


def test_run_together_summary_sentences():
    summary = ("TimeWarner said fourth quarter sales rose 2% to $11.1bn from $10.9bn.For the full-year, "
               "TimeWarner posted a profit of $3.36bn.Market concerns hit the greenback in recent months."
               "\"I think the chance is good,\" he said.The Beatles.50 Cent also appears.")
    assert split_sentences(summary, run_together=True) == [
        "TimeWarner said fourth quarter sales rose 2% to $11.1bn from $10.9bn.",
        "For the full-year, TimeWarner posted a profit of $3.36bn.",
        "Market concerns hit the greenback in recent months.",
        "\"I think the chance is good,\" he said.",
        "The Beatles.", "50 Cent also appears."]
    assert split_sentences("from $10.9bn.For the year", run_together=False) == ["from $10.9bn.For the year"]


def test_run_together_quotes_follow_the_source():
    source = ('"This is not about the public. This is about the best films." '
              'And the show reaped its biggest audience.')
    summary = 'This is about the best films."And the show reaped its biggest audience.'
    assert split_sentences(summary, run_together=True, source=source) == [
        'This is about the best films."', "And the show reaped its biggest audience."]
    assert split_sentences(summary, run_together=True) == [  # quote counting alone gets this one wrong
        "This is about the best films.", '"And the show reaped its biggest audience.']


def test_split_paragraphs():
    assert split_paragraphs("Title\n\n  First para.\nstill first.\n \n\nSecond.") == [
        "Title", "First para.\nstill first.", "Second."]


# --- columns -----------------------------------------------------------------------------


def test_label_name():
    assert label_name(1, ["neg", "pos"]) == "pos" and label_name("0", ["neg", "pos"]) == "neg"
    assert label_name("pos", ["neg", "pos"]) == "pos" and label_name(3, None) == "3"
    with pytest.raises(RecordError, match="out of range"):
        label_name(2, ["neg", "pos"])
    with pytest.raises(RecordError, match="neither a label name nor an index"):
        label_name(True, None)


def test_row_converter_picks_the_first_matching_default_column():
    converter = RowConverter("summarization", ["id", "article", "text", "highlights"])
    assert converter.columns == {"id": "id", "document": "article", "summary": "highlights"}


# --- hub adapters (with datasets.load_dataset stood in for) ------------------------------

datasets = pytest.importorskip("datasets")


def _hub_tables() -> dict[tuple[str, str], "datasets.Dataset"]:
    from datasets import ClassLabel, Dataset, Features, Sequence, Value

    conll = Features({"id": Value("string"), "tokens": Sequence(Value("string")),
                      "pos_tags": Sequence(Value("int32")),
                      "ner_tags": Sequence(ClassLabel(names=["O", "B-PER", "I-PER", "B-ORG", "I-ORG",
                                                             "B-LOC", "I-LOC", "B-MISC", "I-MISC"]))})
    squad = Features({"id": Value("string"), "title": Value("string"), "context": Value("string"),
                      "question": Value("string"),
                      "answers": Sequence({"text": Value("string"), "answer_start": Value("int32")})})
    cnn = Features({"article": Value("string"), "highlights": Value("string"), "id": Value("string")})
    ag = Features({"text": Value("string"), "label": ClassLabel(names=["World", "Sports", "Business", "Sci/Tech"])})
    sst = Features({"idx": Value("int32"), "sentence": Value("string"),
                    "label": ClassLabel(names=["negative", "positive"])})

    def conll_rows(n: int) -> dict:
        return {"id": [str(i) for i in range(n)], "tokens": [["EU", "rejects", "Peter"]] * n,
                "pos_tags": [[1, 2, 3]] * n, "ner_tags": [[3, 0, 1]] * n}

    def squad_rows(titles: list[str]) -> dict:
        context = "Denver won the game in 2016."
        rows = [{"id": f"{t}-{q}", "title": t, "context": context, "question": "Who won?",
                 "answers": {"text": ["Denver", "Denver"], "answer_start": [0, 0]}} for t in titles for q in range(2)]
        return {key: [row[key] for row in rows] for key in rows[0]}

    def ag_rows(n: int) -> dict:
        return {"text": [f"Title {i} Line one\\line two" for i in range(n)], "label": [i % 4 for i in range(n)]}

    cnn_rows = {"article": ["By . Staff . Mr. Smith went to Washington. He liked it there."],
                "highlights": ["Mr. Smith went to Washington .\nHe liked it"], "id": ["abc123"]}
    return {
        **{("lhoestq/conll2003", s): Dataset.from_dict(conll_rows(n), features=conll)
           for s, n in (("train", 5), ("validation", 2), ("test", 3))},
        ("rajpurkar/squad", "train"): Dataset.from_dict(squad_rows([f"A{i}" for i in range(20)]), features=squad),
        ("rajpurkar/squad", "validation"): Dataset.from_dict(squad_rows(["B0", "B1"]), features=squad),
        **{("abisee/cnn_dailymail", s): Dataset.from_dict(cnn_rows, features=cnn) for s in SPLITS},
        ("fancyzhx/ag_news", "train"): Dataset.from_dict(ag_rows(400), features=ag),
        ("fancyzhx/ag_news", "test"): Dataset.from_dict(ag_rows(8), features=ag),
        ("stanfordnlp/sst2", "train"): Dataset.from_dict(
            {"idx": list(range(20)), "sentence": [f"phrase {i}" for i in range(20)],
             "label": [i % 2 for i in range(20)]}, features=sst),
        ("stanfordnlp/sst2", "validation"): Dataset.from_dict(
            {"idx": [0, 1], "sentence": ["good", "bad"], "label": [1, 0]}, features=sst),
    }


@pytest.fixture(scope="module")
def hub_dir(tmp_path_factory) -> Path:
    """The stand-in hub: each (repo, split) saved to disk once for this module."""
    root = tmp_path_factory.mktemp("hub")
    for (repo, split), table in _hub_tables().items():
        table.save_to_disk(str(root / repo / split))
    return root


@pytest.fixture
def fake_hub(hub_dir: Path, monkeypatch):
    """Make ``datasets.load_dataset`` read the saved tables, recording its calls."""
    calls = []

    def load_dataset(path, name=None, split=None, **kwargs):
        calls.append((path, name, split))
        if path == "abisee/cnn_dailymail" and name != "3.0.0":
            raise ValueError(f"config {name!r} not found")
        folder = hub_dir / path / split
        if not folder.exists():
            raise FileNotFoundError(f"no split {split!r} in {path}")
        return datasets.load_from_disk(str(folder))

    monkeypatch.setattr(datasets, "load_dataset", load_dataset)
    return calls


def test_hub_conll2003(fake_hub):
    from text_envs.data.hub import load_hub

    ds = load_hub("ner", "conll2003", "validation")
    assert fake_hub == [("lhoestq/conll2003", None, "validation")]
    assert ds[0].tags == ("B-ORG", "O", "B-PER") and ids(ds) == ["0", "1"]
    assert ds.labels == ("O", "B-LOC", "I-LOC", "B-MISC", "I-MISC", "B-ORG", "I-ORG", "B-PER", "I-PER")


def test_hub_squad_carves_validation_by_article_and_tests_on_hub_validation(fake_hub):
    from text_envs.data.hub import load_hub

    parts = {s: load_hub("qa", "squad", s) for s in SPLITS}
    assert ("rajpurkar/squad", None, "validation") in fake_hub
    assert [len({r.title for r in parts[s]}) for s in SPLITS] == [18, 2, 2]
    assert not {r.title for r in parts["train"]} & {r.title for r in parts["validation"]}
    assert {r.title for r in parts["test"]} == {"B0", "B1"}
    assert parts["test"][0].answers == (Answer("Denver", 0), Answer("Denver", 0))


def test_hub_cnn_dailymail_sentences(fake_hub):
    from text_envs.data.hub import load_hub

    ds = load_hub("summarization", "cnn_dailymail", "test")
    assert fake_hub == [("abisee/cnn_dailymail", "3.0.0", "test")]
    record = ds[0]
    assert record.id == "abc123"
    assert record.sentences[-2:] == ("Mr. Smith went to Washington.", "He liked it there.")
    assert record.summary == ("Mr. Smith went to Washington .", "He liked it")


def test_hub_ag_news_and_sst2(fake_hub):
    from text_envs.data.hub import load_hub

    train, validation = (load_hub("classification", "ag_news", s, seed=1) for s in ("train", "validation"))
    assert train.labels == ("World", "Sports", "Business", "Sci/Tech")
    assert (len(train), len(validation)) == (380, 20)
    assert Counter(r.label for r in validation) == {label: 5 for label in train.labels}
    assert not set(ids(train)) & set(ids(validation))
    assert train[0].text == "Title 0 Line one\nline two"
    assert ids(load_hub("classification", "fancyzhx/ag_news", "test"))[:2] == ["test-0", "test-1"]
    sst = load_hub("classification", "sst2", "test")
    assert [(r.id, r.text, r.label) for r in sst] == [("0", "good", "positive"), ("1", "bad", "negative")]


def test_load_dispatches_hub_ids(fake_hub, tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no local folder called "sst2" may shadow the hub id
    assert load("classification", "sst2", "test").labels == ("negative", "positive")


def test_hub_errors(fake_hub, monkeypatch):
    from text_envs.data.hub import HubUnavailableError, load_hub

    with pytest.raises(ValueError, match="hub dataset 'squad' is a qa dataset, not a ner one"):
        load_hub("ner", "squad", "train")
    with pytest.raises(ValueError, match="unknown hub dataset 'imdb'"):
        load_hub("classification", "imdb", "train")

    def offline(*args, **kwargs):
        raise ConnectionError("Couldn't reach 'fancyzhx/ag_news' on the Hub (LocalEntryNotFoundError)")

    monkeypatch.setattr(datasets, "load_dataset", offline)
    with pytest.raises(HubUnavailableError, match=r"'ag_news'.*cannot be reached offline.*local copy") as err:
        load_hub("classification", "ag_news", "test")
    assert isinstance(err.value.__cause__, ConnectionError)
