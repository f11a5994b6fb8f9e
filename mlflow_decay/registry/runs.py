"""Logging evaluations as MLflow runs: one run per window, a time series per model version."""

from __future__ import annotations

import contextlib
import json
import os
import posixpath
import re
import socket
import tempfile
import time
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path

import pandas as pd
from mlflow import MlflowClient
from mlflow.entities import Metric, Run, RunTag
from mlflow.exceptions import MlflowException

from ..core.evaluation import LABEL_COVERAGE
from ..core.panels import SERIES_WINDOWS
from ..core.policy import Policy
from ..core.report import Comparison, DecayReport
from ..core.times import parse_time, span_label
from ..errors import DataError
from .description import noted, window_note
from .experiments import (
    comparison_experiment_name_for,
    create_run,
    experiment_ids,
    experiment_name_for,
)
from .model_versions import equals
from .refusals import refusal
from .run_files import OUTPUTS_FILE, REPORT_JSON
from .tags import (
    COMPARE_LABELS,
    COMPARE_MODELS,
    KIND,
    LAST_RUN_ID,
    MODEL_NAME,
    MODEL_URI,
    MODEL_VERSION,
    OUTPUTS,
    OWNER,
    PLANNED,
    POLICY,
    POLICY_SHA256,
    PROFILE_DIR,
    PROFILE_SHA256,
    PROVISIONAL,
    REASONS,
    REGISTRY_ACTIONS,
    RESTORED_BY_HAND,
    ROWS,
    RUN_NOTE,
    STATUS,
    TIMEZONE,
    WINDOW_END,
    WINDOW_KEY,
    WINDOW_START,
    WINDOW_STATUS,
    ModelVersionRef,
    compare_status,
)

#: A RUNNING run of another machine counts as interrupted after this many seconds.
STALE_SECONDS = 900


def owner() -> str:
    """This process, as ``host:pid``."""
    return f"{socket.gethostname()}:{os.getpid()}"


def in_progress(run: Run) -> bool:
    """Whether a run that is not FINISHED may still be logged by a live process: its owner is
    alive on this machine, or it is another machine's and younger than ``STALE_SECONDS``."""
    if run.info.status != "RUNNING":
        return False
    host, _, pid = run.data.tags.get(OWNER, "").rpartition(":")
    if host != socket.gethostname():
        return bool(host) and time.time() - run.info.start_time / 1000 < STALE_SECONDS
    if not pid.isdigit() or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True

_BATCH = 1000


def log_profile_run(client: MlflowClient, ref: ModelVersionRef, directory: Path) -> str:
    """Store a profile's files in a dedicated run (versions without a LoggedModel); the URI of
    their folder."""
    run = create_run(
        client, ref.name, run_name=f"profile {ref.name} v{ref.version}",
        tags={KIND: "profile", MODEL_NAME: ref.name,
              MODEL_VERSION: ref.version})
    client.log_artifacts(run.info.run_id, str(directory), artifact_path=PROFILE_DIR)
    client.set_terminated(run.info.run_id)
    return f"runs:/{run.info.run_id}/{PROFILE_DIR}"


