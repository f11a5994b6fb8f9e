"""Realized performance equals scikit-learn's on the same rows; undefined metrics are explained."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

from mlflow_decay.stats.performance import realized


def test_binary_metrics_equal_sklearn() -> None:
    rng = np.random.default_rng(0)
    p = rng.random(4000)
    y = (rng.random(4000) < p).astype(int)
    got, notes = realized("binary", pd.Series(y), p, classes=("0", "1"), positive_label="1")
    assert notes == {}
    assert got["roc_auc"] == pytest.approx(skm.roc_auc_score(y, p))
    assert got["pr_auc"] == pytest.approx(skm.average_precision_score(y, p))
    assert got["log_loss"] == pytest.approx(skm.log_loss(y, p))
    assert got["brier"] == pytest.approx(skm.brier_score_loss(y, p))
    assert got["accuracy"] == pytest.approx(skm.accuracy_score(y, p >= 0.5))
    assert got["precision"] == pytest.approx(skm.precision_score(y, p >= 0.5))
    assert got["recall"] == pytest.approx(skm.recall_score(y, p >= 0.5))
    assert got["f1"] == pytest.approx(skm.f1_score(y, p >= 0.5))


def test_log_loss_of_probabilities_of_exactly_0_and_1_equals_sklearn() -> None:
    """Before: clipped at 1e-15 first, a confidently wrong row counted 34.5 where scikit-learn
    counts 36.0 (at the machine epsilon): a lower log loss than sklearn's on the same rows; and
    scores past 1 by a rounding error (which the window check lets through) made scikit-learn's
    Brier score raise."""
    rng = np.random.default_rng(3)
    p = np.round(rng.random(2000) * 5) / 5  # five neighbours' votes: 0 and 1 included
    y = (rng.random(2000) < np.clip(p, 0.05, 0.95)).astype(int)
    assert ((p == 0) & (y == 1)).any() and ((p == 1) & (y == 0)).any()
    got, _ = realized("binary", pd.Series(y), p, classes=("0", "1"), positive_label="1")
    assert got["log_loss"] == pytest.approx(skm.log_loss(y, p), rel=1e-12)
    strays = realized("binary", pd.Series(y), p * (1 + 1e-9), classes=("0", "1"),
                      positive_label="1")[0]  # past 1 by a rounding error: read as 1
    read = np.clip(p * (1 + 1e-9), 0, 1)  # scikit-learn refuses a score past 1
    assert strays["log_loss"] == pytest.approx(skm.log_loss(y, read))
    assert strays["brier"] == pytest.approx(skm.brier_score_loss(y, read))


def test_string_labels_and_missing_rows() -> None:
    rng = np.random.default_rng(1)
    p = rng.random(1000)
    y = np.where(rng.random(1000) < p, "yes", "no").astype(object)
    y[:50] = None
    p[50:60] = np.nan
    got, _ = realized("binary", pd.Series(y), p, classes=("no", "yes"), positive_label="yes")
    keep = slice(60, None)
    assert got["roc_auc"] == pytest.approx(skm.roc_auc_score(y[keep] == "yes", p[keep]))


def test_single_class_window_leaves_ranking_metrics_out_with_a_reason() -> None:
    p = np.linspace(0.1, 0.9, 100)
    got, notes = realized("binary", pd.Series(np.ones(100, dtype=int)), p,
                          classes=("0", "1"), positive_label="1")
    assert "roc_auc" not in got and "pr_auc" not in got
    assert notes["roc_auc"] == "labels have a single class"
    assert got["accuracy"] == pytest.approx(0.5, abs=0.01)


def test_multiclass_and_regression_equal_sklearn() -> None:
    rng = np.random.default_rng(2)
    proba = rng.dirichlet([1, 1, 1], 2000)
    y = np.array(["a", "b", "c"])[rng.integers(0, 3, 2000)]
    got, _ = realized("multiclass", pd.Series(y), proba, classes=("a", "b", "c"))
    assert got["roc_auc_ovr"] == pytest.approx(
        skm.roc_auc_score(y, proba, multi_class="ovr", average="macro", labels=["a", "b", "c"]))
    pred = np.array(["a", "b", "c"])[proba.argmax(1)]
    assert got["f1_macro"] == pytest.approx(skm.f1_score(y, pred, average="macro"))
    t = rng.normal(size=500)
    yhat = t + rng.normal(0, 0.3, 500)
    reg, _ = realized("regression", pd.Series(t), yhat)
    assert reg["rmse"] == pytest.approx(np.sqrt(skm.mean_squared_error(t, yhat)))
    assert reg["mae"] == pytest.approx(skm.mean_absolute_error(t, yhat))
    assert reg["r2"] == pytest.approx(skm.r2_score(t, yhat))


# --- trial 3: 0/0 is undefined, not 0 -------------------------------------------

@pytest.mark.parametrize("labels, scores", [
    ([0], [0.01]),                              # one row, right: nothing predicted positive
    ([0, 0], [0.2, 0.3]),                       # two rows, no positive anywhere
    ([0] * 990 + [1] * 10, [0.05] * 1000),      # 1% positives, all scores under the threshold
    ([0, 1, 0, 1], [0.0, 0.1, 0.05, 0.1]),      # a model whose scores all lie in [0, 0.1]
])
def test_precision_and_f1_are_left_out_when_sklearn_leaves_them_undefined(
        labels: list[int], scores: list[float]) -> None:
    y, p = np.array(labels), np.array(scores)
    got, notes = realized("binary", pd.Series(y), p, classes=("0", "1"), positive_label="1")
    hard = (p >= 0.5).astype(int)
    for name, func in [("precision", skm.precision_score), ("recall", skm.recall_score),
                       ("f1", skm.f1_score)]:
        expected = func(y, hard, zero_division=np.nan)
        if np.isnan(expected):
            assert name not in got and notes[name]
        else:
            assert got[name] == pytest.approx(expected)
    assert "precision" not in got and notes["precision"] == "no row is predicted positive"


def test_precision_of_a_window_with_false_positives_only_is_zero() -> None:
    y, p = np.zeros(50, dtype=int), np.r_[np.full(5, 0.9), np.full(45, 0.1)]
    got, notes = realized("binary", pd.Series(y), p, classes=("0", "1"), positive_label="1")
    assert got["precision"] == skm.precision_score(y, p >= 0.5, zero_division=np.nan) == 0.0
    assert got["f1"] == skm.f1_score(y, p >= 0.5, zero_division=np.nan) == 0.0
    assert "recall" in notes


def test_a_multiclass_auc_left_out_names_the_classes_the_labels_lack() -> None:
    """Trial 7: an 8-class window without its rare class said only that "not every
    class is present"; which one was the reader's to find."""
    rng = np.random.default_rng(3)
    classes = ("gold", "silver", "bronze", "amber")
    proba = rng.dirichlet([1, 1, 1, 1], 300)
    y = np.array(classes[:3])[rng.integers(0, 3, 300)]
    got, why = realized("multiclass", pd.Series(y), proba, classes=classes)
    assert "roc_auc_ovr" not in got
    assert why["roc_auc_ovr"] == "not every class is present in the labels: none of amber"
    assert got["f1_macro"] == pytest.approx(skm.f1_score(  # amber counts 0, as scikit-learn's
        y, np.array(classes)[proba.argmax(1)], average="macro", labels=classes, zero_division=0))


