"""TorchRL runs on text-envs out of the box: examples/torchrl_ppo.py's env passes TorchRL's
spec check and its masks hold, and the example's PPO beats a random masked agent.

The example is loaded with ``runpy`` (examples/ is not a package) and its ``main(argv)``
returns the test-split scores of the greedy PPO policy and of the random agent. With the
tiny encoder, seed 0 and these budgets: NER mean return 11.6 against random's 2.7 (token
accuracy 0.70 against 0.17), Classify accuracy 0.44 against 0.25; seeds 1 and 2 land
within 0.4 return and 0.03 accuracy of these, far from the asserted margins.
"""

import runpy
from pathlib import Path

import pytest
import torch

pytest.importorskip("torchrl")

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "torchrl_ppo.py"


@pytest.fixture(scope="module")
def example():
    """The example script's functions, by name."""
    return runpy.run_path(str(EXAMPLE))


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.mark.parametrize("env_id", ["text_envs/NER-v0", "text_envs/Classify-v0"])
def test_env_passes_check_env_specs_and_random_actions_respect_the_mask(example, env_id):
    # make_env runs check_env_specs; the strict rule makes the env raise on any masked action
    env = example["make_env"](env_id, "tiny", 2, seed=0, invalid_action="error")
    assert env.observation_spec["action_mask"].dtype == torch.bool
    assert env.observation_spec["observations"].dtype == torch.float32
    # random actions come from the action spec, whose mask ActionMask keeps up to date
    rollout = env.rollout(60, break_when_any_done=False)
    mask, action = rollout["action_mask"], rollout["action"]
    assert mask.gather(-1, action.unsqueeze(-1)).all()
    if env_id == "text_envs/NER-v0":
        assert not mask.all()  # NER forbids some I- tags at most words: the check above had teeth
    assert rollout["next", "done"].any()  # episodes ended and reset inside the rollout
    env.close()


def test_ppo_beats_random_on_ner(example):
    scores = example["main"](["--env", "text_envs/NER-v0", "--encoder", "tiny", "--timesteps", "2048"])
    ppo, random = scores["ppo"], scores["random"]
    assert ppo["episodes"] == random["episodes"] > 0  # every test example, both agents
    assert ppo["mean_return"] > random["mean_return"] + 3
    assert ppo["token_accuracy"] > random["token_accuracy"] + 0.2


def test_ppo_beats_random_on_classify(example):
    scores = example["main"](["--env", "text_envs/Classify-v0", "--encoder", "tiny", "--timesteps", "4096"])
    ppo, random = scores["ppo"], scores["random"]
    assert ppo["episodes"] == random["episodes"] > 0
    assert ppo["accuracy"] > random["accuracy"] + 0.1
