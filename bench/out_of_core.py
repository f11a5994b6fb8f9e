"""Out-of-core benchmark: a Parquet directory far larger than the memory it may use.

Writes ``--rows`` rows (default 10M) x 50 float64 columns (48 features, a score ``p`` and a label
``y``) as files of 1M rows (one row group each: 400 MB a file, 4 GB in all) to a temporary
directory, then, each in a fresh process whose peak RSS (``VmHWM``) is reported:

1. ``md.build_profile(path, target="y", prediction="p")`` (two passes, 10 band chunks);
2. ``md.evaluate(uri, path, log=False)`` of the same directory against that profile, attached to
   a version in a temporary sqlite store (the process imports MLflow, as a user's does);
3. with ``--spark`` (and PySpark installed), ``md.evaluate(uri, spark_df, log=False)`` and
   ``md.build_profile(spark_df, ...)`` on ``local[2]`` reading the same files
   (``--spark-rows`` of them, all by default).

The directory is deleted afterwards. Run alone: ``.venv/bin/python bench/out_of_core.py``, or as
part of ``bench/speed.py`` (``--skip-out-of-core`` leaves it out).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

FILE_ROWS = 1_000_000
FEATURES = 48

# The peak RSS (MB) of the process's own memory: Linux carries the parent's peak into
# ``ru_maxrss`` across exec, so a child of this (large) process would report the parent's.
_PEAK = """
def peak():
    return next(int(line.split()[1]) for line in open("/proc/self/status")
                if line.startswith("VmHWM:")) / 1024
"""

# Each script prints one JSON line: the peak RSS (MB), wall and CPU seconds of the call, rows.
_PROFILE = _PEAK + """
import json, sys, time
import mlflow_decay as md

wall, cpu = time.perf_counter(), time.process_time()
profile = md.build_profile(sys.argv[1], target="y", prediction="p")
wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
open(sys.argv[2], "wb").write(profile.to_json())
print(json.dumps({"rss": peak(),
                  "wall": wall, "cpu": cpu, "rows": profile.rows}))
"""

_EVALUATE = _PEAK + """
import json, sys, time
import mlflow_decay as md
from mlflow_decay import monitoring  # noqa: F401 (MLflow imported before the clock starts)

wall, cpu = time.perf_counter(), time.process_time()
report = md.evaluate(sys.argv[1], sys.argv[2], log=False, tracking_uri=sys.argv[3])
wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
print(json.dumps({"rss": peak(),
                  "wall": wall, "cpu": cpu, "rows": report.rows}))
"""

_SPARK = """
import json, os, sys, time
from pathlib import Path
os.environ["PYSPARK_PYTHON"] = sys.executable
from pyspark.sql import SparkSession
import mlflow_decay as md

spark = (SparkSession.builder.master("local[2]").appName("mlflow-decay-bench")
         .config("spark.ui.enabled", "false").config("spark.driver.bindAddress", "127.0.0.1")
         .config("spark.driver.host", "127.0.0.1").config("spark.driver.memory", "2g")
         .getOrCreate())
spark.sparkContext.setLogLevel("ERROR")
files = sorted(str(p) for p in Path(sys.argv[2]).glob("*.parquet"))
frame = spark.read.parquet(*files[:int(sys.argv[4])])
rows = frame.count()  # the files' metadata read, the JVM warmed up
out = {"partitions": frame.rdd.getNumPartitions()}
for name, call in [
        ("evaluate", lambda: md.evaluate(sys.argv[1], frame, log=False, tracking_uri=sys.argv[3])),
        ("profile", lambda: md.build_profile(frame, target="y", prediction="p")),
        ("scan", lambda: frame.selectExpr(*[f"sum({c})" for c in frame.columns]).collect())]:
    wall = time.perf_counter()
    call()
    out[name] = time.perf_counter() - wall
