"""One core for every kind of input: shared definitions give the numbers the hand-written ones gave,
learners run on a non-molecular toy domain, one not-fitted error, small modules, PyG-style models."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import sklearn.exceptions
import torch
from torch import nn

from sciml.domains.base import FeaturizeResult
from sciml.errors import NotFittedError
from sciml.learners import LEARNERS
from sciml.learners.base import TargetScaler
from sciml.learners.baselines import KNNTanimotoBaseline, RandomForestBaseline
from sciml.learners.bmaml import BMAML, BMAMLConfig, BMAMLLearner
from sciml.learners.dkgp import DeepKernelGP, DeepKernelGPLearner
from sciml.learners.gp import ExactGP, LaplaceGPClassifier, exact_gp_fit, exact_gp_predict
from sciml.learners.gp_baseline import TanimotoGPBaseline
from sciml.learners.maml import MAML, MAMLConfig, MAMLLearner
from sciml.learners.protonet import ProtoNet, ProtoNetLearner

LOG_2PI = math.log(2 * math.pi)


class MLP(nn.Module):
    """Encoder of the toy vector domain: ``[n, 3] -> [n, out_dim]``."""

    def __init__(self, out_dim: int = 4):
        super().__init__()
        self.out_dim = out_dim
        self.net = nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, out_dim))

    def forward(self, x):
        return self.net(x)


class VectorFeaturizer:
    """A non-molecular domain: inputs are 3-vectors (non-finite ones are invalid); ``collate`` stacks them."""

    @staticmethod
    def featurize(inputs, progress=False):
        items, errors = [], {}
        for i, v in enumerate(inputs):
            t = torch.as_tensor(v, dtype=torch.float32)
            if t.shape != (3,) or not torch.isfinite(t).all():
                items.append(None)
                errors[i] = "not a finite 3-vector"
            else:
                items.append(t)
        return FeaturizeResult(items, errors)

    @staticmethod
    def collate(items):
        return torch.stack(list(items))

    def encoder_dims(self):
        return {}


def _vectors(n, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3)).astype(np.float32)
    return [row for row in x], (x[:, 0] > 0).astype(float), 2.0 * x[:, 0] - x[:, 1]


# ------------------------------------------------------------------ one definition, same numbers
def test_maml_regression_loss_is_the_shared_gaussian_nll_bit_for_bit():
    g = torch.Generator().manual_seed(0)
    out, y = torch.randn(50, 2, generator=g), torch.randn(50, generator=g)
    model = MAML(nn.Identity(), MAMLConfig(task="regression", head_hidden=0), embed_dim=3)
    mean, log_var = out[:, 0], out[:, 1].clamp(-10.0, 10.0)
    by_hand = 0.5 * (log_var + (y - mean).pow(2) * torch.exp(-log_var) + LOG_2PI).mean()
    assert torch.equal(model.loss(out, y), by_hand)


def test_bmaml_log_likelihood_and_mixture_nll_are_the_shared_gaussian_bit_for_bit():
    g = torch.Generator().manual_seed(1)
    out, y = torch.randn(4, 30, 2, generator=g, dtype=torch.float64), torch.randn(30, generator=g, dtype=torch.float64)
    model = BMAML(nn.Identity(), BMAMLConfig(task="regression", head_hidden=0), embed_dim=3)
    mu, log_var = out[..., 0], out[..., 1].clamp(-10.0, 10.0)
    log_comp = -0.5 * (log_var + (y[None] - mu).pow(2) * torch.exp(-log_var) + LOG_2PI)
    assert torch.equal(model.log_likelihood(out, y), log_comp.sum(-1))
    assert torch.equal(model.mixture_nll(out, y), -(torch.logsumexp(log_comp, 0) - math.log(4)).mean())


def _standardise_by_hand(y, ref):
    sd = ref.std(unbiased=False) if ref.numel() > 1 else torch.ones((), dtype=ref.dtype)
    return (y - ref.mean()) / torch.where(sd > 0, sd, torch.ones_like(sd))


@pytest.mark.parametrize("objective", ["predictive", "marginal"])
def test_deep_kernel_gp_regression_loss_matches_the_hand_written_formula(objective):
    torch.manual_seed(0)
    model = DeepKernelGP(MLP(), task="regression", objective=objective)
    x = torch.randn(13, 3)
    y = 3.0 * x[:, 0] + 0.2 * torch.randn(13)
    loss = model.episode_loss(x, 6, y[:6], y[6:])
    z = model.embed(x).double()
    ys, yq = y[:6].double(), y[6:].double()
    if objective == "marginal":
        y_all = torch.cat([ys, yq])
        lml = exact_gp_fit(model.kernel(z), _standardise_by_hand(y_all, y_all), model.noise)[2]
        by_hand = (-lml / 13).float()
    else:
        L, alpha, _ = exact_gp_fit(model.kernel(z[:6]), _standardise_by_hand(ys, ys), model.noise)
        mu, var = exact_gp_predict(L, alpha, model.kernel(z[6:], z[:6]), model.kernel.diag(z[6:]))
        var = var + model.noise
        by_hand = (0.5 * (LOG_2PI + var.log() + (_standardise_by_hand(yq, ys) - mu) ** 2 / var)).mean().float()
    torch.testing.assert_close(loss, by_hand, rtol=1e-6, atol=0)  # float64 algebra, float32 result
    assert loss.item() == pytest.approx(by_hand.item(), rel=1e-12)


@pytest.mark.parametrize("y", [[3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0, 5.0], [2.5, 2.5, 2.5], [7.0]])
def test_target_scaler_on_tensors_and_arrays_is_exact_gp_standardisation(y):
    t = torch.tensor(y, dtype=torch.float64)
    sc = TargetScaler.fit(t)
    sd = float(t.std(unbiased=False))
    assert (sc.mean, sc.std) == (float(t.mean()), sd if sd > 0 else 1.0)  # population std, 1 when constant
    np.testing.assert_allclose([sc.mean, sc.std], list(TargetScaler.fit(np.array(y)).__dict__.values()), rtol=1e-15)
    gp = ExactGP("rbf").fit(np.arange(len(y), dtype=float)[:, None], y, steps=0)
    assert (gp.y_mean_, gp.y_scale_) == (sc.mean, sc.std) and torch.equal(gp.t_, sc.transform(t))
    assert TargetScaler.from_state(sc.state()) == sc


# ------------------------------------------------------------------ domain-generic meta-learners
def _toy_learners():
    torch.manual_seed(0)
    return {
        "protonet": ProtoNetLearner(ProtoNet(MLP()), VectorFeaturizer(), device="cpu"),
        "maml-head": MAMLLearner(MAML(MLP(), MAMLConfig(inner_steps=2, head_hidden=4)), VectorFeaturizer(),
                                 device="cpu"),
        "maml-all": MAMLLearner(MAML(MLP(), MAMLConfig(inner_steps=2, head_hidden=4, adapt="all")), VectorFeaturizer(),
                                device="cpu", batch_size=3),
        "bmaml": BMAMLLearner(BMAML(MLP(), BMAMLConfig(n_particles=3, head_hidden=4)), VectorFeaturizer(),
                              device="cpu"),
        "dkgp": DeepKernelGPLearner(DeepKernelGP(MLP()), VectorFeaturizer(), device="cpu", adapt_steps=3),
        "dkgp-reg": DeepKernelGPLearner(DeepKernelGP(MLP(), task="regression"), VectorFeaturizer(), device="cpu",
                                        adapt_steps=3),
    }


@pytest.mark.parametrize("key", list(_toy_learners()))
def test_meta_learners_work_on_a_non_molecular_domain(key):
    learner = _toy_learners()[key]
    assert type(learner).domains is None  # any domain, through the checkpoint's featurizer
    support, labels, targets = _vectors(8, 0)
    query, _, _ = _vectors(5, 1)
    y = targets if learner.task == "regression" else labels
    pred = learner.fit(support, y).predict(query)
    assert pred.mean.shape == (5,) and np.isfinite(pred.mean).all() and learner.n_support_ == 8
    with pytest.raises(ValueError, match=r"input 1 .*not a finite 3-vector"):
        learner.featurize([support[0], [np.nan, 0.0, 0.0]])


def test_fingerprint_baselines_are_molecule_only():
    assert RandomForestBaseline.domains == KNNTanimotoBaseline.domains == TanimotoGPBaseline.domains == ("molecules",)
    assert {name for name, cls in LEARNERS.items() if cls.domains is None} == {
        "protonet", "maml", "fomaml", "reptile", "bmaml", "dkgp", "cnp"}


# ------------------------------------------------------------------ one not-fitted error
@pytest.mark.parametrize("make", [
    lambda: _toy_learners()["protonet"], lambda: _toy_learners()["maml-head"], lambda: _toy_learners()["bmaml"],
    lambda: _toy_learners()["dkgp"], RandomForestBaseline, KNNTanimotoBaseline, TanimotoGPBaseline,
])
def test_every_learner_raises_the_one_not_fitted_error(make):
    learner = make()
    X = np.zeros((2, 2048 if learner.domains else 4), dtype=np.float32)
    with pytest.raises(NotFittedError, match=rf"This {type(learner).__name__} is not fitted yet: call fit"):
        learner.predict_features(X)
    assert issubclass(NotFittedError, sklearn.exceptions.NotFittedError)


@pytest.mark.parametrize("gp", [ExactGP("rbf"), LaplaceGPClassifier("rbf")])
def test_gp_models_raise_the_one_not_fitted_error(gp):
    with pytest.raises(NotFittedError, match="call fit\\(X, y\\) first"):
        gp.predict(np.zeros((1, 2)))
    with pytest.raises(NotFittedError):
        gp.fitted_state()


# ------------------------------------------------------------------ models and modules
def test_models_reset_parameters_and_repr():
    torch.manual_seed(0)
    maml = MAML(MLP(), MAMLConfig(meta_sgd=True, inner_lr=0.1, head_hidden=4))
    proto = ProtoNet(MLP(), init_scale=0.5)
    bmaml = BMAML(MLP(), BMAMLConfig(n_particles=2, head_hidden=3))
    dkgp = DeepKernelGP(MLP(), task="regression", lengthscale=0.7, noise=0.2)
    with torch.no_grad():
        for p in [*maml.parameters(), *proto.parameters(), *bmaml.parameters(), *dkgp.parameters()]:
            p.add_(1.0)
    head_before, particles_before = maml.head[0].weight.clone(), bmaml.init_particles.clone()
    for m in (maml, proto, bmaml, dkgp):
        m.reset_parameters()
        assert repr(m).startswith(f"{type(m).__name__}(MLP(") and repr(m).endswith(")")
    assert all(torch.allclose(v.exp(), torch.full_like(v, 0.1)) for v in maml.log_lrs.values())
    assert not torch.equal(maml.head[0].weight, head_before)
    assert proto.scale.item() == pytest.approx(0.5)
    assert bmaml.init_particles.shape == particles_before.shape and not torch.equal(bmaml.init_particles,
                                                                                     particles_before)
    assert dkgp.kernel.params()["lengthscale"].item() == pytest.approx(0.7)
    assert dkgp.kernel.outputscale.item() == pytest.approx(1.0) and dkgp.noise.item() == pytest.approx(0.2)


def test_learner_modules_are_small():
    root = Path(__file__).resolve().parents[3] / "sciml" / "learners"
    sizes = {str(p.relative_to(root)): len(p.read_text().splitlines()) for p in root.rglob("*.py")}
    assert sizes and max(sizes.values()) <= 450, {k: v for k, v in sizes.items() if v > 450}
