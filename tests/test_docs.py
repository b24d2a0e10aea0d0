"""The documentation site builds (strictly, offline) and the code in it runs.

* ``mkdocs build --strict`` succeeds, and the pages ``docs/hooks.py`` generates are there: one
  reference page per registered env id, naming the env's actual action space;
* every ```python block of ``README.md`` and ``docs/**/*.md`` (the generated pages are built
  from the code, so none of them is a file here) runs, page by page, in order, in one
  namespace per page, as a reader would paste them: in a scratch folder, under a home
  directory of the test's own (where ``"~/.cache"`` lands), with the tiny encoder wherever a
  block loads the default all-MiniLM-L6-v2 (the same code, seconds instead of minutes);
* a block that cannot run in a test (a GPU, the network, ``../shared``, minutes of training)
  says why on the line right before it: ``<!-- not run: REASON -->``.
"""

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import gymnasium as gym
import pytest
import torch

from text_envs.encoders import DEFAULT_ENCODER, TINY_ENCODER, Encoder
from text_envs.registration import NAMESPACE
from text_envs.tasks import SPECS, env_names

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PAGES = [ROOT / "README.md", *sorted(DOCS.rglob("*.md"))]
NOT_RUN = "<!-- not run"
BLOCK = re.compile(r"^(?:<!-- not run(?P<reason>[^\n]*?)-->\n)?```python\n(?P<code>.*?)^```",
                   re.DOTALL | re.MULTILINE)

pytest.importorskip("mkdocs")
pytest.importorskip("material")


@dataclass
class Block:
    line: int  # of the opening fence, 1-based
    code: str
    not_run: str | None  # the reason given in the marker, or None for a block that runs


def python_blocks(page: Path) -> list[Block]:
    """The page's ```python blocks, in order, each with the reason of its not-run marker."""
    text = page.read_text(encoding="utf-8")
    blocks = []
    for match in BLOCK.finditer(text):
        reason = match["reason"]
        fence = match.start("code") - len("```python\n")
        blocks.append(Block(text.count("\n", 0, fence) + 1, match["code"],
                            None if reason is None else reason.strip().removeprefix(":").strip()))
    return blocks


def name(page: Path) -> str:
    return page.relative_to(ROOT).as_posix()


RUNNABLE = [page for page in PAGES if any(block.not_run is None for block in python_blocks(page))]


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    """One PyTorch thread here and in the build (``OMP_NUM_THREADS``): its two-thread pool slows
    the small ops of encoding and training a hundredfold when another process holds a core."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The built site (a subprocess: the build imports the envs and registers nothing here)."""
    folder = tmp_path_factory.mktemp("site")
    result = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(folder)], cwd=ROOT,
                            env={**os.environ, "OMP_NUM_THREADS": "1"}, capture_output=True, text=True, timeout=600,
                            check=False)
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


@pytest.mark.parametrize("name", env_names())
def test_each_env_has_a_reference_page_naming_its_action_space(site, name):
    page = site / "reference" / name / "index.html"
    assert page.is_file()
    html = page.read_text(encoding="utf-8")
    env = gym.make(f"{NAMESPACE}/{name}", split="test", encoder="tiny", cache_dir=None)
    assert f"{NAMESPACE}/{name}" in html
    assert repr(env.action_space) in html
    assert all(f"<code>{mode}</code>" in html for mode in ("compact", "sequence", "tokens"))


def test_blocks_are_collected_from_every_page():
    pages = {name(page) for page in PAGES}
    assert {"README.md", "docs/index.md", "docs/new-task.md", "docs/tutorials/gae.md"} <= pages
    assert not {"docs/reference/index.md", "docs/cli.md", "docs/api.md"} & pages  # generated at build time
    assert sum(len(python_blocks(page)) for page in PAGES) >= 25


def test_every_block_not_run_says_why():
    for page in PAGES:
        blocks = python_blocks(page)
        marked = [block for block in blocks if block.not_run is not None]
        assert all(block.not_run for block in marked), f"{name(page)}: a not-run marker without a reason"
        # a marker not right before a ```python fence would leave its block running unannounced
        assert page.read_text(encoding="utf-8").count(NOT_RUN) == len(marked), f"{name(page)}: a stray marker"


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    """The reader's home, one for all pages: its default cache, ``~/.cache/text-envs``, where
    the blocks' envs and their explicit ``encode(..., cache_dir="~/.cache/text-envs")`` meet,
    encodes each split once."""
    return tmp_path_factory.mktemp("home")


@pytest.fixture
def reader(monkeypatch, tmp_path, home):
    """Where a reader pastes the blocks: a scratch working directory, a home of its own with
    no cache settings, and the tiny encoder in place of the default MiniLM (what the blocks
    show is unchanged)."""
    load = Encoder.__init__

    def tiny_for_default(self, name_or_path=DEFAULT_ENCODER, **kwargs):
        load(self, TINY_ENCODER if str(name_or_path) == DEFAULT_ENCODER else name_or_path, **kwargs)

    monkeypatch.setattr(Encoder, "__init__", tiny_for_default)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("TEXT_ENVS_CACHE", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.chdir(tmp_path)
    registered, tasks = set(gym.registry), set(SPECS)
    yield
    for env_id in set(gym.registry) - registered:  # a page may register its own task (new-task.md)
        gym.registry.pop(env_id)
    for env_id in set(SPECS) - tasks:
        SPECS.pop(env_id)


def check_quickstart(namespace: dict) -> None:
    assert 0.0 <= namespace["scores"]["entity_f1"] <= 1.0
    assert namespace["model"].num_timesteps >= 2048


def check_new_task(namespace: dict) -> None:
    """The tutorial's task is registered with its own classes, and its env trained with the transformer policy."""
    spec = namespace["NerIOSpec"]
    assert SPECS["text_envs/NER-IO-v0"] is spec and namespace["NerIOVectorEnv"].spec_class is spec
    model = namespace["model"]
    assert model.policy.arch == "transformer" and model.num_timesteps == 512
    assert isinstance(model.env, namespace["NerIOVectorEnv"])


#: what a page's code must have built, beyond running without an error
CHECKS = {"docs/index.md": check_quickstart, "docs/new-task.md": check_new_task}


@pytest.mark.parametrize("page", RUNNABLE, ids=name)
def test_page_code_runs(reader, page):
    namespace = {"__name__": "docs"}
    for block in python_blocks(page):
        if block.not_run is None:
            # padded so that a traceback names the page's own line numbers
            exec(compile("\n" * block.line + block.code, str(page), "exec"), namespace)  # noqa: S102
    CHECKS.get(name(page), lambda namespace: None)(namespace)
