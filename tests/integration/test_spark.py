"""Spark: partials on the executors (local[2]) give the answers of the pandas path."""

from __future__ import annotations

import os
import shutil
import sys
import warnings
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
import pytest
from conftest import make_frame, mixed_table, registry_snapshot

import mlflow_decay as md
from mlflow_decay.core.evaluation import evaluate_window, reference_bands
from mlflow_decay.core.profile import CategoricalSummary, NumericSummary
from mlflow_decay.engines.dispatch import evaluate_source

pytestmark = [pytest.mark.spark,
              pytest.mark.skipif(shutil.which("java") is None,
                                 reason="PySpark needs a Java runtime, and this machine has none")]


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    os.environ["PYSPARK_PYTHON"] = sys.executable  # executors run this interpreter
    from pyspark.sql import SparkSession

    session = (SparkSession.builder.master("local[2]").appName("mlflow-decay-tests")
               .config("spark.ui.enabled", "false")
               .config("spark.driver.bindAddress", "127.0.0.1")
               .config("spark.driver.host", "127.0.0.1")
               .config("spark.sql.shuffle.partitions", "3").getOrCreate())
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def test_spark_profile_equals_the_pandas_profile(spark: Any) -> None:
    table = mixed_table(20_000, 0)
    frame = spark.createDataFrame(table).repartition(3)
    distributed = md.build_profile(frame, target="y", prediction="p")
    local = md.build_profile(table, target="y", prediction="p")
    assert distributed.rows == local.rows
    for name, s in distributed.features.items():
        w = local.features[name]
        if isinstance(s, CategoricalSummary):
            assert s == w
            continue
        assert isinstance(s, NumericSummary) and isinstance(w, NumericSummary)
        assert (s.count, s.missing, s.min, s.max, s.values) == (w.count, w.missing, w.min, w.max,
                                                                w.values)
        assert s.mean == pytest.approx(w.mean, rel=1e-12, abs=1e-12)
        assert s.std == pytest.approx(w.std, rel=1e-12)
        finite = np.sort(table[name].to_numpy()[np.isfinite(table[name].to_numpy())])
        edges = np.concatenate(([-np.inf], s.edges, [np.inf]))
        assert list(s.counts) == np.histogram(finite, edges)[0].tolist()
        grid = np.quantile(finite, np.linspace(0, 1, 1001))
        ecdf = np.searchsorted(finite, grid, side="right") / len(finite)
        assert np.max(np.abs(s.cdf(grid) - ecdf)) < 0.002
    assert distributed.target_summary == local.target_summary
    assert distributed.performance == pytest.approx(local.performance, abs=1e-12)
    assert distributed.multivariate is not None and local.multivariate is not None
    assert distributed.multivariate.categorical == local.multivariate.categorical != ()
    assert distributed.multivariate.kept == local.multivariate.kept
    assert np.allclose(distributed.multivariate.projector(), local.multivariate.projector(),
                       atol=1e-8)
    assert distributed.bands.keys() == local.bands.keys()


@pytest.mark.parametrize("times", ["text", "timestamp"])
def test_spark_band_chunks_follow_the_timestamp_column_as_the_pandas_chunks(
        spark: Any, times: str) -> None:
    """A reference whose ``x`` drifts over its 14 days, its rows shuffled over partitions:
    the band chunks are cut in time order as in memory, so the bands hold the same drift."""
    table = mixed_table(20_000, 3)
    minutes = np.random.default_rng(4).permutation(len(table))
    table["x"] += minutes / len(table)  # a drift over the reference period
    stamps = pd.Timestamp("2026-03-01", tz="UTC") + pd.to_timedelta(minutes, unit="min")
    table["ts"] = (stamps.strftime("%Y-%m-%dT%H:%M:%S+00:00") if times == "text"
                   else stamps.tz_localize(None))
    distributed = md.build_profile(spark.createDataFrame(table).repartition(3), target="y",
                                   prediction="p", timestamp_column="ts")
    # the chunks of the table in memory, in time order, against the same profile (Spark's
    # summaries merge within the sketch's tolerance, so its profile's bins are its own)
    ordered = table.sort_values("ts", key=lambda t: pd.to_datetime(t, utc=True))
    expected = reference_bands(replace(distributed, bands={}), ordered, 10)
    assert expected["drift.x.psi"][0] > 0.05  # the chunks see the drift
    assert distributed.bands.keys() == expected.keys() | {"drift.multivariate.reconstruction_error"}
    for key, (mean, sd, rows) in expected.items():
        if key.startswith("drift.multivariate"):  # held out on Spark (its PCA's Gram matrix)
            continue
        # the estimate's sampling band depends on the row order, which Spark does not keep
        tolerance = 0.01 if key.endswith((".lower", ".upper")) else 1e-5
        assert distributed.bands[key][0] == pytest.approx(mean, rel=tolerance, abs=1e-9), key
        assert distributed.bands[key][1] == pytest.approx(sd, rel=tolerance, abs=1e-9), key
        assert distributed.bands[key][2] == rows


