"""Bad input is refused with one line, a non-zero exit code, and an unchanged registry."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import make_frame, registry_snapshot

import mlflow_decay as md
from mlflow_decay import registry
from mlflow_decay.cli import main


def _tamper(tracking_uri: str, uri: str, tmp: Path) -> None:
    client = registry.client_for(tracking_uri)
    ref = registry.resolve(client, uri)
    data = md.load_profile(uri, tracking_uri=tracking_uri).to_json().replace(b'"rows":5000',
                                                                               b'"rows":5001')
    path = tmp / registry.PROFILE_FILE
    path.write_bytes(data)
    assert ref.model_id is not None
    client.log_model_artifact(ref.model_id, str(path), artifact_path="mlflow_decay")


def _write(frame: pd.DataFrame, path: Path) -> Path:
    if path.suffix == ".parquet":
        frame.to_parquet(path)
    else:
        frame.to_csv(path, index=False)
    return path


CONTRADICTORY = b'[thresholds]\n"drift.share" = { warn = 0.5, degrade = 0.2, direction = "above" }\n'
UNKNOWN_METRIC = b'[thresholds]\n"auc" = { warn = 0.5 }\n'

# (case id, how to set it up -> (model uri, data path, extra args), expected message part)
Setup = Callable[[str, str, Callable[..., str], Path], tuple[str, Path, list[str]]]
CASES: list[tuple[str, Setup, str]] = [
    ("missing feature column",
     lambda t, uri, nv, d: (uri, _write(make_frame(500, 3).drop(columns="x2"), d / "w.csv"), []),
     "feature column 'x2' is missing from the window"),
    ("missing prediction column",
     lambda t, uri, nv, d: (uri, _write(make_frame(500, 3).drop(columns="score"), d / "w.parquet"), []),
     "prediction column 'score' is missing from the window"),
    ("feature type changed to text",
     lambda t, uri, nv, d: (uri, _write(make_frame(500, 3).assign(x1="high"), d / "w.csv"), []),
     "column 'x1': expected numbers as in the reference profile, got text such as 'high'"),
    ("empty window",
     lambda t, uri, nv, d: (uri, _write(make_frame(500, 3).iloc[:0], d / "w.parquet"), []),
     "window is empty"),
    ("unknown model",
     lambda t, uri, nv, d: ("models:/nope/1", _write(make_frame(50, 3), d / "w.csv"), []),
     "no registered model named 'nope'"),
    ("unknown version",
     lambda t, uri, nv, d: ("models:/churn/9", _write(make_frame(50, 3), d / "w.csv"), []),
     "model 'churn' has no version 9 (versions: 1)"),
    ("unknown alias",
     lambda t, uri, nv, d: ("models:/churn@ghost", _write(make_frame(50, 3), d / "w.csv"), []),
     "model 'churn' has no alias 'ghost'"),
    ("malformed model uri",
     lambda t, uri, nv, d: ("churn/1", _write(make_frame(50, 3), d / "w.csv"), []),
     "is not models:/<name>/<version> or models:/<name>@<alias>"),
    ("version without profile",
     lambda t, uri, nv, d: (nv(), _write(make_frame(50, 3), d / "w.csv"), []),
     "has no reference profile"),
    ("tampered profile",
     lambda t, uri, nv, d: (_tamper(t, uri, d) or uri, _write(make_frame(50, 3), d / "w.csv"), []),
     "does not match its recorded SHA-256"),
    ("missing data file",
     lambda t, uri, nv, d: (uri, d / "absent.csv", []),
     "data file"),
    ("unreadable parquet file",
     lambda t, uri, nv, d: (uri, _bytes(d / "w.parquet", b"PAR1 this is not parquet"), []),
     "could not be read"),
    ("unknown data suffix",
     lambda t, uri, nv, d: (uri, _bytes(d / "w.xlsx", b"x"), []),
     "expected a .csv or .parquet file"),
    ("malformed policy",
     lambda t, uri, nv, d: (uri, _write(make_frame(50, 3), d / "w.csv"),
                            ["--policy", str(_bytes(d / "p.toml", b"[thresholds\n"))]),
     "is not valid TOML"),
    ("contradictory policy",
     lambda t, uri, nv, d: (uri, _write(make_frame(50, 3), d / "w.csv"),
                            ["--policy", str(_bytes(d / "p.toml", CONTRADICTORY))]),
     "is less severe than warn"),
    ("policy with unknown metric",
     lambda t, uri, nv, d: (uri, _write(make_frame(50, 3), d / "w.csv"),
                            ["--policy", str(_bytes(d / "p.toml", UNKNOWN_METRIC))]),
     "unknown metric name"),
]


def _bytes(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(("setup", "message"), [(s, m) for _, s, m in CASES],
                         ids=[c for c, _, _ in CASES])
def test_cli_refuses_bad_input_and_changes_nothing(
        tracking_uri: str, profiled: str, new_version: Callable[..., str], tmp_path: Path,
        setup: Setup, message: str) -> None:
    uri, data, extra = setup(tracking_uri, profiled, new_version, tmp_path)
    before = registry_snapshot(tracking_uri)
    result = CliRunner().invoke(
        main, ["evaluate", uri, "--data", str(data), "--tracking-uri", tracking_uri, *extra])
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit)  # a clean exit, not an escaped error
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mlflow-decay: error: "), result.stderr
    assert message in lines[0]
    assert "Traceback" not in result.output
    assert registry_snapshot(tracking_uri) == before


def test_the_installed_command_exits_non_zero_without_traceback(tracking_uri: str,
                                                                 profiled: str, tmp_path: Path) -> None:
    data = _write(make_frame(200, 3).drop(columns="x1"), tmp_path / "w.csv")
    before = registry_snapshot(tracking_uri)
    proc = subprocess.run(
        [sys.executable, "-m", "mlflow_decay.cli", "evaluate", profiled, "--data", str(data),
         "--tracking-uri", tracking_uri], capture_output=True, text=True)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1] == (
        "mlflow-decay: error: feature column 'x1' is missing from the window (columns: x2, color, "
        "level, score, label)")
    assert registry_snapshot(tracking_uri) == before


def test_usage_errors_exit_2(tracking_uri: str) -> None:
    result = CliRunner().invoke(main, ["evaluate", "models:/churn/1"])
    assert result.exit_code == 2 and "--data" in result.stderr


# -- accepted and reported -------------------------------------------------------------------
def test_nan_and_inf_are_counted_and_left_out_of_drift(tracking_uri: str, profiled: str) -> None:
    window = make_frame(2000, 8)
    dirty = window.copy()
    dirty.loc[:99, "x1"] = np.nan
    dirty.loc[100:149, "x1"] = np.inf
    dirty.loc[150:159, "x1"] = -np.inf
    report = md.evaluate(profiled, dirty, log=False, tracking_uri=tracking_uri)
    assert report.metrics["quality.x1.missing_rate"] == pytest.approx(100 / 2000)
    assert report.metrics["quality.x1.nonfinite_rate"] == pytest.approx(60 / 2000)
    clean = md.evaluate(profiled, window.iloc[160:], log=False, tracking_uri=tracking_uri)
    for stat in ("psi", "js", "ks", "wasserstein"):
        assert report.metrics[f"drift.x1.{stat}"] == pytest.approx(clean.metrics[f"drift.x1.{stat}"])


def test_extra_columns_unseen_categories_and_single_class_labels(tracking_uri: str,
                                                                profiled: str) -> None:
    window = make_frame(2000, 8).assign(comment="hello", label=1)
    window.loc[:199, "color"] = "purple"
    report = md.evaluate(profiled, window, log=False, tracking_uri=tracking_uri)
    assert report.extra_columns == ["comment"]
    assert report.metrics["drift.color.unseen_share"] == pytest.approx(0.1)
    assert report.metrics["quality.color.out_of_range_share"] == pytest.approx(0.1)
    assert "perf.roc_auc" not in report.metrics and "perf.accuracy" in report.metrics
    assert any(n.startswith("perf.roc_auc left out: labels have a single class")
               for n in report.notes)


def test_bad_input_through_the_python_api_raises_decay_errors(tracking_uri: str,
                                                              profiled: str) -> None:
    with pytest.raises(md.DataError, match="window is empty"):
        md.evaluate(profiled, make_frame(10, 1).iloc[:0], tracking_uri=tracking_uri)
    with pytest.raises(md.RegistryError, match="no version 5"):
        md.evaluate("models:/churn/5", make_frame(10, 1), tracking_uri=tracking_uri)
