"""What labels and model outputs tell about a reference: the classes, the positive one, the
reference performance, and the maps and models label-free estimation uses."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..errors import DataError
from ..stats import performance
from ..stats.dispersion import with_dispersion
from ..stats.estimate import (
    CALIBRATION_ROWS,
    Calibration,
    estimated_metrics,
    fit_calibrations,
    too_few_to_calibrate,
)
from ..stats.loss import LossModel, estimate_regression
from ..stats.loss_fit import MAX_CATEGORIES, MIN_SAMPLES_LEAF, fit_loss_models
from ..stats.schema import (
    SPACING_HINT,
    category_counts,
    category_key,
    label_list,
    map_labels,
    near_labels,
    sort_key,
    to_numeric,
)
from .columns import Columns, ProfileOptions
from .frames import list_columns, loss_inputs, prediction_values, unnormalised_note
from .profile import CategoricalSummary, Summary
from .times import timestamps


@dataclass(frozen=True)
class Supervision:
    """What labels and model outputs tell about a reference: classes, the reference performance,
    the maps and models label-free estimation uses, and the estimates on the reference."""

    classes: tuple[str, ...] = ()
    positive_label: str | None = None
    performance: dict[str, float] = field(default_factory=dict)
    calibrations: tuple[Calibration, ...] = ()
    loss_models: tuple[LossModel, ...] = ()
    estimated: dict[str, float] = field(default_factory=dict)
    notes: tuple[str, ...] = ()


def supervise(rows: pd.DataFrame, columns: Columns, options: ProfileOptions, *,
              target_summary: Summary | None, numerical: Sequence[str],
              categorical: Sequence[str] = ()) -> Supervision:
    """Classes from ``target_summary``; performance, calibration (or, for regression, loss
    models over the ``numerical`` and ``categorical`` features) and reference estimates from
    ``rows``; the model
    outputs read as ``options.prediction_kind``, decided at ``options.threshold`` or by the
    ``predicted_label`` column."""
    target, pred_cols, task = columns.target, columns.prediction_columns, options.task
    classes, threshold = options.classes, options.threshold
    positive_label, predicted_label = options.positive_label, columns.predicted_label
    class_labels: tuple[str, ...] = ()
    pos: str | None = None
    if target is not None and target_summary is not None and task != "regression":
        class_labels = _class_labels(target_summary, target, task, classes, pred_cols)
        pos = _positive_label(class_labels, positive_label, target) if task == "binary" else None
    elif target is None and task == "multiclass":
        if classes is None:
            raise DataError("multiclass profile without target needs classes= naming the "
                            "prediction columns' classes")
        class_labels = _given_classes(classes, pred_cols)
    elif target is None and task == "binary" and positive_label is not None:
        pos = category_key(positive_label)
    if target is None or not pred_cols:
        return Supervision(class_labels, pos)
    values = prediction_values(rows, pred_cols, task, options.prediction_kind)
    perf, why = performance.realized(
        task, rows[target], values, classes=class_labels, positive_label=pos, threshold=threshold,
        decisions=rows[predicted_label] if predicted_label else None)
    calibrations: tuple[Calibration, ...] = ()
    loss_models: tuple[LossModel, ...] = ()
    unchecked: str | None = None
    if task != "regression":
        calibrations, unchecked = _calibrations(rows, target, values, class_labels, pos,
                                                threshold, columns.timestamp_column)
        est = estimated_metrics(task, values, calibrations, threshold)
    else:
        loss_models = _loss_models(rows, [*numerical, *categorical, *pred_cols], target,
                                   values, categorical)
        est = estimate_regression(loss_inputs(rows, loss_models), loss_models)
    notes = _estimate_notes(task, perf, calibrations, values, pred_cols, unchecked)
    if predicted_label and (note := undecided_note(rows[target], values, rows[predicted_label])):
        notes += (note,)
    if perf.get("roc_auc", 1.0) < 0.5:  # the scores rank the classes backwards
        notes += (f"reference roc_auc {perf['roc_auc']:.3f} is below 0.5: is {pred_cols[0]!r} "
                  f"the probability of {pos!r}? if it is the other class's, give that class "
                  "as positive_label= (--positive-label)",)
    if task == "multiclass" and not predicted_label and (
            note := _column_order_note(rows[target], values, class_labels, pred_cols,
                                       perf.get("accuracy"))):
        notes += (note,)
    if task == "binary" and "accuracy" in perf and "precision" not in perf and not predicted_label:
        notes += (f"no reference row scores at or above the threshold {threshold:g}: the model "
                  "decides every row negative, so precision is undefined and recall and F1 are "
                  "0; give the score at which it decides positive as threshold= (--threshold)",)
    elif task == "regression" and not loss_models and (labelled := int(np.isfinite(
            to_numeric(rows[target], target) - values).sum())) < LOSS_MODEL_ROWS:
        notes += (f"no error model: {labelled} reference rows have both a label and a "
                  f"prediction, {LOSS_MODEL_ROWS} are needed, so windows without labels get no "
                  "est.* (and the "
                  "default policy's est.rmse.ratio rule judges nothing)",)
    elif why:  # a rule on perf.<metric>.delta has no reference value to judge against
        notes += (f"reference {', '.join(why)} left out ({'; '.join(dict.fromkeys(why.values()))})"
                  f": windows get no {', '.join(f'perf.{m}.delta' for m in why)} to judge",)
    return Supervision(class_labels, pos, perf, calibrations, loss_models,
                       {k[4:]: v for k, v in est.items() if k.count(".") == 1}, notes)


def _estimate_notes(task: str, perf: dict[str, float], calibrations: tuple[Calibration, ...],
                    values: np.ndarray, pred_cols: Sequence[str], unchecked: str | None
                    ) -> tuple[str, ...]:
    """What the reference says of how far ``est.*`` can be trusted: raw scores read unchecked
    (``unchecked``), class probabilities that do not sum to 1, scores that separate the labels
    perfectly (training rows), or every row scored alike (no estimate at all)."""
    notes = tuple(n for n in (unchecked, unnormalised_note(values, pred_cols, "the reference's"))
                  if n)
    auc = "roc_auc" if task == "binary" else "roc_auc_ovr"
    if perf.get(auc) == 1.0 and calibrations:
        notes += (f"reference {auc} is 1: the scores separate the labels perfectly, as a model's "
                  "scores of its own training rows do; est.* assume a score means on a window "
                  "what it meant here, so if these are training rows every estimate will read "
                  "near perfect (profile rows the model did not learn from)",)
    if task != "regression" and not calibrations and identical_scores(values):
        notes += (f"every reference row has the same {'scores' if values.ndim == 2 else 'score'}"
                  f" ({', '.join(pred_cols)}): they say nothing of which rows are positive, so "
                  "no score can be mapped to a chance of its label and windows without labels "
                  "get no est.*; profile rows the model scored",)
    return notes


def _column_order_note(labels: pd.Series, proba: np.ndarray, classes: Sequence[str],
                       columns: Sequence[str], accuracy: float | None) -> str | None:
    """A note when the prediction columns fit the reference labels far better in another
    order than ``classes`` gives them (classes= listed alphabetically, columns in the model's
    ``classes_`` order): the reference accuracy is then below chance, silently."""
    from scipy.optimize import linear_sum_assignment

    y = map_labels(labels, classes, str(labels.name))
    keep = pd.notna(y) & np.isfinite(proba).all(axis=1)
    if accuracy is None or keep.sum() < len(classes) * 10:
        return None
    counts = np.zeros((len(classes), len(classes)))
    np.add.at(counts, (np.argmax(proba[keep], axis=1), pd.Index(classes).get_indexer(y[keep])),
              1)
    rows, best = linear_sum_assignment(-counts)
    fits = counts[rows, best].sum() / keep.sum()
    if fits < accuracy + 0.1 or fits < 1.5 * accuracy:
        return None
    moved = [f"{columns[r]!r} as {classes[b]!r}" for r, b in zip(rows, best, strict=True)
             if r != b]
    return (f"reference accuracy {accuracy:.3f}, where reading " + ", ".join(moved[:4])
            + (f" (+{len(moved) - 4} more)" if len(moved) > 4 else "")
            + f" gives {fits:.3f}: are classes= (--classes) in the prediction columns' order?")


#: A regression reference needs this many labelled rows to model its errors (``est.*``).
LOSS_MODEL_ROWS = 50


def _loss_models(reference: pd.DataFrame, columns: Sequence[str], target: str,
                 predictions: np.ndarray, categorical: Sequence[str] = ()
                 ) -> tuple[LossModel, ...]:
    """Regression: models of each row's absolute and squared error from the features (the
    ``categorical`` ones by category, or as numbers where every value is one) and the
    prediction."""
    error = to_numeric(reference[target], target) - predictions
    keep = np.isfinite(error)
    if keep.sum() < LOSS_MODEL_ROWS:
        return ()
    rows = reference[keep]
    inputs, categories = [], {}
    for column in columns:
        if column in categorical and not _all_numbers(rows[column]):
            kept = _frequent_categories(rows[column])
            if not kept:
                continue
            categories[column] = kept
        inputs.append(column)
    model = LossModel(tuple(inputs), 0.0, (), categories=categories)
    x = loss_inputs(rows, [model])
    return fit_loss_models(x, error[keep], inputs, categories=categories)


def _all_numbers(series: pd.Series) -> bool:
    """Whether every value of a categorical column is a number (counts, codes, flags)."""
    present = series.dropna()
    if pd.api.types.is_numeric_dtype(present.dtype) or pd.api.types.is_bool_dtype(present.dtype):
        return True
    numbers = pd.to_numeric(present.astype(object), errors="coerce")
    return bool(numbers.notna().all())


def _frequent_categories(series: pd.Series) -> tuple[str, ...]:
    """The categories (by :func:`category_key`) the loss models tell apart: those of at least
    ``MIN_SAMPLES_LEAF`` rows, the ``MAX_CATEGORIES`` most frequent; others read as missing."""
    counts, _ = category_counts(series)
    frequent = sorted(((-n, sort_key(k), k) for k, n in counts.items() if n >= MIN_SAMPLES_LEAF))
    return tuple(k for _, _, k in frequent[:MAX_CATEGORIES])


def _calibrations(rows: pd.DataFrame, target: str, values: np.ndarray,
                  classes: tuple[str, ...], positive_label: str | None, threshold: float,
                  timestamp_column: str | None
                  ) -> tuple[tuple[Calibration, ...], str | None]:
    """Score-to-probability maps for label-free estimation: one (binary) or one per class,
    chosen without regard to the decision threshold (one map serves every metric); the first
    holds the metrics' dispersion at ``threshold`` over consecutive chunks of the rows (in time
    order when ``timestamp_column`` is among them, else as given); and a note when the labels
    are too few to check the raw scores."""
    labels = map_labels(rows[target], classes, target)
    scores = values if values.ndim == 2 else values[:, None]
    keep = pd.notna(labels) & np.isfinite(scores).all(axis=1)
    wanted = [positive_label] if values.ndim == 1 else list(classes)
    hits = np.column_stack([labels[keep] == label for label in wanted])
    if identical_scores(scores[keep]):  # no map from scores to labels: no est.*
        return (), None
    calibrations = fit_calibrations(scores[keep], hits)
    unchecked = None
    if too_few_to_calibrate(hits):
        fewest = min(min(int(h.sum()), len(h) - int(h.sum())) for h in hits.T)
        unchecked = (f"est.* will read the raw scores as probabilities, unchecked: {len(hits)} "
                     f"labelled reference rows, {fewest} of the rarest label, where "
                     f"{CALIBRATION_ROWS} rows and 2 of each label are needed to check the "
                     "scores' calibration or fit a map (the bands leave the map's error out)")
    order = np.arange(int(keep.sum()))
    if timestamp_column is not None and timestamp_column in rows.columns:
        times = rows[timestamp_column]  # text parsed as the monitor parses it (as the bands)
        if not pd.api.types.is_numeric_dtype(times.dtype):
            times = timestamps(times, timestamp_column)
        order = np.argsort(times.to_numpy()[keep], kind="stable")
    return (with_dispersion(values[keep][order], hits[order], calibrations, threshold),
            unchecked)


def identical_scores(values: np.ndarray) -> bool:
    """Whether the model gave every row with finite outputs the same output (a constant
    score, or the same class probabilities in every row): no calibration can be fitted."""
    finite = values[np.isfinite(values).all(axis=1) if values.ndim == 2 else np.isfinite(values)]
    return len(finite) > 0 and bool(np.all(finite == finite[0]))


def undecided_note(labels: pd.Series, outputs: np.ndarray, decisions: pd.Series) -> str | None:
    """A note when rows with a label and a model output have no decision (column
    ``decisions``): the realized metrics leave them out, every one (all are of the same rows)."""
    judged = labels.notna().to_numpy() & np.isfinite(outputs).reshape(len(labels), -1).all(axis=1)
    missing = int((judged & decisions.isna().to_numpy()).sum())
    if not missing:
        return None
    total = int(judged.sum())
    return (f"{missing:,} of the {total:,} rows with a label and a model output have no decision "
            f"in {decisions.name!r}: every perf.* metric is of the other {total - missing:,}")


def _class_labels(summary: Summary, target: str, task: str, classes: Sequence[str] | None,
                  pred_cols: list[str]) -> tuple[str, ...]:
    """The classes, in the order of the prediction columns (binary: the two labels, sorted)."""
    assert isinstance(summary, CategoricalSummary)
    seen = tuple(sorted(summary.categories, key=sort_key))
    if task == "binary":
        if len(seen) != 2:
            other = ("; profile a multiclass model with task='multiclass' (--task multiclass), "
                     "a regression with task='regression' (--task regression)"
                     if len(seen) > 2 else "")
            raise DataError(f"column {target!r}: a binary task needs two label classes in the "
                            f"reference, found {len(seen)} ({label_list(seen[:5])})"
                            + (SPACING_HINT if near_labels(seen) else other))
        return seen
    if classes is None:
        if pred_cols and len(seen) < len(pred_cols):
            raise DataError(f"multiclass: {len(pred_cols)} prediction columns but the reference "
                            f"labels in {target!r} hold {len(seen)} classes "
                            f"({label_list(seen[:10])}): a class no reference row has cannot be "
                            "read from the column names; name each column's class in column "
                            "order with classes= (--classes)")
        _check_class_count(pred_cols, seen)
        return classes_from_columns(pred_cols, seen, target) if pred_cols else seen
    given = _given_classes(classes, pred_cols)
    # every reference label must be one of the classes (by value); keep the labels' spelling
    mapped = map_labels(pd.Series(seen, dtype=object), given, target)
    spelling = dict(zip(mapped.tolist(), seen, strict=True))
    return tuple(spelling.get(c, c) for c in given)


def _given_classes(classes: Sequence[Any], pred_cols: Sequence[str]) -> tuple[str, ...]:
    if isinstance(classes, str):
        raise DataError(f"classes must be a list of class labels, got the text {classes!r}")
    labels = tuple(category_key(c) for c in classes)
    if len(set(labels)) != len(labels):
        raise DataError(f"classes name a class twice ({', '.join(labels[:10])})")
    _check_class_count(pred_cols, labels)
    named = _named_classes(pred_cols, labels) if pred_cols else None
    if named is not None and named != labels:  # p_gold given as silver: every metric wrong
        wrong = [f"{c!r} (named after {n!r}) as {g!r}"
                 for c, n, g in zip(pred_cols, named, labels, strict=True) if n != g]
        raise DataError(f"multiclass: classes= (--classes) give {', '.join(wrong[:4])}"
                        + (f" (+{len(wrong) - 4} more)" if len(wrong) > 4 else "")
                        + f"; give classes= in the prediction columns' order "
                        f"({', '.join(named)}), or leave them out to read them from the names")
    return labels


def _check_class_count(pred_cols: Sequence[str], labels: Sequence[str]) -> None:
    if pred_cols and len(pred_cols) != len(labels):
        raise DataError(f"multiclass: {len(pred_cols)} prediction columns for {len(labels)} "
                        f"classes ({', '.join(labels[:10])}); give one probability column per class")


def classes_from_columns(pred_cols: Sequence[str], labels: Sequence[str], target: str
                          ) -> tuple[str, ...]:
    """Each prediction column's class, read from its name: the one label it ends with (a label
    after a separator such as ``_`` wins over a shorter one it ends in: ``p_11`` is 11). When
    that reads no class for every column, a number's zero fraction is left out of the names:
    ``p_1.0``, named after a model's float classes, is 1."""
    found = _named_classes(pred_cols, labels)
    if found is None:
        raise DataError(f"multiclass: cannot tell each prediction column's class from its name "
                        f"(columns {list_columns(pred_cols, 10)}; labels of {target!r}: "
                        f"{', '.join(labels[:10])}); give classes= (--classes) in the columns' "
                        "order")
    return found


