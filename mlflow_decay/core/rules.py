"""What a window earns: the statuses, a metric's warn/degrade thresholds (:class:`Rule`) and a
metric past one of them (:class:`Breach`). A :class:`~.policy.Policy` holds the rules."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

Status = Literal["healthy", "warning", "degraded"]
STATUSES: tuple[Status, ...] = ("healthy", "warning", "degraded")
Direction = Literal["above", "below"]


@dataclass(frozen=True)
class Rule:
    """Warn/degrade thresholds for the metrics a name or glob pattern matches.

    A threshold is a constant (``warn``/``degrade``) or a reference band (``warn_k``/
    ``degrade_k``): the reference chunks' mean plus or minus k standard deviations, the
    deviation scaled by ``sqrt(chunk_rows / window_rows)`` to the window's size.
    """

    pattern: str
    warn: float | None
    degrade: float | None
    direction: Direction
    warn_k: float | None = None
    degrade_k: float | None = None

    def thresholds(self, band: tuple[float, float, int] | None, rows: int | None
                   ) -> dict[Status, tuple[float, str]]:
        """Effective thresholds by level, each with what it was derived from."""
        out: dict[Status, tuple[float, str]] = {}
        sign = 1.0 if self.direction == "above" else -1.0
        specs: tuple[tuple[Status, float | None, float | None], ...] = (
            ("warning", self.warn, self.warn_k), ("degraded", self.degrade, self.degrade_k))
        for level, constant, k in specs:
            if constant is not None:
                out[level] = (constant, "")
            elif k is not None and band is not None:
                mean, sd, chunk_rows = band
                scale = math.sqrt(chunk_rows / rows) if rows else 1.0
                out[level] = (mean + sign * k * sd * scale, f"reference band {k:g} sd")
        return out

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"direction": self.direction}
        for key in ("warn", "degrade", "warn_k", "degrade_k"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        return out


@dataclass(frozen=True)
class Breach:
    """One metric past one of its thresholds."""

    metric: str
    value: float
    threshold: float
    level: Status
    direction: Direction
    basis: str = ""

    def __str__(self) -> str:
        op = ">=" if self.direction == "above" else "<="
        basis = f", {self.basis}" if self.basis else ""
        return f"{self.metric} = {self.value:.4g} {op} {self.threshold:.4g} ({self.level}{basis})"