spark.stop()
print(json.dumps({**out, "rows": rows}))
"""


def _child(script: str, *args: object) -> dict[str, Any]:
    """Run ``script`` in a fresh interpreter; its last output line, as JSON."""
    proc = subprocess.run([sys.executable, "-c", script, *map(str, args)], capture_output=True,
                          text=True, check=False,
                          env={**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"})
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-2000:])
    return dict(json.loads(proc.stdout.splitlines()[-1]))


def write_dataset(directory: Path, rows: int) -> None:
    """``rows`` rows as Parquet files of ``FILE_ROWS`` rows (pyarrow's defaults: one row group
    each, dictionary-then-plain encoding, snappy); a third of the features drift from file to
    file."""
    directory.mkdir()
    for i, start in enumerate(range(0, rows, FILE_ROWS)):
        n = min(FILE_ROWS, rows - start)
        rng = np.random.default_rng(i)
        values = rng.normal(size=(n, FEATURES))
        values[:, ::3] += 0.3 * start / rows  # drifts along the files
        frame = pd.DataFrame(values, columns=[f"num_{j}" for j in range(FEATURES)])
        frame["p"] = rng.random(n)
        frame["y"] = (rng.random(n) < frame["p"]).astype("int64")
        frame.to_parquet(directory / f"part-{i:04d}.parquet", index=False)
        del frame, values


def _registered(tmp: Path, profile_file: Path) -> tuple[str, str]:
    """A version in a new sqlite store with the profile in ``profile_file``: (URI, store)."""
    from mlflow import MlflowClient

    import mlflow_decay as md

    store = f"sqlite:///{tmp / 'mlflow.db'}"
    client = MlflowClient(store)
    client.create_registered_model("bench")
    run = client.create_run(client.create_experiment("models"))
    version = client.create_model_version("bench", f"runs:/{run.info.run_id}/model",
                                          run_id=run.info.run_id).version
    uri = f"models:/bench/{version}"
    md.attach_profile(uri, md.Profile.from_json(profile_file.read_bytes()), tracking_uri=store)
    return uri, store


def out_of_core(rows: int = 10_000_000, spark: bool = False, spark_rows: int | None = None
                ) -> None:
    """Print the out-of-core section (see the module docstring)."""
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        data = tmp / "data"
        write_dataset(data, rows)
        size = sum(p.stat().st_size for p in data.iterdir()) / 2**30
        profiled = _child(_PROFILE, data, tmp / "profile.json")
        uri, store = _registered(tmp, tmp / "profile.json")
        evaluated = _child(_EVALUATE, uri, data, store)
        print(f"\n## Out of core: {rows:,} rows x {FEATURES + 2} float64 columns, "
              f"{-(-rows // FILE_ROWS)} Parquet files of {FILE_ROWS:,} rows ({size:.1f} GB), "
              "each call in a fresh process\n")
        print("| call | wall s | CPU s | rows/s | peak RSS MB |\n|---|---:|---:|---:|---:|")
        for what, run in [("md.build_profile(path) (two passes, 10 bands)", profiled),
                          ("md.evaluate(uri, path, log=False) (MLflow imported)", evaluated)]:
            print(f"| {what} | {run['wall']:.1f} | {run['cpu']:.1f} | "
                  f"{run['rows'] / run['wall']:,.0f} | {run['rss']:.0f} |")
        if spark:
            _spark(uri, store, data, spark_rows or rows)


def _spark(uri: str, store: str, data: Path, rows: int) -> None:
    """Print the Spark rows: the same files read by ``local[2]``."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        print("PySpark not installed: Spark skipped (pip install mlflow-decay[spark])")
        return
    found = _child(_SPARK, uri, data, store, -(-rows // FILE_ROWS))
    print(f"\n### Spark local[2], {found['rows']:,} rows from the same files "
          f"({found['partitions']} partitions)\n")
    print("| call | wall s | rows/s |\n|---|---:|---:|")
    for what, key in [("md.evaluate(uri, spark_df, log=False)", "evaluate"),
                      ("md.build_profile(spark_df) (3 jobs and the bands)", "profile"),
                      ("Spark alone: the sum of every column (a plain scan)", "scan")]:
        print(f"| {what} | {found[key]:.1f} | {found['rows'] / found[key]:,.0f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--spark", action="store_true", help="also time Spark on local[2]")
    parser.add_argument("--spark-rows", type=int, help="rows Spark reads (default all)")
    args = parser.parse_args()
    out_of_core(args.rows, args.spark, args.spark_rows)


if __name__ == "__main__":
    main()