def test_spark_window_gives_the_pandas_metrics(spark: Any) -> None:
    profile = md.build_profile(mixed_table(20_000, 1), target="y", prediction="p", band_chunks=0)
    window = mixed_table(15_000, 2, shift=0.3)
    result, rows, _ = evaluate_source(profile, spark.createDataFrame(window).repartition(3))
    local = evaluate_window(profile, window)
    assert rows is None and result.metrics.keys() == local.metrics.keys()
    for key, value in local.metrics.items():
        # the estimate's sampling band depends on the row order, which Spark does not keep
        tolerance = 0.002 if key.endswith((".lower", ".upper")) else 1e-9
        assert result.metrics[key] == pytest.approx(value, rel=tolerance, abs=1e-12), key


def test_evaluate_a_spark_window_against_a_registered_version(
        spark: Any, tracking_uri: str, profiled: str, reference: pd.DataFrame) -> None:
    window = make_frame(4000, seed=9, shift=1.0)
    report = md.evaluate(profiled, spark.createDataFrame(window), tracking_uri=tracking_uri)
    local = md.evaluate(profiled, window, tracking_uri=tracking_uri, log=False)
    assert report.run_id is not None and report.window_status == local.window_status
    assert report.metrics["drift.share"] == local.metrics["drift.share"]
    with pytest.raises(md.DataError, match="'x1' is missing from the window"):
        md.evaluate(profiled, spark.createDataFrame(window.drop(columns=["x1"])),
                    tracking_uri=tracking_uri)


def test_monitor_cuts_a_spark_dataframe_into_the_windows_of_the_pandas_path(
        spark: Any, tracking_uri: str, new_version: Any) -> None:
    """Daily windows of a Spark DataFrame (rows in no order, a session time zone not UTC, a
    day without rows) are those of the same rows in pandas: bounds, rows, metrics and keys."""
    rng = np.random.default_rng(3)
    table = make_frame(3000, 8, shift=0.5)
    days = rng.choice([0, 1, 3], len(table))  # no rows on the third day
    table["ts"] = (pd.Timestamp("2026-03-01 22:30", tz="America/New_York").tz_convert("UTC")
                   + pd.to_timedelta(days, unit="D")
                   + pd.to_timedelta(rng.integers(0, 3600, len(table)), unit="s"))
    uri = new_version()
    md.attach_profile(uri, md.build_profile(make_frame(3000, 1), target="label",
                                            prediction="score"), tracking_uri=tracking_uri)
    options = {"timestamp_column": "ts", "every": "1D", "tracking_uri": tracking_uri}
    local = md.monitor(uri, table, log=False, **options)
    zone = spark.conf.get("spark.sql.session.timeZone")
    spark.conf.set("spark.sql.session.timeZone", "America/New_York")
    try:
        frame = spark.createDataFrame(table.sample(frac=1, random_state=1)).repartition(3)
        ours = md.monitor(uri, frame, **options)
        again = md.monitor(uri, frame, **options)
    finally:
        spark.conf.set("spark.sql.session.timeZone", zone)
    assert [(r.window_start, r.window_end, r.rows) for r in ours] == [
        (r.window_start, r.window_end, r.rows) for r in local] and len(ours) == 3
    for a, b in zip(ours, local, strict=True):
        assert a.window_status == b.window_status and a.status == b.status
        assert all(np.isclose(a.metrics[k], b.metrics[k], equal_nan=True) for k in b.metrics), b.metrics
    assert all(r.run_id and not r.skipped for r in ours)
    assert [r.run_id for r in again] == [r.run_id for r in ours] and all(r.skipped for r in again)
    # the same rows from pandas are the same windows: logged before
    assert all(r.skipped for r in md.monitor(uri, table, **options))
    before = registry_snapshot(tracking_uri)
    with pytest.raises(md.DataError, match="no order to cut windows of 500 rows"):
        md.monitor(uri, spark.createDataFrame(table), chunk_size=500, tracking_uri=tracking_uri)
    with pytest.raises(md.DataError, match="or a Spark DataFrame; got list"):
        md.monitor(uri, [table], **options)  # type: ignore[arg-type]
    assert registry_snapshot(tracking_uri) == before


