"""Step 8: downloads (CSV, Parquet, the run's settings as JSON, the check table)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

import sciml
from app import core, project
from app import user_tables as ut
from app.assets import CheckpointInfo
from app.config import ROOT
from app.ui_model import RunSettings
from sciml.domains import get_domain


def settings_record(info: CheckpointInfo, loaded, support: ut.SupportSet, cands: ut.Candidates, s: RunSettings,
                    acq: dict, stored: dict) -> dict:
    """Everything needed to reproduce the run."""
    try:
        ckpt_path = str(info.path.resolve().relative_to(ROOT))
    except ValueError:
        ckpt_path = str(info.path)
    t = support.table
    return {
        "checkpoint": info.name, "checkpoint_path": ckpt_path,
        "checkpoint_package_version": info.config.get("package_version"), "package_version": sciml.__version__,
        "learner": loaded.learner, "domain": loaded.domain.name, "task": support.kind, "task_reason": support.kind_reason,
        "threshold": support.threshold, "positive_class": support.positive, "level": s.level,
        "hit_rate": s.hit_rate if support.kind == "classification" else None,
        "domain_similarity_threshold": s.similarity if s.similarity is not None else "calibrated",
        "domain_calibration": loaded.config.get("applicability") or None, "check": s.check, "units": support.units,
        "baseline": stored["result"].baseline,
        "support_file": t.name, "support_origin": t.origin, "support_sha256": t.sha256,
        "smiles_col": support.smiles_col, "value_col": support.value_col,
        "n_support_rows": len(support.report), "n_support_used": int(stored["result"].n_support),
        "candidates_file": cands.name, "candidates_sha256": cands.sha256, "n_candidates": len(cands.smiles),
        **acq, "predicted_at_utc": stored["when"],
    }


def render(cands: ut.Candidates, stored: dict, ranking: pd.DataFrame, cv: pd.DataFrame | None, settings: dict,
           support: ut.SupportSet | None = None, s: RunSettings | None = None) -> None:
    st.header("8 · Download")
    result = stored["result"]
    out = core.assemble_output(cands.df, result.predictions, ranking, settings, result.baseline_predictions)
    st.caption(f"{len(out):,} rows, one per candidate row you gave, in your order, with your columns, the "
               "predictions, the domain check, the ranking, the support-only baseline's predictions (baseline_*) and an "
               "error column; the run's settings (model, learner, baseline, "
               "task, support file SHA-256, …) are in the JSON file and in the Parquet metadata.")
    stem = f"sciml_{settings['checkpoint']}_{settings['task']}"
    c = st.columns(5)
    c[0].download_button("Results (CSV)", core.to_csv_bytes(out), f"{stem}.csv", "text/csv", key="dl_csv",
                         on_click="ignore", help="Comma-separated, one row per candidate row")
    c[1].download_button("Results (Parquet)", core.to_parquet_bytes(out, settings), f"{stem}.parquet",
                         "application/vnd.apache.parquet", key="dl_parquet", on_click="ignore",
                         help="Typed columns; the run's settings in the file metadata (key 'sciml_run')")
    c[2].download_button("Run settings (JSON)", core.settings_json(settings), f"{stem}_settings.json",
                         "application/json", key="dl_settings", on_click="ignore",
                         help="Checkpoint, package version, learner, task, threshold, level, file SHA-256 hashes")
    domain = get_domain(settings.get("domain"))
    if domain.structure_file_suffix:
        c[4].download_button(f"Ranked candidates ({domain.structure_file_suffix[1:].upper()})",
                             core.to_structure_bytes(out, core.output_column(cands.smiles_col), domain),
                             f"{stem}_ranked{domain.structure_file_suffix}", "chemical/x-mdl-sdfile", key="dl_sdf",
                             on_click="ignore", help="Every candidate as a structure record, in the order of the "
                                                     "ranking (step 6), with every result column as a property; "
                                                     "opens in ChemDraw, DataWarrior, KNIME, RDKit")
    if support is not None and s is not None:
        state = {"level": s.level, "similarity": s.similarity, "check": s.check, "rows": s.rows,
                 "hit_rate": s.hit_rate, "baseline_choice": s.baseline_choice,
                 "acquisition": settings.get("acquisition"), "kappa": settings.get("kappa")}
        data = project.project_bytes(support, cands, state, settings["checkpoint"], sciml.__version__)
        st.download_button("Project (JSON)", data, f"{stem}_project.json", "application/json", key="dl_project",
                           on_click="ignore", help="The measured compounds, candidates, column and task choices, "
                                                   "settings and checkpoint of this run: open it at the top of the "
                                                   "page (tomorrow, or on another machine) to repeat the run.")
    if cv is not None:
        c[3].download_button("Check on your data (CSV)", core.to_csv_bytes(cv), f"{stem}_check.csv",
                             "text/csv", key="dl_check", on_click="ignore",
                             help="The support-set check (step 5): measured, predicted, interval, covered, and the "
                                  "baseline's held-out predictions on the same folds")
