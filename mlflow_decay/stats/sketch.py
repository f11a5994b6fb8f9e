"""The quantile sketch of a numerical column: a piecewise-linear CDF with bounded error.

The sketch stores the column's values at fixed probabilities (``BASE_PROBS``: dense in the
tails, every 0.01 in the body) plus *extra knots* ``(p, value)`` wherever linear
interpolation between the base knots would miss the column's CDF by more than ``EPSILON``
(an atom such as a spike of zeros, a gap between modes). Repeated knot values encode a jump of
the CDF. Size stays a few KB whatever the row count, and two sketches merge through their
mixture CDF.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Literal

import numpy as np

_TAIL = (0.0, 1e-4, 2.5e-4, 5e-4, 1e-3, 1.5e-3, 2e-3, 3e-3, 4e-3, 5e-3, 6.5e-3, 8e-3, 0.01,
         0.0125, 0.015, 0.0175, 0.02, 0.025, 0.03, 0.035, 0.04, 0.045, 0.05, 0.06, 0.07, 0.08,
         0.09)
#: Probabilities of the base knots.
BASE_PROBS: tuple[float, ...] = tuple(sorted(
    {*_TAIL, *(round(0.1 + 0.01 * i, 4) for i in range(81)), *(round(1 - p, 6) for p in _TAIL)}))
#: Largest CDF error the extra knots allow against the CDF read at ``FINE`` quantiles (plus
#: two rows' worth, ``2 / n``, so that single rows of a small column are not knots of their own).
EPSILON = 5e-4
FINE = 2000
#: At most this many extra knots per column (the tolerance grows until they fit).
MAX_EXTRA = 48
_DIGITS = 10

Side = Literal["left", "right"]


def round_value(x: float) -> float:
    """A stored value: 10 significant digits (short decimals stay exact)."""
    return float(f"{x:.{_DIGITS}g}")


def quantile_index(probs: Sequence[float] | np.ndarray, n: int) -> np.ndarray:
    """Indices of the inverted-CDF quantiles ``probs`` in a sorted array of length ``n``."""
    return np.clip(np.ceil(np.asarray(probs) * n - 1e-9).astype(np.int64) - 1, 0, n - 1)


def from_sorted(values: np.ndarray) -> tuple[tuple[float, ...], tuple[tuple[float, float], ...]]:
    """Base quantiles and extra knots of a sorted, finite, non-empty array."""
    n = len(values)
    base = values[quantile_index(BASE_PROBS, n)]
    support = np.unique(np.concatenate([values[quantile_index(np.linspace(0, 1, FINE + 1), n)],
                                        base]))
    left = np.searchsorted(values, support, side="left") / n
    right = np.searchsorted(values, support, side="right") / n
    return _finish(base, support, left, right, n)


def merged(a: tuple[np.ndarray, np.ndarray, float], b: tuple[np.ndarray, np.ndarray, float]
           ) -> tuple[tuple[float, ...], tuple[tuple[float, float], ...]]:
    """Sketch of the union of two columns given their knots ``(xs, ps, count)``."""
    support = np.union1d(a[0], b[0])
    total = a[2] + b[2]
    left = (cdf(a[0], a[1], support, "left") * a[2] + cdf(b[0], b[1], support, "left") * b[2]) / total
    right = (cdf(a[0], a[1], support, "right") * a[2]
             + cdf(b[0], b[1], support, "right") * b[2]) / total
    xs, ps = _staircase(support, left, right)
    return _finish(invert(xs, ps, np.asarray(BASE_PROBS)), support, left, right, total)


def knots(base: Sequence[float], extra: Sequence[tuple[float, float]]) -> tuple[np.ndarray, np.ndarray]:
    """All knots ``(values, probabilities)``, ordered, of a stored sketch."""
    xs = np.concatenate([np.asarray(base, dtype=float), [v for _, v in extra]])
    ps = np.concatenate([np.asarray(BASE_PROBS), [p for p, _ in extra]])
    order = np.lexsort((ps, xs))
    return xs[order], np.maximum.accumulate(ps[order])


def cdf(xs: np.ndarray, ps: np.ndarray, x: np.ndarray, side: Side = "right") -> np.ndarray:
    """The sketch's CDF at ``x``: linear between knots, ``side='left'`` gives F(x-)."""
    return _cdf_at(xs, ps, x, np.searchsorted(xs, x, side=side))


