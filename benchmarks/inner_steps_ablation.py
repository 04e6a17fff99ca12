"""Does a meta-learner adapt? Test-task scores with 0, k, ... inner steps at test time.

An analysis, not a selection: the benchmark tables use each checkpoint's own settings. For
every learner and number of test-time inner steps (``inner_steps`` of MAML/FOMAML, SVGD steps
of BMAML) it runs the benchmark protocol on the test tasks (same support draws as
``sciml evaluate``) and writes mean ± std over seeds of the headline metric to
``benchmarks/results/inner_steps_ablation.{json,md}``. With 0 steps the prediction is the
meta-learned initial head, i.e. the same for every task. Rows of (dataset, learner) pairs a
run does not redo are kept from the existing JSON, each with the command that made it.

    python benchmarks/inner_steps_ablation.py --datasets tox21,sider --learners maml,fomaml,bmaml --steps 0,5,20
"""

from __future__ import annotations

import argparse
import json
from datetime import datetime, timezone
from pathlib import Path

import numpy as np


def main() -> None:
    from pipelines.evaluate import evaluate_learner, keep_not_redone, machine_description, script_command
    from pipelines.run import DEFAULT_SHOTS, benchmark_of, build_learner, load_collection

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", default="tox21,sider")
    ap.add_argument("--learners", default="maml,fomaml,bmaml")
    ap.add_argument("--steps", default="0,5,20", help="Comma-separated test-time inner steps.")
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--checkpoint", default="runs/{learner}-{dataset}")
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/inner_steps_ablation"))
    args = ap.parse_args()
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
                per_seed = df.groupby(["shots", "seed"])[metric].mean().groupby("shots")
                for s, vals in per_seed:
                    records.append({"dataset": ds, "learner": ln, "inner_steps": k, "shots": int(s), "metric": metric,
                                    "mean": float(vals.mean()), "std": float(vals.std(ddof=0)), "n_seeds": int(len(vals))})
                print(ds, ln, k, {int(s): round(float(v.mean()), 4) for s, v in per_seed}, flush=True)
    command = script_command()
    date = datetime.now(timezone.utc).strftime("%Y-%m-%d")
    for r in records:
        r.update(command=command, date=date)
    path = args.out.with_suffix(".json")
    records = keep_not_redone(path, records)
    meta = {"date": date, "machine": machine_description(), "seeds": list(range(args.seeds))}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({**meta, "records": records}, indent=2))
    args.out.with_suffix(".md").write_text(markdown(records, meta))
    print(markdown(records, meta))


_DATASETS = ["tox21", "sider", "muv", "toxcast", "moleculeace"]
_LEARNERS = ["maml", "fomaml", "bmaml"]


def markdown(records: list[dict], meta: dict) -> str:
    steps = sorted({r["inner_steps"] for r in records})
    commands = sorted({(r["date"], r["command"]) for r in records})
    lines = ["# Test-time inner steps ablation (test tasks)", "",
             f"{meta['machine']}; seeds {meta['seeds'][0]}..{meta['seeds'][-1]}. Mean ± std over seeds of the "
             "per-seed test-task average. Each checkpoint was meta-trained with its own inner_steps (5); "
             "0 = no adaptation. Commands (date: command):", ""]
    lines += [f"- {d}: `{c}`" for d, c in commands]
    lines += ["", "| dataset | learner | shots | " + " | ".join(f"{k} steps" for k in steps) + " |",
              "|---|---|---|" + "---|" * len(steps)]
    order = lambda v, ref: (ref.index(v) if v in ref else len(ref), v)  # noqa: E731
    keys = sorted({(r["dataset"], r["learner"], r["shots"]) for r in records},
                  key=lambda t: (order(t[0], _DATASETS), order(t[1], _LEARNERS), t[2]))
    for ds, ln, s in keys:
        by_k = {r["inner_steps"]: r for r in records if (r["dataset"], r["learner"], r["shots"]) == (ds, ln, s)}
        cells = [f"{by_k[k]['mean']:.4f} ± {by_k[k]['std']:.4f}" if k in by_k else "" for k in steps]
        lines.append(f"| {ds} | {ln} | {s} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
