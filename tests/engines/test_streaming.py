"""Out-of-core: Parquet read in record batches gives the same answers as the table in memory."""

from __future__ import annotations

import re
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from conftest import mixed_table

import mlflow_decay as md
from mlflow_decay import monitoring
from mlflow_decay.core.columns import Columns, ProfileOptions
from mlflow_decay.core.evaluation import evaluate_window
from mlflow_decay.core.profile import CategoricalSummary, NumericSummary
from mlflow_decay.engines import dispatch, parquet, partials
from mlflow_decay.engines.sources import read_table, rows_digest
from mlflow_decay.engines.windows import Cut, split_windows, stream_windows
from mlflow_decay.errors import DataError


def _write(frame: pd.DataFrame, directory: Path, files: int) -> Path:
    directory.mkdir()
    for i, part in enumerate(np.array_split(np.arange(len(frame)), files)):
        frame.iloc[part].to_parquet(directory / f"part-{i:03d}.parquet")
    return directory


def test_profile_streamed_in_batches_matches_the_in_memory_profile(tmp_path: Path) -> None:
    table = mixed_table(40_000, 0)
    source = parquet.parquet_batches(_write(table, tmp_path / "ref", 3), batch_rows=6_000)
    streamed = parquet.build_profile_batches(source, Columns(target="y", prediction="p"),
                                             ProfileOptions())
    whole = md.build_profile(table, target="y", prediction="p")
    assert streamed.rows == whole.rows and streamed.features.keys() == whole.features.keys()
    for name, s in streamed.features.items():
        w = whole.features[name]
        if isinstance(s, CategoricalSummary):
            assert s == w  # category counts are exact
            continue
        assert isinstance(s, NumericSummary) and isinstance(w, NumericSummary)
        assert (s.count, s.missing, s.infinite, s.min, s.max) == (w.count, w.missing, w.infinite,
                                                                 w.min, w.max)
        assert s.mean == pytest.approx(w.mean, rel=1e-12, abs=1e-12)
        assert s.std == pytest.approx(w.std, rel=1e-12)
        assert (s.values, s.value_counts) == (w.values, w.value_counts)  # exact for "k"
        values = table[name].to_numpy()
        finite = np.sort(values[np.isfinite(values)])
        # histograms: exact counts on the streamed profile's edges
        edges = np.concatenate(([-np.inf], s.edges, [np.inf]))
        assert list(s.counts) == np.histogram(finite, edges)[0].tolist()
        # quantiles: the merged sketch stays within tolerance of the data's own CDF
        grid = np.quantile(finite, np.linspace(0, 1, 1001))
        ecdf = np.searchsorted(finite, grid, side="right") / len(finite)
        assert np.max(np.abs(s.cdf(grid) - ecdf)) < 0.002
    assert streamed.performance == whole.performance  # the sample holds every row here
    assert streamed.multivariate is not None and whole.multivariate is not None
    assert streamed.multivariate.categorical == whole.multivariate.categorical == (
        ("city", ("a", "b", "c", "d")),)
    assert streamed.multivariate.kept == whole.multivariate.kept
    assert np.allclose(streamed.multivariate.projector(), whole.multivariate.projector(),
                       atol=1e-8)
    assert streamed.bands.keys() == whole.bands.keys()
    key = "drift.multivariate.reconstruction_error"  # held out: the same chunks' Gram matrices
    assert streamed.bands[key] == pytest.approx(whole.bands[key], rel=1e-5)


def test_window_streamed_in_batches_gives_the_in_memory_metrics(tmp_path: Path) -> None:
    profile = md.build_profile(mixed_table(20_000, 1), target="y", prediction="p", band_chunks=0)
    window = mixed_table(30_000, 2, shift=0.3)
    result, fingerprint = parquet.evaluate_batches(
        profile, (window.iloc[i:i + 4_000] for i in range(0, len(window), 4_000)))
    whole = evaluate_window(profile, window)
    assert result.metrics.keys() == whole.metrics.keys()
    for key, value in whole.metrics.items():
        assert result.metrics[key] == pytest.approx(value, rel=1e-9, abs=1e-12), key
    assert result.drifted_features == whole.drifted_features
    assert fingerprint == rows_digest(window)
    # and through the public API, with a Parquet directory
    path = _write(window, tmp_path / "window", 4)
    evaluation, frame, digest = dispatch.evaluate_source(profile, path)
    assert frame is None and digest == rows_digest(window)
    assert evaluation.metrics["drift.share"] == whole.metrics["drift.share"]


