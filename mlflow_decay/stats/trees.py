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


def compile_pairs(baseline: float, trees: Trees, categorical: np.ndarray,
                  sizes: Sequence[int], walk: Any) -> Any:
    """For trees that each split on at most two inputs (three leaves or fewer, say): a
    function of ``x`` giving their sum plus ``baseline`` as a sum of tables, one per pair of
    inputs, looked up by each input's bin; ``None`` for other trees.

    An input's bins: for a number, how many of the trees' thresholds on it lie below the
    value (so every split on it decides alike within a bin), then one for missing; for a
    categorical input (``sizes`` codes), its code, then one for missing. Each table is the
    pair's trees' sum on one value per bin, computed by ``walk(trees, grid)`` (the trees'
    sum at rows ``grid``), so a row's lookup is what a walk of the trees gives, but in time
    independent of the number of trees."""
    groups: dict[tuple[int, ...], list[int]] = {}
    for t, tree in enumerate(trees):
        inputs = tuple(sorted({int(f) for f in tree[0] if f >= 0}))
        if len(inputs) > 2:
            return None
        groups.setdefault(inputs, []).append(t)
    used = sorted({f for inputs in groups for f in inputs})
    edges = {f: None if categorical[f] else np.unique(
        [v for tree in trees for g, v in zip(tree[0], tree[1], strict=True) if g == f])
        for f in used}
    values = {f: _bin_values(edges[f], sizes[f]) for f in used}
    constant, tables = baseline, []
    for inputs, members in groups.items():
        chosen = tuple(trees[t] for t in members)
        if not inputs:  # trees of one leaf
            constant += float(walk(chosen, np.zeros((1, len(categorical))))[0])
            continue
        axes = np.meshgrid(*(values[f] for f in inputs), indexing="ij")
        grid = np.full((axes[0].size, len(categorical)), np.nan)
        for f, axis in zip(inputs, axes, strict=True):
            grid[:, f] = axis.ravel()
        tables.append((inputs, walk(chosen, grid).reshape(axes[0].shape)))

    def raw(x: np.ndarray) -> np.ndarray:
        bins = {f: _bins(x[:, f], edges[f], sizes[f]) for f in used}
        out = np.full(len(x), constant)
        for inputs, table in tables:
            out += table[tuple(bins[f] for f in inputs)]
        return out

    return raw


def _bin_values(edges: np.ndarray | None, size: int) -> np.ndarray:
    """One value in each bin of an input (see :func:`compile_pairs`)."""
    if edges is None:
        return np.r_[np.arange(size, dtype=np.float64), np.nan]
    return np.r_[edges, np.inf, np.nan]


def _bins(v: np.ndarray, edges: np.ndarray | None, size: int) -> np.ndarray:
    """Each value's bin (see :func:`compile_pairs`); a code outside ``0 … size - 1`` reads
    as missing."""
    missing = np.isnan(v)
    if edges is None:
        code = np.where(missing, -1, v)
        return np.where((code >= 0) & (code < size), code, size).astype(np.int64)
    return np.where(missing, len(edges) + 1, np.searchsorted(edges, v, side="left"))
