"""The files an evaluation run stores beside its metrics and tags: its report (the HTML page
and the JSON), the window's row ids and model outputs, and the late labels joined so far."""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

import pandas as pd
from mlflow import MlflowClient
from mlflow.entities import Run
from mlflow.exceptions import MlflowException

from .model_versions import artifact_bytes
from .tags import LATE_LABELS, OUTPUTS

#: The window's row ids and model outputs (for labels that arrive later).
OUTPUTS_FILE = "window_outputs.parquet"
#: The late labels joined onto the window so far.
LABELS_FILE = "window_labels.parquet"
#: The report page (HTML, its plots inlined).
REPORT_PAGE = "decay_report.html"
#: The report as JSON (:meth:`~mlflow_decay.core.report.DecayReport.to_dict`).
REPORT_JSON = "decay_report.json"


def window_outputs(client: MlflowClient, run: Run) -> pd.DataFrame | None:
    """The ids and model outputs an evaluation run stored, or ``None``."""
    return _stored_table(client, run, OUTPUTS)


def window_labels(client: MlflowClient, run: Run) -> pd.DataFrame | None:
    """The late labels joined onto an evaluation run so far (``__id__``, ``__label__``), or
    ``None`` (none yet, or joined by a version that did not keep them)."""
    return _stored_table(client, run, LATE_LABELS)


def log_window_labels(client: MlflowClient, run_id: str, labels: pd.DataFrame) -> None:
    """Store the late labels of a window run (``__id__``, ``__label__``); the run's tag
    names the file once it is stored."""
    buffer = io.BytesIO()
    labels.to_parquet(buffer, index=False)
    log_files(client, run_id, {LABELS_FILE: buffer.getvalue()})
    client.set_tag(run_id, LATE_LABELS, LABELS_FILE)


def _stored_table(client: MlflowClient, run: Run, tag: str) -> pd.DataFrame | None:
    """The Parquet artifact the run's ``tag`` names, or ``None`` without it (tag or file)."""
    name = run.data.tags.get(tag)
    data = read_file(client, run, name) if name else None
    return None if data is None else pd.read_parquet(io.BytesIO(data))


def read_file(client: MlflowClient, run: Run, name: str) -> bytes | None:
    """A run artifact's bytes, or ``None`` when the run has no such file.

    Read from the run's artifact location: through a ``runs:/`` URI MLflow looks the run up
    twice and its LoggedModels once for every file (0.04 s a file on a local store), and a
    labels batch reads a file of every window the version has."""
    try:
        return artifact_bytes(client, f"{run.info.artifact_uri.rstrip('/')}/{name}")
    except (MlflowException, OSError):
        return None


def log_files(client: MlflowClient, run_id: str, files: dict[str, bytes]) -> None:
    """Log in-memory files as run artifacts (``dir/name`` keeps the directory)."""
    with tempfile.TemporaryDirectory() as tmp:
        for name, data in files.items():
            path = Path(tmp) / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        client.log_artifacts(run_id, tmp)
