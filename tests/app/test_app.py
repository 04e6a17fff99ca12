"""The app driven headless with Streamlit's AppTest: the whole path on real data, and bad inputs.

Uploads are driven through ``st.file_uploader`` itself (AppTest's ``set_value`` with
file name, bytes and MIME type). Download contents are captured by wrapping
``app.core.to_csv_bytes`` (AppTest keeps no media files after a run).
"""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from rdkit import Chem

from tests.app.conftest import EXAMPLES, csv_bytes

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def errors(at) -> list[str]:
    return [e.value for e in at.error]


def assert_clean(at) -> None:
    assert not at.exception, [e.value for e in at.exception]


def by_label(widgets, prefix: str):
    found = [w for w in widgets if w.label.startswith(prefix)]
    assert found, f"no widget labelled {prefix!r}: {[w.label for w in widgets]}"
    return found[0]


def upload_support(at, name: str, data: bytes, mime: str = "text/csv"):
    at.file_uploader(key="support_file").set_value((name, data, mime)).run()
    return at


def assert_error(at, *fragments: str) -> str:
    assert_clean(at)
    msgs = errors(at)
    assert msgs, "expected an st.error"
    text = " ".join(msgs)
    for f in fragments:
        assert f.lower() in text.lower(), (f, msgs)
    assert "Traceback" not in text
    return text


@pytest.fixture
def captured(monkeypatch):
    """CSV bytes the app hands to its download buttons, in order."""
    import app.core

    out: list[bytes] = []
    real = app.core.to_csv_bytes

    def wrapper(df):
        data = real(df)
        out.append(data)
        return data

    monkeypatch.setattr(app.core, "to_csv_bytes", wrapper)
    return out


# ----------------------------------------------------------------------------- full path


