"""SDF export of molecules with per-record properties (RDKit ``SDWriter``)."""

from __future__ import annotations

import io
import math
from typing import Sequence

import pandas as pd


def _text(value) -> str:
    """A property value as SDF text: '' for missing, numbers without float noise."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def write_sdf(smiles: Sequence[object], properties: pd.DataFrame, *, name_column: str | None = None) -> bytes:
    """SDF bytes: one record per SMILES, in order, with every column of ``properties`` as an SD property.

    A SMILES RDKit cannot read becomes an empty (0-atom) record that keeps its properties, so the
    file has exactly ``len(smiles)`` records. ``name_column``: the column written as each record's
    title line (default none).
    """
    from rdkit import Chem, RDLogger

    if len(properties) != len(smiles):
        raise ValueError(f"{len(smiles)} structures but {len(properties)} property rows")
    buf = io.StringIO()
    writer = Chem.SDWriter(buf)
    RDLogger.DisableLog("rdApp.*")
    try:
        for smi, (_, row) in zip(smiles, properties.iterrows()):
            mol = Chem.MolFromSmiles(smi) if isinstance(smi, str) and smi.strip() else None
            mol = mol if mol is not None else Chem.Mol()
            if name_column is not None:
                mol.SetProp("_Name", _text(row[name_column]))
            for col, value in row.items():
                mol.SetProp(str(col), _text(value))
            writer.write(mol)
    finally:
        RDLogger.EnableLog("rdApp.*")
        writer.close()
    return buf.getvalue().encode("utf-8")
