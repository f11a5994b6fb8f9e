"""Label-free performance estimation: what the metrics will be once labels arrive.

Confidence-based performance estimation (CBPE). At profile time the reference labels decide
whether and how the model's scores need calibration (raw, beta calibration, or isotonic
regression, whichever has the lowest cross-validated log loss); the map is stored in the
profile as plain numbers. For a window without labels, each row's calibrated probability is the chance its
label is positive, which gives the expected confusion matrix (accuracy, precision, recall, F1)
and the expected ranking statistics (ROC AUC, average precision). The band is the metric's
sampling error at the window's size: labels are drawn from the calibrated probabilities and the
realized metric recomputed, ``est ± 1.96 sd``.

Multiclass tasks are estimated one-vs-rest per class and macro-averaged. Regression uses direct
loss estimation (:mod:`mlflow_decay.stats.loss`).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from . import Z95

#: Binary metrics estimated (``est.<name>``), matching realized ``perf.<name>``.
BINARY = ("roc_auc", "pr_auc", "accuracy", "precision", "recall", "f1")
MULTICLASS = ("roc_auc_ovr", "accuracy", "f1_macro")
_GRID = 256
_DRAWS = 64
_SD_ROWS = 10_000


@dataclass(frozen=True)
class Calibration:
    """A monotone map from score to probability, linear between points (identity if empty)."""

    x: tuple[float, ...] = ()
    y: tuple[float, ...] = ()
    ece_raw: float | None = None
    ece_calibrated: float | None = None

    def __call__(self, scores: np.ndarray) -> np.ndarray:
        if not self.x:
            return np.clip(scores, 0.0, 1.0)
        # linear in logit-logit space: calibration curves are close to straight lines there
        z = np.interp(_logit(scores), _logit(np.asarray(self.x)), _logit(np.asarray(self.y)))
        return np.asarray(1.0 / (1.0 + np.exp(-z)))

    def to_dict(self) -> dict[str, Any]:
        return {"x": list(self.x), "y": list(self.y), "ece_raw": self.ece_raw,
                "ece_calibrated": self.ece_calibrated}

    @classmethod
    def from_dict(cls, obj: dict[str, Any]) -> Calibration:
        x = tuple(float(v) for v in obj.get("x", ()))
        y = tuple(float(v) for v in obj.get("y", ()))
        if len(x) != len(y) or any(b < a for a, b in itertools.pairwise(x)):
            raise ValueError("calibration map must have increasing x and one y per x")
        ece_raw, ece_cal = obj.get("ece_raw"), obj.get("ece_calibrated")
        return cls(x, y, None if ece_raw is None else float(ece_raw),
                   None if ece_cal is None else float(ece_cal))


def expected_calibration_error(p: np.ndarray, y: np.ndarray, bins: int = 20) -> float:
    """ECE over equal-mass bins: mean |mean(p) - mean(y)| weighted by bin size."""
    order = np.argsort(p, kind="stable")
    total = 0.0
    for chunk in np.array_split(order, min(bins, len(p))):
        total += len(chunk) * abs(float(p[chunk].mean()) - float(y[chunk].mean()))
    return total / len(p)


def fit_calibration(scores: np.ndarray, y: np.ndarray, folds: int = 5, seed: int = 0,
                    threshold: float = 0.5) -> Calibration:
    """Choose how to turn scores into probabilities, by cross-validated log loss.

    Candidates: the raw scores; beta calibration (a smooth three-parameter map that contains
    Platt scaling); and isotonic regression (the average of the fold fits, for shapes the
    smooth map cannot follow). The best map replaces the raw scores when its out-of-fold log
    loss is lower by more than two standard errors, or when its out-of-fold probabilities
    estimate the reference's own AUC and accuracy closer by more than 0.005. The chosen map is
    stored at ``_GRID`` score quantiles (read back linearly in logit space); the identity is
    stored as no points. ``threshold`` is the decision threshold accuracy is measured at.
    """
    from sklearn.model_selection import StratifiedKFold

    y = y.astype(float)
    if len(np.unique(y)) < 2 or len(y) < 50:
        return Calibration()
    grid = np.unique(np.quantile(scores, np.linspace(0, 1, _GRID)))
    k = max(2, min(folds, int(min(y.sum(), len(y) - y.sum()))))
    oof = {name: np.empty(len(y)) for name in ("beta", "isotonic")}
    curves: dict[str, list[np.ndarray]] = {"beta": [], "isotonic": []}
    for train, test in StratifiedKFold(k, shuffle=True, random_state=seed).split(scores, y):
        for name, fit in (("beta", _fit_beta), ("isotonic", _fit_isotonic)):
            model = fit(scores[train], y[train])
            oof[name][test] = model(scores[test])
            curves[name].append(model(grid))
    raw_loss = _row_log_loss(y, np.clip(scores, 0, 1))
    losses = {name: _row_log_loss(y, v) for name, v in oof.items()}
    best = min(losses, key=lambda n: float(losses[n].mean()))
    gain = raw_loss - losses[best]
    raw = expected_calibration_error(np.clip(scores, 0, 1), y)
    # keep the raw scores unless a map beats them by more than twice the gain's standard error,
    # or estimates the reference's own AUC and accuracy clearly better (small references)
    significant = gain.mean() > 2 * gain.std() / np.sqrt(len(gain))
    closer = (_estimation_error(scores, np.clip(scores, 0, 1), y, threshold)
              - _estimation_error(scores, oof[best], y, threshold)) > 0.005
    if not (significant or closer):
        return Calibration(ece_raw=raw, ece_calibrated=raw)
    # the fold maps' average: smoother than one fit on all rows, whose steps chase noise
    curve = np.maximum.accumulate(np.clip(np.mean(curves[best], axis=0), 0.0, 1.0))
    return Calibration(tuple(float(v) for v in grid), tuple(float(v) for v in curve),
                       ece_raw=raw, ece_calibrated=expected_calibration_error(oof[best], y))


def _estimation_error(scores: np.ndarray, p: np.ndarray, y: np.ndarray, threshold: float
                      ) -> float:
    """How far the expected AUC and accuracy from ``p`` are from the realized ones."""
    from sklearn.metrics import roc_auc_score

    hard = (scores >= threshold).astype(float)
    accuracy = float(np.mean(hard == y))
    return (abs(expected_auc(scores, p) - roc_auc_score(y, scores))
            + abs(_confusion(hard, p)["accuracy"] - accuracy))


def _row_log_loss(y: np.ndarray, p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.asarray(-(y * np.log(p) + (1 - y) * np.log(1 - p)))


def _logit(scores: np.ndarray) -> np.ndarray:
    p = np.clip(scores, 1e-6, 1 - 1e-6)
    return np.asarray(np.log(p / (1 - p)))


def _fit_beta(scores: np.ndarray, y: np.ndarray) -> Any:
    """Beta calibration (Kull et al., 2017): logistic regression on ``ln s`` and ``-ln(1-s)``
    (Newton steps: two features, so exact and ten times faster than L-BFGS);
    contains Platt scaling and the identity as special cases."""
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=1e4, max_iter=2000, solver="newton-cholesky")
    model.fit(_beta_features(scores), y)
    return lambda s: model.predict_proba(_beta_features(s))[:, 1]


def _beta_features(scores: np.ndarray) -> np.ndarray:
    p = np.clip(scores, 1e-6, 1 - 1e-6)
    return np.column_stack([np.log(p), -np.log(1 - p)])


def _fit_isotonic(scores: np.ndarray, y: np.ndarray) -> Any:
    from sklearn.isotonic import IsotonicRegression

    iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(scores, y)
    return iso.predict


def expected_auc(scores: np.ndarray, p: np.ndarray) -> float:
    """Expected ROC AUC when row i is positive with probability ``p[i]`` (ties count half)."""
    return _auc_sorted(*_by_score(scores, p))


def expected_average_precision(scores: np.ndarray, p: np.ndarray) -> float:
    """Expected average precision (PR AUC), ties resolved as scikit-learn does (by threshold)."""
    return _ap_sorted(*_by_score(scores, p))


def _by_score(scores: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Scores in ascending order and the probabilities in the same order (one sort serves both
    metrics: they only read tie groups, not the order within them)."""
    order = np.argsort(scores)
    return scores[order], p[order]


