"""Data at the edges (trial 3): tiny references, tiny windows, say what they cannot
judge instead of judging silently less."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import make_frame

import mlflow_decay as md

pytestmark = pytest.mark.plots  # its windows' plots are drawn (tests/conftest.py)


@pytest.mark.parametrize("rows, banded", [(50, False), (299, False), (300, True)])
def test_a_reference_too_small_for_bands_says_so_when_profiled_and_evaluated(
        tracking_uri: str, new_version: Callable[..., str], rows: int, banded: bool) -> None:
    profile = md.build_profile(make_frame(rows, 1), target="label", prediction="score")
    assert bool(profile.bands) is banded
    assert any("no reference bands" in n for n in profile.notes) is not banded
    uri = new_version()
    md.attach_profile(uri, profile, tracking_uri=tracking_uri)
    report = md.evaluate(uri, make_frame(500, 2), log=False, tracking_uri=tracking_uri)
    assert ("drift.multivariate.reconstruction_error" in report.metrics)
    unjudged = [n for n in report.notes if "not judged" in n]
    assert (unjudged == []) is banded
    if not banded:
        assert "drift.multivariate.reconstruction_error" in unjudged[0]


def test_a_one_row_window_scored_right_has_no_precision_or_f1(
        tracking_uri: str, profiled: str) -> None:
    from sklearn import metrics as skm

    window = make_frame(1, 2).assign(score=0.01, label=0)
    report = md.evaluate(profiled, window, log=False, tracking_uri=tracking_uri)
    assert report.metrics["perf.accuracy"] == 1.0
    for name in ("precision", "recall", "f1"):
        func = getattr(skm, f"{name}_score")
        assert np.isnan(func(window["label"], window["score"] >= 0.5, zero_division=np.nan))
        assert f"perf.{name}" not in report.metrics
        assert any(n.startswith(f"perf.{name} left out") for n in report.notes)


def test_a_rerun_monitor_reports_what_each_window_earned_not_the_stage_now(
        tracking_uri: str, profiled: str) -> None:
    days = [make_frame(1500, 10 + i, shift=0.0 if i == 0 else 2.0) for i in range(3)]
    for i, day in enumerate(days):
        day["ts"] = pd.Timestamp("2026-03-01", tz="UTC") + pd.Timedelta(days=i) + pd.to_timedelta(
            np.arange(len(day)), unit="s")
    data = pd.concat(days, ignore_index=True)
    first = md.monitor(profiled, data, timestamp_column="ts", every="1D",
                       tracking_uri=tracking_uri)
    assert first[0].window_status == "healthy" and first[-1].status == "degraded"
    again = md.monitor(profiled, data, timestamp_column="ts", every="1D",
                       tracking_uri=tracking_uri)
    assert all(r.skipped for r in again)
    for before, rerun in zip(first, again, strict=True):
        assert rerun.run_id == before.run_id
        assert rerun.window_status == before.window_status  # not the version's stage now
        assert rerun.reasons == before.reasons[:5]
        assert rerun.metrics == pytest.approx(before.metrics)
        assert rerun.status == before.status  # the stage it led to, as logged


def test_a_reference_csv_with_thousands_separators_gets_a_note_in_memory_and_streamed(
        tmp_path: Path) -> None:
    frame = make_frame(600, 1).assign(amount=lambda f: [f"{1000 * v:,.1f}" for v in f.x2])
    frame.to_csv(tmp_path / "ref.csv", index=False)
    frame.to_parquet(tmp_path / "ref.parquet")
    for source in (tmp_path / "ref.csv", tmp_path / "ref.parquet"):
        profile = md.build_profile(source, target="label", prediction="score", band_chunks=0)
        assert profile.feature_kinds["amount"] == "categorical"
        (note,) = profile.notes
        assert note.startswith("column 'amount' became a categorical feature but holds numbers "
                               "written with thousands separators (such as '")
    # text that is not all numbers, and a forced categorical column, get no note
    assert not md.build_profile(frame.assign(amount=lambda f: f.amount.where(f.index > 0, "n/a")),
                                target="label", prediction="score", band_chunks=0).notes
    assert not md.build_profile(frame, target="label", prediction="score", band_chunks=0,
                                categorical=["amount", "color"]).notes


def test_evidentlys_page_of_a_window_with_an_unseen_category_prints_no_runtime_warning(
        ) -> None:
    import warnings

    from mlflow_decay.render import evidently_report

    sample = make_frame(500, 1)
    window = make_frame(500, 2).assign(color="purple")  # a category the sample lacks
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        page, note = evidently_report(sample, window)
    assert page is not None and note is None
    assert [w for w in caught if issubclass(w.category, RuntimeWarning)] == []


def test_a_binary_model_whose_scores_all_lie_under_the_threshold_gets_a_note() -> None:
    from sklearn import metrics as skm

    frame = make_frame(3000, 1).assign(score=lambda f: 0.1 * f.score)  # scores in [0, 0.1]
    profile = md.build_profile(frame, target="label", prediction="score", band_chunks=0)
    assert "precision" not in profile.performance
    assert profile.performance["recall"] == 0.0
    (note,) = profile.notes
    assert note.startswith("no reference row scores at or above the threshold 0.5")
    decided = md.build_profile(frame, target="label", prediction="score", band_chunks=0,
                               threshold=0.05)
    assert decided.notes == ()
    assert decided.performance["precision"] == pytest.approx(
        skm.precision_score(frame["label"], frame["score"] >= 0.05))


def _twelve_classes(rows: int, seed: int) -> tuple[pd.DataFrame, list[str]]:
    """12 classes, the rarest at 0.2%: features, one probability column per class, labels."""
    rng = np.random.default_rng(seed)
    prior = np.array([30, 20, 15, 10, 8, 6, 4, 3, 2, 1, 0.5, 0.2])
    prior /= prior.sum()
    y = rng.choice(12, rows, p=prior)
    x = rng.normal(0, 1, (rows, 12))
    x[np.arange(rows), y] += 1.8
    proba = np.exp(x + np.log(prior))
    proba /= proba.sum(axis=1, keepdims=True)
    names = [f"c{i:02d}" for i in range(12)]
    frame = pd.DataFrame({f"f{i}": x[:, i] for i in range(12)})
    frame[[f"p_{c}" for c in names]] = proba
    frame["label"] = np.array(names)[y]
    return frame, names


def test_a_reference_without_a_rare_class_is_refused_or_noted_not_silently_unjudged() -> None:
    frame, names = _twelve_classes(3000, 1)
    frame = frame[frame["label"] != "c11"]
    columns = [f"p_{c}" for c in names]
    with pytest.raises(md.DataError, match=r"12 prediction columns but the reference labels in "
                       r"'label' hold 11 classes .* name each column's class in column order "
                       r"with classes= \(--classes\)"):
        md.build_profile(frame, target="label", prediction=columns, task="multiclass")
    profile = md.build_profile(frame, target="label", prediction=columns, task="multiclass",
                               classes=names, band_chunks=0)
    assert "roc_auc_ovr" not in profile.performance
    # and the estimate reads every class's raw scores: a class without rows has no map
    assert profile.notes == ("est.* will read the raw scores as probabilities, unchecked: 2994 "
                             "labelled reference rows, 0 of the rarest label, where 50 rows and "
                             "2 of each label are needed to check the scores' calibration or fit "
                             "a map (the bands leave the map's error out)",
                             "reference roc_auc_ovr left out (not every class is present in the "
                             "labels: none of c11): windows get no perf.roc_auc_ovr.delta to "
                             "judge")


def test_twelve_classes_some_rare_realized_metrics_equal_sklearn(
        tracking_uri: str, new_version: Callable[..., str]) -> None:
    from sklearn import metrics as skm

    reference, names = _twelve_classes(20_000, 1)
    columns = [f"p_{c}" for c in names]
    uri = new_version()
    md.attach_profile(uri, md.build_profile(reference, target="label", prediction=columns,
                                            task="multiclass"), tracking_uri=tracking_uri)
    window, _ = _twelve_classes(3000, 2)
    report = md.evaluate(uri, window, log=False, tracking_uri=tracking_uri)
    proba, truth = window[columns].to_numpy(), window["label"]
    decided = np.array(names)[proba.argmax(axis=1)]
    assert report.metrics["perf.roc_auc_ovr"] == pytest.approx(
        skm.roc_auc_score(truth, proba, multi_class="ovr", labels=names))
    assert report.metrics["perf.accuracy"] == pytest.approx(skm.accuracy_score(truth, decided))
    assert report.metrics["perf.f1_macro"] == pytest.approx(
        skm.f1_score(truth, decided, average="macro", labels=names, zero_division=0))


def test_a_reference_with_one_row_of_a_class_is_profiled_not_a_traceback() -> None:
    """Cross-validating a calibration map needs two rows of the class: one gets the raw
    scores, as a class absent from the reference does (a ValueError from scikit-learn's
    logistic regression escaped before)."""
    rng = np.random.default_rng(1)
    x = rng.normal(0, 1, 1000)
    score = 1 / (1 + np.exp(4 - x))
    label = (np.arange(1000) == np.argmax(score)).astype(int)  # 0.1% positives: one row
    binary = md.build_profile(pd.DataFrame({"x": x, "score": score, "label": label}),
                              target="label", prediction="score", band_chunks=0)
    assert binary.performance["roc_auc"] == 1.0 and binary.calibrations[0].method == "raw"
    frame, names = _twelve_classes(300, 1)  # c09, c10 and c11 have one row each
    assert (frame["label"].value_counts()[["c09", "c10", "c11"]] == 1).all()
    profile = md.build_profile(frame, target="label", prediction=[f"p_{c}" for c in names],
                               task="multiclass", classes=names, band_chunks=0)
    assert "roc_auc_ovr" in profile.estimated_performance
    assert all(c.method == "raw" for c in profile.calibrations)  # every class or none


@pytest.mark.parametrize("rows, modelled", [(20, False), (49, False), (50, True)])
def test_a_regression_reference_too_small_for_an_error_model_says_so(
        rows: int, modelled: bool) -> None:
    rng = np.random.default_rng(rows)
    x = rng.normal(0, 1, rows)
    frame = pd.DataFrame({"x": x, "pred": np.exp(x), "y": np.exp(x + rng.normal(0, 1, rows))})
    profile = md.build_profile(frame, target="y", prediction="pred", task="regression",
                               band_chunks=0)
    assert bool(profile.loss_models) is modelled
    assert bool(profile.estimated_performance) is modelled
    assert [n for n in profile.notes if n.startswith("no error model")] == ([] if modelled else [
        f"no error model: {rows} reference rows have both a label and a prediction, 50 are "
        "needed, so windows without labels get no est.* (and the default policy's "
        "est.rmse.ratio rule judges nothing)"])


@pytest.mark.parametrize("value, rows", [(0.3, 2000), (0.37, 3000)])
def test_a_constant_reference_column_has_no_spread_in_memory_and_streamed(
        tmp_path: Path, value: float, rows: int) -> None:
    """np.std of 2,000 times 0.3 is 1.1e-16, of 3,000 times 0.37 exactly 0: a constant
    feature or score divided distances by a rounding error (Wasserstein 9e13, PCA error 8e27
    for a window at 0.31) or not, by chance."""
    from scipy import stats

    from mlflow_decay.core.evaluation import evaluate_window

    reference = make_frame(rows, 1).assign(rate=value, score=value)
    reference.to_parquet(tmp_path / "ref.parquet")
    window = make_frame(1000, 2).assign(rate=value + 0.01, score=lambda f: f.score.clip(0.2, 0.5))
    for source in (reference, tmp_path / "ref.parquet"):
        profile = md.build_profile(source, target="label", prediction="score", band_chunks=0)
        assert profile.features["rate"].std == 0.0 and profile.prediction_summary.std == 0.0
        assert profile.multivariate is not None and "rate" not in profile.multivariate.features
        metrics = evaluate_window(profile, window.drop(columns="label")).metrics
        for column, key in (("rate", "rate"), ("score", "prediction")):  # scale 1: the raw W1
            assert metrics[f"drift.{key}.wasserstein"] == pytest.approx(
                stats.wasserstein_distance(reference[column], window[column]), rel=1e-6)
        assert metrics["drift.multivariate.reconstruction_error"] < 100
