"""Reading a table's model outputs and checking its columns: one place for each, used by
profiles and windows alike."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..errors import DataError
from ..stats.loss import LossModel
from ..stats.schema import (
    category_key,
    folded,
    map_labels,
    require_flat,
    to_numeric,
    value_aligned,
)
from .profile import NumericSummary, Profile

#: Probabilities may stray this far outside [0, 1] by rounding.
_PROBABILITY_SLACK = 1e-6


def loss_inputs(frame: pd.DataFrame, models: Sequence[LossModel]) -> np.ndarray:
    """The loss models' input matrix for a table: numbers (NaN where a value is missing, not
    a number, or infinite), and for the models' categorical columns each category's code
    (NaN for a category the models do not know)."""
    if not models:
        return np.empty((len(frame), 0))
    categories = models[0].categories
    x = np.column_stack([category_codes(frame[c], categories[c]) if c in categories
                         else loss_numbers(frame[c], c) for c in models[0].columns])
    return np.where(np.isfinite(x), x, np.nan)


def category_codes(series: pd.Series, categories: Sequence[str]) -> np.ndarray:
    """Each value's position in ``categories`` (compared by :func:`category_key`; numbers and
    truth values as :func:`value_aligned` reads them), NaN for a missing value or one not
    among them."""
    codes = {key: float(i) for i, key in enumerate(categories)}
    series = value_aligned(series, categories)
    values = pd.Series(pd.unique(series.dropna()), dtype=object)
    known = {v: codes.get(category_key(v), np.nan) for v in values}
    mapped = series.astype(object).map(known)
    return mapped.to_numpy(dtype="float64", na_value=np.nan)


def loss_numbers(series: pd.Series, column: str) -> np.ndarray:
    """A column as numbers for the loss models; a value that is no number (in a column of
    integer categories, say) is missing."""
    try:
        return to_numeric(series, column)
    except DataError:
        return pd.to_numeric(series.astype(object), errors="coerce").to_numpy(
            dtype="float64", na_value=np.nan)


def column_name(name: Any, what: str) -> Any:
    """``name`` as given when it can name a column: a string, or ``None`` for none. Anything
    else is refused naming the argument ``what`` (columns are named by strings only)."""
    if name is None or isinstance(name, str):
        return name
    raise DataError(f"{what} must be a column name (a string), got {type(name).__name__} "
                    f"{name!r}; name every column by a string (e.g. frame.columns = "
                    "frame.columns.astype(str))")


def column_names(names: Any, what: str) -> tuple[str, ...]:
    """A list of column names as a tuple, each checked by :func:`column_name`; one string is
    one name (not a list of its letters)."""
    if isinstance(names, str):
        return (names,)
    try:
        found = tuple(names)
    except TypeError:
        raise DataError(f"{what} must be a column name or a list of them, got "
                        f"{type(names).__name__} {names!r}") from None
    for name in found:
        column_name(name, f"each of {what}")
    return found


def require_unique_columns(frame: Any, what: str) -> None:
    """Refuse a table (pandas or Spark) that names a column twice (which one is meant is
    unknown) or by a label that is not a string (column names are compared as written)."""
    seen: set[Any] = set()
    if isinstance(frame.columns, pd.MultiIndex):  # astype(str) would make "('a', 'x1')"
        raise DataError(f"the {what}'s columns have {frame.columns.nlevels} levels (a "
                        f"MultiIndex, such as {frame.columns[0]!r}): name each column by one "
                        "string (frame.columns = frame.columns.droplevel(0), or join the levels)")
    for column in frame.columns:
        if not isinstance(column, str):
            raise DataError(f"column {column!r} of the {what} has a label of type "
                            f"{type(column).__name__}, not a string: name every column by a "
                            "string (e.g. frame.columns = frame.columns.astype(str))")
        if column in seen:
            raise DataError(f"column {str(column)!r} appears more than once in the {what}")
        seen.add(column)


def require_exact_ids(series: pd.Series, column: str, what: str) -> None:
    """Refuse row ids held as floating-point numbers of 2**53 or more, which have lost their
    last digits (long integer ids in a CSV column with a missing value, read as floats by
    ``pd.read_csv``; or written as floats): they would join rows to other rows' labels."""
    if not pd.api.types.is_float_dtype(series.dtype):
        return
    values = series.to_numpy(dtype="float64", na_value=np.nan)
    inexact = np.abs(values) >= 2.0 ** 53
    if inexact.any():
        path = ("give the CSV file's path" if what == "window" else  # attach_labels takes frames
                "give the CSV file to mlflow-decay labels --data")
        raise DataError(f"column {column!r} of the {what} holds ids as floating-point numbers of "
                        f"2**53 or more (such as {values[inexact][0]:.0f}), which have lost "
                        "their last digits and would join rows to other rows' labels: read the "
                        f"ids as integers or text (pd.read_csv(..., dtype={{{column!r}: str}}), or "
                        f"{path}: it is read as written); ids a file holds as "
                        "floating-point numbers (1.2345678901234568e+18) lost their digits when it "
                        "was written: write them as integers")


