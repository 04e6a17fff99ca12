"""``sciml screen``: score a library of any size with a model adapted once on a support file (:mod:`pipelines.screen`).

The support is read and the model fitted in this process; its adapted state goes to
``<out>/adapted/`` (with the support rows it used) and every worker rebuilds the model from the
checkpoint plus that state (:func:`make_scorer`), so nothing is refitted and all workers score
with the same fit. ``--resume`` reuses that state and the shards already written.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from sciml.cli import VerboseOpt, _command_line, _fail, _setup_logging, app

ADAPTED = "adapted"


def make_scorer(checkpoint: str, adapted: str, task: str, level: float, hit_rate: float | None, device: str | None):
    """``scorer(smiles) -> DataFrame`` of :data:`pipelines.screen.SCORE_COLUMNS` from a checkpoint and an adapted state.

    The support rows stored beside the state give the applicability domain and the nearest measured
    value; the per-chunk features are dropped after each call, so memory stays bounded by a chunk.
    """
    import numpy as np
    import pandas as pd

    from sciml.api import FewShotModel
    from sciml.learners.adapted import load_adapted, read_adapted_meta

    model = FewShotModel.from_checkpoint(checkpoint, task=task, level=level, hit_rate=hit_rate, device=device)
    load_adapted(model.learner_, adapted)
    meta = read_adapted_meta(adapted).get("meta") or {}
    smiles, y = list(meta.get("support_inputs", [])), np.asarray(meta.get("support_y", []), dtype=np.float64)
    feats, ok, errors = model.features(smiles)
    if errors or len(smiles) != len(y) or not smiles:
        raise ValueError(f"{adapted}: the stored support rows do not featurize as when the state was saved; delete "
                         "the output folder and run again")
    model.support_smiles_, model.support_y_, model.support_features_, model.n_support_ = smiles, y, feats, len(smiles)
    model.clear_feature_cache()

    def score(batch: list[str]) -> pd.DataFrame:
        pred = model.predict(batch)
        dom = model.domain(batch)
        model.clear_feature_cache()
        return pd.DataFrame({"prediction": pred["prediction"], "std": pred["std"], "lower": pred["lower"],
                             "upper": pred["upper"], "domain_level": dom["domain_level"].fillna(""),
                             "nearest_similarity": dom["nearest_similarity"],
                             "nearest_measured": dom["nearest_measured"], "error": pred["error"]})

    return score


def _fit_and_save(checkpoint, support, smiles_col, label_col, task, threshold, level, hit_rate, device, folder: Path):
    """Fit on the support file and write the adapted state (with the support rows used) to ``folder``."""
    import numpy as np

    from assays.sources.tables import load_user_table
    from sciml.api import FewShotModel, load
    from sciml.checkpoint import default_checkpoint
    from sciml.learners.adapted import save_adapted
    from sciml.learners.base import SupportSetError

    loaded = load(checkpoint or default_checkpoint(task), device)
    t, report = load_user_table(support, domain=loaded.domain, smiles_col=smiles_col, value_col=label_col, kind=task,
                                threshold=threshold)
    if t is None:
        _fail(f"{support}: no usable support rows")
    if checkpoint is None and default_checkpoint(t.kind) != default_checkpoint(task):
        loaded = load(default_checkpoint(t.kind), device)
    n_bad = int((report["status"] != "ok").sum())
    typer.echo(f"checkpoint: {loaded.path}; task: {t.kind}; {len(t)} usable support rows ({n_bad} left out)", err=True)
    model = FewShotModel.from_checkpoint(loaded, task=t.kind, level=level, hit_rate=hit_rate)
    try:
        model.fit(t.inputs, t.labels)
    except SupportSetError as e:
        _fail(f"{support}: {e}")
    save_adapted(model.learner_, folder, meta={"support_inputs": list(model.support_smiles_),
                                               "support_y": np.asarray(model.support_y_, dtype=float).tolist(),
                                               "checkpoint": str(loaded.path), "task": t.kind})


@app.command()
def screen(
    support: Path = typer.Option(..., help="Measured molecules (CSV/TSV/Excel/SDF with SMILES and values), as for "
                                 "`sciml predict`."),
    library: Path = typer.Option(..., help="Molecules to score: .smi/.csv/.tsv/.sdf (each optionally .gz) or .parquet, "
                                 "read in chunks (any size)."),
    out: Path = typer.Option(..., help="Output folder: Parquet shards, manifest.json, top_k.csv, summary.txt."),
    model: Optional[Path] = typer.Option(None, "--model", "--checkpoint", help="Checkpoint (default: the shipped "
                                         "default for the task)."),
    resume: bool = typer.Option(False, "--resume", help="Finish the job already in --out (same model, support, "
                                "library and settings, checked by hashes)."),
    chunk_size: int = typer.Option(10_000, help="Library rows per chunk and per shard (also the unit of work of a "
                                   "worker)."),
    workers: int = typer.Option(1, help="Worker processes that featurize and score chunks in parallel."),
    top_k: int = typer.Option(100, help="Rows kept in top_k.csv (0: none)."),
    acquisition: str = typer.Option("highest", help="Ranking: highest, ucb, uncertain or ei."),
    kappa: float = typer.Option(1.0, help="ucb: prediction + kappa x std."),
    minimize: bool = typer.Option(False, "--minimize", help="Lower values are better (regression)."),
    smiles_col: Optional[str] = typer.Option(None, help="SMILES column of the support and the library."),
    id_col: Optional[str] = typer.Option(None, help="Id column of the library (default: id/name/..., else the row)."),
    label_col: Optional[str] = typer.Option(None, "--label-col", "--value-col", help="Value column of the support."),
    task: Optional[str] = typer.Option(None, help="regression or classification (default: decided from the values)."),
    threshold: Optional[float] = typer.Option(None, help="Classify a numeric support column: >= threshold is active."),
    level: float = typer.Option(0.9, help="Coverage of the lower/upper interval columns."),
    hit_rate: Optional[float] = typer.Option(None, help="Classification: expected fraction of actives in the library."),
    device: Optional[str] = typer.Option(None, help="cpu or cuda (default: cuda when available)."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar with rate."),
    verbose: bool = VerboseOpt,
) -> None:
    """Adapt once on --support, then score every --library row into resumable Parquet shards (one output row per
    input row, with an error column), ranked by --acquisition."""
    _setup_logging(verbose)
    if task not in (None, "regression", "classification"):
        _fail(f"--task must be regression or classification, got {task!r}")
    from pipelines.screen import JobMismatchError, LibraryError, ScorerSpec, ScreenInterrupted, ScreenSettings
    from pipelines.screen import run_screen
    from pipelines.screen.manifest import MANIFEST
    from pipelines.screen.readers import library_format
    from sciml.checkpoint import CheckpointError
    from sciml.files import sha256_file
    from sciml.learners.adapted import read_adapted_meta

    try:
        library_format(library)
        settings = ScreenSettings(library=str(library), chunk_size=chunk_size, smiles_col=smiles_col, id_col=id_col,
                                  workers=workers, top_k=top_k, acquisition=acquisition, kappa=kappa,
                                  maximize=not minimize)
    except (LibraryError, ValueError) as e:
        _fail(str(e))
    for role, path in (("--support", support), ("--library", library)):
        if not path.is_file():
            _fail(f"{path} ({role}): no such file")
    folder = out / ADAPTED
    job_exists = (out / MANIFEST).is_file()
    if job_exists and not resume:
        _fail(f"{out} already holds a screening job; add --resume to finish it, or choose another --out")
    try:
        if job_exists and (folder / "adapted.json").is_file():
            typer.echo(f"resuming {out} with the adapted state saved there", err=True)
        else:
            _fit_and_save(model, support, smiles_col, label_col, task, threshold, level, hit_rate, device, folder)
        header = read_adapted_meta(folder)
        meta = header["meta"]
        ckpt, kind = meta["checkpoint"], meta["task"]
        settings.best = min(meta["support_y"]) if minimize else max(meta["support_y"])
        identity = {"model": header.get("checkpoint"), "checkpoint": Path(ckpt).name,
                    "adapted_sha256": header["arrays_sha256"], "support_sha256": sha256_file(support), "task": kind,
                    "level": level, "hit_rate": hit_rate}
        spec = ScorerSpec(make_scorer, {"checkpoint": ckpt, "adapted": str(folder), "task": kind, "level": level,
                                        "hit_rate": hit_rate, "device": device})
        summary = run_screen(out, settings, identity, spec, resume=resume, progress=progress)
    except ScreenInterrupted as e:
        typer.secho(str(e), fg=typer.colors.YELLOW, err=True)
        raise typer.Exit(130)
    except (JobMismatchError, LibraryError, CheckpointError, FileNotFoundError, ValueError) as e:
        _fail(str(e))
    if summary.get("already_complete"):
        typer.echo(f"{out}: this job is already complete ({summary['rows']:,} rows); nothing to do")
        return
    typer.echo(f"screened {summary['rows']:,} rows into {out} ({summary['ok']:,} ok, {summary['failed']:,} failed, "
               f"{summary['rows_per_second_this_run']} rows/s); top {top_k} in {out / 'top_k.csv'}"
               + ("" if not summary["failed"] else f"; failures: {summary['failure_reasons']}"))
    typer.echo(f"command: {_command_line()}", err=True)
