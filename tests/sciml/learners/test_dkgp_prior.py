"""Deep-kernel GP with a meta-learned prior mean and block kernels (ADKF-style parts of sciml.learners.dkgp)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score
from torch import nn

from sciml.learners.dkgp import DeepKernelGP, DeepKernelGPLearner
from sciml.learners.gp import (BlockSumKernel, ExactGP, LaplaceGPClassifier, ScaledKernel, exact_gp_fit,
                               exact_gp_predict, laplace_fit, laplace_predict, predictive_log_prob, rbf_kernel,
                               tanimoto_kernel)

D = torch.float64


def test_block_sum_kernel_sums_leading_blocks_and_ignores_trailing_columns():
    g = torch.Generator().manual_seed(0)
    A = torch.cat([torch.randn(6, 3, generator=g, dtype=D), torch.randn(6, 2, generator=g, dtype=D),
                   (torch.rand(6, 5, generator=g) > 0.5).double(), torch.randn(6, 1, generator=g, dtype=D)], 1)
    k = BlockSumKernel([ScaledKernel("rbf", {"lengthscale": 0.7}, 2.0), ScaledKernel("rbf", {}, 0.3),
                        ScaledKernel("tanimoto", {}, 0.5)], [3, 2, 5]).double()
    expect = (2.0 * rbf_kernel(A[:, :3], A[:, :3], torch.tensor(0.7, dtype=D)) + 0.3 * rbf_kernel(A[:, 3:5], A[:, 3:5])
              + 0.5 * tanimoto_kernel(A[:, 5:10], A[:, 5:10]))
    torch.testing.assert_close(k(A), expect)
    torch.testing.assert_close(k.diag(A), expect.diagonal())
    B = A.clone()
    B[:, -1] = 99.0  # the trailing (prior-mean) column is not read
    torch.testing.assert_close(k(B), expect)
    assert torch.linalg.eigvalsh(k(A)).min() > -1e-9 and k.n_columns == 10
    with pytest.raises(ValueError, match="reads 10 columns"):
        k(A[:, :9])
    with pytest.raises(ValueError, match="positive width"):
        BlockSumKernel([ScaledKernel("rbf")], [0])


def _toy(n=20, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2))
    y = (X[:, 0] + 0.3 * rng.normal(size=n) > 0).astype(float)
    return X, y


def test_laplace_with_prior_mean_is_the_mode_of_the_shifted_model_and_differentiable_in_the_mean():
    X, y = _toy()
    K = rbf_kernel(torch.as_tensor(X), torch.as_tensor(X), 1.0)
    yt = torch.as_tensor(y)
    m = torch.linspace(-1.0, 1.0, len(y), dtype=D)
    st = laplace_fit(K, yt, "probit", mean=m)
    # mode condition of g ~ N(0, K), y ~ p(y | m + g): g = K d log p(y | m + g) / df
    torch.testing.assert_close(st.f, K @ st.grad, rtol=1e-6, atol=1e-8)
    # a zero mean is the zero-mean fit
    st0, stz = laplace_fit(K, yt, "probit"), laplace_fit(K, yt, "probit", mean=torch.zeros(len(y), dtype=D))
    torch.testing.assert_close(st0.f, stz.f)
    # far from the data the prediction returns to the prior mean
    far = torch.full((1, 2), 50.0, dtype=D)
    mu, _ = laplace_predict(st, rbf_kernel(far, torch.as_tensor(X), 1.0), torch.ones(1, dtype=D),
                            torch.tensor([0.7], dtype=D))
    assert float(mu) == pytest.approx(0.7, abs=1e-8)

    def objectives(c):
        s = laplace_fit(K, yt, "logistic", mean=c * m)
        mq, vq = laplace_predict(s, K[:4], torch.ones(4, dtype=D), c * m[:4])
        return s.log_marginal, predictive_log_prob(mq, vq, yt[:4], "logistic").sum()

    c = torch.tensor(0.8, dtype=D, requires_grad=True)
    for k in range(2):
        (grad,) = torch.autograd.grad(objectives(c)[k], c)
        eps = 1e-5
        fd = (float(objectives(torch.tensor(0.8 + eps, dtype=D))[k])
              - float(objectives(torch.tensor(0.8 - eps, dtype=D))[k])) / (2 * eps)
        assert float(grad) == pytest.approx(fd, rel=1e-5, abs=1e-8)


def test_gps_with_a_mean_column_use_it_as_scaled_prior_mean_and_fit_its_scale():
    X, y = _toy(24, 1)
    h = 2.0 * X[:, :1]  # an informative score
    Xh = np.concatenate([X, h], 1)
    kernel = BlockSumKernel([ScaledKernel("rbf", {}, 0.05)], [2])
    clf = LaplaceGPClassifier(kernel, mean_column=True).fit(Xh, y, steps=0)
    Xq, yq = _toy(200, 2)
    Xqh = np.concatenate([Xq, 2.0 * Xq[:, :1]], 1)
    # a tiny kernel variance: the prediction is the prior score (scale 1) almost alone
    p = clf.predict_proba(Xqh).numpy()
    assert roc_auc_score(yq, p) > 0.85
    fitted = LaplaceGPClassifier(BlockSumKernel([ScaledKernel("rbf", {}, 0.05)], [2]), mean_column=True)
    fitted.fit(Xh, y, steps=30)
    assert float(fitted.log_mean_scale.detach().exp()) > 1.0  # the support confirms the score: trusted more
    state = fitted.fitted_state()
    assert "param.log_mean_scale" in state
    again = LaplaceGPClassifier(BlockSumKernel([ScaledKernel("rbf", {}, 0.05)], [2]), mean_column=True)
    np.testing.assert_allclose(again.load_fitted_state(state).predict_proba(Xqh).numpy(),
                               fitted.predict_proba(Xqh).numpy(), rtol=1e-6)

    # regression: with fixed hyperparameters, a GP on t - h plus h at the queries
    t = X[:, 0] * 2.0 + 0.1 * X[:, 1]
    reg = ExactGP(BlockSumKernel([ScaledKernel("rbf", {}, 1.0)], [2]), noise=0.1, learn_mean=False,
                  mean_column=True, standardize=False).fit(Xh, t, steps=0)
    Kt = rbf_kernel(torch.as_tensor(X), torch.as_tensor(X))
    L, alpha, _ = exact_gp_fit(Kt, torch.as_tensor(t), 0.1, torch.as_tensor(h[:, 0]))
    mu, _ = exact_gp_predict(L, alpha, rbf_kernel(torch.as_tensor(Xq), torch.as_tensor(X)),
                             torch.ones(len(Xq), dtype=D), torch.as_tensor(2.0 * Xq[:, 0]))
    torch.testing.assert_close(reg.predict(Xqh)[0], mu)


class _Encoder(nn.Module):
    """Reads ``batch.x``; ``out_dim`` as the GINE's."""

    def __init__(self, d_in=3, out_dim=4):
        super().__init__()
        self.lin = nn.Linear(d_in, out_dim)
        self.out_dim = out_dim

    def forward(self, batch):
        return self.lin(batch.x)


