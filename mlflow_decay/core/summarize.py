"""Building profiles from a table in memory, and merging the profiles of its parts."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import replace
from functools import partial

import numpy as np
import pandas as pd

from ..errors import DataError, ProfileError
from ..stats import sketch
from ..stats.multivariate import Layout, PCAModel, gram, pca_from_gram, pca_inputs
from ..stats.schema import Kind, category_counts, sorted_finite, to_numeric
from .columns import Columns, ProfileOptions, feature_notes, plan_columns
from .frames import predicted_classes, prediction_values
from .parallel import run_all
from .profile import (
    EXACT_VALUES,
    HISTOGRAM_PROBS,
    QUANTILE_PROBS,
    TOP_K,
    CategoricalSummary,
    NumericSummary,
    Profile,
    Summary,
)
from .supervision import Supervision, supervise
from .times import time_order


def summarize_numeric(values: np.ndarray) -> NumericSummary:
    """Summarise a float array (NaN missing, ±inf counted apart)."""
    finite, missing, infinite = sorted_finite(values)
    n = len(finite)
    if n == 0:
        return NumericSummary(count=0, missing=missing, infinite=infinite)
    changes = finite[1:] != finite[:-1]
    starts = (np.concatenate(([0], np.flatnonzero(changes) + 1))
              if np.count_nonzero(changes) < EXACT_VALUES else None)
    if starts is not None:  # the exact distribution is stored; base quantiles suffice
        quantiles = tuple(sketch.round_value(v)
                          for v in finite[sketch.quantile_index(QUANTILE_PROBS, n)])
        extra: tuple[tuple[float, float], ...] = ()
    else:
        quantiles, extra = sketch.from_sorted(finite)
    distinct = tuple(float(v) for v in finite[starts]) if starts is not None else ()
    edges = _histogram_edges(quantiles, distinct)
    counts = bin_counts(finite, np.asarray(edges))
    return NumericSummary(
        count=n, missing=missing, infinite=infinite,
        min=float(finite[0]), max=float(finite[-1]),
        mean=float(finite.mean()), std=_spread(float(finite.std()), finite[0], finite[-1]),
        quantiles=quantiles, edges=edges, counts=tuple(int(c) for c in counts),
        values=distinct,
        value_counts=tuple(int(c) for c in np.diff(np.append(starts, n)))
        if starts is not None else (),
        extra_knots=extra,
    )


#: A numerical column of at most this many distinct values gets one PSI/JS bin per value.
PER_VALUE_BINS = len(HISTOGRAM_PROBS) + 1


def _histogram_edges(quantiles: Sequence[float], values: Sequence[float] = ()
                     ) -> tuple[float, ...]:
    """PSI's and JS's bin edges: the reference deciles, or :func:`_per_value_edges` for a
    column of at most 10 distinct ``values``."""
    per_value = _per_value_edges(values)
    if per_value is not None:
        return per_value
    return tuple(sorted({quantiles[QUANTILE_PROBS.index(p)] for p in HISTOGRAM_PROBS}))


def _per_value_edges(values: Sequence[float]) -> tuple[float, ...] | None:
    """One bin per value of a column of 1 to 10 distinct ``values`` (integer predictions,
    ratings, a constant), and one each for values below and above them: deciles put the
    values from the 90th percentile up in one bin (a rating model's 4s and 5s; the whole
    of a constant column), so a move between them, or above them, read as no drift."""
    if not 0 < len(values) <= PER_VALUE_BINS:
        return None
    return (*values, float(np.nextafter(values[-1], np.inf)))


def bin_counts(sorted_values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Counts of sorted values in the bins ``(-inf, e1), [e1, e2), ..., [ek, inf)``."""
    cuts = np.searchsorted(sorted_values, edges, side="left")
    return np.diff(np.concatenate(([0], cuts, [len(sorted_values)])))


