"""Thresholds that do not cry wolf: reference bands, multivariate drift, false-alarm rate."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import make_frame, reference_profile

import mlflow_decay as md
from mlflow_decay.core.evaluation import MULTIVARIATE, evaluate_window, reference_bands
from mlflow_decay.core.policy_file import DEFAULT_POLICY, load_policy


def _correlated(n: int, seed: int, rho: float) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    cov = [[1.0, rho, 0.0], [rho, 1.0, 0.0], [0.0, 0.0, 1.0]]
    x = rng.multivariate_normal([0, 0, 0], cov, n)
    return pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "c": x[:, 2]})


def test_flipped_correlation_is_caught_by_multivariate_drift_only() -> None:
    profile = md.build_profile(_correlated(20_000, 0, 0.9))
    assert profile.multivariate is not None and len(profile.multivariate.components) < 3
    same = evaluate_window(profile, _correlated(5000, 1, 0.9))
    flipped = evaluate_window(profile, _correlated(5000, 2, -0.9))
    # marginals unchanged: no univariate metric moves, no feature counts as drifted
    assert flipped.metrics["drift.share"] == 0
    for f in "abc":
        assert flipped.metrics[f"drift.{f}.wasserstein"] < 0.05
        assert flipped.metrics[f"drift.{f}.psi"] < 0.02
    key = "drift.multivariate.reconstruction_error"
    assert flipped.metrics[key] > 5 * same.metrics[key]
    status, breaches = DEFAULT_POLICY.decide(flipped.metrics, profile.bands, flipped.rows)
    assert status == "degraded" and [b.metric for b in breaches] == [key]
    assert "reference band" in str(breaches[0])
    assert DEFAULT_POLICY.decide(same.metrics, profile.bands, same.rows)[0] == "healthy"


def test_reference_bands_are_chunk_means_and_deviations() -> None:
    reference = make_frame(3000, 1)
    profile = md.build_profile(reference, target="label", prediction="score", band_chunks=0)
    assert profile.bands == {}
    bands = reference_bands(profile, reference, 5)
    chunk_values = [evaluate_window(profile, reference.iloc[i * 600:(i + 1) * 600]).metrics
                    for i in range(5)]
    for name in ("drift.x1.wasserstein", "perf.roc_auc", "est.roc_auc"):
        values = [m[name] for m in chunk_values]
        mean, sd, rows = bands[name]
        assert (mean, sd, rows) == (pytest.approx(np.mean(values), rel=1e-5),
                                    pytest.approx(np.std(values, ddof=1), rel=1e-5), 600)
    assert "quality.rows" not in bands
    assert reference_bands(profile, reference.iloc[:250], 10) == {}  # chunks under 100 rows


def test_band_rules_scale_to_the_window_size(tmp_path: Path) -> None:
    f = tmp_path / "p.toml"
    f.write_text('inherit = false\n[thresholds]\n'
                 '"est.roc_auc" = { warn_k = 2, degrade_k = 3, direction = "below" }\n')
    policy = load_policy(f)
    band = {"est.roc_auc": (0.90, 0.01, 1000)}
    # at the chunk size the degrade line is 0.90 - 3 * 0.01; at 4x the rows it is half as far
    assert policy.decide({"est.roc_auc": 0.869}, band, 1000)[0] == "degraded"
    assert policy.decide({"est.roc_auc": 0.875}, band, 1000)[0] == "warning"
    assert policy.decide({"est.roc_auc": 0.884}, band, 4000)[0] == "degraded"
    assert policy.decide({"est.roc_auc": 0.869}, None, 1000)[0] == "healthy"  # no band, no rule
    with pytest.raises(md.PolicyError, match="give warn or warn_k"):
        f.write_text('[thresholds]\n"est.roc_auc" = { warn = 0.9, warn_k = 2 }\n')
        load_policy(f)


def test_two_sided_band_rules_breach_on_either_side(tmp_path: Path) -> None:
    f = tmp_path / "p.toml"
    f.write_text('inherit = false\n[thresholds]\n'
                 '"drift.share" = { warn_k = 2, degrade_k = 4, direction = "both" }\n')
    policy = load_policy(f)
    band = {"drift.share": (0.5, 0.01, 1000)}
    assert policy.decide({"drift.share": 0.505}, band, 1000)[0] == "healthy"
    for value, side in ((0.521, "above"), (0.479, "below")):
        status, breaches = policy.decide({"drift.share": value}, band, 1000)
        assert status == "warning" and breaches[0].direction == side
    status, breaches = policy.decide({"drift.share": 0.455}, band, 1000)
    assert status == "degraded" and str(breaches[0]).startswith("drift.share = 0.455 <= 0.46 ")
    assert load_policy().rule_for(MULTIVARIATE).direction == "both"  # the default


def _colors(n: int, seed: int, agree: float) -> pd.DataFrame:
    """Numbers, and two categorical features that agree on a share ``agree`` of rows beyond
    chance (each one's own distribution the same whatever ``agree`` is)."""
    rng = np.random.default_rng(seed)
    p = np.array([0.4, 0.25, 0.15, 0.12, 0.08])
    color = rng.choice(5, n, p=p)
    shade = np.where(rng.random(n) < agree, color, rng.choice(5, n, p=p))
    x = rng.multivariate_normal([0, 0], [[1, 0.6], [0.6, 1]], n)
    return pd.DataFrame({"x": x[:, 0], "y": x[:, 1], "color": np.array(list("abcde"))[color],
                         "shade": np.array(list("abcde"))[shade]})


def test_categorical_features_that_stop_or_start_agreeing_are_caught() -> None:
    profile = md.build_profile(_colors(40_000, 0, 0.6))
    assert profile.multivariate is not None and profile.multivariate.categorical
    cases = {"same": (0.6, "healthy", None), "apart": (0.0, "degraded", "above"),
             "closer": (0.95, "degraded", "below")}
    for seed, (agree, status, side) in enumerate(cases.values(), start=1):
        result = evaluate_window(profile, _colors(5000, seed, agree))
        assert result.metrics["drift.share"] == 0  # every feature's own distribution stays
        found, breaches = DEFAULT_POLICY.decide(result.metrics, profile.bands, result.rows)
        assert found == status and [b.direction for b in breaches] == ([side] if side else [])


def test_features_of_equal_variance_raise_no_false_alarm() -> None:
    # independent numbers and uniform categories: no principal direction stands out, and a
    # PCA split among them by chance scored its reference rows lower than new ones
    def table(rows: int, seed: int) -> pd.DataFrame:
        rng = np.random.default_rng(seed)
        return pd.DataFrame({**{f"n{i}": rng.normal(0, 1 + i, rows) for i in range(12)},
                             **{f"c{i}": rng.choice(list("abcdef"), rows) for i in range(4)}})

    profile = md.build_profile(table(60_000, 0))
    for seed in range(1, 5):
        result = evaluate_window(profile, table(60_000, seed))
        assert DEFAULT_POLICY.decide(result.metrics, profile.bands, result.rows)[0] == "healthy"


def test_windows_drawn_from_the_reference_are_almost_never_degraded() -> None:
    profile = md.build_profile(make_frame(100_000, 0), target="label", prediction="score")
    verdicts = []
    for seed in range(1, 21):  # 100k-row windows from the reference distribution, no labels
        window = make_frame(100_000, seed).drop(columns="label")
        result = evaluate_window(profile, window)
        verdicts.append(DEFAULT_POLICY.decide(result.metrics, profile.bands, result.rows)[0])
    assert verdicts.count("degraded") <= 0.01 * len(verdicts)
    assert verdicts.count("warning") <= 0.05 * len(verdicts)


def test_a_band_line_below_zero_is_left_out_where_the_metric_never_is(tmp_path: Path) -> None:
    (tmp_path / "p.toml").write_text(
        '[thresholds]\n"drift.multivariate.reconstruction_error" = '
        '{ warn_k = 4, direction = "both" }\n'
        '"quality.*.missing_rate.delta" = { warn_k = 4, direction = "both" }\n')
    policy = load_policy(tmp_path / "p.toml")
    # the PCA error's band (mean 0.05, sd 0.02): 4 sd below is -0.03, which it cannot reach
    rule = policy.rule_for("drift.multivariate.reconstruction_error")
    assert rule is not None
    assert [(side, round(bound, 6)) for _, side, bound, _ in
            rule.limits((0.05, 0.02, 1000), 1000)] == [("above", 0.13)]
    # a change from the reference may be negative: both lines stay
    rule = policy.rule_for("quality.x.missing_rate.delta")
    assert rule is not None
    assert sorted(side for _, side, _, _ in rule.limits((0.0, 0.02, 1000), 1000)) == [
        "above", "below"]


def test_small_windows_output_drift_within_sampling_noise_breaches_nothing() -> None:
    from scipy import stats

    reference = make_frame(5000, seed=1)
    profile = reference_profile()
    noisy = breached = 0
    for seed in range(40):  # 50-row windows of the reference's own distribution
        window = make_frame(50, seed=100 + seed).drop(columns="label")
        result = evaluate_window(profile, window)
        test = stats.ks_2samp(reference.score, window.score, method="asymp")
        assert result.metrics["drift.prediction.ks"] == pytest.approx(test.statistic, abs=0.002)
        # Kolmogorov's limiting distribution, as scipy.stats has it
        en = len(reference) * len(window) / (len(reference) + len(window))
        assert result.metrics["drift.prediction.p_value"] == pytest.approx(
            stats.kstwobign.sf(np.sqrt(en) * test.statistic), abs=0.02)
        noisy += result.metrics["drift.prediction.psi"] >= 0.1
        _, breaches = DEFAULT_POLICY.decide(result.metrics, profile.bands, result.rows)
        breached += any(b.metric.startswith("drift.prediction.") for b in breaches)
    assert noisy >= 15 and breached <= 4, (noisy, breached)
    shifted = make_frame(50, seed=7, shift=1.5).drop(columns="label")  # the scores move
    result = evaluate_window(profile, shifted)
    assert result.metrics["drift.prediction.p_value"] < 0.001
    _, breaches = DEFAULT_POLICY.decide(result.metrics, profile.bands, result.rows)
    assert any(b.metric == "drift.prediction.psi" and b.level == "degraded" for b in breaches)


def test_small_labelled_windows_performance_within_sampling_noise_is_not_decay() -> None:
    from scipy import stats

    profile = reference_profile()
    _, sd, chunk_rows = profile.bands["perf.accuracy.delta"]
    accuracy = profile.bands["perf.accuracy"][0]
    # the band's deviation is a chunk's binomial sampling deviation (within 10 chunks' noise)
    assert sd == pytest.approx(stats.binom.std(chunk_rows, accuracy) / chunk_rows, rel=0.4)
    verdicts, held = [], 0
    for seed in range(40):  # 300-row labelled windows of the reference's own distribution
        result = evaluate_window(profile, make_frame(300, seed=200 + seed))
        verdicts.append(DEFAULT_POLICY.decide(result.metrics, profile.bands, result.rows)[0])
        notes = DEFAULT_POLICY.window_notes(result.metrics, profile.bands, result.rows)
        held += any("within this window's sampling noise" in n for n in notes)
    # the band's deviation, from 10 chunks, is itself an estimate (this one low): a chance
    # drop may still count, rarely
    assert verdicts.count("degraded") <= 1
    assert verdicts.count("warning") <= 0.05 * len(verdicts)  # 7 of 40 judged without noise
    assert held >= 3  # the constant thresholds were crossed by chance, and the notes say so
    # a real drop in a window as small is still judged
    broken = evaluate_window(profile, make_frame(300, seed=7, flip=0.3))
    status, breaches = DEFAULT_POLICY.decide(broken.metrics, profile.bands, broken.rows)
    assert status == "degraded"
    assert "perf.accuracy.delta" in {b.metric for b in breaches}


def test_a_large_window_with_few_labels_is_judged_at_its_labelled_rows() -> None:
    """Trial 21: a window of 3,000 rows of which 30 came with their labels (the rest due
    later) had its perf.* changes judged at 3,000 rows' sampling noise, though computed on 30
    rows: a chance drop of a few wrong rows degraded the window (two in a row, the version)."""
    profile = reference_profile()
    verdicts, held = [], 0
    for seed in range(40):  # the reference's own distribution; 30 labels of 3,000 rows
        window = make_frame(3000, seed=400 + seed)
        window["label"] = window["label"].astype(float)
        window.loc[30:, "label"] = np.nan
        result = evaluate_window(profile, window)
        assert result.metrics["labels.coverage"] == pytest.approx(0.01)
        verdicts.append(DEFAULT_POLICY.decide(result.metrics, profile.bands, result.rows)[0])
        notes = DEFAULT_POLICY.window_notes(result.metrics, profile.bands, result.rows)
        held += any(n.endswith("but of 30 labelled rows, under min_rows 100: not judged")
                    for n in notes)
    assert verdicts.count("degraded") == 0, verdicts
    assert held >= 3
    # from min_rows labelled rows on, a change is judged beyond their own sampling noise
    for labelled, flip in ((300, 0.0), (300, 0.5)):
        verdicts = []
        for seed in range(20):
            window = make_frame(3000, seed=500 + seed, flip=flip)
            window["label"] = window["label"].astype(float)
            window.loc[labelled:, "label"] = np.nan
            result = evaluate_window(profile, window)
            verdicts.append(DEFAULT_POLICY.decide(result.metrics, profile.bands,
                                                  result.rows)[0])
            notes = DEFAULT_POLICY.window_notes(result.metrics, profile.bands, result.rows)
            assert not any("labelled rows" in n for n in notes) or any(
                f"at {labelled} labelled rows): not judged" in n for n in notes)
        if flip:  # half the labels flipped: AUC and accuracy fall far beyond noise
            assert verdicts.count("degraded") == len(verdicts)
        else:
            assert verdicts.count("degraded") <= 1, verdicts


def test_a_feature_that_turns_infinite_warns_without_bands() -> None:
    reference = make_frame(2000, seed=1)
    reference.loc[:9, "x2"] = np.inf  # 0.5 % of the reference infinite already
    profile = md.build_profile(reference, target="label", prediction="score", band_chunks=0)
    window = make_frame(800, seed=2).drop(columns="label")
    window.loc[:199, "x2"] = -np.inf  # a quarter of a feed's values: a division by zero
    result = evaluate_window(profile, window)
    rise = np.isinf(window.x2).mean() - np.isinf(reference.x2).mean()
    assert result.metrics["quality.x2.nonfinite_rate.delta"] == pytest.approx(rise)
    assert result.metrics["quality.x1.nonfinite_rate.delta"] == 0
    status, breaches = DEFAULT_POLICY.decide(result.metrics, profile.bands, result.rows)
    assert status == "warning"
    assert [b.metric for b in breaches] == ["quality.x2.nonfinite_rate.delta"]
