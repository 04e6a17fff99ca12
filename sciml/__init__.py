"""sciml: few-shot property prediction with meta-learned graph neural networks.

The public, scikit-learn-like entry points are :class:`sciml.api.FewShotModel`
(regression or classification) and :class:`sciml.api.FewShotClassifier` (imported lazily
so that ``import sciml`` stays cheap for the CLI).
"""

from __future__ import annotations

import logging

from sciml._version import __version__

logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = ["__version__", "FewShotModel", "FewShotClassifier"]


def __getattr__(name: str):
    if name in ("FewShotModel", "FewShotClassifier"):
        from sciml import api

        return getattr(api, name)
    raise AttributeError(f"module 'sciml' has no attribute {name!r}")
