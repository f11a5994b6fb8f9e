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
   ``--spark``, the same through Spark on ``local[2]``;
6. (run first) as a user calls them: ``md.evaluate(uri, window, log=False)`` against a profile built
   with ``md.build_profile`` (default bands) and attached to a version in a sqlite store, on
   100k x (20 numerical + 5 categorical + score) side by side with Evidently's
   ``DataDriftPreset``, and on 1M x (50 numerical + score), each also against the speed of
   light (one pass over the window's memory: ``np.sum`` of each column); and
   ``mlflow-decay evaluate --no-log`` on a 1k-row Parquet window in a fresh process against the
   MLflow floor (``MlflowClient(uri).search_registered_models()`` in a fresh process).

Peak memory is what ``tracemalloc`` sees allocated during a run, beyond its inputs (numpy and
pandas report their buffers to it); it is measured on one more run, outside the timings.

Run: ``make bench`` (installs NannyML when missing) or
``.venv/bin/python bench/speed.py [--repeat 3] [--skip-large] [--only-api] [--skip-out-of-core]
[--spark]``
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


# -- through the public API and the CLI, as a user runs them -------------------------------------
def scored(rows: int, numerical: int, categorical: int, seed: int, shift: float) -> pd.DataFrame:
    """:func:`make` with a model's score (and, for a reference, its label)."""
    frame = make(rows, numerical, categorical, seed, shift)
    rng = np.random.default_rng(seed + 100)
    frame["score"] = 1 / (1 + np.exp(-(frame["num_0"] + frame["num_1"] + rng.normal(0, 1, rows))))
    frame["label"] = (rng.random(rows) < frame["score"]).astype(int)
    return frame


def registered(root: Path, name: str, reference: pd.DataFrame) -> tuple[str, str]:
    """A sqlite store in ``root`` with one version of ``name`` (a LoggedModel source) and the
    reference's profile (``md.build_profile``, default bands) attached; its URI and the
    version's ``models:/`` URI."""
    from mlflow import MlflowClient

    uri = f"sqlite:///{root / 'mlflow.db'}"
    before = os.environ.get("MLFLOW_TRACKING_URI")
    os.environ["MLFLOW_TRACKING_URI"] = uri  # MLflow resolves a models:/ source through it
    try:
        client = MlflowClient(uri, uri)
        client.create_registered_model(name)
        experiment = client.create_experiment("models", artifact_location=str(root / "artifacts"))
        model = client.create_logged_model(experiment, name="model")
        version = client.create_model_version(name, source=f"models:/{model.model_id}",
                                              model_id=model.model_id).version
    finally:
        if before is None:
            del os.environ["MLFLOW_TRACKING_URI"]
        else:
            os.environ["MLFLOW_TRACKING_URI"] = before
    model_uri = f"models:/{name}/{version}"
    profile = md.build_profile(reference, target="label", prediction="score")
    md.attach_profile(model_uri, profile, tracking_uri=uri)
    return uri, model_uri


def timed(func: Callable[[], Any], repeat: int) -> tuple[float, float]:
    """Median wall and CPU seconds (all threads) of ``repeat`` runs, after one to warm up."""
    func()
    wall, cpu = [], []
    for _ in range(repeat):
        began, used = time.perf_counter(), time.process_time()
        func()
        wall.append(time.perf_counter() - began)
        cpu.append(time.process_time() - used)
    return statistics.median(wall), statistics.median(cpu)


def speed_of_light(frame: pd.DataFrame, repeat: int) -> float:
    """One pass over a window's memory: ``np.sum`` of each numerical column (median seconds)."""
    arrays = [frame[c].to_numpy() for c in frame.columns if frame[c].dtype.kind in "fiub"]
    return timed(lambda: [np.sum(a) for a in arrays], repeat)[0]


def public_api(repeat: int, skip_large: bool) -> None:
    """The speed rows of issue 15, as a user meets them, in one run."""
    load = os.getloadavg()[0]  # a shared machine: others' work lengthens the wall times
    rows = [_api_100k(max(repeat, 11), repeat)]
    if not skip_large:
        rows.append(_api_1m(max(repeat, 5)))
    rows.append(_cli_no_log(max(repeat, 5)))
    print("\n## Through the public API and the CLI (profile with its default bands); load "
          f"average {load:.1f} before, {os.getloadavg()[0]:.1f} after\n")
    print("| work | mlflow-decay | against | ratio | goal |")
    print("|---|---:|---|---:|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


def _api_window(rows: int, numerical: int, categorical: int, repeat: int
                ) -> tuple[pd.DataFrame, pd.DataFrame, float, float, float]:
    """A reference and a shifted window of generated data, and ``md.evaluate(log=False)`` of the
    window against a version profiled on the reference: reference, window, median wall and CPU
    seconds, and the window's speed of light."""
    reference = scored(rows, numerical, categorical, seed=0, shift=0.0)
    window = scored(rows, numerical, categorical, seed=1, shift=0.3).drop(columns="label")
    with tempfile.TemporaryDirectory() as tmp:
        uri, model = registered(Path(tmp), f"speed-{rows}", reference)
        wall, cpu = timed(lambda: md.evaluate(model, window, log=False, tracking_uri=uri), repeat)
    return reference, window, wall, cpu, speed_of_light(window, repeat)


def _api_100k(repeat: int, others: int) -> tuple[str, ...]:
    reference, window, wall, cpu, light = _api_window(100_000, 20, 5, repeat)
    what = (f"`md.evaluate(uri, window, log=False)`, 100k x (20 num + 5 cat + score), median of "
            f"{repeat}")
    ours = f"{wall:.3f} s (CPU {cpu:.3f} s)"
    try:
        from evidently import Report
        from evidently.presets import DataDriftPreset
    except ImportError as exc:
        return what, ours, f"Evidently not installed ({exc})", "", ">= 200x"
    base = reference[window.columns]
    theirs, their_cpu = timed(lambda: Report([DataDriftPreset()]).run(
        current_data=window, reference_data=base), others)
    # by CPU time too: on a shared machine others' load stretches both wall times unevenly
    return (what, ours, f"Evidently DataDriftPreset {theirs:.2f} s (CPU {their_cpu:.2f} s; median "
            f"of {others}); speed of light {light * 1000:.1f} ms", f"{theirs / wall:.0f}x faster "
            f"(by CPU time {their_cpu / cpu:.0f}x); {wall / light:.0f}x the speed of light",
            ">= 200x")


def _api_1m(repeat: int) -> tuple[str, ...]:
    _, _, wall, cpu, light = _api_window(1_000_000, 50, 0, repeat)
    return (f"`md.evaluate(uri, window, log=False)`, 1M x (50 num + score), median of {repeat}",
            f"{wall:.3f} s (CPU {cpu:.3f} s)", f"speed of light {light * 1000:.1f} ms",
            f"{wall / light:.0f}x the speed of light", "<= 0.5 s")


def _cli_no_log(repeat: int) -> tuple[str, ...]:
    """``mlflow-decay evaluate --no-log`` and the MLflow floor, each in a fresh process,
    alternately (a shared machine's load falls on both alike)."""
    command = shutil.which("mlflow-decay", path=str(Path(sys.executable).parent)) or "mlflow-decay"
    env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"}
    with tempfile.TemporaryDirectory() as tmp:
        uri, model = registered(Path(tmp), "speed-cli", scored(20_000, 20, 5, seed=0, shift=0.0))
        scored(1_000, 20, 5, seed=1, shift=0.3).drop(columns="label").to_parquet(
            Path(tmp) / "window.parquet")
        floor = [sys.executable, "-c", "from mlflow import MlflowClient; "
                 f"MlflowClient({uri!r}).search_registered_models()"]
        ours = [command, "evaluate", model, "--data", str(Path(tmp) / "window.parquet"),
                "--no-log", "--tracking-uri", uri]
        times: dict[str, list[float]] = {"floor": [], "ours": []}
        for _ in range(repeat):
            for key, args in (("floor", floor), ("ours", ours)):
                began = time.perf_counter()
                subprocess.run(args, check=True, capture_output=True, env=env)
                times[key].append(time.perf_counter() - began)
    floor_s, ours_s = statistics.median(times["floor"]), statistics.median(times["ours"])
    return (f"`mlflow-decay evaluate --no-log`, 1k-row Parquet window, fresh process, median of "
            f"{repeat}", f"{ours_s:.2f} s", f"MLflow floor (client + search, fresh process) "
            f"{floor_s:.2f} s", f"+{ours_s - floor_s:.2f} s", "<= +1.0 s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-large", action="store_true", help="skip the 1M-row cases")
    parser.add_argument("--only-api", action="store_true",
                        help="only the public API and CLI section")
    parser.add_argument("--skip-out-of-core", action="store_true",
                        help="skip the 10M-row Parquet case (writes 4 GB to a temporary directory)")
    parser.add_argument("--spark", action="store_true",
                        help="also time the Parquet case through Spark on local[2]")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores; numpy {np.__version__}, pandas {pd.__version__}")
    public_api(args.repeat, args.skip_large)
    if args.only_api:
        return
    window_100k(args.repeat)
    if not args.skip_large:
        window_1m(args.repeat)
    estimation(args.repeat)
    cli_help(args.repeat)
    if not args.skip_out_of_core:
        out_of_core(spark=args.spark)


if __name__ == "__main__":
    main()
