"""Reading CSV files by their path: values as written."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlflow_decay.engines.sources import read_table

_BASE = 1234567890123456000  # 19 digits: a float keeps 16 of them


def test_long_integer_ids_with_a_blank_are_read_exactly(tmp_path: Path) -> None:
    """pandas reads a column of 19-digit ids with a blank as floats, which round 256
    neighbouring ids onto one; read by its path, the file's ids are read as written."""
    ids = [str(_BASE + i) for i in range(6)]
    path = tmp_path / "window.csv"
    path.write_text("id,small,x,sci\n"
                    f"{ids[0]},1,0.5,1e19\n"
                    ",,1.5,\n"
                    f"{ids[2]},3,,{ids[2]}\n"
                    f" -{ids[3]},4,2.25,7\n"
                    f"{ids[4]},5,3.0,8\n")
    pandas = pd.read_csv(path, float_precision="round_trip")
    assert pandas["id"].dtype == np.float64  # what pandas does, and why the reader re-reads
    frame = read_table(path)
    assert frame["id"].dtype == pd.Int64Dtype()
    assert frame["id"].tolist() == [_BASE, pd.NA, _BASE + 2, -(_BASE + 3), _BASE + 4]
    # everything else as pandas reads it: small integers with a blank, fractions, and a
    # column whose numbers are not all written as integers (1e19)
    for column in ("small", "x", "sci"):
        pd.testing.assert_series_equal(frame[column], pandas[column])
    assert frame["small"].dtype == np.float64


@pytest.mark.parametrize("name", ["window.csv", "window.tsv", "window.csv.gz"])
def test_each_csv_suffix_reads_long_ids_exactly(tmp_path: Path, name: str) -> None:
    frame = pd.DataFrame({"id": pd.array([_BASE + 9, None, _BASE + 1], dtype="Int64"),
                          "x": [1.0, 2.0, np.nan]})
    frame.to_csv(tmp_path / name, index=False, sep="\t" if name.endswith(".tsv") else ",")
    pd.testing.assert_frame_equal(read_table(tmp_path / name), frame)


def test_blanks_among_ids_beyond_int64_are_missing_not_text(tmp_path: Path) -> None:
    """pandas reads integers beyond int64 with a blank as text keeping the blank as '' (and
    'NA' as 'NA'): ids of rows that have none."""
    path = tmp_path / "labels.csv"
    path.write_text("id,label,name\n10000000000000000001,1,a\n,0,b\n"
                    "-9223372036854775809,1,NA\nNA,1,c\n18446744073709551615,0,d\n")
    assert pd.read_csv(path)["id"].tolist()[1:4:2] == ["", "NA"]  # pandas' own reading
    frame = read_table(path)
    assert frame["id"].tolist() == ["10000000000000000001", np.nan, "-9223372036854775809",
                                    np.nan, "18446744073709551615"]
    pd.testing.assert_series_equal(frame["name"], pd.read_csv(path)["name"])
    # without a blank, pandas reads them exactly (as uint64): as it was
    path.write_text("id\n10000000000000000001\n18446744073709551615\n")
    pd.testing.assert_frame_equal(read_table(path), pd.read_csv(path))
