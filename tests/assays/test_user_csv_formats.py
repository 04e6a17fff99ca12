"""User tables from uploads: Excel / SDF / bytes, encodings, size limit, duplicates, task kind."""

from __future__ import annotations

import gzip
import io
import math

import numpy as np
import openpyxl
import pandas as pd
import pytest
from rdkit import Chem

from assays.sources.user_csv import (
    MAX_UPLOAD_MB,
    RECORD_ERROR_COLUMN,
    STATUSES,
    UserTableError,
    decide_task_kind,
    find_smiles_column,
    load_user_table,
    read_table,
    status_counts,
)


def _xlsx(rows: list[list], sheet_title: str | None = None) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    if sheet_title:
        ws.title = sheet_title
    for r in rows:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _sdf(records: list[tuple[str, dict]]) -> str:
    """SDF text of (SMILES, properties) records; titles are 'm<i>'."""
    buf = io.StringIO()
    writer = Chem.SDWriter(buf)
    for i, (smiles, props) in enumerate(records):
        mol = Chem.MolFromSmiles(smiles)
        mol.SetProp("_Name", f"m{i}")
        for k, v in props.items():
            mol.SetProp(k, str(v))
        writer.write(mol)
    writer.close()
    return buf.getvalue()


BROKEN_RECORD = "broken\n  test\n\n  2  1  0  0  0  0  0  0  0  0999 V2000\nthis is not an atom line\n$$$$\n"


# ----------------------------------------------------------------------------- sources


def test_bytes_with_filename_and_upload_like_objects():
    data = b"smiles\tpKi\nCCO\t5\nCCN\t6\n"
    task, _ = load_user_table(data, filename="assay.tsv")
    assert task.labels.tolist() == [5, 6] and task.source == "assay.tsv"

    upload = io.BytesIO(b"SMILES,y\nCCO,3\nCCN,4\n")
    upload.name = "upload.csv"
    upload.read()  # cursor at the end, as after a first look at an upload
    task, _ = load_user_table(upload)
    assert task.labels.tolist() == [3, 4] and task.source == "upload.csv"
    assert read_table(bytearray(b"smiles,y\nCCO,1\n"), filename="x.csv").shape == (1, 2)


def test_excel_from_path_and_bytes(tmp_path):
    data = _xlsx([["Compound", "SMILES", "pEC50"], ["a", "CCO", 5.5], [None, None, None], ["b", "CCN", 7], ["c", "CCC", "n.d."]])
    path = tmp_path / "plate.xlsx"
    path.write_bytes(data)
    for source, kw in ((path, {}), (data, {"filename": "plate.xlsx"}), (data, {})):  # last: sniffed from content
        task, report = load_user_table(source, **kw)
        assert report.status.tolist() == ["ok", "ok", "non-numeric value"]  # fully blank sheet row skipped
        assert task.inputs == ["CCO", "CCN"] and task.labels.tolist() == [5.5, 7.0]
        assert task.meta["value_col"] == "pEC50"
    df = read_table(data, filename="plate.xlsx")
    assert df.columns.tolist() == ["Compound", "SMILES", "pEC50"] and df["pEC50"].tolist() == ["5.5", "7", "n.d."]


def test_excel_sheet_choice_and_bad_workbooks():
    data = _xlsx([["smiles", "y"], ["CCO", 1.5]], sheet_title="Results")
    assert read_table(data, filename="r.xlsx", sheet="Results").shape == (1, 2)
    with pytest.raises(UserTableError, match="could not read sheet 'Other'"):
        read_table(data, filename="r.xlsx", sheet="Other")
    with pytest.raises(UserTableError, match="not a readable Excel"):
        read_table(b"PK\x03\x04garbage" * 10, filename="r.xlsx")
    with pytest.raises(UserTableError, match="not an .xlsx file"):
        read_table(b"smiles,y\nCCO,1\n", filename="renamed.xlsx")
    with pytest.raises(UserTableError, match=r"old-style Excel \.xls"):
        read_table(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, filename="old.xls")
    with pytest.raises(UserTableError, match="empty"):
        read_table(_xlsx([]), filename="blank.xlsx")
    with pytest.raises(UserTableError, match="no data rows"):
        load_user_table(_xlsx([["smiles", "y"]]), filename="header.xlsx")


