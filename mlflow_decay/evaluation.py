"""Evaluate one production window against a reference profile (no MLflow here).

The result is a flat dict of metrics with stable dot-separated names:

- ``drift.<feature>.{psi,js,ks,wasserstein}`` (numerical), ``drift.<feature>.{psi,js,unseen_share}``
  (categorical), ``drift.prediction.*`` and ``drift.target.*`` likewise, ``drift.share``;
- ``quality.<feature>.{missing_rate,nonfinite_rate,out_of_range_share}``, ``quality.rows``
  (out of range: outside the reference min/max, or a category the profile has not seen);
- ``est.<metric>`` with ``.lower``/``.upper`` (95% sampling band) and ``.delta`` (against the
  same estimate on the reference): performance estimated without labels;
- ``perf.<metric>`` and ``perf.<metric>.delta`` when the window has labels;
- ``business.<column>``: the window's mean of each KPI column the policy names.

A feature counts as drifted (for ``drift.share``) when the policy's effect size reaches its
threshold *and* a two-sample test (KS for numerical, chi-square for categorical columns) rejects
"same distribution" at ``DRIFT_ALPHA`` with a Bonferroni correction over the features: effect
sizes decide at large windows, the test keeps small windows from flagging noise.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from . import drift, estimate, performance
from .errors import DataError
from .policy import DEFAULT_POLICY, Policy
from .profile import (
    CategoricalSummary,
    NumericSummary,
    Profile,
    Summary,
    list_columns,
    loss_inputs,
    predicted_classes,
    prediction_values,
)
from .schema import category_counts, to_numeric

#: Family-wise false-alarm rate of the "could this be noise?" guard on drifted features.
DRIFT_ALPHA = 0.05


@dataclass
class Evaluation:
    """What one window looks like against a profile: metrics and the notes behind them."""

    metrics: dict[str, float]
    rows: int
    drifted_features: list[str] = field(default_factory=list)
    drift_scores: dict[str, float] = field(default_factory=dict)
    extra_columns: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    has_labels: bool = False


def metric_key(name: str) -> str:
    """A column name made safe for an MLflow metric key (letters, digits, ``_-. /``)."""
    return re.sub(r"[^0-9A-Za-z_\-. /]", "_", name)


def evaluate_window(profile: Profile, window: pd.DataFrame, policy: Policy = DEFAULT_POLICY
                    ) -> Evaluation:
    """Compute drift, data quality and realized performance of ``window`` against ``profile``.

    Parameters
    ----------
    profile : Profile
    window : DataFrame
        Production rows: the profile's features and prediction column(s); labels optional.
    policy : Policy
        Supplies the per-feature drift rule used for ``drift.share``.

    Returns
    -------
    Evaluation
    """
    _check_window(profile, window)
    metrics: dict[str, float] = {"quality.rows": float(len(window))}
    notes: list[str] = []
    scores: dict[str, float] = {}
    p_values: dict[str, float] = {}
    for name, ref in profile.features.items():
        key = metric_key(name)
        stats = _column_metrics(ref, window[name], name, notes)
        metrics.update({f"{section}.{key}.{m}": v for (section, m), v in stats.items()
                        if section != "test"})
        score_metric = policy.feature_metric(ref.kind)
        if ("drift", score_metric) in stats:
            scores[name] = stats[("drift", score_metric)]
            p_values[name] = stats[("test", "p_value")]
    # drifted: a large enough effect that sampling noise cannot explain (Bonferroni over the
    # features), so small windows do not flag every feature and large ones flag real shifts only
    alpha = DRIFT_ALPHA / max(len(scores), 1)
    drifted = sorted((n for n, v in scores.items()
                      if v >= policy.feature_threshold(profile.features[n].kind)
                      and p_values[n] < alpha), key=lambda n: -scores[n])
    metrics["drift.share"] = len(drifted) / len(scores) if scores else 0.0
    metrics["drift.features_drifted"] = float(len(drifted))
    if profile.multivariate is not None:
        metrics["drift.multivariate.reconstruction_error"] = profile.multivariate.error(window)

    pred_cols = profile.prediction_columns
    values = prediction_values(window, pred_cols, profile.task) if pred_cols else None
    if values is not None and profile.prediction_summary is not None:
        series = (predicted_classes(values, profile.classes) if profile.task == "multiclass"
                  else pd.Series(values))
        stats = _column_metrics(profile.prediction_summary, series, "prediction", notes)
        metrics.update({f"drift.prediction.{m}": v for (s, m), v in stats.items() if s == "drift"})
    if values is not None:
        est = (estimate.estimate_regression(loss_inputs(window, profile.loss_models),
                                            profile.loss_models)
               if profile.loss_models
               else estimate.estimated_metrics(profile.task, values, profile.calibrations))
        metrics.update(est)
        # against the same estimator on the reference, so calibration bias cancels out
        metrics.update({f"{k}.delta": v - profile.estimated_performance[k[4:]]
                        for k, v in est.items() if k[4:] in profile.estimated_performance})
    labelled = performance.has_labels(window, profile.target)
    if labelled and profile.target is not None:
        if profile.target_summary is not None:
            stats = _column_metrics(profile.target_summary, window[profile.target], "target", notes)
            metrics.update({f"drift.target.{m}": v for (s, m), v in stats.items() if s == "drift"})
        if values is not None:
            perf, why = performance.realized(
                profile.task, window[profile.target], values,
                classes=profile.classes, positive_label=profile.positive_label)
            for m, v in perf.items():
                metrics[f"perf.{m}"] = v
                if m in profile.performance:
                    metrics[f"perf.{m}.delta"] = v - profile.performance[m]
            notes.extend(f"perf.{m} left out: {reason}" for m, reason in why.items())
    for column in policy.business:
        if column in window.columns:
            values = to_numeric(window[column], column)
            if np.isfinite(values).any():
                metrics[f"business.{metric_key(column)}"] = float(np.nanmean(
                    np.where(np.isfinite(values), values, np.nan)))
        else:
            notes.append(f"business column {column!r} is not in the window")
    known = {*profile.features, *pred_cols, profile.target, profile.id_column,
             profile.timestamp_column, *policy.business}
    return Evaluation(
        metrics=metrics, rows=len(window), drifted_features=drifted, drift_scores=scores,
        extra_columns=[str(c) for c in window.columns if c not in known], notes=notes,
        has_labels=labelled,
    )


def _check_window(profile: Profile, window: pd.DataFrame) -> None:
    if not isinstance(window, pd.DataFrame):
        raise DataError(f"window must be a pandas DataFrame, got {type(window).__name__}")
    if len(window) == 0:
        raise DataError("window is empty: it has no rows to evaluate")
    duplicated = window.columns[window.columns.duplicated()]
    if len(duplicated):
        raise DataError(f"column {str(duplicated[0])!r} appears more than once in the window")
    for role, columns in (("feature", list(profile.features)),
                          ("prediction", list(profile.prediction_columns))):
        for column in columns:
            if column not in window.columns:
                raise DataError(f"{role} column {column!r} is missing from the window "
                                f"(columns: {list_columns(window.columns)})")


def _column_metrics(ref: Summary, series: pd.Series, name: str, notes: list[str]
                    ) -> Mapping[tuple[str, str], float]:
    rows = len(series)
    out: dict[tuple[str, str], float] = {}
    if isinstance(ref, NumericSummary):
        values = to_numeric(series, name)
        nan = np.isnan(values)
        inf = np.isinf(values)
        finite = np.sort(values[~nan & ~inf])
        out[("quality", "missing_rate")] = float(nan.sum()) / rows
        out[("quality", "nonfinite_rate")] = float(inf.sum()) / rows
        if ref.count and len(finite):
            assert ref.min is not None and ref.max is not None
            outside = np.searchsorted(finite, ref.min, "left") + len(finite) - np.searchsorted(
                finite, ref.max, "right")
            out[("quality", "out_of_range_share")] = float(outside) / len(finite)
            out.update({("drift", m): v for m, v in drift.numeric_drift(ref, finite).items()})
            out[("test", "p_value")] = drift.ks_pvalue(out[("drift", "ks")], ref.count, len(finite))
        else:
            notes.append(f"drift of {name!r} left out: no finite values in the "
                         f"{'reference' if not ref.count else 'window'}")
        return out
    assert isinstance(ref, CategoricalSummary)
    counts, missing = category_counts(series)
    out[("quality", "missing_rate")] = missing / rows
    if ref.count and counts:
        out.update({("drift", m): v for m, v in drift.categorical_drift(ref, counts).items()})
        out[("quality", "out_of_range_share")] = out[("drift", "unseen_share")]
        out[("test", "p_value")] = drift.chi2_pvalue(ref, counts)
    else:
        notes.append(f"drift of {name!r} left out: no values in the "
                     f"{'reference' if not ref.count else 'window'}")
    return out


#: Chunks smaller than this give no reference band.
MIN_CHUNK_ROWS = 100
#: Metrics that describe the window's size or counts, not its behaviour: no band.
_NO_BAND = ("quality.rows", "drift.features_drifted")


def reference_bands(profile: Profile, reference: pd.DataFrame, chunks: int
                    ) -> dict[str, tuple[float, float, int]]:
    """Each metric's mean and standard deviation over consecutive chunks of the reference.

    Returns ``{metric: (mean, sd, chunk_rows)}`` for metrics seen in at least three chunks;
    empty when the reference is too small for three chunks of ``MIN_CHUNK_ROWS``.
    """
    chunks = min(chunks, len(reference) // MIN_CHUNK_ROWS)
    if chunks < 3:
        return {}
    values: dict[str, list[float]] = {}
    for part in np.array_split(np.arange(len(reference)), chunks):
        for name, value in evaluate_window(profile, reference.iloc[part]).metrics.items():
            values.setdefault(name, []).append(value)
    rows = len(reference) // chunks
    return {name: (_r(float(np.mean(v))), _r(float(np.std(v, ddof=1))), rows)
            for name, v in values.items() if len(v) >= 3 and name not in _NO_BAND}


def _r(x: float) -> float:
    return float(f"{x:.6g}")
