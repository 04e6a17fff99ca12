"""Bemis–Murcko scaffolds and scaffold K-fold (deepchem's ScaffoldSplitter behind them)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from sciml.domains import get_domain
from sciml.domains.base import Domain, group_folds
from sciml.domains.molecules.scaffolds import murcko_scaffolds, scaffold_kfold, scaffold_sets

BENZENES = ["Cc1ccccc1", "CCc1ccccc1", "Oc1ccccc1", "Nc1ccccc1", "Clc1ccccc1"]
PYRIDINES = ["Cc1ccncc1", "Nc1ccncc1", "Oc1ccncc1"]
CYCLOHEXANES = ["OC1CCCCC1", "NC1CCCCC1"]
NAPHTHALENES = ["c1ccc2ccccc2c1"]
ACYCLIC = ["CCO", "CCCC", "CC(=O)O", "CCN"]
MIXED = [*BENZENES, *PYRIDINES, *CYCLOHEXANES, *NAPHTHALENES, *ACYCLIC]


def _by_scaffold(smiles, fold):
    out: dict[str, set] = {}
    for s, f in zip(murcko_scaffolds(smiles), fold):
        out.setdefault(s, set()).add(int(f))
    return out


def test_murcko_scaffolds_rings_kept_side_chains_dropped_acyclic_empty():
    got = murcko_scaffolds(["Cc1ccccc1", " OC1CCCCC1 ", "CCO", "c1ccccc1CCc1ccncc1", "C[C@H](N)c1ccccc1"])
    assert got == ["c1ccccc1", "C1CCCCC1", "", "c1ccc(CCc2ccncc2)cc1", "c1ccccc1"]
    assert murcko_scaffolds([]) == []


def test_murcko_scaffolds_refuses_unreadable_input():
    with pytest.raises(ValueError, match=r"positions 1 \('not_a_smiles'\), 2 \(''\)"):
        murcko_scaffolds(["CCO", "not_a_smiles", ""])


def test_scaffold_sets_partition_the_inputs_by_scaffold_largest_first():
    sets = scaffold_sets(MIXED)
    assert [len(s) for s in sets] == [5, 4, 3, 2, 1]
    assert sorted(np.concatenate(sets).tolist()) == list(range(len(MIXED)))
    keys = murcko_scaffolds(MIXED)
    for s in sets:  # the same groups as murcko_scaffolds, so group_keys and deepchem agree
        assert len({keys[i] for i in s}) == 1
    assert {keys[i] for i in sets[1]} == {""}  # the acyclic molecules are one set
    assert scaffold_sets([]) == []
    with pytest.raises(ValueError, match="RDKit cannot read"):
        scaffold_sets(["CCO", "C1CC("])


@pytest.mark.parametrize("n_folds", [2, 3, 5])
def test_scaffold_kfold_keeps_every_scaffold_in_one_fold(n_folds):
    fold = scaffold_kfold(MIXED, n_folds, seed=0)
    assert fold.shape == (len(MIXED),) and fold.dtype == np.int64
    assert set(fold.tolist()) == set(range(n_folds))
    assert all(len(f) == 1 for f in _by_scaffold(MIXED, fold).values())


def test_scaffold_kfold_balances_largest_first():
    fold = scaffold_kfold(MIXED, 2, seed=0)
    sizes = np.bincount(fold)
    assert sorted(sizes.tolist()) == [7, 8]  # 5 + 2 + 1 against 4 + 3
    assert len(set(fold[: len(BENZENES)])) == 1


def test_scaffold_kfold_is_deterministic_and_seed_shuffles_ties():
    smiles = [f"{r}c1ccccc1" for r in ("C", "N")] + [f"{r}c1ccncc1" for r in ("C", "N")] + \
             [f"{r}C1CCCCC1" for r in ("C", "N")] + [f"{r}C1CCCC1" for r in ("C", "N")]  # four sets of two
    folds = {seed: scaffold_kfold(smiles, 2, seed=seed) for seed in range(8)}
    for seed, fold in folds.items():
        np.testing.assert_array_equal(fold, scaffold_kfold(smiles, 2, seed=seed))
        assert np.bincount(fold).tolist() == [4, 4]
        assert all(len(f) == 1 for f in _by_scaffold(smiles, fold).values())
    assert len({f.tobytes() for f in folds.values()}) > 1  # equal-size scaffolds land differently across seeds


def test_fewer_scaffolds_than_folds_gives_one_fold_per_scaffold(caplog):
    smiles = [*BENZENES, *ACYCLIC]
    with caplog.at_level("WARNING", logger="sciml.domains.base"):
        fold = scaffold_kfold(smiles, 5)
    assert sorted(set(fold.tolist())) == [0, 1]
    assert "only 2 distinct scaffolds among 9 inputs: 2 folds instead of 5" in caplog.text
    with pytest.raises(ValueError, match="at least 2"):
        scaffold_kfold(smiles, 1)


def test_molecule_domain_groups_by_scaffold_through_deepchem():
    domain = get_domain("molecules")
    assert domain.group_name == "scaffold"
    assert domain.group_keys(MIXED) == murcko_scaffolds(MIXED)
    np.testing.assert_array_equal(domain.group_kfold(MIXED, 3, seed=1), scaffold_kfold(MIXED, 3, seed=1))
    # the generic default (group_keys + the same greedy dealing) gives folds of the same sizes
    generic = Domain.group_kfold(domain, MIXED, 3, seed=1)
    assert all(len(f) == 1 for f in _by_scaffold(MIXED, generic).values())
    assert sorted(np.bincount(generic).tolist()) == sorted(np.bincount(scaffold_kfold(MIXED, 3, seed=1)).tolist())


def test_group_folds_checks_its_input():
    with pytest.raises(ValueError, match="do not partition"):
        group_folds([np.array([0, 1])], 3, 2)
    assert group_folds([], 0, 2).shape == (0,)


def test_deepchem_is_not_imported_by_the_domain_package():
    code = ("import sys, sciml.domains, sciml.domains.molecules.scaffolds, assays.splits; "
            "from sciml.domains import get_domain; get_domain().group_keys(['c1ccccc1O']); "
            "print('deepchem' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False", out.stderr
