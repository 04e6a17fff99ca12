"""Reading tables: paths, bytes and uploads, CSV / TSV / Excel / SDF, encodings, size limit."""

from __future__ import annotations

import gzip
import io

import pytest

from assays.sources.tables import MAX_UPLOAD_MB, RECORD_ERROR_COLUMN, UserTableError, load_user_table, read_table
from assays.sources.tables import read
from tests.assays.tables.files import BROKEN_RECORD, sdf, xlsx


def test_tsv_gzip_semicolon_and_file_objects(tmp_path):
    tsv = tmp_path / "t.tsv"
    tsv.write_text("smiles\tactive\nCCO\t1\nCCN\t0\n")
    task, _ = load_user_table(tsv, name="mine")
    assert task.kind == "classification" and task.labels.tolist() == [1, 0] and task.name == "mine"

    gz = tmp_path / "t.csv.gz"
    with gzip.open(gz, "wt") as fh:
        fh.write("smi,y\nCCO,1.5\nCCN,2.5\n")
    task, _ = load_user_table(gz)
    assert task.inputs == ["CCO", "CCN"] and task.kind == "regression"

    semi = tmp_path / "t.txt"
    semi.write_text("Structure;Activity\nCCO;1,5\nCCN;2\nCCC;3\n")
    task, report = load_user_table(semi)
    assert report.status.tolist() == ["non-numeric value", "ok", "ok"]

    task, _ = load_user_table(io.BytesIO(b"SMILES,y\nCCO,3\nCCN,4\n"))
    assert task.labels.tolist() == [3, 4]


def test_read_table_keeps_every_cell_as_text(tmp_path):
    path = tmp_path / "q.tsv"
    path.write_text("id\tCanonical SMILES\tnote\n1\tCCO\t\n2\tCCN\tNA\n")
    df = read_table(path)
    assert df.columns.tolist() == ["id", "Canonical SMILES", "note"]
    assert df["note"].tolist() == ["", "NA"] and df["id"].tolist() == ["1", "2"]


def test_bytes_with_filename_and_upload_like_objects():
    data = b"smiles\tpKi\nCCO\t5\nCCN\t6\n"
    task, _ = load_user_table(data, filename="assay.tsv")
    assert task.labels.tolist() == [5, 6] and task.source == "assay.tsv"

    upload = io.BytesIO(b"SMILES,y\nCCO,3\nCCN,4\n")
    upload.name = "upload.csv"
    upload.read()  # cursor at the end, as after a first look at an upload
    task, _ = load_user_table(upload)
    assert task.labels.tolist() == [3, 4] and task.source == "upload.csv"
    assert read_table(bytearray(b"smiles,y\nCCO,1\n"), filename="x.csv").shape == (1, 2)


# ----------------------------------------------------------------------------- Excel


def test_excel_from_path_and_bytes(tmp_path):
    data = xlsx([["Compound", "SMILES", "pEC50"], ["a", "CCO", 5.5], [None, None, None], ["b", "CCN", 7], ["c", "CCC", "n.d."]])
    path = tmp_path / "plate.xlsx"
    path.write_bytes(data)
    for source, kw in ((path, {}), (data, {"filename": "plate.xlsx"}), (data, {})):  # last: sniffed from content
        task, report = load_user_table(source, **kw)
        assert report.status.tolist() == ["ok", "ok", "non-numeric value"]  # fully blank sheet row skipped
        assert task.inputs == ["CCO", "CCN"] and task.labels.tolist() == [5.5, 7.0]
        assert task.meta["value_col"] == "pEC50"
    df = read_table(data, filename="plate.xlsx")
    assert df.columns.tolist() == ["Compound", "SMILES", "pEC50"] and df["pEC50"].tolist() == ["5.5", "7", "n.d."]


def test_excel_sheet_choice_and_bad_workbooks():
    data = xlsx([["smiles", "y"], ["CCO", 1.5]], sheet_title="Results")
    assert read_table(data, filename="r.xlsx", sheet="Results").shape == (1, 2)
    with pytest.raises(UserTableError, match="could not read sheet 'Other'"):
        read_table(data, filename="r.xlsx", sheet="Other")
    with pytest.raises(UserTableError, match="not a readable Excel"):
        read_table(b"PK\x03\x04garbage" * 10, filename="r.xlsx")
    with pytest.raises(UserTableError, match="not an .xlsx file"):
        read_table(b"smiles,y\nCCO,1\n", filename="renamed.xlsx")
    with pytest.raises(UserTableError, match=r"old-style Excel \.xls"):
        read_table(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, filename="old.xls")
    with pytest.raises(UserTableError, match="empty"):
        read_table(xlsx([]), filename="blank.xlsx")
    with pytest.raises(UserTableError, match="no data rows"):
        load_user_table(xlsx([["smiles", "y"]]), filename="header.xlsx")


# ----------------------------------------------------------------------------- SDF


