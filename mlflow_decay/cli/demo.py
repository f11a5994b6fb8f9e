"""``demo``: the seed scenario (:mod:`mlflow_decay.demo`) against a local store."""

from __future__ import annotations

from collections.abc import Callable

import click

from .options import NAME, Command
from .output import common, echo, emit


@click.command(cls=Command)
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
    echo(f"\nsee the stages:  {_this_command()} status {model_name} --tracking-uri {tracking_uri}")
    echo(f"look around:     {_beside_python('mlflow')} ui --backend-store-uri {tracking_uri}")


def _this_command() -> str:
    """How this command was started, so that the hints work as printed (``mlflow-decay`` on
    the PATH, ``.venv/bin/mlflow-decay``, or ``python -m mlflow_decay.cli``)."""
    import os
    import shutil
    import sys

    program = sys.argv[0] if sys.argv else ""
    if os.path.basename(program) != "mlflow-decay":
        return f"{_beside_python('python')} -m mlflow_decay.cli"
    found = shutil.which("mlflow-decay")
    if found and os.path.realpath(found) == os.path.realpath(program):
        return "mlflow-decay"
    return _shortest(program)


def _beside_python(name: str) -> str:
    """``name`` as a command: the script beside this interpreter when the PATH finds another
    one or none (a virtual environment that is not activated)."""
    import os
    import shutil
    import sys

    here = os.path.join(os.path.dirname(sys.executable), name)
    found = shutil.which(name)
    if found and os.path.exists(here) and os.path.realpath(found) == os.path.realpath(here):
        return name
    return _shortest(here) if os.path.exists(here) else name


def _shortest(path: str) -> str:
    """``path`` relative to the working directory when it lies below it, else absolute."""
    import os

    rel = os.path.relpath(path)
    return rel if not rel.startswith("..") else os.path.abspath(path)
