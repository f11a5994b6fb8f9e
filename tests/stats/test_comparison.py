"""The paired t-test of two models' per-row losses, against scipy's."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import ttest_rel

from mlflow_decay.stats.comparison import paired_loss


@pytest.mark.parametrize("rows, scale", [(2, 1.0), (30, 0.2), (5000, 0.05)])
def test_paired_loss_is_scipys_paired_t_test(rows: int, scale: float) -> None:
    rng = np.random.default_rng(rows)
    first = rng.exponential(1.0, rows)
    second = first * 0.97 + rng.normal(0, scale, rows)
    test = paired_loss("mae", first, second)
    expected = ttest_rel(second, first)
    assert test.t == pytest.approx(expected.statistic)
    assert test.p_value == pytest.approx(expected.pvalue)
    assert (test.lower, test.upper) == pytest.approx(tuple(expected.confidence_interval()))
    assert test.diff == pytest.approx(second.mean() - first.mean())
    assert test.gain == pytest.approx(1 - second.mean() / first.mean())
    assert test.rows == rows


def test_equal_losses_differ_by_nothing_and_too_few_rows_are_refused() -> None:
    same = paired_loss("log_loss", np.array([0.2, 0.5, 0.1]), np.array([0.2, 0.5, 0.1]))
    assert (same.diff, same.t, same.p_value, same.gain) == (0.0, 0.0, 1.0, 0.0)
    shifted = paired_loss("mae", np.array([1.0, 2.0]), np.array([0.5, 1.5]))  # always 0.5 less
    assert shifted.t == -np.inf and shifted.p_value == 0.0 and shifted.gain == pytest.approx(1 / 3)
    with pytest.raises(ValueError, match="two or more rows"):
        paired_loss("mae", np.array([1.0]), np.array([0.5]))
