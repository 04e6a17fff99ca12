"""Morgan fingerprints and the vectorised Tanimoto matrix."""

from __future__ import annotations

import re

import numpy as np
import pytest
from rdkit import Chem, DataStructs
from rdkit.Chem import rdFingerprintGenerator

from sciml.domains.molecules.fingerprints import morgan_fingerprints, tanimoto_matrix

SMILES = ["c1ccccc1", "Cc1ccccc1", "CCO", "CCCCO", "CC(=O)Oc1ccccc1C(=O)O"]


def test_morgan_shape_dtype_and_bits():
    fp = morgan_fingerprints(SMILES)
    assert fp.shape == (len(SMILES), 2048)
    assert fp.dtype == np.uint8
    assert set(np.unique(fp)) <= {0, 1}
    assert (fp.sum(axis=1) > 0).all()
    np.testing.assert_array_equal(fp, morgan_fingerprints(SMILES))  # deterministic


def test_morgan_matches_rdkit_generator_and_options():
    gen = rdFingerprintGenerator.GetMorganGenerator(radius=1, fpSize=512)
    expected = np.stack([gen.GetFingerprintAsNumPy(Chem.MolFromSmiles(s)) for s in SMILES])
    np.testing.assert_array_equal(morgan_fingerprints(SMILES, radius=1, n_bits=512), expected)


def test_morgan_counts_are_clipped_counts_with_the_same_support():
    bits = morgan_fingerprints(["CCCCCCCC"])
    counts = morgan_fingerprints(["CCCCCCCC"], counts=True)
    assert counts.dtype == np.uint8
    assert counts.max() > 1  # octane repeats its CH2 environment
    np.testing.assert_array_equal(counts > 0, bits > 0)
    long_chain = morgan_fingerprints(["C" * 600], counts=True)
    assert long_chain.max() == 255  # ~600 identical CH2 environments, clipped


def test_morgan_empty_input():
    assert morgan_fingerprints([], n_bits=64).shape == (0, 64)


@pytest.mark.parametrize("bad, index", [(["CCO", "C1CC"], 1), (["not_a_smiles"], 0), (["CCO", "CC", ""], 2)])
def test_morgan_invalid_smiles_names_index_and_smiles(bad, index, capfd):
    with pytest.raises(ValueError, match=rf"index {index}: {re.escape(repr(bad[index]))}"):
        morgan_fingerprints(bad)
    assert "SMILES Parse Error" not in capfd.readouterr().err  # RDKit logs are silenced


def test_tanimoto_identical_disjoint_and_partial():
    A = np.array([[1, 1, 1, 0, 0], [0, 0, 0, 1, 1]], dtype=np.uint8)
    B = np.array([[1, 1, 1, 0, 0], [0, 1, 1, 1, 0]], dtype=np.uint8)
    T = tanimoto_matrix(A, B)
    assert T.shape == (2, 2)
    assert T.dtype == np.float32
    assert T[0, 0] == 1.0  # identical
    assert T[1, 0] == 0.0  # disjoint
    assert T[0, 1] == pytest.approx(2 / 4)  # {1,2} shared of {0,1,2,3}
    assert T[1, 1] == pytest.approx(1 / 4)  # {3} shared of {1,2,3,4}


def test_tanimoto_all_zero_rows_give_zero_not_nan():
    A = np.array([[0, 0, 0], [1, 0, 1]])
    B = np.array([[0, 0, 0], [1, 0, 1]])
    T = tanimoto_matrix(A, B)
    assert not np.isnan(T).any()
    np.testing.assert_array_equal(T, [[0.0, 0.0], [0.0, 1.0]])


def test_tanimoto_treats_nonzero_as_on_bits_and_checks_shapes():
    np.testing.assert_array_equal(tanimoto_matrix(np.array([[3, 0, 7]]), np.array([[1, 0, 1]])), [[1.0]])
    with pytest.raises(ValueError, match="columns"):
        tanimoto_matrix(np.ones((2, 3)), np.ones((2, 4)))
    with pytest.raises(ValueError, match="2-D"):
        tanimoto_matrix(np.ones(3), np.ones((2, 3)))


def test_tanimoto_matches_rdkit_bulk_similarity():
    gen = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=2048)
    bvs = [gen.GetFingerprint(Chem.MolFromSmiles(s)) for s in SMILES]
    expected = np.array([DataStructs.BulkTanimotoSimilarity(bv, bvs) for bv in bvs])
    fp = morgan_fingerprints(SMILES)
    np.testing.assert_allclose(tanimoto_matrix(fp, fp), expected, rtol=1e-6)
