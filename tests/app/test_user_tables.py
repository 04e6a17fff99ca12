"""The app's table handling and outputs, tested directly (no Streamlit)."""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from app import core
from app import user_tables as ut
from app.assets import (
    CheckpointInfo,
    build_card,
    list_checkpoints,
    load_examples,
    model_card,
)
from assays.sources.tables import UserTableError
from tests.app.conftest import csv_bytes


def test_pasted_text_with_and_without_header():
    t = ut.table_from_text("smiles,pKi\nCCO,5.1\nc1ccccc1O,6.2\n")
    assert t.df.columns.tolist() == ["smiles", "pKi"] and len(t.df) == 2 and len(t.sha256) == 64
    t = ut.table_from_text("CCO\t5.1\nc1ccccc1O\t6.2\n")  # cells copied from a spreadsheet, no header
    assert t.df.columns.tolist() == ["smiles", "value"] and t.df["value"].tolist() == ["5.1", "6.2"]
    t = ut.table_from_text("CCO 5.1\nc1ccccc1O 6.2")
    assert t.df.columns.tolist() == ["smiles", "value"] and len(t.df) == 2
    with pytest.raises(UserTableError, match="empty"):
        ut.table_from_text("  \n")


def test_editor_rows_blank_rows_dropped():
    df = pd.DataFrame({"smiles": ["CCO", None, "", "c1ccccc1"], "value": ["5", None, " ", "6"]})
    t = ut.table_from_editor(df)
    assert t.df["smiles"].tolist() == ["CCO", "c1ccccc1"]
    with pytest.raises(UserTableError, match="empty"):
        ut.table_from_editor(pd.DataFrame({"smiles": [None], "value": [None]}))


def test_support_build_kinds_and_problems(support_df):
    t = ut.table_from_bytes(csv_bytes(support_df), "m.csv")
    assert ut.guess_smiles_column(t.df) == "smiles" and ut.guess_value_column(t, "smiles") == "pKi"
    choices, decision = ut.kind_choices(t, "pKi", ("classification", "regression"))
    assert choices == [ut.KIND_REGRESSION, ut.KIND_THRESHOLD] and decision.kind == "regression"
    assert ut.kind_choices(t, "pKi", ("classification",))[0] == [ut.KIND_THRESHOLD]
    s = ut.build_support(t, "smiles", "pKi", ut.KIND_REGRESSION)
    assert len(s.y) == 24 and ut.support_problem(s) is None
    s = ut.build_support(t, "smiles", "pKi", ut.KIND_THRESHOLD, threshold=7.0)
    assert s.kind == "classification" and set(s.y) == {0.0, 1.0} and s.threshold == 7.0
    s = ut.build_support(t, "smiles", "pKi", ut.KIND_THRESHOLD, threshold=99.0)
    assert "inactive (0)" in ut.support_problem(s)
    with pytest.raises(UserTableError, match="both 'smiles'"):
        ut.build_support(t, "smiles", "smiles", ut.KIND_REGRESSION)


def test_text_labels_are_classification_only(support_df):
    df = support_df.assign(activity=np.where(support_df["pKi"].astype(float) > 7, "active", "inactive"))
    t = ut.table_from_bytes(csv_bytes(df[["smiles", "activity"]]), "labels.csv")
    choices, decision = ut.kind_choices(t, "activity", ("classification", "regression"))
    assert choices == [ut.KIND_CLASSIFICATION] and decision.positive == "active"
    with pytest.raises(UserTableError, match="serves only regression"):
        ut.kind_choices(t, "activity", ("regression",))


def test_candidates_from_text_and_limits(monkeypatch):
    c = ut.candidates_from_text("CCO a\n\nc1ccccc1O b\nbad_smiles c\n")
    assert c.smiles == ["CCO", "c1ccccc1O", "bad_smiles"] and c.df["name"].tolist() == ["a", "b", "c"]
    c = ut.candidates_from_text("id,SMILES\n1,CCO\n2,CCN\n")
    assert c.smiles_col == "SMILES" and c.smiles == ["CCO", "CCN"]
    with pytest.raises(UserTableError, match="no cell"):
        ut.candidates_from_text("hello world\nfoo bar")
    monkeypatch.setattr(ut, "MAX_CANDIDATES", 1)
    with pytest.raises(UserTableError, match="at most 1 candidates"):
        ut.candidates_from_text("CCO\nCCN")


