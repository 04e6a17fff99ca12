"""Does the applicability-domain flag separate error? Calibrate its levels on validation tasks, measure on test tasks.

The flag grades each query by its Tanimoto similarity (Morgan, radius 2, 2048 bits) to the
nearest support molecule: ``in``, ``edge`` or ``outside``. Its two thresholds are calibrated
on the new-assay protocol's **validation** tasks (train molecules): ``outside`` below the
:data:`OUTSIDE_QUANTILE` and ``edge`` below the :data:`EDGE_QUANTILE` of the nearest-support
similarities of validation queries, i.e. relative to how close a query usually is to a
support in the assays the model was chosen on. The **test** tasks (test molecules) then show
how error grows from ``in`` to ``outside``: per level the number of queries, and

* classification: ROC-AUC within each episode's queries of the level (episodes with both
  classes), averaged; Brier score over the level's queries;
* regression: RMSE and the coverage of the 90 % interval over the level's queries.

A level order "separates" when the in-domain error is below the outside error in every
seed; a checkpoint whose flag does not separate error gets ``separates: false`` and the
app shows the similarity without calling it a flag. ``--write-checkpoint`` stores the
calibration in each checkpoint's ``config.json`` (``applicability``), which
:meth:`sciml.api.FewShotModel.domain` reads.

Supports of ``--shots`` molecules (classification: half actives), queries = up to
``--max-query`` other molecules of the task, ``--seeds`` draws; the shipped defaults
(``data/checkpoints/default-classification`` for classification, ``data/checkpoints/default``
for regression: meta-trained on MoleculeACE with all its molecules, so its test-target
figures are not doubly held out). Writes ``benchmarks/results/domain_flag.{json,md}``,
records ``{kind, level, n, metric, value, std, command, date}``.

    python benchmarks/domain_flag.py --kinds classification,regression --seeds 3 --write-checkpoint
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

#: Quantiles of the validation queries' nearest-support similarity below which a query is outside / at the edge.
OUTSIDE_QUANTILE = 0.2
EDGE_QUANTILE = 0.5
LEVELS = ("in", "edge", "outside")
CHECKPOINTS = {"classification": "data/checkpoints/default-classification", "regression": "data/checkpoints/default"}
#: Collections of each kind in the new-assay split (MUV is test-only).
COLLECTIONS = {"classification": ("tox21", "sider", "muv", "toxcast"), "regression": ("moleculeace",)}


def draw(task, shots: int, seed: int, max_query: int) -> tuple[np.ndarray, np.ndarray] | None:
    """Support and query row indices of one episode, or ``None`` when the task is too small."""
    rng = np.random.default_rng(seed)
    y = np.asarray(task.labels, dtype=float)
    n = len(y)
    if task.kind == "classification":
        pos, neg = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
        k = shots // 2
        if len(pos) < k + 1 or len(neg) < k + 1:
            return None
        support = np.concatenate([rng.choice(pos, k, replace=False), rng.choice(neg, shots - k, replace=False)])
    else:
        if n < shots + 10:
            return None
        support = rng.choice(n, shots, replace=False)
    rest = np.setdiff1d(np.arange(n), support)
    query = rng.choice(rest, min(max_query, len(rest)), replace=False)
    return support, query


def measure(model, tasks: list, part: str, shots: int, seeds: range, max_query: int) -> pd.DataFrame:
    """One row per (episode, query): ``part, task, seed, y, prediction, lower, upper, similarity``."""
    rows = []
    for task in tasks:
        for seed in seeds:
            ep = draw(task, shots, seed, max_query)
            if ep is None:
                continue
            s, q = ep
            inputs = np.asarray(task.inputs, dtype=object)
            try:
                model.fit(list(inputs[s]), np.asarray(task.labels, float)[s])
            except Exception as exc:  # noqa: BLE001 - an unusable support skips the episode, said in the log
                print(f"  {task.name} seed {seed}: skipped ({exc})", flush=True)
                continue
            pred = model.predict(list(inputs[q]))
            dom = model.domain(list(inputs[q]), similarity_threshold=0.0)
            rows.append(pd.DataFrame({"part": part, "task": task.name, "seed": seed,
                                      "y": np.asarray(task.labels, float)[q], "prediction": pred["prediction"],
                                      "lower": pred["lower"], "upper": pred["upper"],
                                      "similarity": dom["nearest_similarity"].to_numpy(float)}))
            model.clear_feature_cache()
    return pd.concat(rows, ignore_index=True).dropna(subset=["prediction", "similarity"])


def levels(similarity: np.ndarray, outside: float, edge: float) -> np.ndarray:
    return np.where(similarity < outside, "outside", np.where(similarity < edge, "edge", "in"))


def level_metrics(df: pd.DataFrame, kind: str) -> dict[str, float]:
    """The error figures of one seed's queries at one level."""
    from sciml.metrics import brier, rmse, roc_auc

    out = {"n": float(len(df))}
    if kind == "classification":
        aucs = [roc_auc(g["y"].to_numpy(), g["prediction"].to_numpy()) for _, g in df.groupby("task")
                if g["y"].nunique() == 2]
        out["roc_auc"] = float(np.nanmean(aucs)) if aucs else float("nan")
        out["brier"] = brier(df["y"].to_numpy(), df["prediction"].to_numpy())
    else:
        out["rmse"] = rmse(df["y"].to_numpy(), df["prediction"].to_numpy())
        out["coverage90"] = float(((df["y"] >= df["lower"]) & (df["y"] <= df["upper"])).mean())
    return out


