"""Step 2: the measured compounds (support set): input, column and task choices, per-row status."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app import guard, ui_project
from app import user_tables as ut
from app.assets import example_file
from app.config import EXAMPLES_DIR, MIN_SUPPORT, UPLOAD_TYPES, UPLOAD_WIDGET_MB
from assays.sources import tables

UPLOAD = "Upload a file"
EDITOR = "Type or paste into a table"
PASTE = "Paste text"
EXAMPLE = "Example assay"
MODES = [UPLOAD, EDITOR, PASTE, EXAMPLE]

_FIX = "Fix the file (or choose other columns) and upload it again."


def example_by_name(examples: dict, name: str | None) -> dict | None:
    return next((a for a in examples.get("assays", []) if a["name"] == name), None)


def _input_table(mode: str, examples: dict) -> tuple[ut.InputTable | None, dict | None]:
    if mode == ui_project.PROJECT:
        project = ui_project.opened()
        if project is None:
            return None, None
        st.info(f"Measured compounds of the opened project: {project.support.name}, {len(project.support.df)} rows "
                f"(saved {project.created_at_utc}).")
        return project.support, None
    if mode == UPLOAD:
        f = st.file_uploader("Measured compounds (CSV, TSV, Excel .xlsx or SDF)", type=UPLOAD_TYPES, key="support_file",
                             max_upload_size=UPLOAD_WIDGET_MB,
                             help="One row per compound: a SMILES column and a column of measured values (numbers, "
                                  "0/1 or two labels such as active/inactive). SDF: structures from the records, "
                                  f"values from an SD property. Limit {tables.MAX_UPLOAD_MB:g} MB.")
        st.caption(f"Up to {tables.MAX_UPLOAD_MB:g} MB per file (gzip-compressed files: once decompressed).")
        return (ut.table_from_bytes(f.getvalue(), f.name) if f is not None else None), None
    if mode == EDITOR:
        empty = pd.DataFrame({"smiles": pd.Series(dtype="str"), "value": pd.Series(dtype="str")})
        edited = st.data_editor(empty, num_rows="dynamic", key="support_editor", hide_index=True, column_config={
            "smiles": st.column_config.TextColumn("smiles", help="Structure as SMILES, e.g. CCOc1ccccc1"),
            "value": st.column_config.TextColumn("value", help="Measured value (number), 0/1, or a label")})
        if edited is None or not edited.map(lambda v: isinstance(v, str) and v.strip() != "").to_numpy().any():
            return None, None
        return ut.table_from_editor(edited), None
    if mode == PASTE:
        text = st.text_area("Paste rows (first line: column names)", key="support_text", height=180,
                            placeholder="smiles,pKi\nCCOc1ccc(N)cc1,6.2\n...",
                            help="CSV, TSV or cells copied from a spreadsheet. Without a header line the first "
                                 "column is read as SMILES and the second as the value.")
        return (ut.table_from_text(text) if text and text.strip() else None), None
    example = example_by_name(examples, st.session_state.get("example_assay"))
    if example is None:
        return None, None
    data, _ = example_file(example["support"])
    table = ut.table_from_bytes(data, example["support"], origin="example")
    st.info(f"Example assay **{example['name']}**: {len(table.df)} measured compounds. Units: {example['units']}. "
            f"Source: {example['source']}; licence: `{EXAMPLES_DIR.name}/{example['licence']}`.")
    return table, example


def _columns(table: ut.InputTable, example: dict | None, tasks: tuple[str, ...]) -> dict:
    sid = table.sha256[:12]
    cols = [c for c in table.df.columns if c != tables.RECORD_ERROR_COLUMN]
    auto_s = example["smiles_col"] if example else ut.guess_smiles_column(table.df)
    auto_v = example["value_col"] if example else ut.guess_value_column(table, auto_s)
    c1, c2 = st.columns(2)
    smiles_col = c1.selectbox("Structure column (SMILES)", cols, index=cols.index(auto_s) if auto_s in cols else 0,
                              key=f"sup_smiles:{sid}", help="The column holding each compound's SMILES "
                              "(auto-detected; for SDF files: the structure of each record).")
    options = [c for c in cols if c != smiles_col]
    if not options:
        st.error(f"{table.name} has a single column ({smiles_col!r}): add a column of measured values.")
        st.stop()
    value_col = c2.selectbox("Measurement column", options, index=options.index(auto_v) if auto_v in options else None,
                             key=f"sup_value:{sid}", placeholder="Choose the column of measured values",
                             help="The measured values: numbers (regression), 0/1 or two labels (classification).")
    if value_col is None:
        st.info(f"Choose the measurement column of {table.name} (it could not be detected automatically).")
        st.stop()
    with guard.step(f"Column {value_col!r} of {table.name}", "Choose the column that holds the measured values."):
        choices, decision = ut.kind_choices(table, value_col, tasks)
    choice = {"smiles_col": smiles_col, "value_col": value_col}
    sid = f"{sid}:{smiles_col}:{value_col}"  # choices below depend on the columns
    c3, c4 = st.columns(2)
    choice["mode"] = c3.radio("How to use the values", choices, key=f"sup_kind:{sid}",
                              help="Regression is the default for numbers; classification for 0/1 or text labels, "
                                   "or set an activity threshold to call values at or above it active. "
                                   f"Detected: {decision.reason}.")
    if choice["mode"] == ut.KIND_THRESHOLD:
        values = ut.numeric_values(table.df[value_col])
        default = float(round(pd.Series(values).median(), 2)) if len(values) else 0.0
        choice["threshold"] = c4.number_input(f"Activity threshold ({value_col})", value=default, key=f"sup_thr:{sid}",
                                              help="Compounds with a value at or above this are active (1), below "
                                                   "inactive (0). Default: the median of your values.")
    elif decision.label_map is not None:
        labels = list(decision.label_map)
        choice["positive"] = c4.selectbox("Active label (class 1)", labels, key=f"sup_pos:{sid}",
                                          index=labels.index(decision.positive) if decision.positive in labels else 0,
                                          help="Which of the two labels means active; P(active) is predicted.")
    if choice["mode"] == ut.KIND_REGRESSION:
        default_units = example["units"].split(" =")[0] if example else value_col
        choice["units"] = c4.text_input("Units of the values", value=default_units, key=f"sup_units:{sid}",
                                        help="Shown with every prediction, e.g. pKi, pIC50, log S (mol/L), %.")
        choice["maximize"] = c4.checkbox("Higher values are better", value=True, key=f"sup_max:{sid}",
                                         help="Direction used to rank what to measure next (step 6); untick for "
                                              "properties to minimise, e.g. toxicity or clearance.")
    return choice


def _show_report(support: ut.SupportSet) -> None:
    counts = tables.status_counts(support.report)
    n = len(support.report)
    parts = " · ".join(f"{v} {k}" for k, v in counts.items())
    st.markdown(f"**{len(support.y)} of {n} rows usable** ({parts}). {support.kind_reason[:1].upper()}{support.kind_reason[1:]}.")
    problems = n - counts.get(tables.STATUS_OK, 0)
    with st.expander(f"Per-row status of {support.table.name} ({n} rows, {problems} not used)", expanded=problems > 0):
        st.caption("Rows are numbered from 0 = first row under the header. 'value' is what the model is given.")
        guard.show_report(support.report)


def render(tasks: tuple[str, ...], examples: dict) -> ut.SupportSet:
    st.header("2 · Measured compounds (support set)")
    st.caption(f"The compounds you measured in the new assay: the model adapts to them. Regression needs at least "
               f"{MIN_SUPPORT['regression']} usable rows, classification at least one active and one inactive.")
    modes = MODES if examples.get("assays") else MODES[:-1]
    if ui_project.opened() is not None:
        modes = [*modes, ui_project.PROJECT]
    if st.session_state.get("support_mode") not in modes:
        st.session_state.pop("support_mode", None)
    st.session_state.setdefault("support_mode", UPLOAD)
    mode = st.radio("Where are your measurements?", modes, key="support_mode", horizontal=True,
                    help="Upload a file, type or paste rows into a table, paste text, or use a shipped example assay.")
    with guard.step("Reading the measured compounds", _FIX):
        table, example = _input_table(mode, examples)
    if table is None:
        st.info("Add your measured compounds above, or press **Try an example** at the top of the page.")
        st.stop()
    choice = _columns(table, example, tasks)
    with guard.step(f"Reading {table.name}", _FIX):
        support = ut.build_support(table, choice["smiles_col"], choice["value_col"], choice["mode"],
                                   threshold=choice.get("threshold"), positive_label=choice.get("positive"))
    support.units = choice.get("units", "P(active)") if support.kind == "regression" else "P(active)"
    support.maximize = bool(choice.get("maximize", True))
    _show_report(support)
    problem = ut.support_problem(support)
    if problem:
        st.error(problem)
        st.stop()
    return support
