"""Does a meta-learner adapt? Test-task scores with 0, k, ... inner steps at test time.

An analysis, not a selection: the benchmark tables use each checkpoint's own settings. For
every learner and number of test-time inner steps (``inner_steps`` of MAML/FOMAML, SVGD steps
of BMAML) it runs the benchmark protocol on the test tasks (same support draws as
``sciml evaluate``) and writes mean ± std (ddof=0) over seeds of the headline metric to
``benchmarks/results/inner_steps_ablation.{json,md}``. With 0 steps the prediction is the
meta-learned initial head, i.e. the same for every task. Rows of (dataset, learner) pairs a
run does not redo are kept from the existing JSON, each with the command that made it.

    python benchmarks/inner_steps_ablation.py --datasets tox21,sider --learners maml,fomaml,bmaml --steps 0,5,20
"""

from __future__ import annotations

import argparse

import numpy as np


def main() -> None:
    from pipelines.evaluate import (analysis_arguments, evaluate_learner, keep_not_redone, machine_description,
                                    script_command, seed_statistics, utc_date, write_analysis)
    from pipelines.run import DEFAULT_SHOTS, benchmark_of, build_learner, load_collection

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    analysis_arguments(ap, datasets="tox21,sider", learners="maml,fomaml,bmaml",
                       out="benchmarks/results/inner_steps_ablation")
    ap.add_argument("--steps", default="0,5,20", help="Comma-separated test-time inner steps.")
    args = ap.parse_args()
    command, date = script_command(), utc_date()
    records = []
    for ds in args.datasets.split(","):
        coll = load_collection(ds)
        task = coll.split("test")[0].kind
        metric = "roc_auc" if task == "classification" else "r2"
        shots = DEFAULT_SHOTS[benchmark_of(ds)]
        for ln in args.learners.split(","):
            trained = build_learner(ln, ds, args.checkpoint, "cpu", task)
            for k in [int(s) for s in args.steps.split(",")]:
                trained.inner_steps = k
                df = evaluate_learner(trained, coll, shots, range(args.seeds), progress=False)
                new = [{"dataset": ds, "learner": ln, "inner_steps": k, "shots": int(s), "metric": metric,
                        **seed_statistics(g, metric, ddof=0), "command": command, "date": date}
                       for s, g in df.groupby("shots")]
                records += new
                print(ds, ln, k, {r["shots"]: round(r["mean"], 4) for r in new}, flush=True)
    records = keep_not_redone(args.out.with_suffix(".json"), records)
    meta = {"date": date, "machine": machine_description(), "seeds": list(range(args.seeds))}
    md = markdown(records, meta)
    write_analysis(args.out, meta, records, md)
    print(md, end="")


def markdown(records: list[dict], meta: dict) -> str:
    """A row per (dataset, learner, shots), a column per number of inner steps; the commands that made the rows."""
    from pipelines.report import command_lines, dataset_order, learner_order

    steps = sorted({r["inner_steps"] for r in records})
    lines = ["# Test-time inner steps ablation (test tasks)", "",
             f"{meta['machine']}; seeds {meta['seeds'][0]}..{meta['seeds'][-1]}. Mean ± std over seeds of the "
             "per-seed test-task average. Each checkpoint was meta-trained with its own inner_steps (5); "
             "0 = no adaptation. Commands (date: command):", "", *command_lines(records)]
    lines += ["", "| dataset | learner | shots | " + " | ".join(f"{k} steps" for k in steps) + " |",
              "|---|---|---|" + "---|" * len(steps)]
    keys = sorted({(r["dataset"], r["learner"], r["shots"]) for r in records},
                  key=lambda t: (*dataset_order(t[0]), *learner_order(t[1]), t[2]))
    for ds, ln, s in keys:
        by_k = {r["inner_steps"]: r for r in records if (r["dataset"], r["learner"], r["shots"]) == (ds, ln, s)}
        cells = [f"{by_k[k]['mean']:.4f} ± {by_k[k]['std']:.4f}" if k in by_k else "" for k in steps]
        lines.append(f"| {ds} | {ln} | {s} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