# --- trial 8: a forest's tied probabilities ---------------------------------------

def test_multiclass_auc_of_tied_probabilities_equals_sklearn_on_the_same_rows() -> None:
    # a random forest's predict_proba: fractions of 20 trees, so many rows tie, and some rows
    # sum to 1 only within an ulp; dividing by those sums broke the ties (AUC off by ~1e-4)
    rng = np.random.default_rng(0)
    votes = rng.multinomial(20, [0.6, 0.25, 0.1, 0.05], size=3000).astype(float)
    y = np.array(["bird", "cat", "dog", "eel"])[
        np.array([rng.choice(4, p=(v + 1) / (v + 1).sum()) for v in votes])]
    proba = votes / 20.0
    third = np.array([1 / 3, 1 / 3, 1 / 3, 0.0])  # sums to 1 - 1.1e-16
    proba[:300] = np.where(rng.random((300, 1)) < 0.5, third, proba[:300])
    assert (proba.sum(axis=1) != 1.0).any()
    got, _ = realized("multiclass", pd.Series(y), proba, classes=("bird", "cat", "dog", "eel"))
    want = skm.roc_auc_score(y, proba, multi_class="ovr", average="macro",
                             labels=["bird", "cat", "dog", "eel"])
    assert got["roc_auc_ovr"] == want


def test_multiclass_auc_of_rows_not_summing_to_one_is_on_the_normalised_rows() -> None:
    rng = np.random.default_rng(1)
    proba = rng.dirichlet([1, 1, 1], 500)
    y = np.array(["a", "b", "c"])[rng.integers(0, 3, 500)]
    got, _ = realized("multiclass", pd.Series(y), proba * 1.01, classes=("a", "b", "c"))
    assert got["roc_auc_ovr"] == pytest.approx(
        skm.roc_auc_score(y, proba, multi_class="ovr", average="macro", labels=["a", "b", "c"]))


def test_a_multiclass_f1_counting_an_absent_class_as_0_is_explained_with_sklearns_value(
        ) -> None:
    """Trial 19: a wine window without cultivar_c (none labelled, none predicted) logged
    perf.f1_macro 0.61 against the reference's 0.98 with no word why; the classes were all
    predicted well (scikit-learn's default average, over the classes present: 0.91)."""
    from mlflow_decay.stats.performance import f1_macro_note

    rng = np.random.default_rng(4)
    classes = ("cultivar_a", "cultivar_b", "cultivar_c")
    y = np.array(classes[:2])[rng.integers(0, 2, 400)]
    proba = rng.dirichlet([1, 1, 1], 400) * 0.5
    proba[np.arange(400), [classes.index(c) for c in y]] += 0.6  # right, and never class c
    proba[:40, :2] = proba[:40, 1::-1]  # some wrong
    got, _ = realized("multiclass", pd.Series(y, name="cultivar"), proba, classes=classes)
    note = f1_macro_note(got["f1_macro"], pd.Series(y, name="cultivar"), proba, classes)
    assert note is not None and "cultivar_c" in note
    present = skm.f1_score(y, np.array(classes)[proba.argmax(1)], average="macro")
    assert float(note.rsplit(": ", 1)[1].rstrip(")")) == pytest.approx(present, abs=5e-5)
    assert f1_macro_note(got["f1_macro"], pd.Series([*y[:-1], "cultivar_c"], name="c"),
                         proba, classes) is None
