"""MAML / FOMAML / Meta-SGD / ANIL: inner step by hand, meta-gradients against finite differences,
first- vs second-order, BatchNorm isolation, meta-training on synthetic tasks, learner errors."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from torch import nn
from torch_geometric.data import Batch

from sciml.domains.base import FeaturizeResult
from sciml.domains.molecules.graphs import MolGraphFeaturizer
from sciml.errors import NotFittedError
from sciml.learners.base import FewShotLearner, SupportSetError
from sciml.learners.maml import FOMAMLLearner, MAML, MAMLConfig, MAMLLearner, split_inputs
from sciml.losses import gaussian_nll
from tests.sciml.learners.models import tiny_gin

AROMATICS = ["c1ccccc1", "Cc1ccccc1", "CCc1ccccc1", "Clc1ccccc1"]
ALCOHOLS = ["CCO", "CCCO", "CCCCO", "CC(C)O"]
QUERY = ["CCCc1ccccc1", "Brc1ccccc1", "CCCCCCO", "CC(C)CCO", "c1ccc2ccccc2c1"]


pytestmark = pytest.mark.usefixtures("one_thread")


class VectorFeaturizer:
    """A toy domain whose inputs are feature vectors: items are rows, ``collate`` stacks them."""

    @staticmethod
    def featurize(inputs, progress=False):
        return FeaturizeResult([torch.as_tensor(v) for v in inputs])

    @staticmethod
    def collate(items):
        return torch.stack(list(items))


def squared_loss(out, y):
    return ((out[:, 0] - y) ** 2).mean()


def tiny_mlp_model(cfg: MAMLConfig, dtype=torch.float64, seed=0) -> MAML:
    torch.manual_seed(seed)
    enc = nn.Sequential(nn.Linear(2, 3), nn.Tanh())
    return MAML(enc, cfg, embed_dim=3).to(dtype)


def graphs(smiles):
    f = MolGraphFeaturizer(cache=False)
    return [f.smiles_to_graph(s) for s in smiles]


def toy_episode(dtype=torch.float64, seed=1, n_support=6, n_query=5):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n_support + n_query, 2, generator=g, dtype=dtype)
    y = (x[:, 0] + 0.3 * torch.randn(n_support + n_query, generator=g, dtype=dtype) > 0).to(dtype)
    y[0], y[1] = 0.0, 1.0
    return x, y[:n_support], y[n_support:]


def meta_grads(model, x, ys, yq):
    loss = model.episode_loss(x, len(ys), ys, yq)
    params = [p for p in model.parameters() if p.requires_grad]
    grads = torch.autograd.grad(loss, params, allow_unused=True)
    return [torch.zeros_like(p) if g is None else g for p, g in zip(params, grads)]


# ------------------------------------------------------------------------------------ config
def test_config_defaults_and_validation():
    c = MAMLConfig()
    assert (c.inner_steps, c.inner_lr, c.first_order, c.meta_sgd, c.adapt, c.head_hidden, c.task, c.dropout) == (
        5, 0.05, False, False, "head", 128, "classification", 0.0)
    assert MAMLConfig.from_dict(c.to_dict()) == c
    with pytest.raises(ValueError, match=r"keys \['n_particles'\] are not settings of .* MAMLConfig"):
        MAMLConfig.from_dict({**c.to_dict(), "n_particles": 5})  # e.g. a BMAML learner_config
    for bad in ({"adapt": "encoder"}, {"task": "ranking"}, {"inner_steps": -1}, {"inner_lr": 0.0}):
        with pytest.raises(ValueError):
            MAMLConfig(normalize=False, **bad)
    with pytest.raises(ValueError, match="embed_dim"):
        MAML(nn.Identity(), c)
    m = MAML(nn.Identity(), MAMLConfig(normalize=False, task="regression", head_hidden=0), embed_dim=4)
    assert m(torch.zeros(3, 4)).shape == (3, 2)


def test_split_inputs_tensor_and_batch():
    a, b = split_inputs(torch.arange(5.0)[:, None], 2)
    assert a.shape == (2, 1) and b.shape == (3, 1)
    batch = Batch.from_data_list(graphs(AROMATICS + ALCOHOLS[:1]))
    s, q = split_inputs(batch, 3)
    assert s.num_graphs == 3 and q.num_graphs == 2
    torch.testing.assert_close(q.x, Batch.from_data_list(graphs(AROMATICS[3:] + ALCOHOLS[:1])).x)


# ------------------------------------------------------------------------- 1. one inner step
@pytest.mark.parametrize("adapt", ["head", "all"])
def test_one_inner_step_is_sgd_by_hand(adapt):
    """Linear model y = x w + b, squared loss: w' = w - lr * (2/n) X^T (Xw + b - y)."""
    cfg = MAMLConfig(normalize=False, inner_steps=1, inner_lr=0.1, adapt=adapt, head_hidden=0)
    model = MAML(nn.Identity(), cfg, embed_dim=3, loss_fn=squared_loss).double()
    torch.manual_seed(0)
    X = torch.randn(7, 3, dtype=torch.float64)
    y = torch.randn(7, dtype=torch.float64)
    W, b = model.head[1].weight.detach().clone(), model.head[1].bias.detach().clone()  # [1, 3], [1]
    r = X @ W[0] + b[0] - y  # residuals [7]
    gW, gb = 2.0 / 7 * X.T @ r, 2.0 / 7 * r.sum()
    fast = model.adapt(X, y)
    assert set(fast) == {"head.1.weight", "head.1.bias"}
    torch.testing.assert_close(fast["head.1.weight"], W - 0.1 * gW[None, :])
    torch.testing.assert_close(fast["head.1.bias"], b - 0.1 * gb.reshape(1))
    # no in-place surgery: the module's weights are unchanged
    torch.testing.assert_close(model.head[1].weight, W)
    # two steps = two hand steps
    fast2 = model.adapt(X, y, steps=2)
    W1, b1 = fast["head.1.weight"].detach(), fast["head.1.bias"].detach()
    r1 = X @ W1[0] + b1[0] - y
    torch.testing.assert_close(fast2["head.1.weight"], W1 - 0.1 * (2.0 / 7 * X.T @ r1)[None, :])
    # zero steps = the initial weights
    fast0 = model.adapt(X, y, steps=0)
    assert fast0["head.1.weight"] is model.head[1].weight


