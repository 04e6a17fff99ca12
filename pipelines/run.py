"""End-to-end jobs behind the CLI: meta-train a learner on a benchmark's train tasks, and run benchmarks.

Datasets: the four few-shot MoleculeNet collections (classification, benchmark
``fewshot_moleculenet``) and ``moleculeace`` (regression on pKi / pEC50, benchmark
``moleculeace``). Each benchmark writes its own ``<benchmark>.json`` (tidy records),
``<benchmark>.md`` (tables) and ``<benchmark>_episodes.csv.gz`` (per-episode rows) and
``<benchmark>_training.json`` (meta-training cost and selection of each checkpoint).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pandas as pd

from assays.sources import FEWSHOT_COLLECTIONS as FEWSHOT_DATASETS
from assays.sources import SHARED_COLLECTIONS as DATASETS
from pipelines.evaluate import evaluate_learner, merge_records, summarize, support_free_mode
from pipelines.report import published_fewshot_moleculenet, write_report
from pipelines.train import TrainConfig, TrainResult, learner_class, meta_train
from sciml.checkpoint import save_checkpoint
from sciml.config import resolve_data_dir
from sciml.files import atomic_write_text, shared_results_lock, write_table
from sciml.learners.multitask import attach_multitask_head

logger = logging.getLogger(__name__)

#: Default support sizes per benchmark.
DEFAULT_SHOTS = {"fewshot_moleculenet": (1, 10), "moleculeace": (16, 32, 64)}


def benchmark_of(dataset: str) -> str:
    if dataset not in DATASETS:
        raise ValueError(f"unknown dataset {dataset!r}; choose from {', '.join(DATASETS)}")
    return "moleculeace" if dataset == "moleculeace" else "fewshot_moleculenet"


def load_collection(dataset: str, data_dir=None, *, val_fraction: float = 0.2, val_seed: int = 0):
    """The task collection of ``dataset``: a shared collection (MoleculeACE's validation targets come
    from its split file), or the path of a lab's own assay table or folder (:func:`collection_from_tasks`)."""
    if dataset not in DATASETS and Path(dataset).expanduser().exists():
        return collection_from_tasks(dataset, seed=val_seed, val_fraction=val_fraction)[0]
    data_dir = resolve_data_dir(data_dir)
    if benchmark_of(dataset) == "moleculeace":
        from assays.sources.moleculeace import load_moleculeace

        return load_moleculeace(data_dir)
    from assays.sources.moleculenet import load_fewshot_moleculenet

    return load_fewshot_moleculenet(dataset, data_dir, val_fraction=val_fraction, val_seed=val_seed)


