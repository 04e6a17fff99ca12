"""Compare two benchmark result files record by record (e.g. a re-run against the committed one).

Records are matched on (benchmark, dataset, learner, shots, calibration, metric); the
script prints, for every learner present in both files, how many matched records are
identical and the largest absolute difference of their means, and lists records
present in one file only. Exit status 0 when every matched record's mean and std agree
within ``--tol``, 1 otherwise.

Usage::

    python benchmarks/compare_records.py benchmarks/results/moleculeace.json runs/repro/moleculeace.json
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections import defaultdict
from pathlib import Path

KEY = ("benchmark", "dataset", "learner", "shots", "calibration", "metric")


def load(path: Path, learners: set[str] | None = None) -> dict[tuple, dict]:
    records = json.loads(Path(path).read_text())
    return {tuple(r.get(k) for k in KEY): r for r in records if learners is None or r["learner"] in learners}


def _diff(a: float, b: float) -> float:
    if a is None or b is None or (isinstance(a, float) and math.isnan(a)) or (isinstance(b, float) and math.isnan(b)):
        return 0.0 if (a is None or math.isnan(a)) == (b is None or math.isnan(b)) else math.inf
    return abs(float(a) - float(b))


def compare(a: dict[tuple, dict], b: dict[tuple, dict], tol: float) -> tuple[list[str], bool]:
    """Lines of the comparison and whether every shared record agrees within ``tol``."""
    per_learner: dict[str, list[float]] = defaultdict(list)
    ok = True
    for key in sorted(set(a) & set(b), key=str):
        d = max(_diff(a[key]["mean"], b[key]["mean"]), _diff(a[key].get("std"), b[key].get("std")))
        per_learner[key[2]].append(d)
        ok &= d <= tol
    lines = [f"{'learner':14} {'records':>7} {'identical':>9} {'max |diff|':>11}"]
    for learner, ds in sorted(per_learner.items()):
        lines.append(f"{learner:14} {len(ds):7d} {sum(d == 0 for d in ds):9d} {max(ds):11.3g}")
    only_a, only_b = sorted(set(a) - set(b), key=str), sorted(set(b) - set(a), key=str)
    if only_a:
        lines.append(f"{len(only_a)} records only in the first file, e.g. {only_a[0]}")
    if only_b:
        lines.append(f"{len(only_b)} records only in the second file, e.g. {only_b[0]}")
    return lines, ok


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("first", type=Path)
    ap.add_argument("second", type=Path)
    ap.add_argument("--learners", default="", help="Comma-separated learners to compare (default: all).")
    ap.add_argument("--tol", type=float, default=0.0, help="Largest accepted |difference| of means and stds.")
    args = ap.parse_args(argv)
    learners = {x for x in args.learners.split(",") if x} or None
    lines, ok = compare(load(args.first, learners), load(args.second, learners), args.tol)
    print("\n".join(lines))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
