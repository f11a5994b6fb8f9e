"""Which engine reads a source: a DataFrame in memory, a CSV or Parquet path, a Spark DataFrame."""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..core import summarize
from ..core.columns import Columns, ProfileOptions
from ..core.evaluation import MIN_CHUNK_ROWS, Evaluation, evaluate_window
from ..core.policy import Policy
from ..core.policy_file import DEFAULT_POLICY
from ..core.profile import MIN_CATEGORY_COUNT, PredictionKind, Profile, Task
from ..errors import DataError, DecayWarning
from .parquet import (
    MAX_SORT_ROWS,
    build_profile_batches,
    evaluate_batches,
    parquet_batches,
    time_ordered,
)
from .partials import fingerprint_columns
from .sources import PARQUET_SUFFIXES, Fingerprint, read_table, rows_digest


def build_profile(
    reference: Any,
    *,
    target: str | None = None,
    prediction: str | Sequence[str] | None = None,
    task: Task = "binary",
    features: Sequence[str] | None = None,
    categorical: Sequence[str] | None = None,
    numerical: Sequence[str] | None = None,
    id_column: str | None = None,
    timestamp_column: str | None = None,
    classes: Sequence[str] | None = None,
    positive_label: str | None = None,
    band_chunks: int = 10,
    min_category_count: int = MIN_CATEGORY_COUNT,
    exclude: Sequence[str] | None = None,
    threshold: float = 0.5,
    prediction_kind: PredictionKind = "probability",
    predicted_label: str | None = None,
) -> Profile:
    """Build the reference profile of a table.

    Parameters
    ----------
    reference : DataFrame, path or Spark DataFrame
        Training/validation data with features, and optionally labels and model outputs. A
        Parquet file or directory is read in record batches with bounded memory, a CSV file
        whole; a Spark DataFrame is profiled on the executors (see
        :mod:`mlflow_decay.engines.parquet` and :mod:`mlflow_decay.engines.spark` for what is exact).
    target : str, optional
        Label column. With ``prediction`` it gives the reference performance.
    prediction : str or list of str, optional
        The model's output: the positive-class probability (binary), one probability column per
        class in ``classes`` order (multiclass), or the predicted value (regression).
        Probabilities outside [0, 1] are refused (see ``prediction_kind``).
    task : {"binary", "multiclass", "regression"}
    features : str or list of str, optional
        Feature columns (one string is one column, as in every list of columns here); default
        all columns but target, prediction, id and timestamp (the profile's ``feature_kinds``
        says which became features, and its ``notes`` name those that look like labels, model
        outputs or ids).
    exclude : str or list of str, optional
        Columns left out of the features (other models' scores, labels of other tasks, ids).
    categorical, numerical : str or list of str, optional
        Force a feature's kind; others are inferred (low-cardinality integers, strings, booleans
        and categories are categorical).
    id_column, timestamp_column : str, optional
        Columns that identify or date rows; never treated as features.
    classes : list of str, optional
        Multiclass: the class labels in the order of the ``prediction`` columns, matched to the
        labels of ``target`` by value. Default: read from the column names, each of which must
        end with exactly one label (``p_cat``, ``p_dog``).
    positive_label : str, optional
        Binary: the label the score is the probability of (default ``1``, or ``True``,
        ``yes`` or ``positive`` in any case; for other numbers the larger one; other text labels
        must name it).
    threshold : float
        Binary: a score (probability) at or above it predicts the positive class, for the
        realized and estimated accuracy, precision, recall and F1. Stored in the profile.
    prediction_kind : {"probability", "logit"}
        How classifier outputs are read: probabilities in [0, 1], or logits (sigmoid; softmax
        across the columns for multiclass). Stored, so windows are read the same way.
    predicted_label : str, optional
        A column holding the class the model's caller decided for each row; it replaces
        ``threshold`` (or the arg-max) for the realized confusion-matrix metrics, here and in
        every window (which must then carry it).
    band_chunks : int
        Cut the reference into this many chunks (in ``timestamp_column`` order when given) and
        store each metric's mean and standard deviation over them: the reference bands a policy
        can use instead of constant thresholds (0 for none; chunks have at least 100 rows).
    min_category_count : int
        Feature categories seen fewer times are folded into "other", so the profile stores no
        value that only a few rows have (privacy); 1 keeps every category (up to 100).

    Returns
    -------
    Profile
        Its ``notes`` (columns that look like labels, scores or ids, dates left out, a
        reference too small for bands, ...) are also raised as :class:`~mlflow_decay.DecayWarning`.
    """
    columns = Columns(target=target, prediction=prediction, features=features,
                      categorical=categorical or (), numerical=numerical or (),
                      exclude=exclude or (), id_column=id_column,
                      timestamp_column=timestamp_column, predicted_label=predicted_label)
    options = ProfileOptions(task=task, classes=classes, positive_label=positive_label,
                             threshold=threshold, prediction_kind=prediction_kind,
                             min_category_count=min_category_count, band_chunks=band_chunks)
    profile = build_profile_from(reference, columns, options)
    for note in profile.notes:  # seen in a notebook, not only by who reads profile.notes
        warnings.warn(note, DecayWarning, stacklevel=2)
    return profile


