"""`sciml screen` on the shipped default: the rows of `sciml predict`, resumable, refusing another job."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from typer.testing import CliRunner

from sciml.cli import app

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "data" / "examples"
SUPPORT = EXAMPLES / "CHEMBL236_Ki_support.csv"
runner = CliRunner()


def _library(tmp_path, n=40) -> Path:
    cand = pd.read_csv(EXAMPLES / "moses_candidates.csv").head(n)
    rows = cand[["compound_id", "smiles"]].values.tolist()
    rows.insert(7, ["bad-1", "C1CC(("])
    lib = tmp_path / "lib.smi"
    lib.write_text("".join(f"{s} {i}\n" for i, s in rows))
    return lib


def _screen(tmp_path, lib, *extra, support=SUPPORT):
    return runner.invoke(app, ["screen", "--support", str(support), "--library", str(lib), "--out",
                               str(tmp_path / "out"), "--chunk-size", "16", "--top-k", "5", "--no-progress",
                               "--device", "cpu", *extra])


def _rows(out: Path) -> pd.DataFrame:
    m = json.loads((out / "manifest.json").read_text())
    return pd.concat([pd.read_parquet(out / s["file"]) for s in m["shards"]], ignore_index=True)


def test_screen_matches_predict_row_for_row_and_keeps_bad_rows(tmp_path):
    lib = _library(tmp_path)
    res = _screen(tmp_path, lib)
    assert res.exit_code == 0, res.output
    assert "screened 41 rows" in res.output and "1 failed" in res.output
    rows = _rows(tmp_path / "out")
    assert rows["row"].tolist() == list(range(41)) and rows.loc[7, "id"] == "bad-1" and rows.loc[7, "error"]
    query = tmp_path / "q.csv"
    pd.DataFrame({"smiles": rows["smiles"]}).to_csv(query, index=False)
    res = runner.invoke(app, ["predict", "--support", str(SUPPORT), "--query", str(query), "--out",
                              str(tmp_path / "p.csv"), "--device", "cpu"])
    assert res.exit_code == 0, res.output
    pred = pd.read_csv(tmp_path / "p.csv", keep_default_na=False)
    ok = rows["error"] == ""
    np.testing.assert_allclose(rows.loc[ok, "prediction"], pd.to_numeric(pred.loc[ok, "prediction"]), rtol=1e-5)
    np.testing.assert_allclose(rows.loc[ok, "std"], pd.to_numeric(pred.loc[ok, "std"]), rtol=1e-5)
    assert (rows.loc[ok, "domain_level"] == pred.loc[ok, "domain_level"]).all()
    top = pd.read_csv(tmp_path / "out" / "top_k.csv")
    assert top["prediction"].tolist() == sorted(rows.loc[ok, "prediction"], reverse=True)[:5]


def test_a_second_run_needs_resume_and_another_support_is_refused(tmp_path):
    lib = _library(tmp_path, n=20)
    assert _screen(tmp_path, lib).exit_code == 0
    res = _screen(tmp_path, lib)
    assert res.exit_code != 0 and "--resume" in res.output
    res = _screen(tmp_path, lib, "--resume")
    assert res.exit_code == 0 and "already complete" in res.output
    other = tmp_path / "other.csv"
    df = pd.read_csv(SUPPORT)
    df.iloc[:20].to_csv(other, index=False)
    res = _screen(tmp_path, lib, "--resume", support=other)
    assert res.exit_code != 0 and "another screening job" in res.output and "support_sha256" in res.output


def test_bad_library_and_options_fail_with_the_reason(tmp_path):
    bad = tmp_path / "lib.xlsx"
    bad.write_text("x")
    res = _screen(tmp_path, bad)
    assert res.exit_code != 0 and "unknown library format" in res.output
    res = _screen(tmp_path, _library(tmp_path, 5), "--acquisition", "best")
    assert res.exit_code != 0 and "unknown acquisition 'best'" in res.output
    res = _screen(tmp_path, tmp_path / "none.smi")
    assert res.exit_code != 0 and "no such file" in res.output
