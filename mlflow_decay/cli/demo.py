"""``demo``: the seed scenario (:mod:`mlflow_decay.demo`) against a local store."""

from __future__ import annotations

from collections.abc import Callable

import click

from .options import NAME
from .output import common, echo, emit


@click.command()
@click.option("--model-name", type=NAME, default="demo-churn", show_default=True,
              help="Registered model the demo creates (its versions are added to it).")
@click.option("--windows", default=8, show_default=True, type=click.IntRange(2, 50),
              help="Weekly production windows of the decaying champion.")
@click.option("--window-rows", default=5000, show_default=True, type=click.IntRange(500, 10**6),
              help="Rows per window.")
@common
def demo(model_name: str, windows: int, window_rows: int, tracking_uri: str, as_json: bool) -> None:
    """Train, register, profile and watch a churn model decay (AUC ~0.94 to ~0.87)."""
    import warnings

    from .. import demo as scenario

    warnings.filterwarnings("ignore")
    say: Callable[[str], None] = (lambda _line: None) if as_json else echo
    rows = scenario.run(tracking_uri, model_name=model_name, windows=windows,
                        window_rows=window_rows, echo=say)
    if as_json:
        emit(True, rows, "")
        return
    echo(f"\nsee the stages:  mlflow-decay status {model_name} --tracking-uri {tracking_uri}")
    echo(f"look around:     mlflow ui --backend-store-uri {tracking_uri}")
