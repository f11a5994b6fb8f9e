"""False-alarm benchmark: windows drawn from the reference distribution should stay healthy.

A churn model's reference profile (100k rows) is evaluated, under the default policy, against
windows of 100k rows drawn from the same distribution with fixed seeds. Printed: how many
windows were judged degraded (target: at most 1%) or warning, and the metrics behind them.

Run: ``.venv/bin/python bench/false_alarms.py [--windows 50] [--rows 100000]``
"""

from __future__ import annotations

import argparse
import collections
import time

import mlflow_decay as md
from mlflow_decay import demo
from mlflow_decay.core.evaluation import evaluate_window
from mlflow_decay.core.policy_file import DEFAULT_POLICY


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--windows", type=int, default=50)
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    model = demo.train_model(demo.make_data(40_000, 0.0, seed=1))
    reference = demo.make_data(args.rows, 0.0, seed=2)
    reference["churn_score"] = demo.scores(model, reference)
    profile = md.build_profile(reference, target="churned", prediction="churn_score",
                               categorical=demo.CATEGORICAL, numerical=demo.NUMERICAL)
    verdicts: collections.Counter[str] = collections.Counter()
    reasons: collections.Counter[str] = collections.Counter()
    began = time.perf_counter()
    for seed in range(args.windows):
        window = demo.make_data(args.rows, 0.0, seed=10_000 + seed).drop(columns="churned")
        window["churn_score"] = demo.scores(model, window)
        result = evaluate_window(profile, window)
        status, breaches = DEFAULT_POLICY.decide(result.metrics, profile.bands, result.rows)
        verdicts[status] += 1
        reasons.update(b.metric for b in breaches)
    seconds = time.perf_counter() - began
    n = args.windows
    print(f"{n} windows of {args.rows:,} rows from the reference distribution "
          f"({seconds / n:.2f} s per window):")
    for status in ("healthy", "warning", "degraded"):
        print(f"  {status:<9}{verdicts[status]:>4}  ({100 * verdicts[status] / n:.1f}%)")
    if reasons:
        print("  breaches: " + ", ".join(f"{k} x{v}" for k, v in reasons.most_common()))


if __name__ == "__main__":
    main()
