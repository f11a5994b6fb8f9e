"""Drift effect sizes from a stored profile, checked against scipy on the raw data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.spatial.distance import jensenshannon

from mlflow_decay.core import drift
from mlflow_decay.core.summarize import merge_summaries, summarize_categorical, summarize_numeric
from mlflow_decay.core.window import numeric_stats

N = 100_000
RNG = np.random.default_rng(7)
CASES = {
    "normal shift": (RNG.normal(0, 1, N), RNG.normal(0.1, 1.1, N)),
    "identical law": (RNG.normal(5, 2, N), RNG.normal(5, 2, N)),
    "lognormal": (RNG.lognormal(0, 1, N), RNG.lognormal(0.2, 1, N)),
    "exponential": (RNG.exponential(1, N), RNG.exponential(1.3, N)),
    "uniform": (RNG.uniform(0, 1, N), RNG.uniform(0.05, 1, N)),
    "large shift": (RNG.normal(0, 1, N), RNG.normal(2, 0.5, N)),
    # an atom between grid probabilities, and a gap between modes: the extra knots' job
    "zero inflated": (np.where(RNG.random(N) < 0.4053, 0, RNG.gamma(2, 10, N)),
                      np.where(RNG.random(N) < 0.3, 0, RNG.gamma(2, 12, N))),
    "bimodal with gap": (np.r_[RNG.normal(-3, 0.3, N // 2), RNG.normal(3, 0.3, N // 2)],
                         RNG.normal(0, 2, N)),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_ks_and_wasserstein_from_profile_match_scipy_on_raw_data(case: str) -> None:
    ref, cur = CASES[case]
    summary = summarize_numeric(ref)
    window = numeric_stats(summary, cur)
    assert drift.ks_statistic(summary, window) == pytest.approx(
        stats.ks_2samp(ref, cur).statistic, abs=0.002)
    assert drift.wasserstein(summary, window) == pytest.approx(
        stats.wasserstein_distance(ref, cur) / np.std(ref), abs=0.002)


def test_psi_and_js_match_a_direct_computation_on_the_same_bins() -> None:
    ref, cur = CASES["lognormal"]
    summary = summarize_numeric(ref)
    edges = np.concatenate(([-np.inf], summary.edges, [np.inf]))
    r = np.histogram(ref, edges)[0] / len(ref)
    w = np.histogram(cur, edges)[0] / len(cur)
    assert np.array_equal(np.asarray(summary.counts), np.histogram(ref, edges)[0])
    result = drift.numeric_drift(summary, numeric_stats(summary, cur))
    assert result["psi"] == pytest.approx(np.sum((w - r) * np.log(w / r)), rel=1e-9)
    assert result["js"] == pytest.approx(jensenshannon(r, w, base=2), rel=1e-9)


def test_categorical_drift_matches_direct_computation() -> None:
    rng = np.random.default_rng(3)
    ref = pd.Series(rng.choice(list("abcd"), 20_000, p=[0.4, 0.3, 0.2, 0.1]))
    cur = pd.Series(rng.choice(list("abcde"), 20_000, p=[0.2, 0.3, 0.2, 0.2, 0.1]))
    summary = summarize_categorical(ref)
    counts = cur.value_counts().to_dict()
    result = drift.categorical_drift(summary, counts)
    r = np.array([(ref == c).mean() for c in summary.categories] + [0.0])
    w = np.array([(cur == c).mean() for c in summary.categories] + [(cur == "e").mean()])
    assert result["unseen_share"] == pytest.approx((cur == "e").mean())
    assert result["js"] == pytest.approx(jensenshannon(r, w, base=2), rel=1e-9)
    r_eps = np.where(r > 0, r, drift.PSI_EPSILON)
    assert result["psi"] == pytest.approx(np.sum((w - r_eps) * np.log(w / r_eps)), rel=1e-9)


def test_identical_distributions_at_a_million_rows_are_not_drifted() -> None:
    rng = np.random.default_rng(11)
    ref, cur = rng.normal(0, 1, 1_000_000), rng.normal(0, 1, 1_000_000)
    summary = summarize_numeric(ref)
    result = drift.numeric_drift(summary, numeric_stats(summary, cur))
    # effect sizes stay near zero where a KS p-value would already flag tiny shifts
    assert result["psi"] < 0.001
    assert result["js"] < 0.01
    assert result["ks"] < 0.005
    assert result["wasserstein"] < 0.01


def test_a_real_shift_is_seen_by_every_numeric_effect_size() -> None:
    ref, cur = CASES["large shift"]
    summary = summarize_numeric(ref)
    result = drift.numeric_drift(summary, numeric_stats(summary, cur))
    assert result["psi"] > 1 and result["js"] > 0.5 and result["ks"] > 0.5
    assert result["wasserstein"] > 1.5


def test_noise_guard_p_values_match_scipy() -> None:
    rng = np.random.default_rng(5)
    ref, cur = rng.normal(0, 1, 3000), rng.normal(0.08, 1, 2000)
    d = stats.ks_2samp(ref, cur).statistic
    assert drift.ks_pvalue(d, 3000, 2000) == pytest.approx(
        stats.ks_2samp(ref, cur, method="asymp").pvalue, rel=0.05)
    ref_c = pd.Series(rng.choice(list("abc"), 3000, p=[0.5, 0.3, 0.2]))
    cur_c = pd.Series(rng.choice(list("abcd"), 2000, p=[0.45, 0.3, 0.2, 0.05]))
    summary = summarize_categorical(ref_c)
    table = pd.crosstab(np.r_[np.zeros(3000), np.ones(2000)], np.r_[ref_c, cur_c]).to_numpy()
    assert drift.chi2_pvalue(summary, cur_c.value_counts().to_dict()) == pytest.approx(
        stats.chi2_contingency(table, correction=False).pvalue)


def test_columns_with_few_distinct_values_get_exact_ks_and_wasserstein() -> None:
    rng = np.random.default_rng(2)
    ref, cur = rng.poisson(30, N).astype(float), rng.poisson(31, N).astype(float)
    summary = summarize_numeric(ref)
    assert 0 < len(summary.values) <= 128
    window = numeric_stats(summary, cur)
    assert drift.ks_statistic(summary, window) == pytest.approx(
        stats.ks_2samp(ref, cur).statistic, abs=1e-12)
    assert drift.wasserstein(summary, window) == pytest.approx(
        stats.wasserstein_distance(ref, cur) / np.std(ref), rel=1e-9)


def test_an_atom_that_ten_digits_would_round_is_stored_exactly() -> None:
    """A value many rows hold is a jump of the CDF: rounded to 10 digits (100000.9688) the
    window's copies of it (100000.96875) fell beside the jump and KS read its whole height."""
    rng = np.random.default_rng(3)
    ref = np.concatenate([rng.uniform(0, 1e6, 400), np.full(40, 100000.96875)])
    summary = summarize_numeric(ref)
    assert len(summary.values) == 0  # the sketch, not the exact distribution
    assert drift.ks_statistic(summary, numeric_stats(summary, ref)) <= 0.002 + 2 / len(ref)
    cur = rng.permutation(ref)[:300]
    assert drift.ks_statistic(summary, numeric_stats(summary, cur)) == pytest.approx(
        stats.ks_2samp(ref, cur).statistic, abs=0.002 + 2 / len(ref))


