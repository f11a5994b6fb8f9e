"""Drift effect sizes of a window against a reference profile.

Everything here reads the stored profile and the window; no raw reference rows are needed.
Verdicts use effect sizes (PSI, Jensen-Shannon distance, normalised Wasserstein, KS D), which
do not grow with the sample size the way p-values do.

- PSI: ``sum((w - r) * ln(w / r))`` over the profile's bins, empty bins set to 1e-4.
- JS: Jensen-Shannon *distance* in base 2 (0 identical, 1 disjoint), as
  ``scipy.spatial.distance.jensenshannon(r, w, base=2)``.
- KS: ``sup |F_ref - F_window|`` with the reference CDF read off the profile (exact for columns
  with few distinct values, else the quantile sketch).
- Wasserstein: ``∫ |F_ref - F_window| dx`` divided by the reference standard deviation.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from .profile import CategoricalSummary, NumericSummary, bin_counts

#: Proportions of empty bins are replaced by this before PSI (as Evidently and NannyML do).
PSI_EPSILON = 1e-4


def psi(reference: np.ndarray, window: np.ndarray) -> float:
    """Population stability index between two proportion vectors over the same bins."""
    r = np.where(reference > 0, reference, PSI_EPSILON)
    w = np.where(window > 0, window, PSI_EPSILON)
    return float(np.sum((w - r) * np.log(w / r)))


def js_distance(reference: np.ndarray, window: np.ndarray) -> float:
    """Jensen-Shannon distance (base 2) between two proportion vectors."""
    r = reference / reference.sum()
    w = window / window.sum()
    m = (r + w) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        kl_r = np.where(r > 0, r * np.log2(r / m), 0.0).sum()
        kl_w = np.where(w > 0, w * np.log2(w / m), 0.0).sum()
    return float(np.sqrt(max((kl_r + kl_w) / 2, 0.0)))


def numeric_drift(ref: NumericSummary, window_sorted: np.ndarray) -> dict[str, float]:
    """PSI, JS, KS D and normalised Wasserstein of sorted finite window values against ``ref``."""
    counts = bin_counts(window_sorted, np.asarray(ref.edges)).astype(float)
    r = ref.histogram_proportions()
    w = counts / counts.sum()
    return {"psi": psi(r, w), "js": js_distance(r, w), **_cdf_distances(ref, window_sorted)}


def ks_statistic(ref: NumericSummary, window_sorted: np.ndarray) -> float:
    """Kolmogorov-Smirnov D between the profile's reference CDF and the window's ECDF."""
    return _cdf_distances(ref, window_sorted)["ks"]


def wasserstein(ref: NumericSummary, window_sorted: np.ndarray) -> float:
    """``∫ |F_ref(x) - F_window(x)| dx`` divided by the reference standard deviation."""
    return _cdf_distances(ref, window_sorted)["wasserstein"]


def _cdf_distances(ref: NumericSummary, window_sorted: np.ndarray) -> dict[str, float]:
    """KS D and normalised Wasserstein from one pass over the CDFs' breakpoints.

    The reference CDF is linear between its knots (with jumps at repeated knots), the window's
    is a step function: both distances are exact functions of their values, and one-sided
    limits, at the union of knots and window values.
    """
    points, win_below, win_at = _merge_breakpoints(np.unique(ref.support()), window_sorted)
    ref_at, ref_below = ref.cdf_both(points)
    ks = max(float(np.max(np.abs(ref_at - win_at))), float(np.max(np.abs(ref_below - win_below))))
    # on [p_i, p_i+1) the window's CDF is flat and the reference's linear: integrate |d| exactly
    width = np.diff(points)
    d0 = ref_at[:-1] - win_at[:-1]
    d1 = ref_below[1:] - win_at[:-1]
    total = np.abs(d0) + np.abs(d1)
    area = np.where(d0 * d1 >= 0, width * total / 2,
                    width * (d0**2 + d1**2) / (2 * np.where(total > 0, total, 1.0)))
    scale = ref.std if ref.std else 1.0
    return {"ks": ks, "wasserstein": float(area.sum() / scale)}


def _merge_breakpoints(knots: np.ndarray, window_sorted: np.ndarray
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The union of the knots and the window's distinct values, with the window's CDF just
    below and at each point, in linear time on the already sorted window."""
    n = len(window_sorted)
    new = np.empty(n, dtype=bool)
    new[0] = True
    np.not_equal(window_sorted[1:], window_sorted[:-1], out=new[1:])
    first = np.flatnonzero(new)
    values = window_sorted[first]
    below, at = first / n, np.append(first[1:], n) / n
    pos = np.searchsorted(values, knots)
    inside = pos < len(values)
    seen = inside & (values[np.minimum(pos, len(values) - 1)] == knots)
    extra, where = knots[~seen], pos[~seen]
    share = np.searchsorted(window_sorted, extra) / n  # no window value sits on these knots
    return (np.insert(values, where, extra), np.insert(below, where, share),
            np.insert(at, where, share))


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
    return float(stats.kstwobign.sf(en * d))


def chi2_pvalue(ref: CategoricalSummary, window_counts: dict[str, int]) -> float:
    """Chi-square test of homogeneity between reference and window category counts."""
    table = np.vstack(aligned_counts(ref, window_counts))
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2:
        return 1.0
    return float(stats.chi2_contingency(table, correction=False).pvalue)
