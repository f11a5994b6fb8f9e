"""``mlflow.models.evaluate(..., evaluators=["mlflow_decay"])``: decay as an MLflow evaluator.

Registered under the ``mlflow.model_evaluator`` entry point. It evaluates the dataset as a
production window against the reference profile of the version named in the evaluator config
(``{"model_uri": "models:/churn/3"}``) and returns the decay metrics, with the report as an
artifact. It reads the registry only: stages change through ``evaluate``/``monitor``.

Give the model's scores as the dataset's ``predictions`` column (probabilities for
classifiers, as in the profile); with a model instead, its ``predict`` output is used.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd
from mlflow import MlflowClient
from mlflow.entities import Metric
from mlflow.models.evaluation.artifacts import JsonEvaluationArtifact
from mlflow.models.evaluation.base import EvaluationResult, ModelEvaluator

from . import registry
from .errors import DataError
from .evaluation import evaluate_window
from .policy import as_policy


class DecayEvaluator(ModelEvaluator):
    """MLflow model evaluator computing mlflow-decay metrics against a stored profile."""

    @classmethod
    def can_evaluate(cls, *, model_type: Any, evaluator_config: Any, **kwargs: Any) -> bool:
        return model_type in (None, "classifier", "regressor")

    def evaluate(self, *, model_type: Any, dataset: Any, run_id: str, evaluator_config: Any,
                 model: Any = None, extra_metrics: Any = None, custom_artifacts: Any = None,
                 predictions: Any = None, **kwargs: Any) -> EvaluationResult:
        config = dict(evaluator_config or {})
        model_uri = config.get("model_uri")
        if not model_uri:
            raise DataError('mlflow_decay evaluator needs evaluator_config={"model_uri": '
                            '"models:/<name>/<version>"} naming the profiled version')
        client = MlflowClient()
        ref = registry.resolve(client, model_uri)
        profile = registry.profile_of(client, ref)
        window = pd.DataFrame(dataset.features_data).copy()
        outputs = profile.prediction_columns
        if dataset.has_predictions:
            scores = dataset.predictions_data
        elif model is not None:
            scores = model.predict(window)
        else:
            raise DataError("mlflow_decay evaluator needs predictions (or a model)")
        if len(outputs) == 1:
            window[outputs[0]] = pd.Series(list(scores), index=window.index)
        if dataset.has_targets and profile.target is not None:
            window[profile.target] = pd.Series(list(dataset.labels_data), index=window.index)
        policy = as_policy(config.get("policy"))
        result = evaluate_window(profile, window, policy)
        status, breaches = policy.decide(result.metrics, profile.bands, result.rows)
        metrics = {f"decay.{k}": v for k, v in result.metrics.items()}
        report = {"model_uri": ref.uri, "window_status": status,
                  "reasons": [str(b) for b in breaches], "metrics": result.metrics,
                  "notes": result.notes + [n for n in (policy.labels_decide(result.metrics),) if n],
                  "extra_columns": result.extra_columns}
        stamp = int(pd.Timestamp.now().timestamp() * 1000)
        batch = [Metric(k, v, stamp, 0) for k, v in metrics.items()]
        for i in range(0, len(batch), 1000):
            client.log_batch(run_id, metrics=batch[i:i + 1000])
        client.set_tag(run_id, "mlflow_decay.status", status)
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "decay_report.json"
            path.write_text(json.dumps(report, indent=2, default=str))
            client.log_artifact(run_id, str(path))
        uri = f"runs:/{run_id}/decay_report.json"
        artifact = JsonEvaluationArtifact(uri=uri, content=report)
        return EvaluationResult(metrics=metrics, artifacts={"decay_report": artifact},
                                run_id=run_id)
