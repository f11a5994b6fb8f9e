"""Coverage, band fit and MAE of candidate regression bands from ``bench/structural.py``'s
measurements (issue 13): the loss model ``A`` with its band as before, and with a
structural term from a second, near-additive model ``B``: how far the two models' window
means are apart (``D``), entering the band in several ways, or ``B`` mixed into the
estimate. The band the estimator adopted is ``+D2`` (chosen a priori and on the reference,
``bench/structural_regions.py``; these windows only confirm it).

    python bench/structural_report.py DIR [--tasks laplace,house,regression]

Per task (``DIR/<task>_<seed>.npz``, one per cross-validation seed): the reference-only
scales measured over the capacity search's tilts (out of fold: ``kappa``, the squared error
of ``A``'s shifted mean beyond its sampling variance over the squared disagreement, and the
weight of ``A`` in the best mix of the two), then per candidate the coverage, band fit and
MAE (per seed) of ``est.mae`` and ``est.rmse``.
"""

from __future__ import annotations

import argparse
import glob
import sys
from collections.abc import Callable, Sequence

import numpy as np

Z = 1.959963984540054
Data = dict[str, np.ndarray]
#: A candidate: (data, metric) -> each window's estimate (MAE or MSE) and its variance.
Variant = Callable[[Data, str], tuple[np.ndarray, np.ndarray]]


def kappa_of(d: Data, metric: str) -> float:
    """Reference-only scale of the disagreement: over the tilts, out of fold, the mean
    squared error of ``A``'s weighted mean less its sampling variance, over the mean squared
    disagreement."""
    if metric == "mae":
        e, dis, var = d["t_a"] - d["t_l"], d["t_a"] - d["t_b"], d["t_var"]
    else:
        e, dis, var = d["t_sa"] - d["t_s"], d["t_sa"] - d["t_sb"], 0 * d["t_var"]
    return float(max(np.mean(e**2 - var), 0.0) / max(np.mean(dis**2), 1e-300))


def mix_weight(d: Data) -> float:
    """The weight of ``A`` in ``w A + (1 - w) B`` that best fits the tilts' means, out of
    fold."""
    u, v = d["t_a"] - d["t_b"], d["t_l"] - d["t_b"]
    return float(np.clip(np.sum(u * v) / max(np.sum(u * u), 1e-300), 0, 1))


def parts(d: Data, metric: str) -> tuple[np.ndarray, ...]:
    """A's estimate, B's, the sampling variance, A's jackknife (with ``c``'s spread for the
    squared error), B's jackknife."""
    if metric == "mae":
        return d["a"], d["b"], d["var_mae"], d["jk_a"], d["jk_b"]
    c, c_b = d["meta"][5], d["meta"][6]  # B's squared error with A's square ratio
    return d["sa"], d["sb"] * c / c_b, d["var_mse"], d["jk_a2"] + d["spread"], d["jk_b2"]


def variants() -> dict[str, Variant]:
    def band(jk_a: float, jk_b: float, d2: float) -> Variant:
        """A's estimate; variance: sampling + the jackknives and ``D**2`` so weighted."""
        def f(d: Data, m: str) -> tuple[np.ndarray, np.ndarray]:
            a, b, s, j, jb = parts(d, m)
            return a, s + jk_a * j + jk_b * jb + d2 * (a - b) ** 2
        return f

    def kappa(d: Data, m: str) -> tuple[np.ndarray, np.ndarray]:
        a, b, s, j, _ = parts(d, m)
        return a, s + j + kappa_of(d, m) * (a - b) ** 2

    def larger(d: Data, m: str) -> tuple[np.ndarray, np.ndarray]:
        a, b, s, j, jb = parts(d, m)
        return a, s + np.maximum(j, jb + (a - b) ** 2)

    def mixed(k: float) -> Variant:
        def f(d: Data, m: str) -> tuple[np.ndarray, np.ndarray]:
            a, b, s, j, jb = parts(d, m)
            w = mix_weight(d)
            return w * a + (1 - w) * b, s + w * j + (1 - w) * jb + k * (a - b) ** 2
        return f

    def middle(d: Data, m: str) -> tuple[np.ndarray, np.ndarray]:
        a, b, s, j, jb = parts(d, m)
        return (a + b) / 2, s + (j + jb) / 2 + (a - b) ** 2 / 4

    return {
        "now": band(1, 0, 0), "+D2/2": band(1, 0, 0.5), "+D2 (adopted)": band(1, 0, 1),
        "+kappa D2 (tilts)": kappa, "jkB + D2": band(0, 1, 1), "(jkA+jkB)/2 + D2": band(
            0.5, 0.5, 1), "jkA/2 + D2": band(0.5, 0, 1), "max(jkA, jkB + D2)": larger,
        "mix w (tilts), +0": mixed(0), "mix w (tilts), +D2": mixed(1),
        "mean of A and B, +D2/4": middle}


def evaluate(files: Sequence[str], variant: Variant, metric: str
             ) -> tuple[float, float, float, list[float]]:
    """Coverage, band fit, MAE and MAE per file (seed) of a candidate."""
    covered, n, errs, halves, per_seed = 0, 0, [], [], []
    for f in files:
        d = dict(np.load(f))
        est, var = variant(d, metric)
        sd = np.sqrt(var)
        if metric == "rmse":
            sd, est = sd / (2 * np.sqrt(est)), np.sqrt(est)
        err = est - d[metric]
        covered += int(np.sum(np.abs(err) <= Z * sd))
        n += len(err)
        errs.append(err)
        halves.append(Z * sd)
        per_seed.append(float(np.mean(np.abs(err))))
    e, h = np.concatenate(errs), np.concatenate(halves)
    return covered / n, float(h.mean() / (Z * np.sqrt(np.mean(e**2)))), float(
        np.mean(np.abs(e))), per_seed


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dir")
    parser.add_argument("--tasks", default="regression,laplace,house")
    args = parser.parse_args(argv)
    for name in args.tasks.split(","):
        files = sorted(glob.glob(f"{args.dir}/{name}_*.npz"))
        if not files:
            continue
        for f in files:
            d = dict(np.load(f))
            print(f"{f.rsplit('/', 1)[-1]}: tilts' kappa mae {kappa_of(d, 'mae'):.3g}, rmse "
                  f"{kappa_of(d, 'rmse'):.3g}; mix weight {mix_weight(d):.2f}; tilts' RMS error "
                  f"A {np.sqrt(np.mean((d['t_a'] - d['t_l'])**2)):.4g}, "
                  f"B {np.sqrt(np.mean((d['t_b'] - d['t_l'])**2)):.4g}, "
                  f"disagreement {np.sqrt(np.mean((d['t_a'] - d['t_b'])**2)):.4g}")
        print(f"| {name} | band | mae: covered, fit, MAE (per seed) | rmse: covered, fit, MAE |")
        for label, variant in variants().items():
            cells = []
            for metric in ("mae", "rmse"):
                cov, fit, mae, seeds = evaluate(files, variant, metric)
                cells.append(f"{cov:.1%}, {fit:.2f}, {mae:.4g} "
                             f"({', '.join(f'{s:.4g}' for s in seeds)})")
            print(f"| {name} | {label} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