def test_meta_sgd_inner_step_uses_learned_per_element_rates():
    cfg = MAMLConfig(normalize=False, inner_steps=1, inner_lr=0.1, meta_sgd=True, adapt="head", head_hidden=0)
    model = MAML(nn.Identity(), cfg, embed_dim=3, loss_fn=squared_loss).double()
    assert set(model.log_lrs) == {"head__1__weight", "head__1__bias"}
    torch.testing.assert_close(model.log_lrs["head__1__weight"].exp(), torch.full((1, 3), 0.1, dtype=torch.float64))
    with torch.no_grad():
        model.log_lrs["head__1__weight"].copy_(torch.log(torch.tensor([[0.1, 0.2, 0.3]], dtype=torch.float64)))
    X, y = torch.randn(5, 3, dtype=torch.float64), torch.randn(5, dtype=torch.float64)
    W, b = model.head[1].weight.detach().clone(), model.head[1].bias.detach().clone()
    gW = 2.0 / 5 * X.T @ (X @ W[0] + b[0] - y)
    fast = model.adapt(X, y)
    torch.testing.assert_close(fast["head.1.weight"], W - torch.tensor([[0.1, 0.2, 0.3]], dtype=torch.float64) * gW)


# ------------------------------------------------------------------ 2. meta-gradient vs FD
@pytest.mark.parametrize("adapt,meta_sgd,task", [("all", False, "classification"), ("head", False, "classification"),
                                                  ("all", True, "regression")])
