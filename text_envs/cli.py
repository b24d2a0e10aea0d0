"""The ``text-envs`` command line.

* ``text-envs list``: the registered environments, one line each.
* ``text-envs info ID``: one environment's documentation (spaces, rewards, masks) and
  its actual spaces in every observation mode, on a dataset and encoder of your choice.
* ``text-envs encode``: load datasets, encode them into the cache (a no-op when they are
  cached already) and print a summary table: the quickest way to see that data, encoder
  and cache work on a machine. With ``--env ID`` it makes that env on each split instead,
  which pre-builds every layout the env reads (the reading env's chunks too).
* ``text-envs train ENV``: train an agent (native or SB3 backend) in a run folder, resumable,
  then print its test score next to the random, heuristic and supervised baselines
  (see :mod:`agents.train`).
* ``text-envs evaluate RUN``: score a run folder's checkpoint on a split.

``train`` and ``evaluate`` run the ``agents`` package, whose dependencies (Stable-Baselines3,
sb3-contrib, TensorBoard, matplotlib) an env-only install leaves out: they import it only
when run, and without those dependencies they exit with one line naming the extra to
install. The other commands, and building the parser (``--help``), need only the env library.
"""

from __future__ import annotations

import argparse
import ast
import sys
import time
from importlib.util import find_spec

from .encoders import DEFAULT_ENCODER
from .records import SPLITS, TASKS

#: the ``agents`` extra of the package: import name -> distribution name (pyproject.toml's
#: ``[project.optional-dependencies] agents``; the ``agents`` package itself ships in every install)
AGENTS_EXTRA = {"stable_baselines3": "stable-baselines3", "sb3_contrib": "sb3-contrib", "tensorboard": "tensorboard",
                "matplotlib": "matplotlib"}
#: what ``--algo`` and ``--backend`` accept, and so what :class:`agents.train.RunConfig` runs; named
#: here so that the parser builds without importing ``agents``
ALGOS = ("ppo", "a2c", "maskable-ppo")
BACKENDS = ("native", "sb3")


class MissingExtra(Exception):
    """A command needs an extra of the package that this install left out."""


def _installed(module: str) -> bool:
    try:
        return find_spec(module) is not None
    except (ImportError, ValueError):  # a broken or blocked package counts as missing
        return False


def _require_agents():
    """``agents.train``, or :class:`MissingExtra` naming the extra and its pip command; checked
    before anything runs, so that a run never fails half-way for want of, say, matplotlib."""
    missing = [dist for module, dist in AGENTS_EXTRA.items() if not _installed(module)]
    if not missing:
        try:
            import agents.train
        except ModuleNotFoundError as err:
            top = (err.name or "").partition(".")[0]
            if top not in {"agents", *AGENTS_EXTRA}:
                raise
            missing = [AGENTS_EXTRA.get(top, top)]
        else:
            return agents.train
    raise MissingExtra(f"this command needs the agents extra (missing: {', '.join(missing)}): "
                       f"pip install \"text-envs[agents]\" (in a source checkout: pip install -e \".[agents]\")")


def _encode(args: argparse.Namespace) -> int:
    from . import cache
    from .encoders import Encoder

    env_kwargs = _key_values(args.env_arg, "--env-arg")
    if args.env is None and env_kwargs:
        raise ValueError("--env-arg applies to --env only")
    if args.env is not None and args.tasks:
        raise ValueError(f"give TASK names or --env, not both: {args.env} fixes its task")
    encoder = Encoder(args.encoder, device=args.device)
    cache_dir = None if args.memory else (args.cache_dir or cache.default_cache_dir())
    if args.env is None:
        built = _encode_tasks(args, encoder, cache_dir)
    else:
        built = _encode_env(args, encoder, cache_dir, env_kwargs)
    rows = []
    for encoded, seconds in built:
        dataset = encoded.dataset
        rows.append((dataset.task, dataset.name, dataset.split, encoded.layout, len(dataset), len(encoded.pooled),
                     encoded.max_length, encoded.num_tokens, int(encoded.truncated.sum()), len(dataset.labels) or "-",
                     f"{seconds:.1f}"))
    header = ("task", "dataset", "split", "layout", "records", "segments", "max_length", "tokens", "truncated",
              "labels", "seconds")
    widths = [max(len(str(row[i])) for row in (header, *rows)) for i in range(len(header))]
    for row in (header, *rows):
        print("  ".join(str(value).rjust(width) for value, width in zip(row, widths)))
    print(f"encoder {encoder.name} (hidden size {encoder.hidden_size}, {encoder.device}); "
          f"cache: {cache_dir or 'in memory'}")
    return 0


