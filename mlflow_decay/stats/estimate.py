"""Label-free performance estimation: what the metrics will be once labels arrive.

Confidence-based performance estimation (CBPE). At profile time the reference labels decide
how the model's scores become probabilities (:mod:`mlflow_decay.stats.calibration`: raw, beta
or isotonic, chosen by cross-validation); the map is stored in the profile as plain numbers.
For a window without labels, each row's calibrated probability is the chance its label is
positive, which gives the expected confusion matrix at the decision threshold (accuracy,
precision, recall, F1) and the expected ranking statistics (ROC AUC, average precision).

The 95% band holds two independent errors, added in variance: the realized metric's sampling
error at the window's size (labels drawn from the calibrated probabilities, the metric
recomputed on each draw), and the calibration map's own error, from the finite reference (a
delete-a-group jackknife over the cross-validation's fold maps); both are estimated, so the
multiplier is Student's t rather than 1.96 (:func:`_half_widths`). It assumes that the score's
calibration holds on the window (no concept shift, and a covariate shift that leaves
P(label | score) alone).

Multiclass tasks calibrate each class one-vs-rest, normalise each row's probabilities, and
macro-average; their band draws each row's label once from its class probabilities (one
categorical draw per row), so the classes' errors are as correlated as the labels make them.
Regression uses direct loss estimation (:mod:`mlflow_decay.stats.loss`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
from scipy import special

from . import Z95, band
from .calibration import FOLDS, Calibration, Candidates, cumulative_miscalibration, fit_candidates
from .calibration import expected_calibration_error as expected_calibration_error

#: Binary metrics estimated (``est.<name>``), matching realized ``perf.<name>``.
BINARY = ("roc_auc", "pr_auc", "accuracy", "precision", "recall", "f1")
MULTICLASS = ("roc_auc_ovr", "accuracy", "f1_macro")
#: Label draws behind a band's sampling term.
_DRAWS = 64
#: Rows the bands are computed on (a uniform sample of a larger window).
_SD_ROWS = 10_000
#: The 95% point of :func:`~.calibration.cumulative_miscalibration` for calibrated scores (of
#: the largest ``|W(t)|``, ``t`` in [0, 1], for a standard Brownian motion ``W``).
KS95 = 2.2414
#: How many sampling deviations raw scores' expected average precision may stray from the
#: realized one (two-sided 99 %: a third test beside the AUC's and the cumulative gap's, kept
#: from refusing calibrated scores).
Z_AP = 2.5758293035489
#: From this many reference rows on, isotonic regression wins ties with beta calibration.
ISOTONIC_ROWS = 1000
#: Labelled reference rows needed to check the raw scores' calibration or fit a map.
CALIBRATION_ROWS = 50


def fit_calibration(scores: np.ndarray, y: np.ndarray, folds: int = FOLDS, seed: int = 0
                    ) -> Calibration:
    """Choose how a classifier's scores become probabilities, by how well they estimate the
    reference's own performance; one map serves every metric and every decision threshold.

    The raw scores are kept when they already do: their expected ROC AUC is within 1.96
    sampling deviations of the realized one, their largest cumulative miscalibration along
    the score (:func:`~.calibration.cumulative_miscalibration`, which bounds the error of the
    expected confusion matrix at every threshold) is below its 95% point for calibrated
    scores, and their expected average precision is within ``Z_AP`` sampling deviations of
    the realized one (:func:`_raw_fits`). Otherwise the map is beta calibration or isotonic
    regression, whichever estimates the held-out folds better: the smaller mean over the folds
    of ``z_auc**2 + ks**2``, each fold's rows read through the map fitted without them (ties:
    see :func:`_better_map`).
    Proper scores such as the log loss would not do: they are second order in the
    probabilities' error, the estimates first order.
    """
    return fit_calibrations(scores[:, None], y[:, None], folds, seed)[0]


def fit_calibrations(scores: np.ndarray, hits: np.ndarray, folds: int = FOLDS, seed: int = 0
                     ) -> tuple[Calibration, ...]:
    """One :func:`fit_calibration` per column of ``scores`` (``(n, k)``: a binary task's one
    score, or each class's probability), ``hits`` saying which rows are of that class. With
    several classes the raw scores are kept only if every class keeps them: the calibrated
    probabilities of a row are normalised together, so a raw class beside calibrated ones would
    be read on another scale."""
    hits = hits.astype(float)
    if too_few_to_calibrate(hits):
        return tuple(Calibration() for _ in range(hits.shape[1]))
    rng = np.random.default_rng(seed)
    fits = [fit_candidates(scores[:, k], hits[:, k], folds, seed) for k in range(hits.shape[1])]
    raw_fits = all(_raw_fits(scores[:, k], hits[:, k], rng) for k in range(hits.shape[1]))
    methods = ["raw" if raw_fits else _better_map(scores[:, k], hits[:, k], c, rng)
               for k, c in enumerate(fits)]
    return tuple(c.calibration(m, scores[:, k], hits[:, k])
                 for k, (c, m) in enumerate(zip(fits, methods, strict=True)))


def too_few_to_calibrate(hits: np.ndarray) -> bool:
    """Whether labels ``hits`` (rows, classes) are too few to check or fit a map: under
    ``CALIBRATION_ROWS`` rows, or a class with fewer than two rows on either side (a fold's
    complement would hold one side only); the raw scores are then read unchecked."""
    return len(hits) < CALIBRATION_ROWS or any(
        min(hits[:, k].sum(), len(hits) - hits[:, k].sum()) < 2 for k in range(hits.shape[1]))


def _raw_fits(scores: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> bool:
    """Whether the raw scores estimate the reference's AUC, its cumulative gap along the score
    and its average precision (with rare positives the top few percent of the scores decide
    PR AUC and F1, and neither of the others sees them: a logistic model that missed an
    interaction kept its raw scores with est.pr_auc 0.05-0.06 too low). The last test draws
    from its own stream, so the maps chosen after it draw as they did without it."""
    p = np.clip(scores, 0.0, 1.0)
    z_auc, ks = _stray(scores, p, y, rng)
    return z_auc < Z95 and ks < KS95 and _ap_stray(scores, p, y, rng.spawn(1)[0]) < Z_AP


def _ap_stray(scores: np.ndarray, p: np.ndarray, y: np.ndarray, rng: np.random.Generator
              ) -> float:
    """``|realized - expected average precision|`` in sampling deviations of the realized one
    under ``p``, centred on the draws' mean (a ratio's expectation on few positives lies below
    the ratio of expected counts), scaled from the band's rows to all of them as ``1 / n``."""
    rows, factor = _band_rows(len(scores), rng)
    s = scores[rows]
    draws = rng.random((_DRAWS, len(rows))) < p[rows]
    with np.errstate(divide="ignore", invalid="ignore"):  # a draw without positives: NaN
        ap = _draws_ap(draws, np.argsort(-s, kind="stable")) / draws.sum(axis=1)
    sd = _sd(ap) * factor
    if not sd > 0:  # NaN too: fewer than two draws with a positive
        return float("inf")
    shift = (np.nanmean(ap) - expected_average_precision(s, p[rows])) * len(rows) / len(scores)
    gap = expected_average_precision(scores, y) - expected_average_precision(scores, p) - shift
    return abs(gap) / sd


