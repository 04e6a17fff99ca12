"""Small exact Gaussian processes in torch (float64): regression and Laplace classification.

Building blocks, reused by :mod:`sciml.learners.dkgp` (deep-kernel GP) and
:mod:`sciml.learners.gp_baseline` (Tanimoto GP on fingerprints):

* :mod:`~sciml.learners.gp.kernels`: kernels on embeddings and fingerprints
  (:func:`rbf_kernel`, :func:`linear_kernel`, :func:`tanimoto_kernel`),
  :class:`ScaledKernel` (``outputscale * k`` with bounded, learnable log
  hyperparameters), :class:`SplitSumKernel` and :class:`BlockSumKernel` (sums over column blocks).
* :mod:`~sciml.learners.gp.exact`: :func:`cholesky_jitter`, the Gaussian-likelihood
  core (:func:`exact_gp_fit` / :func:`exact_gp_predict`) and :class:`ExactGP`
  (regression, hyperparameters fitted by the exact log marginal likelihood).
* :mod:`~sciml.learners.gp.laplace`: the Laplace approximation for binary
  classification (:func:`laplace_fit` / :func:`laplace_predict`, R&W 2006 Alg. 3.1 /
  3.2), predictive probabilities (:func:`predictive_log_prob`,
  :func:`probability_summary`) and :class:`LaplaceGPClassifier`.

Fitted GPs export what prediction needs as tensors (``fitted_state()``) and take it
back (``load_fitted_state(state)``) without refitting.
"""

from __future__ import annotations

from sciml.learners.gp.exact import ExactGP, cholesky_jitter, exact_gp_fit, exact_gp_predict
from sciml.learners.gp.kernels import (DTYPE, KERNELS, BlockSumKernel, ScaledKernel, SplitSumKernel, kernel_diag,
                                       linear_kernel, rbf_kernel, tanimoto_kernel)
from sciml.learners.gp.laplace import (LaplaceGPClassifier, LaplaceState, laplace_fit, laplace_predict,
                                       predictive_log_prob, probability_summary)

__all__ = [
    "DTYPE",
    "rbf_kernel",
    "linear_kernel",
    "tanimoto_kernel",
    "KERNELS",
    "kernel_diag",
    "cholesky_jitter",
    "ScaledKernel",
    "SplitSumKernel",
    "BlockSumKernel",
    "exact_gp_fit",
    "exact_gp_predict",
    "LaplaceState",
    "laplace_fit",
    "laplace_predict",
    "predictive_log_prob",
    "probability_summary",
    "ExactGP",
    "LaplaceGPClassifier",
]
