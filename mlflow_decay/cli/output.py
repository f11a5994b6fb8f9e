"""How a command runs and prints: ``--tracking-uri`` and ``--json`` (the :func:`common`
decorator), stdout kept for the command's own output, and one-line errors.

Errors a user can cause print one line (``mlflow-decay: error: ...``) and exit 1; usage
errors exit 2 (click's convention); no traceback is shown.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import sys
import warnings
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import click

from ..errors import DecayError, DecayWarning

DEFAULT_TRACKING_URI = "sqlite:///mlflow.db"
_STDOUT = "mlflow_decay.stdout"
F = TypeVar("F", bound=Callable[..., Any])


def _tracking_uri(value: str | None) -> str:
    return value or os.environ.get("MLFLOW_TRACKING_URI") or DEFAULT_TRACKING_URI


def common(func: F) -> F:
    """Add ``--tracking-uri`` and ``--json`` to a command, and turn DecayErrors into one line."""
    option = click.option("--tracking-uri", envvar=None, default=None, metavar="URI",
                          help="MLflow tracking/registry URI [default: $MLFLOW_TRACKING_URI, "
                               f"else {DEFAULT_TRACKING_URI}].")
    return option(offline(func))


def offline(func: F) -> F:
    """Add ``--json`` to a command that reads no tracking store, and turn DecayErrors into one
    line (:func:`common` adds ``--tracking-uri`` to it)."""

    @click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON on stdout.")
    @functools.wraps(func)
    def wrapper(*args: Any, as_json: bool, **kwargs: Any) -> Any:
        os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
        if not os.environ.get("MLFLOW_DECAY_DEBUG"):
            # MLflow logs a database error's traceback before raising it; we report it in a line
            logging.getLogger("mlflow.store.db.utils").setLevel(logging.CRITICAL)
        if "tracking_uri" in kwargs:
            kwargs["tracking_uri"] = _tracking_uri(kwargs["tracking_uri"])
        uri = kwargs.get("tracking_uri", "")
        # MLflow prints run links to stdout; keep stdout for our own output (--json stays parseable)
        click.get_current_context().meta[_STDOUT] = sys.stdout
        try:
            with contextlib.redirect_stdout(sys.stderr):
                return func(*args, as_json=as_json, **kwargs)
        except DecayError as exc:
            fail(str(exc), exc.exit_code)
        except Exception as exc:  # MLflow/server failures: one line, not a traceback
            if os.environ.get("MLFLOW_DECAY_DEBUG"):
                raise
            _fail_in_a_line(exc, uri)
            raise

    return wrapper  # type: ignore[return-value]


def _fail_in_a_line(exc: Exception, uri: str) -> None:
    """Exit with one line for an MLflow, file or tracking-store failure; return for others."""
    from mlflow.exceptions import MlflowException

    from ..registry.model_versions import first_line, is_store_error
    from ..registry.refusals import explain

    refused = explain(exc, uri or os.environ.get("MLFLOW_TRACKING_URI", ""))
    if refused is not None:  # the server refused the user: who, and what it needs
        fail(refused, 1)
    if isinstance(exc, (MlflowException, OSError)):
        fail(f"{type(exc).__name__}: {first_line(exc, 300)}", 1)
    if is_store_error(exc):  # the store's database failed (not a database, read-only)
        fail(f"tracking store {uri}: {type(exc).__name__}: {first_line(exc, 300)}", 1)


@contextlib.contextmanager
def notes_of_warnings() -> Iterator[None]:
    """Print the :class:`~mlflow_decay.errors.DecayWarning` s raised inside as notes on stderr
    (other warnings as Python shows them)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DecayWarning)
        yield
    for found in caught:
        if issubclass(found.category, DecayWarning):
            click.echo(f"mlflow-decay: note: {found.message}", err=True)
        else:
            warnings.showwarning(found.message, found.category, found.filename, found.lineno)


def fail(message: str, code: int) -> None:
    click.echo(f"mlflow-decay: error: {message}", err=True)
    sys.exit(code)


def echo(text: str) -> None:
    """Print on the command's stdout (while MLflow's prints go to stderr)."""
    click.echo(text, file=click.get_current_context().meta.get(_STDOUT))


def emit(as_json: bool, payload: Any, text: str) -> None:
    """Print ``text``, or ``payload`` as JSON (strict: a non-finite number becomes null)."""
    from ..core.report import json_safe

    echo(json.dumps(json_safe(payload), indent=2, sort_keys=True, default=str, allow_nan=False)
         if as_json else text)


def fmt(value: float | None, digits: int = 3, sign: bool = False) -> str:
    """A metric in a table cell: ``-`` when missing, else
    :func:`~mlflow_decay.core.report.metric_text`."""
    from ..core.report import metric_text  # loaded already wherever there are metrics

    return "-" if value is None else metric_text(value, digits, sign)


def whole(reasons: str | None, width: int = 110) -> str:
    """``; ``-joined reasons shortened to ``width`` by leaving out whole reasons, never
    cutting one (the first is kept whole however long), with ``(+N more)``; ``-`` if none."""
    parts = [r for r in (reasons or "").split("; ") if r]
    kept: list[str] = []
    for i, part in enumerate(parts):
        more = len(parts) - i - 1
        tail = f" (+{more} more)" if more else ""
        if kept and len("; ".join([*kept, part])) + len(tail) > width:
            break
        kept.append(part)
    left = len(parts) - len(kept)
    return "; ".join(kept) + (f" (+{left} more)" if left else "") if kept else "-"


def span(start: str | None, end: str | None, timezone: str | None = None) -> str:
    """A window's bounds in a table cell (:func:`mlflow_decay.core.times.span_label`), on the
    clock of ``timezone`` when given; ``-`` when the window has none."""
    from ..core.times import span_label

    return span_label(start, end, timezone) or "-"


def spans(title: str, windows: list[tuple[str | None, str | None, str | None]]
          ) -> tuple[str, list[str]]:
    """A column of windows (``(start, end, timezone)`` each) in table cells, and its title:
    ``title (UTC)`` when every window with bounds was cut on UTC's clock, ``title (ZONE)``
    when all on one zone's (``monitor --timezone``), shown on its clock with offsets; with
    several zones, ``title`` alone, each window on its own clock with offsets (UTC's too)."""
    zones = {zone for start, end, zone in windows if start or end}
    one = len(zones) <= 1
    title = f"{title} ({next(iter(zones), None) or 'UTC'})" if one else title
    return title, [span(start, end, zone if one else zone or "UTC")
                   for start, end, zone in windows]


def table(header: list[str], rows: list[list[str]], right: frozenset[int] = frozenset()) -> str:
    """:func:`~mlflow_decay.core.report.text_table`."""
    from ..core.report import text_table

    return text_table(header, rows, right)