def summarize_categorical(series: pd.Series, top_k: int = TOP_K, min_count: int = 1
                          ) -> CategoricalSummary:
    """Summarise a column by category frequency, keeping the ``top_k`` most frequent values
    seen at least ``min_count`` times; the others are counted as "other"."""
    counts, missing = category_counts(series)
    return _categorical_from_counts(counts, missing, top_k, min_count)


def _categorical_from_counts(counts: dict[str, int], missing: int, top_k: int,
                             min_count: int = 1) -> CategoricalSummary:
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    kept = [(k, c) for k, c in ordered if c >= min_count][:top_k]
    total = sum(counts.values())
    return CategoricalSummary(
        count=total, missing=missing,
        categories=tuple(k for k, _ in kept), counts=tuple(c for _, c in kept),
        other=total - sum(c for _, c in kept),
    )


def fold_rare(summary: Summary, min_count: int, top_k: int = TOP_K) -> Summary:
    """A categorical summary keeping its ``top_k`` categories seen at least ``min_count`` times,
    the rest folded into "other" (for merged summaries; numerical ones are returned as they are)."""
    if not isinstance(summary, CategoricalSummary):
        return summary
    folded = _categorical_from_counts(dict(zip(summary.categories, summary.counts, strict=True)),
                                      summary.missing, top_k, min_count)
    return replace(folded, count=summary.count, other=summary.count - sum(folded.counts))


def summarize(series: pd.Series, kind: Kind, column: str, top_k: int = TOP_K,
              min_count: int = 1) -> Summary:
    """Summarise one column as the given kind."""
    if kind == "numerical":
        return summarize_numeric(to_numeric(series, column))
    return summarize_categorical(series, top_k, min_count)


# -- building ---------------------------------------------------------------------------------
def build_profile(reference: pd.DataFrame, columns: Columns, options: ProfileOptions) -> Profile:
    """The reference profile of a table in memory, its columns playing the ``columns`` roles.

    The core of :func:`mlflow_decay.engines.dispatch.build_profile` (``md.build_profile``),
    which documents the roles and options, and also reads paths and Spark DataFrames.
    """
    options.check()
    if not isinstance(reference, pd.DataFrame):
        raise DataError(f"reference must be a pandas DataFrame here, got {type(reference).__name__} "
                        "(md.build_profile also reads paths and Spark DataFrames)")
    if len(reference) == 0:
        raise DataError("reference table is empty: a profile needs at least one row")
    task, target = options.task, columns.target
    kinds, schema = plan_columns(reference, columns, task)
    summaries = summarize_columns(reference, kinds, min_count=options.min_category_count)

    target_summary = summarize_target(reference[target], target, task) if target else None
    numerical = [n for n, s in summaries.items() if isinstance(s, NumericSummary)]
    known = supervise(reference, columns, options, target_summary=target_summary,
                      numerical=numerical,
                      categorical=[n for n in summaries if n not in set(numerical)])
    layout = pca_layout(summaries)
    pca_gram = gram(reference, layout) if layout.width >= 2 else None
    profile = new_profile(
        columns, options, known, features=summaries, schema=schema, rows=len(reference),
        prediction_summary=_prediction_summary(reference, columns.prediction_columns, task,
                                               known.classes, options.prediction_kind),
        target_summary=target_summary,
        multivariate=None if pca_gram is None else pca_from_gram(pca_gram, layout, len(reference)),
        notes=feature_notes(reference, kinds, columns) if columns.features is None else ())
    if options.band_chunks <= 0:
        return profile
    from .evaluation import reference_bands  # evaluation builds on profiles; bands need both

    ordered = reference
    timestamp_column = columns.timestamp_column
    if timestamp_column:  # in time order (text parsed as the monitor parses it)
        ordered = reference.iloc[np.argsort(time_order(
            reference[timestamp_column], timestamp_column, numbers=True), kind="stable")]
    return replace(profile, bands=reference_bands(profile, ordered, options.band_chunks,
                                                  pca_gram=pca_gram))


