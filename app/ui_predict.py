"""Step 4: adapt and predict (the Predict button), then the sortable result table with structures."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone

import numpy as np
import pandas as pd
import streamlit as st

from app import cache, core, guard
from app.core import BASELINES
from app import user_tables as ut
from app.assets import CheckpointInfo
from app.ui_model import RunSettings

_ORDERS = {
    "Acquisition rank (step 6)": ("acquisition_rank", True),
    "Prediction, highest first": ("prediction", False),
    "Prediction, lowest first": ("prediction", True),
    "Uncertainty, largest first": ("std", False),
    "Input order": ("input_row", True),
}


def signature(info: CheckpointInfo, support: ut.SupportSet, cands: ut.Candidates, s: RunSettings) -> str:
    payload = [info.name, info.stamp(), support.kind, s.level, s.similarity, hit_rate(support, s), support.smiles,
               support.y.tolist(), cands.smiles, s.baseline(support.kind)]
    return hashlib.sha256(json.dumps(payload, default=str).encode()).hexdigest()


def hit_rate(support: ut.SupportSet, s: RunSettings) -> float | None:
    """The sidebar's expected hit rate where it applies (classification), else None."""
    return s.hit_rate if support.kind == "classification" else None


def run(info: CheckpointInfo, loaded, support: ut.SupportSet, cands: ut.Candidates, s: RunSettings, auto: bool):
    """The Predict button; returns the stored run for the current inputs or stops the page."""
    st.header("4 · Predictions")
    sig = signature(info, support, cands, s)
    clicked = st.button("Predict", type="primary", key="predict",
                        help=f"Adapt the model on the {len(support.y)} usable measured compounds and predict all "
                             f"{len(cands.smiles):,} candidates, then check it on your own data (step 5).")
    if clicked or auto:
        hint = "Check the measured compounds (step 2) and the candidates (step 3), then press Predict again."
        with guard.step("Adapting the model and predicting", hint), \
                st.spinner(f"Adapting on {len(support.y)} compounds and predicting {len(cands.smiles):,} candidates…"):
            model = cache.session_model(loaded, support.kind, s.level, hit_rate(support, s))
            result = cache.cached_run(model, (info.name, info.stamp()), support.kind, s.level, tuple(support.smiles),
                                      tuple(support.y.tolist()), tuple(cands.smiles), s.similarity,
                                      hit_rate(support, s), s.baseline(support.kind))
        st.session_state["result"] = {"sig": sig, "result": result,
                                      "when": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    stored = st.session_state.get("result")
    if stored is None:
        st.info("Press **Predict** to adapt the model on your measured compounds and predict the candidates.")
        st.stop()
    if stored["sig"] != sig:
        st.warning("The model, settings, measured compounds or candidates changed since the last prediction: "
                   "press **Predict** to update the results.")
        st.stop()
    result = stored["result"]
    if len(result.support_errors):
        rows = "; ".join(f"row {r.row}: {r.error}" for r in result.support_errors.head(5).itertuples())
        st.warning(f"{len(result.support_errors)} measured compound(s) could not be used by the model ({rows}).")
    return stored


@st.cache_data(show_spinner=False, max_entries=32)
def _matches(smiles: tuple, pattern: str) -> tuple[np.ndarray | None, str]:
    try:
        return core.filter_by_pattern(smiles, pattern), ""
    except ValueError as exc:
        return None, str(exc)


def _pattern_filter(box, cands: ut.Candidates) -> np.ndarray | None:
    """The substructure filter's mask of candidates to show, or ``None`` (no filter, or an unreadable pattern)."""
    pattern = box.text_input("Substructure filter (SMARTS)", key="smarts", placeholder="e.g. c1ccncc1 or [NX3;H2]",
                             help="Show only candidates that contain this substructure (RDKit SMARTS; plain SMILES "
                                  "works too). The download keeps every row.")
    if not pattern or not pattern.strip():
        return None
    mask, why = _matches(tuple(cands.smiles), pattern.strip())
    if mask is None:
        box.error(f"Substructure filter: {why}.")
        return None
    box.caption(f"{int(mask.sum()):,} of {len(mask):,} candidates contain {pattern.strip()}.")
    return mask


def _view(cands: ut.Candidates, preds: pd.DataFrame, ranking: pd.DataFrame, order: str, n: int,
          baseline: pd.DataFrame | None = None, keep: np.ndarray | None = None) -> pd.DataFrame:
    view = pd.concat([pd.DataFrame({"input_row": np.arange(len(preds))}), preds.reset_index(drop=True),
                      ranking.reset_index(drop=True)], axis=1)
    if baseline is not None:
        view["baseline_prediction"] = baseline["prediction"].to_numpy()
    ident = [c for c in cands.df.columns if c != cands.smiles_col][:1]
    if ident:
        view.insert(1, "id", cands.df[ident[0]].astype(str).to_numpy())
    if keep is not None:
        view = view[keep]
    col, asc = _ORDERS[order]
    view = view.sort_values(col, ascending=asc, na_position="last", kind="stable").head(n).copy()
    view.insert(1, "structure", [cache.depiction(smi) for smi in view["smiles"]])
    view["domain"] = domain_labels(view["domain_level"])
    return view


def domain_caption(cal: dict, s: RunSettings) -> None:
    """One line on where the domain levels come from and what they are worth."""
    if s.similarity is not None:
        st.caption(f"Domain levels: 'outside' below Tanimoto {s.similarity:.2f} to the nearest measured compound "
                   "(set by hand in the sidebar).")
    elif not cal:
        st.caption("Domain levels: this checkpoint carries no calibrated thresholds, so the defaults apply "
                   "(outside below Tanimoto 0.35 to the nearest measured compound, edge below 0.50).")
    else:
        st.caption(f"Domain levels calibrated on validation assays: 'outside' below Tanimoto "
                   f"{cal['outside_similarity']:.2f} to the nearest measured compound (fewer than "
                   f"{cal.get('quantiles', [0.2])[0]:.0%} of queries were that far from their supports there), 'edge' "
                   f"below {cal['edge_similarity']:.2f}.")
        if not cal.get("separates"):
            st.warning("On the benchmark's test assays the error of this model did not grow from 'in' to 'outside' "
                       "(benchmarks/results/domain_flag.md): read the level as how far a candidate is from your "
                       "compounds, not as a warning that its prediction is worse.")


#: How each domain level reads in the tables.
LEVEL_LABELS = {"in": "in", "edge": "edge", "outside": "⚠ outside"}


def domain_labels(levels: pd.Series) -> list[str]:
    return [LEVEL_LABELS.get(v, "") if isinstance(v, str) else "" for v in levels]


def columns(units: str, level: float, task: str, baseline: str | None = None) -> dict:
    what = "P(active)" if task == "classification" else f"Prediction ({units})"
    u = "" if task == "classification" else f" ({units})"
    nc = st.column_config.NumberColumn
    if task == "classification":
        spread = nc("Spread of P(active)", format="%.2f",
                    help="Epistemic spread: how much P(active) itself is uncertain (the standard deviation the "
                         "learner gives for the probability), not a range of the 0/1 label")
        lower = nc(f"{level:.0%} low P(active)", format="%.2f",
                   help=f"Lower end of the model's {level:.0%} range for P(active) (its epistemic uncertainty)")
        upper = nc(f"{level:.0%} high P(active)", format="%.2f",
                   help=f"Upper end of the model's {level:.0%} range for P(active) (its epistemic uncertainty)")
    else:
        spread = nc(f"Std. dev.{u}", format="%.2f", help="Predictive standard deviation: the model's uncertainty")
        lower = nc(f"{level:.0%} lower{u}", format="%.2f", help=f"Lower end of the {level:.0%} predictive interval")
        upper = nc(f"{level:.0%} upper{u}", format="%.2f", help=f"Upper end of the {level:.0%} predictive interval")
    base = f"Baseline ({BASELINES.get(baseline, baseline)})" if baseline else "Baseline"
    return {
        "input_row": nc("Row", help="Row of your candidate list (0 = first row under the header)"),
        "id": st.column_config.TextColumn("ID", help="First non-structure column of your list"),
        "structure": st.column_config.ImageColumn("Structure", width="small", help="2D depiction (RDKit)"),
        "smiles": st.column_config.TextColumn("SMILES", width="small"),
        "prediction": nc(what, format="%.2f", help="Predictive mean" + u),
        "std": spread,
        "lower": lower,
        "upper": upper,
        "baseline_prediction": nc(base, format="%.2f", help="The same prediction from a model fitted on your measured "
                                                            "compounds alone (the baseline of step 5)"),
        "domain": st.column_config.TextColumn("Domain", help="Applicability domain, graded: 'in' (as close to your "
                                              "measured compounds as usual), 'edge', or 'outside' (an extrapolation: "
                                              "do not trust it blindly); the reason is in the next column"),
        "nearest_measured": nc("Nearest measured value" if task == "regression" else "Nearest measured label",
                               format="%.2f", help="Measured value (or 0/1 label) of the most similar measured "
                                                   "compound"),
        "domain_reason": st.column_config.TextColumn("Domain flag reason", width="medium"),
        "nearest_similarity": nc("Nearest measured (Tanimoto)", format="%.2f",
                                 help="Similarity to the most similar measured compound"),
        "acquisition_rank": nc("Rank", help="Order in which to measure (step 6): 1 = first"),
        "acquisition_score": nc("Score", format="%.3g", help="Acquisition score (step 6)"),
        "error": st.column_config.TextColumn("Error", help="Why this row could not be predicted ('' when ok)"),
    }


TABLE_COLUMNS = ["input_row", "id", "structure", "smiles", "prediction", "std", "lower", "upper",
                 "baseline_prediction", "domain", "domain_reason", "nearest_similarity", "nearest_measured",
                 "acquisition_rank", "error"]


def table(cands: ut.Candidates, stored: dict, ranking: pd.DataFrame, support: ut.SupportSet, s: RunSettings) -> None:
    preds = stored["result"].predictions
    ok = preds["error"].eq("")
    counts = preds["domain_level"].value_counts()
    c = st.columns(4)
    c[0].metric("Candidates", f"{len(preds):,}")
    c[1].metric("Predicted", f"{int(ok.sum()):,}")
    c[2].metric("Could not be predicted", f"{int((~ok).sum()):,}", help="Kept in the download with the reason")
    c[3].metric("Domain: in / edge / outside", " / ".join(f"{int(counts.get(k, 0)):,}" for k in LEVEL_LABELS),
                help="Candidates per applicability-domain level; see 'Domain flag reason'")
    domain_caption(stored["result"].domain_calibration, s)
    if (~ok).any():
        first = preds[~ok].head(3)
        st.warning("Some candidate rows could not be predicted: " + "; ".join(
            f"row {i}: {e}" for i, e in zip(first.index, first["error"])) + ". They stay in the download.")
    c1, c2, c3 = st.columns([2, 2, 1])
    order = c1.selectbox("Show first", list(_ORDERS), index=1, key="order",
                         help="Which rows the table shows (with structures); click a column header to sort them.")
    keep = _pattern_filter(c2, cands)
    shown = preds if keep is None else preds[keep]
    n = min(s.rows, len(shown))
    c3.markdown(f"<br>{n} of {len(shown):,} rows shown (set in the sidebar); all {len(preds):,} in the download.",
                unsafe_allow_html=True)
    result = stored["result"]
    view = _view(cands, preds, ranking, order, n, result.baseline_predictions, keep)
    # classification: P(active) and its spread; a range of P(active) reads as an interval of the 0/1 label,
    # so lower / upper stay in the download only
    hidden = {"lower", "upper"} if support.kind == "classification" else set()
    st.dataframe(view[[k for k in TABLE_COLUMNS if k in view.columns and k not in hidden]], hide_index=True,
                 row_height=64, column_config=columns(support.units, s.level, support.kind, result.baseline),
                 key="predictions_table")
