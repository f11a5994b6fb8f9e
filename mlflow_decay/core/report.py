"""The result of evaluating one window: status, reasons, metrics, and the registry plan."""

from __future__ import annotations

import math
import numbers
from dataclasses import asdict, dataclass, field
from typing import Any

from .policy import Status


@dataclass
class DecayReport:
    """What one evaluation found and did.

    Attributes
    ----------
    status : {"healthy", "warning", "degraded"}
        The version's stage after this window (a degraded version stays degraded unless the
        policy allows auto-recovery).
    window_status : str
        What this window alone earned under the policy.
    reasons : list of str
        Human-readable threshold breaches, worst first.
    metrics : dict of str to float
        Flat metrics, logged to MLflow exactly under these names.
    run_id : str or None
        The MLflow run the evaluation was logged to (``None`` when not logged).
    actions : list of str
        Registry changes planned for this window; ``applied`` says whether they were made.
    step, window_key : int, str
        The window's position in a monitored series (the MLflow metric step) and its identity
        (model, version, bounds, data fingerprint); ``skipped`` when a rerun found it logged.
    feature_keys : dict of str to str
        Each feature column's metric key (``drift.<key>.psi``): the column name itself, unless
        MLflow cannot take it or it collides with another column's or a model output's.
    provisional : bool
        The window was still open (it ends after the evaluation): logged, not applied.
    """

    model_uri: str
    model_name: str
    model_version: str
    status: Status
    window_status: Status
    previous_status: str | None
    reasons: list[str]
    metrics: dict[str, float]
    rows: int
    run_id: str | None = None
    window_start: str | None = None
    window_end: str | None = None
    drifted_features: list[str] = field(default_factory=list)
    extra_columns: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    actions: list[str] = field(default_factory=list)
    applied: bool = False
    policy: str = "default"
    step: int = 0
    window_key: str | None = None
    skipped: bool = False
    feature_keys: dict[str, str] = field(default_factory=dict)
    provisional: bool = False

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict of the report (a non-finite number becomes ``None``)."""
        return json_safe(asdict(self))

    def summary(self) -> str:
        """One line: status, AUC when known, drift share and the top drifted features."""
        parts = [f"{self.status:<8}"]
        for key in ("perf.roc_auc", "perf.roc_auc_ovr", "perf.accuracy", "perf.rmse"):
            if key in self.metrics:
                parts.append(f"{key.split('.')[1]} {self.metrics[key]:.3f}")
                break
        parts.append(f"drift share {self.metrics.get('drift.share', 0.0):.2f}")
        if self.drifted_features:
            parts.append("drifted: " + ", ".join(self.drifted_features[:3]))
        return "  ".join(parts)


def json_safe(obj: Any) -> Any:
    """``obj`` with every non-finite number (NaN, ±inf, which strict JSON has not) as ``None``,
    through dicts, lists and tuples."""
    if isinstance(obj, dict):
        return {k: json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    if (isinstance(obj, numbers.Real) and not isinstance(obj, numbers.Integral)
            and not math.isfinite(obj)):
        return None
    return obj
