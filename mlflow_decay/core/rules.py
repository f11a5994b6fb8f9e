"""What a window earns: the statuses, a metric's warn/degrade thresholds (:class:`Rule`) and a
metric past one of them (:class:`Breach`). A :class:`~.policy.Policy` holds the rules."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

from .names import PERFORMANCE_NOISE_Z, never_negative

Status = Literal["healthy", "warning", "degraded"]
STATUSES: tuple[Status, ...] = ("healthy", "warning", "degraded")
#: The side a breach is on.
Side = Literal["above", "below"]
#: Which side of a rule's thresholds is worse: "both" (reference bands only) breaches on either.
Direction = Literal["above", "below", "both"]


@dataclass(frozen=True)
class Rule:
    """Warn/degrade thresholds for the metrics a name or glob pattern matches.

    A threshold is a constant (``warn``/``degrade``) or a reference band (``warn_k``/
    ``degrade_k``): the reference chunks' mean plus or minus k standard deviations, the
    deviation scaled by ``sqrt(chunk_rows / window_rows)`` to the window's size; with
    ``direction = "both"`` a band rule breaches on either side.
    """

    pattern: str
    warn: float | None
    degrade: float | None
    direction: Direction
    warn_k: float | None = None
    degrade_k: float | None = None

    def limits(self, band: tuple[float, float, int] | None, rows: int | None
               ) -> list[tuple[Status, Side, float, str]]:
        """Effective thresholds, most severe level first: each with its level, the side on
        which a value breaches it and what it was derived from."""
        out: list[tuple[Status, Side, float, str]] = []
        sides: tuple[Side, ...] = (("above", "below") if self.direction == "both"
                                   else (self.direction,))
        specs: tuple[tuple[Status, float | None, float | None], ...] = (
            ("degraded", self.degrade, self.degrade_k), ("warning", self.warn, self.warn_k))
        for level, constant, k in specs:
            if constant is not None:
                out += [(level, side, constant, "") for side in sides]
            elif k is not None and band is not None:
                mean, sd, chunk_rows = band
                scale = math.sqrt(chunk_rows / rows) if rows else 1.0
                bounds = [(side, mean + (k if side == "above" else -k) * sd * scale)
                          for side in sides]
                # a band's lower line below 0, on a metric never below it, can never be crossed
                out += [(level, side, bound, f"reference band {k:g} sd") for side, bound in bounds
                        if not (side == "below" and bound < 0 and never_negative(self.pattern))]
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
    direction: Side
    basis: str = ""

    def __str__(self) -> str:
        op = ">=" if self.direction == "above" else "<="
        basis = f", {self.basis}" if self.basis else ""
        return f"{self.metric} = {self.value:.4g} {op} {self.threshold:.4g} ({self.level}{basis})"


def noise_reach(metric: str, band: tuple[float, float, int] | None, rows: int | None
                ) -> tuple[float, float] | None:
    """The band's mean and how far from it a performance metric's change from the reference
    (``perf.*`` or ``est.*``, ``.delta`` or ``.ratio``) moves by chance in a window of ``rows``
    rows: ``PERFORMANCE_NOISE_Z`` of the band's deviations, scaled to the window's size.
    ``None`` for other metrics (an absolute level such as ``perf.roc_auc`` is judged as it
    is), or without a band or a size."""
    if (not metric.startswith(("perf.", "est.")) or not metric.endswith((".delta", ".ratio"))
            or band is None or not rows):
        return None
    mean, sd, chunk_rows = band
    return mean, PERFORMANCE_NOISE_Z * sd * math.sqrt(chunk_rows / rows)
