"""What a version is judged against: ``profile`` (its reference profile) and ``policy show``
(the thresholds and actions)."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ..errors import DecayWarning
from .options import DATA, NAME, NAMES, Command, policy_option, split
from .output import common, emit, fmt, offline

if TYPE_CHECKING:  # the profile module loads on first use (it imports numpy)
    from ..core.profile import PredictionKind, Profile, Task


@click.command(cls=Command)
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
              help="Binary: the class the score is the probability of [default: 1, or True, "
              "yes or positive in any case; for other numbers the larger; other text labels "
              "must name it].")
@click.option("--threshold", type=click.FloatRange(0, 1, min_open=True, max_open=True),
              default=0.5, show_default=True,
              help="Binary: a score at or above it predicts the positive class (accuracy, "
              "precision, recall, F1; realized and estimated); a probability, also with "
              "--prediction-kind logit.")
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
    from .. import api
    from ..engines.dispatch import build_profile
    from ..engines.sources import read_table

    preds = prediction
    # a Parquet file or directory is profiled in batches, unless a raw sample is to be stored
    table = read_table(data) if reference_sample else None
    with warnings.catch_warnings():  # its notes are printed below, once the profile is stored
        warnings.simplefilter("ignore", DecayWarning)
        built = build_profile(
            data if table is None else table, target=target,
            # as given: several columns for a binary or regression task are refused, not cut
            prediction=preds[0] if preds and len(preds) == 1 and task != "multiclass" else preds,
            task=task,
            features=features, categorical=categorical, numerical=numerical,
            id_column=id_column, timestamp_column=timestamp_column, band_chunks=band_chunks,
            min_category_count=min_category_count, exclude=exclude, classes=split(classes),
            positive_label=positive_label, threshold=threshold,
            prediction_kind=prediction_kind,
            predicted_label=predicted_label,
        )
    uri = api.attach_profile(model_uri, built, tracking_uri=tracking_uri,
                             reference_sample=table if reference_sample else None,
                             sample_rows=reference_sample)
    for note in built.notes:
        click.echo(f"mlflow-decay: note: {note}", err=True)
    _print_profile(as_json, model_uri, uri, built)


def _print_profile(as_json: bool, model_uri: str, uri: str, built: Profile) -> None:
    """What was attached: rows, features and their kinds, classes, the reference performance,
    and the columns whose metrics log under other keys."""
    payload = {"model_uri": model_uri, "profile_uri": uri, "sha256": built.sha256(),
               "rows": built.rows, "features": len(built.features),
               "feature_kinds": built.feature_kinds, "notes": list(built.notes),
               "bytes": len(built.to_json()), "performance": built.performance,
               "classes": list(built.classes), "positive_label": built.positive_label,
               # how the performance above was decided, as the text says it
               "task": built.task, "prediction_kind": built.prediction_kind,
               "threshold": built.threshold if built.task == "binary" else None,
               "predicted_label": built.predicted_label}
    # columns whose metrics cannot log under their own name (unsafe, too long, colliding)
    renamed = {n: k for n, k in built.metric_keys.items() if n != k}
    payload["metric_keys"] = renamed
    perf = ", ".join(f"{k} {fmt(v, 4)}" for k, v in built.performance.items())
    kinds = ", ".join(f"{name} ({kind})" for name, kind in built.feature_kinds.items())
    keys = ", ".join(f"{n!r} -> {k}" for n, k in list(renamed.items())[:5])
    emit(as_json, payload, f"profile of {built.rows} rows, {len(built.features)} features "
         f"attached to {model_uri}\n  features: {kinds}\n  {uri}\n  sha256 {built.sha256()}"
         + (f"\n  classes: {', '.join(built.classes)}" if built.classes else "")
         + (f" (positive: {built.positive_label})" if built.positive_label else "")
         + _decision(built)
         + (f"\n  reference {perf}" if perf else "")
         + ("" if built.target else "\n  no --target: performance will not be tracked, "
            "neither realized nor estimated (both need the reference's labels)"
            + ("" if built.prediction_columns else "; no --prediction: nor prediction drift"))
         + (f"\n  metrics of {len(renamed)} column(s) log under keys: {keys}"
            + (", …" if len(renamed) > 5 else "") if renamed else ""))


def _decision(built: Profile) -> str:
    """How a classifier's profile decides a row's class, for the accuracy, precision, recall
    and F1 it prints: its decision column, else a binary one's threshold (and its scale,
    which logits make a question)."""
    if built.predicted_label:  # the realized metrics read the column; estimates the scores
        estimates = (f", estimates at probability >= {built.threshold:g}"
                     if built.task == "binary" else "")
        return f"; decided by column {built.predicted_label!r} (each row's decision{estimates})"
    if built.task != "binary" or not built.classes:
        return ""
    after = " (the logits' sigmoid)" if built.prediction_kind == "logit" else ""
    return f"; decided positive at probability >= {built.threshold:g}{after}"


@click.group()
def policy() -> None:
    """Inspect decay policies."""


@policy.command("show", cls=Command)
@policy_option
@offline
def policy_show(policy_path: Path | None, as_json: bool) -> None:
    """Print the effective policy (the default, or FILE laid over it)."""
    from ..core.policy_file import load_policy

    pol = load_policy(policy_path)
    emit(as_json, pol.to_dict(), pol.to_toml().rstrip())
