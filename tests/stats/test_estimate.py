"""Label-free performance estimation, checked against scikit-learn and a known ground truth."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import check_pr_auc_and_f1
from sklearn import metrics as skm

import mlflow_decay as md
from mlflow_decay.core.evaluation import evaluate_window
from mlflow_decay.stats import estimate


def test_expected_metrics_equal_sklearn_when_labels_are_certain() -> None:
    # with p in {0, 1} the expectation is the realized metric: the formulas must agree exactly
    rng = np.random.default_rng(0)
    for scores in (rng.integers(0, 6, 2000) / 5, rng.random(2000)):  # with and without ties
        y = (rng.random(2000) < 0.35).astype(float)
        assert estimate.expected_auc(scores, y) == pytest.approx(skm.roc_auc_score(y, scores))
        assert estimate.expected_average_precision(scores, y) == pytest.approx(
            skm.average_precision_score(y, scores))


def test_confusion_expectations_on_certain_labels() -> None:
    rng = np.random.default_rng(1)
    scores = rng.random(3000)
    y = (rng.random(3000) < 0.4).astype(float)
    out = estimate._confusion((scores >= 0.5).astype(float), y)
    hard = scores >= 0.5
    assert out["accuracy"] == pytest.approx(skm.accuracy_score(y, hard))
    assert out["precision"] == pytest.approx(skm.precision_score(y, hard))
    assert out["recall"] == pytest.approx(skm.recall_score(y, hard))
    assert out["f1"] == pytest.approx(skm.f1_score(y, hard))


def test_calibration_is_chosen_on_held_out_folds() -> None:
    rng = np.random.default_rng(2)
    logit = rng.normal(0, 2, 20_000)
    p = 1 / (1 + np.exp(-logit))
    y = (rng.random(20_000) < p).astype(float)
    kept = estimate.fit_calibration(p, y)  # calibrated scores stay (nearly) as they are
    assert np.mean(np.abs(kept(p) - p)) < 0.005
    overconfident = 1 / (1 + np.exp(-2.5 * logit))
    cal = estimate.fit_calibration(overconfident, y)
    assert cal.x and cal.ece_calibrated < cal.ece_raw
    assert np.mean(np.abs(cal(overconfident) - p)) < 0.01
    again = estimate.Calibration.from_dict(cal.to_dict())
    assert np.array_equal(again(overconfident), cal(overconfident))


def _seed_like(n: int, seed: int, shift: float) -> pd.DataFrame:
    """Known ground truth: labels drawn from a logistic model; the score is miscalibrated."""
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(shift, 1, n), rng.normal(0, 1, n)
    x3 = rng.normal(-0.5 * shift, 1, n)
    logit = 2.6 * x1 + 1.4 * x2 - 1.2 * x3 - 1.0
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    score = 1 / (1 + np.exp(-(0.6 * logit + 0.3)))
    return pd.DataFrame({"x1": x1, "x2": x2, "x3": x3, "score": score, "y": y})


def test_estimated_auc_tracks_realized_auc_within_the_accuracy_bar() -> None:
    profile = md.build_profile(_seed_like(50_000, 0, 0.0), target="y", prediction="score")
    errors, covered = [], 0
    for w in range(30):  # 10k-row windows under growing covariate shift, fixed seeds
        window = _seed_like(10_000, 100 + w, 0.6 * w / 29)
        metrics = evaluate_window(profile, window.drop(columns="y")).metrics
        realized = skm.roc_auc_score(window.y, window.score)
        errors.append(metrics["est.roc_auc"] - realized)
        covered += metrics["est.roc_auc.lower"] <= realized <= metrics["est.roc_auc.upper"]
    assert np.mean(np.abs(errors)) <= 0.0025
    assert covered >= 24  # the 95% band holds the realized value in most windows


def test_labelled_windows_log_both_estimate_and_realized() -> None:
    profile = md.build_profile(_seed_like(20_000, 0, 0.0), target="y", prediction="score")
    metrics = evaluate_window(profile, _seed_like(5000, 1, 0.3)).metrics
    for name in estimate.BINARY:
        assert f"est.{name}" in metrics and f"perf.{name}" in metrics
        assert metrics[f"est.{name}"] == pytest.approx(metrics[f"perf.{name}"], abs=0.03)
        assert metrics[f"est.{name}.lower"] < metrics[f"est.{name}"] < metrics[f"est.{name}.upper"]
    assert metrics["est.roc_auc.delta"] == pytest.approx(
        metrics["est.roc_auc"] - profile.estimated_performance["roc_auc"])
    assert profile.estimated_performance["roc_auc"] == pytest.approx(
        profile.performance["roc_auc"], abs=0.005)


def test_multiclass_estimates_are_close_to_realized() -> None:
    def frame(n: int, seed: int) -> pd.DataFrame:
        rng = np.random.default_rng(seed)
        x = rng.normal(0, 1.5, n)
        logits = np.column_stack([x, -x, 0.5 * np.ones(n)])
        proba = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
        y = (rng.random(n)[:, None] > np.cumsum(proba, 1)).sum(1)
        return pd.DataFrame({"x": x, "p0": proba[:, 0], "p1": proba[:, 1], "p2": proba[:, 2],
                             "y": y})

    profile = md.build_profile(frame(20_000, 0), target="y", prediction=["p0", "p1", "p2"],
                               task="multiclass")
    assert len(profile.calibrations) == 3
    metrics = evaluate_window(profile, frame(10_000, 1)).metrics
    for name in ("roc_auc_ovr", "accuracy", "f1_macro"):
        assert metrics[f"est.{name}"] == pytest.approx(metrics[f"perf.{name}"], abs=0.01)
        lower, upper = metrics[f"est.{name}.lower"], metrics[f"est.{name}.upper"]
        assert lower < metrics[f"est.{name}"] < upper and upper - lower < 0.05


def test_ranks_and_t_quantiles_are_scipys_own_numbers() -> None:
    """The estimator reads ranks and Student's t without importing scipy.stats: the numbers
    are scipy.stats' to the last bit (ties, NaN, empty input; any degrees of freedom)."""
    from scipy import stats

    rng = np.random.default_rng(3)
    for trial in range(60):
        n = int(rng.integers(0, 400))
        values = rng.integers(0, 12, n).astype(float) if trial % 2 else rng.normal(size=n)
        if trial % 5 == 0 and n:
            values[rng.integers(0, n)] = np.nan
        assert np.array_equal(estimate.average_ranks(values), stats.rankdata(values),
                              equal_nan=True)
    for dof in (0.5, 1.0, 3.7, 4.0, 63.0, 1e6, np.inf, 0.0, -1.0, np.nan):
        assert np.array_equal(estimate._t975(dof), stats.t.ppf(0.975, dof), equal_nan=True)


