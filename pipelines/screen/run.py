"""Run a screening job: read the library in chunks, score each chunk, write one Parquet shard per chunk.

The scoring itself comes from the caller as a :class:`ScorerSpec`: a top-level ``factory``
and its keyword arguments, which every worker process calls once to build its scorer
(``scorer(smiles: list[str]) -> DataFrame`` with :data:`SCORE_COLUMNS`, one row per input). A
front end builds it from a model fitted once on the support (the adapted state goes to the
workers, nothing is refitted there); this module knows nothing of models, so it stays below the
front ends. With ``workers > 1`` chunks are featurized and scored in a ``spawn`` process pool
(at most two chunks in flight per worker, so memory stays flat) and written in input order.

Every output row is one library row: ``row``, ``id``, ``smiles``, the scorer's columns, the
acquisition ``score`` and ``error`` ('' when the row was scored). Ctrl-C stops between shards
(:class:`ScreenInterrupted`); the manifest then lists exactly the shards written, and
``resume=True`` continues from there (:mod:`pipelines.screen.manifest`).
"""

from __future__ import annotations

import heapq
import logging
import time
from collections import Counter, deque
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from pipelines.screen.manifest import MANIFEST, Manifest, ShardRecord, library_identity
from pipelines.screen.readers import read_chunks
from sciml.files import atomic_write_text, sha256_file, write_table

logger = logging.getLogger(__name__)

__all__ = ["SCORE_COLUMNS", "ScreenInterrupted", "ScreenSettings", "ScorerSpec", "run_screen", "top_k"]

SCORE_COLUMNS = ("prediction", "std", "lower", "upper", "domain_level", "nearest_similarity", "nearest_measured",
                 "error")
_FLOAT = ("prediction", "std", "lower", "upper", "nearest_similarity", "nearest_measured")


class ScreenInterrupted(RuntimeError):
    """Stopped by Ctrl-C between shards; the message says how far it got and how to resume."""


@dataclass(frozen=True)
class ScorerSpec:
    """``factory(**kwargs)`` builds a scorer in each process (both must pickle: a top-level function)."""

    factory: Callable
    kwargs: dict = field(default_factory=dict)


@dataclass
class ScreenSettings:
    """What a job reads and how it ranks; all but ``workers`` are part of the job's identity."""

    library: str
    chunk_size: int = 10_000
    smiles_col: str | None = None
    id_col: str | None = None
    workers: int = 1
    top_k: int = 100
    acquisition: str = "highest"
    kappa: float = 1.0
    maximize: bool = True
    best: float | None = None  # best measured value (expected improvement)

    def __post_init__(self) -> None:
        if self.chunk_size < 1 or self.workers < 1 or self.top_k < 0:
            raise ValueError("chunk_size and workers must be at least 1 and top_k at least 0")
        from sciml.acquisition import ACQUISITIONS

        if self.acquisition not in ACQUISITIONS:
            raise ValueError(f"unknown acquisition {self.acquisition!r}; choose from {', '.join(ACQUISITIONS)}")


_SCORER = None


def _init_worker(spec: ScorerSpec) -> None:
    global _SCORER
    import torch

    torch.set_num_threads(1)  # one core per worker process
    _SCORER = spec.factory(**spec.kwargs)


def _score_chunk(chunk: pd.DataFrame, settings: ScreenSettings, scorer=None) -> pd.DataFrame:
    """The output rows of one chunk (see the module docstring)."""
    from sciml.acquisition import acquisition_scores

    scorer = scorer or _SCORER
    ok = (chunk["read_error"] == "").to_numpy()
    out = chunk[["row", "id", "smiles"]].reset_index(drop=True)
    cols = {c: np.full(len(chunk), np.nan) for c in _FLOAT}
    cols.update(domain_level=np.full(len(chunk), "", dtype=object), error=chunk["read_error"].to_numpy(object))
    if ok.any():
        scored = scorer(chunk.loc[ok, "smiles"].tolist())
        if len(scored) != int(ok.sum()):
            raise RuntimeError(f"the scorer returned {len(scored)} rows for {int(ok.sum())} inputs")
        for c in SCORE_COLUMNS:
            vals = scored[c].to_numpy(float if c in _FLOAT else object)
            cols[c][ok] = vals if c in _FLOAT else np.where(pd.isna(vals), "", vals)
    for c in SCORE_COLUMNS:
        out[c] = cols[c]
    out["error"] = out["error"].astype(str)
    out["domain_level"] = out["domain_level"].astype(str)
    score = acquisition_scores(settings.acquisition, out["prediction"], out["std"], best=settings.best,
                               kappa=settings.kappa, maximize=settings.maximize)
    out["score"] = np.where(out["error"] == "", score, np.nan)
    return out


def _scored_chunks(chunks, settings: ScreenSettings, spec: ScorerSpec):
    """Yield ``(chunk_index, output frame)`` in input order, scoring in this process or a pool."""
    if settings.workers == 1:
        scorer = spec.factory(**spec.kwargs)
        for i, chunk in chunks:
            yield i, _score_chunk(chunk, settings, scorer)
        return
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    pool = ProcessPoolExecutor(settings.workers, mp_context=mp.get_context("spawn"), initializer=_init_worker,
                               initargs=(spec,))
    pending: deque = deque()
    try:
        for i, chunk in chunks:
            pending.append((i, pool.submit(_score_chunk, chunk, settings)))
            while len(pending) >= 2 * settings.workers:
                j, fut = pending.popleft()
                yield j, fut.result()
        while pending:
            j, fut = pending.popleft()
            yield j, fut.result()
    finally:
        for _, fut in pending:
            fut.cancel()
        pool.shutdown(wait=True, cancel_futures=True)


