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

from .core.report import json_safe
from .stats import Z95
from .stats.comparison import DeLong


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
    sd = [(m.get("est.roc_auc.upper", math.nan) - m.get("est.roc_auc.lower", math.nan)) / (2 * Z95)
          for m in metrics]
    if "compare.diff.est.roc_auc" in out and all(math.isfinite(s) for s in sd):
        half = Z95 * math.sqrt(sd[0] ** 2 + sd[1] ** 2)  # independent sampling errors
        out["compare.diff.est.roc_auc.lower"] = out["compare.diff.est.roc_auc"] - half
        out["compare.diff.est.roc_auc.upper"] = out["compare.diff.est.roc_auc"] + half
    return out
