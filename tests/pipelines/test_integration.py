"""End to end: meta-train on a synthetic task collection, checkpoint, evaluate, summarize, merge, report; the CLI."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from rdkit import Chem
from typer.main import get_command
from typer.testing import CliRunner

import pipelines.train as train_mod
from assays.task import Task, TaskCollection
from pipelines.evaluate import RECORD_KEYS, evaluate_learner, merge_records, summarize
from pipelines.report import write_report
from pipelines.train import TrainConfig, meta_train
from sciml.checkpoint import save_checkpoint
from sciml.learners.loading import load_checkpoint
from sciml.cli import app
from sciml.learners.baselines import RandomForestBaseline
from sciml.learners.protonet import ProtoNetLearner
from sciml.metrics import METRICS

# --------------------------------------------------------------------------- synthetic collection

CORES = ["c1ccccc1", "C1CCCCC1", "c1ccncc1", "C1CCOC1", "CC(C)C", "C1CCNCC1", "c1ccsc1", "C=CC"]
SUBSTITUENTS = ["C", "O", "N", "Cl", "F", "Br", "OC(=O)", "NC(=O)", "N#CC", "CCO"]
#: task -> SMARTS; the label is 1 when the molecule contains the substructure
SUBSTRUCTURES = {
    "has_N": "[#7]", "has_O": "[#8]", "halogen": "[F,Cl,Br,I]", "carbonyl": "[CX3]=O",  # train
    "ring": "[R]",  # validation
    "aromatic": "[a]",  # test
}
TRAIN, VAL, TEST = ["syn/has_N", "syn/has_O", "syn/halogen", "syn/carbonyl"], ["syn/ring"], ["syn/aromatic"]


def _molecules() -> list[str]:
    smi = [Chem.MolToSmiles(Chem.MolFromSmiles(s + c)) for c in CORES for s in SUBSTITUENTS]
    assert len(set(smi)) == len(smi) == 80
    return smi


def _collection() -> tuple[TaskCollection, set[str]]:
    """80 molecules; every 8th is measured only in the test task (as unmeasured cells in MoleculeNet)."""
    smiles = _molecules()
    mols = [Chem.MolFromSmiles(s) for s in smiles]
    test_only = {s for i, s in enumerate(smiles) if i % 8 == 3}
    tasks = {}
    for name, smarts in SUBSTRUCTURES.items():
        patt = Chem.MolFromSmarts(smarts)
        full = f"syn/{name}"
        keep = [i for i, s in enumerate(smiles) if full in TEST or s not in test_only]
        tasks[full] = Task(full, [smiles[i] for i in keep],
                           np.array([float(mols[i].HasSubstructMatch(patt)) for i in keep]), "classification", "synthetic")
    coll = TaskCollection("syn", tasks, train=TRAIN, val=VAL, test=TEST, source="synthetic")
    return coll, test_only


class _Forbidden:
    """Stands in for the test task during training: any use of it fails the test."""

    def __init__(self, name):
        object.__setattr__(self, "_name", name)

    def __getattr__(self, attr):
        raise AssertionError(f"meta_train read {attr!r} of test task {self._name}")

    def __len__(self):
        raise AssertionError(f"meta_train took len() of test task {self._name}")

    def __iter__(self):
        raise AssertionError(f"meta_train iterated test task {self._name}")


TINY = dict(encoder_config={"hidden": 32, "depth": 2, "out_dim": 32, "pooling": "mean+max", "dropout": 0.0,
                            "norm": "batch", "residual": True, "gfeat_hidden": 32},
            k_shot=2, n_query=4, steps=30, eval_every=10, warmup_steps=5, lr=3e-3, val_seeds=2, seed=0)


def test_synthetic_collection_is_usable():
    coll, test_only = _collection()
    assert len(test_only) == 10
    for t in coll.tasks.values():
        need = 2 + 4 if t.name in TRAIN else 2 + 1
        assert t.n_positive >= need and t.n_negative >= need, t.name
    assert not test_only & {s for n in TRAIN + VAL for s in coll.tasks[n].inputs}
    assert test_only <= set(coll.tasks[TEST[0]].inputs)


@pytest.mark.slow
def test_train_checkpoint_evaluate_report(tmp_path, monkeypatch):
    coll, test_only = _collection()

    # --- meta-train on a collection whose test task cannot be read, recording what gets featurized
    guarded = TaskCollection("syn", {**coll.tasks, TEST[0]: _Forbidden(TEST[0])}, train=TRAIN, val=VAL, test=TEST)
    stores = []

    class RecordingStore(train_mod.GraphStore):
        def __init__(self, featurizer, smiles, progress=False):
            stores.append(list(smiles))
            super().__init__(featurizer, smiles, progress)

    monkeypatch.setattr(train_mod, "GraphStore", RecordingStore)
    cfg = TrainConfig(**TINY)
    res = meta_train(guarded, cfg, device="cpu", progress=False)
    assert len(stores) == 1
    featurized = set(stores[0])
    assert featurized == {s for n in TRAIN + VAL for s in coll.tasks[n].inputs}
    assert not featurized & test_only

    assert res.steps_run == 30
    assert [h["step"] for h in res.history] == [10, 20, 30]
    assert all(np.isfinite(h["train_loss"]) and 0 <= h["val_roc_auc"] <= 1 for h in res.history)
    assert res.best_step in (10, 20, 30)
    assert res.best_val_score == max(h["val_roc_auc"] for h in res.history)
    assert res.calibration["method"] == "platt" and res.calibration["n_points"] > 0
    assert res.cost["episodes"] == 30 * cfg.tasks_per_step and res.cost["episodes_per_second"] > 0
    assert not res.model.training

    # --- checkpoint round trip
    ckpt = save_checkpoint(tmp_path / "protonet-syn", res.model, res.featurizer, encoder=res.encoder,
                           encoder_config=res.model.encoder.config.to_dict(),
                           learner_config={"learn_scale": cfg.learn_scale},
                           training={"dataset": "syn", "config": cfg.to_dict(), "best_step": res.best_step})
    model, featurizer, config = load_checkpoint(ckpt)
    assert config["training"]["config"]["steps"] == 30

    # --- evaluate ProtoNet and RF on identical episodes of the test task
    frames = [evaluate_learner(ProtoNetLearner(model, featurizer, device="cpu"), coll, [2], [0, 1], progress=False),
              evaluate_learner(RandomForestBaseline(n_estimators=30, seed=0), coll, [2], [0, 1], progress=False)]
    per_episode = pd.concat(frames, ignore_index=True)
    assert len(per_episode) == 2 * 2  # 2 learners x 1 test task x 2 seeds
    assert set(per_episode["task"]) == set(TEST)
    assert (per_episode["n_query"] == 80 - 2 * 2).all()
    for m in (*METRICS, "ece", "brier"):
        assert per_episode[m].notna().all()
    assert per_episode["roc_auc"].between(0, 1).all()
    # fingerprints separate aromatic from non-aromatic molecules easily
    assert per_episode.loc[per_episode["learner"] == "rf", "roc_auc"].min() > 0.6

    # --- tidy records
    records = summarize(per_episode, benchmark="synthetic", command="pytest integration")
    n_metrics = 4  # roc_auc, delta_auprc, ece, brier; std_error_rho where a learner has a per-molecule spread
    assert len([r for r in records if r["metric"] != "std_error_rho"]) == 2 * n_metrics
    assert len(records) <= 2 * (n_metrics + 1)
    required = {"benchmark", "dataset", "learner", "shots", "metric", "mean", "std", "n_seeds", "selection",
                "command", "date"}
    for r in records:
        assert required <= set(r) and set(RECORD_KEYS) <= set(r)
        assert r["dataset"] == "syn" and r["shots"] == 2 and r["n_seeds"] == 2 and r["selection"] == "validation"
        scale = 100 if r["metric"] in METRICS else 1  # ROC-AUC and ΔAUPRC in percent
        per_seed = per_episode[per_episode["learner"] == r["learner"]].sort_values("seed")[r["metric"]].to_numpy() * scale
        assert r["mean"] == pytest.approx(per_seed.mean())
        assert r["std"] == pytest.approx(np.std(per_seed, ddof=1))
    assert {r["learner"] for r in records} == {"protonet", "rf"}
    json.dumps(records)  # serialisable

    # --- merging twice replaces instead of duplicating, and keeps unrelated records
    out = tmp_path / "results" / "synthetic.json"
    other = dict(records[0], benchmark="other")
    merge_records(out, [other])
    merge_records(out, records)
    merged = merge_records(out, records)
    on_disk = json.loads(out.read_text())
    assert on_disk == merged
    keys = [(r["benchmark"], r["dataset"], r["learner"], r["shots"], r["metric"]) for r in on_disk]
    assert len(keys) == len(set(keys)) == len(records) + 1

    # --- Markdown report
    md = tmp_path / "results" / "synthetic.md"
    write_report(merged, md, title="Synthetic", published=None, notes=["a note"])
    text = md.read_text()
    assert text.startswith("# Synthetic")
    assert "validation" in text and "a note" in text and "`pytest integration`" in text
    assert "| dataset | shots | protonet | rf |" in text
    rf_auc = next(r for r in records if r["learner"] == "rf" and r["metric"] == "roc_auc")
    assert f"{rf_auc['mean']:.2f} ± {rf_auc['std']:.2f}" in text


# --------------------------------------------------------------------------- CLI


@pytest.fixture
def runner():
    """CliRunner; restores the root logger that the commands reconfigure."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield CliRunner()
    root.handlers[:] = handlers
    root.setLevel(level)


