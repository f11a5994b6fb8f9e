"""Windows cut on a time zone's clock (``monitor --timezone``) shown on that clock: the monitor's
table, ``history``, ``status``, ``labels``, run names and report pages; bounds stored as UTC."""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import cast
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import frame_profile, make_frame, registry_snapshot

import mlflow_decay as md
from mlflow_decay import registry
from mlflow_decay.cli import main
from mlflow_decay.engines.sources import read_table
from mlflow_decay.registry import run_files

NY = "America/New_York"


def _around_the_clock_change(rows: int = 1200) -> pd.DataFrame:
    """Rows every few minutes from New York's March 6 to 10, 2026 (clocks go forward on the
    8th), timestamps as ISO text with New York's offsets, ids for late labels."""
    frame = make_frame(rows, seed=7)
    times = pd.date_range("2026-03-06T05:00:00Z", "2026-03-10T03:59:00Z", periods=rows).floor("s")
    stamps = times.tz_convert(NY)
    return frame.assign(id=[f"r{i}" for i in range(rows)],
                        ts=[t.isoformat() for t in stamps])


def test_windows_cut_on_a_zone_are_shown_on_its_clock(
        tracking_uri: str, new_version: Callable[..., str], tmp_path: Path) -> None:
    """Before: with --timezone America/New_York the monitor, history, status and labels
    tables, run names and report pages showed the windows in UTC (``2026-03-08 05:00 →
    03-09 04:00``), a New York day the user could not recognise as their March 8."""
    uri = new_version()
    md.attach_profile(uri, frame_profile(3000, 1, ids="id", target="label", prediction="score",
                                         id_column="id"), tracking_uri=tracking_uri)
    data = _around_the_clock_change()
    data.to_csv(tmp_path / "prod.csv", index=False)
    # pandas' own cut of the same rows, on New York's clock
    local = (data.assign(ts=pd.to_datetime(data.ts, utc=True, format="ISO8601")).set_index("ts")
             .tz_convert(NY).resample("D").size())
    runner = CliRunner()
    (tmp_path / "policy.toml").write_text("[actions]\ndescribe = true\n")
    args = ["monitor", uri, "--data", str(tmp_path / "prod.csv"), "--timestamp-column", "ts",
            "--window", "1D", "--timezone", NY, "--policy", str(tmp_path / "policy.toml"),
            "--tracking-uri", tracking_uri]
    out = runner.invoke(main, [*args, "--json"])
    assert out.exit_code == 0, out.output
    reports = json.loads(out.stdout)
    assert [(r["window_start"], r["window_end"], r["rows"], r["timezone"]) for r in reports] == [
        (day.tz_convert("UTC").isoformat(), (day + pd.DateOffset(days=1)).tz_convert("UTC")
         .isoformat(), n, NY) for day, n in local.items()]
    dst = "2026-03-08 00:00-05:00 → 03-09 00:00-04:00"  # 23 hours
    text = runner.invoke(main, args).stdout  # a rerun: every window logged before
    assert "window (America/New_York)" in text.splitlines()[0]
    assert [line.split("  ")[1] for line in text.splitlines()[1:]] == [
        "2026-03-06 00:00-05:00 → 03-07 00:00-05:00", "2026-03-07 00:00-05:00 → 03-08 00:00-05:00",
        dst, "2026-03-09 00:00-04:00 → 03-10 00:00-04:00"]
    client = registry.client_for(tracking_uri)
    run = client.get_run(reports[2]["run_id"])
    tags = run.data.tags
    assert tags[registry.WINDOW_START] == "2026-03-08T05:00:00+00:00"  # stored as UTC
    assert tags[registry.WINDOW_END] == "2026-03-09T04:00:00+00:00"
    assert tags[registry.TIMEZONE] == NY
    assert tags[registry.RUN_NAME].startswith(dst)
    page = run_files.read_file(client, run, run_files.REPORT_PAGE)
    assert page is not None and f"window {dst} (America/New_York), {local.iloc[2]} rows" \
        in page.decode()
    # the same day's rows evaluated again, with its New York bounds: that window, on its clock
    day = read_table(tmp_path / "prod.csv").iloc[local.iloc[:2].sum():local.iloc[:3].sum()]
    day.to_parquet(tmp_path / "day.parquet")  # the rows as the monitor read them, to the bit
    again = md.evaluate(uri, tmp_path / "day.parquet", window_start="2026-03-08T00:00:00-05:00",
                        window_end="2026-03-09T00:00:00-04:00", tracking_uri=tracking_uri)
    assert again.skipped and again.run_id == run.info.run_id and again.timezone == NY
    assert str(again).startswith(f"{uri} {dst}: ")
    # the version's description names the window its stage began on, on the same clock
    version = client.get_model_version("churn", uri.rsplit("/", 1)[1])
    assert "since 2026-03-06 00:00-05:00 → 03-07 00:00-05:00" in str(version.description)
    history = runner.invoke(main, ["history", "churn", "--tracking-uri", tracking_uri]).stdout
    assert "window (America/New_York)" in history and "2026-03-06 00:00-05:00 → " in history
    status = runner.invoke(main, ["status", "churn", "--tracking-uri", tracking_uri]).stdout
    assert "last window (America/New_York)" in status
    assert "2026-03-09 00:00-04:00 → 03-10 00:00-04:00" in status
    late = data.iloc[::2][["id", "label"]]
    late.to_csv(tmp_path / "labels.csv", index=False)
    out = runner.invoke(main, ["labels", uri, "--labels", str(tmp_path / "labels.csv"),
                               "--tracking-uri", tracking_uri])
    assert out.exit_code == 0, out.output
    assert "window (America/New_York)" in out.stdout and dst in out.stdout
    # the labels renamed the run by its verdict: on the zone's clock still
    assert client.get_run(run.info.run_id).data.tags[registry.RUN_NAME].startswith(dst)


