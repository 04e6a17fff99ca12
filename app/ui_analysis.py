"""Steps 5-7: the check on the user's own data, what to measure next, and the plots."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from app import cache, core, guard, plots
from app import user_tables as ut
from app.ui_model import RunSettings
from app.ui_predict import columns, domain_labels
from sciml.acquisition import ACQUISITIONS


def _pct(x) -> str:
    return "–" if x is None or not np.isfinite(x) else f"{x:.0%}"


def _fmt(x) -> str:
    return "–" if x is None or not np.isfinite(x) else f"{x:.2f}"


def check(info, loaded, support: ut.SupportSet, s: RunSettings) -> tuple[pd.DataFrame | None, dict]:
    """Step 5; returns the check table (``None`` when it could not run) and its summary."""
    st.header("5 · Check the model on your own data")
    if s.grouped:
        st.caption(f"{s.check}: compounds that share a Bemis–Murcko ring scaffold stay in one of {s.n_folds} folds "
                   "and each fold is predicted by the model adapted on the other scaffolds only, which shows how the "
                   "model does on chemotypes it was not adapted on.")
    else:
        st.caption(f"{s.check}: each measured compound is predicted by the model adapted on the "
                   f"{'others' if s.n_folds is None else 'other folds'}, so you can see how far to trust this "
                   "adaptation before acting on it.")
    hint = "Change the check in the sidebar or press Predict again."
    with guard.step("Checking the model on your measured compounds", hint), \
            st.spinner(f"{s.check} check on {len(support.y)} measured compounds…"):
        model = cache.session_model(loaded, support.kind, s.level, s.hit_rate)
        cv, why = cache.cached_check(model, (info.name, info.stamp()), support.kind, s.level,
                                     tuple(support.smiles), tuple(support.y.tolist()), s.n_folds, s.grouped)
    if cv is None:
        st.warning(f"The check could not run: {why} Change the check in the sidebar or add measured compounds.")
        return None, {}
    if "group" in cv.columns:
        name = loaded.domain.group_name
        n_groups, n_used = cv["group"].nunique(), cv["fold"].nunique()
        if n_used < (s.n_folds or 0):
            st.info(f"Your {len(cv)} measured compounds have only {n_groups} distinct {name}s, so the check used "
                    f"{n_used} folds (one per {name}) instead of {s.n_folds}.")
        else:
            st.markdown(f"{n_groups} distinct {name}s in {n_used} folds.")
        cv = cv.rename(columns={"group": name})
    summary = core.cv_summary(cv, support.kind, s.level)
    if not summary.get("n_predicted"):
        st.warning("No compound could be predicted in the check (each fold lacked a class); add measurements.")
        return cv, summary
    c = st.columns(4)
    if support.kind == "regression":
        c[0].metric(f"Coverage of the {s.level:.0%} intervals", _pct(summary.get("coverage")),
                    help=f"Share of measured values inside their {s.level:.0%} interval; ideally about {s.level:.0%}.")
        c[1].metric(f"RMSE ({support.units})", f"{summary['rmse']:.2f}", help="Root-mean-square error")
        c[2].metric("R²", _fmt(summary.get("r2")), help="1 − squared error / variance of your values; "
                    "0 = no better than predicting their mean")
        c[3].metric("Spearman rank correlation", _fmt(summary.get("spearman")),
                    help="How well the predicted order matches the measured order (1 = perfectly)")
    else:
        c[0].metric("ROC-AUC", _fmt(summary.get("roc_auc")),
                    help="Chance that an active is ranked above an inactive (0.5 = chance, 1 = perfect)")
        prev = summary.get("prevalence")
        c[1].metric("PR-AUC", _fmt(summary.get("pr_auc")),
                    delta=None if prev is None else f"{summary['pr_auc'] - prev:+.2f} over chance ({prev:.2f})",
                    delta_color="off", help="Average precision of the ranking; chance = the share of actives "
                                            "(the difference is ΔAUPRC)")
        c[2].metric("Brier score", f"{summary['brier']:.3f}", help="Mean squared error of P(active); lower is better")
        c[3].metric("Accuracy at P = 0.5", _pct(summary.get("accuracy")))
    for level, text in core.check_verdicts(summary):
        (st.warning if level == "warning" else st.caption)(text)
    cov = summary.get("coverage")
    if support.kind == "regression" and cov is not None and cov < s.level - 0.15:
        st.warning(f"Only {cov:.0%} of your measurements fall inside their {s.level:.0%} intervals: the intervals are "
                   "too narrow for this assay; treat predictions with extra caution.")
    if support.kind == "regression":
        st.altair_chart(plots.check_measured_vs_predicted(cv, support.units, s.level), width="stretch")
    else:
        st.altair_chart(plots.check_probabilities_by_class(cv), width="stretch")
    cv = _baseline(cv, support, s)
    with st.expander(f"Check table ({summary['n_predicted']} of {summary['n']} compounds predicted)"):
        st.dataframe(cv, hide_index=True)
    return cv, summary


def _baseline(cv: pd.DataFrame, support: ut.SupportSet, s: RunSettings) -> pd.DataFrame:
    """The support-only baseline's check on the same folds, its figures beside the model's and the verdict;
    returns the check table with the baseline's columns added."""
    name = s.baseline(support.kind)
    label = core.BASELINES.get(name, name)
    st.subheader(f"Beside a support-only baseline: {label}")
    with st.spinner(f"The same check for a {label} fitted on your compounds alone…"):
        base_cv, why = cache.cached_baseline_check(name, support.kind, s.level, tuple(support.smiles),
                                                   tuple(support.y.tolist()), s.n_folds, s.grouped)
    if base_cv is None:
        st.info(f"The baseline's check could not run: {why}")
        return cv
    model_sum = core.cv_summary(cv, support.kind, s.level)
    base_sum = core.cv_summary(base_cv, support.kind, s.level)
    rows = ([("ROC-AUC", "roc_auc"), ("PR-AUC", "pr_auc"), ("Brier score", "brier")]
            if support.kind == "classification" else
            [("R²", "r2"), ("Spearman", "spearman"), (f"RMSE ({support.units})", "rmse"),
             (f"Coverage of the {s.level:.0%} intervals", "coverage")])
    table = pd.DataFrame({"figure": [r[0] for r in rows],
                          "meta-learned model": [_fmt(model_sum.get(k)) for _, k in rows],
                          f"{label} (support only)": [_fmt(base_sum.get(k)) for _, k in rows]})
    st.dataframe(table, hide_index=True)
    cmp = core.compare_checks(cv, base_cv, support.kind, name)
    {"success": st.success, "warning": st.warning}.get(cmp["level"], st.info)(cmp["text"])
    st.caption(f"Both checks use the same folds ({s.check}); the interval is a paired bootstrap over the compounds "
               "both predicted. The baseline reads Morgan fingerprints (radius 2, 2048 bits) of your compounds and "
               "nothing else.")
    return core.with_baseline(cv, base_cv)


