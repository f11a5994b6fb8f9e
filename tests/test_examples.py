"""The README's walkthroughs run as users run them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from mlflow_decay.cli import main

ROOT = Path(__file__).parent.parent


def test_quickstart_runs_and_degrades_a_version(tmp_path: Path) -> None:
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}"}
    proc = subprocess.run([sys.executable, str(ROOT / "examples" / "quickstart.py")],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = proc.stdout.splitlines()
    assert any(line.startswith("window 1: healthy") for line in lines), proc.stdout
    assert any(line.startswith("window 2: warning") for line in lines), proc.stdout
    assert any(line.startswith("window 3: degraded") for line in lines), proc.stdout
    assert "degraded versions: ['1']" in lines


def test_demo_ends_with_a_degraded_version_visible_in_status(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    result = CliRunner().invoke(main, ["demo"])
    assert result.exit_code == 0, result.output + result.stderr
    windows = [line for line in result.stdout.splitlines() if line.startswith("window ")]
    assert len(windows) == 8
    assert "healthy" in windows[0] and "degraded" in windows[-1]
    first_auc = float(windows[0].split("roc_auc ")[1].split()[0])
    last_auc = float(windows[-1].split("roc_auc ")[1].split()[0])
    assert 0.92 <= first_auc <= 0.96 and 0.85 <= last_auc <= 0.89
    assert "moved to stage 'degraded'" in result.stdout
    assert f"mlflow ui --backend-store-uri {uri}" in result.stdout
    status = CliRunner().invoke(main, ["status", "demo-churn"])
    assert status.exit_code == 0
    row = status.stdout.splitlines()[1].split()
    assert row[:2] == ["1", "degraded"]
