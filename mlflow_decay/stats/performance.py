"""Realized performance of a model on rows that have labels, computed with scikit-learn.

Metrics a window cannot define (ROC AUC with one class, R² on one row) are left out and the
reason is returned, never raised.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from .schema import map_labels, to_numeric

#: Metric names per task; ``perf.<name>`` in the logged metrics.
METRICS: dict[str, tuple[str, ...]] = {
    "binary": ("roc_auc", "pr_auc", "log_loss", "brier", "accuracy", "precision", "recall", "f1"),
    "multiclass": ("roc_auc_ovr", "accuracy", "f1_macro"),
    "regression": ("rmse", "mae", "r2"),
}


def realized(
    task: str,
    target: pd.Series,
    predictions: np.ndarray,
    *,
    classes: Sequence[str] = (),
    positive_label: str | None = None,
    threshold: float = 0.5,
    decisions: pd.Series | None = None,
) -> tuple[dict[str, float], dict[str, str]]:
    """Compute the task's metrics on the rows where both label and prediction are known.

    Parameters
    ----------
    task : {"binary", "multiclass", "regression"}
    target : Series
        Labels, matched to ``classes`` by value (see :func:`~mlflow_decay.stats.schema.map_labels`);
        missing labels are skipped.
    predictions : ndarray
        Positive-class scores (binary), class probabilities ``(n, k)`` (multiclass), or values.
    classes, positive_label
        Class labels in the probability columns' order; the positive class for binary tasks.
    threshold : float
        Binary: a score at or above it predicts the positive class (confusion-matrix metrics).
    decisions : Series, optional
        The predicted class of each row, as the model's caller decided it: replaces the
        threshold (binary) or the arg-max (multiclass) for the confusion-matrix metrics; rows
        without a decision are left out.

    Returns
    -------
    metrics : dict
        Metric name to value, for the metrics defined on these rows.
    notes : dict
        Metric name to the reason it was left out.
    """
    if task == "regression":
        y = to_numeric(target, str(target.name))
        keep = np.isfinite(y) & np.isfinite(predictions)
        return _score(METRICS[task], _regression(y[keep], predictions[keep]))
    labels = map_labels(target, classes, str(target.name))
    scores = predictions if predictions.ndim == 2 else predictions[:, None]
    keep = pd.notna(labels) & np.isfinite(scores).all(axis=1)
    decided = None
    if decisions is not None:
        decided = map_labels(decisions, classes, str(decisions.name))
        keep &= pd.notna(decided)
        decided = decided[keep]
    labels, scores = labels[keep], scores[keep]
    if task == "binary":
        hard = (scores[:, 0] >= threshold if decided is None else decided == positive_label)
        return _score(METRICS[task], _binary(labels == positive_label, scores[:, 0],
                                             np.asarray(hard, dtype=int)))
    return _score(METRICS[task], _multiclass(labels, scores, list(classes), decided))


def f1_macro_note(f1_macro: float, target: pd.Series, predictions: np.ndarray,
                  classes: Sequence[str], decisions: pd.Series | None = None) -> str | None:
    """Why a multiclass window's ``f1_macro`` reads low when some class is neither among its
    labels nor decided for any of its rows (that class counts 0): the classes, and the macro F1
    of the others; ``None`` when every class occurs."""
    labels = map_labels(target, classes, str(target.name))
    keep = pd.notna(labels) & np.isfinite(predictions).all(axis=1)
    if decisions is None:
        decided = np.asarray(classes, dtype=object)[np.argmax(predictions, axis=1)]
    else:
        decided = map_labels(decisions, classes, str(decisions.name))
        keep &= pd.notna(decided)
    seen = set(labels[keep].tolist()) | set(decided[keep].tolist())
    absent = [c for c in classes if c not in seen]
    if not absent or len(absent) == len(classes):
        return None
    others = f1_macro * len(classes) / (len(classes) - len(absent))
    return (f"perf.f1_macro counts {len(absent)} class(es) as 0 that no labelled row holds "
            f"or is predicted as: {', '.join(absent[:5])}{', …' if len(absent) > 5 else ''} "
            f"(macro F1 of the {len(classes) - len(absent)} others: {others:.4g})")


Metric = Callable[[], float]


def _score(names: Sequence[str], funcs: dict[str, Metric | str]) -> tuple[dict[str, float], dict[str, str]]:
    values: dict[str, float] = {}
    notes: dict[str, str] = {}
    for name in names:
        func = funcs[name]
        if isinstance(func, str):
            notes[name] = func
            continue
        value = float(func())
        if np.isfinite(value):
            values[name] = value
        else:
            notes[name] = "not finite on these rows"
    return values, notes


def _binary(y: np.ndarray, p: np.ndarray, hard: np.ndarray) -> dict[str, Metric | str]:
    from sklearn import metrics as skm  # 1.4 s to import: only where labels are scored

    if len(y) == 0:
        return dict.fromkeys(METRICS["binary"], "no rows with both label and score")
    y = y.astype(int)
    one_class = "labels have a single class" if len(np.unique(y)) < 2 else None
    # 0/0 is undefined, not 0 (scikit-learn's zero_division=np.nan): a window where no row is
    # predicted positive has no precision, one that also has no positive label no F1
    none_predicted = "no row is predicted positive" if hard.sum() == 0 else None
    # into [0, 1] only (scores may stray past it by a rounding error): scikit-learn clips at
    # the machine epsilon itself, and a clip at 1e-15 made a window with probabilities of
    # exactly 0 or 1 (a tree's, a k-nearest-neighbours') read a lower log loss than its own
    clipped = np.clip(p, 0.0, 1.0)
    # precision, recall and F1 from one confusion matrix (scikit-learn's three scores each
    # count it anew); the undefined ones are left out above, so no division by zero is read
    counts = functools.cache(lambda: skm.precision_recall_fscore_support(
        y, hard, average="binary", zero_division=np.nan))
    funcs: dict[str, Metric | str] = {
        "roc_auc": one_class or (lambda: skm.roc_auc_score(y, p)),
        "pr_auc": one_class or (lambda: skm.average_precision_score(y, p)),
        "log_loss": lambda: skm.log_loss(y, clipped, labels=[0, 1]),
        "brier": lambda: skm.brier_score_loss(y, clipped, pos_label=1),
        "accuracy": lambda: skm.accuracy_score(y, hard),
        "precision": none_predicted or (lambda: counts()[0]),
        "recall": one_class if one_class and y.sum() == 0 else (lambda: counts()[1]),
        "f1": ("no positive label and no row predicted positive"
               if none_predicted and y.sum() == 0 else (lambda: counts()[2])),
    }
    return funcs


def _multiclass(y: np.ndarray, proba: np.ndarray, classes: list[str],
                decided: np.ndarray | None = None) -> dict[str, Metric | str]:
    from sklearn import metrics as skm

    if len(y) == 0:
        return dict.fromkeys(METRICS["multiclass"], "no rows with both label and scores")
    predicted = (np.asarray(classes, dtype=object)[np.argmax(proba, axis=1)]
                 if decided is None else decided)
    auc: Metric | str
    if absent := [c for c in classes if c not in set(y.tolist())]:
        # which: a rare class missing from a window is the usual cause
        auc = (f"not every class is present in the labels: none of {', '.join(absent[:5])}"
               + (f", … {len(absent) - 5} more" if len(absent) > 5 else ""))
    else:
        # scikit-learn wants the labels sorted: reorder the probability columns to match;
        # rows it reads as summing to 1 are kept as they are (dividing by a sum one ulp off 1
        # splits tied probabilities, such as a forest's, and moves the AUC away from
        # scikit-learn's on the same rows), others are normalised so that it takes them
        order = sorted(range(len(classes)), key=lambda k: classes[k])
        sums = proba.sum(axis=1, keepdims=True)
        norm = proba[:, order] if np.allclose(sums, 1.0) else proba[:, order] / sums
        auc = lambda: skm.roc_auc_score(  # noqa: E731
            y.astype(str), norm, multi_class="ovr", average="macro",
            labels=[classes[k] for k in order])
    return {
        "roc_auc_ovr": auc,
        "accuracy": lambda: skm.accuracy_score(y.astype(str), predicted.astype(str)),
        "f1_macro": lambda: skm.f1_score(y.astype(str), predicted.astype(str), average="macro",
                                         labels=classes, zero_division=0),
    }


def _regression(y: np.ndarray, p: np.ndarray) -> dict[str, Metric | str]:
    from sklearn import metrics as skm

    if len(y) == 0:
        return dict.fromkeys(METRICS["regression"], "no rows with both label and prediction")
    r2: Metric | str = (
        "needs at least two labels that vary" if len(y) < 2 or np.ptp(y) == 0
        else (lambda: skm.r2_score(y, p))
    )
    return {
        "rmse": lambda: skm.root_mean_squared_error(y, p),
        "mae": lambda: skm.mean_absolute_error(y, p),
        "r2": r2,
    }


def has_labels(frame: pd.DataFrame, target: str | None) -> bool:
    """Whether a window carries any label in ``target``."""
    return bool(target is not None and target in frame.columns and frame[target].notna().any())

