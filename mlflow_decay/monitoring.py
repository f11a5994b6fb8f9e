"""Watching a model version: one window (:func:`evaluate`) or a period cut into windows
(:func:`monitor`) evaluated against the version's profile, logged as runs, and the version's
stage moved by the policy, once per window, only after the run that justifies it is logged."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any, cast

import pandas as pd
from mlflow import MlflowClient

from . import registry
from .core.evaluation import Evaluation, evaluate_window
from .core.frames import check_values, column_name
from .core.impact import first_crossing, impact_figures
from .core.policy import Policy
from .core.policy_file import as_policy
from .core.profile import Profile
from .core.report import DecayReport
from .core.rules import STATUSES, Status
from .core.times import is_open, outside_bounds, span_label, zone_note, zoned_bounds
from .engines.dispatch import (
    Source,
    evaluate_source,
    got,
    is_parquet,
    is_spark,
    page_rows,
    source_key,
)
from .engines.parquet import MAX_SORT_ROWS, parquet_batches, time_ordered
from .engines.partials import fingerprint_columns, finish_window, window_partial
from .engines.sources import read_table
from .engines.windows import Cut, Window, split_windows, stream_windows, window_key
from .errors import DataError
from .recording import REGISTRY_UNCHANGED, LoggedWindows, logged_state, record
from .registry import experiments, run_files, runs, timeline
from .registry.refusals import explained


@explained
def evaluate(
    model_uri: str,
    window: Source,
    *,
    policy: Policy | str | Path | None = None,
    log: bool = True,
    apply: bool = True,
    window_start: str | None = None,
    window_end: str | None = None,
    tracking_uri: str | None = None,
    experiment: str | None = None,
    force: bool = False,
    predicted_label: str | None = None,
    timezone: str | None = None,
) -> DecayReport:
    """Evaluate a production window against a model version's reference profile.

    A logged evaluation is identified by the version, the window bounds and the rows: the
    same window evaluated again is not logged twice nor counted twice by the hysteresis; its
    report comes back with ``skipped=True`` and the earlier run's id. Other rows with the same
    bounds replace the earlier verdict (see :func:`mlflow_decay.registry.plan_window`); a
    window that ends after now is provisional: logged, not applied. An evaluation cut short
    (a crash, a server gone) is completed first.

    Parameters
    ----------
    model_uri : str
        ``models:/<name>/<version>`` or ``models:/<name>@<alias>``.
    window : DataFrame, path or Spark DataFrame
        Production rows with the profile's features and prediction column(s); labels optional.
        A Parquet file or directory is read in batches (memory bounded whatever its size); a
        Spark DataFrame is evaluated on the executors.
    policy : Policy or path, optional
        Thresholds and actions; default the packaged policy (``mlflow-decay policy show``).
    log : bool
        Log the evaluation as an MLflow run in experiment ``mlflow-decay/<name>``.
    apply : bool
        Make the registry changes (status tags, alias removal, legacy stage). They are made only
        after the run is logged, so ``log=False`` changes nothing in the registry. A window
        logged with ``apply=False`` does not count as logged: evaluated again (applying), it
        is logged and applied.
    window_start, window_end : str, optional
        ISO 8601 bounds of the window (without an offset: UTC, or ``timezone``'s time), stored
        as UTC ISO 8601 run tags; the start must come before the end.
    tracking_uri : str, optional
    experiment : str, optional
        Experiment name overriding ``mlflow-decay/<name>``.
    force : bool
        Log a window already logged once more (its verdict still moves the version once).
    predicted_label : str, optional
        The window's column holding each row's decided class: it replaces the profile's
        threshold (or arg-max) for the realized accuracy, precision, recall and F1.
    timezone : str, optional
        The IANA time zone (``"America/New_York"``) on whose clock bounds without an offset
        are read, and the window shown, as :func:`monitor` with ``timezone`` cuts and shows
        its windows (the run is tagged with it): New York's March 8 is one window, whichever
        of the two logged it. Needs a bound.

    Returns
    -------
    DecayReport
    """
    window_start, window_end, timezone = zoned_bounds(window_start, window_end, timezone)
    experiments.check_experiment(experiment)
    registry.lock_settle()  # a bad MLFLOW_DECAY_LOCK_SETTLE fails before anything is logged
    pol = as_policy(policy)
    client = registry.client_for(tracking_uri)
    ref = registry.resolve(client, model_uri)
    profile = with_decisions(registry.profile_of(client, ref, shared=True), predicted_label)
    with tempfile.TemporaryDirectory() if log else contextlib.nullcontext("") as tmp:
        # a streamed window's row ids and outputs, written batch by batch, for late labels
        stored = Path(tmp) / run_files.OUTPUTS_FILE if log else None
        result, frame, rows = evaluate_source(profile, window, pol, stored, fingerprint=log)
        result.notes.extend(outside_notes(profile.timestamp_column, window, frame,
                                           window_start, window_end, timezone))
        key = source_key(profile, window if frame is None else frame, pol.business, rows, partial(
            window_key, ref.name, ref.version, ref.profile_sha256, window_start, window_end,
            provisional=is_open(window_end)))  # not logged: the rows' fingerprint when needed
        done: LoggedWindows | None = None
        series = None
        if log and isinstance(key, str):
            ref, done, series = logged_state(client, ref, experiment, key)
        repeat = log and not force and done is not None and key in done
        report, _ = record(client, ref, profile, result, frame, pol, log=log and not repeat,
                            apply=apply, window_start=window_start, window_end=window_end,
                            experiment=experiment, window_key=key, series=series,
                            outputs_file=stored if stored is not None and stored.exists() else None,
                            timezone=timezone,
                            page_window=_page_window(ref, profile, window, frame, log and not repeat))
    if repeat:
        assert done is not None and isinstance(key, str)  # what repeat means
        earlier = done[key]
        report.skipped, report.run_id, report.actions = True, earlier, []
        # a window cut on a zone's clock is shown on it, as its run names it
        logged = done.run(key)
        report.timezone = (None if logged is None else (
            logged.data.tags.get(registry.TIMEZONE) or None)) or timezone
        report.status = cast(Status, ref.status if ref.status in STATUSES else report.status)
        # the preview's "registry unchanged: already applied" says what this note says
        report.notes = [n for n in report.notes if not n.startswith(REGISTRY_UNCHANGED)]
        report.notes.append(f"this window was logged before (run {earlier}): not logged or "
                            "applied again; force=True (--force) logs it again")
    return report


def with_decisions(profile: Profile, predicted_label: str | None) -> Profile:
    """``profile`` reading each row's decision from the column ``predicted_label`` (if given)."""
    if column_name(predicted_label, "predicted_label") is None:
        return profile
    if profile.task == "regression" or profile.target is None or not profile.prediction_columns:
        raise DataError("predicted_label needs a classifier whose profile names a target and "
                        "the model's scores")
    return replace(profile, predicted_label=predicted_label)


@explained
def monitor(
    model_uri: str,
    data: Source,
    *,
    timestamp_column: str | None = None,
    every: str | None = None,
    chunk_size: int | None = None,
    policy: Policy | str | Path | None = None,
    force: bool = False,
    log: bool = True,
    tracking_uri: str | None = None,
    experiment: str | None = None,
    progress: Callable[[int, int, DecayReport], None] | None = None,
    timestamp_unit: str | None = None,
    timezone: str | None = None,
    predicted_label: str | None = None,
) -> list[DecayReport]:
    """Evaluate a table window by window, in time order, driving the version's stage.

    Parameters
    ----------
    model_uri : str
    data : DataFrame, path or Spark DataFrame
        Production rows over a period. A Parquet file or directory is read in batches, one
        window at a time (memory bounded whatever its size) when its rows come in time order
        (checked first, reading the timestamp column only); then ``every`` must be a fixed
        duration (``1D``, ``6h``). Out of order, it is read whole and sorted, up to
        ``MAX_SORT_ROWS`` rows. A Spark DataFrame is cut by a fixed ``every`` too, in any row
        order, and each window is evaluated on the executors (one job per window, its rows
        picked by time: cache the DataFrame, or partition its source by date).
    timestamp_column : str, optional
        Orders the rows and, with ``every``, cuts them into calendar windows. Read as UTC
        times by :func:`mlflow_decay.core.times.timestamps`: datetimes, ISO 8601 text (any
        offsets), or text in one format for the whole column; numbers need ``timestamp_unit``.
    every : str, optional
        Window period as a pandas offset (``"1D"``, ``"6h"``, ``"1W"``).
    timezone : str, optional
        The IANA time zone (``"Europe/Berlin"``) on whose clock ``every`` runs: days start at
        its midnight (a day of a clock change is 23 or 25 hours); default UTC. The windows'
        bounds are stored as UTC times all the same, and timestamps without an offset are
        still read as UTC.
    chunk_size : int, optional
        Window size in rows (instead of ``every``).
    policy, tracking_uri, experiment
        As for :func:`evaluate`.
    force : bool
        Evaluate windows already logged (same model version, bounds and rows) again; by default
        a rerun skips them, so an interrupted monitor resumes where it stopped.
    log : bool
        ``False`` evaluates without logging or changing the registry; each report still shows
        the stage the logged run would reach (the hysteresis carried from window to window in
        memory, from the version's tags as they are), and the windows it would skip, logged
        before (unless ``force``), come back as it would return them.
    progress : callable, optional
        Called as ``progress(done, total, report)`` after each window.
    timestamp_unit : {"s", "ms", "us", "ns"}, optional
        What a timestamp given as a number counts since 1970 (required for such columns).
    predicted_label : str, optional
        As for :func:`evaluate`: each window's column of decided classes.

    Returns
    -------
    list of DecayReport
        One per window, in order; skipped windows have ``skipped=True``, their run id, and
        the window's verdict, reasons and metrics as that run logged them. A
        window still open (it ends after now) is provisional: logged, not applied.
    """
    experiments.check_experiment(experiment)
    column_name(timestamp_column, "timestamp_column")
    column_name(predicted_label, "predicted_label")
    cut = Cut(timestamp_column, every, chunk_size, timestamp_unit, timezone)
    cut.offset()  # checked before anything is read
    _check_table(data, chunk_size)
    registry.lock_settle()
    pol = as_policy(policy)
    spark = is_spark(data)
    streamed = not spark and _streams(data, cut)
    if not streamed and not spark:
        frame = data if isinstance(data, pd.DataFrame) else read_table(data)
        windows = split_windows(frame, cut)
    client = registry.client_for(tracking_uri)
    ref = registry.resolve(client, model_uri)
    profile = with_decisions(registry.profile_of(client, ref), predicted_label)
    done: LoggedWindows | None = None
    series: list[dict[str, Any]] = []
    if log:
        ref, done, series = logged_state(client, ref, experiment, complete=not force)
        done = None if force else done
    elif not force:  # a dry run skips the windows the real run would skip (read only)
        _, done, _ = logged_state(client, ref, experiment, complete=False)
    pending: Iterable[_Pending]
    with tempfile.TemporaryDirectory() as tmp:
        if spark:
            pending, total = _spark_windows(profile, ref, data, pol, cut, log)
        elif streamed:
            pending, total = _streamed_windows(profile, ref, cast(Path, data), pol, cut,
                                               Path(tmp) if log else None), 0
        else:
            # every window checked before the first is logged: a bad value anywhere refuses it
            pending = [_Pending.of(w, ref, profile, pol) for w in windows]
            total = len(windows)
        reports = _monitor_windows(client, ref, profile, pol, pending, done, series, log=log,
                                   experiment=experiment, total=total, progress=progress,
                                   timezone=cut.timezone, cut_by=cut.timestamp_column)
    _log_impact(client, pol, reports, profile)
    return reports


def _page_window(ref: registry.ModelVersionRef, profile: Profile, window: Source,
                 frame: pd.DataFrame | None, log: bool) -> pd.DataFrame | None:
    """A streamed Parquet window's feature rows read back for Evidently's page, when the
    version stores a reference sample for it (else ``None``)."""
    if not log or frame is not None or registry.SAMPLE_URI not in ref.tags:
        return None
    return page_rows(window, list(profile.features))


def outside_notes(column: str | None, window: Source, frame: pd.DataFrame | None,
                   start: str | None, end: str | None, timezone: str | None = None) -> list[str]:
    """The note of :func:`outside_bounds` for a window in memory or a Parquet source (its
    timestamp column read alone, in batches), the bounds on the clock of ``timezone``; with
    a zone, also :func:`zone_note` when the column's times carry no offset."""
    if column is None or (start is None and end is None):
        return []

    def parts() -> Iterable[pd.Series]:
        if frame is None:  # a Parquet source
            return (b[column] for b in parquet_batches(window, [column])())
        if column in frame:
            return [frame[column]]
        return [frame.index.get_level_values(column).to_series()]  # a time-indexed window

    if frame is not None and column not in frame and column not in frame.index.names:
        return []
    if frame is None and not (isinstance(window, (str, Path)) and is_parquet(window)):
        return []
    with contextlib.suppress(DataError):  # a source without the column: nothing to say
        note = outside_bounds(parts(), column, start, end, timezone)
        first = None if timezone is None else next(iter(parts()), None)
        naive = None if first is None else zone_note(first, column, timezone,
                                                     "places the window's bounds")
        return [n for n in (note, naive) if n is not None]
    return []


def _check_table(data: object, chunk_size: int | None) -> None:
    """Refuse what :func:`monitor` cannot cut into windows, saying what it reads instead."""
    if is_spark(data):
        if chunk_size is not None:
            raise DataError("a Spark DataFrame's rows have no order to cut windows of "
                            f"{chunk_size:,} rows from: cut them by a period of their "
                            "timestamp column (every=, --window)")
    elif not isinstance(data, (pd.DataFrame, str, Path)):
        raise DataError("monitor reads a pandas DataFrame, a path to a CSV or Parquet file, or "
                        f"a Spark DataFrame; got {got(data)}")


def _streams(data: pd.DataFrame | str | Path, cut: Cut) -> bool:
    """Whether a monitor reads ``data`` in batches: a Parquet source whose rows come in time
    order (else it is read whole, and sorted up to ``MAX_SORT_ROWS`` rows)."""
    if not (isinstance(data, (str, Path)) and Path(data).exists() and is_parquet(data)):
        return False
    timestamp_column = cut.timestamp_column
    if timestamp_column is None:
        return True
    ordered, count = time_ordered(data, timestamp_column, cut.timestamp_unit)
    if not ordered and count > MAX_SORT_ROWS:
        raise DataError(f"column {timestamp_column!r}: the {count:,} rows are not in time "
                        f"order, and more than {MAX_SORT_ROWS:,} are too many to sort in "
                        "memory; write the files in time order to stream them")
    return ordered  # out of order but small: read whole and sorted, as a DataFrame


def _log_impact(client: MlflowClient, pol: Policy, reports: list[DecayReport],
                profile: Profile) -> None:
    """Log what the decay cost (:func:`impact_figures`) into the last window logged."""
    last = next((r for r in reversed(reports) if not r.skipped and r.run_id), None)
    if last is not None and last.run_id is not None:
        figures = impact_figures([r.window_status for r in reports], [r.rows for r in reports],
                                 [r.status for r in reports],
                                 first_crossing(pol, reports, profile.bands))
        if figures:
            run = client.get_run(last.run_id)
            runs.add_metrics(client, run, figures, {})
            timeline.add_metrics(client, run, figures)
            last.metrics.update(figures)


def _monitor_windows(client: MlflowClient, ref: registry.ModelVersionRef, profile: Profile,
                     pol: Policy, pending: Iterable[_Pending], done: LoggedWindows | None,
                     series: list[dict[str, Any]], *, log: bool, experiment: str | None,
                     total: int, progress: Callable[[int, int, DecayReport], None] | None,
                     timezone: str | None = None, cut_by: str | None = None
                     ) -> list[DecayReport]:
    """Evaluate and record a monitor's windows in order (skipping those in ``done``), cut on
    the clock of ``timezone`` by the column ``cut_by``; a :class:`DataError` in a streamed
    window says which windows were logged before it."""
    reports: list[DecayReport] = []
    try:
        _record_windows(client, ref, profile, pol, pending, done, series, reports, log=log,
                        experiment=experiment, total=total, progress=progress,
                        timezone=timezone, cut_by=cut_by)
    except DataError as exc:
        logged = [r for r in reports if r.run_id is not None and not r.skipped]
        if not logged:
            raise
        first, last = logged[0], logged[-1]
        which = (f"window {first.step} was" if first is last
                 else f"windows {first.step}-{last.step} were")
        raise DataError(
            f"{exc}; window {len(reports) + 1} was not evaluated, and {which} logged before it "
            f"({span_label(first.window_start, last.window_end, timezone)}): fix the data and monitor "
            "again (logged windows are skipped)") from exc
    return reports


def _record_windows(client: MlflowClient, ref: registry.ModelVersionRef, profile: Profile,
                    pol: Policy, pending: Iterable[_Pending], done: LoggedWindows | None,
                    series: list[dict[str, Any]], reports: list[DecayReport], *, log: bool,
                    experiment: str | None, total: int,
                    progress: Callable[[int, int, DecayReport], None] | None,
                    timezone: str | None = None, cut_by: str | None = None) -> None:
    """The loop of :func:`_monitor_windows`, each window's report appended to ``reports``."""
    for window in pending:
        if done is not None and window.key in done:
            # as it was logged: its verdict, the stage it led to and its metrics
            point = done.point(window.key)
            current = ref.status if ref.status in STATUSES else "healthy"
            status = cast(Status, point.get("status") if point.get("status") in STATUSES
                          else current)
            verdict = cast(Status, point.get("window_status")
                           if point.get("window_status") in STATUSES else status)
            report = DecayReport(
                model_uri=ref.uri, model_name=ref.name, model_version=ref.version,
                status=status, window_status=verdict, previous_status=ref.status,
                reasons=list(point.get("reasons", [])),
                metrics=dict(point.get("metrics", {})), rows=window.rows,
                run_id=done[window.key], window_start=window.start,
                window_end=window.end, step=window.index + 1, window_key=window.key, skipped=True,
                policy=pol.source, timezone=timezone)
        else:
            if log:
                ref = registry.resolve(client, ref.uri)  # the previous window moved its tags
            result, rows = window.evaluate()
            # the column the windows were cut by is read, not an extra column ignored
            result.extra_columns = [c for c in result.extra_columns if c != cut_by]
            report, planned = record(client, ref, profile, result, rows, pol, log=log,
                                      apply=log, window_start=window.start,
                                      window_end=window.end, experiment=experiment,
                                      step=window.index + 1, window_key=window.key, series=series,
                                      outputs_file=window.outputs, timezone=timezone)
            if not log:  # a dry run: the next window starts from this one's planned stage
                ref = registry.simulate(ref, planned)
        if window.outputs is not None:
            window.outputs.unlink(missing_ok=True)
        reports.append(report)
        if progress is not None:
            progress(len(reports), total, report)


@dataclass
class _Pending:
    """A window to evaluate: where it sits, its identity, and how to evaluate it."""

    index: int
    start: str | None
    end: str | None
    rows: int
    key: str
    evaluate: Callable[[], tuple[Evaluation, pd.DataFrame | None]]
    outputs: Path | None = None  # a streamed window's stored row ids and outputs

    @classmethod
    def of(cls, window: Window, ref: registry.ModelVersionRef, profile: Profile, pol: Policy
           ) -> _Pending:
        """A window in memory, its values checked: its key is cheap, its evaluation waits."""
        check_values(profile, window.frame)  # the rows' fingerprint reads the profile's columns
        return cls(window.index, window.start, window.end, len(window.frame),
                   window.key(ref.name, ref.version, ref.profile_sha256,
                              fingerprint_columns(profile, pol.business)),
                   lambda: (evaluate_window(profile, window.frame, pol), window.frame))


def _spark_windows(profile: Profile, ref: registry.ModelVersionRef, frame: Any, pol: Policy,
                   cut: Cut, fingerprint: bool) -> tuple[Iterator[_Pending], int]:
    """Windows of a Spark DataFrame, each evaluated on the executors (a job per window, its
    rows picked by time) as it comes; and how many there are."""
    from .engines.spark import evaluate_spark, spark_windows

    if cut.timestamp_column is None or cut.every is None:
        raise DataError("a Spark DataFrame's windows are cut by a period (every=, --window) of "
                        "its timestamp column (timestamp_column=, --timestamp-column)")
    windows = spark_windows(frame, cut)

    def pending() -> Iterator[_Pending]:
        for index, start, end, during in windows:
            result, rows = evaluate_spark(profile, frame, pol, fingerprint, during)
            yield _Pending(index, start, end, result.rows,
                           window_key(ref.name, ref.version, ref.profile_sha256, start, end,
                                      rows, is_open(end)),
                           lambda result=result: (result, None))  # type: ignore[misc]

    return pending(), len(windows)


def _streamed_windows(profile: Profile, ref: registry.ModelVersionRef, path: str | Path,
                      pol: Policy, cut: Cut, tmp: Path | None = None) -> Iterator[_Pending]:
    """Windows of a Parquet source read in batches: each is evaluated while it is read (its
    key needs its rows), one window's batch in memory at a time; with ``tmp``, each window's
    row ids and outputs are written there (one file per window, for late labels)."""
    source = parquet_batches(path)
    windows = stream_windows(source(), cut)
    while True:
        with source.naming_file():  # reading the next window's first batch, then the rest
            window = next(windows, None)
            if window is None:
                return
            stored = None
            if tmp is not None:
                stored = tmp / str(window.index) / run_files.OUTPUTS_FILE
                stored.parent.mkdir()
            part = window_partial(profile, window.pieces, pol.business, outputs=stored)
        result = finish_window(profile, part.stats, part.sample, pol)
        yield _Pending(window.index, window.start, window.end, result.rows,
                       window_key(ref.name, ref.version, ref.profile_sha256, window.start,
                                  window.end, part.fingerprint, is_open(window.end)),
                       lambda result=result: (result, None),  # type: ignore[misc]
                       part.outputs)
