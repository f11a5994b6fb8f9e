"""A structural-uncertainty term for the regression bands (issue 13), measured: a second,
structurally different loss model (near-additive trees) fitted on the reference, and how far
its window mean is from the chosen model's.

Per task and cross-validation seed: the profile of ``bench/coverage.py`` (its loss model ``A``),
a second model ``B`` (``--leaves`` leaves, ``--iterations`` iterations; by default the
estimator's own alternative, ``loss_fit.ALTERNATIVE``) fitted on the same reference rows, with
its own four jackknife copies, and

- on the reference, out of fold (the capacity search's 3 folds and rows): each of 200 random
  covariate shifts' (``loss_fit.tilts``) weighted mean of ``A``, of ``B`` and of the loss, and
  that mean's sampling variance;
- on every window of the task's cuts: ``A``'s estimate and its band's terms (sampling,
  jackknife, ``c``'s spread), ``B``'s mean absolute and squared error, and the realized values.

Everything is written to ``--out`` (``.npz``, no pickle) for ``bench/structural_report.py``.
Run with the NannyML venv (see ``estimation.py``)::

    python bench/structural.py [--tasks laplace,house,regression] [--seeds 0,1,2] --out DIR
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence

import numpy as np

sys.path.insert(0, __file__.rsplit("/", 1)[0])
import coverage as C
import generated as G

import mlflow_decay as md
from mlflow_decay.core.frames import loss_inputs
from mlflow_decay.stats import loss_fit
from mlflow_decay.stats.loss import FOLD_ROWS, LossModel

Z = 1.959963984540054


def reference_rows(task: C.Task, model: LossModel) -> tuple[np.ndarray, np.ndarray]:
    ref = task.reference
    error = (ref[task.options["target"]].to_numpy(float)
             - ref[task.options["prediction"]].to_numpy(float))
    keep = np.isfinite(error)
    return loss_inputs(ref, [model])[keep], error[keep]


def oof(x: np.ndarray, loss: np.ndarray, cap: loss_fit.Capacity, categorical: np.ndarray,
        seed: int) -> np.ndarray:
    fold = np.arange(len(loss)) % loss_fit.FOLDS
    out = np.empty(len(loss))

    def fit(k: int) -> np.ndarray:
        m = loss_fit.regressor(cap, categorical, seed).fit(x[fold != k], loss[fold != k])
        return m.predict(x[fold == k])

    jobs = [lambda k=k: fit(k) for k in range(loss_fit.FOLDS)]
    for k, p in enumerate(loss_fit.run_fits(jobs, rows=len(loss))):
        out[fold == k] = p
    return out


def run(name: str, seed: int, tilted: int, b_cap: loss_fit.Capacity, out: str,
        data_seed: int = 0) -> None:
    if data_seed:  # a new draw of the generated set (reference, pool and its linear model)
        make = getattr(G, name)
        setattr(G, name, lambda _seed: make(data_seed))
        try:
            task = C.regression_task(name, tilted, False)
        finally:
            setattr(G, name, make)
        name = f"{name}{data_seed}"
    else:
        task = C.regression_task(name, tilted, False)
    with C.E.quiet(), C.seeded(seed):
        profile = md.build_profile(task.reference, band_chunks=0, **task.options)
    (a_model,) = profile.loss_models
    x, error = reference_rows(task, a_model)
    loss, cat = np.abs(error), a_model.categorical
    began = time.perf_counter()
    group = np.random.default_rng(seed + 1).permutation(len(error)) % loss_fit.JACKKNIFE
    keeps = [np.ones(len(error), bool), *(group != k for k in range(loss_fit.JACKKNIFE))]
    fitted = loss_fit.run_fits([lambda keep=keep: loss_fit.regressor(b_cap, cat, seed).fit(
        x[keep], loss[keep]) for keep in keeps], rows=len(loss))
    b_model = loss_fit.export(fitted[0], a_model.columns, a_model.categories)
    b_folds = tuple((m.baseline, m.trees) for m in (
        loss_fit.export(f, a_model.columns, a_model.categories) for f in fitted[1:]))
    b_model = LossModel(b_model.columns, b_model.baseline, b_model.trees, link="log",
                        categories=b_model.categories, ceiling=a_model.ceiling, folds=b_folds)
    b_time = time.perf_counter() - began
    # reference, out of fold, over the capacity search's kind of shifts
    rows = loss_fit.cv_rows(len(loss), seed)
    xr, lr, er = x[rows], loss[rows], error[rows]
    a_cap, a_oof = loss_fit.choose_capacity(xr, lr, cat, seed=seed)
    b_oof = oof(xr, lr, b_cap, cat, seed)
    b_ratio = loss_fit.square_fields(er, b_oof, np.ones((1, len(er))) / len(er))[0]
    w = loss_fit.tilts(xr, cat, seed + 2)
    ref_part = {"t_a": w @ a_oof, "t_b": w @ b_oof, "t_l": w @ lr,
                "t_var": (w**2) @ (lr - a_oof) ** 2,
                "t_sa": w @ (a_model.square_ratio * a_oof**2), "t_sb": w @ (b_ratio * b_oof**2),
                "t_s": w @ er**2,
                "oof_a": np.array([np.mean((a_oof - lr) ** 2)]),
                "oof_b": np.array([np.mean((b_oof - lr) ** 2)])}
    # windows
    recs: dict[str, list[float]] = {}
    labels = []
    c = a_model.square_ratio
    for cut in task.cuts(seed):
        for w_frame, r_mae, r_rmse in zip(cut.windows, cut.realized["mae"],
                                          cut.realized["rmse"], strict=True):
            xw = np.ascontiguousarray(loss_inputs(w_frame, [a_model]), dtype=np.float64)
            n = len(xw)
            a = np.clip(a_model.predict(xw), 0, None)
            b = np.clip(b_model.predict(xw), 0, None)
            sub = xw[np.linspace(0, n - 1, min(n, FOLD_ROWS)).astype(np.int64)]
            fa = np.clip(a_model.predict_folds(sub), 0, None)
            fb = np.clip(b_model.predict_folds(sub), 0, None)
            s = c * a**2
            vals = {
                "mae": r_mae, "rmse": r_rmse, "a": a.mean(), "b": b.mean(),
                "sa": s.mean(), "sb": (b_ratio * b**2).mean(),
                "a_sub": np.clip(a_model.predict(sub), 0, None).mean(),
                "b_sub": np.clip(b_model.predict(sub), 0, None).mean(),
                "var_mae": np.clip(s - a**2, 0, None).mean() / n,
                "var_mse": a_model.dispersion * np.mean(s**2) / n,
                "jk_a": jk(fa), "jk_a2": jk(c * fa**2), "jk_b": jk(fb), "jk_b2": jk(b_ratio * fb**2),
                "spread": (a_model.ratio_spread * s.mean()) ** 2,
                "var_mae_b": np.clip((b_ratio - 1) * b**2, 0, None).mean() / n,
                "var_mse_b": a_model.dispersion * np.mean((b_ratio * b**2) ** 2) / n}
            for k, v in vals.items():
                recs.setdefault(k, []).append(float(v))
            labels.append(cut.label)
    np.savez(f"{out}/{name}_{seed}.npz", labels=np.array(labels),
             **{k: np.array(v) for k, v in recs.items()}, **ref_part,
             meta=np.array([b_time, len(loss), a_cap.leaves, a_cap.learning_rate,
                            a_cap.iterations, c, b_ratio]))
    print(f"{name} seed {seed}: A {a_cap}, B fit (5 models) {b_time:.1f} s on {len(loss)} rows, "
          f"c {c:.3f} | {b_ratio:.3f}", flush=True)


def jk(folds: np.ndarray) -> float:
    k = len(folds)
    means = folds.mean(axis=1)
    return float((k - 1) / k * np.sum((means - means.mean()) ** 2))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", default="laplace,house,regression")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--tilted", type=int, default=100)
    alternative = loss_fit.ALTERNATIVE  # the estimator's, by default
    parser.add_argument("--leaves", type=int, default=alternative.leaves)
    parser.add_argument("--rate", type=float, default=alternative.learning_rate)
    parser.add_argument("--iterations", type=int, default=alternative.iterations)
    parser.add_argument("--data-seed", type=int, default=0,
                        help="draw the generated sets anew with this seed (default 0: as in "
                             "coverage.py)")
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    cap = loss_fit.Capacity(args.leaves, args.rate, args.iterations)
    for name in args.tasks.split(","):
        for seed in (int(s) for s in args.seeds.split(",")):
            run(name.strip(), seed, args.tilted, cap, args.out, args.data_seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
