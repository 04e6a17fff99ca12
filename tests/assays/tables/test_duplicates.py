"""Repeated structures: merged when the values agree, left out or averaged when they do not."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from assays.sources.tables import STATUSES, load_user_table, status_counts
from assays.sources.tables.duplicates import STATUS_DUPLICATE_CONFLICT, STATUS_DUPLICATE_MERGED, mark_duplicates
from tests.assays.tables.files import FormulaDomain


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
    assert "canonical SMILES c1ccccc1" in report.error[2]
    assert np.isnan(report.value[[1, 2, 3, 5, 6]]).all()
    assert task.inputs == ["CCO", "CCN", "CCCl"] and task.labels.tolist() == [5.0, 7.0, 8.0]
    assert status_counts(report) == {"ok": 3, "duplicate (conflicting values)": 2, "duplicate (merged)": 3}
    assert set(status_counts(report)) <= set(STATUSES)

    task, report = load_user_table(df, conflicts="mean")
    assert report.status.tolist()[2:4] == ["ok", "duplicate (merged)"] and "averaged" in report.error[3]
    assert task.labels.tolist() == [5.0, 6.25, 7.0, 8.0]


def test_mark_duplicates_on_keys():
    changes = mark_duplicates([0, 2, 5, 7], ["a", "b", "a", "b"], [1.0, 2.0, 1.0, 3.0], kind="regression")
    assert set(changes) == {2, 1, 3}
    assert changes[2][0] == STATUS_DUPLICATE_MERGED and "row 0" in changes[2][2]
    assert changes[1][0] == changes[3][0] == STATUS_DUPLICATE_CONFLICT and "row 7" in changes[1][2]
    assert all(math.isnan(v) for _, v, _ in changes.values())
    mean = mark_duplicates([0, 1], ["a", "a"], [1.0, 2.0], kind="regression", conflicts="mean")
    assert mean[0] == (None, 1.5, "") and mean[1][0] == STATUS_DUPLICATE_MERGED
    # classification never averages
    assert mark_duplicates([0, 1], ["a", "a"], [0.0, 1.0], kind="classification", conflicts="mean")[0][0] == STATUS_DUPLICATE_CONFLICT
    assert mark_duplicates([0, 1], ["a", "b"], [1.0, 2.0], kind="regression") == {}


def test_duplicates_use_the_domain_key():
    df = pd.DataFrame({"formula": ["Fe2O3", "O3Fe2", "NaCl", "ClNa"], "gap": [2.0, 2.0, 5.0, 5.5]})
    task, report = load_user_table(df, domain=FormulaDomain())
    assert report.status.tolist() == ["ok", "duplicate (merged)", "duplicate (conflicting values)",
                                      "duplicate (conflicting values)"]
    assert "canonical formula ClNa" in report.error[2]
    assert task.inputs == ["Fe2O3"] and task.domain == "formulas-test"