def test_cli_help(runner):
    res = runner.invoke(app, ["--help"])
    assert res.exit_code == 0, res.output
    for cmd in ("train", "evaluate", "select", "calibrate", "predict"):
        assert cmd in res.output
    for cmd in ("train", "evaluate", "select", "calibrate"):
        res = runner.invoke(app, [cmd, "--help"])
        assert res.exit_code == 0, res.output
        assert "--data-dir" in res.output


def test_every_cli_option_has_help():
    group = get_command(app)
    assert set(group.commands) == {"train", "evaluate", "select", "calibrate", "predict", "pretrain", "screen"}
    for name, cmd in group.commands.items():
        assert cmd.help, name
        options = [p for p in cmd.params if p.param_type_name == "option"]  # typer vendors click
        assert options, name
        missing = [p.name for p in options if not (p.help or "").strip()]
        assert not missing, f"sciml {name}: options without help text: {missing}"


def test_cli_missing_data_dir(runner, tmp_path):
    missing = tmp_path / "nonexistent"
    res = runner.invoke(app, ["evaluate", "--data-dir", str(missing), "--datasets", "tox21", "--learners", "knn"])
    assert res.exit_code == 2, res.output
    assert str(missing) in res.output and "Error" in res.output
    assert "Traceback" not in res.output
    res = runner.invoke(app, ["evaluate", "--data-dir", "/nonexistent"])
    assert res.exit_code == 2 and "/nonexistent" in res.output
    res = runner.invoke(app, ["train", "--dataset", "tox21", "--out", str(tmp_path / "ck"), "--data-dir", str(missing)])
    assert res.exit_code == 2 and str(missing) in res.output
    assert not (tmp_path / "ck").exists()