def _better_map(scores: np.ndarray, y: np.ndarray, candidates: Candidates,
                rng: np.random.Generator) -> str:
    """Beta or isotonic: the smaller mean over the held-out folds of ``z_auc**2 + ks**2``;
    when the folds cannot tell them apart (the difference is within one standard error of its
    mean), isotonic regression from ``ISOTONIC_ROWS`` reference rows on, beta calibration below
    (isotonic has no shape to be wrong about, and overtakes Platt-type maps from about a
    thousand calibration rows: Niculescu-Mizil and Caruana, ICML 2005)."""
    def held_out(method: str) -> np.ndarray:
        strays = [_stray(scores[rows], candidates.oof[method][rows], y[rows], rng)
                  for rows in candidates.held_out]
        return np.array([z**2 + k**2 for z, k in strays])

    with np.errstate(invalid="ignore"):  # a fold with one class: no z-score, no choice
        gap = held_out("beta") - held_out("isotonic")
        clear = abs(gap.mean()) > gap.std(ddof=1) / np.sqrt(len(gap))  # inf - inf: NaN, False
    if clear:
        return "beta" if gap.mean() < 0 else "isotonic"
    return "isotonic" if len(y) >= ISOTONIC_ROWS else "beta"


def _stray(scores: np.ndarray, p: np.ndarray, y: np.ndarray, rng: np.random.Generator
           ) -> tuple[float, float]:
    """How far the probabilities ``p`` stray from the labels ``y``, in sampling deviations:
    ``|expected AUC - realized AUC|`` over the realized AUC's deviation under ``p``, and the
    cumulative miscalibration along the score."""
    rows, factor = _band_rows(len(scores), rng)
    draws = rng.random((_DRAWS, len(rows))) < p[rows]
    pos = draws.sum(axis=1).astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        auc = ((draws @ average_ranks(scores[rows]) - pos * (pos + 1) / 2)
               / (pos * (len(rows) - pos)))
    sd = _sd(auc) * factor
    gap = abs(expected_auc(scores, p) - expected_auc(scores, y))
    return (gap / sd if sd > 0 else float("inf")), cumulative_miscalibration(scores, p, y)


