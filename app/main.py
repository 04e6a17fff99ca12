"""sciml web app: few measured compounds in, uncertainty-aware predictions out.

Run from the project root: ``streamlit run app/main.py``. A thin script over the library;
each step lives in an ``app/ui_*.py`` module.
"""

from __future__ import annotations

import sys
from pathlib import Path

_APP_DIR = Path(__file__).resolve().parent
_ROOT = _APP_DIR.parent
# Import the app as the package ``app`` (not its modules as top-level names).
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _APP_DIR]
if str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))

import streamlit as st

st.set_page_config(page_title="sciml · few-shot property prediction", page_icon="⚗️", layout="wide")

from app import (
    ui_analysis,
    ui_candidates,
    ui_download,
    ui_explain,
    ui_model,
    ui_predict,
    ui_project,
    ui_support,
)
from app.assets import load_examples
from app.guard import logger


def _use_example() -> None:
    st.session_state["support_mode"] = ui_support.EXAMPLE
    st.session_state["cand_mode"] = ui_candidates.EXAMPLE
    st.session_state["auto_predict"] = True


def example_bar(examples: dict) -> None:
    if not examples.get("assays"):
        return
    with st.container(border=True):
        c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
        c1.selectbox("New here? Pick an example assay", [a["name"] for a in examples["assays"]], key="example_assay",
                     help="Real measurements from held-out MoleculeACE test targets (never used to train the model).")
        c2.button("Try an example", key="try_example", on_click=_use_example, type="primary", width="stretch",
                  help="Loads the example's measured compounds and candidates and predicts, in one click.")


def main() -> None:
    st.title("Few-shot property prediction")
    st.markdown("Upload the handful of compounds you measured in a new assay and get predictions for candidates, "
                "each with its uncertainty, an applicability-domain flag, a check of the model on your own data and "
                "a ranking of what to measure next.")
    auto = bool(st.session_state.pop("auto_predict", False))
    examples = load_examples()
    ui_project.open_box()
    example_bar(examples)
    settings = ui_model.render_settings()
    info, loaded = ui_model.render()
    support = ui_support.render(loaded.tasks, examples)
    info, loaded = ui_model.for_task(info, loaded, support.kind)
    cands = ui_candidates.render(examples)
    stored = ui_predict.run(info, loaded, support, cands, settings, auto)
    result = stored["result"]
    # Step 4's table needs the ranking chosen in step 6, and is shown before step 5's check is computed.
    table_box, check_box = st.container(), st.container()
    ranking, acq = ui_analysis.rank(result, support, cands, settings)
    with table_box:
        ui_predict.table(cands, stored, ranking, support, settings)
        ui_explain.render(cands, stored, ranking, support, settings)
    with check_box:
        cv, summary = ui_analysis.check(info, loaded, support, settings)
    ui_analysis.charts(result, cv, support, settings, summary)
    record = ui_download.settings_record(info, loaded, support, cands, settings, acq, stored)
    ui_download.render(cands, stored, ranking, cv, record, support, settings)


try:
    main()
except Exception as exc:  # noqa: BLE001 - last resort: a message, never a traceback
    logger.exception("unexpected error in the app")
    st.error(f"Something unexpected went wrong ({type(exc).__name__}: {exc}). Reload the page; if it happens again, "
             "report it with the file you used.")
