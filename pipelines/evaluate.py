"""Few-shot benchmark protocols: identical episodes for every learner, tidy result records.

Protocol: for each test task and seed, a support is drawn with
:func:`assays.episodes.evaluation_episodes` (seeded per (seed, task), so every learner
sees the same draws): K positives + K negatives for classification (few-shot
MoleculeNet), K random molecules for regression (MoleculeACE, K = support size); the
query is every other labelled molecule of that task. Each learner featurizes the test
molecules once, adapts on the support alone and predicts the query. Per seed, metrics
are averaged over test tasks; we report the mean and the standard deviation (ddof=1) of
that average over seeds.

Metrics (:data:`EPISODE_METRICS`, built from the registries of :mod:`sciml.metrics`) cover
accuracy and calibration. Learners whose checkpoint carries a post-hoc calibration
(:mod:`sciml.calibration`) are scored twice on the same fits: ``calibration="none"``
(raw) and ``"posthoc"``. A Platt calibration that records its validation base rate is
also scored as ``"posthoc+rate"``: shifted to the query's true base rate, i.e. what a
user who knows the assay's hit rate would enter (:func:`sciml.calibration.prior_shift`).
That row uses one number from the query labels, so it is a *known-hit-rate* figure, not
a few-shot one; it shows how much of the calibration error is the unknown base rate.

Support-free rows (``support_free=True``): a meta-learner with a support-free mode
(``learner.support_free`` not ``None``, :meth:`~sciml.learners.base.FewShotLearner.predict_support_free`)
is also scored on the *same* queries without reading the support labels
(``adaptation="none"``; ordinary rows are ``adaptation="support"``). Regression
support-free predictions have no target scale, so only the rank metrics of
:data:`SUPPORT_FREE_METRICS` are scored for them. :func:`summarize` adds, per learner,
``adaptation="gain"`` records: mean and std over seeds of the per-seed task average of the
per-episode difference learner − support-free (paired on the same draws).
"""

from __future__ import annotations

import json
import logging
import platform
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable

import numpy as np
import pandas as pd

from assays.episodes import evaluation_episodes, natural_rate_episodes
from assays.task import TaskCollection
from pipelines.report import PERCENT_METRICS
from sciml.calibration import apply_calibration
from sciml.learners.base import FewShotLearner, Prediction
from sciml.files import atomic_write_text
from sciml.metrics import (
    CLASSIFICATION_CALIBRATION,
    GAUSSIAN_METRICS,
    METRICS,
    REGRESSION_METRICS,
    UNCERTAINTY_METRICS,
    gaussian_nll,
    interval_coverage,
    interval_width,
)

logger = logging.getLogger(__name__)

#: The keys of every benchmark record :func:`summarize` writes.
#: ``adaptation`` is ``"support"`` (adapted on the support; every record written before the field
#: existed is one), ``"none"`` (support-free) or ``"gain"`` (the paired difference, :func:`gain_records`).
RECORD_KEYS = ("benchmark", "dataset", "learner", "shots", "calibration", "adaptation", "metric", "mean", "std",
               "n_seeds", "n_tasks", "selection", "command", "date", "machine", "seeds")

#: How supports are drawn: class-balanced (``k`` per class) or at the task's own base rate.
SAMPLINGS = ("balanced", "natural")

#: Metrics scored for support-free rows, by task (``None``: all of :data:`EPISODE_METRICS`).
#: Regression: Spearman only; a prediction made without support targets has no target mean
#: or scale, so R², RMSE, NLL and intervals would measure an arbitrary unit, not the model.
SUPPORT_FREE_METRICS: dict[str, tuple[str, ...] | None] = {"classification": None, "regression": ("spearman",)}


