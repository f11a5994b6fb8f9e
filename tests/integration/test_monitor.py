"""The multi-window monitor: time windows, metric steps, hysteresis, resumable reruns."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import make_frame, registry_snapshot

import mlflow_decay as md
from mlflow_decay import registry
from mlflow_decay.cli import main
from mlflow_decay.engines.windows import Cut, split_windows


def _series(days: int, rows_per_day: int, drift_from: int) -> pd.DataFrame:
    parts = []
    for day in range(days):
        shift = 1.5 if day >= drift_from else 0.0
        part = make_frame(rows_per_day, seed=50 + day, shift=shift, flip=0.3 if shift else 0.0)
        start = pd.Timestamp("2026-03-01", tz="UTC") + pd.Timedelta(days=day)
        part["ts"] = start + pd.to_timedelta(np.linspace(0, 86_000, rows_per_day), unit="s")
        parts.append(part)
    return pd.concat(parts, ignore_index=True).sample(frac=1.0, random_state=0)  # unordered


def test_windows_by_period_and_by_rows() -> None:
    data = _series(3, 100, drift_from=9)
    daily = split_windows(data, Cut(timestamp_column="ts", every="1D"))
    assert [len(w.frame) for w in daily] == [100, 100, 100]
    assert [w.start for w in daily] == ["2026-03-01T00:00:00+00:00", "2026-03-02T00:00:00+00:00",
                                        "2026-03-03T00:00:00+00:00"]
    assert daily[0].end == daily[1].start
    chunks = split_windows(data, Cut(timestamp_column="ts", chunk_size=120))
    assert [len(w.frame) for w in chunks] == [120, 120, 60]
    assert chunks[0].frame.ts.is_monotonic_increasing
    assert daily[0].key("m", "1", "p") != daily[0].key("m", "2", "p")
    assert daily[0].key("m", "1", "p") != daily[0].key("m", "1", "q")  # another profile
    with pytest.raises(md.DataError, match="expected timestamps"):
        split_windows(data.assign(ts="yesterday"), Cut(timestamp_column="ts", every="1D"))
    with pytest.raises(md.DataError, match="not a pandas offset"):
        split_windows(data, Cut(timestamp_column="ts", every="fortnight"))


def test_monitor_logs_a_series_drives_hysteresis_and_resumes(tracking_uri: str, profiled: str,
                                                             tmp_path: Path) -> None:
    data = _series(5, 2000, drift_from=2)
    (tmp_path / "prod.parquet").mkdir()  # a directory of Parquet files, as pipelines write them
    for i, part in enumerate(np.array_split(np.arange(len(data)), 3)):
        data.iloc[part].to_parquet(tmp_path / "prod.parquet" / f"part-{i}.parquet")
    runner = CliRunner()
    args = ["monitor", profiled, "--data", str(tmp_path / "prod.parquet"), "--timestamp-column",
            "ts", "--window", "1D", "--tracking-uri", tracking_uri]
    out = runner.invoke(main, args)
    assert out.exit_code == 0, out.output + out.stderr
    lines = out.stdout.splitlines()
    assert len(lines) == 6 and lines[0].split()[:6] == ["#", "window", "(UTC)", "rows", "verdict", "stage"]
    statuses = [line.split()[6] for line in lines[1:]]  # '1  2026-03-01 → 03-02  2000  v  s
    assert statuses == ["healthy", "healthy", "warning", "degraded", "degraded"]
    # stderr is no terminal here (a scheduler's log): a line per window, not a bar's bare label
    assert out.stderr.splitlines() == [f"window {i} of 5 done" for i in range(1, 6)]

    client = registry.client_for(tracking_uri)
    ref = registry.resolve(client, profiled)
    assert ref.tags[registry.STATUS] == "degraded"
    every = client.search_runs([client.get_experiment_by_name("mlflow-decay/churn").experiment_id],
                               order_by=["attributes.start_time ASC"])
    kinds = [r.data.tags[registry.KIND] for r in every]
    assert sorted(kinds) == ["evaluation"] * 5 + ["timeline"]  # the windows and their series
    runs = [r for r in every if r.data.tags[registry.KIND] == "evaluation"]
    history = client.get_metric_history(runs[0].info.run_id, "drift.share")
    assert [m.step for m in history] == [1]  # windows numbered from 1, as the table and timeline
    steps = sorted(client.get_metric_history(r.info.run_id, "quality.rows")[0].step for r in runs)
    assert steps == [1, 2, 3, 4, 5]
    assert runs[3].data.tags["mlflow_decay.window_start"] == "2026-03-04T00:00:00+00:00"
    assert ref.tags[registry.STATUS_RUN_ID] == runs[3].info.run_id

    # rerun: every window is already logged, nothing new is evaluated or changed
    before = registry_snapshot(tracking_uri)
    again = runner.invoke(main, [*args, "--json"])
    assert again.exit_code == 0
    reports = json.loads(again.stdout)
    assert [r["skipped"] for r in reports] == [True] * 5
    assert registry_snapshot(tracking_uri) == before
    forced = md.monitor(profiled, data.iloc[:3000], timestamp_column="ts", every="1D", force=True,
                        tracking_uri=tracking_uri)
    assert not any(r.skipped for r in forced)


def test_a_rerun_over_a_grown_table_reports_its_skipped_windows_as_logged(
        tracking_uri: str, profiled: str) -> None:
    """A daily monitor over a table that grows by a day: the windows logged before come back
    with their logged verdict, stage and metrics (not the version's current stage), so the
    table shows them and the impact figures count from the first breaching window."""
    data = _series(5, 2000, drift_from=2)
    first = md.monitor(profiled, data[data.ts < "2026-03-05"], timestamp_column="ts",
                       every="1D", tracking_uri=tracking_uri)
    grown = md.monitor(profiled, data, timestamp_column="ts", every="1D",
                       tracking_uri=tracking_uri)
    assert [r.skipped for r in grown] == [True] * 4 + [False]
    assert [r.window_status for r in grown[:4]] == [r.window_status for r in first]
    assert [r.status for r in grown[:4]] == [r.status for r in first]
    assert [r.status for r in grown] == ["healthy", "healthy", "warning", "degraded", "degraded"]
    assert grown[2].metrics == pytest.approx(first[2].metrics)
    breach = next(i for i, r in enumerate(grown) if r.window_status == "degraded")
    assert breach == 2
    logged = registry.client_for(tracking_uri).get_run(grown[-1].run_id).data.metrics
    assert logged["impact.predictions_since_breach"] == sum(r.rows for r in grown[breach + 1:])


def test_a_monitor_reads_the_runs_of_its_own_windows_not_the_whole_history(
        tracking_uri: str, profiled: str, monkeypatch: pytest.MonkeyPatch,
        runs_read: list[int]) -> None:
    """Before: a monitor first read every run the version had logged, with its metrics (5 s
    after 1,000 windows, for a call over one day); now the newest few (the series plot's), the
    unfinished ones and one search per window of its own that is not among them."""
    from mlflow_decay import recording
    from mlflow_decay.registry import runs

    for module in (recording, runs):
        monkeypatch.setattr(module, "SERIES_WINDOWS", 1, raising=False)
    data = _series(6, 300, drift_from=3)
    first = md.monitor(profiled, data, timestamp_column="ts", every="1D",
                       tracking_uri=tracking_uri)
    runs_read.clear()
    again = md.monitor(profiled, data[data.ts >= "2026-03-05"], timestamp_column="ts",
                       every="1D", tracking_uri=tracking_uri)
    assert [r.skipped for r in again] == [True, True]
    assert [r.run_id for r in again] == [r.run_id for r in first[-2:]]
    assert [r.window_status for r in again] == [r.window_status for r in first[-2:]]
    assert again[0].metrics == pytest.approx(first[-2].metrics)
    # the newest window (the series), nothing unfinished, and the day before it by its key
    assert sum(runs_read) == 1 + 1, runs_read


def test_monitor_usage_errors(tracking_uri: str, profiled: str, tmp_path: Path) -> None:
    (tmp_path / "d.csv").write_text("x1\n1\n")
    out = CliRunner().invoke(main, ["monitor", profiled, "--data", str(tmp_path / "d.csv")])
    assert out.exit_code == 2 and "--chunk-size" in out.stderr
    out = CliRunner().invoke(main, ["monitor", profiled, "--data", str(tmp_path / "d.csv"),
                                    "--window", "1D"])
    assert out.exit_code == 2 and "--timestamp-column" in out.stderr


def test_monitor_cuts_days_on_the_clock_of_the_time_zone_it_is_given(
        tracking_uri: str, profiled: str, tmp_path: Path) -> None:
    """A team in New York: daily windows from its midnight (05:00 UTC, 04:00 in summer), the
    runs' window tags the UTC times of those midnights; a zone no one has is refused."""
    data = _series(4, 300, drift_from=9)  # March 1 to 4, times of day in UTC
    data.to_csv(tmp_path / "d.csv", index=False)
    out = CliRunner().invoke(main, ["monitor", profiled, "--data", str(tmp_path / "d.csv"),
                                    "--timestamp-column", "ts", "--window", "1D", "--timezone",
                                    "America/New_York", "--json", "--tracking-uri", tracking_uri])
    assert out.exit_code == 0, out.output
    reports = json.loads(out.stdout)
    local = data.ts.dt.tz_convert("America/New_York").dt.date.value_counts().sort_index()
    assert [(r["window_start"], r["rows"]) for r in reports] == [
        (pd.Timestamp(day, tz="America/New_York").tz_convert("UTC").isoformat(), n)
        for day, n in local.items()]
    run = registry.client_for(tracking_uri).get_run(reports[0]["run_id"])
    assert run.data.tags[registry.WINDOW_START] == reports[0]["window_start"]
    assert run.data.tags[registry.WINDOW_START].endswith("T05:00:00+00:00")
    before = registry_snapshot(tracking_uri)
    out = CliRunner().invoke(main, ["monitor", profiled, "--data", str(tmp_path / "d.csv"),
                                    "--timestamp-column", "ts", "--window", "1D", "--timezone",
                                    "Mars/Olympus", "--tracking-uri", tracking_uri])
    assert out.exit_code == 1 and out.stderr.strip() == (
        "mlflow-decay: error: time zone 'Mars/Olympus' is not an IANA time zone name such as "
        "Europe/Berlin, America/New_York or UTC")
    assert registry_snapshot(tracking_uri) == before


def test_periods_without_rows_give_no_window(tracking_uri: str, profiled: str,
                                             tmp_path: Path) -> None:
    data = _series(5, 300, drift_from=9)
    quiet = data[data.ts.dt.day.isin([3, 4])]  # nothing arrived on March 3 and 4
    data = data.drop(index=quiet.index).sort_values("ts")
    data.to_parquet(tmp_path / "prod.parquet")
    in_memory = md.monitor(profiled, data, timestamp_column="ts", every="1D", log=False,
                           tracking_uri=tracking_uri)
    streamed = md.monitor(profiled, tmp_path / "prod.parquet", timestamp_column="ts",
                          every="1D", log=False, tracking_uri=tracking_uri)
    for reports in (in_memory, streamed):
        assert [r.window_start[:10] for r in reports if r.window_start] == [
            "2026-03-01", "2026-03-02", "2026-03-05"]
        assert [r.rows for r in reports] == [300, 300, 300]
        assert [r.step for r in reports] == [1, 2, 3]
    assert [r.window_key for r in in_memory] == [r.window_key for r in streamed]


# -- trial 4: the monitor's output says what it did to the aliases -----------------
def test_monitor_output_names_the_alias_it_took_off(tracking_uri: str, profiled: str,
                                                     tmp_path: Path) -> None:
    """Before: `monitor models:/churn@champion` printed the stages only; that @champion had
    been taken off the version (and a scheduled job through it would now fail) was not said."""
    registry.client_for(tracking_uri).set_registered_model_alias("churn", "champion", "1")
    days = pd.concat([make_frame(1000, 10 + d, shift=0.0 if d < 2 else 1.5).assign(
        ts=pd.Timestamp("2026-01-01", tz="UTC") + pd.Timedelta(days=d, hours=2))
        for d in range(4)])
    days.to_csv(tmp_path / "d.csv", index=False)
    args = ["monitor", "models:/churn@champion", "--data", str(tmp_path / "d.csv"),
            "--timestamp-column", "ts", "--window", "1D", "--tracking-uri", tracking_uri]
    dry = CliRunner().invoke(main, [*args, "--dry-run"])
    assert dry.stdout.splitlines()[-1] == (
        "  window 4: registry would do: remove alias @champion from models:/churn/1")
    out = CliRunner().invoke(main, args)
    assert out.exit_code == 0, out.output
    assert out.stdout.splitlines()[-1] == (
        "  window 4: registry done: remove alias @champion from models:/churn/1")


# trial 5: a search returns at most 50,000 runs and the rest were never asked for
def test_runs_beyond_one_search_page_are_read(tracking_uri: str, profiled: str,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """Before: one search of at most 50,000 runs, the oldest first: a model watched for
    years (hourly windows, many versions) lost its newest runs, so a rerun evaluated them
    again and ``history`` ended years ago. Here a page holds two runs."""
    from mlflow_decay.registry import runs

    data = _series(5, 300, drift_from=2)
    first = md.monitor(profiled, data, timestamp_column="ts", every="1D", tracking_uri=tracking_uri)
    events = md.history("churn", tracking_uri=tracking_uri)
    assert len(events) >= 2
    monkeypatch.setattr(runs, "SEARCH_PAGE", 2)
    again = md.monitor(profiled, data, timestamp_column="ts", every="1D", tracking_uri=tracking_uri)
    assert [r.skipped for r in again] == [True] * 5
    assert [r.run_id for r in again] == [r.run_id for r in first]
    assert md.history("churn", tracking_uri=tracking_uri) == events


# trial 5: every command reads the version's LoggedModel (where the profile lives)
def test_window_metrics_are_not_piled_onto_the_versions_logged_model(
        tracking_uri: str, profiled: str) -> None:
    """Before: each window's metrics were linked to the version's LoggedModel, which MLflow
    returns whole with it: after 1,000 daily windows 85,000 points, 2 s of every evaluate,
    monitor and labels call reading the profile, growing with each window."""
    data = _series(3, 300, drift_from=9)
    md.monitor(profiled, data, timestamp_column="ts", every="1D", tracking_uri=tracking_uri)
    client = registry.client_for(tracking_uri)
    ref = registry.resolve(client, profiled)
    assert ref.model_id is not None
    assert client.get_logged_model(ref.model_id).metrics in (None, [])


def test_a_dry_run_skips_the_windows_the_real_run_would_skip(tracking_uri: str, profiled: str,
                                                             tmp_path: Path) -> None:
    # the dry run evaluated every window as new: windows logged before showed as evaluated
    # again (stages from the version's current tags), where the real run skips them
    days = _series(4, 300, drift_from=2)
    days.to_parquet(tmp_path / "all.parquet")
    first = md.monitor(profiled, days[days.ts < "2026-03-03"], timestamp_column="ts",
                       every="1D", tracking_uri=tracking_uri)
    before = registry_snapshot(tracking_uri)
    for source in (days, tmp_path / "all.parquet"):
        dry = md.monitor(profiled, source, timestamp_column="ts", every="1D", log=False,
                         tracking_uri=tracking_uri)
        assert [(r.skipped, r.run_id) for r in dry] == [
            (True, first[0].run_id), (True, first[1].run_id), (False, None), (False, None)]
        assert [r.status for r in dry[:2]] == [r.status for r in first]
        forced = md.monitor(profiled, source, timestamp_column="ts", every="1D", log=False,
                            force=True, tracking_uri=tracking_uri)
        assert not any(r.skipped for r in forced)
    assert registry_snapshot(tracking_uri) == before
    real = md.monitor(profiled, days, timestamp_column="ts", every="1D",
                      tracking_uri=tracking_uri)
    assert [(r.skipped, r.status) for r in real] == [(r.skipped, r.status) for r in dry]


# -- trial 19c: a window under min_rows was shown degraded beside an unmoved stage, unexplained
def test_monitor_table_marks_windows_under_min_rows_as_not_applied(
        tracking_uri: str, profiled: str, tmp_path: Path) -> None:
    """Before: two 60-row days that breach read `degraded` verdicts beside a `healthy` stage,
    with nothing saying why (an open window was marked; one under min_rows was not)."""
    days = pd.concat([make_frame(60, 30 + d, shift=2.0, flip=0.5).assign(
        ts=pd.Timestamp("2026-01-01", tz="UTC") + pd.Timedelta(days=d, hours=2))
        for d in range(2)])
    days.to_csv(tmp_path / "d.csv", index=False)
    out = CliRunner().invoke(main, ["monitor", profiled, "--data", str(tmp_path / "d.csv"),
                                    "--timestamp-column", "ts", "--window", "1D",
                                    "--tracking-uri", tracking_uri])
    assert out.exit_code == 0, out.output
    rows = out.stdout.splitlines()[1:]
    assert [line.split()[5:7] for line in rows] == [["degraded", "healthy"]] * 2
    assert all(line.endswith("  (under min_rows 100: verdict not applied)") for line in rows)


def test_the_column_a_monitor_cuts_windows_by_is_not_called_an_extra_column(
        tracking_uri: str, profiled: str, tmp_path: Path) -> None:
    """Trial 21: a profile without a timestamp column, monitored by ``ts``: every window's
    report (its page's "extra columns ignored", the JSON) said ``ts`` was ignored, the very
    column its window was cut by. Another column the profile does not read is still named."""
    data = _series(2, 300, drift_from=9).assign(other=1.0)
    data.sort_values("ts").to_parquet(tmp_path / "d.parquet")  # in time order: streamed
    for source in (data, tmp_path / "d.parquet"):
        reports = md.monitor(profiled, source, timestamp_column="ts", every="1D",
                             tracking_uri=tracking_uri, log=False)
        assert [r.extra_columns for r in reports] == [["other"], ["other"]]
