"""Few-shot benchmark protocols: identical episodes for every learner, tidy result records.

Protocol (few-shot MoleculeNet, ``fewshot_moleculenet_splits.json``): for each test task
and seed, a K-shot support (K positives + K negatives) is drawn with
:func:`assays.episodes.evaluation_episodes` (seeded per (seed, task), so every learner
sees the same draws); the query is every other labelled molecule of that task. Each
learner featurizes the test molecules once, adapts on the support alone and scores the
query. Per seed, metrics are averaged over test tasks; we report the mean and the
standard deviation (ddof=1) of that average over seeds.
"""

from __future__ import annotations

import json
import logging
import platform
import time
from datetime import date
from pathlib import Path
from typing import Iterable

import numpy as np
import pandas as pd

from assays.episodes import evaluation_episodes
from assays.task import TaskCollection
from sciml.learners.base import FewShotLearner
from sciml.metrics import METRICS

logger = logging.getLogger(__name__)

RECORD_KEYS = ("benchmark", "dataset", "learner", "shots", "metric", "mean", "std", "n_seeds", "n_tasks",
               "selection", "command", "date", "machine", "seeds")


def evaluate_learner(learner: FewShotLearner, collection: TaskCollection, shots: Iterable[int],
                     seeds: Iterable[int], progress: bool = True) -> pd.DataFrame:
    """Run one learner on the test tasks of ``collection``; one row per (shots, seed, task).

    Columns: ``learner, dataset, shots, seed, task, n_query, <metric>...`` plus
    ``fit_seconds`` (featurization excluded, adapt + predict included).
    """
    tasks = collection.split("test")
    smiles = list(dict.fromkeys(s for t in tasks for s in t.smiles))
    t0 = time.time()
    X = learner.featurize(smiles)
    logger.info("%s: featurized %d test molecules of %s in %.1fs", learner.name, len(smiles),
                collection.name, time.time() - t0)
    pos = {s: i for i, s in enumerate(smiles)}
    task_rows = {t.name: np.fromiter((pos[s] for s in t.smiles), dtype=np.int64, count=len(t)) for t in tasks}
    seeds = list(seeds)
    rows = []
    for k in shots:
        episodes = evaluation_episodes(tasks, k, seeds)
        it = episodes
        if progress:
            from tqdm.auto import tqdm

            it = tqdm(episodes, desc=f"{collection.name} {learner.name} {k}-shot", unit="episode", leave=False, disable=None)
        for ep in it:
            r = task_rows[ep.task_name]
            t1 = time.time()
            learner.fit_features(X[r[ep.support_idx]], ep.support_y)
            p = learner.predict_proba_features(X[r[ep.query_idx]])
            rec = {"learner": learner.name, "dataset": collection.name, "shots": k, "seed": ep.seed,
                   "task": ep.task_name, "n_query": len(ep.query_idx), "fit_seconds": time.time() - t1}
            for m, fn in METRICS.items():
                rec[m] = fn(ep.query_y, p)
            rows.append(rec)
    return pd.DataFrame(rows)


def summarize(per_episode: pd.DataFrame, *, benchmark: str, command: str, selection: str = "validation",
              scale: float = 100.0) -> list[dict]:
    """Tidy records: per (dataset, learner, shots, metric), mean and std over seeds of the task-averaged metric.

    Metrics are reported in percent (``scale=100``) as in the literature.
    """
    out = []
    metrics = [m for m in METRICS if m in per_episode.columns]
    machine = f"{platform.node() or 'unknown'} ({platform.machine()}, {_cpu_count()} CPU cores, {platform.system()})"
    for (ds, learner, k), g in per_episode.groupby(["dataset", "learner", "shots"], sort=True):
        for m in metrics:
            per_seed = g.groupby("seed")[m].mean()  # mean over tasks (NaN-skipping)
            vals = per_seed.to_numpy(dtype=float) * scale
            out.append({
                "benchmark": benchmark, "dataset": ds, "learner": learner, "shots": int(k), "metric": m,
                "mean": float(np.nanmean(vals)),
                "std": float(np.nanstd(vals, ddof=1)) if np.isfinite(vals).sum() > 1 else 0.0,
                "n_seeds": int(np.isfinite(vals).sum()), "n_tasks": int(g["task"].nunique()),
                "selection": selection, "command": command, "date": date.today().isoformat(),
                "machine": machine, "seeds": sorted(int(s) for s in g["seed"].unique()),
            })
    return out


def _cpu_count() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def merge_records(path: Path, new: list[dict]) -> list[dict]:
    """Write ``new`` into the JSON list at ``path``, replacing records with the same
    (benchmark, dataset, learner, shots, metric) key and keeping all others."""
    key = lambda r: (r["benchmark"], r["dataset"], r["learner"], r["shots"], r["metric"])  # noqa: E731
    old = json.loads(path.read_text()) if path.is_file() else []
    fresh = {key(r) for r in new}
    merged = [r for r in old if key(r) not in fresh] + list(new)
    merged.sort(key=key)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(merged, indent=1) + "\n")
    return merged
