"""The task registry and the specs: each task's facts are written once and agree with what its
env, its torch vector env and the policies do with them."""

import gymnasium as gym
import numpy as np
import pytest

from agents.observations import HEADS, schema_of
from agents.policies import ActorCritic
from text_envs.envs.base import EnvOptions, TextEnv
from text_envs.tasks import BUILTIN, OBSERVATION_MODES, SPECS, TaskSpec, register, resolve, spec_of
from text_envs.vector import TorchVectorEnv, make_torch_vec_env, vector_class, vectorize

IDS = [spec.name for spec in BUILTIN]
pytestmark = pytest.mark.filterwarnings("ignore:.*more than max_chunks")  # the cut is meant: short episodes


@pytest.mark.parametrize("spec", BUILTIN, ids=IDS)
def test_every_builtin_task_is_registered_with_its_classes(spec):
    assert SPECS[spec.env_id()] is spec and spec_of(spec.name) is spec and spec.env_id() in gym.registry
    env_class, vector = resolve(spec.env_class), vector_class(spec)
    assert issubclass(env_class, TextEnv) and env_class.spec_class is spec
    assert issubclass(vector, TorchVectorEnv) and vector.spec_class is spec
    assert spec.observations and set(spec.observations) <= set(OBSERVATION_MODES)
    assert spec.actions_kind in ("names", "sentences", "span", "tokens")


@pytest.mark.parametrize("spec", BUILTIN, ids=IDS)
def test_each_schema_names_exactly_the_keys_of_its_mode(spec, kwargs_of):
    """The policies read observations through the schemas: they must match the spaces the spec builds."""
    name = spec.env_id().split("/")[1]
    for mode in spec.observations:
        space = gym.make(spec.env_id(), **kwargs_of(name, observation=mode)).observation_space
        if mode == "compact":
            assert isinstance(space, gym.spaces.Box) and mode not in spec.schemas
            continue
        schema = spec.schemas[mode]
        assert schema.keys == frozenset(space.spaces) and schema.head in HEADS
        assert schema_of(space) is schema  # the policy finds this task's schema from the space alone
        assert (schema.items == "states") == (mode == "sequence")


@pytest.mark.parametrize("spec", BUILTIN, ids=IDS)
def test_headline_heuristic_and_defaults_are_the_tasks_own(spec, embedded_subsets):
    data = embedded_subsets[spec.records]
    if spec.heuristic is None:
        with pytest.raises(NotImplementedError, match="no heuristic"):
            spec.heuristic_predictions(data, data)
        predictions = {i: "" for i in range(len(data))}  # QA: the empty answer
    else:
        predictions = spec.heuristic_predictions(data, data)
        assert set(predictions) == set(range(len(data)))
    scores = spec.scores(data, predictions)
    assert spec.headline in scores and 0.0 <= scores[spec.headline] <= 1.0
    assert set(spec.training) <= {"total_timesteps", "gamma", "gae_lambda", "n_steps", "learning_rate", "ent_coef"}


@pytest.mark.parametrize("mode", ["sequence", "tokens"])
def test_an_optional_text_field_keeps_the_schema(mode, kwargs_of):
    """NER's word shapes are a text field: with them, the space still has NER's schema, and the
    policy's trunk reads them with the words."""
    space = gym.make("text_envs/NER-v0", **kwargs_of("NER-v0", observation=mode, word_shape=True)).observation_space
    schema = spec_of("NER").schemas[mode]
    assert "shapes" in space.spaces and "shapes" not in schema.keys and schema_of(space) is schema
    policy = ActorCritic(space, gym.spaces.Discrete(space["tags"].high.max() + 1), d_model=8, n_layers=1,
                         n_heads=2, encoder="tiny")
    assert "shapes" in policy.text_keys and set(policy.family.text_embeddings) == {"shapes"}


@pytest.mark.parametrize("spec", BUILTIN, ids=IDS)
def test_env_and_vector_env_share_one_spec(spec, kwargs_of):
    """An env's torch twin is built from the env's own spec: the same tables, not a second copy."""
    env = gym.make(spec.env_id(), **kwargs_of(spec.env_id().split("/")[1], sequential=True))
    venv = vectorize(env, 2, device="cpu", seed=0)
    assert venv.task_spec is env.unwrapped.task_spec and venv.options == env.unwrapped.options
    assert venv.single_observation_space == env.observation_space and venv.single_action_space == env.action_space


def test_make_torch_vec_env_builds_the_spec_without_a_gymnasium_env(kwargs_of, monkeypatch):
    monkeypatch.setattr(TextEnv, "__init__", lambda *args, **kwargs: pytest.fail("a Gymnasium env was made"))
    venv = make_torch_vec_env("NER", 3, device="cpu", **kwargs_of("NER-v0", invalid_action="error"))
    assert isinstance(venv.task_spec, spec_of("NER")) and venv.options == EnvOptions(invalid_action="error")
    with pytest.raises(TypeError, match="render_mode"):
        make_torch_vec_env("NER", 3, device="cpu", render_mode="ansi", **kwargs_of("NER-v0"))


def test_a_spec_refuses_the_wrong_records_and_an_unknown_mode(embedded_subsets, tiny):
    ner = spec_of("NER")
    with pytest.raises(ValueError, match="needs a 'ner' dataset"):
        ner.load(embedded_subsets["qa"], encoder=tiny, cache_dir=None)
    with pytest.raises(ValueError, match="unknown observation mode 'pixels'"):
        ner.load(embedded_subsets["ner"], encoder=tiny, cache_dir=None, observation="pixels")


def test_an_id_is_registered_once():
    class Imposter(TaskSpec):
        name, version, records, env_class = "NER", 0, "ner", "text_envs.tasks.ner.env:NerEnv"

    with pytest.raises(ValueError, match="already registered"):
        register(Imposter)
    assert SPECS["text_envs/NER-v0"] is spec_of("NER")


def test_options_are_checked_where_they_are_declared(kwargs_of):
    with pytest.raises(ValueError, match="max_invalid_actions must be a positive integer"):
        gym.make("text_envs/Classify-v0", **kwargs_of("Classify-v0", max_invalid_actions=0))
    with pytest.raises(ValueError, match="unknown invalid_action rule"):
        EnvOptions(invalid_action="ignore")
    assert EnvOptions(invalid_action_penalty=np.float32(-2)).invalid_action_penalty == -2.0