def expected_auc(scores: np.ndarray, p: np.ndarray) -> float:
    """Expected ROC AUC when row i is positive with probability ``p[i]`` (ties count half)."""
    return _auc_sorted(*_by_score(scores, p))


def expected_average_precision(scores: np.ndarray, p: np.ndarray) -> float:
    """Expected average precision (PR AUC), ties resolved as scikit-learn does (by threshold)."""
    return _ap_sorted(*_by_score(scores, p))


def _by_score(scores: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Scores in ascending order and the probabilities in the same order (one sort serves both
    metrics: they only read tie groups, not the order within them)."""
    order = np.argsort(scores)
    return scores[order], p[order]


def _auc_sorted(s: np.ndarray, q: np.ndarray) -> float:
    neg = 1.0 - q
    new_group = np.concatenate(([True], s[1:] != s[:-1]))
    tied = np.count_nonzero(new_group) < len(s)  # untied: a group per row (no gathers)
    neg_in_group = np.add.reduceat(neg, np.flatnonzero(new_group)) if tied else neg
    below = np.concatenate(([0.0], np.cumsum(neg_in_group)[:-1]))
    if tied:
        group = np.cumsum(new_group) - 1
        below, neg_in_group = below[group], neg_in_group[group]
    correct = np.sum(q * below) + 0.5 * np.sum(q * (neg_in_group - neg))
    pairs = q.sum() * neg.sum() - np.sum(q * neg)
    return float(correct / pairs) if pairs > 0 else float("nan")


def _ap_sorted(s: np.ndarray, q: np.ndarray) -> float:
    s, q = s[::-1], q[::-1]  # by descending score
    ends = np.append(np.flatnonzero(s[1:] != s[:-1]), len(s) - 1)
    tp = np.cumsum(q)
    if len(ends) < len(s):  # ties: the last row of each group (else every row)
        tp = tp[ends]
    seen = ends + 1.0
    with np.errstate(invalid="ignore", divide="ignore"):  # no expected positive: NaN
        recall_step = np.diff(tp, prepend=0.0) / q.sum()
    return float(np.sum(recall_step * tp / seen))


def _confusion(hard: np.ndarray, p: np.ndarray) -> dict[str, float]:
    tp = float(np.sum(hard * p))
    fp = float(np.sum(hard * (1 - p)))
    fn = float(np.sum((1 - hard) * p))
    tn = float(np.sum((1 - hard) * (1 - p)))
    return {
        "accuracy": (tp + tn) / len(p),
        "precision": tp / (tp + fp) if tp + fp > 0 else float("nan"),
        "recall": tp / (tp + fn) if tp + fn > 0 else float("nan"),
        "f1": 2 * tp / (2 * tp + fp + fn) if tp + fp + fn > 0 else float("nan"),
    }


def estimate_binary(scores: np.ndarray, calibration: Calibration, seed: int = 0,
                    threshold: float = 0.5) -> dict[str, float]:
    """``est.<metric>``, ``.lower`` and ``.upper`` for a window of positive-class scores; a
    score at or above ``threshold`` predicts the positive class (confusion-matrix metrics)."""
    scores = scores[np.isfinite(scores)]
    if len(scores) == 0:
        return {}
    scores = np.sort(scores)  # in score order: every metric below reads them so
    p = calibration(scores)
    hard = (scores >= threshold).astype(float)
    point = binary_point(scores, p, hard)
    rng = np.random.default_rng(seed)
    rows, factor = _band_rows(len(scores), rng)  # sorted rows of sorted scores
    s, h = scores[rows], hard[rows]
    sampling = {k: v * factor for k, v in sampling_sd(s, p[rows], h, rng).items()}
    folds = calibration.fold_maps()
    fitting = jackknife_sd([binary_point(s, m(s), h) for m in folds])
    return _with_bands(point, _half_widths(sampling, fitting, len(folds), calibration), BINARY)


def binary_point(scores: np.ndarray, p: np.ndarray, hard: np.ndarray) -> dict[str, float]:
    """The expected metrics of rows given in ascending score order."""
    return {"roc_auc": _auc_sorted(scores, p), "pr_auc": _ap_sorted(scores, p),
            **_confusion(hard, p)}


def _band_rows(n: int, rng: np.random.Generator) -> tuple[np.ndarray, float]:
    """The rows the band is computed on, and the factor that scales their sampling deviation
    to the window's ``n`` rows: above ``_SD_ROWS`` rows a uniform sample, whose deviations are
    ``sqrt(n / m)`` times the window's (they shrink as one over the square root of the row
    count). The calibration term is not scaled: the map's error does not average out."""
    if n <= _SD_ROWS:
        return np.arange(n), 1.0
    return np.sort(rng.choice(n, _SD_ROWS, replace=False)), float(np.sqrt(_SD_ROWS / n))


