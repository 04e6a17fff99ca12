"""What the app computes, without Streamlit: adapt, predict, check, rank, and the downloadable table.

These are the library calls the app makes (``benchmarks/app_latency.py`` times them):
:class:`sciml.api.FewShotModel` ``fit`` / ``predict`` / ``domain`` / ``cross_validate``,
the same calls on a support-only baseline (:class:`sciml.support_only.SupportOnlyModel`) that
stands beside the model, and :func:`sciml.acquisition.acquisition_scores`.
"""

from __future__ import annotations

import io
import json
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.stats import norm, spearmanr

from sciml.acquisition import ACQUISITIONS, acquisition_scores
from sciml.learners.base import SupportSetError
from sciml.metrics import (
    average_precision,
    bootstrap_interval,
    brier,
    paired_bootstrap_difference,
    r2,
    rmse,
    roc_auc,
    spearman,
)

#: Columns the app adds to each candidate row (input columns come first).
RESULT_COLUMNS = ["prediction", "std", "lower", "upper", "domain_level", "in_domain", "domain_reason",
                  "nearest_support", "nearest_measured", "nearest_similarity", "embedding_distance",
                  "acquisition_score", "acquisition_rank", "error"]
#: Columns of the support-only baseline's predictions, beside the model's (``baseline_`` + its column).
BASELINE_COLUMNS = ["baseline_prediction", "baseline_std", "baseline_lower", "baseline_upper", "baseline_error"]
#: Support-only baselines the app offers: registry key -> name on the page.
BASELINES = {"rf": "random forest", "gp_tanimoto": "Tanimoto GP", "knn": "k-nearest neighbours"}


@dataclass
class RunResult:
    """One adaptation: per-candidate predictions + domain, support rows the model left out, timings (seconds)."""

    predictions: pd.DataFrame
    support_errors: pd.DataFrame = field(default_factory=pd.DataFrame)
    n_support: int = 0
    seconds: dict = field(default_factory=dict)
    #: the baseline's registry key, its predictions (``smiles, prediction, std, lower, upper, error``, one row
    #: per candidate) and why it has none ('' when it ran)
    baseline: str | None = None
    baseline_predictions: pd.DataFrame | None = None
    baseline_error: str = ""
    #: the checkpoint's calibrated domain thresholds (:attr:`sciml.api.FewShotModel.applicability`), ``{}`` if none
    domain_calibration: dict = field(default_factory=dict)


def make_model(loaded, task: str, level: float, hit_rate: float | None = None):
    """A per-session model on a shared, read-only loaded checkpoint (``hit_rate``: classification only)."""
    from sciml.api import FewShotModel

    return FewShotModel(loaded, task=task, level=level, hit_rate=hit_rate)


def adapt_and_predict(model, support_smiles, support_y, cand_smiles, *,
                      similarity: float | None = None) -> tuple[pd.DataFrame, dict]:
    """Fit on the support set, then predictions and applicability domain for every candidate (one row each);
    ``similarity=None``: the checkpoint's calibrated domain thresholds (else the domain's defaults)."""
    seconds = {}
    t = time.perf_counter()
    model.fit(list(support_smiles), np.asarray(support_y, dtype=np.float64))
    seconds["adapt"] = time.perf_counter() - t
    t = time.perf_counter()
    pred = model.predict(list(cand_smiles))
    seconds["predict"] = time.perf_counter() - t
    t = time.perf_counter()
    dom = model.domain(list(cand_smiles), similarity_threshold=similarity)
    seconds["domain"] = time.perf_counter() - t
    out = pd.concat([pred.reset_index(drop=True), dom.reset_index(drop=True)], axis=1)
    return out, seconds


def make_baseline(name: str, task: str, level: float):
    """A support-only baseline (:data:`BASELINES` key) with the model's interface; seeded (``seed=0``) where
    the learner draws random numbers."""
    from sciml.support_only import SupportOnlyModel

    return SupportOnlyModel(name, task=task, level=level, **({"seed": 0} if name == "rf" else {}))


def run(model, support_smiles, support_y, cand_smiles, *, similarity: float | None = None,
        baseline: str | None = None) -> RunResult:
    """:func:`adapt_and_predict` as a :class:`RunResult`, plus the ``baseline``'s predictions fitted on the same
    support (the support check is :func:`check`)."""
    preds, seconds = adapt_and_predict(model, support_smiles, support_y, cand_smiles, similarity=similarity)
    out = RunResult(preds, model.support_errors_.copy(), int(model.n_support_), seconds, baseline=baseline,
                    domain_calibration=model.applicability)
    if baseline:
        t = time.perf_counter()
        base = make_baseline(baseline, model.task, model.level)
        try:
            base.fit(list(support_smiles), np.asarray(support_y, dtype=np.float64))
            out.baseline_predictions = base.predict(list(cand_smiles))
        except SupportSetError as exc:
            out.baseline_error = str(exc)
        seconds["baseline"] = time.perf_counter() - t
    return out


