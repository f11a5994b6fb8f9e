"""The ``mlflow-decay`` command line: thin verbs over the Python API.

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
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from .errors import DecayError

if TYPE_CHECKING:  # the profile module loads on first use (it imports numpy)
    from .core.profile import PredictionKind, Task

DEFAULT_TRACKING_URI = "sqlite:///mlflow.db"
_STDOUT = "mlflow_decay.stdout"
F = TypeVar("F", bound=Callable[..., Any])


def _tracking_uri(value: str | None) -> str:
    return value or os.environ.get("MLFLOW_TRACKING_URI") or DEFAULT_TRACKING_URI


def common(func: F) -> F:
    """Add ``--tracking-uri`` and ``--json`` to a command, and turn DecayErrors into one line."""

    @click.option("--tracking-uri", envvar=None, default=None, metavar="URI",
                  help="MLflow tracking/registry URI [default: $MLFLOW_TRACKING_URI, else "
                       f"{DEFAULT_TRACKING_URI}].")
    @click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON on stdout.")
    @functools.wraps(func)
    def wrapper(*args: Any, tracking_uri: str | None, as_json: bool, **kwargs: Any) -> Any:
        os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
        if not os.environ.get("MLFLOW_DECAY_DEBUG"):
            # MLflow logs a database error's traceback before raising it; we report it in a line
            logging.getLogger("mlflow.store.db.utils").setLevel(logging.CRITICAL)
        uri = _tracking_uri(tracking_uri)
        # MLflow prints run links to stdout; keep stdout for our own output (--json stays parseable)
        click.get_current_context().meta[_STDOUT] = sys.stdout
        try:
            with contextlib.redirect_stdout(sys.stderr):
                return func(*args, tracking_uri=uri, as_json=as_json, **kwargs)
        except DecayError as exc:
            _fail(str(exc), exc.exit_code)
        except Exception as exc:  # MLflow/server failures: one line, not a traceback
            if os.environ.get("MLFLOW_DECAY_DEBUG"):
                raise
            from mlflow.exceptions import MlflowException

            from .registry.model_versions import first_line, is_store_error

            if isinstance(exc, (MlflowException, OSError)):
                _fail(f"{type(exc).__name__}: {first_line(exc, 300)}", 1)
            if is_store_error(exc):  # the store's database failed (not a database, read-only)
                _fail(f"tracking store {uri}: {type(exc).__name__}: {first_line(exc, 300)}", 1)
            raise

    return wrapper  # type: ignore[return-value]


def _fail(message: str, code: int) -> None:
    click.echo(f"mlflow-decay: error: {message}", err=True)
    sys.exit(code)


def _echo(text: str) -> None:
    click.echo(text, file=click.get_current_context().meta.get(_STDOUT))


def _emit(as_json: bool, payload: Any, text: str) -> None:
    """Print ``text``, or ``payload`` as JSON (strict: a non-finite number becomes null)."""
    from .core.report import json_safe

    _echo(json.dumps(json_safe(payload), indent=2, sort_keys=True, default=str, allow_nan=False)
          if as_json else text)


def _not_blank(value: str) -> str:
    if not value.strip():
        raise click.BadParameter("give a reason: who looked, and why the version is fine")
    return value


def _not_empty(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is not None and not value.strip():
        raise click.BadParameter("is empty: give a name, or leave --experiment out for "
                                 "mlflow-decay/<name>")
    return value


experiment_option = click.option("--experiment", default=None, callback=_not_empty,
                                 help="Experiment name [default: mlflow-decay/<name>].")
bounds_options = [
    click.option("--window-start", default=None,
                 help="ISO 8601 start of the window (no offset: UTC)."),
    click.option("--window-end", default=None,
                 help="ISO 8601 end of the window (no offset: UTC), after the start."),
]


def with_bounds(func: F) -> F:
    """Add ``--window-start`` and ``--window-end``."""
    for option in reversed(bounds_options):
        func = option(func)
    return func


def _bounds(start: str | None, end: str | None) -> tuple[str | None, str | None]:
    """Window bounds as UTC ISO 8601; a usage error when not times or not in order."""
    from .core.times import window_bounds
    from .errors import DataError

    try:
        return window_bounds(start, end)
    except DataError as exc:
        raise click.UsageError(str(exc)) from exc


def _period(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
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


def _split(value: str | None) -> list[str] | None:
    return [v.strip() for v in value.split(",") if v.strip()] if value else None


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
        names = value if isinstance(value, list) else _split(value)
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


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="mlflow-decay")
def main() -> None:
    """Catch silent model decay in the MLflow model registry.

    Models are addressed as in MLflow: models:/<name>/<version> or models:/<name>@<alias>.
    """
    # no network but the tracking URI: MLflow's usage telemetry stays off unless asked for
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")


@main.command()
@click.argument("model_uri")
@click.option("--data", "data", required=True, type=DATA,
              help="Reference table: CSV or Parquet file (or a directory of Parquet files).")
@click.option("--target", type=NAME, default=None, help="Label column.")
@click.option("--prediction", type=NAMES, default=None,
              help="Score/probability column (multiclass: comma-separated, one per class).")
@click.option("--task", type=click.Choice(["binary", "multiclass", "regression"]),
              default="binary", show_default=True)
@click.option("--features", type=NAMES, default=None, help="Comma-separated feature columns [default: all "
              "but the label, prediction, id and timestamp columns].")
@click.option("--exclude", type=NAMES, default=None,
              help="Comma-separated columns left out of the features (other models' scores, "
              "ids, labels of other tasks).")
@click.option("--categorical", type=NAMES, default=None, help="Comma-separated columns forced categorical.")
@click.option("--numerical", type=NAMES, default=None, help="Comma-separated columns forced numerical.")
@click.option("--id-column", type=NAME, default=None, help="Row id column (not a feature).")
@click.option("--timestamp-column", type=NAME, default=None,
              help="Timestamp column (not a feature).")
@click.option("--band-chunks", type=click.IntRange(0), default=10, show_default=True,
              help="Reference chunks for the per-metric reference bands (0: none).")
@click.option("--min-category-count", type=click.IntRange(1), default=5, show_default=True,
              metavar="K", help="Fold feature categories seen fewer than K times into 'other' "
              "(the profile keeps no value only a few rows have).")
@click.option("--reference-sample", type=click.IntRange(0), default=0, show_default=True,
              metavar="ROWS", help="Also store this many RAW reference rows (opt-in) so each "
              "evaluation logs Evidently's data-drift report.")
@click.option("--classes", default=None, metavar="A,B,C",
              help="Multiclass: the class of each --prediction column, in the same order "
              "[default: read from the column names, e.g. p_cat -> cat].")
@click.option("--positive-label", type=NAME, default=None, metavar="CLASS",
              help="Binary: the class the score is the probability of [default: 1, True or "
              "yes; for other numbers the larger; other text labels must name it].")
@click.option("--threshold", type=click.FloatRange(0, 1, min_open=True, max_open=True),
              default=0.5, show_default=True,
              help="Binary: a score at or above it predicts the positive class (accuracy, "
              "precision, recall, F1; realized and estimated).")
@click.option("--prediction-kind", type=click.Choice(["probability", "logit"]),
              default="probability", show_default=True,
              help="How classifier outputs are read: probabilities in [0, 1], or logits "
              "(sigmoid; softmax across multiclass columns). Windows are read the same way.")
@click.option("--predicted-label", default=None, metavar="COLUMN",
              help="Column with each row's decided class: replaces the threshold for the "
              "realized confusion-matrix metrics (windows must carry it too).")
@common
def profile(model_uri: str, data: Path, target: str | None, prediction: list[str] | None,
            task: Task, features: list[str] | None, exclude: list[str] | None,
            categorical: list[str] | None, numerical: list[str] | None,
            id_column: str | None, timestamp_column: str | None, band_chunks: int,
            min_category_count: int, reference_sample: int, classes: str | None,
            positive_label: str | None, threshold: float, prediction_kind: PredictionKind,
            predicted_label: str | None, tracking_uri: str, as_json: bool) -> None:
    """Build the reference profile of DATA and store it with MODEL_URI."""
    from . import api
    from .engines.dispatch import build_profile
    from .engines.sources import read_table

    preds = prediction
    # a Parquet file or directory is profiled in batches, unless a raw sample is to be stored
    table = read_table(data) if reference_sample else None
    built = build_profile(
        data if table is None else table, target=target,
        prediction=preds if task == "multiclass" else (preds[0] if preds else None),
        task=task,
        features=features, categorical=categorical, numerical=numerical,
        id_column=id_column, timestamp_column=timestamp_column, band_chunks=band_chunks,
        min_category_count=min_category_count, exclude=exclude, classes=_split(classes),
        positive_label=positive_label, threshold=threshold,
        prediction_kind=prediction_kind,
        predicted_label=predicted_label,
    )
    uri = api.attach_profile(model_uri, built, tracking_uri=tracking_uri,
                             reference_sample=table if reference_sample else None,
                             sample_rows=reference_sample)
    for note in built.notes:
        click.echo(f"mlflow-decay: note: {note}", err=True)
    payload = {"model_uri": model_uri, "profile_uri": uri, "sha256": built.sha256(),
               "rows": built.rows, "features": len(built.features),
               "feature_kinds": built.feature_kinds, "notes": list(built.notes),
               "bytes": len(built.to_json()), "performance": built.performance,
               "classes": list(built.classes), "positive_label": built.positive_label}
    # columns whose metrics cannot log under their own name (unsafe, too long, colliding)
    renamed = {n: k for n, k in built.metric_keys.items() if n != k}
    payload["metric_keys"] = renamed
    perf = ", ".join(f"{k} {v:.4f}" for k, v in built.performance.items())
    kinds = ", ".join(f"{name} ({kind})" for name, kind in built.feature_kinds.items())
    keys = ", ".join(f"{n!r} -> {k}" for n, k in list(renamed.items())[:5])
    _emit(as_json, payload, f"profile of {built.rows} rows, {len(built.features)} features "
          f"attached to {model_uri}\n  features: {kinds}\n  {uri}\n  sha256 {built.sha256()}"
          + (f"\n  classes: {', '.join(built.classes)}" if built.classes else "")
          + (f" (positive: {built.positive_label})" if built.positive_label else "")
          + (f"\n  reference {perf}" if perf else "")
          + (f"\n  metrics of {len(renamed)} column(s) log under keys: {keys}"
             + (", …" if len(renamed) > 5 else "") if renamed else ""))


@main.command()
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
@click.option("--predicted-label", default=None, metavar="COLUMN",
              help="Column with each row's decided class: replaces the profile's threshold for "
              "the realized accuracy, precision, recall and F1.")
@common
def evaluate(model_uri: str, data: Path, policy_path: Path | None, dry_run: bool, no_log: bool,
             window_start: str | None, window_end: str | None, experiment: str | None,
             force: bool, predicted_label: str | None, tracking_uri: str, as_json: bool) -> None:
    """Evaluate a production window against MODEL_URI's reference profile."""
    from . import api
    from .core.policy import load_policy

    window_start, window_end = _bounds(window_start, window_end)
    pol = load_policy(policy_path)
    report = api.evaluate(model_uri, data, policy=pol, log=not (dry_run or no_log),
                          apply=not dry_run, window_start=window_start, window_end=window_end,
                          tracking_uri=tracking_uri, experiment=experiment, force=force,
                          predicted_label=predicted_label)
    lines = [f"{report.model_uri}: {report.summary()}"]
    lines += [f"  breach: {r}" for r in report.reasons[:10]]
    if len(report.reasons) > 10:
        lines.append(f"  … {len(report.reasons) - 10} more breaches")
    lines += [f"  note: {n}" for n in report.notes]
    if report.extra_columns:
        lines.append(f"  ignored extra columns: {', '.join(report.extra_columns)}")
    verb = "done" if report.applied else "would do (nothing changed)"
    lines += [f"  registry {verb}: {a}" for a in report.actions]
    lines.append(f"  run {report.run_id}" if report.run_id else "  not logged")
    _emit(as_json, report.to_dict(), "\n".join(lines))


