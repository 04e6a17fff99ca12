"""Loaders of multitask tables, the few-shot MoleculeNet split and MoleculeACE."""

from __future__ import annotations

import gzip
import json
import logging
from pathlib import Path

import numpy as np
import pytest

from assays.sources.common import parse_input_column
from assays.sources.moleculeace import load_moleculeace
from assays.sources.moleculenet import FEWSHOT_DATASETS, load_fewshot_moleculenet, load_multitask_csv
from assays.task import carve_validation
from sciml.domains.molecules import REASON_EMPTY, REASON_UNPARSEABLE


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.name.endswith(".gz"):
        with gzip.open(path, "wt") as fh:
            fh.write(text)
    else:
        path.write_text(text)
    return path


# ---------------------------------------------------------------- parse_input_column


def test_parse_input_column_reasons_and_rows(caplog):
    column = ["CCO", "", None, float("nan"), "C1CC", "c1ccccc1", 5, "  "]
    with caplog.at_level(logging.INFO, logger="assays.sources.common"):
        valid, invalid = parse_input_column(column, "f.csv")
    assert valid.tolist() == [True, False, False, False, False, True, False, False]
    assert [(r.row, r.reason) for r in invalid] == [
        (1, REASON_EMPTY),
        (2, REASON_EMPTY),
        (3, REASON_EMPTY),
        (4, REASON_UNPARSEABLE),
        (6, REASON_EMPTY),
        (7, REASON_EMPTY),
    ]
    assert all(r.file == "f.csv" for r in invalid)
    assert invalid[3].input == "C1CC"
    summary = [r.getMessage() for r in caplog.records]
    assert len(summary) == 1 and "f.csv" in summary[0] and "6 of 8" in summary[0] and "1, 2, 3, 4, 6" in summary[0]


def test_parse_input_column_all_valid_logs_nothing_at_info(caplog):
    with caplog.at_level(logging.INFO, logger="assays.sources.common"):
        valid, invalid = parse_input_column(["C", "CC"], "ok.csv")
    assert valid.all() and invalid == [] and not caplog.records


def test_parse_input_column_with_another_domain(caplog):
    from tests.assays.tables.files import FormulaDomain

    with caplog.at_level(logging.INFO, logger="assays.sources.common"):
        valid, invalid = parse_input_column(["Fe2O3", "fe", None], "m.csv", domain=FormulaDomain())
    assert valid.tolist() == [True, False, False]
    assert [(r.row, r.input, r.reason) for r in invalid] == [(1, "fe", "not a formula"), (2, "", "empty formula")]
    assert "2 of 3 rows have an invalid formula" in caplog.records[0].getMessage()


# ---------------------------------------------------------------- load_multitask_csv

TABLE = (
    "smiles,active,value\n"
    "CCO,1,0.5\n"           # row 0
    "C1CC,0,1.5\n"          # row 1: unclosed ring -> invalid for all tasks
    "c1ccccc1,,2.5\n"       # row 2: 'active' not measured
    "CCN,1,3.5\n"           # row 3
    ",0,4.5\n"              # row 4: empty SMILES
    "CC(=O)O,0,\n"          # row 5: 'value' not measured
    "CCCl,0,6.5\n"          # row 6
)


def test_multitask_labels_stay_aligned_with_molecules(tmp_path):
    tasks, invalid = load_multitask_csv(write(tmp_path / "assay.csv", TABLE))
    assert [(r.row, r.reason) for r in invalid] == [(1, REASON_UNPARSEABLE), (4, REASON_EMPTY)]
    assert list(tasks) == ["assay/active", "assay/value"]

    act = tasks["assay/active"]
    assert act.kind == "classification"
    assert act.inputs == ["CCO", "CCN", "CC(=O)O", "CCCl"]
    assert act.labels.tolist() == [1, 1, 0, 0]

    val = tasks["assay/value"]
    assert val.kind == "regression"
    # value = row + 0.5, so each label names the row it came from
    assert dict(zip(val.inputs, val.labels)) == {"CCO": 0.5, "c1ccccc1": 2.5, "CCN": 3.5, "CCCl": 6.5}
    assert val.meta == {"column": "value", "column_index": 1}
    assert val.source == "assay.csv"


def test_multitask_reads_gzip_and_names_from_stem(tmp_path):
    tasks, invalid = load_multitask_csv(write(tmp_path / "tox.csv.gz", TABLE))
    assert set(tasks) == {"tox/active", "tox/value"} and len(invalid) == 2
    tasks, _ = load_multitask_csv(tmp_path / "tox.csv.gz", name="other")
    assert set(tasks) == {"other/active", "other/value"}


