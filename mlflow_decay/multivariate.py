"""Multivariate drift: a change in how numerical features move together.

Univariate checks miss a window whose marginals are unchanged but whose correlations flip. The
profile keeps a PCA of the standardized reference features (means, scales and components as
plain numbers); a window's mean squared reconstruction error grows when its rows leave the
reference's principal subspace (metric ``drift.multivariate.reconstruction_error``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .schema import to_numeric

#: Components kept: the fewest explaining this share of the variance, at most d - 1.
VARIANCE_KEPT = 0.9
_DIGITS = 10


@dataclass(frozen=True)
class PCAModel:
    """A PCA of standardized numerical features, and the reference's reconstruction error."""

    features: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    components: tuple[tuple[float, ...], ...]
    reference_error: float

    def error(self, frame: pd.DataFrame) -> float:
        """Mean squared reconstruction error of a table's rows (missing values at the mean)."""
        z = _standardize(frame, self.features, np.asarray(self.mean), np.asarray(self.scale))
        w = np.asarray(self.components)
        residual = z - (z @ w.T) @ w
        return float(np.mean(np.sum(residual**2, axis=1)))

    def to_dict(self) -> dict[str, Any]:
        return {"features": list(self.features), "mean": list(self.mean),
                "scale": list(self.scale), "components": [list(c) for c in self.components],
                "reference_error": self.reference_error}

    @classmethod
    def from_dict(cls, obj: dict[str, Any]) -> PCAModel:
        model = cls(
            features=tuple(str(f) for f in obj["features"]),
            mean=tuple(float(v) for v in obj["mean"]), scale=tuple(float(v) for v in obj["scale"]),
            components=tuple(tuple(float(v) for v in c) for c in obj["components"]),
            reference_error=float(obj["reference_error"]),
        )
        d = len(model.features)
        if len(model.mean) != d or len(model.scale) != d or any(len(c) != d for c in model.components):
            raise ValueError("PCA model arrays do not match its feature count")
        return model


def fit_pca(frame: pd.DataFrame, features: Sequence[str]) -> PCAModel | None:
    """Fit the PCA of ``features`` (numerical, at least two with spread); ``None`` if not possible."""
    from sklearn.decomposition import PCA

    raw = np.column_stack([to_numeric(frame[f], f) for f in features]) if features else None
    if raw is None or raw.shape[1] < 2:
        return None
    raw = np.where(np.isfinite(raw), raw, np.nan)
    mean = np.nanmean(raw, axis=0)
    scale = np.nanstd(raw, axis=0)
    keep = np.isfinite(mean) & (scale > 0)
    if keep.sum() < 2:
        return None
    names = tuple(f for f, k in zip(features, keep, strict=True) if k)
    mean, scale = tuple(_r(v) for v in mean[keep]), tuple(_r(v) for v in scale[keep])
    z = _standardize(frame, names, np.asarray(mean), np.asarray(scale))
    pca = PCA().fit(z)
    k = int(np.searchsorted(np.cumsum(pca.explained_variance_ratio_), VARIANCE_KEPT) + 1)
    k = min(k, len(names) - 1)
    components = tuple(tuple(_r(v) for v in c) for c in pca.components_[:k])
    model = PCAModel(names, mean, scale, components, 0.0)
    return PCAModel(names, mean, scale, components, _r(model.error(frame)))


def _standardize(frame: pd.DataFrame, features: Sequence[str], mean: np.ndarray,
                 scale: np.ndarray) -> np.ndarray:
    raw = np.column_stack([to_numeric(frame[f], f) for f in features])
    z = (raw - mean) / scale
    return np.where(np.isfinite(z), z, 0.0)


def _r(x: float) -> float:
    return float(f"{x:.{_DIGITS}g}")