def test_a_window_without_labels_loads_no_scipy_stats_nor_sklearn(tmp_path: Path) -> None:
    """``mlflow-decay evaluate`` starts in a fresh process: what it imports is its start time
    (scikit-learn, and scipy.stats with it, only for realized performance: labels)."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=2000), "c": rng.choice(["a", "b"], 2000),
                          "p": rng.random(2000)})
    frame["y"] = (rng.random(2000) < frame.p).astype(int)
    (tmp_path / "profile.json").write_bytes(
        md.build_profile(frame, target="y", prediction="p").to_json())
    frame.drop(columns="y").to_parquet(tmp_path / "window.parquet")
    code = ("import sys\nfrom pathlib import Path\nimport mlflow_decay as md\n"
            "from mlflow_decay.engines.dispatch import evaluate_source\n"
            f"folder = Path({str(tmp_path)!r})\n"
            "profile = md.Profile.from_json((folder / 'profile.json').read_bytes())\n"
            "result, _, _ = evaluate_source(profile, folder / 'window.parquet')\n"
            "print('drift.x.ks' in result.metrics, 'est.roc_auc.lower' in result.metrics,\n"
            "      [m for m in ('scipy.stats', 'sklearn', 'matplotlib') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "True", "[]"], out.stdout


def test_bands_stay_in_the_metrics_range() -> None:
    """A 30-row window of high scores: its bands would reach past 1 (a precision of about 0.9
    on 30 rows); they stop at the range every realized value lies in."""
    rng = np.random.default_rng(3)
    scores = rng.random(5000)
    calibration = estimate.fit_calibration(scores, (rng.random(5000) < scores).astype(int))
    window = rng.uniform(0.8, 1.0, 30)
    found = estimate.estimate_binary(window, calibration)
    bounds = [(found[f"est.{m}.lower"], found[f"est.{m}.upper"]) for m in estimate.BINARY
              if f"est.{m}.lower" in found]
    assert bounds and all(0.0 <= lo <= hi <= 1.0 for lo, hi in bounds), found
    assert any(hi == 1.0 for _, hi in bounds), found  # one of them was cut


# --- trial 8: a band centred on a value the window cannot take ---------------------

def test_precision_band_of_few_certain_predicted_positives_covers_the_realized_precision(
        ) -> None:
    # rare positives, a high threshold: 3 of 3,000 rows decided positive, each positive with
    # probability 0.999 (the calibrated scores are the truth here). The realized precision is
    # 1 in 99.7 % of windows; the band of the draws' spread alone was [0.999, 0.999]
    from mlflow_decay.stats.calibration import Calibration

    scores = np.r_[np.full(2997, 0.01), np.full(3, 0.999)]
    est = estimate.estimate_binary(scores, Calibration(), threshold=0.5)
    assert est["est.precision"] == pytest.approx(0.999)
    rng = np.random.default_rng(0)
    hard = (scores >= 0.5).astype(int)
    covered = []
    for _ in range(400):
        y = (rng.random(len(scores)) < scores).astype(int)
        for name, value in (("precision", skm.precision_score(y, hard, zero_division=0)),
                            ("recall", skm.recall_score(y, hard)),
                            ("f1", skm.f1_score(y, hard)),
                            ("accuracy", skm.accuracy_score(y, hard))):
            covered.append(est[f"est.{name}.lower"] <= value <= est[f"est.{name}.upper"])
    assert np.mean(covered) >= 0.93
    assert est["est.precision.upper"] == 1.0


# --- rare positives: an isotonic map whose top block is all positive ---------------

def test_rare_positives_through_an_isotonic_map_whose_top_block_is_all_positive() -> None:
    """2 % positives and scores too high (a class-weighted model): isotonic regression is
    chosen and its top block, a few dozen rows, is all positive. Read in logit space, its
    exact 1 (clipped to 1 - 1e-6) made the rows just below it near-certain positives: est.pr_auc
    0.12 above the realized value and outside its own band, est.f1 0.10 above."""
    from sklearn.isotonic import IsotonicRegression

    def rows(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
        rng = np.random.default_rng(seed)
        z = rng.normal(0, 1, n)
        truth = 1 / (1 + np.exp(-(1.6 * z - 5.0)))
        return 1 / (1 + np.exp(-(1.4 * z - 1.5))), truth

    scores, truth = rows(20_000, 3)
    y = (np.random.default_rng(4).random(len(truth)) < truth).astype(int)
    top = IsotonicRegression(out_of_bounds="clip").fit(scores, y).predict(np.sort(scores))
    assert top[-1] == 1.0 and np.sum(top == 1.0) <= 100  # the case: a small, pure top block
    calibration = estimate.fit_calibration(scores, y)
    assert calibration.method == "isotonic"
    window, p = rows(20_000, 1003)
    check_pr_auc_and_f1(estimate.estimate_binary(window, calibration, threshold=0.9), window, p,
                        threshold=0.9, tolerance=0.04)


def test_a_reference_of_rounded_scores_is_calibrated_without_numpy_warnings() -> None:
    """Before: scores rounded to 0.05 (a forest's votes) left a held-out fold with an
    infinite stray for both maps, and `mlflow-decay profile` printed numpy's "RuntimeWarning:
    invalid value encountered in subtract" from the choice between beta and isotonic."""
    import warnings

    from mlflow_decay.stats.estimate import fit_calibrations

    rng = np.random.default_rng(4)
    y = rng.random(600) < 0.35
    s = np.round(np.where(y, rng.beta(8, 1.5, 600), rng.beta(1.5, 8, 600)) * 20) / 20
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        fits = fit_calibrations(s[:, None], y[:, None])
    assert len(fits) == 1
    assert fits == fit_calibrations(s[:, None], y[:, None])  # the same choice, warned or not