def _classification_metrics(y: np.ndarray, pred: Prediction) -> dict[str, float]:
    """:data:`~sciml.metrics.METRICS` and :data:`~sciml.metrics.CLASSIFICATION_CALIBRATION` of
    ``pred.mean [n]`` (ECE with its 15 equal-width bins), plus ``rate_gap``."""
    out = {m: fn(y, pred.mean) for m, fn in {**METRICS, **CLASSIFICATION_CALIBRATION}.items()}
    # calibration in the large: |mean P(active) - base rate|, a lower bound of ECE (per-episode
    # diagnostic only, used by benchmarks/hit_rate_sensitivity.py; not a benchmark record)
    out["rate_gap"] = float(abs(np.mean(pred.mean) - np.mean(y))) if len(y) else float("nan")
    out.update({m: fn(y, pred.mean, pred.std) for m, fn in UNCERTAINTY_METRICS.items()})
    return out


def _regression_metrics(y: np.ndarray, pred: Prediction) -> dict[str, float]:
    """:data:`~sciml.metrics.REGRESSION_METRICS` of ``pred.mean [n]``, then ``nll``, ``coverage90``
    and ``width90`` of the prediction's own 90 % interval (asymmetric for particle mixtures)."""
    lo, hi = pred.interval(0.9)
    out = {m: fn(y, pred.mean) for m, fn in REGRESSION_METRICS.items()}
    # Gaussian NLL with the predictive mean and std (for particle mixtures a Gaussian
    # approximation); std floored at 1e-6 so a zero-spread baseline gets a large finite value
    out["nll"] = gaussian_nll(y, pred.mean, np.maximum(pred.std, 1e-6))
    out["coverage90"] = interval_coverage(y, lo, hi)
    out["width90"] = interval_width(lo, hi)
    out.update({m: fn(y, pred.mean, pred.std) for m, fn in UNCERTAINTY_METRICS.items()})
    return out


#: Per-episode metrics by task: ``f(y [n], Prediction) -> {metric: value}``.
EPISODE_METRICS = {"classification": _classification_metrics, "regression": _regression_metrics}


def support_free_mode(learner) -> str | None:
    """``learner.support_free`` (``None`` for learners without the attribute)."""
    return getattr(learner, "support_free", None)