def _named_classes(pred_cols: Sequence[str], labels: Sequence[str]) -> tuple[str, ...] | None:
    """Each column's class read from its name (see :func:`classes_from_columns`), or ``None``
    when the names do not tell every column a class of its own."""
    names = [str(c) for c in pred_cols]
    found = [_class_of(n, labels) for n in names]
    if None in found or len(set(found)) != len(found):
        found = [_class_of(_without_zero_fraction(n), labels) for n in names]
    if None in found or len(set(found)) != len(found):
        return None
    return tuple(label for label in found if label is not None)


def _class_of(column: str, labels: Sequence[str]) -> str | None:
    """The one label ``column`` ends with (see :func:`classes_from_columns`), else ``None``."""
    ends = [label for label in labels if column.endswith(label)]
    bounded = [label for label in ends
               if len(column) == len(label) or not column[-len(label) - 1].isalnum()]
    pick = bounded if len(bounded) == 1 else ends
    return pick[0] if len(pick) == 1 else None


def _without_zero_fraction(column: str) -> str:
    """``column`` without the zero fraction of a number it ends with (``p_1.0``: ``p_1``)."""
    whole, dot, fraction = column.rpartition(".")
    return whole if dot and whole[-1:].isdigit() and fraction.isdigit() and not fraction.strip(
        "0") else column


def _positive_label(labels: tuple[str, ...], positive_label: str | None, target: str) -> str:
    if positive_label is not None:
        try:
            return str(map_labels(pd.Series([positive_label], dtype=object), labels,
                                  "positive_label")[0])
        except DataError:
            raise DataError(f"positive_label {positive_label!r} is not a class of column "
                            f"{target!r} ({label_list(labels, [str(positive_label)])})"
                            + ("; spell it as the class is spelled"
                               if near_labels([str(positive_label)], labels) else "")) from None
    if all(sort_key(label)[0] != float("inf") for label in labels):
        return labels[-1]  # numbers: the larger one, as scikit-learn's roc_auc_score reads them
    lowered = {label.lower(): label for label in labels}  # Yes/No as yes/no
    for candidate in ("true", "yes", "positive"):
        if candidate in lowered:
            return lowered[candidate]
    raise DataError(f"column {target!r}: which class is the score the probability of? the "
                    f"classes are {label_list(labels)}; give positive_label= (--positive-label)"
                    + (SPACING_HINT if near_labels(labels, ("yes", "no", "true", "false"))
                       else ""))
