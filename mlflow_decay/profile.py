"""Reference profiles: compact, mergeable statistics of a reference table.

A :class:`Profile` holds aggregates only (counts, moments, a quantile sketch and a histogram per
numerical column, top-K frequencies per categorical column, the prediction and label
distributions, reference performance and the schema). It serialises to canonical JSON whose
SHA-256 identifies it; its size does not grow with the number of reference rows.
"""

from __future__ import annotations

import hashlib
import json
import math
import posixpath
import re
from collections import Counter
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field, fields, replace
from functools import cached_property, partial
from typing import Any, Literal

import numpy as np
import pandas as pd

from .errors import DataError, ProfileError
from .parallel import run_all
from .sources import timestamps
from .stats import performance, sketch
from .stats.estimate import (
    Calibration,
    LossModel,
    estimate_regression,
    estimated_metrics,
    fit_calibration,
    fit_loss_model,
)
from .stats.multivariate import PCAModel, fit_pca
from .stats.schema import (
    Kind,
    category_counts,
    category_key,
    infer_kind,
    map_labels,
    require_flat,
    sort_key,
    sorted_finite,
    to_numeric,
)

FORMAT_NAME = "mlflow-decay-profile"
#: Profiles that set a decision threshold, logits or a decision column are written as version 2,
#: so that a reader of version 1 refuses them instead of reading their outputs the old way;
#: the others stay version 1 (same bytes, same SHA-256 as before).
FORMAT_VERSION = 2

Task = Literal["binary", "multiclass", "regression"]
TASKS: tuple[str, ...] = ("binary", "multiclass", "regression")
PredictionKind = Literal["probability", "logit"]
#: How a classifier's output columns are read: probabilities in [0, 1], or logits (turned into
#: probabilities by the sigmoid, or for multiclass by the softmax over the columns).
PREDICTION_KINDS: tuple[str, ...] = ("probability", "logit")
#: Probabilities may stray this far outside [0, 1] by rounding.
_PROBABILITY_SLACK = 1e-6

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
#: Metric segments of the model outputs and window-wide drift: no feature's metric key is one.
RESERVED_KEYS = frozenset({"prediction", "target", "multivariate"})
#: Longest metric key of a column, so that ``decay.quality.<key>.out_of_range_share`` (the
#: evaluator plugin's longest name) stays within MLflow's 250 characters.
MAX_KEY = 200
_NOT_IN_KEY = r"[^0-9A-Za-z_\-. /]"


def metric_key(name: str) -> str:
    """A column name made safe for an MLflow metric key (letters, digits, ``_-. /``)."""
    return re.sub(_NOT_IN_KEY, "_", name)


def hashed_name(name: str, not_allowed: str, limit: int) -> str:
    """``name`` with the characters matching ``not_allowed`` replaced by ``_``, cut to fit
    ``limit`` and suffixed with ``-`` and 8 hex digits of the raw name's SHA-256: distinct
    names stay distinct, and a name always gets the same one."""
    digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return f"{re.sub(not_allowed, '_', name)[:limit - 9]}-{digest}"


def metric_keys(names: Iterable[str], reserved: Collection[str] = ()) -> dict[str, str]:
    """The key each column's metrics are logged under (``drift.<key>.psi``).

    A column's key is its name made safe for MLflow (:func:`metric_key`), as long as that is at
    most ``MAX_KEY`` characters, a plain path (MLflow refuses ``a//b``, ``a/../b``), not in
    ``reserved``, and no other column's. Otherwise (``x+`` and ``x*`` both give ``x_``; a
    feature named ``prediction``) it is the name made safe and suffixed with a short hash of
    the raw name: ``x_-3f2a9c1d``. A column whose name needs no change keeps it always.
    """
    names = list(dict.fromkeys(names))
    safe = {n: metric_key(n) for n in names}
    counts = Counter(safe.values())
    taken = {n for n in names if safe[n] == n} | set(reserved)
    keys = {}
    for name in names:
        key = safe[name]
        if (key in reserved or len(key) > MAX_KEY or not _plain_path(key)
                or (key != name and (counts[key] > 1 or key in taken))):
            key = hashed_name(name, r"[^0-9A-Za-z_\-. ]", MAX_KEY)
        keys[name] = key
    seen: dict[str, str] = {}
    for name, key in keys.items():
        if key in seen:  # a hashed key equal to another column's own name
            raise DataError(f"columns {seen[key]!r} and {name!r} would log their metrics under "
                            f"one name ({key!r}); rename one of them")
        seen[key] = name
    return keys


