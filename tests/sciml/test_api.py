"""FewShotClassifier on a tiny (untrained) checkpoint: row alignment, per-row errors, support validation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from sciml.api import FewShotClassifier
from sciml.errors import NotFittedError
from sciml.checkpoint import CheckpointError, save_checkpoint
from sciml.encoders import build_encoder
from sciml.domains.molecules.graphs import ATOM_DIM, BOND_DIM, MolGraphFeaturizer
from sciml.graphs import embed_inputs
from sciml.learners.base import SupportSetError
from sciml.learners.protonet import ProtoNet, prototypes, squared_distances

SUPPORT = ["c1ccccc1", "Cc1ccccc1", "not_a_smiles", "Clc1ccccc1", "CCO", "CCCO", "CCCCO", "CC(C)O"]
LABELS = [1, 1, 1, 0, 0, 0, float("nan"), 0]
#          0  1  2(bad smiles)  3 ...  6 (NaN label)
# Clc1ccccc1 is labelled 0 on purpose: the support must be read row by row, not by position among valid rows.


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    torch.manual_seed(0)
    feat = MolGraphFeaturizer(cache=False)
    enc_cfg = dict(atom_dim=ATOM_DIM, bond_dim=BOND_DIM, hidden=16, depth=2, out_dim=8, dropout=0.0,
                   norm="batch", pooling="mean")
    model = ProtoNet(build_encoder("gine", enc_cfg)).eval()
    return save_checkpoint(tmp_path_factory.mktemp("api") / "ckpt", model, feat, encoder="gine",
                           encoder_config=model.encoder.config.to_dict(), learner_config={"learn_scale": True})


@pytest.fixture
def clf(ckpt, tmp_path, monkeypatch):
    # a private cache: the session-wide test cache may hold thousands of graphs from other tests, and
    # every featurize call reads the whole cache folder of its spec
    monkeypatch.setenv("SCIML_CACHE_DIR", str(tmp_path / "cache"))
    return FewShotClassifier.from_checkpoint(ckpt, device="cpu")


def test_fit_reports_bad_support_rows(clf):
    out = clf.fit(SUPPORT, LABELS)
    assert out is clf
    err = clf.support_errors_
    assert list(err.columns) == ["row", "smiles", "error"]
    assert err["row"].tolist() == [2, 6]
    assert err["smiles"].tolist() == ["not_a_smiles", "CCCCO"]
    assert "could not parse" in err.loc[0, "error"]
    assert "label" in err.loc[1, "error"]
    assert clf.n_support_ == 6


def test_fit_uses_the_right_rows(clf, ckpt):
    """Prototypes equal the class means of the embeddings of exactly the usable rows with their own labels."""
    clf.fit(SUPPORT, LABELS)
    model = clf.learner_.model
    ok = [0, 1, 3, 4, 5, 7]
    emb = torch.from_numpy(embed_inputs(model.encoder, clf.loaded_.featurizer, [SUPPORT[i] for i in ok]))
    y = torch.tensor([LABELS[i] for i in ok])
    torch.testing.assert_close(clf.learner_.prototypes_, prototypes(emb, y))

    # predict_proba = softmax(-scale * d) for class 1, computed by hand from those prototypes
    query = ["CCN", "Brc1ccccc1"]
    q = torch.from_numpy(embed_inputs(model.encoder, clf.loaded_.featurizer, query))
    d = squared_distances(q, prototypes(emb, y))
    s = model.scale.item()
    expected = np.exp(-s * d[:, 1].numpy()) / (np.exp(-s * d[:, 0].numpy()) + np.exp(-s * d[:, 1].numpy()))
    np.testing.assert_allclose(clf.predict_proba(query)["p_active"].to_numpy(), expected, rtol=1e-5)


def test_predict_proba_one_row_per_input_in_order(clf):
    clf.fit(SUPPORT, LABELS)
    query = ["CCN", "", "c1ccncc1", "C1CC", "CCO", "c1ccncc1"]
    df = clf.predict_proba(query)
    assert list(df.columns) == ["smiles", "p_active", "error"]
    assert len(df) == len(query)
    assert df["smiles"].tolist() == query
    bad = df["error"] != ""
    assert bad.tolist() == [False, True, False, True, False, False]
    assert df.loc[bad, "p_active"].isna().all()
    p = df.loc[~bad, "p_active"].to_numpy()
    assert np.isfinite(p).all() and ((p >= 0) & (p <= 1)).all()
    assert df.loc[2, "p_active"] == df.loc[5, "p_active"]  # duplicates agree
    # each valid row's probability equals predicting it alone (no mix-up of rows)
    for i in np.flatnonzero(~bad.to_numpy()):
        alone = clf.predict_proba([query[i]])["p_active"].iloc[0]
        assert alone == pytest.approx(df.loc[i, "p_active"], rel=1e-5)

    lab = clf.predict(query)
    assert lab["label"].isna().tolist() == bad.tolist()
    assert set(lab.loc[~bad, "label"].astype(int)) <= {0, 1}


def test_predict_proba_all_invalid(clf):
    clf.fit(SUPPORT, LABELS)
    df = clf.predict_proba(["", "xx("])
    assert len(df) == 2 and df["p_active"].isna().all() and (df["error"] != "").all()


def test_dataframe_input(clf):
    support = pd.DataFrame({"SMILES": SUPPORT, "y": LABELS})
    clf.fit(support, support["y"])
    assert clf.n_support_ == 6
    df = clf.predict_proba(pd.DataFrame({"SMILES": ["CCN", "CCO"]}))
    assert df["smiles"].tolist() == ["CCN", "CCO"]


def test_one_class_support_raises(clf):
    with pytest.raises(SupportSetError, match="one class"):
        clf.fit(["CCO", "CCN", "CCC"], [1, 1, 1])
    # the only negative is invalid -> one class left
    with pytest.raises(SupportSetError, match="one class"):
        clf.fit(["CCO", "CCN", "bad("], [1, 1, 0])
    with pytest.raises(SupportSetError, match="none of the"):
        clf.fit(["bad(", ""], [1, 0])


def test_length_mismatch_raises(clf):
    with pytest.raises(ValueError, match="3 molecules but 2 labels"):
        clf.fit(["CCO", "CCN", "CCC"], [1, 0])


def test_predict_before_fit_raises(clf):
    with pytest.raises(NotFittedError, match="not fitted"):
        clf.predict_proba(["CCO"])


def test_bad_checkpoint_path(tmp_path):
    with pytest.raises(CheckpointError):
        FewShotClassifier.from_checkpoint(tmp_path / "missing", device="cpu")


# ------------------------------------------------------------------ grouped (scaffold) cross-validation

#: Four scaffolds: benzene (4), pyridine (4), cyclohexane (2) and none (acyclic, 2); both classes in each.
SCAFFOLD_SUPPORT = ["Cc1ccccc1", "Oc1ccccc1", "Nc1ccccc1", "Clc1ccccc1", "Cc1ccncc1", "Oc1ccncc1", "Nc1ccncc1",
                    "Clc1ccncc1", "OC1CCCCC1", "NC1CCCCC1", "CCO", "CCCN"]
SCAFFOLD_LABELS = [1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0]


def test_cross_validate_by_scaffold_keeps_each_scaffold_in_one_fold(clf):
    from sciml.domains.molecules.scaffolds import murcko_scaffolds

    clf.fit(SCAFFOLD_SUPPORT, SCAFFOLD_LABELS)
    before = clf.predict_proba(["CCN", "c1ccccc1O"])
    cv = clf.cross_validate(n_folds=3, groups="scaffold")
    assert list(cv.columns) == ["smiles", "measured", "prediction", "std", "lower", "upper", "covered", "fold", "group"]
    assert cv["smiles"].tolist() == SCAFFOLD_SUPPORT and cv["group"].tolist() == murcko_scaffolds(SCAFFOLD_SUPPORT)
    assert cv.groupby("group")["fold"].nunique().eq(1).all()
    assert sorted(cv["fold"].unique()) == [0, 1, 2] and cv.attrs == {"n_folds": 3, "groups": "scaffold"}
    assert np.isfinite(cv["prediction"]).all()
    pd.testing.assert_frame_equal(clf.predict_proba(["CCN", "c1ccccc1O"]), before)  # fitted state restored
    pd.testing.assert_frame_equal(clf.cross_validate(n_folds=3, groups=True), cv)  # any "grouped" value, same folds
    # n_folds=None leaves one scaffold out at a time
    assert clf.cross_validate(groups="scaffold").attrs["n_folds"] == 4


def test_cross_validate_plain_folds_have_a_fold_column(clf):
    clf.fit(SCAFFOLD_SUPPORT, SCAFFOLD_LABELS)
    loo = clf.cross_validate()
    assert loo["fold"].tolist() == list(range(len(SCAFFOLD_SUPPORT))) and "group" not in loo
    kfold = clf.cross_validate(n_folds=4, seed=1)
    assert sorted(kfold["fold"].value_counts().tolist()) == [3, 3, 3, 3] and kfold.attrs["groups"] is None


def test_cross_validate_by_scaffold_with_few_scaffolds(clf, caplog):
    clf.fit(SCAFFOLD_SUPPORT, SCAFFOLD_LABELS)
    with caplog.at_level("WARNING", logger="sciml.api"):
        cv = clf.cross_validate(n_folds=10, groups="scaffold")
    assert cv.attrs["n_folds"] == 4 and cv["fold"].nunique() == 4
    assert "4 distinct scaffolds: 4-fold cross-validation by scaffold instead of 10-fold" in caplog.text
    clf.fit(SCAFFOLD_SUPPORT[:4], SCAFFOLD_LABELS[:4])
    with pytest.raises(SupportSetError, match=r"at least 2 distinct scaffolds; all 4 share one \(c1ccccc1\)"):
        clf.cross_validate(n_folds=5, groups="scaffold")
    with pytest.raises(ValueError, match="groups must be None or one of"):
        clf.cross_validate(groups="murcko")


def test_cross_validate_asks_the_domain_for_its_groups(clf, monkeypatch):
    """Grouped folds come from the checkpoint's domain (here a stand-in with its own groups), never a name test."""
    from sciml.domains import Domain, MoleculeDomain

    calls = []

    class ByLength(MoleculeDomain):
        group_name = "series"

        def group_keys(self, inputs):
            return ["short" if len(s) < 9 else "long" for s in inputs]

        def group_kfold(self, inputs, n_folds, seed=0):
            calls.append((len(inputs), n_folds, seed))
            return Domain.group_kfold(self, inputs, n_folds, seed)

    class WithDomain:
        def __init__(self, loaded):
            self._loaded, self.domain = loaded, ByLength()

        def __getattr__(self, name):
            return getattr(self._loaded, name)

    clf.fit(SCAFFOLD_SUPPORT, SCAFFOLD_LABELS)
    monkeypatch.setattr(clf, "loaded_", WithDomain(clf.loaded_))
    cv = clf.cross_validate(n_folds=5, seed=3, groups="series")
    assert calls == [(len(SCAFFOLD_SUPPORT), 2, 3)]  # only two groups: two folds asked for
    assert set(cv["group"]) == {"short", "long"} and cv.groupby("group")["fold"].nunique().eq(1).all()
    assert cv.attrs == {"n_folds": 2, "groups": "series"}
