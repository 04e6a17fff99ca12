"""Project files (app.project): a run's tables, choices and settings saved and read back, bad files refused."""

from __future__ import annotations

import json

import numpy as np
import pytest

from app import project as pj
from app import user_tables as ut

SETTINGS = {"level": 0.8, "similarity": None, "check": "Leave-one-out", "rows": 20, "hit_rate": 0.05,
            "baseline_choice": "auto", "acquisition": "ucb", "kappa": 1.5}


def _run():
    table = ut.table_from_text("smiles,pKi,note\nCCO,5.1,a\nc1ccccc1O,6.2,\nCCN,7.3,b\nCCCl,4.0,c\nCCOC,6.6,d\n")
    support = ut.build_support(table, "smiles", "pKi", ut.KIND_THRESHOLD, threshold=6.0)
    cands = ut.candidates_from_text("CCOc1ccc(N)cc1 first\nnot_a_smiles second")
    return support, cands


def test_round_trip_keeps_tables_choices_and_settings():
    support, cands = _run()
    data = pj.project_bytes(support, cands, SETTINGS, "default-classification", "9.9")
    p = pj.read_project(data, "p.json")
    assert p.support.df.equals(support.table.df) and p.support.sha256 == support.table.sha256
    assert p.choice["mode"] == ut.KIND_THRESHOLD and p.choice["threshold"] == 6.0 and p.choice["value_col"] == "pKi"
    again = ut.build_support(p.support, p.choice["smiles_col"], p.choice["value_col"], p.choice["mode"],
                             threshold=p.choice["threshold"])
    assert again.smiles == support.smiles and np.array_equal(again.y, support.y) and again.kind == "classification"
    assert p.candidates.smiles == cands.smiles and p.candidates.df.equals(cands.df)
    assert p.settings == SETTINGS and p.checkpoint == "default-classification" and p.package_version == "9.9"


@pytest.mark.parametrize("damage, fragment", [
    (lambda d: b"not json", "not JSON"),
    (lambda d: json.dumps({"format": "other"}).encode(), "not a sciml project"),
    (lambda d: d.replace(b'"version": 1', b'"version": 7'), "newer sciml"),
    (lambda d: d.replace(b"CCN,7.3", b"CCN,9.9"), "checksum"),
    (lambda d: d.replace(b'"check": "Leave-one-out"', b'"check": 3'), "'check' has the wrong type"),
    (lambda d: d.replace(b'"value_col": "pKi"', b'"value_col": "pIC50"'), "'pIC50' is not in the stored table"),
    (lambda d: d.replace(b'"settings"', b'"settingz"'), "'settings' is missing"),
])
def test_damaged_or_foreign_files_are_refused_with_the_reason(damage, fragment):
    support, cands = _run()
    data = pj.project_bytes(support, cands, SETTINGS, "default", "9.9")
    with pytest.raises(pj.ProjectError, match=fragment):
        pj.read_project(damage(data), "p.json")
