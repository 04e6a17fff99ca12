"""`sciml predict` on awkward inputs: Excel-locale CSVs, class codes, size limits, chunked queries."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from assays.sources.tables import UserTableError, load_user_table, read_table
from sciml.cli import app

ROOT = Path(__file__).resolve().parents[2]
DEFAULT = str(ROOT / "data" / "checkpoints" / "default")
SUPPORT = [("CCO", "7.25"), ("CCN", "6.5"), ("c1ccccc1", "8.1"), ("CCCl", "5.9"), ("CC(=O)O", "6.2"),
           ("c1ccccc1O", "7.7")]
runner = CliRunner()


def _predict(tmp_path, support: str, query: str, *extra: str, out: str = "p.csv"):
    (tmp_path / "s.csv").write_text(support)
    (tmp_path / "q.csv").write_text(query)
    return runner.invoke(app, ["predict", "--support", str(tmp_path / "s.csv"), "--query", str(tmp_path / "q.csv"),
                               "--out", str(tmp_path / out), "--checkpoint", DEFAULT, "--device", "cpu", *extra])


def test_semicolon_csv_with_decimal_commas_is_detected_and_said():
    text = "compound_id;smiles;pKi\n" + "".join(f"c{i};{s};{v.replace('.', ',')}\n" for i, (s, v) in
                                                 enumerate(SUPPORT))
    df = read_table(text.encode(), filename="excel.csv")
    assert list(df.columns) == ["compound_id", "smiles", "pKi"]
    assert df["pKi"].tolist() == [v for _, v in SUPPORT]
    assert any("semicolon" in n for n in df.attrs["read_notes"])
    assert any("decimal comma" in n for n in df.attrs["read_notes"])
    task, _ = load_user_table(text.encode(), filename="excel.csv")
    assert task.kind == "regression" and np.allclose(task.labels, [float(v) for _, v in SUPPORT])
    # a comma-separated file keeps its quoted text untouched
    df = read_table(b'smiles,note\nCCO,"7,25"\n', filename="plain.csv")
    assert df["note"].tolist() == ["7,25"]


def test_semicolon_query_predicts_every_row(tmp_path):
    support = "smiles;pKi\n" + "".join(f"{s};{v.replace('.', ',')}\n" for s, v in SUPPORT)
    res = _predict(tmp_path, support, "id;smiles\nq1;CCCO\nq2;not-a-smiles\nq3;c1ccccc1C\n")
    assert res.exit_code == 0, res.output
    assert "semicolon-separated" in res.output and "task: regression" in res.output
    out = pd.read_csv(tmp_path / "p.csv")
    assert len(out) == 3 and out["error"].isna().tolist() == [True, False, True]


def test_class_codes_are_refused_by_the_cli_and_the_api_alike(tmp_path):
    from sciml.api import FewShotModel
    from sciml.learners.base import SupportSetError

    table = "smiles,active\nCCO,0\nCCN,1\nCCC,2\nCCCl,1\n"
    with pytest.raises(UserTableError, match="class labels"):
        load_user_table(table.encode(), filename="a.csv")
    res = _predict(tmp_path, table, "smiles\nCCO\n")
    assert res.exit_code != 0 and "class labels" in res.output and "Traceback" not in res.output
    model = FewShotModel(DEFAULT, device="cpu")  # its task is the checkpoint's (regression), not chosen
    with pytest.raises(SupportSetError, match="class labels"):
        model.fit(["CCO", "CCN", "CCC", "CCCl"], [0, 1, 2, 1])
    with pytest.raises(SupportSetError, match="binary"):
        model.fit(["CCO", "CCN", "CCC", "CCCl"], [0, 1, 0, 1])
    FewShotModel(DEFAULT, device="cpu", task="regression").fit(["CCO", "CCN", "CCC", "CCCl"], [0, 1, 2, 1])
    task, _ = load_user_table(table.encode(), filename="a.csv", kind="regression")  # said explicitly: allowed
    assert task.kind == "regression"


def test_max_size_is_checked_before_the_model_and_can_be_raised(tmp_path):
    support = "smiles,pKi\n" + "".join(f"{s},{v}\n" for s, v in SUPPORT)
    res = _predict(tmp_path, support, "smiles\nCCO\n", "--max-size", "0.00001")
    assert res.exit_code != 0 and "--max-size" in res.output and not (tmp_path / "p.csv").exists()
    res = _predict(tmp_path, support, "smiles\nCCO\n", "--max-size", "1")
    assert res.exit_code == 0, res.output


def test_chunked_query_gives_the_same_rows(tmp_path):
    support = "smiles,pKi\n" + "".join(f"{s},{v}\n" for s, v in SUPPORT)
    query = "smiles\n" + "\n".join(["CCCO", "bad(", "c1ccccc1C", "CCOC", "CC(N)=O", "c1ccncc1", "OCCO"]) + "\n"
    assert _predict(tmp_path, support, query, out="one.csv").exit_code == 0
    assert _predict(tmp_path, support, query, "--chunk-size", "2", out="two.csv").exit_code == 0
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "one.csv"), pd.read_csv(tmp_path / "two.csv"))


def test_an_unreadable_sdf_record_gives_its_own_reason(tmp_path):
    from rdkit import Chem

    good = Chem.MolToMolBlock(Chem.MolFromSmiles("CCO"))
    sdf = good + "$$$$\n" + "garbage\nnot a molfile\n\nM  END\n$$$$\n" + good + "$$$$\n"
    (tmp_path / "q.sdf").write_text(sdf)
    support = "smiles,pKi\n" + "".join(f"{s},{v}\n" for s, v in SUPPORT)
    (tmp_path / "s.csv").write_text(support)
    res = runner.invoke(app, ["predict", "--support", str(tmp_path / "s.csv"), "--query", str(tmp_path / "q.sdf"),
                              "--out", str(tmp_path / "p.csv"), "--checkpoint", DEFAULT, "--device", "cpu"])
    assert res.exit_code == 0, res.output
    out = pd.read_csv(tmp_path / "p.csv")
    assert len(out) == 3
    assert "empty" not in str(out.loc[1, "error"]).lower() and str(out.loc[1, "error"]) != "nan"


def test_api_fit_applies_the_loaders_duplicate_rule_and_size_rules():
    from sciml.api import FewShotModel
    from sciml.learners.base import SupportSetError

    m = FewShotModel(DEFAULT, device="cpu")
    m.fit(["CCO", "OCC", "CCN", "CCN", "c1ccccc1", "CCCl"], [5.0, 5.0, 6.0, 7.0, 8.0, 6.5])
    assert m.support_smiles_ == ["CCO", "c1ccccc1", "CCCl"]
    errs = dict(zip(m.support_errors_["row"], m.support_errors_["error"]))
    assert "merged" in errs[1] and "conflicting" in errs[2] and "conflicting" in errs[3]
    with pytest.raises(SupportSetError, match="at least 2"):
        m.fit(["CCO"], [5.0])
    with pytest.raises(SupportSetError, match="rescale"):
        m.fit(["CCO", "CCN", "CCC"], [5e300, 6e300, 7e300])
    with pytest.raises(ValueError, match="choose from cpu"):
        FewShotModel(DEFAULT, device="tpu")


def test_utf16_without_a_byte_order_mark_is_read():
    for enc in ("utf-16-le", "utf-16-be"):
        df = read_table("smiles,pKi\nCCO,7\nCCN,6\n".encode(enc), filename="u.csv")
        assert df.to_dict("list") == {"smiles": ["CCO", "CCN"], "pKi": ["7", "6"]}


@pytest.mark.parametrize("flag,value", [("--chunk-size", "0"), ("--max-size", "-1")])
def test_bad_size_options_are_refused(tmp_path, flag, value):
    support = "smiles,pKi\n" + "".join(f"{s},{v}\n" for s, v in SUPPORT)
    res = _predict(tmp_path, support, "smiles\nCCO\n", flag, value)
    assert res.exit_code != 0 and flag in res.output and "Traceback" not in res.output
