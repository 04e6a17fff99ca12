"""Scaffold-disjoint splits of molecules and of task collections (deepchem's ScaffoldSplitter)."""

from __future__ import annotations

import numpy as np
import pytest

from assays.splits import molecule_disjoint_collection, restrict_collection, scaffold_split
from assays.task import Task, TaskCollection
from sciml.domains.molecules.scaffolds import murcko_scaffolds

SUBSTITUENTS = ["C", "CC", "O", "N", "Cl", "F", "Br", "OC", "C(=O)O", "N#C"]
BENZENES = [f"{r}c1ccccc1" for r in SUBSTITUENTS]                  # 10, one scaffold
PYRIDINES = [f"{r}c1ccncc1" for r in SUBSTITUENTS[:6]]             # 6
CYCLOHEXANES = [f"{r}C1CCCCC1" for r in SUBSTITUENTS[:4]]          # 4
SINGLETONS = ["c1ccc2ccccc2c1", "C1CCOC1", "c1ccsc1", "c1cc[nH]c1", "C1CCNCC1", "c1ccc2[nH]ccc2c1",
              "C1CC1", "c1cnccn1"]                                  # 8 scaffolds of one molecule
ACYCLIC = ["CCO", "CCCC", "CC(=O)O", "CCN", "CCCCCO", "CC(C)C"]   # 6, the empty scaffold
MOLECULES = [*BENZENES, *PYRIDINES, *CYCLOHEXANES, *SINGLETONS, *ACYCLIC]   # 34


def _scaffolds(smiles) -> set[str]:
    return set(murcko_scaffolds(smiles))


def _assert_disjoint(parts: dict[str, list[str]]) -> None:
    seen = {p: _scaffolds(v) for p, v in parts.items() if v}
    names = list(seen)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            assert not seen[a] & seen[b], (a, b, seen[a] & seen[b])


def test_scaffold_split_is_scaffold_disjoint_complete_and_ordered():
    parts = scaffold_split(MOLECULES + BENZENES[:3])  # repeats count once
    assert list(parts) == ["train", "val", "test"]
    assert sorted(sum(parts.values(), [])) == sorted(MOLECULES)
    _assert_disjoint(parts)
    for p in parts.values():  # first-appearance order of the input
        assert p == sorted(p, key=MOLECULES.index)


@pytest.mark.parametrize("fractions", [(0.8, 0.1, 0.1), (0.6, 0.2, 0.2), (0.7, 0.0, 0.3)])
def test_scaffold_split_respects_fractions_approximately(fractions):
    parts = scaffold_split(MOLECULES, fractions, seed=0)
    n = len(MOLECULES)
    for share, name in zip(fractions, ("train", "val", "test")):
        # whole scaffold sets move; here the eight one-molecule scaffolds fill the gaps
        assert abs(len(parts[name]) - share * n) <= 3, (name, len(parts[name]), share * n)
    assert len(parts["train"]) <= fractions[0] * n
    if fractions[1] == 0:
        assert parts["val"] == []


def test_scaffold_split_is_deterministic_and_seed_only_reorders_equal_sets():
    for seed in (None, 0, 3):
        assert scaffold_split(MOLECULES, seed=seed) == scaffold_split(MOLECULES, seed=seed)
    plain = scaffold_split(MOLECULES, seed=None)  # deepchem's own order
    by_seed = [scaffold_split(MOLECULES, seed=s) for s in range(6)]
    assert any(p != plain for p in by_seed) and len({tuple(p["test"]) for p in by_seed}) > 1
    for p in by_seed:
        assert {k: len(v) for k, v in p.items()} == {k: len(v) for k, v in plain.items()}
        assert set(BENZENES) <= set(p["train"])  # the largest chemotype stays in train
        _assert_disjoint(p)


def test_scaffold_split_errors():
    with pytest.raises(ValueError, match="summing to 1"):
        scaffold_split(MOLECULES, (0.8, 0.3, 0.1))
    with pytest.raises(ValueError, match="summing to 1"):
        scaffold_split(MOLECULES, (0.9, 0.1))
    with pytest.raises(ValueError, match="RDKit cannot read, e.g. 'C1CC\\('"):
        scaffold_split(["CCO", "C1CC(", "c1ccccc1"])
    with pytest.raises(ValueError, match="empty"):
        scaffold_split(["CCO", " "])
    assert scaffold_split([]) == {"train": [], "val": [], "test": []}


