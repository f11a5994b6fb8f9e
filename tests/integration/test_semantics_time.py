"""Time semantics: window bounds and timestamps read as times, each window counted once (by its
bounds, whatever the rows' order or file format), open windows provisional, a dry run's stages."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import frame_profile, make_frame, registry_snapshot

import mlflow_decay as md
from mlflow_decay import registry
from mlflow_decay.cli import main
from mlflow_decay.core.times import timestamps
from mlflow_decay.engines import partials
from mlflow_decay.engines.sources import rows_digest
from mlflow_decay.engines.windows import Cut, split_windows

DEGRADE_AFTER_2 = "[hysteresis]\ndegrade_after = 2\n"
DEGRADE_AFTER_1 = "[hysteresis]\ndegrade_after = 1\n"


def _policy(tmp: Path, text: str) -> Path:
    path = tmp / "policy.toml"
    path.write_text(text)
    return path


def _bad(n: int, seed: int) -> pd.DataFrame:
    """A window that breaches the default policy's degrade thresholds."""
    return make_frame(n, seed, shift=1.5, flip=0.3)


def _day(day: str, frame: pd.DataFrame, hours: float = 24.0) -> pd.DataFrame:
    """``frame`` with timestamps spread over the first ``hours`` of ``day`` (UTC)."""
    start = pd.Timestamp(day, tz="UTC")
    return frame.assign(ts=start + pd.to_timedelta(np.linspace(0, hours * 3600 - 1, len(frame)),
                                                   unit="s"))


def _tags(tracking_uri: str, uri: str) -> dict[str, str]:
    return registry.resolve(registry.client_for(tracking_uri), uri).tags


# -- 1. window bounds are times --------------------------------------------------------------
@pytest.mark.parametrize(("bounds", "message"), [
    (["--window-end", "week 19"], "window end 'week 19' is not an ISO 8601 time"),
    (["--window-start", "2026-02-08", "--window-end", "2026-02-01"],
     "window start 2026-02-08T00:00:00+00:00 is not before window end"),
    (["--window-start", "2026-02-01T05:00+05:00", "--window-end", "2026-02-01T00:00Z"],
     "is not before window end"),
])
def test_bounds_that_are_not_times_or_out_of_order_are_usage_errors(
        tracking_uri: str, profiled: str, tmp_path: Path, bounds: list[str], message: str) -> None:
    window = tmp_path / "w.csv"
    make_frame(500, 3).to_csv(window, index=False)
    before = registry_snapshot(tracking_uri)
    result = CliRunner().invoke(main, ["evaluate", profiled, "--data", str(window), *bounds,
                                       "--tracking-uri", tracking_uri])
    assert result.exit_code == 2, result.output
    assert message in result.stderr and "Traceback" not in result.output
    assert registry_snapshot(tracking_uri) == before
    start = bounds[1] if bounds[0] == "--window-start" else None
    with pytest.raises(md.DataError, match=re.escape(message)):
        md.evaluate(profiled, make_frame(500, 3), window_start=start, window_end=bounds[-1],
                    tracking_uri=tracking_uri)
    assert registry_snapshot(tracking_uri) == before


def test_bounds_are_stored_in_utc_and_ordered_as_times(tracking_uri: str, profiled: str) -> None:
    client = registry.client_for(tracking_uri)
    # 05:00 at +05:00 is midnight UTC: earlier than 01:00 UTC, though it sorts later as text
    first = md.evaluate(profiled, make_frame(2000, 3), window_start="2026-02-28T05:00+05:00",
                        window_end="2026-03-01T05:00+05:00", tracking_uri=tracking_uri)
    assert (first.window_start, first.window_end) == ("2026-02-28T00:00:00+00:00",
                                                      "2026-03-01T00:00:00+00:00")
    run = client.get_run(first.run_id)  # type: ignore[arg-type]
    assert run.data.tags["mlflow_decay.window_end"] == "2026-03-01T00:00:00+00:00"
    later = md.evaluate(profiled, _bad(2000, 4), window_start="2026-03-01T00:00Z",
                        window_end="2026-03-01T01:00Z", tracking_uri=tracking_uri)
    assert later.applied and later.status == "warning"
    assert not any("later window" in n for n in later.notes)
    assert _tags(tracking_uri, profiled)[registry.BREACH_STREAK] == "1"
    # a naive bound is UTC
    naive = md.evaluate(profiled, make_frame(500, 5), window_end="2026-03-02 00:00",
                        log=False, tracking_uri=tracking_uri)
    assert naive.window_end == "2026-03-02T00:00:00+00:00"


