"""The env-only install (issue 12): ``text_envs`` works without the agents' dependencies.

An env-only user installs ``requirements/envs.txt`` and the package without its
dependencies; ``agents``, Stable-Baselines3, sb3-contrib, TensorBoard and matplotlib are then
absent. A subprocess blocks importing them (a ``sys.meta_path`` finder) and does what such
a user does: import every module of ``text_envs``, make and step an env, a torch vector env,
``text_envs.evaluate``, the CLI's ``list`` and ``info``; ``train`` and ``evaluate`` must then
stop with one line naming the extra. ``requirements/envs.txt`` plus the ``agents`` extra
must be exactly the default install's ``dependencies``, so the lists cannot drift.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
AGENTS_ONLY = ("agents", "stable_baselines3", "sb3_contrib", "tensorboard", "matplotlib")

BLOCKER = textwrap.dedent("""
    import sys

    BLOCKED = {blocked!r}

    class Blocker:
        '''An install without the agents' dependencies: importing one of them fails.'''

        @staticmethod
        def find_spec(name, path=None, target=None):
            if name.partition(".")[0] in BLOCKED:
                raise ModuleNotFoundError(f"No module named {{name!r}} (blocked by the test)", name=name)
            return None

    sys.meta_path.insert(0, Blocker)
""").format(blocked=AGENTS_ONLY)

ENV_USER = textwrap.dedent("""
    import contextlib, importlib, io, json, pkgutil, traceback

    import gymnasium as gym
    import numpy as np

    import text_envs
    from text_envs.cli import main
    from text_envs.vector import make_torch_vec_env

    report = {}
    # no module of the library needs the agents' dependencies to import (a module failing
    # for another reason is another test's business)
    failed = {}
    for module in pkgutil.walk_packages(text_envs.__path__, "text_envs."):
        if module.name.endswith("__main__"):  # would run the command line
            continue
        try:
            importlib.import_module(module.name)
        except Exception as err:
            text = "".join(traceback.format_exception(err))
            if "(blocked by the test)" in text:
                failed[module.name] = text
    report["import_failures"] = failed

    env = gym.make("text_envs/Classify-v0", encoder="tiny", cache_dir=None)
    observation, info = env.reset(seed=0)
    _, reward, terminated, truncated, info = env.step(int(np.flatnonzero(info["action_mask"])[0]))
    report["env_step"] = [float(reward), bool(terminated or truncated)]
    drawn = gym.make("text_envs/Classify-v0", encoder="tiny", cache_dir=None, render_mode="rgb_array")
    drawn.reset(seed=0)
    try:  # the rgb_array render needs matplotlib: a one-line error naming it
        drawn.render()
        report["render_error"] = None
    except ModuleNotFoundError as err:
        report["render_error"] = str(err)

    venv = make_torch_vec_env("text_envs/Classify-v0", 4, device="cpu", seed=0, encoder="tiny", cache_dir=None)
    _, info = venv.reset(seed=0)
    _, reward, terminated, truncated, info = venv.step(info["action_mask"].long().argmax(1))
    report["vector_step"] = list(reward.shape)

    scores = text_envs.evaluate("text_envs/Classify-v0", lambda obs, mask: int(np.flatnonzero(mask)[0]),
                                split="validation", episodes=5, encoder="tiny", cache_dir=None)
    report["evaluate"] = scores["episodes"]

    def cli(*argv):
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(list(argv))
        return [code, out.getvalue(), err.getvalue()]

    report["list"] = cli("list")
    report["info"] = cli("info", "Classify", "--encoder", "tiny", "--split", "validation")
    report["train"] = cli("train", "Classify", "--encoder", "tiny", "--timesteps", "16", "--no-baselines",
                          "--run-dir", "never-written")
    report["evaluate_cli"] = cli("evaluate", "never-written")
    report["loaded"] = sorted(name for name in {blocked!r} if name in __import__("sys").modules)
    print("REPORT" + json.dumps(report))
