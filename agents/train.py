"""A training run as ``text-envs train`` runs it: one folder, resumable, logged, scored against baselines.

A run folder holds:

* ``config.json``: what was asked (env, algorithm, backend, seeds, every keyword);
* ``checkpoint.pt`` (native) or ``checkpoint.zip`` (SB3): the model after the last
  completed chunk, written atomically (a temporary file renamed over the old one), so an
  interruption at any moment leaves the previous checkpoint whole;
* ``progress.csv`` and TensorBoard event files (``tb/``, when ``tensorboard`` is
  installed): one row per chunk of ``eval_every`` steps with the validation metrics and
  the mean training return of the chunk's episodes;
* ``results.json``, ``results.md`` and ``learning_curve.png`` at the end.

Running the same command on the same folder resumes from the checkpoint: training goes
on from its step count (rows of ``progress.csv`` written after it are dropped, so the log
and the model agree) and the final table is as if it had never stopped. Ctrl-C takes effect
at the next update boundary: the model is saved there, where its state is whole (the
native trainer's checkpoint then holds the envs' episodes in flight and the random
states), so the resumed run is bit-identical to an uninterrupted one, as after a
``kill -9`` (which resumes from the last evaluation's checkpoint). A second Ctrl-C stops at
once without saving. One process at a time trains in a folder (a lock file), and partial
files a killed run left are removed when the next one starts. Checkpoints hold tensors and
plain data only (:mod:`agents.checkpoints`); loading a run folder runs no code from it.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import io
import json
import os
import signal
import threading
import time
from pathlib import Path
from collections.abc import Callable, Iterator
from typing import Any

import gymnasium as gym
import numpy as np

from text_envs import evaluate
from text_envs.cli import ALGOS, BACKENDS
from text_envs.encoders import DEFAULT_ENCODER
from text_envs.files import atomic_write, locked, sweep_partials
from text_envs.registration import resolve_env_id
from text_envs.tasks import TaskSpec, spec_of

from .checkpoints import load_sb3

#: per algorithm: optimiser settings (both backends take these names). PPO: 16 envs x 128
#: steps a rollout, 10 epochs of 512-sample minibatches at 1e-3 (`text-envs train Classify`:
#: validation accuracy 1.0 on 200 examples, test 0.967, in 100k steps); A2C keeps SB3's defaults.
ALGO_DEFAULTS = {"ppo": {"n_steps": 128, "learning_rate": 1e-3, "n_epochs": 10, "batch_size": 512}, "a2c": {}}
ALGO_DEFAULTS["maskable-ppo"] = ALGO_DEFAULTS["ppo"]
DEFAULT_TIMESTEPS = 100_000


@dataclasses.dataclass
class RunConfig:
    """Everything that defines a run; saved as ``config.json`` and checked when resuming."""

    env: str
    algo: str = "ppo"
    backend: str = "native"
    total_timesteps: int | None = None  # None: the task's default (its spec's training), else DEFAULT_TIMESTEPS
    n_envs: int = 16
    seed: int = 0
    dataset: str = "embedded"
    encoder: str = DEFAULT_ENCODER
    observation: str = "compact"
    device: str = "auto"
    eval_every: int | None = None  # None: a tenth of the run (ten points on the learning curve)
    eval_episodes: int | None = 200
    env_kwargs: dict = dataclasses.field(default_factory=dict)
    algo_kwargs: dict = dataclasses.field(default_factory=dict)
    policy_kwargs: dict = dataclasses.field(default_factory=dict)
    supervised_epochs: int = 10

    def __post_init__(self) -> None:
        self.env = resolve_env_id(self.env)
        if self.total_timesteps is None:
            self.total_timesteps = self.task_spec.training.get("total_timesteps", DEFAULT_TIMESTEPS)
        if self.eval_every is None:
            self.eval_every = max(self.total_timesteps // 10, 1)
        if self.algo not in ALGOS:
            raise ValueError(f"unknown algo {self.algo!r}; expected one of {ALGOS}")
        if self.backend not in BACKENDS:
            raise ValueError(f"unknown backend {self.backend!r}; expected one of {BACKENDS}")
        if self.total_timesteps <= 0 or self.eval_every <= 0:
            raise ValueError("total_timesteps and eval_every must be positive")

    @property
    def task_spec(self) -> type[TaskSpec]:
        """The spec of the run's task: its headline metric, heuristic and training defaults."""
        return spec_of(self.env)

    @property
    def hyperparameters(self) -> dict[str, Any]:
        """The algorithm's keywords: the defaults for this algorithm and task (its spec's
        ``training``), then ``algo_kwargs``."""
        env_defaults = {k: v for k, v in self.task_spec.training.items() if k != "total_timesteps"}
        return {**ALGO_DEFAULTS[self.algo], **env_defaults, **self.algo_kwargs}

    def make_kwargs(self, split: str) -> dict[str, Any]:
        """``gym.make`` arguments of this run's envs on ``split``. Agents that cannot see masks
        (SB3's PPO and A2C) need nothing more: the envs' default ``invalid_action="penalty"``
        rule makes a masked action a penalised no-op."""
        return {"dataset": self.dataset, "split": split, "encoder": self.encoder, "observation": self.observation,
                **self.env_kwargs}