def test_output_one_row_per_input_with_settings():
    cand = pd.DataFrame({"compound_id": ["a", "b", "c"], "smiles": ["CCO", "xx", "CCN"], "prediction": ["u", "v", "w"]})
    preds = pd.DataFrame({"smiles": cand.smiles, "prediction": [1.0, np.nan, 2.0], "std": [0.5, np.nan, 0.4],
                          "lower": [0.2, np.nan, 1.3], "upper": [1.8, np.nan, 2.7], "error": ["", "bad", ""],
                          "nearest_support": ["CCO", None, "CCO"], "nearest_similarity": [1.0, np.nan, 0.3],
                          "nearest_measured": [1.2, np.nan, 1.2], "domain_level": ["in", None, "outside"],
                          "embedding_distance": [0.0, np.nan, 1.0],
                          "in_domain": pd.array([True, pd.NA, False], dtype="boolean"),
                          "domain_reason": ["", "", "far"]})
    ranking = core.rank(preds, "ucb", best=2.0, kappa=1.0)
    assert ranking["acquisition_rank"].tolist()[0] == 2 and pd.isna(ranking["acquisition_rank"][1])
    settings = {"checkpoint": "default", "learner": "dkgp", "task": "regression", "level": 0.9, "support_sha256": "0" * 64}
    out = core.assemble_output(cand, preds, ranking, settings)
    assert len(out) == 3 and out["input_prediction"].tolist() == ["u", "v", "w"]  # a clashing input column kept
    assert out.columns[:4].tolist() == ["input_row", "compound_id", "smiles", "input_prediction"]
    assert out["run_learner"].eq("dkgp").all()
    back = pd.read_csv(io.BytesIO(core.to_csv_bytes(out)), keep_default_na=False)
    assert back["error"].tolist() == ["", "bad", ""]
    table = pq.read_table(io.BytesIO(core.to_parquet_bytes(out, settings)))
    assert table.num_rows == 3 and json.loads(table.schema.metadata[b"sciml_run"])["learner"] == "dkgp"


def test_check_summary_and_coverage_curve():
    cv = pd.DataFrame({"smiles": list("abcd"), "measured": [1.0, 2.0, 3.0, 4.0], "prediction": [1.1, 2.5, 2.0, np.nan],
                       "std": [0.5, 0.5, 0.5, np.nan], "lower": [0.3, 1.7, 1.2, np.nan], "upper": [1.9, 3.3, 2.8, np.nan],
                       "covered": pd.array([True, True, False, pd.NA], dtype="boolean")})
    s = core.cv_summary(cv, "regression", 0.9)
    assert s["n"] == 4 and s["n_predicted"] == 3 and s["coverage"] == pytest.approx(2 / 3)
    curve = core.coverage_curve(cv)
    assert curve["achieved"].is_monotonic_increasing and curve["achieved"].iloc[-1] == pytest.approx(2 / 3)
    assert core.acquisition_choices("classification") == ["highest", "ucb", "uncertain"]


def test_shipped_assets_and_model_card():
    ckpts = list_checkpoints()
    assert ckpts and ckpts[0].name == "default" and ckpts[0].domain == "molecules"
    card = model_card(ckpts[0], "a learner")
    assert "Meta-trained on" in card or ckpts[0].card_path.is_file()
    ex = load_examples()
    assert ex["assays"] and ex["libraries"]
    bare = build_card(CheckpointInfo("x", ckpts[0].path, {"learner": "protonet"}))
    assert "protonet" in bare and "Benchmark figures" in bare



def test_check_figures_carry_bootstrap_intervals_and_say_when_they_include_chance():
    rng = np.random.default_rng(0)
    y = np.array([0, 1] * 16, dtype=float)
    noise = pd.DataFrame({"measured": y, "prediction": rng.uniform(0, 1, 32), "std": 0.1, "lower": 0.0,
                          "upper": 1.0, "covered": pd.array([True] * 32, dtype="boolean")})
    s = core.cv_summary(noise, "classification", 0.9)
    assert "coverage" not in s and "mean_width" not in s  # no interval coverage of 0/1 labels
    lo, hi = s["roc_auc_ci"]
    assert lo < s["roc_auc"] < hi and lo < 0.5 < hi
    assert s["pr_auc"] > 0 and s["prevalence"] == 0.5
    verdicts = core.check_verdicts(s)
    assert verdicts[0][0] == "warning" and "no better than chance" in verdicts[0][1] and "32 compounds" in verdicts[0][1]
    # a ranking that separates the classes: the interval stays above chance, worded as its width
    good = noise.assign(prediction=0.2 + 0.6 * y + rng.uniform(-0.1, 0.1, 32))
    s = core.cv_summary(good, "classification", 0.9)
    assert s["roc_auc_ci"][0] > 0.5 and core.check_verdicts(s)[0][0] == "info"
    # regression: Spearman and R² with intervals; a prediction unrelated to the values has R² < 0: a warning
    yr = rng.normal(size=30)
    reg = pd.DataFrame({"measured": yr, "prediction": rng.normal(size=30), "std": 1.0, "lower": -2.0, "upper": 2.0,
                        "covered": pd.array([True] * 30, dtype="boolean")})
    s = core.cv_summary(reg, "regression", 0.9)
    assert {"spearman_ci", "r2_ci", "coverage"} <= set(s)
    lo, hi = s["spearman_ci"]
    assert lo < s["spearman"] < hi
    verdicts = dict(core.check_verdicts(s)[1:])
    assert s["r2"] < 0 and "warning" in verdicts and verdicts["warning"].startswith("R²")


