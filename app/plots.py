"""Altair charts of a run: predictions vs uncertainty, their distribution, and the support-set check."""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd


def prediction_vs_uncertainty(pred: pd.DataFrame, value_title: str) -> alt.Chart:
    df = pred.dropna(subset=["prediction"]).assign(domain=lambda d: d["domain_level"].fillna("unknown"))
    df = df[["smiles", "prediction", "std", "lower", "upper", "domain", "domain_reason"]]
    return alt.Chart(df).mark_circle(size=40, opacity=0.7).encode(
        x=alt.X("prediction:Q", title=value_title, scale=alt.Scale(zero=False)),
        y=alt.Y("std:Q", title="standard deviation (same units)"),
        color=alt.Color("domain:N", title="applicability domain",
                        scale=alt.Scale(domain=["in", "edge", "outside"], range=["#1f77b4", "#ff7f0e", "#d62728"])),
        tooltip=["smiles", alt.Tooltip("prediction:Q", format=".2f"), alt.Tooltip("std:Q", format=".2f"),
                 alt.Tooltip("lower:Q", format=".2f"), alt.Tooltip("upper:Q", format=".2f"), "domain_reason"],
    ).properties(title="Prediction vs uncertainty", height=320)


def prediction_histogram(pred: pd.DataFrame, value_title: str, measured: np.ndarray | None = None) -> alt.Chart:
    df = pd.DataFrame({"value": pred["prediction"].dropna().to_numpy(float), "set": "candidates (predicted)"})
    if measured is not None and len(measured):
        df = pd.concat([df, pd.DataFrame({"value": np.asarray(measured, float), "set": "support (measured)"})])
    return alt.Chart(df).mark_bar(opacity=0.6, binSpacing=0).encode(
        x=alt.X("value:Q", bin=alt.Bin(maxbins=30), title=value_title),
        y=alt.Y("count():Q", stack=None, title="compounds"),
        color=alt.Color("set:N", title=None),
        tooltip=["set:N", alt.Tooltip("count():Q", title="compounds")],
    ).properties(title="Distribution of predictions", height=320)


def check_measured_vs_predicted(cv: pd.DataFrame, value_title: str, level: float) -> alt.LayerChart:
    """Support check: measured (x) vs predicted (y) with the interval as error bars, and the y = x line."""
    df = cv.dropna(subset=["prediction"]).copy()
    df["inside"] = np.where(df["covered"].fillna(False).astype(bool), "inside interval", "outside interval")
    lo = float(np.nanmin(df[["measured", "lower"]].to_numpy())) if len(df) else 0.0
    hi = float(np.nanmax(df[["measured", "upper"]].to_numpy())) if len(df) else 1.0
    base = alt.Chart(df).encode(x=alt.X("measured:Q", title=f"measured ({value_title})", scale=alt.Scale(domain=[lo, hi])))
    bars = base.mark_rule(opacity=0.5).encode(y=alt.Y("lower:Q", title=f"predicted ({value_title})",
                                                        scale=alt.Scale(domain=[lo, hi])), y2="upper:Q",
                                               color=alt.Color("inside:N", title=f"{level:.0%} interval",
                                                               scale=alt.Scale(domain=["inside interval", "outside interval"],
                                                                               range=["#1f77b4", "#d62728"])))
    points = base.mark_circle(size=50).encode(
        y="prediction:Q", color="inside:N",
        tooltip=["smiles", alt.Tooltip("measured:Q", format=".2f"), alt.Tooltip("prediction:Q", format=".2f"),
                 alt.Tooltip("lower:Q", format=".2f"), alt.Tooltip("upper:Q", format=".2f")])
    diag = alt.Chart(pd.DataFrame({"a": [lo, hi]})).mark_line(color="gray", strokeDash=[4, 4]).encode(x="a:Q", y="a:Q")
    return (bars + points + diag).properties(title="Measured vs predicted (each left out in turn)", height=340)


def coverage_chart(curve: pd.DataFrame, achieved_at_level: float | None, level: float) -> alt.LayerChart:
    """Calibration of the check: achieved vs nominal coverage (points on the diagonal = well calibrated)."""
    line = alt.Chart(curve).mark_line(point=True).encode(
        x=alt.X("nominal:Q", title="nominal coverage", scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format="%")),
        y=alt.Y("achieved:Q", title="achieved coverage on your support set", scale=alt.Scale(domain=[0, 1]),
                axis=alt.Axis(format="%")),
        tooltip=[alt.Tooltip("nominal:Q", format=".0%"), alt.Tooltip("achieved:Q", format=".0%")])
    diag = alt.Chart(pd.DataFrame({"a": [0.0, 1.0]})).mark_line(color="gray", strokeDash=[4, 4]).encode(x="a:Q", y="a:Q")
    layers = [line, diag]
    if achieved_at_level is not None and np.isfinite(achieved_at_level):
        mark = pd.DataFrame({"nominal": [level], "achieved": [achieved_at_level]})
        layers.append(alt.Chart(mark).mark_point(shape="diamond", size=140, color="#d62728", filled=True).encode(
            x="nominal:Q", y="achieved:Q", tooltip=[alt.Tooltip("achieved:Q", format=".0%", title="model's interval")]))
    return alt.layer(*layers).properties(title="Calibration of the intervals", height=320)


