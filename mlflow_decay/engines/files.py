"""The files of a Parquet directory as one table: the columns of every file (pyarrow's dataset
takes the first file's alone), and the directory read whole."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import DataError


def files_schema(path: Any) -> tuple[Any, Any]:
    """A Parquet file or directory as a ``pyarrow`` dataset, and the columns of all its files:
    the first file's, then those only later files hold (a column added upstream), each typed
    as the first file that holds it (``pyarrow`` reads the first file's alone)."""
    import pyarrow as pa
    import pyarrow.dataset as ds

    name = str(path)
    try:
        dataset = ds.dataset(name, format="parquet")
        fields = {f.name: f for f in dataset.schema}
        for fragment in itertools.islice(dataset.get_fragments(), 1, None):
            name = fragment.path
            for field in fragment.physical_schema:  # the file's footer, not its rows
                fields.setdefault(field.name, field)
    except Exception as exc:  # pyarrow has its own error types for unreadable files
        why = str(exc).splitlines()[0].removeprefix(f"Could not open Parquet input source "
                                                    f"'{name}': ")
        raise DataError(f"data file {name!r} could not be read as Parquet: {why[:200]}") from exc
    return dataset, pa.schema(list(fields.values()), metadata=dataset.schema.metadata)


def read_directory(path: Path) -> pd.DataFrame:
    """A directory of Parquet files read whole, as pandas reads it (with its partition keys),
    with the columns of every file (:func:`files_schema`); when a file holds as numbers a
    column another holds as times, each file is read as it is and the tables joined (pyarrow
    would read epoch milliseconds as nanoseconds of the first file's type)."""
    import pyarrow as pa
    import pyarrow.dataset as ds

    dataset, every = files_schema(path)
    files = list(dataset.get_fragments())
    if any(is_time(f.type) != is_time(every.field(f.name).type)
           for file in files for f in file.physical_schema):
        return pd.concat([file.to_table().to_pandas() for file in files], ignore_index=True)
    if len(every) == len(dataset.schema):
        return pd.read_parquet(path, engine="pyarrow")
    keys = ds.dataset(str(path), format="parquet", partitioning="hive").schema
    return pd.read_parquet(path, engine="pyarrow", schema=pa.schema(
        [*every, *(f for f in keys if f.name not in every.names)], metadata=every.metadata))


def is_time(kind: Any) -> bool:
    """Whether a pyarrow type holds times (timestamps, dates, durations)."""
    import pyarrow as pa

    return bool(pa.types.is_temporal(kind))
