"""Error types shared across the library (one definition each)."""

from __future__ import annotations

from sklearn.exceptions import NotFittedError as _SklearnNotFitted

__all__ = ["NotFittedError"]


class NotFittedError(_SklearnNotFitted):
    """A model or learner was asked to predict before ``fit``.

    Subclasses scikit-learn's ``NotFittedError`` (itself a ``ValueError`` and an
    ``AttributeError``), so code written against scikit-learn catches it too.
    """

    @classmethod
    def for_object(cls, obj: object, how: str = "fit(...)") -> "NotFittedError":
        """The standard message: ``This <Class> is not fitted yet: call <how> first.``"""
        return cls(f"This {type(obj).__name__} is not fitted yet: call {how} first.")