def collection_from_tasks(path, *, seed: int = 0, data_dir=None, split=None, kind: str | None = None,
                          domain: str = "molecules", val_fraction: float = 0.15, test_fraction: float = 0.15,
                          **options):
    """A lab's own assays (one long-format table or a folder of one table per assay) as a collection to meta-train on.

    Parameters
    ----------
    path : path-like
        See :func:`assays.sources.assay_collection.load_assay_collection`. A relative path
        that does not exist here is looked up in ``data_dir``.
    seed : int, optional
        Seed of the split by assay.
    data_dir : path-like, optional
        Folder to look ``path`` (and ``split``) up in when they are relative and not found.
    split : path-like or mapping, optional
        JSON split file ``{"train": [...], "val": [...], "test": [...]}``; default a
        deterministic split by assay name.
    kind : {"classification", "regression"}, optional
        Keep the assays of this kind only (the others are reported as skipped); needed
        when the assays are of both kinds, as meta-training takes tasks of one kind.
    domain : str, optional
        Input domain of the structures.
    val_fraction, test_fraction : float, optional
        Fractions of the assays held out for validation and test.
    **options
        Passed on to ``load_assay_collection`` (column names, ``min_rows``, ``conflicts``...).

    Returns
    -------
    collection : TaskCollection
    report : pandas.DataFrame
        One row per assay (see ``load_assay_collection``).

    Raises
    ------
    ValueError
        No usable training assay, mixed kinds without ``kind``, or an unknown ``kind``
        (:class:`~assays.sources.tables.UserTableError` for unreadable input).
    """
    from assays.sources.assay_collection import load_assay_collection
    from assays.task import TaskCollection

    def here(p):
        p = Path(p).expanduser()
        if not p.exists() and not p.is_absolute() and data_dir is not None and (Path(data_dir) / p).exists():
            return Path(data_dir) / p
        return p

    if kind not in (None, "classification", "regression"):
        raise ValueError(f"kind must be classification or regression, not {kind!r}")
    path = here(path)
    split = split if split is None or isinstance(split, dict) else here(split)
    coll, report = load_assay_collection(path, domain=domain, split=split, val_fraction=val_fraction,
                                         test_fraction=test_fraction, seed=seed, **options)
    kinds = {t.kind for t in coll.tasks.values()}
    if kind is None and len(kinds) > 1:
        n = report.loc[report["status"] == "ok", "kind"].value_counts().to_dict()
        raise ValueError(f"{path.name} holds {n.get('classification', 0)} classification and "
                         f"{n.get('regression', 0)} regression assays; meta-training takes one kind: choose "
                         f"classification or regression (kind=...).")
    if kind is not None:
        other = [name for name, t in coll.tasks.items() if t.kind != kind]
        report.loc[report["assay"].isin(other), ["status", "why", "part"]] = ["skipped", f"not {kind}", ""]
        coll = TaskCollection(coll.name, {n: t for n, t in coll.tasks.items() if t.kind == kind},
                              train=[n for n in coll.train if n not in other], val=[n for n in coll.val if n not in other],
                              test=[n for n in coll.test if n not in other], invalid=coll.invalid, source=coll.source)
    if not coll.train:
        skipped = report[report["status"] != "ok"]
        raise ValueError(f"{path.name}: no {kind + ' ' if kind else ''}assay to meta-train on among {len(report)} "
                         f"read: " + "; ".join(f"{r.assay or '(no assay id)'}: {r.why}"
                                               for r in skipped.head(5).itertuples()))
    return coll, report


def train_on_dataset(dataset: str, cfg: TrainConfig, out: Path, *, data_dir=None, val_fraction: float = 0.2,
                     device: str | None = None, command: str = "", progress: bool = True) -> TrainResult:
    """Meta-train ``cfg.learner`` on ``dataset``'s train tasks (minus validation tasks); save a checkpoint at ``out``."""
    coll = load_collection(dataset, data_dir, val_fraction=val_fraction, val_seed=cfg.seed)
    return train_on_collection(coll, cfg, out, dataset=dataset, val_fraction=val_fraction, device=device,
                               command=command, progress=progress)


def train_on_collection(coll, cfg: TrainConfig, out: Path, *, dataset: str, val_fraction: float | None = None,
                        device: str | None = None, command: str = "", progress: bool = True) -> TrainResult:
    """Meta-train ``cfg.learner`` on ``coll.train`` (selecting on ``coll.val``) and save a checkpoint at ``out``.

    ``cfg.domain`` is set to the collection's domain; ``dataset`` (a shared collection's
    name or the path of a lab's own assays) is recorded in the checkpoint.
    """
    from dataclasses import replace

    cfg = replace(cfg, domain=coll.domain)
    res = meta_train(coll, cfg, device=device, progress=progress)
    save_trained(coll, cfg, res, out, dataset=dataset, val_fraction=val_fraction, command=command)
    return res


def save_trained(coll, cfg: TrainConfig, res: TrainResult, out: Path, *, dataset: str, val_fraction: float | None,
                 command: str, extra: dict | None = None) -> None:
    """Save the checkpoint of a :func:`~pipelines.train.meta_train` result with its training record
    (``extra`` keys are added to ``training``)."""
    save_checkpoint(
        out, res.model, res.featurizer, domain=cfg.domain, encoder=res.encoder,
        encoder_config=res.model.encoder.config.to_dict(),
        learner=cfg.learner, learner_config=learner_class(cfg.learner).model_config(res.model),
        calibration=res.calibration,
        training={
            "dataset": str(dataset), "collection": coll.name, "task": res.task, "train_tasks": coll.train,
            "val_tasks": coll.val, "test_tasks_never_used": coll.test, "config": cfg.to_dict(),
            "val_fraction": val_fraction, "val_metric": res.val_metric, "best_step": res.best_step,
            "best_val_score": res.best_val_score, "steps_run": res.steps_run, "seconds": res.seconds,
            "cost": res.cost, "history": res.history, "command": command,
            **({"init_encoder": res.init_encoder} if res.init_encoder else {}),
            **(extra or {}),
        },
    )