def require_column(frame: Any, column: str, what: str) -> None:
    """Refuse a table (pandas or Spark: anything with ``columns``) that lacks ``column``."""
    if column not in frame.columns:
        raise DataError(f"column {column!r} is missing from the {what} "
                        f"({missing_column(column, frame)})")


def list_columns(columns: Iterable[Any], limit: int = 12) -> str:
    """Column names for an error message, the first ``limit`` of them."""
    names = [str(c) for c in columns]
    more = f", … {len(names) - limit} more" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more


def missing_column(column: str, frame: Any) -> str:
    """What an error on a missing ``column`` says of a table (pandas or Spark): that it is
    the DataFrame's index (a frame ``set_index`` was called on), or the names that are it but
    for spaces around it or letter case (a CSV header written ``id, score``); then the
    table's columns."""
    names = [str(c) for c in frame.columns]
    near = [n for n in names if n != column and folded(n) == folded(column)]
    hint = (f"it has {', '.join(map(repr, near))}: the same name but for spaces around it or "
            "letter case; " if near else "")
    if isinstance(frame, pd.DataFrame) and column in frame.index.names:
        hint = ("it is the DataFrame's index, not a column: frame.reset_index() makes it a "
                "column; ")
    return f"{hint}columns: {list_columns(names)}"


def prediction_values(frame: pd.DataFrame, pred_cols: Sequence[str], task: str,
                      kind: str = "probability") -> np.ndarray:
    """The model output as an array: scores (n,), or class probabilities (n, k) for multiclass.

    A classifier's logits (``kind="logit"``) become probabilities: the sigmoid, or the softmax
    across a multiclass row. Probabilities outside [0, 1] are refused (:class:`DataError`
    naming the column and the range seen). Missing and infinite values stay as they are.
    """
    if task == "multiclass":
        values = np.column_stack([to_numeric(frame[c], c) for c in pred_cols])
    else:
        values = to_numeric(frame[pred_cols[0]], pred_cols[0])
    if task == "regression":
        return values
    if kind == "logit":
        with np.errstate(over="ignore", invalid="ignore"):
            if values.ndim == 1:
                return np.asarray(1.0 / (1.0 + np.exp(-values)))
            exp = np.exp(values - values.max(axis=1, keepdims=True))
            return np.asarray(exp / exp.sum(axis=1, keepdims=True))
    for k, column in enumerate(pred_cols):
        scores = values if values.ndim == 1 else values[:, k]
        finite = scores[np.isfinite(scores)]
        if len(finite) and (finite.min() < -_PROBABILITY_SLACK
                            or finite.max() > 1 + _PROBABILITY_SLACK):
            regression = ("" if values.ndim > 1 else "; for a regression model's predictions, "
                          "task='regression' (--task regression)")
            raise DataError(f"column {column!r}: expected probabilities in [0, 1], got values "
                            f"from {finite.min():.4g} to {finite.max():.4g}; for logits, profile "
                            f"with prediction_kind='logit' (--prediction-kind logit){regression}")
    return values


