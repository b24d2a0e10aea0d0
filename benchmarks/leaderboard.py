"""The leaderboard: every agent on every task, test-set metrics as mean ± std over seeds.

    python benchmarks/leaderboard.py                    # the real datasets in ../shared/data, 3 seeds
    python benchmarks/leaderboard.py --quick            # the embedded sets, small budgets, a CPU, minutes
    python benchmarks/leaderboard.py --tasks ner-conll2003 --agents supervised ppo --seeds 0 1 2

Per task (a dataset and the env that poses it) it runs, for each seed: the random agent,
the task's heuristic (majority tag, Lead-3, majority label; seed-free), the greedy ROUGE
oracle for summaries, the supervised model (the same policy trained on gold actions),
native PPO and A2C (``text-envs train``'s defaults for the env) and sb3-contrib's
MaskablePPO with the same policy. Everything shares the frozen encoder (MiniLM unless
``--encoder``). RL runs go through :func:`agents.train.train`, so each leaves a run folder
(checkpoint, ``progress.csv``, learning curve) under ``OUT/runs``.

Writes ``OUT/leaderboard.md`` (a table per task: agent, each metric as mean ± std,
env steps and training seconds), ``OUT/leaderboard.json`` (every seed's numbers) and
``OUT/<task>.png`` (validation learning curves, mean over seeds, with the baselines).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

AGENTS = ("random", "heuristic", "oracle", "supervised", "ppo", "a2c", "maskable-ppo")
RL_AGENTS = {"ppo": ("ppo", "native"), "a2c": ("a2c", "native"), "maskable-ppo": ("maskable-ppo", "sb3")}


@dataclass
class Task:
    """One leaderboard row group: an env on a dataset, with its RL budget."""

    env: str
    dataset: str  # "embedded" or a path under the data root
    timesteps: int
    env_kwargs: dict = field(default_factory=dict)

    @property
    def env_id(self) -> str:
        return f"text_envs/{self.env}-v0"


SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
REAL_TASKS = {
    "ner-conll2003": Task("NER", "ner/conll2003", 1_000_000),
    "qa-squad": Task("QA", "qa/squad-v1.1/dev-v1.1.json", 300_000),
    "summarization-bbc": Task("Summarize", "summarization/bbc-news-summary.jsonl", 200_000,
                              {"max_sentences": 128}),
    "classification-ag_news": Task("Classify", "classification/ag_news", 200_000),
    "classification-sst2": Task("Classify", "classification/sst2", 200_000),
}
QUICK_TASKS = {
    "ner-embedded": Task("NER", "embedded", 100_000),
    "qa-embedded": Task("QA", "embedded", 30_000),
    "summarization-embedded": Task("Summarize", "embedded", 20_000),
    "classification-embedded": Task("Classify", "embedded", 50_000),
}


def mean_std(values: list[float]) -> str:
    return f"{np.mean(values):.3f} ± {np.std(values):.3f}" if len(values) > 1 else f"{values[0]:.3f}"


def run_task(name: str, task: Task, args, out: Path) -> dict[str, list[dict]]:
    """``{agent: [one dict per seed: {"scores", "env_steps", "seconds", "curve"}]}`` for one task."""
    import gymnasium as gym

    from agents.baselines import HEURISTICS, RandomAgent, SupervisedAgent, heuristic_scores
    from agents.train import RunConfig, task_of, train
    from text_envs import evaluate

    dataset = task.dataset if task.dataset == "embedded" else str(args.data / task.dataset)
    env_id = task.env_id
    common = {"dataset": dataset, "encoder": args.encoder, **task.env_kwargs}
    timesteps = args.timesteps or task.timesteps
    rows: dict[str, list[dict]] = {}

    def add(agent: str, scores: dict, env_steps: int = 0, seconds: float = 0.0, curve=None) -> None:
        rows.setdefault(agent, []).append({"scores": scores, "env_steps": env_steps, "seconds": round(seconds, 1),
                                           "curve": curve or []})
        print(f"  {name} {agent}: " + ", ".join(f"{k}={v:.3f}" for k, v in scores.items()
                                                 if isinstance(v, float)), flush=True)

    task_name = task_of(env_id)
    if "heuristic" in args.agents and task_name in HEURISTICS:
        add(HEURISTICS[task_name], heuristic_scores(task_name, dataset, "test"))
    if "oracle" in args.agents and task_name == "summarization":
        env = gym.make(env_id, split="test", **common)
        add("greedy ROUGE oracle", evaluate(env, lambda observation, mask: env.unwrapped.expert_action()))
    for seed in args.seeds:
        if "random" in args.agents:
            add("random", evaluate(env_id, RandomAgent(seed), split="test", **common))
        if "supervised" in args.agents:
            started = time.perf_counter()
            agent = SupervisedAgent.fit(env_id, env_kwargs=common, seed=seed, device=args.device)
            seconds = time.perf_counter() - started
            add("supervised", evaluate(env_id, agent, split="test", **common), agent.samples_seen, seconds)
        for agent in (a for a in args.agents if a in RL_AGENTS):
            algo, backend = RL_AGENTS[agent]
            run = RunConfig(env=env_id, algo=algo, backend=backend, total_timesteps=timesteps, seed=seed,
                            dataset=dataset, encoder=args.encoder, device=args.device,
                            eval_episodes=args.eval_episodes, env_kwargs=task.env_kwargs)
            summary = train(run, out / "runs" / f"{name}-{agent}-seed{seed}", baselines=False, progress=False)
            curve = [(int(r["timesteps"]), float(r[f"validation_{summary['headline']}"]))
                     for r in _progress(out / "runs" / f"{name}-{agent}-seed{seed}")]
            add(agent, summary["results"]["agent"], summary["env_steps"], summary["seconds"], curve)
    return rows


def _progress(folder: Path) -> list[dict]:
    import csv
    with open(folder / "progress.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def table(name: str, rows: dict[str, list[dict]]) -> str:
    """One task's markdown table: metrics as mean ± std over seeds, then env steps and seconds."""
    metrics = list(dict.fromkeys(key for runs in rows.values() for run in runs for key, value in run["scores"].items()
                                 if isinstance(value, float) and key != "mean_return"))
    lines = [f"### {name}", "", "| agent | seeds | " + " | ".join(metrics) + " | env steps | train seconds |",
             "|---|---:|" + "---:|" * (len(metrics) + 2)]
    for agent, runs in rows.items():
        cells = [mean_std([run["scores"][m] for run in runs]) if m in runs[0]["scores"] else "-" for m in metrics]
        steps = int(np.mean([run["env_steps"] for run in runs]))
        seconds = float(np.mean([run["seconds"] for run in runs]))
        lines.append(f"| {agent} | {len(runs)} | " + " | ".join(cells) + f" | {steps:,} | {seconds:.1f} |")
    return "\n".join(lines)


