"""The leaderboard: every agent on every task, test-set metrics as mean ± std over seeds.

    python benchmarks/leaderboard.py                    # the real datasets in ../shared/data, 3 seeds
    python benchmarks/leaderboard.py --quick            # the embedded sets: about 20 minutes on one CPU core
    python benchmarks/leaderboard.py --tasks ner-conll2003 --agents supervised ppo --seeds 0 1 2
    python benchmarks/leaderboard.py --tasks ner-conll2003 --agents supervised ppo --observation tokens

Per task (a dataset and the env that poses it) it runs, for each seed: the random agent,
the task's heuristic (majority tag, Lead-3, majority label; seed-free), the greedy ROUGE
oracle for summaries, the supervised model (the same policy trained on gold actions),
native PPO and A2C (``text-envs train``'s defaults for the env) and sb3-contrib's
MaskablePPO with the same policy. Everything shares the frozen encoder (MiniLM unless
``--encoder``) except with ``--observation tokens``, where the policy fine-tunes it. RL
runs go through :func:`agents.train.train`, so each leaves a run folder (checkpoint,
``progress.csv``, learning curve) under ``OUT/runs``.

Every finished (task, agent, observation, seed) is saved at once as
``OUT/records/<task>/<agent>[-<observation>]-seed<N>.json`` with the command, hardware and
versions that made it, and is not run again: an interrupted table resumes where it
stopped, and several processes (``--tasks`` or ``--seeds`` apart) can fill one table side
by side. Delete a record to redo it; a record does not know the settings that made it
beyond its command, so runs with another ``--timesteps`` or ``--encoder`` belong in another
``--out``. After each task the runner rewrites, from all records in ``OUT``,
``OUT/leaderboard.md`` (a summary of each task's headline metric, then a table per task:
agent, observation, each metric as mean ± std, env steps and training seconds),
``OUT/leaderboard.json`` and ``OUT/<task>.png`` (validation learning curves, mean over
seeds, with the baselines).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from text_envs.encoders import DEFAULT_ENCODER
from text_envs.tasks import SPECS, spec_of

AGENTS = ("heuristic", "oracle", "random", "supervised", "ppo", "a2c", "maskable-ppo")
RL_AGENTS = {"ppo": ("ppo", "native"), "a2c": ("a2c", "native"), "maskable-ppo": ("maskable-ppo", "sb3")}
SEED_FREE = ("heuristic", "oracle")  # deterministic given the data: one record, no seed
OBSERVATION_FREE = ("heuristic", "oracle", "random")  # never look at the observation: compact only
OBSERVATIONS = ("compact", "sequence", "tokens")


@dataclass
class Task:
    """One leaderboard row group: an env on a dataset, with its RL budget."""

    env: str
    dataset: str  # "embedded" or a path under the data root
    timesteps: int
    env_kwargs: dict = field(default_factory=dict)
    #: ActorCritic keywords for the compact observation. QA's has 384 rows of 386 values
    #: (one per token) and BBC's 256 x 386 (one per sentence), so a single 64-unit layer
    #: keeps a PPO update within seconds on a CPU.
    compact_policy: dict = field(default_factory=dict)

    @property
    def env_id(self) -> str:
        return f"text_envs/{self.env}-v0"


ROW_POLICY = {"hidden_sizes": [64]}
SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
REAL_TASKS = {
    "ner-conll2003": Task("NER", "ner/conll2003", 2_000_000),
    "qa-squad": Task("QA", "qa/squad-v1.1/dev-v1.1.json", 100_000, compact_policy=ROW_POLICY),
    # three picks, as Lead-3 makes: the comparison is about which sentences, not how many;
    # 256 sentence slots: the longest article has 245
    "summarization-bbc": Task("Summarize", "summarization/bbc-news-summary.jsonl", 50_000,
                              {"max_sentences": 256, "max_picks": 3}, ROW_POLICY),
    "classification-ag_news": Task("Classify", "classification/ag_news", 200_000),
    "classification-sst2": Task("Classify", "classification/sst2", 200_000),
}
QUICK_TASKS = {  # budgets for one CPU core: the whole quick table in about 20 minutes
    "ner-embedded": Task("NER", "embedded", 50_000),
    "qa-embedded": Task("QA", "embedded", 8_000, compact_policy=ROW_POLICY),
    "summarization-embedded": Task("Summarize", "embedded", 10_000, {"max_picks": 3}, ROW_POLICY),
    "classification-embedded": Task("Classify", "embedded", 20_000),
}


def mean_std(values: list[float]) -> str:
    return f"{np.mean(values):.3f} ± {np.std(values):.3f}" if len(values) > 1 else f"{values[0]:.3f}"


def record_name(agent: str, observation: str, seed: int) -> str:
    """The record's file stem: ``ppo-seed0``, ``ppo-tokens-seed0``, ``heuristic``."""
    stem = agent if observation == "compact" or agent in OBSERVATION_FREE else f"{agent}-{observation}"
    return stem if agent in SEED_FREE else f"{stem}-seed{seed}"