def check(model, support_smiles, support_y, n_folds: int | None = None,
          grouped: bool = False) -> tuple[pd.DataFrame | None, str]:
    """Leave-one-out (``n_folds=None``), K-fold or, with ``grouped``, K-fold by the domain's groups (scaffolds)
    predictions on the support set: ``(table, "")`` or ``(None, why not)``. The table has a ``fold`` column
    (and ``group`` when grouped; see :meth:`sciml.api.FewShotModel.cross_validate`). Fits first unless the
    model is already fitted on exactly this support."""
    y = np.asarray(support_y, dtype=np.float64)
    fitted = getattr(model, "support_y_", None)
    if not (fitted is not None and len(fitted) == len(y) and list(model.support_smiles_) == list(support_smiles)
            and np.array_equal(fitted, y)):
        model.fit(list(support_smiles), y)
    try:
        return model.cross_validate(n_folds, groups=True if grouped else None), ""
    except SupportSetError as exc:
        return None, str(exc)


def nearest_measured(support_smiles, support_y, raw, k: int = 5, domain=None) -> pd.DataFrame:
    """The ``k`` measured inputs most similar to ``raw`` (the domain's similarity): ``rank, smiles`` (the domain's
    output column), ``measured, similarity``, most similar first."""
    from sciml.domains import Domain, get_domain

    domain = domain if isinstance(domain, Domain) else get_domain(domain)
    sim = domain.similarity([raw], list(support_smiles))[0]
    order = np.argsort(-sim, kind="stable")[:k]
    return pd.DataFrame({"rank": np.arange(1, len(order) + 1),
                         domain.output_column: [support_smiles[i] for i in order],
                         "measured": np.asarray(support_y, dtype=np.float64)[order], "similarity": sim[order]})


def filter_by_pattern(smiles, pattern: str, domain=None) -> np.ndarray:
    """Boolean mask ``[n]`` of the inputs containing ``pattern`` (SMARTS for molecules); ``ValueError`` with the
    reason for a pattern the domain cannot read."""
    from sciml.domains import Domain, get_domain

    domain = domain if isinstance(domain, Domain) else get_domain(domain)
    return domain.matches(list(smiles), pattern)


# ------------------------------------------------------------------------------- ranking


def acquisition_choices(task: str) -> list[str]:
    """Registry keys of the acquisitions that apply to ``task``."""
    return [k for k, a in ACQUISITIONS.items() if task in a.tasks]


def rank(predictions: pd.DataFrame, name: str, *, best: float | None, kappa: float = 1.0,
         maximize: bool = True) -> pd.DataFrame:
    """``acquisition_score`` and ``acquisition_rank`` (1 = measure first; missing where nothing was predicted)."""
    scores = acquisition_scores(name, predictions["prediction"].to_numpy(float), predictions["std"].to_numpy(float),
                                best=best, kappa=kappa, maximize=maximize)
    s = pd.Series(scores, index=predictions.index)
    ranks = s.rank(ascending=False, method="first")
    return pd.DataFrame({"acquisition_score": s, "acquisition_rank": ranks.astype("Int64")})


# --------------------------------------------------------------------------------- check


#: Central coverage of the bootstrap intervals of the check's figures.
CHECK_CI_LEVEL = 0.9
#: Chance level of each figure with an interval: an interval reaching it means no demonstrated skill.
CHANCE = {"roc_auc": 0.5, "spearman": 0.0, "r2": 0.0}


def cv_summary(cv: pd.DataFrame, task: str, level: float, seed: int = 0) -> dict:
    """Figures of the support-set check, each ranking figure with a bootstrap interval over the compounds.

    Regression: interval coverage and width, RMSE, MAE, Spearman and R² (``<name>_ci``: the
    :data:`CHECK_CI_LEVEL` percentile bootstrap interval). Classification: accuracy at P = 0.5,
    Brier, ROC-AUC, PR-AUC (average precision) and its prevalence; no interval coverage (an
    interval of P(active) says nothing about 0/1 labels).
    """
    done = cv.dropna(subset=["prediction"])
    out = {"n": len(cv), "n_predicted": len(done), "level": level}
    if done.empty:
        return out
    y, m = done["measured"].to_numpy(float), done["prediction"].to_numpy(float)
    ci = lambda f: bootstrap_interval(f, y, m, level=CHECK_CI_LEVEL, seed=seed)  # noqa: E731
    if task == "regression":
        out["coverage"] = float(done["covered"].astype(float).mean())
        out["mean_width"] = float((done["upper"] - done["lower"]).mean())
        out["rmse"] = rmse(y, m)
        out["mae"] = float(np.mean(np.abs(y - m)))
        out["spearman"] = float(spearmanr(y, m).statistic) if len(done) > 2 and np.ptp(m) > 0 else float("nan")
        out["spearman_ci"] = ci(spearman)
        out["r2"] = r2(y, m)
        out["r2_ci"] = ci(r2)
    else:
        out["accuracy"] = float(np.mean((m >= 0.5) == (y == 1)))
        out["brier"] = brier(y, m)
        if (y == 1).any() and (y == 0).any():
            out["roc_auc"] = roc_auc(y, m)
            out["roc_auc_ci"] = ci(roc_auc)
            out["pr_auc"] = average_precision(y, m)
            out["prevalence"] = float(np.mean(y == 1))
    return out


