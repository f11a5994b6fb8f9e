"""Window statistics: mergeable counts on the profile's grid, and what they give."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import mlflow_decay as md
from mlflow_decay.core import drift
from mlflow_decay.core.evaluation import evaluate_stats, evaluate_window
from mlflow_decay.core.summarize import summarize_numeric
from mlflow_decay.core.window import (
    GRID,
    NumericStats,
    categorical_stats,
    grid,
    merge_stats,
    numeric_stats,
    window_stats,
)
from mlflow_decay.stats.multivariate import fit_pca


def _table(rows: int, seed: int, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(shift, 1, rows)
    x[rng.random(rows) < 0.02] = np.nan
    x[rng.random(rows) < 0.005] = np.inf
    y = 0.8 * x + rng.normal(0, 0.5, rows)
    return pd.DataFrame({
        "x": x, "y": y, "spiky": np.where(rng.random(rows) < 0.3, 0.0, rng.gamma(2, 3, rows)),
        "count": rng.poisson(4, rows).astype(float),
        "city": rng.choice(["a", "b", "c", None], rows, p=[0.5, 0.3, 0.15, 0.05]),
        "revenue": rng.gamma(2, 5, rows),
    })


def test_statistics_of_parts_merge_into_those_of_the_whole() -> None:
    profile = md.build_profile(_table(20_000, 0), band_chunks=0)
    window = _table(30_000, 1, shift=0.2)
    whole = window_stats(profile, window, business=["revenue"])
    parts = merge_stats(window_stats(profile, window.iloc[i::3], business=["revenue"])
                        for i in range(3))
    for name, counted in whole.features.items():
        merged = parts.features[name]
        if isinstance(counted, NumericStats):
            assert isinstance(merged, NumericStats)
            assert np.array_equal(counted.below, merged.below)
            assert np.array_equal(counted.through, merged.through)
            assert (counted.missing, counted.infinite) == (merged.missing, merged.infinite)
            assert np.allclose(counted.sums, merged.sums, rtol=1e-12, atol=1e-9)
        else:
            assert counted == merged
    a = evaluate_stats(profile, whole).metrics
    b = evaluate_stats(profile, parts).metrics
    assert a.keys() == b.keys() and "drift.multivariate.reconstruction_error" in a
    for key in a:
        assert b[key] == pytest.approx(a[key], rel=1e-9, abs=1e-12), key
    assert parts.business["revenue"][1] == int(np.isfinite(window["revenue"]).sum())


def test_grid_counts_match_a_direct_count_of_the_raw_values() -> None:
    rng = np.random.default_rng(4)
    ref = summarize_numeric(rng.lognormal(0, 1, 50_000))
    values = np.r_[rng.lognormal(0.3, 1.2, 40_000), [np.nan, np.inf, -np.inf, 0.0, 1e9]]
    counted = numeric_stats(ref, values)
    points = grid(ref)
    finite = values[np.isfinite(values)]
    assert len(points) >= GRID
    assert counted.missing == 1 and counted.infinite == 2 and counted.count == len(finite)
    assert np.array_equal(counted.below, [(finite < p).sum() for p in points])
    assert np.array_equal(counted.through, [(finite <= p).sum() for p in points])
    gaps = np.digitize(finite, points)  # 0 below, i between points i-1 and i, len above
    on_point = np.isin(finite, points)
    expected = np.bincount(gaps[~on_point], weights=finite[~on_point], minlength=len(points) + 1)
    assert np.allclose(counted.sums, expected, rtol=1e-12)
    assert np.array_equal(counted.gap_counts(),
                          np.bincount(gaps[~on_point], minlength=len(points) + 1))


def test_ks_on_the_grid_is_within_one_grid_step_of_the_exact_sup() -> None:
    rng = np.random.default_rng(8)
    ref = summarize_numeric(rng.normal(0, 1, 100_000))
    for shift in (0.0, 0.05, 0.5):
        values = np.sort(rng.normal(shift, 1, 50_000))
        n = len(values)
        # the exact sup over the window's values against the same (sketch) reference CDF
        exact = max(np.max(np.arange(1, n + 1) / n - ref.cdf(values)),
                    np.max(ref.cdf(values, side="left") - np.arange(n) / n))
        on_grid = drift.ks_statistic(ref, numeric_stats(ref, values))
        assert exact - 1 / GRID - 1e-12 <= on_grid <= exact + 1e-12


def test_multivariate_error_sum_equals_the_direct_reconstruction() -> None:
    from sklearn.decomposition import PCA

    frame = _table(5_000, 2)
    model = fit_pca(frame, ["x", "y", "spiky", "count"])
    assert model is not None
    z = np.column_stack([(frame[f].to_numpy() - m) / s
                         for f, m, s in zip(model.features, model.mean, model.scale, strict=True)])
    z = np.where(np.isfinite(z), z, 0.0)
    reference = PCA().fit(z)  # the rows' reconstruction from the same number of components
    w = reference.components_[:model.kept]
    direct = float(np.sum((z - z @ w.T @ w) ** 2))
    assert model.error_sum(frame) == pytest.approx(direct, rel=1e-6)


def test_evaluating_in_threads_or_one_thread_gives_the_same_metrics() -> None:
    profile = md.build_profile(_table(10_000, 0), band_chunks=0)
    window = _table(10_000, 3, shift=0.5)
    one = evaluate_stats(profile, window_stats(profile, window, workers=1)).metrics
    assert one == evaluate_window(profile, window).metrics


def test_pca_from_the_blocked_gram_matrix_matches_sklearn() -> None:
    from sklearn.decomposition import PCA

    frame = _table(8_000, 5)
    features = ["x", "y", "spiky", "count"]
    model = fit_pca(frame, features)
    assert model is not None
    z = np.column_stack([(frame[f].to_numpy() - m) / s
                         for f, m, s in zip(model.features, model.mean, model.scale, strict=True)])
    z = np.where(np.isfinite(z), z, 0.0)
    reference = PCA().fit(z)
    v = reference.components_[:model.kept]
    assert np.allclose(model.projector(), np.eye(len(features)) - v.T @ v, atol=1e-8)
    assert model.reference_error == pytest.approx(model.error(frame), rel=1e-8)


@pytest.mark.parametrize("series", [
    pd.Series([1, 1.0, "1", "b", None, np.nan, True, "b"], dtype=object),
    pd.Series(["x", "y", None, "x"], dtype="str"),
    pd.Series([True, False, True]),
    pd.Series([3, 1, 3, 2], dtype="Int64").astype("Int64").where(lambda s: s != 2),
    pd.Series([0.5, np.nan, 2.0, 0.5]),
    pd.Series(pd.Categorical(["a", "b", "a"], categories=["a", "b", "c"])),
])
def test_category_counts_from_a_shared_factorize_are_the_counts(series: pd.Series) -> None:
    # a window's categorical columns the PCA reads are hashed once, for both
    assert categorical_stats(series, pd.factorize(series)) == categorical_stats(series)
