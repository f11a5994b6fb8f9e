"""Column kinds and the coercion of table columns into the arrays the statistics use.

A column is *numerical* (float array; NaN marks missing) or *categorical* (values compared as
normalised strings, so ``1``, ``1.0`` and ``"1"`` are one category). Both the profile and the
window go through the same functions, so a reference and a window are always read alike.
"""

from __future__ import annotations

import datetime
import decimal
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from ..errors import DataError

Kind = Literal["numerical", "categorical"]

#: An integer column with at most this many distinct values is inferred categorical.
MAX_INT_CATEGORIES = 10

#: Python types of the values of nested columns (Parquet lists, structs and maps in pandas).
_NESTED = (list, tuple, dict, set, np.ndarray)
NESTED = "holds nested values (lists, structs or maps)"


def is_nested(series: pd.Series, sample: int = 100) -> bool:
    """Whether a column holds nested values (lists, structs or maps), judged by its type or,
    for an object column, by its first ``sample`` non-missing values."""
    dtype = series.dtype
    if isinstance(dtype, pd.ArrowDtype):
        import pyarrow as pa

        return bool(pa.types.is_nested(dtype.pyarrow_dtype))
    return pd.api.types.is_object_dtype(dtype) and any(
        isinstance(v, _NESTED) for v in _head(series, sample))


def holds_decimals(series: pd.Series, sample: int = 100) -> bool:
    """Whether an object column holds ``decimal.Decimal`` numbers (SQL and Spark ``DECIMAL``,
    Parquet ``decimal128`` as pandas reads them), judged by its first ``sample`` non-missing
    values: numbers, read as floats."""
    if not pd.api.types.is_object_dtype(series.dtype):
        return False
    head = _head(series, sample)
    return len(head) > 0 and all(isinstance(v, decimal.Decimal) for v in head)


def holds_dates(series: pd.Series, sample: int = 100) -> bool:
    """Whether a column holds dates or times of day that are no ``datetime64``: an object
    column of ``datetime.date``/``datetime.time`` values (a Parquet or SQL ``DATE`` as pandas
    reads it), judged by its first ``sample`` non-missing values, or a pyarrow date, time or
    duration column."""
    if str(series.dtype).startswith(("date32", "date64", "time32", "time64", "duration")):
        return True  # pyarrow's, e.g. date32[day][pyarrow]
    if not pd.api.types.is_object_dtype(series.dtype):
        return False
    head = _head(series, sample)
    return len(head) > 0 and all(isinstance(v, (datetime.date, datetime.time)) for v in head)


def _head(series: pd.Series, sample: int) -> pd.Series:
    """The first ``sample`` values of a column, or its first non-missing ones when those are
    all missing."""
    head = series.iloc[:sample]
    return series.dropna().iloc[:sample] if head.isna().all() else head.dropna()


def require_flat(series: pd.Series, column: str, what: str) -> None:
    """Refuse a column of nested values: ``what`` says what it was meant to be."""
    if is_nested(series):
        raise DataError(f"column {column!r} {NESTED}: {what}")


def infer_kind(series: pd.Series) -> Kind | None:
    """Infer the kind of a column, or ``None`` for columns that are not features (datetimes).
    Nested columns (:func:`is_nested`) are neither: the caller refuses them."""
    dtype = series.dtype
    if (pd.api.types.is_datetime64_any_dtype(dtype) or pd.api.types.is_timedelta64_dtype(dtype)
            or holds_dates(series)):
        return None
    if pd.api.types.is_bool_dtype(dtype):
        return "categorical"
    if pd.api.types.is_numeric_dtype(dtype) or holds_decimals(series):
        values = to_numeric(series, str(series.name))
        # most numerical columns show more distinct values than the limit in their first rows
        if len(np.unique(values[:4 * MAX_INT_CATEGORIES + 1])) > MAX_INT_CATEGORIES + 1:
            return "numerical"
        distinct = np.unique(values[~np.isnan(values)])
        integral = bool(np.all(np.isfinite(distinct)) and np.all(np.mod(distinct, 1) == 0))
        if integral and len(distinct) <= MAX_INT_CATEGORIES:
            return "categorical"
        return "numerical"
    return "categorical"


def to_numeric(series: pd.Series, column: str) -> np.ndarray:
    """Return a column as float64 (NaN for missing, ±inf kept); refuse text that is not a number."""
    dtype = series.dtype
    if dtype == np.float64:
        return series.to_numpy()  # no copy: callers never write into it
    if pd.api.types.is_bool_dtype(dtype):
        return series.astype("float64").to_numpy()
    if pd.api.types.is_numeric_dtype(dtype) and not isinstance(dtype, pd.CategoricalDtype):
        return series.to_numpy(dtype="float64", na_value=np.nan)
    if pd.api.types.is_datetime64_any_dtype(dtype):
        raise DataError(f"column {column!r}: expected numbers as in the reference profile, got dates")
    converted = pd.to_numeric(series.astype("object"), errors="coerce")
    bad = series.notna().to_numpy() & converted.isna().to_numpy()
    if bad.any():
        example = series[bad].iloc[0]
        if isinstance(example, _NESTED):
            raise DataError(f"column {column!r} {NESTED}: expected numbers as in the reference "
                            "profile")
        raise DataError(
            f"column {column!r}: expected numbers as in the reference profile, "
            f"got text such as {str(example)[:40]!r}"
        )
    return converted.to_numpy(dtype="float64", na_value=np.nan)