def test_second_order_meta_gradient_matches_finite_differences(adapt, meta_sgd, task):
    cfg = MAMLConfig(normalize=False, inner_steps=2, inner_lr=0.3, adapt=adapt, meta_sgd=meta_sgd, head_hidden=4, task=task)
    model = tiny_mlp_model(cfg)
    x, ys, yq = toy_episode()
    if task == "regression":
        ys, yq = ys + 0.5 * x[: len(ys), 1], yq - x[len(ys):, 1]
    params = [p for p in model.parameters() if p.requires_grad]
    analytic = meta_grads(model, x, ys, yq)
    h = 1e-6
    for p, g in zip(params, analytic):
        fd = torch.zeros_like(p)
        for i in range(p.numel()):
            with torch.no_grad():
                p.view(-1)[i] += h
                up = model.episode_loss(x, len(ys), ys, yq).item()
                p.view(-1)[i] -= 2 * h
                down = model.episode_loss(x, len(ys), ys, yq).item()
                p.view(-1)[i] += h
            fd.view(-1)[i] = (up - down) / (2 * h)
        torch.testing.assert_close(g, fd, rtol=1e-5, atol=1e-7)


# -------------------------------------------------------------- 3. first vs second order
def test_first_and_second_order_meta_gradients():
    x, ys, yq = toy_episode()
    so = tiny_mlp_model(MAMLConfig(normalize=False, inner_steps=2, inner_lr=0.3, adapt="all", head_hidden=4))
    fo = copy.deepcopy(so)
    fo.config = MAMLConfig(normalize=False, inner_steps=2, inner_lr=0.3, adapt="all", head_hidden=4, first_order=True)
    g_so, g_fo = meta_grads(so, x, ys, yq), meta_grads(fo, x, ys, yq)
    diff = max((a - b).abs().max().item() for a, b in zip(g_so, g_fo))
    assert diff > 1e-4  # BCE through a tanh-ReLU network: the Hessian term is non-zero
    # same query loss value: only the gradient differs
    assert so.episode_loss(x, 6, ys, yq).item() == pytest.approx(fo.episode_loss(x, 6, ys, yq).item())

    # ANIL: first-order drops the encoder's path through the inner loop, second-order keeps it
    so_h = tiny_mlp_model(MAMLConfig(normalize=False, inner_steps=2, inner_lr=0.3, adapt="head", head_hidden=4))
    fo_h = copy.deepcopy(so_h)
    fo_h.config = MAMLConfig(normalize=False, inner_steps=2, inner_lr=0.3, adapt="head", head_hidden=4, first_order=True)
    g_so_h, g_fo_h = meta_grads(so_h, x, ys, yq), meta_grads(fo_h, x, ys, yq)
    assert max((a - b).abs().max().item() for a, b in zip(g_so_h, g_fo_h)) > 1e-4

    # inner_steps = 0: both are the plain gradient of the query loss
    for m in (so, fo):
        m.config.inner_steps = 0
    for a, b in zip(meta_grads(so, x, ys, yq), meta_grads(fo, x, ys, yq)):
        torch.testing.assert_close(a, b)

    # a loss linear in the weights (linear model, linear loss): no Hessian, identical meta-gradients
    def linear_loss(out, y):
        return (out[:, 0] * (2 * y - 1)).mean()

    torch.manual_seed(0)
    lin_so = MAML(nn.Identity(), MAMLConfig(normalize=False, inner_steps=3, inner_lr=0.5, adapt="all", head_hidden=0), embed_dim=2,
                  loss_fn=linear_loss).double()
    lin_fo = copy.deepcopy(lin_so)
    lin_fo.config = MAMLConfig(normalize=False, inner_steps=3, inner_lr=0.5, adapt="all", head_hidden=0, first_order=True)
    for a, b in zip(meta_grads(lin_so, x, ys, yq), meta_grads(lin_fo, x, ys, yq)):
        torch.testing.assert_close(a, b)


