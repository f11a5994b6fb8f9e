"""Decay on the ops dashboards: the versions' decay stages, streaks and last-window metrics as
Prometheus metrics, served at ``/metrics`` (``mlflow-decay exporter``).

The registry is read every ``interval`` seconds by a thread of its own (one version search,
then one run lookup per version); a scrape serves the last reading and never waits on MLflow.
When a reading fails (the tracking server is down), the last values stay served with
``mlflow_decay_exporter_up 0`` and the error counter raised. Nothing is ever written.
"""

from __future__ import annotations

import fnmatch
import logging
import math
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from . import registry
from .core.evaluation import LABEL_COVERAGE
from .core.rules import STATUSES
from .core.times import parse_time
from .errors import RegistryError

if TYPE_CHECKING:
    from wsgiref.simple_server import WSGIServer

    from mlflow import MlflowClient
    from mlflow.entities import Run

logger = logging.getLogger(__name__)

#: The last window's metrics exported by default (those a version lacks are left out): each
#: task's performance, realized and estimated (binary, multiclass, regression), and drift.
DEFAULT_METRICS = ("perf.roc_auc", "est.roc_auc", "perf.roc_auc_ovr", "est.roc_auc_ovr",
                   "perf.rmse.ratio", "est.rmse.ratio", "drift.share", "drift.prediction.psi",
                   "drift.multivariate.reconstruction_error")
PREFIX = "mlflow_decay_"


@dataclass(frozen=True)
class VersionState:
    """What the exporter shows of one version: its stage (``None`` before its first verdict),
    when it was last judged and the end of its last applied window (seconds since 1970), its
    breach and clean streaks, the chosen metrics of its last window, and its aliases; the
    realized ones of the chosen metrics (``perf.*``) and ``labels.coverage`` of its last window
    with labels, and that window's end (labels arrive late: the last window has none yet)."""

    model: str
    version: str
    status: str | None
    evaluated_at: float | None
    window_end: float | None
    breach_streak: int | None
    clean_streak: int | None
    metrics: dict[str, float] = field(default_factory=dict)
    aliases: tuple[str, ...] = ()
    labelled: dict[str, float] = field(default_factory=dict)
    labelled_window_end: float | None = None


@dataclass(frozen=True)
class Snapshot:
    """One reading of the registry: the versions, and how many of them each model has (a
    model named with ``--models`` but not registered has 0)."""

    versions: tuple[VersionState, ...]
    models: dict[str, int]


def read_snapshot(client: MlflowClient, models: Sequence[str] | None = None,
                  metrics: Sequence[str] = DEFAULT_METRICS) -> Snapshot:
    """Read the versions mlflow-decay watches (of ``models``, else of every model) and the
    ``metrics`` (names or globs) of each one's last window run."""
    refs = registry.decay_versions(client, list(models) if models is not None else None)
    counts = dict.fromkeys(models or (), 0)
    for ref in refs:
        counts[ref.name] = counts.get(ref.name, 0) + 1
    return Snapshot(tuple(_version_state(client, ref, metrics) for ref in refs), counts)


def _version_state(client: MlflowClient, ref: registry.ModelVersionRef,
                   metrics: Sequence[str]) -> VersionState:
    from .registry import runs

    run = runs.last_window_run(client, ref)
    values = {} if run is None else _chosen(run, metrics)
    labelled = None if run is None else runs.last_labelled_run(client, ref, run.info.experiment_id)
    realized = {} if labelled is None else {
        k: v for k, v in _chosen(labelled, [*metrics, LABEL_COVERAGE]).items()
        if k.startswith("perf.") or k == LABEL_COVERAGE}
    window, _ = registry.last_window(ref)
    return VersionState(
        model=ref.name, version=ref.version,
        status=ref.status if ref.status in STATUSES else None,
        evaluated_at=_seconds(ref.tags.get(registry.LAST_EVALUATED_AT)),
        window_end=_seconds(window.end or window.start) if window else None,
        breach_streak=_count(ref.tags.get(registry.BREACH_STREAK)),
        clean_streak=_count(ref.tags.get(registry.CLEAN_STREAK)),
        metrics=dict(sorted(values.items())), aliases=ref.aliases,
        labelled=dict(sorted(realized.items())),
        labelled_window_end=None if labelled is None else _seconds(
            labelled.data.tags.get(registry.WINDOW_END) or labelled.data.tags.get(
                registry.WINDOW_START)))


def _chosen(run: Run, metrics: Sequence[str]) -> dict[str, float]:
    """The metrics of ``run`` that ``metrics`` (names or globs) choose."""
    return {k: float(v) for k, v in run.data.metrics.items()
            if any(fnmatch.fnmatchcase(k, p) for p in metrics)}


