"""Env steps per second of this tree against another commit's, measured in one run: does a change slow the envs?

For each tree (a git worktree of REF made in a temporary folder, and this working tree), a
fresh Python process imports that tree's ``text_envs`` and times, on every case of
``benchmarks/env_throughput.py``, one CPU core and one torch thread:

* ``--what env`` (default): the Gymnasium env, in the loop of ``env_throughput.py``
  (``gym.make`` with the default wrappers, the first valid action each step, resets at
  episode ends, an untimed warm-up first);
* ``--what vector``: the torch vector env of ``make_torch_vec_env`` on the CPU, in the
  loop of ``vector_throughput.py`` (``--num-envs`` episodes at a time; ``--steps`` counts
  vector steps).

The trees take turns, ``--rounds`` times, and each case keeps its best round, so a burst
of load on the machine does not count against one side. Each tree has its own cache
folder (the first round encodes the embedded splits). The last column is this tree's
steps/s over REF's: below 0.9 is more than 10% slower.

    python benchmarks/against_ref.py --ref 3b8fd9f
    python benchmarks/against_ref.py --ref HEAD~3 --what vector --steps 200
    python benchmarks/against_ref.py --ref HEAD~3 --steps 5000 --rounds 2 --encoder tiny
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from text_envs.encoders import DEFAULT_ENCODER

ROOT = Path(__file__).resolve().parent.parent

#: run inside each tree's process: that tree's throughput loop on that tree's cases
MEASURE = """
import json, os, sys
import gymnasium as gym, torch
sys.path.insert(0, os.path.join(sys.argv[1], "benchmarks"))
import env_throughput as bench
if hasattr(os, "sched_setaffinity"):
    os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
torch.set_num_threads(1)
steps, encoder, what, num_envs = int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5])
rates = {}
for name, kwargs, label in bench.CASES:
    if what == "env":
        env = gym.make(f"text_envs/{name}", encoder=encoder, **kwargs)
        rate = bench.steps_per_second(env, steps, warmup=steps)
    else:
        import vector_throughput
        from text_envs.vector import make_torch_vec_env
        venv = make_torch_vec_env(f"text_envs/{name}", num_envs, device="cpu", seed=0, encoder=encoder, **kwargs)
        rate = vector_throughput.torch_steps_per_second(venv, steps, warmup=max(steps // 10, 1))
    rates[f"{name} {label}".strip()] = rate
print(json.dumps(rates))
"""


def measure(tree: Path, cache: Path, steps: int, encoder: str, what: str, num_envs: int) -> dict[str, float]:
    """Steps/s per case of the envs in ``tree`` (its ``text_envs`` first on the path)."""
    environment = {"PYTHONPATH": str(tree), "TEXT_ENVS_CACHE": str(cache), "PATH": "/usr/bin:/bin",
                   "HOME": str(Path.home()), "OMP_NUM_THREADS": "1"}
    # run in the tree: ``python -c`` puts the working directory first on the path
    result = subprocess.run([sys.executable, "-c", MEASURE, str(tree), str(steps), encoder, what, str(num_envs)],
                            cwd=tree, env=environment, capture_output=True, text=True, check=False)
    if result.returncode:
        raise SystemExit(f"measuring {tree} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ref", required=True, help="the commit to compare against (any git revision)")
    parser.add_argument("--what", choices=("env", "vector"), default="env",
                        help="the Gymnasium envs, or the torch vector envs on the CPU")
    parser.add_argument("--steps", type=int, default=10_000,
                        help="timed steps per case (env: as many of warm-up; vector: vector steps, a tenth of warm-up)")
    parser.add_argument("--num-envs", type=int, default=64, help="episodes per torch vector env (--what vector)")
    parser.add_argument("--rounds", type=int, default=3, help="turns each tree takes; each case keeps its best")
    parser.add_argument("--encoder", default=DEFAULT_ENCODER)
    args = parser.parse_args()

    found = subprocess.run(["git", "rev-parse", "--short", "--verify", f"{args.ref}^{{commit}}"], cwd=ROOT,
                           capture_output=True, text=True, check=False)
    if found.returncode:
        raise SystemExit(f"--ref {args.ref!r} names no commit of this repository")
    revision = found.stdout.strip()
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        subprocess.run(["git", "worktree", "add", "--detach", str(scratch / "ref"), revision], cwd=ROOT,
                       capture_output=True, check=True)
        try:
            trees = {"ref": scratch / "ref", "this": ROOT}
            best: dict[str, dict[str, float]] = {"ref": {}, "this": {}}
            for _ in range(args.rounds):
                for side, tree in trees.items():
                    rates = measure(tree, scratch / f"cache-{side}", args.steps, args.encoder, args.what, args.num_envs)
                    for case, rate in rates.items():
                        best[side][case] = max(rate, best[side].get(case, 0.0))
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(scratch / "ref")], cwd=ROOT,
                           capture_output=True, check=False)
    what = "env steps/s" if args.what == "env" else f"torch vector env steps/s ({args.num_envs} envs, CPU)"
    print(f"{what}, best of {args.rounds} rounds of {args.steps} steps, one CPU core, encoder {args.encoder}; "
          f"ref {revision}")
    print(f"{'case':<40}{'ref':>12}{'this tree':>12}{'this / ref':>12}")
    for case, rate in best["this"].items():
        reference = best["ref"].get(case)
        ratio = f"{rate / reference:.2f}" if reference else "new"
        print(f"{case:<40}{reference or 0:>12,.0f}{rate:>12,.0f}{ratio:>12}")


if __name__ == "__main__":
    main()
