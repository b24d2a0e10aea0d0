"""The documentation site builds (strictly, offline) and its runnable code runs.

* ``mkdocs build --strict`` succeeds, and the pages ``docs/hooks.py`` generates are there: one
  reference page per registered env id, naming the env's actual action space;
* every ```python block of the quickstart (``docs/index.md``) and of the new-env walkthrough
  (``docs/new-task.md``) runs, in order, in one namespace per page.
"""

import re
import subprocess
import sys
from pathlib import Path

import gymnasium as gym
import pytest

from text_envs.registration import ENVIRONMENTS, NAMESPACE

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)

pytest.importorskip("mkdocs")
pytest.importorskip("material")


def python_blocks(page: str) -> list[str]:
    return BLOCK.findall((DOCS / page).read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The built site (a subprocess: the build imports the envs and registers nothing here)."""
    folder = tmp_path_factory.mktemp("site")
    result = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(folder)], cwd=ROOT,
                            capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    return folder


def test_site_builds_with_every_page(site):
    for page in ("index.html", "environments/index.html", "new-task/index.html", "data/index.html",
                 "encoders-and-cache/index.html", "agents/index.html", "api/index.html", "cli/index.html",
                 "benchmarks/index.html", "benchmarks/ner_ppo_learning_curve.png", "reference/index.html"):
        assert (site / page).is_file(), page
    cli = (site / "cli" / "index.html").read_text(encoding="utf-8")
    assert all(f"text-envs {command}" in cli for command in ("list", "info", "encode", "train", "evaluate"))
    assert "ner_ppo_learning_curve.png" in (site / "benchmarks" / "index.html").read_text(encoding="utf-8")


def test_leaderboard_page_shows_the_committed_tables_and_their_curves(site):
    html = (site / "leaderboard" / "index.html").read_text(encoding="utf-8")
    for folder in ("leaderboard", "leaderboard-quick"):
        results = ROOT / "benchmarks" / "results" / folder
        tasks = [path.name for path in (results / "records").iterdir()]
        assert tasks, folder
        for task in tasks:
            assert task in html
        for png in results.glob("*.png"):
            assert (site / "leaderboard" / png.name).is_file() and png.name in html
    assert "Against published numbers" in html


@pytest.mark.parametrize("name", ENVIRONMENTS)
def test_each_env_has_a_reference_page_naming_its_action_space(site, name):
    page = site / "reference" / name / "index.html"
    assert page.is_file()
    html = page.read_text(encoding="utf-8")
    env = gym.make(f"{NAMESPACE}/{name}", split="test", encoder="tiny", cache_dir=None)
    assert f"{NAMESPACE}/{name}" in html
    assert repr(env.action_space) in html
    assert all(f"<code>{mode}</code>" in html for mode in ("compact", "sequence", "tokens"))


def test_quickstart_code_runs():
    blocks = python_blocks("index.md")
    assert len(blocks) >= 3
    namespace = {"__name__": "quickstart"}
    for block in blocks:
        exec(compile(block, "docs/index.md", "exec"), namespace)  # noqa: S102  (the point)
    assert 0.0 <= namespace["scores"]["entity_f1"] <= 1.0
    assert namespace["model"].num_timesteps >= 2048


def test_new_task_walkthrough_code_runs():
    namespace = {"__name__": "new_task"}
    try:
        for block in python_blocks("new-task.md"):
            exec(compile(block, "docs/new-task.md", "exec"), namespace)  # noqa: S102
    finally:
        gym.registry.pop(f"{NAMESPACE}/NER-IO-v0", None)  # the walkthrough registers its env
    assert namespace["NerIOVectorEnv"].env_class is namespace["NerIOEnv"]
