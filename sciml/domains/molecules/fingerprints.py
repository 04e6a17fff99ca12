"""Morgan (ECFP-like) fingerprints and vectorised Tanimoto similarity.

``morgan_fingerprints`` turns SMILES into a dense ``uint8`` matrix with RDKit's
``rdFingerprintGenerator``; ``tanimoto_matrix`` compares two such matrices with two
matrix products, so a query-by-support similarity matrix costs one BLAS call.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Sequence

import numpy as np

__all__ = ["morgan_fingerprints", "tanimoto_matrix"]


@lru_cache(maxsize=16)
def _morgan_generator(radius: int, n_bits: int):
    from rdkit.Chem import rdFingerprintGenerator

    return rdFingerprintGenerator.GetMorganGenerator(radius=radius, fpSize=n_bits)


def morgan_fingerprints(
    smiles: Sequence[str],
    radius: int = 2,
    n_bits: int = 2048,
    counts: bool = False,
) -> np.ndarray:
    """Morgan fingerprints of a list of SMILES as a dense matrix.

    Parameters
    ----------
    smiles : sequence of str, length ``n``
        Molecules as SMILES strings.
    radius : int, default 2
        Morgan radius (2 corresponds to ECFP4).
    n_bits : int, default 2048
        Fingerprint length (folded).
    counts : bool, default False
        If False, the on/off bit vector; if True, count fingerprints with counts
        clipped to 255 so that they fit ``uint8``.

    Returns
    -------
    np.ndarray of uint8, shape ``[n, n_bits]``
        One row per input SMILES, in input order. An empty input gives shape ``[0, n_bits]``.

    Raises
    ------
    ValueError
        If ``radius < 0`` or ``n_bits < 1``, or if an entry is not a non-empty string or
        RDKit cannot parse it; the message names the index and the SMILES.
    """
    from rdkit import Chem, rdBase

    if isinstance(smiles, str):
        raise TypeError("morgan_fingerprints expects a sequence of SMILES, not a single string; wrap it in a list.")
    radius, n_bits = int(radius), int(n_bits)
    if radius < 0:
        raise ValueError(f"radius must be >= 0, got {radius}.")
    if n_bits < 1:
        raise ValueError(f"n_bits must be >= 1, got {n_bits}.")

    smiles = list(smiles)
    gen = _morgan_generator(radius, n_bits)
    out = np.zeros((len(smiles), n_bits), dtype=np.uint8)
    with rdBase.BlockLogs():  # keep RDKit's parse warnings off stderr; we raise our own error
        for i, smi in enumerate(smiles):
            if not isinstance(smi, str) or not smi.strip():
                raise ValueError(f"Invalid SMILES at index {i}: {smi!r} (expected a non-empty string).")
            mol = Chem.MolFromSmiles(smi)
            if mol is None:
                raise ValueError(f"Invalid SMILES at index {i}: {smi!r} could not be parsed by RDKit.")
            if counts:
                out[i] = np.minimum(gen.GetCountFingerprintAsNumPy(mol), 255)
            else:
                out[i] = gen.GetFingerprintAsNumPy(mol)
    return out


def tanimoto_matrix(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Pairwise Tanimoto (Jaccard) similarity between two sets of binary fingerprints.

    ``T[i, j] = |a_i & b_j| / |a_i | b_j|``, computed as
    ``c / (|a_i| + |b_j| - c)`` with ``c = A @ B.T`` in float32. Any non-zero entry
    counts as an on-bit, so count fingerprints are compared by their bit patterns.

    Parameters
    ----------
    A : np.ndarray, shape ``[n_a, d]``
        Fingerprints (bool or any numeric dtype).
    B : np.ndarray, shape ``[n_b, d]``
        Fingerprints with the same number of columns ``d``.

    Returns
    -------
    np.ndarray of float32, shape ``[n_a, n_b]``
        Similarities in ``[0, 1]``. A pair in which both rows are all-zero has
        similarity 0 (not NaN); an all-zero row against any other row also gives 0.

    Raises
    ------
    ValueError
        If either input is not 2-D or the column counts differ.
    """
    A = np.asarray(A)
    B = np.asarray(B)
    if A.ndim != 2 or B.ndim != 2:
        raise ValueError(f"tanimoto_matrix expects 2-D arrays, got shapes {A.shape} and {B.shape}.")
    if A.shape[1] != B.shape[1]:
        raise ValueError(f"Fingerprint lengths differ: A has {A.shape[1]} columns, B has {B.shape[1]}.")
    a = (A != 0).astype(np.float32)
    b = (B != 0).astype(np.float32)
    inter = a @ b.T  # exact: integer counts far below 2**24
    union = a.sum(axis=1)[:, None] + b.sum(axis=1)[None, :] - inter
    sim = np.zeros_like(inter)
    np.divide(inter, union, out=sim, where=union > 0)
    return sim
