"""The multitask pretraining run: a loadable checkpoint that records its train tasks and warm-starts meta-training."""

from __future__ import annotations

import numpy as np
import pytest

from assays.task import Task
from pipelines.pretrain_multitask import MultitaskPretrainConfig, pretrain_multitask

SMILES = ["CCO", "CCCO", "CCCCO", "CCCCCO", "c1ccccc1", "c1ccccc1C", "c1ccccc1CC", "c1ccccc1O", "CCN", "CCCN",
          "CCCCN", "c1ccncc1", "c1ccncc1C", "CC(=O)O", "CCC(=O)O", "c1ccccc1N", "ClCCCl", "BrCCBr", "CCOCC",
          "c1ccc2ccccc2c1", "C1CCCCC1", "C1CCNCC1", "OCCO", "NCCN"]


def _tasks():
    arom = [float("c1" in s) for s in SMILES]
    nitrogen = [float("N" in s or "n" in s) for s in SMILES]
    size = [float(len(s)) for s in SMILES]
    return [Task("toy/arom", SMILES, np.array(arom), "classification"),
            Task("toy/nitrogen", SMILES[:16], np.array(nitrogen[:16]), "classification"),
            Task("toy/size", SMILES[8:], np.array(size[8:]), "regression")]


def _cfg(**kw):
    return MultitaskPretrainConfig(steps=12, batch_size=8, warmup_steps=2, eval_every=4, holdout=0.2,
                                   encoder_config={"hidden": 16, "depth": 2, "out_dim": 8}, **kw)


def test_run_writes_a_checkpoint_that_records_its_tasks(tmp_path):
    rec = pretrain_multitask(_cfg(), _tasks(), tmp_path / "mt", command="test")
    assert rec["n_tasks"] == 3 and rec["classification_tasks"] == 2 and rec["molecules"] == len(SMILES)
    assert rec["holdout_molecules"] == 5 and rec["best_step"] in (4, 8, 12)
    assert [c["step"] for c in rec["curve"]] == [4, 8, 12]
    assert rec["best_holdout_loss"] == min(c["holdout_loss"] for c in rec["curve"])
    from sciml.checkpoint import read_config
    from sciml.learners.loading import load_checkpoint

    cfg = read_config(tmp_path / "mt")
    assert cfg["training"]["train_tasks"] == ["toy/arom", "toy/nitrogen", "toy/size"]
    model, feat, _ = load_checkpoint(tmp_path / "mt")
    assert model.encoder.out_dim == 8 and (tmp_path / "mt" / "pretraining.json").is_file()


def test_same_seed_same_weights(tmp_path):
    import torch

    from sciml.learners.loading import load_checkpoint

    pretrain_multitask(_cfg(), _tasks(), tmp_path / "a")
    pretrain_multitask(_cfg(), _tasks(), tmp_path / "b")
    wa, wb = load_checkpoint(tmp_path / "a")[0].state_dict(), load_checkpoint(tmp_path / "b")[0].state_dict()
    assert all(torch.equal(wa[k], wb[k]) for k in wa)


def test_warm_start_refuses_a_run_that_keeps_a_pretraining_task_for_validation(tmp_path):
    import torch

    from assays.task import TaskCollection
    from pipelines.train import build_featurizer, init_encoder_from, TrainConfig
    from sciml.learners.loading import load_checkpoint

    pretrain_multitask(_cfg(), _tasks(), tmp_path / "mt")
    tasks = {t.name: t for t in _tasks()}
    src = load_checkpoint(tmp_path / "mt")[0]
    feat = build_featurizer(TrainConfig(learner="protonet"))
    clean = TaskCollection(name="c", tasks=tasks, train=["toy/arom", "toy/nitrogen"], val=[], test=[])
    model = load_checkpoint(tmp_path / "mt")[0]
    for p in model.encoder.parameters():
        torch.nn.init.zeros_(p)
    info = init_encoder_from(model, tmp_path / "mt", feat, clean)
    assert info["learner"] == "protonet"
    assert all(torch.equal(a, b) for a, b in zip(model.encoder.state_dict().values(), src.encoder.state_dict().values()))
    leaky = TaskCollection(name="c", tasks=tasks, train=["toy/arom"], val=["toy/size"], test=[])
    with pytest.raises(ValueError, match="toy/size"):
        init_encoder_from(model, tmp_path / "mt", feat, leaky)


def test_bad_settings_fail():
    with pytest.raises(ValueError, match="holdout"):
        MultitaskPretrainConfig(holdout=0.0)
    with pytest.raises(ValueError, match="batch_size"):
        MultitaskPretrainConfig(batch_size=1)
