"""DeLong's test for two ROC AUCs on the same labelled rows (fast midrank form, Sun & Xu 2014):
the difference, its standard error, p-value and 95% confidence interval."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from . import Z95
from .estimate import average_ranks


@dataclass(frozen=True)
class DeLong:
    """Paired comparison of two ROC AUCs on the same labelled rows (second minus first)."""

    auc: tuple[float, float]
    diff: float
    se: float
    z: float
    p_value: float
    lower: float
    upper: float


def _midranks(x: np.ndarray) -> np.ndarray:
    return np.asarray(average_ranks(x), dtype=float)


def delong(y: np.ndarray, first: np.ndarray, second: np.ndarray) -> DeLong:
    """DeLong's test of AUC(second) - AUC(first) for scores of the same rows.

    Parameters
    ----------
    y : array of bool or {0, 1}
        Labels (both classes must be present).
    first, second : array
        The two models' scores for the positive class.
    """
    y = np.asarray(y).astype(bool)
    m, n = int(y.sum()), int((~y).sum())
    if m == 0 or n == 0:
        raise ValueError("DeLong's test needs both classes among the labels")
    v10, v01, aucs = [], [], []
    for scores in (np.asarray(first, float), np.asarray(second, float)):
        pos, neg = scores[y], scores[~y]
        all_ranks = _midranks(np.concatenate([pos, neg]))
        pos_ranks, neg_ranks = _midranks(pos), _midranks(neg)
        v10.append((all_ranks[:m] - pos_ranks) / n)  # share of negatives each positive beats
        v01.append(1.0 - (all_ranks[m:] - neg_ranks) / m)  # share of positives above each negative
        aucs.append(float(np.mean(v10[-1])))
    s10 = np.cov(np.vstack(v10)) if m > 1 else np.zeros((2, 2))
    s01 = np.cov(np.vstack(v01)) if n > 1 else np.zeros((2, 2))
    contrast = np.array([-1.0, 1.0])
    var = float(contrast @ s10 @ contrast / m + contrast @ s01 @ contrast / n)
    diff = aucs[1] - aucs[0]
    se = math.sqrt(max(var, 0.0))
    z = diff / se if se > 0 else (0.0 if diff == 0 else math.copysign(math.inf, diff))
    from scipy import stats  # here: importing it takes half a second

    p_value = float(2 * stats.norm.sf(abs(z)))
    return DeLong((aucs[0], aucs[1]), diff, se, z, p_value, diff - Z95 * se, diff + Z95 * se)