# ---------------------------------------------------------------------------- 4. BatchNorm
def _bn_state(model):
    return {n: b.clone() for n, b in model.named_buffers()}


def test_batchnorm_running_stats_untouched_by_adapt_and_eval_queries_independent():
    model = MAML(tiny_gin(), MAMLConfig(normalize=False, inner_steps=2, inner_lr=0.1, adapt="all", head_hidden=8))
    assert any(isinstance(m, nn.BatchNorm1d) for m in model.modules())
    support = Batch.from_data_list(graphs(AROMATICS + ALCOHOLS))
    sy = torch.tensor([1.0] * 4 + [0.0] * 4)
    before = _bn_state(model)
    for mode in (True, False):
        model.train(mode)
        model.adapt(support, sy)
        model.adapt(support, sy, detach=True, create_graph=False)
        for n, b in model.named_buffers():
            torch.testing.assert_close(b, before[n], rtol=0, atol=0, msg=f"buffer {n} changed ({mode=})")
    assert model.encoder.blocks[0].norm.num_batches_tracked.item() == 0

    # eval mode: a query molecule's probability does not depend on its batch-mates
    learner = MAMLLearner(model, MolGraphFeaturizer(cache=False), device="cpu")
    learner.fit(AROMATICS + ALCOHOLS, sy.numpy())
    p1 = learner.predict_proba(QUERY[:3])
    p2 = learner.predict_proba([QUERY[0], QUERY[4]])
    assert p1.shape == (3,)
    np.testing.assert_allclose(p1[0], p2[0], rtol=1.3e-6, atol=1e-5)
    for n, b in model.named_buffers():
        torch.testing.assert_close(b, before[n], rtol=0, atol=0)

    # meta-training: the query forward (train mode) does update the running stats used in eval mode
    model.train()
    batch = Batch.from_data_list(graphs(AROMATICS + ALCOHOLS + QUERY))
    loss = model.episode_loss(batch, 8, sy, torch.tensor([1.0, 1.0, 0.0, 0.0, 1.0]))
    loss.backward()
    assert model.encoder.blocks[0].norm.num_batches_tracked.item() == 1
    assert not torch.equal(model.encoder.blocks[0].norm.running_mean, before["encoder.blocks.0.norm.running_mean"])
    assert all(p.grad is not None for p in model.encoder.parameters())


def test_anil_episode_on_graphs_gives_encoder_gradients():
    model = MAML(tiny_gin(), MAMLConfig(normalize=False, inner_steps=2, inner_lr=0.1, adapt="head", head_hidden=8))
    batch = Batch.from_data_list(graphs(AROMATICS + ALCOHOLS + QUERY))
    loss = model.episode_loss(batch, 8, torch.tensor([1.0] * 4 + [0.0] * 4), torch.tensor([1.0, 1.0, 0.0, 0.0, 1.0]))
    loss.backward()
    assert torch.isfinite(loss)
    assert model.encoder.atom_in.weight.grad is not None and model.head[0].weight.grad is not None


# ------------------------------------------------------------------ 5. meta-training works
def _regression_tasks(n_tasks, gen, n_support=5, n_query=10):
    """Random linear tasks y = a . x + b + noise on 2-D inputs, noise sd 0.1..0.5 per task."""
    n = n_support + n_query
    x = torch.rand(n_tasks, n, 2, generator=gen) * 4 - 2
    a = torch.randn(n_tasks, 1, 2, generator=gen)
    b = 0.5 * torch.randn(n_tasks, 1, generator=gen)
    sd = 0.1 + 0.4 * torch.rand(n_tasks, 1, generator=gen)
    y = (x * a).sum(-1) + b + sd * torch.randn(n_tasks, n, generator=gen)
    return x, y


