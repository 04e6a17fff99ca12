"""Supervised multitask pretraining on the new-assay protocol's pooled train tasks (train molecules only).

One GINE per task kind (``--kinds``) trained to predict every train task's labels at once
(:func:`pipelines.pretrain_multitask.pretrain_multitask`); validation and test tasks are never
read, and the script checks that no pretraining molecule is a test molecule of the split. The
checkpoint goes to ``<out>/multitask-<kind>`` and starts meta-training of the ``protonet_mtl``
variant (``python benchmarks/new_assay.py train --kinds classification --learners protonet_mtl``);
the run record goes to ``benchmarks/results/pretraining/multitask_<kind>.json``.

    python benchmarks/new_assay_pretrain.py --kinds classification
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sciml.files import atomic_write_text  # noqa: E402

logger = logging.getLogger("new_assay_pretrain")


def main(argv: list[str] | None = None) -> None:
    from pipelines.evaluate import machine_description, script_command, utc_date
    from pipelines.new_assay import SPLIT_RECORD, load_new_assay, pooled_train_collection
    from pipelines.pretrain_multitask import MultitaskPretrainConfig, pretrain_multitask

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", default=None, help="Shared data (default $SCIML_DATA_DIR or ../shared/data).")
    ap.add_argument("--split", type=Path, default=ROOT / SPLIT_RECORD, help="The split record.")
    ap.add_argument("--kinds", default="classification", help="Task kinds (comma-separated).")
    ap.add_argument("--out", type=Path, default=Path("runs/pretrain"), help="Checkpoint folder parent.")
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--results", type=Path, default=ROOT / "benchmarks" / "results" / "pretraining")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    for noisy in ("deepchem", "assays.sources", "assays.episodes"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    collections, split, _ = load_new_assay(args.data_dir, args.split)
    test_molecules = set(split.molecules("test"))
    for kind in [k.strip() for k in args.kinds.split(",") if k.strip()]:
        tasks = pooled_train_collection(collections, kind).split("train")
        leaked = {s for t in tasks for s in t.inputs} & test_molecules
        if leaked:
            raise SystemExit(f"{len(leaked)} pretraining molecules are test molecules of the split (e.g. "
                             f"{sorted(leaked)[0]}); the split record and the collections disagree")
        cfg = MultitaskPretrainConfig(steps=args.steps, batch_size=args.batch_size, seed=args.seed)
        rec = pretrain_multitask(cfg, tasks, args.out / f"multitask-{kind}", command=script_command())
        rec.update(kind=kind, test_molecules_in_pretraining=0, date=utc_date(), machine=machine_description())
        args.results.mkdir(parents=True, exist_ok=True)
        atomic_write_text(args.results / f"multitask_{kind}.json", json.dumps(rec, indent=1) + "\n")
        logger.info("%s: %d tasks, %d molecules, best held-out loss %.4f at step %d", kind, rec["n_tasks"],
                    rec["molecules"], rec["best_holdout_loss"], rec["best_step"])


if __name__ == "__main__":
    main()