class _Backend:
    """One way to train, behind one small interface: build or resume, learn a chunk, save.
    :func:`_backend_for` picks the subclass of a run's ``backend``."""

    checkpoint_name: str

    def __init__(self, config: RunConfig, folder: Path) -> None:
        self.config = config
        self.checkpoint = folder / self.checkpoint_name
        self.model = None
        self.returns: list[float] = []

    def build_or_resume(self, *, trust_checkpoint: bool = False) -> bool:
        """The model, from the checkpoint when there is one; True if it resumed."""
        raise NotImplementedError

    def learn(self, steps: int, on_update: Callable[[int], bool]) -> None:
        """Train ``steps`` more env steps in one ``learn`` call (so learning-rate schedules span
        the whole run); ``on_update(num_timesteps)`` runs whenever the model is between two
        updates, where evaluating or checkpointing it sees a consistent state, and training
        stops there when it returns False."""
        raise NotImplementedError

    def save(self) -> None:
        """Write the checkpoint atomically: a crash while saving leaves the previous one whole."""
        raise NotImplementedError

    @property
    def num_timesteps(self) -> int:
        return int(self.model.num_timesteps)

    def take_returns(self) -> float | None:
        returns, self.returns = self.returns, []
        return float(np.mean(returns)) if returns else None


class _NativeBackend(_Backend):
    """The native PPO / A2C over the torch vector env (:mod:`agents.on_policy`)."""

    checkpoint_name = "checkpoint.pt"

    def build_or_resume(self, *, trust_checkpoint: bool = False) -> bool:
        from text_envs.vector import make_torch_vec_env

        from .a2c import A2C
        from .ppo import PPO

        c = self.config
        cls = A2C if c.algo == "a2c" else PPO
        env = make_torch_vec_env(c.env, c.n_envs, device=c.device, seed=c.seed, **c.make_kwargs("train"))
        if self.checkpoint.exists():
            self.model = cls.load(self.checkpoint, env=env, device=c.device)
            return True
        self.model = cls("auto", env, seed=c.seed, device=c.device, policy_kwargs=c.policy_kwargs,
                         **c.hyperparameters)
        return False

    def learn(self, steps: int, on_update: Callable[[int], bool]) -> None:
        def callback(stats: dict) -> bool:
            if "episode_return" in stats:
                self.returns.append(float(stats["episode_return"]))
            return on_update(self.num_timesteps)

        self.model.learn(steps, callback=callback, reset_num_timesteps=False)

    def save(self) -> None:
        self.model.save(self.checkpoint)


class _SB3Backend(_Backend):
    """Stable-Baselines3's PPO / A2C or sb3-contrib's MaskablePPO over its own vector env."""

    checkpoint_name = "checkpoint.zip"

    def _algorithm(self):
        if self.config.algo == "maskable-ppo":
            from sb3_contrib import MaskablePPO
            return MaskablePPO
        from stable_baselines3 import A2C, PPO
        return A2C if self.config.algo == "a2c" else PPO

    def _new(self, env):
        from .sb3 import MaskableTransformerPolicy, TransformerPolicy
        c = self.config
        policy = MaskableTransformerPolicy if c.algo == "maskable-ppo" else TransformerPolicy
        # a copy: SB3's A2C adds its optimizer to the dict it is given
        return self._algorithm()(policy, env, seed=c.seed, device=c.device, policy_kwargs=dict(c.policy_kwargs),
                                 **c.hyperparameters)

    def build_or_resume(self, *, trust_checkpoint: bool = False) -> bool:
        """SB3 zips are read without unpickling anything unless ``trust_checkpoint`` (see
        :func:`agents.checkpoints.load_sb3`)."""
        from stable_baselines3.common.env_util import make_vec_env

        c = self.config
        env = make_vec_env(c.env, n_envs=c.n_envs, seed=c.seed, env_kwargs=c.make_kwargs("train"))
        if self.checkpoint.exists():
            self.model = load_sb3(self._algorithm(), self.checkpoint, env=env, device=c.device,
                                  fresh=lambda: self._new(env), trust=trust_checkpoint)
            return True
        self.model = self._new(env)
        return False

    def learn(self, steps: int, on_update: Callable[[int], bool]) -> None:
        from stable_baselines3.common.callbacks import BaseCallback

        backend = self

        class Between(BaseCallback):
            """SB3 trains right after ``_on_rollout_end``: ``_on_rollout_start`` is the point between
            updates; a stop asked there takes effect at the rollout's first step (``_on_step``)."""

            keep_going = True

            def _on_step(self) -> bool:
                return self.keep_going

            def _on_rollout_start(self) -> None:
                if self.model.ep_info_buffer:
                    backend.returns.append(float(np.mean([info["r"] for info in self.model.ep_info_buffer])))
                self.keep_going = on_update(backend.num_timesteps)

        self.model.learn(steps, callback=Between(), reset_num_timesteps=False)

    def save(self) -> None:
        buffer = io.BytesIO()
        self.model.save(buffer)
        atomic_write(self.checkpoint, buffer.getvalue())


