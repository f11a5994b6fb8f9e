"""Classifiers' label-free estimates: the calibration choice, the decision threshold, and the
bands' two terms, each checked against an exhaustive or scikit-learn reference."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from conftest import check_pr_auc_and_f1
from sklearn import metrics as skm

from mlflow_decay.errors import DataError
from mlflow_decay.stats import calibration, estimate
from mlflow_decay.stats.schema import map_labels


def _rms_about(p: np.ndarray, metric, center: float) -> float:  # type: ignore[no-untyped-def]
    """Exact root mean square deviation of ``metric(labels)`` from ``center`` (the estimate),
    over every labelling as in :func:`_brute_force`: its spread and its mean's distance."""
    mean, sd = _brute_force(p, metric)
    return float(np.sqrt(sd**2 + (mean - center) ** 2))


def _brute_force(p: np.ndarray, metric) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """Exact mean and standard deviation of ``metric(labels)`` over every labelling of the rows,
    each row's label drawn from its own class probabilities ``p`` (rows, classes); labellings
    where the metric is undefined (``nan``) are left out and the rest reweighted."""
    n, k = p.shape
    values, weights = [], []
    for labels in itertools.product(range(k), repeat=n):
        value = metric(np.array(labels))
        if np.isfinite(value):
            values.append(value)
            weights.append(np.prod(p[np.arange(n), labels]))
    v, w = np.array(values), np.array(weights) / np.sum(weights)
    mean = float(np.sum(w * v))
    return mean, float(np.sqrt(np.sum(w * (v - mean) ** 2)))


