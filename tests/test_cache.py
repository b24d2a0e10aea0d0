"""The encoded cache: correct states, hits without the encoder, fingerprints, corruption, atomicity."""

import json
import os
import warnings

import numpy as np
import pytest
import torch

from text_envs import cache
from text_envs.encoders import Encoder
from text_envs.records import TaggingRecord, TaskDataset


@pytest.fixture(autouse=True)
def fresh_registry():
    cache._LOADED.clear()
    yield
    cache._LOADED.clear()


def _reference(encoder, encoded, segment):
    """The segment encoded alone, unpadded: what the batched, sorted, chunked build must match."""
    span = encoded.tokens(segment)
    ids = torch.from_numpy(np.asarray(encoded.input_ids[span], dtype=np.int64))[None]
    types = torch.from_numpy(np.asarray(encoded.type_ids[span], dtype=np.int64))[None]
    states, pooled = encoder.forward(ids, torch.ones_like(ids), types)
    return states[0].numpy(), pooled[0].numpy()


@pytest.mark.parametrize("task", ["ner", "qa", "summarization", "classification"])
def test_batched_build_matches_encoding_each_segment_alone(task, mixed_datasets, tiny, monkeypatch):
    monkeypatch.setattr(cache, "CHUNK_BYTES", 2 * tiny.hidden_size * 40)  # several chunks of ~40 tokens
    encoded = cache.encode(mixed_datasets[task], tiny, batch_tokens=64, progress=False)
    assert len(encoded) == len(mixed_datasets[task])
    assert encoded.states.dtype == np.float16 and encoded.states.shape[1] == tiny.hidden_size
    for segment in range(len(encoded.token_starts) - 1):
        states, pooled = _reference(tiny, encoded, segment)
        np.testing.assert_allclose(encoded.states[encoded.tokens(segment)], states, atol=3e-3)
        np.testing.assert_allclose(encoded.pooled[segment], pooled, atol=3e-3)


def test_layouts_give_the_segments_each_task_needs(mixed_datasets, tiny):
    summary = cache.encode(mixed_datasets["summarization"], tiny, progress=False)
    for index, record in enumerate(summary.dataset):
        assert len(summary.segments(index)) == len(record.sentences)
    qa = cache.encode(mixed_datasets["qa"], tiny, progress=False)
    span = qa.tokens(qa.segments(0)[0])
    assert set(np.asarray(qa.sequence_ids[span])) == {-1, 0, 1}


def test_word_positions_point_at_first_subwords_and_mark_truncated_words():
    encoder = Encoder("tiny", device="cpu")
    words = ["Hello", "antidisestablishment", "world", "again", "and", "again"]
    dataset = TaskDataset("ner", "toy", "train", [TaggingRecord("a", words, ["O"] * len(words))], ["O"])
    encoded = cache.encode(dataset, encoder, max_length=12, progress=False)
    positions = encoded.word_positions(0, len(words))
    span = encoded.tokens(0)
    word_ids = np.asarray(encoded.word_ids[span])
    assert positions[0] == 1 and word_ids[positions[0]] == 0
    assert word_ids[positions[1]] == 1 and word_ids[positions[1] - 1] == 0
    assert encoded.truncated[0] and positions[-1] == -1  # cut off at 12 tokens


def test_disk_cache_hit_reads_files_without_running_the_encoder(ner_dataset, tiny, tmp_path, monkeypatch):
    first = cache.encode(ner_dataset, tiny, cache_dir=tmp_path, progress=False)
    entries = [p for p in tmp_path.iterdir()]
    assert len(entries) == 1 and (entries[0] / cache.MANIFEST).is_file()
    assert not any(p.name.startswith(".tmp") for p in tmp_path.iterdir())
    cache._LOADED.clear()

    def no_encoder(*args, **kwargs):
        raise AssertionError("a cache hit ran the encoder")

    monkeypatch.setattr(Encoder, "forward", no_encoder)
    monkeypatch.setattr(Encoder, "tokenize", no_encoder)
    second = cache.encode(ner_dataset, Encoder("tiny", device="cpu"), cache_dir=tmp_path, progress=False)
    assert isinstance(second.states, np.memmap)
    np.testing.assert_array_equal(second.states, first.states)
    np.testing.assert_array_equal(second.input_ids, first.input_ids)


def test_same_process_shares_one_encoding(ner_dataset, tiny, tmp_path):
    assert cache.encode(ner_dataset, tiny, progress=False) is cache.encode(ner_dataset, tiny, progress=False)
    on_disk = cache.encode(ner_dataset, tiny, cache_dir=tmp_path, progress=False)
    assert on_disk is cache.encode(ner_dataset, tiny, cache_dir=tmp_path, progress=False)


def test_fingerprint_covers_data_encoder_and_max_length(ner_dataset, tiny, tmp_path):
    base = cache.encode(ner_dataset, tiny, cache_dir=tmp_path, progress=False).fingerprint
    changed_data = TaskDataset("ner", "toy", "train", ner_dataset.records[:-1], ner_dataset.labels)
    others = {
        cache.encode(changed_data, tiny, cache_dir=tmp_path, progress=False).fingerprint,
        cache.encode(ner_dataset, Encoder("tiny", seed=3, device="cpu"), cache_dir=tmp_path,
                     progress=False).fingerprint,
        cache.encode(ner_dataset, tiny, cache_dir=tmp_path, max_length=32, progress=False).fingerprint,
        cache.encode(ner_dataset, tiny, cache_dir=tmp_path, on_overflow="error", progress=False).fingerprint,
    }
    assert base not in others and len(others) == 4
    assert len(list(tmp_path.iterdir())) == 5
    # the same records under another name or split name share the encoding's fingerprint
    renamed = TaskDataset("ner", "copy", "test", ner_dataset.records, ner_dataset.labels)
    assert cache.encode(renamed, tiny, progress=False).fingerprint == base


