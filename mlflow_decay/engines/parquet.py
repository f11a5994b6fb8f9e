"""The Parquet engine: a table larger than memory (a Parquet file or directory) read in record
batches, its partial statistics (:mod:`.partials`) merged, memory bounded by a batch, a sample
and the partials whatever the row count."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd

from ..core.columns import Columns, ProfileOptions, feature_notes, plan_columns
from ..core.evaluation import Evaluation, band_chunk_rows, bands_from_chunks
from ..core.policy import Policy
from ..core.policy_file import DEFAULT_POLICY
from ..core.profile import Profile
from ..core.times import time_order
from ..errors import DataError, first_line
from .files import files_schema, is_time
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
from .windows import out_of_order

#: Rows read at a time from a Parquet source, at most.
BATCH_ROWS = 262_144
#: Values (rows × columns read) in a batch, at most: 16 MB of float64 (so 104,857 rows of 20
#: columns, 41,943 rows of 50); a batch has at least ``MIN_BATCH_ROWS`` rows.
BATCH_VALUES = 2 ** 21
MIN_BATCH_ROWS = 4_096

Batches = Callable[[], Iterable[pd.DataFrame]]

def parquet_batches(path: Any, columns: Sequence[str] | None = None,
                    batch_rows: int = BATCH_ROWS) -> ParquetBatches:
    """A re-readable source of DataFrames from a Parquet file or directory, ``batch_rows`` at a
    time or fewer (``BATCH_VALUES`` values at a time), in file order, reading only ``columns``
    when given.

    The files are read one after the other, a batch at a time, with no read-ahead and no reader
    threads: what is held is the batch being decoded, the pages it comes from (a 64 KB read
    buffer per column, not a whole row group) and the DataFrame the caller is working on
    (``pyarrow``'s dataset scanner queues decoded batches up to 1 GiB ahead of a slow consumer,
    so its peak memory grew with the row count). Columns are those of every file (see
    :func:`files_schema`): a column a file lacks is read as nulls, one of another type is cast
    when the cast is exact, else read as its file holds it (integers next to fractions, text
    next to numbers).
    """
    dataset, every = files_schema(path)
    names = [n for n in (columns or every.names) if n in every.names]
    if columns and len(names) < len(columns):
        missing = next(c for c in columns if c not in every.names)
        raise DataError(f"data file {str(path)!r} has no column {missing!r}")
    schema = pa_schema(every, names)
    batch_rows = min(batch_rows, max(MIN_BATCH_ROWS, BATCH_VALUES // max(len(names), 1)))
    return ParquetBatches(dataset, schema, batch_rows, Path(path).is_dir())


class ParquetBatches:
    """The batches of :func:`parquet_batches`, read anew at each call; ``file`` is the file the
    last batch came from (``None`` before the first, and once all are read)."""

    def __init__(self, dataset: Any, schema: Any, batch_rows: int, directory: bool) -> None:
        self.dataset, self.schema, self.batch_rows = dataset, schema, batch_rows
        self.directory = directory
        self.file: str | None = None

    def __call__(self) -> Iterator[pd.DataFrame]:
        for fragment in self.dataset.get_fragments():
            self.file = fragment.path
            try:
                yield from _file_batches(fragment, self.dataset.filesystem, self.schema,
                                         self.batch_rows)
            except (OSError, ValueError) as exc:
                raise DataError(f"data file {fragment.path!r} could not be read as Parquet: "
                                f"{first_line(exc)}") from exc
        self.file = None

    def first(self) -> pd.DataFrame | None:
        """The first batch (``None`` for no rows), no file being read after it."""
        batch = next(iter(self()), None)
        self.file = None
        return batch

    def only(self, names: Sequence[str]) -> ParquetBatches:
        """The same files, reading only the columns ``names``."""
        return ParquetBatches(self.dataset, pa_schema(self.schema, names), self.batch_rows,
                              self.directory)

    @contextmanager
    def naming_file(self) -> Iterator[None]:
        """Name, in a :class:`DataError` raised within, the directory's file whose batch was
        being read (the one bad value among hundreds of files is found by its file)."""
        try:
            yield
        except DataError as exc:
            if not self.directory or self.file is None or self.file in str(exc):
                raise
            raise DataError(f"data file {self.file!r}: {exc}") from exc

def pa_schema(schema: Any, names: Sequence[str]) -> Any:
    """``schema`` restricted to ``names`` (in that order), its metadata kept (pandas reads its
    index and dtypes from it)."""
    import pyarrow as pa

    return pa.schema([schema.field(n) for n in names], metadata=schema.metadata)

def _file_batches(fragment: Any, filesystem: Any, schema: Any, batch_rows: int
                  ) -> Iterator[pd.DataFrame]:
    """One Parquet file's rows as DataFrames of ``schema``, ``batch_rows`` at a time, each
    decoded batch released once converted."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    with filesystem.open_input_file(fragment.path) as stream:
        file = pq.ParquetFile(stream, pre_buffer=False, buffer_size=1 << 16)
        present = set(file.schema_arrow.names)
        read = [n for n in schema.names if n in present]
        for batch in file.iter_batches(batch_size=batch_rows, columns=read, use_threads=False):
            if not batch.num_rows:
                continue
            arrays = [_as_type(batch.column(n), field.type) if n in present
                      else pa.nulls(batch.num_rows, field.type)
                      for n, field in zip(schema.names, schema, strict=True)]
            del batch
            own = pa.schema([f if a.type == f.type else f.with_type(a.type)
                             for a, f in zip(arrays, schema, strict=True)],
                            metadata=schema.metadata)
            frame = pa.RecordBatch.from_arrays(arrays, schema=own).to_pandas()
            del arrays
            yield frame
            del frame

