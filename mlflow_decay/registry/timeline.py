"""A model version's timeline run: every window's metrics as one series, so MLflow's charts draw
each metric as a line over the windows, one line per version, with the window runs nested
under it.

The timeline run (tag ``mlflow_decay.kind = timeline``, the version's name and number as
tags, named ``<model> v<version>``) lives in the experiment of the version's window runs. It is
made when a version's first window is logged after this module existed, and then takes in the
windows logged before it. Each window has a **step**: a counter of the version's windows (from
1, in the order they were first logged; on the timeline, tag ``mlflow_decay.last_step``), kept
by the window's runs (tag ``mlflow_decay.timeline_step``), so a window evaluated again (other
rows with the same bounds, ``--force``, an open window closed) keeps its step, and one
evaluated late takes the next. Its points have that step and the window's end as their
timestamp. Everything here runs under the version's lease (one process at a time), so steps
are given out once and there is one timeline.
"""

from __future__ import annotations

import math

from mlflow import MlflowClient
from mlflow.entities import Metric, Run, RunTag, ViewType

from .model_versions import equals
from .plan import window_span
from .runs import (
    _BATCH,
    _millis,
    _of_version,
    _version_clauses,
    evaluation_runs,
    window_run_name,
)
from .tags import (
    KIND,
    LAST_STEP,
    MODEL_NAME,
    MODEL_URI,
    MODEL_VERSION,
    PARENT_RUN_ID,
    PROFILE_SHA256,
    PROVISIONAL,
    RUN_NAME,
    RUN_NOTE,
    TIMELINE_STEP,
    TIMEZONE,
    WINDOW_END,
    WINDOW_KEY,
    WINDOW_START,
    WINDOW_STATUS,
    ModelVersionRef,
)

TIMELINE = "timeline"


def find_timeline(client: MlflowClient, model_name: str, version: str,
                  experiment_id: str) -> Run | None:
    """The timeline run of a model version in an experiment (the oldest, should two
    exist), or ``None``."""
    where = " AND ".join([equals(f"tags.`{KIND}`", TIMELINE),
                          *_version_clauses(model_name, version)])
    found = [r for r in client.search_runs([experiment_id], filter_string=where,
                                           max_results=100,
                                           order_by=["attributes.start_time ASC"])
             if r.data.tags.get(KIND) == TIMELINE and _of_version(r, model_name, version)]
    return found[0] if found else None


def window_identity(run: Run) -> tuple[str, ...]:
    """What makes two window runs one window: its bounds and profile, or (without bounds)
    its key; the same identity keeps the same step (and its latest run counts)."""
    tags = run.data.tags
    span = window_span(tags.get(WINDOW_START), tags.get(WINDOW_END))
    if span is not None:
        return tags.get(PROFILE_SHA256, ""), *(str(b) for b in span)
    return (tags.get(WINDOW_KEY, run.info.run_id),)


def add_window(client: MlflowClient, ref: ModelVersionRef, run: Run,
               experiment: str | None = None, recovering: bool = False) -> int:
    """Nest a logged window run under its version's timeline and append its metrics there
    (the timeline made if missing); return the window's step. Call it under the version's
    lease. ``recovering``: the run may have been appended before it was cut short; only the
    points missing are added."""
    exp_id = run.info.experiment_id
    timeline = find_timeline(client, ref.name, ref.version, exp_id) or _create(
        client, ref, exp_id, experiment)
    tid = timeline.info.run_id
    tags = run.data.tags
    known: dict[str, float] = dict(run.data.metrics) if recovering else {}
    step = step_of(tags.get(TIMELINE_STEP)) if tags.get(PARENT_RUN_ID) == tid else None
    if step is None:  # else a run cut short after it took its step
        twins = [t for t in _twins(client, exp_id, ref, run)
                 if t.data.tags.get(PARENT_RUN_ID) == tid
                 and step_of(t.data.tags.get(TIMELINE_STEP)) is not None]
        last = _last_step(client, timeline)
        step = step_of(twins[-1].data.tags[TIMELINE_STEP]) if twins else last + 1
        assert step is not None
        for twin in twins:  # their values at this step may be this run's too
            known.update(twin.data.metrics)
        _nest(client, run, tid, step)
        if step > last:
            client.set_tag(tid, LAST_STEP, str(step))
    append(client, tid, step, point_time(run), run.data.metrics, known)
    return step


def add_metrics(client: MlflowClient, run: Run, metrics: dict[str, float]) -> None:
    """Append metrics added later to a window run (late labels, a monitor's impact figures)
    to its timeline, at its step, those it does not hold there yet (the same labels attached
    twice, a forced rerun's figures: the step may be another run's of the window too);
    nothing for a run outside any timeline (an older one)."""
    tags = run.data.tags
    step = step_of(tags.get(TIMELINE_STEP))
    if PARENT_RUN_ID in tags and step is not None:
        append(client, tags[PARENT_RUN_ID], step, point_time(run), metrics, metrics)


def step_of(text: str | None) -> int | None:
    """A step tag's value: ``None`` when it is missing or not a whole number (edited by hand)."""
    return int(text) if text is not None and text.strip().isdecimal() else None


