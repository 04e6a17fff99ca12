"""Model-agnostic meta-learning (MAML, Finn et al. 2017) and its variants for few-shot prediction.

* :mod:`~sciml.learners.maml.config`: :class:`MAMLConfig` (FOMAML, Meta-SGD, ANIL,
  regression head, zeroing trick) and the log-variance bounds shared with BMAML;
* :mod:`~sciml.learners.maml.algorithm`: the algorithm on tensors, :class:`MAML`
  (encoder + head, functional inner loop with ``torch.func.functional_call``), apart
  from any featurization;
* :mod:`~sciml.learners.maml.learner`: :class:`MAMLLearner` / :class:`FOMAMLLearner`,
  the few-shot learners that featurize through the checkpoint's featurizer and keep
  the adapted fast weights.
"""

from __future__ import annotations

from sciml.learners.maml.algorithm import MAML, split_inputs
from sciml.learners.maml.config import LOG_VAR_MAX, LOG_VAR_MIN, MAMLConfig
from sciml.learners.maml.learner import FOMAMLLearner, MAMLLearner

__all__ = ["MAMLConfig", "MAML", "MAMLLearner", "FOMAMLLearner", "split_inputs", "LOG_VAR_MIN", "LOG_VAR_MAX"]
