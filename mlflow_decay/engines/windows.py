"""Cutting a table or a stream of batches into windows: by a period of its timestamp column (on
UTC's clock or a time zone's) or by a number of rows; the windows' bounds and identities."""

from __future__ import annotations

import hashlib
import itertools
import numbers
import warnings
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

import numpy as np
import pandas as pd

from ..core.frames import missing_column
from ..core.times import (
    check_timezone,
    clock_nanoseconds,
    instant,
    is_open,
    timestamps,
    utc_nanoseconds,
    wall_clock,
    zone_note,
)
from ..errors import DataError, DecayWarning
from .sources import ColumnKind, rows_digest

_TIME = "__mlflow_decay_window_time__"


@dataclass(frozen=True)
class Window:
    """One production window: its rows, position in the series, and time bounds (UTC ISO 8601)."""

    index: int
    frame: pd.DataFrame
    start: str | None
    end: str | None

    def key(self, model_name: str, model_version: str, profile_sha256: str,
            columns: Mapping[str, ColumnKind] | None = None, now: datetime | None = None) -> str:
        """Identity of this evaluation: model version, its profile, bounds and the rows (the
        ``columns`` the profile reads; default all), provisional while the window is open."""
        return window_key(model_name, model_version, profile_sha256, self.start, self.end,
                          rows_digest(self.frame, columns), is_open(self.end, now))


def window_key(model_name: str, model_version: str, profile_sha256: str, start: str | None,
               end: str | None, rows: bytes, provisional: bool = False) -> str:
    """Identity of an evaluation: the model version, the profile it is judged against (a new
    profile makes new evaluations), the window bounds, the rows' fingerprint, and whether the
    window was still open (a provisional evaluation; the closed window is evaluated anew)."""
    digest = hashlib.sha256(
        f"{model_name}\0{model_version}\0{profile_sha256}\0{start}\0{end}\0".encode())
    digest.update(rows)
    if provisional:
        digest.update(b"\0provisional")
    return digest.hexdigest()


@dataclass(frozen=True)
class Cut:
    """How a table is cut into windows: by a period ``every`` of ``timestamp_column`` (a
    pandas offset such as ``"1D"``, ``"6h"`` or ``"1W"``, on the clock of ``timezone``, an
    IANA name, default UTC) or by ``chunk_size`` rows; ``timestamp_unit`` says what
    timestamps given as numbers count since 1970."""

    timestamp_column: str | None = None
    every: str | None = None
    chunk_size: int | None = None
    timestamp_unit: str | None = None
    timezone: str | None = None

    def offset(self) -> Any:
        """Check the options; return the period as a pandas offset (``None``: rows)."""
        every, zone = self.every, check_timezone(self.timezone)
        if self.timestamp_unit is not None and self.timestamp_column is None:
            # it was dropped without a word: there are no timestamps for it to read
            raise DataError(f"timestamp_unit {self.timestamp_unit!r} reads the timestamp "
                            "column, and none is named (timestamp_column=, --timestamp-column)")
        if zone is not None and every is None:
            raise DataError(f"a time zone ({zone}) places windows cut by a period (every=, "
                            "--window) on its clock; windows of a number of rows have none")
        if (every is None) == (self.chunk_size is None):
            raise DataError("give either a window period (e.g. 1D) or a chunk size, not both")
        if every is not None and self.timestamp_column is None:
            raise DataError("a window period needs a timestamp column")
        size = self.chunk_size
        if size is not None and (not isinstance(size, numbers.Integral)
                                 or isinstance(size, bool) or size < 1):
            raise DataError(f"chunk size must be a positive whole number of rows, got {size!r}")
        if every is None:
            return None
        try:
            offset = pd.tseries.frequencies.to_offset(every)
        except (ValueError, TypeError) as exc:
            raise DataError(f"window period {every!r} is not a pandas offset such as 1D, 6h, "
                            "1W") from exc
        if offset.n <= 0:
            raise DataError(f"window period {every!r} must be positive, such as 1D, 6h, 1W")
        if (zone is not None and isinstance(offset, pd.offsets.Tick)
                and pd.Timedelta(offset) % pd.Timedelta(hours=1)):
            raise DataError(f"window period {every!r} in time zone {zone}: periods on a time "
                            "zone's clock are whole hours or longer (its clock changes repeat "
                            "or skip an hour)")
        return offset

    def fixed(self, what: str) -> pd.Timedelta | None:
        """The period as a fixed duration on the clock (``None``: windows of rows); ``what``
        names the windows in the refusal of a calendar period (``1W``, ``1M``)."""
        offset = self.offset()
        if offset is None:
            return None
        if isinstance(offset, pd.offsets.Day):  # a day on the clock is 24 hours of it
            return pd.Timedelta(days=offset.n)
        if isinstance(offset, pd.offsets.Tick):
            return pd.Timedelta(offset)
        raise DataError(f"window period {self.every!r} is a calendar period: {what} need a "
                        "fixed duration such as 1D or 6h (7D for weeks, counted from the "
                        "midnight before the first time; or load the table into memory for "
                        "calendar weeks)")

    def bounds(self, origin: pd.Timestamp, period: pd.Timedelta, label: int
               ) -> tuple[str, str]:
        """The bounds of window ``label`` (whole periods since ``origin``, a naive time on
        the clock) as UTC ISO 8601."""
        begin = origin + label * period
        return (instant(begin, self.timezone).isoformat(),
                instant(begin + period, self.timezone).isoformat())