def test_windows_cut_on_utc_are_shown_as_before(tracking_uri: str, profiled: str,
                                                tmp_path: Path) -> None:
    """Without --timezone, nothing changes: UTC dates, no zone tag."""
    data = make_frame(400, seed=3).assign(
        ts=pd.Timestamp("2026-03-01", tz="UTC") + pd.to_timedelta(np.arange(400) * 400, "s"))
    reports = md.monitor(profiled, data, timestamp_column="ts", every="1D",
                         tracking_uri=tracking_uri)
    assert [r.timezone for r in reports] == [None, None]
    run = registry.client_for(tracking_uri).get_run(str(reports[0].run_id))
    assert registry.TIMEZONE not in run.data.tags
    assert run.data.tags[registry.RUN_NAME].startswith("2026-03-01 → 03-02")
    status = CliRunner().invoke(main, ["status", "churn", "--tracking-uri", tracking_uri]).stdout
    assert "last window (UTC)" in status and "2026-03-02 → 03-03" in status


def test_times_without_an_offset_on_a_zones_clock_are_noted(
        tracking_uri: str, profiled: str, tmp_path: Path) -> None:
    """Before: a New York team's local times written without an offset (``2026-03-06
    00:00:00``), cut with --timezone America/New_York, were read as UTC without a word: every
    window held the evening before's rows (an extra window of 19:00-24:00 first), and nothing
    said why. They are still read as UTC (the documented rule); a note now says so, with the
    time it became, in memory, streamed, and for dates."""
    zoned = _around_the_clock_change(600)
    local = zoned.assign(ts=pd.to_datetime(zoned.ts, utc=True, format="ISO8601")
                         .dt.tz_convert(NY).dt.tz_localize(None))
    local.to_parquet(tmp_path / "naive.parquet")  # in time order: streamed
    local.assign(ts=local.ts.astype(str)).to_csv(tmp_path / "naive.csv", index=False)
    note = ("column 'ts' holds times without an offset, read as UTC ('2026-03-06 00:00:00' is "
            "2026-03-05 19:00 on America/New_York's clock, which cuts the windows)")
    for path in ("naive.parquet", "naive.csv"):
        out = CliRunner().invoke(main, ["monitor", profiled, "--data", str(tmp_path / path),
                                        "--timestamp-column", "ts", "--window", "1D",
                                        "--timezone", NY, "--dry-run", "--json",
                                        "--tracking-uri", tracking_uri])
        assert out.exit_code == 0, out.output
        assert f"mlflow-decay: note: {note}" in out.stderr, out.stderr
        # read as UTC, as pandas reads them so, on New York's clock
        counts = (local.set_index("ts").tz_localize("UTC").tz_convert(NY).resample("D").size())
        assert [r["rows"] for r in json.loads(out.stdout)] == counts[counts > 0].tolist()
    dates = local.assign(ts=local.ts.dt.date)
    with pytest.warns(md.DecayWarning, match="'2026-03-06' is 2026-03-05 19:00 on America/New_"):
        md.monitor(profiled, dates, timestamp_column="ts", every="1D", timezone=NY, log=False,
                   tracking_uri=tracking_uri)
    with warnings.catch_warnings():
        warnings.simplefilter("error", md.DecayWarning)  # with offsets, or on UTC's clock: none
        md.monitor(profiled, zoned, timestamp_column="ts", every="1D", timezone=NY, log=False,
                   tracking_uri=tracking_uri)
        md.monitor(profiled, local, timestamp_column="ts", every="1D", log=False,
                   tracking_uri=tracking_uri)


