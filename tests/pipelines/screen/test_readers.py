"""Library readers: every input row becomes one row (with its reason when unreadable), in chunks."""

from __future__ import annotations

import gzip

import pandas as pd
import pytest

from pipelines.screen.readers import LibraryError, library_format, read_chunks


def _all(path, chunk_size=3, **kw):
    chunks = list(read_chunks(path, chunk_size, **kw))
    assert all(len(c) <= chunk_size for c in chunks)
    return pd.concat(chunks, ignore_index=True)


def test_smi_with_header_ids_blank_lines_and_bad_bytes(tmp_path):
    p = tmp_path / "lib.smi"
    p.write_bytes(b"SMILES Name\nCCO ethanol\n\nc1ccccc1 benzene\nC\xff\xfeC broken\nCCN\n")
    df = _all(p)
    assert df["row"].tolist() == [0, 1, 2, 3]
    assert df["id"].tolist() == ["ethanol", "benzene", "broken", "3"]
    assert df["smiles"].tolist() == ["CCO", "c1ccccc1", "", "CCN"]
    assert df["read_error"].tolist()[2] == "the line is not valid UTF-8" and df["read_error"].tolist()[3] == ""


def test_csv_gz_sniffs_semicolons_and_keeps_malformed_rows(tmp_path):
    p = tmp_path / "lib.csv.gz"
    with gzip.open(p, "wt") as f:
        f.write("compound_id;SMILES;mw\nA;CCO;46\nB;CCC;44;extra\n\nC;c1ccccc1;78\n")
    df = _all(p, chunk_size=2)
    assert df["id"].tolist() == ["A", "B", "C"] and df["row"].tolist() == [0, 1, 2]
    assert df["smiles"].tolist() == ["CCO", "", "c1ccccc1"]
    assert df["read_error"][1] == "the row has 4 fields, the header 3"


def test_tsv_named_columns_and_missing_column(tmp_path):
    p = tmp_path / "lib.tsv"
    p.write_text("mol\tkey\nCCO\tx1\nCCN\tx2\n")
    df = _all(p, smiles_col="mol", id_col="key")
    assert df["smiles"].tolist() == ["CCO", "CCN"] and df["id"].tolist() == ["x1", "x2"]
    with pytest.raises(LibraryError, match="lib.tsv: no column 'smi_x'"):
        _all(p, smiles_col="smi_x")
    q = tmp_path / "nosmiles.csv"
    q.write_text("a,b\n1,2\n")
    with pytest.raises(LibraryError, match="nosmiles.csv: no SMILES column"):
        _all(q)


def test_parquet_in_batches_with_missing_smiles(tmp_path):
    p = tmp_path / "lib.parquet"
    pd.DataFrame({"smiles": ["CCO", None, "CCN", "CCC", "C"], "id": list("abcde")}).to_parquet(p)
    df = _all(p, chunk_size=2)
    assert df["row"].tolist() == [0, 1, 2, 3, 4] and df["id"].tolist() == list("abcde")
    assert df["read_error"].tolist() == ["", "missing SMILES", "", "", ""]


def test_sdf_gz_with_an_unreadable_record(tmp_path):
    from rdkit import Chem

    good = [Chem.MolFromSmiles(s) for s in ("CCO", "c1ccccc1")]
    good[0].SetProp("_Name", "eth")
    bad = Chem.MolToMolBlock(Chem.MolFromSmiles("C")).replace("    0.0000 C ", "    0.0000 Xx")  # unknown element
    blocks = [Chem.MolToMolBlock(good[0]) + "$$$$\n", bad + "$$$$\n", Chem.MolToMolBlock(good[1]) + "$$$$\n",
              "\n  empty\n\n  0  0  0  0  0  0  0  0  0  0999 V2000\nM  END\n$$$$\n"]
    p = tmp_path / "lib.sdf.gz"
    with gzip.open(p, "wt") as f:
        f.write("".join(blocks))
    df = _all(p)
    assert df["row"].tolist() == [0, 1, 2, 3] and df["id"].tolist()[0] == "eth"
    assert df["smiles"].tolist()[0] == "CCO" and df["smiles"].tolist()[2] == "c1ccccc1"
    assert df["read_error"].tolist()[1] == "SDF record 2 could not be read by RDKit"
    assert df["read_error"].tolist()[3] == "SDF record 4 has no atoms"


def test_formats_by_suffix():
    assert library_format("x.smi.gz") == ("smi", True) and library_format("my.lib.csv") == ("csv", False)
    for bad in ("x.xlsx", "x.parquet.gz", "noext"):
        with pytest.raises(LibraryError, match="unknown library format"):
            library_format(bad)
    with pytest.raises(FileNotFoundError, match="no such library"):
        list(read_chunks("missing.smi", 10))