def test_large_windows_estimate_performance_on_a_bounded_sample(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(partials, "SAMPLE_ROWS", 5_000)  # the window's sample
    profile = md.build_profile(mixed_table(20_000, 1), target="y", prediction="p", band_chunks=0)
    window = mixed_table(40_000, 3)
    result, _ = parquet.evaluate_batches(
        profile, (window.iloc[i:i + 8_000] for i in range(0, len(window), 8_000)))
    whole = evaluate_window(profile, window)
    assert result.metrics["drift.x.ks"] == pytest.approx(whole.metrics["drift.x.ks"], abs=1e-12)
    assert result.metrics["perf.roc_auc"] == pytest.approx(whole.metrics["perf.roc_auc"], abs=0.02)
    assert any("uniform sample of 5,000 of the window's 40,000 rows" in n for n in result.notes)


def test_streamed_profile_memory_does_not_grow_with_the_row_count(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parquet, "SAMPLE_ROWS", 2_000)  # the reference's sample
    peaks = []
    for rows in (20_000, 80_000):
        table = mixed_table(rows, 4).drop(columns=["y", "p"])
        source = parquet.parquet_batches(_write(table, tmp_path / f"r{rows}", 4), batch_rows=10_000)
        tracemalloc.start()
        profile = parquet.build_profile_batches(source, Columns(), ProfileOptions(band_chunks=0))
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
        assert profile.rows == rows
    # four times the rows, not four times the memory: batches, sample and partials are bounded
    assert peaks[1] < 1.5 * peaks[0]


def test_a_file_without_a_column_counts_its_rows_as_missing(tmp_path: Path) -> None:
    # a Parquet dataset reads a column a file lacks as nulls (schema evolution): they are
    # counted as missing values, which the window's quality metrics then report
    table = mixed_table(3_000, 5)
    directory = tmp_path / "ref"
    directory.mkdir()
    table.iloc[:1500].to_parquet(directory / "a.parquet")
    table.iloc[1500:].drop(columns=["z"]).to_parquet(directory / "b.parquet")
    summary = md.build_profile(directory, band_chunks=0).features["z"]
    assert isinstance(summary, NumericSummary)
    assert (summary.count, summary.missing) == (1500, 1500)


def test_a_column_the_first_file_lacks_is_read_from_the_files_that_hold_it(tmp_path: Path
                                                                          ) -> None:
    # a column added upstream on day 2: pyarrow's dataset takes the first file's columns
    # alone, so the feature was left out of a profile unnoticed, and a window refused it
    table = mixed_table(3_000, 5)
    directory = tmp_path / "ref"
    directory.mkdir()
    table.iloc[:1500].drop(columns=["z", "city"]).to_parquet(directory / "dt=2026-03-01.parquet")
    table.iloc[1500:].to_parquet(directory / "dt=2026-03-02.parquet")
    profile = md.build_profile(directory, target="y", prediction="p", band_chunks=0)
    summary = profile.features["z"]
    assert isinstance(summary, NumericSummary)
    assert (summary.count, summary.missing) == (1500, 1500)
    assert profile.features["city"].missing == 1500
    # a window so written: the metrics of the same rows in memory, missing where absent
    got = dispatch.evaluate_source(profile, directory)[0].metrics
    whole = table.assign(z=table["z"].where(table.index >= 1500),
                         city=table["city"].where(table.index >= 1500))
    expected = evaluate_window(profile, whole).metrics
    assert got["quality.z.missing_rate"] == expected["quality.z.missing_rate"] == 0.5
    assert got.keys() == expected.keys()
    assert all(np.isclose(got[k], expected[k], equal_nan=True) for k in got)
    # read whole (a monitor's files out of time order, late labels): the same columns
    whole_read = read_table(directory)
    assert whole_read["z"].isna().sum() == whole_read["city"].isna().sum() == 1500
    assert np.array_equal(whole_read["z"].to_numpy(), whole["z"].to_numpy(), equal_nan=True)


def test_files_whose_column_types_differ_read_their_own_values(tmp_path: Path) -> None:
    # schema evolution: a count written as integers, then (a NaN appeared upstream) as floats
    # with fractions; each file's values are read as they are, as the same table in memory is
    profile = md.build_profile(mixed_table(3_000, 5), target="y", prediction="p", band_chunks=0)
    window = mixed_table(2_000, 6)
    window["z"] = np.where(np.arange(2_000) < 1_000, np.round(window["z"]), window["z"])
    directory = tmp_path / "window"
    directory.mkdir()
    window.iloc[:1000].astype({"z": "int64"}).to_parquet(directory / "a.parquet")
    window.iloc[1000:].to_parquet(directory / "b.parquet")
    got = dispatch.evaluate_source(profile, directory)[0].metrics
    expected = evaluate_window(profile, window).metrics
    assert got.keys() == expected.keys()
    assert all(np.isclose(got[k], expected[k], equal_nan=True) for k in got)
    # numbers in one file and text in another: refused naming the column and the text, as in
    # memory (not as a file that "could not be read as Parquet")
    (directory / "b.parquet").unlink()
    window.iloc[1000:].assign(x=lambda t: t["x"].map(lambda v: "n/a" if np.isnan(v) else str(v))
                              ).to_parquet(directory / "b.parquet")
    with pytest.raises(DataError, match=r"column 'x': expected numbers .* got text such as 'n/a'"):
        dispatch.evaluate_source(profile, directory)


def test_a_source_that_is_not_parquet_or_csv_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "table.xlsx"
    path.write_bytes(b"not a table")
    with pytest.raises(DataError, match=r"expected a \.csv or \.parquet file"):
        md.build_profile(path)
    with pytest.raises(DataError, match="does not exist"):
        md.build_profile(tmp_path / "missing.parquet")


def _production(directory: Path) -> pd.DataFrame:
    """Six days of rows, drifting from day 3, written as one Parquet file per day."""
    from conftest import make_frame

    days = []
    for day in range(6):
        frame = make_frame(1500, seed=20 + day, shift=0.0 if day < 3 else 0.6)
        frame["ts"] = pd.Timestamp("2026-03-01", tz="UTC") + pd.to_timedelta(
            np.sort(np.random.default_rng(day).uniform(day * 86400, (day + 1) * 86400, 1500)),
            unit="s")
        days.append(frame)
    directory.mkdir()
    for day, frame in enumerate(days):
        frame.to_parquet(directory / f"day-{day}.parquet")
    return pd.concat(days, ignore_index=True)


@pytest.mark.parametrize("cut", [{"every": "1D"}, {"chunk_size": 2000}])
def test_monitor_streams_windows_with_the_in_memory_results(
        tmp_path: Path, tracking_uri: str, profiled: str, cut: dict[str, object]) -> None:
    table = _production(tmp_path / "prod")
    in_memory = md.monitor(profiled, table, timestamp_column="ts", log=False,
                           tracking_uri=tracking_uri, **cut)  # type: ignore[arg-type]
    streamed = md.monitor(profiled, tmp_path / "prod", timestamp_column="ts", log=False,
                          tracking_uri=tracking_uri, **cut)  # type: ignore[arg-type]
    assert len(streamed) == len(in_memory) > 3
    for s, m in zip(streamed, in_memory, strict=True):
        assert (s.step, s.window_start, s.window_end, s.rows) == (m.step, m.window_start,
                                                                 m.window_end, m.rows)
        assert s.window_key == m.window_key and s.window_status == m.window_status
        for key, value in m.metrics.items():
            assert s.metrics[key] == pytest.approx(value, rel=1e-9, abs=1e-12), key


def test_a_streamed_monitor_rerun_skips_the_windows_it_logged(
        tmp_path: Path, tracking_uri: str, profiled: str) -> None:
    _production(tmp_path / "prod")
    first = md.monitor(profiled, tmp_path / "prod", timestamp_column="ts", every="1D",
                       tracking_uri=tracking_uri)
    again = md.monitor(profiled, tmp_path / "prod", timestamp_column="ts", every="1D",
                       tracking_uri=tracking_uri)
    assert all(r.run_id for r in first) and not any(r.skipped for r in first)
    assert all(r.skipped for r in again)
    assert [r.run_id for r in again] == [r.run_id for r in first]


def test_streamed_windows_need_time_order_and_a_fixed_period(
        tmp_path: Path, tracking_uri: str, profiled: str, monkeypatch: pytest.MonkeyPatch) -> None:
    table = _production(tmp_path / "prod")
    with pytest.raises(DataError, match="calendar period"):
        md.monitor(profiled, tmp_path / "prod", timestamp_column="ts", every="1W",
                   tracking_uri=tracking_uri)
    shuffled = tmp_path / "shuffled"
    shuffled.mkdir()
    table.sample(frac=1.0, random_state=0).to_parquet(shuffled / "all.parquet")
    # out of time order: read whole and sorted while small enough, refused beyond that
    sorted_in_memory = md.monitor(profiled, shuffled, timestamp_column="ts", every="1D",
                                  tracking_uri=tracking_uri, log=False)
    assert len(sorted_in_memory) == 6
    monkeypatch.setattr(monitoring, "MAX_SORT_ROWS", 1000)
    with pytest.raises(DataError, match="not in time order"):
        md.monitor(profiled, shuffled, timestamp_column="ts", every="1D",
                   tracking_uri=tracking_uri)


def test_spark_batches_are_joined_to_the_parquet_engines_batch_size() -> None:
    from mlflow_decay.engines.parquet import BATCH_VALUES
    from mlflow_decay.engines.spark import _joined

    rng = np.random.default_rng(0)
    # Spark's Arrow batches: 10,000 rows, here of 50 columns (41,943 rows make a Parquet batch)
    batches = [pd.DataFrame(rng.normal(size=(10_000, 50))) for _ in range(11)]
    joined = list(_joined(iter(batches)))
    assert [len(b) for b in joined] == [50_000, 50_000, 10_000]
    assert all(b.size >= BATCH_VALUES for b in joined[:-1])
    pd.testing.assert_frame_equal(pd.concat(joined, ignore_index=True),
                                  pd.concat(batches, ignore_index=True))


def test_epoch_numbers_in_one_file_are_not_read_as_nanoseconds(tmp_path: Path) -> None:
    # day 2 written by another job as epoch milliseconds next to day 1's timestamps: pyarrow
    # casts the numbers to the first file's type as nanoseconds, and the day fell in 1970
    times = pd.Timestamp("2026-03-01 06:00", tz="Europe/Berlin") + pd.to_timedelta(
        np.arange(600) * 240, unit="s")
    frame = mixed_table(600, 3).assign(ts=times)
    directory = tmp_path / "scored"
    directory.mkdir()
    frame.iloc[:300].to_parquet(directory / "dt=2026-03-01.parquet")
    epoch = (frame["ts"].iloc[300:].dt.tz_convert("UTC") - pd.Timestamp(0, tz="UTC")
             ) // pd.Timedelta(milliseconds=1)
    frame.iloc[300:].assign(ts=epoch).to_parquet(directory / "dt=2026-03-02.parquet")
    with pytest.raises(DataError, match=r"dt=2026-03-02.parquet': column 'ts': timestamps given "
                                         r"as numbers .* need their unit"):
        parquet.time_ordered(directory, "ts")
    windows = []
    for window in stream_windows(parquet.parquet_batches(directory)(),
                                 Cut(timestamp_column="ts", every="1D", timestamp_unit="ms")):
        rows = sum(len(piece) for piece in window.pieces)  # the bounds are known once read
        windows.append((window.start, rows))
    expected = frame["ts"].dt.tz_convert("UTC").dt.floor("D").value_counts().sort_index()
    assert windows == [(t.isoformat(), n) for t, n in expected.items()]
    # read whole (files out of time order): refused as one column of two kinds, not in 1970
    with pytest.raises(DataError, match=r"column 'ts': expected timestamps in one format"):
        split_windows(read_table(directory),
                      Cut(timestamp_column="ts", every="1D", timestamp_unit="ms"))


def _berlin_rows(rng: np.random.Generator) -> pd.DataFrame:
    """Rows every 10 minutes (in UTC) over both of Berlin's 2026 clock changes."""
    frame = pd.concat([mixed_table(1000, 5).assign(ts=pd.Timestamp(day, tz="UTC") + pd.to_timedelta(
        np.arange(1000) * 600 + rng.integers(0, 600, 1000), unit="s")) for day in
        ("2026-03-27 12:00", "2026-10-23 12:00")], ignore_index=True)
    return frame.assign(ts=frame["ts"].dt.tz_convert("America/New_York"))  # any zone in, the same


@pytest.mark.parametrize(("every", "hours"), [("1D", {23, 24, 25}), ("3h", {2, 3, 4})])
def test_windows_follow_the_clock_of_a_time_zone_in_memory_and_streamed(
        tmp_path: Path, every: str, hours: set[int]) -> None:
    frame = _berlin_rows(np.random.default_rng(7))
    local = frame["ts"].dt.tz_convert("Europe/Berlin")
    periods = local.dt.tz_localize(None).dt.floor(every)  # pandas' own cut on the wall clock
    expected = [(t.tz_localize("Europe/Berlin", ambiguous=True).tz_convert("UTC").isoformat(), n)
                for t, n in periods.value_counts().sort_index().items()]
    berlin = Cut(timestamp_column="ts", every=every, timezone="Europe/Berlin")
    whole = split_windows(frame, berlin)
    assert [(w.start, len(w.frame)) for w in whole] == expected
    spans = {(pd.Timestamp(w.end) - pd.Timestamp(w.start)) // pd.Timedelta(hours=1)
             for w in whole}
    assert spans == hours  # the days of the clock changes are 23 and 25 hours
    for w in whole:  # every row lies within its window's bounds
        times = w.frame["ts"].dt.tz_convert("UTC")
        assert (times >= pd.Timestamp(w.start)).all() and (times < pd.Timestamp(w.end)).all()
    frame.to_parquet(tmp_path / "rows.parquet", row_group_size=700)
    streamed = []
    for w in stream_windows(parquet.parquet_batches(tmp_path / "rows.parquet")(), berlin):
        rows = sum(len(p) for p in w.pieces)  # the bounds are known once read
        streamed.append((w.start, rows, w.end))
    assert streamed == [(w.start, len(w.frame), w.end) for w in whole]
    if every == "1D":  # by default UTC's clock: days from UTC midnight
        utc = split_windows(frame, Cut(timestamp_column="ts", every=every))
        assert {pd.Timestamp(w.start).hour for w in utc} == {0}
        assert {pd.Timestamp(w.start).hour for w in whole} == {22, 23}  # Berlin's midnight


@pytest.mark.parametrize(("options", "message"), [
    ({"every": "1D", "timezone": "Europe/Berlinn"},
     "time zone 'Europe/Berlinn' is not an IANA time zone name"),
    ({"every": "30min", "timezone": "Europe/Berlin"},
     "periods on a time zone's clock are whole hours or longer"),
    ({"chunk_size": 100, "timezone": "Europe/Berlin"},
     "windows of a number of rows have none"),
])
def test_a_time_zone_that_cannot_place_the_windows_is_refused(options: dict[str, Any],
                                                               message: str) -> None:
    frame = _berlin_rows(np.random.default_rng(7))
    with pytest.raises(DataError, match=re.escape(message)):
        split_windows(frame, Cut(timestamp_column="ts", **options))


@pytest.mark.parametrize("epoch", [False, True])
def test_a_parquet_reference_out_of_time_order_gets_its_bands_in_time_order(
        tmp_path: Path, epoch: bool) -> None:
    # its band chunks were the files' rows in file order: timestamp_column's time order was
    # dropped for Parquet only, and a reference drifting over time got bands 10x narrower;
    # then still for times written as epoch numbers (which a profile orders as numbers)
    rng = np.random.default_rng(0)
    rows = 3000
    when = rng.permutation(rows)  # the rows shuffled in the file
    x = rng.normal(when / rows * 2, 1)
    times = pd.Timestamp("2026-01-01", tz="UTC") + pd.to_timedelta(when, unit="h")
    frame = pd.DataFrame({"x": x, "z": rng.normal(0, 1, rows), "score": 1 / (1 + np.exp(-x)),
                          "ts": (times - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(seconds=1)
                          if epoch else times})
    frame["label"] = (rng.random(rows) < frame.score).astype(int)
    frame.to_parquet(tmp_path / "ref.parquet")
    options = {"target": "label", "prediction": "score", "timestamp_column": "ts"}
    in_memory = md.build_profile(frame, **options)
    streamed = md.build_profile(tmp_path / "ref.parquet", **options)
    assert streamed.bands.keys() == in_memory.bands.keys()
    for name, (mean, sd, size) in in_memory.bands.items():
        assert streamed.bands[name] == (pytest.approx(mean, abs=1e-9), pytest.approx(sd, abs=1e-9),
                                        size), name
    assert in_memory.bands["drift.x.psi"][0] > 0.2  # the chunks are of their own times
