"""Bayesian MAML (head-only SVGD particles): SVGD by hand, repulsion, chaser loss and its
gradients, particle-mixture predictive, meta-training on synthetic regression tasks, learner."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn
from torch_geometric.data import Batch

from sciml.domains.molecules.graphs import MolGraphFeaturizer
from sciml.errors import NotFittedError
from sciml.learners.base import FewShotLearner, Prediction, SupportSetError, TargetScaler
from sciml.learners.bmaml import (BMAML, BMAMLConfig, BMAMLLearner, mixture_interval, mixture_prediction,
                                  rbf_kernel, svgd_direction, svgd_step)
from sciml.learners.maml import MAML, MAMLConfig
from sciml.losses import gaussian_nll
from tests.sciml.learners.models import tiny_gin

AROMATICS = ["c1ccccc1", "Cc1ccccc1", "CCc1ccccc1", "Clc1ccccc1"]
ALCOHOLS = ["CCO", "CCCO", "CCCCO", "CC(C)O"]
QUERY = ["CCCc1ccccc1", "Brc1ccccc1", "CCCCCCO"]
Z90 = 1.6448536269514722


pytestmark = pytest.mark.usefixtures("one_thread")


class Identity(nn.Identity):
    """Encoder for plain tensors, with the ``out_dim`` that BMAML reads."""

    def __init__(self, out_dim: int):
        super().__init__()
        self.out_dim = out_dim


def model(dim=3, dtype=torch.float64, seed=0, **cfg) -> BMAML:
    torch.manual_seed(seed)
    cfg.setdefault("normalize", False)  # hand-derived checks below use raw inputs
    return BMAML(Identity(dim), BMAMLConfig(**cfg)).to(dtype)


def test_config_validation_and_round_trip():
    c = BMAMLConfig(n_particles=3, bandwidth=0.5, task="regression", objective="nll", prior_std=math.inf)
    assert BMAMLConfig.from_dict(c.to_dict()) == c
    with pytest.raises(ValueError, match=r"keys \['adapt', 'meta_sgd'\] are not settings of .* BMAMLConfig"):
        BMAMLConfig.from_dict({**c.to_dict(), "meta_sgd": True, "adapt": "head"})  # e.g. a MAML learner_config
    for bad in (dict(n_particles=0), dict(bandwidth="mean"), dict(bandwidth=-1.0), dict(prior_std=0.0),
                dict(objective="elbo"), dict(task="ranking"), dict(chaser_steps=-1), dict(inner_lr=0.0)):
        with pytest.raises(ValueError):
            BMAMLConfig(**bad)
    m = model(n_particles=4, head_hidden=5)
    assert m.init_particles.shape == (4, 3 * 5 + 5 + 5 * 1 + 1) and m.n_params == 26
    assert list(m.state_dict()) == ["init_particles"]  # the head template is not a parameter
    assert not torch.equal(m.init_particles[0], m.init_particles[1])  # independently initialised heads


# ------------------------------------------------------------- 1. one particle = gradient ascent
@pytest.mark.parametrize("task", ["classification", "regression"])
def test_one_particle_svgd_step_is_gradient_ascent_on_log_posterior(task):
    m = model(task=task, n_particles=1, head_hidden=0, inner_lr=0.2, prior_std=2.0)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(6, 3, generator=g, dtype=torch.float64)
    y = torch.tensor([0.0, 1, 1, 0, 1, 0], dtype=torch.float64) if task == "classification" else torch.randn(
        6, generator=g, dtype=torch.float64)
    theta0 = m.init_particles.detach()
    # by hand: a linear head, theta = [W (n_out x 3), b (n_out)]
    th = theta0[0].clone().requires_grad_(True)
    n_out = m.n_out
    out = x @ th[: 3 * n_out].reshape(n_out, 3).T + th[3 * n_out :]
    if task == "classification":
        loglik = -nn.functional.binary_cross_entropy_with_logits(out[:, 0], y, reduction="sum")
    else:
        lv = out[:, 1]
        loglik = -0.5 * (lv + (y - out[:, 0]) ** 2 / lv.exp() + math.log(2 * math.pi)).sum()
    log_post = loglik - 0.5 * th.pow(2).sum() / 2.0**2
    (grad,) = torch.autograd.grad(log_post, th)
    expected = theta0[0] + (0.2 / 6) * grad  # inner_lr is per example: step = lr / n_support
    got = m.adapt(x, y, steps=1, detach=True)
    torch.testing.assert_close(got[0], expected, rtol=1e-10, atol=1e-12)


def test_one_particle_flat_prior_reproduces_maml_inner_loop():
    m = model(task="regression", n_particles=1, head_hidden=4, inner_lr=0.1, inner_steps=3, prior_std=math.inf)
    maml = MAML(Identity(3), MAMLConfig(normalize=False, inner_steps=3, inner_lr=0.1, head_hidden=4, task="regression")).double()
    with torch.no_grad():
        for (_, p), v in zip(maml.head.named_parameters(), m.unflatten(m.init_particles).values()):
            p.copy_(v[0])
    g = torch.Generator().manual_seed(1)
    x, y = torch.randn(7, 3, generator=g, dtype=torch.float64), torch.randn(7, generator=g, dtype=torch.float64)
    fast = maml.adapt_head(x, y, detach=True)
    ref = torch.cat([fast[n].reshape(-1) for n, _ in maml.head.named_parameters(prefix="head")])
    torch.testing.assert_close(m.adapt(x, y, detach=True)[0], ref, rtol=1e-9, atol=1e-12)


# ------------------------------------------------------------------------------ 2. repulsion
def test_repulsive_term_zero_for_identical_particles_and_pushes_distinct_ones_apart():
    a = torch.tensor([[0.3, -1.0, 2.0]], dtype=torch.float64)
    same = a.repeat(2, 1)
    grad = torch.randn(2, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    phi, driving, repulsive = svgd_direction(same, grad, return_parts=True)
    assert torch.equal(repulsive, torch.zeros_like(same))
    assert float(rbf_kernel(same)[1]) == 1.0  # median 0 -> bandwidth guard
    torch.testing.assert_close(phi, grad.mean(0, keepdim=True).repeat(2, 1))  # k = 1: average gradient
    # two distinct particles, zero log-posterior gradient: the step is pure repulsion
    theta = torch.tensor([[0.0, 0.0, 0.0], [1.0, 2.0, 2.0]], dtype=torch.float64)  # distance 3
    new = svgd_step(theta, lambda th: th.sum(-1) * 0.0, lr=0.5)
    assert (new[1] - new[0]).norm() > (theta[1] - theta[0]).norm()  # a pure-gradient step would not move
    # by hand: h = d^2 / log 3, k = 1/3, phi_0 = 1/2 * (2/h) * (theta_0 - theta_1) * k
    h = 9.0 / math.log(3)
    torch.testing.assert_close(new[0], theta[0] + 0.5 * (1 / h) * (theta[0] - theta[1]) / 3)
    torch.testing.assert_close(new[0] + new[1], theta[0] + theta[1])  # symmetric push


def test_model_svgd_with_flat_likelihood_and_huge_prior_std_spreads_particles():
    for prior_std in (math.inf, 1e8):
        m = model(n_particles=3, head_hidden=2, prior_std=prior_std, inner_steps=4)
        theta0 = m.init_particles.detach()
        # an empty support set: log-likelihood 0, so only the prior (flat) and the kernel act
        theta = m.adapt(torch.zeros(0, 3, dtype=torch.float64), torch.zeros(0, dtype=torch.float64), detach=True)
        assert (torch.pdist(theta) > torch.pdist(theta0)).all()
        torch.testing.assert_close(theta.mean(0), theta0.mean(0))  # repulsion conserves the centroid


# ------------------------------------------------------------------------------ 3. chaser loss
def _episode(seed=0, n=9, dim=3):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, dim, generator=g, dtype=torch.float64)
    y = torch.randn(n, generator=g, dtype=torch.float64)
    return x, y[:5], y[5:]


def test_chaser_loss_zero_without_leader_steps_and_differentiable():
    x, ys, yq = _episode()
    m0 = model(task="regression", n_particles=3, head_hidden=4, inner_steps=2, inner_lr=0.2, chaser_steps=0)
    assert m0.episode_loss(x, 5, ys, yq).item() == 0.0
    m = model(task="regression", n_particles=3, head_hidden=4, inner_steps=2, inner_lr=0.2, chaser_steps=1)
    loss = m.episode_loss(x, 5, ys, yq)
    loss.backward()
    grad = m.init_particles.grad
    assert loss.item() > 0 and torch.isfinite(grad).all() and grad.abs().sum() > 0
    # first order: d chaser / d theta_0 = I, so the gradient is 2 (chaser - leader) / P
    fo = model(task="regression", n_particles=3, head_hidden=4, inner_steps=2, inner_lr=0.2, first_order=True)
    fo.episode_loss(x, 5, ys, yq).backward()
    chaser, leader = fo.chaser_leader(x[:5], ys, x[5:], yq)
    torch.testing.assert_close(fo.init_particles.grad, 2 * (chaser - leader).detach() / fo.n_params)
    assert not torch.allclose(fo.init_particles.grad, grad)  # second-order terms matter


def test_second_order_adaptation_gradient_matches_finite_differences():
    x, ys, _ = _episode(seed=2)
    m = model(task="regression", n_particles=2, head_hidden=2, inner_steps=2, inner_lr=0.3, bandwidth=4.0,
              prior_std=1.5)

    def adapted(theta0):
        return m.adapt(x[:5], ys, theta=theta0, create_graph=True)

    theta0 = m.init_particles.detach().clone().requires_grad_(True)
    assert torch.autograd.gradcheck(adapted, (theta0,), eps=1e-6, atol=1e-5)


# ---------------------------------------------------------------------- 4. regression mixture
def _outputs(means, stds):
    means = torch.as_tensor(means, dtype=torch.float64)
    stds = torch.as_tensor(stds, dtype=torch.float64)
    return torch.stack([means, 2 * stds.log()], -1)  # [M, n, 2]: mean, log-variance


def test_identical_particles_give_a_single_gaussian():
    mu, sd = torch.tensor([0.5, -2.0, 3.0]), torch.tensor([1.0, 0.3, 2.5])
    pred = mixture_prediction(_outputs(mu.repeat(4, 1), sd.repeat(4, 1)), "regression", level=0.9)
    np.testing.assert_allclose(pred.mean, mu.numpy(), rtol=1e-6)
    np.testing.assert_allclose(pred.std, sd.numpy(), rtol=1e-5)
    np.testing.assert_allclose(pred.lower, (mu - Z90 * sd).numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(pred.upper, (mu + Z90 * sd).numpy(), rtol=1e-5, atol=1e-6)
    # the mixture NLL is the Gaussian NLL
    m = model(task="regression")
    y = torch.tensor([0.0, -1.0, 4.0], dtype=torch.float64)
    torch.testing.assert_close(m.mixture_nll(_outputs(mu.repeat(4, 1), sd.repeat(4, 1)), y),
                               gaussian_nll(y, mu.double(), log_var=2 * sd.double().log()))


def test_two_distant_particles_mixture_variance_and_interval_match_hand_and_monte_carlo():
    means = torch.tensor([[-3.0, 0.0], [4.0, 0.5]], dtype=torch.float64)  # [M=2, n=2]
    stds = torch.tensor([[1.0, 0.2], [0.5, 2.0]], dtype=torch.float64)
    pred = mixture_prediction(_outputs(means, stds), "regression", level=0.9)
    mix_mean = means.mean(0)
    mix_var = (stds**2 + means**2).mean(0) - mix_mean**2
    np.testing.assert_allclose(pred.mean, mix_mean.numpy())
    np.testing.assert_allclose(pred.std**2, mix_var.numpy(), rtol=1e-10)
    assert np.allclose(mix_var[0].item(), 0.5 * (1 + 0.25) + 3.5**2)  # within + between variance
    g = torch.Generator().manual_seed(0)
    n_mc = 200_000
    comp = torch.randint(0, 2, (n_mc, 2), generator=g)
    draws = means.gather(0, comp) + stds.gather(0, comp) * torch.randn(n_mc, 2, generator=g, dtype=torch.float64)
    q = torch.quantile(draws, torch.tensor([0.05, 0.95], dtype=torch.float64), dim=0)
    np.testing.assert_allclose(pred.lower, q[0].numpy(), atol=0.03)
    np.testing.assert_allclose(pred.upper, q[1].numpy(), atol=0.03)
    # exact: the mixture CDF at the bounds is 0.05 / 0.95; a Gaussian approximation is far off
    lo, hi = mixture_interval(means, stds, 0.9)
    cdf = lambda v: torch.special.ndtr((v - means) / stds).mean(0)  # noqa: E731
    torch.testing.assert_close(cdf(lo), torch.full((2,), 0.05, dtype=torch.float64))
    torch.testing.assert_close(cdf(hi), torch.full((2,), 0.95, dtype=torch.float64))
    assert abs(pred.lower[0] - (pred.mean[0] - Z90 * pred.std[0])) > 0.5


# -------------------------------------------------------------------------- 5. meta-training
def _regression_tasks(n_tasks, gen, n=15, dim=2):
    x = torch.randn(n_tasks, n, dim, generator=gen)
    a = torch.randn(n_tasks, 1, dim, generator=gen)
    b = 0.5 * torch.randn(n_tasks, 1, generator=gen)
    sd = 0.1 + 0.4 * torch.rand(n_tasks, 1, generator=gen)
    return x, (x * a).sum(-1) + b + sd * torch.randn(n_tasks, n, generator=gen)


def test_meta_training_reduces_query_nll_and_intervals_cover():
    torch.manual_seed(0)
    cfg = BMAMLConfig(n_particles=4, inner_steps=3, inner_lr=0.3, head_hidden=8, task="regression", objective="nll")
    m = BMAML(Identity(2), cfg)
    gen = torch.Generator().manual_seed(1)
    xv, yv = _regression_tasks(16, gen)

    def standardised(y):  # as meta-training and the learner do: targets in units of the support
        scaler = TargetScaler.fit(y[:5].numpy())
        return scaler.transform(y[:5]), scaler.transform(y[5:])

    def val_nll():
        return float(np.mean([m.episode_nll(xv[t], 5, *standardised(yv[t])).item() for t in range(len(xv))]))

    before = val_nll()
    opt = torch.optim.Adam(m.parameters(), lr=2e-2)
    for _ in range(40):
        x, y = _regression_tasks(4, gen)
        opt.zero_grad()
        (sum(m.episode_loss(x[t], 5, *standardised(y[t])) for t in range(4)) / 4).backward()
        opt.step()
    after = val_nll()
    assert after < before - 0.05, (before, after)
    xf, yf = _regression_tasks(16, torch.Generator().manual_seed(123))  # fresh tasks
    learner = BMAMLLearner(m, featurizer=None, device="cpu", level=0.9)  # Identity encoder: inputs are embeddings
    covered = []
    for t in range(len(xf)):
        pred = learner.fit_features(xf[t, :5].numpy(), yf[t, :5].numpy()).predict_features(xf[t, 5:].numpy())
        assert (pred.lower <= pred.mean).all() and (pred.mean <= pred.upper).all() and (pred.std > 0).all()
        yq = yf[t, 5:].numpy()
        covered.append((yq >= pred.lower) & (yq <= pred.upper))
    assert 0.7 <= np.mean(covered) <= 1.0, np.mean(covered)


# ------------------------------------------------------------------------------- 6. learner
def test_learner_on_embeddings_classification_and_regression():
    m = BMAML(Identity(4), BMAMLConfig(n_particles=3, inner_steps=2, inner_lr=0.2, head_hidden=6)).float()
    learner = BMAMLLearner(m, featurizer=None, device="cpu", batch_size=3)
    assert isinstance(learner, FewShotLearner) and BMAMLLearner.name == "bmaml"
    rng = np.random.default_rng(0)
    X, Xq = rng.normal(size=(8, 4)).astype(np.float32), rng.normal(size=(7, 4)).astype(np.float32)
    with pytest.raises(NotFittedError):
        learner.predict_proba_features(Xq)
    with pytest.raises(SupportSetError, match="one class"):
        learner.fit_features(X[:4], np.ones(4))
    learner.fit_features(X, np.array([1, 1, 1, 1, 0, 0, 0, 0]))
    assert learner.particles_.shape == (3, m.n_params) and not learner.particles_.requires_grad
    p = learner.predict_proba_features(Xq)
    assert p.shape == (7,) and p.dtype == np.float64 and ((p >= 0) & (p <= 1)).all()
    pred = learner.predict_features(Xq)
    assert isinstance(pred, Prediction) and pred.level == 0.9
    for f in (pred.mean, pred.std, pred.lower, pred.upper):
        assert f.shape == (7,)
    np.testing.assert_allclose(pred.mean, p, rtol=1e-6)
    assert (pred.lower <= pred.mean).all() and (pred.mean <= pred.upper).all() and (pred.std >= 0).all()
    np.testing.assert_allclose(learner.predict_proba_features(Xq[2:3]), p[2:3], rtol=1e-6)  # chunking

    r = BMAML(Identity(4), BMAMLConfig(n_particles=3, inner_steps=2, head_hidden=6, task="regression"))
    rl = BMAMLLearner(r, featurizer=None, device="cpu")
    with pytest.raises(SupportSetError):
        rl.fit_features(X, np.r_[np.nan, np.zeros(7)])
    pred = rl.fit_features(X, rng.normal(size=8)).predict_features(Xq)
    for f in (pred.mean, pred.std, pred.lower, pred.upper):
        assert f.shape == (7,) and np.isfinite(f).all()
    assert (pred.lower <= pred.mean).all() and (pred.mean <= pred.upper).all() and (pred.std > 0).all()
    with pytest.raises(ValueError, match="classification"):
        rl.predict_proba_features(Xq)


def test_gin_encoder_episode_and_learner_smoke():
    f = MolGraphFeaturizer(cache=False)
    m = BMAML(tiny_gin(depth=1), BMAMLConfig(n_particles=2, inner_steps=1, inner_lr=0.1, head_hidden=8))
    batch = Batch.from_data_list([f.smiles_to_graph(s) for s in AROMATICS[:2] + ALCOHOLS[:2] + QUERY])
    ys, yq = torch.tensor([1.0, 0.0, 1.0, 0.0]), torch.tensor([1.0, 1.0, 0.0])
    for objective in ("chaser", "nll"):
        m.config.objective = objective
        m.zero_grad()
        loss = m.episode_loss(batch, 4, ys, yq)
        loss.backward()
        enc_grads = [p.grad for p in m.encoder.parameters() if p.grad is not None]
        assert torch.isfinite(loss) and enc_grads and any(g.abs().sum() > 0 for g in enc_grads)
        assert torch.isfinite(m.init_particles.grad).all()
    learner = BMAMLLearner(m, f, device="cpu")
    X = learner.featurize(AROMATICS + ALCOHOLS)
    assert X.shape == (8, 8) and X.dtype == np.float32
    p = learner.fit(AROMATICS + ALCOHOLS, [1, 1, 1, 1, 0, 0, 0, 0]).predict_proba(QUERY)
    assert p.shape == (3,) and ((p >= 0) & (p <= 1)).all()
