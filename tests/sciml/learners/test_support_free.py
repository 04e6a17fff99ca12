"""Support-free predictions: the meta-trained model without any support label (zero adaptation).

They ignore the support labels (permuted, flipped, or no fit at all), leave the fitted state
alone, equal ``inner_steps=0`` for MAML / BMAML (bit-identical for classification, same ranking
for regression), are the constant GP prior for the deep-kernel GP, and are refused by learners
without a support-free mode.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.stats import rankdata

from sciml.domains.molecules.graphs import ATOM_DIM, BOND_DIM, MolGraphFeaturizer
from sciml.encoders import build_encoder
from sciml.learners import LEARNERS
from sciml.learners.baselines import KNNTanimotoBaseline, RandomForestBaseline
from sciml.learners.bmaml import BMAML, BMAMLConfig, BMAMLLearner
from sciml.learners.dkgp import DeepKernelGP, DeepKernelGPLearner
from sciml.learners.gp_baseline import TanimotoGPBaseline
from sciml.learners.maml import MAML, MAMLConfig, MAMLLearner
from sciml.learners.protonet import ProtoNet, ProtoNetLearner
from sciml.metrics import roc_auc

from tests.sciml.learners.models import ALCOHOLS, AROMATICS, LABELS, QUERY, SUPPORT, TARGETS  # noqa: F401
FIELDS = ("mean", "std", "lower", "upper")


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _encoder(seed: int = 0):
    torch.manual_seed(seed)
    return build_encoder("gine", dict(atom_dim=ATOM_DIM, bond_dim=BOND_DIM, hidden=16, depth=2, out_dim=8,
                                      dropout=0.0, norm="batch", pooling="mean"))


#: id -> (learner class, model factory(encoder), constructor kwargs)
CASES = {
    "maml-head-cls": (MAMLLearner, lambda e: MAML(e, MAMLConfig(inner_steps=3, head_hidden=8)), {}),
    "maml-head-reg": (MAMLLearner, lambda e: MAML(e, MAMLConfig(inner_steps=3, head_hidden=8, task="regression")), {}),
    "maml-all-metasgd": (MAMLLearner, lambda e: MAML(e, MAMLConfig(inner_steps=2, head_hidden=4, adapt="all",
                                                                   meta_sgd=True)), {"batch_size": 4}),
    "fomaml-zero-init": (MAMLLearner, lambda e: MAML(e, MAMLConfig(inner_steps=2, head_hidden=8, first_order=True,
                                                                   zero_init_head=True)), {}),
    "bmaml-cls": (BMAMLLearner, lambda e: BMAML(e, BMAMLConfig(n_particles=3, inner_steps=3, head_hidden=6)), {}),
    "bmaml-reg": (BMAMLLearner, lambda e: BMAML(e, BMAMLConfig(n_particles=3, inner_steps=3, head_hidden=6,
                                                               task="regression")), {}),
    "dkgp-cls": (DeepKernelGPLearner, lambda e: DeepKernelGP(e, task="classification"), {"adapt_steps": 3}),
    "dkgp-reg": (DeepKernelGPLearner, lambda e: DeepKernelGP(e, task="regression"), {"adapt_steps": 3}),
}
ADAPTING = [c for c in CASES if not c.startswith("dkgp")]


def _learner(case: str, **kwargs):
    cls, make, kw = CASES[case]
    model = make(_encoder())
    return cls.for_model(model, MolGraphFeaturizer(), device="cpu", **{**kw, **kwargs})


def _labels(task: str) -> np.ndarray:
    return LABELS if task == "classification" else TARGETS


def _assert_same(a, b):
    for f in FIELDS:
        np.testing.assert_array_equal(getattr(a, f), getattr(b, f), err_msg=f)


@pytest.mark.parametrize("case", list(CASES))
def test_support_free_ignores_the_support_labels_and_the_fitted_state(case):
    learner = _learner(case)
    assert learner.support_free
    Xs, Xq = learner.featurize(SUPPORT), learner.featurize(QUERY)
    before_fit = learner.predict_support_free(Xq, n_support=len(SUPPORT))
    y = _labels(learner.task)
    learner.fit_features(Xs, y)
    adapted = learner.predict_features(Xq)
    first = learner.predict_support_free(Xq, n_support=len(SUPPORT))
    rng = np.random.default_rng(0)
    other = 1.0 - y if learner.task == "classification" else -3.0 * rng.permutation(y) + 7.0
    learner.fit_features(Xs, other)
    second = learner.predict_support_free(Xq)
    learner.fit_features(Xs, y)
    _assert_same(learner.predict_features(Xq), adapted)  # the fitted state was not touched
    for p in (first, second):
        _assert_same(before_fit, p)
    assert all(getattr(first, f).shape == (len(QUERY),) and getattr(first, f).dtype == np.float64 for f in FIELDS)
    assert np.all(first.lower <= first.mean) and np.all(first.mean <= first.upper)


@pytest.mark.parametrize("case", ADAPTING)
def test_support_free_is_zero_inner_steps(case):
    zero = _learner(case, inner_steps=0)
    Xs, Xq = zero.featurize(SUPPORT), zero.featurize(QUERY)
    free = zero.predict_support_free(Xq)
    step0 = zero.fit_features(Xs, _labels(zero.task)).predict_features(Xq)
    adapted = _learner(case).fit_features(Xs, _labels(zero.task)).predict_features(Xq)
    if zero.task == "classification":
        _assert_same(free, step0)  # bit-identical
        assert not np.array_equal(free.mean, adapted.mean) or case == "fomaml-zero-init"
    else:  # zero steps, then the support's increasing affine scaler: same ranking, same standardised values
        sc = zero.scaler_
        np.testing.assert_array_equal(rankdata(free.mean), rankdata(step0.mean))
        np.testing.assert_allclose(sc.inverse_mean(free.mean), step0.mean, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(sc.inverse_std(free.std), step0.std, rtol=1e-12, atol=1e-12)


def test_zero_init_head_is_a_constant_half():
    learner = _learner("fomaml-zero-init")
    p = learner.predict_support_free(learner.featurize(QUERY))
    np.testing.assert_array_equal(p.mean, np.full(len(QUERY), 0.5))


def test_deep_kernel_gp_support_free_is_its_constant_prior():
    cls = _learner("dkgp-cls")
    p = cls.predict_support_free(cls.featurize(QUERY))
    np.testing.assert_array_equal(p.mean, np.full(len(QUERY), 0.5))
    assert roc_auc(np.array([1, 0, 1, 0, 0, 1.0]), p.mean) == 0.5  # ties
    assert np.all(p.std > 0) and np.all(p.lower < 0.5) and np.all(p.upper > 0.5)
    reg = _learner("dkgp-reg")
    q = reg.predict_support_free(reg.featurize(QUERY))
    np.testing.assert_array_equal(q.mean, np.zeros(len(QUERY)))
    with torch.no_grad():  # RBF on unit-norm embeddings: prior variance = outputscale at every query
        prior_var = float(reg.model.kernel.outputscale) + float(reg.model.noise)
    np.testing.assert_allclose(q.std, np.sqrt(prior_var), rtol=1e-10)


def test_learners_without_a_support_free_mode_refuse_clearly():
    torch.manual_seed(0)
    proto = ProtoNetLearner(ProtoNet(_encoder()), MolGraphFeaturizer(), device="cpu")
    for learner in (proto, RandomForestBaseline(n_estimators=5), KNNTanimotoBaseline(k=3), TanimotoGPBaseline()):
        assert learner.support_free is None
        with pytest.raises(NotImplementedError, match="no support-free prediction"):
            learner.predict_support_free(np.zeros((2, 8)))
    modes = {name: cls.support_free for name, cls in LEARNERS.items()}
    assert {n for n, m in modes.items() if m} == {"maml", "fomaml", "reptile", "bmaml", "dkgp", "cnp",
                                                  "multitask_ridge", "multitask_minimol"}
    # the support-free baselines never read a support; every other learner does
    assert {n for n, cls in LEARNERS.items() if not getattr(cls, "reads_support", True)} == {
        "multitask_ridge", "multitask_minimol"}


def test_n_support_must_be_a_non_negative_integer():
    learner = _learner("maml-head-cls")
    Xq = learner.featurize(QUERY)
    _assert_same(learner.predict_support_free(Xq, n_support=0), learner.predict_support_free(Xq))
    for bad in (-1, 2.5):
        with pytest.raises(ValueError, match="n_support"):
            learner.predict_support_free(Xq, n_support=bad)
