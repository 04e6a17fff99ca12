"""Robustness report: the bad-input corpus and the broken-checkpoint and fault cases, through the CLI and the API.

    python benchmarks/robustness.py        # -> benchmarks/results/robustness.{json,md}

Cases: every table in ``tests/bad_inputs/cases.json`` (made by ``tests/bad_inputs/make_corpus.py``)
run through ``sciml predict`` (in-process, Typer's runner) and through the Python API
(``load_user_table`` / ``read_table`` + ``FewShotModel``), against the shipped default checkpoint;
the broken-checkpoint cases of ``tests/sciml/test_checkpoint.py``; and output faults
(``kill -9`` during a write, a second writer on a claimed output). A case passes when it is a clear error (non-zero exit or the
documented exception type, the message naming the file and the expected phrase, no traceback)
or handled (one output row per input row, the error column filled exactly on the bad rows).
"""

from __future__ import annotations

import datetime as dt
import json
import platform
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

CORPUS = ROOT / "tests" / "bad_inputs"
DEFAULT = ROOT / "data" / "checkpoints" / "default"
OUT = ROOT / "benchmarks" / "results" / "robustness"


def load_cases() -> list[dict]:
    return json.loads((CORPUS / "cases.json").read_text())


def _good(role: str) -> Path:
    """The good table of ``role`` ("support" or "query") that a case of the other role runs against."""
    return CORPUS / "files" / f"{role}_ok.csv"


def run_cli(case: dict, tmp: Path) -> dict:
    """``sciml predict`` on one case -> a result dict with ``passed`` and what was seen."""
    import pandas as pd
    from typer.testing import CliRunner

    from sciml.cli import app

    path = CORPUS / "files" / case["file"]
    support = path if case["role"] == "support" else _good("support")
    query = path if case["role"] == "query" else _good("query")
    out = tmp / f"{case['file']}.out.csv"
    res = CliRunner().invoke(app, ["predict", "--support", str(support), "--query", str(query), "--out", str(out),
                                   "--checkpoint", str(DEFAULT), "--device", "cpu", "--overwrite"])
    text = res.output + (repr(res.exception) if res.exception and not isinstance(res.exception, SystemExit) else "")
    seen = {"interface": "cli", "file": case["file"], "role": case["role"], "expected": case["outcome"],
            "exit_code": res.exit_code, "traceback": "Traceback" in text or (
                res.exception is not None and not isinstance(res.exception, SystemExit))}
    if case["outcome"] == "error":
        seen["message"] = text.strip().splitlines()[-1][:300] if text.strip() else ""
        seen["passed"] = (res.exit_code != 0 and not seen["traceback"] and case["phrase"].lower() in text.lower()
                          and case["file"] in text and not out.exists())
        return seen
    if res.exit_code != 0 or not out.exists():
        seen.update(passed=False, message=text.strip()[-300:])
        return seen
    df = pd.read_csv(out, keep_default_na=False)
    n_in = len(pd.read_csv(query, keep_default_na=False)) if query.suffix == ".csv" and case["role"] != "query" \
        else _rows_in(query)
    bad = sorted(i for i, e in enumerate(df["error"].astype(str)) if e.strip())
    want = case.get("error_rows", []) if case["role"] == "query" else []
    seen.update(rows_in=n_in, rows_out=len(df), error_rows=bad,
                passed=len(df) == n_in and bad == want and not seen["traceback"])
    return seen


def _rows_in(path: Path) -> int:
    from assays.sources.tables import read_table

    return len(read_table(path))


def run_api(case: dict) -> dict:
    """The same case through the Python API: a documented exception with the phrase, or one row per input."""
    from assays.sources.tables import UserTableError, load_user_table, read_table
    from sciml.api import FewShotModel, load
    from sciml.learners.base import SupportSetError

    path = CORPUS / "files" / case["file"]
    seen = {"interface": "api", "file": case["file"], "role": case["role"], "expected": case["outcome"],
            "traceback": False}
    try:
        loaded = load(DEFAULT, "cpu")
        support = path if case["role"] == "support" else _good("support")
        t, _ = load_user_table(support, domain=loaded.domain)
        model = FewShotModel(loaded, task=t.kind)
        model.fit(t.inputs, t.labels)
        q = read_table(path if case["role"] == "query" else _good("query"))
        col = "smiles" if "smiles" in q.columns else None
        if col is None:
            from assays.sources.tables import find_structure_column

            col = find_structure_column(q, str(path), loaded.domain)
        pred = model.predict(q[col].tolist())
        bad = sorted(int(i) for i in pred.index[pred["error"] != ""])
        if "record_error" in q.columns:
            bad = sorted(set(bad) | {i for i, e in enumerate(q["record_error"]) if str(e).strip()})
        want = case.get("error_rows", []) if case["role"] == "query" else []
        seen.update(rows_in=len(q), rows_out=len(pred), error_rows=bad,
                    passed=case["outcome"] == "handled" and len(pred) == len(q) and bad == want)
    except (UserTableError, SupportSetError, ValueError, FileNotFoundError) as e:
        msg = str(e)
        seen.update(message=msg[:300], exception=type(e).__name__,
                    passed=case["outcome"] == "error" and case["phrase"].lower() in msg.lower())
    except Exception as e:  # noqa: BLE001 - an undocumented exception type is a failure of the case
        seen.update(message=f"{type(e).__name__}: {e}"[:300], traceback=True, passed=False)
    return seen