def _encode_tasks(args: argparse.Namespace, encoder, cache_dir):
    """(encoding, seconds) of each split of each task, in the task's own layout."""
    from . import cache
    from .data import load

    for task in args.tasks or TASKS:
        for split in args.splits:
            dataset = load(task, args.dataset, split)
            start = time.perf_counter()
            encoded = cache.encode(dataset, encoder, cache_dir=cache_dir, max_length=args.max_length,
                                   progress=not args.quiet)
            yield encoded, time.perf_counter() - start


def _encode_env(args: argparse.Namespace, encoder, cache_dir, env_kwargs: dict):
    """(encoding, seconds) of each split, by making the env on it: its constructor encodes
    whatever it reads through the cache, in its own layout (the reading env's chunks), so
    this knows none of an env's rules and pre-builds exactly what a later ``gym.make`` with
    the same arguments reads."""
    import gymnasium as gym

    from .registration import resolve_env_id

    env_id = resolve_env_id(args.env)
    kwargs = {"dataset": args.dataset, "encoder": encoder, "cache_dir": cache_dir, "max_length": args.max_length,
              "progress": not args.quiet}
    clash = sorted(env_kwargs.keys() & {"split", *kwargs})
    if clash:
        raise ValueError(f"--env-arg {clash[0]}=...: {clash[0]} is set by the command's own options (--dataset, "
                         f"--split, --encoder, --cache-dir, --max-length, --quiet)")
    for split in args.splits:
        start = time.perf_counter()
        env = gym.make(env_id, split=split, **kwargs, **env_kwargs)
        seconds = time.perf_counter() - start
        yield env.unwrapped.encoded, seconds
        env.close()


def _list(args: argparse.Namespace) -> int:
    from .tasks import SPECS

    width = max(map(len, SPECS))
    for env_id, spec in SPECS.items():
        print(env_id.ljust(width + 2) + spec.summary)
    return 0


def _info(args: argparse.Namespace) -> int:
    import inspect

    import gymnasium as gym

    from .registration import resolve_env_id
    from .tasks import spec_of

    env_id = resolve_env_id(args.env)
    print(env_id)
    print("=" * len(env_id))
    observations = spec_of(env_id).observations
    for observation in observations:
        env = gym.make(env_id, dataset=args.dataset, split=args.split, encoder=args.encoder, observation=observation)
        base = env.unwrapped
        if observation == observations[0]:
            print(inspect.getdoc(inspect.getmodule(type(base))))
            print(f"\ndataset: {base.data!r}, encoder: {base.encoder.name}, action space: {env.action_space}")
        print(f"observation={observation!r}: {env.observation_space}")
    return 0


