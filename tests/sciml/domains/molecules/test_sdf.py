"""SDF export of the molecule domain: one record per input, properties kept, unreadable inputs as empty records."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from sciml.domains import get_domain


def test_sdf_round_trip_keeps_order_properties_and_bad_rows():
    from rdkit import Chem

    dom = get_domain("molecules")
    props = pd.DataFrame({"id": ["a", "b", "c"], "prediction": [0.25, np.nan, 7.123456789], "rank": [2, None, 1]})
    data = dom.write_structures(["CCO", "not a smiles", "c1ccccc1"], props)
    mols = list(Chem.ForwardSDMolSupplier(io.BytesIO(data)))
    assert len(mols) == 3 and [m.GetNumAtoms() for m in mols] == [3, 0, 6]
    assert [m.GetProp("id") for m in mols] == ["a", "b", "c"]
    assert mols[0].GetProp("prediction") == "0.25" and mols[1].GetProp("prediction") == ""
    assert float(mols[2].GetProp("prediction")) == pytest.approx(7.12346)
    assert dom.structure_file_suffix == ".sdf"
    with pytest.raises(ValueError, match="property rows"):
        dom.write_structures(["CCO"], props)