def _task(name: str, smiles: list[str], kind: str = "regression") -> Task:
    labels = np.arange(len(smiles)) % 2 if kind == "classification" else np.linspace(4, 9, len(smiles))
    return Task(name, list(smiles), labels, kind, source="test")


@pytest.fixture
def collection() -> TaskCollection:
    rng = np.random.default_rng(0)
    tasks = {f"t{i}": _task(f"t{i}", list(rng.choice(MOLECULES, 24, replace=False)),
                            "classification" if i % 2 else "regression") for i in range(6)}
    tasks["tiny"] = _task("tiny", SINGLETONS[:5])
    return TaskCollection("toy", tasks, train=["t0", "t1", "t2"], val=["t3"], test=["t4", "t5", "tiny"], source="x")


def test_molecule_disjoint_collection_keeps_test_scaffolds_out_of_training(collection):
    out, report = molecule_disjoint_collection(collection, fraction=0.3, seed=0, min_rows=4)
    assert out.name == "toy/scaffold_disjoint" and out.source == "x"
    train_side = {s for t in out.split("train") + out.split("val") for s in t.inputs}
    test_side = {s for t in out.split("test") for s in t.inputs}
    assert train_side and test_side and not _scaffolds(train_side) & _scaffolds(test_side)
    assert list(report.columns) == ["task", "part", "n_rows", "n_kept", "kept", "reason"]
    assert report["task"].tolist() == ["t0", "t1", "t2", "t3", "t4", "t5", "tiny"]
    for r in report.itertuples():
        assert r.n_rows == len(collection.tasks[r.task]) and r.n_kept <= r.n_rows
        if r.kept:
            task, old = out.tasks[r.task], collection.tasks[r.task]
            assert len(task) == r.n_kept and r.reason == ""
            # rows kept in their order, each with its own label
            assert [old.labels[old.inputs.index(s)] for s in task.inputs] == task.labels.tolist()
        else:
            assert r.task not in out.tasks and r.reason
    assert out.train + out.val + out.test == report.loc[report["kept"], "task"].tolist()
    again, again_report = molecule_disjoint_collection(collection, fraction=0.3, seed=0, min_rows=4)
    assert {n: t.inputs for n, t in again.tasks.items()} == {n: t.inputs for n, t in out.tasks.items()}
    assert again_report.equals(report)


def test_restrict_collection_drops_small_tasks_with_a_reason(collection):
    allowed = {"train": MOLECULES, "val": MOLECULES, "test": BENZENES}
    out, report = restrict_collection(collection, allowed, min_rows=3, min_per_class=2)
    rows = report.set_index("task")
    assert rows.loc["tiny", "n_kept"] == 0 and "only 0 of 5 rows kept, need 3" in rows.loc["tiny", "reason"]
    assert out.train == ["t0", "t1", "t2"] and out.tasks["t0"] is collection.tasks["t0"]  # whole tasks untouched
    assert "tiny" not in out.test
    # classification: too few of one class is a reason too
    one_class = TaskCollection("c", {"a": Task("a", BENZENES[:6], [1, 1, 1, 1, 0, 0], "classification")},
                               train=["a"])
    kept, rep = restrict_collection(one_class, {"train": BENZENES[:5]}, min_rows=3, min_per_class=2)
    assert kept.train == [] and rep.loc[0, "reason"] == "4 positives and 1 negatives kept, need 2 of each"
    with pytest.raises(ValueError, match="unknown split parts"):
        restrict_collection(collection, {"valid": MOLECULES})
    with pytest.raises(ValueError, match="in \\(0, 1\\)"):
        molecule_disjoint_collection(collection, fraction=1.0)


def test_assays_splits_imports_no_app_pipelines_or_api():
    import subprocess
    import sys

    code = ("import sys, assays.splits; bad = [m for m in sys.modules if m.split('.')[0] in "
            "('app', 'pipelines', 'deepchem') or m == 'sciml.api']; print(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr
