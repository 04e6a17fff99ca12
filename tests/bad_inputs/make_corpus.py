"""Write the bad-input corpus: small support and query tables, each with the outcome `sciml predict` must give.

    python tests/bad_inputs/make_corpus.py      # rewrites tests/bad_inputs/files/ and cases.json

Every file is synthetic (molecules written here, values made up); nothing comes from
``../shared``. ``cases.json`` lists, per case: the file, its role (``support`` or
``query``; the other side is a good table), and the expected outcome: ``"error"`` with a
phrase the message must contain (it must also name the file), or ``"handled"`` with the
query rows whose ``error`` cell must be filled (every other row predicted).
The corpus is run by ``tests/bad_inputs/test_corpus.py`` (CLI and API) and by
``benchmarks/robustness.py`` (the report).
"""

from __future__ import annotations

import gzip
import io
import json
import random
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
FILES = HERE / "files"

MOLS = ["CCO", "CCN", "c1ccccc1", "CCCl", "CC(=O)O", "c1ccccc1O", "CCOC", "c1ccncc1", "CC(N)=O", "OCCO",
        "CCCCO", "c1ccc(C)cc1"]
VALUES = [7.25, 6.5, 8.1, 5.9, 6.2, 7.7, 6.8, 7.1, 5.5, 6.0, 6.6, 7.9]
QUERY = ["CCCO", "c1ccccc1C", "CCOCC", "NCCO", "c1ccccc1N"]


def _support_csv(sep: str = ",", decimal: str = ".", header=("smiles", "pKi"), rows=None) -> str:
    rows = rows if rows is not None else list(zip(MOLS, VALUES))
    lines = [sep.join(header)] + [sep.join([s, str(v).replace(".", decimal)]) for s, v in rows]
    return "\n".join(lines) + "\n"


def _query_csv(smiles=QUERY, sep=",") -> str:
    return "\n".join([sep.join(["id", "smiles"])] + [f"q{i}{sep}{s}" for i, s in enumerate(smiles)]) + "\n"


def _xlsx(text: str) -> bytes:
    buf = io.BytesIO()
    pd.read_csv(io.StringIO(text), dtype=str).to_excel(buf, index=False)
    return buf.getvalue()


def _sdf(smiles: list[str], broken_at: int) -> str:
    from rdkit import Chem

    blocks = []
    for i, s in enumerate(smiles):
        if i == broken_at:
            blocks.append("broken\n  not a molfile\n\nM  END\n$$$$\n")
        else:
            blocks.append(Chem.MolToMolBlock(Chem.MolFromSmiles(s)) + f">  <id>\nq{i}\n\n$$$$\n")
    return "".join(blocks)


def cases() -> list[tuple[str, str, bytes, dict]]:
    """``(name, role, bytes, expectation)`` for every case; the file is ``files/<name>``."""
    rng = random.Random(0)
    ok = _support_csv()
    c: list[tuple[str, str, bytes, dict]] = [
        # support tables that must go through
        ("support_ok.csv", "support", ok.encode(), {"outcome": "handled"}),
        ("support_semicolon_decimal_comma.csv", "support", _support_csv(";", ",").encode(), {"outcome": "handled"}),
        ("support_tab.tsv", "support", _support_csv("\t").encode(), {"outcome": "handled"}),
        ("support_bom.csv", "support", b"\xef\xbb\xbf" + ok.encode(), {"outcome": "handled"}),
        ("support_crlf.csv", "support", ok.replace("\n", "\r\n").encode(), {"outcome": "handled"}),
        ("support.csv.gz", "support", gzip.compress(ok.encode(), mtime=0), {"outcome": "handled"}),
        ("support.xlsx", "support", _xlsx(ok), {"outcome": "handled"}),
        ("support_utf16_bom.csv", "support", ok.encode("utf-16"), {"outcome": "handled"}),
        ("support_utf16_no_bom.csv", "support", ok.encode("utf-16-le"), {"outcome": "handled"}),
        ("support_latin1.csv", "support", ("name," + ok.replace("\n", "\nmol\xe9,", len(MOLS)).rstrip(",")
                                           ).encode("latin-1"), {"outcome": "handled"}),
        ("support_nan_inf_rows.csv", "support", _support_csv(rows=list(zip(MOLS, VALUES)) + [
            ("CCCCC", "nan"), ("CCCCN", "inf"), ("CCCCCl", ""), ("CCC=O", "n/a")]).encode(), {"outcome": "handled"}),
        ("support_invalid_smiles_rows.csv", "support", _support_csv(rows=list(zip(MOLS, VALUES)) + [
            ("not-a-smiles", 6.1), ("C1CC", 5.0), ("", 7.0)]).encode(), {"outcome": "handled"}),
        ("support_conflicting_duplicates.csv", "support", _support_csv(rows=list(zip(MOLS, VALUES)) + [
            ("OCC", 7.25), ("NCC", 9.0)]).encode(), {"outcome": "handled"}),
        ("support_extra_columns.csv", "support", ("compound_id,smiles,pKi,assay_date\n" + "".join(
            f"c{i},{s},{v},2026-01-0{i % 9 + 1}\n" for i, (s, v) in enumerate(zip(MOLS, VALUES)))).encode(),
         {"outcome": "handled"}),
        # support tables that must be refused with a clear message
        ("support_binary.csv", "support", bytes(rng.randrange(256) for _ in range(600)),
         {"outcome": "error", "phrase": "binary"}),
        ("support_empty.csv", "support", b"", {"outcome": "error", "phrase": "empty"}),
        ("support_header_only.csv", "support", b"smiles,pKi\n", {"outcome": "error", "phrase": "no data rows"}),
        ("support_no_structure_column.csv", "support", ("id,pKi\n" + "".join(
            f"c{i},{v}\n" for i, v in enumerate(VALUES))).encode(), {"outcome": "error", "phrase": "SMILES column"}),
        ("support_two_value_columns.csv", "support", ("smiles,pKi,pIC50\n" + "".join(
            f"{s},{v},{v + 0.3}\n" for s, v in zip(MOLS, VALUES))).encode(),
         {"outcome": "error", "phrase": "more than one numeric column"}),
        ("support_class_codes.csv", "support", ("smiles,active\n" + "".join(
            f"{s},{i % 3}\n" for i, s in enumerate(MOLS))).encode(), {"outcome": "error", "phrase": "class labels"}),
        ("support_three_text_labels.csv", "support", ("smiles,outcome\n" + "".join(
            f"{s},{['active', 'inactive', 'inconclusive'][i % 3]}\n" for i, s in enumerate(MOLS))).encode(),
         {"outcome": "error", "phrase": "no value column"}),
        ("support_huge_values.csv", "support", _support_csv(rows=[(s, f"{v}e300") for s, v in zip(MOLS, VALUES)]
                                                            ).encode(), {"outcome": "error", "phrase": "rescale"}),
        ("support_one_row.csv", "support", _support_csv(rows=[("CCO", 7.0)]).encode(),
         {"outcome": "error", "phrase": "at least 2"}),
        ("support_all_invalid.csv", "support", _support_csv(rows=[("xx", 1.0), ("yy", 2.0), ("zz(", 3.0)]).encode(),
         {"outcome": "error", "phrase": "usable"}),
        ("support_one_class.csv", "support", ("smiles,active\n" + "".join(f"{s},1\n" for s in MOLS)).encode(),
         {"outcome": "error", "phrase": "only one class"}),
        # query tables: one output row per input row, the error column filled where a row cannot be predicted
        ("query_ok.csv", "query", _query_csv().encode(), {"outcome": "handled", "error_rows": []}),
        ("query_semicolon.csv", "query", _query_csv(sep=";").encode(), {"outcome": "handled", "error_rows": []}),
        ("query_invalid_rows.csv", "query", _query_csv(QUERY[:2] + ["not-a-smiles", "", "C1CC"] + QUERY[2:]
                                                       ).encode(), {"outcome": "handled", "error_rows": [2, 3, 4]}),
        ("query_utf16_no_bom.csv", "query", _query_csv().encode("utf-16-le"), {"outcome": "handled",
                                                                             "error_rows": []}),
        ("query.csv.gz", "query", gzip.compress(_query_csv().encode(), mtime=0), {"outcome": "handled",
                                                                                "error_rows": []}),
        ("query_broken_record.sdf", "query", _sdf(QUERY, broken_at=1).encode(), {"outcome": "handled",
                                                                               "error_rows": [1]}),
        ("query_crlf_bom.csv", "query", b"\xef\xbb\xbf" + _query_csv().replace("\n", "\r\n").encode(),
         {"outcome": "handled", "error_rows": []}),
        ("query_binary.csv", "query", bytes(rng.randrange(256) for _ in range(600)),
         {"outcome": "error", "phrase": "binary"}),
        ("query_no_structure_column.csv", "query", b"id,name\n1,a\n2,b\n", {"outcome": "error",
                                                                            "phrase": "SMILES"}),
        ("query_empty.csv", "query", b"", {"outcome": "error", "phrase": "empty"}),
    ]
    return c


def main() -> None:
    FILES.mkdir(parents=True, exist_ok=True)
    for old in FILES.iterdir():
        old.unlink()
    listing = []
    for name, role, data, expect in cases():
        (FILES / name).write_bytes(data)
        listing.append({"file": name, "role": role, **expect})
    (HERE / "cases.json").write_text(json.dumps(listing, indent=1) + "\n")
    print(f"wrote {len(listing)} cases to {FILES}")


if __name__ == "__main__":
    main()