def cdf_both(xs: np.ndarray, ps: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(F(x), F(x-))`` in one pass: the two differ only where ``x`` is a knot value."""
    i = np.searchsorted(xs, x, side="right")
    at = _cdf_at(xs, ps, x, i)
    below = at.copy()
    on_knot = np.flatnonzero((i > 0) & (xs[np.maximum(i - 1, 0)] == x))
    if len(on_knot):
        sub = x[on_knot]
        below[on_knot] = _cdf_at(xs, ps, sub, np.searchsorted(xs, sub, side="left"))
    return at, below


def _cdf_at(xs: np.ndarray, ps: np.ndarray, x: np.ndarray, i: np.ndarray) -> np.ndarray:
    inner = (i > 0) & (i < len(xs))
    j = np.clip(i, 1, len(xs) - 1)
    lo, hi = xs[j - 1], xs[j]
    width = np.where(hi > lo, hi - lo, 1.0)
    frac = np.clip((x - lo) / width, 0.0, 1.0)
    inner_value = ps[j - 1] + (ps[j] - ps[j - 1]) * frac
    return np.where(inner, inner_value, np.where(i == 0, 0.0, 1.0))


def _staircase(support: np.ndarray, left: np.ndarray, right: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray]:
    return np.repeat(support, 2), np.column_stack([left, right]).ravel()


def invert(xs: np.ndarray, ps: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """Inverted-CDF quantiles of a staircase: the least x with F(x) >= p."""
    k = np.clip(np.searchsorted(ps, probs - 1e-12, side="left"), 1, len(xs) - 1)
    x0, x1, p0, p1 = xs[k - 1], xs[k], ps[k - 1], ps[k]
    frac = np.where(p1 > p0, (probs - p0) / np.where(p1 > p0, p1 - p0, 1.0), 1.0)
    return np.where(probs <= ps[0], xs[0], x0 + np.clip(frac, 0, 1) * (x1 - x0))


def _finish(base: np.ndarray, support: np.ndarray, left: np.ndarray, right: np.ndarray,
            n: float) -> tuple[tuple[float, ...], tuple[tuple[float, float], ...]]:
    eps = EPSILON + 2 / n
    # An atom (a value more than one row holds) is stored exactly, so that a window's values
    # equal to it fall on it rather than beside its rounded copy.
    atoms = set(support[right - left > 1.5 / n].tolist())

    def stored(v: float) -> float:
        return float(v) if v in atoms else round_value(v)

    base_values = tuple(stored(v) for v in base)
    xs, ps = _staircase(support, left, right)
    bx, bp = np.asarray(base_values), np.asarray(BASE_PROBS)
    all_x = np.concatenate([xs, bx])
    all_p = np.concatenate([ps, bp])
    is_base = np.concatenate([np.zeros(len(xs), bool), np.ones(len(bx), bool)])
    order = np.lexsort((all_p, all_x))
    all_x, all_p, is_base = all_x[order], np.maximum.accumulate(all_p[order]), is_base[order]
    anchors = np.flatnonzero(is_base)
    while True:  # loosen the tolerance until the extra knots fit the size budget
        chosen = [k for a, b in itertools.pairwise(anchors)
                  for k in _refine(all_x, all_p, int(a), int(b), eps)]
        if len(chosen) <= MAX_EXTRA:
            break
        eps *= 1.5
    extra = tuple((float(f"{all_p[k]:.9g}"), stored(all_x[k])) for k in chosen)
    return base_values, extra


def _refine(x: np.ndarray, p: np.ndarray, a: int, b: int, eps: float) -> list[int]:
    """Greedy extra knots strictly between knots ``a`` and ``b`` keeping the error <= ``eps``:
    from each knot, the next is the one before the first the line cannot reach."""
    out: list[int] = []
    anchor = a
    while not _reaches(x, p, anchor, b, eps):
        start, size, last = anchor + 2, 8, b - 1
        while start < b:  # the ends in blocks, each twice the last, up to the first missed
            ends = np.arange(start, min(start + size, b))
            missed = np.flatnonzero(~_reach(x, p, anchor, ends, eps))
            if len(missed):
                last = int(ends[missed[0]]) - 1
                break
            start, size = start + size, 2 * size
        anchor = last
        out.append(anchor)
    return out


def _reaches(x: np.ndarray, p: np.ndarray, a: int, k: int, eps: float) -> bool:
    """Whether the line from knot ``a`` to knot ``k`` stays within ``eps`` of the points
    between them."""
    return k - a < 2 or x[k] == x[a] or bool(_reach(x, p, a, np.array([k]), eps)[0])


def _reach(x: np.ndarray, p: np.ndarray, a: int, ends: np.ndarray, eps: float) -> np.ndarray:
    """:func:`_reaches` for each of ``ends`` (each at least ``a + 2``), one row each."""
    inner = np.arange(a + 1, int(ends[-1]))
    xj, pj = x[inner], p[inner]
    xk, pk = x[ends][:, None], p[ends][:, None]
    flat = xk == x[a]  # an end at the knot's own value reaches (no line to draw)
    model = p[a] + (pk - p[a]) * (xj - x[a]) / np.where(flat, 1.0, xk - x[a])
    model = np.where(xj == x[a], p[a], np.where(xj == xk, pk, model))
    # a NaN error misses, as np.max's would
    fits = (np.abs(model - pj) <= eps) | (inner >= ends[:, None])
    return fits.all(axis=1) | flat[:, 0]
