"""Bayesian MAML (BMAML, Yoon et al., NeurIPS 2018), restricted to the head to stay affordable.

* :mod:`~sciml.learners.bmaml.svgd`: Stein variational gradient descent on particle
  tensors (:func:`rbf_kernel`, :func:`svgd_direction`, :func:`svgd_step`);
* :mod:`~sciml.learners.bmaml.mixture`: summaries of the particle mixture
  (:func:`mixture_quantile`, :func:`mixture_interval`, :func:`mixture_prediction`);
* :mod:`~sciml.learners.bmaml.algorithm`: :class:`BMAMLConfig` and :class:`BMAML`
  (shared encoder + meta-learned head particles; chaser and NLL objectives), on tensors;
* :mod:`~sciml.learners.bmaml.learner`: :class:`BMAMLLearner`, the few-shot learner
  that featurizes through the checkpoint's featurizer and keeps the adapted particles.
"""

from __future__ import annotations

from sciml.learners.bmaml.algorithm import BMAML, BMAMLConfig
from sciml.learners.bmaml.learner import BMAMLLearner
from sciml.learners.bmaml.mixture import mixture_interval, mixture_prediction, mixture_quantile
from sciml.learners.bmaml.svgd import rbf_kernel, svgd_direction, svgd_step

__all__ = ["BMAMLConfig", "BMAML", "BMAMLLearner", "rbf_kernel", "svgd_direction", "svgd_step",
           "mixture_quantile", "mixture_interval", "mixture_prediction"]
