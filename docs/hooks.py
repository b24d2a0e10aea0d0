"""MkDocs hook: pages generated at build time from the code, so they cannot drift from it.

``mkdocs.yml`` names this module under ``hooks:``. It adds these pages to the site:

* ``reference/index.md`` and ``reference/<id>.md``: one page per registered env id, from the
  env itself: its module docstring, its actual action and observation spaces in every
  observation mode (made on the embedded test split, in memory, with the tiny encoder, and
  with all-MiniLM-L6-v2 on a few of those examples), its constructor keywords with their
  defaults (``inspect.signature``), reward options, datasets it accepts and the metrics an
  episode and :func:`text_envs.evaluate` report (measured by playing the env's expert);
* ``cli.md``: the ``--help`` of every ``text-envs`` subcommand, from ``build_parser()``;
* ``api.md``: the docstrings and signatures of ``agents.PPO``, ``agents.A2C`` and
  ``agents.ActorCritic``;
* ``benchmarks.md``: the committed results in ``benchmarks/results/*.md`` and the learning
  curve PNG (MkDocs serves only files under ``docs/``, so they are copied in here);
* ``leaderboard/index.md``: ``benchmarks/results/leaderboard/README.md`` followed by the
  generated real-data and ``--quick`` leaderboards, with their learning-curve PNGs.

The nav entry ``reference/index.md`` is expanded into a section with every env page. Nothing
is downloaded and nothing is written outside the site: the build runs offline.
"""

from __future__ import annotations

import inspect
import os
import re
from functools import lru_cache
from pathlib import Path

from mkdocs.structure.files import File

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
REFERENCE_INDEX = "reference/index.md"
SPLIT = "test"  # the smallest embedded split; spaces do not depend on the split
MINILM_EXAMPLES = 4  # examples encoded with MiniLM per env, for its column of shapes
#: Shared keywords that ``TextEnv``'s docstring describes only inside another keyword's entry.
UNDOCUMENTED = {"invalid_action_penalty": "the reward of an invalid action under ``invalid_action=\"penalty\"``.",
                "max_invalid_actions": "invalid actions in one episode before it is truncated, under "
                                       "``invalid_action=\"penalty\"``."}


# -- docstrings -> Markdown -------------------------------------------------------------------

_ROLE = re.compile(r":(?:class|func|meth|mod|data|attr|exc|obj):`(~?)([^`]+)`")


def markdown_docstring(text: str) -> str:
    """A docstring as Markdown: Sphinx roles become code spans, ``Args:`` blocks lists."""
    text = _ROLE.sub(lambda m: f"`{m.group(2).split('.')[-1] if m.group(1) else m.group(2)}`", text)
    lines, out, in_args = text.splitlines(), [], False
    for line in lines:
        if line.strip() in ("Args:", "Arguments:"):
            out += ["**Arguments**", ""]
            in_args = True
            continue
        if in_args:
            if line.startswith("    ") and not line.startswith("        "):
                name, _, rest = line.strip().partition(": ")
                out.append(f"- `{name}`: {rest}")
                continue
            if line.startswith("        "):
                out.append("  " + line.strip())
                continue
            in_args = False
        out.append(line)
    return "\n".join(out)


def docstring_args(obj) -> dict[str, str]:
    """``{name: description}`` from the ``Args:`` section of ``obj``'s docstring."""
    args, current, inside = {}, None, False
    for line in (inspect.getdoc(obj) or "").splitlines():
        if line.strip() == "Args:":
            inside = True
        elif inside and line.startswith("    ") and not line.startswith("        "):
            current, _, rest = line.strip().partition(": ")
            args[current] = rest
        elif inside and line.startswith("        ") and current:
            args[current] += " " + line.strip()
        elif inside and line.strip():
            inside = False
    for names in list(args):  # "a, b: ..." documents both
        if ", " in names:
            for name in names.split(", "):
                args.setdefault(name, args[names])
    return args


def one_line(text: str) -> str:
    return _ROLE.sub(lambda m: f"`{m.group(2).split('.')[-1]}`", " ".join(text.split())).replace("|", "\\|")


def default_text(value) -> str:
    if value is inspect.Parameter.empty:
        return "required"
    if isinstance(value, type):
        return f"`{value.__module__.replace('numpy', 'np')}.{value.__qualname__}`"
    return f"`{value!r}`"


# -- the env reference --------------------------------------------------------------------------

def space_text(space) -> str:
    return f"`{space!r}`"


