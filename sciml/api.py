"""Notebook-friendly public API: scikit-learn-like few-shot models over a meta-trained checkpoint.

>>> model = FewShotModel(task="regression")  # the shipped default for the task          # doctest: +SKIP
>>> model.fit(support_smiles, measured_pki)                                          # doctest: +SKIP
>>> model.predict(candidate_smiles)                                                  # doctest: +SKIP
   smiles  prediction  std  lower  upper  error

Every output has one row per input row, in input order; rows that cannot be predicted
(unparseable SMILES, empty cells) keep a NaN prediction and say why in ``error``.
:class:`FewShotClassifier` is the classification-only variant with a ``p_active`` column.

A loaded checkpoint (:func:`load`) is read-only and can be shared, e.g. by a web app
serving several users; each :class:`FewShotModel` built on it keeps its own fitted state.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from sciml.config import default_device
from sciml.domains import Domain, get_domain
from sciml.errors import NotFittedError
from sciml.learners.base import Prediction, SupportSetError, check_support, class_code_problem

logger = logging.getLogger(__name__)

TASKS = ("classification", "regression")


def _as_inputs(X, column: str | None, domain) -> list:
    """The inputs of ``X``: a DataFrame's structure column (``column``, else auto-detected), a string, or a sequence."""
    if isinstance(X, pd.DataFrame):
        if column is None:
            from assays.sources.tables import find_structure_column

            column = find_structure_column(X, domain=domain)
        if column not in X.columns:
            raise KeyError(f"column {column!r} not found; available: {list(X.columns)}")
        return X[column].tolist()
    if isinstance(X, str):
        return [X]
    return list(X)


@dataclass(frozen=True)
class LoadedCheckpoint:
    """A checkpoint in memory: the meta-trained model (eval mode), its featurizer, config and input domain."""

    path: str
    model: object
    featurizer: object
    config: dict
    device: str
    learner: str = field(init=False)
    domain: Domain = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "learner", self.config["learner"])
        object.__setattr__(self, "domain", get_domain(self.config.get("domain")))

    @property
    def trained_task(self) -> str:
        """The task the model was meta-trained for."""
        trained = self.config.get("training", {}).get("task")
        return trained or self.config.get("learner_config", {}).get("task", "classification")

    @property
    def learner_class(self) -> type:
        from sciml.learners import LEARNERS

        return LEARNERS[self.learner]

    @property
    def tasks(self) -> tuple[str, ...]:
        """Tasks this checkpoint can serve, its own first (learners that ``serve_other_task`` serve both)."""
        if self.learner_class.serves_other_task:
            return (self.trained_task,) + tuple(t for t in self.learner_class.tasks if t != self.trained_task)
        return (self.trained_task,)


#: Fewest usable support rows per task (classification also needs both classes).
MIN_SUPPORT = {"regression": 2, "classification": 2}
#: Below this many usable support rows ``fit`` warns that predictions stay near the prior.
WARN_SUPPORT = 8
#: Largest absolute regression target accepted (beyond it float32 models overflow).
MAX_ABS_VALUE = 1e12


def load(checkpoint: str | Path, device: str | None = None) -> LoadedCheckpoint:
    """Load a checkpoint folder once (raises :class:`sciml.checkpoint.CheckpointError` with the reason).

    The shipped defaults are :func:`sciml.checkpoint.default_checkpoint` ``(task)``.
    """
    from sciml.learners.loading import load_checkpoint

    from sciml.config import check_device

    device = check_device(device or default_device())
    model, featurizer, config = load_checkpoint(checkpoint, device=device)
    return LoadedCheckpoint(str(checkpoint), model, featurizer, config, device)


