"""How much of the classification calibration error is the unknown base rate, and how exact must a user's hit rate be?

Supports are class-balanced (K actives + K inactives) while each test assay keeps its own
base rate, so ``ECE >= |mean P(active) - base rate|``: a model cannot be calibrated on an
assay whose hit rate is far from the validation assays' average. For every learner and
dataset this runs the benchmark protocol on the test tasks (the support draws of
``sciml evaluate``) and reports, per calibration variant, ECE (15 equal-width bins), the
base-rate gap ``|mean p - base rate|`` (a lower bound of ECE) and the Brier score:

* ``none``: raw probabilities; ``posthoc``: Platt scaling fitted on validation tasks;
* ``posthoc+rate*f``: Platt scaling, then shifted (Bayes' rule) to the query's true base
  rate with its odds multiplied by ``f``: ``f = 1`` is a user who knows the hit rate,
  ``f = 0.5`` and ``2`` one who is off by a factor of two in the odds (5 % read as 2.6 % or
  9.5 %; 50 % as 33 % or 67 %).

Writes ``benchmarks/results/hit_rate_sensitivity.{json,md}`` (mean ± std over seeds of the
per-seed test-task average); a later run replaces only the (dataset, learner) pairs it redid.

    python benchmarks/hit_rate_sensitivity.py --datasets tox21,sider,muv,toxcast --learners bmaml --factors 0.5,1,2
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

#: The per-episode metrics summarised, in table order.
METRICS = ("ece", "rate_gap", "brier")


def main() -> None:
    from pipelines.evaluate import (analysis_arguments, evaluate_learner, keep_not_redone, machine_description,
                                    script_command, summarize, utc_date, write_analysis)
    from pipelines.run import build_learner, load_collection

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    analysis_arguments(ap, datasets="tox21,sider,muv,toxcast", learners="bmaml",
                       out="benchmarks/results/hit_rate_sensitivity")
    ap.add_argument("--factors", default="0.5,1,2", help="Multiples of the odds of the true base rate given as the hit rate.")
    ap.add_argument("--shots", type=int, default=10)
    args = ap.parse_args()
    factors = [float(f) for f in args.factors.split(",")]
    command = script_command()
    records = []
    for ds in args.datasets.split(","):
        coll = load_collection(ds)
        for ln in args.learners.split(","):
            learner = build_learner(ln, ds, args.checkpoint, "cpu", "classification")
            cal = learner.config_.get("calibration") or {}
            if "base_rate" not in cal:
                sys.exit(f"{ln} on {ds}: the calibration has no base_rate; run `sciml calibrate` on the checkpoint")
            df = evaluate_learner(learner, coll, [args.shots], range(args.seeds), progress=False, calibration=cal,
                                  hit_rate_factors=factors)
            new = summarize(df, benchmark="hit_rate_sensitivity", command=command, metrics=METRICS)
            records += new
            print(ds, ln, {r["calibration"]: round(r["mean"], 3) for r in new if r["metric"] == "ece"}, flush=True)
    meta = {"date": utc_date(), "machine": machine_description(), "seeds": list(range(args.seeds))}
    records = keep_not_redone(args.out.with_suffix(".json"), records)
    write_analysis(args.out, meta, records, markdown(records, meta, factors))


def _variants(factors: list[float]) -> list[tuple[str, str]]:
    """``(calibration value, column label)`` of each variant: raw, Platt, then Platt + hit rate per factor."""
    out = [("none", "raw"), ("posthoc", "Platt")]
    for f in factors:
        out.append(("posthoc+rate" if f == 1 else f"posthoc+rate*{f:g}",
                    "Platt + true hit rate" if f == 1 else f"Platt + hit-rate odds ×{f:g}"))
    return out


def markdown(records: list[dict], meta: dict, factors: list[float]) -> str:
    """One table per metric of :data:`METRICS`: a row per (dataset, learner), a column per calibration variant."""
    from pipelines.report import command_lines, dataset_order, learner_order

    by = {(r["dataset"], r["learner"], r["calibration"], r["metric"]): r for r in records}
    keys = sorted({(r["dataset"], r["learner"]) for r in records}, key=lambda k: (*learner_order(k[1]), *dataset_order(k[0])))
    variants = _variants(factors)
    lines = ["# Calibration and the unknown base rate (10-shot test tasks)", "",
             f"{meta['machine']}; seeds {meta['seeds'][0]}..{meta['seeds'][-1]}. Mean ± std over "
             "seeds of the per-seed test-task average. "
             "`rate gap` = |mean P(active) − base rate| per task, a lower bound of ECE. The hit-rate columns "
             "use one number from the query labels (its odds times a factor), i.e. what a user who knows (or misjudges) "
             "the assay's hit rate would enter; they are not few-shot figures. Commands (date: command):", "",
             *command_lines(records), ""]
    for metric, title in (("ece", "ECE (15 equal-width bins)"), ("rate_gap", "rate gap"), ("brier", "Brier score")):
        lines += [f"## {title}", "", "| dataset | learner | " + " | ".join(v[1] for v in variants) + " |",
                  "|---|---|" + "---|" * len(variants)]
        for ds, ln in keys:
            cells = []
            for c, _ in variants:
                r = by.get((ds, ln, c, metric))
                cells.append(f"{r['mean']:.3f} ± {r['std']:.3f}" if r else "")
            lines.append(f"| {ds} | {ln} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    main()