def space_rows(space) -> list[tuple[str, str]]:
    """(key, space) rows: one for a Box, one per key of a Dict."""
    import gymnasium as gym

    if isinstance(space, gym.spaces.Dict):
        return [(f"`{key}`", space_text(sub)) for key, sub in space.spaces.items()]
    return [("", space_text(space))]


def _make(env_id: str, dataset, encoder, observation: str):
    import gymnasium as gym

    return gym.make(env_id, dataset=dataset, split=SPLIT, encoder=encoder, cache_dir=None, observation=observation)


def _subset(data, count: int):
    from text_envs.records import TaskDataset

    return TaskDataset(data.task, data.name, data.split, [data[i] for i in range(min(count, len(data)))], data.labels)


def _measure_metrics(env) -> tuple[list[str], list[str], int, int]:
    """Per-episode ``info["metrics"]`` keys and ``evaluate`` keys, by playing the env's expert;
    and the number of valid actions at the first step of example 0, of how many."""
    import text_envs

    base = env.unwrapped
    _, info = env.reset(options={"index": 0})
    mask = info["action_mask"]
    done = False
    while not done:
        _, _, terminated, truncated, info = env.step(base.expert_action())
        done = terminated or truncated
    episode = list(info["metrics"])
    scores = text_envs.evaluate(env, lambda observation, action_mask: base.expert_action(), episodes=2)
    return episode, list(scores), int(mask.sum()), len(mask)


def _choices(spec, name: str):
    """The allowed values of a task keyword, from its spec (None: any value of its type)."""
    return spec.rewards if name == "reward" else spec.choices.get(name)


def _keywords(spec) -> list[tuple[str, inspect.Parameter, bool]]:
    """(name, parameter, task-specific?) for every keyword ``gymnasium.make`` takes: the task's own
    (its spec's), then those every env takes."""
    from text_envs.envs.base import TextEnv

    own = [p for p in inspect.signature(spec.__init__).parameters.values()
           if p.kind == p.KEYWORD_ONLY and p.name not in ("observation", "dtype", "encoder")]
    shared = [p for p in inspect.signature(TextEnv.__init__).parameters.values()
              if p.name != "self" and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)]
    return [(p.name, p, True) for p in own] + [(p.name, p, False) for p in shared]