class FewShotModel:
    """Adapt a meta-trained model to a new assay from a few measured molecules.

    Parameters
    ----------
    checkpoint : str, Path or LoadedCheckpoint, optional
        Checkpoint folder (``sciml train`` output) or an already loaded one; ``None`` (default):
        the shipped default for ``task`` (:func:`sciml.checkpoint.default_checkpoint`).
    task : {"regression", "classification"}, optional
        Default: the task the checkpoint was meta-trained for.
    device : str, optional
        ``"cpu"`` or ``"cuda"``; default CUDA when available (ignored for a LoadedCheckpoint).
    calibrate : bool, default True
        Apply the post-hoc calibration stored in the checkpoint (fitted on validation
        tasks during meta-training; see :mod:`sciml.calibration`).
    level : float, default 0.9
        Coverage of the ``lower`` / ``upper`` interval columns.
    smiles_col : str, optional
        Column to read when ``fit``/``predict`` receive a DataFrame (auto-detected otherwise).
    hit_rate : float, optional
        Classification only: the expected fraction of actives among the molecules you score
        (e.g. 0.02 for a typical HTS assay). Supports are class-balanced, so without it
        probabilities follow the average base rate of the validation assays; with it they are
        shifted to this prior by Bayes' rule (:func:`sciml.calibration.prior_shift`). The
        ranking of molecules does not change.

    Attributes
    ----------
    learner_ : FewShotLearner
        The learner around the shared model.
    support_errors_ : pandas.DataFrame
        Support rows left out of the last fit (``row``, ``smiles``, ``error``).
    support_smiles_, support_y_ : list, np.ndarray
        The support rows actually used.
    n_support_ : int
    """

    def __init__(self, checkpoint=None, task: str | None = None, device: str | None = None, calibrate: bool = True,
                 level: float = 0.9, smiles_col: str | None = None, hit_rate: float | None = None):
        if checkpoint is None:
            from sciml.checkpoint import default_checkpoint

            checkpoint = default_checkpoint(task)
        self.checkpoint = checkpoint
        self.device = device
        self.calibrate = calibrate
        self.level = float(level)
        self.smiles_col = smiles_col
        self.hit_rate = hit_rate
        loaded = checkpoint if isinstance(checkpoint, LoadedCheckpoint) else load(checkpoint, device)
        #: the user chose the task (else it is the checkpoint's, and class-code labels are refused by ``fit``)
        self.task_given_ = task is not None
        task = task or loaded.tasks[0]
        if task not in TASKS:
            raise ValueError(f"task must be one of {TASKS}, got {task!r}")
        if task not in loaded.tasks:
            raise ValueError(f"the {loaded.learner} checkpoint {loaded.path} was meta-trained for "
                             f"{loaded.tasks[0]} and cannot do {task}; use a checkpoint meta-trained for {task}.")
        self.task = task
        self.loaded_ = loaded
        self.config_ = loaded.config
        if hit_rate is not None:
            if task != "classification":
                raise ValueError("hit_rate applies to classification only (the expected fraction of actives)")
            from sciml.calibration import prior_shift

            prior_shift(self.calibration, hit_rate)  # refuses a bad rate or a calibration without base rate
        cls = loaded.learner_class
        kwargs = {**cls.test_time_settings(loaded.config, loaded.path), "device": loaded.device}
        kwargs.update({k: v for k, v in (("task", task), ("level", self.level)) if cls.accepts(k)})
        self.learner_ = cls.for_model(loaded.model, loaded.featurizer, **kwargs)
        self._cache: dict[str, object] = {}

    @classmethod
    def from_checkpoint(cls, checkpoint=None, **kwargs) -> "FewShotModel":
        return cls(checkpoint, **kwargs)

    @property
    def calibration(self) -> dict:
        """The post-hoc calibration applied to predictions (``{}`` when none or ``calibrate=False``).

        Only a calibration fitted for this model's task applies."""
        cal = self.config_.get("calibration") or {}
        method = {"classification": "platt", "regression": "interval_scale"}[self.task]
        return cal if self.calibrate and cal.get("method") == method else {}

    # ------------------------------------------------------------------ features
    def features(self, smiles: list) -> tuple[np.ndarray | None, np.ndarray, dict[int, str]]:
        """Features of the usable inputs, their positions ``[n_ok]``, and errors by input position.

        Features are cached per input on this object.
        """
        errors: dict[int, str] = {}
        todo = []
        for i, s in enumerate(smiles):
            if not isinstance(s, str) or not s.strip():
                errors[i] = f"empty {self.loaded_.domain.label}"
            elif s not in self._cache:
                todo.append(s)
        todo = list(dict.fromkeys(todo))
        if todo:
            self._featurize_new(todo)
        ok = []
        for i, s in enumerate(smiles):
            if i in errors:
                continue
            v = self._cache[s]
            if isinstance(v, ValueError):
                errors[i] = str(v)
            else:
                ok.append(i)
        ok = np.asarray(ok, dtype=np.int64)
        if ok.size == 0:
            return None, ok, errors
        rows = [self._cache[smiles[i]] for i in ok]
        if isinstance(rows[0], np.ndarray):
            return np.stack(rows), ok, errors
        X = np.empty(len(rows), dtype=object)
        for j, r in enumerate(rows):
            X[j] = r
        return X, ok, errors

    def _featurize_new(self, todo: list) -> None:
        """Cache features of ``todo`` (distinct inputs not cached yet); an invalid input caches its error."""
        res = self.loaded_.featurizer.featurize(todo)
        bad = {todo[i]: e for i, e in res.errors.items()}
        good = [s for s in todo if s not in bad]
        for s, e in bad.items():
            self._cache[s] = ValueError(e)
        if good:
            X = self.learner_.featurize(good)
            for s, x in zip(good, X):
                self._cache[s] = x

    def _mark_duplicates(self, smiles: list, y: np.ndarray, usable: list[int], errors: dict[int, str]) -> None:
        """Leave out repeated structures as the table loader does (:func:`sciml.duplicates.mark_duplicates`):
        a repeat with the same value is merged into the first row, repeats with different values are all
        left out; the reasons go to ``errors`` (input position -> message)."""
        from sciml.duplicates import STATUS_DUPLICATE_CONFLICT, STATUS_DUPLICATE_MERGED, mark_duplicates

        dom = self.loaded_.domain
        changes = mark_duplicates(usable, [dom.key(smiles[i]) for i in usable], [float(y[i]) for i in usable],
                                  kind=self.task, conflicts="drop", label=dom.label)
        for pos, (status, _, message) in changes.items():
            if status in (STATUS_DUPLICATE_CONFLICT, STATUS_DUPLICATE_MERGED):
                errors[usable[pos]] = f"{status}: {message}"

    def clear_feature_cache(self) -> None:
        """Forget the per-input features cached by :meth:`features` (the fitted support is kept): call it
        between chunks of a large query so memory stays bounded by the chunk."""
        self._cache.clear()

    # ----------------------------------------------------------------------- fit
    def _labels(self, y, n: int) -> np.ndarray:
        y = np.asarray(pd.to_numeric(pd.Series(list(y)), errors="coerce"), dtype=np.float64)
        if len(y) != n:
            raise ValueError(f"fit got {n} molecules but {len(y)} labels")
        return y

    def fit(self, X, y) -> "FewShotModel":
        """Adapt on support molecules ``X`` (SMILES list/Series or DataFrame) with labels/values ``y``.

        Unusable rows (invalid SMILES, missing or non-finite labels, a structure repeated with a
        different value, a repeat merged into its first row) are left out and listed in
        ``support_errors_``; an unusable support (empty, one class) raises :class:`SupportSetError`.
        """
        smiles = _as_inputs(X, self.smiles_col, self.loaded_.domain)
        y = self._labels(y, len(smiles))
        feats, ok, errors = self.features(smiles)
        for i in np.flatnonzero(~np.isfinite(y)):
            errors.setdefault(int(i), "missing or non-numeric label")
        self._mark_duplicates(smiles, y, [int(i) for i in ok if i not in errors], errors)
        keep = np.array([j for j, i in enumerate(ok) if i not in errors], dtype=np.int64)
        col = self.loaded_.domain.output_column
        self.support_errors_ = pd.DataFrame(
            [{"row": i, col: smiles[i], "error": e} for i, e in sorted(errors.items())],
            columns=["row", col, "error"])
        for _, r in self.support_errors_.head(10).iterrows():
            logger.warning("support row %d (%r) left out: %s", r["row"], r[col], r["error"])
        if keep.size == 0:
            raise SupportSetError(f"none of the {len(smiles)} support rows is usable; see support_errors_")
        rows = ok[keep]
        n_min = MIN_SUPPORT[self.task]
        if rows.size < n_min:
            raise SupportSetError(f"{rows.size} usable support row(s): {self.task} needs at least {n_min} "
                                  f"(and gives useful figures from about {WARN_SUPPORT} on)")
        if rows.size < WARN_SUPPORT:
            logger.warning("only %d usable support rows: predictions from fewer than %d measured compounds are "
                           "close to the model's prior; treat them as a rough first look", rows.size, WARN_SUPPORT)
        if self.task == "regression" and np.abs(y[rows]).max() > MAX_ABS_VALUE:
            raise SupportSetError(f"support values reach {np.abs(y[rows]).max():.3g}: values beyond "
                                  f"{MAX_ABS_VALUE:.0e} in absolute size cannot be modelled reliably; rescale them "
                                  f"(e.g. to log units such as pIC50)")
        if self.task == "regression":
            problem = class_code_problem(y[rows], explicit_regression=self.task_given_)
            if problem is not None:
                raise SupportSetError(f"{problem} (FewShotModel(..., task='regression')); for classification "
                                      f"use task='classification' with a checkpoint meta-trained for it.")
        yk = check_support(y[rows], self.task)
        self.learner_.fit_features(feats[keep], yk)
        self.support_smiles_ = [smiles[i] for i in rows]
        self.support_y_ = yk
        self.support_features_ = feats[keep]
        self.n_support_ = int(keep.size)
        return self

    # ------------------------------------------------------------------- predict
    def _check_fitted(self) -> None:
        if not hasattr(self, "n_support_"):
            raise NotFittedError.for_object(self, "fit(support_inputs, values)")

    def predict_features(self, X) -> Prediction:
        """Calibrated :class:`Prediction` for features from :meth:`features` (fields ``[n]``)."""
        from sciml.calibration import apply_calibration

        self._check_fitted()
        return apply_calibration(self.learner_.predict_features(X), self.calibration, hit_rate=self.hit_rate)

    def predict(self, X) -> pd.DataFrame:
        """One row per input: ``smiles, prediction`` (value, or P(active) for classification),
        ``std``, ``lower``, ``upper`` (central ``level`` interval) and ``error`` ('' when ok)."""
        self._check_fitted()
        smiles = _as_inputs(X, self.smiles_col, self.loaded_.domain)
        feats, ok, errors = self.features(smiles)
        cols = {k: np.full(len(smiles), np.nan) for k in ("prediction", "std", "lower", "upper")}
        if ok.size:
            pred = self.predict_features(feats)
            lo, hi = pred.interval(self.level)
            for k, v in (("prediction", pred.mean), ("std", pred.std), ("lower", lo), ("upper", hi)):
                cols[k][ok] = v
            bad = ok[~(np.isfinite(np.asarray(pred.mean, dtype=np.float64))
                       & np.isfinite(np.asarray(pred.std, dtype=np.float64)))]
            for i in bad:  # never a silent NaN: say why there is no number
                errors.setdefault(int(i), "the model gave no finite prediction for this input (support values "
                                          "on an extreme scale? rescale them, e.g. to log units)")
                for k in cols:
                    cols[k][i] = np.nan
        return pd.DataFrame({self.loaded_.domain.output_column: smiles, **cols,
                             "error": [errors.get(i, "") for i in range(len(smiles))]})

    @property
    def applicability(self) -> dict:
        """The checkpoint's calibrated domain thresholds (``outside_similarity``, ``edge_similarity``, ``separates``)."""
        return dict(self.config_.get("applicability") or {})

    def domain(self, X, similarity_threshold: float | None = None, edge_similarity: float | None = None) -> pd.DataFrame:
        """Applicability-domain columns for every input row against the support set of the last fit
        (see :func:`sciml.applicability.applicability_domain`), plus ``nearest_measured``, the value or
        label of the nearest support input; invalid rows get NaN / ``in_domain`` missing.

        Thresholds default to the checkpoint's calibrated ones (:attr:`applicability`), else the domain's.
        """
        from sciml.applicability import applicability_domain

        cal = self.applicability
        if similarity_threshold is None:
            similarity_threshold = cal.get("outside_similarity")
        if edge_similarity is None:
            edge_similarity = cal.get("edge_similarity")
        self._check_fitted()
        smiles = _as_inputs(X, self.smiles_col, self.loaded_.domain)
        feats, ok, _ = self.features(smiles)
        emb = feats is not None and isinstance(feats, np.ndarray) and feats.ndim == 2 and feats.dtype != object
        cols = self.learner_.embedding_columns
        dom = applicability_domain(self.support_smiles_, [smiles[i] for i in ok],
                                   support_emb=cols(self.support_features_) if emb else None,
                                   query_emb=cols(feats) if emb else None, similarity_threshold=similarity_threshold,
                                   edge_similarity=edge_similarity, domain=self.loaded_.domain)
        out = pd.DataFrame(index=range(len(smiles)), columns=dom.columns)
        out["in_domain"] = pd.array([pd.NA] * len(smiles), dtype="boolean")
        if ok.size:
            out.loc[ok, dom.columns] = dom.to_numpy()
        out["nearest_similarity"] = out["nearest_similarity"].astype(float)
        out["embedding_distance"] = out["embedding_distance"].astype(float)
        out["domain_reason"] = out["domain_reason"].fillna("")
        measured = dict(zip(self.support_smiles_, np.asarray(self.support_y_, dtype=np.float64)))
        out["nearest_measured"] = out["nearest_support"].map(measured).astype(float)
        return out

    def cross_validate(self, n_folds: int | None = None, seed: int = 0, groups=None) -> pd.DataFrame:
        """Leave-one-out, random K-fold or grouped K-fold predictions on the support set of the last fit.

        Each support molecule is predicted by a model adapted on the other folds (the
        fitted state is restored afterwards). ``hit_rate`` is not applied: the held-out
        molecules come from the support set, whose base rate is its own. Classification
        folds whose training part lacks a class are skipped (NaN rows).

        Parameters
        ----------
        n_folds : int, optional
            Without ``groups``: ``None`` for leave-one-out, else random K-fold (at least 2,
            at most one fold per molecule). With ``groups``: the number of grouped folds;
            ``None`` leaves one group out at a time.
        seed : int, default 0
            Shuffles the random folds, or the order of equal-size groups (see
            :meth:`sciml.domains.base.Domain.group_kfold`).
        groups : {None, True, "scaffold", "group", "domain"}, optional
            Any of these but ``None``: folds keep each group of the domain's
            :meth:`~sciml.domains.base.Domain.group_kfold` whole (molecules: Bemis–Murcko
            scaffolds by deepchem's ``ScaffoldSplitter``), so every molecule is predicted by a
            model adapted on other chemotypes only. With fewer groups than ``n_folds`` one
            fold per group is used (a warning is logged).

        Returns
        -------
        pandas.DataFrame
            One row per support molecule, in support order: ``smiles`` (the domain's
            ``output_column``), ``measured, prediction, std, lower, upper, covered`` and
            ``fold`` (the fold that held the molecule out), plus
            ``group`` (its group label, e.g. the scaffold SMILES) when grouped. ``attrs``
            holds ``n_folds`` (folds used) and ``groups`` (``None`` or the domain's group name).

        Raises
        ------
        SupportSetError
            Fewer than 3 support molecules, or, when grouped, all of them in one group.
        ValueError
            An unknown ``groups`` value.
        """
        from sciml.calibration import apply_calibration

        self._check_fitted()
        X, y, n = self.support_features_, self.support_y_, self.n_support_
        if n < 3:
            raise SupportSetError(f"cross-validation needs at least 3 support molecules, got {n}")
        domain, group_labels = self.loaded_.domain, None
        if groups is None or groups is False:
            k = n if n_folds is None else int(min(max(2, n_folds), n))
            fold = np.arange(n) % k if n_folds is None else np.random.default_rng(seed).permutation(n) % k
        else:
            if groups is not True and groups not in ("scaffold", "group", "groups", "domain", domain.group_name):
                raise ValueError(f"groups must be None or one of True, 'scaffold', 'group', 'domain'; got {groups!r}")
            group_labels = domain.group_keys(self.support_smiles_)
            n_groups = len(set(group_labels))
            what = f"{domain.group_name}s"
            if n_groups < 2:
                raise SupportSetError(
                    f"cross-validation by {domain.group_name} needs support molecules with at least 2 distinct "
                    f"{what}; all {n} share one{f' ({group_labels[0]})' if group_labels[0] else ''}. Use "
                    f"leave-one-out or random K-fold, or add molecules of other {what}.")
            wanted = n_groups if n_folds is None else max(2, int(n_folds))
            if wanted > n_groups:
                logger.warning("the %d support molecules have %d distinct %s: %d-fold cross-validation by %s "
                               "instead of %d-fold", n, n_groups, what, n_groups, domain.group_name, wanted)
            fold = np.asarray(domain.group_kfold(self.support_smiles_, min(wanted, n_groups), seed), dtype=np.int64)
            k = int(fold.max()) + 1
        out = {c: np.full(n, np.nan) for c in ("prediction", "std", "lower", "upper")}
        try:
            for f in range(k):
                test, train = fold == f, fold != f
                try:
                    self.learner_.fit_features(X[train], y[train])
                except SupportSetError:
                    continue
                pred = apply_calibration(self.learner_.predict_features(X[test]), self.calibration)
                lo, hi = pred.interval(self.level)
                for c, v in (("prediction", pred.mean), ("std", pred.std), ("lower", lo), ("upper", hi)):
                    out[c][test] = v
        finally:
            self.learner_.fit_features(X, y)
        df = pd.DataFrame({domain.output_column: self.support_smiles_, "measured": y, **out})
        covered = pd.array((df["measured"] >= df["lower"]) & (df["measured"] <= df["upper"]), dtype="boolean")
        covered[df["prediction"].isna().to_numpy()] = pd.NA
        df["covered"] = covered
        df["fold"] = fold
        if group_labels is not None:
            df["group"] = group_labels
        df.attrs.update(n_folds=k, groups=None if group_labels is None else domain.group_name)
        return df

    def __repr__(self) -> str:
        return f"{type(self).__name__}(checkpoint={str(self.loaded_.path)!r}, task={self.task!r})"


class FewShotClassifier(FewShotModel):
    """:class:`FewShotModel` for binary assays, with ``predict_proba`` (``p_active``) and ``predict`` (labels)."""

    def __init__(self, checkpoint=None, device: str | None = None, smiles_col: str | None = None, calibrate: bool = True,
                 level: float = 0.9, hit_rate: float | None = None):
        super().__init__(checkpoint, task="classification", device=device, calibrate=calibrate, level=level,
                         smiles_col=smiles_col, hit_rate=hit_rate)

    def predict_proba(self, X) -> pd.DataFrame:
        """P(active) for every input row: columns ``smiles``, ``p_active`` (NaN on error), ``error`` ('' when ok)."""
        df = FewShotModel.predict(self, X)
        return df[[self.loaded_.domain.output_column, "prediction", "error"]].rename(columns={"prediction": "p_active"})

    def predict(self, X, threshold: float = 0.5) -> pd.DataFrame:
        """``predict_proba`` plus ``label`` (1 if ``p_active >= threshold``; missing where the row failed)."""
        df = self.predict_proba(X)
        df["label"] = pd.array(np.where(df["p_active"] >= threshold, 1, 0), dtype="Int64")
        df.loc[df["error"] != "", "label"] = pd.NA
        return df
