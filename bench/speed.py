"""Speed benchmark: mlflow-decay vs Evidently and NannyML on the same data, in one process.

Generates tables with a fixed seed (numerical columns with a shift in a third of them, and
categorical columns of 8 values) and times, as the median of ``--repeat`` runs:

1. a 100k-row window of 20 numerical + 5 categorical features: mlflow-decay evaluating it against
   a stored profile (`evaluate_window`), Evidently's ``Report([DataDriftPreset()]).run`` on the
   raw reference and window, and NannyML's ``UnivariateDriftCalculator`` (if installed);
2. a 1M-row window of 40 numerical + 10 categorical features: evaluating it (wall time, and peak
   memory against the window's own size), building the profile of a 1M x 50 reference, and
   evaluating the same window read in batches from Parquet files;
3. label-free performance estimation (binary CBPE with bands) on 100k scores;
4. ``mlflow-decay --help`` in a fresh process;
5. out of core (``bench/out_of_core.py``): a 10M-row x 50-column Parquet directory (4 GB, in a
   temporary directory) profiled and evaluated through ``md.build_profile(path)`` and
   ``md.evaluate(uri, path, log=False)``, rows/s and peak RSS of a fresh process each; with
   ``--spark``, the same through Spark on ``local[2]``.

Peak memory is what ``tracemalloc`` sees allocated during a run, beyond its inputs (numpy and
pandas report their buffers to it); it is measured on one more run, outside the timings.

Run: ``make bench`` (installs NannyML when missing) or
``.venv/bin/python bench/speed.py [--repeat 3] [--skip-large] [--skip-out-of-core] [--spark]``
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

os.environ.setdefault("NML_DISABLE_USAGE_LOGGING", "1")  # NannyML's usage analytics: off
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")  # importing NannyML starts a local Spark

from out_of_core import out_of_core  # bench/ is on the path when this file runs as a script

import mlflow_decay as md
from mlflow_decay.core.evaluation import evaluate_window
from mlflow_decay.engines.dispatch import evaluate_source
from mlflow_decay.engines.parquet import BATCH_ROWS
from mlflow_decay.stats import estimate


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


def table(rows: list[tuple[str, float, float]], baseline: float) -> None:
    print("| what | seconds | peak MB | vs mlflow-decay evaluate |")
    print("|---|---:|---:|---:|")
    for i, (name, seconds, peak) in enumerate(rows):
        ratio = "1x" if i == 0 else f"{seconds / baseline:.0f}x slower"
        print(f"| {name} | {seconds:.3f} | {peak:.0f} | {ratio} |")


def window_100k(repeat: int) -> None:
    reference = make(100_000, 20, 5, seed=0, shift=0.0)
    current = make(100_000, 20, 5, seed=1, shift=0.3)
    profile = md.build_profile(reference, band_chunks=0)
    # runs of a tenth of a second are noisy on a shared machine: more of them for the median
    results = [("mlflow-decay evaluate (stored profile)",
                *measure(lambda: evaluate_window(profile, current), max(repeat, 11)))]
    try:
        from evidently import Report
        from evidently.presets import DataDriftPreset

        results.append(("Evidently DataDriftPreset Report.run", *measure(
            lambda: Report([DataDriftPreset()]).run(current_data=current, reference_data=reference),
            repeat)))
    except ImportError as exc:
        print(f"Evidently not installed ({exc}); pip install evidently")
    try:
        import nannyml

        def nanny() -> None:
            calc = nannyml.UnivariateDriftCalculator(column_names=list(reference.columns),
                                                     chunk_number=1)
            calc.fit(reference)
            calc.calculate(current)

        results.append(("NannyML UnivariateDriftCalculator fit+calculate", *measure(nanny, repeat)))
    except ImportError:
        print("NannyML not installed: skipped (make bench installs it)")
    print("\n## 100,000 rows x 25 columns (20 numerical, 5 categorical), median of "
          f"{repeat} (mlflow-decay: of {max(repeat, 11)})\n")
    table(results, results[0][1])


def window_1m(repeat: int) -> None:
    reference = make(1_000_000, 40, 10, seed=0, shift=0.0)
    current = make(1_000_000, 40, 10, seed=1, shift=0.3)
    window_mb = current.memory_usage(deep=True).sum() / 2**20
    profile = md.build_profile(reference, band_chunks=0)
    seconds, peak = measure(lambda: evaluate_window(profile, current), repeat)
    no_bands = measure(lambda: md.build_profile(reference, band_chunks=0), repeat)
    with_bands = measure(lambda: md.build_profile(reference), repeat)
    size = len(md.build_profile(reference).to_json())
    print(f"\n## 1,000,000 rows x 50 columns (40 numerical, 10 categorical), median of {repeat}\n")
    print("| what | seconds | peak MB beyond inputs | note |")
    print("|---|---:|---:|---|")
    print(f"| evaluate a window (stored profile) | {seconds:.3f} | {peak:.0f} | window itself "
          f"{window_mb:.0f} MB: peak = {(window_mb + peak) / window_mb:.2f}x the window |")
    print(f"| build the profile, no bands | {no_bands[0]:.3f} | {no_bands[1]:.0f} | |")
    print(f"| build the profile, 10 bands (default) | {with_bands[0]:.3f} | {with_bands[1]:.0f} | "
          f"{size / 1024:.0f} KB, {size / 50 / 1024:.1f} KB per column |")
    with tempfile.TemporaryDirectory() as tmp:  # the same window as 8 Parquet files, streamed
        for i, part in enumerate(np.array_split(np.arange(len(current)), 8)):
            current.iloc[part].to_parquet(Path(tmp) / f"part-{i}.parquet")
        seconds, peak = measure(lambda: evaluate_source(profile, tmp), repeat)
        print(f"| evaluate the window from 8 Parquet files, in batches | {seconds:.3f} | {peak:.0f} "
              f"| read and counted {BATCH_ROWS:,} rows at a time |")


def estimation(repeat: int) -> None:
    rng = np.random.default_rng(0)
    n = 100_000
    x = rng.normal(size=(n, 3))
    logit = x @ np.array([1.0, -0.5, 0.3])
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    score = 1 / (1 + np.exp(-(0.8 * logit + rng.normal(0, 0.3, n))))
    frame = pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "c": x[:, 2], "y": y, "p": score})
    profile = md.build_profile(frame, target="y", prediction="p", band_chunks=0)
    window = 1 / (1 + np.exp(-(0.8 * (logit + 0.5) + rng.normal(0, 0.3, n))))
    seconds, peak = measure(
        lambda: estimate.estimated_metrics("binary", window, profile.calibrations), repeat)
    print("\n## Label-free estimation (binary CBPE, 6 metrics with 95% bands), 100,000 rows\n")
    print(f"| estimate | {seconds:.3f} s | {peak:.0f} MB |\n|---|---:|---:|")


def cli_help(repeat: int) -> None:
    command = shutil.which("mlflow-decay", path=str(Path(sys.executable).parent)) or "mlflow-decay"
    seconds = []
    for _ in range(repeat):
        began = time.perf_counter()
        subprocess.run([command, "--help"], check=True, capture_output=True)
        seconds.append(time.perf_counter() - began)
    print(f"\n## `mlflow-decay --help` in a fresh process: {statistics.median(seconds):.2f} s "
          f"(median of {repeat})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-large", action="store_true", help="skip the 1M-row case")
    parser.add_argument("--skip-out-of-core", action="store_true",
                        help="skip the 10M-row Parquet case (writes 4 GB to a temporary directory)")
    parser.add_argument("--spark", action="store_true",
                        help="also time the Parquet case through Spark on local[2]")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores; numpy {np.__version__}, pandas {pd.__version__}")
    window_100k(args.repeat)
    if not args.skip_large:
        window_1m(args.repeat)
    estimation(args.repeat)
    cli_help(args.repeat)
    if not args.skip_out_of_core:
        out_of_core(spark=args.spark)


if __name__ == "__main__":
    main()