def pca_layout(features: Mapping[str, Summary]) -> Layout:
    """The columns of a profile's PCA (:func:`~mlflow_decay.stats.multivariate.pca_inputs`):
    its numerical features with their moments, and its categorical features' level shares."""
    numeric = {n: (s.mean, s.std) for n, s in features.items() if isinstance(s, NumericSummary)}
    shares = {n: [(c, k / s.count) for c, k in zip(s.categories, s.counts, strict=True)]
              for n, s in features.items() if isinstance(s, CategoricalSummary) and s.count}
    return pca_inputs(list(numeric), numeric, shares)


def new_profile(columns: Columns, options: ProfileOptions, known: Supervision, *,
                features: dict[str, Summary], schema: dict[str, str], rows: int,
                prediction_summary: Summary | None, target_summary: Summary | None,
                multivariate: PCAModel | None = None, notes: tuple[str, ...] = ()) -> Profile:
    """The profile of a table whose columns play the ``columns`` roles, built with ``options``:
    its summaries, and what supervision found (``notes`` come before the supervision's)."""
    pred_cols = columns.prediction_columns
    return Profile(
        task=options.task, features=features, schema=schema, rows=rows, target=columns.target,
        prediction=(pred_cols[0] if options.task != "multiclass" else tuple(pred_cols))
        if pred_cols else None,
        classes=known.classes, positive_label=known.positive_label, threshold=options.threshold,
        prediction_kind=options.prediction_kind, predicted_label=columns.predicted_label,
        prediction_summary=prediction_summary, target_summary=target_summary,
        performance=known.performance, id_column=columns.id_column,
        timestamp_column=columns.timestamp_column, calibrations=known.calibrations,
        estimated_performance=known.estimated, multivariate=multivariate,
        loss_models=known.loss_models, min_category_count=options.min_category_count,
        notes=(*notes, *known.notes))


def summarize_target(series: pd.Series, target: str, task: str) -> Summary:
    """The label distribution: numerical for regression, else every class's count."""
    if task == "regression":
        return summarize_numeric(to_numeric(series, target))
    return summarize_categorical(series, top_k=10**6)


def summarize_columns(frame: pd.DataFrame, kinds: dict[str, Kind], top_k: int = TOP_K,
                      min_count: int = 1) -> dict[str, Summary]:
    """Summaries of the given columns, one thread per column."""
    return run_all({name: partial(summarize, frame[name], kind, name, top_k, min_count)
                    for name, kind in kinds.items()})


def _prediction_summary(frame: pd.DataFrame, pred_cols: list[str], task: str,
                        classes: tuple[str, ...], kind: str = "probability") -> Summary | None:
    if not pred_cols:
        return None
    values = prediction_values(frame, pred_cols, task, kind)
    if task == "multiclass":
        return summarize_categorical(predicted_classes(values, classes))
    return summarize_numeric(values)


# -- merging ----------------------------------------------------------------------------------
def merge_profiles(a: Profile, b: Profile) -> Profile:
    """Merge the profiles of two disjoint parts of one table into the profile of the whole.

    Counts, histograms (on equal edges), moments, minima/maxima and category frequencies merge
    exactly; quantile sketches merge through the mixture CDF (within the sketch's tolerance).
    Reference performance is averaged by row count, which is approximate for ranking metrics;
    the first profile's calibration maps, loss models, PCA and reference bands are kept.
    """
    for profile in (a, b):  # a DataFrame or None was an AttributeError
        if not isinstance(profile, Profile):
            raise ProfileError(f"merge_profiles(a, b) merges two Profiles, got "
                               f"{type(profile).__name__}")
    if (a.task, a.target, a.prediction, a.classes, sorted(a.features), a.threshold,
            a.prediction_kind, a.predicted_label) != (
        b.task, b.target, b.prediction, b.classes, sorted(b.features), b.threshold,
            b.prediction_kind, b.predicted_label
    ):
        raise ProfileError("profiles describe different tables (task, columns, classes or how "
                           "outputs are read differ)")
    features = {name: merge_summaries(a.features[name], b.features[name]) for name in a.features}
    return replace(
        a, rows=a.rows + b.rows, features=features,
        performance=_weighted(a.performance, a.rows, b.performance, b.rows),
        estimated_performance=_weighted(a.estimated_performance, a.rows,
                                        b.estimated_performance, b.rows),
        prediction_summary=merge_optional(a.prediction_summary, b.prediction_summary),
        target_summary=merge_optional(a.target_summary, b.target_summary),
    )


