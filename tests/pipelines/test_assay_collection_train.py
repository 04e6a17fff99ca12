"""Meta-training on a lab's own long-format assay table, through pipelines.run.collection_from_tasks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from rdkit import Chem

from pipelines.run import collection_from_tasks, load_collection
from pipelines.train import TrainConfig, meta_train

CORES = ["c1ccccc1", "C1CCCCC1", "c1ccncc1", "C1CCOC1"]
SUBSTITUENTS = ["C", "O", "N", "Cl", "F", "Br", "OC(=O)", "NC(=O)", "N#CC", "CCO"]
MOLECULES = [Chem.MolToSmiles(Chem.MolFromSmiles(s + c)) for c in CORES for s in SUBSTITUENTS]
#: assay -> SMARTS; a molecule is active when it holds the substructure
ASSAYS = {"has-N": "[#7]", "has-O": "[#8]", "halogen": "[F,Cl,Br,I]", "carbonyl": "[CX3]=O", "aromatic": "[a]"}

TINY = dict(encoder_config={"hidden": 32, "depth": 2, "out_dim": 32, "pooling": "mean+max", "dropout": 0.0,
                            "norm": "batch", "residual": True, "gfeat_hidden": 32},
            k_shot=2, n_query=4, steps=10, eval_every=5, warmup_steps=2, lr=3e-3, val_seeds=1, seed=0)


def _table(path, *, regression: bool = False):
    rows = []
    for assay, smarts in ASSAYS.items():
        patt = Chem.MolFromSmarts(smarts)
        for smi in MOLECULES:
            mol = Chem.MolFromSmiles(smi)
            hit = mol.HasSubstructMatch(patt)
            value = len(mol.GetSubstructMatches(patt)) + 0.1 * mol.GetNumHeavyAtoms() if regression else int(hit)
            rows.append({"assay_id": assay, "smiles": smi, "value": value, "unit": "pIC50" if regression else ""})
    rows.append({"assay_id": "has-N", "smiles": "not a smiles", "value": 1})
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


@pytest.mark.slow
def test_protonet_meta_trains_on_a_long_table(tmp_path):
    coll, report = collection_from_tasks(_table(tmp_path / "my_assays.csv"), seed=0)
    assert (report["status"] == "ok").all() and report.set_index("assay").loc["has-N", "invalid structure"] == 1
    assert len(coll.train) == 3 and len(coll.val) == 1 and len(coll.test) == 1
    res = meta_train(coll, TrainConfig(learner="protonet", **TINY), device="cpu", progress=False)
    assert res.task == "classification" and res.steps_run == 10
    assert [h["step"] for h in res.history] == [5, 10] and all(np.isfinite(h["train_loss"]) for h in res.history)

    same = load_collection(str(tmp_path / "my_assays.csv"), val_seed=0)  # what train_on_dataset reads for a path
    assert (same.train, same.val, same.test) == (coll.train, coll.val, coll.test)


@pytest.mark.slow
def test_maml_meta_trains_on_regression_assays(tmp_path):
    coll, _ = collection_from_tasks(_table(tmp_path / "pic50.csv", regression=True), seed=1)
    assert {t.kind for t in coll.tasks.values()} == {"regression"} and coll.tasks["halogen"].meta["unit"] == "pIC50"
    cfg = TrainConfig(learner="maml", learner_config={"inner_steps": 1}, **{**TINY, "steps": 4, "eval_every": 2})
    res = meta_train(coll, cfg, device="cpu", progress=False)
    assert res.task == "regression" and res.val_metric == "r2" and res.steps_run == 4


def test_mixed_kinds_need_a_kind_and_data_dir_lookup(tmp_path):
    a = pd.read_csv(_table(tmp_path / "c.csv"))
    b = pd.read_csv(_table(tmp_path / "r.csv", regression=True)).assign(assay_id=lambda d: "reg-" + d.assay_id)
    pd.concat([a, b]).to_csv(tmp_path / "mixed.csv", index=False)
    with pytest.raises(ValueError, match="holds 5 classification and 5 regression assays.*kind="):
        collection_from_tasks(tmp_path / "mixed.csv")
    coll, report = collection_from_tasks("mixed.csv", data_dir=tmp_path, kind="regression")
    assert {t.kind for t in coll.tasks.values()} == {"regression"} and len(coll.tasks) == 5
    assert set(coll.train + coll.val + coll.test) == set(coll.tasks)
    assert (report.loc[report["kind"] == "classification", "why"] == "not regression").all()
    with pytest.raises(ValueError, match="kind must be classification or regression"):
        collection_from_tasks(tmp_path / "mixed.csv", kind="ranking")


@pytest.fixture
def runner():
    """CliRunner; restores the root logger that the commands reconfigure."""
    import logging

    from typer.testing import CliRunner

    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield CliRunner()
    root.handlers[:], root.level = handlers, level


@pytest.mark.slow
def test_sciml_train_tasks_writes_a_checkpoint_of_the_lab_assays(tmp_path, runner):
    import json

    from sciml.cli import app
    from sciml.learners.loading import load_checkpoint

    table = _table(tmp_path / "my_assays.csv")
    out = tmp_path / "ckpt"
    res = runner.invoke(app, ["train", "--tasks", str(table), "--out", str(out), "--learner", "protonet",
                              "--steps", "4", "--eval-every", "2", "--k-shot", "2", "--n-query", "4", "--hidden", "16",
                              "--depth", "1", "--out-dim", "16"])
    assert res.exit_code == 0, res.output
    assert "5 tasks (3 train / 1 val / 1 test)" in res.output and "0 assays skipped" in res.output
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["domain"] == "molecules" and cfg["training"]["dataset"] == str(table)
    coll, _ = collection_from_tasks(table, seed=0)
    assert cfg["training"]["train_tasks"] == coll.train and cfg["training"]["test_tasks_never_used"] == coll.test
    model, featurizer, _ = load_checkpoint(out)
    assert model.encoder.config.hidden == 16


def test_sciml_train_needs_exactly_one_source(tmp_path, runner):
    from sciml.cli import app

    for args in ([], ["--dataset", "tox21", "--tasks", str(tmp_path)]):
        res = runner.invoke(app, ["train", "--out", str(tmp_path / "x"), *args])
        assert res.exit_code == 2 and "either --dataset" in res.output
    res = runner.invoke(app, ["train", "--out", str(tmp_path / "x"), "--tasks", str(tmp_path), "--task", "both"])
    assert res.exit_code == 2 and "--task must be classification or regression" in res.output
