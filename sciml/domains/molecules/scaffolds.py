"""Bemis–Murcko scaffolds of molecules, and scaffold-grouped K-fold assignments.

Scaffolds (Bemis & Murcko, J. Med. Chem. 39, 2887, 1996) are the ring systems of a
molecule with the linkers between them, side chains removed. Two molecules with the
same scaffold belong to the same chemotype; a split that keeps every scaffold on one
side tells how a model does on chemotypes it has not seen.

* :func:`murcko_scaffolds` — the scaffold SMILES of each input (RDKit only);
* :func:`scaffold_sets` — input positions grouped by scaffold, as deepchem's
  ``ScaffoldSplitter.generate_scaffolds`` makes them (largest set first);
* :func:`scaffold_kfold` — a fold id per input, whole scaffold sets per fold;
* :func:`scaffold_splitter` — deepchem's ``ScaffoldSplitter``, optionally with seeded ties
  (used by :func:`assays.splits.scaffold_split`).

Acyclic molecules (no ring: ethanol, hexane) have the empty scaffold ``""``, so they all
fall in one group. Chirality is not part of the scaffold (deepchem's default). The
scaffold is the plain Murcko framework with its atom and bond types, not the generic
(all-carbon, single-bond) framework.

deepchem is imported only inside :func:`scaffold_sets` and :func:`scaffold_splitter` (and
through them :func:`scaffold_kfold`): ``import deepchem`` takes about 7 s in a fresh interpreter on
this project's machine (almost all of it torch, torch_geometric and scikit-learn, which the
models load anyway; about 0.25 s on top of them) and logs warnings about optional
dependencies, which :func:`_deepchem` keeps quiet.
"""

from __future__ import annotations

import logging
from typing import Sequence

import numpy as np

from sciml.domains.base import group_folds

__all__ = ["murcko_scaffolds", "scaffold_sets", "scaffold_kfold", "scaffold_splitter"]

logger = logging.getLogger(__name__)


def _deepchem():
    """``import deepchem`` with its import-time warnings (missing TensorFlow, JAX, …) silenced."""
    import sys

    if "deepchem" in sys.modules:
        return sys.modules["deepchem"]
    dc_logger = logging.getLogger("deepchem")
    level = dc_logger.level
    dc_logger.setLevel(logging.ERROR)
    try:
        import deepchem
    finally:
        dc_logger.setLevel(level)
    return deepchem


def _clean(smiles: Sequence[object]) -> list[str]:
    """``smiles`` stripped; a ``ValueError`` names the first inputs RDKit cannot read."""
    from rdkit import Chem, RDLogger

    RDLogger.DisableLog("rdApp.*")
    out, bad = [], []
    for i, s in enumerate(smiles):
        text = s.strip() if isinstance(s, str) else ""
        if not text or Chem.MolFromSmiles(text) is None:
            bad.append(f"{i} ({s!r})")
        out.append(text)
    if bad:
        raise ValueError(f"no scaffold for {len(bad)} input(s) RDKit cannot read, at positions "
                         f"{', '.join(bad[:5])}{' …' if len(bad) > 5 else ''}; drop invalid SMILES first")
    return out


def murcko_scaffolds(smiles: Sequence[str]) -> list[str]:
    """Bemis–Murcko scaffold SMILES of each input.

    Parameters
    ----------
    smiles : sequence of str, length ``n``
        Valid SMILES (surrounding white space is ignored).

    Returns
    -------
    list of str, length ``n``
        RDKit canonical SMILES of each scaffold, chirality left out (the same text deepchem's
        ``ScaffoldSplitter`` groups by); ``""`` for an acyclic molecule.

    Raises
    ------
    ValueError
        When an input is empty or RDKit cannot read it (positions named).
    """
    from rdkit import Chem
    from rdkit.Chem.Scaffolds.MurckoScaffold import MurckoScaffoldSmiles

    return [MurckoScaffoldSmiles(mol=Chem.MolFromSmiles(s), includeChirality=False) for s in _clean(smiles)]


def scaffold_sets(smiles: Sequence[str]) -> list[np.ndarray]:
    """Input positions grouped by Bemis–Murcko scaffold, by deepchem's ``ScaffoldSplitter``.

    Parameters
    ----------
    smiles : sequence of str, length ``n``
        Valid SMILES.

    Returns
    -------
    list of np.ndarray of int64
        One array per distinct scaffold (acyclic molecules share one), positions in
        ascending order; the sets partition ``range(n)``. Ordered as deepchem orders them:
        by size, largest first, then by first position, highest first.

    Raises
    ------
    ValueError
        When an input is empty or RDKit cannot read it (deepchem would silently leave it out).
    """
    clean = _clean(smiles)
    if not clean:
        return []
    dc = _deepchem()
    dataset = dc.data.NumpyDataset(X=np.zeros((len(clean), 1)), ids=np.asarray(clean, dtype=object))
    sets = dc.splits.ScaffoldSplitter().generate_scaffolds(dataset)
    return [np.asarray(s, dtype=np.int64) for s in sets]


def scaffold_kfold(smiles: Sequence[str], n_folds: int, seed: int = 0) -> np.ndarray:
    """A fold id per molecule such that no scaffold is in two folds.

    Scaffold sets (:func:`scaffold_sets`) are dealt whole, largest first, each to the fold
    that currently holds the fewest molecules (lowest fold id on a tie); ``seed`` shuffles
    the order of scaffold sets of equal size, so different seeds give different, equally
    balanced folds, and the same seed always the same folds (see
    :func:`sciml.domains.base.group_folds`).

    Parameters
    ----------
    smiles : sequence of str, length ``n``
        Valid SMILES.
    n_folds : int
        Folds wanted, at least 2. With fewer distinct scaffolds than that, each scaffold is
        its own fold (a warning is logged).
    seed : int, default 0

    Returns
    -------
    np.ndarray of int64, shape ``[n]``
        Fold id in ``0 .. min(n_folds, n_scaffolds) - 1`` per molecule; every id is used.

    Raises
    ------
    ValueError
        For ``n_folds < 2`` or an input RDKit cannot read.
    """
    return group_folds(scaffold_sets(smiles), len(smiles), n_folds, seed, what="scaffolds")


def scaffold_splitter(seed: int | None = None):
    """deepchem's ``ScaffoldSplitter``; with ``seed``, scaffold sets of equal size in a seeded order.

    deepchem orders scaffold sets by size, largest first, and equal sizes by first position
    (highest first), so its ``split`` is the same for every ``seed`` it is given. With
    ``seed=None`` this is that splitter unchanged; with an integer seed, ``generate_scaffolds``
    (which ``split`` calls) keeps the largest-first order but shuffles sets of equal size
    with ``numpy.random.default_rng(seed)``. Which scaffolds go to train, validation and test
    is then decided by deepchem's own ``split``.

    Returns
    -------
    deepchem.splits.ScaffoldSplitter
    """
    dc = _deepchem()
    if seed is None:
        return dc.splits.ScaffoldSplitter()

    class SeededScaffoldSplitter(dc.splits.ScaffoldSplitter):
        """``ScaffoldSplitter`` with scaffold sets of equal size in a seeded order."""

        def generate_scaffolds(self, dataset, log_every_n: int = 1000):
            sets = super().generate_scaffolds(dataset, log_every_n)
            tie = np.random.default_rng(seed).permutation(len(sets))
            return [sets[j] for j in sorted(range(len(sets)), key=lambda j: (-len(sets[j]), tie[j]))]

    return SeededScaffoldSplitter()
