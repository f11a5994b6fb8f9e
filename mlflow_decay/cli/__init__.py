"""The ``mlflow-decay`` command line: thin verbs over the Python API.

The group is here; the commands live by what they act on: :mod:`.profiles` (``profile``,
``policy show``), :mod:`.windows` (``evaluate``, ``monitor``, ``labels``), :mod:`.comparison`
(``compare``), :mod:`.versions` (``status``, ``history``, ``restore``), :mod:`.exporter`
(``exporter``, for Prometheus) and :mod:`.demo`. What they share is in :mod:`.options`
(arguments and options) and :mod:`.output` (``--json``, ``--tracking-uri`` and one-line
errors). Only click loads with them: each command imports
the API when it runs, so ``--help`` stays fast.
"""

from __future__ import annotations

import os

import click

from . import comparison, demo, exporter, profiles, versions, windows
from .output import DEFAULT_TRACKING_URI


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="mlflow-decay")
def main() -> None:
    """Catch silent model decay in the MLflow model registry.

    Models are addressed as in MLflow: models:/<name>/<version> or models:/<name>@<alias>.
    """
    # no network but the tracking URI: MLflow's usage telemetry stays off unless asked for
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")


for _command in (profiles.profile, windows.evaluate, windows.monitor, windows.labels,
                 comparison.compare_cmd, versions.restore, versions.history, versions.status,
                 profiles.policy, demo.demo):
    main.add_command(_command)
main.add_command(exporter.exporter)  # mlflow-decay exporter, for Prometheus

__all__ = ["DEFAULT_TRACKING_URI", "main"]