def log_evaluation(client: MlflowClient, ref: ModelVersionRef, report: DecayReport,
                   experiment: str | None = None, outputs: pd.DataFrame | Path | None = None,
                   finish: bool = True, policy: Policy | None = None) -> str:
    """Log one evaluated window as a run; return its id.

    The run is tagged with the model name, version, window bounds and status; it holds every
    metric of the report and the artifact ``decay_report.json`` (with ``policy``, the effective
    policy that judged it, also tagged by its hash); ``outputs`` (row ids and the
    model's outputs, for labels that arrive later: a table, or a Parquet file of that name)
    goes to ``window_outputs.parquet``. A run
    that fails half-way is marked FAILED; with ``finish=False`` it stays RUNNING for the caller
    to finish once everything the window implies is done (only FINISHED runs count as logged).
    """
    tags = {
        KIND: "evaluation",
        MODEL_NAME: ref.name,
        MODEL_VERSION: ref.version,
        MODEL_URI: ref.uri,
        STATUS: report.status,
        WINDOW_STATUS: report.window_status,
        WINDOW_START: report.window_start or "",
        WINDOW_END: report.window_end or "",
        **({TIMEZONE: report.timezone} if report.timezone else {}),
        **({PROVISIONAL: "true"} if report.provisional else {}),
        ROWS: str(report.rows),
        PROFILE_SHA256: ref.profile_sha256,
        REASONS: reasons_text(report.reasons),
        **({WINDOW_KEY: report.window_key} if report.window_key else {}),
        OWNER: owner(),
    }
    tags[RUN_NOTE] = window_note(tags)
    check_metric_names(report.metrics)  # before the run exists: bad names leave no run
    run_name = window_run_name(ref.name, ref.version, report.window_start, report.window_end,
                               report.window_status, report.provisional,
                               timezone=report.timezone)
    run = create_run(client, ref.name, experiment, tags=tags, run_name=run_name)
    exp_id, run_id = run.info.experiment_id, run.info.run_id
    try:
        _discard_twins(client, exp_id, run_id, tags)
        stamp = _millis(report.window_end)
        # not linked to the version's LoggedModel (model_id=): MLflow returns every linked
        # point with the LoggedModel, which each command reads for the profile's location
        # (85,000 points, 2 s a read, after 1,000 daily windows)
        metrics = [Metric(k, v, stamp, report.step) for k, v in report.metrics.items()]
        for i in range(0, len(metrics), _BATCH):
            client.log_batch(run_id, metrics=metrics[i:i + _BATCH])
        report.run_id = run_id
        stored = report.to_dict()
        if policy is not None:  # which thresholds judged it, after a policy file changed
            stored["policy_effective"] = policy.to_dict()
        client.log_dict(run_id, stored, REPORT_JSON)
        tags_after = [RunTag(POLICY, report.policy[:500]),
                      *([RunTag(POLICY_SHA256, policy.sha256())] if policy is not None else [])]
        if isinstance(outputs, Path):  # written batch by batch as the window was read
            client.log_artifact(run_id, str(outputs))
        elif outputs is not None:
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / OUTPUTS_FILE
                outputs.to_parquet(path, index=False)
                client.log_artifact(run_id, str(path))
        if outputs is not None:
            tags_after.append(RunTag(OUTPUTS, OUTPUTS_FILE))
        client.log_batch(run_id, tags=tags_after)
    except BaseException:
        with contextlib.suppress(Exception):  # the server may be what failed
            client.set_terminated(run_id, "FAILED")
        report.run_id = None
        raise
    if finish:
        client.set_terminated(run_id, "FINISHED")
    return run_id


def window_run_name(model_name: str, version: str, start: str | None, end: str | None,
                    verdict: str, provisional: bool = False, step: int | None = None,
                    timezone: str | None = None) -> str:
    """A window run's name, its dates first: ``2026-02-02 → 02-09 v1 degraded`` (on the
    clock of ``timezone``, with offsets, when given); without dates ``window 3 v1 degraded``
    (its step in the version's timeline) or, before it has one, ``churn v1 degraded``."""
    label = span_label(start, end, timezone) or (model_name if step is None else f"window {step}")
    return f"{label} v{version} {verdict}{' (open)' if provisional else ''}".rstrip()


#: Metric names MLflow takes: at most 250 characters of these, and a plain path.
_METRIC_NAME = re.compile(r"[/\w.\- ]{1,250}")


def check_metric_names(names: Iterable[str]) -> None:
    """Refuse (:class:`DataError`) a metric name MLflow would refuse once the run exists."""
    for name in names:
        if not _METRIC_NAME.fullmatch(name) or posixpath.normpath(name) != name:
            raise DataError(f"metric name {name[:80]!r}{'…' if len(name) > 80 else ''} "
                            f"({len(name)} characters) cannot be logged to MLflow (at most 250 "
                            "letters, digits, spaces and _-./, a plain path)")


def _discard_twins(client: MlflowClient, exp_id: str, run_id: str, tags: dict[str, str]) -> None:
    """Delete the twins of a run just created: a creation whose response was lost (a gateway
    timing out after the server did the work) is made again by the client's retry, and the
    first run stays RUNNING and empty, with the very same tags (this process as its owner)."""
    where = " AND ".join([equals(f"tags.`{OWNER}`", tags[OWNER]),
                          *_version_clauses(tags[MODEL_NAME], tags[MODEL_VERSION]),
                          "attributes.status = 'RUNNING'"])
    for run in client.search_runs([exp_id], filter_string=where, max_results=1000):
        if (run.info.run_id != run_id and PLANNED not in run.data.tags
                and all(run.data.tags.get(k) == v for k, v in tags.items())):
            client.delete_run(run.info.run_id)


#: Runs read per request of :func:`search_all` (the most MLflow's stores return at once).
SEARCH_PAGE = 50_000


