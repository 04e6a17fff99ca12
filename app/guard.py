"""Errors become readable messages: no traceback ever reaches the page."""

from __future__ import annotations

import contextlib
import logging

import pandas as pd
import streamlit as st

from assays.sources.tables import UserTableError
from sciml.checkpoint import CheckpointError
from sciml.learners.base import SupportSetError

logger = logging.getLogger("sciml.app")


def show_report(report: pd.DataFrame | None) -> None:
    if report is not None and len(report):
        st.dataframe(report, hide_index=True, height=min(38 + 35 * len(report), 320),
                     column_config={"row": st.column_config.NumberColumn("row", help="0 = first row under the header")})


@contextlib.contextmanager
def step(what: str, hint: str):
    """Run one step of the page; on failure show ``st.error`` (what failed, why, ``hint``) and stop the page.

    Streamlit's own stop / rerun signals are ``BaseException`` and pass through untouched."""
    try:
        yield
    except UserTableError as exc:
        st.error(f"**{what}**: {exc}")
        show_report(exc.report)
        st.stop()
    except (SupportSetError, CheckpointError) as exc:
        st.error(f"**{what}**: {exc} {hint}")
        st.stop()
    except FileNotFoundError as exc:
        st.error(f"**{what}**: file not found ({exc}). {hint}")
        st.stop()
    except Exception as exc:
        logger.exception("app step %r failed", what)
        st.error(f"**{what}** failed: {type(exc).__name__}: {exc}. {hint}")
        st.stop()
