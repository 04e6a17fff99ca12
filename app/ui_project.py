"""Open a saved project (top of the page) and save one (step 8): a run that can be reopened tomorrow."""

from __future__ import annotations

import hashlib

import streamlit as st

from app import project as pj

#: The input mode that reads the measured compounds / candidates from the opened project.
PROJECT = "From the opened project"


def opened() -> pj.Project | None:
    """The project opened in this session, if any."""
    return st.session_state.get("project")


def _apply(project: pj.Project) -> None:
    """Put the project's tables, choices and settings into this session's widgets (before they render)."""
    state = st.session_state
    state["project"] = project
    state["support_mode"] = PROJECT
    state["cand_mode"] = PROJECT
    c, s = project.choice, project.settings
    sid = project.support.sha256[:12]
    state[f"sup_smiles:{sid}"] = c["smiles_col"]
    state[f"sup_value:{sid}"] = c["value_col"]
    sid = f"{sid}:{c['smiles_col']}:{c['value_col']}"
    state[f"sup_kind:{sid}"] = c["mode"]
    for key, value in ((f"sup_thr:{sid}", c["threshold"]), (f"sup_pos:{sid}", c["positive"])):
        if value is not None:
            state[key] = value
    state[f"sup_units:{sid}"] = c["units"]
    state[f"sup_max:{sid}"] = c["maximize"]
    state["level"] = s["level"]
    state["similarity_by_hand"] = s["similarity"] is not None
    if s["similarity"] is not None:
        state["similarity"] = s["similarity"]
    state["check"] = s["check"]
    state["rows"] = s["rows"]
    state["hit_rate"] = s["hit_rate"]
    state["baseline"] = s["baseline_choice"]
    state["checkpoint"] = project.checkpoint
    state["keep_default"] = project.checkpoint == "default"
    if s["acquisition"] is not None:
        state["acquisition"] = s["acquisition"]
    if s["kappa"] is not None:
        state["kappa"] = s["kappa"]
    state["auto_predict"] = True


def open_box() -> None:
    """An uploader for a project file; a new valid file is applied and the page reruns with it."""
    with st.expander("Open a saved project", expanded=False):
        f = st.file_uploader("Project file (JSON, saved in step 8)", type=["json"], key="project_file",
                             help="A project saved with 'Project (JSON)' in step 8: the measured compounds, the "
                                  "candidates, the column and task choices, the settings and the checkpoint. "
                                  "Opening it repeats that run.")
        if f is None:
            return
        data = f.getvalue()
        sha = hashlib.sha256(data).hexdigest()
        if st.session_state.get("project_sha") == sha:
            p = opened()
            if p is not None:
                st.caption(f"Opened {f.name}: saved {p.created_at_utc} with sciml {p.package_version}.")
            return
        try:
            project = pj.read_project(data, f.name)
        except pj.ProjectError as exc:
            st.error(str(exc))
            return
        st.session_state["project_sha"] = sha
        _apply(project)
        st.rerun()