def provenance(command: str, device: str) -> dict:
    """What a record was made with: the command, the hardware and the library versions."""
    import gymnasium
    import stable_baselines3
    import transformers

    hardware = (torch.cuda.get_device_name() if device.startswith("cuda")
                else f"{platform.machine()} CPU, {torch.get_num_threads()} torch threads of {os.cpu_count()} cores")
    return {"command": command, "hardware": hardware, "date": time.strftime("%Y-%m-%d"),
            "versions": {"torch": torch.__version__, "transformers": transformers.__version__,
                         "gymnasium": gymnasium.__version__, "stable-baselines3": stable_baselines3.__version__}}


def run_task(name: str, task: Task, args, out: Path, command: str) -> None:
    """Run every (agent, seed) of one task that has no record yet, saving each record as it ends."""
    import gymnasium as gym

    from agents.baselines import RandomAgent, SupervisedAgent, heuristic_scores
    from agents.tensors import resolve_device
    from agents.train import RunConfig, train
    from text_envs import evaluate
    from text_envs.files import atomic_write

    dataset = task.dataset if task.dataset == "embedded" else str(args.data / task.dataset)
    env_id = task.env_id
    common = {"dataset": dataset, "encoder": args.encoder, **task.env_kwargs}
    timesteps = args.timesteps or task.timesteps
    spec = spec_of(env_id)
    folder = out / "records" / name
    folder.mkdir(parents=True, exist_ok=True)
    made_with = provenance(command, str(resolve_device(args.device)))

    def todo(agent: str, seed: int = 0) -> Path | None:
        """The record's path if it still has to be made, else None."""
        if agent not in args.agents or (agent in OBSERVATION_FREE and args.observation != "compact"):
            return None
        path = folder / f"{record_name(agent, args.observation, seed)}.json"
        return None if path.exists() else path

    def save(path: Path, agent: str, seed: int | None, scores: dict, env_steps: int = 0, seconds: float = 0.0,
             curve=None) -> None:
        label = {"heuristic": spec.heuristic, "oracle": "greedy ROUGE oracle"}.get(agent, agent)
        observation = "-" if agent in OBSERVATION_FREE else args.observation
        record = {"agent": label, "observation": observation, "seed": seed, "scores": scores,
                  "env_steps": env_steps, "seconds": round(seconds, 1), "curve": curve or [], **made_with}
        atomic_write(path, json.dumps(record, indent=1))
        print(f"  {name} {label} ({observation}, seed {seed}): "
              + ", ".join(f"{k}={v:.3f}" for k, v in scores.items() if isinstance(v, float)), flush=True)

    if spec.heuristic and (path := todo("heuristic")):
        save(path, "heuristic", None, heuristic_scores(env_id, dataset, "test"))
    if spec.records == "summarization" and (path := todo("oracle")):
        env = gym.make(env_id, split="test", **common)
        save(path, "oracle", None, evaluate(env, lambda observation, mask: env.unwrapped.expert_action()))
    observed = {**common, "observation": args.observation}
    policy = task.compact_policy if args.observation == "compact" else {}
    for seed in args.seeds:
        if path := todo("random", seed):
            save(path, "random", seed, evaluate(env_id, RandomAgent(seed), split="test", **common))
        if path := todo("supervised", seed):
            started = time.perf_counter()
            agent = SupervisedAgent.fit(env_id, env_kwargs=observed, policy_kwargs=policy, seed=seed,
                                        device=args.device)
            seconds = time.perf_counter() - started
            save(path, "supervised", seed, evaluate(env_id, agent, split="test", **observed), agent.samples_seen,
                 seconds)
        for agent, (algo, backend) in RL_AGENTS.items():
            if path := todo(agent, seed):
                run = RunConfig(env=env_id, algo=algo, backend=backend, total_timesteps=timesteps, seed=seed,
                                dataset=dataset, encoder=args.encoder, device=args.device,
                                observation=args.observation, eval_episodes=args.eval_episodes,
                                env_kwargs=task.env_kwargs, policy_kwargs=policy)
                summary = train(run, out / "runs" / name / path.stem, baselines=False, progress=False)
                save(path, agent, seed, summary["results"]["agent"], summary["env_steps"], summary["seconds"],
                     summary["curve"])