def test_an_unreadable_last_window_tag_is_ignored_with_a_note(tracking_uri: str,
                                                             profiled: str) -> None:
    client = registry.client_for(tracking_uri)
    # what an older mlflow-decay stored for `--window-end "week 19"`: it blocked every verdict
    client.set_model_version_tag("churn", profiled.rsplit("/", 1)[1], registry.LAST_WINDOW,
                                 "week 19|0f00")
    report = md.evaluate(profiled, make_frame(2000, 3), window_end="2026-05-11",
                         tracking_uri=tracking_uri)
    assert report.applied and report.status == "healthy"
    assert any("'week 19|0f00' is not a window" in n and "ignored" in n for n in report.notes)
    stored = json.loads(_tags(tracking_uri, profiled)[registry.LAST_WINDOW])
    assert stored["end"] == "2026-05-11T00:00:00+00:00" and stored["key"] == report.window_key


def test_a_last_window_stored_by_an_older_version_is_not_counted_again(
        tracking_uri: str, profiled: str, tmp_path: Path) -> None:
    """Upgrading: the last window applied by the older ``<end>|<key>`` tag, evaluated again
    (its key changed with the new fingerprint), does not add a second streak step."""
    client = registry.client_for(tracking_uri)
    version = profiled.rsplit("/", 1)[1]
    for key, value in ((registry.STATUS, "warning"), (registry.BREACH_STREAK, "1"),
                       (registry.LAST_WINDOW, "2026-03-03T00:00:00+00:00|0f00")):
        client.set_model_version_tag("churn", version, key, value)
    policy = _policy(tmp_path, DEGRADE_AFTER_2)
    again = md.evaluate(profiled, _bad(1500, 21), window_start="2026-03-02",
                        window_end="2026-03-03", policy=policy, tracking_uri=tracking_uri)
    assert again.window_status == "degraded" and again.status == "warning"
    assert _tags(tracking_uri, profiled)[registry.BREACH_STREAK] == "1"
    assert any("was already applied" in n for n in again.notes)
    later = md.evaluate(profiled, _bad(1500, 22), window_start="2026-03-03",
                        window_end="2026-03-04", policy=policy, tracking_uri=tracking_uri)
    assert later.status == "degraded"


# -- 2. a window counts once -----------------------------------------------------------------
def test_a_partial_then_full_day_counts_once(tracking_uri: str, profiled: str,
                                             tmp_path: Path) -> None:
    """A daily monitor at noon, then again the next day: the breaching day counts once."""
    policy = _policy(tmp_path, DEGRADE_AFTER_2)
    good = _day("2026-03-01", make_frame(1500, 20))
    bad = _day("2026-03-02", _bad(1500, 21))
    noon = pd.concat([good, bad.iloc[:750]], ignore_index=True)  # the second day until noon
    first = md.monitor(profiled, noon, timestamp_column="ts", every="1D", policy=policy,
                       tracking_uri=tracking_uri)
    assert [r.status for r in first] == ["healthy", "warning"]
    full = pd.concat([good, bad], ignore_index=True)
    second = md.monitor(profiled, full, timestamp_column="ts", every="1D", policy=policy,
                        tracking_uri=tracking_uri)
    assert [r.skipped for r in second] == [True, False]
    assert second[1].window_status == "degraded" and second[1].status == "warning"
    assert any("replaces" in n for n in second[1].notes)
    tags = _tags(tracking_uri, profiled)
    assert tags[registry.STATUS] == "warning" and tags[registry.BREACH_STREAK] == "1"
    # the next day breaches too: now it is two breaching days in a row
    third = md.monitor(profiled, pd.concat([full, _day("2026-03-03", _bad(1500, 22))]),
                       timestamp_column="ts", every="1D", policy=policy,
                       tracking_uri=tracking_uri)
    assert third[-1].status == "degraded"