def evaluate_learner(learner: FewShotLearner, collection: TaskCollection, shots: Iterable[int],
                     seeds: Iterable[int], progress: bool = True, calibration: dict | None = None,
                     split: str = "test", hit_rate_factors: Iterable[float] = (1.0,),
                     support_free: bool = False, known_rate: bool = False,
                     sampling: str = "balanced") -> pd.DataFrame:
    """Run one learner on the ``split`` tasks of ``collection`` (default the test tasks; ``"val"``
    for selection); one row per (shots, seed, task, calibration, adaptation).

    Columns: ``learner, dataset, shots, seed, task, calibration, adaptation, n_query, <metric>...``
    plus ``fit_seconds`` (featurization excluded, adapt + predict included). With a non-empty
    ``calibration`` each episode gives a ``"none"`` and a ``"posthoc"`` row from the same fit
    (and a ``"posthoc+rate"`` row for a Platt calibration with a ``base_rate``, see above;
    ``hit_rate_factors`` other than 1 add ``"posthoc+rate*<f>"`` rows with the odds of the
    base rate multiplied by ``f``: a user's misjudged hit rate; ``f = 2`` turns 5 % into
    9.5 % and 50 % into 67 %).

    Every row adapted on the support has ``adaptation="support"``. With ``support_free`` and a
    learner whose ``support_free`` is not ``None``, each episode also gives one
    ``adaptation="none"``, ``calibration="none"`` row:
    :meth:`~sciml.learners.base.FewShotLearner.predict_support_free` on the same query, scored
    on :data:`SUPPORT_FREE_METRICS` (``fit_seconds`` = its prediction time; no post-hoc rows,
    the calibration was fitted on adapted predictions). The default is off so that callers
    which average every row (validation selection in :mod:`pipelines.select`, the analysis
    scripts) keep getting adapted rows only; :func:`pipelines.run.evaluate_benchmarks` turns it on.
    A learner with ``reads_support = False`` (a support-free baseline, :class:`sciml.learners.multitask.MultitaskRidge`) gives only
    that ``adaptation="none"`` row per episode, whatever ``support_free`` says.

    ``known_rate`` (classification): each adapted episode also gives a ``calibration="rate"``
    row, the raw probabilities shifted by Bayes' rule from the balanced support's 50 % to the
    query's true base rate (:func:`sciml.calibration.apply_calibration` with no calibration and
    ``hit_rate``): the ECE of a user who enters the assay's known hit rate, for every learner,
    calibrated or not.

    ``sampling="natural"`` (classification) draws each support at the task's own base rate
    (:func:`assays.episodes.natural_rate_episodes`; ``shots`` are then support sizes in
    molecules, not per class) instead of class-balanced (:func:`assays.episodes.evaluation_episodes`).
    Every row has a ``sampling`` column.
    """
    tasks = collection.split(split)
    kind = {t.kind for t in tasks}
    if len(kind) != 1:
        raise ValueError(f"{collection.name}: {split} tasks mix {sorted(kind)}")
    kind = kind.pop()
    metrics_fn = EPISODE_METRICS[kind]
    smiles = list(dict.fromkeys(s for t in tasks for s in t.inputs))
    t0 = time.time()
    X = learner.featurize(smiles)
    logger.info("%s: featurized %d test molecules of %s in %.1fs", learner.name, len(smiles),
                collection.name, time.time() - t0)
    pos = {s: i for i, s in enumerate(smiles)}
    task_rows = {t.name: np.fromiter((pos[s] for s in t.inputs), dtype=np.int64, count=len(t)) for t in tasks}
    seeds = list(seeds)
    # known-hit-rate rows need a Platt calibration that records its reference base rate
    rate_rows = bool(calibration) and calibration.get("method") == "platt" and "base_rate" in calibration
    free = support_free and support_free_mode(learner) is not None
    free_metrics = SUPPORT_FREE_METRICS[kind]
    # a learner that never reads the support (a support-free baseline): its only row is a support-free one
    blind = not getattr(learner, "reads_support", True)

    def free_scores(y, pred) -> dict:  # a support-free row scores :data:`SUPPORT_FREE_METRICS` only
        scores = metrics_fn(y, pred)
        return scores if free_metrics is None else {m: v for m, v in scores.items() if m in free_metrics}

    rows = []
    if sampling not in SAMPLINGS:
        raise ValueError(f"sampling must be one of {SAMPLINGS}, got {sampling!r}")
    if sampling == "natural" and kind != "classification":
        raise ValueError("natural-rate supports are for classification tasks")
    for k in shots:
        episodes = (evaluation_episodes(tasks, k, seeds) if sampling == "balanced"
                    else natural_rate_episodes(tasks, k, seeds))
        it = episodes
        if progress:
            from tqdm.auto import tqdm

            it = tqdm(episodes, desc=f"{collection.name} {learner.name} {k}-shot", unit="episode", leave=False, disable=None)
        for ep in it:
            r = task_rows[ep.task_name]
            t1 = time.time()
            learner.fit_features(X[r[ep.support_idx]], ep.support_y)
            pred = learner.predict_features(X[r[ep.query_idx]])
            base = {"learner": learner.name, "dataset": collection.name, "shots": k, "seed": ep.seed,
                    "task": ep.task_name, "adaptation": "support", "sampling": sampling, "n_query": len(ep.query_idx),
                    "fit_seconds": time.time() - t1}
            if blind:
                rows.append({**base, "adaptation": "none", "calibration": "none", **free_scores(ep.query_y, pred)})
                continue
            rows.append({**base, "calibration": "none", **metrics_fn(ep.query_y, pred)})
            if free:
                t2 = time.time()
                pred0 = learner.predict_support_free(X[r[ep.query_idx]], n_support=len(ep.support_idx))
                rows.append({**base, "adaptation": "none", "fit_seconds": time.time() - t2, "calibration": "none",
                             **free_scores(ep.query_y, pred0)})
            if known_rate and kind == "classification" and 0 < np.mean(ep.query_y) < 1:
                rows.append({**base, "calibration": "rate", **metrics_fn(
                    ep.query_y, apply_calibration(pred, None, hit_rate=float(np.mean(ep.query_y))))})
            if calibration:
                rows.append({**base, "calibration": "posthoc",
                             **metrics_fn(ep.query_y, apply_calibration(pred, calibration))})
            rate = float(np.mean(ep.query_y)) if rate_rows and len(ep.query_y) else float("nan")
            if 0 < rate < 1:
                for f in hit_rate_factors:
                    h = rate * f / (1.0 - rate + rate * f)  # odds(h) = f * odds(rate)
                    rows.append({**base, "calibration": "posthoc+rate" if f == 1 else f"posthoc+rate*{f:g}",
                                 **metrics_fn(ep.query_y, apply_calibration(pred, calibration, hit_rate=h))})
    return pd.DataFrame(rows)


