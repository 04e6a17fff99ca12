"""Prototypical networks: prototypes, distances and probabilities against hand computations; learner errors; training."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn
from torch_geometric.data import Batch

from sciml.encoders import build_encoder
from sciml.domains.molecules.graphs import ATOM_DIM, BOND_DIM, MolGraphFeaturizer
from sciml.errors import NotFittedError
from sciml.learners.base import FewShotLearner, SupportSetError
from sciml.learners.protonet import ProtoNet, ProtoNetLearner, prototypes, squared_distances

# Four support points in 2-D: class 0 at (0,0), (2,0) -> prototype (1,0); class 1 at (0,2), (0,4) -> (0,3).
SUPPORT = torch.tensor([[0.0, 0.0], [0.0, 2.0], [2.0, 0.0], [0.0, 4.0]])
SUPPORT_Y = torch.tensor([0, 1, 0, 1])
PROTOS = torch.tensor([[1.0, 0.0], [0.0, 3.0]])


def test_prototypes_are_class_means():
    torch.testing.assert_close(prototypes(SUPPORT, SUPPORT_Y), PROTOS)
    # float labels (as episodes store them) work the same
    torch.testing.assert_close(prototypes(SUPPORT, SUPPORT_Y.double()), PROTOS)
    # unbalanced support: class 1 is the mean of three points
    emb = torch.tensor([[1.0], [3.0], [5.0], [10.0]])
    torch.testing.assert_close(prototypes(emb, torch.tensor([1, 1, 1, 0])), torch.tensor([[10.0], [3.0]]))
    # an absent class gives a zero prototype instead of NaN
    out = prototypes(emb, torch.tensor([1, 1, 1, 1]))
    torch.testing.assert_close(out, torch.tensor([[0.0], [19.0 / 4]]))


def test_squared_distances_hand_example():
    q = torch.tensor([[1.0, 1.0], [0.0, 0.0], [3.0, 3.0]])
    # (1,1): to (1,0) -> 0+1 = 1, to (0,3) -> 1+4 = 5
    # (0,0): to (1,0) -> 1,       to (0,3) -> 9
    # (3,3): to (1,0) -> 4+9=13,  to (0,3) -> 9
    expected = torch.tensor([[1.0, 5.0], [1.0, 9.0], [13.0, 9.0]])
    d = squared_distances(q, PROTOS)
    assert d.shape == (3, 2)
    torch.testing.assert_close(d, expected)
    # matches torch.cdist squared
    torch.testing.assert_close(d, torch.cdist(q, PROTOS).pow(2))


def test_logits_and_probabilities_hand_example():
    model = ProtoNet(nn.Identity(), learn_scale=True, init_scale=0.5)
    assert model.scale.item() == pytest.approx(0.5)
    q = torch.tensor([[1.0, 1.0]])
    logits = model.logits(SUPPORT, SUPPORT_Y, q)
    # -0.5 * [1, 5]
    torch.testing.assert_close(logits, torch.tensor([[-0.5, -2.5]]))
    p = torch.softmax(logits, -1)
    # p(class 1) = e^-2.5 / (e^-0.5 + e^-2.5) = 1 / (1 + e^2)
    assert p[0, 1].item() == pytest.approx(1.0 / (1.0 + math.e**2), rel=1e-6)

    learner = ProtoNetLearner(model, featurizer=None, device="cpu")
    assert isinstance(learner, FewShotLearner) and learner.name == "protonet"
    learner.fit_features(SUPPORT.numpy(), SUPPORT_Y.numpy().astype(float))
    torch.testing.assert_close(learner.prototypes_, PROTOS)
    probs = learner.predict_proba_features(np.array([[1.0, 1.0], [0.0, 3.0], [3.0, 3.0]], dtype=np.float32))
    assert probs.dtype == np.float64 and probs.shape == (3,)
    # (0,3): d = [10, 0] -> 1 / (1 + e^-5); (3,3): d = [13, 9] -> 1 / (1 + e^-2)
    np.testing.assert_allclose(probs, [1 / (1 + math.e**2), 1 / (1 + math.e**-5), 1 / (1 + math.e**-2)], rtol=1e-6)


def test_scale_is_learnable_or_frozen():
    assert ProtoNet(nn.Identity(), learn_scale=True).log_scale.requires_grad
    assert not ProtoNet(nn.Identity(), learn_scale=False).log_scale.requires_grad

    class Enc(nn.Identity):
        out_dim = 64

    assert ProtoNet(Enc()).scale.item() == pytest.approx(1 / 64)  # default 1 / d


def test_fit_with_one_class_raises():
    learner = ProtoNetLearner(ProtoNet(nn.Identity()), featurizer=None, device="cpu")
    with pytest.raises(SupportSetError, match="only one class"):
        learner.fit_features(SUPPORT.numpy(), np.ones(4))
    with pytest.raises(SupportSetError, match="NaN"):
        learner.fit_features(SUPPORT.numpy(), np.array([0, 1, np.nan, 1]))
    with pytest.raises(SupportSetError, match="empty"):
        learner.fit_features(np.zeros((0, 2)), np.zeros(0))
    assert not hasattr(learner, "prototypes_")


def test_predict_before_fit_raises():
    learner = ProtoNetLearner(ProtoNet(nn.Identity()), featurizer=None, device="cpu")
    with pytest.raises(NotFittedError, match="not fitted"):
        learner.predict_proba_features(np.zeros((2, 2), dtype=np.float32))


POS = ["c1ccccc1", "Cc1ccccc1", "Clc1ccccc1", "Oc1ccccc1", "CCc1ccccc1", "Nc1ccccc1"]
NEG = ["CCO", "CCCO", "CCCCO", "CC(C)O", "CCN", "CCCCN"]


def test_episode_loss_decreases_with_training():
    torch.manual_seed(0)
    feat = MolGraphFeaturizer(cache=False)
    enc = build_encoder("gine", dict(atom_dim=ATOM_DIM, bond_dim=BOND_DIM, hidden=16, depth=2, out_dim=8,
                                     dropout=0.0, norm="layer", pooling="mean"))
    model = ProtoNet(enc)
    # support: 2 + 2, query: 4 + 4 (graphs ordered support first)
    support = POS[:2] + NEG[:2]
    query = POS[2:] + NEG[2:]
    batch = Batch.from_data_list([feat.smiles_to_graph(s) for s in support + query])
    sy = torch.tensor([1.0, 1.0, 0.0, 0.0])
    qy = torch.tensor([1.0] * 4 + [0.0] * 4)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(25):
        opt.zero_grad()
        loss = model.episode_loss(batch, 4, sy, qy)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[0] == pytest.approx(math.log(2), abs=0.5)  # near chance at the start
    assert losses[-1] < 0.5 * losses[0]
    assert model.log_scale.grad is not None  # the metric scale is trained too

    # the trained model used as a few-shot learner ranks the held-out molecules correctly
    learner = ProtoNetLearner(model, feat, device="cpu")
    learner.fit(support, [1, 1, 0, 0])
    p = learner.predict_proba(query)
    assert p[:4].min() > p[4:].max()
    with pytest.raises(ValueError, match="input 1"):
        learner.featurize(["CCO", "not-smiles"])
