"""Few-shot learners behind one interface (:class:`~sciml.learners.base.FewShotLearner`).

:data:`LEARNERS` is the registry (``@LEARNERS.register()`` on each class) that feeds
the CLI's ``--learner(s)`` choices and the benchmark's ``learner`` field. Meta-learners
are built from a checkpoint (``cls.from_checkpoint(path, device=...)``, see
:class:`~sciml.learners.meta.MetaLearnerMixin`); baselines from their defaults and a
task (``cls(task=...)``).
"""

from __future__ import annotations

# Import order is registry order (CLI help, tables): meta-learners, then support-only baselines.
from sciml.learners import protonet, maml, bmaml, dkgp, cnp, baselines, gp_baseline, minimol, multitask  # noqa: F401, I001 - registration
from sciml.learners.registry import LEARNERS, make_learner, meta_learner_names

__all__ = ["LEARNERS", "make_learner", "meta_learner_names"]
