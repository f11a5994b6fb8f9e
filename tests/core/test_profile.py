"""Reference profiles: contents, size, canonical JSON and hash, merge."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
from conftest import frame_profile, make_frame, reference_profile
from sklearn.metrics import roc_auc_score

import mlflow_decay as md
from mlflow_decay.core.profile import CategoricalSummary, NumericSummary


def test_kinds_are_inferred_and_forced(reference: pd.DataFrame) -> None:
    profile = reference_profile()
    kinds = {name: s.kind for name, s in profile.features.items()}
    assert kinds == {"x1": "numerical", "x2": "numerical", "color": "categorical",
                     "level": "categorical"}
    forced = md.build_profile(reference, target="label", prediction="score",
                              numerical=["level"], features=["x1", "level"])
    assert {n: s.kind for n, s in forced.features.items()} == {"x1": "numerical",
                                                              "level": "numerical"}


def test_profile_holds_the_reference_statistics(reference: pd.DataFrame) -> None:
    profile = reference_profile()
    x1 = profile.features["x1"]
    assert isinstance(x1, NumericSummary)
    assert x1.count == len(reference) and x1.missing == 0
    assert x1.mean == pytest.approx(reference.x1.mean())
    assert x1.std == pytest.approx(reference.x1.std(ddof=0))
    assert (x1.min, x1.max) == (reference.x1.min(), reference.x1.max())
    assert x1.quantiles[len(x1.quantiles) // 2] == pytest.approx(reference.x1.median(), abs=0.01)
    color = profile.features["color"]
    assert isinstance(color, CategoricalSummary)
    assert dict(zip(color.categories, color.counts, strict=True)) == \
        reference.color.value_counts().to_dict()
    assert profile.performance["roc_auc"] == pytest.approx(
        roc_auc_score(reference.label, reference.score))
    assert profile.classes == ("0", "1") and profile.positive_label == "1"


def test_profile_size_does_not_grow_with_rows() -> None:
    small = frame_profile(2_000, 1, target="label", prediction="score")
    large = md.build_profile(make_frame(200_000, 1), target="label", prediction="score")
    assert len(large.to_json()) <= len(small.to_json()) * 1.1
    for profile in (small, large):
        for name in ("x1", "x2"):
            column = json.dumps(profile.to_dict()["features"][name], separators=(",", ":"))
            assert len(column) <= 4096, (name, len(column))


def test_json_round_trip_and_hash_are_canonical(reference: pd.DataFrame) -> None:
    profile = reference_profile()
    data = profile.to_json()
    again = md.Profile.from_json(data)
    assert again == profile
    assert again.to_json() == data and again.sha256() == profile.sha256()
    assert md.build_profile(reference, target="label", prediction="score").sha256() == \
        profile.sha256()
    assert b"NaN" not in data and b"Infinity" not in data


@pytest.mark.parametrize(("mutate", "message"), [
    (lambda d: d.update(format="other"), "not an mlflow-decay profile"),
    (lambda d: d.update(format_version=99), "format version 99 is not supported"),
    (lambda d: d["features"]["x1"].update(quantiles=[1.0]), "wrong length"),
    (lambda d: d.pop("schema"), "malformed"),
])
def test_malformed_profiles_raise_profile_error(reference: pd.DataFrame, mutate, message) -> None:
    d = reference_profile().to_dict()
    mutate(d)
    with pytest.raises(md.ProfileError, match=message):
        md.Profile.from_json(json.dumps(d))
    with pytest.raises(md.ProfileError, match="not valid JSON"):
        md.Profile.from_json(b"{truncated")


def test_merge_of_parts_equals_profile_of_whole() -> None:
    frame = make_frame(40_000, 5)
    whole = md.build_profile(frame, target="label", prediction="score")
    merged = md.merge_profiles(
        md.build_profile(frame.iloc[:15_000], target="label", prediction="score"),
        md.build_profile(frame.iloc[15_000:], target="label", prediction="score"))
    assert merged.rows == whole.rows
    for name in ("x1", "x2"):
        a, b = merged.features[name], whole.features[name]
        assert isinstance(a, NumericSummary) and isinstance(b, NumericSummary)
        assert (a.count, a.missing, a.min, a.max) == (b.count, b.missing, b.min, b.max)
        assert a.mean == pytest.approx(b.mean) and a.std == pytest.approx(b.std)
        probes = np.linspace(b.quantiles[1], b.quantiles[-2], 200)
        assert np.max(np.abs(a.cdf(probes) - b.cdf(probes))) < 0.003
        assert sum(a.counts) == sum(b.counts)
    assert merged.features["color"] == whole.features["color"]
    assert md.merge_profiles(
        md.build_profile(frame.iloc[15_000:], target="label", prediction="score"),
        md.build_profile(frame.iloc[:15_000], target="label", prediction="score"),
    ).features["color"] == whole.features["color"]


def test_missing_and_infinite_values_are_counted_apart() -> None:
    frame = make_frame(1000, 2)
    frame.loc[:9, "x1"] = np.nan
    frame.loc[10:14, "x1"] = np.inf
    profile = md.build_profile(frame, target="label", prediction="score")
    x1 = profile.features["x1"]
    assert isinstance(x1, NumericSummary)
    assert (x1.count, x1.missing, x1.infinite) == (985, 10, 5)
    assert np.isfinite(x1.max)


def test_multiclass_and_regression_profiles() -> None:
    rng = np.random.default_rng(0)
    proba = rng.dirichlet([1, 1, 1], 3000)
    noisy = np.argmax(proba + rng.normal(0, 0.2, proba.shape), axis=1)
    frame = pd.DataFrame({"x": rng.normal(size=3000), "p_a": proba[:, 0], "p_b": proba[:, 1],
                          "p_c": proba[:, 2], "y": np.array(["a", "b", "c"])[noisy]})
    mc = md.build_profile(frame, target="y", prediction=["p_a", "p_b", "p_c"], task="multiclass")
    assert mc.classes == ("a", "b", "c")
    assert set(mc.performance) == {"roc_auc_ovr", "accuracy", "f1_macro"}
    reg = md.build_profile(frame.assign(t=frame.x * 2), target="t", prediction="x",
                           task="regression", features=["p_a"])
    assert set(reg.performance) == {"rmse", "mae", "r2"}


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"target": "nope"}, "column 'nope' is missing from the reference"),
    ({"prediction": "nope"}, "column 'nope' is missing from the reference"),
    ({"task": "ranking"}, "task must be one of"),
    ({"categorical": ["x1"], "numerical": ["x1"]}, "both categorical and numerical"),
])
def test_bad_profile_arguments_are_refused(reference: pd.DataFrame, kwargs, message) -> None:
    with pytest.raises(md.DataError, match=message):
        md.build_profile(reference, **kwargs)
    with pytest.raises(md.DataError, match="reference table is empty"):
        md.build_profile(reference.iloc[:0])


def test_profiles_before_categorical_levels_load_and_evaluate_as_before() -> None:
    from mlflow_decay.core.evaluation import MULTIVARIATE, evaluate_window

    reference = make_frame(5000, 3)
    d = md.build_profile(reference, target="label", prediction="score").to_dict()
    assert d["format_version"] == 3 and "categorical" in d["multivariate"]  # levels: version 3
    # as an older mlflow-decay wrote it: numerical features and their kept components only
    w = np.array([[0.6, 0.8]])
    d.update(format_version=1)
    d["multivariate"] = {"features": ["x1", "x2"], "mean": [0.1, 1.2], "scale": [1.1, 0.6],
                         "components": w.tolist(), "reference_error": 0.9}
    old = md.Profile.from_json(json.dumps(d))
    assert old.to_dict() == d  # same keys and version: the same bytes and hash
    window = make_frame(3000, 4)
    z = (window[["x1", "x2"]].to_numpy() - [0.1, 1.2]) / [1.1, 0.6]
    expected = float(np.mean(np.sum((z - z @ w.T @ w) ** 2, axis=1)))
    assert evaluate_window(old, window).metrics[MULTIVARIATE] == pytest.approx(expected, rel=1e-9)


def test_a_profiles_notes_are_raised_as_warnings_a_notebook_shows() -> None:
    frame = make_frame(1000, seed=4).assign(customer_id=[f"c{i}" for i in range(1000)])
    with pytest.warns(md.DecayWarning, match="customer_id") as caught:
        profile = md.build_profile(frame, target="label", prediction="score")
    assert [str(w.message) for w in caught] == list(profile.notes)


def test_multiclass_columns_named_in_another_order_than_their_classes_get_a_note() -> None:
    """Trial 7: a model trained on codes 0-7 wrote proba_0..proba_7 in its
    ``classes_`` order (gold, silver, ...), and classes= listed the names alphabetically: the
    reference accuracy was 0.035, below chance, with no note; every window then judged
    against it."""
    from sklearn.metrics import accuracy_score

    rng = np.random.default_rng(8)
    names = ["gold", "silver", "bronze", "amber"]
    y = rng.integers(0, 4, 3000)
    logits = rng.normal(0, 1, (3000, 4)) + 2.5 * np.eye(4)[y]
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    frame = pd.DataFrame(proba, columns=[f"proba_{i}" for i in range(4)]).assign(
        x=rng.normal(0, 1, 3000), tier=np.array(names)[y])
    columns = [f"proba_{i}" for i in range(4)]
    wrong = md.build_profile(frame, target="tier", prediction=columns, task="multiclass",
                             classes=sorted(names), band_chunks=0)
    assert wrong.performance["accuracy"] == pytest.approx(accuracy_score(
        frame.tier, np.array(sorted(names))[proba.argmax(1)]))
    fits = accuracy_score(frame.tier, np.array(names)[proba.argmax(1)])
    note, = [n for n in wrong.notes if "in the prediction columns' order" in n]
    assert note == (f"reference accuracy {wrong.performance['accuracy']:.3f}, where reading "
                    "'proba_0' as 'gold', 'proba_1' as 'silver', 'proba_2' as 'bronze', "
                    f"'proba_3' as 'amber' gives {fits:.3f}: are classes= (--classes) in the "
                    "prediction columns' order?")
    right = md.build_profile(frame, target="tier", prediction=columns, task="multiclass",
                             classes=names, band_chunks=0)
    assert right.performance["accuracy"] == pytest.approx(fits) and not right.notes


def test_classes_that_contradict_the_prediction_columns_names_are_refused() -> None:
    """Trial 21: columns p_bronze, p_gold, p_platinum, p_silver (the model's ``classes_``
    order) with classes= in the business order bronze, silver, gold, platinum: p_gold was read
    as silver, p_platinum as gold, p_silver as platinum, silently (the model's usual bronze
    kept the accuracy above the note's bar), and every metric was of the wrong columns."""
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(21)
    names = ["bronze", "gold", "platinum", "silver"]  # scikit-learn's sorted classes_
    y = rng.choice(4, 3000, p=[0.45, 0.2, 0.04, 0.31])
    logits = rng.normal(0, 1, (3000, 4)) + 1.2 * np.eye(4)[y]
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    columns = [f"p_{n}" for n in names]
    frame = pd.DataFrame(proba, columns=columns).assign(x=rng.normal(0, 1, 3000),
                                                        tier=np.array(names)[y])
    business = ["bronze", "silver", "gold", "platinum"]
    with pytest.raises(md.DataError, match=re.escape(
            "classes= (--classes) give 'p_gold' (named after 'gold') as 'silver', 'p_platinum' "
            "(named after 'platinum') as 'gold', 'p_silver' (named after 'silver') as "
            "'platinum'; give classes= in the prediction columns' order (bronze, gold, "
            "platinum, silver)")):
        md.build_profile(frame, target="tier", prediction=columns, task="multiclass",
                         classes=business, band_chunks=0)
    # named in the business order, the columns are read as named
    ordered = [f"p_{n}" for n in business]
    profile = md.build_profile(frame, target="tier", prediction=ordered, task="multiclass",
                               classes=business, band_chunks=0)
    assert profile.classes == tuple(business)
    assert profile.performance["roc_auc_ovr"] == pytest.approx(roc_auc_score(
        frame.tier, proba, multi_class="ovr", labels=names))


# --- trial 8: no estimate where none can be made -----------------------------------

@pytest.mark.parametrize("task", ["binary", "multiclass"])
def test_a_reference_of_identical_scores_gives_no_estimate_and_says_why(task: str) -> None:
    # a reference scored by a broken pipeline (every row the same output) cannot say what a
    # score means: a window whose scores rank well was estimated at AUC 0.5 [0.44, 0.56]
    from mlflow_decay.core.evaluation import evaluate_window

    rng = np.random.default_rng(0)
    x = rng.normal(size=2000)
    if task == "binary":
        y = (rng.random(2000) < 1 / (1 + np.exp(-3 * x))).astype(int)
        ref = pd.DataFrame({"x": x, "y": y, "score": 0.2})
        window = pd.DataFrame({"x": x, "score": 1 / (1 + np.exp(-3 * x))})
        prediction: str | list[str] = "score"
    else:
        y = np.array(["a", "b", "c"])[np.digitize(x + rng.normal(0, 0.5, 2000), [-0.5, 0.5])]
        ref = pd.DataFrame({"x": x, "y": y, "p_a": 0.5, "p_b": 0.3, "p_c": 0.2})
        window = pd.DataFrame({"x": x, "p_a": (x < -0.5) * 0.8 + 0.1, "p_b": 0.1,
                               "p_c": (x >= -0.5) * 0.8})
        prediction = ["p_a", "p_b", "p_c"]
    with pytest.warns(md.DecayWarning, match="same score"):
        profile = md.build_profile(ref, target="y", prediction=prediction, task=task)
    assert profile.calibrations == ()
    assert not any(k.startswith("est.") for k in evaluate_window(profile, window).metrics)
    again = md.Profile.from_json(profile.to_json())
    assert again.calibrations == ()


@pytest.mark.parametrize("rows, positives", [(40, 8), (2000, 1)])
def test_a_reference_too_small_to_check_the_scores_says_est_reads_them_unchecked(
        rows: int, positives: int) -> None:
    # an over-confident model (scores near 0 and 1) profiled on 40 rows, or on 2,000 rows with
    # one positive: no calibration is checked or fitted, and est.* reads the raw scores; the
    # note used to say only "from the raw scores", as for scores found calibrated
    rng = np.random.default_rng(0)
    y = np.r_[np.ones(positives, int), np.zeros(rows - positives, int)]
    score = np.clip(np.where(y == 1, 0.97, 0.03) + rng.normal(0, 0.02, rows), 0, 1)
    ref = pd.DataFrame({"x": rng.normal(size=rows), "y": y, "score": score})
    with pytest.warns(md.DecayWarning, match="raw scores as probabilities, unchecked") as seen:
        profile = md.build_profile(ref, target="y", prediction="score")
    note = next(str(w.message) for w in seen if "unchecked" in str(w.message))
    assert f"{rows} labelled reference rows, {min(positives, rows - positives)} of the" in note
    assert [c.method for c in profile.calibrations] == ["raw"]


def test_a_reference_large_enough_has_no_unchecked_note() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=600)
    ref = pd.DataFrame({"x": x, "y": (rng.random(600) < 1 / (1 + np.exp(-x))).astype(int),
                        "score": 1 / (1 + np.exp(-x))})
    profile = md.build_profile(ref, target="y", prediction="score")
    assert not any("unchecked" in n for n in profile.notes)


