"""Reading windows and reference tables from files: CSV or Parquet (a file or a directory)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .errors import DataError

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
    try:
        if p.is_dir() or name.endswith(PARQUET_SUFFIXES):
            return pd.read_parquet(p, engine="pyarrow")
        if name.endswith(CSV_SUFFIXES):
            return pd.read_csv(p, sep="\t" if name.endswith(".tsv") else ",")
    except (OSError, ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        kind = "Parquet" if p.is_dir() or name.endswith(PARQUET_SUFFIXES) else "CSV"
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DataError(f"data file {str(p)!r} could not be read as {kind}: {first[:200]}") from exc
    except Exception as exc:  # pyarrow raises its own error types for corrupt files
        raise DataError(f"data file {str(p)!r} could not be read: "
                        f"{type(exc).__name__}: {str(exc)[:200]}") from exc
    raise DataError(f"data file {str(p)!r}: expected a .csv or .parquet file (or a directory "
                    "of Parquet files)")
