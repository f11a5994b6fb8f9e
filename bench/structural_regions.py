"""How a regression band's model-error term should enter, judged on the reference alone
(issue 13): leave most of a region of the reference out, fit the loss models on the rest,
and see how far their estimate of the region's mean absolute error is from the region's
realized one, against each candidate band.

Per task (``bench/coverage.py``'s regressions; only their reference rows are read) and seed:
the profile's loss model ``A`` (its capacity, chosen again on the same rows), and a second,
near-additive model ``B`` (``--leaves`` leaves, ``--iterations`` iterations). Regions of (at
most 30,000 of) the reference rows: each number's rows above its 90th and below its 10th
percentile, and ``--corners`` corners of two numbers (both beyond their 80th, or 20th,
percentile). A share ``--keep`` of the region's rows stays with the fitted rows (the region
is sparse, not absent: the README's Laplace misses are of that kind); ``--keep 0`` leaves
all of it out. On the rest, ``A`` and ``B`` are fitted, each also without each of four
groups of rows (the band's jackknife); on the region's rows left out, the estimate of their
mean absolute error and each band's variance: sampling (``(c - 1) a**2``), A's jackknife
``jkA``, B's ``jkB``, the squared disagreement ``D2`` of the two models' means. Prints, per
candidate band, the mean and median of the squared z-score and the share of regions whose
realized value lies in the 95% band.

    python bench/structural_regions.py [--tasks laplace,house,regression] [--seeds 0,1]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import numpy as np

sys.path.insert(0, __file__.rsplit("/", 1)[0])
import coverage as C
from structural import reference_rows

import mlflow_decay as md
from mlflow_decay.stats import loss_fit
from mlflow_decay.stats.loss import FOLD_ROWS

Z = 1.959963984540054
MIN_ROWS = 300


def regions(x: np.ndarray, categorical: np.ndarray, corners: int, rng: np.random.Generator
            ) -> list[tuple[str, np.ndarray]]:
    numbers = [j for j in range(x.shape[1])
               if not categorical[j] and len(np.unique(x[~np.isnan(x[:, j]), j])) > 10]
    out = []
    for j in numbers:
        v = x[:, j]
        lo, hi = np.nanquantile(v, [0.1, 0.9])
        out += [(f"{j}>q90", v > hi), (f"{j}<q10", v < lo)]
    pairs = [(i, j) for i in numbers for j in numbers if i < j]
    for p in rng.permutation(len(pairs))[:corners]:
        i, j = pairs[p]
        si, sj = rng.choice([-1, 1], 2)
        ci, cj = (np.nanquantile(s * x[:, k], 0.8) for s, k in ((si, i), (sj, j)))
        out.append((f"{i}{'+-'[int(si < 0)]}&{j}{'+-'[int(sj < 0)]}",
                    (si * x[:, i] > ci) & (sj * x[:, j] > cj)))
    return [(name, m) for name, m in out if MIN_ROWS <= m.sum() <= len(m) // 4]


def jk(folds: np.ndarray) -> float:
    k = len(folds)
    means = folds.mean(axis=1)
    return float((k - 1) / k * np.sum((means - means.mean()) ** 2))


def region_terms(x: np.ndarray, loss: np.ndarray, out: np.ndarray, a_cap: loss_fit.Capacity,
                 b_cap: loss_fit.Capacity, categorical: np.ndarray, ratio: float, seed: int
                 ) -> dict[str, float]:
    train = np.flatnonzero(~out)
    group = np.random.default_rng(seed + 1).permutation(len(train)) % loss_fit.JACKKNIFE
    keeps = [train, *(train[group != k] for k in range(loss_fit.JACKKNIFE))]
    jobs = [lambda cap=cap, keep=keep: loss_fit.regressor(cap, categorical, seed).fit(
        x[keep], loss[keep]) for cap in (a_cap, b_cap) for keep in keeps]
    fitted = loss_fit.run_fits(jobs, rows=len(train))
    xr = x[out]
    sub = xr[np.linspace(0, len(xr) - 1, min(len(xr), FOLD_ROWS)).astype(np.int64)]
    a = fitted[0].predict(xr)
    b = fitted[len(keeps)].predict(xr)
    fa = np.array([m.predict(sub) for m in fitted[1:len(keeps)]])
    fb = np.array([m.predict(sub) for m in fitted[len(keeps) + 1:]])
    return {"real": float(loss[out].mean()), "a": float(a.mean()), "b": float(b.mean()),
            "s": float(np.mean((ratio - 1) * a**2) / len(xr)), "jkA": jk(fa), "jkB": jk(fb)}


CANDIDATES = {
    "s + jkA (now)": lambda t: t["s"] + t["jkA"],
    "s + jkA + D2/2": lambda t: t["s"] + t["jkA"] + t["D2"] / 2,
    "s + jkA + D2": lambda t: t["s"] + t["jkA"] + t["D2"],
    "s + jkB + D2": lambda t: t["s"] + t["jkB"] + t["D2"],
    "s + (jkA + jkB)/2 + D2": lambda t: t["s"] + (t["jkA"] + t["jkB"]) / 2 + t["D2"],
    "s + max(jkA, jkB + D2)": lambda t: t["s"] + np.maximum(t["jkA"], t["jkB"] + t["D2"]),
    "s + D2": lambda t: t["s"] + t["D2"],
}


def run(name: str, seed: int, b_cap: loss_fit.Capacity, corners: int, keep: float
        ) -> dict[str, np.ndarray]:
    task = C.regression_task(name, 0, False)
    with C.E.quiet(), C.seeded(seed):
        profile = md.build_profile(task.reference, band_chunks=0, **task.options)
    (model,) = profile.loss_models
    x, error = reference_rows(task, model)
    rows = loss_fit.cv_rows(len(error), seed)
    x, loss = x[rows], np.abs(error[rows])
    a_cap, _ = loss_fit.choose_capacity(x, loss, model.categorical, seed=seed)
    print(f"  {name} seed {seed}: A {a_cap}", flush=True)
    terms: dict[str, list[float]] = {}
    rng = np.random.default_rng(seed)
    for label, region in regions(x, model.categorical, corners, rng):
        out = region & (rng.random(len(region)) >= keep)  # a share of the region stays: sparse
        t = region_terms(x, loss, out, a_cap, b_cap, model.categorical,
                         model.square_ratio or 1.0, seed)
        t["D2"] = (t["a"] - t["b"]) ** 2
        print(f"    {name} {label:>10} ({out.sum()} rows): real {t['real']:.4g}, A {t['a']:.4g}, "
              f"B {t['b']:.4g}, sd s {np.sqrt(t['s']):.3g} jkA {np.sqrt(t['jkA']):.3g} "
              f"jkB {np.sqrt(t['jkB']):.3g} |D| {np.sqrt(t['D2']):.3g}", flush=True)
        for k, v in t.items():
            terms.setdefault(k, []).append(v)
    return {k: np.array(v) for k, v in terms.items()}


def report(name: str, t: dict[str, np.ndarray]) -> None:
    err2 = (t["a"] - t["real"]) ** 2
    print(f"  {name}: {len(err2)} regions; |A - real| {np.sqrt(np.mean(err2)):.4g} rms, "
          f"|B - real| {np.sqrt(np.mean((t['b'] - t['real']) ** 2)):.4g}")
    for label, band in CANDIDATES.items():
        var = band(t)
        print(f"    {label:>24}: mean z2 {np.mean(err2 / var):6.2f}, median z2 "
              f"{np.median(err2 / var):5.2f}, covered {np.mean(err2 <= Z * Z * var):.0%}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", default="laplace,house,regression")
    parser.add_argument("--seeds", default="0")
    parser.add_argument("--leaves", type=int, default=3)
    parser.add_argument("--iterations", type=int, default=400)
    parser.add_argument("--corners", type=int, default=6)
    parser.add_argument("--keep", type=float, default=0.1,
                        help="share of a region's rows kept for fitting (default 0.1)")
    args = parser.parse_args(argv)
    b_cap = loss_fit.Capacity(args.leaves, 0.1, args.iterations)
    pooled: dict[str, list[np.ndarray]] = {}
    for name in args.tasks.split(","):
        per: dict[str, list[np.ndarray]] = {}
        for seed in (int(s) for s in args.seeds.split(",")):
            for k, v in run(name.strip(), seed, b_cap, args.corners, args.keep).items():
                per.setdefault(k, []).append(v)
        merged = {k: np.concatenate(v) for k, v in per.items()}
        report(name, merged)
        for k, v in merged.items():
            pooled.setdefault(k, []).append(v)
    report("all", {k: np.concatenate(v) for k, v in pooled.items()})
    return 0


if __name__ == "__main__":
    sys.exit(main())
