"""Atomic outputs and output locks: a killed or failed write never leaves a file that looks complete."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

from sciml.files import OutputBusyError, OutputExistsError, atomic_write, atomic_write_text, output_lock, write_table

ROOT = Path(__file__).resolve().parents[2]


def _hold(code: str) -> subprocess.Popen:
    """A child process that runs ``code`` (which prints ``ready``) and then sleeps until killed."""
    script = textwrap.dedent(code) + "\nimport sys, time\nprint('ready', flush=True)\ntime.sleep(120)\n"
    p = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "ready"
    return p


def test_a_failed_write_keeps_the_previous_file(tmp_path):
    out = tmp_path / "res.json"
    atomic_write_text(out, "old complete content")
    with pytest.raises(RuntimeError):
        with atomic_write(out) as f:
            f.write("half of the new")
            raise RuntimeError("interrupted")
    assert out.read_text() == "old complete content"
    assert [p.name for p in tmp_path.iterdir()] == ["res.json"]  # no temporary file left


def test_kill_9_during_a_write_leaves_the_previous_complete_file(tmp_path):
    out = tmp_path / "pred.csv"
    write_table(pd.DataFrame({"x": range(10)}), out)
    before = out.read_bytes()
    p = _hold(f"""
        from sciml.files import atomic_write
        cm = atomic_write({str(out)!r})
        f = cm.__enter__()
        f.write("x\\n" + "1\\n" * 100000)
        f.flush()
    """)
    os.kill(p.pid, signal.SIGKILL)
    p.wait()
    assert out.read_bytes() == before
    # and with no previous file: nothing under the final name
    fresh = tmp_path / "new.csv"
    p = _hold(f"""
        from sciml.files import atomic_write
        cm = atomic_write({str(fresh)!r})
        f = cm.__enter__()
        f.write("x\\n1\\n")
        f.flush()
    """)
    os.kill(p.pid, signal.SIGKILL)
    p.wait()
    assert not fresh.exists()


def test_no_overwrite_refuses_an_existing_file_even_one_that_appears_meanwhile(tmp_path):
    out = tmp_path / "t.csv"
    df = pd.DataFrame({"a": [1, 2]})
    write_table(df, out, overwrite=False)
    with pytest.raises(OutputExistsError, match="--overwrite"):
        write_table(df, out, overwrite=False)
    late = tmp_path / "late.csv"
    with pytest.raises(OutputExistsError):
        with atomic_write(late, overwrite=False) as f:
            f.write("mine")
            late.write_text("another run's")  # appears between the check and the publish
    assert late.read_text() == "another run's"


@pytest.mark.parametrize("name", ["t.csv", "t.csv.gz", "t.parquet", "t.tsv"])
def test_write_table_round_trips(tmp_path, name):
    df = pd.DataFrame({"a": [1, 2, 3], "b": ["x", "y", "z"]})
    path = write_table(df, tmp_path / name)
    back = pd.read_parquet(path) if name.endswith(".parquet") else pd.read_csv(path, sep="\t" if name.endswith(
        ".tsv") else ",")
    pd.testing.assert_frame_equal(back, df)


def test_output_lock_refuses_a_second_writer_and_is_released_when_the_holder_dies(tmp_path):
    out = tmp_path / "pred.csv"
    p = _hold(f"""
        from sciml.files import output_lock
        cm = output_lock({str(out)!r})
        cm.__enter__()
    """)
    try:
        with pytest.raises(OutputBusyError, match="another sciml run"):
            with output_lock(out):
                pass
        from typer.testing import CliRunner

        from sciml.cli import app

        res = CliRunner().invoke(app, ["predict", "--support", "s.csv", "--query", "q.csv", "--out", str(out)])
        assert res.exit_code != 0 and "another sciml run" in res.output and "Traceback" not in res.output
    finally:
        os.kill(p.pid, signal.SIGKILL)
        p.wait()
    with output_lock(out):  # the OS dropped the dead process's lock
        pass


def test_checkpoint_weights_that_do_not_match_their_hash_are_refused(tmp_path):
    import torch

    from pipelines.train import TrainConfig, build_featurizer, build_model, learner_class
    from sciml.checkpoint import CheckpointError, read_config, save_checkpoint
    from sciml.learners.loading import load_checkpoint

    cfg = TrainConfig(learner="protonet", encoder_config={"hidden": 8, "depth": 1, "out_dim": 8})
    feat = build_featurizer(cfg)
    model = build_model(cfg, feat)
    path = save_checkpoint(tmp_path / "ck", model, feat, encoder="gine", encoder_config=model.encoder.config.to_dict(),
                           learner="protonet", learner_config=learner_class("protonet").model_config(model))
    assert len(read_config(path)["weights_sha256"]) == 64
    assert sorted(p.name for p in path.iterdir()) == ["config.json", "model.safetensors"]
    load_checkpoint(path)
    torch.manual_seed(1)
    other = build_model(cfg, feat)  # same shapes, other weights: only the hash can tell
    from safetensors.torch import save_file

    save_file({k: v.contiguous() for k, v in other.state_dict().items()}, str(path / "model.safetensors"))
    with pytest.raises(CheckpointError, match="SHA-256"):
        load_checkpoint(path)


def test_published_files_get_the_usual_permissions(tmp_path):
    import stat

    from sciml.files import FILE_MODE

    out = atomic_write_text(tmp_path / "r.md", "x")
    assert stat.S_IMODE(out.stat().st_mode) == FILE_MODE  # not mkstemp's 0600


def test_shared_results_lock_serialises_read_merge_write(tmp_path):
    import json
    import threading
    import time as _time

    from sciml.files import atomic_write_text, shared_results_lock

    path = tmp_path / "records.json"
    atomic_write_text(path, "[]")

    def add(value):
        with shared_results_lock(path):
            old = json.loads(path.read_text())
            _time.sleep(0.05)  # without the lock the other writer would read the same old list
            atomic_write_text(path, json.dumps(old + [value]))

    threads = [threading.Thread(target=add, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(json.loads(path.read_text())) == [0, 1, 2, 3]
    assert (tmp_path / ".records.json.update-lock").exists()
