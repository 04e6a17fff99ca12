"""Write a small made-up long-format assay table for the README's "Your own assay collection" example.

The values are synthetic (a deterministic function of substructure counts, one per
assay), not measurements: the table only shows the format and what the loader reports.
Three rows are bad on purpose: an unclosed ring, a missing value, and a compound
measured twice with different values.

Usage::

    python scripts/example_assay_table.py my_assays.csv
"""

from __future__ import annotations

import argparse

import pandas as pd
from rdkit import Chem

CORES = ["c1ccccc1", "c1ccncc1", "C1CCCCC1", "c1ccc2ccccc2c1", "C1CCNCC1"]
SUBSTITUENTS = ["C", "O", "N", "F", "Cl", "OC", "C(=O)N", "N#C"]
#: assay -> (SMARTS whose count moves the value, baseline, molecules measured)
ASSAYS = {"EGFR": ("[#7]", 5.0, 24), "BRAF": ("[F,Cl]", 5.5, 20), "CDK2": ("[#8]", 6.0, 16),
          "ABL1": ("c", 4.5, 22), "JAK2": ("[CX3]=O", 6.5, 18), "PIM1": ("[R]", 5.2, 14), "hERG": ("[#7]", 4.8, 6)}


def table() -> pd.DataFrame:
    mols = [Chem.MolToSmiles(Chem.MolFromSmiles(s + c)) for c in CORES for s in SUBSTITUENTS]
    rows = []
    for a, (smarts, base, n) in ASSAYS.items():
        patt = Chem.MolFromSmarts(smarts)
        for i, smi in enumerate(mols[:n]):
            hits = len(Chem.MolFromSmiles(smi).GetSubstructMatches(patt))
            rows.append({"assay_id": a, "smiles": smi, "value": round(base + 0.25 * hits + 0.05 * (i % 5), 2),
                         "unit": "pIC50"})
    rows += [{"assay_id": "EGFR", "smiles": "C1CC(", "value": 5.75, "unit": "pIC50"},
             {"assay_id": "EGFR", "smiles": "Fc1ccccc1", "value": None, "unit": "pIC50"},
             {"assay_id": "EGFR", "smiles": mols[0], "value": 7.9, "unit": "pIC50"}]
    return pd.DataFrame(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", help="CSV file to write")
    df = table()
    df.to_csv(ap.parse_args().out, index=False)
    print(f"wrote {len(df)} rows, {df['assay_id'].nunique()} assays")


if __name__ == "__main__":
    main()
