"""Conditional neural process: shapes and set behaviour of the context module, meta-training on toy tasks that
need the support, the support-free prior, regression units, adapted state and checkpoint round trip."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score
from torch import nn

from sciml.learners.cnp import CNPLearner, ConditionalNP

pytestmark = pytest.mark.usefixtures("one_thread")


class _Encoder(nn.Module):
    """Identity on 3-d inputs (``batch.x``), so tests control the embeddings."""

    out_dim = 3

    def forward(self, batch):
        return batch.x


class _Batch:
    def __init__(self, x):
        self.x = x


def _episode(rng, n, shared, own):
    """Items whose label follows a direction shared by every task plus a strong one of the task's own."""
    x = rng.normal(size=(n, 3))
    logit = 1.0 * x @ shared + 3.0 * x @ own
    return torch.tensor(x, dtype=torch.float32), torch.tensor((logit > 0).astype(np.float32))


def test_context_module_shapes_empty_context_and_support_order():
    torch.manual_seed(0)
    model = ConditionalNP(_Encoder(), task="regression", hidden=16, heads=2).eval()
    es, ys, eq = torch.randn(7, 3), torch.randn(7), torch.randn(5, 3)
    out = model.head(es, ys, eq)
    assert out.shape == (5, 2)
    perm = torch.randperm(7)
    torch.testing.assert_close(model.head(es[perm], ys[perm], eq), out)  # a set: order does not matter
    assert model.head(es[:0], ys[:0], eq).shape == (5, 2)  # no support: the learned empty context
    mean, std = ConditionalNP.gaussian(out)
    assert (std > 0).all() and mean.shape == (5,)
    with pytest.raises(ValueError, match="multiple of heads"):
        ConditionalNP(_Encoder(), hidden=10, heads=4)
    with pytest.raises(ValueError, match="task must be"):
        ConditionalNP(_Encoder(), task="ranking")


def test_meta_trained_cnp_reads_the_support_and_its_prior_knows_the_shared_part():
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    shared = np.array([1.0, 0.0, 0.0])
    own_dirs = [np.array([0.0, 1.0, 0.0]), np.array([0.0, -1.0, 0.0]), np.array([0.0, 0.0, 1.0]),
                np.array([0.0, 0.0, -1.0])]
    model = ConditionalNP(_Encoder(), task="classification", hidden=32, heads=4, context_dropout=0.2)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    model.train()
    for step in range(400):
        x, y = _episode(rng, 40, shared, own_dirs[step % 4])
        opt.zero_grad()
        model.episode_loss(_Batch(x), 16, y[:16], y[16:]).backward()
        opt.step()
    learner = CNPLearner(model, featurizer=None, device="cpu")
    adapted, free = [], []
    for own in own_dirs:
        x, y = _episode(rng, 400, shared, own)
        z, yy = x.numpy(), y.numpy()
        adapted.append(roc_auc_score(yy[16:], learner.fit_features(z[:16], yy[:16]).predict_features(z[16:]).mean))
        free.append(roc_auc_score(yy[16:], learner.predict_support_free(z[16:], n_support=16).mean))
    # the task's own direction is only in the support: reading it must beat the prior by a wide margin
    assert np.mean(adapted) > 0.8 and np.mean(adapted) > np.mean(free) + 0.15
    assert 0.5 < np.mean(free) < 0.75  # the prior ranks by the shared direction only
    p = learner.predict_features(z[:5])
    assert ((p.mean > 0) & (p.mean < 1)).all() and (p.std == 0).all()


def test_regression_predictions_in_target_units_and_adapted_state_round_trip():
    torch.manual_seed(0)
    model = ConditionalNP(_Encoder(), task="regression", hidden=16, heads=2)
    learner = CNPLearner(model, featurizer=None, device="cpu", level=0.8)
    x = np.random.default_rng(1).normal(size=(12, 3)).astype(np.float32)
    y = 100.0 + 10.0 * x[:, 0]
    pred = learner.fit_features(x[:8], y[:8]).predict_features(x[8:])
    assert 50 < pred.mean.mean() < 150 and (pred.std > 0).all()  # back in the support's units
    assert ((pred.lower < pred.mean) & (pred.mean < pred.upper)).all()
    state = learner.adapted_state()
    assert {"support_X", "support_y", "n_support", "scaler.mean", "scaler.std"} <= set(state)
    other = CNPLearner(model, featurizer=None, device="cpu", level=0.8).load_adapted_state(state)
    np.testing.assert_allclose(other.predict_features(x[8:]).mean, pred.mean)
    with pytest.raises(ValueError, match="support rows"):
        other.load_adapted_state({**state, "support_y": state["support_y"][:3]})
    with pytest.raises(ValueError, match="cannot do classification"):
        CNPLearner(model, featurizer=None, device="cpu", task="classification")


def test_cnp_checkpoint_round_trip(tmp_path):
    from sciml.checkpoint import save_checkpoint
    from sciml.domains.molecules.graphs import ATOM_DIM, BOND_DIM, MolGraphFeaturizer
    from sciml.encoders import build_encoder

    torch.manual_seed(0)
    feat = MolGraphFeaturizer(cache=False)
    enc = build_encoder("gine", dict(atom_dim=ATOM_DIM, bond_dim=BOND_DIM, hidden=16, depth=2, out_dim=8,
                                      dropout=0.0, norm="batch", pooling="mean"))
    model = ConditionalNP(enc, task="classification", hidden=16, heads=2).eval()
    path = save_checkpoint(tmp_path / "cnp", model, feat, encoder="gine", encoder_config=enc.config.to_dict(),
                           learner="cnp", learner_config=model.config())
    learner = CNPLearner.from_checkpoint(path, device="cpu")
    assert learner.model.config() == model.config()
    smiles = ["CCO", "CCCO", "c1ccccc1", "Cc1ccccc1", "CCN", "c1ccncc1"]
    p = learner.fit(smiles[:4], [0, 0, 1, 1]).predict_proba(smiles[4:])
    ref = CNPLearner(model, feat, device="cpu").fit(smiles[:4], [0, 0, 1, 1]).predict_proba(smiles[4:])
    np.testing.assert_allclose(p, ref, rtol=1e-5)


def test_decoder_without_the_query_path_predicts_from_the_support_only():
    torch.manual_seed(0)
    model = ConditionalNP(_Encoder(), task="classification", hidden=16, heads=2, query_in_decoder=False).eval()
    assert model.config()["query_in_decoder"] is False
    eq = torch.randn(6, 3)
    free = model.head(eq[:0], torch.zeros(0), eq)
    assert torch.allclose(free, free[:1].expand_as(free))  # no support: one constant for every query
    rebuilt = ConditionalNP(_Encoder(), **{k: v for k, v in model.config().items()})
    assert set(rebuilt.state_dict()) == set(model.state_dict())
