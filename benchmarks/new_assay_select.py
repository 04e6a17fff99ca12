"""The ``select`` stage of ``benchmarks/new_assay.py``: test-time settings chosen on validation tasks.

For each task kind and learner with a checkpoint under ``<runs>/<kind>/<learner>``, every
candidate of the grid is scored on the pooled validation tasks × train molecules (never a test
task or a test molecule) with :func:`pipelines.select.select_test_time`; the best (mean
validation ROC-AUC or R² over the benchmark's support sizes) and the calibration refitted with
it are written into the checkpoint's ``config.json``, so the ``evaluate`` stage (``--redo``)
scores the chosen settings. The candidates' scores go to
``benchmarks/results/selection/new_assay-<kind>-<learner>.{json,md}``.

    python benchmarks/new_assay.py select --kinds classification --learners adkf_minimol
    python benchmarks/new_assay.py select --learners maml_sgd --grid '{"inner_steps": [0, 5, 20]}'
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from sciml.files import atomic_write_text

ROOT = Path(__file__).resolve().parent.parent
#: Default grids per registered learner: the deep-kernel GP's hyperparameter refits on the support,
#: the MAML family's inner steps.
DEFAULT_GRIDS = {"dkgp": {"adapt_steps": [0, 10, 50, 200]},
                 **{ln: {"inner_steps": [0, 1, 5, 20]} for ln in ("maml", "fomaml", "reptile", "bmaml")}}
#: Validation support draws (seeds 1000.., as ``sciml select``).
SELECT_SEEDS = 5

logger = logging.getLogger("new_assay")


def stage_select(args, collections) -> None:
    from benchmarks.new_assay import SUPPORTS, _csv, base_learner
    from pipelines.evaluate import script_command
    from pipelines.new_assay import pooled_train_collection
    from pipelines.select import select_test_time, selection_markdown

    out_dir = ROOT / "benchmarks" / "results" / "selection"
    for kind in _csv(args.kinds):
        pooled = pooled_train_collection(collections, kind)
        # the evaluate stage's support sizes: per class for classification (half actives)
        shots = [s // 2 for s in SUPPORTS] if kind == "classification" else list(SUPPORTS)
        for ln in _csv(args.learners):
            ckpt = args.runs / kind / ln
            if not (ckpt / "config.json").is_file():
                logger.warning("%s %s: no checkpoint under %s (run the train stage); skipped", kind, ln, ckpt)
                continue
            grid = json.loads(args.grid) if args.grid else DEFAULT_GRIDS.get(base_learner(ln))
            if not grid:
                logger.warning("%s: no default test-time grid for %s; pass --grid", ln, base_learner(ln))
                continue
            res = select_test_time(ckpt, pooled.name, grid, shots=shots, seeds=range(1000, 1000 + SELECT_SEEDS),
                                   collection=pooled, command=script_command())
            res["learner"] = ln
            stem = out_dir / f"new_assay-{kind}-{ln}"
            out_dir.mkdir(parents=True, exist_ok=True)
            atomic_write_text(stem.with_suffix(".json"), json.dumps(res, indent=1, sort_keys=True))
            atomic_write_text(stem.with_suffix(".md"), selection_markdown(res))
            logger.info("%s %s: chose %s (validation %s %.4f)", kind, ln, res["chosen"], res["metric"],
                        max(c["score"] for c in res["candidates"]))
