"""Champion vs challenger on a time zone's clock (``compare --timezone``, ``md.compare(...,
timezone=)``): bounds without an offset read on the zone's clock, the window shown on it, a
local day one window of the promotion streak and the same window as a monitor's of that zone."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import cast
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import make_frame, registry_snapshot

import mlflow_decay as md
from mlflow_decay import registry
from mlflow_decay.cli import main

NY = "America/New_York"
MARCH_8 = "2026-03-08 00:00-05:00 → 03-09 00:00-04:00"  # New York's clocks go forward: 23 hours


def _days(rows: int = 1800) -> pd.DataFrame:
    """Rows from New York's March 7 to 9, 2026 with their times (New York's, with offsets),
    a challenger's better scores and labels."""
    frame = make_frame(rows, seed=21)
    noise = np.random.default_rng(21).normal(0, 0.05, rows)
    times = pd.date_range("2026-03-07T05:00Z", "2026-03-10T03:59Z", periods=rows).floor("s")
    return frame.assign(score_new=np.clip(frame.label * 0.35 + frame.score * 0.65 + noise, 0, 1),
                        id=[f"r{i}" for i in range(rows)], ts=times.tz_convert(NY))


def _day(data: pd.DataFrame, day: str) -> pd.DataFrame:
    start = pd.Timestamp(day, tz=NY)
    return data[(data.ts >= start) & (data.ts < start + pd.offsets.Day())]


@pytest.fixture
def rivals(tracking_uri: str, new_version: Callable[..., str]) -> tuple[str, str]:
    """@champion v1 and @challenger v2 of 'churn', profiled with a timestamp column."""
    frame = make_frame(3000, seed=1)
    profile = md.build_profile(frame.assign(id=[f"ref{i}" for i in range(3000)],
                                            ts=pd.Timestamp("2026-01-01", tz="UTC")),
                               target="label", prediction="score", id_column="id",
                               timestamp_column="ts")
    uris = new_version(), new_version()
    client = registry.client_for(tracking_uri)
    for uri, alias in zip(uris, ("champion", "challenger"), strict=True):
        md.attach_profile(uri, profile, tracking_uri=tracking_uri)
        client.set_registered_model_alias("churn", alias, uri.rsplit("/", 1)[1])
    return uris[0], uris[1]


def test_a_local_day_compared_on_a_zones_clock_is_the_monitors_window(
        tracking_uri: str, rivals: tuple[str, str], tmp_path: Path) -> None:
    """Before: ``compare`` had no --timezone: a New York team's nightly ``compare
    --window-start 2026-03-08 --window-end 2026-03-09`` logged UTC's day (5 hours off theirs,
    and without a word about the rows outside it), never the window a ``monitor --timezone``
    cut for that day; the window was shown nowhere in the comparison's table."""
    data = _days()
    path = tmp_path / "march8.parquet"
    _day(data, "2026-03-08").to_parquet(path)
    runner = CliRunner()
    common = ["--tracking-uri", tracking_uri]
    compare = ["compare", "models:/churn@champion", "models:/churn@challenger", "--data",
               str(path), "--predictions", "score,score_new", "--window-start", "2026-03-08",
               "--window-end", "2026-03-09", "--timezone", NY, *common]
    out = runner.invoke(main, compare)
    assert out.exit_code == 0, out.output
    assert out.stdout.startswith(f"window {MARCH_8} (America/New_York)\n")
    assert "outside the window's bounds" not in out.stdout
    assert "streak 1 of 2" in out.stdout
    out = runner.invoke(main, [*compare, "--json", "--no-log"])
    result = json.loads(out.stdout)
    assert (result["window_start"], result["window_end"], result["timezone"]) == (
        "2026-03-08T05:00:00+00:00", "2026-03-09T04:00:00+00:00", NY)
    client = registry.client_for(tracking_uri)
    exp = client.get_experiment_by_name("mlflow-decay/churn/compare")
    (run,) = client.search_runs([exp.experiment_id])
    assert run.data.tags[registry.TIMEZONE] == NY
    assert run.data.tags[registry.WINDOW_START] == "2026-03-08T05:00:00+00:00"
    assert run.data.tags[registry.RUN_NAME].endswith(f", {MARCH_8}")
    # a retry written with New York's offsets is the same window: counted once
    again = md.compare(pd.read_parquet(path), ["models:/churn@champion", "models:/churn@challenger"],
                       predictions=["score", "score_new"], window_start="2026-03-08T00:00-05:00",
                       window_end="2026-03-09T00:00-04:00", tracking_uri=tracking_uri)
    assert "streak 1 of 2 (this window was compared before" in again.notes[-1]
    # the monitor of v1 on New York's clock cuts that day as the window compared
    reports = md.monitor(rivals[0], data, timestamp_column="ts", every="1D", timezone=NY,
                         tracking_uri=tracking_uri)
    assert [(r.window_start, r.window_end) for r in reports][1] == (
        result["window_start"], result["window_end"])
    # the next local day wins the streak; history shows the move on New York's clock
    won = md.compare(_day(data, "2026-03-09"), ["models:/churn@champion", "models:/churn@challenger"],
                     predictions=["score", "score_new"], promote=True, window_start="2026-03-09",
                     window_end="2026-03-10", timezone=NY, tracking_uri=tracking_uri)
    assert won.promotion == [f"move alias @champion to {rivals[1]}"]
    moved = [e for e in md.history("churn", tracking_uri=tracking_uri) if "alias" in e["event"]]
    assert [(e["window_start"], e.get("timezone")) for e in moved] == [
        ("2026-03-09T04:00:00+00:00", NY)]
    history = runner.invoke(main, ["history", "churn", *common]).stdout
    assert "window (America/New_York)" in history
    assert "2026-03-09 00:00-04:00 → 03-10 00:00-04:00" in history


