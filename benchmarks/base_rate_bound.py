"""How low can ECE go when the support set cannot reveal an assay's base rate?

With class-balanced supports (K actives + K inactives, the few-shot MoleculeNet protocol) a
learner's mean predicted probability on a test task cannot follow that task's share of
actives. ECE is at least |mean probability − base rate| on each task, so for a learner whose
mean probability is the same constant c on every task, the test-task average ECE is at least
``min_c mean_t |c − rate_t|``, even if c were chosen by looking at the test rates. This script
computes that bound from the labels alone (no model), and the gap at the median rate of the
train + validation tasks (what a meta-learned constant would aim at), and writes
``benchmarks/results/base_rate_bound.{json,md}``.

    python benchmarks/base_rate_bound.py --datasets tox21,sider,muv,toxcast
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np


def constant_gap_bound(rates: np.ndarray) -> tuple[float, float]:
    """``(min over c of mean |c − rates|, the minimising c)`` for task base rates ``[T]``: the median minimises it."""
    c = float(np.median(rates))
    return float(np.mean(np.abs(c - rates))), c


def markdown(records: list[dict], meta: dict) -> str:
    """The Markdown table of the per-dataset bounds."""
    lines = ["# A floor under ECE when supports are class-balanced (test tasks)", "",
             f"Command: `{meta['command']}`; {meta['date']}; {meta['machine']}; labels only, no model, no seeds.",
             "A learner whose mean P(active) is the same on every task has a test-task average ECE of at least "
             "the oracle-constant gap; a constant aimed at the train + validation median rate is off by the last "
             "column. Rates are over each whole task; a query set lacks the 2K support molecules, which moves "
             "them slightly.", "",
             "| dataset | test tasks | test rate min / median / max | ECE floor (best constant) | gap at train+val median |",
             "|---|---|---|---|---|"]
    for r in records:
        lines.append(f"| {r['dataset']} | {r['n_test_tasks']} | {r['test_rate_min']:.3f} / {r['test_rate_median']:.3f} / "
                     f"{r['test_rate_max']:.3f} | {r['ece_bound_oracle_constant']:.3f} | {r['gap_at_train_val_median']:.3f} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    from pipelines.evaluate import machine_description, script_command, utc_date, write_analysis
    from pipelines.run import load_collection

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", default="tox21,sider,muv,toxcast")
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/base_rate_bound"))
    args = ap.parse_args()
    records = []
    for ds in args.datasets.split(","):
        coll = load_collection(ds)
        rate = {t: float(np.nanmean(coll.tasks[t].labels)) for t in coll.train + coll.val + coll.test}
        test = np.array([rate[t] for t in coll.test])
        seen = np.array([rate[t] for t in coll.train + coll.val])
        bound, c = constant_gap_bound(test)
        records.append({"dataset": ds, "n_test_tasks": len(test), "test_rate_min": float(test.min()),
                        "test_rate_median": float(np.median(test)), "test_rate_max": float(test.max()),
                        "oracle_constant": c, "ece_bound_oracle_constant": bound,
                        "train_val_median_rate": float(np.median(seen)),
                        "gap_at_train_val_median": float(np.mean(np.abs(np.median(seen) - test)))})
    meta = {"command": script_command(), "date": utc_date(), "machine": machine_description()}
    md = markdown(records, meta)
    write_analysis(args.out, meta, records, md)
    print(md, end="")


if __name__ == "__main__":
    main()
