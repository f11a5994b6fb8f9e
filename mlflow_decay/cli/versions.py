"""A model's versions and their decay stages: ``status`` (every version now), ``history``
(every stage change and alias move) and ``restore`` (healthy again by hand)."""

from __future__ import annotations

import re
from typing import Any

import click

from .options import Command, experiment_option, not_blank
from .output import common, emit, spans, table, whole


@click.command(cls=Command)
@click.argument("model_uri")
@click.option("--reason", required=True, callback=lambda ctx, param, value: not_blank(value),
              help="Why the version is healthy again (recorded).")
@experiment_option
@common
def restore(model_uri: str, reason: str, experiment: str | None, tracking_uri: str,
            as_json: bool) -> None:
    """Mark MODEL_URI healthy again by hand, with a reason (logged as a run)."""
    from .. import api
    from ..registry import REMOVED_ALIASES, ROLLED_BACK_TO, client_for, resolve

    run_id = api.restore(model_uri, reason, tracking_uri=tracking_uri, experiment=experiment)
    # aliases a degradation took off it stay where they are: say so, a restore is no undo
    ref = resolve(client_for(tracking_uri), model_uri)
    taken = [*ref.tags.get(REMOVED_ALIASES, "").split(","),
             *re.findall(r"@(\S+) ->", ref.tags.get(ROLLED_BACK_TO, ""))]
    gone = [a for a in dict.fromkeys(taken) if a and a not in ref.aliases]
    lines = [f"{model_uri} is healthy again (run {run_id})"]
    if gone:
        lines.append(f"  note: {', '.join('@' + a for a in gone)}, taken off it when it was "
                     "degraded, not put back (move aliases with MLflow if wanted)")
    emit(as_json, {"model_uri": model_uri, "status": "healthy", "run_id": run_id,
                   "aliases_not_restored": gone}, "\n".join(lines))


@click.command(cls=Command)
@click.argument("model")
@experiment_option
@common
def history(model: str, experiment: str | None, tracking_uri: str, as_json: bool) -> None:
    """Every stage change and alias move of MODEL (a name, or a models:/ URI for one version),
    with the window each was decided on."""
    from .. import api

    events = api.history(model, tracking_uri=tracking_uri, experiment=experiment)
    title, cells = spans("window", [(e["window_start"], e["window_end"], e.get("timezone"))
                                    for e in events])
    text = table(["logged (UTC)", title, "version", "event", "reason / run"],
                 [[e["time"][:16].replace("T", " "), cell, str(e["version"]),
                   e["event"], whole(e["reason"]) if e["reason"] else e["run_id"]]
                  for e, cell in zip(events, cells, strict=True)])
    emit(as_json, events, text)


@click.command(cls=Command)
@click.argument("model")
@common
def status(model: str, tracking_uri: str, as_json: bool) -> None:
    """List every version of MODEL (a name, or any models:/ URI of it) with its decay stage,
    the window it was decided on, the last window whose verdict counted and the reasons."""
    from .. import api

    rows = api.status(_model_uri(model), tracking_uri=tracking_uri)
    # each window on the clock that cut it (one zone: named in the titles)
    windows = [w for r in rows for w in (r["since_window"], r["last_window"]) if w]
    title, shown = spans("window", [(w["start"], w["end"], w.get("timezone")) for w in windows])
    cell = dict(zip(map(id, windows), shown, strict=True))
    cells = []
    for r in rows:
        since = cell[id(r["since_window"])] if r["since_window"] else _moment(r)
        last = (f"{cell[id(r['last_window'])]} {r['last_verdict']}" if r["last_window"]
                else "-")
        aliases = ",".join("@" + a for a in r["aliases"]) or "-"
        cells.append([str(r["version"]), r["status"], aliases, since, last, whole(r["reason"])])
    zone = title.removeprefix("window")
    text = table(["version", "stage", "aliases", f"since window{zone}", f"last window{zone}",
                  "reason"], cells)
    emit(as_json, rows, "\n".join([text, *filter(None, map(_unapplied, rows))]))


def _unapplied(row: dict[str, Any]) -> str:
    """A line on the version's window whose verdict is logged but not applied, if any."""
    from ..core.times import span_label

    pending = row["unapplied"]
    if not pending:
        return ""
    window = pending["window"] or {}
    span = span_label(window.get("start"), window.get("end"), window.get("timezone"))
    return (f"v{row['version']}: the {pending['verdict'] or '-'} verdict of window "
            f"{span or '(without bounds)'} (run {pending['run_id']}) is logged, its registry "
            "changes not made (refused by the server, or cut short): the version's next "
            "evaluation by a user allowed to make them makes them first")


def _moment(row: dict[str, Any]) -> str:
    """When a stage was set without a window (a restore by hand), as the window cells are
    written: ``restored 2026-03-09 04:12`` (UTC)."""
    when = (row["since"] or "")[:16].replace("T", " ") or "-"
    from ..registry import RESTORED_BY_HAND

    by_hand = (row["reason"] or "").startswith(RESTORED_BY_HAND)
    return f"restored {when}" if by_hand and when != "-" else when


def _model_uri(model: str) -> str:
    """A name or ``models:/`` URI as :func:`mlflow_decay.api.status` takes it (a bare
    ``models:/<name>`` is the name)."""
    rest = model.removeprefix("models:/")
    return rest if rest != model and "/" not in rest and "@" not in rest else model
