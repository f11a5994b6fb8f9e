"""Judging production windows: ``evaluate`` (one window), ``monitor`` (a period cut into
windows) and ``labels`` (late labels joined onto windows evaluated before)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from .options import (
    DATA,
    NAME,
    POLICY,
    Command,
    experiment_option,
    period,
    policy_option,
    predicted_label_option,
    with_bounds,
    zoned_bounds,
)
from .output import common, emit, fmt, notes_of_warnings, spans, table

if TYPE_CHECKING:
    from ..core.report import DecayReport


@click.command(cls=Command)
@click.argument("model_uri")
@click.option("--data", "data", required=True, type=DATA,
              help="Window: CSV or Parquet file (or a directory of Parquet files).")
@click.option("--policy", "policy_path", default=None, type=POLICY,
              help="Policy TOML file laid over the default (see `policy show`).")
@click.option("--dry-run", is_flag=True,
              help="Evaluate and report what would change; log nothing, change nothing.")
@click.option("--no-log", is_flag=True,
              help="Do not log an MLflow run (and so change nothing in the registry).")
@with_bounds
@experiment_option
@click.option("--force", is_flag=True,
              help="Log a window logged before once more (its verdict still counts once).")
@predicted_label_option
@common
def evaluate(model_uri: str, data: Path, policy_path: Path | None, dry_run: bool, no_log: bool,
             window_start: str | None, window_end: str | None, experiment: str | None,
             timezone: str | None, force: bool, predicted_label: str | None, tracking_uri: str,
             as_json: bool) -> None:
    """Evaluate a production window against MODEL_URI's reference profile."""
    from .. import api
    from ..core.policy_file import load_policy

    window_start, window_end, timezone = zoned_bounds(window_start, window_end, timezone)
    pol = load_policy(policy_path)
    report = api.evaluate(model_uri, data, policy=pol, log=not (dry_run or no_log),
                          apply=not dry_run, window_start=window_start, window_end=window_end,
                          tracking_uri=tracking_uri, experiment=experiment, force=force,
                          predicted_label=predicted_label, timezone=timezone)
    emit(as_json, report.to_dict(), str(report))


@click.command(cls=Command)
@click.argument("model_uri")
@click.option("--data", "data", required=True, type=DATA,
              help="Production rows: CSV or Parquet file, or a directory of Parquet files.")
@click.option("--timestamp-column", type=NAME, default=None,
              help="Column that orders and dates the rows.")
@click.option("--timestamp-unit", type=click.Choice(["s", "ms", "us", "ns"]), default=None,
              help="What timestamps given as numbers count since 1970 (required for them).")
@click.option("--window", "every", default=None, metavar="PERIOD", callback=period,
              help="Window period as a pandas offset: 1D, 6h, 1W (needs --timestamp-column).")
@click.option("--timezone", default=None, metavar="ZONE",
              help="IANA time zone on whose clock --window runs (days from its midnight): "
              "Europe/Berlin, America/New_York [default: UTC]. Timestamps without an offset "
              "are still read as UTC (a note says so).")
@click.option("--chunk-size", type=click.IntRange(1), default=None,
              help="Window size in rows (instead of --window).")
@policy_option
@click.option("--force", is_flag=True, help="Evaluate windows already logged again.")
@click.option("--dry-run", is_flag=True, help="Evaluate only: log nothing, change nothing.")
@experiment_option
@predicted_label_option
@common
def monitor(model_uri: str, data: Path, timestamp_column: str | None,
            timestamp_unit: str | None, every: str | None, timezone: str | None,
            chunk_size: int | None, policy_path: Path | None, force: bool, dry_run: bool,
            experiment: str | None, predicted_label: str | None, tracking_uri: str,
            as_json: bool) -> None:
    """Evaluate DATA window by window in time order, logging one run per window.

    Reruns skip windows already logged (same version, bounds and rows) unless --force, so an
    interrupted monitor resumes where it stopped. A window still open (it ends after now) is
    provisional: logged, not applied. --dry-run shows the stages the real run would reach.
    """
    if (every is None) == (chunk_size is None):
        raise click.UsageError("give --window PERIOD (with --timestamp-column) or --chunk-size N")
    if timestamp_column is None and (every is not None or timestamp_unit is not None):
        raise click.UsageError(f"{'--window' if every else '--timestamp-unit'} needs "
                               "--timestamp-column")
    from .. import api
    from ..core.policy_file import load_policy

    pol = load_policy(policy_path)
    bars: list[Any] = []
    with notes_of_warnings():  # times without an offset read as UTC on a zone's clock
        reports = api.monitor(
            model_uri, data, timestamp_column=timestamp_column, every=every,
            chunk_size=chunk_size, policy=pol, force=force, log=not dry_run,
            tracking_uri=tracking_uri, experiment=experiment,
            progress=None if as_json else _progress(bars), timestamp_unit=timestamp_unit,
            timezone=timezone, predicted_label=predicted_label)
    for bar in bars:
        bar.render_finish()
    # the alias moves (the stage is in the table): a monitor of @champion may have taken it off
    moves = [f"  window {number}: registry {'done' if r.applied else 'would do'}: {a}"
             for number, r in enumerate(reports, 1) for a in r.actions
             if not a.startswith("set tag ")]
    emit(as_json, [r.to_dict() for r in reports], "\n".join([_monitor_table(reports, pol.min_rows), *moves]))