def check_verdicts(summary: dict) -> list[tuple[str, str]]:
    """Plain sentences on how far the check can be trusted: ``(level, text)``, level ``"warning"`` or ``"info"``.

    One per figure that has an interval: a warning where the interval reaches chance
    (:data:`CHANCE`), else how wide it is on this many compounds.
    """
    names = {"roc_auc": "ROC-AUC", "spearman": "Spearman", "r2": "R²"}
    n = summary.get("n_predicted", 0)
    out = []
    for key, label in names.items():
        lo, hi = summary.get(f"{key}_ci", (np.nan, np.nan))
        if key not in summary or not (np.isfinite(lo) and np.isfinite(hi)):
            continue
        span = f"{label} {summary[key]:.2f}, {CHECK_CI_LEVEL:.0%} interval {lo:.2f} to {hi:.2f} over your {n} compounds"
        if lo <= CHANCE[key]:
            out.append(("warning", f"{span}: it includes {CHANCE[key]:g}, no better than chance, so this check "
                                   f"does not show that the model has skill on your assay. Measure more compounds "
                                   f"or treat the ranking as a guess."))
        else:
            out.append(("info", f"{span}: on {n} compounds this check cannot tell {lo:.2f} from {hi:.2f}."))
    return out


#: The figure on which model and baseline are compared, per task: (key, label, metric).
COMPARED = {"classification": ("roc_auc", "ROC-AUC", roc_auc), "regression": ("r2", "R²", r2)}


def compare_checks(cv_model: pd.DataFrame, cv_base: pd.DataFrame, task: str, baseline: str,
                   seed: int = 0) -> dict:
    """Model vs baseline on the compounds both predicted in the check, with a paired bootstrap interval.

    Returns ``{"figure", "n", "model", "baseline", "difference", "ci": (lo, hi), "verdict", "level", "text"}``:
    ``verdict`` is ``"ahead"`` (the :data:`CHECK_CI_LEVEL` interval of model − baseline is above 0),
    ``"behind"`` (below 0), ``"level"`` (it includes 0) or ``"unknown"`` (the figure is undefined, e.g. one
    class only); ``level`` is the page's message level and ``text`` the sentence.
    """
    key, label, metric = COMPARED[task]
    col = cv_model.columns[0]
    a = cv_model.dropna(subset=["prediction"])[[col, "measured", "prediction"]]
    b = cv_base.dropna(subset=["prediction"])[[col, "prediction"]]
    j = a.merge(b, on=col, suffixes=("", "_baseline"))
    name = BASELINES.get(baseline, baseline)
    y = j["measured"].to_numpy(float)
    d, lo, hi = paired_bootstrap_difference(metric, y, j["prediction"].to_numpy(float),
                                            j["prediction_baseline"].to_numpy(float), level=CHECK_CI_LEVEL,
                                            seed=seed)
    out = {"figure": label, "n": len(j), "model": metric(y, j["prediction"].to_numpy(float)) if len(j) > 1 else np.nan,
           "baseline": metric(y, j["prediction_baseline"].to_numpy(float)) if len(j) > 1 else np.nan,
           "difference": d, "ci": (lo, hi)}
    if not (np.isfinite(lo) and np.isfinite(hi)):
        out.update(verdict="unknown", level="info",
                   text=f"{label} cannot be compared on these {len(j)} compounds (too few, or one class only).")
        return out
    figs = (f"{label} {out['model']:.2f} vs {out['baseline']:.2f} for a support-only {name}, difference {d:+.2f} "
            f"({CHECK_CI_LEVEL:.0%} interval {lo:+.2f} to {hi:+.2f}) over your {len(j)} compounds")
    if lo > 0:
        out.update(verdict="ahead", level="success",
                   text=f"The meta-learned model is ahead of the baseline on your compounds: {figs}.")
    elif hi < 0:
        out.update(verdict="behind", level="warning",
                   text=f"The meta-learned model is behind the baseline on your compounds: {figs}. The baseline's "
                        f"predictions are in the download (columns baseline_*); prefer them for this assay, or "
                        f"measure more compounds.")
    else:
        out.update(verdict="level", level="info",
                   text=f"The meta-learned model and the baseline are level within the check's uncertainty: {figs}; "
                        f"the interval includes 0, so this check cannot tell them apart.")
    return out


