"""Faults around run folders: crafted checkpoints run nothing, interruptions resume exactly, damaged
files and full disks give one clear error, and nothing a user had is lost."""

import errno
import json
import os
import signal
import subprocess
import sys
import zipfile

import pytest
import torch

import text_envs.files
from agents import PPO
from agents.checkpoints import CheckpointError, read_torch
from agents.on_policy import OnPolicyAlgorithm
from agents.schedules import LinearSchedule
from agents.train import RunConfig, evaluate_run, train
from text_envs.cli import main
from text_envs.files import atomic_write
from text_envs.vector import TorchVectorEnv

SETTINGS = {"env": "NER", "total_timesteps": 512, "n_envs": 8, "encoder": "tiny", "eval_every": 256,
            "eval_episodes": 10, "algo_kwargs": {"n_steps": 16, "batch_size": 64, "n_epochs": 2},
            "policy_kwargs": {"hidden_sizes": (32,)}, "device": "cpu"}
CLI_SETTINGS = ["--encoder", "tiny", "--timesteps", "256", "--eval-every", "256", "--n-envs", "8", "--set",
                "n_steps=16", "--set", "batch_size=64", "--policy", "hidden_sizes=(32,)", "--no-baselines",
                "--quiet", "--device", "cpu"]


def config(**overrides) -> RunConfig:
    return RunConfig(**{**SETTINGS, **overrides})


def progress_steps(folder):
    return [line.split(",")[0] for line in (folder / "progress.csv").read_text().splitlines()[1:]]


class Payload:
    """Unpickling this creates a file: the stand-in for any code a crafted file would run."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return open, (self.marker, "w")


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """An uninterrupted native run: the reference every interrupted one must match bit for bit."""
    folder = tmp_path_factory.mktemp("uninterrupted")
    train(config(), folder, baselines=False, progress=False)
    return folder


def assert_same_run(folder, reference):
    mine, theirs = read_torch(folder / "checkpoint.pt"), read_torch(reference / "checkpoint.pt")
    assert mine["num_timesteps"] == theirs["num_timesteps"] == 512
    for name, tensor in theirs["policy"].items():
        assert torch.equal(mine["policy"][name], tensor), name
    for a, b in zip(mine["optimizer"]["state"].values(), theirs["optimizer"]["state"].values()):
        assert all(torch.equal(torch.as_tensor(a[key]), torch.as_tensor(b[key])) for key in a)
    assert progress_steps(folder) == progress_steps(reference) == ["256", "512"]
    validation = [json.loads(f.read_text())["curve"] for f in (folder / "results.json", reference / "results.json")]
    assert validation[0] == validation[1]


# -- crafted files run nothing ----------------------------------------------------------------------------


def _run_folder(tmp_path, **overrides):
    folder = tmp_path / "run"
    train(config(total_timesteps=256, **overrides), folder, baselines=False, progress=False)
    return folder


def test_a_native_checkpoint_holding_pickled_objects_is_refused_and_runs_nothing(tmp_path, capsys):
    folder = _run_folder(tmp_path)
    marker = tmp_path / "ran"
    checkpoint = read_torch(folder / "checkpoint.pt")
    checkpoint["spec"] = Payload(marker)
    torch.save(checkpoint, folder / "checkpoint.pt")
    assert main(["evaluate", str(folder), "--episodes", "2"]) == 2
    assert "holds Python objects" in capsys.readouterr().err
    assert not marker.exists()


def test_a_checkpoint_naming_code_to_import_is_refused(tmp_path, capsys):
    folder = _run_folder(tmp_path)
    checkpoint = read_torch(folder / "checkpoint.pt")
    spec = json.loads(checkpoint["spec"])
    checkpoint["spec"] = json.dumps({**spec, "policy_class": "os:system"})
    torch.save(checkpoint, folder / "checkpoint.pt")
    assert main(["evaluate", str(folder), "--episodes", "2"]) == 2
    error = capsys.readouterr().err
    assert "policy class os:system" in error and "custom_objects" in error


def test_the_previous_format_with_a_pickled_spec_is_refused(tmp_path):
    folder = _run_folder(tmp_path)
    checkpoint = read_torch(folder / "checkpoint.pt")
    checkpoint["format"] = "text-envs-native-1"
    torch.save(checkpoint, folder / "checkpoint.pt")
    with pytest.raises(CheckpointError, match="not a text-envs native checkpoint"):
        evaluate_run(folder, episodes=2)


def _craft_sb3_zip(path, key, payload):
    """Rewrite one entry of an SB3 zip's ``data`` as a pickled payload, as a malicious sender would."""
    import base64
    import pickle

    with zipfile.ZipFile(path) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    data = json.loads(files["data"])
    data[key] = {":type:": "<class 'object'>", ":serialized:": base64.b64encode(pickle.dumps(payload)).decode()}
    files["data"] = json.dumps(data).encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)


