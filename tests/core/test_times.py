"""Window bounds read on a time zone's clock (``evaluate --timezone``), as a monitor cuts its
windows on it, and the notes on the rows a window's bounds leave out."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlflow_decay.core.times import (
    instant,
    outside_bounds,
    span_label,
    time_label,
    window_bounds,
    zone_note,
)
from mlflow_decay.errors import DataError

NY = "America/New_York"


@pytest.mark.parametrize(("day", "hours"), [("2026-03-08", 23), ("2026-11-01", 25),
                                            ("2026-06-15", 24)])
def test_bounds_without_an_offset_are_read_on_the_zones_clock(day: str, hours: int) -> None:
    """Before: ``window_bounds`` had no zone: a New York user's ``2026-03-08`` →
    ``2026-03-09`` was UTC's day, 5 hours off theirs, whatever they meant."""
    end = (pd.Timestamp(day) + pd.Timedelta(days=1)).strftime("%Y-%m-%d")
    start, stop = window_bounds(day, end, NY)
    # pandas' own New York midnights, as UTC times (a monitor's day on that clock)
    local = pd.date_range(day, periods=2, freq="D", tz=NY).tz_convert("UTC")
    assert (start, stop) == (local[0].isoformat(), local[1].isoformat())
    assert (pd.Timestamp(stop) - pd.Timestamp(start)) == pd.Timedelta(hours=hours)
    assert (start, stop) == tuple(instant(pd.Timestamp(t), NY).isoformat() for t in (day, end))
    assert span_label(start, stop, NY).startswith(f"{day} 00:00-0")
    # without a zone, as before: UTC
    assert window_bounds(day, end) == (f"{day}T00:00:00+00:00", f"{end}T00:00:00+00:00")


def test_bounds_with_an_offset_keep_it_and_clock_changes_read_as_a_monitor_reads_them() -> None:
    assert window_bounds("2026-03-08T00:00:00Z", "2026-03-08T12:00:00+01:00", NY) == (
        "2026-03-08T00:00:00+00:00", "2026-03-08T11:00:00+00:00")
    # 02:30 never showed on March 8 (clocks jumped to 03:00 EDT); 01:30 showed twice on Nov 1
    assert window_bounds("2026-03-08T02:30", "2026-11-01T01:30", NY) == (
        "2026-03-08T07:00:00+00:00", "2026-11-01T05:30:00+00:00")
    with pytest.raises(DataError, match="is not before window end"):
        window_bounds("2026-11-01T01:30", "2026-11-01T03:00Z", NY)  # 05:30Z after 03:00Z
    with pytest.raises(DataError, match="'America/NewYork' is not an IANA time zone name"):
        window_bounds("2026-03-08", "2026-03-09", "America/NewYork")
    with pytest.raises(DataError, match="window end 'tomorrow' is not an ISO 8601 time"):
        window_bounds("2026-03-08", "tomorrow", NY)


def test_rows_outside_a_zones_bounds_are_counted_on_their_instants() -> None:
    """A New York day's rows, with an offset, are inside New York's day; the note counts the
    rows outside it as pandas does, and shows the bounds on that day's clock."""
    times = pd.date_range("2026-11-01T04:00Z", "2026-11-02T07:00Z", freq="10min").tz_convert(NY)
    text = pd.Series([t.isoformat() for t in times])
    start, end = window_bounds("2026-11-01", "2026-11-02", NY)
    utc = times.tz_convert("UTC")
    outside = int(np.count_nonzero((utc < pd.Timestamp(start)) | (utc >= pd.Timestamp(end))))
    assert outside == 13  # 00:00 to 02:00 on November 2
    note = outside_bounds([text[: len(text) // 2], text[len(text) // 2:]], "ts", start, end, NY)
    assert note is not None
    assert note.startswith(f"{outside} of {len(text)} rows have a 'ts' outside the window's "
                           "bounds (2026-11-01 00:00-04:00 → 11-02 00:00-05:00, America/New_"
                           "York)")
    assert outside_bounds([text[:-outside]], "ts", start, end, NY) is None
    # UTC bounds, shown as before
    assert "(2026-11-01 → 11-02)" in str(outside_bounds([text], "ts", "2026-11-01T00:00:00+00:00",
                                                        "2026-11-02T00:00:00+00:00"))


def test_zone_note_says_what_the_clock_does() -> None:
    naive = pd.Series(pd.date_range("2026-03-08", periods=3, freq="h"))
    note = zone_note(naive, "ts", NY, "places the window's bounds")
    assert note is not None and "is 2026-03-07 19:00 on America/New_York's clock, which " \
        "places the window's bounds); if they are" in note
    assert "which cuts the windows" in str(zone_note(naive, "ts", NY))


def test_a_stored_time_is_shown_on_a_zones_clock() -> None:
    assert time_label("2026-11-02T05:00:00+00:00", NY) == "2026-11-02 00:00-05:00"
    assert time_label("2026-03-09T04:00:00+00:00", NY) == "2026-03-09 00:00-04:00"
    assert time_label("2026-03-09T04:00:00+00:00") == "2026-03-09T04:00:00+00:00"  # as before
    assert time_label(None, NY) == time_label("not a time", NY) == ""


@pytest.mark.parametrize(("day", "end", "shown"), [
    ("2026-03-08", "2026-03-09T04:00:00+00:00", "2026-03-08 00:00-05:00 → 03-09 00:00-04:00"),
    ("2026-11-01", "2026-11-02T05:00:00+00:00", "2026-11-01 00:00-04:00 → 11-02 00:00-05:00")])
def test_a_comparisons_window_is_read_and_shown_on_the_zones_clock(
        day: str, end: str, shown: str) -> None:
    """Before: a comparison took bounds as UTC only and its table never named its window. A
    ``ZoneInfo`` is kept as its name; the window is a local day (23 or 25 hours), pandas'."""
    from zoneinfo import ZoneInfo

    from mlflow_decay.core.report import Comparison
    from mlflow_decay.core.times import zoned_bounds

    following = (pd.Timestamp(day) + pd.Timedelta(days=1)).strftime("%Y-%m-%d")
    start, stop, zone = zoned_bounds(day, following, ZoneInfo(NY))
    assert zone == NY and stop == end
    assert pd.Timestamp(start) == pd.Timestamp(day, tz=NY)
    assert pd.Timestamp(stop) == pd.Timestamp(following, tz=NY)
    metrics = {"compare.a.perf.roc_auc": 0.8, "compare.b.perf.roc_auc": 0.85,
               "compare.diff.perf.roc_auc": 0.05}
    compared = Comparison(["models:/m/1", "models:/m/2"], ["a", "b"], ["healthy", "healthy"],
                          metrics, window_start=start, window_end=stop, timezone=zone)
    assert compared.text("would").splitlines()[0] == f"window {shown} (America/New_York)"
    assert compared.to_dict()["timezone"] == NY
    utc = Comparison(["models:/m/1", "models:/m/2"], ["a", "b"], ["healthy", "healthy"], metrics,
                     window_start=zoned_bounds(day, following)[0],
                     window_end=zoned_bounds(day, following)[1])
    assert utc.text("would").splitlines()[0] == f"window {day} → {following[5:]} (UTC)"
    assert Comparison(["m1", "m2"], ["a", "b"], ["healthy", "healthy"],
                      metrics).text("would").startswith("metric ")  # no bounds: no window line
    with pytest.raises(DataError, match=r"a time zone \(America/New_York\) places"):
        zoned_bounds(None, None, NY)
    with pytest.raises(DataError, match="'America/NewYork' is not an IANA time zone"):
        zoned_bounds(day, None, "America/NewYork")
