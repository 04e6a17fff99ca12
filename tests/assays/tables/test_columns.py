"""Finding the structure column (through the domain) and the value column."""

from __future__ import annotations

import pandas as pd
import pytest

from assays.sources.tables import UserTableError, find_structure_column, find_value_column, load_user_table
from tests.assays.tables.files import FormulaDomain


def test_explicit_columns_case_insensitive_and_missing_column(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("Mol_SMILES,IC50_nM,pIC50\nCCO,10,8\nCCN,100,7\n")
    task, _ = load_user_table(path, smiles_col="mol_smiles", value_col="PIC50")
    assert task.labels.tolist() == [8, 7] and task.meta == {"smiles_col": "Mol_SMILES", "value_col": "pIC50"}
    with pytest.raises(UserTableError) as err:
        load_user_table(path, smiles_col="Mol_SMILES", value_col="Ki")
    assert "'Ki'" in str(err.value) and "'IC50_nM'" in str(err.value) and "'pIC50'" in str(err.value)
    # found by name ("SMILES" in it) when no column has an exact SMILES-like name
    task, _ = load_user_table(path, value_col="pIC50")
    assert task.meta["smiles_col"] == "Mol_SMILES"
    with pytest.raises(UserTableError, match="could not find a SMILES column"):
        load_user_table(pd.DataFrame({"id": ["a", "b"], "pIC50": ["8", "7"]}))
    with pytest.raises(UserTableError, match=r"more than one numeric column.*'IC50_nM', 'pIC50'"):
        load_user_table(path)


def test_unnamed_index_column_is_ignored(tmp_path):
    path = tmp_path / "i.csv"
    pd.DataFrame({"smiles": ["CCO", "CCN", "CCC"], "y": [0.1, 0.2, 0.3]}).to_csv(path)  # writes the index
    task, _ = load_user_table(path)
    assert task.meta["value_col"] == "y"


def test_find_structure_column_by_name_and_lists_columns_when_absent():
    df = pd.DataFrame({"id": ["1", "2"], "Canonical SMILES": ["CCO", "CCN"], "note": ["", "NA"]})
    assert find_structure_column(df) == "Canonical SMILES"
    assert find_structure_column(df, domain="molecules") == "Canonical SMILES"
    with pytest.raises(UserTableError, match="'id', 'note'"):
        find_structure_column(df[["id", "note"]], "q.tsv")


def test_wrong_column_choices_list_the_columns():
    data = b"ID,SMILES,pKi\n1,CCO,5\n2,CCN,6\n"
    with pytest.raises(UserTableError, match=r"no value column 'Ki'.*'ID', 'SMILES', 'pKi'"):
        load_user_table(data, filename="t.csv", value_col="Ki")
    with pytest.raises(UserTableError, match=r"no SMILES column 'smi'.*'ID', 'SMILES', 'pKi'"):
        load_user_table(data, filename="t.csv", smiles_col="smi")
    with pytest.raises(UserTableError, match="same column"):
        load_user_table(data, filename="t.csv", value_col="SMILES")
    task, _ = load_user_table(data, filename="t.csv")  # the numeric ID column is not taken as the value column
    assert task.meta["value_col"] == "pKi"


def test_smiles_column_found_by_content_or_reported_missing():
    df = pd.DataFrame({"id": ["a", "b", "c"], "Struct": ["CCO", "c1ccccc1", "CC(=O)O"], "y": ["1", "2", "3"]})
    assert find_structure_column(df) == "Struct"
    two = df.assign(Product=["CCN", "CCCl", "OCCO"])
    with pytest.raises(UserTableError, match=r"several columns hold SMILES: 'Struct', 'Product'"):
        find_structure_column(two, "r.csv")
    with pytest.raises(UserTableError, match=r"could not find a SMILES column.*'id', 'y'"):
        load_user_table(df[["id", "y"]])


def test_value_column_two_labels_or_none():
    df = pd.DataFrame({"compound_id": ["a", "b"], "smiles": ["CCO", "CCN"], "outcome": ["active", "inactive"]})
    assert find_value_column(df, "smiles") == "outcome"
    with pytest.raises(UserTableError, match=r"t.csv: found no value column besides 'smiles'.*'compound_id'"):
        find_value_column(df[["compound_id", "smiles"]], "smiles", "t.csv")


def test_another_domain_finds_its_own_column_by_name_hint_and_content():
    domain = FormulaDomain()
    df = pd.DataFrame({"smiles": ["c1ccccc1", "CC(=O)O"], "Composition": ["Fe2O3", "NaCl"], "gap": ["2.1", "5.0"]})
    assert find_structure_column(df, domain=domain) == "Composition"
    assert find_structure_column(df.rename(columns={"Composition": "formula_reduced"}), domain=domain) == "formula_reduced"
    assert find_structure_column(df.rename(columns={"Composition": "material"}), domain=domain) == "material"
    with pytest.raises(UserTableError, match=r"m.csv: could not find a formula column \(no column is named formula, composition"):
        find_structure_column(df[["gap"]], "m.csv", domain=domain)