def search_all(client: MlflowClient, experiment_ids: list[str], where: str) -> list[Run]:
    """Every run the filter selects, oldest first, page after page: one search returns at
    most ``SEARCH_PAGE`` runs, and a model watched for years (hourly windows, many versions)
    has more; the newest would be left out."""
    found: list[Run] = []
    token: str | None = None
    while True:
        page = client.search_runs(experiment_ids, filter_string=where, max_results=SEARCH_PAGE,
                                  order_by=["attributes.start_time ASC"], page_token=token)
        found.extend(page)
        token = page.token
        if not token:
            return found


def unfinished_windows(found: list[Run]) -> dict[str, list[Run]]:
    """The evaluation runs among ``found`` (:func:`window_runs`) that never finished (a
    crash, a server that went away), by window key."""
    out: dict[str, list[Run]] = {}
    for run in found:
        key = run.data.tags.get(WINDOW_KEY)
        if run.info.status != "FINISHED" and run.data.tags.get(KIND) == "evaluation" and key:
            out.setdefault(key, []).append(run)
    return out


def record_plan(client: MlflowClient, run_id: str, actions: list[dict[str, str | None]]) -> None:
    """Store on a run the registry changes it is about to make, before making them: a run
    interrupted half-way through them can then be completed exactly (``planned_actions``)."""
    client.set_tag(run_id, PLANNED, json.dumps(actions))


def reasons_text(reasons: list[str]) -> str:
    """A window's reasons as its run's ``mlflow_decay.reasons`` tag: every one, whole, that
    fits in 5,000 characters (``history`` and a rerun's report read them back; the first five
    were kept, so a window of ten breaches showed "(+4 more)")."""
    kept: list[str] = []
    for reason in reasons:
        if kept and len("; ".join([*kept, reason])) > 5000:
            break
        kept.append(reason)
    return "; ".join(kept)[:5000]


def planned_actions(run: Run) -> list[dict[str, str | None]] | None:
    """The registry changes a run planned (``None`` if it planned none)."""
    text = run.data.tags.get(PLANNED)
    return None if text is None else list(json.loads(text))


def _millis(when: str | None) -> int:
    if when:
        try:
            return int(datetime.fromisoformat(when).timestamp() * 1000)
        except ValueError:
            pass
    return int(time.time() * 1000)


def evaluation_runs(client: MlflowClient, ref: ModelVersionRef, experiment: str | None = None,
                    window_key: str | None = None, newest: int | None = None) -> list[Run]:
    """A version's finished evaluation runs (of one window, if given; only the ``newest``
    logged, if given), in window order."""
    return _in_window_order(decay_runs(client, ref.name, ref.version, ("evaluation",),
                                       experiment, window_key, newest))


def _in_window_order(runs: list[Run]) -> list[Run]:
    return sorted(runs, key=lambda r: (*window_time(r), r.info.start_time))


def window_time(run: Run) -> tuple[bool, float]:
    """A run's place in window order: runs without a readable window start first, then by
    start time (compared as times, whatever their offsets)."""
    stamp = parse_time(run.data.tags.get(WINDOW_START))
    return stamp is not None, 0.0 if stamp is None else stamp.timestamp()


def decay_runs(client: MlflowClient, model_name: str, version: str | None,
               kinds: tuple[str, ...], experiment: str | None = None,
               window_key: str | None = None, newest: int | None = None) -> list[Run]:
    """Finished mlflow-decay runs of a model (one version, or all) of the given kinds (and of
    one window, if given), oldest first; comparisons are also read from their own experiment
    when ``experiment`` is not given. ``newest``: only the runs logged last, that many at
    most (one search, whatever the history's length)."""
    found = experiment_ids(client, model_name, kinds, experiment)
    return _finished(client, found, model_name, version, kinds, window_key, newest)


def window_runs(client: MlflowClient, ref: ModelVersionRef, experiment: str | None,
                key: str | None = None) -> tuple[list[Run], list[Run], list[Run]]:
    """What logging a version's windows reads, in three searches whatever the length of its
    history: its finished evaluation runs of window ``key`` (in window order; none without
    a key), its runs that are not finished (oldest first), and its finished evaluation runs
    logged last, as many as a series plot shows (in window order)."""
    found = experiment_ids(client, ref.name, ("evaluation",), experiment)
    if not found:
        return [], [], []
    where = [*_version_clauses(ref.name, ref.version), "attributes.status != 'FINISHED'"]
    unfinished = [r for r in search_all(client, found, " AND ".join(where))
                  if _of_version(r, ref.name, ref.version)]
    of_key = ([] if key is None else
              _in_window_order(_finished(client, found, ref.name, ref.version, ("evaluation",), key)))
    return (of_key, unfinished,
            _in_window_order(_finished(client, found, ref.name, ref.version, ("evaluation",),
                                       newest=SERIES_WINDOWS)))


