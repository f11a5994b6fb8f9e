"""The bands' dispersion (stats/dispersion): simulated coverage under a known data-generating
process whose labels vary more than independent draws from P(label | score), and no change for
rows that do not."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from mlflow_decay.stats.calibration import Calibration
from mlflow_decay.stats.dispersion import with_dispersion
from mlflow_decay.stats.estimate import estimate_binary, fit_calibration

#: Rows that share a calibration offset (a logit shift drawn per block).
BLOCK = 100


def _rows(n: int, rng: np.random.Generator, spread: float) -> tuple[np.ndarray, np.ndarray]:
    """Scores and labels: the label's logit is the score's plus an offset shared by each run of
    ``BLOCK`` consecutive rows, normal with sd ``spread`` (0: calibrated rows, independent)."""
    s = rng.uniform(0.02, 0.98, n)
    offset = np.repeat(rng.normal(0, spread, -(-n // BLOCK)), BLOCK)[:n]
    p = 1 / (1 + np.exp(-(np.log(s / (1 - s)) + offset)))
    return s, (rng.random(n) < p).astype(float)


def _coverage(calibration: Calibration, rng: np.random.Generator, spread: float,
              windows: int = 150, rows: int = 2000, threshold: float = 0.6) -> float:
    hits = []
    for _ in range(windows):
        s, y = _rows(rows, rng, spread)
        est = estimate_binary(s, calibration, threshold=threshold)
        realized = np.mean((s >= threshold) == (y == 1))
        hits.append(est["est.accuracy.lower"] <= realized <= est["est.accuracy.upper"])
    return float(np.mean(hits))


def test_overdispersed_labels_widen_the_band_to_its_nominal_coverage() -> None:
    rng = np.random.default_rng(3)
    s, y = _rows(20_000, rng, spread=0.8)
    fitted = fit_calibration(s, y)
    measured = with_dispersion(s, y[:, None], (fitted,), threshold=0.6)[0]
    assert measured.chunks == 20 and measured.dispersion["accuracy"] > 1.4
    # the band's coverage of fresh windows from the same process, with and without the term
    assert 0.90 <= _coverage(measured, np.random.default_rng(4), 0.8) <= 0.99
    assert _coverage(replace(measured, dispersion={}), np.random.default_rng(4), 0.8) < 0.89


def test_independent_rows_keep_the_band_as_it_was() -> None:
    rng = np.random.default_rng(5)
    s, y = _rows(20_000, rng, spread=0.0)
    fitted = fit_calibration(s, y)
    measured = with_dispersion(s, y[:, None], (fitted,), threshold=0.6)[0]
    assert all(1.0 <= v < 1.5 for v in measured.dispersion.values())
    assert 0.90 <= _coverage(measured, np.random.default_rng(6), 0.0, windows=100) <= 1.0


def test_small_references_and_old_maps_have_no_dispersion() -> None:
    rng = np.random.default_rng(7)
    s, y = _rows(900, rng, spread=0.8)
    fitted = fit_calibration(s, y)
    assert with_dispersion(s, y[:, None], (fitted,))[0].dispersion == {}  # 4 chunks of 225
    old = fitted.to_dict()
    assert "dispersion" not in old and Calibration.from_dict(old).dispersion == {}
    grown = replace(fitted, dispersion={"f1": 1.7}, chunks=20)
    assert Calibration.from_dict(grown.to_dict()) == grown
    with pytest.raises(ValueError, match="at least 1"):
        Calibration.from_dict({**grown.to_dict(), "dispersion": {"f1": 0.5}})