class _Batch:
    def __init__(self, x, mfeat=None, gfeat=None):
        self.x, self.mfeat, self.gfeat = x, mfeat, gfeat


def _episode(rng, n, shared, own):
    """Items whose label follows a direction shared by every task plus one of the task's own."""
    x = rng.normal(size=(n, 3))
    logit = 3.0 * x @ shared + 1.0 * x @ own
    return torch.tensor(x, dtype=torch.float32), torch.tensor((logit > 0).astype(np.float32))


def test_prior_mean_is_meta_learned_and_ranks_without_a_support():
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    shared = np.array([1.0, 0.0, 0.0])
    model = DeepKernelGP(_Encoder(), task="classification", prior_mean=True, normalize=False)
    assert model.mean_head is not None and float(model.mean_head.weight.detach().abs().sum()) == 0.0
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    for _ in range(60):
        x, y = _episode(rng, 24, shared, rng.normal(size=3) * 0.5)
        opt.zero_grad()
        model.episode_loss(_Batch(x), 8, y[:8], y[8:]).backward()
        opt.step()
    learner = DeepKernelGPLearner(model, featurizer=None, device="cpu", adapt_steps=10)
    x, y = _episode(rng, 300, shared, rng.normal(size=3) * 0.5)
    with torch.no_grad():
        z = model.embed(_Batch(x)).numpy()
    assert z.shape == (300, 5)  # [embedding | prior mean]
    free = learner.predict_support_free(z, n_support=16)
    assert roc_auc_score(y.numpy(), free.mean) > 0.85  # the shared direction, without reading a label
    assert ((free.lower <= free.mean) & (free.mean <= free.upper)).all()
    pred = learner.fit_features(z[:16], y[:16].numpy()).predict_features(z[16:])
    assert roc_auc_score(y[16:].numpy(), pred.mean) > 0.85
    assert "gp.param.log_mean_scale" in learner.adapted_state()


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_minimol_fingerprint_and_prior_mean_blocks_in_the_episode_loss(task):
    torch.manual_seed(0)
    model = DeepKernelGP(_Encoder(), task=task, prior_mean=True, minimol_kernel=True, fingerprint_kernel=True,
                         minimol_dim=6, fingerprint_dim=10)
    assert isinstance(model.kernel, BlockSumKernel) and model.kernel.widths == [4, 6, 10]
    n = 14
    x = torch.randn(n, 3)
    batch = _Batch(x, mfeat=torch.randn(n, 6), gfeat=(torch.rand(n, 10) > 0.5).float())
    z = model.embed(batch)
    assert z.shape == (n, 4 + 6 + 10 + 1)
    torch.testing.assert_close(z[:, 4:10].norm(dim=1), torch.ones(n))  # MiniMol block normalised
    y = (x[:, 0] > 0).float() if task == "classification" else x[:, 0]
    y[:2] = torch.tensor([0.0, 1.0])
    loss = model.episode_loss(batch, 6, y[:6], y[6:])
    loss.backward()
    assert torch.isfinite(loss)
    for part in model.kernel.parts:
        assert part.log_outputscale.grad is not None and torch.isfinite(part.log_outputscale.grad)
    assert model.mean_head.weight.grad is not None and model.mean_head.weight.grad.abs().sum() > 0
    cfg = model.config()
    rebuilt = DeepKernelGP(_Encoder(), **cfg)
    assert rebuilt.config() == cfg and set(rebuilt.state_dict()) == set(model.state_dict())
    with pytest.raises(ValueError, match="MiniMol embedding"):
        model.embed(_Batch(x, gfeat=batch.gfeat))