def _auc_sorted(s: np.ndarray, q: np.ndarray) -> float:
    neg = 1.0 - q
    new_group = np.r_[True, s[1:] != s[:-1]]
    starts = np.flatnonzero(new_group)
    group = np.cumsum(new_group) - 1
    neg_in_group = np.add.reduceat(neg, starts)
    below = np.concatenate(([0.0], np.cumsum(neg_in_group)[:-1]))[group]
    correct = np.sum(q * below) + 0.5 * np.sum(q * (neg_in_group[group] - neg))
    pairs = q.sum() * neg.sum() - np.sum(q * neg)
    return float(correct / pairs) if pairs > 0 else float("nan")


def _ap_sorted(s: np.ndarray, q: np.ndarray) -> float:
    s, q = s[::-1], q[::-1]  # by descending score
    ends = np.r_[np.flatnonzero(s[1:] != s[:-1]), len(s) - 1]
    tp = np.cumsum(q)[ends]
    seen = ends + 1.0
    recall_step = np.diff(np.r_[0.0, tp]) / q.sum()
    return float(np.sum(recall_step * tp / seen))


def _confusion(hard: np.ndarray, p: np.ndarray) -> dict[str, float]:
    tp = float(np.sum(hard * p))
    fp = float(np.sum(hard * (1 - p)))
    fn = float(np.sum((1 - hard) * p))
    tn = float(np.sum((1 - hard) * (1 - p)))
    return {
        "accuracy": (tp + tn) / len(p),
        "precision": tp / (tp + fp) if tp + fp > 0 else float("nan"),
        "recall": tp / (tp + fn) if tp + fn > 0 else float("nan"),
        "f1": 2 * tp / (2 * tp + fp + fn) if tp + fp + fn > 0 else float("nan"),
    }


