"""A pipeline's hive-partitioned Parquet directory (``dt=YYYY-MM-DD/part-N.parquet``) with a
bad file among many: the refusal names the file, and a streamed monitor stopped part-way says
which windows it logged before the bad one."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from click.testing import CliRunner
from conftest import make_frame, registry_snapshot

import mlflow_decay as md
from mlflow_decay.cli import main


def _partitioned(tmp: Path, days: int = 3) -> Path:
    """``days`` daily partitions of two files each, rows in time order (+01:00 offsets)."""
    root = tmp / "scored"
    for day in range(days):
        frame = make_frame(400, 10 + day)
        start = pd.Timestamp("2026-03-01", tz="Europe/Berlin") + pd.Timedelta(days=day, hours=1)
        frame["ts"] = start + pd.to_timedelta(np.arange(400) * 180, unit="s")
        folder = root / f"dt={(start.tz_convert('UTC')).date()}"
        folder.mkdir(parents=True)
        frame.iloc[:200].to_parquet(folder / "part-0.parquet")
        frame.iloc[200:].to_parquet(folder / "part-1.parquet")
    return root


def _monitor(tracking_uri: str, uri: str, data: Path, *args: str) -> list[str]:
    result = CliRunner().invoke(main, ["monitor", uri, "--data", str(data), "--timestamp-column",
                                       "ts", "--window", "1D", *args,
                                       "--tracking-uri", tracking_uri])
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    return [line for line in result.output.splitlines() if line.startswith("mlflow-decay:")]


def test_a_file_without_the_timestamp_is_named_and_nothing_changes(
        tracking_uri: str, profiled: str, tmp_path: Path) -> None:
    root = _partitioned(tmp_path)
    bad = root / "dt=2026-03-02" / "part-1.parquet"
    pd.read_parquet(bad).drop(columns=["ts"]).to_parquet(bad)
    before = registry_snapshot(tracking_uri)
    lines = _monitor(tracking_uri, profiled, root)
    assert len(lines) == 1
    assert f"data file '{bad}': column 'ts': 200 rows have no timestamp" in lines[0]
    assert registry_snapshot(tracking_uri) == before


def test_text_in_one_file_names_it_and_the_windows_logged_before(
        tracking_uri: str, profiled: str, tmp_path: Path) -> None:
    root = _partitioned(tmp_path)
    bad = root / "dt=2026-03-03" / "part-0.parquet"
    frame = pd.read_parquet(bad)
    frame["x1"] = frame["x1"].map(str)
    frame.loc[5, "x1"] = "n/a"
    frame.to_parquet(bad)
    lines = _monitor(tracking_uri, profiled, root)
    assert len(lines) == 1
    assert (f"data file '{bad}': column 'x1': expected numbers as in the reference profile, "
            "got text such as 'n/a'; window 3 was not evaluated, and windows 1-2 were logged "
            "before it (2026-03-01 → 03-03)") in lines[0]
    # those two windows are logged, and the monitor of the mended data skips them
    frame.loc[5, "x1"] = "0.5"
    frame.astype({"x1": float}).to_parquet(bad)
    reports = md.monitor(profiled, root, timestamp_column="ts", every="1D",
                         tracking_uri=tracking_uri)
    assert [r.skipped for r in reports] == [True, True, False]
    assert [r.rows for r in reports] == [400, 400, 400]


def test_evaluating_a_directory_names_the_bad_file(tracking_uri: str, profiled: str,
                                                   tmp_path: Path) -> None:
    root = _partitioned(tmp_path)
    bad = root / "dt=2026-03-02" / "part-0.parquet"
    pd.read_parquet(bad).assign(score="high").to_parquet(bad)
    before = registry_snapshot(tracking_uri)
    result = CliRunner().invoke(main, ["evaluate", profiled, "--data", str(root),
                                       "--tracking-uri", tracking_uri])
    assert result.exit_code == 1
    assert f"data file '{bad}': column 'score'" in result.output
    assert registry_snapshot(tracking_uri) == before


def test_a_partition_key_as_timestamp_column_is_refused_saying_so(
        tracking_uri: str, profiled: str, tmp_path: Path) -> None:
    root = _partitioned(tmp_path)
    before = registry_snapshot(tracking_uri)
    result = CliRunner().invoke(main, ["monitor", profiled, "--data", str(root),
                                       "--timestamp-column", "dt", "--window", "1D",
                                       "--tracking-uri", tracking_uri])
    assert result.exit_code == 1
    assert ("timestamp column 'dt' is missing from the data (folder 'dt=2026-03-01' names it, "
            "but the files do not hold it") in result.output
    assert registry_snapshot(tracking_uri) == before


def test_an_empty_part_file_is_named_and_nothing_changes(
        tracking_uri: str, profiled: str, tmp_path: Path) -> None:
    # a job that died mid-write leaves a 0-byte part file among the day's others
    root = _partitioned(tmp_path)
    bad = root / "dt=2026-03-02" / "part-2.parquet"
    bad.write_bytes(b"")
    before = registry_snapshot(tracking_uri)
    lines = _monitor(tracking_uri, profiled, root)
    assert lines == [f"mlflow-decay: error: data file '{bad}' could not be read as Parquet: "
                     "Parquet file size is 0 bytes"]
    assert registry_snapshot(tracking_uri) == before