def _progress(bars: list[Any]) -> Callable[[int, int, object], None]:
    """A progress report on stderr: on a terminal, a bar once the number of windows is known
    (kept in ``bars`` to finish it); else (windows read in batches, whose number is not known
    in advance, or stderr a log, where a bar shows only its label) a line per window."""

    def progress(done: int, total: int, _report: object) -> None:
        if not total or not sys.stderr.isatty():
            click.echo(f"window {done}{f' of {total}' if total else ''} done", err=True)
            return
        if not bars:
            bars.append(click.progressbar(length=total, label="windows", file=sys.stderr))
        bars[0].update(1)

    return progress


def _monitor_table(reports: list[DecayReport], min_rows: int = 1) -> str:
    """One line per window: its bounds, rows, its own verdict, the version's stage after it,
    the task's headline metric (AUC, RMSE; realized and estimated), drift share; a window not
    applied (still open, or under the policy's ``min_rows``) says so."""
    word, values = _headlines([r.metrics for r in reports])
    title, cells = spans("window", [(r.window_start, r.window_end, r.timezone) for r in reports])
    rows = [[str(number), cell, str(r.rows),
             "skipped" if r.skipped else r.window_status, r.status, fmt(realized), fmt(est),
             fmt(r.metrics.get("drift.share"), 2), (r.run_id or "-")
             + ("  (window still open: logged, not applied)" if r.provisional else "")
             + (f"  (under min_rows {min_rows}: verdict not applied)"
                if not r.provisional and not r.skipped and r.rows < min_rows else "")
             + ("  (logged before: not counted again)" if r.skipped else "")]
            for number, (r, (realized, est), cell)
            in enumerate(zip(reports, values, cells, strict=True), 1)]
    return table(["#", title, "rows", "verdict", "stage", word, f"est {word}", "drift", "run"],
                 rows, right=frozenset({0, 2, 5, 6, 7}))


def _headlines(metrics: list[dict[str, float]]
               ) -> tuple[str, list[tuple[float | None, float | None]]]:
    """The column title of one version's headline metric (``core.report.headline``: AUC,
    RMSE) and each window's realized and estimated values of it."""
    from ..core.report import headline

    heads = [headline(m) for m in metrics]
    title = "rmse" if any(name == "rmse" for name, _, _ in heads) else "auc"
    return title, [(realized, est) for _, realized, est in heads]


@click.command(cls=Command)
@click.argument("model_uri")
@click.option("--labels", "--data", "labels_path", required=True,
              type=DATA,
              help="Late labels: CSV or Parquet with the row id and the label.")
@click.option("--id-column", type=NAME, default=None,
              help="The labels' row id column, matched to the ids the windows stored "
              "[default: the profile's id column].")
@click.option("--label-column", type=NAME, default=None,
              help="The labels' label column [default: the profile's target].")
@policy_option
@experiment_option
@common
def labels(model_uri: str, labels_path: Path, id_column: str | None, label_column: str | None,
           policy_path: Path | None, experiment: str | None, tracking_uri: str,
           as_json: bool) -> None:
    """Join labels that arrived late onto MODEL_URI's evaluated windows (matched by row id)."""
    from ..core.policy_file import load_policy
    from ..engines.sources import read_table
    from ..labels import attach_labels

    pol = load_policy(policy_path)
    with notes_of_warnings():
        updated = attach_labels(model_uri, read_table(labels_path), id_column=id_column,
                                label_column=label_column, policy=pol,
                                tracking_uri=tracking_uri, experiment=experiment)
    word, values = _headlines([w.metrics for w in updated])
    title, cells = spans("window", [(w.window_start, w.window_end, w.timezone) for w in updated])
    rows = [[cell, f"{w.labelled} of {w.rows}", w.window_status, fmt(realized), w.run_id]
            for w, (realized, _), cell in zip(updated, values, cells, strict=True)]
    text = table([title, "labelled", "verdict", word, "run"], rows, right=frozenset({1, 3}))
    lines = [f"{len(updated)} window(s) received labels", *("  " + line for line in text.splitlines())]
    emit(as_json, [w.__dict__ for w in updated], "\n".join(lines))
