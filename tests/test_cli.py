"""The text-envs command line: list, info, encode, and clear errors."""

import subprocess
import sys

from text_envs.cli import main
from text_envs.registration import ENVIRONMENTS


def test_list_prints_every_registered_env(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert all(f"text_envs/{name}" in out for name in ENVIRONMENTS)


def test_info_prints_documentation_and_spaces_in_every_mode(capsys):
    assert main(["info", "NER-v0", "--encoder", "tiny", "--split", "validation"]) == 0
    out = capsys.readouterr().out
    assert "entity_f1_delta" in out and "action space: Discrete(9)" in out
    assert all(f"observation={mode!r}" in out for mode in ("compact", "sequence", "tokens"))


def test_encode_prints_a_summary_table(capsys, tmp_path):
    assert main(["encode", "ner", "classification", "--split", "validation", "--encoder", "tiny",
                 "--cache-dir", str(tmp_path), "--quiet"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["task", "dataset", "split", "records", "segments", "max_length", "tokens",
                                "truncated", "labels", "seconds"]
    assert lines[1].split()[:4] == ["ner", "embedded", "validation", "300"]
    assert lines[2].split()[:4] == ["classification", "embedded", "validation", "300"]
    assert any(tmp_path.iterdir())


def test_bad_input_is_an_error_message_not_a_traceback(capsys):
    assert main(["encode", "poetry", "--encoder", "tiny", "--memory"]) == 2
    assert "unknown task 'poetry'" in capsys.readouterr().err
    assert main(["info", "Chess-v0"]) == 2
    assert "unknown env 'Chess-v0'" in capsys.readouterr().err


def test_console_script_is_installed():
    result = subprocess.run([sys.executable, "-m", "text_envs.cli", "list"], capture_output=True, text=True,
                            check=True)
    assert "text_envs/NER-v0" in result.stdout