def plot(name: str, rows: dict[str, list[dict]], headline: str, path: Path) -> None:
    """Validation learning curves of the RL agents (mean over seeds), test-split baselines dashed."""
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6, 4), dpi=100)
    axes = figure.add_subplot()
    for agent, runs in rows.items():
        curves = [run["curve"] for run in runs if run["curve"]]
        if curves:
            length = min(len(c) for c in curves)
            steps = [curves[0][i][0] for i in range(length)]
            axes.plot(steps, np.mean([[c[i][1] for i in range(length)] for c in curves], axis=0), marker="o",
                      label=f"{agent} (validation)")
        elif headline in runs[0]["scores"]:
            axes.axhline(np.mean([run["scores"][headline] for run in runs]), linestyle="--", label=f"{agent} (test)")
    axes.set(xlabel="env steps", ylabel=headline, title=name)
    axes.legend(loc="best", fontsize=7)
    figure.tight_layout()
    figure.savefig(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="the embedded sets and small budgets (a CPU, minutes)")
    parser.add_argument("--tasks", nargs="+", default=None, help="task names (default: all of the mode's)")
    parser.add_argument("--agents", nargs="+", default=list(AGENTS), choices=AGENTS)
    parser.add_argument("--seeds", nargs="+", type=int, default=None, help="default: 0 1 2 (--quick: 0 1)")
    parser.add_argument("--timesteps", type=int, default=None, help="RL env steps per run (default: per task)")
    parser.add_argument("--encoder", default="all-MiniLM-L6-v2")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--eval-episodes", type=int, default=200, help="validation examples per evaluation")
    parser.add_argument("--data", type=Path, default=SHARED, help="root of the real datasets (../shared/data)")
    parser.add_argument("--out", type=Path, default=None,
                        help="output folder (default: benchmarks/results/leaderboard[-quick])")
    args = parser.parse_args(argv)
    import text_envs  # noqa: F401  (registers the ids)
    from agents.train import HEADLINE, task_of

    catalogue = QUICK_TASKS if args.quick else REAL_TASKS
    names = args.tasks or list(catalogue)
    unknown = [n for n in names if n not in catalogue]
    if unknown:
        parser.error(f"unknown tasks {unknown}; {'--quick' if args.quick else 'real'} tasks: {list(catalogue)}")
    if not args.quick and not args.data.exists():
        parser.error(f"no real datasets at {args.data}; pass --data or use --quick")
    args.seeds = args.seeds or ([0, 1] if args.quick else [0, 1, 2])
    out = args.out or Path(__file__).parent / "results" / ("leaderboard-quick" if args.quick else "leaderboard")
    out.mkdir(parents=True, exist_ok=True)
    device = torch.cuda.get_device_name() if torch.cuda.is_available() and args.device != "cpu" else platform.machine()
    command = "python benchmarks/leaderboard.py " + " ".join(argv if argv is not None else sys.argv[1:])
    header = [f"# Leaderboard{' (quick)' if args.quick else ''}", "",
              f"`{command.strip()}`", "",
              (f"{time.strftime('%Y-%m-%d')}; {device}; torch {torch.__version__}; encoder {args.encoder}; "
               f"seeds {args.seeds}. Test-split metrics, mean ± std over seeds; env steps and training seconds "
               f"per run (RL: without evaluation time)."), ""]
    everything = {}
    sections = []
    for name in names:
        task = catalogue[name]
        print(f"{name}: {task.env} on {task.dataset}", flush=True)
        rows = run_task(name, task, args, out)
        everything[name] = rows
        sections.append(table(name, rows))
        headline = HEADLINE[task_of(task.env_id)]
        plot(name, rows, headline, out / f"{name}.png")
        sections.append(f"\n![{name} learning curves]({name}.png)\n")
        (out / "leaderboard.md").write_text("\n".join(header + sections) + "\n")
        (out / "leaderboard.json").write_text(json.dumps(everything, indent=1))
    print("\n".join(header + sections))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