def _seconds(text: str | None) -> float | None:
    stamp = parse_time(text)
    return None if stamp is None else stamp.timestamp()


def _count(text: str | None) -> int | None:
    try:
        return max(int(text), 0) if text is not None else None
    except ValueError:
        return None


class DecayCollector(Collector):
    """The exporter's metrics, from the last :class:`Snapshot` ``read`` returned.

    :meth:`refresh` takes a new reading (the exporter's thread calls it every ``interval``
    seconds); :meth:`collect` serves the last one, with the exporter's own health.
    """

    def __init__(self, read: Callable[[], Snapshot], source: str = "the registry") -> None:
        self._read = read
        self._source = source
        self._snapshot = Snapshot((), {})
        self._up = False
        self._errors = 0
        self._last_success: float | None = None
        self._duration = math.nan

    def refresh(self, *, strict: bool = False) -> bool:
        """Read the registry once; whether it could. A failure keeps the last reading (and is
        logged once until a reading succeeds again), unless ``strict``: then it is raised."""
        started = time.monotonic()
        try:
            snapshot = self._read()
        except Exception as exc:
            if strict:
                raise
            self._errors += 1
            if self._up or self._last_success is None:
                logger.warning("mlflow-decay exporter: %s: serving the last values with "
                               "mlflow_decay_exporter_up 0", _failure(exc, self._source))
            self._up = False
            return False
        finally:
            self._duration = time.monotonic() - started
        if not self._up and self._last_success is not None:
            logger.warning("mlflow-decay exporter: %s can be read again", self._source)
        self._snapshot, self._up, self._last_success = snapshot, True, time.time()
        return True

    @property
    def snapshot(self) -> Snapshot:
        return self._snapshot

    def collect(self) -> Iterator[Metric]:
        snap = self._snapshot
        yield from self._health()
        versions = GaugeMetricFamily(PREFIX + "model_versions",
                                     "Versions exported per model (0: not registered, or none "
                                     "has a profile).", labels=["model"])
        for model, count in sorted(snap.models.items()):
            versions.add_metric([model], count)
        yield versions
        yield from _version_metrics(snap.versions)

    def _health(self) -> Iterator[Metric]:
        yield GaugeMetricFamily(PREFIX + "exporter_up",
                                "1 if the last reading of the registry succeeded, else 0 (the "
                                "values served are the last ones read).", value=int(self._up))
        yield CounterMetricFamily(PREFIX + "exporter_refresh_errors",
                                  "Readings of the registry that failed.", value=self._errors)
        yield GaugeMetricFamily(PREFIX + "exporter_refresh_duration_seconds",
                                "How long the last reading of the registry took.",
                                value=self._duration)
        if self._last_success is not None:
            yield GaugeMetricFamily(PREFIX + "exporter_last_refresh_timestamp_seconds",
                                    "When the registry was last read successfully.",
                                    value=self._last_success)


def _version_metrics(states: Sequence[VersionState]) -> Iterator[Metric]:
    """The per-version families: stage, times, streaks, last-window metrics."""
    labels = ["model", "version"]
    status = GaugeMetricFamily(PREFIX + "version_status",
                               "Decay stage of a version: 1 for its current stage, 0 for the "
                               "others (all 0 before its first verdict).",
                               labels=[*labels, "status"])
    gauges = {
        "evaluated_at": GaugeMetricFamily(
            PREFIX + "last_evaluation_timestamp_seconds",
            "When the version's stage was last decided (an evaluated window, or a restore by "
            "hand).", labels=labels),
        "window_end": GaugeMetricFamily(
            PREFIX + "last_window_end_timestamp_seconds",
            "End of the last window whose verdict counted (its start if it has no end).",
            labels=labels),
        "breach_streak": GaugeMetricFamily(
            PREFIX + "breach_streak", "Windows in a row that breached a threshold.", labels=labels),
        "clean_streak": GaugeMetricFamily(
            PREFIX + "clean_streak", "Windows in a row that breached none.", labels=labels),
    }
    window = GaugeMetricFamily(PREFIX + "window_metric",
                               "A metric of the version's last window run, as logged in MLflow.",
                               labels=[*labels, "metric"])
    labelled = GaugeMetricFamily(
        PREFIX + "labelled_window_metric",
        "A realized metric (perf.*, labels.coverage) of the version's last window run with "
        "labels (in the window, or joined later), as logged.", labels=[*labels, "metric"])
    labelled_end = GaugeMetricFamily(
        PREFIX + "labelled_window_end_timestamp_seconds",
        "End of the version's last window with labels (its start if it has no end).",
        labels=labels)
    aliases = GaugeMetricFamily(PREFIX + "version_alias",
                                "1 for each alias a version holds (@champion...).",
                                labels=[*labels, "alias"])
    for s in states:
        key = [s.model, s.version]
        for state in STATUSES:
            status.add_metric([*key, state], int(s.status == state))
        for name, family in gauges.items():
            value = getattr(s, name)
            if value is not None:
                family.add_metric(key, value)
        for metric, value in s.metrics.items():
            window.add_metric([*key, metric], value)
        for metric, value in s.labelled.items():
            labelled.add_metric([*key, metric], value)
        if s.labelled_window_end is not None:
            labelled_end.add_metric(key, s.labelled_window_end)
        for alias in s.aliases:
            aliases.add_metric([*key, alias], 1)
    yield from (status, *gauges.values(), window, labelled, labelled_end, aliases)


