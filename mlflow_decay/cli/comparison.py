"""``compare``: champion and challenger judged on the same window, and the promotion streak."""

from __future__ import annotations

from pathlib import Path

import click

from .options import (
    DATA,
    NAMES,
    Command,
    compare_experiment_option,
    policy_option,
    with_bounds,
    zoned_bounds,
)
from .output import common, emit


@click.command("compare", cls=Command)
@click.argument("champion")
@click.argument("challenger")
@click.option("--data", "data", required=True, type=DATA,
              help="Window with both versions' outputs: CSV or Parquet.")
@click.option("--predictions", type=NAMES, default=None,
              help="Each version's output column [default: the ones named in the profiles].")
@policy_option
@click.option("--no-log", is_flag=True, help="Do not log the comparison run.")
@click.option("--promote", is_flag=True,
              help="Move the policy's promote alias to CHALLENGER (a version of the same "
              "model) when it has won enough windows: a higher ROC AUC (binary) or a lower "
              "mean absolute error or log loss (regression, multiclass), per [promote].")
@click.option("--dry-run", is_flag=True, help="Show what would be logged and moved; change nothing.")
@with_bounds
@compare_experiment_option
@common
def compare_cmd(champion: str, challenger: str, data: Path, predictions: list[str] | None,
                policy_path: Path | None, no_log: bool, promote: bool, dry_run: bool,
                window_start: str | None, window_end: str | None, timezone: str | None,
                experiment: str | None, tracking_uri: str, as_json: bool) -> None:
    """Judge CHAMPION and CHALLENGER (model URIs) on the same window, side by side.

    A window (its bounds, else its rows) counts once towards the promotion streak; with
    --timezone, bounds without an offset are that zone's times (a monitor --timezone window
    of that day is the same window)."""
    from .. import api
    from ..core.policy_file import load_policy
    from ..engines.sources import read_table

    window_start, window_end, timezone = zoned_bounds(window_start, window_end, timezone)
    result = api.compare(read_table(data), [champion, challenger], predictions=predictions,
                         policy=load_policy(policy_path), log=not no_log, promote=promote,
                         dry_run=dry_run, tracking_uri=tracking_uri, experiment=experiment,
                         window_start=window_start, window_end=window_end, timezone=timezone)
    verb = "would" if dry_run or no_log else "did"
    # whether the promotion listed was made, as the text's "promotion (did)" or "(would)" says
    emit(as_json, {**result.to_dict(), "applied": verb == "did"}, result.text(verb))

