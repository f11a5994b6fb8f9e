"""Which columns of a reference play which role (label, outputs, id, time, features), checked
once, at the edge."""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from ..errors import DataError
from ..stats.schema import Kind, infer_kind, require_flat
from .frames import column_name, column_names, require_column, require_unique_columns
from .profile import MIN_CATEGORY_COUNT, PREDICTION_KINDS, TASKS, PredictionKind, Task, check_threshold
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


def feature_notes(frame: pd.DataFrame, kinds: dict[str, Kind], columns: Columns
                  ) -> tuple[str, ...]:
    """Notes on columns chosen as features by default that look like labels, model outputs or
    ids (by a word of their name, or, text and integers, by a distinct value in every row),
    and on date or duration columns left out, whose drift is then not watched."""
    named = set(columns.named())
    notes = [f"column {name!r} holds dates or durations, which are not features: its drift is "
             "not watched; name it the timestamp column (timestamp_column=, "
             "--timestamp-column) to cut windows by it, or add a number made from it (such as "
             "days since it) to watch it"
             for name in map(str, frame.columns)
             if name not in kinds and name not in named and infer_kind(frame[name]) is None]
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
        elif kind == "categorical" and name not in columns.categorical and (
                example := _separated_number(head)) is not None:
            notes.append(f"column {name!r} became a categorical feature but holds numbers "
                         f"written with thousands separators (such as {example!r}): as "
                         "categories, values seen fewer than min_category_count times fold "
                         "into 'other' and its drift is barely watched; write the numbers "
                         "without separators (or as Parquet), or force --categorical")
    return tuple(notes)


def _separated_number(head: pd.Series) -> str | None:
    """A value of a text column whose every value is a number once its thousands separators
    (commas) are taken out, such as ``"1,234.5"``; ``None`` for any other column."""
    values = head.dropna()
    if len(values) == 0 or not all(isinstance(v, str) for v in values):
        return None
    text = values.astype(str).str.strip()
    separated = text[text.str.fullmatch(r"[-+]?\d{1,3}(,\d{3})+(\.\d*)?")]
    if separated.empty or pd.to_numeric(text.str.replace(",", "", regex=False),
                                        errors="coerce").isna().any():
        return None
    return str(separated.iloc[0])


def _looks_like(name: str) -> str | None:
    words = [w for w in re.split(r"[^0-9a-z]+",
                                 re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()) if w]
    if words == ["y"]:
        return "a label"
    for what, marks in _SUSPECT_WORDS.items():
        if any(w in marks for w in words):
            return what
    return "a model output" if any(w.startswith(("prob", "pred")) for w in words) else None


@dataclass(frozen=True)
class Columns:
    """The roles of a table's columns, as the user named them (sequences become tuples).

    ``prediction`` holds the model's output columns (one name becomes a 1-tuple);
    ``features`` stays ``None`` for "every column without another role". Nothing here
    reads data: :meth:`roles` checks what the names alone can contradict, and
    :func:`plan_columns` checks them against a table.
    """

    target: str | None = None
    prediction: str | Sequence[str] | None = None
    features: Sequence[str] | None = None
    categorical: Sequence[str] = ()
    numerical: Sequence[str] = ()
    exclude: Sequence[str] = ()
    id_column: str | None = None
    timestamp_column: str | None = None
    predicted_label: str | None = None

    def __post_init__(self) -> None:
        for name in ("target", "id_column", "timestamp_column", "predicted_label"):
            column_name(getattr(self, name), name)
        for name in ("prediction", "features"):  # one string is one column
            names = getattr(self, name)
            if names is not None:
                object.__setattr__(self, name, column_names(names, name))
        for name in ("categorical", "numerical", "exclude"):  # None (untyped callers) is none
            names = getattr(self, name)
            object.__setattr__(self, name, () if names is None else column_names(names, name))

    @property
    def prediction_columns(self) -> list[str]:
        """The model's output columns (empty without ``prediction``)."""
        return list(self.prediction or ())

    def named(self) -> tuple[str, ...]:
        """Every column a role names (a table must hold them all)."""
        return tuple(c for c in (self.target, self.id_column, self.timestamp_column,
                                 self.predicted_label, *self.prediction_columns,
                                 *(self.features or ()), *self.exclude, *self.categorical,
                                 *self.numerical) if c is not None)

    def roles(self, task: str) -> dict[str, str]:
        """The columns with a role other than feature (prediction, label, id, timestamp and
        decision columns), each with its role; refuses roles that contradict each other or
        ``task``."""
        pred_cols = self.prediction_columns
        if self.prediction is not None and task != "multiclass" and len(pred_cols) != 1:
            raise DataError(
                f"{task} task takes one prediction column, got {len(pred_cols)}"
                + (f" ({', '.join(map(repr, pred_cols[:5]))})" if pred_cols else "")
                + (": give the positive class's probability alone, or task='multiclass' "
                   "(--task multiclass) for one probability column per class"
                   if task == "binary" and pred_cols else ""))
        if self.predicted_label is not None and (self.target is None or task == "regression"):
            raise DataError("predicted_label needs a classifier's target (labels to compare with)")
        if self.predicted_label is not None and not pred_cols:
            raise DataError(f"predicted_label {self.predicted_label!r} needs the model's scores "
                            "too (prediction=, --prediction): performance is measured from them")
        roles: dict[str, str] = {}
        for column, role in (*((c, "prediction column") for c in pred_cols),
                             (self.target, "label column"), (self.id_column, "id column"),
                             (self.timestamp_column, "timestamp column"),
                             (self.predicted_label, "decision column")):
            if column is not None and column in roles:
                raise DataError(f"column {column!r} is named as both the {roles[column]} and the "
                                f"{role}")
            if column is not None:
                roles[column] = role
        named_special = [c for c in self.features or () if c in roles]
        if named_special:
            raise DataError(f"column {named_special[0]!r} is the {roles[named_special[0]]}; it "
                            "cannot also be a feature")
        return roles


