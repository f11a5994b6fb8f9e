"""How much more a classifier's label-free estimate errs than label sampling explains: measured
on the reference, by cross-validation over its consecutive chunks.

The band of :mod:`mlflow_decay.stats.estimate` holds the realized metric's sampling error (labels
drawn independently from the calibrated probabilities) and the map's own error. Windows of real
data err more: rows that arrive together share more than their scores say (a period, a region,
a campaign), so P(label | score) moves a little from window to window and the window's labels
vary more than independent draws would (overdispersion; quasi-binomial models estimate the same
factor from grouped residuals). The reference, in the order it was given (time order when it has
a timestamp), shows how much: each of ``CHUNKS`` consecutive chunks is estimated through the
map refitted without it and compared with its labels, and the estimate's squared error, less
the map's own error variance, over the binomial sampling variance, is the metric's dispersion
``phi`` (at least 1). The band multiplies its sampling variance by ``phi``, with ``chunks - 1``
degrees of freedom for that term. A reference whose rows come in random order gives ``phi``
near 1 (the band as without it); nothing here looks at a window's labels.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np

from .calibration import Calibration, fit_map
from .estimate import (
    binary_point,
    class_probabilities,
    jackknife_sd,
    multiclass_point,
    multiclass_sampling_sd,
    sampling_sd,
)

#: Consecutive chunks of the reference the dispersion is measured on.
CHUNKS = 20
#: Fewest rows a chunk needs (fewer chunks below ``CHUNKS * MIN_CHUNK_ROWS`` rows).
MIN_CHUNK_ROWS = 200
#: Fewest chunks that give a dispersion.
MIN_CHUNKS = 5

Metrics = dict[str, float]


def with_dispersion(scores: np.ndarray, hits: np.ndarray, calibrations: tuple[Calibration, ...],
                    threshold: float = 0.5, seed: int = 0) -> tuple[Calibration, ...]:
    """``calibrations`` with the task's dispersion on the first map.

    ``scores``: ``(n,)`` positive-class scores, or ``(n, k)`` class probabilities; ``hits``:
    ``(n, k)`` whether each row is of each class (``k = 1`` for a binary task); rows in the
    reference's order. Unchanged when the reference is too small for ``MIN_CHUNKS`` chunks.
    """
    chunks = min(CHUNKS, len(scores) // MIN_CHUNK_ROWS)
    if chunks < MIN_CHUNKS or not calibrations:
        return calibrations
    rng = np.random.default_rng(seed)
    terms = []  # per chunk: (squared error, map variance, sampling variance) of each metric
    for rows in np.array_split(np.arange(len(scores)), chunks):
        rest = np.setdiff1d(np.arange(len(scores)), rows, assume_unique=True)
        if scores.ndim == 1:
            terms.append(_binary_chunk(scores, hits[:, 0], rows, rest, calibrations[0],
                                       threshold, rng))
        else:
            terms.append(_multiclass_chunk(scores, hits, rows, rest, calibrations, rng))
    dispersion = {}
    for name in terms[0][0]:
        e2, m2, s2 = (np.array([t[i].get(name, np.nan) for t in terms]) for i in range(3))
        ok = np.isfinite(e2) & np.isfinite(m2) & np.isfinite(s2)
        if ok.sum() >= MIN_CHUNKS and s2[ok].sum() > 0:
            dispersion[name] = round(float(max(1.0, (e2[ok] - m2[ok]).sum() / s2[ok].sum())), 4)
    first = replace(calibrations[0], dispersion=dispersion, chunks=chunks)
    return (first, *calibrations[1:])


def _binary_chunk(scores: np.ndarray, y: np.ndarray, rows: np.ndarray, rest: np.ndarray,
                  calibration: Calibration, threshold: float, rng: np.random.Generator
                  ) -> tuple[Metrics, Metrics, Metrics]:
    order = rows[np.argsort(scores[rows], kind="stable")]
    s, labels = scores[order], y[order].astype(float)
    hard = (s >= threshold).astype(float)
    p = fit_map(calibration.method, scores[rest], y[rest])(s)
    return _chunk_terms(
        binary_point(s, p, hard), binary_point(s, labels, hard),
        jackknife_sd([binary_point(s, m(s), hard) for m in calibration.fold_maps()]),
        sampling_sd(s, p, hard, rng))


def _multiclass_chunk(proba: np.ndarray, hits: np.ndarray, rows: np.ndarray, rest: np.ndarray,
                      calibrations: tuple[Calibration, ...], rng: np.random.Generator
                      ) -> tuple[Metrics, Metrics, Metrics]:
    sub, guess = proba[rows], np.argmax(proba[rows], axis=1)
    maps: list[Callable[[np.ndarray], np.ndarray]] = [
        fit_map(c.method, proba[rest, k], hits[rest, k]) for k, c in enumerate(calibrations)]
    q = class_probabilities(sub, maps)
    folds = [c.fold_maps() for c in calibrations]
    count = min(len(f) for f in folds)
    jackknife = jackknife_sd([
        multiclass_point(sub, class_probabilities(sub, [f[i] for f in folds]), guess)
        for i in range(count)]) if count >= 2 else {}
    return _chunk_terms(multiclass_point(sub, q, guess),
                        multiclass_point(sub, hits[rows].astype(float), guess), jackknife,
                        multiclass_sampling_sd(sub, q, guess, rng))


def _chunk_terms(estimated: Metrics, realized: Metrics, map_sd: Metrics, sampling_sd: Metrics
                 ) -> tuple[Metrics, Metrics, Metrics]:
    """A chunk's squared error, map variance and sampling variance of each metric."""
    names = [n for n in estimated if n in sampling_sd]
    return ({n: (estimated[n] - realized[n]) ** 2 for n in names},
            {n: map_sd.get(n, 0.0) ** 2 for n in names},
            {n: sampling_sd[n] ** 2 for n in names})