def test_sdf_structures_properties_unreadable_records_and_missing_property(tmp_path):
    text = sdf([("OCC", {"pKi": "6.5", "SMILES": "given"}), ("c1ccccc1N", {"note": "no value"})]) + BROKEN_RECORD
    text += sdf([("CCCl", {"pKi": "7.25"})])
    path = tmp_path / "set.sdf"
    path.write_text(text)
    df = read_table(path)
    assert df.columns.tolist() == ["smiles", "name", "pKi", "SMILES (property)", "note", RECORD_ERROR_COLUMN]
    assert df["smiles"].tolist() == ["CCO", "Nc1ccccc1", "", "CCCl"]  # written by RDKit from the structures
    assert df["name"].tolist() == ["m0", "m1", "broken", "m0"]
    assert df["pKi"].tolist() == ["6.5", "", "", "7.25"]
    assert df[RECORD_ERROR_COLUMN].tolist()[2] == "SDF record 3: RDKit could not read its structure"

    task, report = load_user_table(path, value_col="pKi")
    assert report.status.tolist() == ["ok", "missing value", "invalid structure", "ok"]
    assert "SDF record 3" in report.error[2] and report.error[1] == "no value"
    assert task.inputs == ["CCO", "CCCl"] and task.labels.tolist() == [6.5, 7.25]
    assert load_user_table(path)[0].meta["value_col"] == "pKi"  # the only numeric property


def test_sdf_gzipped_bytes_and_sniffed_without_extension():
    text = sdf([("CCO", {"IC50_class": "active"}), ("CCN", {"IC50_class": "inactive"})])
    task, _ = load_user_table(gzip.compress(text.encode()), filename="upload.sdf.gz")
    assert task.kind == "classification" and task.labels.tolist() == [1, 0]
    assert read_table(text.encode(), filename="upload")["smiles"].tolist() == ["CCO", "CCN"]
    assert read_table(text.encode(), filename="upload.sd")["smiles"].tolist() == ["CCO", "CCN"]
    with pytest.raises(UserTableError, match="empty"):
        read_table(b"\n\n", filename="empty.sdf")
    with pytest.raises(UserTableError, match="no SDF records"):
        read_table(b"$$$$\n$$$$\n", filename="seps.sdf")


# ----------------------------------------------------------------------------- bytes problems


def test_empty_inputs():
    for data in (b"", b"  \n\n", b""):
        with pytest.raises(UserTableError, match="empty"):
            load_user_table(data, filename="e.csv")
    with pytest.raises(UserTableError, match="empty"):
        load_user_table(io.BytesIO(b""))


def test_encodings_latin1_bom_utf16_and_binary():
    latin = "smiles;Bemerkung;Aktivität\nCCO;café;5,0\nCCN;été;6\n".encode("latin-1")
    df = read_table(latin, filename="de.txt")
    assert df.columns.tolist() == ["smiles", "Bemerkung", "Aktivität"] and df["Bemerkung"].tolist() == ["café", "été"]

    bom = "\ufeffSMILES,y\nCCO,1.5\n".encode("utf-8")
    assert read_table(bom, filename="b.csv").columns.tolist() == ["SMILES", "y"]
    utf16 = "smiles\ty\nCCO\t2.5\n".encode("utf-16")  # Excel's "Unicode text" export
    task, _ = load_user_table(utf16, filename="u.txt")
    assert task.labels.tolist() == [2.5]

    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256))
    with pytest.raises(UserTableError, match=r"could not decode the file as text with the utf-8, utf-8-sig or latin-1"):
        load_user_table(png, filename="plot.csv")


def test_size_limit(tmp_path):
    assert MAX_UPLOAD_MB == 20
    big = b"smiles,y\n" + b"CCO,1\n" * (20 * 2**20 // 6 + 10)
    with pytest.raises(UserTableError, match=r"too large: 20\.0 MB, the limit is 20 MB"):
        read_table(big, filename="big.csv")
    path = tmp_path / "small.csv"
    path.write_bytes(b"smiles,y\n" + b"CCO,1\n" * 400)
    with pytest.raises(UserTableError, match="the limit is 0.001 MB"):
        read_table(path, max_mb=0.001)
    bomb = gzip.compress(b"smiles,y\n" + b"CCO,1\n" * 2000)
    with pytest.raises(UserTableError, match="too large once decompressed"):
        read_table(bomb, filename="b.csv.gz", max_mb=0.005)
    with pytest.raises(UserTableError, match="could not be decompressed"):
        read_table(b"\x1f\x8b\x08\x00broken", filename="b.csv.gz")


def test_size_limit_is_read_when_called(tmp_path, monkeypatch):
    import assays.sources.tables as tables

    path = tmp_path / "small.csv"
    path.write_bytes(b"smiles,y\n" + b"CCO,1\n" * 400)
    monkeypatch.setattr(read, "MAX_UPLOAD_MB", 0.001)
    assert tables.MAX_UPLOAD_MB == 0.001
    for load in (read_table, load_user_table):
        with pytest.raises(UserTableError, match="the limit is 0.001 MB"):
            load(path)