def test_cli_rejects_unknown_choices(runner, tmp_path):
    res = runner.invoke(app, ["evaluate", "--datasets", "qm9", "--data-dir", str(tmp_path)])
    assert res.exit_code == 2 and "qm9" in res.output
    res = runner.invoke(app, ["train", "--dataset", "qm9", "--out", str(tmp_path / "x"), "--data-dir", str(tmp_path)])
    assert res.exit_code == 2 and "qm9" in res.output


# --------------------------------------------------------------------------- real data


@pytest.mark.slow
@pytest.mark.shared_data
def test_tox21_train_and_evaluate_end_to_end(shared_data_dir, tmp_path):
    from pipelines.run import evaluate_benchmarks, train_on_dataset

    bench = "fewshot_moleculenet"
    cfg = TrainConfig(encoder_config={"hidden": 32, "depth": 2, "out_dim": 32, "pooling": "mean+max", "dropout": 0.0,
                                      "norm": "batch", "residual": True, "gfeat_hidden": 32},
                      steps=20, eval_every=10, val_query_cap=200, val_seeds=1, k_shot=2, n_query=4, tasks_per_step=2)
    res = train_on_dataset("tox21", cfg, tmp_path / "protonet-tox21", data_dir=shared_data_dir,
                           device="cpu", command="pytest", progress=False)
    assert res.steps_run == 20 and len(res.history) == 2
    config = json.loads((tmp_path / "protonet-tox21" / "config.json").read_text())
    tr = config["training"]
    assert tr["dataset"] == "tox21" and tr["val_tasks"] and tr["test_tasks_never_used"]
    assert not set(tr["test_tasks_never_used"]) & set(tr["train_tasks"] + tr["val_tasks"])
    assert config["calibration"]["method"] == "platt" and 0 < config["calibration"]["base_rate"] < 1

    results = tmp_path / "results"
    table = evaluate_benchmarks(["tox21"], ["protonet", "knn"], [1], [0, 1],
                                checkpoint_pattern=str(tmp_path / "{learner}-{dataset}"), results_dir=results,
                                data_dir=shared_data_dir, device="cpu", command="pytest", progress=False)
    records = json.loads((results / f"{bench}.json").read_text())
    metrics = {"roc_auc", "delta_auprc", "ece", "brier"}
    # protonet raw, post-hoc calibrated and shifted to the known hit rate; knn raw; 4 metrics each
    assert {(r["learner"], r["calibration"], r["metric"]) for r in records if r["metric"] != "std_error_rho"} == \
        {(ln, cal, m) for ln, cal in (("protonet", "none"), ("protonet", "posthoc"), ("protonet", "posthoc+rate"),
                                      ("knn", "none")) for m in metrics}
    assert all(-1 <= r["mean"] <= 1 for r in records if r["metric"] == "std_error_rho")
    assert all(r["n_seeds"] == 2 and r["shots"] == 1 and r["dataset"] == "tox21" for r in records)
    by = {(r["learner"], r["calibration"], r["metric"]): r["mean"] for r in records}
    # Platt scaling is monotone: the ranking metrics of calibrated and raw predictions agree
    assert by[("protonet", "posthoc", "roc_auc")] == pytest.approx(by[("protonet", "none", "roc_auc")])
    assert by[("protonet", "posthoc+rate", "roc_auc")] == pytest.approx(by[("protonet", "none", "roc_auc")])
    report = (results / f"{bench}.md").read_text()
    assert "validation" in report and "protonet+cal+rate" in report and "episodes/s" in report
    roc_table = report.split("## ")[1]  # the first metric table: ROC-AUC, raw columns only
    assert roc_table.startswith("ROC") and "+cal" not in roc_table and "| protonet |" in roc_table
    episodes = pd.read_csv(results / f"{bench}_episodes.csv.gz")
    assert set(episodes["task"]) == set(tr["test_tasks_never_used"])
    assert "Tox21" in table
    training = json.loads((results / f"{bench}_training.json").read_text())
    assert [t["learner"] for t in training] == ["protonet"] and training[0]["cost"]["episodes_per_second"] > 0