def build_learner(name: str, dataset: str, checkpoint_pattern: str, device: str | None, task: str):
    """A learner from the registry; meta-learners load the checkpoint made for ``dataset``
    (``checkpoint_pattern`` may use ``{learner}`` and ``{dataset}``)."""
    from sciml.checkpoint import CheckpointError
    from sciml.learners import LEARNERS, make_learner

    if name in LEARNERS and LEARNERS[name].needs_checkpoint:
        ckpt = Path(checkpoint_pattern.format(dataset=dataset, learner=name))
        learner = make_learner(name, ckpt, device=device or "cpu", task=task)
        trained_on = learner.config_.get("training", {}).get("dataset")
        if trained_on and trained_on != dataset:
            raise CheckpointError(f"{ckpt} was meta-trained on {trained_on!r}, not {dataset!r}.")
        if learner.config_.get("learner") != name:
            raise CheckpointError(f"{ckpt} holds a {learner.config_.get('learner')!r} model, not {name!r}.")
        return learner
    return make_learner(name, task=task)


def _training_summary(learner, dataset: str) -> dict:
    cfg = getattr(learner, "config_", {})
    tr = cfg.get("training", {})
    return {"dataset": dataset, "learner": learner.name, "command": tr.get("command"),
            "best_step": tr.get("best_step"), "steps_run": tr.get("steps_run"),
            "val_metric": tr.get("val_metric", "roc_auc"),
            "best_val_score": tr.get("best_val_score", tr.get("best_val_roc_auc")),
            "val_tasks": tr.get("val_tasks"), "calibration": cfg.get("calibration", {}),
            "cost": tr.get("cost", {}), "learner_config": cfg.get("learner_config", {})}


def evaluate_benchmarks(datasets: list[str], learners: list[str], shots: list[int] | None, seeds: list[int],
                        checkpoint_pattern: str, results_dir: Path, *, data_dir=None, device: str | None = None,
                        command: str = "", progress: bool = True, support_free: bool = True) -> str:
    """Run each dataset's protocol for every learner and update its benchmark's result files.

    ``shots=None`` uses :data:`DEFAULT_SHOTS`. ``support_free`` also scores each meta-learner's
    support-free prediction (see :func:`pipelines.evaluate.evaluate_learner`). Returns the
    Markdown headline tables.
    """
    data_dir = resolve_data_dir(data_dir)
    results_dir = Path(results_dir)
    by_bench: dict[str, list[str]] = {}
    for ds in datasets:
        by_bench.setdefault(benchmark_of(ds), []).append(ds)
    tables = []
    for bench, dss in by_bench.items():
        frames, training = [], []
        for ds in dss:
            coll = load_collection(ds, data_dir)
            task = coll.split("test")[0].kind
            for ln in learners:
                learner = build_learner(ln, ds, checkpoint_pattern, device, task)
                if getattr(learner, "needs_tasks", False):  # a support-free baseline fitted on the train tasks
                    learner.fit_tasks(coll.split("train"), coll.split("val"))
                elif support_free and hasattr(learner, "config_") and support_free_mode(learner) is None:
                    # a metric learner (ProtoNet): its support-free row is a multitask head on its embedding
                    attach_multitask_head(learner, coll.split("train"), coll.split("val"))
                cal = getattr(learner, "config_", {}).get("calibration") or None
                if hasattr(learner, "config_"):
                    training.append(_training_summary(learner, ds))
                frames.append(evaluate_learner(learner, coll, shots or DEFAULT_SHOTS[bench], seeds,
                                               progress=progress, calibration=cal, support_free=support_free))
        with shared_results_lock(results_dir / f"{bench}.json"):  # another evaluate may be merging the same files
            tables.append(_write_benchmark(bench, pd.concat(frames, ignore_index=True), training, results_dir,
                                           data_dir, command))
    return "\n\n".join(tables)