def _entry(tmp_path):
    (entry,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    return entry


def _truncate(path):
    with open(path, "r+b") as handle:
        handle.truncate(path.stat().st_size - 10)


def _flip_a_byte(path):
    with open(path, "r+b") as handle:
        handle.seek(path.stat().st_size - 3)
        byte = handle.read(1)
        handle.seek(-1, os.SEEK_CUR)
        handle.write(bytes([byte[0] ^ 0xFF]))


def _garble_manifest(path):
    path.with_name(cache.MANIFEST).write_text("{not json")


@pytest.mark.parametrize("damage, reason", [
    (_truncate, "wrong size"), (_flip_a_byte, "checksum"), (_garble_manifest, "manifest"),
    (lambda p: p.unlink(), "missing"),
])
def test_damaged_cache_is_detected_and_rebuilt_never_read(damage, reason, ner_dataset, tiny, tmp_path):
    good = np.array(cache.encode(ner_dataset, tiny, cache_dir=tmp_path, progress=False).states)
    cache._LOADED.clear()
    damage(_entry(tmp_path) / "states.npy")
    with pytest.warns(UserWarning, match=f"unusable.*{reason}.*rebuilding"):
        rebuilt = cache.encode(ner_dataset, tiny, cache_dir=tmp_path, progress=False)
    np.testing.assert_array_equal(rebuilt.states, good)
    cache._LOADED.clear()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the rebuilt entry is sound: no second warning
        cache.encode(ner_dataset, tiny, cache_dir=tmp_path, progress=False)


def test_manifest_of_another_encoding_is_rejected(ner_dataset, tiny, tmp_path):
    cache.encode(ner_dataset, tiny, cache_dir=tmp_path, progress=False)
    cache._LOADED.clear()
    manifest = _entry(tmp_path) / cache.MANIFEST
    content = json.loads(manifest.read_text())
    content["fingerprint"] = "0" * 64
    manifest.write_text(json.dumps(content))
    with pytest.warns(UserWarning, match="does not describe this encoding"):
        cache.encode(ner_dataset, tiny, cache_dir=tmp_path, progress=False)


def test_a_crash_mid_build_leaves_no_entry_and_the_next_build_succeeds(ner_dataset, tmp_path, monkeypatch):
    encoder = Encoder("tiny", device="cpu")
    calls = {"n": 0}
    real_forward = Encoder.forward

    def crash_on_second_batch(self, *args):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return real_forward(self, *args)

    monkeypatch.setattr(Encoder, "forward", crash_on_second_batch)
    with pytest.raises(KeyboardInterrupt):
        cache.encode(ner_dataset, encoder, cache_dir=tmp_path, batch_tokens=32, progress=False)
    assert list(tmp_path.iterdir()) == []  # neither a half-written entry nor a staging folder
    monkeypatch.setattr(Encoder, "forward", real_forward)
    assert len(cache.encode(ner_dataset, encoder, cache_dir=tmp_path, progress=False)) == len(ner_dataset)


def test_files_that_are_not_the_caches_are_never_deleted(ner_dataset, tiny, tmp_path):
    cache.encode(ner_dataset, tiny, cache_dir=tmp_path, progress=False)
    cache._LOADED.clear()
    entry = _entry(tmp_path)
    (entry / "my-notes.txt").write_text("keep me")
    _truncate(entry / "states.npy")
    with pytest.warns(UserWarning), pytest.raises(cache.CacheError, match="not the cache's"):
        cache.encode(ner_dataset, tiny, cache_dir=tmp_path, progress=False)
    assert (entry / "my-notes.txt").read_text() == "keep me"


def test_bad_arguments_are_named(ner_dataset, tiny):
    with pytest.raises(ValueError, match="unknown layout 'pages'"):
        cache.encode(ner_dataset, tiny, layout="pages")
    with pytest.raises(ValueError, match="max_length must be an integer between 8 and 128"):
        cache.encode(ner_dataset, tiny, max_length=1000)


def test_plan_chunks_covers_every_segment_once_longest_first():
    starts = np.concatenate([[0], np.cumsum(np.random.default_rng(0).integers(1, 50, size=300))])
    lengths = np.diff(starts)
    chunks = cache.plan_chunks(starts, batch_tokens=256, chunk_tokens=1000)
    seen = np.concatenate([b for c in chunks for b in c.batches])
    assert sorted(seen.tolist()) == list(range(300))
    for chunk in chunks:
        assert all(chunk.lo <= s < chunk.hi for b in chunk.batches for s in b)
        for batch in chunk.batches:
            assert len(batch) * lengths[batch].max() <= 256 or len(batch) == 1
        order = np.concatenate(chunk.batches)
        assert np.all(np.diff(lengths[order]) <= 0)