def _finished(client: MlflowClient, experiment_ids: list[str], model_name: str,
              version: str | None, kinds: tuple[str, ...], window_key: str | None = None,
              newest: int | None = None) -> list[Run]:
    """:func:`decay_runs` in experiments already found."""
    if not experiment_ids:
        return []
    where = [*_version_clauses(model_name, version), "attributes.status = 'FINISHED'"]
    if len(kinds) == 1:  # MLflow's filter has no IN for tags: several kinds are picked below
        where.append(equals(f"tags.`{KIND}`", kinds[0]))  # a version's restores: not its windows
    if window_key is not None:
        where.append(equals(f"tags.`{WINDOW_KEY}`", window_key))
    if newest is None:
        runs = search_all(client, experiment_ids, " AND ".join(where))
    else:
        runs = client.search_runs(experiment_ids, filter_string=" AND ".join(where),
                                  max_results=newest, order_by=["attributes.start_time DESC"])[::-1]
    return [r for r in runs if r.data.tags.get(KIND) in kinds
            and _of_version(r, model_name, version)]


def _version_clauses(model_name: str, version: str | None) -> list[str]:
    """Search-filter clauses selecting the runs of a model (and one version of it)."""
    return [equals(f"tags.`{MODEL_NAME}`", model_name),
            *([] if version is None else [equals(f"tags.`{MODEL_VERSION}`", version)])]


def _of_version(run: Run, model_name: str, version: str | None) -> bool:
    """Whether a run is of the model (and version): exactly, as a LIKE clause may match more."""
    tags = run.data.tags
    return tags.get(MODEL_NAME) == model_name and (
        version is None or tags.get(MODEL_VERSION) == version)


def retag(client: MlflowClient, run_id: str, tags: Mapping[str, str],
          changes: Mapping[str, str]) -> None:
    """Set ``changes`` on the window run ``run_id`` (whose tags are ``tags``), its description
    rewritten to match."""
    client.log_batch(run_id, tags=[RunTag(k, v) for k, v in noted(tags, changes).items()])


def log_restore(client: MlflowClient, ref: ModelVersionRef, reason: str,
                experiment: str | None = None) -> str:
    """Record a by-hand return to healthy as a run (the history reads it back)."""
    run = create_run(
        client, ref.name, experiment, run_name=f"restore {ref.uri}",
        tags={KIND: "restore", MODEL_NAME: ref.name,
              MODEL_VERSION: ref.version, MODEL_URI: ref.uri,
              STATUS: "healthy", REASONS: (RESTORED_BY_HAND + reason)[:5000]})
    client.set_terminated(run.info.run_id, "FINISHED")
    return run.info.run_id


def add_metrics(client: MlflowClient, run: Run, metrics: dict[str, float],
                tags: dict[str, str]) -> None:
    """Add metrics (at the run's step and window time) and tags to an existing run. A metric
    the run holds already gets its new value just after its earlier points: at the same step
    and time MLflow would keep the larger of the two as the run's value, not the newer."""
    step = next(iter(client.get_metric_history(run.info.run_id, "quality.rows")), None)
    stamp = step.timestamp if step else _millis(run.data.tags.get(WINDOW_END))
    again = [k for k in metrics if k in run.data.metrics]
    if again:
        stamp = 1 + max([stamp - 1, *(p.timestamp for k in again
                                      for p in client.get_metric_history(run.info.run_id, k))])
    batch = [Metric(k, v, stamp, step.step if step else 0) for k, v in metrics.items()]
    for i in range(0, len(batch), _BATCH):
        client.log_batch(run.info.run_id, metrics=batch[i:i + _BATCH])
    client.log_batch(run.info.run_id, tags=[RunTag(k, v) for k, v in tags.items()])


