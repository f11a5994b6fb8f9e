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
    labels: :func:`first_crossing`), or ``None`` when labels have not shown it; the alarm is
    the stretch of non-healthy stages under way then, else the next one (:func:`_alarm`).
    """
    out: dict[str, float] = {}
    since, delay = IMPACT_METRICS
    breach = next((i for i, s in enumerate(window_statuses) if s == "degraded"), None)
    if breach is not None:
        out[since] = float(sum(rows[breach + 1:]))
    alarm = None if crossed is None else _alarm(version_statuses, crossed)
    if crossed is not None and alarm is not None:
        out[delay] = float(alarm - crossed)
    return out


def _alarm(version_statuses: Sequence[str], crossed: int) -> int | None:
    """The window the alarm that answered a crossing began on: the start of the stretch of
    non-healthy stages under way at window ``crossed`` (an alarm before the labels showed it),
    else the first non-healthy stage after it; an earlier alarm the version recovered from
    (an outage's data quality warning, say) is not this one."""
    if crossed < len(version_statuses) and version_statuses[crossed] != "healthy":
        start = crossed
        while start > 0 and version_statuses[start - 1] != "healthy":
            start -= 1
        return start
    return next((i for i in range(crossed, len(version_statuses))
                 if version_statuses[i] != "healthy"), None)


def first_crossing(policy: Policy, reports: Sequence[DecayReport],
                   bands: dict[str, tuple[float, float, int]] | None = None) -> int | None:
    """Index of the first window whose realized performance's change from the reference
    breached its warn line as the policy judges it: beyond the window's sampling noise (the
    profile's reference ``bands``), so a chance dip of a small early window is no crossing."""
    for i, report in enumerate(reports):
        _, breaches = policy.decide(report.metrics, bands, report.rows)
        if any(b.metric.startswith("perf.") and b.metric.endswith((".delta", ".ratio"))
               for b in breaches):
            return i
    return None
