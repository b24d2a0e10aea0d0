"""A tiny BERT built entirely in code: random weights, a small WordPiece vocabulary.

Tests and quick examples use it so that nothing is downloaded and encoding takes
milliseconds. Its vocabulary holds every printable ASCII character (and ``##`` forms of
them), a few Latin-1 letters and a few hundred common words, so any word tokenizes, long or
rare words split into many subwords, and characters outside it become ``[UNK]``.
"""

from __future__ import annotations

import string
from functools import lru_cache

SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
_COMMON_WORDS = """
the of and to in a is that for it as was with be by on not he i this are or his from at which
but have an they you were her she there been one all we their has would when if so no will
who what where when why how year years new said city team company market people state world
first last two three four five time game season play match win won lost record court president
minister government bank shares price prices growth report news sport science research study
data system computer software phone launch space planet water energy oil trade deal talks police
john mary paris london washington jordan berlin river north south east west about after before
over under between during into than more most some such only other also can may could should
""".split()
_LATIN1_LETTERS = "áéíóúàèìòùäëïöüâêîôûçñßøå"


def _vocabulary() -> list[str]:
    chars = [c for c in string.printable if not c.isspace() and not c.isupper()] + list(_LATIN1_LETTERS)
    words = sorted(set(_COMMON_WORDS))
    return SPECIAL_TOKENS + chars + ["##" + c for c in chars] + [w for w in words if w not in chars]


def tiny_config():
    from transformers import BertConfig
    return BertConfig(vocab_size=len(_vocabulary()), hidden_size=32, num_hidden_layers=2,
                      num_attention_heads=2, intermediate_size=64, max_position_embeddings=128)


@lru_cache(maxsize=1)
def tiny_tokenizer():
    """A BERT-style (lower-casing, accent-keeping) fast WordPiece tokenizer."""
    from tokenizers import Tokenizer, decoders, normalizers, pre_tokenizers, processors
    from tokenizers.models import WordPiece
    from transformers import PreTrainedTokenizerFast

    vocab = {token: i for i, token in enumerate(_vocabulary())}
    backend = Tokenizer(WordPiece(vocab, unk_token="[UNK]", max_input_chars_per_word=100))
    backend.normalizer = normalizers.BertNormalizer(lowercase=True, strip_accents=False)
    backend.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    backend.decoder = decoders.WordPiece(prefix="##")  # decode() joins "##" pieces into words, as BERT's does
    backend.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])])
    return PreTrainedTokenizerFast(tokenizer_object=backend, unk_token="[UNK]", pad_token="[PAD]",
                                   cls_token="[CLS]", sep_token="[SEP]", mask_token="[MASK]",
                                   model_max_length=128)


def tiny_model(config, seed: int):
    """Random weights drawn from a fixed seed, so the tiny encoder is reproducible."""
    import torch
    from transformers import BertModel

    generator_state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        return BertModel(config, add_pooling_layer=False)
    finally:
        torch.random.set_rng_state(generator_state)
