"""Read-once transformer policies in the native trainer: the trunk reads each text once, the head
runs every step, and the rollout stores each text once.

The proofs recompute, from what the rollout stored, each step's whole observation (its own
part plus the text it read) and run the policy on it in one piece, as SB3 and outside agents
do: every value, log-probability and loss must be what the trainer got from reading each
text once.
"""

import pytest
import torch

from agents import PPO
from agents.policies import masked_distribution

SMALL = {"d_model": 16, "n_layers": 1, "n_heads": 2}
# a label head with a focus, a pointer head, a growing text (revealed chunks) and the copy head over ids
CASES = [("NER-v0", "sequence", {}), ("QA-v0", "sequence", {}), ("ClassifyReading-v0", "sequence", {}),
         ("SummarizeTokens-v0", "tokens", {}), ("NER-v0", "sequence", {"word_shape": True})]  # a text field too
pytestmark = pytest.mark.filterwarnings("ignore:.*more than max_chunks")  # the cut is meant: short episodes


def collected(name, observation, kwargs_of, tiny, n_steps=12, **options) -> PPO:
    model = PPO("auto", f"text_envs/{name}", n_envs=3, n_steps=n_steps, batch_size=9, n_epochs=1, seed=0, device="cpu",
                policy_kwargs={**SMALL, "encoder": tiny.name},
                env_kwargs=kwargs_of(name, observation=observation, **options))
    assert model.policy.reads_text
    model._collect_rollout()
    return model


def whole(buffer, t: int) -> dict:
    """Step ``t``'s whole observations, rebuilt from the rollout: the step's own part and the texts it read."""
    return {**{key: value[t] for key, value in buffer.observations.items()},
            **{key: value[buffer.text_ids[t]] for key, value in buffer.texts().items()}}


@pytest.mark.parametrize(("name", "observation", "options"), CASES)
def test_reading_each_text_once_gives_what_recomputing_every_step_gives(name, observation, options, kwargs_of, tiny):
    model = collected(name, observation, kwargs_of, tiny, **options)
    buffer = model.rollout_buffer
    assert buffer.num_texts < buffer.n_steps * buffer.n_envs or name == "ClassifyReading-v0"
    with torch.no_grad():
        for t in range(buffer.n_steps):
            logits, values = model.policy(whole(buffer, t), buffer.action_masks[t])
            torch.testing.assert_close(values, buffer.values[t], rtol=1e-4, atol=1e-5)
            log_probs = masked_distribution(logits).log_prob(buffer.actions[t])
            torch.testing.assert_close(log_probs, buffer.log_probs[t], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize(("name", "observation", "options"), CASES)
def test_minibatches_grouped_by_text_give_the_loss_of_whole_observations(name, observation, options, kwargs_of, tiny):
    model = collected(name, observation, kwargs_of, tiny, **options)
    buffer = model.rollout_buffer
    texts, read = buffer.texts(), []
    for batch in buffer.minibatches(9, torch.Generator().manual_seed(0)):
        log_probs, entropy, values = model._evaluate(batch)  # the trunk once per text of the batch
        observations = {**batch.observations, **{key: value[batch.texts] for key, value in texts.items()}}
        logits, expected_values = model.policy(observations, batch.action_masks)  # every sample whole
        distribution = masked_distribution(logits)
        torch.testing.assert_close(values, expected_values, rtol=1e-4, atol=1e-5)
        torch.testing.assert_close(log_probs, distribution.log_prob(batch.actions), rtol=1e-4, atol=1e-5)
        torch.testing.assert_close(entropy, distribution.entropy(), rtol=1e-4, atol=1e-5)
        read.append(batch.texts)
    # every sample once: each text is read by as many samples as there are steps that read it
    torch.testing.assert_close(torch.cat(read).bincount(minlength=buffer.num_texts),
                               buffer.text_ids.flatten().bincount(minlength=buffer.num_texts))


def test_grouped_minibatches_read_few_texts(kwargs_of, tiny):
    model = collected("NER-v0", "sequence", kwargs_of, tiny, n_steps=64)
    buffer = model.rollout_buffer
    texts_per_batch = [len(torch.unique(batch.texts)) for batch in buffer.minibatches(16)]
    # 192 samples of sentences of about 15 words: a minibatch of 16 samples, grouped, reads few of them
    assert buffer.num_texts >= 10 and max(texts_per_batch) <= 4


def test_a_rollout_step_stores_the_episode_state_not_the_text(kwargs_of, tiny):
    model = collected("NER-v0", "sequence", kwargs_of, tiny)
    buffer = model.rollout_buffer
    assert set(buffer.observations) == {"tags", "cursor"} and set(buffer.texts()) == {"states", "mask"}
    per_step = sum(value[0, 0].numel() * value.element_size() for value in buffer.observations.values())
    text = sum(value[0].numel() * value.element_size() for value in buffer.texts().values())
    words, hidden = buffer.texts()["states"].shape[1:]
    assert per_step == (words + 1) * 8  # the tags so far and the cursor: no state of the text
    assert text >= words * hidden * 4 and buffer.num_texts < buffer.n_steps * buffer.n_envs