@pytest.mark.slow
def test_cli_predict_with_shipped_checkpoint_and_example(runner, tmp_path):
    """`sciml predict` on the shipped default checkpoint and a shipped example assay (no ../shared needed)."""
    root = Path(__file__).resolve().parents[2]
    sup = pd.read_csv(root / "data/examples/CHEMBL236_Ki_support.csv")
    sup.loc[len(sup)] = {"compound_id": "bad", "smiles": "C1CC(", "pKi": 7.0}  # invalid structure, reported
    sup.to_csv(tmp_path / "support.csv", index=False)
    cand = pd.read_csv(root / "data/examples/CHEMBL236_Ki_candidates.csv").head(30)
    cand.loc[len(cand)] = {"compound_id": "broken", "smiles": "not a smiles"}
    cand.to_csv(tmp_path / "cand.csv", index=False)
    out = tmp_path / "pred.csv"
    res = runner.invoke(app, ["predict", "--checkpoint", str(root / "data/checkpoints/default"), "--support",
                              str(tmp_path / "support.csv"), "--query", str(tmp_path / "cand.csv"), "--out", str(out),
                              "--device", "cpu"])
    assert res.exit_code == 0, res.output
    assert "regression" in res.output
    df = pd.read_csv(out, keep_default_na=False, na_values=[""])
    assert len(df) == len(cand) and df["compound_id"].tolist() == cand["compound_id"].tolist()
    ok = df["error"].isna()
    assert ok.sum() == len(cand) - 1 and "parse" in df.loc[len(cand) - 1, "error"]
    good = df[ok]
    assert np.isfinite(good[["prediction", "std", "lower", "upper"]].to_numpy(float)).all()
    assert good["prediction"].between(3, 12).all()  # pKi units
    res = runner.invoke(app, ["predict", "--support", str(tmp_path / "support.csv"), "--query",
                              str(tmp_path / "cand.csv"), "--out", str(out), "--task", "classification",
                              "--threshold", "7.0", "--device", "cpu",
                              "--checkpoint", str(root / "data/checkpoints/default")])
    assert res.exit_code != 0 and "--overwrite" in res.output  # an existing output is never replaced unasked
    res = runner.invoke(app, ["predict", "--support", str(tmp_path / "support.csv"), "--query",
                              str(tmp_path / "cand.csv"), "--out", str(out), "--task", "classification",
                              "--threshold", "7.0", "--device", "cpu", "--overwrite",
                              "--checkpoint", str(root / "data/checkpoints/default")])
    assert res.exit_code == 0, res.output
    p = pd.read_csv(out)["prediction"].dropna()
    assert ((p > 0) & (p < 1)).all()
    # without --checkpoint, a classification support gets the shipped classification default
    res = runner.invoke(app, ["predict", "--support", str(tmp_path / "support.csv"), "--query",
                              str(tmp_path / "cand.csv"), "--out", str(out), "--threshold", "7.0", "--device", "cpu",
                              "--overwrite"])
    assert res.exit_code == 0, res.output
    assert "default-classification" in res.output and "classification" in res.output
    p = pd.read_csv(out)["prediction"].dropna()
    assert len(p) == len(cand) - 1 and ((p > 0) & (p < 1)).all()