@pytest.mark.slow
def test_try_an_example_runs_the_whole_path(app_test, example, candidates_df, captured, monkeypatch, tmp_path):
    monkeypatch.setenv("SCIML_DATA_DIR", str(tmp_path / "no-shared-data"))  # works without ../shared
    import app.core

    sdf: list[bytes] = []
    real_sdf = app.core.to_structure_bytes
    monkeypatch.setattr(app.core, "to_structure_bytes", lambda *a, **k: sdf.append(real_sdf(*a, **k)) or sdf[-1])
    at = app_test()
    assert_clean(at)
    assert not errors(at)
    at.button(key="try_example").click().run()
    assert_clean(at)
    assert not errors(at), errors(at)
    headers = [h.value for h in at.header]
    for step in ("1 · Model", "2 · Measured", "3 · Candidates", "4 · Predictions", "5 · Check", "6 · What to measure",
                 "7 · Plots", "8 · Download"):
        assert any(h.startswith(step) for h in headers), (step, headers)
    result = at.session_state["result"]["result"]
    preds = result.predictions
    assert len(preds) == len(candidates_df) == example["n_candidates"]
    for c in ("prediction", "std", "lower", "upper"):
        assert np.isfinite(preds[c].to_numpy(float)).all(), c
    assert (preds["lower"] <= preds["prediction"]).all() and (preds["prediction"] <= preds["upper"]).all()
    assert preds["in_domain"].notna().all()
    # graded domain levels with the nearest measured value, counted above the table, their thresholds said
    assert set(preds["domain_level"]) <= {"in", "edge", "outside"} and preds["nearest_measured"].notna().all()
    counts = by_label(at.metric, "Domain: in / edge / outside").value.split(" / ")
    assert sum(int(c.replace(",", "")) for c in counts) == len(preds)
    assert any(c.value.startswith("Domain levels") for c in at.caption)
    # step 5: the check on the support set shows its achieved coverage
    coverage = by_label(at.metric, "Coverage of the 90% intervals")
    assert coverage.value.endswith("%")
    # step 6: the acquisition's one-line explanation
    assert any("Upper confidence bound" in i.value for i in at.info)
    # step 8: downloads
    labels = [b.label for b in at.download_button]
    assert labels == ["Results (CSV)", "Results (Parquet)", "Run settings (JSON)", "Check on your data (CSV)",
                      "Ranked candidates (SDF)", "Project (JSON)"]
    out = pd.read_csv(io.BytesIO(captured[-2]))
    assert len(out) == len(candidates_df)
    assert out["compound_id"].tolist() == candidates_df["compound_id"].tolist()  # input rows kept, in order
    assert np.isfinite(out[["prediction", "std", "lower", "upper"]].to_numpy(float)).all()
    assert set(out["run_checkpoint"]) == {"default"} and out["run_support_sha256"].str.len().eq(64).all()
    # the ranked SDF parses back with RDKit: one record per candidate, rank 1 first, results as properties
    from rdkit import Chem

    records = list(Chem.ForwardSDMolSupplier(io.BytesIO(sdf[-1])))
    assert len(records) == len(candidates_df) and all(m is not None for m in records)
    ranks = [int(m.GetProp("acquisition_rank")) for m in records]
    assert ranks == sorted(ranks) and ranks[0] == 1
    first = out.loc[out["acquisition_rank"] == 1].iloc[0]
    assert records[0].GetProp("compound_id") == first["compound_id"]
    assert float(records[0].GetProp("prediction")) == pytest.approx(first["prediction"], rel=1e-5)
    check = pd.read_csv(io.BytesIO(captured[-1]))
    assert len(check) == example["n_support"] and {"measured", "prediction", "lower", "upper", "covered"} <= set(check)
    # both carry the support-only baseline (a Tanimoto GP for regression), on the same folds in the check
    assert np.isfinite(out["baseline_prediction"].to_numpy(float)).all() and set(out["run_baseline"]) == {"gp_tanimoto"}
    assert check["baseline_prediction"].notna().all()
    assert any(h.value == "Beside a support-only baseline: Tanimoto GP" for h in at.subheader)
    # every control explains itself
    controls = [*at.selectbox, *at.radio, *at.button, *at.number_input, *at.slider, *at.text_input, *at.checkbox,
                *at.download_button]
    assert len(controls) > 15 and not [w.label for w in controls if not w.help]
    # a result table with one row per shown candidate, structures depicted
    shown = [d.value for d in at.dataframe if "structure" in d.value.columns]
    assert shown and shown[0]["structure"].str.startswith("data:image/png;base64,").all()
    # one candidate in detail: its nearest measured compounds, most similar first, and a shared-atoms picture
    nearest = next(d.value for d in at.dataframe if {"rank", "measured", "similarity"} <= set(d.value.columns))
    assert len(nearest) == 5 and nearest["similarity"].is_monotonic_decreasing
    assert set(nearest["smiles"]) <= set(at.session_state["result"]["result"].predictions["smiles"]) | set(
        pd.read_csv(EXAMPLES / example["support"])["smiles"])
    # the substructure filter narrows the table, and an unreadable pattern says so without stopping the page
    at.text_input(key="smarts").input("c1ccccc1").run()
    assert_clean(at)
    table = next(d.value for d in at.dataframe if "acquisition_rank" in d.value.columns and "std" in d.value.columns)
    benzene = Chem.MolFromSmarts("c1ccccc1")
    assert len(table) and all(Chem.MolFromSmiles(smi).HasSubstructMatch(benzene) for smi in table["smiles"])
    at.text_input(key="smarts").input("C((").run()
    assert_clean(at)
    assert any("Substructure filter" in e and "SMARTS" in e for e in errors(at))


@pytest.mark.slow
def test_upload_csv_and_pasted_candidates_then_predict(app_test, support_df, captured):
    at = upload_support(app_test(), "measured.csv", csv_bytes(support_df))
    assert_clean(at)
    assert not errors(at), errors(at)
    assert by_label(at.selectbox, "Structure column").value == "smiles"
    assert by_label(at.selectbox, "Measurement column").value == "pKi"
    at.radio(key="cand_mode").set_value("Paste SMILES").run()
    at.text_area(key="cand_text").input("CCOc1ccc(N)cc1 first\nnot_a_smiles second\nc1ccccc1O third").run()
    assert_clean(at)
    at.button(key="predict").click().run()
    assert_clean(at)
    assert not errors(at), errors(at)
    preds = at.session_state["result"]["result"].predictions
    assert len(preds) == 3
    assert np.isfinite(preds.loc[[0, 2], "prediction"]).all() and np.isnan(preds.loc[1, "prediction"])
    assert preds.loc[1, "error"] != ""
    assert any("could not be predicted" in w.value for w in at.warning)
    out = pd.read_csv(io.BytesIO(captured[-2]), keep_default_na=False)
    assert out["name"].tolist() == ["first", "second", "third"] and out.loc[1, "error"] != ""


