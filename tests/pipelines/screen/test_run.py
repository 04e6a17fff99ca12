"""The screening job: one row per input row in order, resumable to the same rows, refusing another job's folder."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipelines.screen import JobMismatchError, ScorerSpec, ScreenInterrupted, ScreenSettings, run_screen
from tests.pipelines.screen.toy import atom_count_scorer

ROOT = Path(__file__).resolve().parents[3]
SMILES = ["CCO", "c1ccccc1", "not_a_smiles", "CCCCCCCCCC", "CC(=O)O", "C1CCCCC1", "CCN(CC)CC", "O", "CCCl",
          "c1ccncc1", "C((", "CC(C)(C)C", "OCCO", "c1ccc2ccccc2c1", "CCCCCCCC"]
IDENTITY = {"model": "toy", "support_sha256": "none"}


@pytest.fixture()
def library(tmp_path):
    p = tmp_path / "lib.csv"
    lines = ["id,smiles"] + [f"m{i},{s}" for i, s in enumerate(SMILES)]
    lines.insert(5, "broken,row,with,fields")  # library row 4: a malformed line
    p.write_text("\n".join(lines) + "\n")
    return p


def _spec(**kw):
    return ScorerSpec(atom_count_scorer, kw)


def _settings(library, **kw):
    return ScreenSettings(library=str(library), **{"chunk_size": 4, "top_k": 5, **kw})


def _rows(out: Path) -> pd.DataFrame:
    m = json.loads((out / "manifest.json").read_text())
    return pd.concat([pd.read_parquet(out / s["file"]) for s in m["shards"]], ignore_index=True)


def test_every_input_row_comes_out_once_in_order_with_its_error(library, tmp_path):
    s = run_screen(tmp_path / "out", _settings(library), IDENTITY, _spec(), progress=False)
    df = _rows(tmp_path / "out")
    assert len(df) == len(SMILES) + 1 and df["row"].tolist() == list(range(len(SMILES) + 1))
    assert s["rows"] == 16 and s["failed"] == 3 and s["ok"] == 13 and s["shards"] == 4
    assert df.loc[4, "error"] == "the row has 4 fields, the header 2" and df.loc[4, "id"] == "broken"
    assert df.loc[df["id"] == "m2", "error"].item().startswith("RDKit could not parse")
    ok = df[df["error"] == ""]
    assert np.isfinite(ok["prediction"]).all() and df.loc[df["error"] != "", "score"].isna().all()
    assert set(ok["domain_level"]) == {"in", "outside"}
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["complete"] and manifest["identity"]["library_sha256"]


def test_top_k_equals_a_full_sort(library, tmp_path):
    run_screen(tmp_path / "out", _settings(library, acquisition="ucb", kappa=2.0), IDENTITY, _spec(), progress=False)
    df = _rows(tmp_path / "out")
    full = df[np.isfinite(df["score"])].sort_values(["score", "row"], ascending=[False, True]).head(5)
    top = pd.read_csv(tmp_path / "out" / "top_k.csv")
    assert top["row"].tolist() == full["row"].tolist()
    np.testing.assert_allclose(top["score"], full["prediction"] + 2.0 * full["std"])


def test_interrupted_run_resumes_to_the_same_rows(library, tmp_path):
    run_screen(tmp_path / "ref", _settings(library), IDENTITY, _spec(), progress=False)
    with pytest.raises(ScreenInterrupted, match="--resume"):
        run_screen(tmp_path / "out", _settings(library), IDENTITY, _spec(crash_after=2), progress=False)
    m = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert len(m["shards"]) == 2 and not m["complete"]
    with pytest.raises(ValueError, match="add --resume"):
        run_screen(tmp_path / "out", _settings(library), IDENTITY, _spec(), progress=False)
    s = run_screen(tmp_path / "out", _settings(library), IDENTITY, _spec(), resume=True, progress=False)
    assert s["rows"] == 16
    pd.testing.assert_frame_equal(_rows(tmp_path / "out"), _rows(tmp_path / "ref"))
    again = run_screen(tmp_path / "out", _settings(library), IDENTITY, _spec(), resume=True, progress=False)
    assert again["already_complete"] and again["rows"] == 16


def test_resume_refuses_another_model_library_or_settings(library, tmp_path):
    with pytest.raises(ScreenInterrupted):
        run_screen(tmp_path / "out", _settings(library), IDENTITY, _spec(crash_after=1), progress=False)
    with pytest.raises(JobMismatchError, match="model"):
        run_screen(tmp_path / "out", _settings(library), {**IDENTITY, "model": "other"}, _spec(), resume=True,
                   progress=False)
    with pytest.raises(JobMismatchError, match="settings"):
        run_screen(tmp_path / "out", _settings(library, chunk_size=5), IDENTITY, _spec(), resume=True, progress=False)
    library.write_text(library.read_text() + "CCCC,extra\n")
    with pytest.raises(JobMismatchError, match="library"):
        run_screen(tmp_path / "out", _settings(library), IDENTITY, _spec(), resume=True, progress=False)


def test_a_damaged_shard_is_scored_again(library, tmp_path):
    run_screen(tmp_path / "ref", _settings(library), IDENTITY, _spec(), progress=False)
    with pytest.raises(ScreenInterrupted):
        run_screen(tmp_path / "out", _settings(library), IDENTITY, _spec(crash_after=3), progress=False)
    shard = tmp_path / "out" / "shards" / "shard-000001.parquet"
    shard.write_bytes(shard.read_bytes()[:50])
    run_screen(tmp_path / "out", _settings(library), IDENTITY, _spec(), resume=True, progress=False)
    pd.testing.assert_frame_equal(_rows(tmp_path / "out"), _rows(tmp_path / "ref"))


def test_two_worker_processes_give_the_rows_of_one(library, tmp_path):
    run_screen(tmp_path / "one", _settings(library), IDENTITY, _spec(), progress=False)
    run_screen(tmp_path / "two", _settings(library, workers=2), IDENTITY, _spec(), progress=False)
    pd.testing.assert_frame_equal(_rows(tmp_path / "two"), _rows(tmp_path / "one"))


KILL_SCRIPT = """
import sys
sys.path.insert(0, {root!r})
from pipelines.screen import ScorerSpec, ScreenSettings, run_screen
from tests.pipelines.screen.toy import atom_count_scorer
run_screen({out!r}, ScreenSettings(library={lib!r}, chunk_size=2, top_k=3), {{"model": "toy"}},
           ScorerSpec(atom_count_scorer, {{"delay": 0.3, "marker": {marker!r}}}), resume=True, progress=False)
"""


def test_kill_9_mid_run_then_resume_loses_and_duplicates_nothing(library, tmp_path):
    ref = tmp_path / "ref"
    run_screen(ref, ScreenSettings(library=str(library), chunk_size=2, top_k=3), {"model": "toy"}, _spec(),
               progress=False)
    out, marker = tmp_path / "out", tmp_path / "calls.txt"
    script = KILL_SCRIPT.format(root=str(ROOT), out=str(out), lib=str(library), marker=str(marker))
    proc = subprocess.Popen([sys.executable, "-c", script])
    deadline = time.time() + 120
    while time.time() < deadline and (not marker.is_file() or len(marker.read_text().split()) < 3):
        time.sleep(0.05)
    time.sleep(0.15)  # inside the next chunk's scoring, or writing its shard
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    m = json.loads((out / "manifest.json").read_text())
    assert not m["complete"] and 1 <= len(m["shards"]) < 8
    subprocess.run([sys.executable, "-c", script], check=True, timeout=120)
    pd.testing.assert_frame_equal(_rows(out), _rows(ref))
    assert pd.read_csv(out / "top_k.csv")["row"].tolist() == pd.read_csv(ref / "top_k.csv")["row"].tolist()