def rank(result: core.RunResult, support: ut.SupportSet, cands: ut.Candidates, s: RunSettings) -> tuple[pd.DataFrame, dict]:
    """Step 6; returns the ranking columns and the acquisition settings."""
    st.header("6 · What to measure next")
    keys = core.acquisition_choices(support.kind)
    if st.session_state.get("acquisition") not in keys:
        st.session_state["acquisition"] = "ucb" if "ucb" in keys else keys[0]
    c1, c2 = st.columns([2, 1])
    name = c1.selectbox("Rank candidates by", keys, key="acquisition", format_func=lambda k: ACQUISITIONS[k].label,
                        help="How the candidates are ordered for the next measurements; " +
                             "; ".join(f"{ACQUISITIONS[k].label}: {ACQUISITIONS[k].explanation}" for k in keys))
    kappa = 1.0
    if name == "ucb":
        kappa = float(c2.number_input("kappa", 0.0, 10.0, 1.0, 0.5, key="kappa",
                                      help="Weight of the uncertainty: 0 = rank by prediction only."))
    st.info(f"**{ACQUISITIONS[name].label}.** {ACQUISITIONS[name].explanation}")
    maximize = support.maximize if support.kind == "regression" else True
    best = float(np.max(support.y) if maximize else np.min(support.y))
    ranking = core.rank(result.predictions, name, best=best, kappa=kappa, maximize=maximize)
    n = min(10, len(ranking))
    st.markdown(f"Top {n} to measure next" + ("" if maximize else " (lower values are better)") + ":")
    top = ranking.sort_values("acquisition_rank", na_position="last").head(n).index
    view = pd.concat([result.predictions.loc[top], ranking.loc[top]], axis=1)

    view.insert(0, "structure", [cache.depiction(smi) for smi in view["smiles"]])
    view.insert(0, "input_row", top)
    view["domain"] = domain_labels(view["domain_level"])
    shown = ["acquisition_rank", "input_row", "structure", "smiles", "prediction", "std", "acquisition_score",
             "domain", "domain_reason"]
    st.dataframe(view[shown], hide_index=True, row_height=64, key="ranking_table",
                 column_config=columns(support.units, s.level, support.kind))
    return ranking, {"acquisition": name, "kappa": kappa if name == "ucb" else None, "maximize": maximize,
                     "best_measured": best}


def charts(result: core.RunResult, cv: pd.DataFrame | None, support: ut.SupportSet, s: RunSettings,
           summary: dict) -> None:
    st.header("7 · Plots")
    title = support.units if support.kind == "regression" else "P(active)"
    t1, t2, t3 = st.tabs(["Prediction vs uncertainty", "Distribution of predictions",
                          "Calibration of the check" if support.kind == "regression" else "Reliability diagram"])
    with t1:
        st.altair_chart(plots.prediction_vs_uncertainty(result.predictions, title), width="stretch")
        st.caption("Red points are outside the applicability domain, orange ones at its edge. High and uncertain: "
                   "worth measuring to learn; high and certain: worth making.")
    with t2:
        measured = support.y if support.kind == "regression" else None
        st.altair_chart(plots.prediction_histogram(result.predictions, title, measured), width="stretch")
    with t3:
        if cv is None or not summary.get("n_predicted"):
            st.info("No check results to plot.")
        elif support.kind == "regression":
            curve = core.coverage_curve(cv)
            st.altair_chart(plots.coverage_chart(curve, summary.get("coverage"), s.level), width="stretch")
            st.caption("Line: coverage of Gaussian intervals (mean ± z·std) at each nominal level on your data; "
                       "diamond: the model's own interval at the chosen level. On the diagonal = well calibrated; "
                       "below = over-confident.")
        else:
            st.altair_chart(plots.reliability_chart(cv), width="stretch")
            bins = plots.reliability_bins(cv)
            st.caption(f"Points: the fraction of your compounds measured active in each bin of held-out P(active) "
                       f"({', '.join(f'{r.low:.1f}–{r.high:.1f}: {r.n}' for r in bins.itertuples())} compounds); on "
                       "the diagonal = calibrated. With a few compounds per bin the fractions are rough: read the "
                       "counts before the line.")
