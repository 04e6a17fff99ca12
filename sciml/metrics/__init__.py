"""Evaluation metrics for few-shot episodes: classification, calibration, regression, uncertainty.

Every metric takes 1-D arrays of equal length ``[n]`` and returns a Python ``float``.
Metrics that are undefined on an episode (e.g. ROC-AUC when the query set holds one
class, R^2 when the targets are constant, anything on an empty query) return ``NaN``
instead of raising, so that aggregations over many episodes can use ``np.nanmean`` and
count the gaps. Malformed inputs (length mismatch, non-finite values, labels outside
{0, 1}, probabilities outside [0, 1], negative standard deviations, ``lower > upper``)
raise ``ValueError``.

Modules: :mod:`~sciml.metrics.classification` (ranking metrics and the Brier score),
:mod:`~sciml.metrics.calibration` (ECE and the reliability curve of binary
probabilities), :mod:`~sciml.metrics.regression` (point metrics, Gaussian predictive
distributions and their intervals); every public name is importable from
``sciml.metrics``.

Registries (name -> function):

* :data:`METRICS` -- classification ranking metrics, ``f(y_true, prob)``;
  :func:`classification_report` and ``pipelines.evaluate`` iterate over it.
* :data:`CLASSIFICATION_CALIBRATION` -- ``ece``, ``brier``, ``f(y_true, prob)``.
* :data:`REGRESSION_METRICS` -- ``r2``, ``rmse``, ``spearman``, ``f(y_true, mean)``.
* :data:`GAUSSIAN_METRICS` -- ``nll``, ``coverage90``, ``f(y_true, mean, std)``.
  :func:`width90` (``f(mean, std)``, no targets) is kept out of it because its
  signature differs; call it separately.
* :data:`UNCERTAINTY_METRICS` -- ``std_error_rho``, ``f(y_true, mean, std)``: the Spearman
  correlation of the predicted spread with the absolute error, for both task kinds.

:func:`~sciml.metrics.bootstrap.bootstrap_interval` gives any of them a percentile
bootstrap interval over the compounds (for checks on a few dozen compounds).

To add a metric, write a function with the signature of its registry and register it
there (or in a new registry for another task type).
"""

from __future__ import annotations

from sciml.metrics import bootstrap, calibration, classification, regression
from sciml.metrics.bootstrap import *  # noqa: F401,F403
# Each module's ``__all__`` is the one list of its public names; the package re-exports them.
from sciml.metrics.calibration import *  # noqa: F401,F403
from sciml.metrics.classification import *  # noqa: F401,F403
from sciml.metrics.regression import *  # noqa: F401,F403

#: Every public name of the four modules.
__all__ = [*bootstrap.__all__, *classification.__all__, *calibration.__all__, *regression.__all__]
