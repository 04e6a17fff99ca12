"""Paired comparisons of two learners on the same support draws, from a benchmark's per-episode rows.

Every learner sees identical episodes (same seed -> same support per task), so the
difference of the per-seed test-task averages is a paired comparison: this reports its mean
± std over seeds and in how many seeds the first learner is ahead. Reads
``benchmarks/results/<benchmark>_episodes.csv.gz`` (written by ``sciml evaluate``) and
writes ``benchmarks/results/paired_<benchmark>.{json,md}``.

    python benchmarks/paired_differences.py --benchmark fewshot_moleculenet --pairs bmaml:maml --metric roc_auc --shots 10
    python benchmarks/paired_differences.py --benchmark moleculeace --pairs dkgp:gp_tanimoto --metric r2 --shots 16,32,64
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from pipelines.report import PERCENT_METRICS


def paired(per_episode: pd.DataFrame, a: str, b: str, metric: str, shots: int, dataset: str) -> dict | None:
    """``{"mean", "std", "ahead", "n_seeds"}`` of ``a - b`` (per-seed test-task averages), or None."""
    df = per_episode[(per_episode["dataset"] == dataset) & (per_episode["shots"] == shots)
                     & (per_episode["calibration"] == "none")]
    per_seed = df[df["learner"].isin([a, b])].groupby(["learner", "seed"])[metric].mean().unstack(0)
    if a not in per_seed or b not in per_seed:
        return None
    d = (per_seed[a] - per_seed[b]).dropna() * (100.0 if metric in PERCENT_METRICS else 1.0)
    if d.empty:
        return None
    return {"mean": float(d.mean()), "std": float(d.std(ddof=1)) if len(d) > 1 else 0.0,
            "ahead": int((d > 0).sum()), "n_seeds": int(len(d))}


def main() -> None:
    from pipelines.evaluate import script_command, utc_date, write_analysis

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--benchmark", default="fewshot_moleculenet")
    ap.add_argument("--pairs", default="bmaml:maml", help="Comma-separated A:B pairs (reports A - B).")
    ap.add_argument("--metric", default="roc_auc")
    ap.add_argument("--shots", default="10")
    ap.add_argument("--results-dir", type=Path, default=Path("benchmarks/results"))
    args = ap.parse_args()
    eps = pd.read_csv(args.results_dir / f"{args.benchmark}_episodes.csv.gz")
    records = []
    for pair in args.pairs.split(","):
        a, b = pair.split(":")
        for k in (int(s) for s in args.shots.split(",")):
            for ds in sorted(eps["dataset"].unique()):
                r = paired(eps, a, b, args.metric, k, ds)
                if r:
                    records.append({"dataset": ds, "a": a, "b": b, "metric": args.metric, "shots": k, **r})
    meta = {"command": script_command(), "date": utc_date(),
            "source": str(args.results_dir / f"{args.benchmark}_episodes.csv.gz")}
    unit = " (points)" if args.metric in PERCENT_METRICS else ""
    lines = [f"# Paired differences on identical support draws ({args.benchmark}, {args.metric}{unit})", "",
             f"Command: `{meta['command']}` ({meta['date']}), from `{meta['source']}` (raw predictions; "
             "seeds, machine and the evaluating commands are in that benchmark's records). "
             "Per seed, each learner's test-task average; cells are mean ± std over seeds of A − B and the "
             "number of seeds with A ahead.", "",
             "| dataset | shots | A − B | mean ± std | A ahead |", "|---|---|---|---|---|"]
    for r in records:
        lines.append(f"| {r['dataset']} | {r['shots']} | {r['a']} − {r['b']} | {r['mean']:+.3f} ± {r['std']:.3f} | "
                     f"{r['ahead']} of {r['n_seeds']} |")
    write_analysis(args.results_dir / f"paired_{args.benchmark}", meta, records, "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
