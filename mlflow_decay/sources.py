"""Reading windows and reference tables from files: CSV or Parquet (a file or a directory)."""

from __future__ import annotations

import hashlib
import itertools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd

from .errors import DataError

_TIME = "__mlflow_decay_window_time__"
PARQUET_SUFFIXES = (".parquet", ".pq", ".parq")
CSV_SUFFIXES = (".csv", ".tsv", ".txt", ".csv.gz", ".csv.bz2", ".csv.zip", ".csv.xz")


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a CSV or Parquet file (or a directory of Parquet files) into a DataFrame.

    Raises
    ------
    DataError
        If the path does not exist, has an unknown suffix, or cannot be parsed.
    """
    p = Path(path)
    if not p.exists():
        raise DataError(f"data file {str(p)!r} does not exist")
    name = p.name.lower()
    try:
        if p.is_dir() or name.endswith(PARQUET_SUFFIXES):
            return pd.read_parquet(p, engine="pyarrow")
        if name.endswith(CSV_SUFFIXES):
            sep = "\t" if name.endswith(".tsv") else ","
            frame = pd.read_csv(p, sep=sep)
            if any(re.fullmatch(r".+\.\d+", str(c)) for c in frame.columns):
                # pandas renames a repeated header x to x.1: keep the names as written so the
                # repeat is refused, not read as a new column
                header = pd.read_csv(p, sep=sep, header=None, nrows=1, dtype=str).iloc[0]
                if header.duplicated().any():
                    frame.columns = pd.Index(header.to_numpy())
            return frame
    except (OSError, ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        kind = "Parquet" if p.is_dir() or name.endswith(PARQUET_SUFFIXES) else "CSV"
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DataError(f"data file {str(p)!r} could not be read as {kind}: {first[:200]}") from exc
    except Exception as exc:  # pyarrow raises its own error types for corrupt files
        raise DataError(f"data file {str(p)!r} could not be read: "
                        f"{type(exc).__name__}: {str(exc)[:200]}") from exc
    raise DataError(f"data file {str(p)!r}: expected a .csv or .parquet file (or a directory "
                    "of Parquet files)")


@dataclass(frozen=True)
class Window:
    """One production window: its rows, position in the series, and time bounds (ISO 8601)."""

    index: int
    frame: pd.DataFrame
    start: str | None
    end: str | None

    def key(self, model_name: str, model_version: str, profile_sha256: str) -> str:
        """Identity of this evaluation: model version, its profile, bounds and the rows."""
        return window_key(model_name, model_version, profile_sha256, self.start, self.end,
                          rows_digest(self.frame))


def window_key(model_name: str, model_version: str, profile_sha256: str, start: str | None,
               end: str | None, rows: bytes) -> str:
    """Identity of an evaluation: the model version, the profile it is judged against (a new
    profile makes new evaluations), the window bounds and the rows' fingerprint."""
    digest = hashlib.sha256(
        f"{model_name}\0{model_version}\0{profile_sha256}\0{start}\0{end}\0".encode())
    digest.update(rows)
    return digest.hexdigest()


def rows_digest(frame: pd.DataFrame) -> bytes:
    """SHA-256 of the rows' hashes: the same for a table and for its batches in order."""
    return hashlib.sha256(
        pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes()).digest()


def split_windows(frame: pd.DataFrame, *, timestamp_column: str | None = None,
                  every: str | None = None, chunk_size: int | None = None) -> list[Window]:
    """Cut a table into time-ordered windows: by calendar period ``every`` (a pandas offset
    such as ``"1D"`` or ``"1W"``, needs ``timestamp_column``) or by ``chunk_size`` rows.

    Empty periods give no window. Raises :class:`DataError` on a missing or unparsable
    timestamp column.
    """
    check_window_options(timestamp_column, every, chunk_size)
    times: pd.Series | None = None
    if timestamp_column is not None:
        if timestamp_column not in frame.columns:
            raise DataError(f"timestamp column {timestamp_column!r} is missing from the data")
        times = timestamps(frame[timestamp_column], timestamp_column)
        order = np.argsort(times.to_numpy(), kind="stable")
        frame, times = frame.iloc[order], times.iloc[order]
    out: list[Window] = []
    if every is not None:
        assert times is not None
        period = pd.tseries.frequencies.to_offset(every)
        marked = frame.assign(**{_TIME: times})
        grouper = pd.Grouper(key=_TIME, freq=period, label="left", closed="left")
        for start, part in marked.groupby(grouper, sort=True):
            if len(part):
                begin = pd.Timestamp(cast(Any, start))
                out.append(Window(len(out), part.drop(columns=_TIME), begin.isoformat(),
                                  (begin + period).isoformat()))
        return out
    assert chunk_size is not None
    for i, first in enumerate(range(0, len(frame), chunk_size)):
        part = frame.iloc[first:first + chunk_size]
        bounds = (times.iloc[first].isoformat(), times.iloc[first + len(part) - 1].isoformat()) \
            if times is not None else (None, None)
        out.append(Window(i, part, *bounds))
    return out


