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


def test_a_tiny_quick_run_writes_a_table_per_task_and_resumes_from_its_records(leaderboard, tmp_path):
    common = ["--quick", "--encoder", "tiny", "--device", "cpu", "--timesteps", "256", "--tasks",
              "classification-embedded", "--eval-episodes", "10", "--out", str(tmp_path)]
    assert leaderboard.main([*common, "--seeds", "0", "1", "--agents", "random", "heuristic", "supervised",
                             "ppo"]) == 0
    text = (tmp_path / "leaderboard.md").read_text()
    overview, per_task = text.split("## Per task")
    assert re.search(r"\| classification-embedded \| accuracy \| \d\.\d{3} \| \d\.\d{3} \(majority label\) \| "
                     r"\d\.\d{3} \| \d\.\d{3} \|", overview), "the summary: random, heuristic, supervised, ppo"
    lines = [line for line in per_task.splitlines() if line.startswith("|")]
    header, separator, *rows = lines
    assert header == "| agent | observation | seeds | accuracy | macro_f1 | env steps | train seconds |"
    assert separator.count("|") == header.count("|")
    assert [row.split("|")[1].strip() for row in rows] == ["majority label", "random", "supervised", "ppo"]
    for row in rows:
        assert row.count("|") == header.count("|")
    assert re.search(r"\| ppo \| compact \| 2 \| \d\.\d{3} ± \d\.\d{3} \|", text), "mean ± std over the two seeds"
    saved = json.loads((tmp_path / "leaderboard.json").read_text())
    assert [run["env_steps"] >= 256 for run in saved["classification-embedded"] if run["agent"] == "ppo"] == [True] * 2
    assert (tmp_path / "classification-embedded.png").stat().st_size > 0
    assert "--quick --encoder tiny" in text, "the command that made the records"
    assert "torch " + leaderboard.torch.__version__ in text

    # A second run adds what is missing and leaves every finished record alone.
    records = tmp_path / "records" / "classification-embedded"
    before = {path.name: path.read_text() for path in records.glob("*.json")}
    assert sorted(before) == ["heuristic.json", "ppo-seed0.json", "ppo-seed1.json", "random-seed0.json",
                              "random-seed1.json", "supervised-seed0.json", "supervised-seed1.json"]
    assert leaderboard.main([*common, "--seeds", "0", "1", "2", "--agents", "random", "ppo"]) == 0
    after = {path.name: path.read_text() for path in records.glob("*.json")}
    assert {name: after[name] for name in before} == before
    assert sorted(set(after) - set(before)) == ["ppo-seed2.json", "random-seed2.json"]
    text = (tmp_path / "leaderboard.md").read_text()
    assert "| ppo | compact | 3 |" in text and "| supervised | compact | 2 |" in text


def test_unknown_tasks_and_missing_data_are_refused(leaderboard, tmp_path, capsys):
    with pytest.raises(SystemExit):
        leaderboard.main(["--quick", "--tasks", "chess", "--out", str(tmp_path)])
    assert "unknown tasks ['chess']" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        leaderboard.main(["--data", str(tmp_path / "nowhere"), "--out", str(tmp_path)])
    assert "no real datasets" in capsys.readouterr().err
