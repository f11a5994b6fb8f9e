"""Times: timestamp columns read by one rule per column, window bounds read as UTC times
(or on a time zone's clock)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, cast

import numpy as np
import pandas as pd

from ..errors import DataError

#: Units of timestamps given as numbers (``--timestamp-unit``): what one unit counts since 1970.
TIMESTAMP_UNITS = ("s", "ms", "us", "ns")


def timestamps(series: pd.Series, column: str, unit: str | None = None) -> pd.Series:
    """Read a column of timestamps as UTC times, by one rule for the whole column.

    Datetimes are kept (naive ones are UTC). Numbers are refused unless ``unit`` (one of
    ``TIMESTAMP_UNITS``) says what they count since 1970. Text is read as ISO 8601 (mixed
    offsets are converted to UTC; no offset means UTC), else in one format inferred for the
    whole column; text that two formats read differently (``01/02/2026``: January or
    February) or that no one format reads is refused, naming two conflicting values.

    Raises
    ------
    DataError
        If a row has no timestamp, or the column cannot be read by this rule.
    """
    if unit is not None and unit not in TIMESTAMP_UNITS:
        raise DataError(f"timestamp unit {unit!r} is not one of {', '.join(TIMESTAMP_UNITS)}")
    if series.isna().any():
        raise DataError(f"column {column!r}: {int(series.isna().sum())} rows have no timestamp")
    dtype = series.dtype
    if str(dtype).startswith(("date32", "date64")):  # pyarrow's dates: midnight, UTC
        return _as_utc(series.astype("datetime64[us]"))
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return _as_utc(series)
    if pd.api.types.is_bool_dtype(dtype):
        raise DataError(f"column {column!r}: expected timestamps, got true/false values")
    numbers: pd.Series | None = series if pd.api.types.is_numeric_dtype(dtype) else None
    if numbers is None:
        converted = pd.to_numeric(series.astype("object"), errors="coerce")
        if len(series) and converted.notna().all():
            numbers = converted  # text that is all numbers: epoch times written as text
    if numbers is not None:
        if unit is None:
            example = series.iloc[0] if len(series) else ""
            raise DataError(f"column {column!r}: timestamps given as numbers (such as "
                            f"{str(example)[:30]!r}) need their unit: give --timestamp-unit "
                            f"(API: timestamp_unit=) as {', '.join(TIMESTAMP_UNITS[:-1])} or "
                            f"{TIMESTAMP_UNITS[-1]}")
        try:
            times = pd.to_datetime(numbers, unit=cast(Any, unit), utc=True)
            years = times.dt.year
        except (ValueError, OverflowError, pd.errors.OutOfBoundsDatetime) as exc:
            raise DataError(f"column {column!r}: numbers such as {numbers.iloc[0]!r} are not "
                            f"times in unit {unit!r} ({str(exc).splitlines()[0][:80]})") from exc
        if len(times) and (years.min() < 1900 or years.max() > 2200):
            odd = numbers[((years < 1900) | (years > 2200)).to_numpy()].iloc[0]
            raise DataError(f"column {column!r}: {odd} in unit {unit!r} is the year "
                            f"{times[(years < 1900) | (years > 2200)].iloc[0].year}: is the unit "
                            f"right? ({', '.join(TIMESTAMP_UNITS)})")
        return times
    parsed = _parse_text(series.astype(str), column)
    if parsed.isna().any():  # empty text
        raise DataError(f"column {column!r}: {int(parsed.isna().sum())} rows have no timestamp")
    return parsed


def _parse_text(text: pd.Series, column: str) -> pd.Series:
    """Text timestamps in ISO 8601, else in the one format inferred from the first value."""
    if not len(text):
        return pd.to_datetime(text, utc=True)
    relative = text.str.strip().str.lower().isin(_RELATIVE)
    if relative.any():  # pandas reads these as the time of reading
        raise DataError(f"column {column!r}: expected timestamps, cannot read "
                        f"{text[relative.to_numpy()].iloc[0]!r} as a date or time")
    try:
        return pd.to_datetime(text, format="ISO8601", utc=True)
    except (ValueError, TypeError):
        pass
    from pandas.tseries.api import guess_datetime_format

    first = text.iloc[0]
    formats = list(dict.fromkeys(f for f in (guess_datetime_format(first),
                                             guess_datetime_format(first, dayfirst=True)) if f))
    if not formats:
        raise DataError(f"column {column!r}: expected timestamps, cannot read {first[:40]!r} "
                        "as a date or time")
    read: dict[str, pd.Series] = {}
    for fmt in formats:
        try:
            read[fmt] = pd.to_datetime(text, format=fmt, utc=True)
        except (ValueError, TypeError):
            continue
    if not read:
        parsed = pd.to_datetime(text, format=formats[0], utc=True, errors="coerce")
        other = text[parsed.isna()].iloc[0]
        raise DataError(f"column {column!r}: expected timestamps in one format, got values "
                        f"such as {first[:40]!r} and {other[:40]!r}; write them in ISO 8601 "
                        "(2026-02-13T08:00:00Z)")
    results = list(read.values())
    if len(results) == 2 and not results[0].equals(results[1]):
        differ = text[(results[0] != results[1]).to_numpy()].iloc[0]
        raise DataError(f"column {column!r}: expected timestamps in one format, but values such "
                        f"as {differ[:40]!r} read both as month/day and day/month "
                        f"({' or '.join(read)}); write them in ISO 8601 (2026-02-13T08:00:00Z)")
    return _as_utc(results[0])


def zone_note(series: pd.Series, column: str, timezone: str | None,
              clock: str = "cuts the windows") -> str | None:
    """A note when windows are cut on the clock of ``timezone`` (what that ``clock`` does
    to them) and the column's times carry no offset (naive datetimes, dates, or text without
    one, judged by its first value): they are read as UTC, so a zone's local times written
    without one land hours off; ``None`` otherwise (no zone, epoch numbers, times with an
    offset or a zone)."""
    if timezone is None or not len(series):
        return None
    dtype = series.dtype
    if pd.api.types.is_datetime64_any_dtype(dtype):
        naive = getattr(dtype, "tz", None) is None
    elif str(dtype).startswith(("date32", "date64")):
        naive = True
    elif pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype):
        naive = False
    else:
        first = str(series.dropna().iloc[0]).strip() if series.notna().any() else ""
        try:
            naive = bool(first) and not first.isdigit() and pd.Timestamp(first).tzinfo is None
        except (ValueError, TypeError, OverflowError):
            naive = False
    if not naive:
        return None
    example = str(series.dropna().iloc[0])
    there = pd.Timestamp(example).tz_localize("UTC").tz_convert(timezone)
    return (f"column {column!r} holds times without an offset, read as UTC ({example[:30]!r} "
            f"is {there.strftime('%Y-%m-%d %H:%M')} on {timezone}'s clock, which {clock}); "
            f"if they are {timezone}'s times, write them with their offset "
            "(2026-03-08T01:30:00-05:00) or as datetimes in that zone "
            f"(Series.dt.tz_localize({timezone!r}))")


#: Words pandas reads as the time of reading, not a time written down.
_RELATIVE = ("now", "today")


def _as_utc(times: pd.Series) -> pd.Series:
    if getattr(times.dt, "tz", None) is None:
        return times.dt.tz_localize("UTC")
    return times.dt.tz_convert("UTC")


def time_order(values: pd.Series, column: str, unit: str | None = None, *,
               numbers: bool = False) -> np.ndarray:
    """What orders rows in time: UTC nanoseconds (:func:`timestamps` with ``unit``); with
    ``numbers``, a column of numbers as the numbers they are (as a profile orders its
    reference: it has no unit), floats with NaN where missing."""
    if numbers and pd.api.types.is_numeric_dtype(values.dtype):
        return values.to_numpy(dtype=float, na_value=np.nan)
    return utc_nanoseconds(timestamps(values, column, unit))


def utc_nanoseconds(times: pd.Series) -> np.ndarray:
    """UTC times as int64 nanoseconds since 1970."""
    return clock_nanoseconds(times, None)


def clock_nanoseconds(times: pd.Series, timezone: str | None) -> np.ndarray:
    """UTC times as int64 nanoseconds of the clock of ``timezone`` (``None``: UTC)."""
    return wall_clock(times, timezone).to_numpy().astype("datetime64[ns]").view(np.int64)


def check_timezone(name: str | None) -> str | None:
    """An IANA time zone name (``Europe/Berlin``) as given; ``None`` for UTC. Refuses a name
    the machine's time zone database does not hold."""
    if name is None:
        return None
    import zoneinfo

    try:
        zoneinfo.ZoneInfo(str(name))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError) as exc:
        raise DataError(f"time zone {name!r} is not an IANA time zone name such as "
                        "Europe/Berlin, America/New_York or UTC") from exc
    return str(name)


