"""Deep-kernel Gaussian processes for few-shot prediction (DKT / ADKF-IFT style).

A :class:`DeepKernelGP` is a meta-trained encoder ``phi`` (molecule -> ``[d]``
embedding, optionally L2-normalised) and a base kernel on embeddings,
``k(x, x') = outputscale * k_base(phi(x), phi(x'))`` (RBF by default; ``"linear"`` on
normalised embeddings is the cosine-similarity kernel), plus a noise variance for
regression. A task is solved by conditioning an exact GP on its support set:

* regression: Gaussian likelihood on support targets standardised with the support's
  mean and (population) standard deviation (:class:`~sciml.learners.base.TargetScaler`),
  zero prior mean in those units;
* classification: zero-mean latent GP with a probit (default) or logistic likelihood,
  Laplace approximation (:func:`sciml.learners.gp.laplace_fit`).

Meta-training objective (:meth:`DeepKernelGP.episode_loss`), with meta-parameters =
encoder weights + kernel hyperparameters (log outputscale, log lengthscale(s)) + log
noise (regression), shared across tasks:

* ``objective="predictive"`` (default): mean negative log predictive likelihood of the
  *query* labels under the GP posterior conditioned on the *support* set,
  ``-1/m sum_j log p(y_j^q | x_j^q, S)``; regression: Gaussian with the latent variance
  plus the noise, in the support-standardised units; classification: ``log E_f p(y|f)``
  under the Laplace latent posterior (probit exact, logistic by Gauss-Hermite). The
  gradient flows through the Cholesky solves, and for classification through the
  Laplace mode by the implicit-function trick of :func:`~sciml.learners.gp.laplace_fit`.
* ``objective="marginal"``: the DKT loss of Patacchiola et al. (2020): the negative
  log marginal likelihood of *all* ``n_support + n_query`` labels (exact for regression,
  targets standardised with the statistics of all of them; Laplace approximation for
  classification), divided by their number.

Optional parts (ADKF-style, each weighed per support set by the test-time refit):

* ``prior_mean``: a meta-learned mean function ``h(x) = w . phi(x) + b`` (a linear head on
  the embedding, zero at initialisation) replaces the zero prior mean (latent units for
  classification, support-standardised units for regression). Meta-training shapes it to
  what the train tasks share (e.g. a general toxicity propensity), the kernel carries what
  the support says; at test time a per-support ``mean_scale`` (initially 1) is fitted with
  the kernel hyperparameters, so the data decide how far to trust the prior. Without a
  support the model still ranks (:meth:`DeepKernelGPLearner.predict_support_free`).
* ``minimol_kernel``: an RBF kernel on the frozen, L2-normalised MiniMol embedding
  (``batch.mfeat``, featurizer ``minimol=True``) beside the kernel on ``phi``: a structural
  similarity that meta-training cannot over-fit to the train tasks.
* ``fingerprint_kernel``: a Tanimoto kernel on the Morgan fingerprint (``batch.gfeat``).

Features are then ``[phi | mfeat | fingerprint | h]``; the kernel
(:class:`~sciml.learners.gp.kernels.BlockSumKernel`) reads the leading blocks and the GP
reads ``h`` from the last column (``mean_column``).

Test time (:class:`DeepKernelGPLearner`): embeddings are computed once (eval mode);
``fit_features`` copies the meta-learned hyperparameters and fine-tunes them on the
support set alone for ``adapt_steps`` Adam steps of the (approximate) log marginal
likelihood, encoder frozen (as ADKF-IFT's inner loop; ``adapt_steps=0`` is plain DKT).
The fitted GP (support embeddings, targets, hyperparameters, Laplace mode) is the
learner's adapted state (:class:`~sciml.learners.gp.learner.GPLearnerMixin`).
"""

from sciml.learners.dkgp.learner import DeepKernelGPLearner
from sciml.learners.dkgp.model import DeepKernelGP

__all__ = ["DeepKernelGP", "DeepKernelGPLearner"]
