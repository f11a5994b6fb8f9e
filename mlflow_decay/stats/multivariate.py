"""Multivariate drift: a change in how numerical features move together.

Univariate checks miss a window whose marginals are unchanged but whose correlations flip. The
profile keeps a PCA of the standardized reference features (means, scales and components as
plain numbers); a window's mean squared reconstruction error grows when its rows leave the
reference's principal subspace (metric ``drift.multivariate.reconstruction_error``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from .schema import to_numeric

#: Components kept: the fewest explaining this share of the variance, at most d - 1.
VARIANCE_KEPT = 0.9
_DIGITS = 10
#: z-scores beyond this are capped when scoring rows (so that huge values give a huge but
#: finite error).
Z_LIMIT = 1e6
#: Values (rows x features) centred at a time when scoring a table: bounds the memory used.
BLOCK_VALUES = 2**22


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
        return self.error_sum(frame) / max(len(frame), 1)

    def error_sum(self, frame: pd.DataFrame) -> float:
        """Sum of the rows' squared reconstruction errors, block by block (bounded memory).

        The residual of a standardized row ``z`` is ``P z`` with ``P = I - WᵀW``, so its squared
        norm is ``Σ λ² (uᵀz)²`` over the eigenpairs of the symmetric ``P``. Only the ``d - k``
        directions the components leave out have ``λ`` near 1, so each row costs ``d (d - k)``
        multiplications instead of ``2 d k`` for projecting and reconstructing it.
        """
        residual_map = self._residual_map
        limit = Z_LIMIT * np.asarray(self.scale)[:, None]
        total = 0.0
        for block in _centred_blocks(frame, self.features, self.mean):
            with np.errstate(over="ignore", invalid="ignore"):
                part = float(np.sum(np.square(residual_map @ block)))
            if not np.isfinite(part):  # values too large to square: cap their z-scores
                part = float(np.sum(np.square(residual_map @ np.clip(block, -limit, limit))))
            total += part
        return total

    @cached_property
    def _residual_map(self) -> np.ndarray:
        """``M`` with ``|M (x - mean)|² = |P z|²``: the eigen-directions of ``P`` that matter,
        scaled by ``|λ|``, applied to unstandardized centred rows."""
        w = np.asarray(self.components).reshape(-1, len(self.features))
        eigenvalues, vectors = np.linalg.eigh(np.eye(len(self.features)) - w.T @ w)
        keep = eigenvalues**2 > 1e-12
        return (np.abs(eigenvalues[keep])[:, None] * vectors[:, keep].T) / np.asarray(self.scale)

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


def fit_pca(frame: pd.DataFrame, features: Sequence[str],
            moments: Mapping[str, tuple[float | None, float | None]] | None = None
            ) -> PCAModel | None:
    """Fit the PCA of ``features`` (numerical, at least two with spread); ``None`` if not possible.

    ``moments`` gives each feature's mean and standard deviation over its finite values when
    they are already known (the profile's summaries); otherwise they are computed. The
    components are the eigenvectors of the standardized rows' covariance, accumulated block by
    block like :meth:`PCAModel.error_sum`, so the table is never copied whole.
    """
    if moments is None:
        moments = {f: _finite_moments(to_numeric(frame[f], f)) for f in features}
    names, mean, scale = pca_inputs(features, moments)
    if len(names) < 2 or len(frame) == 0:
        return None
    return pca_from_gram(gram(frame, names, mean), names, mean, scale, len(frame))


def pca_inputs(features: Sequence[str], moments: Mapping[str, tuple[float | None, float | None]]
               ) -> tuple[tuple[str, ...], tuple[float, ...], tuple[float, ...]]:
    """The features a PCA can use (finite mean, positive spread) with their rounded moments."""
    kept = [(f, m, s) for f in features for m, s in [moments[f]]
            if m is not None and s is not None and np.isfinite(m) and s > 0]
    return (tuple(f for f, _, _ in kept), tuple(_r(m) for _, m, _ in kept),
            tuple(_r(s) for _, _, s in kept))


def gram(frame: pd.DataFrame, features: Sequence[str], mean: Sequence[float]) -> np.ndarray:
    """``Σ (x - mean)(x - mean)ᵀ`` over a table's rows: it adds up over parts of a table."""
    total = np.zeros((len(features),) * 2)
    for block in _centred_blocks(frame, features, mean):
        total += block @ block.T
    return total


def pca_from_gram(centred_gram: np.ndarray, features: Sequence[str], mean: Sequence[float],
                  scale: Sequence[float], rows: int) -> PCAModel | None:
    """The PCA model of a table from the Gram matrix of its centred rows (see :func:`gram`)."""
    if len(features) < 2 or rows == 0:
        return None
    eigenvalues, vectors = np.linalg.eigh(centred_gram / np.outer(scale, scale))
    eigenvalues, vectors = np.clip(eigenvalues[::-1], 0, None), vectors[:, ::-1]
    if eigenvalues.sum() <= 0:
        return None
    k = int(np.searchsorted(np.cumsum(eigenvalues) / eigenvalues.sum(), VARIANCE_KEPT) + 1)
    k = min(k, len(features) - 1)
    components = tuple(tuple(_r(v) for v in c) for c in vectors[:, :k].T)
    model = PCAModel(tuple(features), tuple(mean), tuple(scale), components, 0.0)
    residual_map = model._residual_map  # the rows' error sum is trace(M G Mᵀ)
    error = float(np.sum((residual_map @ centred_gram) * residual_map)) / rows
    return replace(model, reference_error=_r(error))


def _finite_moments(values: np.ndarray) -> tuple[float | None, float | None]:
    finite = values[np.isfinite(values)]
    return (float(finite.mean()), float(finite.std())) if len(finite) else (None, None)


def _centred_blocks(frame: pd.DataFrame, features: Sequence[str], mean: Sequence[float]
                    ) -> Iterator[np.ndarray]:
    """Blocks of rows of ``features`` minus their means, feature-major (one feature per row of
    a block), of at most ``BLOCK_VALUES`` values; a missing or infinite value counts as the
    mean (0 after centring)."""
    columns = [frame[name] for name in features]
    block = max(4096, BLOCK_VALUES // len(columns))
    for start in range(0, len(frame), block):
        centred = np.empty((len(columns), min(block, len(frame) - start)))
        for j, (name, column) in enumerate(zip(features, columns, strict=True)):
            row = centred[j]
            np.subtract(to_numeric(column.iloc[start:start + block], name), mean[j], out=row)
            with np.errstate(invalid="ignore", over="ignore"):
                finite = bool(np.isfinite(row.sum()))  # one cheap pass; a mask if needed
            if not finite:
                row[~np.isfinite(row)] = 0.0
        yield centred


def _r(x: float) -> float:
    return float(f"{x:.{_DIGITS}g}")
