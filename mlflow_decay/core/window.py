"""Mergeable statistics of a production window, counted on a grid fixed by the profile.

Every drift and quality metric of a window is a function of a few counts. For a numerical
column they are taken on a *grid* fixed by its reference summary (the sketch's knots, the
histogram edges, the reference min/max and its ``1/GRID`` quantiles): the number of finite
values below and at or below each grid point, and the sum of the values in each gap between
neighbouring points. For a categorical column they are the category counts. Counts of two
parts of a window add up to the counts of the whole (:func:`merge_stats`), so one set of
statistics serves a table in memory, a stream of Parquet record batches and the partitions
of a Spark DataFrame, and the metrics do not depend on how the window was split.

Computing them sorts each numerical column once (numpy's vectorised sort, about 5 ms per
million values) and locates the grid in the sorted array; everything after that is in the size
of the grid. Columns are processed on a thread pool: sorting releases the GIL.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache, partial
from typing import Any

import numpy as np
import pandas as pd

from ..errors import DataError
from ..stats import sketch
from ..stats.schema import (
    Factorized,
    category_counts,
    factorized_counts,
    is_nested,
    map_labels,
    sorted_finite,
    to_numeric,
    value_aligned,
)
from .mergeable import merge_all
from .parallel import run_all
from .profile import CategoricalSummary, NumericSummary, Profile, Summary

#: The grid holds the reference's ``i / GRID`` quantiles: between two grid points the reference
#: has at most ``1 / GRID`` of its mass, which bounds the error of KS computed on the grid.
GRID = 4096


def grid(ref: NumericSummary) -> np.ndarray:
    """The sorted points at which a window's values are counted against ``ref``."""
    return reference_on_grid(ref)[0]


