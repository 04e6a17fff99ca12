"""The new-assay pipeline pieces: the cached assignment, pooled meta-training collections, test collections."""

from __future__ import annotations

import json

import pytest

from assays.protocols.new_assay import SplitMismatchError, apply_split, build_split, split_from_record, verify
from pipelines import new_assay
from pipelines.new_assay import _read_assignment, _write_assignment, pooled_train_collection, split_key
from tests.assays.protocols.test_new_assay import GRID, MINS, collection_a, collection_b


@pytest.fixture(scope="module")
def built():
    colls = {"a": collection_a(), "b": collection_b()}
    return colls, build_split(colls, {"b": 0.3}, seed=0, grid=GRID, max_short_share=0.2, **MINS)


def test_a_saved_assignment_gives_back_the_same_split(built, tmp_path):
    colls, split = built
    record = json.loads(json.dumps(split.to_record()))
    path = tmp_path / "assignment.parquet"
    _write_assignment(path, split)
    assert not list(tmp_path.glob(".*tmp"))
    side, canonical = _read_assignment(path)
    again = split_from_record(record, side, canonical)
    verify(record, again)
    for name, coll in colls.items():
        a, b = apply_split(coll, split, name=name), apply_split(coll, again, name=name)
        assert a.train == b.train and a.test == b.test
        assert all(a.tasks[t].inputs == b.tasks[t].inputs for t in a.tasks)
    # an assignment of another split is refused
    flipped = {s: ("test" if v == "train" else "train") for s, v in side.items()}
    with pytest.raises(SplitMismatchError, match="digests"):
        split_from_record(record, flipped, canonical)
    assert split_key(record) == split_key({**record, "command": "x", "date": "y"})
    assert split_key(record) != split_key({**record, "parameters": {**record["parameters"], "seed": 1}})


def test_pooled_collections_hold_train_and_val_tasks_of_one_kind(built):
    colls, split = built
    restricted = {n: apply_split(c, split, name=n) for n, c in colls.items()}
    cls = pooled_train_collection(restricted, "classification")
    assert cls.test == [] and set(cls.train) == set(restricted["a"].train) and set(cls.val) == set(restricted["a"].val)
    assert {t.kind for t in cls.tasks.values()} == {"classification"} and cls.source == "a"
    reg = pooled_train_collection(restricted, "regression")
    assert set(reg.train) == set(restricted["b"].train) and reg.source == "b"
    # only train molecules
    for t in cls.tasks.values():
        assert all(split.side_of(s) == "train" for s in t.inputs)
    tc = new_assay.evaluation_collection(restricted, "a")
    assert tc.train == [] and tc.test == restricted["a"].test
    assert all(split.side_of(s) == "test" for t in tc.split("test") for s in t.inputs)
    with pytest.raises(ValueError, match="kind"):
        pooled_train_collection(restricted, "ranking")
    with pytest.raises(ValueError, match="no regression train task"):
        pooled_train_collection({"a": restricted["a"]}, "regression")
    with pytest.raises(ValueError, match="more than one collection"):
        pooled_train_collection({"a": restricted["a"], "a2": restricted["a"]}, "classification")