def test_a_rating_models_move_from_4_to_5_is_drift() -> None:
    """Integer outputs of at most 10 values get one PSI/JS bin per value: on the reference
    deciles a 1-5 rating model's 4s and 5s (28 % of the rows) shared the top bin, and a window
    predicting 5 where the reference predicted 4 read PSI 0, no drift."""
    values = np.arange(1.0, 6.0)
    ref = np.repeat(values, [500, 2300, 4400, 2400, 400])
    cur = np.repeat(values, [500, 2300, 4400, 400, 2400])
    r, w = np.bincount(ref.astype(int))[1:] / ref.size, np.bincount(cur.astype(int))[1:] / cur.size
    expected = np.sum((w - r) * np.log(w / r))
    summaries = [summarize_numeric(ref),
                 merge_summaries(summarize_numeric(ref[::2]), summarize_numeric(ref[1::2])),
                 merge_summaries(summarize_numeric(ref[:3000]), summarize_numeric(ref[3000:]))]
    for summary in summaries:
        result = drift.numeric_drift(summary, numeric_stats(summary, cur))
        assert result["psi"] == pytest.approx(expected, rel=1e-9)
        assert result["js"] == pytest.approx(jensenshannon(r, w, base=2), rel=1e-9)
    assert expected > 0.25  # the default policy's degrade line for drift.prediction.psi
    # values never seen, above or below the reference's, are bins of their own
    above = drift.numeric_drift(summaries[0], numeric_stats(summaries[0], np.r_[ref, [6.0] * 1000]))
    assert above["psi"] == pytest.approx(
        (1 / 11 - 1e-4) * np.log(1 / 11 / 1e-4) + np.sum((r * 10 / 11 - r) * np.log(10 / 11)))


def test_a_constant_reference_sees_a_window_move_either_way() -> None:
    """A baseline model predicting one value: before, its only bin was [value, inf), so a
    window predicting any higher value read PSI 0 and JS 0 (and a value the rounded edge put
    above the reference's own, any lower one too)."""
    ref = np.full(1000, 27175082.089402704)
    summary = summarize_numeric(ref)
    for value in (2.5e7, 3e7):
        result = drift.numeric_drift(summary, numeric_stats(summary, np.full(500, value)))
        assert result["psi"] == pytest.approx(2 * (1 - 1e-4) * np.log(1 / 1e-4))
        assert result["js"] == pytest.approx(1.0)
    same = drift.numeric_drift(summary, numeric_stats(summary, ref[:300]))
    assert same["psi"] == 0 and same["js"] == 0
