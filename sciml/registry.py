"""String-keyed class registries filled by a decorator (as chemprop v2's ``ClassRegistry``).

>>> ENCODERS = ClassRegistry("encoder")
>>> @ENCODERS.register("gine")
... class GINEncoder: ...
>>> ENCODERS["gine"] is GINEncoder
True

A registry is a read-only mapping ``name -> class``; its keys feed CLI choices and
the names stored in checkpoints and benchmark records. Looking up an unknown name
raises a ``KeyError`` that lists the known ones.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Callable, Generic, TypeVar

T = TypeVar("T", bound=type)

__all__ = ["ClassRegistry"]


class UnknownNameError(KeyError, ValueError):
    """A name that no class in the registry is registered under."""

    def __str__(self) -> str:  # KeyError would quote the whole message
        return str(self.args[0]) if self.args else ""


class ClassRegistry(Mapping, Generic[T]):
    """Classes registered under one or more names.

    Parameters
    ----------
    kind : str
        What the registry holds ("learner", "encoder", "domain"), used in error messages.
    """

    def __init__(self, kind: str):
        self.kind = kind
        self._classes: dict[str, T] = {}

    def register(self, *names: str) -> Callable[[T], T]:
        """Class decorator: register the class under ``names`` (default: its ``name`` attribute)."""

        def decorator(cls: T) -> T:
            keys = names or (getattr(cls, "name"),)
            for key in keys:
                if key in self._classes and self._classes[key] is not cls:
                    raise ValueError(f"{self.kind} {key!r} is already registered to {self._classes[key].__name__}")
                self._classes[key] = cls
            return cls

        return decorator

    def __getitem__(self, name: str) -> T:
        try:
            return self._classes[name]
        except KeyError:
            raise UnknownNameError(f"unknown {self.kind} {name!r}; choose from {', '.join(self._classes)}") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._classes)

    def __len__(self) -> int:
        return len(self._classes)

    def __repr__(self) -> str:
        return f"ClassRegistry({self.kind!r}: {', '.join(self._classes)})"