def load_records(out: Path, name: str) -> dict[tuple[str, str], list[dict]]:
    """``{(agent label, observation): [records, by seed]}`` of one task, in leaderboard order."""
    folder = out / "records" / name
    records = [json.loads(path.read_text()) for path in sorted(folder.glob("*.json"))] if folder.exists() else []
    rank = {label: i for i, label in enumerate(("random", "supervised", *RL_AGENTS))}
    records.sort(key=lambda r: (OBSERVATIONS.index(r["observation"]) if r["observation"] in OBSERVATIONS else -1,
                                rank.get(r["agent"], -1), r["seed"] or 0))
    rows: dict[tuple[str, str], list[dict]] = {}
    for record in records:
        rows.setdefault((record["agent"], record["observation"]), []).append(record)
    return rows


def table(name: str, rows: dict[tuple[str, str], list[dict]]) -> str:
    """One task's markdown table: metrics as mean ± std over seeds, then env steps and seconds."""
    metrics = list(dict.fromkeys(key for runs in rows.values() for run in runs for key, value in run["scores"].items()
                                 if isinstance(value, float) and key != "mean_return"))
    lines = [f"### {name}", "", "| agent | observation | seeds | " + " | ".join(metrics) + " | env steps | train seconds |",
             "|---|---|---:|" + "---:|" * (len(metrics) + 2)]
    for (agent, observation), runs in rows.items():
        cells = [mean_std([run["scores"][m] for run in runs]) if m in runs[0]["scores"] else "-" for m in metrics]
        steps = int(np.mean([run["env_steps"] for run in runs]))
        seconds = float(np.mean([run["seconds"] for run in runs]))
        lines.append(f"| {agent} | {observation} | {len(runs)} | " + " | ".join(cells)
                     + f" | {steps:,} | {seconds:.1f} |")
    return "\n".join(lines)


def plot(name: str, rows: dict[str, list[dict]], headline: str, path: Path) -> None:
    """Validation learning curves of the RL agents (mean over seeds), test-split baselines dashed."""
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6, 4), dpi=100)
    axes = figure.add_subplot()
    for index, ((agent, observation), runs) in enumerate(rows.items()):
        color = f"C{index % 10}"  # axhline does not advance the colour cycle
        label = agent if observation in ("-", "compact") else f"{agent}, {observation}"
        curves = [run["curve"] for run in runs if run["curve"]]
        if curves:
            length = min(len(c) for c in curves)
            steps = [curves[0][i][0] for i in range(length)]
            axes.plot(steps, np.mean([[c[i][1] for i in range(length)] for c in curves], axis=0), marker="o",
                      color=color, label=f"{label} (validation)")
        elif headline in runs[0]["scores"]:
            axes.axhline(np.mean([run["scores"][headline] for run in runs]), linestyle="--", color=color,
                         label=f"{label} (test)")
    axes.set(xlabel="env steps", ylabel=headline, title=name)
    axes.legend(loc="best", fontsize=7)
    figure.tight_layout()
    figure.savefig(path)


def provenance_lines(records: list[tuple[str, dict]]) -> list[str]:
    """One line per distinct (command, hardware, versions) among the ``(task, record)`` pairs, with what it made."""
    made: dict[str, list[str]] = {}
    for name, record in records:
        versions = ", ".join(f"{k} {v}" for k, v in record["versions"].items())
        key = f"`{record['command']}` on {record['hardware']}, {record['date']}; {versions}"
        made.setdefault(key, []).append(f"{name} {record['agent']}")
    return [f"- {key}: {', '.join(dict.fromkeys(rows))}" for key, rows in made.items()]


def summary(headlines: dict[str, tuple[str, dict]]) -> str:
    """One row per task: its headline metric (mean over seeds) for every agent and observation;
    the tasks' heuristics (majority tag, Lead-3, ...) share one column, named in the cell."""
    heuristics = {spec.heuristic for spec in SPECS.values()} - {None}

    def column(agent: str, observation: str) -> str:
        return "heuristic" if agent in heuristics else agent if observation in ("-", "compact") \
            else f"{agent} ({observation})"

    order = ["random", "heuristic", "greedy ROUGE oracle", "supervised", *RL_AGENTS]
    columns = sorted({column(*key) for _, rows in headlines.values() for key in rows},
                     key=lambda c: (order.index(c) if c in order else len(order), c))
    lines = ["| task | metric | " + " | ".join(columns) + " |", "|---|---|" + "---:|" * len(columns)]
    for name, (metric, rows) in headlines.items():
        cells = dict.fromkeys(columns, "-")
        for (agent, observation), runs in rows.items():
            value = f"{np.mean([run['scores'][metric] for run in runs]):.3f}"
            cells[column(agent, observation)] = f"{value} ({agent})" if agent in heuristics else value
        lines.append(f"| {name} | {metric} | " + " | ".join(cells.values()) + " |")
    return "\n".join(lines)