@dataclass(frozen=True)
class ProfileOptions:
    """How a profile reads its model outputs and labels, and what it keeps: the options of
    :func:`~mlflow_decay.engines.dispatch.build_profile` other than the column roles."""

    task: Task = "binary"
    classes: Sequence[str] | None = None
    positive_label: str | None = None
    threshold: float = 0.5
    prediction_kind: PredictionKind = "probability"
    min_category_count: int = MIN_CATEGORY_COUNT
    band_chunks: int = 10

    def __post_init__(self) -> None:
        # numpy numbers (a threshold read off a curve, a count from an array) as Python's,
        # which the profile's JSON holds; anything else is left for check() to refuse
        if isinstance(self.threshold, numbers.Real) and not isinstance(self.threshold, bool):
            object.__setattr__(self, "threshold", float(self.threshold))
        for name in ("min_category_count", "band_chunks"):
            value = getattr(self, name)
            if isinstance(value, numbers.Integral) and not isinstance(value, bool):
                object.__setattr__(self, name, int(value))

    def check(self) -> None:
        """Refuse options that cannot be used, whatever engine reads the reference."""
        task, min_category_count = self.task, self.min_category_count
        if task not in TASKS:
            raise DataError(f"task must be one of {', '.join(TASKS)}, got {task!r}")
        if type(min_category_count) is not int or min_category_count < 1:
            raise DataError("min_category_count must be a positive integer, got "
                            f"{min_category_count!r}")
        if type(self.band_chunks) is not int or self.band_chunks < 0:
            raise DataError("band_chunks must be a whole number of chunks (0 for no reference "
                            f"bands), got {self.band_chunks!r}")
        check_outputs(task, self.threshold, self.prediction_kind)
        if self.positive_label is not None and task != "binary":
            # it was dropped without a word: a multiclass profile reads every class's column
            raise DataError(f"positive_label applies to binary tasks, not {task}"
                            + (" (give classes)" if task == "multiclass" else ""))
        if self.classes is not None and task != "multiclass":
            raise DataError(f"classes applies to multiclass tasks, not {task}"
                            + (" (give positive_label)" if task == "binary" else ""))


def check_outputs(task: str, threshold: Any, prediction_kind: Any) -> None:
    """Refuse a threshold or prediction kind the task cannot use."""
    if (prediction_kind == "logit" and isinstance(threshold, numbers.Real)
            and not isinstance(threshold, bool) and not 0 < float(threshold) < 1):
        raise DataError(f"threshold must be a number between 0 and 1 (exclusive), got "
                        f"{threshold!r}: it is a probability, also when the outputs are logits "
                        f"(a logit of {float(threshold):g} is the probability "
                        f"{1 / (1 + math.exp(-float(threshold))):.4g})")
    check_threshold(threshold)
    if prediction_kind not in PREDICTION_KINDS:
        raise DataError(f"prediction_kind must be one of {', '.join(PREDICTION_KINDS)}, "
                        f"got {prediction_kind!r}")
    if task != "binary" and threshold != 0.5:
        raise DataError(f"threshold applies to binary tasks, not {task}")
    if task == "regression" and prediction_kind != "probability":
        raise DataError("prediction_kind applies to classifiers, not regression")


def plan_columns(reference: pd.DataFrame, columns: Columns, task: str
                 ) -> tuple[dict[str, Kind], dict[str, str]]:
    """Check a reference's columns against their roles (and ``task``); return each feature's
    kind, and the schema (dtype names) of every column the profile uses.

    Every column named must exist; ``categorical``/``numerical`` must name features; nested
    columns (lists, structs, maps) are refused, and a text ``timestamp_column`` must parse as
    timestamps as a monitor reads them.
    """
    require_unique_columns(reference, "reference")
    roles = columns.roles(task)
    special = list(roles)
    features, timestamp_column = columns.features, columns.timestamp_column
    for column, role in roles.items():
        require_column(reference, column, "reference")
        require_flat(reference[column], column, f"it cannot be the {role}")
    if timestamp_column is not None and not pd.api.types.is_numeric_dtype(
            reference[timestamp_column].dtype):
        timestamps(reference[timestamp_column], timestamp_column)  # refuses text that is no time
    left_out = list(columns.exclude)
    for column in left_out:
        require_column(reference, column, "reference")
    overlap = set(columns.categorical) & set(columns.numerical)
    if overlap:
        raise DataError(f"column {sorted(overlap)[0]!r} is listed as both categorical and numerical")
    named = [c for c in (features or ()) if c in left_out]
    if named:  # the exclusion won without a word
        raise DataError(f"column {named[0]!r} is listed both as a feature and as excluded: "
                        "name it in one of features and exclude")
    names = [str(c) for c in (reference.columns if features is None else features)
             if c not in left_out and (features is not None or c not in special)]
    forced = {**{c: "categorical" for c in columns.categorical},
              **{c: "numerical" for c in columns.numerical}}
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
    return kinds, schema