def split_windows(frame: pd.DataFrame, cut: Cut) -> list[Window]:
    """Cut a table into time-ordered windows as ``cut`` says: by a calendar period (needs the
    timestamp column) or by a number of rows.

    Timestamps are read by :func:`timestamps`. Periods follow the clock of the cut's time
    zone: days start at its midnight, and its clock changes make a day 23 or 25 hours. Empty
    periods give no window. Raises :class:`DataError` on a missing or unreadable timestamp
    column.
    """
    period = cut.offset()
    timestamp_column, chunk_size = cut.timestamp_column, cut.chunk_size
    times: pd.Series | None = None
    if timestamp_column is not None:
        if timestamp_column not in frame.columns:
            raise DataError(f"timestamp column {timestamp_column!r} is missing from the data "
                            f"({missing_column(timestamp_column, frame)})")
        times = timestamps(frame[timestamp_column], timestamp_column, cut.timestamp_unit)
        warn_of_naive_times(frame[timestamp_column], cut)
        order = np.argsort(utc_nanoseconds(times), kind="stable")
        frame, times = frame.iloc[order], times.iloc[order]
    out: list[Window] = []
    if period is not None:
        assert times is not None
        # a period anchored at its last day (1ME: months; 1W: weeks to Sunday) begins the day
        # after its anchor
        shift = pd.Timedelta(days=1 if _end_anchored(period) else 0)
        marked = frame.assign(**{_TIME: wall_clock(times, cut.timezone) - shift})
        grouper = pd.Grouper(key=_TIME, freq=period, label="left", closed="left")
        for start, part in marked.groupby(grouper, sort=True):
            if len(part):
                begin = pd.Timestamp(cast(Any, start))
                out.append(Window(len(out), part.drop(columns=_TIME),
                                  instant(begin + shift, cut.timezone).isoformat(),
                                  instant(begin + period + shift, cut.timezone).isoformat()))
        return out
    assert chunk_size is not None
    for i, first in enumerate(range(0, len(frame), chunk_size)):
        part = frame.iloc[first:first + chunk_size]
        bounds = (times.iloc[first].isoformat(), times.iloc[first + len(part) - 1].isoformat()) \
            if times is not None else (None, None)
        out.append(Window(i, part, *bounds))
    return out


