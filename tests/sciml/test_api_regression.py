"""FewShotModel on tiny untrained checkpoints of every meta-learner: row alignment, errors,
intervals, calibration, cross-validation, applicability domain, task checks."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch

from sciml.api import FewShotModel, load
from sciml.checkpoint import save_checkpoint
from sciml.encoders import build_encoder
from sciml.domains.molecules.graphs import ATOM_DIM, BOND_DIM, MolGraphFeaturizer
from sciml.learners import LEARNERS, make_learner
from sciml.learners.base import SupportSetError

SUPPORT = ["c1ccccc1", "Cc1ccccc1", "CCc1ccccc1", "Clc1ccccc1", "CCO", "CCCO", "CCCCO", "CC(C)O", "OCCO", "c1ccncc1"]
VALUES = [6.1, 6.5, 6.9, 6.4, 4.2, 4.6, 5.0, 4.4, 3.9, 5.8]
QUERY = ["c1ccccc1O", "", "not_a_smiles", "CCCCCO", "c1ccccc1O"]


def _checkpoint(path, learner: str, task: str, calibration=None):
    torch.manual_seed(0)
    enc = build_encoder("gine", dict(atom_dim=ATOM_DIM, bond_dim=BOND_DIM, hidden=16, depth=2, out_dim=8,
                                      dropout=0.0, norm="batch", pooling="mean"))
    cls = LEARNERS[learner]
    lc = {"learn_scale": True} if learner == "protonet" else {"task": task}
    if learner in ("maml", "fomaml"):
        lc.update(head_hidden=8, inner_steps=2, first_order=learner == "fomaml")
    if learner == "bmaml":
        lc.update(head_hidden=8, inner_steps=2, n_particles=3)
    model = cls.build_model(enc, lc).eval()
    return save_checkpoint(path, model, MolGraphFeaturizer(cache=False), encoder="gine",
                           encoder_config=enc.config.to_dict(), learner=learner,
                           learner_config=cls.model_config(model), calibration=calibration,
                           training={"task": task, "dataset": "synthetic"})


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SCIML_CACHE_DIR", str(tmp_path / "cache"))


@pytest.mark.parametrize("learner", ["maml", "fomaml", "bmaml", "dkgp"])
def test_regression_predictions_keep_one_row_per_input(tmp_path, learner):
    ckpt = _checkpoint(tmp_path / learner, learner, "regression")
    model = FewShotModel.from_checkpoint(ckpt, device="cpu")
    assert model.task == "regression"
    model.fit(SUPPORT + ["bad("], VALUES + [5.0])
    assert model.n_support_ == len(SUPPORT) and model.support_errors_["row"].tolist() == [len(SUPPORT)]
    out = model.predict(QUERY)
    assert list(out.columns) == ["smiles", "prediction", "std", "lower", "upper", "error"]
    assert len(out) == len(QUERY) and out["smiles"].tolist() == QUERY
    ok = out["error"] == ""
    assert ok.tolist() == [True, False, False, True, True]
    assert out.loc[1, "error"] == "empty SMILES" and "parse" in out.loc[2, "error"]
    good = out[ok]
    assert np.isfinite(good[["prediction", "std", "lower", "upper"]].to_numpy()).all()
    assert (good["lower"] < good["prediction"]).all() and (good["prediction"] < good["upper"]).all()
    assert out.loc[0, "prediction"] == pytest.approx(out.loc[4, "prediction"])  # duplicates agree
    assert out[~ok][["prediction", "std"]].isna().all().all()
    # predictions live in the units of the support values (standardisation is undone)
    assert 0 < good["prediction"].mean() < 12


def test_calibration_from_checkpoint_is_applied_and_can_be_switched_off(tmp_path):
    cal = {"method": "interval_scale", "scale": 2.0, "level": 0.9, "n_points": 10}
    ckpt = _checkpoint(tmp_path / "dkgp", "dkgp", "regression", calibration=cal)
    loaded = load(ckpt, device="cpu")
    raw = FewShotModel(loaded, calibrate=False).fit(SUPPORT, VALUES).predict(QUERY[:1])
    cal_out = FewShotModel(loaded).fit(SUPPORT, VALUES).predict(QUERY[:1])
    assert cal_out.loc[0, "std"] == pytest.approx(2.0 * raw.loc[0, "std"])
    assert cal_out.loc[0, "prediction"] == pytest.approx(raw.loc[0, "prediction"])
    # a regression calibration is not applied to classification predictions
    clf = FewShotModel(loaded, task="classification")
    assert clf.calibration == {}


def test_dkgp_serves_both_tasks_and_other_learners_refuse_the_other_task(tmp_path):
    loaded = load(_checkpoint(tmp_path / "dkgp", "dkgp", "regression"), device="cpu")
    assert loaded.tasks == ("regression", "classification")
    clf = FewShotModel(loaded, task="classification").fit(SUPPORT, [1, 1, 1, 1, 0, 0, 0, 0, 0, 1])
    p = clf.predict(QUERY)["prediction"]
    assert ((p.dropna() > 0) & (p.dropna() < 1)).all()
    with pytest.raises(SupportSetError, match="one class"):
        clf.fit(SUPPORT, [1] * len(SUPPORT))
    maml = load(_checkpoint(tmp_path / "maml", "maml", "regression"), device="cpu")
    with pytest.raises(ValueError, match="meta-trained for regression"):
        FewShotModel(maml, task="classification")


def test_cross_validate_and_domain(tmp_path):
    model = FewShotModel(load(_checkpoint(tmp_path / "dkgp", "dkgp", "regression"), device="cpu"))
    model.fit(SUPPORT, VALUES)
    before = model.predict(QUERY[:1])
    cv = model.cross_validate()
    assert len(cv) == len(SUPPORT) and cv["measured"].tolist() == VALUES
    assert np.isfinite(cv["prediction"]).all() and set(cv["covered"].dropna().unique()) <= {True, False}
    pd.testing.assert_frame_equal(model.predict(QUERY[:1]), before)  # the fitted state is restored
    assert len(model.cross_validate(n_folds=3)) == len(SUPPORT)
    dom = model.domain(QUERY + ["CCCCCCCCCCCCCCCCCC(=O)NC1CCCCC1"])
    assert len(dom) == len(QUERY) + 1
    assert dom.loc[1:2, "in_domain"].isna().all()
    assert not dom.loc[len(QUERY), "in_domain"] and "Tanimoto" in dom.loc[len(QUERY), "domain_reason"]


@pytest.mark.parametrize("learner", ["protonet", "maml", "fomaml", "bmaml", "dkgp"])
def test_registry_round_trip_gives_identical_predictions(tmp_path, learner):
    task = "classification"
    ckpt = _checkpoint(tmp_path / learner, learner, task)
    a = make_learner(learner, ckpt, device="cpu", task=task)
    b = make_learner(learner, ckpt, device="cpu", task=task)
    assert a.name == learner and json.loads((ckpt / "config.json").read_text())["learner"] == learner
    y = [1, 1, 1, 1, 0, 0, 0, 0, 0, 1]
    pa = a.fit(SUPPORT, y).predict(["c1ccccc1O", "CCCCCO"])
    pb = b.fit(SUPPORT, y).predict(["c1ccccc1O", "CCCCCO"])
    np.testing.assert_allclose(pa.mean, pb.mean, rtol=1e-6)
    assert ((pa.mean > 0) & (pa.mean < 1)).all()


def test_hit_rate_shifts_probabilities_keeps_ranking_and_is_validated(tmp_path):
    cal = {"method": "platt", "slope": 1.0, "bias": -1.0, "base_rate": 0.25, "n_points": 100}
    loaded = load(_checkpoint(tmp_path / "bmaml", "bmaml", "classification", calibration=cal), device="cpu")
    labels = [1, 1, 1, 1, 0, 0, 0, 0, 0, 1]
    plain = FewShotModel(loaded).fit(SUPPORT, labels)
    rare = FewShotModel(loaded, hit_rate=0.01).fit(SUPPORT, labels)
    p0, p1 = plain.predict(QUERY), rare.predict(QUERY)
    ok = p0["error"] == ""
    assert (p1["error"] == p0["error"]).all() and p1.loc[~ok, "prediction"].isna().all()
    a, b = p0.loc[ok, "prediction"].to_numpy(), p1.loc[ok, "prediction"].to_numpy()
    # logit shift by logit(0.01) - logit(0.25): every probability falls, the order stays
    lg = lambda p: np.log(p / (1 - p))  # noqa: E731
    np.testing.assert_allclose(lg(b) - lg(a), lg(0.01) - lg(0.25), atol=1e-6)
    assert (np.argsort(a, kind="stable") == np.argsort(b, kind="stable")).all()
    # the check on the support set ignores the hit rate (held-out support molecules have their own base rate)
    pd.testing.assert_frame_equal(plain.cross_validate(), rare.cross_validate())


def test_hit_rate_refused_for_regression_bad_values_and_old_calibrations(tmp_path):
    reg = load(_checkpoint(tmp_path / "dkgp", "dkgp", "regression"), device="cpu")
    with pytest.raises(ValueError, match="classification only"):
        FewShotModel(reg, hit_rate=0.1)
    with pytest.raises(ValueError, match="between 0 and 1"):
        FewShotModel(reg, task="classification", hit_rate=2.0)
    old = {"method": "platt", "slope": 1.0, "bias": 0.0, "n_points": 100}  # made before base rates were stored
    clf = load(_checkpoint(tmp_path / "maml", "maml", "classification", calibration=old), device="cpu")
    with pytest.raises(ValueError, match="sciml calibrate"):
        FewShotModel(clf, hit_rate=0.1)
    FewShotModel(clf, hit_rate=0.1, calibrate=False)  # raw probabilities: balanced-support reference