def _backend_for(config: RunConfig, folder: Path) -> _Backend:
    """The backend that trains ``config`` in ``folder``."""
    return (_NativeBackend if config.backend == "native" else _SB3Backend)(config, folder)


class _Log:
    """``progress.csv`` and TensorBoard, one row per evaluation."""

    def __init__(self, folder: Path, resume_step: int) -> None:
        self.path = folder / "progress.csv"
        self.rows: list[dict] = []
        if self.path.exists():
            with open(self.path, newline="") as handle:
                self.rows = [row for row in csv.DictReader(handle) if int(row["timesteps"]) <= resume_step]
            self._rewrite()
        try:
            from torch.utils.tensorboard import SummaryWriter
            self.writer = SummaryWriter(str(folder / "tb"), purge_step=resume_step + 1 if resume_step else None)
        except ImportError:  # tensorboard is optional
            self.writer = None

    def _rewrite(self) -> None:
        if not self.rows:
            self.path.unlink(missing_ok=True)
            return
        fields = list(dict.fromkeys(key for row in self.rows for key in row))
        text = io.StringIO(newline="")
        writer = csv.DictWriter(text, fields)
        writer.writeheader()
        writer.writerows(self.rows)
        atomic_write(self.path, text.getvalue())

    def add(self, row: dict) -> None:
        self.rows.append(row)
        self._rewrite()
        if self.writer is not None:
            for key, value in row.items():
                if key != "timesteps" and value is not None:
                    self.writer.add_scalar(key, value, row["timesteps"])
            self.writer.flush()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def _next_eval(num_timesteps: int, config: RunConfig) -> int:
    return (num_timesteps // config.eval_every + 1) * config.eval_every


def _scores(config: RunConfig, policy, split: str, episodes: int | None) -> dict[str, float]:
    return evaluate(config.env, policy, episodes=episodes, **config.make_kwargs(split))


def baseline_scores(config: RunConfig, split: str, *, progress: bool = False) -> dict[str, dict[str, float]]:
    """Random, heuristic (where the task has one) and supervised scores on ``split``."""
    from .baselines import RandomAgent, SupervisedAgent, heuristic_scores

    rows = {"random": _scores(config, RandomAgent(config.seed), split, None)}
    heuristic = heuristic_scores(config.env, config.dataset, split)
    if heuristic is not None:
        rows[config.task_spec.heuristic] = heuristic
    supervised = SupervisedAgent.fit(config.env, env_kwargs={**config.make_kwargs("train"), "invalid_action": "error"},
                                     policy_kwargs=config.policy_kwargs, epochs=config.supervised_epochs,
                                     seed=config.seed, device=config.device, progress=progress)
    rows["supervised"] = _scores(config, supervised, split, None)
    return rows


class _Interrupt:
    """Ctrl-C as a request: the first SIGINT sets :attr:`requested` (training stops at the next
    update boundary, where the model can be saved whole); a second one raises at once.
    Installed only in the main thread, the one Python delivers signals to."""

    def __init__(self) -> None:
        self.requested = False
        self._previous = None

    def _handle(self, signum, frame) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        print("\ninterrupt: stopping after this update to save a checkpoint (Ctrl-C again to stop now, "
              "without saving)", flush=True)

    def __enter__(self) -> _Interrupt:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)