def _key_values(pairs: list[str] | None, option: str) -> dict:
    """``["n_steps=64", "learning_rate=1e-3"]`` as a dict; values are Python literals or strings."""
    result = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"{option} takes KEY=VALUE, got {pair!r}")
        try:
            result[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            result[key] = value
    return result


def _train(args: argparse.Namespace) -> int:
    agents_train = _require_agents()
    RunConfig, results_table, train = agents_train.RunConfig, agents_train.results_table, agents_train.train

    config = RunConfig(env=args.env, algo=args.algo, backend=args.backend, total_timesteps=args.timesteps,
                       n_envs=args.n_envs, seed=args.seed, dataset=args.dataset, encoder=args.encoder,
                       observation=args.observation, device=args.device, eval_every=args.eval_every,
                       eval_episodes=args.eval_episodes, env_kwargs=_key_values(args.env_arg, "--env-arg"),
                       algo_kwargs=_key_values(args.set, "--set"), policy_kwargs=_key_values(args.policy, "--policy"),
                       supervised_epochs=args.supervised_epochs)
    run_dir = args.run_dir or f"runs/{config.env.split('/')[-1]}-{config.algo}-{config.backend}-seed{config.seed}"
    try:
        summary = train(config, run_dir, baselines=not args.no_baselines, progress=not args.quiet,
                        trust_checkpoint=args.trust_checkpoint)
    except KeyboardInterrupt:
        return 130
    print(results_table(summary))
    print(f"run folder: {run_dir} (results.md, progress.csv, learning_curve.png, checkpoint)")
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    evaluate_run = _require_agents().evaluate_run

    scores = evaluate_run(args.folder, split=args.split, episodes=args.episodes,
                          trust_checkpoint=args.trust_checkpoint)
    width = max(map(len, scores))
    for key, value in scores.items():
        print(f"{key.ljust(width)}  {value:.4f}" if isinstance(value, float) else f"{key.ljust(width)}  {value}")
    return 0


def _play(args: argparse.Namespace) -> int:
    from .play import play

    make_kwargs = {"dataset": args.dataset, "split": args.split, "encoder": args.encoder}
    play(args.env, seed=args.seed, episodes=args.episodes, index=args.index, show_gold=args.show_gold,
         **make_kwargs)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="text-envs", description="NLP tasks as Gymnasium environments.")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="list the registered environments").set_defaults(run=_list)
    info = commands.add_parser("info", help="show an environment's spaces, rewards and dataset")
    info.add_argument("env", help="an env id, e.g. NER-v0 or text_envs/NER-v0")
    info.add_argument("--dataset", default="embedded", help="'embedded', a hub id or a local path")
    info.add_argument("--split", default="train", choices=SPLITS)
    info.add_argument("--encoder", default=DEFAULT_ENCODER, help="encoder name or local model folder")
    info.set_defaults(run=_info)
    encode = commands.add_parser("encode", help="encode datasets into the cache and print a summary",
                                 description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    encode.add_argument("tasks", nargs="*", metavar="TASK",
                        help=f"tasks to encode in their own layout (default: all of {', '.join(TASKS)})")
    encode.add_argument("--env", default=None, metavar="ID",
                        help="instead of tasks: make this env (e.g. ClassifyReading-v0) on each split, which "
                             "encodes every layout it reads, so a later gym.make of it finds them cached")
    encode.add_argument("--env-arg", action="append", metavar="KEY=VALUE",
                        help="env keyword for --env, e.g. --env-arg chunk_words=16 (repeatable)")
    encode.add_argument("--dataset", default="embedded", help="'embedded', a hub id or a local path")
    encode.add_argument("--split", dest="splits", action="append", choices=SPLITS,
                        help="split to encode (repeatable; default: all three)")
    encode.add_argument("--encoder", default=DEFAULT_ENCODER, help="encoder name or local model folder")
    encode.add_argument("--max-length", type=int, default=None,
                        help="tokens per segment (default: per task, 384 for QA, 128 otherwise)")
    encode.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    encode.add_argument("--cache-dir", default=None, help="cache folder (default: $TEXT_ENVS_CACHE or "
                                                          "~/.cache/text-envs)")
    encode.add_argument("--memory", action="store_true", help="keep the encoding in memory, write nothing")
    encode.add_argument("--quiet", action="store_true", help="no progress bars")
    encode.set_defaults(run=_encode)
    _add_train(commands)
    evaluate = commands.add_parser("evaluate", help="score a training run's checkpoint on a split")
    evaluate.add_argument("folder", metavar="RUN", help="a run folder written by `text-envs train` (or its checkpoint file)")
    evaluate.add_argument("--split", default="test", choices=SPLITS)
    evaluate.add_argument("--episodes", type=int, default=None, help="only the first N examples (default: all)")
    _add_trust(evaluate)
    evaluate.set_defaults(run=_evaluate)
    _add_play(commands)
    return parser


def _add_train(commands) -> None:
    train = commands.add_parser("train", help="train an agent, then compare it with the baselines",
                                description="Train an agent on an env's train split, evaluating on validation "
                                            "every --eval-every steps; then score it and the random, heuristic "
                                            "and supervised baselines on the test split. Rerunning the same "
                                            "command on the same --run-dir resumes.")
    train.add_argument("env", help="an env id: NER, NER-v0 or text_envs/NER-v0")
    train.add_argument("--algo", default="ppo", choices=ALGOS)
    train.add_argument("--backend", default="native", choices=BACKENDS,
                       help="native: our torch trainer on the torch vector env; sb3: Stable-Baselines3 / sb3-contrib")
    train.add_argument("--timesteps", type=int, default=None,
                       help="env steps in all (default: per env, 200,000 for NER, 100,000 otherwise)")
    train.add_argument("--n-envs", type=int, default=16)
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--dataset", default="embedded", help="'embedded', a hub id or a local path")
    train.add_argument("--encoder", default=DEFAULT_ENCODER, help="encoder name or local model folder")
    train.add_argument("--observation", default="compact", choices=("compact", "sequence", "tokens"))
    train.add_argument("--device", default="auto", help="cpu, cuda or auto")
    train.add_argument("--eval-every", type=int, default=None,
                       help="env steps between validation scores (default: a tenth of the run)")
    train.add_argument("--eval-episodes", type=int, default=200, help="validation examples per evaluation")
    train.add_argument("--run-dir", default=None, help="default: runs/ENV-ALGO-BACKEND-seedSEED")
    train.add_argument("--set", action="append", metavar="KEY=VALUE",
                       help="algorithm keyword, e.g. --set n_steps=64 --set learning_rate=1e-3 (repeatable)")
    train.add_argument("--policy", action="append", metavar="KEY=VALUE",
                       help="policy keyword, e.g. --policy arch=transformer --policy d_model=64")
    train.add_argument("--env-arg", action="append", metavar="KEY=VALUE",
                       help="env keyword, e.g. --env-arg reward=entity_f1_delta")
    train.add_argument("--supervised-epochs", type=int, default=10, help="epochs of the supervised baseline")
    train.add_argument("--no-baselines", action="store_true", help="score only the agent")
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    _add_trust(train)
    train.set_defaults(run=_train)


def _add_trust(command) -> None:
    command.add_argument("--trust-checkpoint", action="store_true",
                         help="let Stable-Baselines3 unpickle a checkpoint.zip holding entries text-envs cannot "
                              "rebuild from the run's settings; unpickling can run code: only for files whose "
                              "maker you trust (native checkpoints never need it)")


def _add_play(commands) -> None:
    play = commands.add_parser("play", help="play an episode yourself in the terminal",
                                description="Play an environment's episodes yourself: see the text, type actions "
                                            "by name or number ('help' in the game), get the rewards, the "
                                            "metrics and what the expert would have done.")
    play.add_argument("env", help="an env id: NER, NER-v0 or text_envs/NER-v0")
    play.add_argument("--dataset", default="embedded", help="'embedded', a hub id or a local path")
    play.add_argument("--split", default="train", choices=SPLITS)
    play.add_argument("--encoder", default=DEFAULT_ENCODER, help="encoder name or local model folder")
    play.add_argument("--seed", type=int, default=None, help="seed of the example sampler")
    play.add_argument("--episodes", type=int, default=1)
    play.add_argument("--index", type=int, default=None, help="play this example (then the next ones)")
    play.add_argument("--show-gold", action="store_true", help="show the gold answer while playing")
    play.set_defaults(run=_play)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "splits", None) is None and args.command == "encode":
        args.splits = list(SPLITS)
    from .cache import CacheError

    try:
        return args.run(args)
    except MissingExtra as err:  # an env-only install: which extra, and its pip command, in one line
        print(f"text-envs {args.command}: error: {err}", file=sys.stderr)
        return 1
    except (ValueError, FileNotFoundError) as err:  # bad input: say what, not a traceback
        print(f"text-envs {args.command}: error: {err}", file=sys.stderr)
        return 2
    except (CacheError, OSError) as err:  # a fault of the machine (disk, permissions): one clear line too
        print(f"text-envs {args.command}: error: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