def test_multitask_smiles_col_not_first(tmp_path):
    path = write(tmp_path / "t.csv", "y1,mol,y2\n1,CCO,0\n0,CCN,1\n1,NA,1\n")
    tasks, invalid = load_multitask_csv(path, smiles_col="mol")
    assert list(tasks) == ["t/y1", "t/y2"]
    assert tasks["t/y2"].inputs == ["CCO", "CCN"] and tasks["t/y2"].labels.tolist() == [0, 1]
    assert [r.row for r in invalid] == [2] and invalid[0].input == "NA"
    with pytest.raises(ValueError, match="no column 'nope'"):
        load_multitask_csv(path, smiles_col="nope")


def test_multitask_kind_detection_and_forcing(tmp_path):
    path = write(tmp_path / "k.csv", "smiles,bin,float_bin,reg,zeros\nCCO,1,1.0,0.3,0\nCCN,0,0.0,2,0\n")
    tasks, _ = load_multitask_csv(path)
    kinds = {n.split("/")[1]: t.kind for n, t in tasks.items()}
    assert kinds == {"bin": "classification", "float_bin": "classification", "reg": "regression", "zeros": "classification"}
    tasks, _ = load_multitask_csv(path, kind="regression")
    assert {t.kind for t in tasks.values()} == {"regression"}
    with pytest.raises(ValueError, match="'reg' is not 0/1"):
        load_multitask_csv(path, kind="classification")


def test_multitask_non_numeric_label_is_an_error(tmp_path):
    path = write(tmp_path / "bad.csv", "smiles,a\nCCO,1\nCCN,active\n")
    with pytest.raises(ValueError, match=r"row 1: 'active'"):
        load_multitask_csv(path)


def test_multitask_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.csv"):
        load_multitask_csv(tmp_path / "nope.csv")


# ---------------------------------------------------------------- few-shot MoleculeNet (fake data dir)


def make_fewshot_dir(tmp_path: Path) -> Path:
    root = tmp_path / "data"
    header = "smiles,t0,t1,t2,t3,sparse,t5\n"
    rows = ["CCO,1,0,1,0,,1", "CCN,0,1,0,1,1,0", "xyz,1,1,1,1,1,1", "CCC,1,0,,1,,0", "c1ccccc1,0,1,1,0,,1"]
    write(root / "molecules/moleculenet/tox21.csv.gz", header + "\n".join(rows) + "\n")
    spec = {
        "tox21": {
            "file": "moleculenet/tox21.csv.gz",
            "n_tasks": 6,
            "train_tasks": [0, 1, 2, 3],
            "test_tasks": [5],
            "train_task_names": ["t0", "t1", "t2", "t3"],
            "test_task_names": ["t5"],
        }
    }
    write(root / "molecules/fewshot_moleculenet_splits.json", json.dumps(spec))
    return root


def test_fewshot_split_from_json(tmp_path):
    root = make_fewshot_dir(tmp_path)
    coll = load_fewshot_moleculenet("tox21", root)
    train_all = ["tox21/t0", "tox21/t1", "tox21/t2", "tox21/t3"]
    assert (coll.train, coll.val) == carve_validation(train_all, fraction=0.2, seed=0)
    assert sorted(coll.train + coll.val) == train_all
    assert coll.test == ["tox21/t5"]
    assert "tox21/sparse" not in coll.tasks and len(coll.tasks) == 5
    assert [r.row for r in coll.invalid] == [2]
    assert coll.tasks["tox21/t2"].inputs == ["CCO", "CCN", "c1ccccc1"]
    assert coll.tasks["tox21/t2"].labels.tolist() == [1, 0, 1]
    assert all(t.kind == "classification" for t in coll.tasks.values())
    # another validation seed gives another (still disjoint) carve-out; the molecules folder itself is accepted
    other = load_fewshot_moleculenet("TOX21", root / "molecules", val_seed=3, val_fraction=0.5)
    assert sorted(other.train + other.val) == train_all and len(other.val) == 2


def test_fewshot_column_names_must_match_split_file(tmp_path):
    root = make_fewshot_dir(tmp_path)
    spec_path = root / "molecules/fewshot_moleculenet_splits.json"
    spec = json.loads(spec_path.read_text())
    spec["tox21"]["test_task_names"] = ["t4"]
    spec_path.write_text(json.dumps(spec))
    with pytest.raises(ValueError, match="do not match"):
        load_fewshot_moleculenet("tox21", root)


def test_fewshot_unknown_dataset_lists_valid_ones(tmp_path):
    with pytest.raises(ValueError) as err:
        load_fewshot_moleculenet("bace", tmp_path)
    assert all(d in str(err.value) for d in FEWSHOT_DATASETS)