@dataclass
class Exporter:
    """A running exporter: its HTTP server, collector and refreshing thread; notes on what it
    was asked for that is not there (a model not registered)."""

    server: WSGIServer
    collector: DecayCollector
    interval: float
    notes: list[str]
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)

    @property
    def url(self) -> str:
        host, port = (str(part) for part in self.server.server_address[:2])
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{port}/metrics"

    def _refresh_loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.collector.refresh()

    def wait(self) -> None:
        """Serve until :meth:`stop` (or Ctrl-C)."""
        while not self._stop.wait(1.0):
            pass

    def stop(self) -> None:
        """Make :meth:`wait` return (safe in a signal handler)."""
        self._stop.set()

    def close(self) -> None:
        """Stop serving and reading the registry."""
        self._stop.set()
        self.server.shutdown()
        self.server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)


def serve(tracking_uri: str, *, models: Sequence[str] | None = None,
          metrics: Sequence[str] = DEFAULT_METRICS, interval: float = 60.0,
          host: str = "127.0.0.1", port: int = 9464) -> Exporter:
    """Read the registry once (its errors are raised: a tracking URI that cannot be read is
    refused at start), then serve ``/metrics`` on ``host:port`` (port 0: a free one) and read
    it again every ``interval`` seconds.

    :class:`RegistryError` for an sqlite store whose file does not exist (MLflow would create
    it) or a tracking server that cannot be reached, :class:`OSError` when the port cannot be
    bound.
    """
    from mlflow.exceptions import MlflowException

    _check_store(tracking_uri)
    client = registry.client_for(tracking_uri)
    collector = DecayCollector(lambda: read_snapshot(client, models, metrics), tracking_uri)
    try:
        collector.refresh(strict=True)
    except MlflowException as exc:
        if "Max retries exceeded" not in str(exc):
            raise
        raise RegistryError(_failure(exc, tracking_uri)) from exc
    notes = [_absent(client, m) for m, n in collector.snapshot.models.items() if n == 0]
    prom = CollectorRegistry(auto_describe=False)
    prom.register(collector)
    server, thread = start_http_server(port, addr=host, registry=prom)
    exporter = Exporter(server, collector, interval, notes)
    refresher = threading.Thread(target=exporter._refresh_loop, name="mlflow-decay-refresh",
                                 daemon=True)
    refresher.start()
    exporter._threads += [thread, refresher]
    return exporter


def _absent(client: MlflowClient, model: str) -> str:
    """Why a model asked for has no version exported: not registered, or none profiled."""
    try:
        registry.versions(client, model)
    except RegistryError as exc:
        return f"{exc}: exported as mlflow_decay_model_versions 0 until it is registered"
    return (f"model {model!r} has no version with an mlflow-decay profile: exported as "
            "mlflow_decay_model_versions 0 until one has")


def _failure(exc: BaseException, source: str) -> str:
    """Why ``source`` could not be read, in a line: a tracking server that does not answer
    (MLflow's "Max retries exceeded" with the socket's error), else the error's first line."""
    text = str(exc)
    if "Max retries exceeded" in text:
        cause = re.search(r"\[Errno -?\d+\] ([^'\")]+)", text)
        return f"tracking server {source} cannot be reached" + (
            f" ({cause.group(1).strip()})" if cause else "")
    return f"{source} cannot be read: {registry.first_line(exc)}"


def _check_store(tracking_uri: str) -> None:
    """Refuse an sqlite store that does not exist: opening it would create it."""
    if tracking_uri.startswith("sqlite:///"):
        path = tracking_uri.removeprefix("sqlite:///").split("?")[0]
        if path != ":memory:" and not Path(path).is_file():
            raise RegistryError(f"tracking store {tracking_uri}: no such database file "
                                f"({Path(path).resolve()})")

