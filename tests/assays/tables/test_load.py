"""Loading a user table: the per-row report, the task of usable rows, errors meant for the user."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from assays.sources.tables import REPORT_COLUMNS, UserTableError, load_user_table
from tests.assays.tables.files import FormulaDomain

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
    assert list(report.columns) == REPORT_COLUMNS == ["row", "smiles", "value", "status", "error"]
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
    assert report.error[1] == "RDKit could not parse SMILES"
    assert report.value[0] == 5.5 and np.isnan(report.value[1:6]).all() and report.value[6] == 8.25

    assert task.name == "user" and task.kind == "regression" and task.source == "mine.csv"
    assert task.inputs == ["CCO", "c1ccccc1"] and task.labels.tolist() == [5.5, 8.25]
    assert task.meta == {"smiles_col": "SMILES", "value_col": "pIC50"} and task.domain == "molecules"
    assert report.attrs["smiles_col"] == "SMILES" and report.attrs["value_col"] == "pIC50"


def test_dataframe_input_with_nan_and_none():
    df = pd.DataFrame({"canonical_smiles": ["CCO", None, "CCN", "CCC"], "value": [1.0, 2.0, np.nan, 0.5]})
    task, report = load_user_table(df)
    assert report.status.tolist() == ["ok", "invalid structure", "missing value", "ok"]
    assert report.smiles.tolist() == ["CCO", "", "CCN", "CCC"]
    assert task.inputs == ["CCO", "CCC"] and task.labels.tolist() == [1.0, 0.5]


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
    assert "SMILES column 'smiles'" in str(err.value)
    assert err.value.report.status.tolist() == ["invalid structure", "missing value"]
    task, report = load_user_table(path, raise_on_empty=False)
    assert task is None and len(report) == 2


def test_row_numbers_of_a_cut_out_table():
    df = pd.DataFrame({"smiles": ["CCO", "xx", "OCC", "CCN"], "y": [1.0, 2.0, 3.0, 4.0]})
    _, report = load_user_table(df, row_numbers=[10, 12, 17, 20])
    assert report.row.tolist() == [10, 12, 17, 20] and "row 17" in report.error[0] and "row 10" in report.error[2]
    with pytest.raises(ValueError, match="2 row numbers for 3 rows"):
        load_user_table(df.head(3), row_numbers=[1, 2])


def test_bad_conflicts_option():
    with pytest.raises(ValueError, match="conflicts must be 'drop' or 'mean'"):
        load_user_table(pd.DataFrame({"smiles": ["CCO"], "y": [1.0]}), conflicts="max")


def test_another_domain_validates_rows_with_its_own_reasons():
    df = pd.DataFrame({"composition": ["Fe2O3", "fe2o3", "", "NaCl"], "band_gap": ["2.2", "2.0", "1.0", "x"]})
    task, report = load_user_table(df, domain=FormulaDomain(), name="gaps")
    assert report.status.tolist() == ["ok", "invalid structure", "invalid structure", "non-numeric value"]
    assert report.error.tolist()[1:3] == ["not a formula", "empty formula"]
    assert task.inputs == ["Fe2O3"] and task.domain == "formulas-test"
    with pytest.raises(UserTableError, match=r"no usable rows.*formula column 'composition'"):
        load_user_table(df.iloc[1:3], domain=FormulaDomain())


def test_threshold_counts_add_up_to_the_usable_rows(tmp_path):
    """The classification counts in ``kind_reason`` are over the usable rows, not over every numeric cell:
    rows dropped for an invalid structure or as a duplicate are not counted."""
    path = tmp_path / "thr.csv"
    path.write_text("SMILES,pKi\nCCO,7.5\nnot_a_smiles,8.0\nCCN,5.0\nCCC,6.9\nCCO,7.5\n[Xx],4.0\nc1ccccc1,7.1\n")
    task, report = load_user_table(path, threshold=7.0)
    n_ok = int((report.status == "ok").sum())
    assert n_ok == len(task.labels) == 4
    assert report.attrs["kind_reason"].endswith("(2 active, 2 inactive)")
    # the same for text labels, which gave no counts before
    path.write_text("SMILES,call\nCCO,active\nbad_smiles,active\nCCN,inactive\nCCC,inactive\n")
    task, report = load_user_table(path)
    assert report.attrs["kind_reason"].endswith("(1 active, 2 inactive)")
