"""The one protocol of mergeable statistics: profile partials, window statistics and samples
of disjoint parts of a table merge into the statistics of the whole, in any grouping."""

from __future__ import annotations

from collections.abc import Iterable
from functools import reduce
from typing import Protocol, Self, TypeVar, overload


class Mergeable(Protocol):
    """Statistics of part of a table that merge with those of another, disjoint part into the
    statistics of both (associatively: parts merge in any grouping)."""

    def merge(self, other: Self) -> Self: ...


M = TypeVar("M", bound=Mergeable)


@overload
def merge_all(parts: Iterable[M]) -> M | None: ...
@overload
def merge_all(parts: Iterable[M], zero: M) -> M: ...
def merge_all(parts: Iterable[M], zero: M | None = None) -> M | None:
    """The merge of ``parts``, in order, onto ``zero`` when given (what merges as nothing, such
    as an empty sample); ``None`` when there are neither parts nor ``zero``."""
    it = iter(parts)
    first = next(it, None) if zero is None else zero
    return None if first is None else reduce(lambda a, b: a.merge(b), it, first)