def wall_clock(times: pd.Series, timezone: str | None) -> pd.Series:
    """UTC times as the naive times a clock in ``timezone`` (``None``: UTC) showed."""
    return times.dt.tz_convert(timezone or "UTC").dt.tz_localize(None)


def instant(wall: pd.Timestamp, timezone: str | None) -> pd.Timestamp:
    """The UTC time at which a clock in ``timezone`` (``None``: UTC) showed the naive time
    ``wall``: a time the clocks skipped reads as the moment they jumped to, a time they showed
    twice as its first showing."""
    return wall.tz_localize(timezone or "UTC", ambiguous=True,
                            nonexistent="shift_forward").tz_convert("UTC")


def parse_time(value: str | None, timezone: str | None = None) -> pd.Timestamp | None:
    """An ISO 8601 time as a UTC timestamp; ``None`` if empty or not one. A time without an
    offset is read on the clock of ``timezone`` (``None``: UTC) by :func:`instant`'s rule;
    one with an offset keeps it."""
    if value is None or not str(value).strip() or str(value).strip().lower() in _RELATIVE:
        return None
    text = pd.Series([str(value).strip()])
    try:
        if timezone is not None:
            local = pd.Timestamp(pd.to_datetime(text, format="ISO8601").iloc[0])
            if pd.isna(local):
                return None
            if local.tzinfo is None:
                return instant(local, timezone)
        stamp = pd.to_datetime(text, format="ISO8601", utc=True).iloc[0]
    except (ValueError, TypeError, OverflowError):
        return None
    return None if pd.isna(stamp) else pd.Timestamp(stamp)