@lru_cache(maxsize=1024)
def reference_on_grid(ref: NumericSummary) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``ref``'s grid and the reference CDF on both sides of each point, ``(grid, F, F-)``;
    computed once per summary (read-only arrays, cached: a monitor reuses one profile)."""
    if not ref.count:
        out = (np.empty(0), np.empty(0), np.empty(0))
    else:
        assert ref.min is not None and ref.max is not None
        xs, ps = ref.knots()
        inner = sketch.invert(xs, ps, np.arange(1, GRID) / GRID)
        points = np.unique(np.concatenate([xs, np.asarray(ref.edges, dtype=float), inner,
                                           [ref.min, ref.max]]))
        out = (points, *ref.cdf_both(points))
    for array in out:
        array.flags.writeable = False
    return out


@dataclass
class NumericStats:
    """Counts of one numerical column of a window on its reference grid.

    ``below[j]`` and ``through[j]`` count the finite values ``< grid[j]`` and ``<= grid[j]``;
    ``sums`` holds the sum of the finite values in each gap: below ``grid[0]``, strictly
    between neighbouring points, and above ``grid[-1]`` (``len(grid) + 1`` entries).
    """

    grid: np.ndarray
    rows: int
    missing: int
    infinite: int
    below: np.ndarray
    through: np.ndarray
    sums: np.ndarray

    @property
    def count(self) -> int:
        """Finite values."""
        return self.rows - self.missing - self.infinite

    def gap_counts(self) -> np.ndarray:
        """Finite values in each gap (as in ``sums``)."""
        return np.concatenate((self.below, [self.count])) - np.concatenate(([0], self.through))

    def histogram(self, edges: Sequence[float] | np.ndarray) -> np.ndarray:
        """Counts in the bins ``(-inf, e1), [e1, e2), ..., [ek, inf)`` of edges on the grid
        (a profile's histogram edges are)."""
        cuts = self.below[np.searchsorted(self.grid, np.asarray(edges, dtype=float))]
        return np.diff(np.concatenate(([0], cuts, [self.count])))

    def merge(self, other: NumericStats) -> NumericStats:
        if not np.array_equal(self.grid, other.grid):
            raise DataError("window statistics were counted on different grids "
                            "(computed against different profiles)")
        return NumericStats(self.grid, self.rows + other.rows, self.missing + other.missing,
                            self.infinite + other.infinite, self.below + other.below,
                            self.through + other.through, self.sums + other.sums)


@dataclass
class CategoricalStats:
    """Category counts of one categorical column of a window."""

    rows: int
    missing: int
    counts: dict[str, int]

    @property
    def count(self) -> int:
        return self.rows - self.missing

    def merge(self, other: CategoricalStats) -> CategoricalStats:
        counts = dict(self.counts)
        for key, value in other.counts.items():
            counts[key] = counts.get(key, 0) + value
        return CategoricalStats(self.rows + other.rows, self.missing + other.missing, counts)


ColumnStats = NumericStats | CategoricalStats


def numeric_stats(ref: NumericSummary, values: np.ndarray) -> NumericStats:
    """Statistics of a float array (NaN missing, ±inf counted apart) on ``ref``'s grid."""
    points = grid(ref)
    finite, missing, infinite = sorted_finite(values)
    below = np.searchsorted(finite, points, side="left")
    through = below.copy()  # differs from ``below`` only at grid points the window holds
    held = np.flatnonzero(finite[np.minimum(below, len(finite) - 1)] == points) if len(finite) \
        else np.empty(0, dtype=np.intp)
    through[held] = np.searchsorted(finite, points[held], side="right")
    return NumericStats(points, len(values), missing, infinite, below, through,
                        _gap_sums(finite, below, through))


def _gap_sums(ordered: np.ndarray, below: np.ndarray, through: np.ndarray) -> np.ndarray:
    """Sums of ``ordered[start:end]`` over the gaps ``[0, below[0]), [through[j], below[j+1]),
    ..., [through[-1], n)`` in one pass (``np.add.reduceat`` on the non-empty gaps)."""
    starts = np.concatenate(([0], through))
    ends = np.concatenate((below, [len(ordered)]))
    sums = np.zeros(len(starts))
    full = np.flatnonzero(ends > starts)
    if len(full):
        bounds = np.column_stack([starts[full], ends[full]]).ravel()
        if bounds[-1] == len(ordered):
            bounds = bounds[:-1]
        sums[full] = np.add.reduceat(ordered, bounds)[::2]
    return sums


def categorical_stats(series: pd.Series, factorized: tuple[np.ndarray, Any] | None = None
                      ) -> CategoricalStats:
    """Category counts of a column (from ``factorized``, its ``pd.factorize``, when given and
    the column is not a pandas categorical, whose unobserved categories count 0)."""
    if factorized is not None and not isinstance(series.dtype, pd.CategoricalDtype):
        counts, missing = factorized_counts(*factorized)
    else:
        counts, missing = category_counts(series)
    return CategoricalStats(len(series), missing, counts)


def column_stats(ref: Summary, series: pd.Series, column: str,
                 shared: Factorized | None = None) -> ColumnStats:
    """Statistics of one window column against its reference summary's kind (``shared``
    hashes a categorical column once for whoever else reads it)."""
    if isinstance(ref, NumericSummary):
        return numeric_stats(ref, to_numeric(series, column))
    return categorical_stats(series, shared(column) if shared is not None else None)


@dataclass
class WindowStats:
    """Everything drift, quality and multivariate metrics need from a window; mergeable.

    ``multivariate`` is the sum of the rows' PCA reconstruction errors; ``business`` maps each
    KPI column to the mean and count of its finite values (means, not sums: the sum of values
    near the largest float overflows); ``nested`` names the columns the profile does not use
    that hold nested values (lists, structs, maps).
    """

    rows: int
    features: dict[str, ColumnStats]
    prediction: ColumnStats | None = None
    target: ColumnStats | None = None
    multivariate: float | None = None
    business: dict[str, tuple[float, int]] = field(default_factory=dict)
    columns: tuple[str, ...] = ()
    nested: tuple[str, ...] = ()

    def merge(self, other: WindowStats) -> WindowStats:
        """The statistics of this part and another, disjoint part of one window."""
        if self.features.keys() != other.features.keys():
            raise DataError("window statistics hold different features")
        return replace(
            self, rows=self.rows + other.rows,
            features={name: _merge_column(s, other.features[name])
                      for name, s in self.features.items()},
            prediction=_merge_optional(self.prediction, other.prediction),
            target=_merge_optional(self.target, other.target),
            multivariate=(None if self.multivariate is None or other.multivariate is None
                          else self.multivariate + other.multivariate),
            business={k: _merge_means(v, other.business[k]) for k, v in self.business.items()
                      if k in other.business},
            columns=tuple(dict.fromkeys((*self.columns, *other.columns))),
            nested=tuple(dict.fromkeys((*self.nested, *other.nested))),
        )


def window_stats(profile: Profile, window: pd.DataFrame, *, business: Sequence[str] = (),
                 prediction: pd.Series | None = None, workers: int | None = None) -> WindowStats:
    """Count a window's features (and ``prediction``, its target, ``business`` KPI columns).

    Parameters
    ----------
    profile : Profile
    window : DataFrame
        Must hold every feature of the profile (checked by the caller).
    business : list of str
        KPI columns to sum (those absent from the window are skipped).
    prediction : Series, optional
        The model output as the profile summarises it (scores, or predicted classes).
    workers : int, optional
        Threads for the per-column work (default: the machine's cores).
    """
    results = run_all(stats_tasks(profile, window, prediction), workers)
    return collect_stats(profile, window, results, business)


def stats_tasks(profile: Profile, window: pd.DataFrame, prediction: pd.Series | None = None,
                columns: Mapping[str, pd.Series] | None = None) -> dict[str, Callable[[], Any]]:
    """The independent pieces of :func:`window_stats`, to run on a pool (the PCA's first:
    it is the longest); :func:`collect_stats` puts their results together. ``columns``: the
    window's columns already read from it (the others are read here)."""
    read = dict(columns or {})
    wanted = [*profile.features]
    if profile.target is not None and profile.target in window.columns:
        wanted.append(profile.target)
    read.update({name: window[name] for name in wanted if name not in read})
    for name, ref in profile.features.items():  # 1 and '1.0', True and 1: one category
        if isinstance(ref, CategoricalSummary):
            read[name] = value_aligned(read[name], ref.categories)
    jobs: dict[str, tuple[Summary, pd.Series, str]] = {
        f"feature:{name}": (ref, read[name], name) for name, ref in profile.features.items()}
    if prediction is not None and profile.prediction_summary is not None:
        jobs["prediction"] = (profile.prediction_summary, prediction, "prediction")
    if (profile.target is not None and profile.target_summary is not None
            and profile.target in window.columns):
        labels = read[profile.target]
        if profile.classes:  # counted as the profile's classes (1, 1.0, '1' and True are one)
            labels = pd.Series(map_labels(labels, profile.classes, profile.target), dtype=object)
        jobs["target"] = (profile.target_summary, labels, profile.target)
    # the categorical columns the PCA reads are hashed once, for their counts and their levels
    pca = profile.multivariate
    shared = Factorized(read) if pca is not None and pca.categorical else None
    hashed = {f"feature:{name}" for name, _ in pca.categorical} if pca is not None else set()
    tasks: dict[str, Callable[[], Any]] = {}
    if pca is not None:
        tasks["multivariate"] = partial(pca.error_sum, window, shared, read)
    # the columns the PCA hashes come last: counted before it hashed them, their tasks would
    # wait for its thread (or hash them first and hold it up)
    for key in sorted(jobs, key=lambda key: key in hashed):
        tasks[key] = partial(column_stats, *jobs[key], shared if key in hashed else None)
    return tasks


def collect_stats(profile: Profile, window: pd.DataFrame, results: Mapping[str, Any],
                  business: Sequence[str] = ()) -> WindowStats:
    """:class:`WindowStats` from the results of :func:`stats_tasks` (and the means of the
    ``business`` KPI columns)."""
    used = {*profile.features, *profile.prediction_columns, profile.target}
    kpis: dict[str, tuple[float, int]] = {}
    for column in business:
        if column in window.columns:
            values = to_numeric(window[column], column)
            finite = values[np.isfinite(values)]
            kpis[column] = (_mean(finite), len(finite))
    target = results.get("target")
    return WindowStats(
        rows=len(window),
        features={name: results[f"feature:{name}"] for name in profile.features},
        prediction=results.get("prediction"),
        target=target if target is None or target.count else None,
        multivariate=results.get("multivariate"), business=kpis,
        columns=tuple(str(c) for c in window.columns),
        nested=tuple(str(c) for c in window.columns if c not in used and is_nested(window[c])),
    )


def merge_stats(parts: Iterable[WindowStats]) -> WindowStats:
    """The statistics of the union of disjoint parts of one window."""
    total = merge_all(parts)
    if total is None:
        raise DataError("no window statistics to merge: the window has no rows")
    return total


def _mean(values: np.ndarray) -> float:
    """The mean of finite values, without overflow (scaled by the largest magnitude)."""
    scale = float(np.abs(values).max()) if len(values) else 0.0
    return scale * float(np.mean(values / scale)) if scale else 0.0


def _merge_means(a: tuple[float, int], b: tuple[float, int]) -> tuple[float, int]:
    """The mean and count of two disjoint parts (a weighted mean: it cannot overflow)."""
    n = a[1] + b[1]
    return (a[0] * (a[1] / n) + b[0] * (b[1] / n) if n else 0.0), n


def _merge_column(a: ColumnStats, b: ColumnStats) -> ColumnStats:
    if isinstance(a, NumericStats) and isinstance(b, NumericStats):
        return a.merge(b)
    if isinstance(a, CategoricalStats) and isinstance(b, CategoricalStats):
        return a.merge(b)
    raise DataError("cannot merge numerical and categorical statistics of one column")


def _merge_optional(a: ColumnStats | None, b: ColumnStats | None) -> ColumnStats | None:
    if a is None or b is None:
        return a or b
    return _merge_column(a, b)


def stats_to_dict(stats: WindowStats) -> dict[str, Any]:
    """Window statistics as JSON-safe numbers (grids are left out: the profile gives them)."""
    return {"rows": stats.rows, "columns": list(stats.columns), "nested": list(stats.nested),
            "multivariate": stats.multivariate,
            "business": {k: list(v) for k, v in stats.business.items()},
            "features": {n: _column_to_dict(c) for n, c in stats.features.items()},
            "prediction": None if stats.prediction is None else _column_to_dict(stats.prediction),
            "target": None if stats.target is None else _column_to_dict(stats.target)}


def stats_from_dict(obj: dict[str, Any], profile: Profile) -> WindowStats:
    """Window statistics from :func:`stats_to_dict`, on ``profile``'s grids."""
    def column(data: dict[str, Any] | None, ref: Summary | None) -> ColumnStats | None:
        if data is None or ref is None:
            return None
        if "counts" in data:
            return CategoricalStats(int(data["rows"]), int(data["missing"]),
                                    {str(k): int(v) for k, v in data["counts"].items()})
        assert isinstance(ref, NumericSummary)
        out = NumericStats(grid(ref), int(data["rows"]), int(data["missing"]),
                           int(data["infinite"]), np.asarray(data["below"], dtype=np.int64),
                           np.asarray(data["through"], dtype=np.int64),
                           np.asarray(data["sums"], dtype=float))
        if len(out.below) != len(out.grid) or len(out.sums) != len(out.grid) + 1:
            raise DataError("window statistics do not fit this profile's grid")
        return out

    features = {n: column(obj["features"][n], ref) for n, ref in profile.features.items()}
    return WindowStats(
        rows=int(obj["rows"]), features={n: c for n, c in features.items() if c is not None},
        prediction=column(obj["prediction"], profile.prediction_summary),
        target=column(obj["target"], profile.target_summary),
        multivariate=obj["multivariate"],
        business={k: (float(v[0]), int(v[1])) for k, v in obj["business"].items()},
        columns=tuple(obj["columns"]), nested=tuple(obj.get("nested", ())))


def _column_to_dict(stats: ColumnStats) -> dict[str, Any]:
    if isinstance(stats, CategoricalStats):
        return {"rows": stats.rows, "missing": stats.missing, "counts": stats.counts}
    return {"rows": stats.rows, "missing": stats.missing, "infinite": stats.infinite,
            "below": stats.below.tolist(), "through": stats.through.tolist(),
            "sums": stats.sums.tolist()}