@lru_cache(maxsize=1)
def env_pages() -> dict[str, str]:
    """``{file name: Markdown}`` of the env reference, ``reference/index.md`` included."""

    import text_envs  # noqa: F401  (registers the ids)
    from text_envs import cache as cache_module
    from text_envs.data import load
    from text_envs.data.hub import HUB_DATASETS
    from text_envs.data.local import FORMATS
    from text_envs.encoders import Encoder
    from text_envs.envs.base import TextEnv
    from text_envs.records import SPLITS
    from text_envs.tasks import OBSERVATION_MODES, SPECS

    tiny = Encoder("tiny", device="cpu")
    minilm = Encoder(device="cpu")
    symbols = (f"The encoder's hidden size `H` and vocabulary size `V` are {tiny.hidden_size} and "
               f"{tiny.vocab_size:,} for the tiny encoder, {minilm.hidden_size} and {minilm.vocab_size:,} for "
               "all-MiniLM-L6-v2")
    shared_help = {**docstring_args(cache_module.encode), **docstring_args(TextEnv), **UNDOCUMENTED}
    pages = {}
    index = ["# Environment reference", "",
             ("One page per registered id, generated when the site is built from the env itself (its module "
             "docstring, `inspect.signature`, and instances made on the embedded data), so it always matches "
             "the installed code. `text-envs info ID` prints the same spaces on any dataset and encoder."), "",
             "| id | entry point | episode |", "|---|---|---|"]
    for env_id, spec in SPECS.items():
        name, entry_point, description = env_id.split("/", 1)[1], spec.env_class, spec.summary
        index.append(f"| [`{env_id}`]({name}.md) | `{entry_point}` | {description} |")
        tiny_envs = {mode: _make(env_id, "embedded", tiny, mode) for mode in OBSERVATION_MODES}
        base = tiny_envs["compact"].unwrapped
        cls, module = type(base), inspect.getmodule(type(base))
        few = _subset(load(spec.records, "embedded", SPLIT), MINILM_EXAMPLES)
        # MiniLM on a few examples: valid for the shapes only if the tiny encoder's spaces do not
        # change on those few examples either (they depend on the keywords, not on the data).
        # (Every env is kept until the page is written: envs share an encoding only while one holds it.)
        tiny_few = {mode: _make(env_id, few, tiny, mode) for mode in OBSERVATION_MODES}
        same = all(repr(tiny_few[mode].observation_space) == repr(tiny_envs[mode].observation_space)
                   for mode in OBSERVATION_MODES)
        minilm_envs = {mode: _make(env_id, few, minilm, mode) for mode in OBSERVATION_MODES} if same else None
        episode_metrics, evaluate_metrics, valid, actions = _measure_metrics(tiny_envs["compact"])

        lines = [f"# `{env_id}`", "", f"*{description}.*", "",
                 "| | |", "|---|---|",
                 f"| entry point | `{entry_point}` (`gymnasium.make(\"{env_id}\")`) |",
                 f"| spec | `{spec.__module__}.{spec.__qualname__}` (records: `{spec.records}`) |",
                 f"| headline metric | `{spec.headline}` |",
                 f"| heuristic baseline | {spec.heuristic or 'none'} |",
                 f"| action space | {space_text(base.action_space)} (tiny encoder) |"]
        if minilm_envs:
            lines.append(f"| action space, all-MiniLM-L6-v2 | {space_text(minilm_envs['compact'].action_space)} |")
        vector = spec.vector_class
        lines.append(f"| torch vector env | `{vector}` |" if vector else "| torch vector env | none |")
        lines += [f"| per-episode `info[\"metrics\"]` | {', '.join(f'`{k}`' for k in episode_metrics)} |",
                  f"| `text_envs.evaluate` reports | {', '.join(f'`{k}`' for k in evaluate_metrics)} |", ""]

        lines += ["## Action space and mask", "",
                  (f"{space_text(base.action_space)} with the tiny encoder on the embedded data. "
                  "`info[\"action_mask\"]` and `env.action_masks()` give the valid actions as a bool array of "
                  f"that length (at the first step of embedded test example 0: {valid} of {actions} valid). "
                  "The rule, from the env's documentation:"), ""]
        doc = inspect.getdoc(module) or ""
        actions_paragraph = next((p for p in doc.split("\n\n") if p.startswith("Actions")), None)
        if actions_paragraph:
            lines += ["> " + line for line in markdown_docstring(actions_paragraph).splitlines()] + [""]

        lines += ["## Rewards", ""]
        reward_keywords = [(n, p) for n, p, own in _keywords(spec) if own and re.search("reward|rouge|cost", n)]
        if reward_keywords:
            lines += ["| keyword | default | options |", "|---|---|---|"]
            for keyword, parameter in reward_keywords:
                choices = _choices(spec, keyword)
                options = ", ".join(f"`{c!r}`" for c in choices) if choices else "a number"
                lines.append(f"| `{keyword}` | {default_text(parameter.default)} | {options} |")
        else:
            lines.append("No reward keyword: one reward rule (below).")
        lines += ["", ("Invalid actions: under `invalid_action=\"penalty\"` (default) a masked action does "
                  "nothing, gives `invalid_action_penalty` and truncates after `max_invalid_actions`; "
                  "`\"error\"` (strict) raises `InvalidActionError` "
                  "(see [Environments](../environments.md#masks-and-invalid-actions)). The full reward "
                  "definition is in the [specification](#specification)."), ""]

        lines += ["## Observation spaces", "",
                  f"Every observation mode, as made on the embedded `{SPLIT}` split. {symbols}. The MiniLM column "
                  "is what the default encoder gives (`gymnasium.make(\"" + env_id + "\", observation=...)`)."
                  if minilm_envs else f"Every observation mode, as made on the embedded `{SPLIT}` split, shown "
                  f"for the tiny encoder ({symbols}).", ""]
        header = "| mode | key | tiny encoder |" + (" all-MiniLM-L6-v2 |" if minilm_envs else "")
        lines += [header, "|---|---|---|" + ("---|" if minilm_envs else "")]
        for mode in OBSERVATION_MODES:
            rows = space_rows(tiny_envs[mode].observation_space)
            big = dict(space_rows(minilm_envs[mode].observation_space)) if minilm_envs else {}
            for i, (key, text) in enumerate(rows):
                cells = [f"`{mode}`" if i == 0 else "", key, text] + ([big.get(key, "")] if minilm_envs else [])
                lines.append("| " + " | ".join(cells) + " |")
        lines.append("")

        lines += ["## Constructor keywords", "",
                  (f"`gymnasium.make(\"{env_id}\", **keywords)` passes them to `{cls.__name__}` "
                  f"(`inspect.signature`; the task's own keywords first, those of `{spec.__name__}`, then those "
                  "every env takes)."), "",
                  "| keyword | default | meaning |", "|---|---|---|"]
        for keyword, parameter, own in _keywords(spec):
            meaning = one_line(shared_help.get(keyword, "")) if not own else "this env's; see the specification"
            lines.append(f"| `{keyword}` | {default_text(parameter.default)} | {meaning} |")
        lines.append("")

        hub = sorted(key for key, source in HUB_DATASETS.items() if source.task == spec.records and key != source.path)
        formats = [fmt for fmt, task in FORMATS.items() if task in (spec.records, None)]
        lines += ["## Datasets", "",
                  (f"`dataset=` takes anything `text_envs.data.load(\"{spec.records}\", dataset, split)` loads "
                  "(see [Data](../data.md)):"), "",
                  (f"- `\"embedded\"` (default): the `{spec.records}` set in the package ("
                  + " / ".join(str(len(load(spec.records, "embedded", split))) for split in SPLITS)
                  + " train / validation / test examples), offline;"),
                  "- hub ids (network needed the first time): "
                  + ", ".join(f"`{key}` (`{HUB_DATASETS[key].path}`)" for key in hub) + ";",
                  "- a local folder or file in one of the formats " + ", ".join(f"`{f}`" for f in formats) + ";",
                  f"- a ready `TaskDataset` whose task is `{spec.records}`.", ""]

        lines += ["## Specification", "", f"The docstring of `{module.__name__}`:", "",
                  markdown_docstring(doc), ""]
        pages[f"reference/{name}.md"] = "\n".join(lines)
        for env in (*tiny_envs.values(), *tiny_few.values(), *(minilm_envs or {}).values()):
            env.close()
    pages[REFERENCE_INDEX] = "\n".join(index) + "\n"
    return pages


