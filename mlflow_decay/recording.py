"""Recording one evaluated window: its stage decided by the policy, its run logged with the
report's pages, and only then the registry changes it justifies (under the version's lease),
its point in the version's timeline, and the run finished; what an interrupted recording left
is completed by the next one (:func:`complete_interrupted`)."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pandas as pd
from mlflow import MlflowClient
from mlflow.entities import Run

from . import registry
from .core.evaluation import Evaluation
from .core.panels import SERIES_WINDOWS
from .core.policy import Policy
from .core.profile import Profile
from .core.report import DecayReport
from .core.rules import Status
from .core.times import is_open, span_label
from .core.window import WindowStats
from .engines.partials import missing_ids, stored_outputs
from .errors import RegistryError
from .registry import experiments, refusals, run_files, runs, timeline


def record(client: MlflowClient, ref: registry.ModelVersionRef, profile: Profile,
           result: Evaluation, frame: pd.DataFrame | None, pol: Policy, *, log: bool,
           apply: bool, window_start: str | None, window_end: str | None,
           experiment: str | None, step: int = 0,
           window_key: str | Callable[[], str] | None = None,
           series: list[dict[str, Any]] | None = None, outputs_file: Path | None = None,
           timezone: str | None = None, page_window: pd.DataFrame | None = None
           ) -> tuple[DecayReport, tuple[registry.Action, ...]]:
    """Decide a window's stage from its evaluation, log the run, then change the registry.

    The run stores the window's row ids and outputs: from ``frame`` when it holds the id
    column, else the streamed window's ``outputs_file``. Returns the report and the registry
    changes planned from ``ref`` as given (a dry run carries them over to its next window with
    :func:`registry.simulate`). ``timezone``: the zone whose clock cut the window (shown in
    its labels, tagged on the run)."""
    window_status, breaches = pol.decide(result.metrics, profile.bands, result.rows)
    reasons = [str(b) for b in breaches]
    others = (_rollback_candidates(client, ref.name)
              if window_status == "degraded" and set(pol.rollback_aliases) & set(ref.aliases)
              else None)
    planned = registry.plan_window(ref, window_status, reasons, pol, run_id=None,
                                   start=window_start, end=window_end, key=window_key,
                                   others=others, rows=result.rows, timezone=timezone)
    report = DecayReport(
        model_uri=ref.uri, model_name=ref.name, model_version=ref.version,
        status=planned.status, window_status=window_status, previous_status=planned.previous,
        reasons=reasons, metrics=result.metrics, rows=result.rows,
        window_start=window_start, window_end=window_end,
        drifted_features=result.drifted_features, extra_columns=result.extra_columns,
        notes=[*result.notes, *pol.window_notes(result.metrics, profile.bands, result.rows),
               *([_plan_note(planned)] if planned.note else [])],
        actions=visible_actions(ref, planned.actions),
        policy=pol.source, step=step, feature_keys=profile.metric_keys, provisional=is_open(window_end),
        window_key=window_key if isinstance(window_key, str) else None,  # a preview's may wait
        timezone=timezone,
    )
    if not log:
        return report, planned.actions
    outputs: pd.DataFrame | Path | None = outputs_file
    if frame is not None and profile.id_column and profile.id_column in frame.columns:
        outputs = stored_outputs(profile, frame)
    elif profile.id_column and outputs is None:
        where = ("" if frame is None or profile.id_column not in frame.index.names else
                 ": it is the DataFrame's index, which frame.reset_index() makes a column")
        report.notes.append(f"row ids and model outputs are not stored (the window has no "
                            f"column {profile.id_column!r} throughout{where}, or is a Spark "
                            "DataFrame): labels cannot be attached to it later")
    if profile.id_column and outputs is not None and (
            missing := missing_ids(outputs, profile.id_column)):
        report.notes.append(f"{missing:,} of {report.rows:,} rows have no id in column "
                            f"{profile.id_column!r}: labels cannot be attached to them later")
    # the run stays RUNNING until its pages, registry changes and timeline points are done:
    # only a FINISHED run counts, and its changes are stored on it before they are made, so
    # a monitor interrupted at any point completes them exactly on its next run
    run_id = runs.log_evaluation(client, ref, report, experiment, outputs, finish=False,
                                 policy=pol)
    try:
        assert result.stats is not None
        _log_pages(client, ref, profile, frame if frame is not None else page_window,
                   result.stats, pol, report, experiment, series)
        # one process at a time changes a version and gives out its timeline's steps
        with registry.version_lock(client, ref, owner=run_id) as now:
            if apply:
                _apply_window(client, now, report, pol, window_status, reasons, others)
            else:
                runs.record_plan(client, run_id, [])  # nothing to change (recoverable)
                client.set_tag(run_id, registry.NOT_APPLIED, "true")
            timeline.add_window(client, ref, client.get_run(run_id), experiment)
    except BaseException as exc:
        _failed(client, run_id, exc)
        raise
    client.set_terminated(run_id, "FINISHED")
    return report, planned.actions


def _rollback_candidates(client: MlflowClient, name: str) -> list[registry.ModelVersionRef]:
    """The model's versions a rollback may go to: all but those whose degraded verdict is
    logged and not applied (its changes refused): healthy by their tags only."""
    pending = unapplied(client, name)
    return [v for v in registry.versions(client, name) if v.version not in pending
            or pending[v.version].data.tags.get(registry.STATUS) != "degraded"]


def _failed(client: MlflowClient, run_id: str, exc: BaseException) -> None:
    """Mark a run that did not make its changes FAILED (its next evaluation completes it);
    a registry change the server refused is raised again saying so."""
    with contextlib.suppress(Exception):  # the server may be what failed
        client.set_terminated(run_id, "FAILED")
    refused = refusals.refused_after(exc, (
        f"run {run_id} is logged with this window's verdict and the changes it plans, not "
        "made: the version's next evaluation by a user allowed to make them makes them first"))
    if refused is not None:
        raise refused from exc


#: How the note on a window whose verdict changes nothing in the registry begins.
REGISTRY_UNCHANGED = "registry unchanged: "


def _plan_note(planned: registry.Plan) -> str:
    return f"{REGISTRY_UNCHANGED}{planned.note}" if planned.skipped else str(planned.note)


def _apply_window(client: MlflowClient, ref: registry.ModelVersionRef, report: DecayReport,
                  pol: Policy, window_status: Status, reasons: list[str],
                  others: list[registry.ModelVersionRef] | None) -> None:
    """Decide the version's stage from the version's tags as they are now (``ref``, read
    under the version's lease: another process may have moved it since the preview), store
    the plan on the run, and make it."""
    assert report.run_id is not None
    final = registry.plan_window(ref, window_status, reasons, pol, run_id=report.run_id,
                                 start=report.window_start, end=report.window_end,
                                 key=report.window_key, others=others, rows=report.rows,
                                 timezone=report.timezone)
    note = _plan_note(final) if final.note else None
    if final.skipped:
        if note and note not in report.notes:
            report.notes.append(note)
        report.status = final.status
        report.actions = []
        runs.record_plan(client, report.run_id, [])
        return
    actions = final.actions
    runs.record_plan(client, report.run_id, [a.to_dict() for a in actions])
    registry.apply(client, ref, registry.changes(ref, actions))
    if final.status != report.status:  # another process moved the version since the preview
        runs.retag(client, report.run_id, client.get_run(report.run_id).data.tags,
                   {registry.STATUS: final.status})
    report.status = final.status
    report.actions = visible_actions(ref, actions)
    if note and note not in report.notes:
        report.notes.append(note)
    report.applied = True
    runs.record_actions(client, report.run_id, report.actions)


def complete_interrupted(client: MlflowClient, ref: registry.ModelVersionRef,
                         experiment: str | None, done: LoggedWindows,
                         interrupted: dict[str, list[Run]]) -> int:
    """Finish what interrupted runs of this version left: a run that stored its registry
    changes gets them made (again: they set values, so repeating them is harmless), its
    points in the timeline (those missing), and is finished; a run that stored none changed
    nothing (nor the timeline), and is deleted so that its window is evaluated afresh.
    Returns how many runs were finished. ``done``: the version's logged windows (those
    completed are added); ``interrupted``: its unfinished runs by window key
    (:func:`runs.unfinished_windows`)."""
    finished = 0
    for key, cut_short in interrupted.items():
        for run in cut_short:
            if runs.in_progress(run):  # another monitor is logging it right now
                continue
            planned = runs.planned_actions(run)
            if key in done or planned is None:
                client.delete_run(run.info.run_id)
                continue
            actions = tuple(registry.Action.from_dict(a) for a in planned)
            try:
                with registry.version_lock(client, ref, owner=run.info.run_id) as now:
                    # a plan made before (a refused run's, days ago maybe) moves no alias
                    # since moved by hand
                    held = client.get_registered_model(ref.name).aliases
                    actions = registry.changes(now, actions,
                                               {str(k): str(v) for k, v in held.items()})
                    registry.apply(client, now, actions)
                    runs.record_actions(client, run.info.run_id, visible_actions(ref, actions))
                    timeline.add_window(client, ref, client.get_run(run.info.run_id),
                                        experiment, recovering=True)
            except RegistryError as exc:
                _refused_completion(exc, run)
                raise
            client.set_terminated(run.info.run_id, "FINISHED")
            done.add(key, client.get_run(run.info.run_id))
            finished += 1
    return finished


def unapplied(client: MlflowClient, name: str) -> dict[str, Run]:
    """Each version's newest window run whose registry changes are planned but not made (not
    FINISHED, nor being logged now: refused by the server, or cut short), by version."""
    found = experiments.experiment_ids(client, name, ("evaluation",), None)
    where = (f"{registry.equals(f'tags.`{registry.MODEL_NAME}`', name)} AND "
             "attributes.status != 'FINISHED'")
    out = {}
    for run in runs.search_all(client, found, where) if found else []:  # oldest first
        tags = run.data.tags
        if (tags.get(registry.MODEL_NAME) == name and tags.get(registry.KIND) == "evaluation"
                and runs.planned_actions(run) and not runs.in_progress(run)):
            out[tags.get(registry.MODEL_VERSION, "")] = run
    return out


def _refused_completion(exc: RegistryError, run: Run) -> None:
    """Raise a refused change of an earlier run's plan saying so (the window evaluated now
    has nothing to do with it, and is not logged); return for any other error."""
    tags = run.data.tags
    window = span_label(tags.get(registry.WINDOW_START), tags.get(registry.WINDOW_END),
                        tags.get(registry.TIMEZONE))
    refused = refusals.refused_after(exc, (
        f"this change is planned by run {run.info.run_id} of the earlier window "
        f"{window or '(without bounds)'}, not finished, which the version's next evaluation "
        "completes first: nothing of this evaluation was logged; a user allowed to make the "
        "change evaluates the version next (or that run is deleted, its verdict never "
        "applied)"))
    if refused is not None:
        raise refused from exc


def visible_actions(ref: registry.ModelVersionRef, actions: Iterable[registry.Action]) -> list[str]:
    """The registry changes worth showing: everything but bookkeeping tags and the status
    line in the description."""
    return [a.describe(ref) for a in actions
            if a.kind not in ("set_tag", "set_description") or a.key == registry.STATUS]


def _log_pages(client: MlflowClient, ref: registry.ModelVersionRef, profile: Profile,
               window: pd.DataFrame | None, stats: WindowStats, pol: Policy, report: DecayReport,
               experiment: str | None, series: list[dict[str, Any]] | None = None) -> None:
    """Log the evaluation's HTML report and PNG plots into its run. ``series`` holds the
    version's earlier windows (a monitor passes them along; else they are read back from the
    finished runs, this one not yet among them); this window joins them."""
    from .plots import plots
    from .render import render_html

    assert report.run_id is not None
    series = logged_series(client, ref, experiment) if series is None else series
    series.append({"status": report.status, "metrics": report.metrics, "key": report.window_key,
                   "start": report.window_start, "end": report.window_end,
                   "profile": ref.profile_sha256})
    # windows judged against another profile (the version's earlier one) measured drift from
    # another reference: drawn with these, the same dates zig-zag between the two
    images = plots(report, profile, stats, pol,
                   [p for p in series if p.get("profile") in (None, ref.profile_sha256)])
    files = {run_files.REPORT_PAGE: render_html(report, images, pol, profile).encode("utf-8"),
             **{f"plots/{name}": data for name, data in images.items()}}
    sample_uri = ref.tags.get(registry.SAMPLE_URI)
    if sample_uri and window is None:
        report.notes.append("Evidently report left out: the window's rows were streamed, not "
                            "read into memory (a Spark DataFrame or a time-ordered Parquet file)")
    elif sample_uri and window is not None:
        from .render import evidently_report

        sample = pd.read_parquet(io.BytesIO(registry.read_artifact(client, ref, sample_uri)))
        page, note = evidently_report(sample, window)
        if page is not None:
            files["evidently_data_drift.html"] = page
        if note:
            report.notes.append(note)
    run_files.log_files(client, report.run_id, files)


def logged_series(client: MlflowClient, ref: registry.ModelVersionRef, experiment: str | None
                  ) -> list[dict[str, Any]]:
    """The version's windows logged last (as many as a series plot shows), in order: stage,
    the window's own verdict, metrics, key and bounds of each."""
    return _series(runs.evaluation_runs(client, ref, experiment, newest=SERIES_WINDOWS))