#: Every metric :data:`EPISODE_METRICS` reports as a benchmark record, in table order.
ALL_METRICS = (*METRICS, *CLASSIFICATION_CALIBRATION, *REGRESSION_METRICS, *GAUSSIAN_METRICS, "width90",
               *UNCERTAINTY_METRICS)


def summarize(per_episode: pd.DataFrame, *, benchmark: str, command: str, selection: str = "validation",
              metrics: Iterable[str] = ALL_METRICS, support_free: bool = True) -> list[dict]:
    """Tidy records: per (dataset, learner, shots, calibration, adaptation, metric), mean and std over
    seeds of the task-averaged metric, for each of ``metrics`` present in ``per_episode``.

    :data:`pipelines.report.PERCENT_METRICS` are reported in percent as in the literature.
    Rows without an ``adaptation`` column (frames made before it existed) count as
    ``"support"``. With ``support_free`` (default), ``adaptation="none"`` rows give records for
    the metrics they carry (a metric that is NaN on every row of the group, e.g. R² of a
    regression support-free row, or ``std_error_rho`` of a learner whose spread is constant, gives
    none) and each learner gets ``adaptation="gain"``
    records (see :func:`gain_records`); without it, ``"none"`` rows are ignored. Rows with a
    ``sampling`` other than ``"balanced"`` are summarised apart and their records carry
    ``sampling`` (balanced records do not, as before the field existed).
    """
    per_episode = with_adaptation(per_episode)
    if "sampling" in per_episode.columns and per_episode["sampling"].fillna("balanced").ne("balanced").any():
        out = []
        sampling = per_episode["sampling"].fillna("balanced")
        for value in sorted(sampling.unique()):
            recs = summarize(per_episode[sampling == value].drop(columns="sampling"), benchmark=benchmark,
                             command=command, selection=selection, metrics=metrics, support_free=support_free)
            out += [r if value == "balanced" else {**r, "sampling": value} for r in recs]
        return out
    out = []
    if not support_free:
        per_episode = per_episode[per_episode["adaptation"] == "support"]
    metrics = [m for m in metrics if m in per_episode.columns and per_episode[m].notna().any()]
    machine, today = machine_description(), utc_date()

    def record(ds, learner, k, cal, adaptation, m, g, stats) -> dict:
        return {"benchmark": benchmark, "dataset": ds, "learner": learner, "shots": int(k), "calibration": cal,
                "adaptation": adaptation, "metric": m, **stats, "n_tasks": int(g["task"].nunique()),
                "selection": selection, "command": command, "date": today, "machine": machine,
                "seeds": sorted(int(s) for s in g["seed"].unique())}

    keys = ["dataset", "learner", "shots", "calibration", "adaptation"]
    for (ds, learner, k, cal, adaptation), g in per_episode.groupby(keys, sort=True):
        for m in metrics:
            # a support-free row or a learner without a per-molecule spread (std_error_rho) leaves
            # a metric NaN on every row: no record rather than an empty one
            if (adaptation == "none" or m in UNCERTAINTY_METRICS) and not g[m].notna().any():
                continue
            out.append(record(ds, learner, k, cal, adaptation, m, g,
                              seed_statistics(g, m, scale=100.0 if m in PERCENT_METRICS else 1.0)))
    if support_free:
        scored = [m for m in metrics if m not in UNCERTAINTY_METRICS]  # a gain of a spread diagnostic means nothing
        for (ds, learner, k, m), (g, stats) in gain_records(per_episode, scored).items():
            out.append(record(ds, learner, k, "none", "gain", m, g, stats))
    return out


