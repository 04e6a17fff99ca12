"""Print the new-assay learners of one task kind ranked by their best validation score.

Usage: python scripts/validation_ranking.py classification   (reads benchmarks/results/new_assay_training.json)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def ranking(kind: str, path: Path = ROOT / "benchmarks" / "results" / "new_assay_training.json") -> str:
    entries = [t for t in json.loads(path.read_text()) if t["kind"] == kind and t.get("best_val_score") is not None]
    entries.sort(key=lambda t: -t["best_val_score"])
    metric = entries[0]["val_metric"] if entries else "score"
    return f"validation {metric}: " + ", ".join(f"{t['learner']} {t['best_val_score']:.4f}" for t in entries)


if __name__ == "__main__":
    print(ranking(sys.argv[1] if len(sys.argv) > 1 else "classification"))