@contextlib.contextmanager
def _run_folder_lock(folder: Path) -> Iterator[None]:
    """Hold ``folder``'s lock file while a run writes there: two processes training into one folder
    would overwrite each other's checkpoints, and a partial file is stale only when no run is live."""
    with locked(folder / ".lock", wait=False) as held:
        if not held:
            raise ValueError(f"{folder} is in use by another text-envs process; wait for it to end or use "
                             f"another run folder")
        yield


def read_config(folder: Path) -> dict:
    """A run folder's ``config.json`` as a dict, or a ValueError naming the file and what is wrong."""
    path = folder / "config.json"
    if not path.exists():
        raise FileNotFoundError(f"{folder} is not a run folder (no config.json); pass the folder `text-envs train` "
                                f"wrote")
    try:
        saved = json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError) as err:
        raise ValueError(f"{path} is not valid JSON ({err}); it was changed by hand or cut: restore it, or "
                         f"start the run in a new folder") from err
    fields = {field.name for field in dataclasses.fields(RunConfig)}
    if not isinstance(saved, dict) or "env" not in saved or set(saved) - fields:
        unknown = sorted(set(saved) - fields) if isinstance(saved, dict) else []
        raise ValueError(f"{path} is not a run's config" + (f" (unknown keys: {', '.join(unknown)})" if unknown
                                                             else ""))
    return saved


def _check_resumable(folder: Path, config: RunConfig, as_dict: dict) -> None:
    """Refuse to resume ``folder`` with other settings, or with fewer steps than it was asked for."""
    if not (folder / "config.json").exists():
        return
    previous = read_config(folder)
    changed = sorted(key for key in as_dict if previous.get(key) != as_dict[key] and key != "total_timesteps")
    if changed:
        raise ValueError(f"{folder} holds a run with different settings ({', '.join(changed)}); "
                         f"use another folder or the same settings to resume it")
    if config.total_timesteps < previous["total_timesteps"]:
        raise ValueError(f"{folder} holds a run of {previous['total_timesteps']} env steps; --timesteps "
                         f"{config.total_timesteps} would shorten it: resume with {previous['total_timesteps']} or "
                         f"more, or use another folder")