def sorted_finite(values: np.ndarray) -> tuple[np.ndarray, int, int]:
    """Sort a float array once; return its finite values (sorted), and the number of missing
    (NaN) and infinite values. NaN sort last and ±inf at the ends, so no mask is needed."""
    ordered = np.sort(values)
    n = len(ordered)
    stop = int(np.searchsorted(ordered, np.nan, side="left")) if n and np.isnan(ordered[-1]) else n
    lo = int(np.searchsorted(ordered[:stop], -np.inf, side="right"))
    hi = int(np.searchsorted(ordered[:stop], np.inf, side="left"))
    return ordered[lo:hi], n - stop, lo + stop - hi


def category_key(value: Any) -> str:
    """Normalise one category value to the string it is compared as."""
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, decimal.Decimal) and value.is_finite():
        if value == value.to_integral_value():
            # 3.00 is 3, as an integer reads; exactly, so that 19-digit ids (a warehouse's
            # NUMBER(38, 0)) stay apart, where floats would round them onto one another
            return str(int(value))
        value = float(value)  # 2.50 is 2.5: as the same number read as a float
    if isinstance(value, (float, np.floating)) and np.isfinite(value) and float(value).is_integer():
        return str(int(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    return str(value)


def value_aligned(series: pd.Series, categories: Sequence[str]) -> pd.Series:
    """A column read against reference ``categories`` that are all numbers or truth values,
    its values matched by value as labels are (:func:`map_labels`): ``1``, ``1.0``, ``'1'``
    and ``'1.0'`` are one category, and with booleans or 0/1 ``True`` and ``'true'`` (any
    case) too; so a code or flag held as numbers in the reference and as text or booleans in
    a window (or the other way round: text such as ``"02139"`` read from a CSV as the number
    2139) keeps its categories. Other columns are returned as given."""
    if not categories:
        return series
    truth = all(_label_value(c, True) in (0.0, 1.0) for c in categories)
    if not truth and not all(isinstance(_label_value(c, False), float) for c in categories):
        return series
    dtype = series.dtype
    if (pd.api.types.is_bool_dtype(dtype)
            if truth and all(c in ("True", "False") for c in categories)
            else pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)
            # numbers are keyed as the reference is unless it wrote them otherwise as text
            # ("02139": a postal code a CSV reader reads as 2139)
            and all(category_key(_label_value(c, False)) == c for c in categories)):
        return series  # already keyed as the reference is
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    keys = [category_key(v) for v in uniques]
    known = set(categories)
    by_value: dict[float | str, str] = {}
    for category in categories:
        by_value.setdefault(_label_value(category, truth), category)
    aligned = [k if k in known else by_value.get(_label_value(k, truth), k) for k in keys]
    if aligned == keys:
        return series
    return pd.Series(np.array([*aligned, None], dtype=object)[codes], index=series.index,
                     name=series.name)


def category_counts(series: pd.Series) -> tuple[dict[str, int], int]:
    """Count a column's categories by normalised key; return ``(counts, missing)``."""
    missing = int(series.isna().sum())
    counts: dict[str, int] = {}
    try:
        found = series.value_counts(dropna=True, sort=False)
    except TypeError as exc:  # unhashable values: lists or dicts further down the column
        raise DataError(f"column {str(series.name)!r} {NESTED}: expected single values "
                        "(categories)") from exc
    for value, count in found.items():
        key = category_key(value)
        counts[key] = counts.get(key, 0) + int(count)
    return counts, missing


class Factorized:
    """``pd.factorize`` of a table's columns, each computed once however many threads ask for
    it (a window's category counts and its PCA codes read the same hashing)."""

    def __init__(self, frame: pd.DataFrame | Mapping[str, pd.Series]) -> None:
        self._frame = frame
        self._guard = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}
        self._done: dict[str, tuple[np.ndarray, Any]] = {}

    def __call__(self, column: str) -> tuple[np.ndarray, Any]:
        """The column's codes (-1 where missing; in the smallest integer type that holds them)
        and its distinct values."""
        with self._guard:
            lock = self._locks.setdefault(column, threading.Lock())
        with lock:
            if column not in self._done:
                codes, uniques = pd.factorize(self._frame[column], use_na_sentinel=True)
                self._done[column] = (codes.astype(np.min_scalar_type(-max(len(uniques), 1))),
                                      uniques)
            return self._done[column]


