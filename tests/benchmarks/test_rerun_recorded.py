"""benchmarks/rerun_recorded.py: recorded training commands re-run, in order, optionally in parallel."""

from __future__ import annotations

import importlib.util
import json
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture()
def rerun():
    spec = importlib.util.spec_from_file_location("rerun_recorded", ROOT / "benchmarks" / "rerun_recorded.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


RECORDS = [
    {"dataset": "sider", "learner": "bmaml",
     "command": "sciml train --dataset sider --learner bmaml --out runs/sel/x --init-encoder runs/maml-sider"},
    {"dataset": "sider", "learner": "maml", "command": "sciml train --dataset sider --learner maml --out runs/sel/y"},
    {"dataset": "sider", "learner": "dkgp", "command": "sciml train --dataset sider --learner dkgp --out runs/z"},
    {"dataset": "tox21", "learner": "dkgp", "command": "sciml train --dataset tox21 --learner dkgp --out runs/w"},
]


def test_plan_rewrites_out_and_orders_dependents_last(rerun):
    plan = rerun.planned(RECORDS, {"sider"}, None)
    assert [out for out, _ in plan] == ["runs/maml-sider", "runs/dkgp-sider", "runs/bmaml-sider"]
    assert all(cmd[cmd.index("--out") + 1] == out for out, cmd in plan)
    waves = rerun.waves(plan)
    assert [[o for o, _ in w] for w in waves] == [["runs/maml-sider", "runs/dkgp-sider"], ["runs/bmaml-sider"]]


def test_plan_refuses_other_commands(rerun):
    with pytest.raises(ValueError, match="not a `sciml train` command"):
        rerun.planned([{"dataset": "d", "learner": "l", "command": "rm -rf runs"}], None, None)


def test_parallel_runs_overlap_and_dependents_wait(rerun, tmp_path, monkeypatch):
    """--jobs 2: the two independent runs overlap; the run that starts from maml-sider begins after it ends."""
    monkeypatch.chdir(tmp_path)
    rec = tmp_path / "training.json"
    rec.write_text(json.dumps(RECORDS[:3]))
    events, lock, running = [], threading.Lock(), {"now": 0, "max": 0}

    def fake_run(cmd, stdout=None, stderr=None, check=False):
        out = cmd[cmd.index("--out") + 1]
        with lock:
            running["now"] += 1
            running["max"] = max(running["max"], running["now"])
            events.append(("start", out))
        time.sleep(0.2)
        Path(out).mkdir(parents=True)
        (Path(out) / "config.json").write_text("{}")
        with lock:
            running["now"] -= 1
            events.append(("end", out))
        return SimpleNamespace(returncode=0)

    monkeypatch.setattr(rerun.subprocess, "run", fake_run)
    rerun.main(["--training", str(rec), "--jobs", "2"])
    assert running["max"] == 2
    assert events.index(("start", "runs/bmaml-sider")) > events.index(("end", "runs/maml-sider"))
    assert (tmp_path / "runs/logs/train-bmaml-sider.log").exists()
    # a second call keeps every finished run and trains nothing
    events.clear()
    rerun.main(["--training", str(rec), "--jobs", "2"])
    assert events == []


def test_failed_run_stops_before_dependents(rerun, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    rec = tmp_path / "training.json"
    rec.write_text(json.dumps(RECORDS[:2]))
    started = []

    def fake_run(cmd, stdout=None, stderr=None, check=False):
        started.append(cmd[cmd.index("--out") + 1])
        return SimpleNamespace(returncode=3)

    monkeypatch.setattr(rerun.subprocess, "run", fake_run)
    with pytest.raises(SystemExit, match="runs/maml-sider.*exited 3"):
        rerun.main(["--training", str(rec), "--jobs", "2"])
    assert started == ["runs/maml-sider"]
