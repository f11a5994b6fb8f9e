"""Evaluate one production window against a reference profile (no MLflow here).

The result is a flat dict of metrics with stable dot-separated names:

- ``drift.<feature>.{psi,js,ks,wasserstein}`` (numerical), ``drift.<feature>.{psi,js,unseen_share}``
  (categorical), ``drift.prediction.*`` and ``drift.target.*`` likewise, ``drift.share``;
- ``quality.<feature>.{missing_rate,nonfinite_rate,out_of_range_share}`` (the first two also
  as ``.delta``, their rise above the reference's share), ``quality.rows``
  (out of range: outside the reference min/max, or a category the profile has not seen);
- ``quality.prediction.missing_rate``: the share of rows whose model output is missing or not
  finite (multiclass: any of the row's probabilities);
- ``labels.coverage``: the share of rows with a label, when the window has the target column;
- ``est.<metric>`` with ``.lower``/``.upper`` (95% sampling band) and ``.delta`` (against the
  same estimate on the reference): performance estimated without labels;
- ``perf.<metric>`` and ``perf.<metric>.delta`` when the window has labels;
- ``.ratio`` beside the ``.delta`` of an error (``rmse``, ``mae``): the window's over the
  reference's, for relative thresholds;
- ``business.<column>``: the window's mean of each KPI column the policy names.

A feature counts as drifted (for ``drift.share``) when the policy's effect size reaches its
threshold *and* a two-sample test (KS for numerical, chi-square for categorical columns) rejects
"same distribution" at ``DRIFT_ALPHA`` with a Bonferroni correction over the features: effect
sizes decide at large windows, the test keeps small windows from flagging noise.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial

import numpy as np
import pandas as pd

from ..stats import estimate, loss, performance
from ..stats.multivariate import column_sums, held_out_errors
from ..stats.schema import written_otherwise
from . import drift
from .frames import check_window, loss_inputs, predicted_classes, prediction_values, unnormalised_note
from .names import DRIFT_ALPHA, PREDICTION_P_VALUE, QUALITY_DELTAS, RATIO_METRICS, metric_keys
from .names import metric_key as metric_key  # re-exported: a column name made safe
from .parallel import run_all
from .policy import Policy
from .policy_file import DEFAULT_POLICY
from .profile import CategoricalSummary, NumericSummary, Profile, Summary
from .supervision import undecided_note
from .window import CategoricalStats, ColumnStats, NumericStats, WindowStats, collect_stats, stats_tasks

#: Share of rows whose model output is missing or not finite.
PREDICTION_MISSING = "quality.prediction.missing_rate"
#: Share of a window's rows that carry a label (the policy's ``[labels] min_coverage``).
LABEL_COVERAGE = "labels.coverage"
#: The mean squared PCA reconstruction error of a window's rows.
MULTIVARIATE = "drift.multivariate.reconstruction_error"
#: A feature missing in at least this share of a window's rows more than in the reference's
#: is named in a note on the multivariate error.
MOSTLY = 0.5


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
    stats: WindowStats | None = None


def evaluate_window(profile: Profile, window: pd.DataFrame, policy: Policy = DEFAULT_POLICY,
                    *, workers: int | None = None) -> Evaluation:
    """Compute drift, data quality and realized performance of ``window`` against ``profile``.

    Parameters
    ----------
    profile : Profile
    window : DataFrame
        Production rows: the profile's features and prediction column(s); labels optional.
    policy : Policy
        Supplies the per-feature drift rule used for ``drift.share`` and the business columns.
    workers : int, optional
        Threads for the per-column work (default: the machine's cores).

    Returns
    -------
    Evaluation
    """
    return evaluate_with_outputs(profile, window, policy, workers=workers)[0]


def evaluate_with_outputs(profile: Profile, window: pd.DataFrame,
                          policy: Policy = DEFAULT_POLICY, *, workers: int | None = None
                          ) -> tuple[Evaluation, np.ndarray | None]:
    """:func:`evaluate_window`, and the model outputs it read from the window (as
    :func:`~mlflow_decay.core.frames.prediction_values` reads them; ``None`` for a profile
    without any), for a caller that reads them further (a comparison's paired test)."""
    columns = check_window(profile, window)
    pred_cols = profile.prediction_columns
    values = (prediction_values(window, pred_cols, profile.task, profile.prediction_kind)
              if pred_cols else None)
    tasks = stats_tasks(profile, window,
                        None if values is None else prediction_series(profile, values), columns)
    if values is not None:  # the estimate runs with the columns' counts (and first: the longest)
        tasks = {_ESTIMATE: partial(estimated, profile, window, values), **tasks}
    results = run_all(tasks, workers)
    stats = collect_stats(profile, window, results, policy.business)
    return add_performance(profile, window, evaluate_stats(profile, stats, policy),
                           results.get(_ESTIMATE), values), values


_ESTIMATE = "estimated performance"


def estimated(profile: Profile, frame: pd.DataFrame, values: np.ndarray | None = None
              ) -> dict[str, float]:
    """The ``est.*`` metrics of a window's model outputs (``values``: read from ``frame``
    when not given), from the profile's calibration or loss models."""
    if values is None:
        values = prediction_values(frame, profile.prediction_columns, profile.task,
                                   profile.prediction_kind)
    if profile.loss_models:
        return loss.estimate_regression(loss_inputs(frame, profile.loss_models),
                                        profile.loss_models)
    return estimate.estimated_metrics(profile.task, values, profile.calibrations,
                                      profile.threshold)


#: The share of a window's rows outside the reference's range of a feature (beyond its numbers,
#: or a category it never showed) from which a regression's notes say ``est.*`` extrapolates;
#: at least 10 reference rows' worth, as rows drawn like the reference fall outside it by chance.
EXTRAPOLATING_SHARE = 0.01


def extrapolation_note(profile: Profile, metrics: Mapping[str, float]) -> str | None:
    """A note when a regression's window holds rows outside the reference's range (the
    ``quality.<key>.out_of_range_share`` among ``metrics``): its loss model's trees are flat
    past the reference's rows, so ``est.*`` reads their errors as the edge's (low, when the
    model's own error grows there); ``None`` when no feature has that many, or no loss model."""
    least = max(EXTRAPOLATING_SHARE, 10 / max(profile.rows, 1))
    shares = sorted(((metrics.get(f"quality.{key}.out_of_range_share", 0.0), name)
                     for name, key in profile.metric_keys.items()), reverse=True)
    beyond = [f"{share:.1%} of rows have {name} outside the reference's range" for share, name
              in shares if share >= least]
    if not beyond or not profile.loss_models:
        return None
    return (f"est.* extrapolates: {'; '.join(beyond[:3])}"
            f"{f' (+{len(beyond) - 3} more)' if len(beyond) > 3 else ''}; the loss model is "
            "flat past the reference's rows, so the estimate reads their errors as at its edge "
            "(too low where the model's errors grow there): check it against labels")


def reference_changes(side: str, values: Mapping[str, float], reference: Mapping[str, float]
                      ) -> dict[str, float]:
    """How each metric of ``values`` moved from the ``reference``: ``<side>.<metric>.delta``,
    the difference, and for the :data:`~mlflow_decay.core.names.RATIO_METRICS` (errors) with a
    positive reference ``.ratio``, the window's value over the reference's."""
    out = {f"{side}.{m}.delta": v - reference[m] for m, v in values.items() if m in reference}
    out.update({f"{side}.{m}.ratio": values[m] / reference[m] for m in RATIO_METRICS
                if m in values and reference.get(m, 0.0) > 0})
    return out


def realized_metrics(perf: Mapping[str, float], profile: Profile) -> dict[str, float]:
    """``perf.<metric>`` of realized values, with their changes from the reference's."""
    return {**{f"perf.{m}": v for m, v in perf.items()},
            **reference_changes("perf", perf, profile.performance)}


def add_performance(profile: Profile, frame: pd.DataFrame, result: Evaluation,
                    est: dict[str, float] | None = None, values: np.ndarray | None = None
                    ) -> Evaluation:
    """Add estimated performance (from the model outputs in ``frame``, or ``est`` when
    :func:`estimated` was computed already) and, when ``result`` saw labels, realized
    performance to ``result``; return it. ``values``: the model outputs, when already read
    from ``frame``."""
    if not profile.prediction_columns:
        return result
    metrics = result.metrics
    if values is None:
        values = prediction_values(frame, profile.prediction_columns, profile.task,
                                   profile.prediction_kind)
    est = estimated(profile, frame, values) if est is None else est
    metrics.update(est)
    result.notes += [n for n in (unnormalised_note(values, profile.prediction_columns,
                                                   "the window's"),
                                 extrapolation_note(profile, metrics)) if n]
    if not profile.loss_models and est and (note := estimate.estimator_note(profile.calibrations)):
        result.notes.append(note)
        if profile.task == "binary" and "est.precision" not in est:  # 0 of 0: undefined
            result.notes.append(f"est.precision left out: no row scores at or above the "
                                f"threshold {profile.threshold:g}")
    # against the same estimator on the reference, so calibration bias cancels out
    metrics.update(reference_changes(
        "est", {k[4:]: v for k, v in est.items()},
        profile.estimated_performance))
    if result.has_labels and profile.target is not None:
        realized, notes = realized_performance(
            profile, frame[profile.target], values,
            frame[profile.predicted_label] if profile.predicted_label else None)
        metrics.update(realized)
        result.notes.extend(notes)
    return result


def realized_performance(profile: Profile, labels: pd.Series, values: np.ndarray,
                         decisions: pd.Series | None = None) -> tuple[dict[str, float], list[str]]:
    """The ``perf.*`` metrics (and their changes from the reference) of rows' ``labels`` and
    model outputs ``values`` (``decisions``: each row's decided class, else the profile's
    threshold or arg-max decides), and notes on what they leave out or count as 0: a metric
    these rows cannot define, a class no row holds or is decided as (macro F1), rows without
    a decision. A window's own labels and late labels are scored alike."""
    perf, why = performance.realized(
        profile.task, labels, values, classes=profile.classes,
        positive_label=profile.positive_label, threshold=profile.threshold, decisions=decisions)
    notes = [f"perf.{m} left out: {reason}" for m, reason in why.items()]
    if "f1_macro" in perf and (note := performance.f1_macro_note(
            perf["f1_macro"], labels, values, profile.classes, decisions)):
        notes.append(note)
    if decisions is not None and (note := undecided_note(labels, values, decisions)):
        notes.append(note)
    return realized_metrics(perf, profile), notes


def evaluate_stats(profile: Profile, stats: WindowStats, policy: Policy = DEFAULT_POLICY
                   ) -> Evaluation:
    """The metrics a window's mergeable statistics give: drift, data quality, multivariate
    drift, prediction and target drift, business KPIs (no estimated or realized performance,
    which need the rows' model outputs)."""
    metrics: dict[str, float] = {"quality.rows": float(stats.rows)}
    notes: list[str] = []
    scores: dict[str, float] = {}
    p_values: dict[str, float] = {}
    keys = profile.metric_keys
    for name, ref in profile.features.items():
        key = keys[name]
        found = _column_metrics(ref, stats.features[name], name, notes)
        metrics.update({f"{section}.{key}.{m}": v for (section, m), v in found.items()
                        if section != "test"})
        score_metric = policy.feature_metric(ref.kind)
        if ("drift", score_metric) in found:
            scores[name] = found[("drift", score_metric)]
            p_values[name] = found[("test", "p_value")]
    # drifted: a large enough effect that sampling noise cannot explain (Bonferroni over the
    # features), so small windows do not flag every feature and large ones flag real shifts only
    alpha = DRIFT_ALPHA / max(len(scores), 1)
    drifted = sorted((n for n, v in scores.items()
                      if v >= policy.feature_threshold(profile.features[n].kind)
                      and p_values[n] < alpha), key=lambda n: -scores[n])
    metrics["drift.share"] = len(drifted) / len(scores) if scores else 0.0
    metrics["drift.features_drifted"] = float(len(drifted))
    if stats.multivariate is not None:
        metrics[MULTIVARIATE] = stats.multivariate / stats.rows
        if lost := [n for n, k in keys.items()
                    if metrics.get(f"quality.{k}.missing_rate.delta", 0.0) >= MOSTLY]:
            notes.append(f"{', '.join(map(repr, lost))}: missing in most rows; the multivariate "
                         "reconstruction error reads a missing value at the reference's centre, "
                         "so it falls rather than rises (a drop below its band points at these "
                         "columns)")
    metrics.update(_output_drift(profile, stats, notes))
    business = metric_keys(policy.business)
    if stats.prediction is not None:  # NaN or infinite model outputs (any class's, multiclass)
        infinite = stats.prediction.infinite if isinstance(stats.prediction, NumericStats) else 0
        metrics[PREDICTION_MISSING] = (stats.prediction.missing + infinite) / stats.rows
    if profile.target is not None and profile.target in stats.columns:
        metrics[LABEL_COVERAGE] = (stats.target.count if stats.target is not None else 0) / stats.rows
    for column in policy.business:
        if column not in stats.columns:
            notes.append(f"business column {column!r} is not in the window")
        elif stats.business.get(column, (0.0, 0))[1]:
            metrics[f"business.{business[column]}"] = stats.business[column][0]
    known = {*profile.features, *profile.prediction_columns, profile.target, profile.id_column,
             profile.timestamp_column, profile.predicted_label, *policy.business}
    notes.extend(unused_rules(profile, policy))
    nested = [c for c in stats.nested if c not in known]
    if nested:
        notes.append(f"extra column(s) {', '.join(map(repr, nested))} hold nested values "
                     "(lists, structs or maps): ignored")
    return Evaluation(
        metrics=metrics, rows=stats.rows, drifted_features=drifted, drift_scores=scores,
        extra_columns=[c for c in stats.columns if c not in known], notes=notes,
        has_labels=stats.target is not None, stats=stats,
    )


def _output_drift(profile: Profile, stats: WindowStats, notes: list[str]) -> dict[str, float]:
    """``drift.prediction.*`` and ``drift.target.*``, with the test that gates the prediction's
    drift rules; adds to ``notes``."""
    metrics: dict[str, float] = {}
    for role, summary, counted in (("prediction", profile.prediction_summary, stats.prediction),
                                   ("target", profile.target_summary, stats.target)):
        if summary is not None and counted is not None:
            found = _column_metrics(summary, counted, role, notes)
            metrics.update({f"drift.{role}.{m}": v for (s, m), v in found.items() if s == "drift"})
            if role == "prediction" and ("test", "p_value") in found:  # gates its drift rules
                metrics[PREDICTION_P_VALUE] = found[("test", "p_value")]
            if role == "prediction" and (note := _probabilities_as_logits(profile, counted)):
                notes.append(note)
    return metrics


#: A logit in [0, 1] is a probability from 0.5 to sigmoid(1).
_SIGMOID_ONE = 1.0 / (1.0 + math.exp(-1.0))


def _probabilities_as_logits(profile: Profile, counted: ColumnStats) -> str | None:
    """A note when a binary profile reads logits and every output of the window lies in
    [0, 1] (probabilities from 0.5 to 0.73 once read as logits) where most of the reference's
    did not: probabilities sent where the profile reads logits move every score to 0.5-0.73."""
    summary = profile.prediction_summary
    if (profile.prediction_kind != "logit" or profile.task != "binary"
            or not isinstance(counted, NumericStats) or not isinstance(summary, NumericSummary)
            or counted.count == 0):
        return None
    grid = counted.grid
    low, high = np.searchsorted(grid, 0.5, "right") - 1, np.searchsorted(grid, _SIGMOID_ONE)
    if low < 0 or high >= len(grid):
        return None  # the reference never reached beyond that band: no telling
    inside = int(counted.through[high] - counted.below[low])
    before = float(summary.cdf(np.array([grid[high]]))[0]
                   - summary.cdf(np.array([grid[low]]), "left")[0])
    if inside < counted.count or before > 0.5:
        return None
    return (f"every output in {profile.prediction_columns[0]!r} lies in [0, 1] (read as logits, "
            f"the profile's prediction_kind, probabilities from 0.5 to 0.73), where "
            f"{1 - before:.0%} of the reference's were outside: are these probabilities?")


def unused_rules(profile: Profile, policy: Policy) -> list[str]:
    """Notes on the policy's exact rules that never apply to this profile: per-column rules
    (``drift.<column>.<stat>``, ``quality.<column>.<stat>``) naming a column it does not have,
    and rules on a performance metric its task never logs (``perf.f1_macro`` of a binary
    model; the default policy's rules for other tasks are left out)."""
    columns = {*profile.metric_keys.values(), "prediction", "target", "multivariate"}
    task_metrics = {"perf": performance.METRICS[profile.task],
                    "est": {"binary": estimate.BINARY, "multiclass": estimate.MULTICLASS,
                            "regression": loss.REGRESSION}[profile.task]}
    default = set(DEFAULT_POLICY.rules)
    out = []
    for rule in policy.rules:
        section, _, rest = rule.pattern.partition(".")
        # quality.<column>.missing_rate.delta: the column is before the metric's two parts
        stat = next((q for q in QUALITY_DELTAS if rest.endswith("." + q)),
                    rest.rpartition(".")[2]) if section == "quality" else rest.rpartition(".")[2]
        column = rest[:-len(stat) - 1] if rest.endswith("." + stat) else ""
        if any(c in rule.pattern for c in "*?["):
            continue
        if section in ("drift", "quality") and column and column not in columns:
            key = profile.metric_keys.get(column)  # a name MLflow cannot take: its safe key
            out.append(f"policy rule {rule.pattern!r}: column {column!r} logs its metrics as "
                       f"{section}.{key}.*, so the rule never applies: write "
                       f"'{section}.{key}.{stat}'" if key is not None else
                       f"policy rule {rule.pattern!r} names no column of this profile "
                       f"({column!r}): it never applies")
        elif section in task_metrics and rule not in default and (
                (name := rest.partition(".")[0]) not in task_metrics[section]
                or (rest.endswith(".ratio") and profile.task != "regression")):
            out.append(f"policy rule {rule.pattern!r}: a {profile.task} model never logs "
                       f"{section}.{name}{'.ratio' if rest.endswith('.ratio') else ''} "
                       f"(it logs {section}.{{{', '.join(task_metrics[section])}}}): it never "
                       "applies")
    return out


def prediction_series(profile: Profile, values: np.ndarray) -> pd.Series:
    """The model output as its profile summary reads it: scores, or predicted classes."""
    if profile.task == "multiclass":
        return predicted_classes(values, profile.classes)
    return pd.Series(values)


def _column_metrics(ref: Summary, stats: ColumnStats, name: str, notes: list[str]
                    ) -> Mapping[tuple[str, str], float]:
    rows = stats.rows
    out: dict[tuple[str, str], float] = {("quality", "missing_rate"): stats.missing / rows}
    if ref.rows:  # the rise above the reference's own share (a column often missing there)
        out[("quality", "missing_rate.delta")] = stats.missing / rows - ref.missing / ref.rows
    if isinstance(ref, NumericSummary) and isinstance(stats, NumericStats):
        out[("quality", "nonfinite_rate")] = stats.infinite / rows
        if ref.rows:  # a feed that starts sending +-inf (a division by zero upstream)
            out[("quality", "nonfinite_rate.delta")] = (stats.infinite / rows
                                                        - ref.infinite / ref.rows)
        n = stats.count
        if ref.count and n:
            assert ref.min is not None and ref.max is not None
            lo, hi = np.searchsorted(stats.grid, [ref.min, ref.max])
            out[("quality", "out_of_range_share")] = float(
                stats.below[lo] + n - stats.through[hi]) / n
            out.update({("drift", m): v for m, v in drift.numeric_drift(ref, stats).items()})
            out[("test", "p_value")] = drift.ks_pvalue(out[("drift", "ks")], ref.count, n)
        else:
            notes.append(f"drift of {name!r} left out: no finite values in the "
                         f"{'reference' if not ref.count else 'window'}")
        return out
    assert isinstance(ref, CategoricalSummary) and isinstance(stats, CategoricalStats)
    if ref.count and stats.counts:
        out.update({("drift", m): v for m, v in drift.categorical_drift(ref, stats.counts).items()})
        out[("quality", "out_of_range_share")] = out[("drift", "unseen_share")]
        out[("test", "p_value")] = drift.chi2_pvalue(ref, stats.counts)
        if (written := written_otherwise(stats.counts, ref.categories)) is not None:
            notes.append(f"column {name!r}: window values such as {written[0]!r} are the "
                         f"reference's {written[1]!r} written otherwise (case or surrounding "
                         "spaces): counted as unseen categories")
    else:
        notes.append(f"drift of {name!r} left out: no values in the "
                     f"{'reference' if not ref.count else 'window'}")
    return out


#: Chunks smaller than this give no reference band.
MIN_CHUNK_ROWS = 100
#: Band chunks use at most this many rows each.
MAX_CHUNK_ROWS = 25_000
#: Metrics that describe the window's size or counts, not its behaviour: no band.
_NO_BAND = ("quality.rows", "drift.features_drifted")


def reference_bands(profile: Profile, reference: pd.DataFrame, chunks: int,
                    pca_gram: np.ndarray | None = None) -> dict[str, tuple[float, float, int]]:
    """Each metric's mean and standard deviation over consecutive chunks of the reference.

    The reference is cut into ``chunks`` consecutive parts; each chunk is the first
    ``MAX_CHUNK_ROWS`` rows (at most) of its part, so the cost stays bounded on large
    references while the chunks still span the whole reference period. With ``pca_gram``
    (the reference's, see :func:`held_out_band`) the multivariate error's band is held out.

    Returns ``{metric: (mean, sd, chunk_rows)}`` for metrics seen in at least three chunks;
    empty when the reference is too small for three chunks of ``MIN_CHUNK_ROWS``.
    """
    return bands_from_chunks(profile, [reference.iloc[start:stop]  # row slices: views
                                       for start, stop in band_chunk_rows(len(reference), chunks)],
                             pca_gram)


def band_chunk_rows(rows: int, chunks: int) -> list[tuple[int, int]]:
    """Row ranges ``[start, stop)`` of the band chunks of a table of ``rows`` rows."""
    chunks = min(chunks, rows // MIN_CHUNK_ROWS)
    if chunks < 3:
        return []
    size = min(rows // chunks, MAX_CHUNK_ROWS)
    starts = np.linspace(0, rows, chunks + 1)[:-1].round().astype(int)
    return [(int(start), int(start) + size) for start in starts]


def bands_from_chunks(profile: Profile, chunks: Sequence[pd.DataFrame],
                      pca_gram: np.ndarray | None = None) -> dict[str, tuple[float, float, int]]:
    """Each metric's mean and standard deviation over the given chunks (one thread each);
    the multivariate error's held out when ``pca_gram`` is given (:func:`held_out_band`)."""
    if len(chunks) < 3:
        return {}
    evaluations = run_all({str(i): partial(evaluate_window, profile, chunk, workers=1)
                           for i, chunk in enumerate(chunks)})
    bands = bands_from_metrics([e.metrics for e in evaluations.values()], len(chunks[0]))
    if pca_gram is not None and profile.multivariate is not None:
        layout = profile.multivariate.layout
        grams, sums = zip(*(column_sums(c, layout) for c in chunks), strict=True)
        bands.update(held_out_band(profile, pca_gram, grams, sums, [len(c) for c in chunks]))
    return bands


def held_out_band(profile: Profile, pca_gram: np.ndarray, chunk_grams: Sequence[np.ndarray],
                  chunk_sums: Sequence[np.ndarray], chunk_rows: Sequence[int]
                  ) -> dict[str, tuple[float, float, int]]:
    """The band of ``drift.multivariate.reconstruction_error`` from the chunks' errors under
    PCAs fitted without them (:func:`~mlflow_decay.stats.multivariate.held_out_errors`), from
    the Gram matrices of the whole reference and of each chunk and the chunks' column sums
    (:func:`~mlflow_decay.stats.multivariate.column_sums`); empty without a PCA.

    Scored by the PCA fitted to them, the chunks' errors sit below a new window's: with many
    columns of nearly equal variance, by more than the band's width.
    """
    model = profile.multivariate
    if model is None or len(chunk_grams) < 3:
        return {}
    errors = held_out_errors(model, pca_gram, profile.rows, chunk_grams, chunk_sums, chunk_rows)
    if len(errors) < 3:
        return {}
    return {MULTIVARIATE: (_r(float(np.mean(errors))), _r(float(np.std(errors, ddof=1))),
                           int(chunk_rows[0]))}


def bands_from_metrics(chunk_metrics: Sequence[Mapping[str, float]], rows: int
                       ) -> dict[str, tuple[float, float, int]]:
    """Each metric's mean and standard deviation over chunks of ``rows`` rows (from their
    metrics: chunks evaluated elsewhere, such as on Spark executors, give them)."""
    values: dict[str, list[float]] = {}
    for metrics in chunk_metrics:
        for name, value in metrics.items():
            values.setdefault(name, []).append(value)
    return {name: (_r(float(np.mean(v))), _r(float(np.std(v, ddof=1))), rows)
            for name, v in values.items() if len(v) >= 3 and name not in _NO_BAND}


def _r(x: float) -> float:
    return float(f"{x:.6g}")