def _weighted(a: dict[str, float], na: int, b: dict[str, float], nb: int) -> dict[str, float]:
    return {k: (a[k] * na + b[k] * nb) / (na + nb) for k in a if k in b}


def merge_optional(a: Summary | None, b: Summary | None) -> Summary | None:
    if a is None or b is None:
        return a or b
    return merge_summaries(a, b)


def merge_summaries(a: Summary, b: Summary) -> Summary:
    """Merge two summaries of the same column."""
    if isinstance(a, CategoricalSummary) and isinstance(b, CategoricalSummary):
        counts = dict(zip(a.categories, a.counts, strict=True))
        for k, c in zip(b.categories, b.counts, strict=True):
            counts[k] = counts.get(k, 0) + c
        merged = _categorical_from_counts(counts, a.missing + b.missing,
                                          max(len(a.categories), len(b.categories), TOP_K))
        return replace(merged, other=merged.other + a.other + b.other)
    if isinstance(a, NumericSummary) and isinstance(b, NumericSummary):
        return _merge_numeric(a, b)
    raise ProfileError("cannot merge a numerical and a categorical summary of one column")


def _spread(std: float, low: float, high: float) -> float:
    """The standard deviation, exactly 0 for a column of one value: computed, it can be a
    rounding error (0.3 in 2,000 rows gives 1.1e-16, 0.37 in 3,000 gives 0), which drift
    distances and the PCA would divide by."""
    return 0.0 if low == high else std


def _merge_numeric(a: NumericSummary, b: NumericSummary) -> NumericSummary:
    if a.count == 0 or b.count == 0:
        base = b if a.count == 0 else a
        return replace(base, missing=a.missing + b.missing, infinite=a.infinite + b.infinite)
    assert a.mean is not None and b.mean is not None and a.std is not None and b.std is not None
    assert a.min is not None and b.min is not None and a.max is not None and b.max is not None
    low, high = min(a.min, b.min), max(a.max, b.max)
    n = a.count + b.count
    mean = (a.mean * a.count + b.mean * b.count) / n
    m2 = a.std**2 * a.count + b.std**2 * b.count + (b.mean - a.mean) ** 2 * a.count * b.count / n
    quantiles, extra = sketch.merged((*a.knots(), a.count), (*b.knots(), b.count))
    exact: dict[float, int] = {}
    if a.values and b.values:
        for v, c in (*zip(a.values, a.value_counts, strict=True),
                     *zip(b.values, b.value_counts, strict=True)):
            exact[v] = exact.get(v, 0) + c
    keep = 0 < len(exact) <= EXACT_VALUES
    per_value = _per_value_edges(sorted(exact)) if keep else None  # whatever the parts had
    if a.edges == b.edges and per_value in (None, a.edges):
        edges, counts = a.edges, tuple(x + y for x, y in zip(a.counts, b.counts, strict=True))
    else:
        edges = per_value or _histogram_edges(quantiles)
        cum = [_cum_count(a, e) + _cum_count(b, e) for e in edges]
        counts = tuple(int(x) for x in np.diff([0, *cum, n]))
    return NumericSummary(
        count=n, missing=a.missing + b.missing, infinite=a.infinite + b.infinite,
        min=low, max=high,
        mean=mean, std=_spread(math.sqrt(max(m2 / n, 0.0)), low, high),
        quantiles=quantiles, edges=edges, counts=counts,
        values=tuple(sorted(exact)) if keep else (),
        value_counts=tuple(exact[v] for v in sorted(exact)) if keep else (),
        extra_knots=() if keep else extra,
    )


def _cum_count(s: NumericSummary, edge: float) -> int:
    return round(float(s.cdf(np.asarray([edge]), side="left")[0]) * s.count)
