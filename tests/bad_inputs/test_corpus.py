"""The committed bad-input corpus through the CLI and the API: every case a clear error or handled, never a crash."""

from __future__ import annotations

import importlib.util
import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assays.sources.tables import UserTableError, read_table
from benchmarks.robustness import load_cases, run_api, run_cli

CASES = load_cases()


def test_corpus_is_current(tmp_path):
    """The committed files are what make_corpus.py writes (xlsx aside: it carries a timestamp)."""
    spec = importlib.util.spec_from_file_location("make_corpus", "tests/bad_inputs/make_corpus.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    from pathlib import Path

    files = Path("tests/bad_inputs/files")
    made = {name: data for name, _, data, _ in mod.cases()}
    assert sorted(made) == sorted(p.name for p in files.iterdir()) == sorted(c["file"] for c in CASES)
    for name, data in made.items():
        if not name.endswith(".xlsx"):
            assert (files / name).read_bytes() == data, name


@pytest.mark.parametrize("case", CASES, ids=[c["file"] for c in CASES])
def test_cli_gives_a_clear_error_or_handles_every_row(case, tmp_path):
    seen = run_cli(case, tmp_path)
    assert not seen["traceback"], seen
    assert seen["passed"], seen


@pytest.mark.parametrize("case", CASES, ids=[c["file"] for c in CASES])
def test_api_gives_a_documented_error_or_handles_every_row(case):
    seen = run_api(case)
    assert not seen["traceback"], seen
    assert seen["passed"], seen


_CELL = st.text(alphabet=string.ascii_letters + string.digits + ".,;\t\"' -=()#[]@+", max_size=12)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=400), st.sampled_from(["t.csv", "t.tsv", "t.txt", "t.csv.gz", "t.sdf", "t.xlsx", "t"]))
def test_reading_random_bytes_never_raises_anything_but_a_table_error(data, name):
    try:
        df = read_table(data, filename=name)
    except (UserTableError, FileNotFoundError):
        return
    assert df.shape[1] >= 1


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(_CELL, min_size=1, max_size=5), min_size=1, max_size=8),
       st.sampled_from([",", ";", "\t", "|"]), st.sampled_from(["\n", "\r\n"]), st.booleans())
def test_random_csv_dialects_read_or_give_a_table_error(rows, sep, newline, bom):
    text = newline.join(sep.join(r) for r in rows) + newline
    data = ("\ufeff" if bom else "").encode() + text.encode()
    try:
        df = read_table(data, filename="t.csv")
    except UserTableError:
        return
    assert len(df) <= len(rows)