@main.command()
@click.argument("model_uri")
@click.option("--data", "data", required=True, type=DATA,
              help="Production rows: CSV or Parquet file, or a directory of Parquet files.")
@click.option("--timestamp-column", type=NAME, default=None,
              help="Column that orders and dates the rows.")
@click.option("--timestamp-unit", type=click.Choice(["s", "ms", "us", "ns"]), default=None,
              help="What timestamps given as numbers count since 1970 (required for them).")
@click.option("--window", "every", default=None, metavar="PERIOD", callback=_period,
              help="Window period as a pandas offset: 1D, 6h, 1W (needs --timestamp-column).")
@click.option("--chunk-size", type=click.IntRange(1), default=None,
              help="Window size in rows (instead of --window).")
@click.option("--policy", "policy_path", default=None, type=POLICY,
              help="Policy TOML file laid over the default.")
@click.option("--force", is_flag=True, help="Evaluate windows already logged again.")
@click.option("--dry-run", is_flag=True, help="Evaluate only: log nothing, change nothing.")
@experiment_option
@common
def monitor(model_uri: str, data: Path, timestamp_column: str | None,
            timestamp_unit: str | None, every: str | None, chunk_size: int | None,
            policy_path: Path | None, force: bool, dry_run: bool, experiment: str | None,
            tracking_uri: str, as_json: bool) -> None:
    """Evaluate DATA window by window in time order, logging one run per window.

    Reruns skip windows already logged (same version, bounds and rows) unless --force, so an
    interrupted monitor resumes where it stopped. A window still open (it ends after now) is
    provisional: logged, not applied. --dry-run shows the stages the real run would reach.
    """
    if (every is None) == (chunk_size is None):
        raise click.UsageError("give --window PERIOD (with --timestamp-column) or --chunk-size N")
    if every is not None and timestamp_column is None:
        raise click.UsageError("--window needs --timestamp-column")
    from . import api
    from .core.policy import load_policy

    pol = load_policy(policy_path)
    bars: list[Any] = []

    def progress(done: int, total: int, _report: object) -> None:
        if not total:  # windows read in batches: their number is not known in advance
            click.echo(f"window {done} done", err=True)
            return
        if not bars:
            bars.append(click.progressbar(length=total, label="windows", file=sys.stderr))
        bars[0].update(1)

    reports = api.monitor(
        model_uri, data, timestamp_column=timestamp_column, every=every, chunk_size=chunk_size,
        policy=pol, force=force, log=not dry_run, tracking_uri=tracking_uri,
        experiment=experiment, progress=None if as_json else progress,
        timestamp_unit=timestamp_unit)
    for bar in bars:
        bar.render_finish()
    header = (f"{'#':>3}  {'window start':<26}{'rows':>8}  {'status':<9}{'auc':>7}{'est auc':>9}"
              f"{'drift':>7}  run")
    lines = [header]
    for r in reports:
        auc = r.metrics.get("perf.roc_auc", r.metrics.get("perf.roc_auc_ovr"))
        est = r.metrics.get("est.roc_auc", r.metrics.get("est.roc_auc_ovr"))
        share = r.metrics.get("drift.share")
        lines.append(
            f"{r.step:>3}  {r.window_start or '-':<26}{r.rows:>8}  "
            f"{'skipped' if r.skipped else r.status:<9}{_fmt(auc):>7}{_fmt(est):>9}"
            f"{_fmt(share, 2):>7}  {r.run_id or '-'}"
            + ("  (window still open: logged, not applied)" if r.provisional else ""))
    _emit(as_json, [r.to_dict() for r in reports], "\n".join(lines))