def train(config: RunConfig, folder: str | os.PathLike, *, baselines: bool = True, progress: bool = True,
          trust_checkpoint: bool = False) -> dict:
    """Train (or resume) the run in ``folder``, evaluate it and its baselines on the test split.

    Returns ``{"results": {"agent": metrics, "<baseline>": metrics, ...}, "env_steps",
    "seconds", "headline", "curve", "config", "hyperparameters"}`` (``curve``: the validation
    headline metric at each evaluation, ``[[env steps, value], ...]``), also written to
    ``results.json`` / ``results.md``, with ``learning_curve.png``. Ctrl-C saves at the next
    update boundary, then raises ``KeyboardInterrupt`` (see the module docstring).
    ``trust_checkpoint``: read an SB3 checkpoint with SB3's own unpickling loader.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    with _run_folder_lock(folder):
        sweep_partials(folder)
        return _train_locked(config, folder, baselines=baselines, progress=progress,
                             trust_checkpoint=trust_checkpoint)


def _train_locked(config: RunConfig, folder: Path, *, baselines: bool, progress: bool,
                  trust_checkpoint: bool) -> dict:
    from tqdm.auto import tqdm

    as_dict = json.loads(json.dumps(dataclasses.asdict(config)))  # tuples as lists, as config.json holds them
    _check_resumable(folder, config, as_dict)
    atomic_write(folder / "config.json", json.dumps(as_dict, indent=2))
    backend = _backend_for(config, folder)
    resumed = backend.build_or_resume(trust_checkpoint=trust_checkpoint)
    log = _Log(folder, backend.num_timesteps)
    elapsed = float(log.rows[-1]["seconds"]) if log.rows else 0.0
    headline = config.task_spec.headline
    bar = tqdm(total=config.total_timesteps, initial=backend.num_timesteps, unit="step", disable=not progress,
               desc=f"{config.algo} ({config.backend}) {config.env.split('/')[-1]}")
    if resumed:
        bar.write(f"resuming {folder} at step {backend.num_timesteps}")
    clock = {"started": time.perf_counter(), "elapsed": elapsed, "next": _next_eval(backend.num_timesteps, config)}

    def checkpoint() -> None:
        """Log validation scores and save, once per ``eval_every`` steps (evaluation time not counted)."""
        clock["elapsed"] += time.perf_counter() - clock["started"]
        scores = _scores(config, backend.model, "validation", config.eval_episodes)
        log.add({"timesteps": backend.num_timesteps, "seconds": round(clock["elapsed"], 2),
                 "train_return": backend.take_returns(), **{f"validation_{k}": v for k, v in scores.items()}})
        backend.save()
        bar.set_postfix({headline: f"{scores[headline]:.3f}"})
        clock["next"] = _next_eval(backend.num_timesteps, config)
        clock["started"] = time.perf_counter()

    def on_update(num_timesteps: int) -> bool:
        bar.update(min(num_timesteps, config.total_timesteps) - bar.n)
        if num_timesteps >= clock["next"]:
            checkpoint()
        elif interrupt.requested:
            backend.save()
        if interrupt.requested:
            clock["saved"] = num_timesteps
        return not interrupt.requested

    interrupt = _Interrupt()
    try:
        with interrupt:
            if backend.num_timesteps < config.total_timesteps:
                backend.learn(config.total_timesteps - backend.num_timesteps, on_update)
            if interrupt.requested:
                raise KeyboardInterrupt
            if not log.rows or int(log.rows[-1]["timesteps"]) < backend.num_timesteps:
                checkpoint()
    except KeyboardInterrupt:
        bar.close()
        log.close()
        saved = (f"checkpoint at step {clock['saved']}" if "saved" in clock
                 else "stopped without saving (the last checkpoint stands)")
        print(f"\ninterrupted: {saved} in {folder}; run the same command to resume")
        raise
    bar.close()
    log.close()
    elapsed = clock["elapsed"]
    results = {"agent": _scores(config, backend.model, "test", None)}
    if baselines:
        results.update(baseline_scores(config, "test", progress=progress))
    summary = {"results": results, "env_steps": backend.num_timesteps, "seconds": round(elapsed, 1),
               "headline": headline, "config": as_dict, "hyperparameters": config.hyperparameters,
               "curve": [[int(row["timesteps"]), float(row[f"validation_{headline}"])] for row in log.rows]}
    atomic_write(folder / "results.json", json.dumps(summary, indent=2))
    table = results_table(summary)
    atomic_write(folder / "results.md", table + "\n")
    plot_learning_curve(log.rows, headline, results, folder / "learning_curve.png",
                        title=f"{config.env} {config.algo} ({config.backend})")
    return summary


def results_table(summary: dict) -> str:
    """The results as a markdown table: one row per agent, the task's metrics as columns."""
    results = summary["results"]
    metrics = [key for key in results["agent"] if key not in ("episodes", "truncated_episodes")]
    lines = ["| agent | " + " | ".join(metrics) + " |", "|---" * (len(metrics) + 1) + "|"]
    for name, scores in results.items():
        label = f"{summary['config']['algo']} ({summary['config']['backend']})" if name == "agent" else name
        lines.append(f"| {label} | " + " | ".join(f"{scores[m]:.3f}" if m in scores else "-" for m in metrics) + " |")
    lines.append(f"\n{summary['env_steps']} env steps, {summary['seconds']} s of training "
                 f"(test split; headline metric: {summary['headline']})")
    return "\n".join(lines)


def plot_learning_curve(rows: list[dict], headline: str, results: dict, path: Path, *, title: str) -> None:
    """Validation ``headline`` against env steps, with the test-split baselines as dashed lines."""
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6, 4), dpi=100)
    axes = figure.add_subplot()
    steps = [int(row["timesteps"]) for row in rows]
    values = [float(row[f"validation_{headline}"]) for row in rows]
    axes.plot(steps, values, marker="o", label="agent (validation)")
    for index, (name, scores) in enumerate(item for item in results.items() if item[0] != "agent"):
        axes.axhline(scores[headline], linestyle="--", color=f"C{index + 1}", label=f"{name} (test)")
    axes.set(xlabel="env steps", ylabel=headline, title=title)
    axes.legend(loc="best", fontsize=8)
    figure.tight_layout()
    image = io.BytesIO()
    figure.savefig(image, format="png")
    atomic_write(path, image.getvalue())


def evaluate_run(folder: str | os.PathLike, *, split: str = "test", episodes: int | None = None,
                 trust_checkpoint: bool = False) -> dict[str, float]:
    """Load a run folder's checkpoint and score it on ``split`` with the run's own env settings.
    Nothing in the folder is unpickled unless ``trust_checkpoint`` (an SB3 zip holding entries
    that cannot be rebuilt from the run's settings)."""
    folder = Path(folder)
    if folder.is_file():
        folder = folder.parent
    config = RunConfig(**read_config(folder))
    backend = _backend_for(config, folder)
    if not backend.checkpoint.exists():
        raise FileNotFoundError(f"{folder} has no checkpoint yet ({backend.checkpoint.name})")
    backend.build_or_resume(trust_checkpoint=trust_checkpoint)
    return _scores(config, backend.model, split, episodes)
