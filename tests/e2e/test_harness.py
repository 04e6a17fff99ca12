"""The browser harness itself: a tiny Streamlit script served for real and driven in Chromium."""

from __future__ import annotations

import textwrap

import pytest

from tests.e2e.streamlit_server import free_port, streamlit_server

SCRIPT = textwrap.dedent(
    """
    import os
    import streamlit as st

    st.title("Harness check")
    name = st.text_input("Name", value="world")
    if st.button("Greet"):
        st.success(f"Hello, {name}! marker={os.environ.get('HARNESS_MARKER', '')}")
    """
)


def test_streamlit_page_in_real_chromium(streamlit_app, page, tmp_path):
    script = tmp_path / "tiny_app.py"
    script.write_text(SCRIPT)
    url = streamlit_app(script, env={"HARNESS_MARKER": "e2e-ok"})
    page.goto(url)
    page.get_by_role("heading", name="Harness check").wait_for()
    box = page.get_by_label("Name")
    box.fill("chemist")
    box.press("Enter")
    page.get_by_role("button", name="Greet").click()
    page.get_by_text("Hello, chemist! marker=e2e-ok").wait_for()
    shot = tmp_path / "harness.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 1000


def test_server_error_is_reported_with_its_log(tmp_path):
    with pytest.raises(RuntimeError, match="streamlit (exited|not healthy)"):
        with streamlit_server(tmp_path / "absent.py", port=free_port(), timeout=30):
            pass