def _meta_train(model, gen, steps=150, tasks=4):
    """``steps`` Adam steps on batches of ``tasks`` random linear tasks (5 support, 10 query each)."""
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(steps):
        x, y = _regression_tasks(tasks, gen)
        opt.zero_grad()
        loss = sum(model.episode_loss(x[t], 5, y[t, :5], y[t, 5:]) for t in range(tasks)) / tasks
        loss.backward()
        opt.step()


@pytest.mark.parametrize("adapt,first_order", [("head", False), ("all", True)])
def test_meta_training_reduces_query_nll_on_linear_regression_tasks(adapt, first_order):
    torch.manual_seed(0)
    enc = nn.Sequential(nn.Linear(2, 32), nn.ReLU(), nn.Linear(32, 16))
    cfg = MAMLConfig(normalize=False, inner_steps=3, inner_lr=0.1, adapt=adapt, head_hidden=16, task="regression",
                     first_order=first_order)
    model = MAML(enc, cfg, embed_dim=16)
    gen = torch.Generator().manual_seed(1)
    xv, yv = _regression_tasks(32, gen)

    def val_nll():
        return float(np.mean([model.episode_loss(xv[t], 5, yv[t, :5], yv[t, 5:]).item() for t in range(len(xv))]))

    before = val_nll()
    _meta_train(model, gen)
    after = val_nll()
    assert after < before - 0.25, (before, after)  # constant-Gaussian baseline is ~1.95
    # adapted predictions (the learner, on inputs of a toy vector domain): mean tracks the task, std is positive
    learner = MAMLLearner(model, VectorFeaturizer(), device="cpu").fit(list(xv[0, :5]), yv[0, :5].numpy())
    pred = learner.predict(list(xv[0, 5:]))
    assert pred.mean.shape == pred.std.shape == (10,) and (pred.std > 0).all()
    assert gaussian_nll(yv[0, 5:].numpy(), pred.mean, var=pred.std**2) < before


# ------------------------------------------------------------------------------- 6. learner
@pytest.mark.parametrize("adapt", ["head", "all"])
def test_learner_probabilities_and_errors(adapt):
    model = MAML(tiny_gin(), MAMLConfig(normalize=False, inner_steps=2, inner_lr=0.1, adapt=adapt, head_hidden=8))
    learner = MAMLLearner(model, MolGraphFeaturizer(cache=False), device="cpu", batch_size=2)
    assert isinstance(learner, FewShotLearner) and MAMLLearner.name == "maml"
    X = learner.featurize(AROMATICS + ALCOHOLS)
    if adapt == "head":
        assert X.dtype == np.float32 and X.shape == (8, 8)
    else:
        assert X.dtype == object and X.shape == (8,) and X[[0, 3]].shape == (2,)
    with pytest.raises(NotFittedError):
        learner.predict_proba_features(X)
    with pytest.raises(SupportSetError, match="one class"):
        learner.fit_features(X[:4], np.ones(4))
    before = _bn_state(model)
    y = np.array([1, 1, 1, 1, 0, 0, 0, 0])
    learner.fit_features(X, y)
    assert set(learner.fast_weights_) >= {"head.0.weight", "head.3.bias"}
    assert (adapt == "all") == any(k.startswith("encoder.") for k in learner.fast_weights_)
    assert not any(w.requires_grad for w in learner.fast_weights_.values())
    Xq = learner.featurize(QUERY)
    p = learner.predict_proba_features(Xq)
    assert p.shape == (len(QUERY),) and p.dtype == np.float64
    assert ((p >= 0) & (p <= 1)).all()
    # chunked scoring (batch_size=2) equals scoring one at a time, and matches the algorithm run by hand
    np.testing.assert_allclose(p[1:2], learner.predict_proba_features(Xq[1:2]), rtol=1e-5)
    model.eval()
    support, query = Batch.from_data_list(graphs(AROMATICS + ALCOHOLS)), Batch.from_data_list(graphs(QUERY))
    sy = torch.tensor(y, dtype=torch.float32)
    if adapt == "head":
        with torch.no_grad():
            s_emb, q_emb = model.encoder(support), model.encoder(query)
        fast = model.adapt_head(s_emb, sy, create_graph=False, detach=True)
        with torch.no_grad():
            out = model.head_forward(q_emb, fast)
    else:
        fast = model.adapt(support, sy, create_graph=False, detach=True)
        with torch.no_grad():
            out = model.forward_with(query, {n: w.detach() for n, w in fast.items()})
    ref = model.outputs_to_prediction(out)
    np.testing.assert_allclose(p, ref.numpy(), rtol=1e-4, atol=1e-6)
    for n, b in model.named_buffers():
        torch.testing.assert_close(b, before[n], rtol=0, atol=0)
    # fit / predict_proba on SMILES
    p2 = learner.fit(AROMATICS + ALCOHOLS, y).predict_proba(QUERY)
    np.testing.assert_allclose(p2, p, rtol=1e-5)


