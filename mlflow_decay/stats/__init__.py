"""Statistics: arrays and columns in, numbers out.

The bottom layer: quantile sketches, label-free estimation, realized performance, the
multivariate (PCA) model, the paired tests of two models and the reading of a column as
numbers or categories.
Nothing here reads files, talks to MLflow, or imports anything of mlflow-decay but its errors.
"""

#: The standard normal's 97.5% quantile: 95% two-sided bands and confidence intervals.
Z95 = 1.959963984540054


def band(value: float, half: float, high: float = float("inf")) -> tuple[float, float]:
    """``value`` plus and minus ``half``, cut to the metric's range ``[0, high]`` (where the
    realized value always lies: an AUC band does not reach 1.01, an error band not below 0)."""
    return max(value - half, 0.0), min(value + half, high)
