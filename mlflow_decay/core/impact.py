"""What a decay cost, read from a version's series of windows: the predictions made after
the first breaching window, and how late the first alarm came after labels showed the
realized metric crossing its warn line."""

from __future__ import annotations

from collections.abc import Sequence

from .names import IMPACT_METRICS
from .policy import Policy
from .report import DecayReport


def impact_figures(window_statuses: Sequence[str], rows: Sequence[int],
                   version_statuses: Sequence[str], crossed: int | None) -> dict[str, float]:
    """What a decay cost: predictions made after the first breaching window, and how many
    windows the first alarm came after the realized metric crossed its warn line.

    ``crossed`` is the index of the first window whose realized metric crossed the line (from
    labels: :func:`first_crossing`), or ``None`` when labels have not shown it.
    """
    out: dict[str, float] = {}
    since, delay = IMPACT_METRICS
    breach = next((i for i, s in enumerate(window_statuses) if s == "degraded"), None)
    if breach is not None:
        out[since] = float(sum(rows[breach + 1:]))
    alarm = next((i for i, s in enumerate(version_statuses) if s != "healthy"), None)
    if crossed is not None and alarm is not None:
        out[delay] = float(alarm - crossed)
    return out


def first_crossing(policy: Policy, reports: Sequence[DecayReport]) -> int | None:
    """Index of the first window whose realized primary metric crossed its warn line."""
    for i, report in enumerate(reports):
        for name, value in report.metrics.items():
            if name.startswith("perf.") and name.endswith((".delta", ".ratio")):
                rule = policy.rule_for(name)
                if rule is not None and rule.warn is not None and (
                        value <= rule.warn if rule.direction == "below" else value >= rule.warn):
                    return i
    return None
