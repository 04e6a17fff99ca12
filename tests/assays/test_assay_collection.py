"""A lab's own assays as a task collection: long tables, folders, Excel, split files, kinds, bad rows, determinism."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from rdkit import Chem

from assays.sources.assay_collection import REPORT_COLUMNS, load_assay_collection, split_assays
from assays.sources.tables import UserTableError
from tests.assays.tables.files import FormulaDomain, xlsx

CORES = ["c1ccccc1", "C1CCCCC1", "c1ccncc1", "C1CCOC1"]
SUBSTITUENTS = ["C", "O", "N", "Cl", "F", "Br", "OC(=O)", "NC(=O)", "N#CC", "CCO"]
MOLECULES = [Chem.MolToSmiles(Chem.MolFromSmiles(s + c)) for c in CORES for s in SUBSTITUENTS]  # 40 distinct


def _rows(assay: str, n: int, *, kind: str, offset: int = 0, unit: str = "", assay_type: str = "") -> list[dict]:
    """``n`` measurements of ``assay``: 0/1 alternating (classification), text labels, or pIC50-like numbers."""
    out = []
    for i in range(n):
        smi = MOLECULES[(offset + i) % len(MOLECULES)]
        value = {"classification": i % 2, "labels": ["active", "inactive"][i % 2], "regression": 5 + 0.25 * i}[kind]
        out.append({"assay_id": assay, "smiles": smi, "value": value, "unit": unit, "assay_type": assay_type})
    return out


def long_table() -> pd.DataFrame:
    """Six assays: three classification, two regression (nM), one too small."""
    rows = (_rows("kinase-A", 16, kind="classification") + _rows("kinase-B", 14, kind="labels", offset=3)
            + _rows("kinase-C", 12, kind="classification", offset=7) + _rows("herg", 20, kind="regression", unit="nM")
            + _rows("solubility", 18, kind="regression", offset=11, unit="nM") + _rows("tiny", 4, kind="regression"))
    return pd.DataFrame(rows)


def write_csv(df: pd.DataFrame, path):
    df.to_csv(path, index=False)
    return path


def test_long_table_kinds_report_split_and_meta(tmp_path):
    coll, report = load_assay_collection(write_csv(long_table(), tmp_path / "my_assays.csv"))
    assert list(report.columns) == REPORT_COLUMNS
    assert report["assay"].tolist() == ["herg", "kinase-A", "kinase-B", "kinase-C", "solubility", "tiny"]
    by = report.set_index("assay")
    assert by.loc["tiny", "status"] == "skipped" and by.loc["tiny", "why"] == "too few rows: 4 usable, need 10"
    assert (by.drop(index="tiny")["status"] == "ok").all()
    assert by["kind"].to_dict() == {"herg": "regression", "kinase-A": "classification", "kinase-B": "classification",
                                    "kinase-C": "classification", "solubility": "regression", "tiny": "regression"}
    assert by.loc["kinase-A", "n_rows"] == by.loc["kinase-A", "n_used"] == 16 and by.loc["kinase-A", "n_dropped"] == 0

    assert coll.name == "my_assays" and sorted(coll.tasks) == ["herg", "kinase-A", "kinase-B", "kinase-C", "solubility"]
    # split per kind: 3 classification -> 1/1/1, 2 regression -> 1 train, 1 val
    parts = {p: set(getattr(coll, p)) for p in ("train", "val", "test")}
    assert sum(map(len, parts.values())) == 5 and len(parts["test"]) == 1
    assert {coll.tasks[n].kind for n in parts["test"]} == {"classification"}
    assert by.loc[sorted(coll.tasks), "part"].tolist() == [
        next(p for p, names in parts.items() if n in names) for n in sorted(coll.tasks)]
    assert by.loc["tiny", "part"] == ""

    herg, kb = coll.tasks["herg"], coll.tasks["kinase-B"]
    assert herg.domain == "molecules" and herg.meta["unit"] == "nM" and herg.meta["assay_type"] is None
    assert herg.source == "my_assays.csv" and len(herg) == 20
    assert kb.meta["label_map"] == {"active": 1, "inactive": 0} and kb.n_positive == 7


def test_bad_rows_are_counted_and_valid_rows_still_go_through(tmp_path):
    df = long_table()
    df.loc[0, "smiles"] = "not_a_smiles"          # kinase-A: invalid structure
    df.loc[1, "value"] = ""                        # kinase-A: missing value
    df.loc[2, "value"] = "n.d."                    # kinase-A: non-numeric among 0/1
    extra = pd.DataFrame([{"assay_id": "herg", "smiles": df.loc[30, "smiles"], "value": 99.0, "unit": "nM"},
                          {"assay_id": "", "smiles": "CCO", "value": 1.0}])
    df = pd.concat([df, extra], ignore_index=True)  # herg: a conflicting duplicate; a row without an assay id
    coll, report = load_assay_collection(write_csv(df, tmp_path / "bad.csv"))
    by = report.set_index("assay")
    a = by.loc["kinase-A"]
    assert (a["n_rows"], a["n_used"], a["n_dropped"]) == (16, 13, 3) and a["status"] == "ok"
    assert (a["invalid structure"], a["missing value"], a["non-numeric value"]) == (1, 1, 1)
    assert by.loc["herg", "duplicate (conflicting values)"] == 2 and by.loc["herg", "n_used"] == 19
    assert by.loc["", "why"] == "rows with an empty assay id" and by.loc["", "n_rows"] == 1
    assert len(coll.tasks["kinase-A"]) == 13
    bad = {(r.row, r.reason.split(":")[1].strip()) for r in coll.invalid if r.reason.startswith("assay kinase-A")}
    assert bad == {(0, "invalid structure"), (1, "missing value"), (2, "non-numeric value")}
    assert all(r.file == "bad.csv" for r in coll.invalid)
    conflict = [r for r in coll.invalid if r.reason.startswith("assay herg") and r.row == 49]
    assert len(conflict) == 1 and "row 84" in conflict[0].reason  # rows of the file, not of the assay


def test_too_small_one_class_mixed_units_and_assay_type_override(tmp_path):
    rows = (_rows("all-active", 12, kind="classification") + _rows("as-regression", 12, kind="classification",
                                                                    assay_type="Regression")
            + _rows("binary", 12, kind="labels", assay_type="binary") + _rows("not-binary", 12, kind="regression",
                                                                              assay_type="classification")
            + _rows("units", 12, kind="regression", unit="nM") + _rows("odd-type", 12, kind="regression", assay_type="dose"))
    df = pd.DataFrame(rows)
    df.loc[df.assay_id == "all-active", "value"] = 1
    df.loc[df.index[df.assay_id == "units"][:3], "unit"] = "uM"
    _, report = load_assay_collection(write_csv(df, tmp_path / "kinds.csv"), min_rows=5)
    by = report.set_index("assay")
    assert by.loc["all-active", "why"] == "one class only: all 12 usable rows are active (1)"
    assert by.loc["as-regression", ["kind", "status"]].tolist() == ["regression", "ok"]
    assert by.loc["binary", ["kind", "status"]].tolist() == ["classification", "ok"]
    assert by.loc["not-binary", "status"] == "skipped" and "needs values 0 or 1" in by.loc["not-binary", "why"]
    assert by.loc["units", "why"] == "mixed units (nM, uM): convert the values to one unit"
    assert by.loc["odd-type", "why"].startswith("unknown assay type 'dose'")


def test_folder_of_one_table_per_assay_csv_tsv_excel(tmp_path):
    folder = tmp_path / "assays"
    folder.mkdir()
    df = long_table()
    for name, part in df.groupby("assay_id"):
        part = part.drop(columns=["assay_id", "assay_type"]).rename(columns={"smiles": "SMILES", "value": "pIC50"})
        if name == "herg":
            (folder / "herg.xlsx").write_bytes(xlsx([list(part.columns)] + part.values.tolist()))
        elif name == "kinase-B":
            part.to_csv(folder / "kinase-B.tsv.gz", sep="\t", index=False)
        else:
            write_csv(part, folder / f"{name}.csv")
    (folder / "README.md").write_text("not an assay")
    (folder / "broken.csv").write_text("id,note\n1,x\n")
    coll, report = load_assay_collection(folder)
    by = report.set_index("assay")
    assert sorted(by.index) == ["broken", "herg", "kinase-A", "kinase-B", "kinase-C", "solubility", "tiny"]
    assert by.loc["broken", "status"] == "skipped" and "could not find a SMILES column" in by.loc["broken", "why"]
    assert "'id', 'note'" in by.loc["broken", "why"]
    assert by.loc["herg", "source"] == "herg.xlsx" and coll.tasks["herg"].meta["unit"] == "nM"
    assert coll.tasks["kinase-B"].kind == "classification" and len(coll.tasks["kinase-B"]) == 14
    assert coll.name == "assays" and set(coll.train + coll.val + coll.test) == set(coll.tasks)

    write_csv(df.head(3), folder / "herg.csv")
    with pytest.raises(UserTableError, match=r"several files name the same assay \(herg: herg.csv, herg.xlsx\)"):
        load_assay_collection(folder)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(UserTableError, match="no assay tables in this folder"):
        load_assay_collection(empty)


def test_excel_long_table_and_explicit_columns(tmp_path):
    df = long_table().rename(columns={"assay_id": "Protocol", "smiles": "Structure SMILES", "value": "Result"})
    path = tmp_path / "plates.xlsx"
    path.write_bytes(xlsx([list(df.columns)] + df.values.tolist()))
    with pytest.raises(UserTableError, match=r"plates.xlsx: could not find the assay column.*'Protocol'"):
        load_assay_collection(path)
    coll, report = load_assay_collection(path, assay_col="protocol", value_col="Result")
    assert sorted(coll.tasks) == ["herg", "kinase-A", "kinase-B", "kinase-C", "solubility"]
    assert coll.tasks["herg"].meta["smiles_col"] == "Structure SMILES"
    with pytest.raises(UserTableError, match=r"no value column 'pKi'.*'Protocol', 'Structure SMILES', 'Result'"):
        load_assay_collection(path, assay_col="Protocol", value_col="pKi")
    with pytest.raises(FileNotFoundError, match="absent.csv"):
        load_assay_collection(tmp_path / "absent.csv")


def test_split_file(tmp_path):
    table = write_csv(long_table(), tmp_path / "t.csv")
    split = tmp_path / "split.json"
    split.write_text(json.dumps({"train": ["kinase-A", "kinase-B"], "val": ["kinase-C"], "test": ["tiny"]}))
    coll, report = load_assay_collection(table, split=split)
    assert (coll.train, coll.val, coll.test) == (["kinase-A", "kinase-B"], ["kinase-C"], [])
    by = report.set_index("assay")
    assert by.loc["herg", ["status", "why", "part"]].tolist() == ["skipped", "not listed in split.json", ""]
    assert by.loc["tiny", "why"].startswith("too few rows") and "herg" not in coll.tasks

    split.write_text(json.dumps({"train": ["kinase-A", "kinase-Z", "hERG"]}))
    with pytest.raises(UserTableError, match=r"split.json names assays that t.csv does not hold: 'kinase-Z', 'hERG'"):
        load_assay_collection(table, split=split)
    split.write_text(json.dumps({"train": ["herg"], "test": ["herg"]}))
    with pytest.raises(UserTableError, match=r"assay 'herg' is listed in both 'train' and 'test'"):
        load_assay_collection(table, split=split)
    split.write_text("{train: [")
    with pytest.raises(UserTableError, match="split.json is not valid JSON"):
        load_assay_collection(table, split=split)
    with pytest.raises(UserTableError, match=r'expected a JSON object with a "train" list'):
        load_assay_collection(table, split={"training": ["herg"]})


def test_split_is_deterministic_under_row_and_file_reordering(tmp_path):
    df = long_table()
    a, rep_a = load_assay_collection(write_csv(df, tmp_path / "a.csv"), seed=3)
    shuffled = df.sample(frac=1.0, random_state=7)
    b, rep_b = load_assay_collection(write_csv(shuffled, tmp_path / "b.csv"), seed=3)
    assert (a.train, a.val, a.test) == (b.train, b.val, b.test)
    pd.testing.assert_frame_equal(rep_a.drop(columns="source"), rep_b.drop(columns="source"))
    for name, task in a.tasks.items():
        assert task.inputs == b.tasks[name].inputs and np.array_equal(task.labels, b.tasks[name].labels)

    folders = []
    for k, order in enumerate((sorted(df.assay_id.unique()), sorted(df.assay_id.unique(), reverse=True))):
        folder = tmp_path / f"f{k}"
        folder.mkdir()
        for name in order:
            write_csv(shuffled[shuffled.assay_id == name].drop(columns="assay_id"), folder / f"{name}.csv")
        folders.append(load_assay_collection(folder, seed=3)[0])
    assert (folders[0].train, folders[0].val, folders[0].test) == (folders[1].train, folders[1].val, folders[1].test)
    assert (folders[0].train, folders[0].val, folders[0].test) == (a.train, a.val, a.test)


def test_split_assays_sizes_and_seed():
    names = [f"assay-{i}" for i in range(20)]
    parts = split_assays(names, seed=0)
    assert [len(parts[p]) for p in ("train", "val", "test")] == [14, 3, 3]
    assert parts == split_assays(list(reversed(names)), seed=0)
    assert parts != split_assays(names, seed=1)
    assert [len(split_assays(names[:k])[p]) for k in (1, 2, 3) for p in ("train", "val", "test")] == [1, 0, 0, 1, 1, 0,
                                                                                                       1, 1, 1]
    with pytest.raises(ValueError, match="below 1"):
        split_assays(names, val_fraction=0.5, test_fraction=0.5)


def test_another_domain(tmp_path):
    formulas = ["Fe2O3", "NaCl", "SiO2", "TiO2", "ZnO", "GaAs", "MgO", "Al2O3", "CuO", "LiF", "KCl", "CaO"]
    rows = [{"assay": "gap", "formula": f, "value": 1 + i} for i, f in enumerate(formulas)]
    rows += [{"assay": "stable", "formula": f, "value": i % 2} for i, f in enumerate(formulas)]
    rows += [{"assay": "stable", "formula": "fe2o3", "value": 1}]
    coll, report = load_assay_collection(write_csv(pd.DataFrame(rows), tmp_path / "materials.csv"),
                                         domain=FormulaDomain())
    assert {t.domain for t in coll.tasks.values()} == {"formulas-test"}
    assert report.set_index("assay").loc["stable", "invalid structure"] == 1
    assert coll.tasks["gap"].kind == "regression" and coll.tasks["stable"].kind == "classification"


def test_readme_example_table(tmp_path):
    """The README's worked example: scripts/example_assay_table.py and the report it shows."""
    import re
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    out = tmp_path / "my_assays.csv"
    subprocess.run([sys.executable, str(root / "scripts" / "example_assay_table.py"), str(out)], check=True,
                   capture_output=True)
    coll, report = load_assay_collection(out, seed=0)
    readme = (root / "README.md").read_text()
    assert f"# {coll.summary()}" in readme
    shown = re.search(r"assay +kind +n_rows.*?\n```", readme, re.S).group(0)
    for r in report.itertuples():
        assert re.search(rf"{r.assay} +{r.kind} +{r.n_rows} +{r.n_used} +{r.n_dropped} +{r.status}", shown), r.assay
