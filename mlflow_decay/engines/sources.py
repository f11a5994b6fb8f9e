"""Reading windows and reference tables from files (CSV or Parquet: a file or a directory) and
fingerprinting their rows (:mod:`.windows` cuts a table into windows)."""

from __future__ import annotations

import functools
import hashlib
import itertools
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from ..core.parallel import run_all
from ..core.times import timestamps, utc_nanoseconds
from ..errors import DataError, first_line
from ..stats.schema import category_key, to_numeric
from .files import read_directory

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
    if not (p.is_dir() or name.endswith((*PARQUET_SUFFIXES, *CSV_SUFFIXES))):
        raise DataError(f"data file {str(p)!r}: expected a .csv or .parquet file (or a "
                        "directory of Parquet files)")
    try:
        if p.is_dir():
            return read_directory(p)
        if name.endswith(PARQUET_SUFFIXES):
            return pd.read_parquet(p, engine="pyarrow")
        sep = "\t" if name.endswith(".tsv") else ","
        # numbers read back exactly as written (pandas' fast parser may be 1 ulp off), so a
        # CSV and a Parquet file of the same rows are the same rows
        frame = _exact_integers(pd.read_csv(p, sep=sep, float_precision="round_trip"), p, sep)
        if any(re.fullmatch(r".+\.\d+", str(c)) for c in frame.columns):
            # pandas renames a repeated header x to x.1: keep the names as written so the
            # repeat is refused, not read as a new column
            header = pd.read_csv(p, sep=sep, header=None, nrows=1, dtype=str).iloc[0]
            if header.duplicated().any():
                frame.columns = pd.Index(header.to_numpy())
    except (OSError, ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        kind = "Parquet" if p.is_dir() or name.endswith(PARQUET_SUFFIXES) else "CSV"
        raise DataError(f"data file {str(p)!r} could not be read as {kind}: "
                        f"{first_line(exc)}") from exc
    except Exception as exc:  # pyarrow raises its own error types for corrupt files
        raise DataError(f"data file {str(p)!r} could not be read: "
                        f"{type(exc).__name__}: {str(exc)[:200]}") from exc
    if len(frame.columns) == 1 and ";" in str(frame.columns[0]):
        raise DataError(f"data file {str(p)!r} has one column, {str(frame.columns[0])[:40]!r}…: "
                        "it looks separated by semicolons; write it separated by commas "
                        "(decimal points, not commas), or as Parquet")
    return frame


def _exact_integers(frame: pd.DataFrame, path: Path, sep: str) -> pd.DataFrame:
    """``frame`` with the columns of integers and blanks pandas misreads read again as
    written: as nullable ``Int64`` (blanks ``<NA>``), or as text where some are too large for
    int64. pandas reads such a column as floats, which round integers of 2**53 or more
    (19-digit ids: floats keep 16 digits), or, with one beyond int64, as text that keeps its
    blanks as ids (``''``, ``'NA'``). A column with other values (``1e19``, ``12.0``) stays as
    it was read."""
    rounded = [i for i, (_, column) in enumerate(frame.items())
               if _rounded_integers(column) or _blanks_as_text(column)]
    if not rounded or not isinstance(frame.index, pd.RangeIndex):  # no index column inferred
        return frame
    text = pd.read_csv(path, sep=sep, usecols=rounded, dtype=str)
    frame = frame.copy()
    for position, (_, values) in zip(rounded, text.items(), strict=True):
        written = values.dropna().str.strip()
        if not written.str.fullmatch(r"[+-]?\d+").all():
            continue
        try:
            exact: Any = pd.array(values.str.strip().to_numpy(dtype=object), dtype="Int64")
        except OverflowError:  # beyond int64 (a NUMBER(38, 0)): as written
            exact = values.str.strip()
        frame.isetitem(position, exact)
    return frame


def _rounded_integers(column: pd.Series) -> bool:
    """Whether a column read from a CSV holds floats for integers that may have lost digits:
    float64 with a missing value, its other values integers, some of 2**53 or more."""
    if column.dtype != np.float64:
        return False
    values = column.to_numpy()
    with np.errstate(invalid="ignore"):  # NaN compares False
        if not (np.abs(values) >= 2.0**53).any():  # the cheap test first: most columns stop
            return False
    missing = np.isnan(values)
    known = values[~missing]
    return bool(missing.any() and np.isfinite(known).all() and (known == np.round(known)).all())


def _blanks_as_text(column: pd.Series) -> bool:
    """Whether a column read from a CSV may hold its blanks as text: integers, one of them
    beyond int64, beside other text, which may be what pandas reads as missing (``''``,
    ``'NA'``) but kept as read here; reading it again as text says (:func:`_exact_integers`
    keeps it as it was unless the rest are all integers)."""
    if not pd.api.types.is_string_dtype(column.dtype) or column.isna().any():
        return False
    text = column.astype(str).str.strip()
    digits = text.str.fullmatch(r"[+-]?\d+").to_numpy(dtype=bool)
    return bool(digits.any() and not digits.all()
                and text[digits].str.lstrip("+-").str.len().max() >= 19)


#: How a column's values enter a fingerprint: as numbers, category keys or UTC times.
ColumnKind = Literal["number", "category", "time"]


_MASK = (1 << 64) - 1

_SALT = np.uint64(0x9E3779B97F4A7C15)

_PRIME = np.uint64(0x100000001B3)

_MISSING = np.uint64(0x6D697373696E6721)


class Fingerprint:
    """An order-independent fingerprint of a window's rows, built batch by batch.

    Each row of the ``columns`` (name to kind; others are ignored) is normalised as the
    profile reads it (numbers as float64, categories as their category keys, times as UTC),
    hashed, and the hashes are summed (modulo 2**64, twice with different mixing): the same rows
    give the same fingerprint in any order, from a DataFrame, a CSV or a Parquet file, whole or
    in batches. ``columns=None`` takes every column, its kind inferred from its dtype.
    """

    def __init__(self, columns: Mapping[str, ColumnKind] | None = None,
                 timestamp_unit: str | None = None) -> None:
        self.columns = None if columns is None else dict(columns)
        self.timestamp_unit = timestamp_unit
        self.present: set[str] = set()
        self.rows = 0
        self.sums = [0, 0]

    def add(self, frame: pd.DataFrame) -> None:
        kinds = self.columns if self.columns is not None else {
            str(c): _dtype_kind(frame[c]) for c in frame.columns}
        names = sorted(c for c in kinds if c in frame.columns)
        self.present.update(names)
        self.rows += len(frame)
        if not len(frame):
            return
        # numbers are hashed in blocks of rows, all numeric columns at once (a block stays in
        # the cache); categories and times column by column. Each row's hash is the same as
        # hashing column by column (see _row_hashes_columnwise): logged window keys still match.
        numbers = {name: to_numeric(frame[name], name) for name in names
                   if _is_number(frame[name], kinds[name])}
        others = {name: _column_hashes(frame[name], name, kinds[name], self.timestamp_unit)
                  for name in names if name not in numbers}
        workers = min(os.cpu_count() or 1, -(-len(frame) // _BLOCK_ROWS))
        cuts = np.linspace(0, len(frame), workers + 1).astype(int).tolist()
        tasks = {str(lo): functools.partial(_range_sums, names, numbers, others, lo, hi)
                 for lo, hi in itertools.pairwise(cuts)}  # a share of the rows per core
        for first, second in run_all(tasks).values():
            self.sums[0] = (self.sums[0] + first) & _MASK
            self.sums[1] = (self.sums[1] + second) & _MASK

    def merge(self, other: Fingerprint) -> Fingerprint:
        """The fingerprint of these rows and another, disjoint part's (same columns)."""
        out = Fingerprint(self.columns, self.timestamp_unit)
        out.present, out.rows = self.present | other.present, self.rows + other.rows
        out.sums = [(a + b) & _MASK for a, b in zip(self.sums, other.sums, strict=True)]
        return out

    def to_dict(self) -> dict[str, Any]:
        """The state that :meth:`from_dict` reads back (the columns are the caller's)."""
        return {"present": sorted(self.present), "rows": self.rows, "sums": list(self.sums)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], columns: Mapping[str, ColumnKind] | None = None
                  ) -> Fingerprint:
        out = cls(columns)
        out.present, out.rows = set(data["present"]), int(data["rows"])
        out.sums = [int(v) & _MASK for v in data["sums"]]
        return out

    def digest(self) -> bytes:
        """The fingerprint: SHA-256 of the columns used, the row count and the hash sums."""
        head = "\0".join(sorted(self.present))
        return hashlib.sha256(f"{head}\0{self.rows}\0{self.sums[0]}\0{self.sums[1]}".encode()
                              ).digest()


#: Rows hashed at once: a block of all numeric columns stays in the processor's cache.
_BLOCK_ROWS = 1 << 13

_MIX1 = np.uint64(0xBF58476D1CE4E5B9)

_MIX2 = np.uint64(0x94D049BB133111EB)


def _mix(values: np.ndarray, tmp: np.ndarray) -> np.ndarray:
    """Spread 64-bit values over 64 bits in place, exactly as ``pandas.util.hash_array`` does
    after viewing its input as uint64 (a splitmix64 finaliser); ``tmp`` is scratch space."""
    values ^= np.right_shift(values, np.uint64(30), out=tmp)
    values *= _MIX1
    values ^= np.right_shift(values, np.uint64(27), out=tmp)
    values *= _MIX2
    values ^= np.right_shift(values, np.uint64(31), out=tmp)
    return values


def _is_number(series: pd.Series, kind: ColumnKind) -> bool:
    """Whether :func:`_column_hashes` reads a column as numbers."""
    if kind == "time" or pd.api.types.is_datetime64_any_dtype(series.dtype):
        return False
    return kind == "number" or pd.api.types.is_numeric_dtype(series.dtype) \
        or pd.api.types.is_bool_dtype(series.dtype)


def _range_sums(names: list[str], numbers: Mapping[str, np.ndarray],
                others: Mapping[str, np.ndarray], start: int, stop: int) -> tuple[int, int]:
    """The two hash sums (modulo 2**64) of rows ``start:stop``, a block of rows at a time: the
    block's numeric columns are normalised (-0.0 is 0.0, one NaN) and hashed as one 2-D array
    (buffers reused from block to block: fresh large arrays would cost page faults)."""
    position = {name: i for i, name in enumerate(numbers)}
    size = min(_BLOCK_ROWS, stop - start)
    buffer = np.empty((len(numbers), size), dtype=np.float64)
    # one row at least: the row hashes are mixed in it when no column is numeric
    scratch = np.empty((max(len(numbers), 1), size), dtype=np.uint64)
    rows, mixed = np.empty(size, dtype=np.uint64), np.empty(size, dtype=np.uint64)
    sums = [0, 0]
    for lo in range(start, stop, size):
        hi = min(lo + size, stop)
        n = hi - lo
        block = buffer[:, :n]
        for row, values in zip(block, numbers.values(), strict=True):
            np.add(values[lo:hi], 0.0, out=row)  # -0.0 + 0.0 is 0.0
        np.copyto(block, np.nan, where=np.isnan(block))  # one NaN
        hashes = _mix(block.view(np.uint64), scratch[:len(numbers), :n])
        first = rows[:n]
        first.fill(0)
        for name in names:
            first ^= hashes[position[name]] if name in position else others[name][lo:hi]
            first *= _PRIME
        second = _mix(np.bitwise_xor(first, _SALT, out=mixed[:n]), scratch[0, :n])
        sums[0] += int(first.sum(dtype=np.uint64))
        sums[1] += int(second.sum(dtype=np.uint64))
    return sums[0] & _MASK, sums[1] & _MASK


def _row_hashes_columnwise(frame: pd.DataFrame, columns: Mapping[str, ColumnKind],
                           unit: str | None = None) -> np.ndarray:
    """Each row's hash by the definition, column by column with ``pandas.util.hash_array``
    (what :class:`Fingerprint` computed before hashing numbers in blocks; kept for tests)."""
    first = np.zeros(len(frame), dtype=np.uint64)
    for name in sorted(c for c in columns if c in frame.columns):
        first = (first ^ _column_hashes(frame[name], name, columns[name], unit)) * _PRIME
    return first


def _dtype_kind(series: pd.Series) -> ColumnKind:
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        return "time"
    if pd.api.types.is_numeric_dtype(series.dtype) or pd.api.types.is_bool_dtype(series.dtype):
        return "number"
    return "category"


def _column_hashes(series: pd.Series, column: str, kind: ColumnKind, unit: str | None
                   ) -> np.ndarray:
    """Each value's hash as a fingerprint reads it: numbers as float64 (in any kind of column),
    categories as their category keys (hashed once per distinct value), times as UTC."""
    numeric = (pd.api.types.is_numeric_dtype(series.dtype)
               or pd.api.types.is_bool_dtype(series.dtype))
    if kind == "time" or pd.api.types.is_datetime64_any_dtype(series.dtype):
        known = series.notna().to_numpy()
        try:  # a fingerprint refuses nothing (the reader does): unreadable times count as text
            times = timestamps(series[known], column, unit)
        except DataError:
            return _category_hashes(series)
        out = np.full(len(series), np.iinfo(np.int64).min, dtype=np.int64)
        out[known] = utc_nanoseconds(times)
        return pd.util.hash_array(out)
    if kind == "number" or numeric:
        values = to_numeric(series, column) + 0.0  # a copy, and -0.0 is 0.0
        values[np.isnan(values)] = np.nan  # one NaN
        return pd.util.hash_array(values)
    return _category_hashes(series)


def _category_hashes(series: pd.Series) -> np.ndarray:
    """Each value's hash by its category key; a missing value has a hash of its own."""
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    keys = (uniques.astype(str) if pd.api.types.is_string_dtype(series)  # text is its own key
            else [category_key(v) for v in uniques])
    hashes = pd.util.hash_array(np.asarray(keys, dtype=object)) if len(keys) else np.empty(
        0, dtype=np.uint64)
    return np.append(hashes, _MISSING)[codes]  # code -1 (missing): the last


def rows_digest(frame: pd.DataFrame, columns: Mapping[str, ColumnKind] | None = None,
                timestamp_unit: str | None = None) -> bytes:
    """The :class:`Fingerprint` of a table's rows (of ``columns``; default all)."""
    fingerprint = Fingerprint(columns, timestamp_unit)
    fingerprint.add(frame)
    return fingerprint.digest()