Source = Any  # a DataFrame, a path to a CSV/Parquet file or a Parquet directory, or a Spark DataFrame

def is_spark(obj: Any) -> bool:
    """Whether ``obj`` is a PySpark DataFrame (checked without importing pyspark)."""
    return type(obj).__module__.startswith("pyspark.") and hasattr(obj, "mapInPandas")


def require_frame(data: object, what: str) -> None:
    """Refuse anything but a pandas DataFrame where ``what`` reads every row in memory, saying
    how to give one."""
    if isinstance(data, pd.DataFrame):
        return
    if is_spark(data):
        raise DataError(f"{what} reads a pandas DataFrame, not a Spark DataFrame: select the "
                        "rows and columns it needs and call .toPandas()")
    raise DataError(f"{what} reads a pandas DataFrame; got {got(data)}")


def got(data: object) -> str:
    """What an error says a table of the wrong type was, and how to make a pandas DataFrame
    of it where that is one call (a Series, a pyarrow Table, a polars DataFrame)."""
    name = type(data).__name__
    if isinstance(data, pd.Series):
        return (f"a Series{f' ({data.name!r})' if data.name is not None else ''}: make it a "
                "DataFrame of named columns (series.reset_index() adds its index as a column)")
    if isinstance(data, np.ndarray):
        return ("a numpy array, which names no columns: make it a DataFrame of named columns "
                "(pd.DataFrame(array, columns=names))")
    if callable(getattr(data, "to_pandas", None)):
        return f"a {type(data).__module__.partition('.')[0]} {name}: call .to_pandas() first"
    return name

def is_parquet(path: Any) -> bool:
    """Whether a path names a Parquet file or a directory (of Parquet files)."""
    p = Path(path)
    return p.is_dir() or p.name.lower().endswith(PARQUET_SUFFIXES)