def test_fomaml_learner_and_regression_learner():
    fo = MAML(tiny_gin(), MAMLConfig(normalize=False, inner_steps=1, first_order=True, head_hidden=8))
    learner = MAMLLearner.for_model(fo, MolGraphFeaturizer(cache=False), device="cpu")
    assert isinstance(learner, FOMAMLLearner) and learner.name == "fomaml"
    reg = MAML(tiny_gin(), MAMLConfig(normalize=False, inner_steps=1, head_hidden=8, task="regression"))
    rl = MAMLLearner(reg, MolGraphFeaturizer(cache=False), device="cpu")
    rl.fit(AROMATICS + ALCOHOLS, np.linspace(-1, 1, 8))  # one "class" is fine for regression
    pred = rl.predict_features(rl.featurize(QUERY))
    assert pred.mean.shape == pred.std.shape == (len(QUERY),) and (pred.std > 0).all()
    assert (pred.lower < pred.mean).all() and (pred.mean < pred.upper).all()
    with pytest.raises(ValueError, match="regression"):
        rl.predict_proba(QUERY)
    with pytest.raises(SupportSetError):
        rl.fit(AROMATICS[:2], [0.0, float("nan")])


def test_normalize_makes_adaptation_invariant_to_embedding_scale():
    """With ``normalize=True`` (default) the head sees unit-norm embeddings, so scaling the
    encoder output (GNN embeddings have norms of tens) changes neither adaptation nor outputs."""
    torch.manual_seed(0)
    m = MAML(nn.Identity(), MAMLConfig(inner_steps=3, inner_lr=0.5, head_hidden=8, task="regression"), embed_dim=5)
    g = torch.Generator().manual_seed(2)
    x, y = torch.randn(9, 5, generator=g), torch.randn(9, generator=g)
    out = [m.head_forward(s * x[4:], m.adapt_head(s * x[:4], y[:4], detach=True)) for s in (1.0, 40.0)]
    torch.testing.assert_close(out[0], out[1])


def test_zero_init_head_predicts_one_half_unadapted_and_one_step_is_a_support_contrast():
    """Zeroing trick: the output layer starts every inner loop at 0, so with no steps P = 0.5 for all
    molecules, and one BCE step gives w = lr * mean_i (y_i - 1/2) x_i, b = lr * mean_i (y_i - 1/2)."""
    cfg = MAMLConfig(normalize=False, inner_steps=1, inner_lr=0.3, head_hidden=0, zero_init_head=True)
    model = MAML(nn.Identity(), cfg, embed_dim=3).double()
    g = torch.Generator().manual_seed(4)
    X, Q = torch.randn(6, 3, generator=g, dtype=torch.float64), torch.randn(4, 3, generator=g, dtype=torch.float64)
    y = torch.tensor([1.0, 0.0, 1.0, 1.0, 0.0, 0.0], dtype=torch.float64)
    fast0 = model.adapt(X, y, steps=0, detach=True)
    torch.testing.assert_close(model.head_forward(Q, fast0), torch.zeros(4, 1, dtype=torch.float64))
    fast = model.adapt(X, y, detach=True)
    torch.testing.assert_close(fast["head.1.weight"], 0.3 * ((y - 0.5)[:, None] * X).mean(0, keepdim=True))
    torch.testing.assert_close(fast["head.1.bias"], 0.3 * (y - 0.5).mean().reshape(1))
    # the stored output layer is neither used nor changed
    assert model.head[1].weight.abs().sum() > 0


