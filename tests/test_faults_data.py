"""Bad data in local files is refused with an error naming the file and line, never read wrong.

Each test writes a small broken file into tmp_path and asserts the error names the file,
the line (or JSON path / record) and the problem, or, where an option reads the file
exactly (``encoding=``, ``tag_scheme="iob1"``), that it then reads exactly that.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from text_envs.data import load
from text_envs.records import (RecordError, TaggingRecord, TagSequenceError, iob1_to_iob2, iob2_violation)

ALL = {"split_fractions": (1, 0, 0)}  # a single file, all of it in train


def write(path: Path, text: str | bytes, encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding=encoding)
    return path


def jsonl(rows: list[dict]) -> str:
    return "".join(json.dumps(row) + "\n" for row in rows)


def squad(context: str = "Ada lives in Paris.", answer: str = "Paris", start=13) -> str:
    return json.dumps({"data": [{"title": "T", "paragraphs": [{"context": context, "qas": [
        {"id": "q1", "question": "Where?", "answers": [{"text": answer, "answer_start": start}]}]}]}]})


# --- CoNLL columns -------------------------------------------------------------------------


def test_conll_line_with_another_column_count_is_refused(tmp_path: Path):
    # the third line lost its NER column: read by position, its chunk tag B-NP would be the NER tag
    path = write(tmp_path / "d.conll", "EU NNP B-NP B-ORG\nrejects VBZ B-VP O\nGerman JJ B-NP\ncall NN I-NP O\n")
    with pytest.raises(RecordError, match=r"d\.conll, line 3: 3 column\(s\) .*expected 4 as on line 1"):
        load("ner", path, "train", **ALL)


def test_conll_docstart_lines_do_not_set_the_column_count(tmp_path: Path):
    path = write(tmp_path / "d.conll", "-DOCSTART- -X- -X- O\n\nEU B-ORG\nrejects O\n")
    assert load("ner", path, "train", **ALL)[0].tags == ("B-ORG", "O")


# --- IOB1 / IOB2 ---------------------------------------------------------------------------


IOB1 = "Peter I-PER\nBlackburn I-PER\nmet O\nAda I-PER\nBob B-PER\nin O\nParis I-LOC\nLyon I-PER\n\nSee O\nUSA I-LOC\n"


def test_iob1_conll_is_refused_naming_the_line_and_the_option(tmp_path: Path):
    path = write(tmp_path / "d.conll", "Ada B-PER\nsaw O\nBob I-PER\n")
    with pytest.raises(RecordError, match=r"d\.conll, line 3: .*token 2 \('Bob'\): tag 'I-PER' after 'O' "
                                               r"opens an entity.*IOB1.*tag_scheme='iob1'"):
        load("ner", path, "train", **ALL)


def test_iob1_is_converted_exactly_with_tag_scheme_iob1(tmp_path: Path):
    path = write(tmp_path / "d.conll", IOB1)
    first, second = load("ner", path, "train", tag_scheme="iob1", **ALL)
    # I-X that opens an entity -> B-X; B-X (two adjacent PER entities) stays; a type change opens one
    assert first.tags == ("B-PER", "I-PER", "O", "B-PER", "B-PER", "O", "B-LOC", "B-PER")
    assert second.tags == ("O", "B-LOC")


def test_iob2_data_reads_the_same_with_either_scheme(tmp_path: Path):
    path = write(tmp_path / "d.conll", "New B-LOC\nYork I-LOC\nTimes B-ORG\nAda B-PER\nBob B-PER\n")
    assert load("ner", path, "train", **ALL)[0].tags == load("ner", path, "train", tag_scheme="iob1", **ALL)[0].tags


def test_iob1_jsonl_is_refused_and_converted_with_the_option(tmp_path: Path):
    path = write(tmp_path / "n.jsonl", jsonl([{"tokens": ["a", "b"], "tags": ["O", "O"]},
                                              {"tokens": ["Ada", "sings"], "tags": ["I-PER", "O"]}]))
    with pytest.raises(RecordError, match=r"n\.jsonl, line 2: .*'I-PER' at the sentence start.*tag_scheme='iob1'"):
        load("ner", path, "train", **ALL)
    assert load("ner", path, "train", tag_scheme="iob1", **ALL)[1].tags == ("B-PER", "O")


def test_tag_scheme_option_errors(tmp_path: Path):
    path = write(tmp_path / "d.conll", "Ada B-PER\n")
    with pytest.raises(ValueError, match="unknown tag_scheme 'bio'; expected one of iob2, iob1"):
        load("ner", path, "train", tag_scheme="bio", **ALL)
    with pytest.raises(ValueError, match="tag_scheme applies to NER data only"):
        load("classification", write(tmp_path / "c.jsonl", jsonl([{"text": "a", "label": "x"}])), "train",
             tag_scheme="iob1", **ALL)


def test_records_hold_iob2_only():
    assert iob2_violation(["B-PER", "I-PER", "O", "B-LOC"]) is None
    assert iob2_violation(["B-PER", "I-LOC"]) == 1 and iob2_violation(["I-PER"]) == 0
    assert iob1_to_iob2(["I-PER", "B-PER", "I-PER", "O", "I-LOC"]) == ("B-PER", "B-PER", "I-PER", "O", "B-LOC")
    with pytest.raises(TagSequenceError, match=r"record 's1': token 1 \('Paris'\): tag 'I-LOC' after 'B-PER'") as err:
        TaggingRecord("s1", ["Ada", "Paris"], ["B-PER", "I-LOC"])
    assert err.value.token == 1 and isinstance(err.value, RecordError)


# --- label kinds ---------------------------------------------------------------------------


def test_jsonl_labels_mixing_indices_and_names_are_refused(tmp_path: Path):
    path = write(tmp_path / "d.jsonl", jsonl([{"text": "a", "label": 1}, {"text": "b", "label": 0},
                                              {"text": "c", "label": "positive"}, {"text": "d", "label": "negative"}]))
    with pytest.raises(RecordError, match=r"indices \(first at .*d\.jsonl, line 1\) and as names "
                                          r"\(first at .*d\.jsonl, line 3\)"):
        load("classification", path, "train", **ALL)


def test_csv_labels_mixing_indices_and_names_are_refused(tmp_path: Path):
    path = write(tmp_path / "d.csv", "text,label\na,positive\nb,1\nc,0\n")
    with pytest.raises(RecordError, match=r"indices \(first at .*d\.csv, line 3\) and as names "
                                          r"\(first at .*d\.csv, line 2\)"):
        load("classification", path, "train", **ALL)


def test_label_kinds_are_compared_across_split_files(tmp_path: Path):
    write(tmp_path / "d" / "train.jsonl", jsonl([{"text": "a", "label": 1}]))
    write(tmp_path / "d" / "test.jsonl", jsonl([{"text": "b", "label": "positive"}]))
    with pytest.raises(RecordError, match=r"train\.jsonl, line 1\) and as names \(first at .*test\.jsonl, line 1\)"):
        load("classification", tmp_path / "d", "test")


def test_sst_lines_mixing_indices_and_names_are_refused(tmp_path: Path):
    path = write(tmp_path / "reviews.txt", "1 good\n0 bad\npositive fine\n")
    with pytest.raises(RecordError, match=r"reviews\.txt, line 1\) and as names \(first at .*reviews\.txt, line 3\)"):
        load("classification", path, "train", format="sst", **ALL)


def test_integer_labels_and_their_digit_strings_are_one_kind(tmp_path: Path):
    path = write(tmp_path / "d.jsonl", jsonl([{"text": "a", "label": 1}, {"text": "b", "label": "0"}]))
    assert load("classification", path, "train", label_names=["neg", "pos"], **ALL).labels == ("neg", "pos")


def test_ner_tags_mixing_indices_and_names_are_refused(tmp_path: Path):
    path = write(tmp_path / "d.jsonl", jsonl([{"tokens": ["Ada", "sings"], "tags": [1, "O"]}]))
    with pytest.raises(RecordError, match=r"d\.jsonl, line 1: tags mix integer tag indices and tag names"):
        load("ner", path, "train", label_names=["O", "B-PER", "I-PER"], **ALL)


def test_boolean_labels_are_refused(tmp_path: Path):
    path = write(tmp_path / "d.jsonl", jsonl([{"text": "a", "label": "x"}, {"text": "b", "label": True}]))
    with pytest.raises(RecordError, match=r"d\.jsonl, line 2: label True is neither a label name nor an index"):
        load("classification", path, "train", **ALL)


# --- byte-order marks ----------------------------------------------------------------------

BOM = "\ufeff"


@pytest.mark.parametrize("name, text, task, options, first", [
    ("d.conll", "EU B-ORG\nrejects O\n", "ner", {}, lambda r: r.tokens[0] == "EU"),
    ("d.jsonl", jsonl([{"text": "first", "label": "x"}]), "classification", {}, lambda r: r.text == "first"),
    ("d.csv", "text,label\nfirst,x\n", "classification", {}, lambda r: r.text == "first"),
    ("d.tsv", "text\tlabel\nfirst\tx\n", "classification", {}, lambda r: r.text == "first"),
    ("d.json", squad(), "qa", {}, lambda r: r.context == "Ada lives in Paris."),
    ("stsa.binary.all", "1 first\n", "classification", {}, lambda r: (r.text, r.label) == ("first", "positive")),
    ("d.txt", "1 first\n0 second\n", "classification", {"format": "sst"}, lambda r: r.label == "1"),
    ("test.csv", "1,Title,first\n", "classification", {"format": "ag_news"}, lambda r: r.label == "1"),
])
def test_a_utf8_byte_order_mark_is_dropped(tmp_path: Path, name, text, task, options, first):
    path = write(tmp_path / name, BOM + text)
    record = load(task, path, "train", **options, **ALL)[0]
    assert first(record), record


def test_a_byte_order_mark_in_classes_txt_is_dropped(tmp_path: Path):
    write(tmp_path / "ag" / "classes.txt", BOM + "World\nSports\n")
    write(tmp_path / "ag" / "test.csv", "1,t,d\n2,t,d\n")
    assert load("classification", tmp_path / "ag", "train", **ALL).labels == ("World", "Sports")


# --- CSV rows ------------------------------------------------------------------------------


@pytest.mark.parametrize("row, found", [("b,y,extra", 3), ("b", 1)])
def test_csv_row_with_an_extra_or_missing_field_is_refused(tmp_path: Path, row: str, found: int):
    path = write(tmp_path / "d.csv", f"text,label\na,x\n{row}\nc,z\n")
    with pytest.raises(RecordError, match=rf"d\.csv, line 3: {found} field\(s\), expected 2 as on line 1"):
        load("classification", path, "train", **ALL)


def test_ag_news_rows_have_as_many_fields_as_the_first(tmp_path: Path):
    path = write(tmp_path / "test.csv", '1,"Title","Text"\n2,"Title, with a comma",Text,more\n')
    with pytest.raises(RecordError, match=r"test\.csv, line 2: 4 field\(s\), expected 3 as on line 1"):
        load("classification", path, "train", format="ag_news", **ALL)


def test_csv_header_naming_a_column_twice_is_refused(tmp_path: Path):
    path = write(tmp_path / "d.csv", "text,label,text\na,x,b\n")
    with pytest.raises(RecordError, match=r"d\.csv, line 1: column\(s\) \['text'\] named twice"):
        load("classification", path, "train", **ALL)


def test_csv_error_names_file_and_line(tmp_path: Path):
    path = write(tmp_path / "d.csv", f"text,label\na,x\n{'y' * (csv.field_size_limit() + 10)},z\n")
    with pytest.raises(RecordError, match=r"d\.csv, line 3: not readable as CSV: field larger than field limit"):
        load("classification", path, "train", **ALL)


# --- encodings -----------------------------------------------------------------------------

LATIN1 = [  # (name, text with "café" on line 3, task, options, how to find café in the records)
    ("d.conll", "ok O\n\ncafé O\n", "ner", {}, lambda ds: ds[1].tokens == ("café",)),
    ("d.jsonl", jsonl([{"text": "ok", "label": "a"}]) + "\n" + '{"text": "café", "label": "a"}\n', "classification",
     {}, lambda ds: ds[1].text == "café"),
    ("d.csv", "text,label\nok,a\ncafé,a\n", "classification", {}, lambda ds: ds[1].text == "café"),
    ("d.json", '{"data": [{"title": "T",\n"paragraphs": [{"qas": [], \n"context": "café"}]},\n'
               '{"title": "U", "paragraphs": [{"context": "Ada is here.", "qas": [{"id": "1", "question": "Who?", '
               '"answers": [{"text": "Ada", "answer_start": 0}]}]}]}]}', "qa", {}, lambda ds: len(ds) == 1),
    ("d.txt", "1 ok\n0 fine\n1 café\n", "classification", {"format": "sst"}, lambda ds: ds[2].text == "café"),
    ("test.csv", "1,ok,a\n2,ok,b\n1,café,c\n", "classification", {"format": "ag_news"},
     lambda ds: ds[2].text == "café. c"),
]


@pytest.mark.parametrize("name, text, task, options, check", LATIN1)
def test_bytes_that_are_not_utf8_name_file_line_and_the_encoding_option(tmp_path: Path, name, text, task,
                                                                        options, check):
    path = write(tmp_path / name, text, encoding="latin-1")
    with pytest.raises(RecordError, match=rf"{name}, line 3: the bytes b'\\xe9' are not utf-8 .*encoding="):
        load(task, path, "train", **options, **ALL)
    assert check(load(task, path, "train", encoding="latin-1", **options, **ALL))


def test_decode_error_while_guessing_the_format_names_file_and_line(tmp_path: Path):
    path = write(tmp_path / "d.txt", "ok O\nfine O\ncafé O\n", encoding="latin-1")
    with pytest.raises(RecordError, match=r"d\.txt, line 3: the bytes b'\\xe9' are not utf-8"):
        load("ner", path, "train", **ALL)
    assert load("ner", path, "train", encoding="cp1252", **ALL)[0].tokens == ("ok", "fine", "café")


def test_decode_error_in_classes_txt_names_that_file(tmp_path: Path):
    write(tmp_path / "ag" / "classes.txt", "World\nSci/Tëch\n", encoding="latin-1")
    write(tmp_path / "ag" / "test.csv", "1,t,d\n2,t,d\n")
    with pytest.raises(RecordError, match=r"classes\.txt, line 2: the bytes b'\\xeb' are not utf-8"):
        load("classification", tmp_path / "ag", "train", **ALL)


def test_bytes_cut_short_at_the_end_of_the_file_name_the_last_line(tmp_path: Path):
    path = write(tmp_path / "d.conll", "ok O\n".encode() + "café O\n".encode()[:4])  # half of the é
    with pytest.raises(RecordError, match=r"d\.conll, line 2: the bytes b'\\xc3' are not utf-8"):
        load("ner", path, "train", **ALL)


def test_unknown_encoding(tmp_path: Path):
    with pytest.raises(ValueError, match="unknown encoding 'utf-9'"):
        load("ner", write(tmp_path / "d.conll", "a O\n"), "train", encoding="utf-9")


# --- JSON and JSONL ------------------------------------------------------------------------


def test_jsonl_invalid_json_and_non_objects_name_the_line(tmp_path: Path):
    path = write(tmp_path / "d.jsonl", jsonl([{"text": "a", "label": "x"}]) + '{"text": "b", "label":\n')
    with pytest.raises(RecordError, match=r"d\.jsonl, line 2: not valid JSON: Expecting value"):
        load("classification", path, "train", **ALL)
    write(path, jsonl([{"text": "a", "label": "x"}]) + "[1, 2]\n")
    with pytest.raises(RecordError, match=r"d\.jsonl, line 2: expected a JSON object"):
        load("classification", path, "train", **ALL)


@pytest.mark.parametrize("task, row, message", [
    ("ner", {"tokens": 5, "tags": ["O"]}, "tokens 5 must be a list or a space-separated string, got int"),
    ("ner", {"tokens": ["a"], "tags": {"O": 1}}, r"tags \{'O': 1\} must be a list .*got dict"),
    ("classification", {"text": 5, "label": "x"}, "text must be a string, got int"),
    ("classification", {"text": "b"}, "no 'label' value"),
    ("qa", {"context": "Ada is here.", "question": "Who?", "answers": [{"text": "Ada", "answer_start": "zero"}]},
     "answer start 'zero' is not an integer"),
    ("summarization", {"document": [1, 2], "summary": "A summary."}, r"sentences\[0\] must be a string"),
])
def test_jsonl_wrong_types_and_missing_keys_name_the_line(tmp_path: Path, task, row, message):
    good = {"ner": {"tokens": ["a"], "tags": ["O"]}, "classification": {"text": "a", "label": "x"},
            "qa": {"context": "Ada is here.", "question": "Who?", "answers": [{"text": "Ada", "answer_start": 0}]},
            "summarization": {"document": ["One.", "Two."], "summary": "One."}}[task]
    path = write(tmp_path / "d.jsonl", jsonl([good, row]))
    with pytest.raises(RecordError, match=rf"d\.jsonl, line 2: .*{message}"):
        load(task, path, "train", **ALL)


def test_jsonl_optional_column_only_later_rows_have_is_read(tmp_path: Path):
    path = write(tmp_path / "d.jsonl", jsonl([{"text": "a", "label": "x"}, {"id": "b7", "text": "b", "label": "x"}]))
    assert [r.id for r in load("classification", path, "train", **ALL)] == ["d-1", "b7"]


def test_squad_invalid_json_names_the_line(tmp_path: Path):
    path = write(tmp_path / "d.json", '{"data": [\n  {"title": "T",, }\n]}')
    with pytest.raises(RecordError, match=r"d\.json, line 2: not valid JSON"):
        load("qa", path, "train", **ALL)


@pytest.mark.parametrize("start, message", [
    ("13", "start '13' is not an integer"), (True, "start True is not an integer"),
    (3, "offset 3 does not match the context"), (99, "starts at 99, outside the context")])
def test_squad_answer_starts_that_are_not_offsets_of_the_answer(tmp_path: Path, start, message):
    path = write(tmp_path / "d.json", squad(start=start))
    with pytest.raises(RecordError, match=rf"d\.json, data\[0\]\.paragraphs\[0\]\.qas\[0\]: record 'q1': .*{message}"):
        load("qa", path, "train", **ALL)


@pytest.mark.parametrize("content, where", [
    ({"data": ["not an article"]}, r"data\[0\]"),
    ({"data": [{"paragraphs": [{"context": "c", "qas": [{"id": "1", "question": "q", "answers": 5}]}]}]},
     r"data\[0\]\.paragraphs\[0\]\.qas\[0\]")])
def test_squad_wrong_structure_names_the_json_path(tmp_path: Path, content, where):
    path = write(tmp_path / "d.json", json.dumps(content))
    with pytest.raises(RecordError, match=rf"d\.json, {where}: not in the SQuAD layout"):
        load("qa", path, "train", **ALL)


def test_squad_empty_question_names_the_question(tmp_path: Path):
    content = json.loads(squad())
    content["data"][0]["paragraphs"][0]["qas"][0]["question"] = " "
    path = write(tmp_path / "d.json", json.dumps(content))
    with pytest.raises(RecordError, match=r"d\.json, data\[0\]\.paragraphs\[0\]\.qas\[0\]: record 'q1': "
                                          r"question is empty"):
        load("qa", path, "train", **ALL)


# --- empty files, ids, folders -------------------------------------------------------------


@pytest.mark.parametrize("name, text, task, message", [
    ("d.conll", "", "ner", "no examples"),
    ("d.conll", "-DOCSTART- -X- O O\n\n", "ner", "no examples"),
    ("d.jsonl", "\n\n", "classification", "no examples"),
    ("d.csv", "", "classification", "empty file"),
    ("d.csv", "text,label\n", "classification", "no examples"),
    ("d.json", "", "qa", "line 1: not valid JSON"),
    ("d.json", '{"data": []}', "qa", "no examples"),
    ("stsa.binary.train", "", "classification", "no examples"),
])
def test_empty_files_are_refused_by_name(tmp_path: Path, name, text, task, message):
    path = write(tmp_path / name, text)
    with pytest.raises(RecordError, match=rf"{name}(, |: ){message}"):
        load(task, path, "train")


def test_duplicate_record_ids_in_a_file_name_both_lines(tmp_path: Path):
    path = write(tmp_path / "d.jsonl", jsonl([{"id": "x", "text": "a", "label": "l"}, {"id": "y", "text": "b",
                                              "label": "l"}, {"id": "x", "text": "c", "label": "l"}]))
    with pytest.raises(RecordError, match=r"d\.jsonl, line 3: record id 'x' again \(first at line 1\)"):
        load("classification", path, "train", **ALL)


@pytest.mark.parametrize("names, bad, message", [
    (("eng.train", "eng.testa", "eng.testb"), "eng.testa", "the name part 'testa' is not a split name"),
    (("train.txt", "test.txt", "training.txt"), "training.txt", "the name part 'training' is not a split name"),
    (("train.txt", "test.txt", "train_test.txt"), "train_test.txt", r"the name names 2 splits \(test, train\)"),
])
def test_folder_file_names_that_almost_name_a_split_are_refused(tmp_path: Path, names, bad, message):
    for name in names:
        write(tmp_path / "d" / name, "Ada B-PER\n")
    with pytest.raises(FileNotFoundError, match=rf"{bad}: {message}.*pass it itself"):
        load("ner", tmp_path / "d", "train")


def test_unknown_label_in_a_folder_names_the_split_file(tmp_path: Path):
    write(tmp_path / "d" / "train.jsonl", jsonl([{"text": "a", "label": "neutral"}]))
    write(tmp_path / "d" / "test.jsonl", jsonl([{"text": "b", "label": "positive"}]))
    with pytest.raises(RecordError, match=r"train\.jsonl: record 'train-1': unknown label 'neutral'"):
        load("classification", tmp_path / "d", "train", labels=["positive"])


def test_a_new_classes_txt_is_seen(tmp_path: Path):
    write(tmp_path / "ag" / "test.csv", "1,t,d\n2,t,d\n")
    assert load("classification", tmp_path / "ag", "train", **ALL).labels == ("1", "2")
    write(tmp_path / "ag" / "classes.txt", "World\nSports\n")
    assert load("classification", tmp_path / "ag", "train", **ALL).labels == ("World", "Sports")
