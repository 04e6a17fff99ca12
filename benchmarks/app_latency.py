"""Latency of the app's prediction step: adapt on 20 measured compounds, predict 1,000 candidates.

Times the same library calls the app makes (:mod:`app.core`: ``FewShotModel.fit``,
``predict``, ``domain``, ``cross_validate``, then ranking and the download table) on the
shipped example assay (20 support compounds drawn with ``--seed``) and the shipped MOSES
library (1,000 candidates):

* **cold**: a new per-session model and an empty on-disk graph cache (a fresh
  ``$SCIML_CACHE_DIR``), so featurization is included; the checkpoint itself is loaded
  once beforehand, as the app does (``st.cache_resource``), and its load time is reported;
* **new session**: a new per-session model, the on-disk graph cache kept (a second user, or a
  page reload: RDKit graphs come from the cache, the network still embeds them);
* **warm**: the same model again, features cached on it (a user pressing Predict again
  after changing a setting that does not change the structures).

Writes ``benchmarks/results/app_latency.json`` and ``.md`` (command, date, machine, seeds,
median and spread over ``--repeats``).

    .venv/bin/python benchmarks/app_latency.py --repeats 5
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numpy as np
import pandas as pd

from pipelines.evaluate import machine_description, script_command

PHASES = ("adapt", "predict", "domain", "adapt_predict", "check", "rank_output", "total")


def _inputs(n_support: int, seed: int):
    """``(assay, library, support SMILES [n_support], support values [n_support], candidates)`` of the shipped examples."""
    examples = json.loads((ROOT / "data/examples/examples.json").read_text())
    assay, lib = examples["assays"][0], examples["libraries"][0]
    support = pd.read_csv(ROOT / "data/examples" / assay["support"])
    rows = np.sort(np.random.default_rng(seed).choice(len(support), size=n_support, replace=False))
    support = support.iloc[rows]
    cands = pd.read_csv(ROOT / "data/examples" / lib["file"])
    return assay, lib, support[assay["smiles_col"]].tolist(), support[assay["value_col"]].to_numpy(float), cands


def _one(model, support_smiles, y, cands: pd.DataFrame, level: float) -> dict:
    """Seconds of each phase in :data:`PHASES` for one Predict press with ``model``."""
    from app import core

    t0 = time.perf_counter()
    preds, sec = core.adapt_and_predict(model, support_smiles, y, cands["smiles"].tolist())
    sec["adapt_predict"] = time.perf_counter() - t0
    t = time.perf_counter()
    model.cross_validate(None)
    sec["check"] = time.perf_counter() - t
    t = time.perf_counter()
    ranking = core.rank(preds, "ucb", best=float(np.max(y)), kappa=1.0)
    out = core.assemble_output(cands, preds, ranking, {"level": level})
    core.to_csv_bytes(out)
    core.to_parquet_bytes(out)
    sec["rank_output"] = time.perf_counter() - t
    sec["total"] = time.perf_counter() - t0
    assert len(out) == len(cands) and np.isfinite(preds["prediction"]).all()
    return sec


def _stats(values: list[float]) -> dict:
    """Median, min, max, interquartile range and the sorted values of one phase's timings."""
    v = sorted(values)
    return {"median": statistics.median(v), "min": v[0], "max": v[-1],
            "iqr": float(np.percentile(v, 75) - np.percentile(v, 25)), "values": v}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--checkpoint", default=str(ROOT / "data/checkpoints/default"), help="checkpoint folder")
    p.add_argument("--repeats", type=int, default=5, help="cold and warm repeats each")
    p.add_argument("--n-support", type=int, default=20, help="support compounds drawn from the example assay")
    p.add_argument("--seed", type=int, default=0, help="seed of the support draw")
    p.add_argument("--level", type=float, default=0.9, help="interval coverage")
    p.add_argument("--out", default=str(ROOT / "benchmarks/results/app_latency"), help="output path without suffix")
    p.add_argument("--note", default="", help="free text recorded with the results (e.g. machine load)")
    p.add_argument("--threshold", type=float, default=None,
                   help="classification: values >= this are active (the app's 'classify by threshold'); "
                        "default regression")
    args = p.parse_args(argv)

    import torch

    from app import core
    from sciml.api import load

    assay, lib, s_smiles, y, cands = _inputs(args.n_support, args.seed)
    task = "regression" if args.threshold is None else "classification"
    if task == "classification":
        y = (y >= args.threshold).astype(float)
        if len(set(y)) < 2:
            raise SystemExit(f"--threshold {args.threshold} leaves one class in the support; choose another")
    t = time.perf_counter()
    loaded = load(args.checkpoint)
    load_seconds = time.perf_counter() - t
    modes = ("cold", "new_session", "warm")
    times = {m: {k: [] for k in PHASES} for m in modes}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.repeats):
            os.environ["SCIML_CACHE_DIR"] = str(Path(tmp) / f"cold-{r}")  # empty graph cache: featurize from scratch
            for mode in modes:
                if mode != "warm":
                    model = core.make_model(loaded, task, args.level)
                for k, v in _one(model, s_smiles, y, cands, args.level).items():
                    times[mode][k].append(v)
            print(f"repeat {r + 1}/{args.repeats}: adapt+predict+domain " + ", ".join(
                f"{m} {times[m]['adapt_predict'][-1]:.2f} s" for m in modes), flush=True)
    loadavg = os.getloadavg() if hasattr(os, "getloadavg") else None
    record = {
        "benchmark": "app_latency",
        "command": script_command(["benchmarks/app_latency.py", *(sys.argv[1:] if argv is None else argv)]),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": machine_description(cpu_model=True), "torch_threads": torch.get_num_threads(),
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS"), "load_average_at_end": loadavg, "note": args.note,
        "checkpoint": os.path.relpath(args.checkpoint, ROOT), "learner": loaded.learner, "task": task,
        "checkpoint_package_version": loaded.config.get("package_version"), "device": loaded.device,
        "support": f"{args.n_support} compounds of {assay['support']} (seed {args.seed})",
        "candidates": f"{len(cands)} molecules of {lib['file']}", "seeds": [args.seed], "repeats": args.repeats,
        "checkpoint_load_seconds": load_seconds,
        **{f"{m}_seconds": {k: _stats(v) for k, v in times[m].items()} for m in modes},
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(record, indent=2))
    out.with_suffix(".md").write_text(_markdown(record))
    print(_markdown(record))
    return 0