def test_an_open_window_is_provisional_until_it_closes(tracking_uri: str, profiled: str,
                                                       tmp_path: Path) -> None:
    policy = _policy(tmp_path, DEGRADE_AFTER_1)
    now = pd.Timestamp.now(tz="UTC")
    today = now.floor("D")
    yesterday = _day(str(today - pd.Timedelta(days=1))[:10], make_frame(1000, 30))
    so_far = _bad(600, 31).assign(ts=today + (now - today) * np.linspace(0, 0.99, 600))
    data = pd.concat([yesterday, so_far], ignore_index=True)
    reports = md.monitor(profiled, data, timestamp_column="ts", every="1D", policy=policy,
                         tracking_uri=tracking_uri)
    tags = _tags(tracking_uri, profiled)
    assert tags[registry.STATUS] == "healthy" and tags[registry.BREACH_STREAK] == "0"
    assert [r.provisional for r in reports] == [False, True]
    assert reports[1].window_status == "degraded" and reports[1].status == "healthy"
    assert not reports[1].applied and any("provisional" in n for n in reports[1].notes)
    assert json.loads(tags[registry.LAST_WINDOW])["end"] == today.isoformat()
    client = registry.client_for(tracking_uri)
    run = client.get_run(reports[1].run_id)  # type: ignore[arg-type]
    assert run.data.tags["mlflow_decay.provisional"] == "true"
    # a retry while the day is open is the same provisional evaluation: skipped
    again = md.monitor(profiled, data, timestamp_column="ts", every="1D", policy=policy,
                       tracking_uri=tracking_uri)
    assert [r.skipped for r in again] == [True, True]


def test_the_same_rows_reordered_or_from_another_format_count_once(
        tracking_uri: str, profiled: str, tmp_path: Path) -> None:
    policy = _policy(tmp_path, DEGRADE_AFTER_2)
    rows = _bad(3000, 8)
    bounds = {"window_start": "2026-06-01", "window_end": "2026-06-02", "policy": policy,
              "tracking_uri": tracking_uri}
    first = md.evaluate(profiled, rows, **bounds)
    assert first.status == "warning" and not first.skipped
    before = registry_snapshot(tracking_uri)
    rows.to_csv(tmp_path / "w.csv", index=False)
    # extra columns the profile does not read (even nested ones) are not part of the rows
    nested = rows.assign(tags=[[i, i + 1] for i in range(len(rows))],
                         meta=[{"k": i} for i in range(len(rows))])
    nested.iloc[::-1].to_parquet(tmp_path / "w.parquet")
    parts = tmp_path / "parts"
    parts.mkdir()
    shuffled = rows.sample(frac=1.0, random_state=1)
    for i in range(3):
        shuffled.iloc[i * 1000:(i + 1) * 1000].to_parquet(parts / f"part-{i}.parquet")
    for same in (rows.sample(frac=1.0, random_state=0), rows.assign(comment="hello"),
                 tmp_path / "w.csv", tmp_path / "w.parquet", parts):
        again = md.evaluate(profiled, same, **bounds)
        assert again.skipped and again.run_id == first.run_id, same if isinstance(same, Path) else ""
    assert registry_snapshot(tracking_uri) == before
    assert _tags(tracking_uri, profiled)[registry.STATUS] == "warning"


def test_late_labels_replay_a_window_with_more_rows_once(
        tracking_uri: str, new_version: Callable[..., str], tmp_path: Path) -> None:
    uri = new_version()
    md.attach_profile(uri, frame_profile(5000, 1, ids="r", target="label", prediction="score",
                                         id_column="id"), tracking_uri=tracking_uri)
    policy = _policy(tmp_path, DEGRADE_AFTER_2)
    good = _day("2026-04-01", make_frame(1500, 80)).assign(id=lambda f: "a" + f.index.astype(str))
    # concept drift: the rows look as usual, the labels stop following the scores
    bad = _day("2026-04-02", make_frame(1500, 81, flip=0.35)).assign(
        id=lambda f: "b" + f.index.astype(str))
    args = {"timestamp_column": "ts", "every": "1D", "policy": policy, "tracking_uri": tracking_uri}
    md.monitor(uri, pd.concat([good, bad.iloc[:700]]).drop(columns="label"), **args)
    md.monitor(uri, pd.concat([good, bad]).drop(columns="label"), **args)
    assert _tags(tracking_uri, uri)[registry.STATUS] == "healthy"
    labels = pd.concat([good, bad])[["id", "label"]]
    updated = md.attach_labels(uri, labels, policy=policy, tracking_uri=tracking_uri)
    assert [w.window_status for w in updated] == ["healthy", "degraded"]
    # the second day's two runs are one window: one breaching window, not two
    tags = _tags(tracking_uri, uri)
    assert tags[registry.STATUS] == "warning" and tags[registry.BREACH_STREAK] == "1"


