"""Test-time settings chosen on validation tasks: the grid, the choice, and the checkpoint's ``test_time``."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import pipelines.run as run_mod
from pipelines.select import grid_candidates, select_test_time, selection_markdown
from sciml.api import FewShotModel
from sciml.checkpoint import CheckpointError, save_checkpoint
from sciml.encoders import build_encoder
from sciml.domains.molecules.graphs import ATOM_DIM, BOND_DIM, MolGraphFeaturizer
from sciml.learners import LEARNERS, make_learner
from tests.pipelines.test_integration import _collection


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SCIML_CACHE_DIR", str(tmp_path / "cache"))


def _checkpoint(path, learner="dkgp", *, test_time=None, calibration=None, dataset="tox21"):
    torch.manual_seed(0)
    enc = build_encoder("gine", dict(atom_dim=ATOM_DIM, bond_dim=BOND_DIM, hidden=16, depth=2, out_dim=8,
                                      dropout=0.0, norm="batch", pooling="mean"))
    cls = LEARNERS[learner]
    lc = {"task": "classification"}
    if learner == "maml":
        lc.update(head_hidden=8, inner_steps=2)
    model = cls.build_model(enc, lc).eval()
    save_checkpoint(path, model, MolGraphFeaturizer(cache=False), encoder="gine", encoder_config=enc.config.to_dict(),
                    learner=learner, learner_config=cls.model_config(model), calibration=calibration,
                    training={"dataset": dataset, "config": {"k_shot": 2, "val_seeds": 2, "seed": 0}})
    if test_time is not None:
        cfg = json.loads((path / "config.json").read_text())
        cfg["test_time"] = test_time
        (path / "config.json").write_text(json.dumps(cfg))
    return path


def test_grid_candidates_cover_every_combination_in_order():
    assert grid_candidates({"a": [1, 2], "b": ["x", "y"]}) == [
        {"a": 1, "b": "x"}, {"a": 1, "b": "y"}, {"a": 2, "b": "x"}, {"a": 2, "b": "y"}]
    for bad in ({}, {"a": []}, {"a": 3}, [1, 2]):
        with pytest.raises(ValueError, match="grid"):
            grid_candidates(bad)


def test_checkpoint_test_time_settings_are_defaults_that_explicit_arguments_override(tmp_path):
    ck = _checkpoint(tmp_path / "dk", test_time={"adapt_steps": 7})
    assert make_learner("dkgp", ck, device="cpu").adapt_steps == 7
    assert make_learner("dkgp", ck, device="cpu", adapt_steps=3).adapt_steps == 3
    assert FewShotModel(ck, device="cpu").learner_.adapt_steps == 7
    mk = _checkpoint(tmp_path / "maml", "maml", test_time={"inner_steps": 0})
    assert make_learner("maml", mk, device="cpu").inner_steps == 0


@pytest.mark.parametrize("bad", [{"no_such_setting": 1}, [1, 2]])
def test_a_checkpoint_with_unusable_test_time_settings_is_refused(tmp_path, bad):
    ck = _checkpoint(tmp_path / "dk", test_time=bad)
    with pytest.raises(CheckpointError, match="test_time|test-time"):
        make_learner("dkgp", ck, device="cpu")
    with pytest.raises(CheckpointError, match="test_time|test-time"):
        FewShotModel(ck, device="cpu")


def test_select_scores_validation_tasks_only_and_stores_the_best(tmp_path, monkeypatch):
    coll, _ = _collection()
    calls = []

    def fake_load(dataset, data_dir=None):
        calls.append(dataset)
        return coll

    monkeypatch.setattr(run_mod, "load_collection", fake_load)
    import pipelines.evaluate as ev

    seen_splits = []
    real = ev.evaluate_learner

    def spy(*a, **kw):
        seen_splits.append(kw.get("split"))
        return real(*a, **kw)

    monkeypatch.setattr(ev, "evaluate_learner", spy)
    ck = _checkpoint(tmp_path / "dk", calibration={"method": "platt", "slope": 1.0, "bias": 0.0, "n_points": 1})
    res = select_test_time(ck, "tox21", {"adapt_steps": [0, 5]}, shots=[2], seeds=range(2), command="test")
    assert calls == ["tox21"] and seen_splits == ["val", "val"]
    assert [c["settings"] for c in res["candidates"]] == [{"adapt_steps": 0}, {"adapt_steps": 5}]
    scores = [c["score"] for c in res["candidates"]]
    assert all(np.isfinite(scores))
    assert res["chosen"] == res["candidates"][int(np.argmax(scores))]["settings"]
    assert res["val_tasks"] == coll.val and res["metric"] == "roc_auc"
    # The calibration is refitted with the chosen settings (Platt on the validation episodes).
    assert res["calibration"]["method"] == "platt" and res["calibration"]["n_points"] > 1
    cfg = json.loads((ck / "config.json").read_text())
    assert cfg["test_time"] == res["chosen"]
    assert cfg["calibration"] == res["calibration"]
    assert cfg["test_time_selection"]["candidates"] == res["candidates"]
    assert make_learner("dkgp", ck, device="cpu").adapt_steps == res["chosen"]["adapt_steps"]
    md = selection_markdown(res)
    assert md.count("| `{") == 2 and "| yes |" in md


def test_select_takes_an_already_built_collection_of_the_checkpoints_dataset(tmp_path, monkeypatch):
    # the new-assay protocol's pooled collection cannot be loaded by name: it is passed in
    coll, _ = _collection()
    coll.name = "new_assay/classification"

    def no_load(dataset, data_dir=None):
        raise AssertionError("the collection was given; nothing should be loaded")

    monkeypatch.setattr(run_mod, "load_collection", no_load)
    ck = _checkpoint(tmp_path / "dk", dataset=coll.name)
    res = select_test_time(ck, coll.name, {"adapt_steps": [0, 3]}, shots=[2], seeds=range(2), collection=coll,
                           write=False)
    assert res["dataset"] == coll.name and res["val_tasks"] == coll.val
    assert res["chosen"] in ({"adapt_steps": 0}, {"adapt_steps": 3})
    assert "test_time" not in json.loads((ck / "config.json").read_text())  # write=False leaves it alone
    other = _checkpoint(tmp_path / "dk-tox21", dataset="tox21")
    with pytest.raises(ValueError, match="collection given is 'new_assay/classification', not 'tox21'"):
        select_test_time(other, "tox21", {"adapt_steps": [0]}, collection=coll)


def test_select_refuses_a_checkpoint_trained_on_another_dataset(tmp_path):
    ck = _checkpoint(tmp_path / "dk", dataset="sider")
    with pytest.raises(CheckpointError, match="sider"):
        select_test_time(ck, "tox21", {"adapt_steps": [0]})


def test_cli_select_reports_bad_input_without_a_traceback(tmp_path):
    from typer.testing import CliRunner

    from sciml.cli import app

    runner = CliRunner()
    ck = _checkpoint(tmp_path / "dk")
    for args, needle in [
        (["--grid", "{not json"], "not valid JSON"),
        (["--grid", '{"adapt_steps": []}'], "non-empty list"),
        (["--dataset", "qm9"], "qm9"),
        (["--checkpoint", str(tmp_path / "missing")], "not found"),
    ]:
        base = {"--checkpoint": str(ck), "--dataset": "tox21", "--grid": '{"adapt_steps": [0]}',
                "--data-dir": str(tmp_path)}
        base.update(dict(zip(args[::2], args[1::2])))
        res = runner.invoke(app, ["select", *[x for kv in base.items() for x in kv]])
        assert res.exit_code == 2, (args, res.output)
        assert needle in res.output and "Traceback" not in res.output


def test_recalibrate_adds_the_base_rate_and_refuses_another_dataset(tmp_path, monkeypatch):
    from pipelines.select import recalibrate

    coll, _ = _collection()
    monkeypatch.setattr(run_mod, "load_collection", lambda dataset, data_dir=None: coll)
    no_rate = {"method": "platt", "slope": 1.0, "bias": 0.0, "n_points": 1}  # a Platt calibration without base_rate
    ck = _checkpoint(tmp_path / "dk", calibration=no_rate)
    with pytest.raises(ValueError, match="sciml calibrate"):
        FewShotModel(ck, device="cpu", hit_rate=0.1)
    cal = recalibrate(ck, "tox21")
    val = coll.tasks[coll.val[0]]
    assert cal["method"] == "platt" and 0 < cal["base_rate"] < 1 and cal["n_points"] > 0
    # validation episodes: k positives + k negatives for support, the rest is the query
    assert cal["base_rate"] == pytest.approx((val.labels.sum() - 2) / (len(val.labels) - 4))
    stored = json.loads((ck / "config.json").read_text())["calibration"]
    assert stored == cal
    FewShotModel(ck, device="cpu", hit_rate=0.1)  # accepted once the base rate is stored
    with pytest.raises(CheckpointError, match="meta-trained on 'tox21'"):
        recalibrate(ck, "sider")
