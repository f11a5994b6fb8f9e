"""Label-free estimation benchmark on real data: scikit-learn's bundled digits.

Task: is a handwritten digit a 3, 5 or 8 (the look-alikes)? A logistic regression is trained
on one half of the bundled digits; the other half is the reference (profile with labels) and
the pool production windows are drawn from. Covariate shift is induced by resampling the pool
with weights that grow with the ink in the image's top half (a writer who presses harder,
a scanner that darkens), so windows see a different mix of digits and styles, the model's
realized AUC moves, and the labels are hidden from the estimator. Printed: per window the
shift, realized AUC, estimated AUC with band; then the mean absolute error.

Run: ``.venv/bin/python bench/estimation.py [--windows 30] [--rows 10000]``
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

import mlflow_decay as md
from mlflow_decay.core.evaluation import evaluate_window


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--windows", type=int, default=30)
    parser.add_argument("--rows", type=int, default=10_000)
    args = parser.parse_args()

    digits = load_digits()
    x = pd.DataFrame(digits.data, columns=[f"px{i}" for i in range(64)])
    y = np.isin(digits.target, [3, 5, 8]).astype(int)
    x_train, x_pool, y_train, y_pool = train_test_split(x, y, test_size=0.5, random_state=0,
                                                        stratify=y)
    model = LogisticRegression(C=0.002, max_iter=5000).fit(x_train, y_train)
    pool = x_pool.assign(score=model.predict_proba(x_pool)[:, 1], label=y_pool)
    pool = pool.reset_index(drop=True)
    profile = md.build_profile(pool, target="label", prediction="score",
                               numerical=list(x.columns))
    ink = pool[[f"px{i}" for i in range(32)]].sum(axis=1).to_numpy()
    ink = (ink - ink.mean()) / ink.std()
    rng = np.random.default_rng(0)

    print(f"digits: {len(x_train)} training rows, {len(pool)} reference/pool rows; reference "
          f"AUC {profile.performance['roc_auc']:.3f}; calibration "
          f"{'isotonic/beta map' if profile.calibrations[0].x else 'raw scores'}\n")
    print("| window | shift | realized AUC | estimated AUC [95% band] | error |")
    print("|---:|---:|---:|---|---:|")
    errors, covered, seconds = [], 0, []
    for w in range(args.windows):
        shift = 1.5 * w / max(args.windows - 1, 1)
        weights = np.exp(shift * ink)
        rows = rng.choice(len(pool), size=args.rows, p=weights / weights.sum())
        window = pool.iloc[rows]
        began = time.perf_counter()
        metrics = evaluate_window(profile, window.drop(columns="label")).metrics
        seconds.append(time.perf_counter() - began)
        realized = roc_auc_score(window.label, window.score)
        est = metrics["est.roc_auc"]
        errors.append(est - realized)
        covered += metrics["est.roc_auc.lower"] <= realized <= metrics["est.roc_auc.upper"]
        print(f"| {w + 1} | {shift:.2f} | {realized:.4f} | {est:.4f} "
              f"[{metrics['est.roc_auc.lower']:.4f}, {metrics['est.roc_auc.upper']:.4f}] | "
              f"{est - realized:+.4f} |")
    errors_arr = np.asarray(errors)
    print(f"\nmean absolute error {np.mean(np.abs(errors_arr)):.4f}, bias "
          f"{np.mean(errors_arr):+.4f}, band holds realized AUC in {covered}/{args.windows} "
          f"windows; evaluation median {np.median(seconds) * 1000:.0f} ms per window")


if __name__ == "__main__":
    main()
