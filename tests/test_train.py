"""The training driver and CLI: run folder, logs, resume, baselines table, evaluate."""

import csv
import json

import pytest

from agents.train import RunConfig, evaluate_run, results_table, train
from text_envs.cli import main

FAST = {"n_steps": 16, "batch_size": 64, "n_epochs": 2}


def config(**overrides):
    settings = {"env": "Classify", "total_timesteps": 512, "n_envs": 8, "encoder": "tiny", "eval_every": 256,
                "eval_episodes": 20, "algo_kwargs": FAST, "policy_kwargs": {"hidden_sizes": (32,)},
                "supervised_epochs": 1, "device": "cpu"}
    return RunConfig(**{**settings, **overrides})


def rows(folder):
    with open(folder / "progress.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def test_a_run_writes_its_folder(tmp_path):
    summary = train(config(), tmp_path, progress=False)
    assert [int(r["timesteps"]) for r in rows(tmp_path)] == [256, 512]
    assert {"random", "majority label", "supervised", "agent"} == set(summary["results"])
    for name in ("config.json", "checkpoint.pt", "results.json", "results.md", "learning_curve.png"):
        assert (tmp_path / name).stat().st_size > 0, name
    assert list((tmp_path / "tb").iterdir()), "TensorBoard events"
    saved = json.loads((tmp_path / "results.json").read_text())
    assert saved["env_steps"] == 512 and saved["headline"] == "accuracy"
    assert "| majority label |" in results_table(saved)


def test_resume_continues_from_the_checkpoint_and_drops_later_log_rows(tmp_path):
    train(config(total_timesteps=256), tmp_path, baselines=False, progress=False)
    with open(tmp_path / "progress.csv", "a") as handle:  # a row written after the checkpoint, then a crash
        handle.write("999999,1.0,,0.5\n")
    summary = train(config(total_timesteps=512), tmp_path, baselines=False, progress=False)
    assert [int(r["timesteps"]) for r in rows(tmp_path)] == [256, 512]
    assert summary["env_steps"] == 512
    assert summary["curve"] == [[int(r["timesteps"]), float(r["validation_accuracy"])] for r in rows(tmp_path)]


def test_resume_refuses_a_folder_with_other_settings(tmp_path):
    train(config(total_timesteps=256), tmp_path, baselines=False, progress=False)
    with pytest.raises(ValueError, match="different settings .*seed"):
        train(config(total_timesteps=256, seed=1), tmp_path, baselines=False, progress=False)


def test_bad_settings_are_named():
    with pytest.raises(ValueError, match="unknown algo 'dqn'"):
        config(algo="dqn")
    with pytest.raises(ValueError, match="unknown env 'Chess'"):
        config(env="Chess")


def test_sb3_backend_run_and_evaluate(tmp_path):
    train(config(backend="sb3", algo="maskable-ppo", total_timesteps=256), tmp_path, baselines=False, progress=False)
    assert (tmp_path / "checkpoint.zip").exists()
    scores = evaluate_run(tmp_path, split="validation", episodes=10)
    assert scores["episodes"] == 10 and 0.0 <= scores["accuracy"] <= 1.0


def test_cli_train_then_evaluate(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "NER", "--encoder", "tiny", "--timesteps", "256", "--eval-every", "256", "--n-envs", "8",
                 "--set", "n_steps=16", "--set", "batch_size=64", "--policy", "hidden_sizes=(32,)",
                 "--no-baselines", "--quiet", "--run-dir", str(run), "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert "| ppo (native) |" in out and "entity_f1" in out
    assert main(["evaluate", str(run), "--split", "validation", "--episodes", "5"]) == 0
    assert "entity_f1" in capsys.readouterr().out


def test_cli_errors_name_the_problem(tmp_path, capsys):
    assert main(["evaluate", str(tmp_path)]) == 2
    assert "not a run folder" in capsys.readouterr().err
    assert main(["train", "NER", "--set", "n_steps"]) == 2
    assert "--set takes KEY=VALUE" in capsys.readouterr().err