def identifying_span(lo: pd.Timestamp | None, hi: pd.Timestamp | None
                     ) -> tuple[pd.Timestamp | None, pd.Timestamp | None] | None:
    """A window's bounds (parsed) when they identify it: ``None`` without bounds, or when
    start and end are one time (a chunk of rows that share a timestamp is its rows)."""
    if (lo, hi) == (None, None) or (lo is not None and hi is not None and lo >= hi):
        return None
    return lo, hi


def window_bounds(start: str | None, end: str | None, timezone: str | None = None
                  ) -> tuple[str | None, str | None]:
    """Check a window's bounds and write them as UTC ISO 8601 (``2026-01-05T00:00:00+00:00``).

    Bounds are ISO 8601 times; one without an offset is read on the clock of ``timezone``
    (an IANA name, checked; ``None``: UTC), as :func:`instant` reads a monitor's bounds, so
    New York's ``2026-03-08`` is ``2026-03-08T05:00:00+00:00``. Raises :class:`DataError`
    for an unknown zone, a bound that is not such a time, or a start not before the end.
    """
    zone = check_timezone(timezone)
    out: list[str | None] = []
    times: list[pd.Timestamp | None] = []
    for name, value in (("window start", start), ("window end", end)):
        stamp = None if value is None else parse_time(value, zone)
        if value is not None and stamp is None:
            raise DataError(f"{name} {value!r} is not an ISO 8601 time such as 2026-02-01 or "
                            "2026-02-01T08:00:00+01:00")
        times.append(stamp)
        out.append(None if stamp is None else stamp.isoformat())
    if times[0] is not None and times[1] is not None and times[0] >= times[1]:
        shown = (out[0], out[1]) if zone is None else (f"{start!r} ({out[0]})",
                                                       f"{end!r} ({out[1]})")
        raise DataError(f"window start {shown[0]} is not before window end {shown[1]}"
                        + ("" if zone is None else f" (without an offset, {zone}'s time)"))
    return out[0], out[1]


