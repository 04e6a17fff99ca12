"""What every meta-learned learner shares: rebuilding its model from a checkpoint, featurizing.

A meta-learner class (ProtoNet, MAML, FOMAML, BMAML, deep-kernel GP) wraps an
``nn.Module`` that holds the encoder and the learner's own meta-parameters. The class
says how to build that module from an encoder and the JSON ``learner_config`` stored in
the checkpoint (:meth:`MetaLearnerMixin.build_model`) and how to describe an existing
module as such a config (:meth:`MetaLearnerMixin.model_config`), so that
:mod:`sciml.checkpoint` can save and rebuild every learner without unpickling anything,
and the training pipeline can build any of them by registry name.

Meta-learners are domain-generic: inputs reach the encoder only through the
checkpoint's featurizer (``featurize`` -> items, ``collate`` -> batch;
:func:`sciml.graphs.featurize_items`, :func:`sciml.graphs.embed_inputs`).
"""

from __future__ import annotations

import inspect
from typing import ClassVar

import numpy as np

from torch import nn

from sciml.config import default_device


class MetaLearnerMixin:
    """Checkpoint plumbing for learners whose ``model`` is meta-trained.

    Subclasses implement :meth:`build_model` and :meth:`model_config` and list in
    ``checkpoint_learners`` the checkpoint ``learner`` names they can load.
    """

    checkpoint_learners: ClassVar[tuple[str, ...]] = ()
    #: Tasks the model can be meta-trained for.
    tasks: ClassVar[tuple[str, ...]] = ("classification",)
    needs_checkpoint: ClassVar[bool] = True

    @classmethod
    def build_model(cls, encoder: nn.Module, learner_config: dict) -> nn.Module:
        """A fresh model around ``encoder`` from a ``learner_config`` dict (see :meth:`model_config`)."""
        raise NotImplementedError

    @classmethod
    def model_config(cls, model: nn.Module) -> dict:
        """JSON-serialisable ``learner_config`` that :meth:`build_model` turns back into ``model``."""
        raise NotImplementedError

    @classmethod
    def learner_config_for(cls, learner_config: dict, task: str, **train_options) -> dict:
        """The ``learner_config`` of a new model for ``task`` from the user's ``learner_config``.

        ``train_options`` are run-level settings a learner may read (``learn_scale``);
        the default adds the task.
        """
        return {**learner_config, "task": task}

    @classmethod
    def for_model(cls, model: nn.Module, featurizer, **kwargs):
        """The learner for an in-memory ``model`` (subclasses may pick a sibling class)."""
        return cls(model, featurizer, **kwargs)

    @classmethod
    def accepts(cls, parameter: str) -> bool:
        """Whether the learner's constructor takes ``parameter`` (e.g. ``task``, ``level``)."""
        return parameter in inspect.signature(cls.__init__).parameters

    @classmethod
    def test_time_settings(cls, config: dict, path="checkpoint") -> dict:
        """The checkpoint config's ``test_time`` keyword arguments (chosen on validation tasks), checked.

        Raises
        ------
        sciml.checkpoint.CheckpointError
            If ``test_time`` is not a JSON object of this learner's constructor parameters.
        """
        from sciml.checkpoint import CheckpointError

        test_time = config.get("test_time") or {}
        if not isinstance(test_time, dict):
            raise CheckpointError(f"{path}: 'test_time' in its config must be a JSON object, got {test_time!r}")
        bad = [k for k in test_time if not cls.accepts(k)]
        if bad:
            raise CheckpointError(f"{path}: its test-time settings {bad} are not parameters of {cls.__name__}.")
        return dict(test_time)

    @classmethod
    def from_checkpoint(cls, path, device: str | None = None, **kwargs):
        """Load a checkpoint folder written by :func:`sciml.checkpoint.save_checkpoint`.

        ``kwargs`` go to the learner's constructor (e.g. test-time ``inner_steps``); they
        override the checkpoint's ``test_time`` entry, the test-time settings chosen on
        validation tasks by :func:`pipelines.select.select_test_time`. The checkpoint's
        config is kept in ``config_`` (its ``calibration`` entry holds the post-hoc
        calibration fitted on validation tasks, see :mod:`sciml.calibration`).

        Raises
        ------
        sciml.checkpoint.CheckpointError
            If the folder is not a checkpoint of a learner this class can load.
        """
        from sciml.checkpoint import CheckpointError, read_config
        from sciml.learners.loading import load_checkpoint

        device = device or default_device()
        learner_name = read_config(path)["learner"]
        if learner_name not in cls.checkpoint_learners:
            raise CheckpointError(f"{path}: it holds a {learner_name!r} model, which {cls.__name__} cannot load "
                                  f"(it loads {', '.join(cls.checkpoint_learners)}).")
        model, featurizer, config = load_checkpoint(path, device=device)
        learner = cls.for_model(model, featurizer, device=device, **{**cls.test_time_settings(config, path), **kwargs})
        learner.config_ = config
        return learner


