"""Generated regression data and covariate-shifted windows for ``bench/coverage.py``.

Two regressions whose model is misspecified, so that its errors depend on the features:

- ``laplace``: a linear model of ``2 x1 + sin(4 x2) + g(c) + 0.4 k x1`` plus Laplace noise whose
  scale grows with ``|x1|``, the category ``c``, the count ``k`` and an interaction of ``d`` and
  ``x2``;
- ``house``: a linear model of prices that are multiplicative in area, city, condition and age,
  with lognormal noise that grows with age and poor condition.

Each has a reference of 50,000 rows and a pool of 60,000: the first half drawn like the
reference, the second from shifted distributions that reach beyond the reference's range.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
from sklearn.linear_model import LinearRegression

Data = tuple[pd.DataFrame, pd.DataFrame, list[str], str, str]


def _laplace_rows(n: int, rng: np.random.Generator, shifted: bool) -> pd.DataFrame:
    cats = np.array(list("abcde"))
    if not shifted:
        x1, x2 = rng.normal(0, 1, n), rng.uniform(0, 1, n)
        c = rng.choice(cats, n, p=[.35, .3, .2, .1, .05])
        k = rng.choice(5, n, p=[.4, .3, .15, .1, .05])
        d = rng.choice(["u", "v"], n, p=[.8, .2])
    else:
        x1, x2 = rng.normal(0.3, 1.4, n), rng.uniform(0, 1, n) ** 0.6
        c, k = rng.choice(cats, n), rng.choice(5, n)
        d = rng.choice(["u", "v"], n)
    return pd.DataFrame({"x1": x1, "x2": x2, "c": c, "k": k.astype(float), "d": d})


_MULT = {"a": .5, "b": 1, "c": 1, "d": 2, "e": 3}
_SHIFT = {"a": 0, "b": 1, "c": -1, "d": 0.5, "e": 2}


def _laplace_label(f: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
    m, g = f.c.map(_MULT).to_numpy(), f.c.map(_SHIFT).to_numpy()
    sigma = 0.5 + 0.8 * np.abs(f.x1) * m + 0.3 * f.k + 0.7 * (f.d == "v") * (f.x2 > 0.5)
    eps = rng.laplace(0, 1 / np.sqrt(2), len(f))
    return np.asarray(2 * f.x1 + np.sin(4 * f.x2) + g + 0.4 * f.k * f.x1 + sigma * eps)


def laplace(seed: int = 0, n_ref: int = 50_000, n_pool: int = 60_000) -> Data:
    rng = np.random.default_rng(seed)

    def design(f: pd.DataFrame) -> np.ndarray:
        return np.column_stack([f.x1, f.x2, *(f.c == v for v in "abcde"), f.k])

    ref, pool = _fitted(_laplace_rows, _laplace_label, design, rng, n_ref, n_pool, "y", "yhat")
    return ref, pool, ["x1", "x2", "c", "k", "d"], "y", "yhat"


def _house_rows(n: int, rng: np.random.Generator, shifted: bool) -> pd.DataFrame:
    cities = np.array(list("ABCDEFGH"))
    pc = (np.array([.25, .2, .15, .12, .1, .08, .06, .04]) if not shifted
          else np.array([.08, .08, .1, .12, .14, .16, .16, .16]))
    area = rng.lognormal(4.5 if shifted else 4.3, 0.45 if shifted else 0.35, n)
    rooms = np.clip(np.round(area / 25 + rng.normal(0, 0.8, n)), 1, 8)
    age = rng.beta(2, 1, n) * 80 if shifted else rng.uniform(0, 80, n)
    cond = rng.choice(["new", "good", "poor"], n, p=[.1, .5, .4] if shifted else [.2, .6, .2])
    return pd.DataFrame({"area": area, "rooms": rooms, "age": age,
                         "city": rng.choice(cities, n, p=pc), "condition": cond})


_CITY = dict(zip("ABCDEFGH", [1.0, 1.3, 0.8, 1.6, 0.7, 2.0, 0.6, 2.4], strict=True))
_COND = {"new": 1.2, "good": 1.0, "poor": 0.75}


def _house_price(f: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
    base = (3000 * f.area * f.city.map(_CITY).to_numpy() * f.condition.map(_COND).to_numpy()
            * np.exp(-0.006 * f.age))
    noise_sd = 0.12 + 0.1 * (f.condition == "poor") + 0.002 * f.age
    return np.asarray(base * np.exp(rng.normal(0, noise_sd)))


def house(seed: int = 0, n_ref: int = 50_000, n_pool: int = 60_000) -> Data:
    rng = np.random.default_rng(100 + seed)

    def design(f: pd.DataFrame) -> np.ndarray:
        return np.column_stack([f.area, f.rooms, f.age, *(f.city == c for c in "ABCDEFGH"),
                                *(f.condition == c for c in ("new", "good"))])

    ref, pool = _fitted(_house_rows, _house_price, design, rng, n_ref, n_pool, "price", "pred")
    return ref, pool, ["area", "rooms", "age", "city", "condition"], "price", "pred"


def _fitted(rows: Callable[[int, np.random.Generator, bool], pd.DataFrame],
            label: Callable[[pd.DataFrame, np.random.Generator], np.ndarray],
            design: Callable[[pd.DataFrame], np.ndarray], rng: np.random.Generator, n_ref: int,
            n_pool: int, target: str, prediction: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A linear model fitted on 20,000 unshifted rows; the reference (unshifted) and the pool
    (half unshifted, half shifted) with their labels and the model's predictions."""
    train = rows(20_000, rng, False)
    model = LinearRegression().fit(design(train), label(train, rng))
    ref = rows(n_ref, rng, False)
    pool = pd.concat([rows(n_pool // 2, rng, False), rows(n_pool // 2, rng, True)],
                     ignore_index=True)
    for f in (ref, pool):
        f[target], f[prediction] = label(f, rng), model.predict(design(f))
    return ref, pool


def tilted_windows(ref: pd.DataFrame, pool: pd.DataFrame, features: Sequence[str], count: int,
                   size: int, rng: np.random.Generator, max_strength: float = 1.5
                   ) -> list[pd.DataFrame]:
    """``count`` windows of ``size`` rows drawn without replacement from ``pool``, each with a
    random exponential tilt of one to three features (numbers standardised on the reference;
    a category: the indicator of one of its values), of strength uniform in [0, max]."""
    z = {}
    for f in features:
        col = pool[f]
        if pd.api.types.is_numeric_dtype(col.dtype):
            r = ref[f].to_numpy(float)
            z[f] = ("num", (col.to_numpy(float) - r.mean()) / (r.std() + 1e-12))
        else:
            z[f] = ("cat", col.astype(str).to_numpy())
    out = []
    for _ in range(count):
        strength = rng.uniform(0, max_strength)
        logit = np.zeros(len(pool))
        for f in rng.choice(list(features), rng.integers(1, 4), replace=False):
            kind, v = z[f]
            coef = rng.normal() * strength
            logit += coef * v if kind == "num" else 2 * coef * (v == rng.choice(np.unique(v)))
        p = np.exp(logit - logit.max())
        rows = rng.choice(len(pool), size, replace=False, p=p / p.sum())
        out.append(pool.iloc[np.sort(rows)].reset_index(drop=True))
    return out
