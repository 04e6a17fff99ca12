"""User tables: column detection, per-row report, clear errors."""

from __future__ import annotations

import gzip
import io

import numpy as np
import pandas as pd
import pytest

from assays.sources.user_csv import UserTableError, load_user_table

TABLE = (
    "Compound_ID,SMILES,pIC50\n"
    "a,CCO,5.5\n"            # 0 ok
    "b,not_a_smiles,6.0\n"   # 1 invalid structure
    "c,CCN,\n"               # 2 missing value
    "d,CCC,high\n"           # 3 non-numeric value
    "e,CCCl,inf\n"           # 4 non-numeric value (not finite)
    "f,,7.0\n"               # 5 invalid structure (empty)
    "g,c1ccccc1, 8.25 \n"    # 6 ok
)


def test_report_has_one_row_per_input_row_and_task_only_ok_rows(tmp_path):
    path = tmp_path / "mine.csv"
    path.write_text(TABLE)
    task, report = load_user_table(path)
    assert list(report.columns) == ["row", "smiles", "value", "status", "error"]
    assert report["row"].tolist() == list(range(7))
    assert report["status"].tolist() == [
        "ok",
        "invalid structure",
        "missing value",
        "non-numeric value",
        "non-numeric value",
        "invalid structure",
        "ok",
    ]
    assert report.loc[report.status == "ok", "error"].tolist() == ["", ""]
    assert (report.loc[report.status != "ok", "error"] != "").all()
    assert "high" in report.error[3] and "empty SMILES" == report.error[5]
    assert report.value[0] == 5.5 and np.isnan(report.value[1:6]).all() and report.value[6] == 8.25

    assert task.name == "user" and task.kind == "regression" and task.source == "mine.csv"
    assert task.inputs == ["CCO", "c1ccccc1"] and task.labels.tolist() == [5.5, 8.25]
    assert task.meta == {"smiles_col": "SMILES", "value_col": "pIC50"}


def test_tsv_gzip_semicolon_and_file_objects(tmp_path):
    tsv = tmp_path / "t.tsv"
    tsv.write_text("smiles\tactive\nCCO\t1\nCCN\t0\n")
    task, _ = load_user_table(tsv, name="mine")
    assert task.kind == "classification" and task.labels.tolist() == [1, 0] and task.name == "mine"

    gz = tmp_path / "t.csv.gz"
    with gzip.open(gz, "wt") as fh:
        fh.write("smi,y\nCCO,1.5\nCCN,2.5\n")
    task, _ = load_user_table(gz)
    assert task.inputs == ["CCO", "CCN"] and task.kind == "regression"

    semi = tmp_path / "t.txt"
    semi.write_text("Structure;Activity\nCCO;1,5\nCCN;2\nCCC;3\n")
    task, report = load_user_table(semi)
    assert report.status.tolist() == ["non-numeric value", "ok", "ok"]

    task, _ = load_user_table(io.BytesIO(b"SMILES,y\nCCO,3\nCCN,4\n"))
    assert task.labels.tolist() == [3, 4]


def test_dataframe_input_with_nan_and_none():
    df = pd.DataFrame({"canonical_smiles": ["CCO", None, "CCN", "CCC"], "value": [1.0, 2.0, np.nan, 0.5]})
    task, report = load_user_table(df)
    assert report.status.tolist() == ["ok", "invalid structure", "missing value", "ok"]
    assert report.smiles.tolist() == ["CCO", "", "CCN", "CCC"]
    assert task.inputs == ["CCO", "CCC"] and task.labels.tolist() == [1.0, 0.5]


def test_explicit_columns_case_insensitive_and_missing_column(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("Mol_SMILES,IC50_nM,pIC50\nCCO,10,8\nCCN,100,7\n")
    task, _ = load_user_table(path, smiles_col="mol_smiles", value_col="PIC50")
    assert task.labels.tolist() == [8, 7] and task.meta == {"smiles_col": "Mol_SMILES", "value_col": "pIC50"}
    with pytest.raises(UserTableError) as err:
        load_user_table(path, smiles_col="Mol_SMILES", value_col="Ki")
    assert "'Ki'" in str(err.value) and "'IC50_nM'" in str(err.value) and "'pIC50'" in str(err.value)
    # found by name ("SMILES" in it) when no column has an exact SMILES-like name
    task, _ = load_user_table(path, value_col="pIC50")
    assert task.meta["smiles_col"] == "Mol_SMILES"
    with pytest.raises(UserTableError, match="could not find a SMILES column"):
        load_user_table(pd.DataFrame({"id": ["a", "b"], "pIC50": ["8", "7"]}))
    with pytest.raises(UserTableError, match=r"more than one numeric column.*'IC50_nM', 'pIC50'"):
        load_user_table(path)


def test_unnamed_index_column_is_ignored(tmp_path):
    path = tmp_path / "i.csv"
    pd.DataFrame({"smiles": ["CCO", "CCN", "CCC"], "y": [0.1, 0.2, 0.3]}).to_csv(path)  # writes the index
    task, _ = load_user_table(path)
    assert task.meta["value_col"] == "y"


def test_empty_file_and_header_only(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(UserTableError, match="empty"):
        load_user_table(empty)
    header = tmp_path / "header.csv"
    header.write_text("smiles,y\n")
    with pytest.raises(UserTableError, match="no data rows"):
        load_user_table(header)
    with pytest.raises(FileNotFoundError, match="absent.csv"):
        load_user_table(tmp_path / "absent.csv")


def test_no_usable_rows(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("smiles,y\nxx,1\nCCO,\n")
    with pytest.raises(UserTableError, match="no usable rows") as err:
        load_user_table(path)
    assert err.value.report.status.tolist() == ["invalid structure", "missing value"]
    task, report = load_user_table(path, raise_on_empty=False)
    assert task is None and len(report) == 2


def test_kind_detection_and_forcing():
    df = pd.DataFrame({"smiles": ["CCO", "CCN", "CCC"], "y": [1, 0, 1]})
    assert load_user_table(df)[0].kind == "classification"
    assert load_user_table(df, kind="regression")[0].kind == "regression"
    df2 = pd.DataFrame({"smiles": ["CCO", "CCN"], "y": [1.0, 0.5]})
    assert load_user_table(df2)[0].kind == "regression"
    with pytest.raises(UserTableError, match="needs values 0 or 1"):
        load_user_table(df2, kind="classification")


def test_read_table_and_find_smiles_column(tmp_path):
    from assays.sources.user_csv import find_smiles_column, read_table

    path = tmp_path / "q.tsv"
    path.write_text("id\tCanonical SMILES\tnote\n1\tCCO\t\n2\tCCN\tNA\n")
    df = read_table(path)
    assert df.columns.tolist() == ["id", "Canonical SMILES", "note"]
    assert df["note"].tolist() == ["", "NA"] and df["id"].tolist() == ["1", "2"]
    assert find_smiles_column(df) == "Canonical SMILES"
    with pytest.raises(UserTableError, match="'id', 'note'"):
        find_smiles_column(df[["id", "note"]], "q.tsv")
