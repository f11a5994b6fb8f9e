"""Speed benchmark: mlflow-decay vs Evidently on the same data, in one process.

Generates a reference and a current window (fixed seed; numerical and categorical columns),
then times, median of ``--repeat`` runs each:
- mlflow-decay: evaluating the window against a stored profile (`evaluate_window`), and building
  the profile (with and without reference bands);
- Evidently: ``Report([DataDriftPreset()]).run(current_data, reference_data)`` on the raw tables;
- NannyML's univariate drift, if it is installed.
Printed: a table of rows, columns, median seconds, peak traced memory, and the ratios.

Run: ``make bench`` or ``.venv/bin/python bench/speed.py [--rows 100000] [--repeat 3]``
"""

from __future__ import annotations

import argparse
import statistics
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

import mlflow_decay as md
from mlflow_decay.evaluation import evaluate_window


def make(rows: int, numerical: int, categorical: int, seed: int, shift: float) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    data: dict[str, Any] = {f"num_{i}": rng.normal(shift * (i % 3 == 0), 1 + 0.1 * i, rows)
                            for i in range(numerical)}
    for i in range(categorical):
        data[f"cat_{i}"] = rng.choice([f"v{k}" for k in range(8)], rows)
    return pd.DataFrame(data)


def measure(func: Callable[[], Any], repeat: int) -> tuple[float, float]:
    """Median seconds of untraced runs, and the peak traced memory (MB) of one more run
    (tracing slows Python-heavy code, so it is kept out of the timings)."""
    seconds = []
    for _ in range(repeat):
        began = time.perf_counter()
        func()
        seconds.append(time.perf_counter() - began)
    tracemalloc.start()
    func()
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return statistics.median(seconds), peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--numerical", type=int, default=20)
    parser.add_argument("--categorical", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    reference = make(args.rows, args.numerical, args.categorical, seed=0, shift=0.0)
    current = make(args.rows, args.numerical, args.categorical, seed=1, shift=0.3)
    cols = args.numerical + args.categorical
    results: list[tuple[str, float, float]] = []

    profile = md.build_profile(reference, band_chunks=0)
    results.append(("mlflow-decay evaluate (stored profile)",
                    *measure(lambda: evaluate_window(profile, current), args.repeat)))
    results.append(("mlflow-decay build profile, no bands",
                    *measure(lambda: md.build_profile(reference, band_chunks=0), args.repeat)))
    results.append(("mlflow-decay build profile, 10 bands",
                    *measure(lambda: md.build_profile(reference), args.repeat)))
    try:
        from evidently import Report
        from evidently.presets import DataDriftPreset

        results.append(("Evidently DataDriftPreset Report.run", *measure(
            lambda: Report([DataDriftPreset()]).run(current_data=current,
                                                    reference_data=reference), args.repeat)))
    except ImportError as exc:
        print(f"Evidently not installed ({exc}); pip install evidently")
    try:
        import nannyml

        def nanny() -> None:
            calc = nannyml.UnivariateDriftCalculator(column_names=list(reference.columns),
                                                     chunk_number=1)
            calc.fit(reference)
            calc.calculate(current)

        results.append(("NannyML univariate drift", *measure(nanny, args.repeat)))
    except ImportError:
        print("NannyML not installed: skipped")

    ours = results[0][1]
    print(f"\n{args.rows:,} rows x {cols} columns ({args.numerical} numerical, "
          f"{args.categorical} categorical); median of {args.repeat}\n")
    print("| what | seconds | peak MB | vs mlflow-decay evaluate |")
    print("|---|---:|---:|---:|")
    for name, seconds, peak in results:
        ratio = "1x" if name == results[0][0] else f"{seconds / ours:.0f}x slower"
        print(f"| {name} | {seconds:.3f} | {peak:.0f} | {ratio} |")


if __name__ == "__main__":
    main()
