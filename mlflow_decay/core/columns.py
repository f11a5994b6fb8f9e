"""Which columns of a reference play which role (label, outputs, id, time, features), checked
once, at the edge."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import pandas as pd

from ..errors import DataError
from ..stats.schema import Kind, infer_kind, require_flat
from .frames import require_column, require_unique_columns
from .profile import PREDICTION_KINDS, TASKS, check_threshold
from .times import timestamps

#: Words of column names that suggest the column is not a model input (also: the name "y",
#: and words starting with "prob" or "pred").
_SUSPECT_WORDS = {
    "a label": ("target", "label", "labels", "outcome", "truth"),
    "a model output": ("score", "scores", "logit", "logits", "yhat"),
    "an id": ("id", "ids", "uuid", "guid"),
}


#: Rows looked at to tell whether a column is unique per row.
_UNIQUE_ROWS = 10_000


def feature_notes(frame: pd.DataFrame, kinds: dict[str, Kind]) -> tuple[str, ...]:
    """Notes on columns chosen as features by default that look like labels, model outputs or
    ids: by a word of their name, or (text and integers) by a distinct value in every row."""
    notes = []
    for name, kind in kinds.items():
        looks = _looks_like(name)
        head = frame[name].iloc[:_UNIQUE_ROWS]
        if looks is None and len(head) >= 50 and (
                kind == "categorical" or pd.api.types.is_integer_dtype(head.dtype)) \
                and head.nunique(dropna=False) == len(head):
            looks = "an id (a distinct value in every row)"
        if looks is not None:
            notes.append(f"column {name!r} became a {kind} feature but looks like {looks}: "
                         "if the model does not read it, leave it out (exclude=, --exclude) or "
                         "name its role (target=, prediction=, id_column=)")
    return tuple(notes)


def _looks_like(name: str) -> str | None:
    words = [w for w in re.split(r"[^0-9a-z]+",
                                 re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()) if w]
    if words == ["y"]:
        return "a label"
    for what, marks in _SUSPECT_WORDS.items():
        if any(w in marks for w in words):
            return what
    return "a model output" if any(w.startswith(("prob", "pred")) for w in words) else None


def check_options(task: Any, min_category_count: Any, threshold: Any, prediction_kind: Any,
                  classes: Any) -> None:
    """Refuse profile options that cannot be used, whatever engine reads the reference."""
    if task not in TASKS:
        raise DataError(f"task must be one of {', '.join(TASKS)}, got {task!r}")
    if not isinstance(min_category_count, int) or min_category_count < 1:
        raise DataError(f"min_category_count must be a positive integer, got {min_category_count!r}")
    check_outputs(task, threshold, prediction_kind)
    if classes is not None and task != "multiclass":
        raise DataError(f"classes applies to multiclass tasks, not {task}"
                        + (" (give positive_label)" if task == "binary" else ""))


def check_outputs(task: str, threshold: Any, prediction_kind: Any) -> None:
    """Refuse a threshold or prediction kind the task cannot use."""
    check_threshold(threshold)
    if prediction_kind not in PREDICTION_KINDS:
        raise DataError(f"prediction_kind must be one of {', '.join(PREDICTION_KINDS)}, "
                        f"got {prediction_kind!r}")
    if task != "binary" and threshold != 0.5:
        raise DataError(f"threshold applies to binary tasks, not {task}")
    if task == "regression" and prediction_kind != "probability":
        raise DataError("prediction_kind applies to classifiers, not regression")


def plan_columns(reference: pd.DataFrame, *, target: str | None, prediction: str | Sequence[str] | None,
                 task: str, features: Sequence[str] | None, categorical: Sequence[str] | None,
                 numerical: Sequence[str] | None, id_column: str | None,
                 timestamp_column: str | None, exclude: Sequence[str] | None = None,
                 predicted_label: str | None = None
                 ) -> tuple[list[str], dict[str, Kind], dict[str, str]]:
    """Check a reference's columns; return the prediction columns, each feature's kind, and the
    schema (dtype names) of every column the profile uses.

    Every column named must exist; ``categorical``/``numerical`` must name features; nested
    columns (lists, structs, maps) are refused, and a text ``timestamp_column`` must parse as
    timestamps as a monitor reads them.
    """
    require_unique_columns(reference, "reference")
    pred_cols = _prediction_columns(prediction, task)
    if predicted_label is not None and (target is None or task == "regression"):
        raise DataError("predicted_label needs a classifier's target (labels to compare with)")
    roles: dict[str, str] = {}
    for column, role in (*((c, "prediction column") for c in pred_cols), (target, "label column"),
                         (id_column, "id column"), (timestamp_column, "timestamp column"),
                         (predicted_label, "decision column")):
        if column is not None and column in roles:
            raise DataError(f"column {column!r} is named as both the {roles[column]} and the "
                            f"{role}")
        if column is not None:
            roles[column] = role
    special = list(roles)
    named_special = [c for c in features or () if c in roles]
    if named_special:
        raise DataError(f"column {named_special[0]!r} is the {roles[named_special[0]]}; it "
                        "cannot also be a feature")
    for column, role in roles.items():
        require_column(reference, column, "reference")
        require_flat(reference[column], column, f"it cannot be the {role}")
    if timestamp_column is not None and not pd.api.types.is_numeric_dtype(
            reference[timestamp_column].dtype):
        timestamps(reference[timestamp_column], timestamp_column)  # refuses text that is no time
    left_out = list(exclude or ())
    for column in left_out:
        require_column(reference, column, "reference")
    overlap = set(categorical or ()) & set(numerical or ())
    if overlap:
        raise DataError(f"column {sorted(overlap)[0]!r} is listed as both categorical and numerical")
    names = [str(c) for c in (reference.columns if features is None else features)
             if c not in left_out and (features is not None or c not in special)]
    forced = {**{c: "categorical" for c in categorical or ()},
              **{c: "numerical" for c in numerical or ()}}
    for column, as_kind in forced.items():
        require_column(reference, column, "reference")
        if column not in names:
            why = (f"it is the {roles[column]}" if column in roles else
                   "it is excluded" if column in left_out else "features does not name it")
            raise DataError(f"column {column!r} is listed as {as_kind} but is not a feature "
                            f"({why})")
    schema: dict[str, str] = {}
    kinds: dict[str, Kind] = {}
    for name in names:
        require_column(reference, name, "reference")
        require_flat(reference[name], name, "it cannot be a feature; leave it out (exclude=, "
                     "--exclude)")
        kind = forced.get(name) or infer_kind(reference[name])
        if kind is None:
            if features is not None:
                raise DataError(f"column {name!r}: dates/times cannot be a feature; "
                                "pass it as timestamp_column")
            continue
        kinds[name] = kind  # type: ignore[assignment]
        schema[name] = str(reference[name].dtype)
    if not kinds:
        raise DataError("reference has no feature columns to profile")
    for column in special:
        schema[column] = str(reference[column].dtype)
    return pred_cols, kinds, schema


def _prediction_columns(prediction: str | Sequence[str] | None, task: str) -> list[str]:
    if prediction is None:
        return []
    cols = [prediction] if isinstance(prediction, str) else list(prediction)
    if task != "multiclass" and len(cols) != 1:
        raise DataError(f"{task} task takes one prediction column, got {len(cols)}")
    return cols