@pytest.mark.slow
def test_pasted_text_classification_by_threshold(app_test, support_df):
    at = app_test()
    at.radio(key="support_mode").set_value("Paste text").run()
    at.text_area(key="support_text").input(support_df[["smiles", "pKi"]].to_csv(index=False, sep="\t")).run()
    assert_clean(at)
    kind = by_label(at.radio, "How to use the values")
    kind.set_value(kind.options[1]).run()  # classification by threshold
    threshold = by_label(at.number_input, "Activity threshold")
    threshold.set_value(7.0).run()
    assert not errors(at), errors(at)
    at.button(key="predict").click().run()
    assert_clean(at)
    assert not errors(at), errors(at)
    stored = at.session_state["result"]["result"]
    p = stored.predictions["prediction"].to_numpy(float)
    assert len(p) == 1000 and ((p >= 0) & (p <= 1)).all()  # default candidates: the MOSES library
    assert by_label(at.metric, "ROC-AUC") is not None and by_label(at.metric, "PR-AUC") is not None
    assert not [m.label for m in at.metric if m.label.startswith("Coverage")]  # no interval coverage of 0/1 labels
    # the check's ROC-AUC comes with its bootstrap interval, in a sentence
    assert any("ROC-AUC" in t and "interval" in t for t in [c.value for c in at.caption] + [w.value for w in at.warning])
    # 'default' hands a classification support to the shipped classification default, and says so
    assert any("default-classification" in i.value for i in at.info), [i.value for i in at.info]
    assert any(e.label == "Model card of `default-classification`" for e in at.expander)
    # a support-only random forest beside the model, on the same folds, with a one-line verdict
    assert any(h.value.startswith("Beside a support-only baseline: random forest") for h in at.subheader)
    texts = [m.value for m in [*at.success, *at.info, *at.warning]]
    assert any("random forest" in t and ("ahead" in t or "level" in t or "behind" in t) for t in texts), texts
    assert stored.baseline == "rf" and len(stored.baseline_predictions) == 1000
    table = next(d.value for d in at.dataframe if "baseline_prediction" in d.value.columns)
    assert "lower" not in table.columns and "upper" not in table.columns  # no "interval" of a 0/1 label
    # the reliability diagram says how many compounds fall in each bin
    assert any(c.value.startswith("Points: the fraction of your compounds measured active") for c in at.caption)


def test_threshold_counts_match_the_usable_rows(app_test, support_df):
    """'N of M rows usable (... active, ... inactive)': the class counts add up to N when rows are dropped."""
    import re

    rows = support_df[["smiles", "pKi"]].head(20).copy()
    bad = pd.DataFrame({"smiles": ["not_a_smiles", "C1CC"], "pKi": [9.0, 3.0]})
    table = pd.concat([rows, bad], ignore_index=True)
    at = app_test()
    at.radio(key="support_mode").set_value("Paste text").run()
    at.text_area(key="support_text").input(table.to_csv(index=False, sep="\t")).run()
    kind = by_label(at.radio, "How to use the values")
    kind.set_value(kind.options[1]).run()
    by_label(at.number_input, "Activity threshold").set_value(7.0).run()
    assert_clean(at)
    line = next(m.value for m in at.markdown if "rows usable" in m.value)
    usable, total = map(int, re.search(r"(\d+) of (\d+) rows usable", line).groups())
    n_act, n_inact = map(int, re.search(r"(\d+) active, (\d+) inactive", line).groups())
    assert (usable, total) == (20, 22) and n_act + n_inact == usable, line
    assert n_act == int((pd.to_numeric(rows["pKi"]) >= 7.0).sum())


