"""Memory and time of the applicability-domain step, chunked, against the previous broadcast form.

    python benchmarks/applicability_memory.py   # -> benchmarks/results/applicability_memory.{json,md}

Inputs: the 1,000 molecules of ``data/examples/moses_candidates.csv`` repeated to the sizes
asked (repeats change neither memory nor time of the pairwise step) and random 128-d
embeddings. Peak memory is numpy's traced allocation (``tracemalloc``) during the call.
``broadcast`` is the form used before chunking (``[n_q, n_s, d]`` float64 differences),
run only where it fits; for the large case its need is computed, not run.
"""

from __future__ import annotations

import csv
import json
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

OUT = ROOT / "benchmarks" / "results" / "applicability_memory"
CASES = [(200, 2000), (1000, 20000), (5000, 100000)]


def _broadcast(s, q):
    d_ss = np.sqrt(((s[:, None, :] - s[None, :, :]) ** 2).sum(-1))
    np.fill_diagonal(d_ss, np.inf)
    return np.sqrt(((q[:, None, :] - s[None, :, :]) ** 2).sum(-1)).min(axis=1)


def _measure(fn):
    tracemalloc.start()
    t = time.perf_counter()
    fn()
    sec = time.perf_counter() - t
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return sec, peak


def main() -> None:
    from pipelines.evaluate import machine_description, script_command, utc_date
    from sciml.applicability import applicability_domain
    from sciml.files import atomic_write_text

    with open(ROOT / "data" / "examples" / "moses_candidates.csv", newline="") as f:
        mols = [r["smiles"] for r in csv.DictReader(f)]
    rng = np.random.default_rng(0)
    rows = []
    for n_s, n_q in CASES:
        support = (mols * (n_s // len(mols) + 1))[:n_s]
        query = (mols * (n_q // len(mols) + 1))[:n_q]
        s = rng.normal(size=(n_s, 128)).astype(np.float32)
        q = rng.normal(size=(n_q, 128)).astype(np.float32)
        sec, peak = _measure(lambda: applicability_domain(support, query, support_emb=s, query_emb=q))
        row = {"support": n_s, "queries": n_q, "chunked_seconds": round(sec, 2), "chunked_peak_mib": round(peak / 2**20, 1),
               "broadcast_need_mib": round((n_q * n_s + n_s * n_s) * 128 * 8 / 2**20, 1)}
        if n_q * n_s * 128 * 8 <= 600 * 2**20:
            bsec, bpeak = _measure(lambda: _broadcast(s.astype(np.float64), q.astype(np.float64)))
            row.update(broadcast_embedding_seconds=round(bsec, 2), broadcast_embedding_peak_mib=round(bpeak / 2**20, 1))
        rows.append(row)
        print(row, flush=True)
    meta = {"command": script_command(), "date": utc_date(), "machine": machine_description()}
    atomic_write_text(OUT.with_suffix(".json"), json.dumps({**meta, "rows": rows}, indent=1) + "\n")
    lines = ["# Applicability domain: memory and time", "", f"`{meta['command']}` on {meta['date']}; {meta['machine']}.", "",
             "Chunked = `sciml.applicability.applicability_domain` (Tanimoto on Morgan fingerprints + embedding distance, "
             "both in chunks of at most 4 M pairs). Broadcast = the previous embedding-distance form "
             "(`[n_q, n_s, d]` float64), run only where it fits in 600 MiB, else its need computed. Peak = traced numpy "
             "allocations during the call.", "",
             "| support | queries | chunked s | chunked peak MiB | broadcast (embedding part) s | broadcast peak MiB | broadcast need MiB |",
             "|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['support']:,} | {r['queries']:,} | {r['chunked_seconds']} | {r['chunked_peak_mib']} | "
                     f"{r.get('broadcast_embedding_seconds', '')} | {r.get('broadcast_embedding_peak_mib', '')} | "
                     f"{r['broadcast_need_mib']:,} |")
    atomic_write_text(OUT.with_suffix(".md"), "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
