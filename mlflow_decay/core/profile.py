"""Reference profiles: the data model and its JSON format.

A :class:`Profile` holds aggregates only (counts, moments, a quantile sketch and a histogram per
numerical column, top-K frequencies per categorical column, the prediction and label
distributions, reference performance and the schema). It serialises to canonical JSON whose
SHA-256 identifies it; its size does not grow with the number of reference rows. Building and
merging profiles is :mod:`mlflow_decay.core.summarize`.
"""

from __future__ import annotations

import hashlib
import json
import math
import numbers
from dataclasses import dataclass, field, fields, replace
from functools import cached_property
from typing import Any, Literal

import numpy as np

from ..errors import DataError, ProfileError
from ..stats import sketch
from ..stats.estimate import Calibration
from ..stats.loss import LossModel
from ..stats.multivariate import PCAModel
from .names import RESERVED_KEYS, metric_keys

FORMAT_NAME = "mlflow-decay-profile"

#: Profiles that set a decision threshold, logits or a decision column are written as version 2,
#: so that a reader of version 1 refuses them instead of reading their outputs the old way;
#: those whose PCA has categorical levels or stores the directions it leaves out, or whose
#: regression loss models read categories, take a log link or carry the band's fields, as
#: version 3 (an older reader would refuse or misread them); those whose loss model carries
#: an alternative model for the band's structural term as version 4 (a reader of version 3
#: would leave it out and give narrower bands); the others stay version 1 (same bytes, same
#: SHA-256 as before).
FORMAT_VERSION = 4

Task = Literal["binary", "multiclass", "regression"]

TASKS: tuple[str, ...] = ("binary", "multiclass", "regression")

PredictionKind = Literal["probability", "logit"]

#: How a classifier's output columns are read: probabilities in [0, 1], or logits (turned into
#: probabilities by the sigmoid, or for multiclass by the softmax over the columns).
PREDICTION_KINDS: tuple[str, ...] = ("probability", "logit")

#: Probabilities of the quantile sketch's base knots (see :mod:`mlflow_decay.stats.sketch`).
QUANTILE_PROBS = sketch.BASE_PROBS

#: Histogram bins for PSI/JS: edges at the reference deciles.
HISTOGRAM_PROBS: tuple[float, ...] = tuple(round(0.1 * i, 1) for i in range(1, 10))

#: Categorical columns keep their most frequent values; the rest are counted as "other".
TOP_K = 100

#: Categories seen fewer times than this in a reference are folded into "other": a profile
#: holds no value that only a handful of rows have (configurable per profile).
MIN_CATEGORY_COUNT = 5

#: Numerical columns with at most this many distinct values also store them with their counts,
#: so their CDF (and KS, Wasserstein) is exact.
EXACT_VALUES = 128


