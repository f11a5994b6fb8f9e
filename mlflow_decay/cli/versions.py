"""A model's versions and their decay stages: ``status`` (every version now), ``history``
(every stage change and alias move) and ``restore`` (healthy again by hand)."""

from __future__ import annotations

import click

from .options import experiment_option, not_blank
from .output import common, emit


@click.command()
@click.argument("model_uri")
@click.option("--reason", required=True, callback=lambda ctx, param, value: not_blank(value),
              help="Why the version is healthy again (recorded).")
@experiment_option
@common
def restore(model_uri: str, reason: str, experiment: str | None, tracking_uri: str,
            as_json: bool) -> None:
    """Mark MODEL_URI healthy again by hand, with a reason (logged as a run)."""
    from .. import api

    run_id = api.restore(model_uri, reason, tracking_uri=tracking_uri, experiment=experiment)
    emit(as_json, {"model_uri": model_uri, "status": "healthy", "run_id": run_id},
         f"{model_uri} is healthy again (run {run_id})")


@click.command()
@click.argument("model")
@experiment_option
@common
def history(model: str, experiment: str | None, tracking_uri: str, as_json: bool) -> None:
    """Every stage change and alias move of MODEL (a name, or a models:/ URI for one version)."""
    from .. import api

    events = api.history(model, tracking_uri=tracking_uri, experiment=experiment)
    lines = [f"{'time':<27}{'version':<9}{'event':<44}reason / run"]
    lines += [f"{e['time']:<27}{e['version']:<9}{e['event'][:43]:<44}"
              f"{(e['reason'] or e['run_id'])[:100]}" for e in events]
    emit(as_json, events, "\n".join(lines))


@click.command()
@click.argument("model")
@common
def status(model: str, tracking_uri: str, as_json: bool) -> None:
    """List every version of MODEL (a name, or any models:/ URI of it) with its decay stage,
    last evaluation and reason."""
    from .. import registry

    rows = registry.status_rows(registry.versions(registry.client_for(tracking_uri),
                                                  _model_name(model)))
    header = f"{'version':<8}{'stage':<11}{'aliases':<24}{'since':<27}{'last evaluation':<38}reason"
    lines = [header]
    for r in rows:
        last = (f"{r['last_evaluated_at']} {r['last_status']}" if r["last_evaluated_at"] else "-")
        aliases = ",".join("@" + a for a in r["aliases"]) or "-"
        lines.append(f"{r['version']:<8}{r['status']:<11}{aliases:<24}{r['since'] or '-':<27}"
                     f"{last:<38}{(r['reason'] or '-')[:120]}")
    emit(as_json, rows, "\n".join(lines))


def _model_name(model: str) -> str:
    """The registered model a name or a ``models:/`` URI (with or without version) names."""
    from .. import registry

    rest = model.removeprefix("models:/")
    if rest == model or ("/" not in rest and "@" not in rest):
        return rest
    return registry.parse_model_uri(model)[0]
