"""Atom-level pictures for "explain a prediction": which atoms a molecule shares with a reference.

:func:`shared_atoms_map` draws RDKit's similarity map of a molecule against a reference
molecule (Morgan fingerprints, radius 2): each atom is coloured by how much the Tanimoto
similarity drops when the fingerprint bits that atom contributes to are removed
(``SimilarityMaps.GetAtomicWeightsForFingerprint``). Green atoms are the environments the
molecule shares with the reference (its nearest measured compound, say), i.e. what a
similarity-based prediction leans on. It is a guide, not a mechanism.
"""

from __future__ import annotations

import base64

import numpy as np


def shared_atom_weights(smiles: str, reference: str, radius: int = 2, n_bits: int = 2048) -> np.ndarray | None:
    """Per-atom drop in Tanimoto similarity to ``reference`` when the atom's Morgan bits are removed ``[n_atoms]``
    (``None`` when either SMILES cannot be read)."""
    from rdkit import Chem, DataStructs, RDLogger
    from rdkit.Chem.Draw import SimilarityMaps

    mol, ref = Chem.MolFromSmiles(smiles), Chem.MolFromSmiles(reference)
    if mol is None or ref is None or mol.GetNumAtoms() == 0:
        return None
    RDLogger.DisableLog("rdApp.*")  # the legacy Morgan call below logs a deprecation warning per atom
    try:
        weights = SimilarityMaps.GetAtomicWeightsForFingerprint(
            ref, mol, lambda m, i: SimilarityMaps.GetMorganFingerprint(m, atomId=i, radius=radius, fpType="bv",
                                                                       nBits=n_bits),
            metric=DataStructs.TanimotoSimilarity)
    finally:
        RDLogger.EnableLog("rdApp.*")
    return np.asarray(weights, dtype=np.float64)


def shared_atoms_map(smiles: str, reference: str, width: int = 420, height: int = 320) -> str | None:
    """``data:image/png;base64,...`` of the similarity map of ``smiles`` against ``reference``, or ``None``."""
    from rdkit import Chem
    from rdkit.Chem.Draw import SimilarityMaps, rdMolDraw2D

    weights = shared_atom_weights(smiles, reference)
    if weights is None:
        return None
    mol = Chem.MolFromSmiles(smiles)
    try:
        drawer = rdMolDraw2D.MolDraw2DCairo(width, height)
        SimilarityMaps.GetSimilarityMapFromWeights(mol, list(weights), draw2d=drawer)
        drawer.FinishDrawing()
        png = drawer.GetDrawingText()
    except (RuntimeError, ValueError):
        return None
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")
