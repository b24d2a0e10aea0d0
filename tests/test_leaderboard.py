"""The leaderboard runner produces a well-formed table from a tiny run."""

import importlib.util
import json
import re
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "leaderboard.py"


@pytest.fixture(scope="module")
def leaderboard():
    spec = importlib.util.spec_from_file_location("leaderboard", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["leaderboard"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_a_tiny_quick_run_writes_a_table_per_task(leaderboard, tmp_path):
    assert leaderboard.main(["--quick", "--encoder", "tiny", "--device", "cpu", "--timesteps", "256",
                             "--seeds", "0", "1", "--tasks", "classification-embedded",
                             "--agents", "random", "heuristic", "supervised", "ppo", "--eval-episodes", "10",
                             "--out", str(tmp_path)]) == 0
    text = (tmp_path / "leaderboard.md").read_text()
    lines = [line for line in text.splitlines() if line.startswith("|")]
    header, separator, *rows = lines
    assert header == "| agent | seeds | accuracy | macro_f1 | env steps | train seconds |"
    assert separator.count("|") == header.count("|")
    assert [row.split("|")[1].strip() for row in rows] == ["majority label", "random", "supervised", "ppo"]
    for row in rows:
        assert row.count("|") == header.count("|")
    assert re.search(r"\| ppo \| 2 \| \d\.\d{3} ± \d\.\d{3} \|", text), "mean ± std over the two seeds"
    saved = json.loads((tmp_path / "leaderboard.json").read_text())
    assert [run["env_steps"] >= 256 for run in saved["classification-embedded"]["ppo"]] == [True, True]
    assert (tmp_path / "classification-embedded.png").stat().st_size > 0
    assert "python benchmarks/leaderboard.py --quick" in text  # the command that made it


def test_unknown_tasks_and_missing_data_are_refused(leaderboard, tmp_path, capsys):
    with pytest.raises(SystemExit):
        leaderboard.main(["--quick", "--tasks", "chess", "--out", str(tmp_path)])
    assert "unknown tasks ['chess']" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        leaderboard.main(["--data", str(tmp_path / "nowhere"), "--out", str(tmp_path)])
    assert "no real datasets" in capsys.readouterr().err