def _write_benchmark(bench: str, per_episode: pd.DataFrame, training: list[dict], results_dir: Path, data_dir: Path,
                     command: str) -> str:
    from pipelines.report import markdown_table

    merged = merge_records(results_dir / f"{bench}.json", summarize(per_episode, benchmark=bench, command=command))
    ep_file = results_dir / f"{bench}_episodes.csv.gz"
    if ep_file.is_file():
        old = pd.read_csv(ep_file)
        if "calibration" not in old.columns:
            old["calibration"] = "none"
        idx = ["dataset", "learner", "shots"]
        keep = ~old.set_index(idx).index.isin(per_episode.set_index(idx).index)
        per_episode = pd.concat([old[keep], per_episode], ignore_index=True)
    write_table(per_episode, ep_file)
    tr_file = results_dir / f"{bench}_training.json"
    old_tr = json.loads(tr_file.read_text()) if tr_file.is_file() else []
    new_keys = {(t["dataset"], t["learner"]) for t in training}
    all_tr = sorted([t for t in old_tr if (t["dataset"], t["learner"]) not in new_keys] + training,
                    key=lambda t: (t["dataset"], t["learner"]))
    atomic_write_text(tr_file, json.dumps(all_tr, indent=1) + "\n")
    notes = [_cost_note(t) for t in all_tr]
    if bench == "fewshot_moleculenet":
        published = published_fewshot_moleculenet(data_dir / "molecules" / "MANIFEST.md")
        write_report(merged, results_dir / f"{bench}.md", title="Few-shot MoleculeNet (PAR split)",
                     published=published, intro=(
                         "Supports are class-balanced (K actives + K inactives) while query sets keep the assay's "
                         "own base rate, which the support cannot reveal; since ECE >= |mean probability - base "
                         "rate|, assays far from the validation tasks' average rate stay miscalibrated. "
                         "`learner+cal+rate` columns shift the calibrated probabilities to the query's true base "
                         "rate (Bayes' rule), as for a user who enters the assay's known hit rate: it uses one "
                         "number from the query labels, so it is a known-hit-rate figure, not a few-shot one."),
                     notes=notes + [
                         "Baselines rf (random forest, 100 trees, balanced class weights), knn (k=5, Tanimoto) and "
                         "gp_tanimoto (Laplace GP classifier, Tanimoto kernel) use 2048-bit Morgan fingerprints "
                         "(radius 2) and are fitted on each support set alone.",
                         f"Per-episode rows: {bench}_episodes.csv.gz; meta-training details: {bench}_training.json.",
                     ])
        return markdown_table(merged, "roc_auc", published=published)
    write_report(merged, results_dir / f"{bench}.md", title="Few-shot regression on MoleculeACE (pKi / pEC50)",
                 published=None, intro=(
                     "Test targets: the 9 `test_targets` of `moleculeace_splits.json`; shots = support size "
                     "(random molecules), query = every other molecule of the target. The MANIFEST lists no "
                     "published few-shot figures for this split, so no published column is shown."),
                 notes=notes + [
                     "Baselines rf (random forest regressor, std over trees), knn (k=5 Tanimoto-weighted mean and "
                     "std) and gp_tanimoto (exact GP, Tanimoto kernel, hyperparameters fitted on the support) use "
                     "2048-bit Morgan fingerprints (radius 2) and see the support set alone.",
                     f"Per-episode rows: {bench}_episodes.csv.gz; meta-training details: {bench}_training.json.",
                 ])
    return markdown_table(merged, "r2", digits=3)


def _cost_note(t: dict) -> str:
    c = t.get("cost") or {}
    cost = (f"{c['episodes_per_second']:.1f} episodes/s over {c.get('episodes')} episodes, peak RSS "
            f"{c.get('peak_rss_mb', float('nan')):.0f} MB on {c.get('device')} ({c.get('torch_threads')} threads)"
            if c else "cost not recorded")
    score = t.get("best_val_score")
    return (f"{t['learner']} on {t['dataset']}: `{t.get('command') or '?'}`; best validation {t['val_metric']} "
            f"{score if score is None else f'{score:.4f}'} at step {t.get('best_step')} of {t.get('steps_run')}; "
            f"{cost}; calibration {t.get('calibration') or 'none'}")
