"""Acquisition functions: rank candidates for the next measurement from a predictive summary.

:data:`ACQUISITIONS` is a string-keyed registry (it feeds the app's choices); each entry
scores candidates from the predictive mean and standard deviation (higher score = measure
sooner) and explains itself in one line. Scores assume higher values are better (pKi,
pEC50, P(active)); pass ``maximize=False`` for properties to minimise.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
from scipy.stats import norm

__all__ = ["Acquisition", "ACQUISITIONS", "acquisition_scores", "expected_improvement"]


@dataclass(frozen=True)
class Acquisition:
    """One entry of :data:`ACQUISITIONS`.

    Attributes
    ----------
    label : str
        Name shown to the user.
    explanation : str
        One line on what the ranking favours.
    fn : callable
        ``fn(mean [n], std [n], best, kappa) -> scores [n]`` on values oriented so that higher is better.
    tasks : tuple of str
        Task kinds the acquisition applies to.
    """

    label: str
    explanation: str
    fn: Callable[..., np.ndarray]
    tasks: tuple[str, ...] = ("classification", "regression")


def expected_improvement(mean, std, best: float, xi: float = 0.0) -> np.ndarray:
    """Gaussian expected improvement over ``best``: ``(m - best - xi) Phi(z) + s phi(z)``, ``z = (m - best - xi) / s``.

    Shapes: mean, std ``[n]`` -> ``[n]``; a zero ``std`` gives ``max(m - best - xi, 0)``.
    """
    mean, std = np.asarray(mean, dtype=np.float64), np.asarray(std, dtype=np.float64)
    gain = mean - best - xi
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(std > 0, gain / np.where(std > 0, std, 1.0), 0.0)
    return np.where(std > 0, gain * norm.cdf(z) + std * norm.pdf(z), np.maximum(gain, 0.0))


ACQUISITIONS: dict[str, Acquisition] = {
    "highest": Acquisition("Highest predicted", "Exploit: measure the candidates predicted best first, "
                           "ignoring how uncertain the prediction is.",
                           lambda m, s, best, kappa: m),
    "ucb": Acquisition("Upper confidence bound", "Balance: rank by prediction + kappa x standard deviation, so "
                       "promising but uncertain candidates move up (kappa sets how much).",
                       lambda m, s, best, kappa: m + kappa * s),
    "uncertain": Acquisition("Most uncertain", "Explore: measure where the model knows least (largest standard "
                             "deviation) to improve the model fastest.",
                             lambda m, s, best, kappa: s),
    "ei": Acquisition("Expected improvement", "Rank by the expected amount by which a candidate beats the best "
                      "measured value so far (Gaussian predictive distribution).",
                      lambda m, s, best, kappa: expected_improvement(m, s, best), ("regression",)),
}


def acquisition_scores(name: str, mean, std, *, best: float | None = None, kappa: float = 1.0,
                       maximize: bool = True) -> np.ndarray:
    """Scores ``[n]`` of acquisition ``name`` (NaN where the prediction is NaN); higher = measure sooner.

    ``best`` (the best measured value, in the direction of ``maximize``) is needed by ``"ei"``.
    """
    if name not in ACQUISITIONS:
        raise ValueError(f"unknown acquisition {name!r}; choose from {', '.join(ACQUISITIONS)}")
    mean, std = np.asarray(mean, dtype=np.float64), np.asarray(std, dtype=np.float64)
    sign = 1.0 if maximize else -1.0
    if name == "ei":
        if best is None:
            raise ValueError("expected improvement needs the best measured value (best=...)")
        best = sign * best
    return ACQUISITIONS[name].fn(sign * mean, std, best, kappa)
