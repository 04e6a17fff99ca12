"""Shared fixtures. Tests that need ../shared/data use ``shared_data_dir`` and skip with a reason where it is absent."""

from __future__ import annotations

import os

import pytest

from sciml.config import default_data_dir


@pytest.fixture(scope="session")
def shared_data_dir():
    d = default_data_dir()
    if not (d / "molecules").is_dir():
        pytest.skip(f"shared data not found at {d} (set SCIML_DATA_DIR); this test reads the real assay files")
    return d


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Keep featurization caches of the tests out of the user's ~/.cache."""
    monkeypatch.setenv("SCIML_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "sciml-cache"))
    os.environ.setdefault("PYTHONHASHSEED", "0")
