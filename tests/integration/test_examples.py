"""The README's walkthroughs run as users run them."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import current_uri

from mlflow_decay.cli import main

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.slow, pytest.mark.plots]


def test_quickstart_runs_and_degrades_a_version(tmp_path: Path, empty_store: Path) -> None:
    shutil.copy(empty_store, tmp_path / "mlflow.db")  # a new store, its schema made once
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}"}
    proc = subprocess.run([sys.executable, str(ROOT / "examples" / "quickstart.py")],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = proc.stdout.splitlines()
    assert any(line.startswith("window 1: healthy") for line in lines), proc.stdout
    assert any(line.startswith("window 2: warning") for line in lines), proc.stdout
    assert any(line.startswith("window 3: degraded") for line in lines), proc.stdout
    assert "degraded versions: ['1']" in lines


def test_demo_ends_with_a_degraded_version_visible_in_status(tmp_path: Path, monkeypatch,
                                                             empty_store: Path) -> None:
    monkeypatch.chdir(tmp_path)
    shutil.copy(empty_store, tmp_path / "mlflow.db")  # a new store, its schema made once
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    # the demo sets MLflow's current URIs, which it exports to child processes: they are
    # taken back when the test ends, so that later tests' children do not write here
    with current_uri(uri, monkeypatch):
        result = CliRunner().invoke(main, ["demo"])
    assert result.exit_code == 0, result.output + result.stderr
    windows = [line for line in result.stdout.splitlines() if line.startswith("window ")]
    assert len(windows) == 12  # 8 of decay, 2 compared, 2 of a broken release
    assert "healthy" in windows[0] and "degraded" in windows[7]
    first_auc = float(windows[0].split("roc_auc ")[1].split()[0])
    last_auc = float(windows[7].split("roc_auc ")[1].split()[0])
    assert 0.92 <= first_auc <= 0.96 and 0.84 <= last_auc <= 0.89
    assert "models:/demo-churn/1 moved to stage 'degraded'" in result.stdout
    assert "move alias @champion to models:/demo-churn/2" in result.stdout.split("window 11")[0]
    assert "models:/demo-churn/3 moved to stage 'degraded'" in result.stdout
    assert result.stdout.rstrip().endswith(f"mlflow ui --backend-store-uri {uri}")
    status = CliRunner().invoke(main, ["status", "demo-churn", "--json"])
    assert status.exit_code == 0
    stages = {r["version"]: (r["status"], sorted(r["aliases"])) for r in json.loads(status.stdout)}
    assert stages == {"1": ("degraded", []), "2": ("healthy", ["challenger", "champion"]),
                      "3": ("degraded", [])}