def sampling_sd(scores: np.ndarray, p: np.ndarray, hard: np.ndarray, rng: np.random.Generator
                ) -> dict[str, float]:
    """Root mean square deviation of each realized metric, over labels drawn from ``p``, from
    the estimate of the same rows (``scores`` ascending): its spread plus how far the ratio
    metrics' mean lies from the ratio of expected counts (where a few rows decide, precision
    at p = 0.999 is 1 in nearly every draw, and a band of the spread alone excludes it). The
    draws' uniform numbers, hits and precisions share one buffer (fresh memory cost more)."""
    n = len(p)
    point = binary_point(scores, p, hard)
    buffer = rng.random((_DRAWS, n))
    draws = buffer < p
    ranks = average_ranks(scores)
    pos = draws.sum(axis=1).astype(float)
    neg = n - pos
    np.copyto(buffer, draws)  # the hits as floats: the products' operand, cast once for both
    rank_sums, tp = buffer @ ranks, buffer @ hard
    with np.errstate(divide="ignore", invalid="ignore"):
        auc = (rank_sums - pos * (pos + 1) / 2) / (pos * neg)
        ap = _draws_ap(draws, np.argsort(-scores, kind="stable"), buffer) / pos
        fp, fn = hard.sum() - tp, pos - tp
        acc = (tp + (neg - fp)) / n
        precision = tp / (tp + fp)
        recall = tp / pos
        f1 = 2 * tp / (2 * tp + fp + fn)
    return {name: _sd(v, point[name]) for name, v in (
        ("roc_auc", auc), ("pr_auc", ap), ("accuracy", acc), ("precision", precision),
        ("recall", recall), ("f1", f1))}


def _draws_ap(draws: np.ndarray, order: np.ndarray, out: np.ndarray | None = None
              ) -> np.ndarray:
    """Each draw's sum of precision at its positives, rows in ``order`` (descending score):
    ``sum(hit * tp_cum / k)``, counts in 32 bits (exact below 2**31 rows); ``out``: a float
    buffer of ``draws``' shape, overwritten. ``np.take`` keeps each draw's row contiguous
    (indexing the columns interleaved the draws: every pass strided, 2.5 times slower)."""
    ranked = np.take(draws, order, axis=1)
    counts = ranked.astype(np.int32)  # summed in place: cumsum casting bools is slower
    np.cumsum(counts, axis=1, out=counts)
    precision = np.empty(ranked.shape) if out is None else out
    np.copyto(precision, counts)
    precision /= np.arange(1, ranked.shape[1] + 1, dtype=np.float64)
    precision *= ranked  # 0 where no positive was drawn
    return np.sum(precision, axis=1)


def jackknife_sd(values: Sequence[dict[str, float]]) -> dict[str, float]:
    """Delete-a-group jackknife: the standard deviation of an estimate owed to the map, from
    the estimates each fold's map gives (each map fitted without one fold of the reference):
    ``sqrt((K - 1) / K * sum_k (theta_k - mean theta)^2)``. Empty without fold maps."""
    k = len(values)
    if k < 2:
        return {}
    out = {}
    for name in values[0]:
        theta = np.array([v[name] for v in values])
        if np.all(np.isfinite(theta)):
            out[name] = float(np.sqrt((k - 1) / k * np.sum((theta - theta.mean()) ** 2)))
    return out


