"""sciml.support_only.SupportOnlyModel: support-only baselines behind the FewShotModel interface."""

from __future__ import annotations

import numpy as np
import pytest

from sciml.learners.base import SupportSetError
from sciml.support_only import SUPPORT_ONLY_LEARNERS, SupportOnlyModel, default_support_only_learner

SMILES = ["CCO", "CCN", "c1ccccc1", "CC(=O)O", "CCCl", "c1ccccc1O", "CCCCO", "c1ccncc1", "CCOC", "CCC"]
LABELS = [1, 0, 1, 0, 1, 1, 0, 1, 0, 0]


@pytest.mark.parametrize("learner", SUPPORT_ONLY_LEARNERS)
def test_fit_predict_one_row_per_input_and_bad_rows_named(learner):
    smiles = SMILES + ["not a smiles", "CCO"]  # an invalid row and a repeat with a different label
    y = LABELS + [1, 0]
    m = SupportOnlyModel(learner, task="classification").fit(smiles, y)
    errs = dict(zip(m.support_errors_["row"], m.support_errors_["error"]))
    assert set(errs) == {0, 10, 11} and "SMILES" in errs[10]  # the conflicting repeat drops both CCO rows
    assert m.n_support_ == 9 and "CCO" not in m.support_smiles_
    out = m.predict(["c1ccccc1C", "", "xx", "CCCCl"])
    assert out["smiles"].tolist() == ["c1ccccc1C", "", "xx", "CCCCl"]
    assert out["error"].eq("").tolist() == [True, False, False, True]
    p = out["prediction"].to_numpy()
    assert np.isfinite(p[[0, 3]]).all() and np.isnan(p[[1, 2]]).all() and ((p[[0, 3]] >= 0) & (p[[0, 3]] <= 1)).all()


def test_regression_gp_check_and_domain_use_the_same_interface():
    y = np.linspace(4.0, 8.0, len(SMILES))
    m = SupportOnlyModel("gp_tanimoto", task="regression", level=0.8).fit(SMILES, y)
    cv = m.cross_validate()
    assert cv["measured"].tolist() == y.tolist() and cv["prediction"].notna().all()
    assert (cv["lower"] < cv["prediction"]).all() and (cv["prediction"] < cv["upper"]).all()
    grouped = m.cross_validate(3, groups=True)
    assert "group" in grouped.columns and grouped.attrs["groups"] == "scaffold"
    dom = m.domain(["CCO", "c1ccc2ccccc2c1", "xx"])
    assert dom["nearest_similarity"].iloc[0] == 1.0 and dom["in_domain"].isna().tolist() == [False, False, True]
    assert m.calibration == {} and m.hit_rate is None


def test_seeded_forest_repeats_and_bad_arguments():
    a = SupportOnlyModel("rf", seed=3).fit(SMILES, LABELS).predict(["CCCCN"])["prediction"].item()
    b = SupportOnlyModel("rf", seed=3).fit(SMILES, LABELS).predict(["CCCCN"])["prediction"].item()
    assert a == b
    with pytest.raises(ValueError, match="learner must be one of"):
        SupportOnlyModel("protonet")
    with pytest.raises(ValueError, match="task must be one of"):
        SupportOnlyModel("rf", task="ranking")
    with pytest.raises(SupportSetError):
        SupportOnlyModel("rf").fit(SMILES[:4], [1, 1, 1, 1])  # one class
    assert default_support_only_learner("classification") == "rf"
    assert default_support_only_learner("regression") == "gp_tanimoto"
    assert "rf" in repr(SupportOnlyModel("rf"))
