"""Drift effect sizes of a window against a reference profile.

Everything here reads the stored profile and the window's mergeable statistics
(:mod:`mlflow_decay.core.window`); no raw rows of either are needed.
Verdicts use effect sizes (PSI, Jensen-Shannon distance, normalised Wasserstein, KS D), which
do not grow with the sample size the way p-values do.

- PSI: ``sum((w - r) * ln(w / r))`` over the profile's bins, empty bins set to 1e-4.
- JS: Jensen-Shannon *distance* in base 2 (0 identical, 1 disjoint), as
  ``scipy.spatial.distance.jensenshannon(r, w, base=2)``.
- KS: ``sup |F_ref - F_window|`` with the reference CDF read off the profile (exact for columns
  with few distinct values, else the quantile sketch), on the grid of :mod:`.window`.
- Wasserstein: ``∫ |F_ref - F_window| dx`` divided by the reference standard deviation.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import scipy.special

from .profile import CategoricalSummary, NumericSummary
from .window import NumericStats, reference_on_grid

#: Proportions of empty bins are replaced by this before PSI (as Evidently and NannyML do).
PSI_EPSILON = 1e-4


def psi(reference: np.ndarray, window: np.ndarray) -> float:
    """Population stability index between two proportion vectors over the same bins."""
    return _psi(np.where(reference > 0, reference, PSI_EPSILON), window)


def _psi(floored: np.ndarray, window: np.ndarray) -> float:
    """:func:`psi` with the reference's empty bins already set to ``PSI_EPSILON``."""
    w = np.where(window > 0, window, PSI_EPSILON)
    return float(np.sum((w - floored) * np.log(w / floored)))


def js_distance(reference: np.ndarray, window: np.ndarray) -> float:
    """Jensen-Shannon distance (base 2) between two proportion vectors."""
    return _js(reference / reference.sum(), window)


def _js(r: np.ndarray, window: np.ndarray) -> float:
    """:func:`js_distance` with the reference already summing to one."""
    w = window / window.sum()
    m = (r + w) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        kl_r = np.where(r > 0, r * np.log2(r / m), 0.0).sum()
        kl_w = np.where(w > 0, w * np.log2(w / m), 0.0).sum()
    return float(np.sqrt(max((kl_r + kl_w) / 2, 0.0)))


def numeric_drift(ref: NumericSummary, stats: NumericStats) -> dict[str, float]:
    """PSI, JS, KS D and normalised Wasserstein of a window's statistics against ``ref``."""
    edges, floored, r = _reference_bins(ref)
    w = stats.histogram(edges) / stats.count
    return {"psi": _psi(floored, w), "js": _js(r, w), **_cdf_distances(ref, stats)}


@lru_cache(maxsize=1024)
def _reference_bins(ref: NumericSummary) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``ref``'s histogram edges, and its proportions as :func:`psi` and :func:`js_distance`
    read them (computed once per summary, like its grid)."""
    r = ref.histogram_proportions()
    out = np.asarray(ref.edges, dtype=float), np.where(r > 0, r, PSI_EPSILON), r / r.sum()
    _read_only(*out)
    return out


def _read_only(*arrays: np.ndarray) -> None:
    """Make arrays kept across calls read-only."""
    for array in arrays:
        array.flags.writeable = False


def ks_statistic(ref: NumericSummary, stats: NumericStats) -> float:
    """Kolmogorov-Smirnov D between the profile's reference CDF and the window's ECDF."""
    return _cdf_distances(ref, stats)["ks"]


def wasserstein(ref: NumericSummary, stats: NumericStats) -> float:
    """``∫ |F_ref(x) - F_window(x)| dx`` divided by the reference standard deviation."""
    return _cdf_distances(ref, stats)["wasserstein"]


def _cdf_distances(ref: NumericSummary, stats: NumericStats) -> dict[str, float]:
    """KS D and normalised Wasserstein from the window's counts on the reference grid.

    Both CDFs are known exactly on both sides of every grid point. Between two points the
    reference CDF is linear and rises by at most ``1 / GRID``, so the KS D read at the points
    is at most that much below the exact one. Wasserstein integrates ``F_ref - F_window``
    exactly over each gap (the window's part from the count and sum of its values there) and
    adds the absolute values: exact unless the two CDFs cross inside a gap.
    """
    n = stats.count
    g, ref_at, ref_below = reference_on_grid(ref)
    if g is not stats.grid and not np.array_equal(g, stats.grid):
        raise ValueError("window statistics were not counted on this summary's grid")
    win_below, win_at = stats.below / n, stats.through / n
    ks = max(float(np.max(np.abs(ref_at - win_at))), float(np.max(np.abs(ref_below - win_below))))
    gaps, sums = stats.gap_counts(), stats.sums
    width, ref_area = _reference_areas(ref)
    win_area = width * win_at[:-1] + (gaps[1:-1] * g[1:] - sums[1:-1]) / n
    outside = (gaps[0] * g[0] - sums[0] + sums[-1] - gaps[-1] * g[-1]) / n
    scale = ref.std if ref.std else 1.0
    return {"ks": ks, "wasserstein": float((np.abs(ref_area - win_area).sum() + outside) / scale)}


@lru_cache(maxsize=1024)
def _reference_areas(ref: NumericSummary) -> tuple[np.ndarray, np.ndarray]:
    """The width of each gap between ``ref``'s grid points and the reference CDF's area over
    it (exact: linear between the points); computed once per summary, like its grid."""
    g, ref_at, ref_below = reference_on_grid(ref)
    width = np.diff(g)
    out = width, width * (ref_at[:-1] + ref_below[1:]) / 2
    _read_only(*out)
    return out


def categorical_drift(ref: CategoricalSummary, window_counts: dict[str, int]) -> dict[str, float]:
    """PSI, JS and the share of unseen values of a window's category counts against ``ref``."""
    r, w = aligned_counts(ref, window_counts)
    return {
        "psi": psi(r / r.sum(), w / w.sum()),
        "js": js_distance(r, w),
        "unseen_share": float(w[-1] / w.sum()),
    }


def aligned_counts(ref: CategoricalSummary, window_counts: dict[str, int]
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Reference and window counts over the profile's categories plus a last "other" bin."""
    known = dict.fromkeys(ref.categories, 0)
    other = 0
    for key, count in window_counts.items():
        if key in known:
            known[key] += count
        else:
            other += count
    return (np.asarray([*ref.counts, ref.other], dtype=float),
            np.asarray([*known.values(), other], dtype=float))


def ks_pvalue(d: float, n_ref: int, n_window: int) -> float:
    """Asymptotic two-sample KS p-value of statistic ``d`` (Kolmogorov distribution)."""
    en = np.sqrt(n_ref * n_window / (n_ref + n_window))
    return float(scipy.special.kolmogorov(en * d))


def chi2_pvalue(ref: CategoricalSummary, window_counts: dict[str, int]) -> float:
    """Chi-square test of homogeneity between reference and window category counts."""
    table = np.vstack(aligned_counts(ref, window_counts))
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2:
        return 1.0
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / table.sum()
    statistic = float(np.sum((table - expected) ** 2 / expected))
    return float(scipy.special.chdtrc(table.shape[1] - 1, statistic))