class ConfigModelLearnerMixin(MetaLearnerMixin):
    """For learners whose model is ``model_cls(encoder, config_cls(...))`` with a ``config``
    dataclass holding ``task`` (MAML, BMAML): shared constructor and checkpoint plumbing.

    Parameters (of the constructor)
    -------------------------------
    model : nn.Module
    featurizer
        The domain's featurizer (``featurize`` / ``collate``), from the checkpoint.
    device : str, optional
        Default :func:`sciml.config.default_device`; the model is moved there.
    batch_size : int, default 256
        Graphs per encoder forward / queries per head forward.
    inner_steps : int, optional
        Test-time adaptation steps (default ``model.config.inner_steps``).
    level : float, default 0.9
        Level of the ``lower`` / ``upper`` bounds of predictions.
    """

    model_cls: ClassVar[type]
    config_cls: ClassVar[type]
    tasks = ("classification", "regression")

    def __init__(self, model: nn.Module, featurizer, device: str | None = None, batch_size: int = 256,
                 inner_steps: int | None = None, level: float = 0.9):
        self.device = device or default_device()
        self.model = model.to(self.device)
        self.featurizer = featurizer
        self.batch_size = int(batch_size)
        self.inner_steps = inner_steps
        self.level = float(level)

    @property
    def task(self) -> str:
        return self.model.config.task

    def _support_targets(self, X, y) -> np.ndarray:
        """Validated support labels ``[n_support]`` for ``X``; regression targets are standardised by the
        support (the scaler is kept in ``scaler_`` to map predictions back)."""
        from sciml.learners.base import TargetScaler, check_support

        y = check_support(y, self.task)
        if len(X) != y.size:
            raise ValueError(f"{len(X)} support features but {y.size} labels")
        if self.task == "regression":
            self.scaler_ = TargetScaler.fit(y)
            y = self.scaler_.transform(y)
        return y

    def _support_state(self) -> dict[str, np.ndarray]:
        """``n_support`` and, for regression, the target scaler (``scaler.mean``, ``scaler.std``)."""
        state = {"n_support": np.asarray(self.n_support_, dtype=np.int64)}
        if self.task == "regression":
            state.update(self.scaler_.state())
        return state

    def _load_support_state(self, state) -> None:
        """Inverse of :meth:`_support_state` (``ValueError`` naming a missing key)."""
        from sciml.learners.base import TargetScaler, state_entry

        n_support = int(state_entry(state, "n_support"))
        if self.task == "regression":
            self.scaler_ = TargetScaler.from_state(state)
        self.n_support_ = n_support

    @classmethod
    def build_model(cls, encoder: nn.Module, learner_config: dict) -> nn.Module:
        return cls.model_cls(encoder, cls.config_cls.from_dict(learner_config))

    @classmethod
    def model_config(cls, model: nn.Module) -> dict:
        return model.config.to_dict()
