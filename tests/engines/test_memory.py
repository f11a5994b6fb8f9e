"""Out-of-core memory measured as the process's peak RSS, not ``tracemalloc``: Arrow allocates
decoded Parquet outside Python's allocator, so only the operating system sees it.

The peak is the child's ``VmHWM`` (``/proc/self/status``), not ``ru_maxrss``: Linux carries a
parent's peak RSS into ``ru_maxrss`` across ``exec``, so a child of a large test process would
report that process's peak, whatever it used itself."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mlflow_decay

pytestmark = [pytest.mark.slow,  # millions of rows, in fresh interpreters
              pytest.mark.skipif(not sys.platform.startswith("linux"),
                                 reason="reads the peak RSS from Linux's /proc/self/status")]

FILE_ROWS = 250_000
FEATURES = 18  # with the model's output and the label: 20 columns, 40 MB a file

# In a fresh interpreter: a profile of 20,000 rows in memory, then the window at argv[1]
# (argv[2] rows) evaluated as a Parquet directory.
EVALUATE = """
import sys
import numpy as np, pandas as pd
import mlflow_decay as md
from mlflow_decay.engines.dispatch import evaluate_source

rng, features = np.random.default_rng(1), int(sys.argv[3])
reference = pd.DataFrame(rng.normal(size=(20_000, features)),
                         columns=[f"x{i}" for i in range(features)])
reference["p"] = rng.random(len(reference))
reference["y"] = (rng.random(len(reference)) < reference["p"]).astype("int64")
profile = md.build_profile(reference, target="y", prediction="p", band_chunks=0)
evaluation, frame, _ = evaluate_source(profile, sys.argv[1])
assert frame is None and evaluation.rows == int(sys.argv[2])
"""

# The profile (two passes, 10 band chunks) of the Parquet directory at argv[1] (argv[2] rows).
PROFILE = """
import sys
import mlflow_decay as md

profile = md.build_profile(sys.argv[1], target="y", prediction="p", exclude=["ts"])
assert profile.rows == int(sys.argv[2]) and profile.bands
"""

# A version in a copy of the sqlite store argv[3] with a profile of 20,000 rows, monitored
# (not logged) over the Parquet directory at argv[1] (argv[2] rows), streamed in daily windows.
MONITOR = """
import shutil, sys, tempfile
import numpy as np, pandas as pd
from mlflow import MlflowClient
import mlflow_decay as md

store = shutil.copy(sys.argv[3], tempfile.mkdtemp())
uri = f"sqlite:///{store}"
client = MlflowClient(uri)
client.create_registered_model("m")
run = client.create_run(client.create_experiment("models"))
version = client.create_model_version("m", f"runs:/{run.info.run_id}/model",
                                      run_id=run.info.run_id).version
rng = np.random.default_rng(1)
reference = pd.DataFrame(rng.normal(size=(20_000, int(sys.argv[4]))))
reference.columns = [f"x{i}" for i in range(reference.shape[1])]
reference["p"] = rng.random(len(reference))
reference["y"] = (rng.random(len(reference)) < reference["p"]).astype("int64")
md.attach_profile(f"models:/m/{version}", md.build_profile(reference, target="y", prediction="p",
                                                           band_chunks=0), tracking_uri=uri)
reports = md.monitor(f"models:/m/{version}", sys.argv[1], timestamp_column="ts", every="1D",
                     log=False, tracking_uri=uri)