def with_adaptation(per_episode: pd.DataFrame) -> pd.DataFrame:
    """``per_episode`` with an ``adaptation`` column, ``"support"`` where it is missing or NaN."""
    if "adaptation" in per_episode.columns and per_episode["adaptation"].notna().all():
        return per_episode
    out = per_episode.copy()
    out["adaptation"] = out["adaptation"].fillna("support") if "adaptation" in out.columns else "support"
    return out


def gain_records(per_episode: pd.DataFrame, metrics: Iterable[str]) -> dict[tuple, tuple[pd.DataFrame, dict]]:
    """Adaptation gain = learner − support-free, paired on the same episodes.

    Parameters
    ----------
    per_episode : pandas.DataFrame
        Rows of :func:`evaluate_learner` with ``adaptation`` (``"support"`` / ``"none"``).
    metrics : iterable of str
        Metrics to compare.

    Returns
    -------
    dict
        ``{(dataset, learner, shots, metric): (paired rows, seed statistics)}`` for every
        (dataset, learner, shots) with both uncalibrated ``"support"`` and ``"none"`` rows and a
        finite difference somewhere. Per episode (seed, task): ``support − none``; per seed the
        NaN-skipping mean of that over tasks; then mean and std (ddof=1) over seeds, as
        :func:`seed_statistics` (percent for :data:`pipelines.report.PERCENT_METRICS`). The
        paired rows have columns ``seed``, ``task`` and one difference column per metric.
    """
    raw = per_episode[per_episode["calibration"] == "none"]
    idx = ["dataset", "learner", "shots", "seed", "task"]
    out = {}
    free = raw[raw["adaptation"] == "none"]
    for (ds, learner, k), g0 in free.groupby(["dataset", "learner", "shots"], sort=True):
        g1 = raw[(raw["adaptation"] == "support") & (raw["dataset"] == ds) & (raw["learner"] == learner)
                 & (raw["shots"] == k)]
        cols = [m for m in metrics if m in g0.columns and m in g1.columns]
        if g1.empty or not cols:
            continue
        if g0.duplicated(idx).any() or g1.duplicated(idx).any():
            raise ValueError(f"{ds} {learner} {k}-shot: more than one row per (seed, task); cannot pair the gain")
        pair = g1[idx + cols].merge(g0[idx + cols], on=idx, suffixes=("", "__free"))
        diff = pair[["seed", "task"]].copy()
        for m in cols:
            diff[m] = pair[m] - pair[m + "__free"]
        for m in cols:
            if diff[m].notna().any():
                out[(ds, learner, k, m)] = (diff, seed_statistics(diff, m, scale=100.0 if m in PERCENT_METRICS else 1.0))
    return out


def seed_statistics(per_episode: pd.DataFrame, metric: str, *, ddof: int = 1, scale: float = 1.0) -> dict:
    """``{"mean", "std", "n_seeds"}`` over seeds of the task-averaged ``metric``.

    Parameters
    ----------
    per_episode : pandas.DataFrame
        Rows of one (learner, dataset, shots, ...) group, columns ``seed`` and ``metric``.
    ddof : int, default 1
        Delta degrees of freedom of the standard deviation over seeds.
    scale : float, default 1.0
        Factor applied to the per-seed averages (100 for percent).

    Returns
    -------
    dict
        Per seed, the NaN-skipping mean over its tasks; then the mean and the ``ddof``
        standard deviation (0.0 with fewer than two seeds) over the seeds whose average is
        finite, and their number ``n_seeds``.
    """
    per_seed = per_episode.groupby("seed")[metric].mean().to_numpy(dtype=float) * scale
    finite = per_seed[np.isfinite(per_seed)]
    return {"mean": float(np.mean(finite)) if finite.size else float("nan"),
            "std": float(np.std(finite, ddof=ddof)) if finite.size > 1 else 0.0,
            "n_seeds": int(finite.size)}