def test_fewshot_missing_table_and_data_dir(tmp_path):
    root = make_fewshot_dir(tmp_path)
    (root / "molecules/moleculenet/tox21.csv.gz").unlink()
    with pytest.raises(FileNotFoundError) as err:
        load_fewshot_moleculenet("tox21", root)
    assert "tox21.csv.gz" in str(err.value) and "SCIML_DATA_DIR" in str(err.value) and "--data-dir" in str(err.value)
    with pytest.raises(FileNotFoundError, match="SCIML_DATA_DIR"):
        load_fewshot_moleculenet("tox21", tmp_path / "does-not-exist")


# ---------------------------------------------------------------- MoleculeACE (fake data dir)


def test_moleculeace_labels_units_and_split(tmp_path):
    root = tmp_path / "data"
    header = "smiles,exp_mean [nM],y,cliff_mol,split\n"
    write(root / "molecules/moleculeace/CHEMBL1_Ki.csv.gz", header + "CCO,10.0,-1.0,0,train\nC1CC,1.0,0.0,0,test\nCCN,1000.0,-3.0,1,test\n")
    write(root / "molecules/moleculeace/CHEMBL2_EC50.csv.gz", header + "CCCl,100.0,-2.0,0,train\nCCBr,1.0,0.0,0,train\n")
    write(root / "molecules/moleculeace/CHEMBL3_Ki.csv.gz", header + "CC,1.0,0.0,0,train\nCCC,1.0,,0,train\n")
    spec = {"train_targets": ["CHEMBL1_Ki"], "val_targets": ["CHEMBL3_Ki"], "test_targets": ["CHEMBL2_EC50"]}
    write(root / "molecules/moleculeace_splits.json", json.dumps(spec))

    coll = load_moleculeace(root)
    assert (coll.train, coll.val, coll.test) == (["CHEMBL1_Ki"], ["CHEMBL3_Ki"], ["CHEMBL2_EC50"])
    ki = coll.tasks["CHEMBL1_Ki"]
    assert ki.kind == "regression" and ki.meta == {"unit": "pKi"}
    assert ki.inputs == ["CCO", "CCN"]
    np.testing.assert_allclose(ki.labels, [8.0, 6.0])  # 10 nM -> pKi 8, 1 uM -> 6
    assert coll.tasks["CHEMBL2_EC50"].meta == {"unit": "pEC50"}
    assert coll.tasks["CHEMBL3_Ki"].inputs == ["CC"]
    assert [(r.file, r.row) for r in coll.invalid] == [("CHEMBL1_Ki.csv.gz", 1), ("CHEMBL3_Ki.csv.gz", 1)]

    (root / "molecules/moleculeace/CHEMBL3_Ki.csv.gz").unlink()
    with pytest.raises(FileNotFoundError, match="CHEMBL3_Ki"):
        load_moleculeace(root)


# ---------------------------------------------------------------- real data


def _check_disjoint(coll):
    test = set(coll.test)
    assert not test & set(coll.train) and not test & set(coll.val) and not set(coll.train) & set(coll.val)
    train_smiles = {s for t in coll.split("train") for s in t.inputs}
    assert train_smiles  # sanity


@pytest.mark.shared_data
def test_real_tox21_and_sider_splits(shared_data_dir):
    tox21 = load_fewshot_moleculenet("tox21", shared_data_dir)
    assert len(tox21.train) + len(tox21.val) == 9 and len(tox21.test) == 3 and len(tox21.val) >= 2
    assert sorted(tox21.test) == ["tox21/SR-HSE", "tox21/SR-MMP", "tox21/SR-p53"]
    _check_disjoint(tox21)
    # the file has a few SMILES RDKit rejects; they are reported and dropped, not fatal
    assert all(r.file == "tox21.csv.gz" and 0 <= r.row < 7831 for r in tox21.invalid)
    bad = {r.input for r in tox21.invalid}
    assert not bad & set(tox21.all_inputs)
    for task in tox21.tasks.values():
        assert task.kind == "classification" and task.n_positive > 100 and task.n_negative > 1000

    sider = load_fewshot_moleculenet("sider", shared_data_dir)
    assert len(sider.train) + len(sider.val) == 21 and len(sider.test) == 6
    _check_disjoint(sider)


@pytest.mark.shared_data
def test_real_moleculeace_split(shared_data_dir):
    coll = load_moleculeace(shared_data_dir)
    assert (len(coll.train), len(coll.val), len(coll.test)) == (17, 4, 9)
    assert len(coll.tasks) == 30
    _check_disjoint(coll)
    assert "CHEMBL237_Ki" in coll.test and "CHEMBL237_EC50" in coll.test
    for name, task in coll.tasks.items():
        assert task.kind == "regression" and len(task) >= 600
        assert task.meta["unit"] == ("pKi" if name.endswith("_Ki") else "pEC50")
        assert 2 < task.labels.min() and task.labels.max() < 12  # pKi / pEC50 range, not -log10(nM)