#: calendar periods anchored at their last day: a window of one runs from the day after an
#: anchor to the day after the next (``1ME``: a calendar month), not from anchor to anchor
_END_ANCHORED = (pd.offsets.MonthEnd, pd.offsets.BusinessMonthEnd, pd.offsets.SemiMonthEnd,
                 pd.offsets.QuarterEnd, pd.offsets.BQuarterEnd, pd.offsets.YearEnd,
                 pd.offsets.BYearEnd, pd.offsets.CustomBusinessMonthEnd)


def _end_anchored(period: Any) -> bool:
    """Whether a calendar period ends on its anchor (as pandas' periods do): those above, and
    weeks ending on a weekday (``1W`` is ``W-SUN``: Monday to Sunday, as ``Period("W")``)."""
    return isinstance(period, _END_ANCHORED) or (
        isinstance(period, pd.offsets.Week) and getattr(period, "weekday", None) is not None)


@dataclass
class StreamWindow:
    """One window of a stream: its rows come as ``pieces`` (consume them before asking for the
    next window); ``start`` and ``end`` are known once they are consumed."""

    index: int
    pieces: Iterator[pd.DataFrame]
    start: str | None = None
    end: str | None = None


def stream_windows(batches: Iterable[pd.DataFrame], cut: Cut) -> Iterator[StreamWindow]:
    """Cut a stream of batches into windows as :func:`split_windows` cuts a table, holding one
    batch at a time. The rows must come in time order (they cannot be sorted without reading
    them all), and a period must be a fixed duration on the clock (``1D``, ``6h``; not
    ``1W`` or ``1M``)."""
    labelled = _labelled(batches, cut, cut.fixed("windows read in batches"))
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


def _labelled(batches: Iterable[pd.DataFrame], cut: Cut, period: pd.Timedelta | None
              ) -> Iterator[tuple[int, str | None, str | None, pd.DataFrame]]:
    """Pieces of batches, each inside one window: ``(window label, start, end, rows)``."""
    timestamp_column, chunk_size = cut.timestamp_column, cut.chunk_size
    seen = 0
    origin: pd.Timestamp | None = None
    last: np.int64 | None = None
    for batch in batches:
        if len(batch) == 0:
            continue
        times = None
        if timestamp_column is not None:
            if timestamp_column not in batch.columns:
                raise DataError(f"timestamp column {timestamp_column!r} is missing from the data")
            times = timestamps(batch[timestamp_column], timestamp_column, cut.timestamp_unit)
            if last is None:  # the first batch
                warn_of_naive_times(batch[timestamp_column], cut)
            values = utc_nanoseconds(times)
            if out_of_order(values, last):
                raise DataError(f"column {timestamp_column!r}: rows read in batches must come in "
                                "time order; sort the files, or load the table into memory")
            last = values[-1]
        if period is not None:
            assert times is not None
            # the clock's times (UTC's: those read above)
            clock = values if cut.timezone is None else clock_nanoseconds(times, cut.timezone)
            origin = origin if origin is not None else pd.Timestamp(clock[0]).floor("D")
            labels = (clock - origin.value) // period.value  # whole periods since the origin
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
                bounds = cut.bounds(origin, period, label)
            elif times is not None:
                bounds = (times.iloc[lo].isoformat(), times.iloc[hi - 1].isoformat())
            yield label, *bounds, batch.iloc[lo:hi]


def warn_of_naive_times(series: pd.Series, cut: Cut) -> None:
    """Warn (:class:`DecayWarning`) that times without an offset are read as UTC when windows
    are cut on a zone's clock (:func:`zone_note`); ``series``: the column, or its first
    values."""
    if (note := zone_note(series, str(cut.timestamp_column), cut.timezone)) is not None:
        warnings.warn(note, DecayWarning, stacklevel=3)


def out_of_order(values: np.ndarray, last: Any = None) -> bool:
    """Whether sorted-in-time rows are not: ``values`` go back in time, or start before
    ``last`` (the previous batch's last time)."""
    return bool((last is not None and values[0] < last) or np.any(values[1:] < values[:-1]))