def run_checkpoint_cases(tmp: Path) -> list[dict]:
    """Every broken-checkpoint case of ``tests/sciml/test_checkpoint.py`` through ``sciml predict``."""
    import shutil

    from typer.testing import CliRunner

    from sciml.cli import app
    from tests.sciml.test_checkpoint import BROKEN

    out = []
    for name, (breaks, _, phrase) in BROKEN.items():
        ck = tmp / f"ck-{name}"
        shutil.copytree(DEFAULT, ck)
        breaks(ck)
        res = CliRunner().invoke(app, ["predict", "--support", str(_good("support")), "--query", str(_good("query")),
                                       "--out",
                                       str(tmp / f"{name}.csv"), "--checkpoint", str(ck), "--device", "cpu"])
        tb = res.exception is not None and not isinstance(res.exception, SystemExit)
        import re

        out.append({"interface": "cli", "file": f"checkpoint: {name}", "role": "checkpoint", "expected": "error",
                    "exit_code": res.exit_code, "traceback": tb, "message": res.output.strip()[-300:],
                    "passed": res.exit_code != 0 and not tb and re.search(phrase, res.output) is not None})
    return out


def run_fault_cases(tmp: Path) -> list[dict]:
    """``kill -9`` during an output write (with and without a previous file) and a second writer on a claimed
    output: the final name holds the previous complete file or nothing, and the second writer is refused."""
    import os
    import signal
    import subprocess

    from sciml.files import OutputBusyError, atomic_write_text, output_lock

    def child(code: str) -> subprocess.Popen:
        p = subprocess.Popen([sys.executable, "-c", code + "\nprint('ready', flush=True)\nimport time\n"
                              "time.sleep(60)"], cwd=ROOT, stdout=subprocess.PIPE, text=True)
        assert p.stdout.readline().strip() == "ready"
        return p

    rows = []
    for previous in (True, False):
        out = tmp / f"fault-{previous}.csv"
        if previous:
            atomic_write_text(out, "x\n1\n")
        p = child(f"from sciml.files import atomic_write\ncm = atomic_write({str(out)!r})\nf = cm.__enter__()\n"
                  f"f.write('x\\n' + '2\\n' * 100000)\nf.flush()")
        os.kill(p.pid, signal.SIGKILL)
        p.wait()
        ok = out.read_text() == "x\n1\n" if previous else not out.exists()
        rows.append({"interface": "files", "file": f"kill -9 during a write ({'over a previous file' if previous else 'new file'})",
                     "role": "fault", "expected": "previous file" if previous else "no file", "traceback": False,
                     "passed": ok, "message": "final name untouched" if ok else "a partial file is visible"})
    out = tmp / "claimed.csv"
    p = child(f"from sciml.files import output_lock\ncm = output_lock({str(out)!r})\ncm.__enter__()")
    try:
        with output_lock(out):
            refused, msg = False, "second writer was not refused"
    except OutputBusyError as e:
        refused, msg = True, str(e)
    finally:
        os.kill(p.pid, signal.SIGKILL)
        p.wait()
    rows.append({"interface": "files", "file": "second writer on a claimed --out", "role": "fault",
                 "expected": "refused", "traceback": False, "passed": refused, "message": msg})
    return rows


def markdown(rows: list[dict], meta: dict) -> str:
    n = len(rows)
    passed = sum(r["passed"] for r in rows)
    crashes = sum(bool(r.get("traceback")) for r in rows)
    lost = sum(max(0, r.get("rows_in", 0) - r.get("rows_out", 0)) for r in rows)
    lines = ["# Robustness: bad inputs and broken checkpoints", "",
             f"`{meta['command']}` on {meta['date']}; {meta['machine']}.", "",
             f"**{n} case runs, {passed} as required, {n - passed} not; crashes (tracebacks) {crashes}; "
             f"query rows lost {lost}.**", "",
             "Outcome *clear error*: non-zero exit (CLI) or a documented exception (API: `UserTableError`, "
             "`SupportSetError`, `ValueError`), the message naming the file and the expected phrase, nothing "
             "written. *Handled*: one output row per query row, the `error` column filled exactly on the rows "
             "that cannot be predicted. Tables: `tests/bad_inputs/` (made by `make_corpus.py`); checkpoints: the "
             "broken-checkpoint cases of `tests/sciml/test_checkpoint.py` applied to a copy of the shipped default; "
             "faults: `kill -9` of a writer mid-write and a second writer on a claimed output.",
             "", "| interface | case | role | expected | result | rows in / out | message |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        rows_io = f"{r['rows_in']} / {r['rows_out']}" if "rows_in" in r else ""
        msg = str(r.get("message", "")).replace("|", "\\|").replace("\n", " ")[:140]
        lines.append(f"| {r['interface']} | `{r['file']}` | {r['role']} | {r['expected']} | "
                     f"{'ok' if r['passed'] else '**FAILED**'} | {rows_io} | {msg} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    import logging

    logging.disable(logging.WARNING)
    from pipelines.evaluate import machine_description, script_command
    from sciml.files import atomic_write_text

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for case in load_cases():
            rows.append(run_cli(case, Path(tmp)))
            rows.append(run_api(case))
        rows += run_checkpoint_cases(Path(tmp))
        rows += run_fault_cases(Path(tmp))
    meta = {"command": script_command(), "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "machine": machine_description(), "python": platform.python_version()}
    atomic_write_text(OUT.with_suffix(".json"), json.dumps({**meta, "cases": rows}, indent=1) + "\n")
    md = markdown(rows, meta)
    atomic_write_text(OUT.with_suffix(".md"), md)
    print(md)
    if not all(r["passed"] for r in rows):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