def _cpu_count() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


def utc_date() -> str:
    """Today's date in UTC, ``YYYY-MM-DD``: the ``date`` written into result files."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%d")


def script_command(argv: list[str] | None = None) -> str:
    """The command line of a benchmark script as written into its result files:
    ``python <script> <args...>``, shell-quoted (``argv`` defaults to ``sys.argv``)."""
    import shlex
    import sys

    return "python " + " ".join(shlex.quote(a) for a in (sys.argv if argv is None else argv))


def machine_description(cpu_model: bool = False) -> str:
    """The machine a benchmark ran on, as written into every result file:
    ``"host (arch, N CPU cores[, CPU model], OS)"``."""
    cpu = f", {_cpu_model()}" if cpu_model else ""
    return f"{platform.node() or 'unknown'} ({platform.machine()}, {_cpu_count()} CPU cores{cpu}, {platform.system()})"


def record_key(r: dict) -> tuple:
    """The identity of a benchmark record in a results file: (benchmark, dataset, learner, shots,
    calibration, adaptation, metric, sampling); a record without ``adaptation`` (written before the
    field existed) is an adapted one, ``"support"``; one without ``sampling``, ``"balanced"``."""
    return (r["benchmark"], r["dataset"], r["learner"], r["shots"], r["calibration"],
            r.get("adaptation", "support"), r["metric"], r.get("sampling", "balanced"))


def keep_not_redone(path: Path, records: list[dict]) -> list[dict]:
    """``records`` after the records of the analysis JSON at ``path`` (``{..., "records": [...]}``)
    whose (dataset, learner) pair ``records`` does not redo.

    Every analysis record carries its own ``command`` and ``date``, so a kept row keeps the
    provenance of the run that made it.
    """
    if not path.is_file():
        return list(records)
    done = {(r["dataset"], r["learner"]) for r in records}
    old = json.loads(path.read_text())["records"]
    return [r for r in old if (r["dataset"], r["learner"]) not in done] + list(records)


def merge_records(path: Path, new: list[dict]) -> list[dict]:
    """Write ``new`` into the JSON list at ``path``, replacing records with the same :func:`record_key`
    and keeping all others as they are (an old record without ``adaptation`` is matched as
    ``"support"`` and, when kept, is written back unchanged, without the field)."""
    old = json.loads(path.read_text()) if path.is_file() else []
    fresh = {record_key(r) for r in new}
    merged = [r for r in old if record_key(r) not in fresh] + list(new)
    merged.sort(key=record_key)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps(merged, indent=1) + "\n")
    return merged


def write_analysis(out: Path, meta: dict, records: list[dict], markdown: str, *, key: str = "records") -> None:
    """Write an analysis script's results: ``<out>.json`` (``{**meta, key: records}``) and ``<out>.md``."""
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out.with_suffix(".json"), json.dumps({**meta, key: records}, indent=2) + "\n")
    atomic_write_text(out.with_suffix(".md"), markdown)


def analysis_arguments(ap, *, datasets: str, learners: str, out: str) -> None:
    """Add the options the analysis scripts share to the ``argparse.ArgumentParser`` ``ap``.

    ``--datasets`` and ``--learners`` (comma-separated, defaults ``datasets`` and
    ``learners``), ``--seeds`` (support draws 0..N-1, default 10), ``--checkpoint`` (folder
    pattern with ``{learner}`` and ``{dataset}``) and ``--out`` (results path without suffix,
    default ``out``).
    """
    ap.add_argument("--datasets", default=datasets, help="Comma-separated datasets.")
    ap.add_argument("--learners", default=learners, help="Comma-separated learners.")
    ap.add_argument("--seeds", type=int, default=10, help="Support draws (seeds 0..N-1).")
    ap.add_argument("--checkpoint", default="runs/{learner}-{dataset}",
                    help="Checkpoint folder pattern; '{learner}' and '{dataset}' are replaced by the names.")
    ap.add_argument("--out", type=Path, default=Path(out), help="Results path without suffix (.json and .md are written).")
