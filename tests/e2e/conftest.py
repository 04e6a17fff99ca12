"""Real-browser end-to-end fixtures: Playwright (Python) driving the system Chromium.

Needs Debian's ``chromium`` (``apt-get install -y chromium``) and ``pip install playwright``;
Playwright's own browser downloads are never used (``executable_path`` points at the
system browser). Tests here skip with a reason when either is missing. Set
``SCIML_CHROMIUM`` to use another Chromium binary.

Fixtures
--------
browser
    A headless Chromium (session-wide).
page
    A fresh page in its own browser context (per test).
streamlit_app
    ``streamlit_app(script, env=None) -> url``: serves a Streamlit script on a free port
    for the rest of the test.
app_url
    The project's app (``app/main.py``) served that way; skips while the app does not exist.
"""

from __future__ import annotations

import os
import shutil
from contextlib import ExitStack
from pathlib import Path

import pytest

from tests.e2e.streamlit_server import PROJECT_ROOT, streamlit_server

CHROMIUM_ENV = "SCIML_CHROMIUM"
APP_SCRIPT = PROJECT_ROOT / "app" / "main.py"

#: Flags for a headless Chromium on a machine without network or GPU (as root: no sandbox).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def pytest_configure(config):
    config.addinivalue_line("markers", "e2e: real-browser end-to-end test (system Chromium + Playwright)")


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.e2e)


def chromium_executable() -> str | None:
    """The system Chromium: ``$SCIML_CHROMIUM``, else ``chromium`` / ``chromium-browser`` on PATH."""
    env = os.environ.get(CHROMIUM_ENV)
    if env:
        return env if Path(env).is_file() else None
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = chromium_executable()
    if path is None:
        pytest.skip(
            "no system Chromium (install Debian's: apt-get install -y chromium, or set SCIML_CHROMIUM); "
            "browser tests drive it with Playwright"
        )
    return path


@pytest.fixture(scope="session")
def browser(chromium_path):
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="playwright is not installed (pip install playwright; no browser download needed)"
    )
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    p = context.new_page()
    p.set_default_timeout(30_000)
    yield p
    context.close()


@pytest.fixture
def streamlit_app(tmp_path):
    """Factory: ``streamlit_app(script, env=None, timeout=90) -> url`` (server stopped after the test)."""
    with ExitStack() as stack:

        def start(script, env=None, timeout: float = 90.0) -> str:
            log = tmp_path / f"streamlit-{Path(script).stem}.log"
            return stack.enter_context(streamlit_server(script, env=env, timeout=timeout, log_path=log))

        yield start


@pytest.fixture
def app_url(streamlit_app, chromium_path, browser):
    if not APP_SCRIPT.is_file():
        pytest.skip(f"{APP_SCRIPT.relative_to(PROJECT_ROOT)} does not exist yet")
    return streamlit_app(APP_SCRIPT)
