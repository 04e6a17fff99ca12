"""benchmarks/pick_best_run.py: validation-only choice among candidate runs, with recorded candidates."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture()
def pick():
    spec = importlib.util.spec_from_file_location("pick_best_run", ROOT / "benchmarks" / "pick_best_run.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _candidate(folder: Path, score: float, fp_bits: int = 0) -> Path:
    folder.mkdir(parents=True)
    cfg = {"learner": "maml", "learner_config": {"inner_lr": 0.5},
           "featurizer": {"fingerprint_bits": fp_bits},
           "training": {"best_val_score": score, "best_step": 300, "val_metric": "roc_auc",
                        "command": f"sciml train --out {folder} --learner-config '{{}}'",
                        "config": {"learner_config": {"inner_lr": 0.5}}}}
    (folder / "config.json").write_text(json.dumps(cfg))
    (folder / "weights.txt").write_text(folder.name)
    return folder


def _report(path: Path, rows: list[tuple[str, float]]) -> None:
    lines = ["### maml-x: meta-training settings chosen on validation tasks", "",
             "| candidate | settings | best step | validation roc_auc | chosen |", "|---|---|---|---|---|"]
    lines += [f"| {n} | `{{\"inner_lr\": 0.05}}` | 600 | {s:.4f} |  |" for n, s in rows]
    # the runs were moved after training (as the earliest default runs were), so commands match by order
    lines += ["", "Commands: " + "; ".join(f"`sciml train --out runs/moved/{n} --seed 0`" for n, _ in rows), ""]
    path.write_text("\n".join(lines))


def _pick(pick, monkeypatch, tmp_path: Path, score: float, recorded: list[tuple[str, float]], *flags: str,
          fp_bits: int = 0) -> tuple[Path, str]:
    """Run pick_best_run on one new candidate ``maml-x-fp`` (validation ``score``) against a report of the
    ``recorded`` rows; returns the output folder and the rewritten report."""
    new = _candidate(tmp_path / "sel" / "maml-x-fp", score, fp_bits=fp_bits)
    report = tmp_path / "report.md"
    _report(report, recorded)
    out = tmp_path / "maml-x"
    monkeypatch.setattr(sys, "argv", ["pick_best_run.py", "--out", str(out), "--report", str(report), *flags, str(new)])
    pick.main()
    return out, report.read_text()


def test_new_candidate_beats_recorded_one_and_is_copied(pick, tmp_path, monkeypatch):
    # maml-x-fp's own row is replaced
    out, text = _pick(pick, monkeypatch, tmp_path, 0.91, [("maml-x-old", 0.90), ("maml-x-fp", 0.5)],
                      "--keep-recorded", fp_bits=2048)
    assert (out / "weights.txt").read_text() == "maml-x-fp"
    assert "| maml-x-old | `{\"inner_lr\": 0.05}` | 600 | 0.9000 |  |" in text
    assert "| maml-x-fp |" in text and "0.9100 | yes |" in text and "0.5000" not in text
    assert '"fingerprint_bits": 2048' in text
    assert "`sciml train --out runs/moved/maml-x-old --seed 0`" in text


def test_recorded_winner_leaves_out_untouched(pick, tmp_path, monkeypatch):
    out, text = _pick(pick, monkeypatch, tmp_path, 0.80, [("maml-x-old", 0.90)], "--keep-recorded")
    assert not out.exists()  # the recorded winner's folder is gone: nothing to copy
    assert "| maml-x-old | `{\"inner_lr\": 0.05}` | 600 | 0.9000 | yes |" in text


def test_without_keep_recorded_only_present_candidates_compete(pick, tmp_path, monkeypatch):
    out, text = _pick(pick, monkeypatch, tmp_path, 0.80, [("maml-x-old", 0.90)])
    assert (out / "weights.txt").read_text() == "maml-x-fp"
    assert "maml-x-old" not in text
