"""Which engine reads a source: a DataFrame in memory, a CSV or Parquet path, a Spark DataFrame."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import pandas as pd

from ..core import summarize
from ..core.columns import check_options
from ..core.evaluation import Evaluation, evaluate_window
from ..core.policy import DEFAULT_POLICY, Policy
from ..core.profile import Profile
from ..errors import DataError
from .parquet import build_profile_batches, evaluate_batches, parquet_batches
from .partials import fingerprint_columns
from .sources import PARQUET_SUFFIXES, read_table, rows_digest


def build_profile(reference: Any, **options: Any) -> Profile:
    if isinstance(reference, pd.DataFrame):
        return summarize.build_profile(reference, **options)
    defaults = inspect.signature(summarize.build_profile).parameters
    check_options(*(options.get(k, defaults[k].default) for k in (
        "task", "min_category_count", "threshold", "prediction_kind", "classes")))
    return build_profile_from(reference, **options)


# md.build_profile: the core's options and documentation, for any source
build_profile.__doc__ = summarize.build_profile.__doc__
build_profile.__signature__ = inspect.signature(summarize.build_profile)  # type: ignore[attr-defined]


Source = Any  # a DataFrame, a path to a CSV/Parquet file or a Parquet directory, or a Spark DataFrame

def is_spark(obj: Any) -> bool:
    """Whether ``obj`` is a PySpark DataFrame (checked without importing pyspark)."""
    return type(obj).__module__.startswith("pyspark.") and hasattr(obj, "mapInPandas")

def is_parquet(path: Any) -> bool:
    """Whether a path names a Parquet file or a directory (of Parquet files)."""
    p = Path(path)
    return p.is_dir() or p.name.lower().endswith(PARQUET_SUFFIXES)

def build_profile_from(reference: Source, **options: Any) -> Profile:
    """:func:`~mlflow_decay.engines.dispatch.build_profile` of a path (Parquet streamed in batches, CSV
    read whole) or a Spark DataFrame (partials computed on the executors)."""
    if is_spark(reference):
        from .spark import build_profile_spark

        return build_profile_spark(reference, **options)
    if isinstance(reference, (str, Path)):
        if not Path(reference).exists():
            read_table(reference)  # the one error message for a missing file
        if is_parquet(reference):
            return build_profile_batches(parquet_batches(reference), **options)
        return summarize.build_profile(read_table(reference), **options)
    raise DataError(f"reference must be a pandas DataFrame, a path to a CSV or Parquet file, "
                    f"or a Spark DataFrame; got {type(reference).__name__}")

def evaluate_source(profile: Profile, window: Source, policy: Policy = DEFAULT_POLICY,
                    outputs: Path | None = None
                    ) -> tuple[Evaluation, pd.DataFrame | None, bytes]:
    """Evaluate a window given as a DataFrame, a path or a Spark DataFrame.

    Returns the evaluation, the window's rows when they were read into memory (``None`` when
    streamed), and a fingerprint of the rows (equal for the same rows in any order however
    they are read; empty for Spark). A streamed window's row ids and model outputs go to the
    Parquet file ``outputs`` when given (see :class:`OutputsWriter`).
    """
    columns = fingerprint_columns(profile, policy.business)
    if isinstance(window, pd.DataFrame):
        return (evaluate_window(profile, window, policy), window,
                rows_digest(window, columns))
    if is_spark(window):
        from .spark import evaluate_spark

        return evaluate_spark(profile, window, policy), None, b""
    if isinstance(window, (str, Path)):
        if Path(window).exists() and is_parquet(window):
            evaluation, fingerprint = evaluate_batches(profile, parquet_batches(window)(), policy,
                                                       outputs)
            return evaluation, None, fingerprint
        frame = read_table(window)
        return evaluate_window(profile, frame, policy), frame, rows_digest(frame, columns)
    raise DataError(f"window must be a pandas DataFrame, a path to a CSV or Parquet file, or a "
                    f"Spark DataFrame; got {type(window).__name__}")
