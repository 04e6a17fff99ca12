"""Start a Streamlit script as a real server on a free localhost port, for browser tests.

Used by ``tests/e2e/conftest.py``; usable by hand too::

    with streamlit_server("app/main.py") as url:
        ...  # point a browser at url
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as resp:
            return resp.status == 200 and resp.read().strip() == b"ok"
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return False


def _tail(path: Path, n: int = 4000) -> str:
    try:
        return path.read_text(errors="replace")[-n:]
    except OSError:
        return "(no log)"


@contextlib.contextmanager
def streamlit_server(
    script: str | os.PathLike,
    *,
    env: Mapping[str, str] | None = None,
    cwd: str | os.PathLike | None = None,
    port: int | None = None,
    timeout: float = 90.0,
    log_path: str | os.PathLike | None = None,
) -> Iterator[str]:
    """Run ``streamlit run script`` headless on 127.0.0.1 and yield its URL once healthy.

    Parameters
    ----------
    script : path-like
        The Streamlit script.
    env : mapping, optional
        Extra environment variables (added to a copy of ``os.environ``).
    cwd : path-like, optional
        Working directory of the server; default the project root.
    port : int, optional
        Default: a free port.
    timeout : float, optional
        Seconds to wait for ``/_stcore/health`` to answer ``ok``.
    log_path : path-like, optional
        Where the server's stdout/stderr go; default a temporary file (its tail is put
        into the error when the server does not come up).

    Raises
    ------
    RuntimeError
        If the server exits or is not healthy within ``timeout`` (with the log's tail).
    """
    port = port or free_port()
    url = f"http://127.0.0.1:{port}"
    log = Path(log_path) if log_path else Path(tempfile.mkstemp(prefix="streamlit-", suffix=".log")[1])
    full_env = {**os.environ, "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false", "PYTHONUNBUFFERED": "1", **(env or {})}
    cmd = [
        sys.executable, "-m", "streamlit", "run", str(script),
        "--server.headless", "true",
        "--server.port", str(port),
        "--server.address", "127.0.0.1",
        "--server.fileWatcherType", "none",
        "--browser.gatherUsageStats", "false",
        "--global.developmentMode", "false",
    ]
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            cmd, cwd=str(cwd or PROJECT_ROOT), env=full_env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        deadline = time.monotonic() + timeout
        while not _healthy(url):
            if proc.poll() is not None:
                raise RuntimeError(f"streamlit exited with code {proc.returncode} before serving {url}:\n{_tail(log)}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"streamlit not healthy at {url} after {timeout:.0f} s:\n{_tail(log)}")
            time.sleep(0.25)
        yield url
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)  # the server's own process group (start_new_session)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
        if not log_path:
            log.unlink(missing_ok=True)