@dataclass(frozen=True)
class NumericSummary:
    """Statistics of one numerical column: finite values only, missing and infinite counted apart."""

    count: int
    missing: int
    infinite: int
    min: float | None = None
    max: float | None = None
    mean: float | None = None
    std: float | None = None
    quantiles: tuple[float, ...] = ()
    edges: tuple[float, ...] = ()
    counts: tuple[int, ...] = ()
    values: tuple[float, ...] = ()
    value_counts: tuple[int, ...] = ()
    extra_knots: tuple[tuple[float, float], ...] = ()
    kind: Literal["numerical"] = "numerical"

    @property
    def rows(self) -> int:
        return self.count + self.missing + self.infinite

    def knots(self) -> tuple[np.ndarray, np.ndarray]:
        """Knots of the reference CDF: values and the CDF at them (a repeated value is a jump).

        Exact for columns with at most ``EXACT_VALUES`` distinct values (a step at each value);
        otherwise the quantile sketch, linear between knots.
        """
        return self._knots

    @cached_property
    def _knots(self) -> tuple[np.ndarray, np.ndarray]:
        if self.values:
            cum = np.concatenate(([0], np.cumsum(self.value_counts))) / self.count
            return np.repeat(self.values, 2), np.column_stack([cum[:-1], cum[1:]]).ravel()
        return sketch.knots(self.quantiles, self.extra_knots)

    def support(self) -> np.ndarray:
        """Points where the reference CDF may bend or jump."""
        return self.knots()[0]

    def cdf(self, x: np.ndarray, side: Literal["left", "right"] = "right") -> np.ndarray:
        """Reference CDF at ``x`` (``side='left'`` gives F(x-))."""
        return sketch.cdf(*self.knots(), np.asarray(x, dtype=float), side)

    def cdf_both(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(F(x), F(x-))`` of the reference, in one pass."""
        return sketch.cdf_both(*self.knots(), np.asarray(x, dtype=float))

    def histogram_proportions(self) -> np.ndarray:
        counts = np.asarray(self.counts, dtype=float)
        return counts / counts.sum()


@dataclass(frozen=True)
class CategoricalSummary:
    """Frequencies of one categorical column: the top-K values and an "other" count."""

    count: int
    missing: int
    categories: tuple[str, ...] = ()
    counts: tuple[int, ...] = ()
    other: int = 0
    kind: Literal["categorical"] = "categorical"

    @property
    def rows(self) -> int:
        return self.count + self.missing

Summary = NumericSummary | CategoricalSummary


@dataclass(frozen=True)
class Profile:
    """A reference profile: what a model version's training/validation data looked like."""

    task: Task
    features: dict[str, Summary]
    schema: dict[str, str]
    rows: int
    target: str | None = None
    prediction: str | tuple[str, ...] | None = None
    classes: tuple[str, ...] = ()
    positive_label: str | None = None
    prediction_summary: Summary | None = None
    target_summary: Summary | None = None
    performance: dict[str, float] = field(default_factory=dict)
    calibrations: tuple[Calibration, ...] = ()
    estimated_performance: dict[str, float] = field(default_factory=dict)
    multivariate: PCAModel | None = None
    loss_models: tuple[LossModel, ...] = ()
    bands: dict[str, tuple[float, float, int]] = field(default_factory=dict)
    id_column: str | None = None
    timestamp_column: str | None = None
    min_category_count: int = 1
    threshold: float = 0.5
    prediction_kind: PredictionKind = "probability"
    predicted_label: str | None = None
    #: What building the profile noticed (columns that look like labels, scores or ids but
    #: became features); not stored.
    notes: tuple[str, ...] = field(default=(), compare=False)

    @property
    def feature_kinds(self) -> dict[str, str]:
        """Each feature's kind, ``"numerical"`` or ``"categorical"``."""
        return {name: s.kind for name, s in self.features.items()}

    @cached_property
    def metric_keys(self) -> dict[str, str]:
        """Each feature's metric key (:func:`metric_keys`): derived from the feature names,
        so the same columns always log under the same names."""
        return metric_keys(self.features, RESERVED_KEYS)

    @property
    def prediction_columns(self) -> tuple[str, ...]:
        if self.prediction is None:
            return ()
        return (self.prediction,) if isinstance(self.prediction, str) else tuple(self.prediction)

    def reading_output(self, column: str) -> Profile:
        """This profile reading its single model output from ``column`` (another version's
        scores side by side): the loss models, which read the output too, included."""
        own = self.prediction_columns
        if len(own) != 1:
            raise DataError("only a single-column output (binary, regression) can be read from "
                            f"another column, not the {len(own)} columns of a {self.task} profile")
        models = tuple(replace(m, columns=tuple(column if c == own[0] else c for c in m.columns))
                       for m in self.loss_models)
        return replace(self, prediction=column, loss_models=models)

    # -- serialisation ---------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict of the profile (the canonical form hashed by :meth:`sha256`)."""
        return {
            "format": FORMAT_NAME,
            "format_version": self._format_version,
            "task": self.task,
            "rows": self.rows,
            "target": self.target,
            "prediction": list(self.prediction_columns) if isinstance(self.prediction, tuple)
            else self.prediction,
            "classes": list(self.classes),
            "positive_label": self.positive_label,
            "id_column": self.id_column,
            "timestamp_column": self.timestamp_column,
            "schema": dict(self.schema),
            "quantile_probs": list(QUANTILE_PROBS),
            "features": {name: summary_to_dict(s) for name, s in self.features.items()},
            "prediction_summary": summary_to_dict(self.prediction_summary),
            "target_summary": summary_to_dict(self.target_summary),
            "performance": dict(self.performance),
            "calibrations": [c.to_dict() for c in self.calibrations],
            "estimated_performance": dict(self.estimated_performance),
            "multivariate": self.multivariate.to_dict() if self.multivariate else None,
            "loss_models": [m.to_dict() for m in self.loss_models],
            "bands": {k: list(v) for k, v in self.bands.items()},
            "min_category_count": self.min_category_count,
            # written only when set (version 2), so other profiles keep their bytes and hash
            **({"threshold": self.threshold} if self.threshold != 0.5 else {}),
            **({"prediction_kind": self.prediction_kind}
               if self.prediction_kind != "probability" else {}),
            **({"predicted_label": self.predicted_label} if self.predicted_label else {}),
        }

    @property
    def _format_version(self) -> int:
        """The oldest format version that can say everything this profile holds."""
        losses = max((m.format_version for m in self.loss_models), default=1)
        if losses == 4:
            return 4
        if (self.multivariate is not None and self.multivariate.extended) or losses == 3:
            return 3
        return 2 if self._reads_outputs_anew else 1

    @property
    def _reads_outputs_anew(self) -> bool:
        """Whether the profile sets what format version 1 could not say (threshold, logits,
        a decision column)."""
        return (self.threshold != 0.5 or self.prediction_kind != "probability"
                or self.predicted_label is not None)

    def to_json(self) -> bytes:
        """Canonical JSON bytes: sorted keys, no spaces, UTF-8, no NaN."""
        try:
            text = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"),
                              ensure_ascii=False, allow_nan=False)
        except ValueError as exc:  # pragma: no cover - guarded by construction
            raise ProfileError(f"profile holds a non-finite number: {exc}") from exc
        return text.encode("utf-8")

    def sha256(self) -> str:
        """SHA-256 hex digest of :meth:`to_json`."""
        return hashlib.sha256(self.to_json()).hexdigest()

    @classmethod
    def from_json(cls, data: bytes | str) -> Profile:
        """Parse canonical JSON written by :meth:`to_json`; raise :class:`ProfileError` if malformed."""
        try:
            obj = json.loads(data, parse_constant=_no_constant)
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            raise ProfileError(f"profile is not valid JSON: {exc}") from exc
        return cls.from_dict(obj)

    @classmethod
    def from_dict(cls, obj: Any) -> Profile:
        """Build a profile from :meth:`to_dict` output, checking format name and version."""
        if not isinstance(obj, dict) or obj.get("format") != FORMAT_NAME:
            raise ProfileError(f"not an mlflow-decay profile (expected format {FORMAT_NAME!r})")
        version = obj.get("format_version")
        if not isinstance(version, int) or version > FORMAT_VERSION:
            raise ProfileError(
                f"profile format version {version!r} is not supported "
                f"(this mlflow-decay reads up to {FORMAT_VERSION}); upgrade mlflow-decay"
            )
        try:
            if list(obj.get("quantile_probs", [])) != list(QUANTILE_PROBS):
                raise ProfileError("profile quantile grid differs from this mlflow-decay's")
            prediction = obj["prediction"]
            return cls(
                task=_check_task(obj["task"]),
                rows=int(obj["rows"]),
                target=obj["target"],
                prediction=tuple(prediction) if isinstance(prediction, list) else prediction,
                classes=tuple(obj["classes"]),
                positive_label=obj["positive_label"],
                id_column=obj["id_column"],
                timestamp_column=obj["timestamp_column"],
                schema={str(k): str(v) for k, v in obj["schema"].items()},
                features={str(k): summary_from_dict(v) for k, v in obj["features"].items()},
                prediction_summary=optional_summary(obj["prediction_summary"]),
                target_summary=optional_summary(obj["target_summary"]),
                performance={str(k): float(v) for k, v in obj["performance"].items()},
                calibrations=tuple(Calibration.from_dict(c) for c in obj.get("calibrations", ())),
                estimated_performance={str(k): float(v) for k, v in
                                       obj.get("estimated_performance", {}).items()},
                multivariate=(PCAModel.from_dict(obj["multivariate"])
                              if obj.get("multivariate") else None),
                loss_models=tuple(LossModel.from_dict(m) for m in obj.get("loss_models", ())),
                bands={str(k): (float(v[0]), float(v[1]), int(v[2]))
                       for k, v in obj.get("bands", {}).items()},
                min_category_count=int(obj.get("min_category_count", 1)),
                threshold=check_threshold(float(obj.get("threshold", 0.5)), ValueError),
                prediction_kind=_check_kind(obj.get("prediction_kind", "probability")),
                predicted_label=obj.get("predicted_label"),
            )
        except (KeyError, TypeError, ValueError, AttributeError, IndexError,
                OverflowError) as exc:
            raise ProfileError(f"profile is malformed: {type(exc).__name__}: {exc}") from exc


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number a profile holds")