def _fmt(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


@main.command()
@click.argument("model_uri")
@click.option("--labels", "labels_path", required=True,
              type=DATA,
              help="Late labels: CSV or Parquet with the row id and the label.")
@click.option("--id-column", type=NAME, default=None,
              help="Row id column [default: the profile's].")
@click.option("--label-column", type=NAME, default=None,
              help="Label column [default: the profile's target].")
@click.option("--policy", "policy_path", default=None, type=POLICY,
              help="Policy TOML file laid over the default.")
@experiment_option
@common
def labels(model_uri: str, labels_path: Path, id_column: str | None, label_column: str | None,
           policy_path: Path | None, experiment: str | None, tracking_uri: str,
           as_json: bool) -> None:
    """Join labels that arrived late onto MODEL_URI's evaluated windows (matched by row id)."""
    from .core.policy import load_policy
    from .engines.sources import read_table
    from .labels import attach_labels

    pol = load_policy(policy_path)
    updated = attach_labels(model_uri, read_table(labels_path), id_column=id_column,
                            label_column=label_column, policy=pol, tracking_uri=tracking_uri,
                            experiment=experiment)
    lines = [f"{len(updated)} window(s) received labels"]
    for w in updated:
        auc = w.metrics.get("perf.roc_auc", w.metrics.get("perf.roc_auc_ovr"))
        lines.append(f"  {w.window_start or '-':<26}{w.labelled:>8} of {w.rows:<8} labelled  "
                     f"{w.window_status:<9}auc {_fmt(auc)}  run {w.run_id}")
    _emit(as_json, [w.__dict__ for w in updated], "\n".join(lines))


@main.command("compare")
@click.argument("champion")
@click.argument("challenger")
@click.option("--data", "data", required=True, type=DATA,
              help="Window with both versions' outputs: CSV or Parquet.")
@click.option("--predictions", type=NAMES, default=None,
              help="Each version's output column [default: the ones named in the profiles].")
@click.option("--policy", "policy_path", default=None, type=POLICY,
              help="Policy TOML file laid over the default.")
@click.option("--no-log", is_flag=True, help="Do not log the comparison run.")
@click.option("--promote", is_flag=True,
              help="Move the policy's promote alias to CHALLENGER when it has won enough windows.")
@click.option("--dry-run", is_flag=True, help="Show what would be logged and moved; change nothing.")
@with_bounds
@experiment_option
@common
def compare_cmd(champion: str, challenger: str, data: Path, predictions: list[str] | None,
                policy_path: Path | None, no_log: bool, promote: bool, dry_run: bool,
                window_start: str | None, window_end: str | None, experiment: str | None,
                tracking_uri: str, as_json: bool) -> None:
    """Judge CHAMPION and CHALLENGER (model URIs) on the same window, side by side.

    A window (its bounds, else its rows) counts once towards the promotion streak."""
    from . import api
    from .core.policy import load_policy
    from .core.report import COMPARED
    from .engines.sources import read_table

    window_start, window_end = _bounds(window_start, window_end)
    result = api.compare(read_table(data), [champion, challenger], predictions=predictions,
                         policy=load_policy(policy_path), log=not no_log, promote=promote,
                         dry_run=dry_run, tracking_uri=tracking_uri, experiment=experiment,
                         window_start=window_start, window_end=window_end)
    a, b = result.labels
    lines = [f"{'metric':<42}{a:>14}{b:>14}{'diff':>10}",
             f"{'status':<42}{result.statuses[0]:>14}{result.statuses[1]:>14}"]
    m = result.metrics
    for name in COMPARED:
        if f"compare.diff.{name}" in m:
            lines.append(f"{name:<42}{m[f'compare.{a}.{name}']:>14.4f}"
                         f"{m[f'compare.{b}.{name}']:>14.4f}{m[f'compare.diff.{name}']:>+10.4f}")
    if result.delong is not None:
        d = result.delong
        lines.append(f"DeLong: AUC difference {d.diff:+.4f} (95% CI {d.lower:+.4f} to "
                     f"{d.upper:+.4f}), p = {d.p_value:.3g}")
    lines += [f"note: {n}" for n in result.notes]
    verb = "would" if dry_run or no_log else "did"
    lines += [f"promotion ({verb}): {p}" for p in result.promotion]
    lines.append(f"run {result.run_id}" if result.run_id else "not logged")
    _emit(as_json, result.to_dict(), "\n".join(lines))


@main.command()
@click.argument("model_uri")
@click.option("--reason", required=True, callback=lambda ctx, param, value: _not_blank(value),
              help="Why the version is healthy again (recorded).")
@experiment_option
@common
def restore(model_uri: str, reason: str, experiment: str | None, tracking_uri: str,
            as_json: bool) -> None:
    """Mark MODEL_URI healthy again by hand, with a reason (logged as a run)."""
    from . import api

    run_id = api.restore(model_uri, reason, tracking_uri=tracking_uri, experiment=experiment)
    _emit(as_json, {"model_uri": model_uri, "status": "healthy", "run_id": run_id},
          f"{model_uri} is healthy again (run {run_id})")


@main.command()
@click.argument("model")
@experiment_option
@common
def history(model: str, experiment: str | None, tracking_uri: str, as_json: bool) -> None:
    """Every stage change and alias move of MODEL (a name, or a models:/ URI for one version)."""
    from . import api

    events = api.history(model, tracking_uri=tracking_uri, experiment=experiment)
    lines = [f"{'time':<27}{'version':<9}{'event':<44}reason / run"]
    lines += [f"{e['time']:<27}{e['version']:<9}{e['event'][:43]:<44}"
              f"{(e['reason'] or e['run_id'])[:100]}" for e in events]
    _emit(as_json, events, "\n".join(lines))


@main.command()
@click.argument("model_name")
@common
def status(model_name: str, tracking_uri: str, as_json: bool) -> None:
    """List every version of MODEL_NAME with its decay stage, last evaluation and reason."""
    from . import registry

    rows = registry.status_rows(registry.versions(registry.client_for(tracking_uri), model_name))
    header = f"{'version':<8}{'stage':<11}{'aliases':<24}{'since':<27}{'last evaluation':<38}reason"
    lines = [header]
    for r in rows:
        last = (f"{r['last_evaluated_at']} {r['last_status']}" if r["last_evaluated_at"] else "-")
        aliases = ",".join("@" + a for a in r["aliases"]) or "-"
        lines.append(f"{r['version']:<8}{r['status']:<11}{aliases:<24}{r['since'] or '-':<27}"
                     f"{last:<38}{(r['reason'] or '-')[:120]}")
    _emit(as_json, rows, "\n".join(lines))


@main.group()
def policy() -> None:
    """Inspect decay policies."""


@policy.command("show")
@click.option("--policy", "policy_path", default=None, type=POLICY,
              help="Policy TOML file laid over the default.")
@common
def policy_show(policy_path: Path | None, tracking_uri: str, as_json: bool) -> None:
    """Print the effective policy (the default, or FILE laid over it)."""
    from .core.policy import load_policy

    pol = load_policy(policy_path)
    _emit(as_json, pol.to_dict(), pol.to_toml().rstrip())


@main.command()
@click.option("--model-name", type=NAME, default="demo-churn", show_default=True)
@click.option("--windows", default=8, show_default=True, type=click.IntRange(2, 50))
@click.option("--window-rows", default=5000, show_default=True, type=click.IntRange(500, 10**6))
@common
def demo(model_name: str, windows: int, window_rows: int, tracking_uri: str, as_json: bool) -> None:
    """Train, register, profile and watch a churn model decay (AUC ~0.94 to ~0.87)."""
    import warnings

    from . import demo as scenario

    warnings.filterwarnings("ignore")
    echo: Callable[[str], None] = (lambda _line: None) if as_json else _echo
    rows = scenario.run(tracking_uri, model_name=model_name, windows=windows,
                        window_rows=window_rows, echo=echo)
    if as_json:
        _emit(True, rows, "")
        return
    _echo(f"\nsee the stages:  mlflow-decay status {model_name} --tracking-uri {tracking_uri}")
    _echo(f"look around:     mlflow ui --backend-store-uri {tracking_uri}")


if __name__ == "__main__":  # pragma: no cover
    main()