def _zoned_profile() -> md.Profile:
    """A profile with row ids and a timestamp column (so windows get the outside-bounds note)."""
    frame = make_frame(3000, seed=1)
    return md.build_profile(frame.assign(id=[f"ref{i}" for i in range(3000)],
                                         ts=pd.Timestamp("2026-01-01", tz="UTC")),
                            target="label", prediction="score", id_column="id",
                            timestamp_column="ts")


def test_a_day_evaluated_on_a_zones_clock_is_the_monitors_window(
        tracking_uri: str, new_version: Callable[..., str], tmp_path: Path) -> None:
    """Before: ``evaluate`` had no --timezone: a New York team's nightly ``evaluate
    --window-start 2026-03-08 --window-end 2026-03-09`` logged UTC's day (5 hours off theirs,
    its last 4 hours of rows noted as outside the bounds), another window than ``monitor
    --timezone``'s March 8, which then logged and counted that day a second time."""
    uri = new_version()
    md.attach_profile(uri, _zoned_profile(), tracking_uri=tracking_uri)
    data = _around_the_clock_change()
    data.to_csv(tmp_path / "prod.csv", index=False)
    local = pd.to_datetime(data.ts, utc=True, format="ISO8601").dt.tz_convert(NY)
    in_day = ((local >= pd.Timestamp("2026-03-08", tz=NY))
              & (local < pd.Timestamp("2026-03-09", tz=NY))).to_numpy()
    read_table(tmp_path / "prod.csv")[in_day].to_parquet(tmp_path / "day.parquet")
    runner = CliRunner()
    common = ["--tracking-uri", tracking_uri]
    evaluate = ["evaluate", uri, "--data", str(tmp_path / "day.parquet"), "--window-start",
                "2026-03-08", "--window-end", "2026-03-09", "--timezone", NY, *common]
    out = runner.invoke(main, [*evaluate, "--json"])
    assert out.exit_code == 0, out.output
    report = json.loads(out.stdout)
    assert (report["window_start"], report["window_end"], report["timezone"], report["rows"]) == (
        "2026-03-08T05:00:00+00:00", "2026-03-09T04:00:00+00:00", NY, int(in_day.sum()))
    assert not [n for n in report["notes"] if "outside the window's bounds" in n]
    dst = "2026-03-08 00:00-05:00 → 03-09 00:00-04:00"  # New York's March 8: 23 hours
    client = registry.client_for(tracking_uri)
    run = client.get_run(report["run_id"])
    assert run.data.tags[registry.TIMEZONE] == NY
    assert run.data.tags[registry.RUN_NAME].startswith(dst)
    page = run_files.read_file(client, run, run_files.REPORT_PAGE)
    assert page is not None and f"window {dst} (America/New_York)" in page.decode()
    again = runner.invoke(main, evaluate)  # a scheduler's retry: on the same clock
    assert again.exit_code == 0 and again.stdout.startswith(f"{uri} {dst}: healthy"), again.output
    assert f"logged before (run {run.info.run_id})" in again.stdout
    # the monitor on New York's clock: that day is the window evaluated, skipped
    out = runner.invoke(main, ["monitor", uri, "--data", str(tmp_path / "prod.csv"),
                               "--timestamp-column", "ts", "--window", "1D", "--timezone", NY,
                               "--json", *common])
    assert out.exit_code == 0, out.output
    reports = json.loads(out.stdout)
    assert [(r["window_start"], r["skipped"], r["run_id"]) for r in reports][2] == (
        report["window_start"], True, run.info.run_id)
    assert sum(not r["skipped"] for r in reports) == 3
    # the tables show the evaluated window on New York's clock
    late = data[in_day][["id", "label"]]
    late.to_csv(tmp_path / "labels.csv", index=False)
    out = runner.invoke(main, ["labels", uri, "--labels", str(tmp_path / "labels.csv"), *common])
    assert out.exit_code == 0, out.output
    assert "window (America/New_York)" in out.stdout and dst in out.stdout
    status = runner.invoke(main, ["status", "churn", *common]).stdout
    assert "window (America/New_York)" in status and dst in status
    history = runner.invoke(main, ["history", "churn", *common]).stdout
    assert "window (America/New_York)" in history and dst in history