def log_comparison(client: MlflowClient, refs: list[ModelVersionRef], comparison: Comparison,
                   experiment: str | None = None, extra: dict[str, str] | None = None) -> str:
    """Log a champion/challenger comparison as one finished run tagged with both versions
    (and the ``extra`` tags), in ``experiment`` (default ``mlflow-decay/<model>/compare``),
    named after them and its window (on its zone's clock)."""
    tags = {**(extra or {}), KIND: "comparison", MODEL_NAME: refs[0].name,
            COMPARE_MODELS: ",".join(r.uri for r in refs),
            COMPARE_LABELS: ",".join(comparison.labels),
            **{compare_status(label): s
               for label, s in zip(comparison.labels, comparison.statuses, strict=True)}}
    check_metric_names(comparison.metrics)
    window = span_label(comparison.window_start, comparison.window_end, comparison.timezone)
    name = f"compare {' vs '.join(r.uri for r in refs)}" + (f", {window}" if window else "")
    run = create_run(client, refs[0].name,
                     experiment or comparison_experiment_name_for(refs[0].name), tags=tags,
                     run_name=name)
    run_id = run.info.run_id
    try:
        stamp = int(time.time() * 1000)
        metrics = [Metric(k, v, stamp, 0) for k, v in comparison.metrics.items()]
        for i in range(0, len(metrics), _BATCH):
            client.log_batch(run_id, metrics=metrics[i:i + _BATCH])
        client.log_dict(run_id, {**comparison.to_dict(), "run_id": run_id}, "comparison.json")
    except BaseException:
        client.set_terminated(run_id, "FAILED")
        raise
    client.set_terminated(run_id, "FINISHED")
    return run_id


def record_actions(client: MlflowClient, run_id: str, actions: list[str]) -> None:
    """Note on a run the registry changes it justified (read back by ``history``)."""
    if actions:
        client.set_tag(run_id, REGISTRY_ACTIONS, "; ".join(actions)[:5000])


def window_of(client: MlflowClient, run_id: str) -> dict[str, str | None] | None:
    """The bounds of the window a run evaluated (``None`` when the run is gone, or evaluated
    no window: a restore by hand)."""
    try:
        return bounds_of(client.get_run(run_id))
    except MlflowException:
        return None


def bounds_of(run: Run) -> dict[str, str | None] | None:
    """The bounds of the window an evaluation run evaluated (``None`` for other runs), with
    ``timezone`` when it was cut on a zone's clock (:func:`zone_of`)."""
    tags = run.data.tags
    if tags.get(KIND) != "evaluation":
        return None
    return {"start": tags.get(WINDOW_START) or None, "end": tags.get(WINDOW_END) or None,
            **zone_of(run)}


def zone_of(run: Run) -> dict[str, str]:
    """``{"timezone": name}`` for a window run cut on a zone's clock (tag ``TIMEZONE``); else
    ``{}``: a window on UTC's clock is described as before there were zones."""
    zone = run.data.tags.get(TIMEZONE)
    return {"timezone": zone} if zone else {}


def last_window_run(client: MlflowClient, ref: ModelVersionRef) -> Run | None:
    """The run of the version's last applied window (tag ``last_run_id``); after a restore by
    hand (that tag names the restore run), or when that run was deleted in MLflow's UI (it is
    still returned, marked deleted), the last in window order of the evaluation runs logged
    last in the same experiment (as many as a series plot shows)."""
    run_id = ref.tags.get(LAST_RUN_ID)
    if not run_id:
        return None
    try:
        run = client.get_run(run_id)
    except MlflowException as exc:
        if exc.error_code != "RESOURCE_DOES_NOT_EXIST":
            refused = refusal(exc, client, "read_run", (
                f"{ref.uri}: the run of its last window, {run_id}, cannot be read (it is in "
                f"experiment {experiment_name_for(ref.name)!r} unless logged with "
                "--experiment)"))
            if refused is None:
                raise
            raise refused from exc
        return None  # deleted since: the version shows without window metrics
    if run.data.tags.get(KIND) == "evaluation" and run.info.lifecycle_stage != "deleted":
        return run
    found = evaluation_runs(client, ref, client.get_experiment(run.info.experiment_id).name,
                            newest=SERIES_WINDOWS)
    return found[-1] if found else None


def last_labelled_run(client: MlflowClient, ref: ModelVersionRef, experiment_id: str
                      ) -> Run | None:
    """The version's evaluation run logged last among those whose window has labels (in the
    window, or joined later: metric ``labels.coverage`` above 0), in experiment
    ``experiment_id``; ``None`` when none has."""
    where = [*_version_clauses(ref.name, ref.version), "attributes.status = 'FINISHED'",
             equals(f"tags.`{KIND}`", "evaluation"), f"metrics.`{LABEL_COVERAGE}` > 0"]
    found = [r for r in client.search_runs([experiment_id], filter_string=" AND ".join(where),
                                           max_results=5, order_by=["attributes.start_time DESC"])
             if _of_version(r, ref.name, ref.version)]
    return found[0] if found else None