def test_no_skill_support_gets_a_chance_warning_in_the_page(app_test, support_df):
    """Values unrelated to the structures: the check's intervals reach chance and the page says so."""
    rows = support_df[["smiles", "pKi"]].head(24).copy()
    rows["pKi"] = [f"{v:.2f}" for v in np.random.default_rng(0).uniform(4.0, 9.0, len(rows))]
    at = app_test()
    at.radio(key="support_mode").set_value("Paste text").run()
    at.text_area(key="support_text").input(rows.to_csv(index=False, sep="\t")).run()
    at.button(key="predict").click().run()
    assert_clean(at)
    assert not errors(at), errors(at)
    warned = [w.value for w in at.warning if "no better than chance" in w.value]
    assert warned and any(w.startswith(("Spearman", "R²")) for w in warned), [w.value for w in at.warning]
    assert "over your 24 compounds" in warned[0]


@pytest.mark.slow
def test_expected_hit_rate_shifts_probabilities_not_the_ranking(app_test, support_df):
    at = app_test()
    at.radio(key="support_mode").set_value("Paste text").run()
    at.text_area(key="support_text").input(support_df[["smiles", "pKi"]].to_csv(index=False, sep="\t")).run()
    kind = by_label(at.radio, "How to use the values")
    kind.set_value(kind.options[1]).run()
    by_label(at.number_input, "Activity threshold").set_value(7.0).run()
    at.button(key="predict").click().run()
    assert_clean(at)
    before = at.session_state["result"]["result"].predictions["prediction"].to_numpy(float)
    at.number_input(key="hit_rate").set_value(0.01).run()
    assert any("changed since the last prediction" in w.value for w in at.warning)  # results are not silently stale
    at.button(key="predict").click().run()
    assert_clean(at)
    assert not errors(at), errors(at)
    after = at.session_state["result"]["result"].predictions["prediction"].to_numpy(float)
    assert (after < before).all() and after.mean() < 0.1
    assert (np.argsort(before, kind="stable") == np.argsort(after, kind="stable")).all()


def test_text_labels_ask_for_the_active_label(app_test, support_df):
    df = support_df.assign(activity=["Active" if float(v) > 7 else "Inactive" for v in support_df["pKi"]])
    at = upload_support(app_test(), "labels.csv", csv_bytes(df[["compound_id", "smiles", "activity"]]))
    assert_clean(at)
    assert not errors(at), errors(at)
    assert by_label(at.selectbox, "Measurement column").value == "activity"
    assert by_label(at.selectbox, "Active label").value == "Active"
    assert by_label(at.radio, "How to use the values").options == ["Classification: 0/1 or two text labels (e.g. active/inactive)"]