def build_profile_from(reference: Source, columns: Columns, options: ProfileOptions) -> Profile:
    """:func:`build_profile` of any source, its columns playing the ``columns`` roles: a
    DataFrame (:func:`mlflow_decay.core.summarize.build_profile`), a path (Parquet streamed in
    batches, CSV read whole) or a Spark DataFrame (partials computed on the executors). A
    profile that asked for reference bands and got none says so in its notes."""
    profile = _build_profile_from(reference, columns, options)
    if options.band_chunks > 0 and not profile.bands:
        chunks = min(options.band_chunks, profile.rows // MIN_CHUNK_ROWS)
        profile = replace(profile, notes=(*profile.notes, (
            f"no reference bands: {profile.rows} reference rows make {chunks} band chunk(s) of "
            f"{MIN_CHUNK_ROWS}+ rows, 3 are needed; rules with warn_k/degrade_k (the default "
            "policy's drift.multivariate.reconstruction_error) will not be applied")))
    return profile


def _build_profile_from(reference: Source, columns: Columns, options: ProfileOptions) -> Profile:
    if isinstance(reference, pd.DataFrame):
        return summarize.build_profile(reference, columns, options)
    options.check()
    if is_spark(reference):
        from .spark import build_profile_spark

        return build_profile_spark(reference, columns, options)
    if isinstance(reference, (str, Path)):
        if not Path(reference).exists():
            read_table(reference)  # the one error message for a missing file
        if is_parquet(reference):
            if _sorted_whole(reference, columns, options):
                return summarize.build_profile(read_table(reference), columns, options)
            source = parquet_batches(reference)
            with source.naming_file():
                return build_profile_batches(source, columns, options)
        return summarize.build_profile(read_table(reference), columns, options)
    raise DataError(f"reference must be a pandas DataFrame, a path to a CSV or Parquet file, "
                    f"or a Spark DataFrame; got {got(reference)}")


def _sorted_whole(path: str | Path, columns: Columns, options: ProfileOptions) -> bool:
    """Whether a Parquet reference is read whole, so that its band chunks are cut in
    ``timestamp_column`` order as a table in memory's are: its rows are not in that order, and
    at most ``MAX_SORT_ROWS`` (batches come in the files' order; read in batches, the chunks
    were the files' rows, and the time order asked for was dropped without a word)."""
    column = columns.timestamp_column
    if column is None or options.band_chunks <= 0:
        return False
    try:
        ordered, rows = time_ordered(path, column, numbers=True)  # as the profile orders them
    except DataError:  # no such column, or unreadable times: the profile says what it can
        return False
    return not ordered and rows <= MAX_SORT_ROWS


#: Rows of a streamed window read back for a page drawn from raw rows (Evidently's), at most.
PAGE_ROWS = 100_000


def page_rows(window: Source, columns: Sequence[str], limit: int = PAGE_ROWS
              ) -> pd.DataFrame | None:
    """The first ``limit`` rows of ``columns`` (those it has) of a Parquet window that was
    streamed, for Evidently's page; ``None`` for any other source."""
    if not (isinstance(window, (str, Path)) and Path(window).exists() and is_parquet(window)):
        return None
    source = parquet_batches(window)
    names = [c for c in columns if c in source.schema.names]
    parts, rows = [], 0
    for batch in source.only(names)():
        parts.append(batch)
        rows += len(batch)
        if rows >= limit:
            break
    return pd.concat(parts, ignore_index=True).head(limit) if parts else None


def evaluate_source(profile: Profile, window: Source, policy: Policy = DEFAULT_POLICY,
                    outputs: Path | None = None, fingerprint: bool = True
                    ) -> tuple[Evaluation, pd.DataFrame | None, bytes]:
    """Evaluate a window given as a DataFrame, a path or a Spark DataFrame.

    Returns the evaluation, the window's rows when they were read into memory (``None`` when
    streamed), and a fingerprint of the rows (equal for the same rows in any order however
    they are read; empty with ``fingerprint=False``: :func:`source_digest`
    computes it later). A streamed window's row ids and model outputs go to the Parquet file
    ``outputs`` when given (see :class:`OutputsWriter`).
    """
    if isinstance(window, pd.DataFrame):
        return (evaluate_window(profile, window, policy), window,
                source_digest(profile, window, policy.business) if fingerprint else b"")
    if is_spark(window):
        from .spark import evaluate_spark

        evaluation, digest = evaluate_spark(profile, window, policy, fingerprint)
        return evaluation, None, digest
    if isinstance(window, (str, Path)):
        if Path(window).exists() and is_parquet(window):
            source = parquet_batches(window)
            with source.naming_file():
                evaluation, digest = evaluate_batches(profile, source(), policy, outputs,
                                                      fingerprint)
            return evaluation, None, digest
        frame = read_table(window)
        return (evaluate_window(profile, frame, policy), frame,
                source_digest(profile, frame, policy.business) if fingerprint else b"")
    raise DataError(f"window must be a pandas DataFrame, a path to a CSV or Parquet file, or a "
                    f"Spark DataFrame; got {got(window)}")

def source_digest(profile: Profile, window: Source, business: Sequence[str] = ()) -> bytes:
    """The fingerprint :func:`evaluate_source` gives a window (of the columns the profile and
    the ``business`` KPIs read): a Parquet path is read again in batches; ``b""`` for Spark."""
    columns = fingerprint_columns(profile, business)
    if isinstance(window, (str, Path)) and Path(window).exists() and is_parquet(window):
        digest = Fingerprint(columns)
        for batch in parquet_batches(window)():
            digest.add(batch)
        return digest.digest()
    if is_spark(window):
        return b""
    frame = window if isinstance(window, pd.DataFrame) else read_table(window)
    return rows_digest(frame, columns)

def source_key(profile: Profile, window: Source, business: Sequence[str], fingerprint: bytes,
               key: Callable[[bytes], str]) -> str | Callable[[], str] | None:
    """A window's key, ``key(fingerprint)``; without a fingerprint, a function computing it
    (once, with :func:`source_digest`) when called; ``None`` for Spark (whose fingerprint
    only the evaluation's own job computes)."""
    if fingerprint:
        return key(fingerprint)
    if is_spark(window):
        return None
    return functools.cache(lambda: key(source_digest(profile, window, business)))
