"""Direct loss estimation for regression: gradient-boosted trees, fitted at profile time,
predict each row's absolute and squared error from the features and the prediction; stored as
plain arrays (:class:`LossModel`), so a window's ``est.mae`` and ``est.rmse`` need no labels."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import Z95

#: Regression metrics estimated from the loss models.
REGRESSION = ("mae", "rmse")
_TREE_DIGITS = 7


@dataclass(frozen=True)
class LossModel:
    """Gradient-boosted trees predicting a row's loss, stored as plain arrays (no pickle).

    Each tree is ``(feature, threshold, missing_left, left, right, value)`` per node; a leaf
    has feature ``-1``. Prediction follows scikit-learn's ``HistGradientBoostingRegressor``:
    NaN goes where ``missing_left`` says, otherwise left when ``x <= threshold``.
    """

    columns: tuple[str, ...]
    baseline: float
    trees: tuple[tuple[tuple[float, ...], ...], ...]

    def predict(self, x: np.ndarray) -> np.ndarray:
        out = np.full(len(x), self.baseline)
        rows = np.arange(len(x))
        for tree in self.trees:
            feature, threshold, missing_left, left, right, value = (np.asarray(a) for a in tree)
            node = np.zeros(len(x), dtype=np.int64)
            while True:
                inner = feature[node] >= 0
                if not inner.any():
                    break
                f = feature[node].astype(np.int64).clip(0)
                v = x[rows, f]
                go_left = np.where(np.isnan(v), missing_left[node] > 0, v <= threshold[node])
                node = np.where(inner, np.where(go_left, left[node], right[node]), node).astype(
                    np.int64)
            out += value[node]
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"columns": list(self.columns), "baseline": self.baseline,
                "trees": [[list(a) for a in t] for t in self.trees]}

    @classmethod
    def from_dict(cls, obj: dict[str, Any]) -> LossModel:
        trees = tuple(tuple(tuple(float(v) for v in a) for a in t) for t in obj["trees"])
        if any(len(t) != 6 or len({len(a) for a in t}) != 1 for t in trees):
            raise ValueError("loss model trees must have six arrays of one length")
        return cls(tuple(str(c) for c in obj["columns"]), float(obj["baseline"]), trees)


def fit_loss_model(x: np.ndarray, loss: np.ndarray, columns: Sequence[str], seed: int = 0
                   ) -> LossModel:
    """Fit ``HistGradientBoostingRegressor`` to per-row losses and export its trees."""
    from sklearn.ensemble import HistGradientBoostingRegressor

    model = HistGradientBoostingRegressor(max_iter=60, max_leaf_nodes=15, learning_rate=0.1,
                                          random_state=seed).fit(x, loss)
    trees = []
    for (predictor,) in model._predictors:
        nodes = predictor.nodes
        leaf = nodes["is_leaf"].astype(bool)
        trees.append((
            tuple(float(v) for v in np.where(leaf, -1, nodes["feature_idx"])),
            tuple(_threshold(v) for v in nodes["num_threshold"]),
            tuple(float(v) for v in nodes["missing_go_to_left"]),
            tuple(float(v) for v in nodes["left"]),
            tuple(float(v) for v in nodes["right"]),
            tuple(_tr(v) for v in nodes["value"]),
        ))
    return LossModel(tuple(columns), float(np.ravel(model._baseline_prediction)[0]), tuple(trees))


def _tr(v: float) -> float:
    return float(f"{v:.{_TREE_DIGITS}g}")


def _threshold(v: float) -> float:
    # exact (a rounded split point can send a row the other way); JSON has no infinity
    return float(np.clip(v, -1e308, 1e308))


def estimate_regression(x: np.ndarray, models: Sequence[LossModel]) -> dict[str, float]:
    """``est.mae`` and ``est.rmse`` (with 95% bands) from the absolute- and squared-loss models."""
    if len(x) == 0 or len(models) != 2:
        return {}
    absolute = np.clip(models[0].predict(x), 0, None)
    squared = np.clip(models[1].predict(x), 0, None)
    n = len(x)
    mae, mse = float(absolute.mean()), float(squared.mean())
    sd_mae = float(np.sqrt(np.clip(squared - absolute**2, 0, None).mean() / n))
    rmse = float(np.sqrt(mse))
    sd_rmse = float(np.sqrt(2 * np.mean(squared**2) / n) / (2 * rmse)) if rmse > 0 else 0.0
    return {"est.mae": mae, "est.mae.lower": mae - Z95 * sd_mae, "est.mae.upper": mae + Z95 * sd_mae,
            "est.rmse": rmse, "est.rmse.lower": rmse - Z95 * sd_rmse,
            "est.rmse.upper": rmse + Z95 * sd_rmse}
