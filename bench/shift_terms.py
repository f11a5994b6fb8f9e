"""Candidate band terms for the regression loss model's error under covariate shift, measured
(issue 13; none is in the estimator: see the README's regression paragraph).

Per task and cross-validation seed, the profile of ``bench/coverage.py`` and its windows (the
fixed cuts and ``--tilted`` tilted windows), then three terms computed from the reference only:

- ``tilts``: the out-of-fold error of the mean loss under 200 random covariate shifts of the
  reference (``loss_fit.tilts``, the capacity search's kind), against each shift's chi-square
  on per-input bins; ``kappa`` is the least-squares slope of the squared relative error, less
  its sampling variance, on the chi-square (the term would add ``kappa * chi2 * mae**2``);
- ``ratio``: the variance of estimating the window's mean loss from the reference rows
  re-weighted by a per-input (product of marginals) density ratio, ``E_w[r var] / N``;
- ``jackknife bias``: the delete-a-group jackknife's bias estimate, ``(k - 1)`` times the fold
  models' mean estimate less the full model's, as a band term and as a correction.

For ``laplace`` it also splits the model's bias on the shifted half against the known truth.
Run with the NannyML venv (see ``estimation.py``)::

    python bench/shift_terms.py [--tasks laplace,house,regression] [--seeds 0,1]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import numpy as np
import pandas as pd

sys.path.insert(0, __file__.rsplit("/", 1)[0])
import coverage as C
import generated as G

import mlflow_decay as md
from mlflow_decay.core.frames import loss_inputs
from mlflow_decay.stats import loss_fit
from mlflow_decay.stats.loss import FOLD_ROWS, LossModel, estimate_regression

PROBS = np.array([.001, .01, .05, .1, .25, .5, .75, .9, .95, .99, .999])
Bins = list[tuple[np.ndarray | None, np.ndarray]]


def codes(v: np.ndarray, edges: np.ndarray | None) -> np.ndarray:
    """Bin of each value: 0 missing, then the category's code or the quantile bin."""
    if edges is None:
        return np.where(np.isnan(v), 0, np.nan_to_num(v) + 1).astype(int)
    return np.where(np.isnan(v), 0, np.searchsorted(edges, v, side="right") + 1)


def bins(x: np.ndarray, categorical: np.ndarray) -> Bins:
    """Per input: quantile edges (None for a categorical one) and the reference's bin shares."""
    out: Bins = []
    for j in range(x.shape[1]):
        edges = None if categorical[j] else np.unique(np.nanquantile(x[:, j], PROBS))
        out.append((edges, np.bincount(codes(x[:, j], edges)) / len(x)))
    return out


def chi2(x: np.ndarray, tabs: Bins, weights: np.ndarray | None = None) -> float:
    """Sum over inputs of the chi-square between the (weighted) rows' bin shares and the
    reference's."""
    total = 0.0
    for j, (edges, share) in enumerate(tabs):
        c = codes(x[:, j], edges)
        size = max(len(share), int(c.max()) + 1)
        p = np.bincount(c, weights=weights, minlength=size)[:len(share)]
        p = p / p.sum()
        ok = share > 0
        total += float(np.sum((p[ok] - share[ok]) ** 2 / share[ok]))
    return total


def ratio(x: np.ndarray, tabs: Bins, n_ref: int) -> np.ndarray:
    """Each window row's density ratio, window over reference, as a product over inputs."""
    log_r = np.zeros(len(x))
    for j, (edges, share) in enumerate(tabs):
        c = codes(x[:, j], edges)
        size = max(len(share), int(c.max()) + 1)
        window = np.bincount(c, minlength=size) / len(x)
        ref = np.maximum(np.r_[share, np.zeros(size - len(share))], 1 / n_ref)
        log_r += np.log(np.maximum(window, 1e-300) / ref)[c]
    return np.exp(log_r)


def tilt_probe(x: np.ndarray, loss: np.ndarray, model: LossModel, tabs: Bins, seed: int
               ) -> float:
    """Print the tilts' relative error by chi-square quintile; return ``kappa``."""
    rows = loss_fit.cv_rows(len(loss), seed)
    x, loss = x[rows], loss[rows]
    _, oof = loss_fit.choose_capacity(x, loss, model.categorical, seed=seed)
    weights = loss_fit.tilts(x, model.categorical, seed + 2)
    realized = weights @ loss
    rel = (weights @ oof - realized) / realized
    sampling = (weights**2 @ (loss - oof) ** 2) / realized**2
    s = np.array([chi2(x, tabs, w) for w in weights])
    kappa = float(np.sum(s * (rel**2 - sampling)) / np.sum(s * s))
    for q in np.array_split(np.argsort(s), 5):
        print(f"    tilts chi2 {s[q].mean():7.3f}: relative RMS error {np.sqrt(np.mean(rel[q]**2)):.4f}"
              f", sampling {np.sqrt(sampling[q].mean()):.4f}")
    return kappa