def _as_type(column: Any, wanted: Any) -> Any:
    """A file's column as the dataset's type when it converts exactly; else as it is (an
    integer column next to one of fractions, numbers next to text: each file's values are then
    read as a table in memory would be, and refused by column if they are not what the profile
    reads). Numbers are never cast to times nor times to numbers (pyarrow reads epoch
    milliseconds as nanoseconds, in 1970): they are read as the file holds them, epoch times
    needing their unit."""
    import pyarrow as pa

    if column.type == wanted:
        return column
    if is_time(column.type) != is_time(wanted) and not pa.types.is_string(column.type):
        return column
    try:
        return column.cast(wanted)  # safe: a cast that would lose or invent a value fails
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return column


#: A Parquet source not in time order is read whole and sorted up to this many rows (a
#: monitor's windows, a profile's band chunks).
MAX_SORT_ROWS = 5_000_000


def time_ordered(path: Any, column: str, unit: str | None = None, *, numbers: bool = False
                 ) -> tuple[bool, int]:
    """Whether a Parquet source's rows come in ``column`` order (reading that column only, as
    :func:`~mlflow_decay.core.times.timestamps` with ``unit``; with ``numbers``, a column of
    numbers as the numbers they are, as a profile orders its reference), and its row count."""
    dataset, schema = files_schema(path)
    if column not in schema.names:
        folder = next((part for fragment in itertools.islice(dataset.get_fragments(), 1)
                       for part in Path(fragment.path).parts[:-1]
                       if part.startswith(f"{column}=")), None)
        raise DataError(f"timestamp column {column!r} is missing from the data" + (
            f" (folder {folder!r} names it, but the files do not hold it: give a column "
            "of the files)" if folder else ""))
    last = None
    ordered, rows = True, 0
    source = parquet_batches(path, [column])
    with source.naming_file():
        for batch in source():
            values = batch[column]
            times = time_order(values, column, unit, numbers=numbers)
            rows += len(times)
            ordered = ordered and not out_of_order(times, last)
            last = times[-1]
    return ordered, rows

def build_profile_batches(batches: Batches, columns: Columns, options: ProfileOptions) -> Profile:
    """The profile of a table read in batches, in two passes (see the module docstring).

    Takes the roles and options of :func:`~mlflow_decay.engines.dispatch.build_profile`. Column
    kinds are inferred from the first batch (force them with ``categorical``/``numerical``).
    Band chunks follow the batches' order (:func:`~mlflow_decay.engines.dispatch.build_profile`
    reads a Parquet source whole when its rows are not in ``timestamp_column`` order).
    """
    first = (batches.first() if isinstance(batches, ParquetBatches)
             else next(iter(batches()), None))
    if first is None or len(first) == 0:
        raise DataError("reference table is empty: a profile needs at least one row")
    first = _with_values(batches, first)
    kinds, schema = plan_columns(first, columns, options.task)
    notes = feature_notes(first, kinds, columns) if columns.features is None else ()
    del first  # one batch at a time is held from here on
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
            count = profile_counts(batch, profile, pca=layout, offset=offset, chunk_rows=rows)
            offset += len(batch)
            del batch  # released before the next one is read
            yield count

    counts = merge_all(parts())
    assert counts is not None
    profile = replace(with_counts(profile, counts, layout),
                      notes=(*notes, *profile.notes))
    chunks = [pd.concat(counts.chunks[i], ignore_index=True) for i in range(len(rows))
              if i in counts.chunks]
    return (replace(profile, bands=bands_from_chunks(profile, chunks, counts.gram)) if rows
            else profile)

def _with_values(batches: Batches, first: pd.DataFrame) -> pd.DataFrame:
    """The first batch, each of its columns null throughout (a column the first files lack,
    added upstream later) holding instead the first values the files have of it, read alone,
    so that its kind is inferred from values as in memory (null alone reads as categories)."""
    empty = [c for c in first.columns if first[c].isna().all()]
    if not empty or not isinstance(batches, ParquetBatches):
        return first
    first = first.copy()
    for batch in batches.only(empty)():
        found = [c for c in empty if batch[c].notna().any()]
        for column in found:
            values = batch[column].iloc[:len(first)].reset_index(drop=True)
            first[column] = values.reindex(range(len(first))).set_axis(first.index)
            empty.remove(column)
        if not empty:
            break
    return first

def evaluate_batches(profile: Profile, batches: Iterable[pd.DataFrame],
                     policy: Policy = DEFAULT_POLICY, outputs: Path | None = None,
                     fingerprint: bool = True) -> tuple[Evaluation, bytes]:
    """Evaluate a window read in batches: the same metrics as
    :func:`~mlflow_decay.core.evaluation.evaluate_window` on the whole window (drift and quality
    exactly; estimated and realized performance on a uniform sample of ``SAMPLE_ROWS`` rows of
    model outputs and labels when the window is larger). Returns the evaluation and the
    fingerprint of the rows (``b""`` with ``fingerprint=False``); ``outputs`` as for
    :func:`window_partial`."""
    part = window_partial(profile, batches, policy.business, outputs=outputs,
                          fingerprint=fingerprint)
    return finish_window(profile, part.stats, part.sample, policy), part.fingerprint