# ----------------------------------------------------------------------------- SDF


def test_sdf_structures_properties_unreadable_records_and_missing_property(tmp_path):
    text = _sdf([("OCC", {"pKi": "6.5", "SMILES": "given"}), ("c1ccccc1N", {"note": "no value"})]) + BROKEN_RECORD
    text += _sdf([("CCCl", {"pKi": "7.25"})])
    path = tmp_path / "set.sdf"
    path.write_text(text)
    df = read_table(path)
    assert df.columns.tolist() == ["smiles", "name", "pKi", "SMILES (property)", "note", RECORD_ERROR_COLUMN]
    assert df["smiles"].tolist() == ["CCO", "Nc1ccccc1", "", "CCCl"]  # written by RDKit from the structures
    assert df["name"].tolist() == ["m0", "m1", "broken", "m0"]
    assert df["pKi"].tolist() == ["6.5", "", "", "7.25"]
    assert df[RECORD_ERROR_COLUMN].tolist()[2] == "SDF record 3: RDKit could not read its structure"

    task, report = load_user_table(path, value_col="pKi")
    assert report.status.tolist() == ["ok", "missing value", "invalid structure", "ok"]
    assert "SDF record 3" in report.error[2] and report.error[1] == "no value"
    assert task.inputs == ["CCO", "CCCl"] and task.labels.tolist() == [6.5, 7.25]
    assert load_user_table(path)[0].meta["value_col"] == "pKi"  # the only numeric property


def test_sdf_gzipped_bytes_and_sniffed_without_extension():
    text = _sdf([("CCO", {"IC50_class": "active"}), ("CCN", {"IC50_class": "inactive"})])
    task, _ = load_user_table(gzip.compress(text.encode()), filename="upload.sdf.gz")
    assert task.kind == "classification" and task.labels.tolist() == [1, 0]
    assert read_table(text.encode(), filename="upload")["smiles"].tolist() == ["CCO", "CCN"]
    with pytest.raises(UserTableError, match="empty"):
        read_table(b"\n\n", filename="empty.sdf")
    with pytest.raises(UserTableError, match="no SDF records"):
        read_table(b"$$$$\n$$$$\n", filename="seps.sdf")


# ----------------------------------------------------------------------------- bytes problems


def test_empty_inputs():
    for data in (b"", b"  \n\n", b""):
        with pytest.raises(UserTableError, match="empty"):
            load_user_table(data, filename="e.csv")
    with pytest.raises(UserTableError, match="empty"):
        load_user_table(io.BytesIO(b""))


def test_encodings_latin1_bom_utf16_and_binary():
    latin = "smiles;Bemerkung;Aktivität\nCCO;café;5,0\nCCN;été;6\n".encode("latin-1")
    df = read_table(latin, filename="de.txt")
    assert df.columns.tolist() == ["smiles", "Bemerkung", "Aktivität"] and df["Bemerkung"].tolist() == ["café", "été"]

    bom = "\ufeffSMILES,y\nCCO,1.5\n".encode("utf-8")
    assert read_table(bom, filename="b.csv").columns.tolist() == ["SMILES", "y"]
    utf16 = "smiles\ty\nCCO\t2.5\n".encode("utf-16")  # Excel's "Unicode text" export
    task, _ = load_user_table(utf16, filename="u.txt")
    assert task.labels.tolist() == [2.5]

    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256))
    with pytest.raises(UserTableError, match=r"could not decode the file as text with the utf-8, utf-8-sig or latin-1"):
        load_user_table(png, filename="plot.csv")


