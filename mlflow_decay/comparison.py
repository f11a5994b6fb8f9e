"""Champion vs challenger: two model versions judged on the same window.

Each version is evaluated against its own reference profile (drift, estimated and realized
performance, status); with labels, the difference in ROC AUC on the same rows is tested with
DeLong's test for paired AUCs (fast midrank form, Sun & Xu 2014), giving the difference's
p-value and 95% confidence interval.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats

from .report import json_safe

_Z = 1.959963984540054


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
    return np.asarray(stats.rankdata(x, method="average"), dtype=float)


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
    p_value = float(2 * stats.norm.sf(abs(z)))
    return DeLong((aucs[0], aucs[1]), diff, se, z, p_value, diff - _Z * se, diff + _Z * se)


@dataclass
class Comparison:
    """Champion vs challenger on one window: each side's report, and their differences."""

    models: list[str]
    labels: list[str]
    statuses: list[str]
    metrics: dict[str, float]
    delong: DeLong | None = None
    run_id: str | None = None
    promotion: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in self.__dict__.items() if k != "delong"}
        out["delong"] = None if self.delong is None else self.delong.__dict__
        return json_safe(out)


#: Metrics compared side by side (when present for both versions).
COMPARED = ("perf.roc_auc", "perf.roc_auc.delta", "perf.pr_auc", "perf.accuracy", "perf.f1",
            "perf.roc_auc_ovr", "perf.rmse", "perf.mae", "est.roc_auc", "est.roc_auc.delta",
            "est.pr_auc", "est.accuracy", "est.f1", "est.roc_auc_ovr", "est.mae", "est.rmse",
            "drift.share", "drift.prediction.psi", "drift.multivariate.reconstruction_error")


def side_by_side(labels: list[str], metrics: list[dict[str, float]]) -> dict[str, float]:
    """``compare.<label>.<metric>`` for each side and ``compare.diff.<metric>`` (second - first)."""
    out: dict[str, float] = {}
    for label, m in zip(labels, metrics, strict=True):
        out.update({f"compare.{label}.{k}": m[k] for k in COMPARED if k in m})
    for k in COMPARED:
        if k in metrics[0] and k in metrics[1]:
            out[f"compare.diff.{k}"] = metrics[1][k] - metrics[0][k]
    sd = [(m.get("est.roc_auc.upper", math.nan) - m.get("est.roc_auc.lower", math.nan)) / (2 * _Z)
          for m in metrics]
    if "compare.diff.est.roc_auc" in out and all(math.isfinite(s) for s in sd):
        half = _Z * math.sqrt(sd[0] ** 2 + sd[1] ** 2)  # independent sampling errors
        out["compare.diff.est.roc_auc.lower"] = out["compare.diff.est.roc_auc"] - half
        out["compare.diff.est.roc_auc.upper"] = out["compare.diff.est.roc_auc"] + half
    return out
