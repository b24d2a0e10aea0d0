"""The record types and TaskDataset reject malformed examples with messages that name them."""

from __future__ import annotations

import pytest

from text_envs.records import (Answer, ClassificationRecord, QARecord, RecordError, SummarizationRecord,
                               TaggingRecord, TaskDataset, bio_tag_set, canonical_split, check_task,
                               entity_type)

NER_LABELS = bio_tag_set(["PER", "LOC"])


def tagging(record_id: str = "s1", tokens=("Ada", "lives", "in", "Paris"), tags=("B-PER", "O", "O", "B-LOC")):
    return TaggingRecord(record_id, tokens, tags)


def qa(record_id: str = "q1", context: str = "Ada lives in Paris.", answers=(Answer("Paris", 13),)):
    return QARecord(record_id, "Where does Ada live?", context, answers)


def classification(record_id: str = "c1", text: str = "a fine film", label: str = "positive"):
    return ClassificationRecord(record_id, text, label)


# --- helpers -----------------------------------------------------------------------------


def test_split_aliases_and_unknown_split():
    assert [canonical_split(s) for s in ("train", "valid", "dev", "val", "VALIDATION", "test")] == \
        ["train", "validation", "validation", "validation", "validation", "test"]
    with pytest.raises(ValueError, match="unknown split 'eval'"):
        canonical_split("eval")


def test_unknown_task():
    assert check_task("qa") == "qa"
    with pytest.raises(ValueError, match="unknown task 'pos'"):
        check_task("pos")


def test_entity_type_and_bad_bio_tags():
    assert entity_type("O") is None and entity_type("B-PER") == "PER" and entity_type("I-MISC") == "MISC"
    for bad in ("B", "B-", "b-PER", "X-PER", "BPER", "E-PER", ""):
        with pytest.raises(RecordError, match="not a BIO tag"):
            entity_type(bad)


def test_bio_tag_set_is_canonical_whatever_the_order():
    assert bio_tag_set(["PER", "LOC", "PER"]) == ("O", "B-LOC", "I-LOC", "B-PER", "I-PER")
    assert bio_tag_set(["LOC", "PER"]) == bio_tag_set(["PER", "LOC"])
    assert bio_tag_set([]) == ("O",)


# --- TaggingRecord -----------------------------------------------------------------------


def test_tagging_record_normalises_to_tuples():
    record = TaggingRecord("s1", ["Ada", "sings"], ["B-PER", "O"])
    assert record.tokens == ("Ada", "sings") and record.tags == ("B-PER", "O")
    assert record.text == "Ada sings"


@pytest.mark.parametrize("tokens, tags, message", [
    ((), (), "tokens is empty"),
    (("Ada", ""), ("B-PER", "O"), r"tokens\[1\] is empty"),
    (("Ada Lovelace",), ("B-PER",), "contains whitespace"),
    (("Ada", "sings"), ("B-PER",), "1 tags for 2 tokens"),
    (("Ada",), ("B-PER", "O"), "2 tags for 1 tokens"),
    (("Ada", "sings"), ("B-PER", "X"), r"token 1 \('sings'\).*not a BIO tag"),
    ("Ada", ("B-PER",), "not one string"),
])
def test_tagging_record_errors(tokens, tags, message):
    with pytest.raises(RecordError, match=message) as err:
        TaggingRecord("sent-7", tokens, tags)
    assert "'sent-7'" in str(err.value)


# --- QARecord ----------------------------------------------------------------------------


def test_qa_record_accepts_answer_dicts_and_keeps_all_answers():
    record = QARecord("q1", "Where?", "Ada lives in Paris.", [{"text": "Paris", "start": 13}, Answer("Paris", 13)])
    assert record.answers == (Answer("Paris", 13), Answer("Paris", 13))
    assert record.answers[0].end == 18


@pytest.mark.parametrize("question, context, answers, message", [
    ("", "Ada lives in Paris.", (Answer("Paris", 13),), "question is empty"),
    ("Where?", "  ", (Answer("Paris", 13),), "context is empty"),
    ("Where?", "Ada lives in Paris.", (), "no answers"),
    ("Where?", "Ada lives in Paris.", (Answer("Paris", 12),), "offset 12 does not match the context"),
    ("Where?", "Ada lives in Paris.", (Answer("Paris", 40),), "outside the context"),
    ("Where?", "Ada lives in Paris.", (Answer("Paris", -1),), "outside the context"),
    ("Where?", "Ada lives in Paris.", (Answer("", 3),), r"answers\[0\].text is empty"),
    (None, "Ada lives in Paris.", (Answer("Paris", 13),), "question must be a string"),
])
def test_qa_record_errors(question, context, answers, message):
    with pytest.raises(RecordError, match=message) as err:
        QARecord("q-9", question, context, answers)
    assert "'q-9'" in str(err.value)