def factorized_counts(codes: np.ndarray, uniques: Any) -> tuple[dict[str, int], int]:
    """:func:`category_counts` from a column's ``pd.factorize``: the same counts by normalised
    key, and the missing values."""
    found = np.bincount(codes.astype(np.intp) + 1, minlength=len(uniques) + 1)
    counts: dict[str, int] = {}
    for value, count in zip(uniques, found[1:].tolist(), strict=True):
        key = category_key(value)
        counts[key] = counts.get(key, 0) + count
    return counts, int(found[0])


def category_array(series: pd.Series) -> np.ndarray:
    """Return a column as an object array of normalised keys (``None`` where missing)."""
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    keys = np.array([category_key(v) for v in uniques] + [None], dtype=object)
    return keys[codes]


def sort_key(label: str) -> tuple[float, str]:
    """Order class labels numerically when they are numbers, else as text."""
    try:
        return (float(label), label)
    except ValueError:
        return (float("inf"), label)


_TRUTH = {"true": 1.0, "false": 0.0}


def _label_value(key: str, truth: bool) -> float | str:
    """The value a normalised label key stands for: a number when it reads as one (and, with
    ``truth``, ``True``/``False`` in any case as 1/0), else the text itself."""
    if truth and key.lower() in _TRUTH:
        return _TRUTH[key.lower()]
    try:
        number = float(key)
    except ValueError:
        return key
    return number if np.isfinite(number) else key


def label_list(labels: Sequence[str], beside: Sequence[str] = ()) -> str:
    """Class labels joined for a message: every one quoted when one of them, or of the labels
    named ``beside`` them, has spaces at its ends, is empty or holds a comma (unquoted,
    `` Yes`` and ``Yes`` would read as one label)."""
    if any(label != label.strip() or not label or "," in label
           for label in (*labels, *beside)):
        return ", ".join(repr(label) for label in labels)
    return ", ".join(labels)


#: What a message adds when labels differ only in spaces at their ends or in case.
SPACING_HINT = ("; labels that differ only in spaces at their ends or in case are different "
                "labels: clean the column (e.g. .str.strip())")


def folded(text: str) -> str:
    """``text`` without what a copy typed elsewhere often changes: spaces at its ends, case."""
    return text.strip().casefold()


def near_labels(labels: Sequence[str], classes: Sequence[str] | None = None) -> bool:
    """Whether ``labels`` differ from ``classes`` (or, without them, from each other) only in
    spaces at their ends or in case."""
    if classes is None:
        return len({folded(label) for label in labels}) < len(labels)
    known = {folded(c) for c in classes}
    return bool(labels) and all(folded(label) in known for label in labels)


def written_otherwise(found: Iterable[str], known: Iterable[str | None],
                      loose: Callable[[str], str] = folded) -> tuple[str, str] | None:
    """The first of ``found`` that is not among ``known`` but is one of them written otherwise
    (the same as ``loose`` reads both: by default, in case and spaces at the ends), and that
    one; ``None`` if there is none."""
    given = [k for k in known if k is not None]
    exact, by_loose = set(given), {loose(k): k for k in given}
    return next(((f, by_loose[key]) for f in found
                 if f not in exact and (key := loose(f)) in by_loose), None)


def map_labels(series: pd.Series, classes: Sequence[str], column: str) -> np.ndarray:
    """A label column as the profile's class labels (``None`` where missing), matched by value.

    ``1``, ``1.0``, ``'1'``, ``'1.0'`` and ``True`` are one label; ``'true'``/``'false'`` (any
    case) read as 1/0 when the classes are booleans or 0/1.

    Raises
    ------
    DataError
        If a label matches none of ``classes``, naming the column and both sets.
    """
    keys = category_array(series)
    present = pd.unique(keys[pd.notna(keys)])
    exact = set(classes)
    if all(k in exact for k in present):
        return keys
    truth = {_label_value(c, True) for c in classes} <= {0.0, 1.0}
    by_value: dict[float | str, str] = {}
    for label in classes:
        by_value.setdefault(_label_value(label, truth), label)
    mapping: dict[str, str | None] = {
        k: k if k in exact else by_value.get(_label_value(k, truth)) for k in present}
    if any(v is None for v in mapping.values()):
        seen = sorted(present.tolist(), key=sort_key)
        more = f", … {len(seen) - 10} more" if len(seen) > 10 else ""
        unmatched = [k for k in seen if mapping[k] is None]
        # among many classes the one a window added (a new product tier) is hard to spot
        rows = ", ".join(f"{label_list([k], classes)} ({int(np.sum(keys == k)):,} rows)"
                         for k in unmatched[:5]) + (", …" if len(unmatched) > 5 else "")
        raise DataError(f"labels in column {column!r} are {label_list(seen[:10], classes)}"
                        f"{more}; the profile's classes are {label_list(classes, seen[:10])}"
                        + (SPACING_HINT if near_labels(unmatched, classes) else "")
                        + (f"; not a class: {rows}" if len(unmatched) < len(seen) else ""))
    out = np.empty(len(keys), dtype=object)
    for key, match in mapping.items():
        out[keys == key] = match
    return out