#: How far the median row sum of a multiclass output may lie from 1 (rounded probabilities
#: in a file, a float32 model's) before a note says it is not 1.
SUM_SLACK = 0.02


def unnormalised_note(values: np.ndarray, pred_cols: Sequence[str], where: str) -> str | None:
    """A note when the class probabilities ``values`` (one column per class of ``pred_cols``)
    of rows (``where``: "the window's", "the reference's") do not sum to 1: a class's column
    left out of the prediction columns (a model that learned another class), or scores that
    are not probabilities; ``None`` for a score column or rows that do sum to 1."""
    if values.ndim != 2:
        return None
    sums = values.sum(axis=1)
    sums = sums[np.isfinite(sums)]
    if not len(sums) or abs(float(np.median(sums)) - 1) <= SUM_SLACK:
        return None
    return (f"{where} class probabilities in {list_columns(pred_cols, 6)} sum to "
            f"{float(np.median(sums)):.3g} per row (median), not 1: is a class's column missing "
            "from the prediction columns, or are these not probabilities? est.* reads each "
            "row's probabilities scaled to sum to 1")


def predicted_classes(probabilities: np.ndarray, classes: Sequence[str]) -> pd.Series:
    """Arg-max class label of each row of a probability matrix (missing where a row has a
    missing or infinite value)."""
    finite = np.isfinite(probabilities).all(axis=1)
    labels = np.asarray(classes, dtype=object)[
        np.argmax(np.where(np.isfinite(probabilities), probabilities, -1), axis=1)]
    labels[~finite] = None
    return pd.Series(labels, dtype=object)


def check_window(profile: Profile, window: pd.DataFrame) -> dict[str, pd.Series]:
    """Refuse a window the profile cannot read; return the columns it read (features, model
    outputs, decisions, labels when present), each read from the frame once."""
    if not isinstance(window, pd.DataFrame):
        raise DataError(f"window must be a pandas DataFrame, got {type(window).__name__}")
    if len(window) == 0:
        raise DataError("window is empty: it has no rows to evaluate")
    require_unique_columns(window, "window")
    read: dict[str, pd.Series] = {}
    for role, columns in (("feature", list(profile.features)),
                          ("prediction", list(profile.prediction_columns)),
                          ("decision", [profile.predicted_label] if profile.predicted_label else [])):
        for column in columns:
            if column not in window.columns:
                raise DataError(f"{role} column {column!r} is missing from the window "
                                f"({missing_column(column, window)})")
            read[column] = window[column]
            require_flat(read[column], column, f"the {role} held single values in the "
                         "reference profile")
    if profile.predicted_label and profile.classes:
        _require_classes(read[profile.predicted_label], profile)
    if profile.target is not None and profile.target in window.columns:
        read[profile.target] = window[profile.target]
        require_flat(read[profile.target], profile.target, "labels must be single values")
    return read


def _require_classes(decisions: pd.Series, profile: Profile) -> None:
    """Refuse a decision column holding a value that is none of the profile's classes (a
    model's "review" band): labels, now or later, could not be compared with it."""
    try:
        map_labels(decisions, profile.classes, str(decisions.name))
    except DataError as exc:
        raise DataError(f"decision column {decisions.name!r}: each row's decision must be one "
                        "of the profile's classes (or empty: no decision, left out of the "
                        f"realized metrics); {exc}") from None


def check_values(profile: Profile, window: pd.DataFrame) -> None:
    """Refuse a window whose values its evaluation would refuse (text where the profile reads
    numbers, model outputs out of range, labels that are no class), reading them as the
    evaluation does: a monitor in memory checks every window before it logs the first."""
    columns = check_window(profile, window)
    for name, ref in profile.features.items():
        if isinstance(ref, NumericSummary):
            to_numeric(columns[name], name)
    if profile.prediction_columns:
        prediction_values(window, profile.prediction_columns, profile.task,
                          profile.prediction_kind)
    target = profile.target
    if target is not None and target in columns:
        if profile.classes:
            map_labels(columns[target], profile.classes, target)
        elif isinstance(profile.target_summary, NumericSummary):
            to_numeric(columns[target], target)
