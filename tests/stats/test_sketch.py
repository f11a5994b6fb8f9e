"""The quantile sketch's knot search against its definition, one line end at a time."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from mlflow_decay.stats import sketch


def _greedy(x: np.ndarray, p: np.ndarray, a: int, b: int, eps: float) -> list[int]:
    """The definition: from each knot, extend the line one point at a time while it stays
    within ``eps`` of every point it passes; the next knot is the last point it reached."""
    def reaches(a: int, k: int) -> bool:
        if k - a < 2 or x[k] == x[a]:
            return True
        xj, pj = x[a + 1:k], p[a + 1:k]
        line = p[a] + (p[k] - p[a]) * (xj - x[a]) / (x[k] - x[a])
        line = np.where(xj == x[a], p[a], np.where(xj == x[k], p[k], line))
        return bool(np.max(np.abs(line - pj)) <= eps)

    out, anchor = [], a
    while not reaches(anchor, b):
        last = anchor + 1
        while last + 1 < b and reaches(anchor, last + 1):
            last += 1
        out.append(last)
        anchor = last
    return out


@pytest.mark.parametrize("kind", ["normal", "atoms", "modes", "rounded"])
def test_knot_search_equals_the_one_end_at_a_time_greedy(kind: str) -> None:
    rng = np.random.default_rng(3)
    values = {"normal": rng.normal(size=3000),
              "atoms": np.concatenate([np.zeros(900), rng.exponential(size=2100)]),
              "modes": np.concatenate([rng.normal(-5, 0.1, 1500), rng.normal(5, 1, 1500)]),
              "rounded": np.round(rng.normal(size=3000), 1)}[kind]
    x = np.sort(values)
    p = (np.arange(len(x)) + 1) / len(x)
    anchors = np.linspace(0, len(x) - 1, 12).astype(int)
    found = 0
    for eps in (1e-4, 1e-3, 1e-2):
        for a, b in itertools.pairwise(anchors):
            expected = _greedy(x, p, int(a), int(b), eps)
            assert sketch._refine(x, p, int(a), int(b), eps) == expected
            found += len(expected)
    assert found > 20  # the lines had to bend: knots were searched, not just accepted