def test_chunks_of_rows_sharing_one_timestamp_are_windows_of_their_own(
        tracking_uri: str, profiled: str, tmp_path: Path) -> None:
    data = _bad(2000, 90).assign(ts=pd.Timestamp("2026-05-01T12:00", tz="UTC"))
    reports = md.monitor(profiled, data, timestamp_column="ts", chunk_size=1000,
                         policy=_policy(tmp_path, DEGRADE_AFTER_2), tracking_uri=tracking_uri)
    assert [r.window_start == r.window_end for r in reports] == [True, True]
    assert [r.status for r in reports] == ["warning", "degraded"]


def test_the_fingerprint_reads_rows_as_the_profile_reads_them() -> None:
    profile = frame_profile(2000, 1, target="label", prediction="score", band_chunks=0)
    window = make_frame(900, 2)
    columns = partials.fingerprint_columns(profile)
    digest = rows_digest(window, columns)
    assert rows_digest(window.iloc[::-1], columns) == digest
    assert rows_digest(window.astype({"level": float}), columns) == digest  # 1 == 1.0
    assert rows_digest(window.assign(x1=window.x1.astype(object)), columns) == digest
    assert rows_digest(window.assign(extra=1), columns) == digest
    assert rows_digest(window.iloc[1:], columns) != digest
    assert rows_digest(window.assign(x1=window.x1 + 1e-9), columns) != digest
    doubled = pd.concat([window, window.iloc[:1]])  # a duplicated row is another multiset
    assert rows_digest(doubled, columns) != digest
    batches = (window.iloc[i:i + 200] for i in range(0, 900, 200))
    assert partials.window_partial(profile, batches).fingerprint == digest


# -- 3. compare --promote counts a window once -----------------------------------------------
@pytest.fixture
def champion_v1(tracking_uri: str, two_versions: tuple[str, str]) -> tuple[str, str]:
    """The two versions, version 1 holding @champion."""
    registry.client_for(tracking_uri).set_registered_model_alias("churn", "champion", "1")
    return two_versions


def _duel(seed: int) -> pd.DataFrame:
    w = make_frame(4000, seed)
    noise = np.random.default_rng(seed).normal(0, 0.05, 4000)
    return w.assign(score_new=np.clip(w.label * 0.35 + w.score * 0.65 + noise, 0, 1))


def test_compare_promote_retried_on_one_window_counts_it_once(
        tracking_uri: str, champion_v1: tuple[str, str], tmp_path: Path) -> None:
    _, challenger = champion_v1
    client = registry.client_for(tracking_uri)
    window = tmp_path / "w.csv"
    _duel(11).to_csv(window, index=False)
    args = ["compare", "models:/churn@champion", challenger, "--data", str(window),
            "--predictions", "score,score_new", "--promote", "--tracking-uri", tracking_uri,
            "--json"]
    for _ in range(2):  # a scheduler's retry
        out = CliRunner().invoke(main, args)
        assert out.exit_code == 0, out.output + out.stderr
        assert json.loads(out.stdout)["promotion"] == []
        assert registry.resolve(client, challenger).tags[registry.PROMOTE_STREAK] == "1:1"
    # the same rows in another order are the same window
    md.compare(_duel(11).iloc[::-1], ["models:/churn@champion", challenger],
               predictions=["score", "score_new"], promote=True, tracking_uri=tracking_uri)
    assert registry.resolve(client, challenger).tags[registry.PROMOTE_STREAK] == "1:1"


def test_compare_on_more_rows_of_one_window_replaces_its_result(
        tracking_uri: str, champion_v1: tuple[str, str]) -> None:
    _, challenger = champion_v1
    client = registry.client_for(tracking_uri)
    opts = {"predictions": ["score", "score_new"], "promote": True, "tracking_uri": tracking_uri}
    for seed in (12, 13):  # the window at noon, then the whole window: one win, not two
        result = md.compare(_duel(seed), ["models:/churn@champion", challenger],
                            window_start="2026-07-01", window_end="2026-07-02", **opts)
        assert result.promotion == [] and "streak 1 of 2" in result.notes[-1]
        assert registry.resolve(client, challenger).tags[registry.PROMOTE_STREAK] == "1:1"
    assert str(client.get_model_version_by_alias("churn", "champion").version) == "1"
    last = md.compare(_duel(14), ["models:/churn@champion", challenger],
                      window_start="2026-07-02", window_end="2026-07-03", **opts)
    assert last.promotion == [f"move alias @champion to {challenger}"]
    run = client.get_run(last.run_id)  # type: ignore[arg-type]
    assert run.data.tags["mlflow_decay.window_end"] == "2026-07-03T00:00:00+00:00"