# -- the CLI, the API, the benchmarks ------------------------------------------------------------

@lru_cache(maxsize=1)
def cli_page() -> str:
    import argparse

    from text_envs.cli import build_parser

    previous = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "100"  # argparse wraps help at the terminal width: make it fixed
    try:
        parser = build_parser()
        commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        lines = ["# Command line: `text-envs`", "",
                 ("Generated from the argparse parser (`text_envs.cli.build_parser()`) when the site is built: "
                 "this is exactly what `--help` prints."), "", "```text", parser.format_help().rstrip(), "```", ""]
        for name, sub in commands.choices.items():
            lines += [f"## `text-envs {name}`", "", "```text", sub.format_help().rstrip(), "```", ""]
    finally:
        if previous is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = previous
    return "\n".join(lines)


def signature_block(name: str, callable_) -> list[str]:
    """A fenced block with ``name(...)``, one parameter a line (annotations as written)."""
    signature = inspect.signature(callable_)
    parts, star = [], False
    for parameter in signature.parameters.values():
        if parameter.kind == parameter.KEYWORD_ONLY and not star:
            parts.append("*")
            star = True
        text = parameter.name if parameter.kind != parameter.VAR_KEYWORD else f"**{parameter.name}"
        if parameter.annotation is not parameter.empty:
            text += f": {inspect.formatannotation(parameter.annotation).strip(chr(39))}"
        if parameter.default is not parameter.empty:
            text += f" = {parameter.default!r}"
        parts.append(text)
    return ["```python", f"{name}(", *(f"    {part}," for part in parts), ")", "```", ""]


def _method_docs(cls, names) -> list[str]:
    lines = []
    for name in names:
        member = inspect.getattr_static(cls, name, None)
        if member is None:
            continue
        function = member.__func__ if isinstance(member, (classmethod, staticmethod)) else member
        prefix = "classmethod " if isinstance(member, classmethod) else ""
        lines += [f"#### `{prefix}{name}{inspect.signature(function)}`", "",
                  markdown_docstring(inspect.getdoc(function) or ""), ""]
    return lines


@lru_cache(maxsize=1)
def api_page() -> str:
    import agents
    from agents.on_policy import OnPolicyAlgorithm

    lines = ["# Agents API", "",
             ("Generated from the docstrings and signatures of the `agents` package when the site is built. "
             "The guide is [Agents and trainer](agents.md)."), ""]
    for cls in (agents.PPO, agents.A2C):
        lines += [f"## `agents.{cls.__name__}`", "", *signature_block(cls.__name__, cls),
                  markdown_docstring(inspect.getdoc(cls)), "",
                  f"The algorithm (`{cls.__module__}`):", "",
                  markdown_docstring(inspect.getdoc(inspect.getmodule(cls))), ""]
    lines += ["## Shared arguments and methods: `agents.on_policy.OnPolicyAlgorithm`", "",
              markdown_docstring(inspect.getdoc(OnPolicyAlgorithm)), "", "### Methods", "",
              *_method_docs(OnPolicyAlgorithm, ["learn", "predict", "save", "load", "hyperparameters"]),
              "## `agents.ActorCritic`", "", *signature_block("ActorCritic", agents.ActorCritic),
              markdown_docstring(inspect.getdoc(agents.ActorCritic)), "", "### Methods", "",
              *_method_docs(agents.ActorCritic, ["forward"])]
    return "\n".join(lines)


