"""The window fingerprint hashes numbers in blocks; it must equal the column-wise definition
(so window keys logged before still match) and ignore the rows' order."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlflow_decay.engines import sources
from mlflow_decay.engines.sources import Fingerprint, rows_digest


def _mixed(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    x[::7] = np.nan
    x[1::11] = -0.0
    x[2::13] = 0.0
    x[3::17] = np.inf
    x[4::19] = -np.inf
    odd_nan = np.frombuffer(np.uint64(0x7FF8DEADBEEF0001).tobytes(), dtype=np.float64)[0]
    x[5::23] = odd_nan  # a NaN with other bits: one NaN all the same
    times = pd.Series(pd.date_range("2024-01-01", periods=n, freq="min", tz="UTC"))
    times[::9] = pd.NaT
    return pd.DataFrame({
        "x": x,
        "y": rng.integers(-5, 5, size=n),
        "flag": rng.random(n) < 0.5,
        "small": rng.normal(size=n).astype(np.float32),
        "nullable": pd.array(np.where(rng.random(n) < 0.2, None, rng.integers(0, 9, n)),
                             dtype="Int64"),
        "cat": pd.Series(rng.choice(["a", "b", None], size=n), dtype=object),
        "kind": pd.Categorical(rng.choice(["u", "v"], size=n)),
        "when": times,
        "z": rng.normal(size=n) * 1e300,
    })


def _reference(frame: pd.DataFrame, columns: dict[str, sources.ColumnKind]) -> bytes:
    """The digest by the definition: column-wise row hashes, summed twice."""
    first = sources._row_hashes_columnwise(frame, columns)
    second = pd.util.hash_array(first ^ sources._SALT)
    sums = [int(h.sum(dtype=np.uint64)) for h in (first, second)]
    fingerprint = Fingerprint(columns)
    fingerprint.present, fingerprint.rows, fingerprint.sums = set(
        c for c in columns if c in frame.columns), len(frame), sums
    return fingerprint.digest()


@pytest.mark.parametrize("n", [0, 1, 5, 3 * sources._BLOCK_ROWS + 17])
def test_block_hashing_equals_the_column_wise_definition(n: int) -> None:
    frame = _mixed(n)
    inferred = {str(c): sources._dtype_kind(frame[c]) for c in frame.columns}
    declared: dict[str, sources.ColumnKind] = {
        **inferred, "y": "category", "when": "time", "missing": "number"}
    for columns in (inferred, declared):
        assert rows_digest(frame, columns) == _reference(frame, columns)
    assert rows_digest(frame) == _reference(frame, inferred)


def test_the_fingerprint_ignores_order_and_batches_but_not_values() -> None:
    frame = _mixed(2 * sources._BLOCK_ROWS + 5)
    whole = rows_digest(frame)
    shuffled = frame.sample(frac=1.0, random_state=1)
    assert rows_digest(shuffled) == whole
    assert rows_digest(frame[sorted(frame.columns, reverse=True)]) == whole
    batched = Fingerprint()
    for lo in range(0, len(shuffled), 1000):
        batched.add(shuffled.iloc[lo:lo + 1000])
    assert batched.digest() == whole
    # -0.0 is 0.0 and every NaN is one NaN, in the fast path as in the definition
    signed = frame.assign(x=frame["x"].where(frame["x"] != 0.0, -0.0))
    assert rows_digest(signed) == whole
    changed = frame.copy()
    changed.loc[changed.index[3], "z"] = 1.0
    assert rows_digest(changed) != whole
    swapped = frame.copy()  # the same values in other rows are other rows
    swapped.loc[swapped.index[:2], "x"] = [frame["x"].iloc[1], frame["x"].iloc[0]]
    if frame["x"].iloc[0] != frame["x"].iloc[1]:
        assert rows_digest(swapped) != whole


def test_fingerprints_are_the_values_logged_before_block_hashing() -> None:
    """Digests computed column by column with ``pandas.util.hash_array`` (before numbers were
    hashed in blocks): window keys logged then must still be recognised on a rerun."""
    rng = np.random.default_rng(0)
    wide = pd.DataFrame(rng.normal(size=(20_000, 51)), columns=[f"c{i}" for i in range(51)])
    assert rows_digest(wide).hex() == (
        "50c37485179a6b1ac0d5ec72a991f8fc48e69c32c551b31f533e522c81564cbb")
    mixed = _mixed(30_000)
    assert rows_digest(mixed).hex() == (
        "dbe303d8a016be1a3ddff97d2dacdc14d632e3e4a68801cfb45b02e6b5f0c5a9")
    columns: dict[str, sources.ColumnKind] = {
        "x": "number", "y": "category", "when": "time", "cat": "category", "z": "number"}
    assert rows_digest(mixed, columns).hex() == (
        "057d86f8ce3b12baf3221a792b58fac96ade31976d3bf7390e8cb18403fe35db")


def test_fingerprints_of_parts_merge_into_the_fingerprint_of_the_whole() -> None:
    frame = _mixed(5000)
    columns: dict[str, sources.ColumnKind] = {"x": "number", "cat": "category", "when": "time"}
    parts = []
    for rows in (frame.iloc[:1234], frame.iloc[1234:4000], frame.iloc[4000:]):
        part = Fingerprint(columns)
        part.add(rows)
        parts.append(Fingerprint.from_dict(part.to_dict(), columns))  # as a partition sends it
    merged = parts[2].merge(parts[0].merge(parts[1]))  # in any grouping and order
    assert merged.digest() == rows_digest(frame, columns)
    assert merged.digest() != parts[0].merge(parts[1]).digest()


# trial 6 (helper 6A): a drift-only profile of categorical features (no score, no label)
@pytest.mark.parametrize("columns", [{"cat": "category"}, {"cat": "category", "when": "time"},
                                     {"kind": "category", "y": "category"}])
def test_a_fingerprint_without_numeric_columns_is_the_column_wise_definition(
        columns: dict[str, sources.ColumnKind]) -> None:
    """Before: an IndexError (no scratch row to mix the row hashes in), so every logged
    evaluation of such a version was a traceback."""
    frame = _mixed(sources._BLOCK_ROWS + 3)
    assert rows_digest(frame, columns) == _reference(frame, columns)
