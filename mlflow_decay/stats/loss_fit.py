"""Fitting the loss models of :mod:`mlflow_decay.stats.loss`.

scikit-learn's ``HistGradientBoostingRegressor`` with a Poisson loss (a log link: losses are
non-negative and the features' effects on them multiply, which trees on a log scale follow
further out than on the loss's own scale), categorical columns split natively. The capacity
(leaves, learning rate, iterations) is chosen by cross-validation on the reference, for what
the model is for: out of fold, the error of its mean prediction over random covariate shifts
of the reference rows. The final model is fitted on every row; the same model fitted with
each of ``JACKKNIFE`` groups of rows left out gives the band its allowance for the model's
own error.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from .loss import MAX_CODES, LossModel

if TYPE_CHECKING:
    from sklearn.ensemble import HistGradientBoostingRegressor

_TREE_DIGITS = 7
#: Capacities tried by cross-validation: (leaves, learning rate); iterations up to ``MAX_ITER``
#: are read off each fit's stages.
GRID: tuple[tuple[int, float], ...] = ((7, 0.1), (15, 0.1), (31, 0.1), (15, 0.2))
MAX_ITER = 300
MIN_SAMPLES_LEAF = 20
#: Categories a categorical input keeps (the most frequent, each of at least
#: ``MIN_SAMPLES_LEAF`` rows); the others read as missing.
MAX_CATEGORIES = 50
FOLDS = 3
#: Rows the cross-validation fits on (a uniform subsample of the reference beyond this).
CV_ROWS = 30_000
#: Random covariate shifts of the cross-validated rows the capacity is judged on.
TILTS = 200
#: A shift's largest coefficient on a (rank-standardised) input.
TILT_STRENGTH = 1.5
#: Groups of rows left out in turn for the band's jackknife.
JACKKNIFE = 4


@dataclass(frozen=True)
class Capacity:
    """What the trees may learn: leaves per tree, learning rate, iterations."""

    leaves: int = 15
    learning_rate: float = 0.1
    iterations: int = 100


def regressor(capacity: Capacity, categorical: np.ndarray | None, seed: int = 0
              ) -> HistGradientBoostingRegressor:
    """The loss model's estimator at ``capacity``: Poisson loss, no early stopping."""
    from sklearn.ensemble import HistGradientBoostingRegressor

    return HistGradientBoostingRegressor(
        loss="poisson", max_iter=capacity.iterations, max_leaf_nodes=capacity.leaves,
        learning_rate=capacity.learning_rate, min_samples_leaf=MIN_SAMPLES_LEAF,
        early_stopping=False,
        categorical_features=categorical if categorical is not None and categorical.any()
        else None, random_state=seed)