""").replace("{blocked!r}", repr(AGENTS_ONLY))


def run_blocked(code: str, tmp_path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", BLOCKER + code], capture_output=True, text=True, cwd=tmp_path,
                          timeout=600)


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    folder = tmp_path_factory.mktemp("lean")
    result = run_blocked(ENV_USER, folder)
    assert result.returncode == 0, result.stderr[-4000:]
    line = next(line for line in result.stdout.splitlines() if line.startswith("REPORT"))
    return json.loads(line[len("REPORT"):]), folder


def test_every_module_imports_without_the_agents_dependencies(report):
    assert report[0]["import_failures"] == {}
    assert report[0]["loaded"] == []


def test_envs_vector_envs_and_evaluate_work_without_them(report):
    result = report[0]
    assert result["env_step"][1] is True  # Classify: one step
    assert result["vector_step"] == [4]
    assert result["evaluate"] == 5


def test_rgb_array_render_names_matplotlib_in_one_line(report):
    message = report[0]["render_error"]
    assert message and "\n" not in message
    assert "pip install matplotlib" in message and 'text-envs[agents]' in message


def test_cli_list_and_info_work_without_them(report):
    from text_envs.tasks import SPECS

    code, out, err = report[0]["list"]
    assert code == 0 and err == ""
    assert len(out.splitlines()) == len(SPECS)  # one line per env
    for env_id, spec in SPECS.items():
        assert any(line.startswith(env_id) and line.endswith(spec.summary) for line in out.splitlines())
    code, out, err = report[0]["info"]
    assert code == 0 and "text_envs/Classify-v0" in out and "observation='compact'" in out


@pytest.mark.parametrize("command", ["train", "evaluate_cli"])
def test_train_and_evaluate_name_the_extra_in_one_line(report, command):
    code, out, err = report[0][command]
    name = command.removesuffix("_cli")
    assert code != 0 and out == ""
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert err.startswith(f"text-envs {name}: error: this command needs the agents extra")
    assert 'pip install "text-envs[agents]"' in err and 'pip install -e ".[agents]"' in err
    for dist in ("stable-baselines3", "sb3-contrib", "tensorboard", "matplotlib"):
        assert dist in err
    assert not (report[1] / "never-written").exists()


def test_the_console_script_says_the_same_and_help_needs_no_agents(tmp_path):
    code = "import sys; from text_envs.cli import main; sys.exit(main(sys.argv[1:]))"
    result = subprocess.run([sys.executable, "-c", BLOCKER + code, "train", "--help"], capture_output=True,
                            text=True, cwd=tmp_path)
    assert result.returncode == 0 and "--algo" in result.stdout, result.stderr
    result = subprocess.run([sys.executable, "-c", BLOCKER + code, "train", "Classify", "--encoder", "tiny"],
                            capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.startswith("text-envs train: error: this command needs the agents extra")
    assert result.stderr.count("\n") == 1


def _module_level_imports(tree: ast.AST):
    """(top-level name, line) of each absolute import outside every function body."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            continue
        if isinstance(node, ast.Import):
            yield from ((alias.name.partition(".")[0], node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            yield node.module.partition(".")[0], node.lineno
        yield from _module_level_imports(node)


def test_no_module_imports_the_agents_dependencies_at_module_level():
    """Only inside functions, when they run: the CLI's train/evaluate, matplotlib's drawing."""
    found = [f"{path.relative_to(ROOT)}:{line}: {name}"
             for path in sorted((ROOT / "text_envs").rglob("*.py"))
             for name, line in _module_level_imports(ast.parse(path.read_text(), str(path)))
             if name in AGENTS_ONLY]
    assert found == []


# --- the two lists of requirements --------------------------------------------------------

def _requirement(text: str):
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    requirement = Requirement(text)
    return canonicalize_name(requirement.name), str(requirement.specifier), str(requirement.marker or "")


def _pyproject() -> dict:
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _requirements_file(path: Path) -> list[str]:
    lines = (line.split("#", 1)[0].strip() for line in path.read_text().splitlines())
    return [line for line in lines if line]


def test_envs_requirements_plus_the_agents_extra_are_the_default_install():
    project = _pyproject()
    envs = [_requirement(line) for line in _requirements_file(ROOT / "requirements" / "envs.txt")]
    extra = [_requirement(line) for line in project["optional-dependencies"]["agents"]]
    default = [_requirement(line) for line in project["dependencies"]]
    for listed in (envs, extra, default):
        assert len(set(listed)) == len(listed), "a requirement listed twice"
    assert sorted(envs + extra) == sorted(default)
    assert {name for name, _, _ in extra} == {"stable-baselines3", "sb3-contrib", "tensorboard", "matplotlib"}


def test_the_cli_names_the_extras_packages():
    from packaging.utils import canonicalize_name

    from text_envs.cli import AGENTS_EXTRA

    extra = {_requirement(line)[0] for line in _pyproject()["optional-dependencies"]["agents"]}
    assert {canonicalize_name(name) for name in AGENTS_EXTRA.values()} == extra