def test_dkgp_prior_checkpoint_round_trip_with_fingerprint(tmp_path):
    from sciml.checkpoint import save_checkpoint
    from sciml.domains.molecules.graphs import ATOM_DIM, BOND_DIM, MolGraphFeaturizer
    from sciml.encoders import build_encoder

    torch.manual_seed(0)
    feat = MolGraphFeaturizer(fingerprint_bits=64, cache=False)
    enc = build_encoder("gine", dict(atom_dim=ATOM_DIM, bond_dim=BOND_DIM, hidden=16, depth=2, out_dim=8,
                                      dropout=0.0, norm="batch", pooling="mean", gfeat_dim=64))
    model = DeepKernelGP(enc, task="classification", fingerprint_kernel=True, prior_mean=True).eval()
    with torch.no_grad():
        model.mean_head.weight.normal_()
    path = save_checkpoint(tmp_path / "prior", model, feat, encoder="gine", encoder_config=enc.config.to_dict(),
                           learner="dkgp", learner_config=model.config())
    learner = DeepKernelGPLearner.from_checkpoint(path, device="cpu", adapt_steps=5)
    assert learner.model.prior_mean and learner.model.fingerprint_dim == 64
    smiles = ["CCO", "CCCO", "c1ccccc1", "Cc1ccccc1", "CCN", "c1ccncc1"]
    X = learner.featurize(smiles)
    assert X.shape == (6, 8 + 64 + 1)
    torch.testing.assert_close(learner.model.mean_head.weight, model.mean_head.weight)
    free = learner.predict_support_free(X, n_support=4)
    assert np.ptp(free.mean) > 0  # the prior mean differs between molecules
    p = learner.fit(smiles[:4], [0, 0, 1, 1]).predict_proba(smiles[4:])
    assert p.shape == (2,) and ((p > 0) & (p < 1)).all()
    assert learner.embedding_columns(X).shape == (6, 8)