def window_terms(x: np.ndarray, model: LossModel, tabs: Bins, n_ref: int, kappa: float
                 ) -> tuple[dict[str, float], dict[str, float]]:
    """The window's estimate and each candidate's extra MAE standard deviation and the
    jackknife bias."""
    est = estimate_regression(x, [model])
    a = np.clip(model.predict(x), 0, None)
    r = ratio(x, tabs, n_ref)
    ratio_sq = model.square_ratio or 1.0
    sub = x[np.linspace(0, len(x) - 1, min(len(x), FOLD_ROWS)).astype(np.int64)]
    folds = np.clip(model.predict_folds(sub), 0, None).mean(axis=1)
    bias = (len(folds) - 1) * (folds.mean() - np.clip(model.predict(sub), 0, None).mean())
    return est, {"tilts": float(np.sqrt(max(kappa, 0) * chi2(x, tabs)) * est["est.mae"]),
                 "ratio": float(np.sqrt(np.mean(r * (ratio_sq - 1) * a**2) / n_ref)),
                 "bias": float(bias)}


def laplace_truth(pool: pd.DataFrame, model: LossModel) -> None:
    """The model's bias on the shifted half of the Laplace pool, against the known truth."""
    half = pool.iloc[len(pool) // 2:]
    mu = 2 * half.x1 + np.sin(4 * half.x2) + half.c.map(G._SHIFT) + 0.4 * half.k * half.x1
    sigma = (0.5 + 0.8 * np.abs(half.x1) * half.c.map(G._MULT) + 0.3 * half.k
             + 0.7 * (half.d == "v") * (half.x2 > 0.5))
    b, m = (sigma / np.sqrt(2)).to_numpy(), np.abs(mu - half.yhat).to_numpy()
    truth = m + b * np.exp(-m / b)
    predicted = model.predict(loss_inputs(half, [model]))
    cell = ((half.c == "e") & (np.abs(half.x1) > 2)).to_numpy()
    print(f"    shifted half: truth {truth.mean():.3f}, model {predicted.mean():.3f}; rows of c=e, "
          f"|x1|>2: {cell.mean():.1%}, bias from them {(predicted - truth)[cell].sum() / len(half):+.3f}")


def run(name: str, seed: int, tilted: int) -> None:
    task = C.regression_task(name, tilted, False)
    with C.E.quiet(), C.seeded(seed):
        profile = md.build_profile(task.reference, band_chunks=0, **task.options)
    (model,) = profile.loss_models
    ref = task.reference
    error = ref[task.options["target"]].to_numpy(float) - ref[task.options["prediction"]].to_numpy(
        float)
    keep = np.isfinite(error)
    x, loss = loss_inputs(ref, [model])[keep], np.abs(error[keep])
    tabs = bins(x, model.categorical)
    print(f"  {name} seed {seed}")
    kappa = tilt_probe(x, loss, model, tabs, seed)
    cuts = task.cuts(seed)
    if name == "laplace":
        laplace_truth(pd.concat(cuts[0].windows, ignore_index=True), model)
    rows = []
    for cut in cuts:
        for w, realized in zip(cut.windows, cut.realized["mae"], strict=True):
            est, extra = window_terms(loss_inputs(w, [model]), model, tabs, len(x), kappa)
            sd = (est["est.mae.upper"] - est["est.mae"]) / 1.96
            rows.append((est["est.mae"] - realized, sd, extra["tilts"], extra["ratio"],
                         extra["bias"]))
    err, sd, tilt, rat, bias = np.array(rows).T
    rms = float(np.sqrt(np.mean(err**2)))
    print(f"    kappa {kappa:.3g}; {len(err)} windows, MAE {np.mean(np.abs(err)):.4g}")
    for label, extra, shift in (("now", 0 * sd, 0 * sd), ("+tilts", tilt, 0 * sd),
                                ("+ratio", rat, 0 * sd), ("+|jackknife bias|", bias, 0 * sd),
                                ("jackknife bias corrected", bias, bias)):
        total = np.sqrt(sd**2 + extra**2)
        print(f"    {label:>25}: covered {np.mean(np.abs(err - shift) < 1.96 * total):.1%}, "
              f"band fit {total.mean() / rms:.2f}, MAE {np.mean(np.abs(err - shift)):.4g}")
    print(f"    corr(error, jackknife bias) {np.corrcoef(err, bias)[0, 1]:+.2f}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", default="laplace,house,regression")
    parser.add_argument("--seeds", default="0,1")
    parser.add_argument("--tilted", type=int, default=100)
    args = parser.parse_args(argv)
    for name in args.tasks.split(","):
        for seed in (int(s) for s in args.seeds.split(",")):
            run(name.strip(), seed, args.tilted)
    return 0


if __name__ == "__main__":
    sys.exit(main())