#: The error figure whose order decides whether the flag separates, and whether higher is worse.
DECIDING = {"classification": ("brier", True), "regression": ("rmse", True)}


def summarize(test: pd.DataFrame, kind: str, outside: float, edge: float, command: str, date: str) -> tuple[list, bool]:
    test = test.assign(level=levels(test["similarity"].to_numpy(), outside, edge))
    per_seed = {lvl: [level_metrics(g[g["level"] == lvl], kind) for _, g in test.groupby("seed")
                      if (g["level"] == lvl).any()] for lvl in LEVELS}
    records = []
    for lvl in LEVELS:
        if not per_seed[lvl]:
            continue
        for metric in (m for m in per_seed[lvl][0] if m != "n"):
            vals = np.array([m[metric] for m in per_seed[lvl]], dtype=float)
            records.append({"benchmark": "domain_flag", "kind": kind, "level": lvl, "metric": metric,
                            "value": float(np.nanmean(vals)), "std": float(np.nanstd(vals)),
                            "n": int(sum(m["n"] for m in per_seed[lvl])), "seeds": len(vals),
                            "command": command, "date": date})
    metric, higher_worse = DECIDING[kind]
    seeds = sorted(test["seed"].unique())
    ok = []
    for seed in seeds:
        g = test[test["seed"] == seed]
        if not ((g["level"] == "in").any() and (g["level"] == "outside").any()):
            ok.append(False)
            continue
        a = level_metrics(g[g["level"] == "in"], kind)[metric]
        b = level_metrics(g[g["level"] == "outside"], kind)[metric]
        ok.append(bool(a < b) if higher_worse else bool(a > b))
    return records, bool(ok) and all(ok)