def _plain_path(key: str) -> bool:
    """Whether MLflow takes ``<section>.<key>.<metric>`` and ``<section>.<key>`` as they are
    (it refuses names that are not plain paths)."""
    return all(posixpath.normpath(name) == name for name in (f"m.{key}.m", f"m.{key}"))


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


def summarize_numeric(values: np.ndarray) -> NumericSummary:
    """Summarise a float array (NaN missing, ±inf counted apart)."""
    finite, missing, infinite = sorted_finite(values)
    n = len(finite)
    if n == 0:
        return NumericSummary(count=0, missing=missing, infinite=infinite)
    changes = finite[1:] != finite[:-1]
    starts = (np.concatenate(([0], np.flatnonzero(changes) + 1))
              if np.count_nonzero(changes) < EXACT_VALUES else None)
    if starts is not None:  # the exact distribution is stored; base quantiles suffice
        quantiles = tuple(sketch.round_value(v)
                          for v in finite[sketch.quantile_index(QUANTILE_PROBS, n)])
        extra: tuple[tuple[float, float], ...] = ()
    else:
        quantiles, extra = sketch.from_sorted(finite)
    edges = _histogram_edges(quantiles)
    counts = bin_counts(finite, np.asarray(edges))
    return NumericSummary(
        count=n, missing=missing, infinite=infinite,
        min=float(finite[0]), max=float(finite[-1]),
        mean=float(finite.mean()), std=float(finite.std()),
        quantiles=quantiles, edges=edges, counts=tuple(int(c) for c in counts),
        values=tuple(float(v) for v in finite[starts]) if starts is not None else (),
        value_counts=tuple(int(c) for c in np.diff(np.append(starts, n)))
        if starts is not None else (),
        extra_knots=extra,
    )


def _histogram_edges(quantiles: Sequence[float]) -> tuple[float, ...]:
    return tuple(sorted({quantiles[QUANTILE_PROBS.index(p)] for p in HISTOGRAM_PROBS}))