# --- SummarizationRecord -----------------------------------------------------------------


@pytest.mark.parametrize("sentences, summary, message", [
    ((), ("A summary.",), "sentences is empty"),
    (("One.", " "), ("A summary.",), r"sentences\[1\] is empty"),
    (("One.",), (), "summary is empty"),
    ("One. Two.", ("A summary.",), "not one string"),
])
def test_summarization_record_errors(sentences, summary, message):
    with pytest.raises(RecordError, match=message):
        SummarizationRecord("doc-1", sentences, summary)


# --- ClassificationRecord ----------------------------------------------------------------


@pytest.mark.parametrize("text, label, message", [
    ("", "positive", "text is empty"),
    ("\n\t ", "positive", "text is empty"),
    ("a fine film", "", "label is empty"),
    (42, "positive", "text must be a string"),
])
def test_classification_record_errors(text, label, message):
    with pytest.raises(RecordError, match=message):
        ClassificationRecord("c-3", text, label)


# --- TaskDataset -------------------------------------------------------------------------


def test_task_dataset_basics():
    ds = TaskDataset("ner", "toy", "dev", [tagging("a"), tagging("b")], NER_LABELS)
    assert ds.split == "validation" and len(ds) == 2 and ds[1].id == "b" and [r.id for r in ds] == ["a", "b"]
    assert "2 records" in repr(ds) and "5 labels" in repr(ds)


def test_task_dataset_errors():
    with pytest.raises(RecordError, match="has no records"):
        TaskDataset("ner", "toy", "train", [], NER_LABELS)
    with pytest.raises(RecordError, match="needs TaggingRecord records, got QARecord"):
        TaskDataset("ner", "toy", "train", [qa()], NER_LABELS)
    with pytest.raises(RecordError, match="duplicate record id 's1'"):
        TaskDataset("ner", "toy", "train", [tagging("s1"), tagging("s1")], NER_LABELS)
    with pytest.raises(RecordError, match="label set must be non-empty"):
        TaskDataset("ner", "toy", "train", [tagging()], ())
    with pytest.raises(RecordError, match="without repeats"):
        TaskDataset("classification", "toy", "train", [classification()], ("positive", "positive"))
    with pytest.raises(RecordError, match="takes no label set"):
        TaskDataset("qa", "toy", "train", [qa()], ("x",))
    with pytest.raises(ValueError, match="unknown split"):
        TaskDataset("qa", "toy", "eval", [qa()])


def test_task_dataset_unknown_labels():
    with pytest.raises(RecordError, match="record 's1': unknown label 'B-LOC'"):
        TaskDataset("ner", "toy", "train", [tagging()], bio_tag_set(["PER"]))
    with pytest.raises(RecordError, match="record 'c1': unknown label 'positive'"):
        TaskDataset("classification", "toy", "train", [classification()], ("negative", "neutral"))


def test_fingerprint_is_stable_and_content_sensitive():
    def make(*records, labels=NER_LABELS, name="toy", split="train"):
        return TaskDataset("ner", name, split, records, labels)

    base = make(tagging("a"), tagging("b"))
    assert base.fingerprint == make(tagging("a"), tagging("b")).fingerprint
    assert base.fingerprint == make(tagging("a"), tagging("b"), name="other", split="test").fingerprint
    assert len(base.fingerprint) == 64
    changed = [
        make(tagging("a"), tagging("c")),                                          # an id
        make(tagging("a"), tagging("b", tags=("B-PER", "O", "O", "O"))),           # a tag
        make(tagging("a"), tagging("b", tokens=("Ada", "lives", "in", "Rome"))),  # a token
        make(tagging("b"), tagging("a")),                                          # the order
        make(tagging("a")),                                                        # a record fewer
        make(tagging("a"), tagging("b"), labels=bio_tag_set(["PER", "LOC", "ORG"])),
    ]
    assert len({base.fingerprint, *(ds.fingerprint for ds in changed)}) == len(changed) + 1
    other_task = TaskDataset("qa", "toy", "train", [qa()])
    assert other_task.fingerprint != TaskDataset("qa", "toy", "train", [qa(context="Ada lives in Paris!")]).fingerprint