def fit_loss_models(x: np.ndarray, error: np.ndarray, columns: Sequence[str], *,
                    categories: dict[str, tuple[str, ...]] | None = None, seed: int = 0
                    ) -> tuple[LossModel, LossModel]:
    """The absolute- and squared-error models of the (finite) errors ``error`` at rows ``x``
    (columns named in ``categories`` hold their codes ``0, 1, …``, each seen here): capacity
    by :func:`choose_capacity`, fitted on every row, with their ``folds`` (fitted without
    each of ``JACKKNIFE`` groups of rows), and the squared error's ``dispersion``
    (:func:`dispersion`). The two are fitted side by side, each with half the machine's
    OpenMP threads."""
    from concurrent.futures import ThreadPoolExecutor

    from threadpoolctl import threadpool_limits

    categories = dict(categories or {})
    losses = (np.abs(error), error**2)
    if not np.any(losses[1] > 0):  # every prediction exact: nothing to learn
        return (LossModel(tuple(columns), 0.0, (), categories=categories),) * 2
    rows = cv_rows(len(error), seed)
    threads = max(1, (os.cpu_count() or 2) // 2)

    def fit(loss: np.ndarray) -> tuple[LossModel, np.ndarray]:
        with threadpool_limits(threads, user_api="openmp"):  # this thread's OpenMP
            return _fit_one(x, loss, rows, columns, categories, seed)

    with threadpool_limits(1, user_api="blas"), ThreadPoolExecutor(max_workers=2) as pool:
        fitted = list(pool.map(fit, losses))
    return fitted[0][0], replace(fitted[1][0], dispersion=dispersion(error[rows], fitted[1][1]))


def _fit_one(x: np.ndarray, loss: np.ndarray, rows: np.ndarray, columns: Sequence[str],
             categories: dict[str, tuple[str, ...]], seed: int
             ) -> tuple[LossModel, np.ndarray]:
    """One loss's model (capacity by cross-validation on ``rows``, fitted on every row, with
    its fold models and its ``ceiling``) and its out-of-fold predictions at ``rows``."""
    categorical = np.array([c in categories for c in columns], dtype=bool)
    capacity, predicted = choose_capacity(x[rows], loss[rows], categorical, seed=seed)
    full = export(regressor(capacity, categorical, seed).fit(x, loss), columns, categories)
    group = np.random.default_rng(seed + 1).permutation(len(loss)) % JACKKNIFE
    folds = []
    for k in range(JACKKNIFE if len(loss) >= 20 * JACKKNIFE else 0):
        keep = group != k
        if np.any(loss[keep] > 0):
            part = regressor(capacity, categorical, seed).fit(x[keep], loss[keep])
            try:
                exported = export(part, columns, categories)
            except ValueError:  # a category all of whose rows were left out
                continue
            folds.append((exported.baseline, exported.trees))
    return replace(full, ceiling=float(loss.max()), folds=tuple(folds)), predicted


def dispersion(error: np.ndarray, squared: np.ndarray) -> float:
    """How much the rows' squared errors vary around their predicted mean ``squared`` (out
    of fold), as a multiple of its square: ``E e**4 / E (E[e**2 | x])**2 - 1`` (2 for
    normal errors; the absolute error needs none, its variance being the squared error's
    mean less the absolute error's squared)."""
    squared = np.clip(squared, 0, None)
    return max(float(np.sum(error**4) / max(float(np.sum(squared**2)), 1e-300)) - 1.0, 0.0)


def choose_capacity(x: np.ndarray, loss: np.ndarray, categorical: np.ndarray, *,
                    seed: int = 0, grid: Sequence[tuple[int, float]] = GRID
                    ) -> tuple[Capacity, np.ndarray]:
    """The capacity whose out-of-fold predictions (``FOLDS``-fold) best estimate the mean
    loss of the rows under ``TILTS`` random covariate shifts (:func:`tilts`): the lowest
    mean, over the shifts, of the weighted mean prediction's squared error. Each of
    ``grid``'s (leaves, learning rate) is fitted once per fold, its iterations read off the
    stages up to ``MAX_ITER``. Also the out-of-fold predictions at that capacity."""
    weights = tilts(x, categorical, seed)
    fold = np.arange(len(loss)) % FOLDS
    errors: list[np.ndarray] = []
    fitted: list[list[Any]] = []
    for leaves, rate in grid:
        estimates = np.tile(weights @ np.full(len(loss), loss.mean()), (MAX_ITER, 1))
        models: list[Any] = []
        for k in range(FOLDS):
            train, test = fold != k, fold == k
            if not np.any(loss[train] > 0):
                models.append(None)
                continue
            model = regressor(Capacity(leaves, rate, MAX_ITER), categorical, seed)
            models.append(model.fit(x[train], loss[train]))
            on_test = np.ascontiguousarray(weights[:, test])
            for i, predicted in enumerate(model.staged_predict(x[test])):
                estimates[i] += on_test @ (predicted - loss.mean())
        errors.append(np.mean((estimates - weights @ loss) ** 2, axis=1))  # per iteration
        fitted.append(models)
    g, i = (int(v) for v in np.unravel_index(np.argmin(np.stack(errors)), (len(grid), MAX_ITER)))
    oof = np.full(len(loss), loss.mean())
    for k, model in enumerate(fitted[g]):
        if model is not None:
            test = fold == k
            for j, predicted in enumerate(model.staged_predict(x[test])):
                if j == i:
                    oof[test] = predicted
                    break
    leaves, rate = grid[g]
    return Capacity(leaves, rate, i + 1), oof


def cv_rows(n: int, seed: int) -> np.ndarray:
    """The rows cross-validation uses: a uniform subsample of at most ``CV_ROWS``."""
    return np.sort(np.random.default_rng(seed).permutation(n)[:CV_ROWS])


def tilts(x: np.ndarray, categorical: np.ndarray, seed: int = 0, count: int = TILTS
          ) -> np.ndarray:
    """``count`` random covariate shifts of the rows ``x``, as weights (one row of weights
    per shift, each summing to 1). Each shift picks one to three inputs (numbers by their
    rank, scaled to unit variance and missing at 0; a categorical input by the indicator of
    one of its codes, times 2) and a strength up to ``TILT_STRENGTH``; half of those with
    two or more inputs weigh a corner, the exponential of the product of the first two
    inputs' positive parts (each standardised, its sign drawn), the others the exponential
    of a random combination of the inputs."""
    rng = np.random.default_rng(seed)
    n, d = x.shape
    z = _standardised(x, categorical)
    out = np.empty((count, n))
    for t in range(count):
        chosen = rng.choice(d, size=min(int(rng.integers(1, 4)), d), replace=False)
        strength = rng.uniform(0, TILT_STRENGTH)
        terms = [2.0 * (z[:, j] == rng.choice(np.unique(z[:, j]))) if categorical[j]
                 else z[:, j] for j in chosen]
        if len(terms) >= 2 and rng.random() < 0.5:
            a, b = (term * rng.choice([-1, 1]) for term in terms[:2])
            a, b = ((v - v.mean()) / (v.std() + 1e-12) for v in (a, b))
            logit = 1.5 * strength * np.clip(a, 0, None) * np.clip(b, 0, None)
        else:
            logit = sum((rng.normal() * strength * term for term in terms), np.zeros(n))
        w = np.exp(logit - logit.max())
        out[t] = w / w.sum()
    return out


def _standardised(x: np.ndarray, categorical: np.ndarray) -> np.ndarray:
    """Numbers as their rank scaled to unit variance (missing at 0); codes as they are (-1
    for missing)."""
    n = len(x)
    z = np.empty_like(x)
    for j in range(x.shape[1]):
        v = x[:, j]
        if categorical[j]:
            z[:, j] = np.nan_to_num(v, nan=-1.0)
            continue
        ranks = np.argsort(np.argsort(np.where(np.isnan(v), np.inf, v), kind="stable"))
        z[:, j] = np.where(np.isnan(v), 0.0, (ranks / max(n - 1, 1) - 0.5) * np.sqrt(12))
    return z


def export(model: HistGradientBoostingRegressor, columns: Sequence[str],
           categories: dict[str, tuple[str, ...]]) -> LossModel:
    """A fitted ``HistGradientBoostingRegressor`` as a :class:`LossModel` (its codes must be
    those of ``categories``: ``0, 1, …``, every one seen in fitting)."""
    order = _input_order(model, columns, categories)
    trees = []
    for (predictor,) in model._predictors:
        nodes = predictor.nodes
        leaf = nodes["is_leaf"].astype(bool)
        split_on_codes = nodes["is_categorical"].astype(bool) & ~leaf
        bitsets = predictor.raw_left_cat_bitsets
        threshold = [0.0 if leaf[i] else _mask(bitsets[int(nodes["bitset_idx"][i])])
                     if split_on_codes[i] else _threshold(v)
                     for i, v in enumerate(nodes["num_threshold"])]
        inner = (~leaf).astype(float)  # what a leaf or an inner node does not use reads 0
        trees.append((
            tuple(float(v) for v in np.where(leaf, -1, order[nodes["feature_idx"]])),
            tuple(threshold),
            tuple(float(v) for v in nodes["missing_go_to_left"] * inner),
            tuple(float(v) for v in nodes["left"] * inner),
            tuple(float(v) for v in nodes["right"] * inner),
            tuple(_tr(v) if leaf[i] else 0.0 for i, v in enumerate(nodes["value"])),
        ))
    link = "log" if model.loss == "poisson" else "identity"
    return LossModel(tuple(columns), float(np.ravel(model._baseline_prediction)[0]),
                     tuple(trees), link=link, categories=categories)


def _input_order(model: HistGradientBoostingRegressor, columns: Sequence[str],
                 categories: dict[str, tuple[str, ...]]) -> np.ndarray:
    """Each of the trees' feature indices as a column of ``columns``: with categorical
    columns, scikit-learn puts them first (its own codes: ``0, 1, …`` must be ours)."""
    if model._preprocessor is None:
        return np.arange(len(columns))
    encoder = model._preprocessor.named_transformers_["encoder"]
    codes = np.flatnonzero(model.is_categorical_)
    for f, seen in zip(codes.tolist(), encoder.categories_, strict=True):
        seen = seen[~np.isnan(seen)]
        column = columns[f]
        if not np.array_equal(seen, np.arange(len(categories[column]))):
            raise ValueError(f"column {column!r}: fitted on codes {seen[:10]}, not on "
                             f"0…{len(categories[column]) - 1}")
    return np.concatenate([codes, np.flatnonzero(~model.is_categorical_)])


def _mask(bitset: np.ndarray) -> float:
    mask = sum(int(word) << (32 * i) for i, word in enumerate(bitset))
    if mask >= 1 << MAX_CODES:
        raise ValueError(f"a categorical split beyond code {MAX_CODES - 1}")
    return float(mask)


def _tr(v: float) -> float:
    return float(f"{v:.{_TREE_DIGITS}g}")


def _threshold(v: float) -> float:
    # exact (a rounded split point can send a row the other way); JSON has no infinity
    return float(np.clip(v, -1e308, 1e308))