def _check_task(task: Any) -> Task:
    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}, got {task!r}")
    return task


def _check_kind(kind: Any) -> PredictionKind:
    if kind not in PREDICTION_KINDS:
        raise ValueError(f"prediction_kind must be one of {', '.join(PREDICTION_KINDS)}, "
                         f"got {kind!r}")
    return kind


def check_threshold(value: Any, error: type[Exception] = DataError) -> float:
    """A decision threshold: a number strictly between 0 and 1 (a numpy number too)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 < float(value) < 1:
        raise error(f"threshold must be a number between 0 and 1 (exclusive), got {value!r}")
    return float(value)


def summary_to_dict(summary: Summary | None) -> dict[str, Any] | None:
    if summary is None:
        return None
    values = {f.name: getattr(summary, f.name) for f in fields(summary)}
    return {k: ([list(x) if isinstance(x, tuple) else x for x in v] if isinstance(v, tuple) else v)
            for k, v in values.items()}


def summary_from_dict(obj: dict[str, Any]) -> Summary:
    kind = obj["kind"]
    if kind == "numerical":
        s = NumericSummary(
            count=int(obj["count"]), missing=int(obj["missing"]), infinite=int(obj["infinite"]),
            min=_opt_float(obj["min"]), max=_opt_float(obj["max"]),
            mean=_opt_float(obj["mean"]), std=_opt_float(obj["std"]),
            quantiles=tuple(float(v) for v in obj["quantiles"]),
            edges=tuple(float(v) for v in obj["edges"]),
            counts=tuple(int(v) for v in obj["counts"]),
            values=tuple(float(v) for v in obj.get("values", ())),
            value_counts=tuple(int(v) for v in obj.get("value_counts", ())),
            extra_knots=tuple((float(p), float(v)) for p, v in obj.get("extra_knots", ())),
        )
        if s.count and (len(s.quantiles) != len(QUANTILE_PROBS) or len(s.counts) != len(s.edges) + 1
                        or len(s.values) != len(s.value_counts)):
            raise ValueError("numerical summary has sketch arrays of the wrong length")
        _check_numeric(s)
        return s
    if kind == "categorical":
        c = CategoricalSummary(
            count=int(obj["count"]), missing=int(obj["missing"]),
            categories=tuple(str(v) for v in obj["categories"]),
            counts=tuple(int(v) for v in obj["counts"]), other=int(obj["other"]),
        )
        if len(c.categories) != len(c.counts):
            raise ValueError("categorical summary has categories and counts of different lengths")
        if min((c.missing, c.other, *c.counts)) < 0 or c.count != sum(c.counts) + c.other:
            raise ValueError("categorical summary counts are negative or do not add up")
        return c
    raise ValueError(f"unknown column kind {kind!r}")


def _check_numeric(s: NumericSummary) -> None:
    """Refuse a numerical summary the statistics could not use (a tampered or corrupt file)."""
    if min(s.count, s.missing, s.infinite, *s.counts, *s.value_counts) < 0:
        raise ValueError("numerical summary has negative counts")
    if not s.count:
        return
    numbers = [s.min, s.max, s.mean, s.std, *s.quantiles, *s.edges, *s.values,
               *(x for knot in s.extra_knots for x in knot)]
    if any(v is None or not math.isfinite(v) for v in numbers):
        raise ValueError("numerical summary has missing or non-finite statistics")
    assert s.min is not None and s.max is not None and s.std is not None
    ordered = (list(s.quantiles) == sorted(s.quantiles) and list(s.edges) == sorted(s.edges)
               and list(s.values) == sorted(s.values) and s.min <= s.max and s.std >= 0
               and all(0 <= p <= 1 for p, _ in s.extra_knots))
    if not ordered or sum(s.counts) != s.count or (s.values and sum(s.value_counts) != s.count):
        raise ValueError("numerical summary is inconsistent (unsorted quantiles or counts that "
                         "do not add up)")


def optional_summary(obj: Any) -> Summary | None:
    return None if obj is None else summary_from_dict(obj)


def _opt_float(v: Any) -> float | None:
    return None if v is None else float(v)