def test_a_25_hour_day_compared_on_a_zones_clock(
        tracking_uri: str, rivals: tuple[str, str]) -> None:
    """Before: ``md.compare`` took no ``timezone=``. New York's November 1 (clocks go back: 25
    hours) is read on its clock; rows outside it are counted on their instants (pandas'
    count), the bounds shown on New York's clock."""
    rows = 900
    times = pd.date_range("2026-10-31T04:00Z", "2026-11-03T04:59Z", periods=rows).floor("s")
    data = _days(rows).assign(ts=times.tz_convert(NY))
    start, end = pd.Timestamp("2026-11-01", tz=NY), pd.Timestamp("2026-11-02", tz=NY)
    assert end - start == pd.Timedelta(hours=25)
    inside = (data.ts >= start) & (data.ts < end)
    early = (data.ts >= start - pd.Timedelta(hours=1)) & (data.ts < start)
    result = md.compare(data[inside | early], ["models:/churn@champion", "models:/churn@challenger"],
                        predictions=["score", "score_new"], window_start="2026-11-01",
                        window_end="2026-11-02", timezone=cast(str, ZoneInfo(NY)), log=False,
                        tracking_uri=tracking_uri)
    assert result.timezone == NY  # a ZoneInfo as its name
    assert (result.window_start, result.window_end) == ("2026-11-01T04:00:00+00:00",
                                                        "2026-11-02T05:00:00+00:00")
    assert (f"{int(early.sum())} of {int((inside | early).sum())} rows have a 'ts' outside the "
            "window's bounds (2026-11-01 00:00-04:00 → 11-02 00:00-05:00, America/New_York)"
            in result.notes[0])
    assert str(result).startswith(
        "window 2026-11-01 00:00-04:00 → 11-02 00:00-05:00 (America/New_York)\n")


def test_compare_on_utc_reads_bounds_as_before(
        tracking_uri: str, rivals: tuple[str, str]) -> None:
    """Without a zone, bounds without an offset are UTC's, the run has no zone tag."""
    data = _days()
    result = md.compare(data, ["models:/churn@champion", "models:/churn@challenger"],
                        predictions=["score", "score_new"], window_start="2026-03-08",
                        window_end="2026-03-09", tracking_uri=tracking_uri)
    assert (result.window_start, result.window_end, result.timezone) == (
        "2026-03-08T00:00:00+00:00", "2026-03-09T00:00:00+00:00", None)
    outside = int(((data.ts < pd.Timestamp("2026-03-08", tz="UTC"))
                   | (data.ts >= pd.Timestamp("2026-03-09", tz="UTC"))).sum())
    assert f"{outside:,} of {len(data):,} rows have a 'ts' outside" in result.notes[0]
    assert str(result).startswith("window 2026-03-08 → 03-09 (UTC)\n")
    run = registry.client_for(tracking_uri).get_run(cast(str, result.run_id))
    assert registry.TIMEZONE not in run.data.tags


def test_compare_refuses_an_unknown_zone_in_one_line(
        tracking_uri: str, rivals: tuple[str, str], tmp_path: Path) -> None:
    """An unknown zone (or one without bounds to place) is refused before anything is read
    or logged: one line, no traceback, the registry as it was."""
    _days(300).to_parquet(tmp_path / "w.parquet")
    before = registry_snapshot(tracking_uri)
    args = ["compare", "models:/churn@champion", "models:/churn@challenger", "--data",
            str(tmp_path / "w.parquet"), "--predictions", "score,score_new", "--promote",
            "--tracking-uri", tracking_uri]
    bounds = ["--window-start", "2026-03-08", "--window-end", "2026-03-09"]
    out = CliRunner().invoke(main, [*args, *bounds, "--timezone", "America/NewYork"])
    assert out.exit_code == 1 and out.stdout == ""
    assert out.stderr == ("mlflow-decay: error: time zone 'America/NewYork' is not an IANA time "
                          "zone name such as Europe/Berlin, America/New_York or UTC\n")
    out = CliRunner().invoke(main, [*args, "--timezone", NY])
    assert out.exit_code == 2 and "--timezone places --window-start/--window-end" in out.stderr
    window = pd.read_parquet(tmp_path / "w.parquet")
    with pytest.raises(md.DataError, match="'Mars/Olympus' is not an IANA time zone"):
        md.compare(window, ["models:/churn@champion", "models:/churn@challenger"],
                   window_start="2026-03-08", timezone="Mars/Olympus", tracking_uri=tracking_uri)
    with pytest.raises(md.DataError, match=r"a time zone \(America/New_York\) places a window"):
        md.compare(window, ["models:/churn@champion", "models:/churn@challenger"],
                   timezone=NY, tracking_uri=tracking_uri)
    assert registry_snapshot(tracking_uri) == before
    usage = CliRunner().invoke(main, ["compare", "--help"]).stdout
    assert "--timezone ZONE" in usage
