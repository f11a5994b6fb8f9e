"""Is the regression band's jackknife the loss model's own variance? (issue 13)

On a generated set (``bench/generated.py``: ``house`` or ``laplace``), one linear model and one
pool of windows (12 in pool order and ``--tilted`` tilted ones), and ``--references``
independent references drawn from the same generator. On each, the loss model is fitted at a
fixed capacity (``--leaves``, ``--rate``, ``--iterations``: what the profile chose on the set's
own reference) with its four jackknife copies, as ``loss_fit.fit_loss_models`` does. Per
window: the variance of the model's estimate across the references, against the jackknife's
variance averaged over them (a ratio above 1: the jackknife is too wide), for the model and
for the band's alternative (3 leaves, 400 iterations).

    python bench/jackknife_check.py [--task house] [--references 10]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.linear_model import LinearRegression

sys.path.insert(0, __file__.rsplit("/", 1)[0])
import generated as G

from mlflow_decay.core.frames import loss_inputs
from mlflow_decay.core.supervision import _frequent_categories
from mlflow_decay.stats import loss_fit
from mlflow_decay.stats.loss import FOLD_ROWS, LossModel


def generator(task: str) -> tuple[Callable[..., pd.DataFrame], Callable[..., np.ndarray],
                                  Callable[[pd.DataFrame], np.ndarray], list[str], list[str],
                                  np.random.Generator]:
    """Rows, label and design of the task (as ``generated.py`` draws them)."""
    if task == "house":
        return (G._house_rows, G._house_price, lambda f: np.column_stack(
            [f.area, f.rooms, f.age, *(f.city == c for c in "ABCDEFGH"),
             *(f.condition == c for c in ("new", "good"))]),
            ["area", "rooms", "age", "city", "condition"], ["city", "condition"],
            np.random.default_rng(100))
    return (G._laplace_rows, G._laplace_label, lambda f: np.column_stack(
        [f.x1, f.x2, *(f.c == v for v in "abcde"), f.k]),
        ["x1", "x2", "c", "k", "d"], ["c", "d"], np.random.default_rng(0))


def fits(x: np.ndarray, loss: np.ndarray, categorical: np.ndarray,
         capacities: Sequence[loss_fit.Capacity], seed: int) -> list[Any]:
    """Per capacity: the model on every row, then its ``JACKKNIFE`` copies."""
    group = np.random.default_rng(seed).permutation(len(loss)) % loss_fit.JACKKNIFE
    keeps = [np.ones(len(loss), bool), *(group != k for k in range(loss_fit.JACKKNIFE))]
    return loss_fit.run_fits([
        lambda c=c, keep=keep: loss_fit.regressor(c, categorical, 0).fit(x[keep], loss[keep])
        for c in capacities for keep in keeps], rows=len(loss))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="house", choices=["house", "laplace"])
    parser.add_argument("--references", type=int, default=10)
    parser.add_argument("--tilted", type=int, default=30)
    parser.add_argument("--leaves", type=int, default=15)
    parser.add_argument("--rate", type=float, default=0.2)
    parser.add_argument("--iterations", type=int, default=92)
    args = parser.parse_args(argv)
    rows, label, design, features, categorical, rng = generator(args.task)
    train = rows(20_000, rng, False)
    linear = LinearRegression().fit(design(train), label(train, rng))
    pool = pd.concat([rows(30_000, rng, False), rows(30_000, rng, True)], ignore_index=True)
    pool["pred"] = linear.predict(design(pool))
    windows = [pool.iloc[i * 5000:(i + 1) * 5000] for i in range(12)] + G.tilted_windows(
        pool, pool, features, args.tilted, 5000, np.random.default_rng(5))
    capacities = [loss_fit.Capacity(args.leaves, args.rate, args.iterations),
                  loss_fit.ALTERNATIVE]
    k = 1 + loss_fit.JACKKNIFE
    estimates, jackknives = [], []  # (references, models, windows)
    for r in range(args.references):
        reference = rows(50_000, rng, False)
        reference["pred"] = linear.predict(design(reference))
        error = label(reference, rng) - reference["pred"].to_numpy()
        categories = {c: _frequent_categories(reference[c]) for c in categorical}
        model = LossModel((*features, "pred"), 0.0, (), categories=categories)
        fitted = fits(loss_inputs(reference, [model]), np.abs(error), model.categorical,
                      capacities, r)
        est, jack = np.zeros((2, len(windows))), np.zeros((2, len(windows)))
        for w, window in enumerate(windows):
            x = loss_inputs(window, [model])
            sub = x[np.linspace(0, len(x) - 1, FOLD_ROWS).astype(np.int64)]
            for m in range(2):
                est[m, w] = fitted[m * k].predict(x).mean()
                means = np.array([f.predict(sub).mean() for f in fitted[m * k + 1:(m + 1) * k]])
                jack[m, w] = (k - 2) / (k - 1) * np.sum((means - means.mean()) ** 2)
        estimates.append(est)
        jackknives.append(jack)
        print(f"  reference {r + 1} of {args.references}", file=sys.stderr, flush=True)
    est, jack = np.array(estimates), np.array(jackknives)
    for m, name in enumerate(("model", "alternative")):
        variance, mean_jack = est[:, m].var(axis=0, ddof=1), jack[:, m].mean(axis=0)
        ratio = mean_jack / variance
        print(f"{args.task} {name}: jackknife over the estimates' variance across "
              f"{args.references} references: pooled over {len(windows)} windows "
              f"{mean_jack.mean() / variance.mean():.2f}, median window {np.median(ratio):.2f} "
              f"(quartiles {np.percentile(ratio, 25):.2f} to {np.percentile(ratio, 75):.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