def _half_widths(sampling: dict[str, float], fitting: dict[str, float], folds: int,
                 measured: Calibration | None = None) -> dict[str, float]:
    """Each band's half-width: the sampling and calibration deviations are independent and add
    in variance; both are estimated (from ``_DRAWS`` draws, and from ``folds`` fold maps), so
    the multiplier is Student's t at the Welch-Satterthwaite degrees of freedom (1.96 with
    exact deviations, 2.78 when four-degree-of-freedom calibration term dominates). The
    sampling variance is multiplied by the metric's dispersion measured on the reference
    (``measured.dispersion``, :mod:`mlflow_decay.stats.dispersion`), whose degrees of freedom
    are then its chunks' less one."""
    dispersion = measured.dispersion if measured is not None else {}
    out = {}
    for name, sd in sampling.items():
        phi = dispersion.get(name, 1.0)
        v_s, v_c = phi * sd**2, fitting.get(name, 0.0) ** 2
        if not np.isfinite(v_s + v_c):
            continue
        dof_s = measured.chunks - 1.0 if measured is not None and phi > 1 else _DRAWS - 1.0
        if v_c > 0 and folds >= 2:
            dof = (v_s + v_c) ** 2 / (v_s**2 / dof_s + v_c**2 / (folds - 1))
        else:
            dof = dof_s
        out[name] = _t975(dof) * float(np.sqrt(v_s + v_c))
    return out


def _t975(dof: float) -> float:
    """Student's t 97.5 % quantile, ``scipy.stats.t.ppf(0.975, dof)`` (what it computes, without
    importing ``scipy.stats``: half a second of every command's start)."""
    return float(special.stdtrit(dof, 0.975)) if dof > 0 else float("nan")


def average_ranks(values: np.ndarray) -> np.ndarray:
    """``scipy.stats.rankdata(values)`` (ranks from 1, ties given their average rank, NaN
    anywhere makes every rank NaN) by pandas' ranking, without importing ``scipy.stats``."""
    values = np.asarray(values)
    if np.isnan(values).any():
        return np.full(values.shape, np.nan)
    return pd.Series(values, copy=False).rank(method="average").to_numpy(dtype=float)


def _sd(values: np.ndarray, center: float | None = None) -> float:
    """The finite values' standard deviation, or their root mean square deviation from
    ``center`` when it is finite."""
    finite = values[np.isfinite(values)]
    if len(finite) < 2:
        return float("nan")
    if center is None or not np.isfinite(center):
        return float(finite.std())
    return float(np.sqrt(np.mean((finite - center) ** 2)))


def estimate_multiclass(proba: np.ndarray, calibrations: list[Calibration], seed: int = 0
                        ) -> dict[str, float]:
    """``est.roc_auc_ovr``, ``est.accuracy`` and ``est.f1_macro`` (with 95% bands) from class
    probabilities: each class calibrated one-vs-rest, the row normalised, macro-averaged."""
    keep = np.isfinite(proba).all(axis=1)
    proba = proba[keep]
    if len(proba) == 0:
        return {}
    predicted = np.argmax(proba, axis=1)
    q = class_probabilities(proba, calibrations)
    point = multiclass_point(proba, q, predicted)
    rng = np.random.default_rng(seed)
    rows, factor = _band_rows(len(proba), rng)
    sub, guess = proba[rows], predicted[rows]
    sampling = {k: v * factor
                for k, v in multiclass_sampling_sd(sub, q[rows], guess, rng).items()}
    folds = [c.fold_maps() for c in calibrations]
    count = max(len(f) for f in folds)
    fitting = {}
    if count >= 2 and all(len(f) in (0, count) for f in folds):
        maps = [[f[i] if f else c for f, c in zip(folds, calibrations, strict=True)]
                for i in range(count)]
        fitting = jackknife_sd([multiclass_point(sub, class_probabilities(sub, m), guess)
                                 for m in maps])
    return _with_bands(point, _half_widths(sampling, fitting, count, calibrations[0]),
                       MULTICLASS)


def class_probabilities(proba: np.ndarray, maps: Sequence[Callable[[np.ndarray], np.ndarray]]
                        ) -> np.ndarray:
    """Each class's calibrated probability, each row normalised to sum to one."""
    q = np.column_stack([m(proba[:, k]) for k, m in enumerate(maps)])
    total = q.sum(axis=1, keepdims=True)
    return np.asarray(q / np.where(total > 0, total, 1.0))


def multiclass_point(proba: np.ndarray, q: np.ndarray, predicted: np.ndarray
                     ) -> dict[str, float]:
    """The expected macro one-vs-rest AUC and macro F1 of rows scored ``proba``, decided
    ``predicted``, whose classes have probabilities ``q``."""
    aucs, f1s = [], []
    for k in range(proba.shape[1]):
        aucs.append(expected_auc(proba[:, k], q[:, k]))
        f1s.append(_confusion((predicted == k).astype(float), q[:, k])["f1"])
    return {"roc_auc_ovr": float(np.nanmean(aucs)),
            "accuracy": float(np.mean(q[np.arange(len(q)), predicted])),
            "f1_macro": float(np.nanmean(f1s))}


