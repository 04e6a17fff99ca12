"""A toy scorer for the screening tests: heavy-atom count as the prediction, RDKit's parse as the check."""

from __future__ import annotations

import os
import time

import pandas as pd


def atom_count_scorer(delay: float = 0.0, crash_after: int | None = None, marker: str | None = None):
    """``scorer(smiles) -> DataFrame``; ``delay`` seconds per call; ``crash_after`` calls, then KeyboardInterrupt;
    ``marker``: a file touched after each call (a test waits for it before killing the process)."""
    from rdkit import Chem, RDLogger

    RDLogger.DisableLog("rdApp.*")
    calls = {"n": 0}

    def score(smiles: list[str]) -> pd.DataFrame:
        if crash_after is not None and calls["n"] >= crash_after:
            raise KeyboardInterrupt
        calls["n"] += 1
        time.sleep(delay)
        rows = []
        for s in smiles:
            mol = Chem.MolFromSmiles(s)
            if mol is None:
                rows.append({"prediction": float("nan"), "std": float("nan"), "lower": float("nan"),
                             "upper": float("nan"), "domain_level": "", "nearest_similarity": float("nan"),
                             "nearest_measured": float("nan"), "error": f"RDKit could not parse SMILES {s!r}"})
                continue
            n = float(mol.GetNumHeavyAtoms())
            rows.append({"prediction": n, "std": 1.0 + 0.1 * (n % 3), "lower": n - 1.6, "upper": n + 1.6,
                         "domain_level": "in" if n < 8 else "outside", "nearest_similarity": 0.5,
                         "nearest_measured": 5.0, "error": ""})
        if marker:
            with open(marker, "a") as f:
                f.write(f"{os.getpid()}\n")
        return pd.DataFrame(rows)

    return score
