"""Delayed labels: realized performance for windows evaluated before their labels arrived.

Matching is by row id: when the profile names an ``id_column`` and a window carries it, the
evaluation run stores the window's ids and model outputs (``window_outputs.parquet``: ids,
scores and the labels it came with, no features). Labels that arrive later are joined on those
ids, the realized ``perf.*`` metrics are logged into the same window runs (and into the
version's timeline run, at the windows' steps), each window's verdict is recomputed, and the
version's stage is replayed through the policy's hysteresis over all its windows (from its
latest restore by hand, when it has one). Each window run keeps the labels joined so far
(``window_labels.parquet``; its rows' own labels stand where none names their ids), so labels
arriving in batches add up, and its report (page and JSON) is brought in line with them.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import cast

import numpy as np
import pandas as pd
from mlflow import MlflowClient
from mlflow.entities import Run

from . import registry
from .core.evaluation import realized_performance
from .core.frames import (
    column_name,
    prediction_values,
    require_column,
    require_unique_columns,
)
from .core.impact import first_crossing, impact_figures
from .core.policy import Policy
from .core.policy_file import as_policy
from .core.profile import Profile
from .core.report import DecayReport, json_safe
from .core.row_ids import known_labels, warn_unused, why_unmatched
from .core.rules import STATUSES, Status
from .core.times import span_label
from .engines.dispatch import require_frame
from .engines.partials import OWN_LABEL
from .errors import DataError, DecayWarning
from .recording import visible_actions
from .registry import experiments, run_files, runs, timeline
from .registry.refusals import explained
from .stats.schema import category_array, map_labels, to_numeric


@dataclass
class LabelledWindow:
    """One window run that received labels."""

    run_id: str
    window_start: str | None
    rows: int
    labelled: int
    window_status: Status
    metrics: dict[str, float] = field(default_factory=dict)
    window_end: str | None = None
    reasons: list[str] = field(default_factory=list)
    #: the zone whose clock cut the window (run tag ``mlflow_decay.timezone``); ``None``: UTC
    timezone: str | None = None
    #: what the realized metrics left out, and why (a metric these rows cannot define)
    notes: list[str] = field(default_factory=list)


@explained
def attach_labels(
    model_uri: str,
    labels: pd.DataFrame,
    *,
    id_column: str | None = None,
    label_column: str | None = None,
    policy: Policy | str | Path | None = None,
    tracking_uri: str | None = None,
    experiment: str | None = None,
) -> list[LabelledWindow]:
    """Join late labels onto a version's evaluated windows and re-apply the policy.

    Parameters
    ----------
    model_uri : str
    labels : DataFrame
        Row ids and labels (other columns are ignored).
    id_column, label_column : str, optional
        The columns of ``labels`` holding the row ids and the labels (default: the profile's
        id column and target); the ids are matched to those the windows stored under the
        profile's id column.
    policy, tracking_uri, experiment
        As for :func:`mlflow_decay.evaluate`.

    Returns
    -------
    list of LabelledWindow
        The windows that matched at least one label, in window order.

    Raises
    ------
    DataError
        When one id has two different labels (the same label twice is fine), or when no
        window matched any label (saying why: no windows, none stored ids, or no id matched).
    """
    experiments.check_experiment(experiment)
    pol = as_policy(policy)
    client = registry.client_for(tracking_uri)
    require_frame(labels, "attach_labels")
    ref = registry.resolve(client, model_uri)
    profile = registry.profile_of(client, ref)
    labels, id_column, label_column = _checked_labels(ref, profile, labels, id_column,
                                                      label_column)
    known = known_labels(labels, id_column, label_column)
    found = _latest_per_window(runs.evaluation_runs(client, ref, experiment))
    # a window judged against an earlier profile (replaced since: its reference is no longer
    # stored) cannot be judged again, and its dates may have been evaluated against this one
    logged = [r for r in found
              if r.data.tags.get(registry.PROFILE_SHA256, ref.profile_sha256) == ref.profile_sha256]
    stored = 0
    updated: list[LabelledWindow] = []
    reports: list[DecayReport] = []
    replayed: list[Run] = []
    windows: list[LabelledWindow | None] = []
    seen: set[str] = set()  # the row ids the windows stored
    # the windows stored their ids under the profile's id column, whatever the labels call it
    stored_ids = profile.id_column
    for run in logged:
        outputs = run_files.window_outputs(client, run)
        labelled = None
        if outputs is not None and stored_ids is not None and stored_ids in outputs.columns:
            stored += 1
            # ids compare as normalised text, so 7, 7.0 and "7" match across CSV and Parquet
            ids = category_array(outputs[stored_ids])
            seen.update(ids[pd.notna(ids)])  # a row without an id matches none
            labelled = _join_labels(client, run, outputs, ids, known, profile, pol,
                                    stored_ids, label_column)
            if labelled is not None:
                updated.append(labelled)
        windows.append(labelled)
        if (run.data.tags.get(registry.PROVISIONAL) == "true"
                or run.data.metrics.get("quality.rows", pol.min_rows) < pol.min_rows):
            continue  # an open or small window's verdict was never applied: nor replayed
        if not _applied(run):
            continue  # nor one that moved nothing (a window applied after it, or under the
            # version's previous profile: the same dates would count twice)
        reports.append(_window_report(ref, run, labelled))
        replayed.append(run)
    if not updated:
        raise DataError(why_unmatched(ref.uri, len(logged), stored, id_column, known["__id__"],
                                      seen, len(found) - len(logged), stored_ids))
    _warn_other_policy(ref.uri, pol, logged, updated)
    _warn_left_out(updated)
    warn_unused(ref.uri, known["__id__"], seen, id_column, len(found) - len(logged))
    if reports:
        reasons = {r.info.run_id: r.data.tags.get(registry.REASONS) for r in logged}  # before
        restored = runs.decay_runs(client, ref.name, ref.version, ("restore",), experiment)
        _replay(client, ref, pol, reports, replayed, logged, profile,
                restored[-1].info.start_time if restored else None,
                {w.run_id for w in updated if runs.reasons_text(w.reasons) != reasons[w.run_id]})
    stages = {r.run_id: r.status for r in reports}
    for run, labelled in zip(logged, windows, strict=True):
        if labelled is not None:
            _annotate_page(client, run, labelled, stages.get(run.info.run_id), profile, pol)
    return updated


def _warn_left_out(updated: list[LabelledWindow]) -> None:
    """Warn of what the realized metrics of the windows that received labels left out, each
    note once with the windows it holds for (a batch of only churners' labels has no ROC AUC
    in any window: the table's empty column would otherwise go unexplained)."""
    spans: dict[str, list[str]] = {}
    for window in updated:
        for note in window.notes:
            spans.setdefault(note, []).append(
                span_label(window.window_start, window.window_end, window.timezone)
                or window.run_id)
    for note, where in spans.items():
        more = f", … {len(where) - 3} more" if len(where) > 3 else ""
        warnings.warn(f"{note} (window {', '.join(where[:3])}{more})", DecayWarning,
                      stacklevel=3)


def _warn_other_policy(uri: str, pol: Policy, logged: list[Run],
                       updated: list[LabelledWindow]) -> None:
    """Warn when windows that received labels (``updated``, of the runs ``logged``) were
    judged by another policy than ``pol``, the one their verdicts are now decided by (a policy
    edited since, or ``--policy`` left out)."""
    sha, labelled = pol.sha256(), {w.run_id for w in updated}
    other = [r.data.tags for r in logged if r.info.run_id in labelled
             and r.data.tags.get(registry.POLICY_SHA256, sha) != sha]
    if other:
        names = ", ".join(dict.fromkeys(
            f"{t.get(registry.POLICY, '?')!r} (sha256 {t[registry.POLICY_SHA256][:12]})"
            for t in other))
        warnings.warn(f"{len(other)} window(s) of {uri} that received labels were judged by "
                      f"another policy ({names}): their verdicts are now judged by "
                      f"{pol.source!r} (sha256 {sha[:12]}); pass the policy they were judged "
                      "by to keep it", DecayWarning, stacklevel=3)


def _checked_labels(ref: registry.ModelVersionRef, profile: Profile, labels: pd.DataFrame,
                    id_column: str | None, label_column: str | None
                    ) -> tuple[pd.DataFrame, str, str]:
    """The labels (as the profile's classes), their id column and label column (default the
    profile's id column and target); refused, before any change, when a column is missing
    or a label is not one of the classes."""
    id_column = column_name(id_column, "id_column") or profile.id_column
    label_column = column_name(label_column, "label_column") or profile.target
    if profile.target is None:
        raise DataError(f"{ref.uri}: its profile was built without labels (no target): late "
                        "labels have no reference performance to be judged against, nor "
                        "classes to be read as; profile the version again with its labels "
                        "(--target) and evaluate the windows again")
    if id_column is None or label_column is None:
        raise DataError(f"{ref.uri}: name the id and label columns (the profile has "
                        f"id column {profile.id_column!r} and target {profile.target!r})")
    require_unique_columns(labels, "labels")
    for column in (id_column, label_column):
        require_column(labels, column, "labels")
    return labels.assign(**{label_column: _as_classes(profile, labels[label_column],
                                                      label_column)}), id_column, label_column


def _as_classes(profile: Profile, labels: pd.Series, column: str) -> pd.Series:
    """A classifier's labels as its profile's classes, a regression's as numbers (text that
    is no number refused, naming ``column``)."""
    if profile.task == "regression":
        return pd.Series(to_numeric(labels, column), index=labels.index)
    return pd.Series(map_labels(labels, profile.classes, column), index=labels.index)


def _join_labels(client: MlflowClient, run: Run, outputs: pd.DataFrame, ids: np.ndarray,
                 known: pd.DataFrame, profile: Profile, pol: Policy, id_column: str,
                 label_column: str) -> LabelledWindow | None:
    """Join the labels onto a window run's stored outputs, by their row ``ids`` (normalised);
    when some match, log the realized performance and the window's new verdict into the run
    (``None``: none matched)."""
    fresh = known[known["__id__"].isin(ids)]
    if not len(fresh):
        return None
    # labels arrive in batches: those joined before count too (an id labelled again: the
    # newer label); a row's own label stands where no late one names its id (an id on two
    # rows of the window may have had two)
    earlier = run_files.window_labels(client, run)
    own = outputs.pop(OWN_LABEL) if OWN_LABEL in outputs.columns else None
    if earlier is not None:
        fresh = pd.concat([fresh, earlier.rename(columns={"__label__": label_column})]
                          ).drop_duplicates("__id__")
    joined = outputs.assign(__id__=ids).merge(fresh, on="__id__", how="left")
    if own is not None:
        mine = joined[label_column].isna().to_numpy() & own.notna().to_numpy()
        joined.loc[mine, label_column] = _as_classes(profile, own[mine],
                                                     str(profile.target)).to_numpy()
    joined = joined[joined[label_column].notna()]
    new, notes = _realized(profile, outputs, joined, id_column, label_column)  # may refuse
    run_files.log_window_labels(client, run.info.run_id,
                                fresh.rename(columns={label_column: "__label__"}))
    metrics = {**run.data.metrics, **new}
    rows = int(metrics.get("quality.rows", len(outputs)))
    verdict, breaches = pol.decide(metrics, profile.bands, rows)
    # a realized change the policy held back (too few labelled rows, or within their noise)
    notes += [n for n in pol.window_notes(metrics, profile.bands, rows) if n.startswith("perf.")]
    tags = run.data.tags
    step = tags.get(registry.TIMELINE_STEP)
    name = runs.window_run_name(
        tags.get(registry.MODEL_NAME, ""), tags.get(registry.MODEL_VERSION, ""),
        tags.get(registry.WINDOW_START), tags.get(registry.WINDOW_END), verdict,
        tags.get(registry.PROVISIONAL) == "true", timeline.step_of(step),
        tags.get(registry.TIMEZONE) or None)
    # the verdict is now this policy's: the run names it, as it named the one that judged it
    runs.add_metrics(client, run, new, {**registry.noted(tags, {registry.WINDOW_STATUS: verdict}),
                                        registry.REASONS: runs.reasons_text([str(b) for b in breaches]),
                                        registry.LABELLED: "true", registry.RUN_NAME: name,
                                        registry.POLICY: pol.source[:500],
                                        registry.POLICY_SHA256: pol.sha256()})
    timeline.add_metrics(client, run, new)  # the realized points at the window's step
    return LabelledWindow(run.info.run_id, run.data.tags.get(registry.WINDOW_START), rows,
                          len(joined), verdict, new, run.data.tags.get(registry.WINDOW_END),
                          [str(b) for b in breaches],
                          run.data.tags.get(registry.TIMEZONE) or None, notes)


def _realized(profile: Profile, outputs: pd.DataFrame, joined: pd.DataFrame, id_column: str,
              label_column: str) -> tuple[dict[str, float], list[str]]:
    """The ``perf.*`` metrics of the labelled rows, their change from the reference, and the
    share of the window's rows the labels cover (``labels.coverage``); and notes on what
    they leave out (a metric these rows cannot define, rows without a decision)."""
    # labels match the profile's classes by value; a decision column stored with the outputs
    # (evaluate's predicted_label) decides as it did for the window
    decided = [c for c in outputs.columns if c not in (id_column, *profile.prediction_columns)]
    values = prediction_values(joined, profile.prediction_columns, profile.task,
                               profile.prediction_kind)
    decisions = joined[decided[0]] if len(decided) == 1 else None
    new, notes = realized_performance(profile, joined[label_column], values, decisions)
    new["labels.coverage"] = len(joined) / len(outputs)
    return new, notes


def _window_report(ref: registry.ModelVersionRef, run: Run, labelled: LabelledWindow | None
                   ) -> DecayReport:
    """A window as the replay sees it: its metrics and verdict, with the labels' if any."""
    if labelled is not None:
        metrics, verdict = {**run.data.metrics, **labelled.metrics}, labelled.window_status
    else:
        tagged = run.data.tags.get(registry.WINDOW_STATUS, "healthy")
        metrics, verdict = dict(run.data.metrics), cast(Status, tagged if tagged in STATUSES
                                                        else "healthy")
    return DecayReport(
        model_uri=ref.uri, model_name=ref.name, model_version=ref.version, status=verdict,
        window_status=verdict, previous_status=None, reasons=[], metrics=metrics,
        rows=int(metrics.get("quality.rows", 0)), run_id=run.info.run_id,
        window_key=run.data.tags.get(registry.WINDOW_KEY),
        window_start=run.data.tags.get(registry.WINDOW_START) or None,
        window_end=run.data.tags.get(registry.WINDOW_END) or None,
        timezone=run.data.tags.get(registry.TIMEZONE) or None)


def _replay(client: MlflowClient, ref: registry.ModelVersionRef, pol: Policy,
            reports: list[DecayReport], replayed: list[Run], logged: list[Run],
            profile: Profile, restored: int | None = None, labelled: set[str] | None = None
            ) -> None:
    """Run the policy's hysteresis over every window's verdict again (``reports``, from the
    runs ``replayed`` of those ``logged``), bring the version and each run's stage tag in line
    with it (a run left out, :func:`_left_out_stages`), and log what the decay cost into the
    last window's run.

    A restore by hand (its run started at ``restored``, ms) stands: the windows logged before
    it are replayed from scratch for their runs' stage tags (what ``history`` reads), those
    logged after it from the healthy stage it set, and only these move the version.
    ``labelled``: the runs of the windows whose reasons these labels changed."""
    verdicts = [r.window_status for r in reports]
    after = [restored is not None and run.info.start_time >= restored for run in replayed]
    start = None if restored is None else "healthy"
    earlier = iter(pol.replay([v for v, a in zip(verdicts, after, strict=True) if not a]))
    later = iter(pol.replay([v for v, a in zip(verdicts, after, strict=True) if a], start))
    states = [next(later if a else earlier) for a in after]
    for report, run, (status, _, _) in zip(reports, replayed, states, strict=True):
        report.status = status
        if run.data.tags.get(registry.STATUS) != status:  # the stage it led to, replayed
            # (its verdict as replayed: these labels' where they changed it)
            runs.retag(client, run.info.run_id,
                       {**run.data.tags, registry.WINDOW_STATUS: report.window_status},
                       {registry.STATUS: status})
    for run, stage in _left_out_stages(logged, replayed, states, restored):
        if run.data.tags.get(registry.STATUS) != stage:
            runs.retag(client, run.info.run_id, run.data.tags, {registry.STATUS: stage})
    moving = [i for i, a in enumerate(after) if a or restored is None]
    if moving:
        # windows named by their step in the version's timeline (as in MLflow's charts), not
        # their place among those replayed (small and open windows are left out of these)
        steps = [timeline.step_of(replayed[i].data.tags.get(registry.TIMELINE_STEP)) or i + 1
                 for i in moving]
        _apply_replay(client, ref, pol, [reports[i] for i in moving],
                      [states[i] for i in moving], steps, start, labelled or set())
    figures = impact_figures(verdicts, [r.rows for r in reports], [s for s, _, _ in states],
                             first_crossing(pol, reports, profile.bands))
    if figures and reports[-1].run_id:
        runs.add_metrics(client, logged[-1], figures, {})
        timeline.add_metrics(client, logged[-1], figures)


def _left_out_stages(logged: list[Run], replayed: list[Run],
                     states: list[tuple[Status, tuple[int, int], str | None]],
                     restored: int | None) -> list[tuple[Run, Status]]:
    """The stage each run left out of the replay (an open or small window, one that moved
    nothing) is tagged with: the stage the version had when it was logged, as replayed (that
    of the last replayed window logged before it), which ``history`` and the plots read; none
    for a run logged before any replayed window, or after a restore by hand and before any
    replayed window after it (the stage the restore set stands)."""
    done = sorted(zip((r.info.start_time for r in replayed), (s for s, _, _ in states),
                      strict=True), key=lambda p: p[0])
    kept = {r.info.run_id for r in replayed}
    out: list[tuple[Run, Status]] = []
    for run in logged:
        when = run.info.start_time
        before = [status for start, status in done if start <= when]
        after_restore = restored is not None and restored <= when
        if run.info.run_id in kept or not before or (after_restore and not any(
                restored <= start <= when for start, _ in done)):
            continue
        out.append((run, before[-1]))
    return out


def _annotate_page(client: MlflowClient, run: Run, labelled: LabelledWindow,
                   stage: str | None, profile: Profile, pol: Policy) -> None:
    """Bring the window run's report in line with its labels: a section on them in its page
    (its metrics and verdict as the run now holds them), and the new verdict, reasons, metrics
    and stage (``None``: not applied) in its JSON; so that neither reads as if no labels came."""
    from .render import with_late_labels

    page = run_files.read_file(client, run, run_files.REPORT_PAGE)
    stored = run_files.read_file(client, run, run_files.REPORT_JSON)
    if page is None or stored is None:
        return  # a run without its report: nothing shows the old verdict
    before = run.data.tags.get(registry.WINDOW_STATUS, "-")
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M")
    metrics = {**run.data.metrics, **labelled.metrics}
    text = with_late_labels(page.decode("utf-8"), metrics, labelled.labelled,
                            labelled.window_status, before, stage, when, pol, profile,
                            labelled.notes)
    report = json.loads(stored)
    report.update(window_status=labelled.window_status, reasons=labelled.reasons,
                  metrics={**report.get("metrics", {}), **json_safe(labelled.metrics)},
                  policy=pol.source, policy_effective=pol.to_dict(),
                  **({"status": stage} if stage else {}))
    run_files.log_files(client, run.info.run_id, {
        run_files.REPORT_JSON: json.dumps(report, indent=2).encode("utf-8"),
        **({run_files.REPORT_PAGE: text.encode("utf-8")} if text is not None else {})})


def _applied(run: Run) -> bool:
    """Whether the window run's verdict moved the version (it planned registry changes)."""
    return run.data.tags.get(registry.PLANNED) != "[]"


def _latest_per_window(runs: list[Run]) -> list[Run]:
    """One run per window, the latest whose verdict was applied (else the latest): a window
    evaluated again counts once, through other rows with the same bounds (which replace its
    verdict), not through a ``--force`` rerun of the same rows (logged, applied never).
    Windows are identified by their bounds and profile, or without bounds by their key."""
    latest: dict[tuple[str, ...], Run] = {}
    for run in runs:
        key = timeline.window_identity(run)
        if key not in latest or (_applied(run), run.info.start_time) >= (
                _applied(latest[key]), latest[key].info.start_time):
            latest[key] = run
    kept = {r.info.run_id for r in latest.values()}
    return [r for r in runs if r.info.run_id in kept]


def _apply_replay(client: MlflowClient, ref: registry.ModelVersionRef, pol: Policy,
                  reports: list[DecayReport],
                  states: list[tuple[Status, tuple[int, int], str | None]],
                  numbers: list[int], start: str | None, labelled: set[str]) -> None:
    """Bring the version's stage and streaks in line with the replayed series (the windows
    numbered ``numbers`` among the version's, replayed from the stage ``start``; ``labelled``:
    the runs of the windows whose reasons the labels changed)."""
    final = states[-1]
    entered = len(states) - 1  # the window where the final stage began
    while entered > 0 and states[entered - 1][0] == final[0]:
        entered -= 1
    since = "" if start is None else " since the restore by hand"
    reasons = [f"labels arrived: replayed {len(states)} windows{since}, {final[0]} since window "
               f"{numbers[entered]}"]
    decided_on, began = ref.tags.get(registry.STATUS_RUN_ID), reports[entered].run_id
    # the same stage, entered on another window now that the labels are in (a stage set by
    # hand, by a restore run, is left as it is)
    redated = (final[0] == ref.status and began is not None and decided_on != began
               and decided_on in {r.run_id for r in reports})
    # the same stage on the same window, whose verdict the labels judged again: its reason
    # was the verdict without them (an est.* rule that labels now overrule)
    rejudged = final[0] == ref.status and began is not None and decided_on == began \
        and began in labelled
    first = reports[entered]
    planned = registry.plan(
        ref, final[0], reasons, pol, run_id=began, state=final, last_run_id=reports[-1].run_id,
        since=(span_label(first.window_start, first.window_end, first.timezone)
               if redated or rejudged or final[0] != ref.status else ""))
    actions = planned.actions
    if (redated or rejudged) and began is not None:
        # since when and why, as a change says
        actions = (registry.Action("set_tag", registry.STATUS_REASON, reasons[0]),
                   registry.Action("set_tag", registry.STATUS_RUN_ID, began),
                   *actions)
    last, _ = registry.last_window(ref)
    if last is not None and last.key == reports[-1].window_key:
        # the last window's verdict may be replaced later (same bounds): from the replayed
        # stage before it, not the one it was first applied on
        status, (breach, clean), _ = states[-2] if len(states) > 1 else (start, (0, 0), None)
        before = replace(last, before=(status, breach, clean))
        actions = (registry.Action("set_tag", registry.LAST_WINDOW, before.to_tag()), *actions)
    registry.apply(client, ref, actions)
    if planned.changed and began is not None:  # noted on the run of the window the stage
        # began on, after what it noted itself (``history`` reads the alias moves there)
        noted = client.get_run(began).data.tags.get(registry.REGISTRY_ACTIONS, "")
        runs.record_actions(client, began, list(dict.fromkeys(
            [*filter(None, noted.split("; ")), *visible_actions(ref, planned.actions)])))
