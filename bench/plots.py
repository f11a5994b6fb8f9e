"""Plot benchmark: CPU time of ``plots.plots`` per logged window, now and at a git reference.

Builds a binary model's profile on 5,000 rows of 20 features (14 numerical, 6 categorical) and
evaluates 30 weekly windows drifting away from it (no registry: ``evaluate_window``, the policy's
decision, a report as :mod:`mlflow_decay.recording` makes it). Then times, as the median of
``--repeat`` runs, ``plots.plots`` on the last window with the 30 windows as its series (what a
window logged by a monitor draws), and each plot file alone. With ``--baseline REF`` (default
``main``) the same measurement runs in a fresh process on the package as it is at the git
reference ``REF``, and both are printed.

Run: ``.venv/bin/python bench/plots.py [--repeat 15] [--baseline main] [--out DIR]``
(``--out`` writes this checkout's PNGs to DIR and the baseline's to DIR-base;
``--baseline ''`` times this checkout only).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
NUMERIC, CATEGORICAL, WINDOWS = 14, 6, 30


def table(rows: int, seed: int, shift: float) -> pd.DataFrame:
    """Features, a score and labels; ``shift`` moves two numerical features and two
    categorical ones."""
    rng = np.random.default_rng(seed)
    cols: dict[str, Any] = {}
    for i in range(CATEGORICAL):
        cats = [f"cat{i}_{c}" for c in "abcdefghij"[: 4 + i]]
        p = np.linspace(1, 1 + 30 * shift * (i < 2), len(cats))
        cols[f"category_{i}"] = rng.choice(cats, rows, p=p / p.sum())
    for i in range(NUMERIC):
        moved = shift if i < 2 else 0.0
        cols[f"num_{i:02d}_{'amount' if i % 2 else 'duration'}"] = rng.normal(moved, 1 + i / 10, rows)
    frame = pd.DataFrame(cols)
    logit = frame["num_00_duration"] - 0.5 * frame["num_01_amount"] + (frame["category_0"] == "cat0_a")
    frame["score"] = 1 / (1 + np.exp(-logit))
    frame["label"] = (rng.random(rows) < frame["score"]).astype(int)
    return frame


def inputs() -> tuple[Any, ...]:
    """The last window's report, profile, stats, policy and the 30 windows' series."""
    import mlflow_decay as md
    from mlflow_decay.core.evaluation import evaluate_window
    from mlflow_decay.core.policy_file import DEFAULT_POLICY
    from mlflow_decay.core.report import DecayReport

    profile = md.build_profile(table(5000, 1, 0.0), target="label", prediction="score")
    days = pd.date_range("2026-01-05", periods=WINDOWS + 1, freq="7D").strftime("%Y-%m-%d")
    series: list[dict[str, Any]] = []
    for i in range(WINDOWS):
        result = evaluate_window(profile, table(2000, 10 + i, 1.5 * i / WINDOWS), DEFAULT_POLICY)
        status, breaches = DEFAULT_POLICY.decide(result.metrics, profile.bands, result.rows)
        series.append({"status": status, "metrics": result.metrics, "key": f"k{i}",
                       "start": days[i], "end": days[i + 1]})
    report = DecayReport(model_uri="models:/churn/1", model_name="churn", model_version="1",
                         status=status, window_status=status, previous_status=status,
                         reasons=[str(b) for b in breaches], metrics=result.metrics,
                         rows=result.rows, window_start=days[-2], window_end=days[-1],
                         drifted_features=result.drifted_features,
                         feature_keys=profile.metric_keys)
    return report, profile, result.stats, DEFAULT_POLICY, series


def cpu(call: Any, repeat: int) -> float:
    """Median process CPU seconds of ``call()`` (a collection first, outside the timing)."""
    times = []
    for _ in range(repeat):
        gc.collect()
        start = time.process_time()
        call()
        times.append(time.process_time() - start)
    return statistics.median(times)


def measure(repeat: int, out: str | None) -> dict[str, Any]:
    """Median CPU of ``plots.plots`` and of each of its files, with the files' sizes."""
    try:
        from mlflow_decay import plots as render
    except ImportError:  # a git reference from before plots.py left render.py
        from mlflow_decay import render  # type: ignore[no-redef]
    from mlflow_decay.core.panels import timeline

    report, profile, stats, policy, series = inputs()
    images = render.plots(report, profile, stats, policy, series)  # warm: imports, font cache
    result: dict[str, Any] = {"plots": cpu(lambda: render.plots(report, profile, stats, policy,
                                                                  series), repeat)}
    _, breaches = policy.decide(report.metrics, profile.bands, report.rows)
    data = timeline(series, policy, profile, breaches)
    parts = {"drift.png": lambda: render._drift_bars(report, profile, policy),
             "series.png": lambda: render._series(data)}
    for name in render._distribution_features(report, profile, policy):
        parts[render._distribution_file(profile.metric_keys[name])] = (
            lambda name=name: render._distribution(name, profile, stats.features[name]))
    with render._collector_paused():
        result["files"] = {file: cpu(call, repeat) for file, call in parts.items()}
    result["bytes"] = {file: len(png) for file, png in images.items()}
    if out:
        Path(out).mkdir(parents=True, exist_ok=True)
        for file, png in images.items():
            (Path(out) / file).write_bytes(png)
    return result


def baseline(ref: str, repeat: int, out: str | None) -> dict[str, Any]:
    """:func:`measure` in a fresh process on the package as it is at git reference ``ref``."""
    with tempfile.TemporaryDirectory() as tmp:
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", ref, "mlflow_decay"],
                                 check=True, capture_output=True).stdout
        with tarfile.open(fileobj=__import__("io").BytesIO(archive)) as tar:
            tar.extractall(tmp, filter="data")
        env = {**os.environ, "PYTHONPATH": tmp, "MLFLOW_DISABLE_TELEMETRY": "true"}
        args = [sys.executable, __file__, "--repeat", str(repeat), "--baseline", "", "--json"]
        done = subprocess.run(args + (["--out", out] if out else []), env=env, check=True,
                              capture_output=True, text=True)
    return json.loads(done.stdout.splitlines()[-1])


def show(label: str, result: dict[str, Any]) -> None:
    print(f"{label}: plots {result['plots'] * 1000:.0f} ms CPU (median)")
    for file, seconds in result["files"].items():
        print(f"  {file:<28} {seconds * 1000:6.1f} ms  {result['bytes'].get(file, 0) / 1024:6.1f} KiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--baseline", default="main", help="git reference to compare with")
    parser.add_argument("--out", help="write this checkout's PNGs here (the baseline's: DIR-base)")
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.json:  # the baseline's process: its package comes first on PYTHONPATH
        print(json.dumps(measure(args.repeat, args.out)))
        return
    sys.path.insert(0, str(ROOT))  # this checkout's package, whatever is installed
    if args.baseline:
        before = baseline(args.baseline, args.repeat, args.out and f"{args.out}-base")
        show(f"before ({args.baseline})", before)
    now = measure(args.repeat, args.out)
    show("now", now)
    if args.baseline:
        print(f"speed-up: {before['plots'] / now['plots']:.2f}x")


if __name__ == "__main__":
    main()