def write(out: Path, catalogue: dict[str, Task], quick: bool, encoder: str) -> str:
    """Rewrite ``leaderboard.md``/``.json`` and the PNGs from every record in ``out``; return the markdown."""
    intro = (f"Reproduce: `python benchmarks/leaderboard.py{' --quick' if quick else ''}` (one command for every "
             f"row; it skips the records it finds in `{out.name}/records`). Encoder {encoder}, frozen except for "
             "the `tokens` rows, where the policy fine-tunes it. Test-split metrics, mean ± std over seeds "
             "(std over seeds, population); env steps and training seconds are per run (RL: without the "
             "periodic validation).")
    everything, sections, records, headlines = {}, [], [], {}
    for name, task in catalogue.items():
        rows = load_records(out, name)
        if not rows:
            continue
        everything[name] = [run for runs in rows.values() for run in runs]
        records += [(name, run) for run in everything[name]]
        headlines[name] = (spec_of(task.env_id).headline, rows)
        made = f"`{task.env_id}` on `{task.dataset}`" + "".join(f", `{k}={v}`" for k, v in task.env_kwargs.items())
        if task.compact_policy:
            made += "; compact rows' MLP " + ", ".join(f"`{k}={v}`" for k, v in task.compact_policy.items())
        sections += [table(name, rows).replace(f"### {name}", f"### {name}\n\n{made}"), ""]
        if any(run["curve"] for runs in rows.values() for run in runs):
            plot(name, rows, headlines[name][0], out / f"{name}.png")
            sections += [f"![{name} learning curves]({name}.png)", ""]
    lines = [f"# Leaderboard{' (quick)' if quick else ''}", "", intro, "", "## Summary", "",
             "Each task's headline metric, mean over seeds:", "", summary(headlines), "", "## Per task", ""]
    text = "\n".join(lines + sections + ["## Made with", ""] + provenance_lines(records)) + "\n"
    (out / "leaderboard.md").write_text(text)
    (out / "leaderboard.json").write_text(json.dumps(everything, indent=1))
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="the embedded sets and small budgets (one CPU core, about 20 minutes)")
    parser.add_argument("--tasks", nargs="+", default=None, help="task names (default: all of the mode's)")
    parser.add_argument("--agents", nargs="+", default=list(AGENTS), choices=AGENTS)
    parser.add_argument("--seeds", nargs="+", type=int, default=None, help="default: 0 1 2")
    parser.add_argument("--observation", default="compact", choices=OBSERVATIONS,
                        help="what the learning agents see (and so their policy: MLP, transformer, fine-tuned "
                             "encoder); default compact")
    parser.add_argument("--timesteps", type=int, default=None, help="RL env steps per run (default: per task)")
    parser.add_argument("--encoder", default=DEFAULT_ENCODER)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--eval-episodes", type=int, default=200, help="validation examples per evaluation")
    parser.add_argument("--data", type=Path, default=SHARED, help="root of the real datasets (../shared/data)")
    parser.add_argument("--out", type=Path, default=None,
                        help="output folder (default: benchmarks/results/leaderboard[-quick])")
    args = parser.parse_args(argv)
    import text_envs  # noqa: F401  (registers the ids)

    catalogue = QUICK_TASKS if args.quick else REAL_TASKS
    names = args.tasks or list(catalogue)
    unknown = [n for n in names if n not in catalogue]
    if unknown:
        parser.error(f"unknown tasks {unknown}; {'--quick' if args.quick else 'real'} tasks: {list(catalogue)}")
    if not args.quick and not args.data.exists():
        parser.error(f"no real datasets at {args.data}; pass --data or use --quick")
    if args.threads:
        torch.set_num_threads(args.threads)
    args.seeds = args.seeds if args.seeds is not None else [0, 1, 2]
    out = args.out or Path(__file__).parent / "results" / ("leaderboard-quick" if args.quick else "leaderboard")
    out.mkdir(parents=True, exist_ok=True)
    command = " ".join(["python benchmarks/leaderboard.py", *(argv if argv is not None else sys.argv[1:])])
    for name in names:
        task = catalogue[name]
        print(f"{name}: {task.env} on {task.dataset}", flush=True)
        run_task(name, task, args, out, command)
        text = write(out, catalogue, args.quick, args.encoder)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