def _last_step(client: MlflowClient, timeline: Run) -> int:
    """The last step the timeline gave out (tag ``last_step``); when that tag was deleted or
    edited by hand, the highest step its points have (every window logs ``quality.rows``):
    else the next window would take step 1 again, over the first window's points."""
    last = step_of(timeline.data.tags.get(LAST_STEP))
    if last is not None:
        return last
    points = client.get_metric_history(timeline.info.run_id, "quality.rows")
    return max((m.step for m in points), default=0)


def point_time(run: Run) -> int:
    """A window's points' timestamp (ms): its end, else its start, else when it was logged."""
    tags = run.data.tags
    when = tags.get(WINDOW_END) or tags.get(WINDOW_START)
    return _millis(when) if when else int(run.info.start_time)


def append(client: MlflowClient, timeline_id: str, step: int, stamp: int,
           metrics: dict[str, float], known: dict[str, float]) -> None:
    """Log ``metrics`` at ``step`` into the timeline, leaving out points it already holds.

    ``known`` holds values that may already be there (logged by an earlier run of the window,
    or by this one before it was cut short): those are looked up in the metric's history;
    any other value is new at this step. A new value at a step that holds another one (late
    labels replacing a window's) goes just after it: at one step and time MLflow would show
    the larger of the two as the latest, not the newer."""
    seen = {k: [m for m in client.get_metric_history(timeline_id, k) if m.step == step]
            for k, v in metrics.items() if k in known and _same(known[k], v)}
    batch = [Metric(k, v, max([stamp, *(m.timestamp + 1 for m in seen.get(k, ()))]), step)
             for k, v in metrics.items()
             if not any(_same(m.value, v) for m in seen.get(k, ()))]
    for i in range(0, len(batch), _BATCH):
        client.log_batch(timeline_id, metrics=batch[i:i + _BATCH])


def _same(a: float, b: float) -> bool:
    return a == b or (math.isnan(a) and math.isnan(b))


def _nest(client: MlflowClient, run: Run, timeline_id: str, step: int) -> None:
    """Tag a window run with its timeline (as parent) and step, and name it by its dates
    (without dates, by its step)."""
    tags = run.data.tags
    name = window_run_name(tags.get(MODEL_NAME, ""), tags.get(MODEL_VERSION, ""),
                           tags.get(WINDOW_START), tags.get(WINDOW_END),
                           tags.get(WINDOW_STATUS, ""), tags.get(PROVISIONAL) == "true", step,
                           tags.get(TIMEZONE) or None)
    client.log_batch(run.info.run_id, tags=[RunTag(PARENT_RUN_ID, timeline_id),
                                            RunTag(TIMELINE_STEP, str(step)),
                                            RunTag(RUN_NAME, name)])


def _twins(client: MlflowClient, exp_id: str, ref: ModelVersionRef, run: Run) -> list[Run]:
    """The version's other runs of the same window (any status, deleted ones too: a run
    deleted in MLflow's UI leaves its points in the timeline, so the window evaluated again
    keeps their step), oldest first."""
    tags = run.data.tags
    span = window_span(tags.get(WINDOW_START), tags.get(WINDOW_END))
    same = ([equals(f"tags.`{k}`", tags.get(k, "")) for k in (WINDOW_START, WINDOW_END)]
            if span is not None else [equals(f"tags.`{WINDOW_KEY}`", tags.get(WINDOW_KEY, ""))])
    where = " AND ".join([*_version_clauses(ref.name, ref.version), *same])
    mine = window_identity(run)
    return [r for r in client.search_runs([exp_id], filter_string=where, max_results=1000,
                                          run_view_type=ViewType.ALL,
                                          order_by=["attributes.start_time ASC"])
            if r.info.run_id != run.info.run_id and r.data.tags.get(KIND) == "evaluation"
            and _of_version(r, ref.name, ref.version) and window_identity(r) == mine]


def _create(client: MlflowClient, ref: ModelVersionRef, exp_id: str,
            experiment: str | None) -> Run:
    """Make the version's timeline run and take in the windows logged before it, each at
    the step of its place in window order."""
    created = client.create_run(exp_id, run_name=f"{ref.name} v{ref.version}", tags={
        KIND: TIMELINE, MODEL_NAME: ref.name, MODEL_VERSION: ref.version, MODEL_URI: ref.uri,
        RUN_NOTE: f"Timeline of **{ref.uri}**: every window's metrics at step = the window's "
                  "number (from 1, in the order first logged) and the window's end as time; "
                  "its window runs are nested under it."})
    tid = created.info.run_id
    client.set_terminated(tid, "FINISHED")  # a series, not a job: it takes points when done
    steps: dict[tuple[str, ...], int] = {}
    for run in evaluation_runs(client, ref, experiment):
        step = steps.setdefault(window_identity(run), len(steps) + 1)
        _nest(client, run, tid, step)
        append(client, tid, step, point_time(run), run.data.metrics, {})
    if steps:
        client.set_tag(tid, LAST_STEP, str(len(steps)))
    return client.get_run(tid)
