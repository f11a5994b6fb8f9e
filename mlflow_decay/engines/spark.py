"""PySpark DataFrames: partial statistics on the executors, merged on the driver.

:func:`~mlflow_decay.engines.dispatch.build_profile` and :func:`~mlflow_decay.api.evaluate` accept a
PySpark DataFrame. Each partition's rows go through the same functions as the out-of-core path
(:mod:`mlflow_decay.engines.parquet`) inside ``mapInPandas``; the partials travel to the driver as JSON
(and a partition's sample rows as Parquet bytes) and merge there. A partial is O(features x grid)
whatever the partition's size and merging is associative, so the work scales with the executors
and the driver's share stays small.

What reaches the driver: the partials (a window's with its rows' hash sums, which merge into
the fingerprint that identifies it); column kinds inferred on the executors from the first
``PLAN_ROWS`` rows; the metrics of the reference band chunks (evaluated on the executors),
with each chunk's PCA Gram matrix and column sums (for the held-out multivariate band); and
a uniform sample of at most ``SAMPLE_ROWS`` rows of the label and model-output columns (for
regression also the numerical features), on which the calibration and the reference performance
are fitted. Band chunks are cut in ``timestamp_column`` order, as in memory, when the profile
has one; else they are consecutive rows *within* partitions, since a Spark DataFrame has no
global row order. Executors need mlflow-decay installed (``pip install mlflow-decay[spark]``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any, cast

import numpy as np
import pandas as pd

from ..core.columns import Columns, ProfileOptions, plan_columns
from ..core.evaluation import (
    Evaluation,
    band_chunk_rows,
    bands_from_metrics,
    evaluate_window,
    held_out_band,
)
from ..core.frames import require_column
from ..core.policy import Policy
from ..core.policy_file import DEFAULT_POLICY
from ..core.profile import Profile
from ..core.times import clock_nanoseconds, time_order, timestamps
from ..core.window import stats_from_dict, stats_to_dict
from ..errors import DataError, ProfileError
from ..stats.multivariate import column_sums
from ..stats.schema import Kind
from .parquet import BATCH_VALUES
from .partials import (
    SAMPLE_ROWS,
    ProfileCounts,
    ProfilePartial,
    Sample,
    fingerprint_columns,
    finish_window,
    first_pass,
    first_pass_profile,
    merge_all,
    pca_features,
    profile_counts,
    window_partial,
    with_counts,
)
from .sources import Fingerprint
from .windows import Cut, warn_of_naive_times

#: Rows the column kinds are inferred from.
PLAN_ROWS = 10_000
#: Rows of each reference band chunk (at most).
CHUNK_ROWS = 25_000
#: Relative rank error of the times that bound band chunks in time order (``approxQuantile``),
#: beyond ``EXACT_ROWS`` reference rows; up to them the times are exact.
QUANTILE_ERROR = 1e-4
EXACT_ROWS = 1_000_000
_PAYLOAD = "payload string, sample binary, seen long"


def build_profile_spark(reference: Any, columns: Columns, options: ProfileOptions) -> Profile:
    """The profile of a Spark DataFrame (roles and options of
    :func:`~mlflow_decay.engines.dispatch.build_profile`)."""
    for column in columns.named():  # names on the driver (no rows)
        require_column(reference, column, "reference")
    kinds, schema = _plan(reference, columns, options.task)
    merged, sample = _first_pass(reference, kinds, columns, options)
    profile = first_pass_profile(merged, sample, kinds=kinds, schema=schema, columns=columns,
                                 options=options)
    profile, pca_gram = _second_pass(reference, profile)
    if options.band_chunks <= 0:
        return profile
    return replace(profile, bands=_bands(reference, profile, options.band_chunks, pca_gram))


def _plan(reference: Any, columns: Columns, task: str) -> tuple[dict[str, Kind], dict[str, str]]:
    """The features' kinds and the schema, planned on the executors from the first rows."""
    def plan(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for batch in batches:
            if len(batch):
                found = plan_columns(batch, columns, task)
                yield pd.DataFrame({"payload": [json.dumps(found)]})
                return

    plans = _collect(reference.limit(PLAN_ROWS).mapInPandas(plan, "payload string"))
    if not plans:
        raise DataError("reference table is empty: a profile needs at least one row")
    kinds, schema = json.loads(plans[0]["payload"])
    return _kinds(kinds), schema


def _first_pass(reference: Any, kinds: dict[str, Kind], columns: Columns,
                options: ProfileOptions) -> tuple[ProfilePartial, Sample]:
    """The merged first-pass statistics of every partition, and the merged sample."""
    def partition_pass(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        sample = Sample(SAMPLE_ROWS, _partition())
        merged = first_pass(_joined(batches), kinds, columns, options, sample=sample)
        if merged is not None:
            yield _row(merged.to_dict(), sample)

    rows = _collect(reference.mapInPandas(partition_pass, _PAYLOAD))
    merged = merge_all(ProfilePartial.from_dict(json.loads(row["payload"])) for row in rows)
    if merged is None:
        raise DataError("reference table is empty: a profile needs at least one row")
    return merged, _sample(rows)


def _second_pass(reference: Any, profile: Profile) -> tuple[Profile, np.ndarray | None]:
    """The profile with exact histograms, the PCA and predicted classes (see
    :func:`~mlflow_decay.engines.partials.with_counts`), counted on the executors, and the
    PCA's Gram matrix."""
    layout = pca_features(profile)
    first_json = profile.to_json().decode("utf-8")

    def second_pass(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        base = Profile.from_json(first_json)
        counts = merge_all(profile_counts(batch, base, pca=layout) for batch in _joined(batches))
        if counts is not None:
            yield pd.DataFrame({"payload": [json.dumps(counts.to_dict())]})

    counts = merge_all(ProfileCounts.from_dict(json.loads(row["payload"]))
                       for row in _collect(reference.mapInPandas(second_pass, "payload string")))
    assert counts is not None
    return with_counts(profile, counts, layout), counts.gram


def _bands(reference: Any, profile: Profile, chunks: int, pca_gram: np.ndarray | None
           ) -> dict[str, tuple[float, float, int]]:
    """Reference bands from chunks evaluated on the executors (with each chunk's PCA Gram
    matrix and column sums, for the held-out multivariate band): in ``timestamp_column``
    order when the profile has one (:func:`_time_chunks`), else consecutive rows within
    partitions (:func:`_partition_chunks`)."""
    if profile.timestamp_column is not None:
        found, rows = _time_chunks(reference, profile, chunks)
    else:
        found, rows = _partition_chunks(reference, profile, chunks)
    if len(found) < 3:
        return {}
    bands = bands_from_metrics([f["metrics"] for f in found], rows)
    moments = [f["gram"] for f in found if f["gram"] is not None]
    if pca_gram is not None and len(moments) == len(found):
        bands.update(held_out_band(profile, pca_gram, [np.asarray(g, dtype=float) for g, _ in moments],
                                   [np.asarray(s, dtype=float) for _, s in moments],
                                   [f["rows"] for f in found]))
    return bands


def _partition_chunks(reference: Any, profile: Profile, chunks: int
                      ) -> tuple[list[dict[str, Any]], int]:
    """The metrics (and PCA moments) of ``chunks`` chunks of consecutive rows within
    partitions, the first of each partition's, and their rows."""
    rows = min(profile.rows // max(chunks, 1), CHUNK_ROWS)
    if rows < 100:
        return [], rows
    per_partition = math.ceil(chunks / max(reference.rdd.getNumPartitions(), 1))
    profile_json = profile.to_json().decode("utf-8")

    def evaluate_chunks(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        base = Profile.from_json(profile_json)
        pending: list[pd.DataFrame] = []
        done = 0
        for batch in batches:
            pending.append(batch)
            while done < per_partition and sum(len(p) for p in pending) >= rows:
                table = pd.concat(pending, ignore_index=True)
                chunk, rest = table.iloc[:rows], table.iloc[rows:]
                yield pd.DataFrame({"payload": [json.dumps(
                    {"metrics": evaluate_window(base, chunk, workers=1).metrics,
                     "gram": _moments(base, chunk), "rows": rows})]})
                pending, done = [rest], done + 1
            if done >= per_partition:
                return

    return [json.loads(r["payload"]) for r in
            _collect(reference.mapInPandas(evaluate_chunks, "payload string"))][:chunks], rows


def _time_chunks(reference: Any, profile: Profile, chunks: int
                 ) -> tuple[list[dict[str, Any]], int]:
    """The metrics (and PCA moments) of the chunks a table in memory is cut into
    (:func:`~mlflow_decay.core.evaluation.band_chunk_rows` of its rows in
    ``timestamp_column`` order), and their rows. Two jobs: the times at the chunks' first and
    last ranks (Spark's ``approxQuantile``: exact up to ``EXACT_ROWS`` rows), then each
    partition's statistics of the rows of each chunk, merged per chunk on the driver. (The
    quantile at ``(r + 0.5) / rows`` is the time of rank ``r``, counted from 0: Spark's is
    the value of rank ``ceil(q * rows)`` counted from 1.)"""
    ranges = band_chunk_rows(profile.rows, chunks)
    if not ranges:
        return [], 0
    column = cast(str, profile.timestamp_column)
    frame, instants = _as_micros(reference, [column])

    def keys(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for batch in batches:
            yield pd.DataFrame({"t": _time_key(batch[column], column)})

    ranks = sorted({r for pair in ranges for r in pair if 0 < r < profile.rows})
    cuts = dict(zip(ranks, frame.select(column).mapInPandas(keys, "t double").approxQuantile(
        "t", [(r + 0.5) / profile.rows for r in ranks],
        0.0 if profile.rows <= EXACT_ROWS else QUANTILE_ERROR), strict=True))
    bounds = [(cuts.get(start, -np.inf), cuts.get(stop, np.inf)) for start, stop in ranges]
    profile_json = profile.to_json().decode("utf-8")

    def partials(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        base = Profile.from_json(profile_json)
        pieces: list[list[pd.DataFrame]] = [[] for _ in bounds]
        for batch in _joined(batches):
            key = _time_key(batch[column], column)
            for parts, (low, high) in zip(pieces, bounds, strict=True):
                inside = (key >= low) & (key < high)
                if inside.any():
                    parts.append(_as_times(batch[inside], instants))
        for index, parts in enumerate(pieces):
            if parts:
                part = window_partial(base, parts, seed=_partition(), fingerprint=False)
                assert part.stats is not None  # rows were given
                yield _row({"chunk": index, "stats": stats_to_dict(part.stats),
                            "gram": _moments(base, pd.concat(parts, ignore_index=True))},
                           part.sample)

    found: dict[int, list[Any]] = {}
    for row in _collect(frame.mapInPandas(partials, _PAYLOAD)):
        found.setdefault(json.loads(row["payload"])["chunk"], []).append(row)
    return [_merged_chunk(profile, found[index]) for index in sorted(found)], \
        ranges[0][1] - ranges[0][0]


def _merged_chunk(profile: Profile, parts: list[Any]) -> dict[str, Any]:
    """A chunk's metrics, PCA moments and rows from its partitions' partials (their rows of
    :func:`_row`)."""
    payloads = [json.loads(part["payload"]) for part in parts]
    stats = merge_all(stats_from_dict(p["stats"], profile) for p in payloads)
    assert stats is not None  # a partial per partition that held rows of the chunk
    grams = [p["gram"] for p in payloads]
    gram = None if any(g is None for g in grams) else [
        np.sum([g[0] for g in grams], axis=0).tolist(), np.sum([g[1] for g in grams], axis=0).tolist()]
    return {"metrics": finish_window(profile, stats, _sample(parts)).metrics, "gram": gram,
            "rows": stats.rows}


def _moments(profile: Profile, chunk: pd.DataFrame) -> list[list[Any]] | None:
    """A chunk's PCA Gram matrix and column sums (:func:`column_sums`) as JSON lists."""
    if profile.multivariate is None:
        return None
    gram, sums = column_sums(chunk, profile.multivariate.layout)
    return [gram.tolist(), sums.tolist()]


def _time_key(values: pd.Series, column: str) -> np.ndarray:
    """What orders rows in time (:func:`time_order`, numbers as they are), as floats: as a
    table in memory orders them for its band chunks, a missing time last."""
    order = time_order(values, column, numbers=True)
    if order.dtype.kind == "i":  # nanoseconds: NaT is the smallest int64
        order = np.where(order == np.iinfo(np.int64).min, np.nan, order.astype(float))
    return np.where(np.isnan(order), np.inf, order)


def evaluate_spark(profile: Profile, window: Any, policy: Policy = DEFAULT_POLICY,
                   fingerprint: bool = True, during: Span | None = None
                   ) -> tuple[Evaluation, bytes]:
    """Evaluate a Spark DataFrame window against ``profile`` on the executors; also the
    fingerprint of its rows (each partition's, merged: equal to the pandas path's for the same
    rows), ``b""`` with ``fingerprint=False``. ``during``: only the rows of that span of time."""
    for column in (*profile.features, *profile.prediction_columns,
                   *([profile.predicted_label] if profile.predicted_label else ())):
        require_column(window, column, "window")
    profile_json = profile.to_json().decode("utf-8")
    business = list(policy.business)
    columns = fingerprint_columns(profile, business) if fingerprint else None
    times = [c for c, kind in (columns or {}).items() if kind == "time"]
    window, instants = _as_micros(window, list(dict.fromkeys(
        times + ([during.column] if during else []))))
    if during is not None and during.column in instants:  # Spark skips the other rows' reads
        from pyspark.sql import functions

        micros = functions.col(during.column)
        window = window.filter((micros >= during.start // 1000)
                               & (micros < -(-during.end // 1000)))

    def partial(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        base = Profile.from_json(profile_json)
        digest = Fingerprint(columns) if columns is not None else None

        def read() -> Iterator[pd.DataFrame]:
            for batch in _joined(batches):
                batch = _as_times(batch, instants)
                if during is not None:
                    batch = batch[during.holds(batch)]
                if digest is not None:
                    digest.add(batch)
                yield batch

        part = window_partial(base, read(), business, seed=_partition(), fingerprint=False)
        if part.stats is not None:
            yield _row({"stats": stats_to_dict(part.stats),
                        "rows": None if digest is None else digest.to_dict()}, part.sample)

    rows = _collect(window.mapInPandas(partial, _PAYLOAD))
    payloads = [json.loads(row["payload"]) for row in rows]
    stats = merge_all(stats_from_dict(p["stats"], profile) for p in payloads)
    digests = merge_all(Fingerprint.from_dict(p["rows"], columns) for p in payloads
                        if p["rows"] is not None)
    return (finish_window(profile, stats, _sample(rows), policy),
            b"" if digests is None else digests.digest())


@dataclass(frozen=True)
class Span:
    """The rows of a Spark DataFrame whose ``column`` (read as :func:`timestamps` reads it, with
    ``unit``) falls in ``[start, end)``, UTC nanoseconds since 1970."""

    column: str
    unit: str | None
    start: int
    end: int

    def holds(self, batch: pd.DataFrame) -> np.ndarray:
        times = time_order(batch[self.column], self.column, self.unit)
        return (times >= self.start) & (times < self.end)


def spark_windows(frame: Any, cut: Cut) -> list[tuple[int, str, str, Span]]:
    """The windows of a fixed period over a Spark DataFrame, cut as windows read in batches
    are (whole periods from the midnight before the first time on the cut's clock; empty
    periods give none): each one's number, start, end and rows. Two jobs, reading the
    timestamp column only."""
    period = cut.fixed("windows of a Spark DataFrame")
    column, unit = cut.timestamp_column, cut.timestamp_unit
    assert period is not None and column is not None  # a period needs the column
    require_column(frame, column, "window")
    _naive_on_a_clock(frame, cut)
    times, instants = _as_micros(frame.select(column), [column])

    def read(batches: Iterator[pd.DataFrame]) -> Iterator[np.ndarray]:
        for batch in batches:
            if len(batch):
                values = _as_times(batch, instants)[column]
                yield clock_nanoseconds(timestamps(values, column, unit), cut.timezone)

    def first(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        found = [int(t.min()) for t in read(batches)]
        if found:
            yield pd.DataFrame({"payload": [str(min(found))]})

    starts = _collect(times.mapInPandas(first, "payload string"))
    if not starts:
        raise DataError("window is empty: it has no rows to evaluate")
    origin = pd.Timestamp(min(int(r["payload"]) for r in starts)).floor("D")  # on the clock

    def labels(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        seen: set[int] = set()
        for t in read(batches):
            seen.update(np.unique((t - origin.value) // period.value).tolist())
        yield pd.DataFrame({"payload": [json.dumps(sorted(seen))]})

    found = sorted({label for r in _collect(times.mapInPandas(labels, "payload string"))
                    for label in json.loads(r["payload"])})
    out = []
    for index, label in enumerate(found):
        start, end = cut.bounds(origin, period, label)
        out.append((index, start, end,
                    Span(column, unit, pd.Timestamp(start).value, pd.Timestamp(end).value)))
    return out


def _naive_on_a_clock(frame: Any, cut: Cut) -> None:
    """Warn as a table in memory does when windows are cut on a zone's clock from times
    without an offset (``TIMESTAMP_NTZ``, ``DATE``, or text, judged by a first value; a
    ``TIMESTAMP`` is an instant): a job reading one row, only then."""
    column = str(cut.timestamp_column)
    kind = {f.name: f.dataType.typeName() for f in frame.schema.fields}.get(column)
    if cut.timezone is None or kind not in ("timestamp_ntz", "date", "string"):
        return
    row = frame.select(column).where(frame[column].isNotNull()).first()
    if row is not None:
        warn_of_naive_times(pd.Series([row[0]]), cut)


def _as_micros(frame: Any, columns: list[str]) -> tuple[Any, list[str]]:
    """``frame`` with its ``TIMESTAMP`` columns among ``columns`` as microseconds since 1970,
    and their names: ``mapInPandas`` would hand them over as naive times in the session's
    time zone, which the fingerprint (like every naive time here) would read as UTC."""
    fields = {field.name: field.dataType.typeName() for field in frame.schema.fields}
    instants = [c for c in columns if fields.get(c) == "timestamp"]
    if instants:
        from pyspark.sql import functions

        frame = frame.withColumns({c: functions.unix_micros(functions.col(c)) for c in instants})
    return frame, instants


def _as_times(batch: pd.DataFrame, instants: list[str]) -> pd.DataFrame:
    """A batch with the columns :func:`_as_micros` sent as microseconds back as UTC times."""
    for name in instants:
        batch[name] = pd.to_datetime(batch[name], unit="us", utc=True)
    return batch


def _joined(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    """Consecutive batches joined into batches of the Parquet engine's size (``BATCH_VALUES``
    values): Spark hands ``mapInPandas`` 10,000 rows at a time (its Arrow batch size), and a
    batch's partials cost nearly as much whatever its size (a first pass of 50 columns took 8x
    as long in batches of 10,000 rows as in batches of 41,943)."""
    pending: list[pd.DataFrame] = []
    values = 0
    for batch in batches:
        pending.append(batch)
        values += batch.size
        if values >= BATCH_VALUES:
            yield pd.concat(pending, ignore_index=True) if len(pending) > 1 else pending[0]
            pending, values = [], 0
    if pending:
        yield pd.concat(pending, ignore_index=True) if len(pending) > 1 else pending[0]


def _collect(frame: Any) -> list[Any]:
    """Run a Spark job; an mlflow-decay error raised on an executor comes back as itself."""
    try:
        return list(frame.collect())
    except Exception as exc:
        text = str(exc)
        for kind in (DataError, ProfileError):
            marker = f"{kind.__module__}.{kind.__name__}: "
            if marker in text:
                raise kind(text.split(marker, 1)[1].splitlines()[0]) from None
        raise


def _row(payload: dict[str, Any], sample: Sample) -> pd.DataFrame:
    return pd.DataFrame({"payload": [json.dumps(payload)], "sample": [sample.to_bytes()],
                         "seen": [sample.seen]})


def _sample(rows: list[Any]) -> Sample:
    """The merged sample of the partitions' rows (see :func:`_row`)."""
    return merge_all((Sample.from_bytes(row["sample"], int(row["seen"])) for row in rows),
                     Sample(SAMPLE_ROWS))


def _kinds(kinds: dict[str, Any]) -> dict[str, Kind]:
    return {str(k): v for k, v in kinds.items()}


def _partition() -> int:
    """This task's partition number (seeds each partition's sample differently)."""
    from pyspark import TaskContext

    context = TaskContext.get()
    return context.partitionId() + 1 if context is not None else 0