def zoned_bounds(start: str | None, end: str | None, timezone: object = None
                 ) -> tuple[str | None, str | None, str | None]:
    """:func:`window_bounds` on the clock of ``timezone`` (an IANA name or a ``ZoneInfo``,
    kept as its name; ``None``: UTC), and the zone. Raises :class:`DataError` as it does,
    and for a zone without a bound (nothing to place on its clock)."""
    zone = check_timezone(None if timezone is None else str(timezone))
    start, end = window_bounds(start, end, zone)
    if zone is not None and start is None and end is None:
        raise DataError(f"a time zone ({zone}) places a window's bounds (window_start=, "
                        "window_end=, --window-start, --window-end) on its clock; give them")
    return start, end, zone


def outside_bounds(parts: Iterable[pd.Series], column: str, start: str | None,
                   end: str | None, timezone: str | None = None) -> str | None:
    """A note when rows of a window's timestamp column (read in ``parts``) lie outside its
    bounds (evaluated and counted with the window all the same), the bounds shown on the clock
    of ``timezone`` (``None``: UTC); ``None`` when all lie within, or when the column cannot be
    read without more (numbers need their unit)."""
    lo, hi = parse_time(start), parse_time(end)
    if lo is None and hi is None:
        return None
    outside = rows = 0
    for series in parts:
        try:
            nanoseconds = utc_nanoseconds(timestamps(series.dropna(), column))
        except DataError:
            return None
        rows += len(series)
        outside += int(np.count_nonzero(nanoseconds < (lo.value if lo is not None else -2**63))
                       + np.count_nonzero(nanoseconds >= (hi.value if hi is not None else 2**63 - 1)))
    if not outside:
        return None
    zone = "" if timezone is None else f", {timezone}"
    return (f"{outside:,} of {rows:,} rows have a {column!r} outside the window's bounds "
            f"({span_label(start, end, timezone)}{zone}): they are evaluated with it (to cut a "
            "table into windows by time, use monitor)")


def is_open(end: str | None, now: datetime | None = None) -> bool:
    """Whether a window ending at ``end`` is still open (ends after ``now``, default now)."""
    stamp = parse_time(end)
    return stamp is not None and stamp > pd.Timestamp(now or datetime.now(UTC))


def time_label(value: str | None, timezone: str | None = None) -> str:
    """A stored time as shown: as stored without ``timezone``; with it, on that zone's clock
    with its offset (``2026-03-10 00:00-04:00``); ``""`` when none or unreadable."""
    stamp = parse_time(value)
    if timezone is None or stamp is None:
        return "" if stamp is None else str(value)
    return _shown(stamp.tz_convert(timezone), "%Y-%m-%d %H:%M", timezone)


def _shown(t: pd.Timestamp, fmt: str, timezone: str | None) -> str:
    """A time as its labels show it: ``fmt``, and with ``timezone`` its offset there."""
    return t.strftime(fmt) + ("" if timezone is None else t.isoformat()[-6:])


def span_label(start: str | None, end: str | None, timezone: str | None = None) -> str:
    """A window's bounds, short, in UTC: ``2026-02-02 → 02-09`` (dates when both fall on
    midnight; with times ``2026-02-02 06:00 → 12:00``); what the end shares with the start
    is left out. ``from …``/``until …`` with one bound, ``""`` with none or unreadable ones.

    With ``timezone`` (an IANA name), on that zone's clock, each bound with its offset:
    ``2026-03-08 00:00-05:00 → 03-09 00:00-04:00``."""
    lo, hi = parse_time(start), parse_time(end)
    if timezone is not None:
        lo, hi = (None if t is None else t.tz_convert(timezone) for t in (lo, hi))
    dates = timezone is None and all(t is None or t == t.normalize() for t in (lo, hi))
    fmt = "%Y-%m-%d" if dates else "%Y-%m-%d %H:%M"

    def text(t: pd.Timestamp) -> str:
        return _shown(t, fmt, timezone)

    if lo is None or hi is None:
        one = lo if lo is not None else hi
        return "" if one is None else f"{'from' if lo is not None else 'until'} {text(one)}"
    first, last = text(lo), text(hi)
    # leave out the end's leading fields shared with the start: the date, else the year
    for shared in ((11, 5) if not dates else (5,)):
        if first[:shared] == last[:shared]:
            return f"{first} → {last[shared:]}"
    return f"{first} → {last}"
