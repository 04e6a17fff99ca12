"""Molecule domain: SDF export, substructure (SMARTS) search and the shared-atoms picture of "explain a prediction"."""

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


def test_substructure_search_and_shared_atoms_picture():
    from sciml.domains.molecules.explain import shared_atom_weights

    dom = get_domain("molecules")
    assert dom.pattern_name == "SMARTS"
    assert dom.matches(["CCO", "c1ccccc1O", "not a smiles"], "[OX2H]").tolist() == [True, True, False]
    assert dom.matches(["CCO", "c1ccccc1O"], "c1ccccc1").tolist() == [False, True]
    with pytest.raises(ValueError, match="not a SMARTS pattern"):
        dom.matches(["CCO"], "C((")
    w = shared_atom_weights("c1ccccc1CCN", "c1ccccc1CC")
    assert w.shape == (9,) and w[:6].min() > w[-1]  # ring atoms shared with the reference, the amine N is not
    assert dom.explain_picture("c1ccccc1CCN", "c1ccccc1CC").startswith("data:image/png;base64,")
    assert dom.explain_picture("not a smiles", "CC") is None