def test_binary_sampling_sd_matches_every_labelling(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(0)
    scores = np.sort(rng.random(10))  # ascending, as sampling_sd takes them
    p = np.clip(scores + rng.normal(0, 0.15, 10), 0.05, 0.95)
    hard = (scores >= 0.6).astype(float)
    monkeypatch.setattr(estimate, "_DRAWS", 40_000)
    sd = estimate.sampling_sd(scores, p, hard, np.random.default_rng(1))
    two = np.column_stack([1 - p, p])
    point = estimate.binary_point(scores, p, hard)

    def auc(labels: np.ndarray) -> float:
        return skm.roc_auc_score(labels, scores) if 0 < labels.sum() < len(labels) else np.nan

    def accuracy(labels: np.ndarray) -> float:
        return skm.accuracy_score(labels, hard)

    for name, metric in (("roc_auc", auc), ("accuracy", accuracy)):
        assert sd[name] == pytest.approx(_rms_about(two, metric, point[name]), rel=0.03)


def test_multiclass_band_draws_rows_jointly(monkeypatch: pytest.MonkeyPatch) -> None:
    # 5 rows, 3 classes: every one of the 243 labellings, weighted by its probability
    rng = np.random.default_rng(2)
    q = rng.dirichlet([2, 2, 2], 5)
    proba = np.clip(q + rng.normal(0, 0.05, q.shape), 0.01, None)
    predicted = np.argmax(proba, axis=1)
    monkeypatch.setattr(estimate, "_DRAWS", 40_000)
    sd = estimate.multiclass_sampling_sd(proba, q, predicted, np.random.default_rng(3))

    def macro_auc(labels: np.ndarray) -> float:
        if len(set(labels.tolist())) < 3:
            return np.nan  # scikit-learn refuses a class without rows
        return float(np.mean([skm.roc_auc_score(labels == c, proba[:, c]) for c in range(3)]))

    def macro_f1(labels: np.ndarray) -> float:
        return skm.f1_score(labels, predicted, average="macro", labels=[0, 1, 2], zero_division=0)

    def accuracy(labels: np.ndarray) -> float:
        return skm.accuracy_score(labels, predicted)

    for name, metric in (("roc_auc_ovr", macro_auc), ("f1_macro", macro_f1),
                         ("accuracy", accuracy)):
        exact = _rms_about(q, metric, estimate.multiclass_point(proba, q, predicted)[name])
        assert sd[name] == pytest.approx(exact, rel=0.03), name
    # the classes' one-vs-rest F1s move together (a row is of one class only): combining
    # their deviations as if independent misses that
    independent = np.sqrt(sum(_brute_force(q, lambda y, c=c: skm.f1_score(
        y == c, predicted == c, zero_division=0))[1] ** 2 for c in range(3))) / 3
    assert abs(independent - sd["f1_macro"]) > 0.05 * sd["f1_macro"]


def test_the_threshold_drives_the_expected_confusion_matrix() -> None:
    rng = np.random.default_rng(4)
    scores = rng.random(4000) ** 1.5
    draws = rng.random((120, 4000)) < scores  # calibrated scores: labels as they say
    for threshold in (0.3, 0.65, 0.8):
        est = estimate.estimate_binary(scores, calibration.Calibration(), threshold=threshold)
        decided = scores >= threshold
        realized = {"accuracy": skm.accuracy_score, "precision": skm.precision_score,
                    "recall": skm.recall_score, "f1": skm.f1_score}
        for name, metric in realized.items():
            values = [metric(y, decided) for y in draws]
            # the expected confusion matrix's metric: the draws' mean, within their noise
            noise = np.std(values) / np.sqrt(len(values))
            assert est[f"est.{name}"] == pytest.approx(np.mean(values), abs=3 * noise)
            assert est[f"est.{name}.lower"] < np.mean(values) < est[f"est.{name}.upper"]
    # the ranking metrics do not read the threshold
    low, high = (estimate.estimate_binary(scores, calibration.Calibration(), threshold=t)
                 for t in (0.3, 0.8))
    assert low["est.roc_auc"] == high["est.roc_auc"] and low["est.f1"] != high["est.f1"]


def test_band_adds_the_fold_maps_jackknife_to_the_sampling_error() -> None:
    from scipy import stats

    x = tuple(np.linspace(0.01, 0.99, 50))
    y = tuple(np.linspace(0.01, 0.99, 50))
    # fold maps that disagree above 0.5, where the positive decisions are
    folds = tuple(tuple(np.where(np.array(x) >= 0.5, np.clip(np.array(y) + s, 0.001, 0.999), y))
                  for s in (-0.04, -0.02, 0.0, 0.02, 0.04))
    scores = np.random.default_rng(5).random(3000)
    plain = estimate.estimate_binary(scores, calibration.Calibration(x, y, method="beta"))
    wide = estimate.estimate_binary(scores, calibration.Calibration(x, y, method="beta",
                                                                    folds=folds))
    assert plain["est.accuracy"] == wide["est.accuracy"]  # the point reads the stored map
    # the sampling term alone: t with the draws' degrees of freedom
    sampling = (plain["est.accuracy.upper"] - plain["est.accuracy"]) / stats.t.ppf(0.975, 63)
    # the jackknife over the fold maps, computed here from its definition
    hard = scores >= 0.5
    theta = np.array([np.mean(np.where(hard, m(scores), 1 - m(scores)))
                      for m in (calibration.Calibration(x, f) for f in folds)])
    jackknife = np.sqrt(4 / 5 * np.sum((theta - theta.mean()) ** 2))
    dof = (sampling**2 + jackknife**2) ** 2 / (sampling**4 / 63 + jackknife**4 / 4)
    expected = stats.t.ppf(0.975, dof) * np.hypot(sampling, jackknife)
    assert wide["est.accuracy.upper"] - wide["est.accuracy"] == pytest.approx(expected, rel=1e-9)
    assert jackknife > sampling  # this map's uncertainty dominates: the band is much wider
    assert expected > 2 * (plain["est.accuracy.upper"] - plain["est.accuracy"])


def test_raw_scores_kept_when_they_already_estimate_the_reference() -> None:
    rng = np.random.default_rng(6)
    logit = rng.normal(0, 2, 20_000)
    p = 1 / (1 + np.exp(-logit))
    y = (rng.random(20_000) < p).astype(float)
    assert estimate.fit_calibration(p, y).method == "raw"
    # a small offset in the mean is enough to reject them, though the log loss barely moves
    shifted = np.clip(p - 0.02, 0.001, 0.999)
    chosen = estimate.fit_calibration(shifted, y)
    assert chosen.method in ("beta", "isotonic") and len(chosen.folds) == calibration.FOLDS
    assert abs(np.mean(chosen(shifted)) - y.mean()) < 0.005
    # one choice whatever the decision threshold: the threshold is not an input
    again = calibration.Calibration.from_dict(chosen.to_dict())
    assert again == chosen


def test_raw_scores_that_miss_the_top_of_rare_positives_are_not_kept() -> None:
    """3 % positives, the raw scores calibrated except in the top 1 % (their logit misses a hinge
    at z = 2.5): their expected AUC and cumulative gap pass, and raw scores read as
    probabilities put est.pr_auc 0.05 and est.f1 0.04 below the realized values, outside their
    bands. Their average precision on the reference says so (4.4 sampling deviations)."""
    def rows(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
        z = np.random.default_rng(seed).normal(0, 1, n)
        base = 1.3 * z - 4.2
        return 1 / (1 + np.exp(-base)), 1 / (1 + np.exp(-(base + 1.6 * np.maximum(z - 2.5, 0))))

    scores, truth = rows(20_000, 9)
    y = (np.random.default_rng(109).random(len(truth)) < truth).astype(int)
    z_auc, ks = estimate._stray(scores, scores, y, np.random.default_rng(0))
    assert z_auc < estimate.Z95 and ks < estimate.KS95  # what alone kept them
    chosen = estimate.fit_calibration(scores, y)
    window, p = rows(20_000, 1009)
    check_pr_auc_and_f1(estimate.estimate_binary(window, chosen, threshold=0.3), window, p,
                        threshold=0.3, tolerance=0.02)
    assert chosen.method != "raw"


def test_cumulative_miscalibration_is_a_scaled_ks_statistic() -> None:
    rng = np.random.default_rng(7)
    stats = []
    for _ in range(300):
        p = rng.random(400)
        y = (rng.random(400) < p).astype(float)
        stats.append(calibration.cumulative_miscalibration(p, p, y))
    # calibrated: the largest |W(t)| of a Brownian motion on [0, 1] (95% point 2.24, median 1.15)
    assert np.quantile(stats, 0.95) == pytest.approx(estimate.KS95, abs=0.3)
    assert np.median(stats) == pytest.approx(1.15, abs=0.15)


def test_profiles_say_which_estimator_and_old_maps_still_read() -> None:
    import pandas as pd

    import mlflow_decay as md
    from mlflow_decay.core.evaluation import evaluate_window

    rng = np.random.default_rng(8)
    z = rng.normal(0, 2, 30_000)
    frame = pd.DataFrame({"x": z, "score": 1 / (1 + np.exp(-1.8 * z)),
                          "y": (rng.random(30_000) < 1 / (1 + np.exp(-z))).astype(int)})
    profile = md.build_profile(frame.iloc[:20_000], target="y", prediction="score",
                               threshold=0.65)
    (cal,) = profile.calibrations
    assert cal.method in ("beta", "isotonic") and len(cal.folds) == calibration.FOLDS
    assert md.Profile.from_json(profile.to_json()) == profile
    result = evaluate_window(profile, frame.iloc[20_000:].drop(columns="y"))
    assert any(n.startswith("est.* estimated without labels") and cal.method in n
               for n in result.notes)
    # a map stored before methods and fold maps were: read as it was, band without its term
    old = calibration.Calibration.from_dict({"x": list(cal.x), "y": list(cal.y)})
    assert old.method == "map" and old.folds == () and old(np.array([0.3])) == cal(np.array([0.3]))
    scores = frame["score"].to_numpy()[20_000:]
    narrow, wide = (estimate.estimate_binary(scores, c, threshold=0.65) for c in (old, cal))
    assert narrow["est.f1"] == wide["est.f1"]
    assert narrow["est.f1.upper"] - narrow["est.f1"] <= wide["est.f1.upper"] - wide["est.f1"]


def test_a_label_a_window_added_to_eight_classes_is_named_with_its_rows() -> None:
    """Trial 7: an 8-class window with a new tier listed nine labels beside the
    eight classes, and the reader had to find the one that differed."""
    classes = ["amber", "bronze", "copper", "gold", "iron", "platinum", "silver", "zinc"]
    labels = pd.Series(classes * 10 + ["titanium"] * 3)
    with pytest.raises(DataError, match=r"; not a class: titanium \(3 rows\)$"):
        map_labels(labels, classes, "tier")