def _check(y, prediction, smiles=None):
    n = len(y)
    return pd.DataFrame({"smiles": smiles or [f"C{'C' * i}O" for i in range(n)], "measured": np.asarray(y, float),
                         "prediction": np.asarray(prediction, float), "std": 0.1, "lower": 0.0, "upper": 1.0,
                         "covered": pd.array([True] * n, dtype="boolean")})


def test_model_vs_baseline_verdict_ahead_level_behind():
    rng = np.random.default_rng(0)
    y = np.array([0, 1] * 30, dtype=float)
    sharp = _check(y, 0.2 + 0.6 * y + rng.uniform(-0.1, 0.1, 60))
    noise = _check(y, rng.uniform(0, 1, 60))
    ahead = core.compare_checks(sharp, noise, "classification", "rf")
    assert ahead["verdict"] == "ahead" and ahead["level"] == "success" and ahead["n"] == 60
    assert ahead["ci"][0] > 0 and "random forest" in ahead["text"] and "60 compounds" in ahead["text"]
    assert ahead["model"] == pytest.approx(1.0) and ahead["difference"] == pytest.approx(1.0 - ahead["baseline"])
    behind = core.compare_checks(noise, sharp, "classification", "rf")
    assert behind["verdict"] == "behind" and behind["level"] == "warning" and "baseline_" in behind["text"]
    level = core.compare_checks(sharp, sharp.assign(prediction=sharp["prediction"] * 0.5), "classification", "rf")
    assert level["verdict"] == "level" and "cannot tell them apart" in level["text"]  # same ranking: no difference
    # only compounds predicted by both are compared; one class left: no verdict
    part = noise.assign(prediction=noise["prediction"].where(y == 1))
    assert core.compare_checks(sharp, part, "classification", "rf")["verdict"] == "unknown"
    # regression compares R²
    yr = rng.normal(size=40)
    good = _check(yr, yr + rng.normal(scale=0.2, size=40))
    bad = _check(yr, rng.normal(size=40))
    out = core.compare_checks(good, bad, "regression", "gp_tanimoto")
    assert out["figure"] == "R²" and out["verdict"] == "ahead" and "Tanimoto GP" in out["text"]


def test_check_table_and_download_carry_the_baseline():
    y = [0.0, 1.0, 0.0, 1.0]
    cv = _check(y, [0.2, 0.8, 0.3, 0.7]).assign(fold=[0, 1, 2, 3])
    base = _check(y, [0.4, 0.6, 0.5, 0.5])
    merged = core.with_baseline(cv, base)
    assert merged["baseline_prediction"].tolist() == [0.4, 0.6, 0.5, 0.5] and len(merged) == 4
    assert core.with_baseline(cv, None) is cv
    cands = pd.DataFrame({"smiles": ["CCO", "CCN"], "baseline_prediction": ["mine", "mine"]})
    preds = pd.DataFrame({"smiles": ["CCO", "CCN"], "prediction": [0.2, 0.9], "std": 0.1, "lower": 0.1,
                          "upper": 0.3, "in_domain": [True, False], "domain_reason": "", "nearest_support": "CCO",
                          "nearest_measured": 1.0, "domain_level": ["in", "outside"], "nearest_similarity": 1.0,
                          "embedding_distance": 0.0, "error": ""})
    ranking = pd.DataFrame({"acquisition_score": [0.1, 0.2], "acquisition_rank": [2, 1]})
    bpred = pd.DataFrame({"smiles": ["CCO", "CCN"], "prediction": [0.4, np.nan], "std": [0.1, np.nan],
                          "lower": [0.0, np.nan], "upper": [1.0, np.nan], "error": ["", "no baseline"]})
    out = core.assemble_output(cands, preds, ranking, {"baseline": "rf"}, bpred)
    assert out["input_baseline_prediction"].tolist() == ["mine", "mine"]  # the user's column is kept, renamed
    assert out["baseline_prediction"].tolist()[0] == 0.4 and out["baseline_error"].tolist() == ["", "no baseline"]
    assert out["run_baseline"].tolist() == ["rf", "rf"] and len(out) == 2
    assert "baseline_prediction" not in core.assemble_output(cands.drop(columns="baseline_prediction"), preds,
                                                             ranking).columns


def test_reliability_bins_count_every_predicted_compound():
    from app import plots

    cv = _check([0, 0, 1, 1, 1, 0], [0.05, 0.15, 0.55, 0.95, 1.0, np.nan])
    g = plots.reliability_bins(cv)
    assert g["n"].sum() == 5 and g["bin"].tolist() == [0, 2, 4]
    assert g.loc[g["bin"] == 4, "observed"].item() == 1.0 and g.loc[g["bin"] == 4, "n"].item() == 2  # P = 1 in the top bin
    assert g.loc[g["bin"] == 0, "high"].item() == pytest.approx(0.2)
    plots.reliability_chart(cv).to_dict()  # the chart builds
    plots.check_probabilities_by_class(cv).to_dict()