def test_a_spark_window_is_identified_by_its_rows_as_the_pandas_path_does(
        spark: Any, tracking_uri: str, new_version: Any) -> None:
    """The same rows from Spark (whose session time zone is not UTC) and from pandas are one
    window: logged once; other rows with the same bounds are another."""
    def table(n: int, seed: int) -> pd.DataFrame:
        frame = make_frame(n, seed).assign(ts=pd.Timestamp("2026-03-01 12:00", tz="UTC"))
        frame["ts"] += pd.to_timedelta(np.arange(n), unit="s")
        return frame

    uri = new_version()
    md.attach_profile(uri, md.build_profile(table(3000, 1), target="label", prediction="score",
                                            timestamp_column="ts"), tracking_uri=tracking_uri)
    window, bounds = table(2000, 5), {"window_start": "2026-03-01", "window_end": "2026-03-02"}
    zone = spark.conf.get("spark.sql.session.timeZone")
    spark.conf.set("spark.sql.session.timeZone", "America/New_York")
    try:
        first = md.evaluate(uri, spark.createDataFrame(window), tracking_uri=tracking_uri,
                            **bounds)
        again = md.evaluate(uri, spark.createDataFrame(window.sample(frac=1, random_state=0)),
                            tracking_uri=tracking_uri, **bounds)
        other = md.evaluate(uri, spark.createDataFrame(table(2000, 6)),
                            tracking_uri=tracking_uri, **bounds)
    finally:
        spark.conf.set("spark.sql.session.timeZone", zone)
    local = md.evaluate(uri, window, tracking_uri=tracking_uri, **bounds)
    assert first.run_id and not first.skipped
    assert again.skipped and again.run_id == first.run_id  # the same rows, in another order
    assert not other.skipped and other.run_id != first.run_id
    assert local.skipped and local.run_id == first.run_id


def test_compare_and_late_labels_refuse_a_spark_dataframe_saying_what_they_read(
        spark: Any, tracking_uri: str, two_versions: tuple[str, str]) -> None:
    window = make_frame(500, seed=9).assign(id=np.arange(500))
    before = registry_snapshot(tracking_uri)
    with pytest.raises(md.DataError, match=r"compare .* not a Spark DataFrame.*\.toPandas\(\)"):
        md.compare(spark.createDataFrame(window), list(two_versions), tracking_uri=tracking_uri)
    with pytest.raises(md.DataError, match=r"attach_labels reads a pandas DataFrame, not a Spark"):
        md.attach_labels(two_versions[0], spark.createDataFrame(window[["id", "label"]]),
                         tracking_uri=tracking_uri)
    with pytest.raises(md.DataError, match="reads a pandas DataFrame; got dict"):
        md.compare({"score": [0.5]}, list(two_versions),  # type: ignore[arg-type]
                   tracking_uri=tracking_uri)
    assert registry_snapshot(tracking_uri) == before


def test_spark_windows_follow_the_clock_of_a_time_zone_as_the_pandas_path(
        spark: Any, tracking_uri: str, new_version: Any) -> None:
    """Days on Berlin's clock around its spring clock change (the second is 23 hours): the
    same windows, bounds and rows from a Spark DataFrame in any order as from pandas."""
    rng = np.random.default_rng(4)
    table = make_frame(2000, 8, shift=0.5)
    table["ts"] = pd.Timestamp("2026-03-27 23:30", tz="Europe/Berlin") + pd.to_timedelta(
        rng.integers(0, 3 * 24 * 3600 - 3600, len(table)), unit="s")
    uri = new_version()
    md.attach_profile(uri, md.build_profile(make_frame(3000, 1), target="label",
                                            prediction="score"), tracking_uri=tracking_uri)
    options = {"timestamp_column": "ts", "every": "1D", "timezone": "Europe/Berlin",
               "tracking_uri": tracking_uri, "log": False}
    local = md.monitor(uri, table, **options)
    ours = md.monitor(uri, spark.createDataFrame(table.sample(frac=1, random_state=2)),
                      **options)
    assert [(r.window_start, r.window_end, r.rows) for r in ours] == [
        (r.window_start, r.window_end, r.rows) for r in local]
    assert [r.window_start for r in ours][:3] == ["2026-03-26T23:00:00+00:00",
                                                  "2026-03-27T23:00:00+00:00",
                                                  "2026-03-28T23:00:00+00:00"]
    assert ours[2].window_end == "2026-03-29T22:00:00+00:00"  # a day of 23 hours


def test_spark_times_without_an_offset_on_a_zones_clock_are_noted(
        spark: Any, tracking_uri: str, profiled: str) -> None:
    """Before: Berlin's local times as TIMESTAMP_NTZ (or text without an offset) were read as
    UTC and cut on Berlin's clock without a word, as in memory; now the same note is given
    (a TIMESTAMP is an instant: none)."""
    from pyspark.sql import functions

    table = make_frame(300, 8).assign(ts=pd.date_range("2026-03-20", periods=300, freq="10min"))
    options = {"timestamp_column": "ts", "every": "1D", "timezone": "Europe/Berlin",
               "tracking_uri": tracking_uri, "log": False}
    note = "'2026-03-20 00:00:00' is 2026-03-20 01:00 on Europe/Berlin's clock"
    for frame in (spark.createDataFrame(table.assign(ts=table.ts.astype(str))),
                  spark.createDataFrame(table).withColumn("ts", functions.to_timestamp_ntz(
                      functions.col("ts").cast("string")))):
        with pytest.warns(md.DecayWarning, match=note):
            md.monitor(profiled, frame, **options)
    with warnings.catch_warnings():
        warnings.simplefilter("error", md.DecayWarning)
        md.monitor(profiled, spark.createDataFrame(table.assign(ts=table.ts.dt.tz_localize(
            "Europe/Berlin"))), **options)