def top_k(out: Path, manifest: Manifest, k: int) -> pd.DataFrame:
    """The ``k`` rows with the highest ``score`` over all shards, ties in input order (one shard in memory at a time)."""
    heap: list[tuple[float, int, dict]] = []
    for s in manifest.shards:
        df = pd.read_parquet(out / s.file)
        df = df[np.isfinite(df["score"].to_numpy(float))]
        for rec in df.to_dict("records"):
            item = (float(rec["score"]), -int(rec["row"]), rec)
            if len(heap) < k:
                heapq.heappush(heap, item)
            elif item[:2] > heap[0][:2]:
                heapq.heapreplace(heap, item)
    best = [r for _, _, r in sorted(heap, key=lambda t: (-t[0], -t[1]))]
    return pd.DataFrame(best, columns=None if best else ["row", "id", "smiles", *SCORE_COLUMNS, "score"])


def _summary(out: Path, manifest: Manifest, seconds: float) -> dict:
    reasons: Counter = Counter()
    levels: Counter = Counter()
    for s in manifest.shards:
        df = pd.read_parquet(out / s.file, columns=["error", "domain_level"])
        reasons.update(e[:120] for e in df["error"] if e)
        levels.update(x for x in df["domain_level"] if x)
    n = manifest.rows_done
    failed = sum(s.n_failed for s in manifest.shards)
    return {"rows": n, "ok": n - failed, "failed": failed, "shards": len(manifest.shards),
            "failure_reasons": dict(reasons.most_common(10)), "domain_levels": dict(levels),
            "seconds_this_run": round(seconds, 3), "rows_per_second_this_run": None}


def run_screen(out: str | Path, settings: ScreenSettings, identity: dict, spec: ScorerSpec, *, resume: bool = False,
               progress: bool = True) -> dict:
    """Run (or finish) the job in ``out``; returns its summary (``already_complete`` when nothing was left).

    ``identity``: the caller's hashes of what the rows depend on (model, adapted state, support);
    the library hash and the settings are added here. ``ValueError`` (:class:`JobMismatchError`)
    when ``out`` holds another job, or holds this one and ``resume`` is False.
    """
    out = Path(out)
    lib = Path(settings.library)
    if not lib.is_file():
        raise FileNotFoundError(f"{lib}: no such library file")
    ident = {**identity, **library_identity(lib),
             "settings": {k: v for k, v in asdict(settings).items() if k not in ("library", "workers")}}
    if (out / MANIFEST).is_file():
        manifest = Manifest.load(out)
        manifest.check_identity(ident, out)
        if not resume:
            raise ValueError(f"{out} already holds this screening job ({manifest.rows_done:,} rows done"
                             f"{', complete' if manifest.complete else ''}); add --resume to finish it, or choose "
                             "another --out")
        if manifest.complete:
            logger.info("%s: the job is already complete (%d rows); nothing to do", out, manifest.rows_done)
            return {**manifest.summary, "already_complete": True}
        dropped = manifest.verified_prefix(out)
        if dropped:
            logger.warning("%d listed shard(s) missing or damaged from shard %d on; they are scored again", dropped,
                           len(manifest.shards))
    else:
        manifest = Manifest(identity=ident)
        out.mkdir(parents=True, exist_ok=True)
        manifest.save(out)
    done_chunks, done_rows = len(manifest.shards), manifest.rows_done
    if done_chunks:
        logger.info("resuming after %d shards (%d rows)", done_chunks, done_rows)
    from tqdm.auto import tqdm

    bar = tqdm(initial=done_rows, unit="mol", desc="screening", disable=not progress or None, mininterval=1.0)
    chunks = ((i, c) for i, c in enumerate(read_chunks(lib, settings.chunk_size, settings.smiles_col,
                                                       settings.id_col)) if i >= done_chunks)
    t0, new_rows = time.perf_counter(), 0
    try:
        for i, frame in _scored_chunks(chunks, settings, spec):
            path, rel = manifest.shard_path(out, i)
            write_table(frame, path)
            failed = int((frame["error"] != "").sum())
            manifest.shards.append(ShardRecord(index=i, file=rel, first_row=int(frame["row"].iloc[0]),
                                               n_rows=len(frame), n_failed=failed, sha256=sha256_file(path)))
            manifest.save(out)  # commits the shard
            new_rows += len(frame)
            bar.update(len(frame))
    except KeyboardInterrupt:
        raise ScreenInterrupted(f"interrupted after {len(manifest.shards)} shards ({manifest.rows_done:,} rows, all "
                                f"written); run the same command with --resume to finish") from None
    finally:
        bar.close()
    seconds = time.perf_counter() - t0
    summary = _summary(out, manifest, seconds)
    summary["rows_per_second_this_run"] = round(new_rows / seconds, 1) if seconds > 0 and new_rows else None
    if settings.top_k:
        best = top_k(out, manifest, settings.top_k)
        write_table(best, out / "top_k.csv")
        summary["top_k_file"] = "top_k.csv"
    manifest.summary, manifest.complete = summary, True
    manifest.save(out)
    atomic_write_text(out / "summary.txt", _summary_text(summary, settings))
    return summary


def _summary_text(s: dict, settings: ScreenSettings) -> str:
    lines = [f"rows: {s['rows']:,} (ok {s['ok']:,}, failed {s['failed']:,}) in {s['shards']} shards",
             f"ranking: {settings.acquisition}, top {settings.top_k} in top_k.csv" if settings.top_k else "",
             f"throughput this run: {s['rows_per_second_this_run']} rows/s"]
    lines += [f"failed: {n:,} x {r}" for r, n in s["failure_reasons"].items()]
    return "\n".join(x for x in lines if x) + "\n"