def test_a_25_hour_day_evaluated_on_a_zones_clock(
        tracking_uri: str, new_version: Callable[..., str]) -> None:
    """Before: ``md.evaluate`` took no ``timezone=``. New York's November 1 (clocks go back:
    25 hours) evaluated with it is the monitor's window of that day; rows outside it are
    counted on their instants (pandas' count), the bounds shown on New York's clock."""
    uri = new_version()
    md.attach_profile(uri, _zoned_profile(), tracking_uri=tracking_uri)
    rows = 900
    times = pd.date_range("2026-10-31T04:00Z", "2026-11-03T04:59Z", periods=rows).floor("s")
    data = make_frame(rows, seed=9).assign(id=[f"n{i}" for i in range(rows)],
                                           ts=times.tz_convert(NY))
    local = data.ts
    in_day = ((local >= pd.Timestamp("2026-11-01", tz=NY))
              & (local < pd.Timestamp("2026-11-02", tz=NY))).to_numpy()
    early = ((local >= pd.Timestamp("2026-10-31T23:00", tz=NY)) & (local < pd.Timestamp(
        "2026-11-01", tz=NY))).to_numpy()
    loose = md.evaluate(uri, data[in_day | early], window_start="2026-11-01",
                        window_end="2026-11-02", timezone=cast(str, ZoneInfo(NY)), log=False,
                        tracking_uri=tracking_uri)
    assert loose.timezone == NY  # a ZoneInfo as its name (the run's tag, the JSON report)
    assert (loose.window_start, loose.window_end) == ("2026-11-01T04:00:00+00:00",
                                                      "2026-11-02T05:00:00+00:00")
    assert (f"{int(early.sum())} of {int((in_day | early).sum())} rows have a 'ts' outside the "
            "window's bounds (2026-11-01 00:00-04:00 → 11-02 00:00-05:00, America/New_York)"
            in " ".join(loose.notes))
    report = md.evaluate(uri, data[in_day], window_start="2026-11-01", window_end="2026-11-02",
                         timezone=NY, tracking_uri=tracking_uri)
    assert report.timezone == NY and not report.skipped
    assert not [n for n in report.notes if "outside" in n]
    reports = md.monitor(uri, data, timestamp_column="ts", every="1D", timezone=NY,
                         tracking_uri=tracking_uri)
    day = [r for r in reports if r.window_start == report.window_start]
    assert [(r.window_end, r.skipped, r.run_id) for r in day] == [
        (report.window_end, True, report.run_id)]
    # the registry's notes name times on the same clock (they were UTC ISO text)
    late = md.evaluate(uri, data[(local < pd.Timestamp("2026-11-01", tz=NY)).to_numpy()],
                       window_start="2026-10-31", window_end="2026-11-01",
                       timezone=NY, log=False, tracking_uri=tracking_uri)
    assert ("registry unchanged: a window ending 2026-11-03 00:00-05:00 or later was already "
            "applied by another run") in late.notes
    ahead = md.evaluate(uri, data[in_day], window_start="2099-07-01", window_end="2099-07-02",
                        timezone=NY, log=False, tracking_uri=tracking_uri)
    assert any(n.startswith("registry unchanged: provisional: the window ends 2099-07-02 "
                            "00:00-04:00, after now") for n in ahead.notes), ahead.notes


def test_an_unknown_zone_is_refused_in_one_line(
        tracking_uri: str, profiled: str, tmp_path: Path) -> None:
    """An unknown zone (or one without bounds to place) is refused before anything is read
    or logged: one line, no traceback, the registry as it was."""
    make_frame(200, seed=2).to_parquet(tmp_path / "w.parquet")
    before = registry_snapshot(tracking_uri)
    args = ["evaluate", profiled, "--data", str(tmp_path / "w.parquet"), "--window-start",
            "2026-03-08", "--window-end", "2026-03-09", "--tracking-uri", tracking_uri]
    out = CliRunner().invoke(main, [*args, "--timezone", "America/NewYork"])
    assert out.exit_code == 1 and out.stdout == ""
    assert out.stderr == ("mlflow-decay: error: time zone 'America/NewYork' is not an IANA time "
                          "zone name such as Europe/Berlin, America/New_York or UTC\n")
    out = CliRunner().invoke(main, [*args[:4], "--timezone", NY, *args[-2:]])
    assert out.exit_code == 2 and "--timezone places --window-start/--window-end" in out.stderr
    with pytest.raises(md.DataError, match="'Mars/Olympus' is not an IANA time zone"):
        md.evaluate(profiled, tmp_path / "w.parquet", window_start="2026-03-08",
                    timezone="Mars/Olympus", tracking_uri=tracking_uri)
    with pytest.raises(md.DataError, match=r"a time zone \(America/New_York\) places a window"):
        md.evaluate(profiled, tmp_path / "w.parquet", timezone=NY, tracking_uri=tracking_uri)
    assert registry_snapshot(tracking_uri) == before
    usage = CliRunner().invoke(main, ["evaluate", "--help"]).stdout
    assert "(no offset: UTC, or\n" in usage and "--timezone's time)" in usage