def check_window_options(timestamp_column: str | None, every: str | None,
                         chunk_size: int | None) -> Any:
    """Check how windows are cut; return the period as a pandas offset (or ``None``)."""
    if (every is None) == (chunk_size is None):
        raise DataError("give either a window period (e.g. 1D) or a chunk size, not both")
    if every is not None and timestamp_column is None:
        raise DataError("a window period needs a timestamp column")
    if chunk_size is not None and chunk_size < 1:
        raise DataError(f"chunk size must be a positive number of rows, got {chunk_size}")
    if every is None:
        return None
    try:
        return pd.tseries.frequencies.to_offset(every)
    except ValueError as exc:
        raise DataError(f"window period {every!r} is not a pandas offset such as 1D, 6h, "
                        "1W") from exc


@dataclass
class StreamWindow:
    """One window of a stream: its rows come as ``pieces`` (consume them before asking for the
    next window); ``start`` and ``end`` are known once they are consumed."""

    index: int
    pieces: Iterator[pd.DataFrame]
    start: str | None = None
    end: str | None = None


def stream_windows(batches: Iterable[pd.DataFrame], *, timestamp_column: str | None = None,
                   every: str | None = None, chunk_size: int | None = None
                   ) -> Iterator[StreamWindow]:
    """Cut a stream of batches into windows as :func:`split_windows` cuts a table, holding one
    batch at a time. The rows must come in time order (they cannot be sorted without reading
    them all), and a period must be a fixed duration (``1D``, ``6h``; not ``1W`` or ``1M``)."""
    offset = check_window_options(timestamp_column, every, chunk_size)
    period = None
    if isinstance(offset, pd.offsets.Day):  # a day of UTC time is 24 hours
        period = pd.Timedelta(days=offset.n)
    elif isinstance(offset, pd.offsets.Tick):
        period = pd.Timedelta(offset)
    elif offset is not None:
        raise DataError(f"window period {every!r} is a calendar period: windows read in batches "
                        "need a fixed duration such as 1D or 6h")
    labelled = _labelled(batches, timestamp_column, period, chunk_size)
    for index, (_, group) in enumerate(itertools.groupby(labelled, key=lambda item: item[0])):
        window = StreamWindow(index, iter(()))

        def pieces(group: Iterator[tuple[int, str | None, str | None, pd.DataFrame]] = group,
                   window: StreamWindow = window) -> Iterator[pd.DataFrame]:
            for _, start, end, piece in group:
                window.start = window.start or start
                window.end = end
                yield piece

        window.pieces = pieces()
        yield window


def _labelled(batches: Iterable[pd.DataFrame], timestamp_column: str | None,
              period: pd.Timedelta | None, chunk_size: int | None
              ) -> Iterator[tuple[int, str | None, str | None, pd.DataFrame]]:
    """Pieces of batches, each inside one window: ``(window label, start, end, rows)``."""
    seen = 0
    origin: pd.Timestamp | None = None
    last: pd.Timestamp | None = None
    for batch in batches:
        if len(batch) == 0:
            continue
        times = None
        if timestamp_column is not None:
            if timestamp_column not in batch.columns:
                raise DataError(f"timestamp column {timestamp_column!r} is missing from the data")
            times = timestamps(batch[timestamp_column], timestamp_column)
            values = times.to_numpy()
            if out_of_order(values, last):
                raise DataError(f"column {timestamp_column!r}: rows read in batches must come in "
                                "time order; sort the files, or load the table into memory")
            last = pd.Timestamp(values[-1])
        if period is not None:
            assert times is not None
            origin = origin if origin is not None else times.iloc[0].floor("D")
            labels = ((times - origin).to_numpy().astype("timedelta64[ns]").astype(np.int64)
                      // period.value)  # whole periods since the origin, in nanoseconds
        else:
            assert chunk_size is not None
            labels = (seen + np.arange(len(batch))) // chunk_size
        seen += len(batch)
        cuts = np.flatnonzero(labels[1:] != labels[:-1]) + 1
        for lo, hi in itertools.pairwise([0, *cuts.tolist(), len(batch)]):
            label = int(labels[lo])
            bounds: tuple[str | None, str | None] = (None, None)
            if period is not None:
                assert origin is not None
                begin = origin + label * period
                bounds = (begin.isoformat(), (begin + period).isoformat())
            elif times is not None:
                bounds = (times.iloc[lo].isoformat(), times.iloc[hi - 1].isoformat())
            yield label, *bounds, batch.iloc[lo:hi]


def out_of_order(values: np.ndarray, last: Any = None) -> bool:
    """Whether sorted-in-time rows are not: ``values`` go back in time, or start before
    ``last`` (the previous batch's last time)."""
    return bool((last is not None and values[0] < last) or np.any(values[1:] < values[:-1]))


def timestamps(series: pd.Series, column: str) -> pd.Series:
    try:
        parsed = pd.to_datetime(series, utc=True, errors="raise", format="mixed")
    except (ValueError, TypeError) as exc:
        raise DataError(f"column {column!r}: expected timestamps, cannot read "
                        f"{str(exc).splitlines()[0][:120]}") from exc
    if parsed.isna().any():
        raise DataError(f"column {column!r}: {int(parsed.isna().sum())} rows have no timestamp")
    return parsed