def multiclass_sampling_sd(proba: np.ndarray, q: np.ndarray, predicted: np.ndarray,
                           rng: np.random.Generator) -> dict[str, float]:
    """Root mean square deviation of the realized macro metrics over joint label draws from
    the estimate of the same rows (as :func:`sampling_sd`): each draw gives every row one
    class from its probabilities ``q``, and every class's one-vs-rest AUC and F1 (and the
    accuracy) are recomputed from that same draw."""
    n, k = q.shape
    point = multiclass_point(proba, q, predicted)
    labels = _categorical_draws(q, rng)  # (draws, n)
    ranks = np.column_stack([average_ranks(proba[:, c]) for c in range(k)])
    # per draw and class, by one bincount over (draw, class) cells: the drawn rows, the sum of
    # their ranks among that class's probabilities, and how many of them were predicted so
    cell = (labels + k * np.arange(_DRAWS)[:, None]).ravel()

    def per_class(weights: np.ndarray | None) -> np.ndarray:
        return np.bincount(cell, weights, minlength=_DRAWS * k).reshape(_DRAWS, k)

    pos = per_class(None)
    rank_sum = per_class(ranks[np.arange(n), labels].ravel())
    right = labels == predicted[None, :]
    tp = per_class(right.ravel().astype(float))
    predicted_count = np.bincount(predicted, minlength=k)[None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        auc = (rank_sum - pos * (pos + 1) / 2) / (pos * (n - pos))
        denominator = pos + predicted_count  # 2 tp + fp + fn
        f1 = np.where(denominator > 0, 2 * tp / denominator, 0.0)  # as sklearn's zero_division=0
    # a class absent from a draw has no AUC; scikit-learn's macro AUC refuses such a window
    macro_auc = np.where(np.isfinite(auc).all(axis=1), auc.mean(axis=1), np.nan)
    return {"roc_auc_ovr": _sd(macro_auc, point["roc_auc_ovr"]),
            "accuracy": _sd(right.mean(axis=1), point["accuracy"]),
            "f1_macro": _sd(f1.mean(axis=1), point["f1_macro"])}


def _categorical_draws(q: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``_DRAWS`` draws of every row's class from its probabilities (rows of ``q``)."""
    n, k = q.shape
    edges = np.cumsum(q, axis=1)
    edges[:, -1] = np.inf  # rounding never leaves a row without a class
    u = rng.random((_DRAWS, n))
    step = max(1, 4_000_000 // max(n * k, 1))  # draws per chunk: a few million comparisons
    return np.concatenate([(u[d:d + step, :, None] >= edges[None]).sum(axis=2)
                           for d in range(0, _DRAWS, step)])


def _with_bands(point: dict[str, float], half_widths: dict[str, float], names: Sequence[str]
                ) -> dict[str, float]:
    out: dict[str, float] = {}
    for name in names:
        value = point[name]
        if not np.isfinite(value):
            continue
        out[f"est.{name}"] = value
        half = half_widths.get(name)
        if half is not None and np.isfinite(half):  # every one of them lies in [0, 1]
            out[f"est.{name}.lower"], out[f"est.{name}.upper"] = band(value, half, 1.0)
    return out


def estimator_note(calibrations: Sequence[Calibration]) -> str | None:
    """What produced a classifier's ``est.*`` (a metric-free note for the report)."""
    if not calibrations:
        return None
    methods = sorted({c.method for c in calibrations})
    if methods == ["raw"]:
        how = "the raw scores"
    else:
        plural = "s" if len(calibrations) > 1 else ""
        how = f"the scores through the reference's {'/'.join(methods)} calibration map{plural}"
    return (f"est.* estimated without labels from {how} (confidence-based; assumes each "
            "score's chance of being right is as on the reference)")


def estimated_metrics(task: str, values: np.ndarray, calibrations: Sequence[Calibration],
                      threshold: float = 0.5) -> dict[str, float]:
    """The task's ``est.*`` metrics for a window's model output (scores or class probabilities;
    ``threshold`` as in :func:`estimate_binary`)."""
    if not calibrations or task == "regression":
        return {}
    if task == "multiclass":
        return estimate_multiclass(values, list(calibrations))
    return estimate_binary(values, calibrations[0], threshold=threshold)