def estimate_binary(scores: np.ndarray, calibration: Calibration, seed: int = 0,
                    threshold: float = 0.5) -> dict[str, float]:
    """``est.<metric>``, ``.lower`` and ``.upper`` for a window of positive-class scores; a
    score at or above ``threshold`` predicts the positive class (confusion-matrix metrics)."""
    scores = scores[np.isfinite(scores)]
    if len(scores) == 0:
        return {}
    p = calibration(scores)
    hard = (scores >= threshold).astype(float)
    ranked = _by_score(scores, p)
    point = {"roc_auc": _auc_sorted(*ranked), "pr_auc": _ap_sorted(*ranked), **_confusion(hard, p)}
    return _with_bands(point, _sampling_sd(scores, p, hard, seed), BINARY)


def _sampling_sd(scores: np.ndarray, p: np.ndarray, hard: np.ndarray, seed: int
                 ) -> dict[str, float]:
    """Standard deviation of each realized metric over labels drawn from ``p``.

    Above ``_SD_ROWS`` rows the draws run on a random subsample and the deviations are scaled
    by ``sqrt(m / n)`` (they shrink as one over the square root of the row count).
    """
    rng = np.random.default_rng(seed)
    if len(p) > _SD_ROWS:
        pick = np.sort(rng.choice(len(p), _SD_ROWS, replace=False))
        factor = np.sqrt(_SD_ROWS / len(p))
        return {k: v * factor for k, v in
                _sampling_sd(scores[pick], p[pick], hard[pick], seed).items()}
    n = len(p)
    draws = rng.random((_DRAWS, n)) < p
    ranks = stats.rankdata(scores)
    pos = draws.sum(axis=1).astype(float)
    neg = n - pos
    with np.errstate(divide="ignore", invalid="ignore"):
        auc = (draws @ ranks - pos * (pos + 1) / 2) / (pos * neg)
        order = np.argsort(-scores, kind="stable")
        tp_cum = np.cumsum(draws[:, order], axis=1)
        ap = np.sum(draws[:, order] * tp_cum / np.arange(1, n + 1), axis=1) / pos
        tp = draws @ hard
        fp = hard.sum() - tp
        fn = pos - tp
        acc = (tp + (neg - fp)) / n
        precision = tp / (tp + fp)
        recall = tp / pos
        f1 = 2 * tp / (2 * tp + fp + fn)
    return {name: _sd(v) for name, v in (
        ("roc_auc", auc), ("pr_auc", ap), ("accuracy", acc), ("precision", precision),
        ("recall", recall), ("f1", f1))}