def test_zero_init_head_meta_gradient_reaches_hidden_layer_and_encoder_not_output_layer():
    cfg = MAMLConfig(inner_steps=2, inner_lr=0.5, head_hidden=4, zero_init_head=True)
    model = tiny_mlp_model(cfg)
    x, ys, yq = toy_episode()
    model.episode_loss(x, len(ys), ys, yq).backward()
    assert model.head[0].weight.grad is not None and model.head[0].weight.grad.abs().sum() > 0
    assert model.encoder[0].weight.grad is not None and model.encoder[0].weight.grad.abs().sum() > 0
    assert model.head[3].weight.grad is None


# ------------------------------------------------------------------------------- 7. Reptile
def test_reptile_config_needs_whole_network_adaptation():
    with pytest.raises(ValueError, match="reptile needs adapt='all'"):
        MAMLConfig(algorithm="reptile")
    with pytest.raises(ValueError, match="algorithm must be"):
        MAMLConfig(algorithm="protomaml", adapt="all")
    from sciml.learners import LEARNERS
    from sciml.learners.maml.learner import ReptileLearner

    assert LEARNERS.get("reptile") is ReptileLearner
    lc = ReptileLearner.learner_config_for({"inner_lr": 0.1}, "regression")
    assert lc["algorithm"] == "reptile" and lc["adapt"] == "all" and lc["first_order"]


def test_reptile_meta_gradient_is_initialisation_minus_adapted_weights():
    cfg = MAMLConfig(normalize=False, inner_steps=3, inner_lr=0.1, adapt="all", head_hidden=0, task="regression",
                     algorithm="reptile")
    model = tiny_mlp_model(cfg)
    x, ys, yq = toy_episode()
    y = torch.cat([ys, yq])
    fast = model.adapt(x, y, create_graph=False, detach=True)  # the inner loop on support + query
    grads = meta_grads(model, x, ys, yq)
    names = [n for n, p in model.named_parameters() if p.requires_grad]
    lr = cfg.inner_lr * cfg.inner_steps
    for n, g in zip(names, grads):
        torch.testing.assert_close(g, (dict(model.named_parameters())[n] - fast[n]).detach() / lr)


def test_reptile_meta_training_reduces_query_nll_on_linear_regression_tasks():
    torch.manual_seed(0)
    enc = nn.Sequential(nn.Linear(2, 32), nn.ReLU(), nn.Linear(32, 16))
    cfg = MAMLConfig(normalize=False, inner_steps=3, inner_lr=0.1, adapt="all", head_hidden=16, task="regression",
                     algorithm="reptile")
    model = MAML(enc, cfg, embed_dim=16)
    gen = torch.Generator().manual_seed(1)
    xv, yv = _regression_tasks(32, gen)
    maml_view = copy.deepcopy(model)
    maml_view.config = MAMLConfig(**{**cfg.to_dict(), "algorithm": "maml"})

    def val_nll():  # scored as at test time: adapt on 5 support points, NLL of the other 10
        maml_view.load_state_dict(model.state_dict())
        return float(np.mean([maml_view.episode_loss(xv[t], 5, yv[t, :5], yv[t, 5:]).item()
                              for t in range(len(xv))]))

    before = val_nll()
    _meta_train(model, gen)
    assert val_nll() < before - 0.25