def test_size_limit(tmp_path):
    assert MAX_UPLOAD_MB == 20
    big = b"smiles,y\n" + b"CCO,1\n" * (20 * 2**20 // 6 + 10)
    with pytest.raises(UserTableError, match=r"too large: 20\.0 MB, the limit is 20 MB"):
        read_table(big, filename="big.csv")
    path = tmp_path / "small.csv"
    path.write_bytes(b"smiles,y\n" + b"CCO,1\n" * 400)
    with pytest.raises(UserTableError, match="the limit is 0.001 MB"):
        read_table(path, max_mb=0.001)
    bomb = gzip.compress(b"smiles,y\n" + b"CCO,1\n" * 2000)
    with pytest.raises(UserTableError, match="too large once decompressed"):
        read_table(bomb, filename="b.csv.gz", max_mb=0.005)
    with pytest.raises(UserTableError, match="could not be decompressed"):
        read_table(b"\x1f\x8b\x08\x00broken", filename="b.csv.gz")


# ----------------------------------------------------------------------------- columns


def test_wrong_column_choices_list_the_columns():
    data = b"ID,SMILES,pKi\n1,CCO,5\n2,CCN,6\n"
    with pytest.raises(UserTableError, match=r"no value column 'Ki'.*'ID', 'SMILES', 'pKi'"):
        load_user_table(data, filename="t.csv", value_col="Ki")
    with pytest.raises(UserTableError, match=r"no SMILES column 'smi'.*'ID', 'SMILES', 'pKi'"):
        load_user_table(data, filename="t.csv", smiles_col="smi")
    with pytest.raises(UserTableError, match="same column"):
        load_user_table(data, filename="t.csv", value_col="SMILES")
    task, _ = load_user_table(data, filename="t.csv")  # the numeric ID column is not taken as the value column
    assert task.meta["value_col"] == "pKi"


def test_smiles_column_found_by_content_or_reported_missing():
    df = pd.DataFrame({"id": ["a", "b", "c"], "Struct": ["CCO", "c1ccccc1", "CC(=O)O"], "y": ["1", "2", "3"]})
    assert find_smiles_column(df) == "Struct"
    two = df.assign(Product=["CCN", "CCCl", "OCCO"])
    with pytest.raises(UserTableError, match=r"several columns hold SMILES: 'Struct', 'Product'"):
        find_smiles_column(two, "r.csv")
    with pytest.raises(UserTableError, match=r"could not find a SMILES column.*'id', 'y'"):
        load_user_table(df[["id", "y"]])


# ----------------------------------------------------------------------------- statuses


def test_duplicates_merged_and_conflicting_by_canonical_smiles():
    df = pd.DataFrame(
        {
            "smiles": ["CCO", "OCC", "c1ccccc1", "C1=CC=CC=C1", "CCN", "NCC", "NCC", "CCCl"],
            "pKi": [5.0, 5.0, 6.0, 6.5, 7.0, 7.0, 7.0, 8.0],
        }
    )
    task, report = load_user_table(df)
    assert report.status.tolist() == [
        "ok",
        "duplicate (merged)",
        "duplicate (conflicting values)",
        "duplicate (conflicting values)",
        "ok",
        "duplicate (merged)",
        "duplicate (merged)",
        "ok",
    ]
    assert "row 0" in report.error[1] and "row 4" in report.error[6]
    assert "row 3" in report.error[2] and "row 2" in report.error[3] and "6.5" in report.error[2]
    assert np.isnan(report.value[[1, 2, 3, 5, 6]]).all()
    assert task.inputs == ["CCO", "CCN", "CCCl"] and task.labels.tolist() == [5.0, 7.0, 8.0]
    assert status_counts(report) == {"ok": 3, "duplicate (conflicting values)": 2, "duplicate (merged)": 3}
    assert set(status_counts(report)) <= set(STATUSES)

    task, report = load_user_table(df, conflicts="mean")
    assert report.status.tolist()[2:4] == ["ok", "duplicate (merged)"] and "averaged" in report.error[3]
    assert task.labels.tolist() == [5.0, 6.25, 7.0, 8.0]


def test_inf_and_nan_values_are_not_usable():
    df = pd.DataFrame({"smiles": ["CCO", "CCN", "CCC", "CCCl", "CCBr", "CCI"], "y": [np.inf, -np.inf, np.nan, "Infinity", "nan", 1.0]})
    task, report = load_user_table(df)
    assert report.status.tolist() == ["non-numeric value"] * 2 + ["missing value", "non-numeric value", "missing value", "ok"]
    assert "not a finite number" in report.error[0]
    assert task.labels.tolist() == [1.0]


# ----------------------------------------------------------------------------- task kind


def test_decide_task_kind_numeric_binary_and_labels():
    d = decide_task_kind(["5.1", "6.2", "", "7"])
    assert d.kind == "regression" and d.label_map is None and d.positive is None
    d = decide_task_kind([0, 1, 1, None])
    assert d.kind == "classification" and d.positive == "1"
    d = decide_task_kind(["Active", "inactive ", "active", "NA"], column="Outcome")
    assert d.kind == "classification" and d.label_map == {"Active": 1, "inactive": 0}
    assert "'Active' = 1" in d.reason and d.parse("ACTIVE") == (1.0, None, "") and d.parse("inactive")[0] == 0.0
    assert d.parse("")[1] == "missing value" and d.parse("maybe")[1] == "non-numeric value"
    assert decide_task_kind(["no", "yes"]).label_map == {"no": 0, "yes": 1}
    assert decide_task_kind(["toxic", "non-toxic"]).positive == "toxic"
    d = decide_task_kind(["A", "B", "A"])
    assert d.label_map == {"A": 0, "B": 1} and "alphabetically last" in d.reason
    assert decide_task_kind(["A", "B"], positive_label="a").label_map == {"A": 1, "B": 0}
    with pytest.raises(UserTableError, match="positive label 'C' is not one of its labels 'A', 'B'"):
        decide_task_kind(["A", "B"], positive_label="C")
    with pytest.raises(UserTableError, match="3 different text values"):
        decide_task_kind(["low", "mid", "high"], column="band")
    assert decide_task_kind(["low", "mid", "high"], kind="regression").kind == "regression"
    with pytest.raises(UserTableError, match="needs values 0 or 1.*activity threshold"):
        decide_task_kind([0.5, 1.0], kind="classification")


def test_decide_task_kind_threshold():
    d = decide_task_kind(["5.0", "6.5", "7.9", "x"], threshold=6.5, column="pKi")
    assert d.kind == "classification" and d.threshold == 6.5 and d.positive == ">= 6.5"
    assert [d.parse(v)[0] for v in ("5.0", "6.5", "7.9")] == [0.0, 1.0, 1.0] and d.parse("x")[1] == "non-numeric value"
    assert "2 active, 1 inactive" in d.reason
    with pytest.raises(UserTableError, match="needs a numeric column"):
        decide_task_kind(["active", "inactive"], threshold=1)
    with pytest.raises(UserTableError, match="not regression"):
        decide_task_kind([1.0, 2.0], threshold=1.5, kind="regression")
    with pytest.raises(UserTableError, match="finite number"):
        decide_task_kind([1.0, 2.0], threshold=math.inf)


def test_load_with_text_labels_threshold_and_reason():
    data = b"compound_id,smiles,outcome\nc1,CCO,Inactive\nc2,CCN,Active\nc3,CCC,\nc4,CCCl,active\n"
    task, report = load_user_table(data, filename="hits.csv")  # value column auto-detected: the two-label column
    assert task.kind == "classification" and task.labels.tolist() == [0, 1, 1]
    assert task.meta == {"smiles_col": "smiles", "value_col": "outcome", "label_map": {"Inactive": 0, "Active": 1}, "positive": "Active"}
    assert report.status.tolist() == ["ok", "ok", "missing value", "ok"]
    assert "'Active' = 1" in report.attrs["kind_reason"]

    df = pd.DataFrame({"smiles": ["CCO", "OCC", "CCN", "CCC"], "pIC50": [5.5, 5.9, 7.0, 6.0]})
    task, report = load_user_table(df, threshold=6.0)
    # 5.5 and 5.9 are the same structure and both inactive after thresholding: merged, not conflicting
    assert report.status.tolist() == ["ok", "duplicate (merged)", "ok", "ok"]
    assert task.labels.tolist() == [0, 1, 1] and task.meta["threshold"] == 6.0
    with pytest.raises(UserTableError, match=r"hits.csv: column 'outcome'.*numeric column"):
        load_user_table(data, filename="hits.csv", threshold=5)
