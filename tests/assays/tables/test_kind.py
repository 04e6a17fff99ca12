"""Value cells and the task kind: numbers, 0/1, two text labels, thresholds."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from assays.sources.tables import UserTableError, decide_task_kind, load_user_table


def test_kind_detection_and_forcing():
    df = pd.DataFrame({"smiles": ["CCO", "CCN", "CCC"], "y": [1, 0, 1]})
    assert load_user_table(df)[0].kind == "classification"
    assert load_user_table(df, kind="regression")[0].kind == "regression"
    df2 = pd.DataFrame({"smiles": ["CCO", "CCN"], "y": [1.0, 0.5]})
    assert load_user_table(df2)[0].kind == "regression"
    with pytest.raises(UserTableError, match="needs values 0 or 1"):
        load_user_table(df2, kind="classification")


def test_inf_and_nan_values_are_not_usable():
    df = pd.DataFrame({"smiles": ["CCO", "CCN", "CCC", "CCCl", "CCBr", "CCI"], "y": [np.inf, -np.inf, np.nan, "Infinity", "nan", 1.0]})
    task, report = load_user_table(df)
    assert report.status.tolist() == ["non-numeric value"] * 2 + ["missing value", "non-numeric value", "missing value", "ok"]
    assert "not a finite number" in report.error[0]
    assert task.labels.tolist() == [1.0]


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


def test_decide_task_kind_accepts_a_series_of_numbers():
    assert decide_task_kind(pd.Series([0.0, 1.0, np.nan])).kind == "classification"
    assert decide_task_kind(pd.Series([3, 4, 5])).kind == "regression"


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