def _sd(values: np.ndarray) -> float:
    finite = values[np.isfinite(values)]
    return float(finite.std()) if len(finite) >= 2 else float("nan")


def estimate_multiclass(proba: np.ndarray, calibrations: list[Calibration], seed: int = 0
                        ) -> dict[str, float]:
    """``est.roc_auc_ovr``, ``est.accuracy`` and ``est.f1_macro`` (with 95% bands) from class
    probabilities, one-vs-rest per class and macro-averaged.

    The bands combine the per-class sampling deviations as if the classes were independent.
    """
    keep = np.isfinite(proba).all(axis=1)
    proba = proba[keep]
    if len(proba) == 0:
        return {}
    q = np.column_stack([cal(proba[:, k]) for k, cal in enumerate(calibrations)])
    q = q / np.where(q.sum(axis=1, keepdims=True) > 0, q.sum(axis=1, keepdims=True), 1.0)
    predicted = np.argmax(proba, axis=1)
    aucs, f1s, auc_var, f1_var = [], [], [], []
    for k in range(proba.shape[1]):
        hard = (predicted == k).astype(float)
        aucs.append(expected_auc(proba[:, k], q[:, k]))
        f1s.append(_confusion(hard, q[:, k])["f1"])
        sd = _sampling_sd(proba[:, k], q[:, k], hard, seed + k)
        auc_var.append(sd["roc_auc"] ** 2)
        f1_var.append(sd["f1"] ** 2)
    k = proba.shape[1]
    accuracy = float(np.mean(q[np.arange(len(q)), predicted]))
    point = {"roc_auc_ovr": float(np.nanmean(aucs)), "accuracy": accuracy,
             "f1_macro": float(np.nanmean(f1s))}
    spread = {"roc_auc_ovr": float(np.sqrt(np.nansum(auc_var)) / k),
              "accuracy": float(np.sqrt(accuracy * (1 - accuracy) / len(q))),
              "f1_macro": float(np.sqrt(np.nansum(f1_var)) / k)}
    return _with_bands(point, spread, MULTICLASS)


def _with_bands(point: dict[str, float], spread: dict[str, float], names: Sequence[str]
                ) -> dict[str, float]:
    out: dict[str, float] = {}
    for name in names:
        value = point[name]
        if not np.isfinite(value):
            continue
        out[f"est.{name}"] = value
        sd = spread.get(name)
        if sd is not None and np.isfinite(sd):
            out[f"est.{name}.lower"] = value - Z95 * sd
            out[f"est.{name}.upper"] = value + Z95 * sd
    return out


def estimated_metrics(task: str, values: np.ndarray, calibrations: Sequence[Calibration],
                      threshold: float = 0.5) -> dict[str, float]:
    """The task's ``est.*`` metrics for a window's model output (scores or class probabilities;
    ``threshold`` as in :func:`estimate_binary`)."""
    if not calibrations or task == "regression":
        return {}
    if task == "multiclass":
        return estimate_multiclass(values, list(calibrations))
    return estimate_binary(values, calibrations[0], threshold=threshold)
