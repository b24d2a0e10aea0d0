"""The tutorials in docs/tutorials run, with tiny settings, and print what their pages show."""

import re
import runpy
import sys
from pathlib import Path

import pytest
import torch

TUTORIALS = Path(__file__).resolve().parents[1] / "docs" / "tutorials"
TINY = ["--encoder", "tiny", "--examples", "48", "--threads", "1"]


@pytest.fixture
def run_tutorial(monkeypatch, capsys):
    """Run a tutorial script as ``python docs/tutorials/NAME args...`` in this process; its output back."""
    threads = torch.get_num_threads()

    def run(name, *args):
        monkeypatch.setattr(sys, "argv", [str(TUTORIALS / name), *args])
        runpy.run_path(str(TUTORIALS / name), run_name="__main__")
        return capsys.readouterr().out

    yield run
    torch.set_num_threads(threads)


def test_gae_tutorial_checks_its_hand_computation_against_compute_gae(run_tutorial):
    out = run_tutorial("gae.py", *TINY, "--timesteps", "0", "--index", "2")
    assert "One NER episode: validation sentence 2, encoder tiny, the untrained (random) policy" in out
    header = ["t", "word", "action", "gold", "r_t", "V(s_t)", "delta_t", "A_t", "A_t+V(s_t)", "G_t"]
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.split() == header)
    rows = []
    for line in lines[start + 1:]:
        if not line.strip():
            break
        rows.append(line.split())
    assert len(rows) >= 3 and [int(row[0]) for row in rows] == list(range(len(rows)))
    # the printed numbers obey the definitions (to the printed precision)
    gamma = 0.9
    reward, value, delta, advantage, target, mc = (list(map(float, column)) for column in zip(*(r[-6:] for r in rows)))
    for t in range(len(rows)):
        next_value = value[t + 1] if t + 1 < len(rows) else 0.0
        assert delta[t] == pytest.approx(reward[t] + gamma * next_value - value[t], abs=2e-3)
        assert target[t] == pytest.approx(advantage[t] + value[t], abs=2e-3)
    assert mc[-1] == reward[-1] and advantage[-1] == pytest.approx(delta[-1], abs=1e-3)
    assert re.search(r"hand loop == agents\.rollout\.compute_gae: max \|difference\| \S+ \(advantages\)", out)
    assert "lambda=0: A_t = delta_t" in out and "lambda=1: A_t = G_t - V(s_t)" in out
    assert "checked: lambda=0 gives delta_t, lambda=1 gives G_t - V(s_t) and the target G_t, for every t" in out


def test_ppo_vs_a2c_tutorial_writes_the_curves_and_a_table(run_tutorial, tmp_path):
    png = tmp_path / "curves.png"
    out = run_tutorial("ppo_vs_a2c.py", *TINY, "--timesteps", "2048", "--eval-every", "2048", "--eval-episodes",
                       "8", "--out", str(png))
    assert "NER, encoder tiny, 2,048 env steps each, seed 0" in out
    assert re.search(r"ppo\s+2,048 steps\s+validation entity_f1 \d\.\d{3}", out)
    assert re.search(r"a2c\s+2,\d{3} steps\s+validation entity_f1 \d\.\d{3}", out)
    assert "| env steps | PPO | A2C |" in out and re.search(r"\| 2,048 \| \d\.\d{3} \| \d\.\d{3} \|", out)
    assert re.search(r"\| PPO \| \d\.\d{3} \| \d\.\d{3} \| .*n_epochs=10", out)
    assert re.search(r"\| A2C \| \d\.\d{3} \| \d\.\d{3} \| .*gamma=0\.5", out)
    assert f"wrote {png}" in out
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
