"""The arguments and options the commands share: paths, column names, ``--experiment``,
window bounds and periods, each checked as a usage error before any work starts."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import click

from .output import F


class Command(click.Command):
    """A command whose options each take one value once: click keeps the last value of an
    option given twice, so ``--exclude a --exclude b`` left ``a`` a feature without a word,
    and ``--window-start`` given twice named the window by the second. Refused instead (a
    usage error), naming the option; flags may repeat."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not ctx.resilient_parsing:
            _refuse_repeats(self.make_parser(ctx), list(args), ctx)
        return super().parse_args(ctx, args)


def _refuse_repeats(parser: Any, args: list[str], ctx: click.Context) -> None:
    try:
        _, _, order = parser.parse_args(args=args)
    except click.UsageError:
        return  # the parse proper says what is wrong
    counts = Counter(p for p in order
                     if isinstance(p, click.Option) and not p.is_flag and not p.multiple)
    for option, times in counts.items():
        if times > 1:
            name = "/".join(option.opts)
            many = (f"; several columns go in one, comma-separated: {option.opts[0]} a,b"
                    if isinstance(option.type, _Names) else "")
            raise click.UsageError(f"{name} is given {times} times, and only one would be "
                                   f"used: give it once{many}", ctx)


def split(value: str | None) -> list[str] | None:
    """Comma-separated names as a list (``None`` when none are given)."""
    return [v.strip() for v in value.split(",") if v.strip()] if value else None


def not_blank(value: str) -> str:
    if not value.strip():
        raise click.BadParameter("give a reason: who looked, and why the version is fine")
    return value


def _not_empty(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is not None and not value.strip():
        raise click.BadParameter("is empty: give a name, or leave --experiment out for "
                                 "mlflow-decay/<name>")
    return value


def period(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """A window period (a pandas offset such as ``1D``); a usage error when not positive."""
    if value is None:
        return None
    from pandas.tseries.frequencies import to_offset

    try:
        offset = to_offset(value)
    except ValueError:
        return value  # not a period at all: the API says so
    if offset.n <= 0:
        raise click.BadParameter(f"{value!r} is not a positive period such as 1D, 6h, 1W")
    return value


experiment_option = click.option("--experiment", default=None, callback=_not_empty,
                                 help="Experiment name [default: mlflow-decay/<name>].")
compare_experiment_option = click.option(
    "--experiment", default=None, callback=_not_empty,
    help="Experiment name [default: mlflow-decay/<name>/compare].")
bounds_options = [
    click.option("--window-start", default=None,
                 help="ISO 8601 start of the window (no offset: UTC, or --timezone's time)."),
    click.option("--window-end", default=None,
                 help="ISO 8601 end of the window (no offset: UTC, or --timezone's time), after "
                 "the start."),
    click.option("--timezone", default=None, metavar="ZONE",
                 help="IANA time zone on whose clock bounds without an offset are read, and the "
                 "window shown, as a monitor --timezone window: America/New_York "
                 "[default: UTC]."),
]


def with_bounds(func: F) -> F:
    """Add ``--window-start``, ``--window-end`` and ``--timezone``."""
    for option in reversed(bounds_options):
        func = option(func)
    return func


def bounds(start: str | None, end: str | None, timezone: str | None = None
           ) -> tuple[str | None, str | None]:
    """Window bounds as UTC ISO 8601 (without an offset, read on ``timezone``'s clock); a
    usage error when not times or not in order."""
    from ..core.times import window_bounds
    from ..errors import DataError

    try:
        return window_bounds(start, end, timezone)
    except DataError as exc:
        raise click.UsageError(str(exc)) from exc


def zoned_bounds(start: str | None, end: str | None, timezone: str | None
                 ) -> tuple[str | None, str | None, str | None]:
    """:func:`bounds` of ``--window-start/--window-end/--timezone``, and the zone checked: an
    unknown one fails in one line before anything is read; a zone without bounds (nothing
    to place) is a usage error."""
    from ..core.times import check_timezone

    timezone = check_timezone(timezone)
    if timezone is not None and start is None and end is None:
        raise click.UsageError("--timezone places --window-start/--window-end on its clock: "
                               "give them")
    return (*bounds(start, end, timezone), timezone)


class _GivenPath(click.Path):
    """A path that is given: an empty string would mean the current directory."""

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> Any:
        if isinstance(value, str) and not value.strip():
            self.fail("give a path, not an empty string", param, ctx)
        return super().convert(value, param, ctx)


class _Names(click.ParamType):
    """Comma-separated column names; at least one."""

    name = "COL,COL"

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> list[str]:
        names = value if isinstance(value, list) else split(value)
        if not names:
            self.fail(f"name at least one column (comma-separated), got {value!r}", param, ctx)
        return names


class _Name(click.ParamType):
    """A name that is not blank (kept as written: column names may have spaces)."""

    name = "NAME"

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> str:
        if not str(value).strip():
            self.fail(f"give a name, not {value!r}", param, ctx)
        return str(value)


DATA = _GivenPath(path_type=Path)
POLICY = _GivenPath(dir_okay=False, path_type=Path)
NAMES, NAME = _Names(), _Name()
policy_option = click.option("--policy", "policy_path", default=None, type=POLICY,
                             help="Policy TOML file laid over the default.")
predicted_label_option = click.option(
    "--predicted-label", default=None, type=NAME, metavar="COLUMN",
    help="Column with each row's decided class: replaces the profile's threshold for the "
    "realized accuracy, precision, recall and F1.")
