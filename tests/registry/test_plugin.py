"""The mlflow.model_evaluator plugin, exercised through mlflow.models.evaluate itself."""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import mlflow.models
import pytest
from conftest import make_frame


def test_mlflow_models_evaluate_with_the_decay_evaluator(tracking_uri: str, profiled: str) -> None:
    window = make_frame(3000, 4, shift=1.0)
    with mlflow.start_run() as run:
        result = mlflow.models.evaluate(
            data=window,
            predictions="score", targets="label", model_type="classifier",
            evaluators=["mlflow_decay"],
            evaluator_config={"mlflow_decay": {"model_uri": profiled}})
    assert result.metrics["decay.drift.x1.wasserstein"] > 0.5
    assert "decay.est.roc_auc" in result.metrics and "decay.perf.roc_auc" in result.metrics
    logged = mlflow.MlflowClient().get_run(run.info.run_id)
    assert logged.data.metrics["decay.drift.share"] == pytest.approx(
        result.metrics["decay.drift.share"])
    report = json.loads(Path(mlflow.artifacts.download_artifacts(
        run_id=run.info.run_id, artifact_path="decay_report.json")).read_text())
    assert report["model_uri"] == profiled and report["window_status"] in ("warning", "degraded")
    assert result.artifacts["decay_report"].content["window_status"] == report["window_status"]
