"""Do the validation tasks rank learners as the test tasks do? The same protocol on both splits.

An analysis, not a selection: for each dataset and learner it runs the benchmark protocol
(``sciml evaluate``'s support draws and query sets) on the validation tasks carved out of
the published train tasks and on the test tasks, and writes mean ± std (ddof=0) over seeds
of the per-seed task-averaged ROC-AUC for each split to ``benchmarks/results/split_shift.{json,md}``.
Meta-learners need their checkpoint (``--checkpoint``); the fingerprint baselines need none.
Rows of (dataset, learner) pairs a run does not redo are kept from the existing JSON.

    python benchmarks/split_shift.py --datasets muv --learners rf,knn,gp_tanimoto --shots 10
"""

from __future__ import annotations

import argparse

import numpy as np


def main() -> None:
    from pipelines.evaluate import (analysis_arguments, evaluate_learner, keep_not_redone, machine_description,
                                    script_command, seed_statistics, utc_date, write_analysis)
    from pipelines.run import build_learner, load_collection

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    analysis_arguments(ap, datasets="muv", learners="rf,knn,gp_tanimoto", out="benchmarks/results/split_shift")
    ap.add_argument("--shots", default="10", help="Comma-separated K per class.")
    args = ap.parse_args()
    command, date = script_command(), utc_date()
    shots = [int(s) for s in args.shots.split(",")]
    records = []
    for ds in args.datasets.split(","):
        coll = load_collection(ds)
        for ln in args.learners.split(","):
            learner = build_learner(ln, ds, args.checkpoint, "cpu", "classification")
            for split in ("val", "test"):
                df = evaluate_learner(learner, coll, shots, range(args.seeds), progress=False, split=split)
                df = df[df["calibration"] == df["calibration"].iloc[0]]  # ROC-AUC is the same under calibration
                new = [{"dataset": ds, "learner": ln, "split": split, "shots": int(s),
                        "tasks": sorted(g["task"].unique().tolist()), "metric": "roc_auc",
                        **seed_statistics(g, "roc_auc", ddof=0), "command": command, "date": date}
                       for s, g in df.groupby("shots")]
                records += new
                print(ds, ln, split, {r["shots"]: round(r["mean"], 4) for r in new}, flush=True)
    records = keep_not_redone(args.out.with_suffix(".json"), records)
    meta = {"machine": machine_description(), "seeds": list(range(args.seeds))}
    md = markdown(records, meta)
    write_analysis(args.out, meta, records, md)
    print(md, end="")


def markdown(records: list[dict], meta: dict) -> str:
    """A row per (dataset, learner, shots) with the validation-task and test-task ROC-AUC side by side."""
    from pipelines.report import command_lines, dataset_order, learner_order

    lines = ["# Validation tasks vs test tasks, same protocol (ROC-AUC)", "",
             f"{meta['machine']}; seeds {meta['seeds'][0]}..{meta['seeds'][-1]}. Mean ± std over seeds of the "
             "per-seed task-averaged ROC-AUC on the validation tasks (carved out of the published train tasks; "
             "what meta-training selects on) and on the test tasks. Commands (date: command):", "",
             *command_lines(records)]
    lines += ["", "| dataset | learner | shots | validation tasks | test tasks |", "|---|---|---|---|---|"]
    keys = sorted({(r["dataset"], r["learner"], r["shots"]) for r in records},
                  key=lambda t: (*dataset_order(t[0]), *learner_order(t[1]), t[2]))
    for ds, ln, s in keys:
        cell = {r["split"]: f"{r['mean']:.4f} ± {r['std']:.4f}" for r in records
                if (r["dataset"], r["learner"], r["shots"]) == (ds, ln, s)}
        lines.append(f"| {ds} | {ln} | {s} | {cell.get('val', '')} | {cell.get('test', '')} |")
    tasks = sorted({(r["dataset"], r["split"], ", ".join(r["tasks"])) for r in records})
    lines += ["", "Tasks: " + "; ".join(f"{ds} {sp}: {t}" for ds, sp, t in tasks)]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
