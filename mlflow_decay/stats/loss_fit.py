"""Fitting the loss models of :mod:`mlflow_decay.stats.loss`.

scikit-learn's ``HistGradientBoostingRegressor`` with a Poisson loss (a log link: losses are
non-negative and the features' effects on them multiply, which trees on a log scale follow
further out than on the loss's own scale), categorical columns split natively. The capacity
(leaves, learning rate, iterations) is chosen by cross-validation on the reference, for what
the model is for: out of fold, the error of its mean prediction over random covariate shifts
of the reference rows. The final model is fitted on every row; the same model fitted with
each of ``JACKKNIFE`` groups of rows left out gives the band its allowance for the model's
own error, and a structurally different model (``ALTERNATIVE``: near-additive trees) fitted
on every row its allowance for the model's structure.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from .loss import MAX_CODES, LossModel
from .trees import Trees

if TYPE_CHECKING:
    from sklearn.ensemble import HistGradientBoostingRegressor

T = TypeVar("T")
_TREE_DIGITS = 7
#: Capacities tried by cross-validation: (leaves, learning rate); iterations up to ``MAX_ITER``
#: are read off each fit's stages.
GRID: tuple[tuple[int, float], ...] = ((15, 0.1), (31, 0.1), (15, 0.2), (31, 0.2))
MAX_ITER = 200
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
#: Rows per fit from which fits run side by side. scikit-learn grows a tree in Python between
#: its compiled steps, holding the GIL, so fits of fewer rows on two threads mostly wait for
#: each other: on 2 cores the capacity search took 1.3 to 1.5 times as long side by side as one
#: fit after another for 1,000 to 10,000 rows per fit, as long at 15,000 and 0.86 times at
#: 20,000.
PARALLEL_ROWS = 20_000


@dataclass(frozen=True)
class Capacity:
    """What the trees may learn: leaves per tree, learning rate, iterations."""

    leaves: int = 15
    learning_rate: float = 0.1
    iterations: int = 100


#: The alternative model of the band's structural term: trees of three leaves, so nearly
#: additive on the log scale (a part of the features with few reference rows takes the
#: others' growth), where the chosen capacity's trees isolate interactions.
ALTERNATIVE = Capacity(leaves=3, learning_rate=0.1, iterations=400)


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
                    ) -> tuple[LossModel, ...]:
    """The loss model of the (finite) errors ``error`` at rows ``x`` (columns named in
    ``categories`` hold their codes ``0, 1, …``, each seen here): a model of each row's
    absolute error, capacity by :func:`choose_capacity`, fitted on every row, with its
    ``folds`` (fitted without each of ``JACKKNIFE`` groups of rows), its ``alternative``
    (``ALTERNATIVE``'s capacity, fitted on every row; all through :func:`run_fits`)
    and ``ceiling``; and, from its out-of-fold predictions, the squared error's
    ``square_ratio``, ``dispersion`` and ``ratio_spread`` (:func:`square_fields`). Empty
    when every error is 0."""
    categories = dict(categories or {})
    categorical = np.array([c in categories for c in columns], dtype=bool)
    loss = np.abs(error)
    if not np.any(loss > 0):  # every prediction exact: nothing to learn
        return ()
    rows = cv_rows(len(error), seed)
    capacity, predicted = choose_capacity(x[rows], loss[rows], categorical, seed=seed)
    group = np.random.default_rng(seed + 1).permutation(len(error)) % JACKKNIFE
    keeps = [np.ones(len(error), dtype=bool),
             *(group != k for k in range(JACKKNIFE if len(error) >= 80 else 0))]

    def fit(keep: np.ndarray, capacity: Capacity) -> HistGradientBoostingRegressor | None:
        if not np.any(loss[keep] > 0):
            return None
        return regressor(capacity, categorical, seed).fit(x[keep], loss[keep])

    # the alternative first: its 400 trees take longest
    alternative, full, *folds = run_fits([partial(fit, keeps[0], ALTERNATIVE),
                                          *(partial(fit, keep, capacity) for keep in keeps)],
                                         rows=len(error))
    if full is None or alternative is None:  # pragma: no cover - some loss is above 0
        return ()
    other = export(alternative, columns, categories)
    ratio, spread, moves = square_fields(error[rows], predicted,
                                         tilts(x[rows], categorical, seed + 2))
    return (replace(export(full, columns, categories), ceiling=float(loss.max()),
                    square_ratio=ratio, dispersion=spread, ratio_spread=moves,
                    folds=_exported_folds(folds, columns, categories),
                    alternative=(other.baseline, other.trees)),)


def _exported_folds(models: Sequence[HistGradientBoostingRegressor | None],
                    columns: Sequence[str], categories: dict[str, tuple[str, ...]]
                    ) -> tuple[tuple[float, Trees], ...]:
    """The fold models as ``(baseline, trees)``; one that saw no loss, or not every
    category, is left out."""
    folds = []
    for model in models:
        if model is None:
            continue
        try:
            exported = export(model, columns, categories)
        except ValueError:  # a category all of whose rows were left out
            continue
        folds.append((exported.baseline, exported.trees))
    return tuple(folds)


def square_fields(error: np.ndarray, absolute: np.ndarray, weights: np.ndarray
                  ) -> tuple[float, float, float]:
    """The squared error from the absolute error's (out-of-fold) prediction ``absolute``,
    where the errors keep their shape and only their scale varies with the features.

    Returns the square ratio ``c``, with ``E[e**2 | x] = c * E[|e| | x]**2``
    (``sum(e**2) / sum(absolute * |e|)``, which the prediction's own noise does not
    inflate; ``pi / 2`` for normal errors); the dispersion, how much the squared errors vary
    around that mean as a multiple of its square (2 for normal errors, about 4.5 for Laplace
    ones); and how much ``c`` moves, relative to itself, over the covariate shifts
    ``weights`` (one row of row weights per shift): its standard deviation, where the
    errors' shape is not the same everywhere.
    """
    absolute, magnitude = np.clip(absolute, 0, None), np.abs(error)
    ratio = float(np.sum(error**2) / max(float(np.sum(absolute * magnitude)), 1e-300))
    squared = ratio * absolute**2
    spread = float(np.sum((error**2 - squared) ** 2) / max(float(np.sum(squared**2)), 1e-300))
    shifted = (weights @ error**2) / np.maximum(weights @ (absolute * magnitude), 1e-300)
    return max(ratio, 1.0), spread, float(np.std(shifted / ratio)) if ratio > 0 else 0.0


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
    mean = float(loss.mean())
    train_rows = len(loss) * (FOLDS - 1) // FOLDS

    def shifted_estimates(leaves: int, rate: float, k: int) -> tuple[np.ndarray, Any]:
        """Fold ``k``'s part of each shift's weighted mean prediction, at every stage, and
        the fold's model."""
        train, test = fold != k, fold == k
        out = np.tile(weights[:, test].sum(axis=1) * mean, (MAX_ITER, 1))
        if not np.any(loss[train] > 0):
            return out, None
        model = regressor(Capacity(leaves, rate, MAX_ITER), categorical, seed)
        model.fit(x[train], loss[train])
        on_test = np.ascontiguousarray(weights[:, test])
        for i, predicted in enumerate(model.staged_predict(x[test])):
            out[i] = on_test @ predicted
        return out, model

    parts = run_fits([partial(shifted_estimates, leaves, rate, k)
                      for leaves, rate in grid for k in range(FOLDS)], rows=train_rows)
    estimates = np.stack([sum(part for part, _ in parts[g * FOLDS:(g + 1) * FOLDS])
                          for g in range(len(grid))])
    errors = np.mean((estimates - weights @ loss) ** 2, axis=2)  # (grid, iterations)
    g, i = (int(v) for v in np.unravel_index(np.argmin(errors), errors.shape))
    oof = np.full(len(loss), mean)
    chosen = [(k, model) for k, (_, model) in enumerate(parts[g * FOLDS:(g + 1) * FOLDS])
              if model is not None]

    def predicted(k: int, model: Any) -> np.ndarray:
        return next(itertools.islice(model.staged_predict(x[fold == k]), i, None))

    # on one OpenMP thread each, as the fits (a prediction's threads wait for each other at
    # every stage, many times slower on a busy machine)
    for (k, _), values in zip(chosen, run_fits([partial(predicted, k, m) for k, m in chosen],
                                                rows=train_rows), strict=True):
        oof[fold == k] = values
    return Capacity(grid[g][0], grid[g][1], i + 1), oof


def run_fits(jobs: Sequence[Callable[[], T]], rows: int) -> list[T]:
    """Run the jobs (model fits of about ``rows`` rows each), each with one OpenMP and one
    BLAS thread: side by side, a thread each up to the machine's cores, from
    ``PARALLEL_ROWS`` rows; one after another below that."""
    from concurrent.futures import ThreadPoolExecutor

    from sklearn.ensemble import HistGradientBoostingRegressor  # noqa: F401 - its OpenMP
    from threadpoolctl import ThreadpoolController  # library, loaded before it is looked up

    controller = ThreadpoolController()  # the loaded libraries, looked up once (ms each time)

    def limited(job: Callable[[], T]) -> T:
        with controller.limit(limits=1, user_api="openmp"):  # OpenMP's limit holds per thread
            return job()

    workers = max(1, min(len(jobs), os.cpu_count() or 1)) if rows >= PARALLEL_ROWS else 1
    with controller.limit(limits=1, user_api="blas"):
        if workers == 1:
            return [limited(job) for job in jobs]
        with ThreadPoolExecutor(max_workers=workers) as pool:
            return list(pool.map(limited, jobs))


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
