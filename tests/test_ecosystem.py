"""The agent libraries researchers already use run on the env ids as they are, and learn.

Each row of ``docs/ecosystem.md`` is a case here: a library's default policy (or a script
written like the library's), pointed at an env id with default kwargs (only the tiny
encoder, so that the test needs no download), trained for a short budget, then scored on
the test split by :func:`text_envs.evaluate` next to a random valid-action agent. Every run
must beat random: accuracy on Classify, token accuracy on NER (a mask-unaware agent that
learns says ``O`` where it belongs; entity F1 needs longer runs than a test affords).
TorchRL's row is in ``tests/test_torchrl.py``.
"""

import re
import runpy
import sys
from pathlib import Path

import pytest
from sb3_contrib import MaskablePPO
from stable_baselines3 import A2C, DQN, PPO
from stable_baselines3.common.env_util import make_vec_env

import text_envs
from agents.baselines import RandomAgent

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
METRIC = {"Classify": "accuracy", "NER": "token_accuracy"}
#: what the rows may set: training hyperparameters (NER's token reward is immediate, so a short horizon)
GAMMA = {"Classify": 0.99, "NER": 0.5}


def sb3(algorithm, n_envs=4, **settings):
    def train(name: str, steps: int):
        env = make_vec_env(f"text_envs/{name}-v0", n_envs=n_envs, seed=0, env_kwargs={"encoder": "tiny"})
        model = algorithm("MlpPolicy", env, seed=0, device="cpu", gamma=GAMMA[name], **settings)
        return model.learn(steps)
    return train


ROWS = {
    "SB3 PPO": (sb3(PPO, n_steps=128, batch_size=128, learning_rate=1e-3), 6_144),
    # A2C's single gradient step per rollout collapses onto one or two labels without an entropy bonus
    "SB3 A2C": (sb3(A2C, n_envs=8, n_steps=8, learning_rate=1e-3, ent_coef=0.1), 12_288),
    "SB3 DQN": (sb3(DQN, learning_starts=512, buffer_size=20_000, learning_rate=1e-3, train_freq=4,
                    target_update_interval=512, exploration_fraction=0.3), 12_288),
    "sb3-contrib MaskablePPO": (sb3(MaskablePPO, n_steps=128, batch_size=128, learning_rate=1e-3), 6_144),
}


pytestmark = pytest.mark.usefixtures("one_thread")


def scores(name: str, agent) -> float:
    return text_envs.evaluate(f"text_envs/{name}-v0", agent, split="test", encoder="tiny")[METRIC[name]]


@pytest.fixture(scope="module")
def random_scores():
    return {name: scores(name, RandomAgent(0)) for name in METRIC}


@pytest.mark.parametrize("name", METRIC)
@pytest.mark.parametrize("row", ROWS)
def test_library_default_policy_beats_random(row, name, random_scores):
    train, steps = ROWS[row]
    trained = scores(name, train(name, steps))
    print(f"{row} on {name}: {METRIC[name]} {trained:.3f} (random {random_scores[name]:.3f})")
    assert trained > random_scores[name] + 0.05


@pytest.mark.parametrize("name", METRIC)
@pytest.mark.parametrize("vector", ["sync", "async"])
def test_cleanrl_style_loop_on_gymnasium_vector_envs_beats_random(vector, name, monkeypatch, capsys):
    """``examples/cleanrl_ppo.py`` (CleanRL's PPO ported to Gymnasium 1.x: same-step autoreset,
    masks from ``infos``) on ``SyncVectorEnv`` and ``AsyncVectorEnv``."""
    arguments = ["--env", f"text_envs/{name}-v0", "--encoder", "tiny", "--timesteps", "4096", "--num-envs", "8",
                 "--gamma", str(GAMMA[name])] + (["--async-envs"] if vector == "async" else [])
    monkeypatch.setattr(sys, "argv", [str(EXAMPLES / "cleanrl_ppo.py"), *arguments])
    runpy.run_path(str(EXAMPLES / "cleanrl_ppo.py"), run_name="__main__")
    out = capsys.readouterr().out
    print(out)

    def metric(agent):
        line = next(line for line in out.splitlines() if line.startswith(f"eval {agent}"))
        return float(re.search(rf"{METRIC[name]} (-?\d+\.\d+)", line).group(1))

    assert metric("ppo") > metric("random") + 0.05
