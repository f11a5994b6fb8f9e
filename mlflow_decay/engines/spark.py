"""PySpark DataFrames: partial statistics on the executors, merged on the driver.

:func:`~mlflow_decay.engines.dispatch.build_profile` and :func:`~mlflow_decay.api.evaluate` accept a
PySpark DataFrame. Each partition's rows go through the same functions as the out-of-core path
(:mod:`mlflow_decay.engines.parquet`) inside ``mapInPandas``; the partials travel to the driver as JSON
(and a partition's sample rows as Parquet bytes) and merge there. A partial is O(features x grid)
whatever the partition's size and merging is associative, so the work scales with the executors
and the driver's share stays small.

What reaches the driver: the partials; column kinds inferred on the executors from the first
``PLAN_ROWS`` rows; the metrics of the reference band chunks (evaluated on the executors); and
a uniform sample of at most ``SAMPLE_ROWS`` rows of the label and model-output columns (for
regression also the numerical features), on which the calibration and the reference performance
are fitted. Band chunks are consecutive rows *within* partitions, since a Spark DataFrame has no
global row order. Executors need mlflow-decay installed (``pip install mlflow-decay[spark]``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import Any

import pandas as pd

from ..core.columns import plan_columns
from ..core.evaluation import Evaluation, bands_from_metrics, evaluate_window
from ..core.frames import require_column
from ..core.policy import DEFAULT_POLICY, Policy
from ..core.profile import MIN_CATEGORY_COUNT, PredictionKind, Profile, Task
from ..core.window import WindowStats, merge_stats, stats_from_dict, stats_to_dict
from ..errors import DataError, ProfileError
from ..stats.schema import Kind
from .partials import (
    SAMPLE_ROWS,
    ProfileCounts,
    ProfilePartial,
    Sample,
    finish_window,
    first_pass,
    first_pass_profile,
    pca_features,
    profile_counts,
    window_partial,
    with_counts,
)

#: Rows the column kinds are inferred from.
PLAN_ROWS = 10_000
#: Rows of each reference band chunk (at most).
CHUNK_ROWS = 25_000
_PAYLOAD = "payload string, sample binary, seen long"


def build_profile_spark(reference: Any, *, target: str | None = None,
                        prediction: str | Sequence[str] | None = None, task: Task = "binary",
                        features: Sequence[str] | None = None,
                        categorical: Sequence[str] | None = None,
                        numerical: Sequence[str] | None = None, id_column: str | None = None,
                        timestamp_column: str | None = None, classes: Sequence[str] | None = None,
                        positive_label: str | None = None, band_chunks: int = 10,
                        min_category_count: int = MIN_CATEGORY_COUNT,
                        exclude: Sequence[str] | None = None, threshold: float = 0.5,
                        prediction_kind: PredictionKind = "probability",
                        predicted_label: str | None = None) -> Profile:
    """The profile of a Spark DataFrame (options of :func:`~mlflow_decay.engines.dispatch.build_profile`)."""
    options: dict[str, Any] = dict(
        target=target, prediction=prediction, task=task, features=features,
        categorical=categorical, numerical=numerical, id_column=id_column,
        timestamp_column=timestamp_column, exclude=exclude, predicted_label=predicted_label)
    # names on the driver (no rows), kinds on the executors from the first rows
    preds = [prediction] if isinstance(prediction, str) else list(prediction or ())
    for column in (target, id_column, timestamp_column, predicted_label, *preds,
                   *(features or ()), *(exclude or ()), *(categorical or ()), *(numerical or ())):
        if column is not None:
            require_column(reference, column, "reference")

    def plan(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for batch in batches:
            if len(batch):
                found = plan_columns(batch, **options)
                yield pd.DataFrame({"payload": [json.dumps(found)]})
                return

    plans = _collect(reference.limit(PLAN_ROWS).mapInPandas(plan, "payload string"))
    if not plans:
        raise DataError("reference table is empty: a profile needs at least one row")
    pred_cols, kinds, schema = json.loads(plans[0]["payload"])
    kinds = {str(k): v for k, v in kinds.items()}

    def partition_pass(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        sample = Sample(SAMPLE_ROWS, _partition())
        merged = first_pass(batches, _kinds(kinds), target=target, pred_cols=pred_cols,
                            task=task, sample=sample, prediction_kind=prediction_kind,
                            predicted_label=predicted_label)
        if merged is not None:
            yield _row(merged.to_dict(), sample)

    merged: ProfilePartial | None = None
    sample = Sample(SAMPLE_ROWS)
    for row in _collect(reference.mapInPandas(partition_pass, _PAYLOAD)):
        part = ProfilePartial.from_dict(json.loads(row["payload"]))
        merged = part if merged is None else merged.merge(part)
        sample = sample.merge(Sample.from_bytes(row["sample"], int(row["seen"])))
    if merged is None:
        raise DataError("reference table is empty: a profile needs at least one row")
    profile = first_pass_profile(
        merged, sample, kinds=_kinds(kinds), schema=schema, target=target, pred_cols=pred_cols,
        task=task, classes=classes, positive_label=positive_label, id_column=id_column,
        timestamp_column=timestamp_column, min_category_count=min_category_count,
        threshold=threshold, prediction_kind=prediction_kind, predicted_label=predicted_label)
    names, mean, scale = pca_features(profile)
    first_json = profile.to_json().decode("utf-8")

    def second_pass(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        base = Profile.from_json(first_json)
        counts: ProfileCounts | None = None
        for batch in batches:
            part = profile_counts(batch, base, pca=(names, mean) if len(names) >= 2 else None)
            counts = part if counts is None else counts.merge(part)
        if counts is not None:
            yield pd.DataFrame({"payload": [json.dumps(counts.to_dict())]})

    counts: ProfileCounts | None = None
    for row in _collect(reference.mapInPandas(second_pass, "payload string")):
        found = ProfileCounts.from_dict(json.loads(row["payload"]))
        counts = found if counts is None else counts.merge(found)
    assert counts is not None
    profile = with_counts(profile, counts, names, mean, scale)
    if band_chunks <= 0:
        return profile
    return replace(profile, bands=_bands(reference, profile, band_chunks))


def _bands(reference: Any, profile: Profile, chunks: int) -> dict[str, tuple[float, float, int]]:
    """Reference bands from chunks of consecutive rows within partitions, evaluated there."""
    rows = min(profile.rows // max(chunks, 1), CHUNK_ROWS)
    if rows < 100:
        return {}
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
                metrics = evaluate_window(base, chunk, workers=1).metrics
                yield pd.DataFrame({"payload": [json.dumps(metrics)]})
                pending, done = [rest], done + 1
            if done >= per_partition:
                return

    found = [json.loads(r["payload"]) for r in
             _collect(reference.mapInPandas(evaluate_chunks, "payload string"))][:chunks]
    return bands_from_metrics(found, rows) if len(found) >= 3 else {}


def evaluate_spark(profile: Profile, window: Any, policy: Policy = DEFAULT_POLICY) -> Evaluation:
    """Evaluate a Spark DataFrame window against ``profile`` on the executors."""
    for column in (*profile.features, *profile.prediction_columns,
                   *([profile.predicted_label] if profile.predicted_label else ())):
        require_column(window, column, "window")
    profile_json = profile.to_json().decode("utf-8")
    business = list(policy.business)

    def partial(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        base = Profile.from_json(profile_json)
        part = window_partial(base, batches, business, seed=_partition())
        if part.stats is not None:
            yield _row(stats_to_dict(part.stats), part.sample)

    stats: WindowStats | None = None
    sample = Sample(SAMPLE_ROWS)
    for row in _collect(window.mapInPandas(partial, _PAYLOAD)):
        part = stats_from_dict(json.loads(row["payload"]), profile)
        stats = part if stats is None else merge_stats([stats, part])
        sample = sample.merge(Sample.from_bytes(row["sample"], int(row["seen"])))
    return finish_window(profile, stats, sample, policy)


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


def _kinds(kinds: dict[str, Any]) -> dict[str, Kind]:
    return {str(k): v for k, v in kinds.items()}


def _partition() -> int:
    """This task's partition number (seeds each partition's sample differently)."""
    from pyspark import TaskContext

    context = TaskContext.get()
    return context.partitionId() + 1 if context is not None else 0
