"""Small files built by the table tests: Excel workbooks, SDF text and a toy non-molecule domain."""

from __future__ import annotations

import io
import re
from collections import Counter

import numpy as np
import openpyxl
from rdkit import Chem

from sciml.domains import Domain

#: An SDF record whose atom block RDKit cannot read.
BROKEN_RECORD = "broken\n  test\n\n  2  1  0  0  0  0  0  0  0  0999 V2000\nthis is not an atom line\n$$$$\n"


def xlsx(rows: list[list], sheet_title: str | None = None) -> bytes:
    """An .xlsx workbook of one sheet holding ``rows``."""
    wb = openpyxl.Workbook()
    ws = wb.active
    if sheet_title:
        ws.title = sheet_title
    for r in rows:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def sdf(records: list[tuple[str, dict]]) -> str:
    """SDF text of (SMILES, properties) records; titles are 'm<i>'."""
    buf = io.StringIO()
    writer = Chem.SDWriter(buf)
    for i, (smiles, props) in enumerate(records):
        mol = Chem.MolFromSmiles(smiles)
        mol.SetProp("_Name", f"m{i}")
        for k, v in props.items():
            mol.SetProp(k, str(v))
        writer.write(mol)
    writer.close()
    return buf.getvalue()


_ELEMENT = re.compile(r"([A-Z][a-z]?)(\d*)")


class FormulaDomain(Domain):
    """A toy domain of chemical formulas ("Fe2O3"); the key sorts the elements, so "O3Fe2" is "Fe2O3"."""

    name = "formulas-test"
    label = "formula"
    input_columns = ("formula", "composition")
    column_hint = "formula"

    def parse(self, raw: object):
        if not isinstance(raw, str) or not raw.strip():
            return None, "empty formula"
        text = raw.strip()
        if "".join(m.group(0) for m in _ELEMENT.finditer(text)) != text:
            return None, "not a formula"
        counts: Counter = Counter()
        for element, n in _ELEMENT.findall(text):
            counts[element] += int(n or 1)
        return dict(counts), None

    def key(self, raw: object) -> str:
        counts, _ = self.parse(raw)
        return "".join(f"{e}{n if n > 1 else ''}" for e, n in sorted(counts.items())) if counts else str(raw)

    def featurizer(self, spec=None, **options):
        raise NotImplementedError

    def default_encoder(self, featurizer, **overrides):
        raise NotImplementedError

    def similarity(self, a, b):
        return np.zeros((len(a), len(b)))
