"""``exporter``: the versions' decay stages and last-window metrics for Prometheus
(:mod:`mlflow_decay.exporter`), served until stopped."""

from __future__ import annotations

import os
import signal
from typing import TYPE_CHECKING, Any

import click

from .options import NAMES, Command
from .output import common, emit, fail

if TYPE_CHECKING:  # the exporter module loads on first use
    from ..exporter import Snapshot

#: The last window's metrics exported by default (as mlflow_decay.exporter.DEFAULT_METRICS,
#: spelled out here so that ``--help`` does not load the exporter).
DEFAULT_METRICS = ("perf.roc_auc,est.roc_auc,perf.roc_auc_ovr,est.roc_auc_ovr,perf.rmse.ratio,"
                   "est.rmse.ratio,drift.share,drift.prediction.psi,"
                   "drift.multivariate.reconstruction_error")
#: How often, and for how long, one request to a tracking server is retried: MLflow's
#: defaults (7 retries with a doubling backoff, ~4 minutes) would hide a server that is down.
HTTP_DEFAULTS = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2", "MLFLOW_HTTP_REQUEST_TIMEOUT": "20"}


def _metrics(ctx: click.Context, param: click.Parameter, value: list[str]) -> list[str]:
    """Metric names or globs, each one some evaluation can log (a typo is a usage error)."""
    from ..core.policy_file import check_metric_pattern
    from ..errors import PolicyError

    for pattern in value:
        try:
            check_metric_pattern(pattern, repr(pattern))
        except PolicyError as exc:
            raise click.BadParameter(str(exc)) from exc
    return value


@click.command(cls=Command)
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (0.0.0.0: every interface).")
@click.option("--port", default=9464, show_default=True, type=click.IntRange(0, 65535),
              help="Port to listen on (0: a free one, printed at start).")
@click.option("--models", type=NAMES, default=None, metavar="NAME,…",
              help="Registered models to export [default: every model with a profiled version].")
@click.option("--metrics", type=NAMES, default=DEFAULT_METRICS, metavar="NAME,…",
              callback=_metrics,
              help="Metrics of each version's last window to export (names or globs such as "
                   f"'drift.*.psi') [default: {DEFAULT_METRICS.replace(',', ', ')}].")
@click.option("--interval", default=60.0, show_default=True, type=click.FloatRange(min=1),
              help="Seconds between two readings of the registry (scrapes in between are "
                   "served the last reading).")
@common
def exporter(host: str, port: int, models: list[str] | None, metrics: list[str],
             interval: float, tracking_uri: str, as_json: bool) -> None:
    """Serve decay stages and metrics to Prometheus.

    Serves the versions' decay stages, streaks and last-window metrics at
    http://HOST:PORT/metrics until stopped (Ctrl-C, SIGTERM); reads the registry,
    never writes to it. If the tracking server goes down, the last values stay served with
    mlflow_decay_exporter_up 0. With --json, what it serves is printed as JSON at start."""
    for key, value in HTTP_DEFAULTS.items():
        os.environ.setdefault(key, value)
    from ..exporter import serve

    try:
        running = serve(tracking_uri, models=models, metrics=metrics, interval=interval,
                        host=host, port=port)
    except OSError as exc:
        if exc.filename is not None:
            raise  # a file of the store: reported as such
        fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}", 1)
        return

    def stop(*_: Any) -> None:
        running.stop()

    signal.signal(signal.SIGTERM, stop)  # before saying it serves: a SIGTERM then stops it cleanly
    for note in running.notes:
        click.echo(f"mlflow-decay: warning: {note}", err=True)
    snap = running.collector.snapshot
    emit(as_json, {"url": running.url, "tracking_uri": tracking_uri, "interval": interval,
                   "models": snap.models, "metrics": metrics},
         serving_line(running.url, snap, tracking_uri, interval))
    try:
        running.wait()
    except KeyboardInterrupt:
        pass
    finally:
        running.close()


def serving_line(url: str, snap: Snapshot, tracking_uri: str, interval: float) -> str:
    """What the exporter says it serves: the versions, of the models that are registered (a
    ``--models`` name that is not is warned of, not counted)."""
    models = sum(1 for count in snap.models.values() if count)
    return (f"serving {url}: {len(snap.versions)} version(s) of {models} model(s) from "
            f"{tracking_uri}, read every {interval:g} s (Ctrl-C to stop)")