def main() -> None:
    from pipelines.evaluate import machine_description, script_command, utc_date, write_analysis
    from pipelines.new_assay import load_new_assay
    from sciml.api import FewShotModel

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kinds", default="classification,regression")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--shots", type=int, default=16)
    ap.add_argument("--max-query", type=int, default=300)
    ap.add_argument("--max-tasks", type=int, default=40, help="At most this many tasks per part and collection "
                                                             "(the first ones in split order; ToxCast has hundreds).")
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/domain_flag"))
    ap.add_argument("--write-checkpoint", action="store_true",
                    help="Store the calibrated thresholds in each checkpoint's config.json ('applicability').")
    args = ap.parse_args()
    command, date = script_command(), utc_date()
    collections, _, _ = load_new_assay()
    records, calibration = [], {}
    for kind in args.kinds.split(","):
        model = FewShotModel(CHECKPOINTS[kind], task=kind)
        val, test = [], []
        for name in COLLECTIONS[kind]:
            coll = collections[name]
            val += [coll.tasks[t] for t in coll.val if coll.tasks[t].kind == kind][: args.max_tasks]
            test += [coll.tasks[t] for t in coll.test if coll.tasks[t].kind == kind][: args.max_tasks]
        print(f"{kind}: {len(val)} validation tasks, {len(test)} test tasks", flush=True)
        v = measure(model, val, "val", args.shots, range(args.seeds), args.max_query)
        outside, edge = (float(x) for x in np.quantile(v["similarity"], [OUTSIDE_QUANTILE, EDGE_QUANTILE]))
        t = measure(model, test, "test", args.shots, range(args.seeds), args.max_query)
        recs, separates = summarize(t, kind, outside, edge, command, date)
        records += recs
        calibration[kind] = {"outside_similarity": round(outside, 4), "edge_similarity": round(edge, 4),
                             "separates": separates, "quantiles": [OUTSIDE_QUANTILE, EDGE_QUANTILE],
                             "n_validation_queries": int(len(v)), "n_test_queries": int(len(t)),
                             "checkpoint": CHECKPOINTS[kind], "command": command, "date": date}
        print(kind, calibration[kind], flush=True)
        if args.write_checkpoint:
            path = Path(CHECKPOINTS[kind]) / "config.json"
            cfg = json.loads(path.read_text())
            cfg["applicability"] = {k: calibration[kind][k] for k in
                                    ("outside_similarity", "edge_similarity", "separates", "quantiles", "command",
                                     "date")}
            path.write_text(json.dumps(cfg, indent=2) + "\n")
    meta = {"date": date, "machine": machine_description(), "seeds": list(range(args.seeds)), "shots": args.shots,
            "calibration": calibration}
    write_analysis(args.out, meta, records, markdown(records, meta))


def markdown(records: list[dict], meta: dict) -> str:
    lines = ["# Applicability-domain flag: does error grow from in to outside?", "",
             f"{meta['date']}, {meta['machine']}; seeds {meta['seeds']}, supports of {meta['shots']}. Levels by the "
             "nearest-support Tanimoto similarity, thresholds calibrated on validation tasks (train molecules) of the "
             f"new-assay split: outside below the {OUTSIDE_QUANTILE:.0%} quantile, edge below the "
             f"{EDGE_QUANTILE:.0%} quantile of the validation queries' similarities. Figures on test tasks (test "
             "molecules); mean ± std over seeds; n = queries over all seeds.", ""]
    for kind, cal in meta["calibration"].items():
        lines += [f"## {kind} (`{cal['checkpoint']}`)", "",
                  f"Thresholds: outside < {cal['outside_similarity']:.3f} ≤ edge < {cal['edge_similarity']:.3f} ≤ in "
                  f"({cal['n_validation_queries']:,} validation queries). Separates error (in below outside in every "
                  f"seed): **{'yes' if cal['separates'] else 'no'}**.", ""]
        rows = [r for r in records if r["kind"] == kind]
        metrics = list(dict.fromkeys(r["metric"] for r in rows))
        lines += ["| level | queries | " + " | ".join(metrics) + " |", "|---|---|" + "---|" * len(metrics)]
        for lvl in LEVELS:
            cell = {r["metric"]: r for r in rows if r["level"] == lvl}
            if not cell:
                continue
            n = cell[metrics[0]]["n"]
            lines.append(f"| {lvl} | {n:,} | " + " | ".join(
                f"{cell[m]['value']:.3f} ± {cell[m]['std']:.3f}" for m in metrics) + " |")
        lines.append("")
    lines += [f"Command: `{records[0]['command']}`" if records else ""]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
