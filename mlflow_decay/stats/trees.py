"""Scikit-learn's compiled tree walker for stored loss-model trees: the trees exported as plain
arrays (:class:`mlflow_decay.stats.loss.LossModel`) are handed back to scikit-learn's own
``TreePredictor``, so a window is scored at compiled speed; ``None`` where this scikit-learn
lacks it (the caller walks the trees with numpy)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

#: Trees as stored: per tree, per node array (feature, threshold, missing_left, left, right,
#: value), one number per node.
Trees = tuple[tuple[tuple[float, ...], ...], ...]


def compile_trees(baseline: float, trees: Trees, categorical: np.ndarray,
                  sizes: Sequence[int]) -> Any:
    """A function of ``x`` giving the trees' sum plus ``baseline`` through scikit-learn's
    own compiled tree walker (the categorical column ``f`` has ``sizes[f]`` codes), or
    ``None`` where this scikit-learn lacks it."""
    try:
        from sklearn.ensemble._hist_gradient_boosting.common import PREDICTOR_RECORD_DTYPE
        from sklearn.ensemble._hist_gradient_boosting.predictor import TreePredictor
    except ImportError:  # pragma: no cover - private names of scikit-learn
        return None
    known = np.zeros((max(int(categorical.sum()), 1), 8), dtype=np.uint32)
    f_idx_map = np.zeros(len(categorical), dtype=np.uint32)
    for j, f in enumerate(np.flatnonzero(categorical).tolist()):
        f_idx_map[f] = j
        known[j] = _bitset((1 << sizes[f]) - 1)
    try:
        predictors = [_predictor(tree, categorical, PREDICTOR_RECORD_DTYPE, TreePredictor)
                      for tree in trees]
    except (TypeError, ValueError):  # pragma: no cover - another scikit-learn's layout
        return None

    def raw(x: np.ndarray) -> np.ndarray:
        out = np.full(len(x), baseline)
        for predictor in predictors:
            out += predictor.predict(x, known, f_idx_map, 1)
        return out

    return raw


def _predictor(tree: tuple[tuple[float, ...], ...], categorical: np.ndarray, dtype: Any,
               tree_predictor: Any) -> Any:
    feature, threshold, missing_left, left, right, value = (np.asarray(a) for a in tree)
    nodes = np.zeros(len(feature), dtype=dtype)
    leaf = feature < 0
    f = np.where(leaf, 0, feature).astype(np.int64)
    on_codes = ~leaf & categorical[f]
    nodes["is_leaf"], nodes["feature_idx"], nodes["value"] = leaf, f, value
    nodes["num_threshold"] = np.where(on_codes, 0.0, threshold)
    nodes["missing_go_to_left"], nodes["left"], nodes["right"] = missing_left, left, right
    nodes["is_categorical"] = on_codes
    bitsets = np.zeros((max(int(on_codes.sum()), 1), 8), dtype=np.uint32)
    for j, i in enumerate(np.flatnonzero(on_codes)):
        nodes["bitset_idx"][i] = j
        bitsets[j] = _bitset(int(threshold[i]))
    return tree_predictor(nodes, bitsets, bitsets)


def _bitset(mask: int) -> np.ndarray:
    return np.array([(mask >> (32 * i)) & 0xFFFFFFFF for i in range(8)], dtype=np.uint32)