def _demote(markdown: str) -> str:
    """Headings one level down (outside code fences), so each results file sits under an H2."""
    out, fenced = [], False
    for line in markdown.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        out.append("#" + line if not fenced and re.match(r"#{1,5} ", line) else line)
    return "\n".join(out)


_MD_LINK = re.compile(r"\[([^\]]+)\]\(([^)\s:]+\.md)\)")


def _relink(markdown: str, page_for) -> str:
    """Point the links between results files (right on GitHub) at the site pages showing them."""
    return _MD_LINK.sub(lambda match: f"[{match[1]}]({page_for(match[2])})", markdown)


def benchmarks_page() -> str:
    lines = ["# Benchmarks", "",
             ("The committed results in `benchmarks/results/`, with the commands and hardware that produced them "
             "(copied here when the site is built). Each script prints its figures next to a baseline measured "
             "in the same run; `benchmarks/README.md` says how to rerun them."), "",
             "## Learning curve: PPO on NER", "",
             "![PPO's validation entity F1 on NER against the baselines](benchmarks/ner_ppo_learning_curve.png)", "",
             ("The learning curve of `text-envs train NER --algo ppo` (seed 0, embedded NER data, all-MiniLM-L6-v2 "
             "states, 200k env steps, on a 2-core CPU)."), ""]
    for path in sorted(RESULTS.glob("*.md")):
        text = _relink(path.read_text(encoding="utf-8"),
                       lambda target: "leaderboard/index.md" if target.startswith("leaderboard/") else "benchmarks.md")
        lines += [_demote(text).rstrip(), "", f"*Source: `benchmarks/results/{path.name}`*",
                  ""]
    return "\n".join(lines)


# -- MkDocs events ------------------------------------------------------------------------------

def on_config(config):
    """Expand the nav entry ``reference/index.md`` into a section with every env's page."""
    import text_envs  # noqa: F401  (registers the ids)
    from text_envs.tasks import env_names

    def expand(items):
        result = []
        for item in items:
            if isinstance(item, dict):
                (title, value), = item.items()
                if value == REFERENCE_INDEX:
                    value = [REFERENCE_INDEX] + [{name: f"reference/{name}.md"} for name in env_names()]
                elif isinstance(value, list):
                    value = expand(value)
                result.append({title: value})
            else:
                result.append(item)
        return result

    if config.nav:
        config.nav = expand(config.nav)
    return config


LEADERBOARDS = (RESULTS / "leaderboard", RESULTS / "leaderboard-quick")


def leaderboard_page() -> str:
    """``benchmarks/results/leaderboard/README.md`` (targets, comparison with published
    numbers), then the generated tables of the real-data and quick leaderboards."""
    lines = [_relink((RESULTS / "leaderboard" / "README.md").read_text(encoding="utf-8"),
                     lambda target: "../benchmarks.md" if target.startswith("../") else "index.md").rstrip(), ""]
    for folder in LEADERBOARDS:
        if (folder / "leaderboard.md").exists():
            lines += [_demote((folder / "leaderboard.md").read_text(encoding="utf-8")).rstrip(), "",
                      f"*Source: `benchmarks/results/{folder.name}/leaderboard.md`*", ""]
    return "\n".join(lines)


def on_files(files, config):
    generated = {**env_pages(), "cli.md": cli_page(), "api.md": api_page(), "benchmarks.md": benchmarks_page(),
                 "leaderboard/index.md": leaderboard_page()}
    for src_uri, content in generated.items():
        if files.get_file_from_path(src_uri) is not None:
            raise ValueError(f"docs/{src_uri} exists, but the build generates it (docs/hooks.py): remove the file")
        files.append(File.generated(config, src_uri, content=content))
    for png in sorted(RESULTS.glob("*.png")):
        files.append(File.generated(config, f"benchmarks/{png.name}", abs_src_path=str(png)))
    for png in sorted(png for folder in LEADERBOARDS for png in folder.glob("*.png")):
        files.append(File.generated(config, f"leaderboard/{png.name}", abs_src_path=str(png)))
    return files