def bin_counts(sorted_values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Counts of sorted values in the bins ``(-inf, e1), [e1, e2), ..., [ek, inf)``."""
    cuts = np.searchsorted(sorted_values, edges, side="left")
    return np.diff(np.concatenate(([0], cuts, [len(sorted_values)])))


def summarize_categorical(series: pd.Series, top_k: int = TOP_K, min_count: int = 1
                          ) -> CategoricalSummary:
    """Summarise a column by category frequency, keeping the ``top_k`` most frequent values
    seen at least ``min_count`` times; the others are counted as "other"."""
    counts, missing = category_counts(series)
    return _categorical_from_counts(counts, missing, top_k, min_count)


def _categorical_from_counts(counts: dict[str, int], missing: int, top_k: int,
                             min_count: int = 1) -> CategoricalSummary:
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    kept = [(k, c) for k, c in ordered if c >= min_count][:top_k]
    total = sum(counts.values())
    return CategoricalSummary(
        count=total, missing=missing,
        categories=tuple(k for k, _ in kept), counts=tuple(c for _, c in kept),
        other=total - sum(c for _, c in kept),
    )


def fold_rare(summary: Summary, min_count: int, top_k: int = TOP_K) -> Summary:
    """A categorical summary keeping its ``top_k`` categories seen at least ``min_count`` times,
    the rest folded into "other" (for merged summaries; numerical ones are returned as they are)."""
    if not isinstance(summary, CategoricalSummary):
        return summary
    folded = _categorical_from_counts(dict(zip(summary.categories, summary.counts, strict=True)),
                                      summary.missing, top_k, min_count)
    return replace(folded, count=summary.count, other=summary.count - sum(folded.counts))


def summarize(series: pd.Series, kind: Kind, column: str, top_k: int = TOP_K,
              min_count: int = 1) -> Summary:
    """Summarise one column as the given kind."""
    if kind == "numerical":
        return summarize_numeric(to_numeric(series, column))
    return summarize_categorical(series, top_k, min_count)


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

    # -- serialisation ---------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict of the profile (the canonical form hashed by :meth:`sha256`)."""
        return {
            "format": FORMAT_NAME,
            "format_version": 2 if self._reads_outputs_anew else 1,
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
    """A decision threshold: a number strictly between 0 and 1."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1:
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


# -- building ---------------------------------------------------------------------------------
def build_profile(
    reference: Any,
    *,
    target: str | None = None,
    prediction: str | Sequence[str] | None = None,
    task: Task = "binary",
    features: Sequence[str] | None = None,
    categorical: Sequence[str] | None = None,
    numerical: Sequence[str] | None = None,
    id_column: str | None = None,
    timestamp_column: str | None = None,
    classes: Sequence[str] | None = None,
    positive_label: str | None = None,
    band_chunks: int = 10,
    min_category_count: int = MIN_CATEGORY_COUNT,
    exclude: Sequence[str] | None = None,
    threshold: float = 0.5,
    prediction_kind: PredictionKind = "probability",
    predicted_label: str | None = None,
) -> Profile:
    """Build the reference profile of a table.

    Parameters
    ----------
    reference : DataFrame, path or Spark DataFrame
        Training/validation data with features, and optionally labels and model outputs. A
        Parquet file or directory is read in record batches with bounded memory, a CSV file
        whole; a Spark DataFrame is profiled on the executors (see
        :mod:`mlflow_decay.streaming` and :mod:`mlflow_decay.spark` for what is exact).
    target : str, optional
        Label column. With ``prediction`` it gives the reference performance.
    prediction : str or list of str, optional
        The model's output: the positive-class probability (binary), one probability column per
        class in ``classes`` order (multiclass), or the predicted value (regression).
        Probabilities outside [0, 1] are refused (see ``prediction_kind``).
    task : {"binary", "multiclass", "regression"}
    features : list of str, optional
        Feature columns; default all columns but target, prediction, id and timestamp (the
        profile's ``feature_kinds`` says which became features, and its ``notes`` name those
        that look like labels, model outputs or ids).
    exclude : list of str, optional
        Columns left out of the features (other models' scores, labels of other tasks, ids).
    categorical, numerical : list of str, optional
        Force a feature's kind; others are inferred (low-cardinality integers, strings, booleans
        and categories are categorical).
    id_column, timestamp_column : str, optional
        Columns that identify or date rows; never treated as features.
    classes : list of str, optional
        Multiclass: the class labels in the order of the ``prediction`` columns, matched to the
        labels of ``target`` by value. Default: read from the column names, each of which must
        end with exactly one label (``p_cat``, ``p_dog``).
    positive_label : str, optional
        Binary: the label the score is the probability of (default ``1``, ``True`` or ``yes``;
        for other numbers the larger one; other text labels must name it).
    threshold : float
        Binary: a score (probability) at or above it predicts the positive class, for the
        realized and estimated accuracy, precision, recall and F1. Stored in the profile.
    prediction_kind : {"probability", "logit"}
        How classifier outputs are read: probabilities in [0, 1], or logits (sigmoid; softmax
        across the columns for multiclass). Stored, so windows are read the same way.
    predicted_label : str, optional
        A column holding the class the model's caller decided for each row; it replaces
        ``threshold`` (or the arg-max) for the realized confusion-matrix metrics, here and in
        every window (which must then carry it).
    band_chunks : int
        Cut the reference into this many chunks (in ``timestamp_column`` order when given) and
        store each metric's mean and standard deviation over them: the reference bands a policy
        can use instead of constant thresholds (0 for none; chunks have at least 100 rows).
    min_category_count : int
        Feature categories seen fewer times are folded into "other", so the profile stores no
        value that only a few rows have (privacy); 1 keeps every category (up to 100).

    Returns
    -------
    Profile
    """
    if task not in TASKS:
        raise DataError(f"task must be one of {', '.join(TASKS)}, got {task!r}")
    if not isinstance(min_category_count, int) or min_category_count < 1:
        raise DataError(f"min_category_count must be a positive integer, got {min_category_count!r}")
    check_outputs(task, threshold, prediction_kind)
    if classes is not None and task != "multiclass":
        raise DataError(f"classes applies to multiclass tasks, not {task}"
                        + (" (give positive_label)" if task == "binary" else ""))
    if not isinstance(reference, pd.DataFrame):
        from .streaming import build_profile_from  # streaming builds on profiles

        return build_profile_from(
            reference, target=target, prediction=prediction, task=task, features=features,
            categorical=categorical, numerical=numerical, id_column=id_column,
            timestamp_column=timestamp_column, classes=classes, positive_label=positive_label,
            band_chunks=band_chunks, min_category_count=min_category_count, exclude=exclude,
            threshold=threshold, prediction_kind=prediction_kind, predicted_label=predicted_label)
    if len(reference) == 0:
        raise DataError("reference table is empty: a profile needs at least one row")
    pred_cols, kinds, schema = plan_columns(
        reference, target=target, prediction=prediction, task=task, features=features,
        categorical=categorical, numerical=numerical, id_column=id_column,
        timestamp_column=timestamp_column, exclude=exclude, predicted_label=predicted_label)
    summaries = summarize_columns(reference, kinds, min_count=min_category_count)

    target_summary = summarize_target(reference[target], target, task) if target else None
    numerical = [n for n, s in summaries.items() if isinstance(s, NumericSummary)]
    known = supervise(reference, target=target, pred_cols=pred_cols, task=task, classes=classes,
                      positive_label=positive_label, target_summary=target_summary,
                      numerical=numerical, threshold=threshold, prediction_kind=prediction_kind,
                      predicted_label=predicted_label)
    profile = Profile(
        task=task, features=summaries, schema=schema, rows=len(reference), target=target,
        prediction=(pred_cols[0] if task != "multiclass" else tuple(pred_cols)) if pred_cols else None,
        classes=known.classes, positive_label=known.positive_label,
        threshold=threshold, prediction_kind=prediction_kind, predicted_label=predicted_label,
        prediction_summary=_prediction_summary(reference, pred_cols, task, known.classes,
                                               prediction_kind),
        target_summary=target_summary, performance=known.performance, id_column=id_column,
        timestamp_column=timestamp_column, calibrations=known.calibrations,
        estimated_performance=known.estimated, multivariate=fit_pca(
            reference, numerical, {n: (s.mean, s.std) for n, s in summaries.items()
                                   if isinstance(s, NumericSummary)}),
        loss_models=known.loss_models, min_category_count=min_category_count,
        notes=(*(feature_notes(reference, kinds) if features is None else ()), *known.notes),
    )
    if band_chunks <= 0:
        return profile
    from .evaluation import reference_bands  # evaluation builds on profiles; bands need both

    ordered = reference
    if timestamp_column:  # in time order (text parsed as the monitor parses it)
        times = reference[timestamp_column]
        if not pd.api.types.is_numeric_dtype(times.dtype):
            times = timestamps(times, timestamp_column)
        ordered = reference.iloc[np.argsort(times.to_numpy(), kind="stable")]
    return replace(profile, bands=reference_bands(profile, ordered, band_chunks))


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


def summarize_target(series: pd.Series, target: str, task: str) -> Summary:
    """The label distribution: numerical for regression, else every class's count."""
    if task == "regression":
        return summarize_numeric(to_numeric(series, target))
    return summarize_categorical(series, top_k=10**6)


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


def supervise(rows: pd.DataFrame, *, target: str | None, pred_cols: Sequence[str], task: str,
              classes: Sequence[str] | None, positive_label: str | None,
              target_summary: Summary | None, numerical: Sequence[str],
              threshold: float = 0.5, prediction_kind: str = "probability",
              predicted_label: str | None = None) -> Supervision:
    """Classes from ``target_summary``; performance, calibration (or, for regression, loss
    models over the ``numerical`` features) and reference estimates from ``rows``; the model
    outputs read as ``prediction_kind``, decided at ``threshold`` or by ``predicted_label``."""
    class_labels: tuple[str, ...] = ()
    pos: str | None = None
    if target is not None and target_summary is not None and task != "regression":
        class_labels = _class_labels(target_summary, target, task, classes, list(pred_cols))
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
    values = prediction_values(rows, pred_cols, task, prediction_kind)
    perf, _ = performance.realized(
        task, rows[target], values, classes=class_labels, positive_label=pos, threshold=threshold,
        decisions=rows[predicted_label] if predicted_label else None)
    calibrations: tuple[Calibration, ...] = ()
    loss_models: tuple[LossModel, ...] = ()
    if task != "regression":
        calibrations = _calibrations(rows[target], values, class_labels, pos, threshold)
        est = estimated_metrics(task, values, calibrations, threshold)
    else:
        loss_models = _loss_models(rows, [*numerical, *pred_cols], target, values)
        est = estimate_regression(loss_inputs(rows, loss_models), loss_models)
    notes: tuple[str, ...] = ()
    if perf.get("roc_auc", 1.0) < 0.5:  # the scores rank the classes backwards
        notes = (f"reference roc_auc {perf['roc_auc']:.3f} is below 0.5: is {pred_cols[0]!r} "
                 f"the probability of {pos!r}? if it is the other class's, give that class "
                 "as positive_label= (--positive-label)",)
    return Supervision(class_labels, pos, perf, calibrations, loss_models,
                       {k[4:]: v for k, v in est.items() if k.count(".") == 1}, notes)


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


def summarize_columns(frame: pd.DataFrame, kinds: dict[str, Kind], top_k: int = TOP_K,
                      min_count: int = 1) -> dict[str, Summary]:
    """Summaries of the given columns, one thread per column."""
    return run_all({name: partial(summarize, frame[name], kind, name, top_k, min_count)
                    for name, kind in kinds.items()})


def _loss_models(reference: pd.DataFrame, columns: list[str], target: str,
                 predictions: np.ndarray) -> tuple[LossModel, ...]:
    """Regression: models of each row's absolute and squared error from features + prediction."""
    error = to_numeric(reference[target], target) - predictions
    keep = np.isfinite(error)
    if keep.sum() < 50:
        return ()
    x = np.column_stack([to_numeric(reference[c], c) for c in columns])[keep]
    x = np.where(np.isfinite(x), x, np.nan)
    return (fit_loss_model(x, np.abs(error[keep]), columns),
            fit_loss_model(x, error[keep] ** 2, columns))


def loss_inputs(frame: pd.DataFrame, models: Sequence[LossModel]) -> np.ndarray:
    """The loss models' input matrix for a table (NaN where a value is missing or infinite)."""
    if not models:
        return np.empty((len(frame), 0))
    x = np.column_stack([to_numeric(frame[c], c) for c in models[0].columns])
    return np.where(np.isfinite(x), x, np.nan)


def _calibrations(target: pd.Series, values: np.ndarray, classes: tuple[str, ...],
                  positive_label: str | None, threshold: float = 0.5) -> tuple[Calibration, ...]:
    """Score-to-probability maps for label-free estimation: one (binary) or one per class."""
    labels = map_labels(target, classes, str(target.name))
    scores = values if values.ndim == 2 else values[:, None]
    keep = pd.notna(labels) & np.isfinite(scores).all(axis=1)
    wanted = [positive_label] if values.ndim == 1 else list(classes)
    return tuple(fit_calibration(scores[keep, k], labels[keep] == label, threshold=threshold)
                 for k, label in enumerate(wanted))


def _prediction_columns(prediction: str | Sequence[str] | None, task: str) -> list[str]:
    if prediction is None:
        return []
    cols = [prediction] if isinstance(prediction, str) else list(prediction)
    if task != "multiclass" and len(cols) != 1:
        raise DataError(f"{task} task takes one prediction column, got {len(cols)}")
    return cols


def require_unique_columns(frame: Any, what: str) -> None:
    """Refuse a table (pandas or Spark) that names a column twice (which one is meant is
    unknown) or by a label that is not a string (column names are compared as written)."""
    seen: set[Any] = set()
    for column in frame.columns:
        if not isinstance(column, str):
            raise DataError(f"column {column!r} of the {what} has a label of type "
                            f"{type(column).__name__}, not a string: name every column by a "
                            "string (e.g. frame.columns = frame.columns.astype(str))")
        if column in seen:
            raise DataError(f"column {str(column)!r} appears more than once in the {what}")
        seen.add(column)


def require_column(frame: Any, column: str, what: str) -> None:
    """Refuse a table (pandas or Spark: anything with ``columns``) that lacks ``column``."""
    if column not in frame.columns:
        raise DataError(f"column {column!r} is missing from the {what} "
                        f"(columns: {list_columns(frame.columns)})")


def list_columns(columns: Iterable[Any], limit: int = 12) -> str:
    """Column names for an error message, the first ``limit`` of them."""
    names = [str(c) for c in columns]
    more = f", … {len(names) - limit} more" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more


def _class_labels(summary: Summary, target: str, task: str, classes: Sequence[str] | None,
                  pred_cols: list[str]) -> tuple[str, ...]:
    """The classes, in the order of the prediction columns (binary: the two labels, sorted)."""
    assert isinstance(summary, CategoricalSummary)
    seen = tuple(sorted(summary.categories, key=sort_key))
    if task == "binary":
        if len(seen) != 2:
            raise DataError(f"column {target!r}: a binary task needs two label classes in the "
                            f"reference, found {len(seen)} ({', '.join(seen[:5])})")
        return seen
    if classes is None:
        _check_class_count(pred_cols, seen)
        return _classes_from_columns(pred_cols, seen, target) if pred_cols else seen
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
    return labels


def _check_class_count(pred_cols: Sequence[str], labels: Sequence[str]) -> None:
    if pred_cols and len(pred_cols) != len(labels):
        raise DataError(f"multiclass: {len(pred_cols)} prediction columns for {len(labels)} "
                        f"classes ({', '.join(labels[:10])}); give one probability column per class")


def _classes_from_columns(pred_cols: Sequence[str], labels: Sequence[str], target: str
                          ) -> tuple[str, ...]:
    """Each prediction column's class, read from its name: the one label it ends with (a label
    after a separator such as ``_`` wins over a shorter one it ends in: ``p_11`` is 11)."""
    found: list[str | None] = []
    for column in map(str, pred_cols):
        ends = [label for label in labels if column.endswith(label)]
        bounded = [label for label in ends
                   if len(column) == len(label) or not column[-len(label) - 1].isalnum()]
        pick = bounded if len(bounded) == 1 else ends
        found.append(pick[0] if len(pick) == 1 else None)
    if None in found or len(set(found)) != len(found):
        raise DataError(f"multiclass: cannot tell each prediction column's class from its name "
                        f"(columns {list_columns(pred_cols, 10)}; labels of {target!r}: "
                        f"{', '.join(labels[:10])}); give classes= (--classes) in the columns' "
                        "order")
    return tuple(label for label in found if label is not None)


def _positive_label(labels: tuple[str, ...], positive_label: str | None, target: str) -> str:
    if positive_label is not None:
        try:
            return str(map_labels(pd.Series([positive_label], dtype=object), labels,
                                  "positive_label")[0])
        except DataError:
            raise DataError(f"positive_label {positive_label!r} is not a class of column "
                            f"{target!r} ({', '.join(labels)})") from None
    for candidate in ("1", "True", "true", "yes", "positive"):
        if candidate in labels:
            return candidate
    if all(sort_key(label)[0] != float("inf") for label in labels):
        return labels[-1]  # numbers: the larger one
    raise DataError(f"column {target!r}: which class is the score the probability of? the "
                    f"classes are {', '.join(labels)}; give positive_label= (--positive-label)")


def prediction_values(frame: pd.DataFrame, pred_cols: Sequence[str], task: str,
                      kind: str = "probability") -> np.ndarray:
    """The model output as an array: scores (n,), or class probabilities (n, k) for multiclass.

    A classifier's logits (``kind="logit"``) become probabilities: the sigmoid, or the softmax
    across a multiclass row. Probabilities outside [0, 1] are refused (:class:`DataError`
    naming the column and the range seen). Missing and infinite values stay as they are.
    """
    if task == "multiclass":
        values = np.column_stack([to_numeric(frame[c], c) for c in pred_cols])
    else:
        values = to_numeric(frame[pred_cols[0]], pred_cols[0])
    if task == "regression":
        return values
    if kind == "logit":
        with np.errstate(over="ignore", invalid="ignore"):
            if values.ndim == 1:
                return np.asarray(1.0 / (1.0 + np.exp(-values)))
            exp = np.exp(values - values.max(axis=1, keepdims=True))
            return np.asarray(exp / exp.sum(axis=1, keepdims=True))
    for k, column in enumerate(pred_cols):
        scores = values if values.ndim == 1 else values[:, k]
        finite = scores[np.isfinite(scores)]
        if len(finite) and (finite.min() < -_PROBABILITY_SLACK
                            or finite.max() > 1 + _PROBABILITY_SLACK):
            raise DataError(f"column {column!r}: expected probabilities in [0, 1], got values "
                            f"from {finite.min():.4g} to {finite.max():.4g}; for logits, profile "
                            "with prediction_kind='logit' (--prediction-kind logit)")
    return values


def predicted_classes(probabilities: np.ndarray, classes: Sequence[str]) -> pd.Series:
    """Arg-max class label of each row of a probability matrix (missing where a row has a
    missing or infinite value)."""
    finite = np.isfinite(probabilities).all(axis=1)
    labels = np.asarray(classes, dtype=object)[
        np.argmax(np.where(np.isfinite(probabilities), probabilities, -1), axis=1)]
    labels[~finite] = None
    return pd.Series(labels, dtype=object)


def _prediction_summary(frame: pd.DataFrame, pred_cols: list[str], task: str,
                        classes: tuple[str, ...], kind: str = "probability") -> Summary | None:
    if not pred_cols:
        return None
    values = prediction_values(frame, pred_cols, task, kind)
    if task == "multiclass":
        return summarize_categorical(predicted_classes(values, classes))
    return summarize_numeric(values)


# -- merging ----------------------------------------------------------------------------------
def merge_profiles(a: Profile, b: Profile) -> Profile:
    """Merge the profiles of two disjoint parts of one table into the profile of the whole.

    Counts, histograms (on equal edges), moments, minima/maxima and category frequencies merge
    exactly; quantile sketches merge through the mixture CDF (within the sketch's tolerance).
    Reference performance is averaged by row count, which is approximate for ranking metrics;
    the first profile's calibration maps, loss models, PCA and reference bands are kept.
    """
    if (a.task, a.target, a.prediction, a.classes, sorted(a.features), a.threshold,
            a.prediction_kind, a.predicted_label) != (
        b.task, b.target, b.prediction, b.classes, sorted(b.features), b.threshold,
            b.prediction_kind, b.predicted_label
    ):
        raise ProfileError("profiles describe different tables (task, columns, classes or how "
                           "outputs are read differ)")
    features = {name: merge_summaries(a.features[name], b.features[name]) for name in a.features}
    return replace(
        a, rows=a.rows + b.rows, features=features,
        performance=_weighted(a.performance, a.rows, b.performance, b.rows),
        estimated_performance=_weighted(a.estimated_performance, a.rows,
                                        b.estimated_performance, b.rows),
        prediction_summary=merge_optional(a.prediction_summary, b.prediction_summary),
        target_summary=merge_optional(a.target_summary, b.target_summary),
    )


def _weighted(a: dict[str, float], na: int, b: dict[str, float], nb: int) -> dict[str, float]:
    return {k: (a[k] * na + b[k] * nb) / (na + nb) for k in a if k in b}


def merge_optional(a: Summary | None, b: Summary | None) -> Summary | None:
    if a is None or b is None:
        return a or b
    return merge_summaries(a, b)


def merge_summaries(a: Summary, b: Summary) -> Summary:
    """Merge two summaries of the same column."""
    if isinstance(a, CategoricalSummary) and isinstance(b, CategoricalSummary):
        counts = dict(zip(a.categories, a.counts, strict=True))
        for k, c in zip(b.categories, b.counts, strict=True):
            counts[k] = counts.get(k, 0) + c
        merged = _categorical_from_counts(counts, a.missing + b.missing,
                                          max(len(a.categories), len(b.categories), TOP_K))
        return replace(merged, other=merged.other + a.other + b.other)
    if isinstance(a, NumericSummary) and isinstance(b, NumericSummary):
        return _merge_numeric(a, b)
    raise ProfileError("cannot merge a numerical and a categorical summary of one column")


def _merge_numeric(a: NumericSummary, b: NumericSummary) -> NumericSummary:
    if a.count == 0 or b.count == 0:
        base = b if a.count == 0 else a
        return replace(base, missing=a.missing + b.missing, infinite=a.infinite + b.infinite)
    assert a.mean is not None and b.mean is not None and a.std is not None and b.std is not None
    n = a.count + b.count
    mean = (a.mean * a.count + b.mean * b.count) / n
    m2 = a.std**2 * a.count + b.std**2 * b.count + (b.mean - a.mean) ** 2 * a.count * b.count / n
    quantiles, extra = sketch.merged((*a.knots(), a.count), (*b.knots(), b.count))
    if a.edges == b.edges:
        edges, counts = a.edges, tuple(x + y for x, y in zip(a.counts, b.counts, strict=True))
    else:
        edges = _histogram_edges(quantiles)
        cum = [_cum_count(a, e) + _cum_count(b, e) for e in edges]
        counts = tuple(int(x) for x in np.diff([0, *cum, n]))
    exact: dict[float, int] = {}
    if a.values and b.values:
        for v, c in (*zip(a.values, a.value_counts, strict=True),
                     *zip(b.values, b.value_counts, strict=True)):
            exact[v] = exact.get(v, 0) + c
    keep = 0 < len(exact) <= EXACT_VALUES
    return NumericSummary(
        count=n, missing=a.missing + b.missing, infinite=a.infinite + b.infinite,
        min=min(a.min, b.min), max=max(a.max, b.max),  # type: ignore[type-var]
        mean=mean, std=math.sqrt(max(m2 / n, 0.0)),
        quantiles=quantiles, edges=edges, counts=counts,
        values=tuple(sorted(exact)) if keep else (),
        value_counts=tuple(exact[v] for v in sorted(exact)) if keep else (),
        extra_knots=() if keep else extra,
    )


def _cum_count(s: NumericSummary, edge: float) -> int:
    return round(float(s.cdf(np.asarray([edge]), side="left")[0]) * s.count)
