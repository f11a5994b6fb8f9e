"""What a decay cost: the impact figures read from a version's series of windows."""

from __future__ import annotations

from mlflow_decay.core.impact import impact_figures


def test_the_detection_delay_counts_from_the_alarm_that_answered_the_crossing() -> None:
    """Trial 6: an outage's data quality warning on day 1, recovered from, made the
    decay that labels showed on day 5 read as detected 4 windows early."""
    def delay(stages: str, crossed: int | None) -> float | None:
        names = {"h": "healthy", "w": "warning", "d": "degraded"}
        statuses = [names[c] for c in stages]
        return impact_figures(statuses, [100] * len(statuses), statuses, crossed).get(
            "impact.detection_delay_windows")

    assert delay("hwhhhhwd", 5) == 1.0  # the outage's warning, recovered from, is not the alarm
    assert delay("hhwwdd", 3) == -1.0  # an alarm under way when labels showed it: early
    assert delay("hhhhdd", 2) == 2.0
    assert delay("hhhhhh", 2) is None and delay("hwdd", None) is None  # no alarm, no crossing
