"""Two models on the same labelled rows: DeLong's test of their ROC AUCs (fast midrank form,
Sun & Xu 2014), and the paired t-test of their mean per-row losses (a regression's absolute
errors, a multiclass model's log losses); each the difference, its standard error, p-value and
95% confidence interval."""

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

    @property
    def gain(self) -> float:
        """How much better the second model is: its AUC minus the first's."""
        return self.diff


@dataclass(frozen=True)
class PairedLoss:
    """Paired comparison of two models' mean per-row ``metric`` (a loss: lower is better) on
    the same rows (second minus first), by Student's t on the rows' differences."""

    metric: str
    mean: tuple[float, float]
    diff: float
    se: float
    t: float
    p_value: float
    lower: float
    upper: float
    rows: int

    @property
    def gain(self) -> float:
        """How much better the second model is: the share of the first's mean loss it saves
        (0.05: a 5% lower loss; 0 when the first's loss is 0)."""
        return -self.diff / self.mean[0] if self.mean[0] > 0 else 0.0


def paired_loss(metric: str, first: np.ndarray, second: np.ndarray) -> PairedLoss:
    """The paired t-test of ``mean(second) - mean(first)`` for per-row losses of the same rows
    (as :func:`scipy.stats.ttest_rel`, two-sided; at least two rows).

    Parameters
    ----------
    metric : str
        What the losses are (``"mae"``: absolute errors, ``"log_loss"``).
    first, second : array
        The two models' losses, row by row.
    """
    from scipy import special

    first, second = np.asarray(first, float), np.asarray(second, float)
    n = len(first)
    if n < 2 or len(second) != n:
        raise ValueError("the paired test needs two or more rows, the same for both models")
    d = second - first
    diff = float(d.mean())
    se = float(d.std(ddof=1)) / math.sqrt(n)
    t = diff / se if se > 0 else (0.0 if diff == 0 else math.copysign(math.inf, diff))
    p_value = float(2 * special.stdtr(n - 1, -abs(t)))
    half = float(-special.stdtrit(n - 1, 0.025)) * se
    return PairedLoss(metric, (float(first.mean()), float(second.mean())), diff, se, t,
                      p_value, diff - half, diff + half, n)


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
