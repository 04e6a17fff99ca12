"""The example files shipped in data/examples/ (made by scripts/make_examples.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from rdkit import Chem

from assays.sources.tables import load_user_table

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "data" / "examples"
SCRIPT = ROOT / "scripts" / "make_examples.py"


def _manifest() -> dict:
    return json.loads((EXAMPLES / "examples.json").read_text())


def test_shipped_examples_are_small_complete_and_unlabelled_candidates():
    files = [p for p in EXAMPLES.iterdir() if p.is_file()]
    assert sum(p.stat().st_size for p in files) < 500 * 1024
    for name in ("README.md", "LICENSE-MoleculeACE.txt", "LICENSE-MOSES.txt", "examples.json", "moses_candidates.csv"):
        assert (EXAMPLES / name).is_file(), name
    manifest = _manifest()
    assert 2 <= len(manifest["assays"]) <= 3
    for a in manifest["assays"]:
        support = pd.read_csv(EXAMPLES / a["support"])
        cand = pd.read_csv(EXAMPLES / a["candidates"])
        assert a["value_col"] in ("pKi", "pEC50") and a["target"].endswith(a["value_col"][1:])
        assert support.columns.tolist() == ["compound_id", "smiles", a["value_col"]] and len(support) == 24
        assert cand.columns.tolist() == ["compound_id", "smiles"] and len(cand) == 200  # no labels shipped
        assert not set(cand.smiles) & set(support.smiles)
        assert support.compound_id.is_unique and cand.compound_id.is_unique
        assert support[a["value_col"]].max() - support[a["value_col"]].min() > 3  # spans the activity range
        task, report = load_user_table(EXAMPLES / a["support"])
        assert task.kind == "regression" and (report.status == "ok").all()
        assert all(Chem.MolFromSmiles(s) is not None for s in cand.smiles)
    lib = pd.read_csv(EXAMPLES / "moses_candidates.csv")
    assert lib.columns.tolist() == ["compound_id", "smiles"] and len(lib) == 1000 and lib.smiles.is_unique


@pytest.mark.shared_data
def test_script_reproduces_the_shipped_files_from_test_targets_only(shared_data_dir, tmp_path):
    splits = json.loads((shared_data_dir / "molecules" / "moleculeace_splits.json").read_text())
    assert {a["target"] for a in _manifest()["assays"]} <= set(splits["test_targets"])
    out = tmp_path / "examples"
    answers = tmp_path / "answers.csv"
    cmd = [sys.executable, str(SCRIPT), "--data-dir", str(shared_data_dir), "--out", str(out), "--answers", str(answers)]
    subprocess.run(cmd, check=True, capture_output=True, text=True)
    shipped = sorted(p.name for p in EXAMPLES.iterdir() if p.is_file())
    assert sorted(p.name for p in out.iterdir()) == shipped
    for name in shipped:
        assert (out / name).read_bytes() == (EXAMPLES / name).read_bytes(), name
    # the held-out labels exist (for checking predictions) but only outside the shipped folder
    held_out = pd.read_csv(answers)
    assert len(held_out) == 200 * len(_manifest()["assays"]) and held_out.label.notna().all()
    refused = subprocess.run(cmd[:-1] + [str(out / "answers.csv")], check=False, capture_output=True, text=True)
    assert refused.returncode != 0 and "must not be inside" in refused.stderr
