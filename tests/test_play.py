"""`text-envs play`: a human plays an episode in the terminal, driven here by scripted input."""

import functools
import io
import sys

import pytest

from text_envs.cli import main
from text_envs.data import load as load_split
from text_envs.play import play
from text_envs.records import TaskDataset


@functools.lru_cache
def load(task, dataset="embedded", split="validation", size=12):
    """The first ``size`` examples of an embedded split (encoding all of them would take seconds)."""
    full = load_split(task, dataset, split)
    return TaskDataset(task, full.name, full.split, full.records[:size], full.labels)


class Script:
    """Scripted ``input``: the lines in order, then end of input (``EOFError``); ``output`` collects what is shown."""

    def __init__(self, *lines):
        self.lines = list(lines)
        self.shown = []

    def input(self, prompt):
        if not self.lines:
            raise EOFError
        line = self.lines.pop(0)
        self.shown.append(prompt + line)
        return line

    def output(self, text):
        self.shown.append(str(text))

    @property
    def text(self):
        return "\n".join(self.shown)

    def play(self, env_id, task, size=12, **kwargs):
        return play(env_id, input=self.input, output=self.output, encoder="tiny",
                    dataset=load(task, size=size), **kwargs)


def after(text, marker):
    return text[text.index(marker) + len(marker):]


def test_ner_shows_the_sentence_refuses_invalid_tags_and_ends_with_metrics_and_the_expert():
    record = load("ner")[0]
    script = Script("B-XYZ", "I-PER", "", "hint", *["O"] * len(record.tokens), "O")
    [result] = script.play("NER", "ner", index=0)
    text = script.text
    # the text and the valid tags by name; the gold answer only at the end
    assert f"NER validation #0 ({record.id}), word 1/{len(record.tokens)}" in text
    assert "words:  " + record.tokens[0] in text
    assert "valid actions: 0 O, 1 B-" in text and "I-PER" not in text.split("\n")[2]
    playing, end = text.split("-- episode over --")
    assert "gold:" not in playing and "gold:   " + record.tags[0] in end
    # invalid input: refused with the reason, and the game goes on
    assert "invalid: 'B-XYZ' is not an action here" in text
    assert "invalid: I-PER is not allowed here: I-PER cannot follow the sentence start; try again" in text
    assert "invalid: empty input" in text
    assert f"the expert would play {record.tags[0]}" in text
    assert text.count("you played O: reward") == len(record.tokens)
    # the end: return, metrics, prediction, and what the expert does
    accuracy = sum(tag == "O" for tag in record.tags) / len(record.tags)
    assert result["metrics"]["token_accuracy"] == pytest.approx(accuracy)
    assert f"token_accuracy {accuracy:.3f}" in after(text, "\nmetrics: entity_f1 ")
    assert "prediction: " + " ".join(["O"] * len(record.tokens)) in text
    assert "expert actions: " + " ".join(record.tags) in text
    assert f"expert return: {len(record.tokens):g}; metrics: entity_f1 1.000, token_accuracy 1.000" in text
    assert result["expert"]["metrics"]["entity_f1"] == 1.0 and result["return"] == sum(t == "O" for t in record.tags)


def test_classify_by_name_prefix_or_number():
    record = load("classification")[2]
    labels = load("classification").labels
    script = Script("weather", "9", record.label[:4])
    [result] = script.play("Classify", "classification", index=2)
    text = script.text
    assert "text:   " + record.text in text
    assert "valid actions: " + ", ".join(f"{i} {label}" for i, label in enumerate(labels)) in text
    assert "invalid: 'weather' is not an action here" in text
    assert f"invalid: action 9 is outside the action space [0, {len(labels)}); try again" in text
    assert f"you played {record.label}: reward +1" in text
    assert "metrics: accuracy 1.000" in text and f"prediction: {record.label!r}" in text
    assert result["metrics"] == {"accuracy": 1.0} and result["prediction"] == record.label


def test_classify_reading_reads_then_answers():
    record = load("classification")[0]
    script = Script("READ", "1")
    [result] = script.play("ClassifyReading", "classification", index=0)
    assert "valid actions: 0 READ, 1 " in script.text and "you played READ: reward -0.05" in script.text
    assert "\nmetrics: accuracy " in script.text and "chunks_read 2" in script.text
    assert result["expert"]["actions"] == [1 + load("classification").labels.index(
        record.label)]


