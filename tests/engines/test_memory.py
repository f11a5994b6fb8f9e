"""Out-of-core memory measured as the process's peak RSS, not ``tracemalloc``: Arrow allocates
decoded Parquet outside Python's allocator, so only the operating system sees it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

import mlflow_decay

FILE_ROWS = 250_000
FEATURES = 18  # with the model's output and the label: 20 columns, 40 MB a file

# In a fresh interpreter: a profile of 20,000 rows in memory, then the window at argv[1]
# (argv[2] rows) evaluated as a Parquet directory; prints the peak RSS in kB (ru_maxrss is in kB on Linux).
EVALUATE = """
import resource, sys
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
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def _peak_rss_mb(directory: Path, rows: int) -> float:
    root = str(Path(mlflow_decay.__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [root, *filter(None, [os.environ.get("PYTHONPATH")])])}
    proc = subprocess.run([sys.executable, "-c", EVALUATE, str(directory), str(rows),
                           str(FEATURES)],
                          capture_output=True, text=True, env=env, check=False)
    assert proc.returncode == 0, proc.stderr
    return int(proc.stdout.split()[-1]) / 1024


def test_evaluating_four_times_the_rows_does_not_raise_peak_rss(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    small, large = tmp_path / "small", tmp_path / "large"
    small.mkdir()
    large.mkdir()
    for i in range(4):
        frame = pd.DataFrame(rng.normal(size=(FILE_ROWS, FEATURES)),
                             columns=[f"x{j}" for j in range(FEATURES)])
        frame["p"] = rng.random(FILE_ROWS)
        frame["y"] = (rng.random(FILE_ROWS) < frame["p"]).astype("int64")
        frame.to_parquet(small / f"part-{i}.parquet", index=False)
        for copy in range(4):  # the large window: each file four times (the same bytes)
            os.link(small / f"part-{i}.parquet", large / f"part-{i}-{copy}.parquet")
    # 1M rows (160 MB of float64) and 4M rows (640 MB): the data outweighs the interpreter
    peaks = [_peak_rss_mb(small, 4 * FILE_ROWS), _peak_rss_mb(large, 16 * FILE_ROWS)]
    # a batch, the sample and the partials are held, whatever the row count
    assert peaks[1] <= 1.10 * peaks[0], f"peak RSS {peaks[0]:.0f} MB, then {peaks[1]:.0f} MB"
