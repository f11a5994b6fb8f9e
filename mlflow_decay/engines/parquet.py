"""The Parquet engine: a table larger than memory (a Parquet file or directory) read in record
batches, its partial statistics (:mod:`.partials`) merged, memory bounded by a batch, a sample
and the partials whatever the row count."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd

from ..core.columns import Columns, ProfileOptions, feature_notes, plan_columns
from ..core.evaluation import Evaluation, band_chunk_rows, bands_from_chunks
from ..core.policy import DEFAULT_POLICY, Policy
from ..core.profile import Profile
from ..core.times import timestamps, utc_nanoseconds
from ..errors import DataError
from .partials import (
    SAMPLE_ROWS,
    ProfileCounts,
    Sample,
    finish_window,
    first_pass,
    first_pass_profile,
    merge_all,
    pca_features,
    profile_counts,
    window_partial,
    with_counts,
)
from .sources import out_of_order

#: Rows read at a time from a Parquet source.
BATCH_ROWS = 262_144

Batches = Callable[[], Iterable[pd.DataFrame]]

def parquet_batches(path: Any, columns: Sequence[str] | None = None,
                    batch_rows: int = BATCH_ROWS) -> Batches:
    """A re-readable source of DataFrames from a Parquet file or directory, ``batch_rows`` at a
    time (file order), reading only ``columns`` when given."""
    import pyarrow.dataset as ds

    try:
        dataset = ds.dataset(str(path), format="parquet")
    except Exception as exc:  # pyarrow has its own error types for unreadable files
        raise DataError(f"data file {str(path)!r} could not be read as Parquet: "
                        f"{str(exc).splitlines()[0][:200]}") from exc

    def batches() -> Iterator[pd.DataFrame]:
        try:
            for batch in dataset.to_batches(columns=list(columns) if columns else None,
                                            batch_size=batch_rows):
                if batch.num_rows:
                    yield batch.to_pandas()
        except (OSError, ValueError) as exc:
            raise DataError(f"data file {str(path)!r} could not be read as Parquet: "
                            f"{str(exc).splitlines()[0][:200]}") from exc

    return batches

def time_ordered(path: Any, column: str, unit: str | None = None) -> tuple[bool, int]:
    """Whether a Parquet source's rows come in ``column`` order (reading that column only, as
    :func:`~mlflow_decay.core.times.timestamps` with ``unit``), and its row count."""
    import pyarrow.dataset as ds

    if column not in ds.dataset(str(path), format="parquet").schema.names:
        raise DataError(f"timestamp column {column!r} is missing from the data")
    last = None
    ordered, rows = True, 0
    for batch in parquet_batches(path, [column])():
        times = utc_nanoseconds(timestamps(batch[column], column, unit))
        rows += len(times)
        ordered = ordered and not out_of_order(times, last)
        last = times[-1]
    return ordered, rows

def build_profile_batches(batches: Batches, columns: Columns, options: ProfileOptions) -> Profile:
    """The profile of a table read in batches, in two passes (see the module docstring).

    Takes the roles and options of :func:`~mlflow_decay.engines.dispatch.build_profile`. Column
    kinds are inferred from the first batch (force them with ``categorical``/``numerical``).
    Band chunks follow the batches' order, not ``timestamp_column``.
    """
    first = next(iter(batches()), None)
    if first is None or len(first) == 0:
        raise DataError("reference table is empty: a profile needs at least one row")
    kinds, schema = plan_columns(first, columns, options.task)
    notes = feature_notes(first, kinds) if columns.features is None else ()
    needed = list(dict.fromkeys([*kinds, *columns.prediction_columns, *(c for c in (
        columns.target, columns.id_column, columns.timestamp_column, columns.predicted_label)
        if c)]))
    sample = Sample(SAMPLE_ROWS)
    merged = first_pass(batches(), kinds, columns, options, sample=sample, needed=needed)
    assert merged is not None
    profile = first_pass_profile(merged, sample, kinds=kinds, schema=schema, columns=columns,
                                 options=options)
    layout = pca_features(profile)
    rows = band_chunk_rows(merged.rows, options.band_chunks) if options.band_chunks > 0 else []

    def parts() -> Iterator[ProfileCounts]:
        offset = 0
        for batch in batches():
            yield profile_counts(batch, profile, pca=layout, offset=offset, chunk_rows=rows)
            offset += len(batch)

    counts = merge_all(parts())
    assert counts is not None
    profile = replace(with_counts(profile, counts, layout),
                      notes=(*notes, *profile.notes))
    chunks = [pd.concat(counts.chunks[i], ignore_index=True) for i in range(len(rows))
              if i in counts.chunks]
    return (replace(profile, bands=bands_from_chunks(profile, chunks, counts.gram)) if rows
            else profile)

def evaluate_batches(profile: Profile, batches: Iterable[pd.DataFrame],
                     policy: Policy = DEFAULT_POLICY, outputs: Path | None = None
                     ) -> tuple[Evaluation, bytes]:
    """Evaluate a window read in batches: the same metrics as
    :func:`~mlflow_decay.core.evaluation.evaluate_window` on the whole window (drift and quality
    exactly; estimated and realized performance on a uniform sample of ``SAMPLE_ROWS`` rows of
    model outputs and labels when the window is larger). Returns the evaluation and the
    fingerprint of the rows; ``outputs`` as for :func:`window_partial`."""
    part = window_partial(profile, batches, policy.business, outputs=outputs)
    return finish_window(profile, part.stats, part.sample, policy), part.fingerprint