def test_qa_positions_words_and_phrases():
    data = load("qa", size=40)
    index = next(i for i, record in enumerate(data)  # an answer the tiny encoder keeps, said once
                 if record.answers[0].end < 100 and record.context.lower().count(record.answers[0].text.lower()) == 1
                 and " " in record.answers[0].text)
    answer = data[index].answers[0].text
    script = Script("1", "0", "zzzz", answer)
    [result] = script.play("QA", "qa", size=40, index=index)
    text = script.text
    assert "question: " + data[index].question in text and "valid start (step 1/2) positions: " in text
    assert "invalid: 1:" in text and "is a question token; the answer lies in the context" in text
    assert "is a special token" in text
    assert "invalid: 'zzzz' is not a token or word of the context; try again" in text
    assert "(2 steps): reward +1" in text
    assert "metrics: exact_match 1.000, f1 1.000" in text and f"prediction: {answer!r}" in text
    assert result["metrics"]["f1"] == 1.0


def test_qa_one_word_at_a_time():
    data = load("qa", size=40)
    index = next(i for i, record in enumerate(data) if record.answers[0].end < 100
                 and len(record.answers[0].text.split()) == 2
                 and all(record.context.count(word) == 1 for word in record.answers[0].text.split()))
    first, last = data[index].answers[0].text.split()
    script = Script(first, last)
    [result] = script.play("QA", "qa", size=40, index=index)
    assert "valid end (step 2/2) positions: " in script.text
    assert result["prediction"] == data[index].answers[0].text


def test_summarize_sentence_numbers_and_stop():
    record = load("summarization")[1]
    script = Script("STOP", "0", "0", "99", "stop")
    [result] = script.play("Summarize", "summarization", index=1)
    text = script.text
    assert f"   0 {record.sentences[0]}" in text
    assert "valid actions (sentence numbers): 0, 1, 2" in text
    assert "invalid: STOP is not allowed here: STOP needs at least one picked sentence; try again" in text
    assert "invalid: 0 is not allowed here: sentence 0 is already picked; try again" in text
    assert "invalid: action 99 is outside the action space" in text
    assert "reference:" not in after(text, "action> 0").split("-- episode over --")[0]
    assert "\nmetrics: rouge1 " in text and "expert actions: " in text
    assert result["prediction"] == [record.sentences[0]]


def test_summarize_tokens_words_are_written_as_their_tokens():
    record = load("summarization")[0]
    word = record.sentences[0].split()[1].strip(".,").lower()
    script = Script("EOS", "qqqqzz", word, "EOS")
    [result] = script.play("SummarizeTokens", "summarization", index=0)
    text = script.text
    assert "valid tokens: " in text
    assert "invalid: EOS is not allowed here: EOS needs at least one written token" in text
    assert "does not occur in the document" in text
    assert result["prediction"] == word and "you played EOS" in text and "\nmetrics: rouge1 " in text


@pytest.mark.parametrize("lines", [("q",), ()], ids=["q", "EOF"])
def test_quit_on_q_or_end_of_input(lines):
    script = Script(*lines)
    assert script.play("NER", "ner", index=0, episodes=2) == []
    assert script.shown[-1] == "bye" and "metrics:" not in script.text


def test_several_episodes():
    script = Script("0", "0", "q")
    results = script.play("Classify", "classification", index=5, episodes=3)
    assert [r["index"] for r in results] == [5, 6] and "episode 3/3" in script.text


def test_cli_play_end_to_end(monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", io.StringIO("nonsense\n" + "O\n" * 50))
    assert main(["play", "NER", "--encoder", "tiny", "--split", "validation", "--index", "4", "--seed", "0"]) == 0
    out = capsys.readouterr().out
    assert "NER validation #4" in out and "invalid: 'nonsense' is not an action here" in out
    assert "\nmetrics: entity_f1 " in out and "expert actions: " in out


def test_cli_play_bad_env(capsys):
    assert main(["play", "Chess", "--encoder", "tiny"]) == 2
    assert "unknown env 'Chess'" in capsys.readouterr().err