def test_sb3_zips_load_without_unpickling_and_unknown_pickles_need_trust(tmp_path, capsys):
    folder = _run_folder(tmp_path, backend="sb3", algo="ppo")
    marker = tmp_path / "ran"
    _craft_sb3_zip(folder / "checkpoint.zip", "observation_space", Payload(marker))  # rebuilt from config.json
    assert main(["evaluate", str(folder), "--split", "validation", "--episodes", "2"]) == 0
    assert not marker.exists()
    _craft_sb3_zip(folder / "checkpoint.zip", "something_else", Payload(marker))
    assert main(["evaluate", str(folder), "--split", "validation", "--episodes", "2"]) == 2
    assert "--trust-checkpoint" in capsys.readouterr().err and not marker.exists()
    main(["evaluate", str(folder), "--split", "validation", "--episodes", "2", "--trust-checkpoint"])
    assert marker.exists()  # trusting a file is what lets SB3 unpickle it


def test_resuming_an_sb3_run_reads_its_checkpoint_safely(tmp_path):
    a2c = {"backend": "sb3", "algo": "a2c", "algo_kwargs": {"n_steps": 16}}
    folder = _run_folder(tmp_path, **a2c)
    summary = train(config(total_timesteps=512, **a2c), folder, baselines=False, progress=False)
    assert summary["env_steps"] >= 512 and progress_steps(folder)[0] == "256"


# -- damaged files -----------------------------------------------------------------------------------------


def test_a_truncated_checkpoint_is_one_clear_line(tmp_path, capsys):
    folder = _run_folder(tmp_path)
    path = folder / "checkpoint.pt"
    path.write_bytes(path.read_bytes()[:1000])
    assert main(["evaluate", str(folder)]) == 2
    error = capsys.readouterr().err.strip()
    assert "checkpoint.pt is damaged or truncated" in error and "\n" not in error


def test_a_broken_config_names_its_file(tmp_path, capsys):
    folder = _run_folder(tmp_path)
    (folder / "config.json").write_text('{"env": "text_envs/NER-v0",')
    assert main(["evaluate", str(folder)]) == 2
    assert "config.json is not valid JSON" in capsys.readouterr().err
    (folder / "config.json").write_text('{"env": "NER", "colour": "blue"}')
    with pytest.raises(ValueError, match="unknown keys: colour"):
        evaluate_run(folder)


def test_a_shorter_rerun_is_refused_and_config_kept(tmp_path, capsys):
    folder = tmp_path / "run"
    assert main(["train", "NER", *CLI_SETTINGS, "--run-dir", str(folder)]) == 0
    before = (folder / "config.json").read_text()
    arguments = ["train", "NER", *CLI_SETTINGS, "--run-dir", str(folder)]
    arguments[arguments.index("--timesteps") + 1] = "128"
    assert main(arguments) == 2
    assert "would shorten it" in capsys.readouterr().err
    assert (folder / "config.json").read_text() == before