assert sum(r.rows for r in reports) == int(sys.argv[2]) and len(reports) > 1
"""


# Appended to each script: the peak RSS of the child's own memory, in kB.
PEAK = """
print(next(line.split()[1] for line in open("/proc/self/status") if line.startswith("VmHWM:")))
"""

def _peak_rss_mb(script: str, *args: object) -> float:
    """Peak RSS (MB) of ``script`` run with ``args`` in a fresh interpreter (it prints it)."""
    root = str(Path(mlflow_decay.__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [root, *filter(None, [os.environ.get("PYTHONPATH")])])}
    proc = subprocess.run([sys.executable, "-c", script + PEAK, *map(str, args)],
                          capture_output=True, text=True, env=env, check=False)
    assert proc.returncode == 0, proc.stderr
    return int(proc.stdout.split()[-1]) / 1024


def _write_parts(directory: Path, files: int, features: int, times: bool = False) -> None:
    """``files`` Parquet files of ``FILE_ROWS`` rows: ``features`` normal columns, a score ``p``
    and a label ``y``; with ``times``, a column ``ts`` in time order across the files, a day
    per file."""
    rng = np.random.default_rng(0)
    directory.mkdir()
    for i in range(files):
        frame = pd.DataFrame(rng.normal(size=(FILE_ROWS, features)),
                             columns=[f"x{j}" for j in range(features)])
        frame["p"] = rng.random(FILE_ROWS)
        frame["y"] = (rng.random(FILE_ROWS) < frame["p"]).astype("int64")
        if times:
            frame["ts"] = pd.Timestamp("2024-01-01", tz="UTC") + pd.Timedelta(days=i) \
                + pd.to_timedelta(np.arange(FILE_ROWS) * (86_400_000_000 // FILE_ROWS), unit="us")
        frame.to_parquet(directory / f"part-{i}.parquet", index=False)


def _quadrupled(small: Path, large: Path) -> None:
    """``large`` holds each file of ``small`` four times (the same bytes, linked)."""
    large.mkdir()
    for part in sorted(small.iterdir()):
        for copy in range(4):
            os.link(part, large / f"{part.stem}-{copy}.parquet")


def test_the_peak_measured_is_the_childs_own_not_its_parents() -> None:
    held = np.ones(40_000_000)  # 320 MB resident in this process (ru_maxrss would pass it on)
    small = _peak_rss_mb("import numpy as np\nx = np.ones(10_000_000)")  # 80 MB
    large = _peak_rss_mb("import numpy as np\nx = np.ones(40_000_000)")  # 320 MB
    assert small < 250 < large - 50, (small, large)
    del held


def test_evaluating_four_times_the_rows_does_not_raise_peak_rss(tmp_path: Path) -> None:
    small, large = tmp_path / "small", tmp_path / "large"
    _write_parts(small, 4, FEATURES)
    _quadrupled(small, large)
    # 1M rows (160 MB of float64) and 4M rows (640 MB): the data outweighs the interpreter
    peaks = [_peak_rss_mb(EVALUATE, small, 4 * FILE_ROWS, FEATURES),
             _peak_rss_mb(EVALUATE, large, 16 * FILE_ROWS, FEATURES)]
    # a batch, the sample and the partials are held, whatever the row count
    assert peaks[1] <= 1.10 * peaks[0], f"peak RSS {peaks[0]:.0f} MB, then {peaks[1]:.0f} MB"


def test_profiling_four_times_the_rows_does_not_raise_peak_rss(tmp_path: Path) -> None:
    small, large = tmp_path / "small", tmp_path / "large"
    _write_parts(small, 2, 8, times=True)  # 10 columns read in batches of 209,715 rows
    _quadrupled(small, large)
    # 500,000 rows (40 MB of float64 features) and 2M rows (160 MB), two passes each
    peaks = [_peak_rss_mb(PROFILE, small, 2 * FILE_ROWS),
             _peak_rss_mb(PROFILE, large, 8 * FILE_ROWS)]
    # a batch, the sample, the partials and the band chunks' rows (at most 10 x 25,000)
    assert peaks[1] <= 1.10 * peaks[0], f"peak RSS {peaks[0]:.0f} MB, then {peaks[1]:.0f} MB"


def test_monitoring_four_times_the_rows_does_not_raise_peak_rss(tmp_path: Path,
                                                                 empty_store: Path) -> None:
    large, small = tmp_path / "large", tmp_path / "small"
    _write_parts(large, 8, 8, times=True)  # in time order: 2M rows, 8 daily windows
    small.mkdir()
    for i in range(2):  # the first quarter: 500,000 rows, 2 windows
        os.link(large / f"part-{i}.parquet", small / f"part-{i}.parquet")
    peaks = [_peak_rss_mb(MONITOR, small, 2 * FILE_ROWS, empty_store, 8),
             _peak_rss_mb(MONITOR, large, 8 * FILE_ROWS, empty_store, 8)]
    # a window's batch and partials at a time, whatever the number of windows and rows
    assert peaks[1] <= 1.10 * peaks[0], f"peak RSS {peaks[0]:.0f} MB, then {peaks[1]:.0f} MB"