# -- 9. timestamps: one rule per column ------------------------------------------------------
def test_epoch_numbers_need_a_unit(tracking_uri: str, profiled: str, tmp_path: Path) -> None:
    data = pd.concat([_day("2026-03-01", make_frame(500, 40)),
                      _day("2026-03-02", make_frame(500, 41))], ignore_index=True)
    epoch = data.assign(ts=(data.ts - pd.Timestamp("1970-01-01", tz="UTC")) // pd.Timedelta("1s"))
    with pytest.raises(md.DataError, match=r"column 'ts': timestamps given as numbers .* need "
                                           r"their unit"):
        md.monitor(profiled, epoch, timestamp_column="ts", every="1D", log=False,
                   tracking_uri=tracking_uri)
    reports = md.monitor(profiled, epoch, timestamp_column="ts", every="1D", log=False,
                         timestamp_unit="s", tracking_uri=tracking_uri)
    assert [(r.window_start, r.rows) for r in reports] == [
        ("2026-03-01T00:00:00+00:00", 500), ("2026-03-02T00:00:00+00:00", 500)]
    # streamed from Parquet, and through the CLI
    epoch.to_parquet(tmp_path / "prod.parquet")
    base = ["monitor", profiled, "--data", str(tmp_path / "prod.parquet"), "--timestamp-column",
            "ts", "--window", "1D", "--dry-run", "--tracking-uri", tracking_uri]
    refused = CliRunner().invoke(main, base)
    assert refused.exit_code == 1 and "--timestamp-unit" in refused.stderr
    out = CliRunner().invoke(main, [*base, "--timestamp-unit", "s", "--json"])
    assert out.exit_code == 0, out.output + out.stderr
    assert [r["window_start"] for r in json.loads(out.stdout)] == [
        "2026-03-01T00:00:00+00:00", "2026-03-02T00:00:00+00:00"]
    ms = epoch.assign(ts=epoch.ts * 1000)
    with pytest.raises(md.DataError, match="is the year"):  # milliseconds read as seconds
        md.monitor(profiled, ms, timestamp_column="ts", every="1D", log=False,
                   timestamp_unit="s", tracking_uri=tracking_uri)


def test_text_timestamps_are_read_in_one_format_per_column() -> None:
    day_first = pd.Series(["10/02/2026 08:00", "13/02/2026 09:30", "11/02/2026 23:00"])
    assert [str(t.date()) for t in timestamps(day_first, "ts")] == [
        "2026-02-10", "2026-02-13", "2026-02-11"]
    with pytest.raises(md.DataError, match=r"column 'ts'.*'10/02/2026' read both as month/day "
                                           r"and day/month"):
        timestamps(pd.Series(["10/02/2026", "11/02/2026"]), "ts")
    with pytest.raises(md.DataError, match=r"column 'ts': expected timestamps in one format, "
                                           r"got values such as '2026-02-10' and '13/02/2026'"):
        timestamps(pd.Series(["2026-02-10", "13/02/2026"]), "ts")
    with pytest.raises(md.DataError, match="column 'ts': 1 rows have no timestamp"):
        timestamps(pd.Series(["2026-02-10", ""]), "ts")  # empty text (Parquet), not a time
    with pytest.raises(md.DataError, match="cannot read 'now'"):
        timestamps(pd.Series(["now"]), "ts")
    offsets = timestamps(pd.Series(["2026-03-01T05:00:00+05:00", "2026-03-01T01:00:00Z",
                                    "2026-03-01 02:00"]), "ts")
    assert [t.isoformat() for t in offsets] == [
        "2026-03-01T00:00:00+00:00", "2026-03-01T01:00:00+00:00", "2026-03-01T02:00:00+00:00"]


def test_monitor_windows_day_first_dates_on_their_days(tracking_uri: str, profiled: str,
                                                       tmp_path: Path) -> None:
    frame = make_frame(400, 42).assign(ts=["10/02/2026"] * 200 + ["13/02/2026"] * 200)
    windows = split_windows(frame, Cut(timestamp_column="ts", every="1D"))
    assert [(w.start, len(w.frame)) for w in windows] == [
        ("2026-02-10T00:00:00+00:00", 200), ("2026-02-13T00:00:00+00:00", 200)]
    frame.to_parquet(tmp_path / "prod.parquet")  # streamed: the same rule, batch by batch
    reports = md.monitor(profiled, tmp_path / "prod.parquet", timestamp_column="ts", every="1D",
                         log=False, tracking_uri=tracking_uri)
    assert [r.window_start for r in reports] == [w.start for w in windows]


# -- 13. a dry run shows the stages the real run reaches -------------------------------------
def test_monitor_dry_run_carries_the_hysteresis(tracking_uri: str, profiled: str,
                                                tmp_path: Path) -> None:
    policy = _policy(tmp_path, DEGRADE_AFTER_2)
    days = pd.concat([_day(f"2026-04-0{i + 1}", _bad(1500, 60 + i)) for i in range(3)],
                     ignore_index=True)
    before = registry_snapshot(tracking_uri)
    dry = CliRunner().invoke(main, ["monitor", profiled, "--data", _csv(days, tmp_path),
                                    "--timestamp-column", "ts", "--window", "1D", "--policy",
                                    str(policy), "--dry-run", "--json", "--tracking-uri",
                                    tracking_uri])
    assert dry.exit_code == 0, dry.output + dry.stderr
    assert [r["status"] for r in json.loads(dry.stdout)] == ["warning", "degraded", "degraded"]
    assert registry_snapshot(tracking_uri) == before
    real = md.monitor(profiled, days, timestamp_column="ts", every="1D", policy=policy,
                      tracking_uri=tracking_uri)
    assert [r.status for r in real] == ["warning", "degraded", "degraded"]


def test_a_dry_run_starts_from_the_versions_tags(tracking_uri: str, profiled: str,
                                                 tmp_path: Path) -> None:
    policy = _policy(tmp_path, DEGRADE_AFTER_2)
    md.evaluate(profiled, _bad(1500, 70), window_start="2026-04-01", window_end="2026-04-02",
                policy=policy, tracking_uri=tracking_uri)  # breach 1 of 2: warning
    later = _day("2026-04-02", _bad(1500, 71))
    dry = md.monitor(profiled, later, timestamp_column="ts", every="1D", policy=policy,
                     log=False, tracking_uri=tracking_uri)
    assert [r.status for r in dry] == ["degraded"]
    assert _tags(tracking_uri, profiled)[registry.STATUS] == "warning"


def _csv(frame: pd.DataFrame, tmp: Path) -> str:
    frame.to_csv(tmp / "days.csv", index=False)
    return str(tmp / "days.csv")


# -- crash cases: the API side of the usage battery ------------------------------------------
@pytest.mark.parametrize("call", [
    lambda uri, t: md.evaluate(uri, make_frame(100, 1), experiment="", tracking_uri=t),
    lambda uri, t: md.monitor(uri, make_frame(100, 1), chunk_size=50, experiment=" ",
                              tracking_uri=t),
    lambda uri, t: md.restore(uri, "looked", experiment="", tracking_uri=t),
    lambda uri, t: md.history(uri, experiment="", tracking_uri=t),
    lambda uri, t: md.attach_labels(uri, make_frame(10, 1), id_column="x1", experiment="",
                                    tracking_uri=t),
    lambda uri, t: md.compare(make_frame(100, 1).assign(s2=0.5), [uri, uri],
                              predictions=["score", "s2"], experiment="", tracking_uri=t),
], ids=["evaluate", "monitor", "restore", "history", "labels", "compare"])
def test_an_empty_experiment_name_is_refused(tracking_uri: str, profiled: str,
                                             call: Callable[[str, str], object]) -> None:
    before = registry_snapshot(tracking_uri)
    with pytest.raises(md.DataError, match="experiment name is empty"):
        call(profiled, tracking_uri)
    assert registry_snapshot(tracking_uri) == before


@pytest.mark.parametrize("every", ["0D", "-1D", "0h"])
def test_a_window_period_must_be_positive(tracking_uri: str, profiled: str, every: str) -> None:
    data = _day("2026-03-01", make_frame(200, 1))
    with pytest.raises(md.DataError, match=f"window period '{every}' must be positive"):
        md.monitor(profiled, data, timestamp_column="ts", every=every, tracking_uri=tracking_uri)


# -- trial 3: periods anchored at their last day are calendar periods -----------------
@pytest.mark.parametrize(("every", "key"), [("1ME", "M"), ("QE", "Q"), ("1MS", "M"),
                                            ("1W", "W"), ("W-WED", "W-WED")])
def test_month_and_quarter_end_periods_cut_calendar_periods(every: str, key: str) -> None:
    # 1ME cut windows from one month's last day to the next (Jan 31 - Feb 27 as "01-31 → 02-28"),
    # and the last day of the data made a window of its own
    ts = pd.Series(pd.date_range("2026-01-01", "2026-06-30 23:00", freq="5h", tz="UTC"))
    frame = make_frame(len(ts), 3).assign(ts=ts)
    windows = split_windows(frame, Cut(timestamp_column="ts", every=every))
    periods = ts.dt.tz_localize(None).dt.to_period(key)
    expected = [(str(p.start_time.tz_localize("UTC").isoformat()),
                 str((p.end_time.ceil("D")).tz_localize("UTC").isoformat()), int(n))
                for p, n in periods.value_counts().sort_index().items()]
    assert [(w.start, w.end, len(w.frame)) for w in windows] == expected


def test_rows_outside_an_evaluated_windows_bounds_are_noted(
        tracking_uri: str, new_version: Callable[..., str], tmp_path: Path) -> None:
    # a week's bounds given with a whole table: the verdict covered every row, said nothing
    uri = new_version()
    reference = make_frame(3000, 1).assign(
        ts=pd.Timestamp("2026-01-05", tz="UTC") + pd.to_timedelta(np.arange(3000), unit="min"))
    md.attach_profile(uri, md.build_profile(reference, target="label", prediction="score",
                                            timestamp_column="ts"), tracking_uri=tracking_uri)
    table = make_frame(1400, 2).assign(
        ts=pd.Timestamp("2026-03-01T23:00", tz="Europe/Berlin")
        + pd.to_timedelta(np.arange(1400) * 10, unit="min"))  # Mar 1 22:00 UTC to Mar 11
    bounds = {"window_start": "2026-03-02", "window_end": "2026-03-09"}
    utc = table["ts"].dt.tz_convert("UTC")
    outside = int(((utc < "2026-03-02") | (utc >= "2026-03-09")).sum())
    expected = (f"{outside:,} of 1,400 rows have a 'ts' outside the window's bounds "
                "(2026-03-02 → 03-09): they are evaluated with it (to cut a table into windows "
                "by time, use monitor)")
    table.to_parquet(tmp_path / "w.parquet")
    for source in (table, tmp_path / "w.parquet"):
        report = md.evaluate(uri, source, log=False, tracking_uri=tracking_uri, **bounds)
        assert expected in report.notes
    inside = table[(utc >= "2026-03-02") & (utc < "2026-03-09")]
    report = md.evaluate(uri, inside, log=False, tracking_uri=tracking_uri, **bounds)
    assert not [n for n in report.notes if "outside the window" in n]
    # trial 6: a table indexed by its times (df.set_index("ts")) said nothing
    report = md.evaluate(uri, table.set_index("ts"), log=False, tracking_uri=tracking_uri,
                         **bounds)
    assert expected in report.notes


def test_dates_as_a_timestamp_column_in_any_form_cut_the_same_windows(
        tracking_uri: str, profiled: str) -> None:
    """Trial 5: a DATE column read with pandas' pyarrow backend
    (pd.read_parquet(..., dtype_backend="pyarrow"): date32[day][pyarrow]) as the timestamp
    column was a NotImplementedError traceback ("dt.tz is not supported for date32")."""
    import datetime

    import pyarrow as pa

    window = make_frame(700, 2).assign(
        day=[datetime.date(2026, 2, 1) + datetime.timedelta(days=i // 100) for i in range(700)])
    arrow = window.assign(day=window["day"].astype(pd.ArrowDtype(pa.date32())))
    assert timestamps(arrow["day"], "day").equals(timestamps(window["day"], "day"))
    cut = md.monitor(profiled, arrow, timestamp_column="day", every="1D",
                     tracking_uri=tracking_uri)
    assert [(r.window_start, r.rows) for r in cut] == [
        (f"2026-02-{d:02d}T00:00:00+00:00", 100) for d in range(1, 8)]
    # the same rows with the dates as objects are the same windows: a rerun skips them all
    again = md.monitor(profiled, window, timestamp_column="day", every="1D",
                       tracking_uri=tracking_uri)
    assert [r.skipped for r in again] == [True] * 7
