"""The text-envs command line: list, info, encode, and clear errors."""

import json
import subprocess
import sys
import weakref

import gymnasium as gym
import pytest

from text_envs import cache
from text_envs.cli import main
from text_envs.records import SPLITS
from text_envs.tasks import env_names


def test_list_prints_every_registered_env(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert all(f"text_envs/{name}" in out for name in env_names())


def test_info_prints_documentation_and_spaces_in_every_mode(capsys):
    assert main(["info", "NER-v0", "--encoder", "tiny", "--split", "validation"]) == 0
    out = capsys.readouterr().out
    assert "entity_f1_delta" in out and "action space: Discrete(9)" in out
    assert all(f"observation={mode!r}" in out for mode in ("compact", "sequence", "tokens"))


def test_encode_prints_a_summary_table(capsys, tmp_path):
    assert main(["encode", "ner", "classification", "--split", "validation", "--encoder", "tiny",
                 "--cache-dir", str(tmp_path), "--quiet"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["task", "dataset", "split", "layout", "records", "segments", "max_length", "tokens",
                                "truncated", "labels", "seconds"]
    assert lines[1].split()[:5] == ["ner", "embedded", "validation", "ner", "300"]
    assert lines[2].split()[:5] == ["classification", "embedded", "validation", "classification", "300"]
    assert any(tmp_path.iterdir())


@pytest.fixture
def small_news(tmp_path):
    """A folder of three small JSONL splits (texts of 4 to 20 words: 1 to 3 chunks of 8)."""
    folder = tmp_path / "news"
    folder.mkdir()
    for split, count in (("train", 6), ("validation", 3), ("test", 3)):
        rows = [{"text": " ".join(f"{split}{i}w{j}" for j in range(4 + 4 * i)), "label": ["up", "down"][i % 2]}
                for i in range(count)]
        (folder / f"{split}.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    return folder


def test_first_encoding_says_what_it_encodes_and_shows_a_bar_then_stays_quiet(capsys, tmp_path, small_news):
    command = ["encode", "classification", "--dataset", str(small_news), "--split", "train", "--encoder", "tiny",
               "--cache-dir", str(tmp_path / "cache")]
    assert main(command) == 0
    err = capsys.readouterr().err
    assert f"encoding 6 records of news/train with tiny (once; cached in {tmp_path / 'cache'})" in err
    assert "tok/s" in err  # the tqdm bar, with its rate
    assert main(command) == 0
    assert "encoding" not in capsys.readouterr().err  # cached: nothing to announce


def _forbid_encoding(monkeypatch):
    """From now on, reading an entry works and building one fails; nothing is kept in this process."""
    def build(*args, **kwargs):
        raise AssertionError("encoded again")

    monkeypatch.setattr(cache, "_LOADED", weakref.WeakValueDictionary())
    monkeypatch.setattr(cache, "_build", build)


def test_encode_env_prebuilds_what_a_later_gym_make_reads(capsys, tmp_path, small_news, monkeypatch):
    cache_dir = tmp_path / "cache"
    assert main(["encode", "--env", "ClassifyReading-v0", "--dataset", str(small_news), "--encoder", "tiny",
                 "--cache-dir", str(cache_dir), "--quiet"]) == 0
    rows = [line.split() for line in capsys.readouterr().out.splitlines()[1:4]]
    assert [row[2:5] for row in rows] == [[split, "classification-chunks-8", str(count)]
                                          for split, count in zip(SPLITS, (6, 3, 3))]
    entries = sorted(path.name for path in cache_dir.iterdir())
    assert len(entries) == 3
    _forbid_encoding(monkeypatch)
    for split in SPLITS:
        env = gym.make("text_envs/ClassifyReading-v0", dataset=str(small_news), split=split, encoder="tiny",
                       cache_dir=cache_dir)
        assert env.unwrapped.encoded.path.parent == cache_dir
        env.reset(seed=0)
    assert sorted(path.name for path in cache_dir.iterdir()) == entries


def test_encode_env_passes_env_args_and_shows_progress(capsys, tmp_path, small_news, monkeypatch):
    cache_dir = tmp_path / "cache"
    assert main(["encode", "--env", "ClassifyReading", "--dataset", str(small_news), "--split", "test",
                 "--encoder", "tiny", "--cache-dir", str(cache_dir), "--env-arg", "chunk_words=3"]) == 0
    out, err = capsys.readouterr()
    assert out.splitlines()[1].split()[2:4] == ["test", "classification-chunks-3"]
    assert "encoding 3 records of news/test as classification-chunks-3 with tiny (once; cached in" in err
    _forbid_encoding(monkeypatch)
    gym.make("text_envs/ClassifyReading-v0", dataset=str(small_news), split="test", encoder="tiny",
             cache_dir=cache_dir, chunk_words=3)


def test_encode_env_errors(capsys, small_news):
    for argv, message in (
            (["ner", "--env", "NER-v0"], "give TASK names or --env, not both"),
            (["ner", "--env-arg", "reward=f1"], "--env-arg applies to --env only"),
            (["--env", "NER-v0", "--env-arg", "split=test"], "split is set by the command's own options"),
            (["--env", "Chess-v0"], "unknown env 'Chess-v0'")):
        assert main(["encode", *argv, "--encoder", "tiny", "--memory"]) == 2
        assert message in capsys.readouterr().err


def test_bad_input_is_an_error_message_not_a_traceback(capsys):
    assert main(["encode", "poetry", "--encoder", "tiny", "--memory"]) == 2
    assert "unknown task 'poetry'" in capsys.readouterr().err
    assert main(["info", "Chess-v0"]) == 2
    assert "unknown env 'Chess-v0'" in capsys.readouterr().err


def test_console_script_is_installed():
    result = subprocess.run([sys.executable, "-m", "text_envs.cli", "list"], capture_output=True, text=True,
                            check=True)
    assert "text_envs/NER-v0" in result.stdout
