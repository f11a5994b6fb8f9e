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


class _Workflow(click.Group):
    """Lists its commands in the order a user meets them, not alphabetically."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self.commands)


@click.group(cls=_Workflow, context_settings={"help_option_names": ["-h", "--help"],
                                              "max_content_width": 100})
@click.version_option(package_name="mlflow-decay")
def main() -> None:
    """Catch silent model decay in the MLflow model registry.

    Models are addressed as in MLflow: models:/<name>/<version> or models:/<name>@<alias>.
    """
    # no network but the tracking URI: MLflow's usage telemetry stays off unless asked for
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")


#: The commands in workflow order, each with its one-line summary for ``--help``.
_COMMANDS = (
    (profiles.profile, "Store the reference profile of a table with a model version."),
    (windows.evaluate, "Evaluate one production window against the version's profile."),
    (windows.monitor, "Evaluate a table window by window in time order."),
    (windows.labels, "Join late labels onto evaluated windows: realized performance."),
    (versions.status, "Every version of a model with its decay stage."),
    (versions.history, "Every stage change and alias move of a model."),
    (comparison.compare_cmd, "Judge champion and challenger on the same rows."),
    (versions.restore, "Mark a version healthy again by hand, with a reason."),
    (exporter.exporter, "Serve decay stages and metrics to Prometheus."),
    (profiles.policy, "Inspect decay policies."),
    (demo.demo, "Watch a churn model decay, end to end, in a local store."),
)
for _command, _summary in _COMMANDS:
    _command.short_help = _summary
    main.add_command(_command)

__all__ = ["DEFAULT_TRACKING_URI", "main"]
