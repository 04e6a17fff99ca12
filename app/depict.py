"""2D depictions as small PNG data URIs (for ``st.column_config.ImageColumn``)."""

from __future__ import annotations

import base64

from rdkit import Chem
from rdkit.Chem.Draw import rdMolDraw2D


def depict_png_uri(smiles: str, width: int = 180, height: int = 120) -> str | None:
    """``data:image/png;base64,...`` of ``smiles`` drawn by RDKit, or ``None`` when RDKit cannot read it."""
    if not isinstance(smiles, str) or not smiles.strip():
        return None
    mol = Chem.MolFromSmiles(smiles)
    if mol is None or mol.GetNumAtoms() == 0:
        return None
    try:
        drawer = rdMolDraw2D.MolDraw2DCairo(width, height)
        drawer.drawOptions().clearBackground = False
        rdMolDraw2D.PrepareAndDrawMolecule(drawer, mol)
        drawer.FinishDrawing()
        png = drawer.GetDrawingText()
    except (RuntimeError, ValueError):
        return None
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")
