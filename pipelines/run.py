"""End-to-end jobs behind the CLI: meta-train on a few-shot MoleculeNet dataset, and run its benchmark."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pandas as pd

from assays.sources.moleculenet import load_fewshot_moleculenet
from pipelines.evaluate import evaluate_learner, merge_records, summarize
from pipelines.report import published_fewshot_moleculenet, write_report
from pipelines.train import TrainConfig, TrainResult, meta_train
from sciml.checkpoint import save_checkpoint
from sciml.config import resolve_data_dir

logger = logging.getLogger(__name__)

BENCHMARK = "fewshot_moleculenet"


def train_fewshot_moleculenet(dataset: str, cfg: TrainConfig, out: Path, *, data_dir=None, val_fraction: float = 0.2,
                              device: str | None = None, command: str = "", progress: bool = True) -> TrainResult:
    """Meta-train on ``dataset``'s train tasks (minus validation tasks) and save a checkpoint at ``out``."""
    data_dir = resolve_data_dir(data_dir)
    coll = load_fewshot_moleculenet(dataset, data_dir, val_fraction=val_fraction, val_seed=cfg.seed)
    res = meta_train(coll, cfg, device=device, progress=progress)
    enc_cfg = res.model.encoder.config.to_dict()
    save_checkpoint(
        out, res.model, res.featurizer, encoder=cfg.encoder, encoder_config=enc_cfg,
        learner="protonet", learner_config={"learn_scale": cfg.learn_scale},
        training={
            "dataset": dataset, "collection": coll.name, "train_tasks": coll.train, "val_tasks": coll.val,
            "test_tasks_never_used": coll.test, "config": cfg.to_dict(), "val_fraction": val_fraction,
            "best_step": res.best_step, "best_val_roc_auc": res.best_val_auc, "steps_run": res.steps_run,
            "seconds": res.seconds, "history": res.history, "command": command,
        },
    )
    return res


def build_learner(name: str, dataset: str, checkpoint_pattern: str, device: str | None):
    """A learner from the registry; meta-learners load the checkpoint made for ``dataset``."""
    from sciml.checkpoint import CheckpointError
    from sciml.learners import LEARNERS, make_learner

    if name in LEARNERS and LEARNERS[name].needs_checkpoint:
        ckpt = Path(checkpoint_pattern.format(dataset=dataset))
        learner = make_learner(name, ckpt, device=device or "cpu")
        trained_on = learner.config_.get("training", {}).get("dataset")
        if trained_on and trained_on != dataset:
            raise CheckpointError(f"{ckpt} was meta-trained on {trained_on!r}, not {dataset!r}.")
        return learner
    return make_learner(name)


def evaluate_fewshot_moleculenet(datasets: list[str], learners: list[str], shots: list[int], seeds: list[int],
                                 checkpoint_pattern: str, results_dir: Path, *, data_dir=None,
                                 device: str | None = None, command: str = "", progress: bool = True) -> str:
    """Run the protocol, merge tidy records into ``<results_dir>/fewshot_moleculenet.json``, write the
    Markdown table next to it and per-episode rows to ``..._episodes.csv.gz``; return the ROC-AUC table."""
    data_dir = resolve_data_dir(data_dir)
    results_dir = Path(results_dir)
    frames = []
    for ds in datasets:
        coll = load_fewshot_moleculenet(ds, data_dir)
        for ln in learners:
            learner = build_learner(ln, ds, checkpoint_pattern, device)
            frames.append(evaluate_learner(learner, coll, shots, seeds, progress=progress))
    per_episode = pd.concat(frames, ignore_index=True)
    records = summarize(per_episode, benchmark=BENCHMARK, command=command)
    merged = merge_records(results_dir / f"{BENCHMARK}.json", records)
    ep_file = results_dir / f"{BENCHMARK}_episodes.csv.gz"
    if ep_file.is_file():
        old = pd.read_csv(ep_file)
        keep = ~old.set_index(["dataset", "learner", "shots"]).index.isin(
            per_episode.set_index(["dataset", "learner", "shots"]).index)
        per_episode = pd.concat([old[keep], per_episode], ignore_index=True)
    per_episode.to_csv(ep_file, index=False)
    published = published_fewshot_moleculenet(data_dir / "molecules" / "MANIFEST.md")
    ckpt_notes = []
    for ds in sorted({r["dataset"] for r in merged if r["learner"] == "protonet"}):
        cfg_file = Path(checkpoint_pattern.format(dataset=ds)) / "config.json"
        if cfg_file.is_file():
            tr = json.loads(cfg_file.read_text()).get("training", {})
            ckpt_notes.append(f"ProtoNet {ds}: `{tr.get('command', '?')}` — best validation ROC-AUC "
                              f"{tr.get('best_val_roc_auc', float('nan')):.4f} at step {tr.get('best_step')}, "
                              f"validation tasks {tr.get('val_tasks')}")
    write_report(merged, results_dir / f"{BENCHMARK}.md", title="Few-shot MoleculeNet (PAR split)",
                 published=published, notes=ckpt_notes + [
                     "Baselines rf (random forest, 100 trees, balanced class weights) and knn (k=5, Tanimoto) "
                     "use 2048-bit Morgan fingerprints (radius 2) and are fitted on each support set alone.",
                     "Per-episode rows: fewshot_moleculenet_episodes.csv.gz.",
                 ])
    from pipelines.report import markdown_table

    return markdown_table(merged, "roc_auc", published=published)