def test_one_run_at_a_time_in_a_folder(tmp_path):
    import fcntl

    folder = tmp_path / "run"
    folder.mkdir()
    with open(folder / ".lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        with pytest.raises(ValueError, match="in use by another text-envs process"):
            train(config(), folder, baselines=False, progress=False)
    assert not (folder / "config.json").exists()


# -- disk faults -------------------------------------------------------------------------------------------


def _disk_full(*args):
    raise OSError(errno.ENOSPC, "No space left on device")


def test_a_full_disk_while_saving_keeps_the_old_file_and_leaves_no_partial(tmp_path, monkeypatch):
    target = tmp_path / "file.json"
    target.write_text("old")
    monkeypatch.setattr(text_envs.files.os, "fsync", _disk_full)
    with pytest.raises(OSError, match="cannot write .*file.json: No space left") as caught:
        atomic_write(target, "new")
    assert caught.value.errno == errno.ENOSPC
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["file.json"]


def test_a_full_disk_during_training_is_one_line_and_the_checkpoint_stands(tmp_path, monkeypatch, capsys):
    folder = tmp_path / "run"
    assert main(["train", "NER", *CLI_SETTINGS, "--run-dir", str(folder)]) == 0
    before = (folder / "checkpoint.pt").read_bytes()
    monkeypatch.setattr(text_envs.files.os, "fsync", _disk_full)
    arguments = ["train", "NER", *CLI_SETTINGS, "--run-dir", str(folder)]
    arguments[arguments.index("--timesteps") + 1] = "512"
    assert main(arguments) == 1
    error = capsys.readouterr().err.strip()
    assert "No space left on device" in error and "\n" not in error
    assert (folder / "checkpoint.pt").read_bytes() == before
    assert not list(folder.glob(".partial-*"))


def test_partial_files_of_a_killed_run_are_swept(tmp_path):
    folder = _run_folder(tmp_path)
    (folder / ".partial-abc.pt").write_bytes(b"\0" * 4096)
    train(config(total_timesteps=512), folder, baselines=False, progress=False)
    assert not list(folder.glob(".partial-*"))


# -- interruptions -----------------------------------------------------------------------------------------


def _interrupt_at(monkeypatch, owner, name, call):
    """Send this process SIGINT at the ``call``-th call of ``owner.name`` (1-based), as a user's Ctrl-C."""
    original = getattr(owner, name)
    calls = {"n": 0}

    def wrapped(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == call:
            signal.raise_signal(signal.SIGINT)
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, wrapped)


@pytest.mark.parametrize("where", ["mid-rollout", "mid-update", "during-evaluation", "last-update"])
def test_ctrl_c_anywhere_resumes_bit_identically(tmp_path, monkeypatch, finished, where):
    import agents.train

    # a rollout is 16 steps of 8 envs, an update 2 epochs of 2 minibatches: 4 gradient steps
    owner, name, call = {"mid-rollout": (TorchVectorEnv, "step", 21),  # inside the second rollout
                         "mid-update": (OnPolicyAlgorithm, "_gradient_step", 3),  # inside the first update
                         "during-evaluation": (agents.train, "_scores", 1),
                         "last-update": (OnPolicyAlgorithm, "_gradient_step", 15)}[where]
    _interrupt_at(monkeypatch, owner, name, call)
    with pytest.raises(KeyboardInterrupt):
        train(config(), tmp_path, baselines=False, progress=False)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # the handler is put back
    monkeypatch.undo()
    saved = read_torch(tmp_path / "checkpoint.pt")["num_timesteps"]
    assert saved % 128 == 0  # a whole number of rollouts: the model was saved between two updates
    train(config(), tmp_path, baselines=False, progress=False)
    assert_same_run(tmp_path, finished)


def test_a_second_ctrl_c_stops_at_once_without_saving(tmp_path, monkeypatch):
    original = OnPolicyAlgorithm._gradient_step
    calls = {"n": 0}

    def twice(self, loss):
        calls["n"] += 1
        if calls["n"] == 1:
            signal.raise_signal(signal.SIGINT)
            signal.raise_signal(signal.SIGINT)
        return original(self, loss)

    monkeypatch.setattr(OnPolicyAlgorithm, "_gradient_step", twice)
    with pytest.raises(KeyboardInterrupt):
        train(config(), tmp_path, baselines=False, progress=False)
    assert not (tmp_path / "checkpoint.pt").exists()  # no half-updated model was written


KILLED_RUN = """
import os, signal, sys
from agents.on_policy import OnPolicyAlgorithm
from agents.schedules import LinearSchedule
from agents.train import RunConfig, train
settings = {settings!r}
original, calls = OnPolicyAlgorithm._gradient_step, [0]
def step(self, loss):
    calls[0] += 1
    if calls[0] == {call}:
        os.kill(os.getpid(), signal.SIGKILL)
    return original(self, loss)
OnPolicyAlgorithm._gradient_step = step
train(RunConfig(**settings), sys.argv[1], baselines=False, progress=False)
"""


def test_kill_9_mid_update_resumes_bit_identically(tmp_path, finished):
    script = KILLED_RUN.format(settings=SETTINGS, call=11)  # inside the third update, after the first checkpoint
    process = subprocess.run([sys.executable, "-c", script, str(tmp_path)], capture_output=True,
                             cwd=os.path.dirname(os.path.dirname(__file__)))
    assert process.returncode == -signal.SIGKILL, process.stderr.decode()[-2000:]
    assert read_torch(tmp_path / "checkpoint.pt")["num_timesteps"] == 256
    train(config(), tmp_path, baselines=False, progress=False)
    assert_same_run(tmp_path, finished)


def test_native_checkpoints_round_trip_without_any_pickled_object(tmp_path):
    """Every entry of a native checkpoint is a tensor, a number, a string or a container of them."""
    from text_envs.vector import make_torch_vec_env

    env = make_torch_vec_env("text_envs/NER-v0", 4, device="cpu", seed=0, encoder="tiny")
    model = PPO("auto", env, seed=0, device="cpu", n_steps=8, batch_size=16, clip_range="lin_0.2",
                learning_rate=LinearSchedule(1e-3, 1e-4))
    model.learn(32).save(tmp_path / "model.pt")
    checkpoint = torch.load(tmp_path / "model.pt", weights_only=True)  # the restricted unpickler accepts it
    spec = json.loads(checkpoint["spec"])
    assert spec["policy_class"] == "agents.policies:ActorCritic"
    assert spec["schedules"] == {"learning_rate": {"schedule": "linear", "start": 1e-3, "end": 1e-4}}
    assert spec["hyperparameters"]["clip_range"] == "lin_0.2"
    loaded = PPO.load(tmp_path / "model.pt")
    assert loaded.observation_space == model.observation_space and loaded.action_space == model.action_space
    assert loaded.learning_rate == LinearSchedule(1e-3, 1e-4) and loaded.clip_range == "lin_0.2"