def check_probabilities_by_class(cv: pd.DataFrame) -> alt.LayerChart:
    """Classification check: each compound's held-out P(active) (x) in a row per measured class, with a rule at
    P = 0.5; actives far right and inactives far left is a model that separates your classes."""
    df = cv.dropna(subset=["prediction"]).copy()
    df["measured class"] = np.where(df["measured"] == 1, "active (1)", "inactive (0)")
    rng = np.random.default_rng(0)
    df["jitter"] = rng.uniform(-0.3, 0.3, len(df))  # seeded: the same picture on every rerun
    points = alt.Chart(df).mark_circle(size=60, opacity=0.75).encode(
        x=alt.X("prediction:Q", title="predicted P(active), each compound left out in turn",
                scale=alt.Scale(domain=[0, 1])),
        y=alt.Y("measured class:N", title=None, sort=["active (1)", "inactive (0)"]),
        yOffset=alt.YOffset("jitter:Q"),
        color=alt.Color("measured class:N", title="measured",
                        scale=alt.Scale(domain=["active (1)", "inactive (0)"], range=["#d62728", "#1f77b4"])),
        tooltip=["smiles", alt.Tooltip("prediction:Q", format=".2f", title="P(active)"),
                 alt.Tooltip("std:Q", format=".2f", title="spread of P"), "measured class:N"])
    rule = alt.Chart(pd.DataFrame({"p": [0.5]})).mark_rule(color="gray", strokeDash=[4, 4]).encode(x="p:Q")
    return (points + rule).properties(title="Held-out P(active) of your actives and inactives", height=220)


def reliability_bins(cv: pd.DataFrame, bins: int = 5) -> pd.DataFrame:
    """Equal-width bins of predicted P(active): ``bin, low, high, predicted`` (mean P), ``observed`` (fraction
    measured active) and ``n`` (compounds in the bin); empty bins are left out."""
    df = cv.dropna(subset=["prediction"]).copy()
    df["bin"] = np.clip((df["prediction"].to_numpy(float) * bins).astype(int), 0, bins - 1)
    g = df.groupby("bin").agg(predicted=("prediction", "mean"), observed=("measured", "mean"),
                              n=("measured", "size")).reset_index()
    g["low"], g["high"] = g["bin"] / bins, (g["bin"] + 1) / bins
    return g[["bin", "low", "high", "predicted", "observed", "n"]]


def reliability_chart(cv: pd.DataFrame, bins: int = 5) -> alt.VConcatChart:
    """Classification check: observed fraction active per bin of predicted P(active), points sized and labelled
    by the number of compounds in the bin, with the bin counts as bars below."""
    g = reliability_bins(cv, bins).assign(label=lambda d: "n = " + d["n"].astype(str))
    x = alt.X("predicted:Q", title="mean predicted P(active)", scale=alt.Scale(domain=[0, 1]))
    tip = [alt.Tooltip("low:Q", format=".1f", title="bin from"), alt.Tooltip("high:Q", format=".1f", title="to"),
           alt.Tooltip("predicted:Q", format=".2f"), alt.Tooltip("observed:Q", format=".2f"),
           alt.Tooltip("n:Q", title="compounds")]
    line = alt.Chart(g).mark_line(point=False, opacity=0.6).encode(
        x=x, y=alt.Y("observed:Q", title="fraction measured active", scale=alt.Scale(domain=[0, 1])))
    pts = alt.Chart(g).mark_circle(opacity=0.85).encode(
        x=x, y="observed:Q", size=alt.Size("n:Q", title="compounds", scale=alt.Scale(range=[40, 400])), tooltip=tip)
    text = alt.Chart(g).mark_text(dy=-14, fontSize=11).encode(x=x, y="observed:Q", text="label:N")
    diag = alt.Chart(pd.DataFrame({"a": [0.0, 1.0]})).mark_line(color="gray", strokeDash=[4, 4]).encode(x="a:Q", y="a:Q")
    top = (line + pts + text + diag).properties(title="Reliability of P(active)", height=280)
    counts = alt.Chart(g).mark_bar().encode(
        x=alt.X("low:Q", title="predicted P(active) bin", scale=alt.Scale(domain=[0, 1])), x2="high:Q",
        y=alt.Y("n:Q", title="compounds"), tooltip=tip).properties(height=90)
    return alt.vconcat(top, counts)