def with_baseline(cv_model: pd.DataFrame, cv_base: pd.DataFrame | None) -> pd.DataFrame:
    """The check table with the baseline's check columns (``baseline_prediction`` …) beside the model's."""
    if cv_base is None:
        return cv_model
    col = cv_model.columns[0]
    extra = cv_base[[col, "prediction", "std", "lower", "upper"]].rename(
        columns={c: f"baseline_{c}" for c in ("prediction", "std", "lower", "upper")})
    return cv_model.merge(extra, on=col, how="left")


def coverage_curve(cv: pd.DataFrame, levels=None) -> pd.DataFrame:
    """Achieved vs nominal coverage of Gaussian intervals ``mean ± z std`` on the support check."""
    levels = np.round(np.arange(0.1, 1.0, 0.05), 2) if levels is None else np.asarray(levels)
    done = cv.dropna(subset=["prediction", "std"])
    if done.empty:
        return pd.DataFrame(columns=["nominal", "achieved"])
    err = np.abs(done["measured"].to_numpy(float) - done["prediction"].to_numpy(float))
    std = done["std"].to_numpy(float)
    achieved = [float(np.mean(err <= norm.ppf(0.5 + q / 2) * std)) for q in levels]
    return pd.DataFrame({"nominal": levels, "achieved": achieved})


# ------------------------------------------------------------------------------ download


def assemble_output(cand_df: pd.DataFrame, predictions: pd.DataFrame, ranking: pd.DataFrame,
                    settings: dict | None = None, baseline: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per input candidate row: the user's columns, then :data:`RESULT_COLUMNS`, the support-only
    baseline's :data:`BASELINE_COLUMNS` (when ``baseline``, its predictions, is given), then a few settings."""
    inputs = cand_df.reset_index(drop=True).copy()
    inputs.columns = [output_column(c) for c in inputs.columns]
    res = pd.concat([predictions.reset_index(drop=True), ranking.reset_index(drop=True)], axis=1)
    out = pd.concat([pd.DataFrame({"input_row": np.arange(len(inputs))}), inputs, res[RESULT_COLUMNS]], axis=1)
    out["in_domain"] = out["in_domain"].astype("boolean")
    if baseline is not None:
        base = baseline.reset_index(drop=True)
        for c in BASELINE_COLUMNS:
            out[c] = base[c.removeprefix("baseline_")].to_numpy()
    for key in ("checkpoint", "learner", "task", "level", "support_sha256", "baseline"):
        if settings and key in settings:
            out[f"run_{key}"] = settings[key]
    return out


def output_column(input_column: str) -> str:
    """The name :func:`assemble_output` gives a column of the user's candidate table."""
    ours = set(RESULT_COLUMNS) | set(BASELINE_COLUMNS) | {"input_row"}
    return f"input_{input_column}" if input_column in ours else str(input_column)


def to_structure_bytes(out: pd.DataFrame, structure_col: str, domain=None) -> bytes:
    """The output table as the domain's structure file (SDF for molecules), ranked: records ordered by
    ``acquisition_rank`` (unranked rows last, in input order), every column a property, one record per row."""
    from sciml.domains import Domain, get_domain

    ranked = out.sort_values("acquisition_rank", na_position="last", kind="stable")
    domain = domain if isinstance(domain, Domain) else get_domain(domain)
    return domain.write_structures(ranked[structure_col].tolist(), ranked)


def to_csv_bytes(df: pd.DataFrame) -> bytes:
    return df.to_csv(index=False).encode("utf-8")


def to_parquet_bytes(df: pd.DataFrame, settings: dict | None = None) -> bytes:
    """Parquet with the run's settings also in the file's key-value metadata (``sciml_run``)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(df, preserve_index=False)
    if settings:
        meta = dict(table.schema.metadata or {})
        meta[b"sciml_run"] = json.dumps(settings, default=str).encode("utf-8")
        table = table.replace_schema_metadata(meta)
    buf = io.BytesIO()
    pq.write_table(table, buf)
    return buf.getvalue()


def settings_json(settings: dict) -> bytes:
    return json.dumps(settings, indent=2, default=str).encode("utf-8")
