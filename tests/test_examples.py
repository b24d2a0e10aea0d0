"""The "bring your own agent" scripts in examples/ run as written (tiny encoder, small budgets) and learn.

Each script runs in this process with ``runpy`` (as ``python examples/X.py ARGS`` would,
``__main__`` block included), which shares the imports between them; the assertions read
what it printed. The learning examples must beat the random agent they print next to
themselves: with the tiny encoder and these budgets they reach a mean return of about 12
on the NER test split against random's 2.7 (learning to say ``O`` where it belongs), a
margin no seed or float rounding closes.
"""

import re
import runpy
import sys
from pathlib import Path

import pytest
import torch

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
SCRIPTS = sorted(path.name for path in EXAMPLES.glob("*.py"))
NUMBER = r"(-?\d+\.\d+)"


@pytest.fixture
def run_example(monkeypatch, capsys):
    """Run examples/NAME with ARGS as ``__main__``; its stdout back."""
    # one thread: PyTorch's two-thread pool slows small ops a hundredfold when another process holds a core
    threads = torch.get_num_threads()
    torch.set_num_threads(1)

    def run(name: str, *args: str) -> str:
        monkeypatch.setattr(sys, "argv", [str(EXAMPLES / name), *args])
        capsys.readouterr()
        runpy.run_path(str(EXAMPLES / name), run_name="__main__")
        out = capsys.readouterr().out
        print(out)  # shown by pytest when an assertion fails
        return out

    yield run
    torch.set_num_threads(threads)


def metric(text: str, line_start: str, key: str) -> float:
    """The number after ``key`` on the first line starting with ``line_start``."""
    line = next(line for line in text.splitlines() if line.startswith(line_start))
    return float(re.search(rf"{key} {NUMBER}", line).group(1))


def test_every_example_has_docstring_and_budget_encoder_env_arguments(run_example, capsys):
    assert SCRIPTS == ["cleanrl_ppo.py", "custom_policy.py", "random_agent.py", "sb3_ppo.py", "torchrl_ppo.py"]
    for name in SCRIPTS:
        docstring = (EXAMPLES / name).read_text().split('"""')
        assert docstring[0] == "" and f"python examples/{name}" in docstring[1]
        with pytest.raises(SystemExit) as exit_info:
            run_example(name, "--help")
        assert exit_info.value.code == 0
        usage = capsys.readouterr().out
        for argument in ("--timesteps", "--encoder", "--env"):
            assert argument in usage, (name, argument)


def test_docs_page_shows_every_example():
    page = (EXAMPLES.parent / "docs" / "examples.md").read_text()
    for name in SCRIPTS:
        assert f'--8<-- "examples/{name}"' in page
        assert f"python examples/{name}" in page


def test_random_agent(run_example):
    out = run_example("random_agent.py", "--encoder", "tiny", "--timesteps", "300")
    render = out.split("last episode:")[1]
    assert all(f"\n{row}:" in render for row in ("words", "agent", "gold"))  # the ansi rendering
    episodes = int(re.search(r"(\d+) episodes, 300 steps", out).group(1))
    assert 5 < episodes < 300
    assert -1 <= metric(out, "  mean return", "return:") <= 40
    for key in ("entity_f1", "token_accuracy"):
        assert 0 <= float(re.search(rf"mean {key}: {NUMBER}", out).group(1)) <= 1


def test_cleanrl_ppo_beats_random(run_example):
    out = run_example("cleanrl_ppo.py", "--encoder", "tiny", "--timesteps", "4096")
    assert re.search(r"step +4096 +episodic_return", out)
    ppo, random = metric(out, "eval ppo", "mean_return"), metric(out, "eval random", "mean_return")
    assert ppo > random + 3
    assert metric(out, "eval ppo", "token_accuracy") > metric(out, "eval random", "token_accuracy") + 0.2


def test_sb3_ppo_and_maskable_ppo(run_example):
    out = run_example("sb3_ppo.py", "--encoder", "tiny", "--timesteps", "2048")
    assert "PPO + TransformerPolicy: 2048 steps" in out
    assert "MaskablePPO + MaskableTransformerPolicy: 2048 steps" in out
    header = next(line for line in out.splitlines() if line.startswith("| agent |"))
    keys = [cell.strip() for cell in header.strip("|").split("|")][1:]
    rows = {cells[0]: dict(zip(keys, map(float, cells[1:])))
            for cells in ([cell.strip() for cell in line.strip("|").split("|")]
                          for line in out.splitlines() if line.startswith("| ") and not line.startswith("| agent"))}
    assert set(rows) == {"PPO (penalty)", "MaskablePPO", "random"}
    assert all(0 <= scores["entity_f1"] <= 1 for scores in rows.values())
    assert rows["MaskablePPO"]["mean_return"] > rows["random"]["mean_return"] + 3
    # plain PPO pays for its masked actions, but it learns too
    assert rows["PPO (penalty)"]["token_accuracy"] > rows["random"]["token_accuracy"] + 0.1


def test_custom_policy_beats_random(run_example):
    out = run_example("custom_policy.py", "--encoder", "tiny", "--timesteps", "4096")
    assert re.search(r"policy: [\d,]+ parameters", out)
    assert "trained 4096 steps" in out
    custom, random = metric(out, "eval custom policy", "mean_return"), metric(out, "eval random", "mean_return")
    assert custom > random + 3
