"""Direct loss estimation for regression: gradient-boosted trees, fitted at profile time,
predict each row's absolute and squared error from the features and the prediction; stored as
plain arrays (:class:`LossModel`), so a window's ``est.mae`` and ``est.rmse`` need no labels.
Fitting (capacity chosen by cross-validation) is in :mod:`mlflow_decay.stats.loss_fit`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property, partial
from typing import Any

import numpy as np

from . import Z95, band
from .trees import Trees, compile_pairs, compile_trees

#: Regression metrics estimated from the loss models.
REGRESSION = ("mae", "rmse")
#: Links from the trees' sum to the predicted loss: as is, or its exponential (Poisson).
LINKS = ("identity", "log")
#: A categorical split keeps its left categories as a bitmask in a float: exact below 2**53.
MAX_CODES = 53
#: Rows of a window the fold models predict (for the band's jackknife).
FOLD_ROWS = 2_000


@dataclass(frozen=True)
class LossModel:
    """Gradient-boosted trees predicting a row's loss, stored as plain arrays (no pickle).

    Each tree is ``(feature, threshold, missing_left, left, right, value)`` per node; a leaf
    has feature ``-1``. Prediction follows scikit-learn's ``HistGradientBoostingRegressor``:
    NaN goes where ``missing_left`` says; a numerical split sends ``x <= threshold`` left; a
    split on a categorical column (one named in ``categories``, its values read as the codes
    ``0, 1, …`` of its categories, NaN for a category it does not know) holds in
    ``threshold`` the bitmask of the codes that go left. The trees' sum, plus ``baseline``,
    goes through ``link`` (``"log"``: its exponential, for a Poisson model); a prediction
    above ``ceiling`` (the largest loss in the reference) is cut to it, as a model on the
    log scale can run away where it has seen few rows.

    A model of the absolute error with a ``square_ratio`` ``c`` also gives the squared error,
    ``c`` times its prediction squared (the errors keep their shape, their scale varies);
    ``dispersion`` is how much a row's squared error varies around its mean, as a multiple
    of its square, and ``ratio_spread`` how much ``c`` moved (relative standard deviation)
    over covariate shifts of the reference. ``folds`` holds the same model fitted with each
    of a few groups of the reference rows left out (each a ``(baseline, trees)`` pair): how
    far their estimates spread is the band's allowance for the model's own error (see
    :func:`estimate_regression`). ``alternative`` (optional, a ``(baseline, trees)`` pair
    read like the model's own, through the same link and ceiling) is a structurally
    different model of the same loss: how far its window mean is from the model's is the
    band's allowance for the model's structure.
    """

    columns: tuple[str, ...]
    baseline: float
    trees: tuple[tuple[tuple[float, ...], ...], ...]
    link: str = "identity"
    categories: dict[str, tuple[str, ...]] = field(default_factory=dict)
    dispersion: float | None = None
    ceiling: float | None = None
    square_ratio: float | None = None
    ratio_spread: float = 0.0
    folds: tuple[tuple[float, tuple[tuple[tuple[float, ...], ...], ...]], ...] = ()
    alternative: tuple[float, tuple[tuple[tuple[float, ...], ...], ...]] | None = None

    def __post_init__(self) -> None:
        if self.link not in LINKS:
            raise ValueError(f"loss model link must be one of {LINKS}, got {self.link!r}")
        others = (*self.folds, *((self.alternative,) if self.alternative is not None else ()))
        if any(len(t) != 6 or len({len(a) for a in t}) != 1
               for t in (*self.trees, *(t for _, trees in others for t in trees))):
            raise ValueError("loss model trees must have six arrays of one length")
        if set(self.categories) - set(self.columns) or any(
                len(v) > MAX_CODES for v in self.categories.values()):
            raise ValueError(f"loss model categories must name its columns, each with at most "
                             f"{MAX_CODES} categories")

    @property
    def categorical(self) -> np.ndarray:
        """Which columns are read as category codes."""
        return np.array([c in self.categories for c in self.columns], dtype=bool)

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Each row's predicted loss (``x``: one column per :attr:`columns`, codes for the
        categorical ones)."""
        return self._link(self._walkers[0](np.ascontiguousarray(x, dtype=np.float64)))

    def predict_folds(self, x: np.ndarray) -> np.ndarray:
        """Each fold model's predicted loss of each row: shape ``(len(folds), len(x))``."""
        x = np.ascontiguousarray(x, dtype=np.float64)
        return np.array([self._link(walk(x)) for walk in self._walkers[1:]]).reshape(
            len(self.folds), len(x))

    def predict_alternative(self, x: np.ndarray) -> np.ndarray | None:
        """Each row's loss as the :attr:`alternative` model predicts it (``None`` without
        one)."""
        if self._alternative_walker is None:
            return None
        return self._link(self._alternative_walker(np.ascontiguousarray(x, dtype=np.float64)))

    def raw_numpy(self, x: np.ndarray) -> np.ndarray:
        """The trees' sum plus baseline, walked node by node in numpy (:func:`walk_numpy`, the
        walk used where scikit-learn's compiled walker is missing): the reference path."""
        return walk_numpy(self.baseline, self.trees, self.categorical, x)

    def _link(self, raw: np.ndarray) -> np.ndarray:
        out = np.exp(raw) if self.link == "log" else raw
        return out if self.ceiling is None else np.minimum(out, self.ceiling)

    @cached_property
    def _walkers(self) -> list[Any]:
        """Functions of ``x`` giving the trees' sum plus baseline: the model's, then each
        fold model's (scikit-learn's compiled walker where it has one, else numpy's)."""
        return [self._walker(baseline, trees)
                for baseline, trees in ((self.baseline, self.trees), *self.folds)]

    @cached_property
    def _alternative_walker(self) -> Any:
        """The alternative's trees, shallow, as tables of pairs of inputs (a window's rows
        are looked up in time independent of the number of trees) where they split on at
        most two inputs each, else walked."""
        if self.alternative is None:
            return None
        categorical = self.categorical
        sizes = [len(self.categories.get(c, ())) for c in self.columns]

        def walk(trees: Trees, grid: np.ndarray) -> np.ndarray:
            compiled = compile_trees(0.0, trees, categorical, sizes)
            return (compiled(grid) if compiled is not None
                    else walk_numpy(0.0, trees, categorical, grid))

        tables = compile_pairs(*self.alternative, categorical, sizes, walk)
        return tables if tables is not None else self._walker(*self.alternative)

    def _walker(self, baseline: float, trees: Trees) -> Any:
        categorical = self.categorical
        sizes = [len(self.categories.get(c, ())) for c in self.columns]
        walker = compile_trees(baseline, trees, categorical, sizes)
        return walker if walker is not None else partial(walk_numpy, baseline, trees, categorical)

    def to_dict(self) -> dict[str, Any]:
        # fields at their defaults are left out, so models written before them keep their bytes
        new = self.is_new
        extra: dict[str, Any] = {}
        if self.link != "identity":
            extra["link"] = self.link
        if self.categories:
            extra["categories"] = {c: list(v) for c, v in self.categories.items()}
        if self.dispersion is not None:
            extra["dispersion"] = self.dispersion
        if self.ceiling is not None:
            extra["ceiling"] = self.ceiling
        if self.square_ratio is not None:
            extra["square_ratio"] = self.square_ratio
        if self.ratio_spread:
            extra["ratio_spread"] = self.ratio_spread
        if self.folds:
            extra["folds"] = [{"baseline": b, "trees": _trees_out(t, new)} for b, t in self.folds]
        if self.alternative is not None:
            extra["alternative"] = {"baseline": self.alternative[0],
                                    "trees": _trees_out(self.alternative[1], new)}
        return {"columns": list(self.columns), "baseline": self.baseline,
                "trees": _trees_out(self.trees, new), **extra}

    @property
    def is_new(self) -> bool:
        """Whether a reader of profile format 2 would misread this model (it ignores the link,
        the categories and the band's fields)."""
        return (self.link != "identity" or bool(self.categories) or self.dispersion is not None
                or self.ceiling is not None or self.square_ratio is not None
                or bool(self.ratio_spread) or bool(self.folds) or self.alternative is not None)

    @property
    def format_version(self) -> int:
        """The oldest profile format version that says everything this model holds: 1, 3
        for the link, categories and band's fields, 4 with an :attr:`alternative` (a reader
        of version 3 would leave it out of the band)."""
        return 4 if self.alternative is not None else 3 if self.is_new else 1

    @classmethod
    def from_dict(cls, obj: dict[str, Any]) -> LossModel:
        dispersion, ceiling, ratio, alternative = (obj.get(k) for k in (
            "dispersion", "ceiling", "square_ratio", "alternative"))
        return cls(tuple(str(c) for c in obj["columns"]), float(obj["baseline"]),
                   _trees_in(obj["trees"]), link=str(obj.get("link", "identity")),
                   categories={str(c): tuple(str(k) for k in v)
                               for c, v in obj.get("categories", {}).items()},
                   dispersion=None if dispersion is None else float(dispersion),
                   ceiling=None if ceiling is None else float(ceiling),
                   square_ratio=None if ratio is None else float(ratio),
                   ratio_spread=float(obj.get("ratio_spread", 0.0)),
                   folds=tuple((float(f["baseline"]), _trees_in(f["trees"]))
                               for f in obj.get("folds", ())),
                   alternative=None if alternative is None else (
                       float(alternative["baseline"]), _trees_in(alternative["trees"])))


#: The arrays of a tree that hold whole numbers: feature, missing_left, left, right.
_WHOLE = (0, 2, 3, 4)


def _trees_out(trees: Trees, compact: bool) -> list[list[list[float | int]]]:
    """Trees as JSON lists; ``compact`` writes the whole-number arrays as integers."""
    return [[[int(v) for v in a] if compact and i in _WHOLE else list(a)
             for i, a in enumerate(t)] for t in trees]


def _trees_in(trees: Any) -> Trees:
    return tuple(tuple(tuple(float(v) for v in a) for a in t) for t in trees)


def walk_numpy(baseline: float, trees: Trees, categorical: np.ndarray, x: np.ndarray
               ) -> np.ndarray:
    """The trees' sum plus ``baseline`` for rows ``x``, walked node by node in numpy."""
    out = np.full(len(x), baseline)
    rows = np.arange(len(x))
    for tree in trees:
        feature, threshold, missing_left, left, right, value = (np.asarray(a) for a in tree)
        node = np.zeros(len(x), dtype=np.int64)
        while True:
            inner = feature[node] >= 0
            if not inner.any():
                break
            f = feature[node].astype(np.int64).clip(0)
            v = x[rows, f]
            missing = np.isnan(v)
            on_codes = categorical[f]
            code = np.where(missing | ~on_codes, 0, v).astype(np.int64).clip(0, MAX_CODES)
            mask = np.where(on_codes, threshold[node], 0).astype(np.int64)
            in_mask = (mask >> code) & 1 > 0
            go_left = np.where(missing, missing_left[node] > 0,
                               np.where(on_codes, in_mask, v <= threshold[node]))
            node = np.where(inner, np.where(go_left, left[node], right[node]), node).astype(
                np.int64)
        out += value[node]
    return out


def estimate_regression(x: np.ndarray, models: Sequence[LossModel]) -> dict[str, float]:
    """``est.mae`` and ``est.rmse`` with 95% bands: from one absolute-error model with a
    ``square_ratio``, or (profiles written before it) from an absolute- and a squared-error
    model.

    Each row's absolute error is predicted as ``a``, its squared error as ``s`` (``c a**2``,
    or the second model's prediction). The band's variance adds the window's sampling error
    and the model's own error. Sampling: a row's absolute error varies by ``s - a**2``, its
    squared error by ``dispersion s**2`` (2, as for normal errors, in models without it).
    The model's own error: the delete-a-group jackknife over its ``folds``, ``(k - 1) / k``
    times the sum of squared deviations of the fold models' estimates from their mean (on
    at most ``FOLD_ROWS`` of the window's rows, evenly spaced); for the squared error also
    ``(ratio_spread * mse)**2``, as ``c`` may not hold where the window went. Its structure:
    with an ``alternative`` model ``b``, the square of how far the two models' window means
    are apart (``mean(a) - mean(b)``, and ``c (mean(a**2) - mean(b**2))`` for the squared
    error), what the model's bias would be were the alternative right: large where one of
    them extrapolates, in parts of the features the reference holds few rows of. RMSE's band
    is MSE's, through ``d sqrt(m) = dm / (2 sqrt(m))``.
    """
    ratio = models[0].square_ratio if len(models) == 1 else None
    if len(x) == 0 or (ratio is None and len(models) != 2):
        return {}
    x = np.ascontiguousarray(x, dtype=np.float64)
    absolute = np.clip(models[0].predict(x), 0, None)
    squared = ratio * absolute**2 if ratio is not None else np.clip(models[1].predict(x), 0, None)
    n = len(x)
    mae, mse = float(absolute.mean()), float(squared.mean())
    dispersion = models[-1].dispersion if models[-1].dispersion is not None else 2.0
    var_mae = float(np.clip(squared - absolute**2, 0, None).mean()) / n
    var_mse = dispersion * float(np.mean(squared**2)) / n
    sub = x[np.linspace(0, n - 1, min(n, FOLD_ROWS)).astype(np.int64)]
    folds = np.clip(models[0].predict_folds(sub), 0, None)
    var_mae += _jackknife(folds)
    if ratio is not None:
        var_mse += _jackknife(ratio * folds**2) + (models[0].ratio_spread * mse) ** 2
        other = models[0].predict_alternative(x)
        if other is not None:  # the two structures' disagreement
            other = np.clip(other, 0, None)
            var_mae += (mae - float(other.mean())) ** 2
            var_mse += (mse - ratio * float(np.mean(other**2))) ** 2
    elif len(models) == 2:
        var_mse += _jackknife(np.clip(models[1].predict_folds(sub), 0, None))
    rmse = float(np.sqrt(mse))
    sd_mae = float(np.sqrt(var_mae))
    sd_rmse = float(np.sqrt(var_mse) / (2 * rmse)) if rmse > 0 else 0.0
    out = {"est.mae": mae, "est.rmse": rmse}
    out["est.mae.lower"], out["est.mae.upper"] = band(mae, Z95 * sd_mae)
    out["est.rmse.lower"], out["est.rmse.upper"] = band(rmse, Z95 * sd_rmse)
    return out


def _jackknife(folds: np.ndarray) -> float:
    """The delete-a-group jackknife variance of a mean from the fold models' predictions
    ``folds`` (one row of predictions per fold model)."""
    k = len(folds)
    if k < 2:
        return 0.0
    means = folds.mean(axis=1)
    return float((k - 1) / k * np.sum((means - means.mean()) ** 2))
