"""Adapted-state export / import: identical predictions after a round trip through files, clear errors, atomic writes."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from safetensors.numpy import load_file

from sciml.checkpoint import CONFIG, save_checkpoint
from sciml.domains.molecules.graphs import ATOM_DIM, BOND_DIM, MolGraphFeaturizer
from sciml.encoders import build_encoder
from sciml.errors import NotFittedError
from sciml.learners import LEARNERS
from sciml.learners import adapted as adapted_mod
from sciml.learners.adapted import ARRAYS, META, checkpoint_fingerprint, load_adapted, read_adapted_meta, save_adapted
from sciml.learners.baselines import KNNTanimotoBaseline, RandomForestBaseline
from sciml.learners.bmaml import BMAML, BMAMLConfig
from sciml.learners.dkgp import DeepKernelGP
from sciml.learners.gp_baseline import TanimotoGPBaseline
from sciml.learners.maml import MAML, MAMLConfig, MAMLLearner
from sciml.learners.protonet import ProtoNet

from tests.sciml.learners.models import ALCOHOLS, AROMATICS, LABELS, QUERY, SUPPORT, TARGETS  # noqa: F401


pytestmark = pytest.mark.usefixtures("one_thread")


def _encoder(fingerprint_bits: int = 0, seed: int = 0):
    torch.manual_seed(seed)
    cfg = dict(atom_dim=ATOM_DIM, bond_dim=BOND_DIM, hidden=16, depth=2, out_dim=8, dropout=0.0, norm="batch",
               pooling="mean", gfeat_dim=fingerprint_bits, gfeat_hidden=8)
    return build_encoder("gine", cfg), cfg


#: id -> (registry name, task, model factory(encoder) , fingerprint bits, constructor kwargs)
META_CASES = {
    "protonet": ("protonet", "classification", lambda e: ProtoNet(e), 0, {}),
    "maml-head-cls": ("maml", "classification", lambda e: MAML(e, MAMLConfig(inner_steps=2, head_hidden=8)), 0, {}),
    "maml-head-reg": ("maml", "regression",
                      lambda e: MAML(e, MAMLConfig(inner_steps=2, head_hidden=8, task="regression")), 0, {}),
    "maml-all-metasgd": ("maml", "classification",
                         lambda e: MAML(e, MAMLConfig(inner_steps=1, head_hidden=4, adapt="all", meta_sgd=True)), 0,
                         {"batch_size": 4}),
    "fomaml-zero-init": ("fomaml", "regression",
                         lambda e: MAML(e, MAMLConfig(inner_steps=2, head_hidden=8, first_order=True,
                                                      zero_init_head=True, task="regression")), 0, {}),
    "bmaml-cls": ("bmaml", "classification",
                  lambda e: BMAML(e, BMAMLConfig(n_particles=3, inner_steps=2, head_hidden=6)), 0, {}),
    "bmaml-reg": ("bmaml", "regression",
                  lambda e: BMAML(e, BMAMLConfig(n_particles=3, inner_steps=2, head_hidden=6, task="regression")),
                  0, {}),
    "dkgp-cls": ("dkgp", "classification", lambda e: DeepKernelGP(e, task="classification"), 0, {"adapt_steps": 5}),
    "dkgp-reg-fp": ("dkgp", "regression", lambda e: DeepKernelGP(e, task="regression", fingerprint_kernel=True),
                    16, {"adapt_steps": 5}),
    "dkgp-cls-serving-reg": ("dkgp", "regression", lambda e: DeepKernelGP(e, task="classification", ard=True), 0,
                             {"adapt_steps": 3, "task": "regression"}),
}


def _checkpoint(folder, case: str, training: dict | None = None):
    name, _, make, bits, _ = META_CASES[case]
    enc, enc_cfg = _encoder(bits)
    model = make(enc)
    cls = LEARNERS[name]
    return save_checkpoint(folder, model, MolGraphFeaturizer(fingerprint_bits=bits), encoder="gine",
                           encoder_config=enc_cfg, learner=name, learner_config=cls.model_config(model),
                           training=training or {"dataset": "toy"})


def _from_checkpoint(path, case: str):
    name, _, _, _, kwargs = META_CASES[case]
    return LEARNERS[name].from_checkpoint(path, device="cpu", **kwargs)


def _labels(task: str) -> np.ndarray:
    return LABELS if task == "classification" else TARGETS


def _assert_same_predictions(a, b, inputs=QUERY):
    pa, pb = a.predict(inputs), b.predict(inputs)
    for field in ("mean", "std", "lower", "upper"):
        np.testing.assert_array_equal(getattr(pa, field), getattr(pb, field), err_msg=field)
    if a.task == "classification":
        np.testing.assert_array_equal(a.predict_proba(inputs), b.predict_proba(inputs))


# ------------------------------------------------------------------------- round trips
@pytest.mark.parametrize("case", list(META_CASES))
def test_meta_learner_round_trip_gives_identical_predictions(case, tmp_path):
    path = _checkpoint(tmp_path / "ckpt", case)
    task = META_CASES[case][1]
    fitted = _from_checkpoint(path, case).fit(SUPPORT, _labels(task))
    assert fitted.task == task
    state = fitted.adapted_state()  # before predicting: a Laplace GP refreshes its mode (to 1e-15) when it predicts
    save_adapted(fitted, tmp_path / "adapted", meta={"assay": "toy", "shots": 10})
    fresh = _from_checkpoint(path, case)
    with pytest.raises(NotFittedError):
        fresh.predict(QUERY)
    assert load_adapted(fresh, tmp_path / "adapted") is fresh
    assert fresh.n_support_ == len(SUPPORT)
    _assert_same_predictions(fitted, fresh)

    header = read_adapted_meta(tmp_path / "adapted")
    assert header["learner"] == META_CASES[case][0] and header["task"] == task and header["n_support"] == 10
    assert header["checkpoint"] == checkpoint_fingerprint(fitted.config_) and header["checkpoint"].startswith("sha256:")
    assert header["meta"] == {"assay": "toy", "shots": 10} and header["sciml_version"]
    # the arrays file holds exactly the adapted state, as plain arrays
    stored = load_file(str(tmp_path / "adapted" / ARRAYS))
    assert set(stored) == set(state)
    for k in state:
        np.testing.assert_array_equal(stored[k], state[k], err_msg=k)


BASELINE_CASES = {
    "knn-cls": lambda: KNNTanimotoBaseline(k=3),
    "knn-reg": lambda: KNNTanimotoBaseline(k=3, task="regression"),
    "gp-tanimoto-cls": lambda: TanimotoGPBaseline(steps=10),
    "gp-tanimoto-reg": lambda: TanimotoGPBaseline(task="regression", steps=10),
}


@pytest.mark.parametrize("case", list(BASELINE_CASES))
def test_baseline_round_trip_gives_identical_predictions(case, tmp_path):
    fitted = BASELINE_CASES[case]()
    fitted.fit(SUPPORT, _labels(fitted.task))
    save_adapted(fitted, tmp_path)
    fresh = load_adapted(BASELINE_CASES[case](), tmp_path)
    assert fresh.n_support_ == len(SUPPORT)
    _assert_same_predictions(fitted, fresh)
    assert read_adapted_meta(tmp_path)["checkpoint"] is None  # baselines have no checkpoint


def test_in_memory_learner_without_checkpoint_round_trips(tmp_path):
    enc, _ = _encoder()
    model = MAML(enc, MAMLConfig(inner_steps=2, head_hidden=8))
    fitted = MAMLLearner(model, MolGraphFeaturizer(cache=False), device="cpu").fit(SUPPORT, LABELS)
    save_adapted(fitted, tmp_path)
    fresh = MAMLLearner(model, MolGraphFeaturizer(cache=False), device="cpu")
    _assert_same_predictions(fitted, load_adapted(fresh, tmp_path))


def test_random_forest_says_it_cannot_export_and_nothing_is_written(tmp_path):
    rf = RandomForestBaseline(n_estimators=5).fit(SUPPORT, LABELS)
    with pytest.raises(NotImplementedError, match="refit"):
        rf.adapted_state()
    with pytest.raises(NotImplementedError):
        save_adapted(rf, tmp_path / "rf")
    assert not (tmp_path / "rf").exists()
    with pytest.raises(NotImplementedError):
        RandomForestBaseline().load_adapted_state({})


@pytest.mark.parametrize("case", ["protonet", "maml-head-cls", "bmaml-reg", "dkgp-cls"])
def test_unfitted_learner_has_no_adapted_state(case, tmp_path):
    learner = _from_checkpoint(_checkpoint(tmp_path / "ckpt", case), case)
    with pytest.raises(NotFittedError, match="not fitted"):
        learner.adapted_state()
    with pytest.raises(NotFittedError):
        save_adapted(learner, tmp_path / "out")
    with pytest.raises(NotFittedError):
        KNNTanimotoBaseline().adapted_state()


# ------------------------------------------------------------------------- mismatches
def test_learner_and_task_mismatches_name_the_file_and_key(tmp_path):
    save_adapted(KNNTanimotoBaseline(k=3).fit(SUPPORT, LABELS), tmp_path)
    with pytest.raises(ValueError, match=rf"{META}: 'learner' is 'knn'.*'gp_tanimoto'"):
        load_adapted(TanimotoGPBaseline(), tmp_path)
    with pytest.raises(ValueError, match=rf"{META}: 'task' is 'classification'.*'regression'"):
        load_adapted(KNNTanimotoBaseline(task="regression"), tmp_path)


def test_checkpoint_fingerprint_must_match_but_ignores_post_hoc_settings(tmp_path):
    case = "maml-head-cls"
    path = _checkpoint(tmp_path / "a", case, training={"dataset": "toy", "steps": 3})
    other = _checkpoint(tmp_path / "b", case, training={"dataset": "toy", "steps": 4})  # same weights, other run
    fitted = _from_checkpoint(path, case).fit(SUPPORT, LABELS)
    save_adapted(fitted, tmp_path / "adapted")
    with pytest.raises(ValueError, match=rf"{META}: 'checkpoint' is sha256:.*another model"):
        load_adapted(_from_checkpoint(other, case), tmp_path / "adapted")
    # test-time selection and calibration written into config.json later do not change the model
    cfg = json.loads((path / CONFIG).read_text())
    cfg.update(test_time={"inner_steps": 7}, calibration={"method": "platt", "slope": 1.3, "bias": 0.1},
               test_time_selection={"chosen": {"inner_steps": 7}})
    (path / CONFIG).write_text(json.dumps(cfg))
    reloaded = load_adapted(_from_checkpoint(path, case), tmp_path / "adapted")
    assert reloaded.inner_steps == 7  # the stored fast weights are used, not a new adaptation
    _assert_same_predictions(fitted, reloaded)


def test_state_that_does_not_fit_the_model_names_the_key(tmp_path):
    enc, _ = _encoder()
    small = MAMLLearner(MAML(enc, MAMLConfig(head_hidden=8)), MolGraphFeaturizer(cache=False), device="cpu")
    save_adapted(small.fit(SUPPORT, LABELS), tmp_path)
    enc2, _ = _encoder()
    wide = MAMLLearner(MAML(enc2, MAMLConfig(head_hidden=6)), MolGraphFeaturizer(cache=False), device="cpu")
    with pytest.raises(ValueError, match=rf"{ARRAYS}: the adapted state's 'fast.head.0.bias' has shape \(8,\), "
                                         r"the model's parameter has \(6,\)"):
        load_adapted(wide, tmp_path)
    anil_all = MAMLLearner(MAML(enc2, MAMLConfig(head_hidden=8, adapt="all")), MolGraphFeaturizer(cache=False),
                           device="cpu")
    with pytest.raises(ValueError, match="missing \\['fast.encoder"):
        load_adapted(anil_all, tmp_path)
    assert not hasattr(wide, "fast_weights_") and not hasattr(anil_all, "fast_weights_")


@pytest.mark.parametrize("edit, message", [
    (lambda d: (d / META).unlink(), "holds no complete adapted state"),
    (lambda d: (d / META).write_text("{not json"), "not valid JSON"),
    (lambda d: (d / META).write_text(json.dumps({"format": "other"})), "'format' must be 'sciml-adapted'"),
    (lambda d: _edit(d, format_version=99), "'format_version' 99 is not supported"),
    (lambda d: _edit(d, arrays_sha256=None, drop="arrays_sha256"), "lacks the key 'arrays_sha256'"),
    (lambda d: (d / ARRAYS).unlink(), f"{ARRAYS} not found"),
    (lambda d: (d / ARRAYS).write_bytes(b"garbage"), "'arrays_sha256' differs"),
])
def test_broken_folders_are_refused_with_the_file_named(tmp_path, edit, message):
    save_adapted(KNNTanimotoBaseline(k=3).fit(SUPPORT, LABELS), tmp_path)
    edit(tmp_path)
    with pytest.raises(ValueError, match=message):
        load_adapted(KNNTanimotoBaseline(k=3), tmp_path)


def _edit(folder, drop: str | None = None, **changes):
    header = json.loads((folder / META).read_text())
    header.update(changes)
    if drop:
        header.pop(drop)
    (folder / META).write_text(json.dumps(header))


def test_meta_must_be_json(tmp_path):
    with pytest.raises(TypeError):
        save_adapted(KNNTanimotoBaseline(k=3).fit(SUPPORT, LABELS), tmp_path / "x", meta={"when": object()})
    assert not (tmp_path / "x").exists()


# ------------------------------------------------------------------------- atomic writes
def _crash_on(monkeypatch, target_name: str):
    """Make ``os.replace`` in sciml.learners.adapted fail when it would create ``target_name``."""
    real = adapted_mod.os.replace

    def replace(src, dst):
        if str(dst).endswith(target_name):
            raise OSError("simulated crash")
        return real(src, dst)

    monkeypatch.setattr(adapted_mod.os, "replace", replace)


def test_crash_between_the_two_files_never_leaves_a_complete_looking_state(tmp_path, monkeypatch):
    first = KNNTanimotoBaseline(k=1).fit(SUPPORT, LABELS)
    second = KNNTanimotoBaseline(k=1).fit(SUPPORT, 1.0 - LABELS)
    with monkeypatch.context() as m:
        _crash_on(m, META)  # arrays are in place, the JSON never arrives
        with pytest.raises(OSError, match="simulated"):
            save_adapted(first, tmp_path / "fresh")
    assert (tmp_path / "fresh" / ARRAYS).exists() and not (tmp_path / "fresh" / META).exists()
    assert not list((tmp_path / "fresh").glob("*.tmp")) and not list((tmp_path / "fresh").glob(".*"))
    with pytest.raises(ValueError, match="holds no complete adapted state"):
        load_adapted(KNNTanimotoBaseline(k=1), tmp_path / "fresh")

    # overwriting a complete state: new arrays under the old JSON are detected, not mixed
    save_adapted(first, tmp_path / "over")
    with monkeypatch.context() as m:
        _crash_on(m, META)
        with pytest.raises(OSError):
            save_adapted(second, tmp_path / "over")
    with pytest.raises(ValueError, match="'arrays_sha256' differs"):
        load_adapted(KNNTanimotoBaseline(k=1), tmp_path / "over")
    save_adapted(second, tmp_path / "over")  # a completed write repairs the folder
    _assert_same_predictions(second, load_adapted(KNNTanimotoBaseline(k=1), tmp_path / "over"))

    # a crash before the arrays are replaced leaves the previous complete state readable
    with monkeypatch.context() as m:
        _crash_on(m, ARRAYS)
        with pytest.raises(OSError):
            save_adapted(first, tmp_path / "over")
    assert not list((tmp_path / "over").glob(".*.tmp"))
    _assert_same_predictions(second, load_adapted(KNNTanimotoBaseline(k=1), tmp_path / "over"))