def test_a_reference_the_scores_separate_perfectly_says_estimates_will_read_perfect() -> None:
    # the reference scored in-sample (a forest's training rows): realized AUC 1, and every
    # later est.* read near 1 (AUC 0.9999 [0.9998, 1.0] on a window whose realized AUC is
    # 0.91), with no note
    from sklearn.ensemble import RandomForestClassifier

    rng = np.random.default_rng(0)
    x = rng.normal(size=(1500, 3))
    y = (rng.random(1500) < 1 / (1 + np.exp(-x[:, 0] - x[:, 1]))).astype(int)
    forest = RandomForestClassifier(n_estimators=30, random_state=0).fit(x[:1000], y[:1000])
    frame = pd.DataFrame(x, columns=["a", "b", "c"]).assign(
        y=y, score=forest.predict_proba(x)[:, 1])
    with pytest.warns(md.DecayWarning, match="separate the labels perfectly"):
        md.build_profile(frame[:1000], target="y", prediction="score")
    held_out = md.build_profile(frame[1000:], target="y", prediction="score")
    assert not any("perfectly" in n for n in held_out.notes)


def test_probability_columns_named_after_a_models_float_classes_are_read() -> None:
    """Trial 19b: a model trained on labels read as floats (a CSV column with a blank) has
    ``classes_`` 0.0, 1.0, 2.0, and columns named from them, ``p_0.0``…, were refused as names
    no class could be read from (each ends in "0")."""
    from sklearn.datasets import load_wine
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score

    x, y = load_wine(return_X_y=True, as_frame=True)
    model = LogisticRegression(max_iter=5000).fit(x, y.astype(float))
    frame = x.copy()
    names = [f"p_{c}" for c in model.classes_]
    assert names == ["p_0.0", "p_1.0", "p_2.0"]
    frame[names] = model.predict_proba(x)
    frame["label"] = y
    profile = md.build_profile(frame, target="label", prediction=names, task="multiclass")
    assert profile.classes == ("0", "1", "2")
    assert profile.performance["accuracy"] == pytest.approx(
        accuracy_score(y, model.predict(x)), rel=1e-12)
    assert profile.performance["roc_auc_ovr"] == pytest.approx(
        roc_auc_score(y, model.predict_proba(x), multi_class="ovr"), rel=1e-12)
