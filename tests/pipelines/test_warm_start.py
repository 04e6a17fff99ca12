"""Warm-starting a meta-training run's encoder from another checkpoint (``--init-encoder``)."""

from __future__ import annotations

import pytest
import torch

from pipelines.train import TrainConfig, build_model, init_encoder_from, learner_class, meta_train
from sciml.checkpoint import save_checkpoint
from sciml.domains.molecules.graphs import MolGraphFeaturizer
from tests.pipelines.test_integration import TEST, TINY, TRAIN, VAL, _collection


def _source(tmp_path, *, train_tasks=TRAIN, val_tasks=VAL, fingerprint_bits=0, hidden=32, seed=1):
    """A MAML checkpoint (random weights) whose training record names ``train_tasks``/``val_tasks``."""
    torch.manual_seed(seed)
    enc = dict(TINY["encoder_config"], hidden=hidden)
    cfg = TrainConfig(learner="maml", encoder_config=enc, fingerprint_bits=fingerprint_bits)
    feat = MolGraphFeaturizer(fingerprint_bits=fingerprint_bits)
    model = build_model(cfg, feat)
    path = save_checkpoint(tmp_path / f"maml-src-{seed}", model, feat, encoder="gine",
                           encoder_config=model.encoder.config.to_dict(), learner="maml",
                           learner_config=learner_class("maml").model_config(model),
                           training={"train_tasks": list(train_tasks), "val_tasks": list(val_tasks),
                                     "command": "sciml train --learner maml", "best_val_score": 0.7})
    return path, model


def _target(fingerprint_bits=0):
    feat = MolGraphFeaturizer(fingerprint_bits=fingerprint_bits)
    torch.manual_seed(0)
    return build_model(TrainConfig(learner="bmaml", encoder_config=TINY["encoder_config"],
                                   fingerprint_bits=fingerprint_bits), feat), feat


def test_encoder_weights_are_copied_and_the_head_is_not(tmp_path):
    coll, _ = _collection()
    path, src = _source(tmp_path)
    model, feat = _target()
    head_before = {k: v.clone() for k, v in model.state_dict().items() if not k.startswith("encoder.")}
    info = init_encoder_from(model, path, feat, coll)
    for k, v in src.encoder.state_dict().items():
        assert torch.equal(model.encoder.state_dict()[k], v), k
    assert all(torch.equal(model.state_dict()[k], v) for k, v in head_before.items())
    assert info == {"path": str(path), "learner": "maml", "command": "sciml train --learner maml",
                    "best_val_score": 0.7}


@pytest.mark.parametrize("train_tasks,val_tasks,leaked", [
    (TRAIN + TEST, VAL, TEST[0]),   # trained on our test task
    (TRAIN + VAL, [], VAL[0]),      # trained on our validation task
    (TRAIN, VAL + TEST, TEST[0]),   # selected on our test task
])
def test_a_source_that_saw_validation_or_test_tasks_is_refused(tmp_path, train_tasks, val_tasks, leaked):
    coll, _ = _collection()
    path, _ = _source(tmp_path, train_tasks=train_tasks, val_tasks=val_tasks)
    model, feat = _target()
    with pytest.raises(ValueError, match=leaked):
        init_encoder_from(model, path, feat, coll)


def test_mismatched_featurizer_or_encoder_shape_is_refused(tmp_path):
    coll, _ = _collection()
    path, _ = _source(tmp_path, fingerprint_bits=64)
    model, feat = _target()
    with pytest.raises(ValueError, match="featurizer"):
        init_encoder_from(model, path, feat, coll)
    path, _ = _source(tmp_path, hidden=16, seed=2)
    with pytest.raises(ValueError, match="encoder does not match"):
        init_encoder_from(model, path, feat, coll)
    with pytest.raises(ValueError, match="init-encoder"):
        init_encoder_from(model, tmp_path / "missing", feat, coll)


def test_meta_train_records_the_warm_start(tmp_path):
    coll, _ = _collection()
    path, src = _source(tmp_path)
    cfg = TrainConfig(**dict(TINY, steps=2, eval_every=2), learner="bmaml", init_encoder=str(path))
    res = meta_train(coll, cfg, device="cpu", progress=False)
    assert res.init_encoder["path"] == str(path) and res.init_encoder["learner"] == "maml"
    assert cfg.to_dict()["init_encoder"] == str(path)
