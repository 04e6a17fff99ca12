"""``sciml pretrain``: self-supervised pretraining of the GNN on unlabelled molecules (:mod:`pipelines.pretrain`)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from sciml.cli import DataDirOpt, VerboseOpt, _command_line, _fail, _setup_logging, app

#: The unlabelled corpus of the shared data, relative to the data folder.
MOSES = Path("molecules") / "unlabeled" / "moses_train.csv.gz"


@app.command()
def pretrain(
    out: Path = typer.Option(..., help="Output folder: a checkpoint (ProtoNet around the pretrained encoder) for "
                             "`sciml train --init-encoder`; an interrupted run started again resumes from it."),
    corpus: Optional[Path] = typer.Option(None, help="CSV(.gz) of unlabelled molecules (default: MOSES in the "
                                          "shared data, molecules/unlabeled/moses_train.csv.gz)."),
    smiles_column: str = typer.Option("SMILES", help="Column of the corpus with the SMILES."),
    max_molecules: Optional[int] = typer.Option(None, help="Read at most this many corpus rows per pass."),
    steps: int = typer.Option(2000, help="Optimiser steps."),
    batch_size: int = typer.Option(128, help="Molecules per step."),
    lr: float = typer.Option(1e-3, help="Peak learning rate (warm-up, then cosine)."),
    mask_rate: float = typer.Option(0.15, help="Share of atoms masked per view."),
    contrastive_weight: float = typer.Option(1.0, help="Weight of the graph contrastive loss (0: masking only)."),
    hidden: int = typer.Option(128, help="GINE hidden width (as the meta-training run that starts from it)."),
    depth: int = typer.Option(4, help="GINE blocks."),
    out_dim: int = typer.Option(128, help="Embedding width."),
    save_every: int = typer.Option(200, help="Steps between resumable saves."),
    exclude_new_assay_test: bool = typer.Option(
        True, "--exclude-new-assay-test/--keep-test-molecules",
        help="Drop the test molecules of the new-assay split (benchmarks/results/new_assay_split.json) from the "
             "corpus, so the benchmark never scores a molecule pretraining saw (needs the shared data)."),
    data_dir: Optional[Path] = DataDirOpt,
    seed: int = typer.Option(0, help="Seed of the initial weights, the shuffles and the masks."),
    device: Optional[str] = typer.Option(None, help="cpu or cuda (default: cuda when available)."),
    verbose: bool = VerboseOpt,
) -> None:
    """Pretrain the molecular GNN by attribute masking + graph contrastive learning on an unlabelled corpus."""
    _setup_logging(verbose)
    from pipelines.pretrain import PretrainConfig
    from pipelines.pretrain import pretrain as run_pretrain
    from sciml.config import resolve_data_dir

    if corpus is None:
        corpus = resolve_data_dir(data_dir) / MOSES
    exclude, source = set(), ""
    if exclude_new_assay_test:
        from pipelines.new_assay import load_new_assay

        try:
            _, split, _ = load_new_assay(data_dir)
        except (FileNotFoundError, ValueError) as e:
            _fail(f"cannot read the new-assay split to exclude its test molecules ({e}); give --data-dir, or pass "
                  "--keep-test-molecules for a corpus that is not evaluated on it")
        exclude, source = set(split.molecules("test")), "new_assay test molecules"
    try:
        cfg = PretrainConfig(corpus=str(corpus), smiles_column=smiles_column, max_molecules=max_molecules,
                             steps=steps, batch_size=batch_size, lr=lr, mask_rate=mask_rate,
                             contrastive_weight=contrastive_weight, save_every=save_every, seed=seed, device=device,
                             encoder_config={"hidden": hidden, "depth": depth, "out_dim": out_dim},
                             exclude_source=source)
        rec = run_pretrain(cfg, out, exclude=exclude, command=_command_line())
    except (FileNotFoundError, ValueError) as e:
        _fail(str(e))
    c = rec["counts"]
    typer.echo(f"saved {out}: {rec['steps']} steps in {rec['seconds']:.0f}s; corpus rows read {c['read']:,}, "
               f"invalid {c['invalid']:,}, excluded as test molecules {c['excluded']:,}; final masked-atom accuracy "
               f"{rec['final'].get('mask_accuracy', float('nan')):.3f}")