def test_excel_and_sdf_uploads_are_read(app_test, support_df):
    buf = io.BytesIO()
    support_df.to_excel(buf, index=False)
    at = upload_support(app_test(), "measured.xlsx", buf.getvalue(),
                        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    assert_clean(at)
    assert not errors(at), errors(at)
    assert any("24 of 24 rows usable" in m.value for m in at.markdown)
    at = upload_support(app_test(), "measured.sdf", sdf_bytes(support_df), "chemical/x-mdl-sdfile")
    assert_clean(at)
    assert not errors(at), errors(at)
    assert by_label(at.selectbox, "Measurement column").value == "pKi"


# ------------------------------------------------------------------------------ bad inputs


def sdf_bytes(df: pd.DataFrame, drop_property_from: int | None = None) -> bytes:
    out = io.StringIO()
    writer = Chem.SDWriter(out)
    for i, r in enumerate(df.itertuples()):
        mol = Chem.MolFromSmiles(r.smiles)
        mol.SetProp("_Name", r.compound_id)
        if drop_property_from is None or i < drop_property_from:
            mol.SetProp("pKi", str(r.pKi))
        writer.write(mol)
    writer.close()
    return out.getvalue().encode("utf-8")


def _values(df: pd.DataFrame, values: list[str]) -> pd.DataFrame:
    out = df.copy()
    out["pKi"] = values
    return out


BAD_SUPPORT = {
    "unreadable encoding": ("measured.csv", b"smiles,pKi\x00\x01\x02\x03\nCCO,5\x00\x07\n", ["could not decode"]),
    "empty file": ("measured.csv", b"", ["empty"]),
    "header only": ("measured.csv", b"smiles,pKi\n", ["no data rows"]),
}


@pytest.mark.parametrize("case", list(BAD_SUPPORT))
def test_unreadable_support_files_give_an_error(app_test, case):
    name, data, fragments = BAD_SUPPORT[case]
    assert_error(upload_support(app_test(), name, data), name, *fragments)


def test_huge_file_is_refused_with_the_limit(app_test, support_df, monkeypatch):
    from assays.sources.tables import read

    monkeypatch.setattr(read, "MAX_UPLOAD_MB", 0.001)
    assert_error(upload_support(app_test(), "measured.csv", csv_bytes(support_df)), "too large", "limit is 0.001 MB")


def test_upload_limit_is_visible_and_oversized_files_reach_the_page(app_test, support_df):
    """The widgets let files well over the limit through, so the page (not a hover icon) refuses them;
    the limit is written under each uploader."""
    from app.config import UPLOAD_WIDGET_MB
    from assays.sources.tables import MAX_UPLOAD_MB

    at = upload_support(app_test(), "measured.csv", csv_bytes(support_df))
    at.radio(key="cand_mode").set_value(next(o for o in at.radio(key="cand_mode").options if "Upload" in o)).run()
    for key in ("support_file", "cand_file"):
        assert at.file_uploader(key=key).proto.max_upload_size_mb == UPLOAD_WIDGET_MB >= 10 * MAX_UPLOAD_MB
    captions = [c.value for c in at.caption]
    assert sum(f"Up to {MAX_UPLOAD_MB:g} MB" in c for c in captions) == 2, captions


def test_nan_and_inf_values_are_reported_and_too_few_remain(app_test, support_df):
    values = ["nan", "inf", "-inf", "NaN", ""] * 4 + ["5.1", "6.2", "7.3", "8.4"]
    at = upload_support(app_test(), "measured.csv", csv_bytes(_values(support_df, values)))
    assert_error(at, "only 4 usable rows", "at least 5")
    report = next(d.value for d in at.dataframe if "status" in d.value.columns)
    assert len(report) == 24
    assert set(report["status"]) == {"ok", "non-numeric value", "missing value"}


def test_smiles_rdkit_rejects_are_reported(app_test, support_df):
    df = support_df.copy()
    df.loc[:20, "smiles"] = ["C1CC(", "c1ccc1X", "not a smiles"] * 7
    at = upload_support(app_test(), "measured.csv", csv_bytes(df))
    assert_error(at, "only 3 usable rows", "invalid structure")
    report = next(d.value for d in at.dataframe if "status" in d.value.columns)
    assert (report["status"] == "invalid structure").sum() == 21


def test_sdf_records_without_the_property(app_test, support_df):
    at = upload_support(app_test(), "measured.sdf", sdf_bytes(support_df, drop_property_from=2), "chemical/x-mdl-sdfile")
    assert_error(at, "only 2 usable rows", "missing value")


def test_too_few_rows(app_test, support_df):
    assert_error(upload_support(app_test(), "measured.csv", csv_bytes(support_df.head(3))),
                 "only 3 usable rows", "at least 5")


def test_one_class_classification(app_test, support_df):
    at = upload_support(app_test(), "measured.csv", csv_bytes(_values(support_df, ["1"] * 24)))
    assert_error(at, "all 24 usable rows are active", "one active and one inactive")


def test_threshold_above_every_value_is_one_class(app_test, support_df):
    at = upload_support(app_test(), "measured.csv", csv_bytes(support_df))
    kind = by_label(at.radio, "How to use the values")
    kind.set_value(kind.options[1]).run()
    by_label(at.number_input, "Activity threshold").set_value(12.0).run()
    assert_error(at, "all 24 usable rows are inactive", "move it inside the range")


def test_wrong_column_choices(app_test, support_df):
    at = upload_support(app_test(), "measured.csv", csv_bytes(support_df))
    by_label(at.selectbox, "Measurement column").set_value("compound_id").run()
    assert_error(at, "compound_id", "choose another column")
    at = upload_support(app_test(), "measured.csv", csv_bytes(support_df))
    by_label(at.selectbox, "Structure column").set_value("pKi").run()
    by_label(at.selectbox, "Measurement column").set_value("compound_id").run()
    assert_error(at)
    at = upload_support(app_test(), "measured.csv", csv_bytes(support_df))
    by_label(at.selectbox, "Structure column").set_value("compound_id").run()
    by_label(at.selectbox, "Measurement column").set_value("pKi").run()
    assert_error(at, "no usable rows", "invalid structure")


def test_bad_candidate_files(app_test, support_df):
    at = upload_support(app_test(), "measured.csv", csv_bytes(support_df))
    at.radio(key="cand_mode").set_value("Upload a file").run()
    at.file_uploader(key="cand_file").set_value(("candidates.csv", b"\x00\x01\x02\x03", "text/csv")).run()
    assert_error(at, "candidates.csv", "could not decode")
    at.file_uploader(key="cand_file").set_value(("candidates.csv", b"id,note\n1,a\n2,b\n", "text/csv")).run()
    assert_error(at, "candidates.csv", "no cell of column")


def test_typed_table_mode_waits_for_rows(app_test):
    at = app_test()
    at.radio(key="support_mode").set_value("Type or paste into a table").run()
    assert_clean(at)
    assert not errors(at) and len(at.data_editor) == 1
    assert any("Add your measured compounds" in i.value for i in at.info)


def test_switching_the_measurement_column_resets_the_task_choice(app_test, support_df):
    df = support_df.assign(active=["1" if float(v) > 7 else "0" for v in support_df["pKi"]])
    at = upload_support(app_test(), "measured.csv", csv_bytes(df))
    by_label(at.selectbox, "Measurement column").set_value("pKi").run()
    kind = by_label(at.radio, "How to use the values")
    kind.set_value(kind.options[1]).run()
    by_label(at.selectbox, "Measurement column").set_value("active").run()
    assert_clean(at)
    assert not errors(at), errors(at)
    assert by_label(at.radio, "How to use the values").value.startswith("Classification: 0/1")


def test_sessions_do_not_share_state(app_test, support_df):
    a = upload_support(app_test(), "measured.csv", csv_bytes(support_df))
    b = app_test()
    assert not errors(a) and any("Add your measured compounds" in i.value for i in b.info)
    assert "result" not in b.session_state


@pytest.mark.slow
def test_two_sessions_do_not_share_state(app_test, example):
    """Two users at once: each session has its own adapted model and results; the shared,
    read-only checkpoint is loaded once (st.cache_resource)."""
    first, second = app_test(), app_test()
    first.button(key="try_example").click().run()
    assert_clean(first)
    result = first.session_state["result"]["result"]
    before = result.predictions["prediction"].to_numpy(float).copy()
    assert "result" not in second.session_state  # nothing leaked into the other session
    second.button(key="try_example").click().run()
    assert_clean(second)
    other = second.session_state["result"]["result"]
    assert other is not result
    first.run()  # the first user's page re-runs after the second user adapted a model
    np.testing.assert_allclose(first.session_state["result"]["result"].predictions["prediction"].to_numpy(float),
                               before)


# ----------------------------------------------------------------------- scaffold K-fold check

SCAFFOLD_CHECK = "K-fold by scaffold (new chemotypes)"


def _check_table(at) -> pd.DataFrame:
    found = [d.value for d in at.dataframe if {"measured", "fold"} <= set(d.value.columns)]
    assert found, [list(d.value.columns) for d in at.dataframe]
    return found[0]


@pytest.mark.slow
def test_scaffold_kfold_check_on_the_example(app_test, example, captured):
    at = app_test()
    assert at.selectbox(key="check").options == ["Leave-one-out", "K-fold (random)", SCAFFOLD_CHECK]
    at.selectbox(key="check").set_value(SCAFFOLD_CHECK).run()
    at.button(key="try_example").click().run()
    assert_clean(at)
    assert not errors(at), errors(at)
    assert any("chemotypes it was not adapted on" in c.value for c in at.caption)
    assert by_label(at.metric, "Coverage of the 90% intervals").value.endswith("%")
    cv = _check_table(at)
    assert len(cv) == example["n_support"] and "scaffold" in cv.columns
    assert cv.groupby("scaffold")["fold"].nunique().eq(1).all()  # no scaffold in two folds
    assert cv["fold"].nunique() == 5 and cv["prediction"].notna().all()
    assert any("distinct scaffolds in 5 folds" in m.value for m in at.markdown)
    download = pd.read_csv(io.BytesIO(captured[-1]))
    assert {"fold", "scaffold"} <= set(download.columns) and len(download) == example["n_support"]
    # switching back to leave-one-out is a different cached check: one fold per compound, no scaffold column
    at.selectbox(key="check").set_value("Leave-one-out").run()
    assert_clean(at)
    loo = _check_table(at)
    assert loo["fold"].nunique() == example["n_support"] and "scaffold" not in loo.columns


@pytest.mark.slow
def test_scaffold_kfold_with_too_few_scaffolds(app_test):
    benzenes = ["Cc1ccccc1", "Oc1ccccc1", "Nc1ccccc1", "Clc1ccccc1", "Fc1ccccc1", "Brc1ccccc1"]
    pyridines = ["Cc1ccncc1", "Oc1ccncc1", "Nc1ccncc1"]
    at = app_test()
    at.selectbox(key="check").set_value(SCAFFOLD_CHECK).run()
    at.radio(key="support_mode").set_value("Paste text").run()
    rows = [f"{s}\t{5 + 0.3 * i:.1f}" for i, s in enumerate(benzenes + pyridines)]
    at.text_area(key="support_text").input("smiles\tpKi\n" + "\n".join(rows)).run()
    at.button(key="predict").click().run()
    assert_clean(at)
    assert not errors(at), errors(at)
    assert any("only 2 distinct scaffolds" in i.value and "2 folds" in i.value for i in at.info)
    assert _check_table(at)["fold"].nunique() == 2
    # one scaffold only: the check says why it cannot run, the rest of the page stands
    rows = [f"{s}\t{5 + 0.3 * i:.1f}" for i, s in enumerate(benzenes)]
    at.text_area(key="support_text").input("smiles\tpKi\n" + "\n".join(rows)).run()
    at.button(key="predict").click().run()
    assert_clean(at)
    assert not errors(at), errors(at)
    text = " ".join(w.value for w in at.warning)
    assert "at least 2 distinct scaffolds" in text and "Traceback" not in text
    assert any(h.value.startswith("6 · What to measure") for h in at.header)


@pytest.mark.slow
def test_project_export_and_import_repeat_the_run(app_test, support_df, monkeypatch):
    import app.project

    saved: list[bytes] = []
    real = app.project.project_bytes
    monkeypatch.setattr(app.project, "project_bytes", lambda *a, **k: saved.append(real(*a, **k)) or saved[-1])
    at = upload_support(app_test(), "measured.csv", csv_bytes(support_df))
    kind = by_label(at.radio, "How to use the values")
    kind.set_value(kind.options[1]).run()  # classification by threshold
    by_label(at.number_input, "Activity threshold").set_value(7.0).run()
    at.slider(key="level").set_value(0.8).run()
    at.button(key="predict").click().run()
    assert_clean(at)
    assert not errors(at), errors(at)
    first = at.session_state["result"]["result"].predictions
    assert any(b.label == "Project (JSON)" for b in at.download_button) and saved
    # a new session opens the project: same tables, choices and settings, predicted at once
    at2 = app_test()
    at2.file_uploader(key="project_file").set_value(("run.sciml.json", saved[-1], "application/json")).run()
    assert_clean(at2)
    assert not errors(at2), errors(at2)
    assert at2.session_state["support_mode"] == "From the opened project"
    assert at2.slider(key="level").value == 0.8
    assert by_label(at2.number_input, "Activity threshold").value == 7.0
    again = at2.session_state["result"]["result"].predictions
    assert again["smiles"].tolist() == first["smiles"].tolist()
    np.testing.assert_allclose(again["prediction"].to_numpy(float), first["prediction"].to_numpy(float))
    # a file that is not a project says so in the page, and nothing else changes
    at3 = app_test()
    at3.file_uploader(key="project_file").set_value(("x.json", b'{"format": "other"}', "application/json")).run()
    assert_clean(at3)
    assert any("not a sciml project" in e for e in errors(at3))
