"""Fixtures for the app's tests: the shipped example as bytes, and an AppTest factory."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "app" / "main.py"
EXAMPLES = ROOT / "data" / "examples"
#: Generous: the first run loads the checkpoint; CI machines are slow and often busy.
TIMEOUT = 300


@pytest.fixture(scope="session")
def example() -> dict:
    return json.loads((EXAMPLES / "examples.json").read_text())["assays"][0]


@pytest.fixture(scope="session")
def support_df(example) -> pd.DataFrame:
    return pd.read_csv(EXAMPLES / example["support"], dtype=str, keep_default_na=False)


@pytest.fixture(scope="session")
def candidates_df(example) -> pd.DataFrame:
    return pd.read_csv(EXAMPLES / example["candidates"], dtype=str, keep_default_na=False)


def csv_bytes(df: pd.DataFrame) -> bytes:
    buf = io.StringIO()
    df.to_csv(buf, index=False)
    return buf.getvalue().encode("utf-8")


@pytest.fixture
def app_test():
    """``app_test()`` -> a fresh AppTest of app/main.py, already run once."""
    from streamlit.testing.v1 import AppTest

    def make():
        at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
        at.run()
        return at

    return make
