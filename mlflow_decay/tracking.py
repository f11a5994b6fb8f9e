"""Logging evaluations as MLflow runs: one run per window, a time series per model version."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path

from mlflow import MlflowClient
from mlflow.entities import Metric, RunTag
from mlflow.exceptions import MlflowException

from .registry import PROFILE_DIR, PROFILE_FILE, TAG, ModelVersionRef
from .report import DecayReport

_BATCH = 1000


def experiment_name_for(model_name: str) -> str:
    """The default experiment of a model's evaluations: ``mlflow-decay/<model name>``."""
    return f"mlflow-decay/{model_name}"


def experiment_id(client: MlflowClient, model_name: str, name: str | None = None) -> str:
    """The id of the evaluations' experiment, created when missing."""
    name = name or experiment_name_for(model_name)
    found = client.get_experiment_by_name(name)
    if found is not None:
        return str(found.experiment_id)
    try:
        return str(client.create_experiment(name))
    except MlflowException:  # created meanwhile by another process
        again = client.get_experiment_by_name(name)
        if again is None:
            raise
        return str(again.experiment_id)


def log_profile_run(client: MlflowClient, ref: ModelVersionRef, path: Path) -> str:
    """Store a profile file in a dedicated run (for versions without a LoggedModel); its URI."""
    run = client.create_run(
        experiment_id(client, ref.name), run_name=f"profile {ref.name} v{ref.version}",
        tags={TAG + "kind": "profile", TAG + "model_name": ref.name,
              TAG + "model_version": ref.version})
    client.log_artifact(run.info.run_id, str(path), artifact_path=PROFILE_DIR)
    client.set_terminated(run.info.run_id)
    return f"runs:/{run.info.run_id}/{PROFILE_DIR}/{PROFILE_FILE}"


def log_evaluation(client: MlflowClient, ref: ModelVersionRef, report: DecayReport,
                   experiment: str | None = None) -> str:
    """Log one evaluated window as a finished run; return its id.

    The run is tagged with the model name, version, window bounds and status; it holds every
    metric of the report and the artifact ``decay_report.json``. A run that fails half-way is
    marked FAILED.
    """
    tags = {
        TAG + "kind": "evaluation",
        TAG + "model_name": ref.name,
        TAG + "model_version": ref.version,
        TAG + "model_uri": ref.uri,
        TAG + "status": report.status,
        TAG + "window_status": report.window_status,
        TAG + "window_start": report.window_start or "",
        TAG + "window_end": report.window_end or "",
        TAG + "rows": str(report.rows),
        **({TAG + "window_key": report.window_key} if report.window_key else {}),
    }
    run_name = f"{ref.name} v{ref.version} {report.window_end or report.window_start or ''}".strip()
    run = client.create_run(experiment_id(client, ref.name, experiment), tags=tags,
                            run_name=run_name)
    run_id = run.info.run_id
    try:
        stamp = _millis(report.window_end)
        metrics = [Metric(k, v, stamp, report.step, model_id=ref.model_id)
                   for k, v in report.metrics.items()]
        for i in range(0, len(metrics), _BATCH):
            client.log_batch(run_id, metrics=metrics[i:i + _BATCH])
        report.run_id = run_id
        client.log_dict(run_id, report.to_dict(), "decay_report.json")
        client.log_batch(run_id, tags=[RunTag(TAG + "policy", report.policy[:500])])
    except BaseException:
        client.set_terminated(run_id, "FAILED")
        report.run_id = None
        raise
    client.set_terminated(run_id, "FINISHED")
    return run_id


def _millis(when: str | None) -> int:
    if when:
        try:
            return int(datetime.fromisoformat(when).timestamp() * 1000)
        except ValueError:
            pass
    return int(time.time() * 1000)


def logged_windows(client: MlflowClient, ref: ModelVersionRef, experiment: str | None = None
                   ) -> dict[str, str]:
    """Window keys already logged for a version, mapped to their run ids."""
    found = client.get_experiment_by_name(experiment or experiment_name_for(ref.name))
    if found is None:
        return {}
    runs = client.search_runs(
        [found.experiment_id],
        filter_string=(f"tags.`{TAG}model_name` = '{ref.name}' AND "
                       f"tags.`{TAG}model_version` = '{ref.version}' AND "
                       "attributes.status = 'FINISHED'"),
        max_results=50_000)
    return {r.data.tags[TAG + "window_key"]: r.info.run_id for r in runs
            if TAG + "window_key" in r.data.tags}