def test_known_hit_rate_rows_keep_the_ranking_and_ece_bounds_the_rate_gap():
    """``posthoc+rate`` rows (and misjudged rates) come from the same fit: same ROC-AUC; ECE >= rate gap."""
    coll, _ = _collection()
    cal = {"method": "platt", "slope": 1.0, "bias": 0.0, "base_rate": 0.5}
    df = evaluate_learner(RandomForestBaseline(n_estimators=30, seed=0), coll, [2], [0, 1, 2], progress=False,
                          calibration=cal, hit_rate_factors=(0.5, 1, 2))
    assert set(df["calibration"]) == {"none", "posthoc", "posthoc+rate", "posthoc+rate*0.5", "posthoc+rate*2"}
    assert len(df) == 3 * 5
    for _, g in df.groupby("seed"):
        assert g["roc_auc"].nunique() == 1
    assert (df["ece"] >= df["rate_gap"] - 1e-9).all() and (df["rate_gap"] >= 0).all()
    # no base rate in the calibration: no hit-rate rows
    df2 = evaluate_learner(RandomForestBaseline(n_estimators=30, seed=0), coll, [2], [0], progress=False,
                           calibration={"method": "platt", "slope": 1.0, "bias": 0.0})
    assert set(df2["calibration"]) == {"none", "posthoc"}


def test_cli_predict_refuses_a_hit_rate_for_regression(runner, tmp_path):
    root = Path(__file__).resolve().parents[2]
    sup = pd.read_csv(root / "data/examples/CHEMBL236_Ki_support.csv").head(12)
    sup.to_csv(tmp_path / "support.csv", index=False)
    res = runner.invoke(app, ["predict", "--support", str(tmp_path / "support.csv"), "--query",
                              str(tmp_path / "support.csv"), "--out", str(tmp_path / "p.csv"), "--hit-rate", "0.05"])
    assert res.exit_code != 0 and "classification only" in res.output
    assert not (tmp_path / "p.csv").exists()


def test_reptile_meta_trains_and_round_trips(tmp_path):
    from pipelines.run import train_on_collection
    from sciml.learners.maml.learner import ReptileLearner

    coll, _ = _collection()
    cfg = TrainConfig(**{**TINY, "learner": "reptile", "learner_config": {"inner_steps": 2, "inner_lr": 0.1},
                         "steps": 10, "eval_every": 5})
    res = train_on_collection(coll, cfg, tmp_path / "reptile", dataset="syn", device="cpu", progress=False)
    assert 0 <= res.best_val_score <= 1 and res.model.config.algorithm == "reptile"
    learner = ReptileLearner.from_checkpoint(tmp_path / "reptile", device="cpu")
    assert type(learner) is ReptileLearner and learner.model.config.adapt == "all"
    task = coll.tasks[TEST[0]]
    pos, neg = np.flatnonzero(task.labels == 1), np.flatnonzero(task.labels == 0)
    support = [*pos[:3], *neg[:3]]
    p = learner.fit([task.inputs[i] for i in support], task.labels[support]).predict_proba(task.inputs[-6:])
    assert p.shape == (6,) and ((p > 0) & (p < 1)).all()