def _series(found: list[Run]) -> list[dict[str, Any]]:
    return [{"status": (tags := r.data.tags).get(registry.STATUS, ""), "metrics": r.data.metrics,
             "window_status": tags.get(registry.WINDOW_STATUS, ""),
             "key": tags.get(registry.WINDOW_KEY), "start": tags.get(registry.WINDOW_START),
             "end": tags.get(registry.WINDOW_END), "profile": tags.get(registry.PROFILE_SHA256),
             "reasons": [x for x in tags.get(registry.REASONS, "").split("; ") if x]}
            for r in found]


def _counted(run: Run) -> bool:
    """Whether a window run makes its window one logged before: not one logged with
    ``apply=False``, whose verdict was never applied."""
    return run.data.tags.get(registry.NOT_APPLIED) != "true"


class LoggedWindows:
    """A version's logged windows by key: the run of each (the last in window order), looked
    up one key at a time with a search of that key's runs and remembered, so that knowing
    whether a window was logged never reads the version's whole history.

    ``found``: finished evaluation runs already read (in window order), taken as known;
    ``searched``: keys whose runs were all among them (the others were not logged).
    """

    def __init__(self, client: MlflowClient, ref: registry.ModelVersionRef,
                 experiment: str | None, found: Iterable[Run] = (),
                 searched: Iterable[str] = ()) -> None:
        self._client, self._ref, self._experiment = client, ref, experiment
        self._runs: dict[str, Run | None] = {}
        for run in found:
            if (key := run.data.tags.get(registry.WINDOW_KEY)) and _counted(run):
                self._runs[key] = run
        for key in searched:
            self._runs.setdefault(key, None)

    def run(self, key: str) -> Run | None:
        """The finished evaluation run of window ``key`` (``None``: not logged)."""
        if key not in self._runs:
            found = runs.evaluation_runs(self._client, self._ref, self._experiment, key)
            self._runs[key] = next((r for r in reversed(found) if _counted(r)
                                    and r.data.tags.get(registry.WINDOW_KEY) == key), None)
        return self._runs[key]

    def point(self, key: str) -> dict[str, Any]:
        """Window ``key`` as its run logged it (:func:`logged_series`'s form; empty if none)."""
        run = self.run(key)
        return _series([run])[0] if run is not None else {}

    def add(self, key: str, run: Run) -> None:
        self._runs[key] = run

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.run(key) is not None

    def __getitem__(self, key: str) -> str:
        run = self.run(key)
        if run is None:
            raise KeyError(key)
        return run.info.run_id


def logged_state(client: MlflowClient, ref: registry.ModelVersionRef, experiment: str | None,
                 key: str | None = None, complete: bool = True
                 ) -> tuple[registry.ModelVersionRef, LoggedWindows, list[dict[str, Any]]]:
    """What logging a version's next windows starts from: the version, its logged windows
    (:class:`LoggedWindows`, ``key``'s read already when given) and the newest of them, as a
    series plot shows them (:func:`logged_series`), after completing the interrupted ones
    (``complete``, see :func:`complete_interrupted`, which adds them to the logged windows;
    the version and series are read again when it finished any). Three searches, whatever the
    length of the version's history."""
    logged, cut_short, newest = runs.window_runs(client, ref, experiment, key)
    searched = () if key is None else (key,)
    done = LoggedWindows(client, ref, experiment, [*newest, *logged], searched)
    if complete and complete_interrupted(client, ref, experiment, done,
                                         runs.unfinished_windows(cut_short)):
        ref = registry.resolve(client, ref.uri)
        newest = runs.evaluation_runs(client, ref, experiment, newest=SERIES_WINDOWS)
    return ref, done, _series(newest)