def _markdown(r: dict) -> str:
    """The Markdown report of one latency record."""
    names = {"adapt": "adapt (fit on the support; featurizes it)", "predict": "predict the candidates (featurizes them)",
             "domain": "applicability domain",
             "adapt_predict": "**adapt + predict + domain (what Predict waits for before the check)**",
             "check": "leave-one-out check on the support", "rank_output": "ranking + download table (CSV, Parquet)",
             "total": "everything the Predict button runs"}
    lines = [
        "# App latency: adapt on the support set, predict the candidates", "",
        f"- command: `{r['command']}`", f"- date: {r['date']}", f"- machine: {r['machine']}",
        (f"- torch threads: {r['torch_threads']}; OMP_NUM_THREADS={r['omp_num_threads']}; "
         f"load average at the end: {r['load_average_at_end']}"),
        (f"- checkpoint: `{r['checkpoint']}` (learner `{r['learner']}`, task {r.get('task', 'regression')}, "
         f"device {r['device']}); loaded once in "
         f"{r['checkpoint_load_seconds']:.2f} s, as the app does (`st.cache_resource`)"),
        f"- support: {r['support']}; candidates: {r['candidates']}; seeds {r['seeds']}; {r['repeats']} repeats",
        ("- cold = new per-session model and empty on-disk graph cache (featurization included); new session = new "
         "model, on-disk graph cache kept; warm = the same model again, features cached on it")]
    if r.get("note"):
        lines.append(f"- note: {r['note']}")
    lines += ["", "Seconds, median (min–max) over the repeats:", "",
              "| phase | cold | new session | warm |", "|---|---|---|---|"]
    for k in PHASES:
        cells = [f"{s['median']:.3f} ({s['min']:.3f}–{s['max']:.3f})"
                 for s in (r["cold_seconds"][k], r["new_session_seconds"][k], r["warm_seconds"][k])]
        lines.append(f"| {names[k]} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
