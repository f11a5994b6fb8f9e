"""Multivariate drift: a change in how features move together.

Univariate checks miss a window whose marginals are unchanged but whose correlations flip, or
whose categorical features stop agreeing with each other. The profile keeps a PCA of the
reference's standardized numerical features and of one-hot indicators of its categorical
features' most frequent levels (means, scales and directions as plain numbers); a window's mean
squared reconstruction error moves when its rows leave the reference's principal subspace, or
fall into it (metric ``drift.multivariate.reconstruction_error``).

The indicator of level ``c`` (share ``p`` of the reference's non-missing values) is centred at
``p`` and scaled by ``sqrt(p)``, as in correspondence analysis: the indicators of one feature
are then uncorrelated but along one direction, so the components follow how features go
together rather than the one-hot encoding's own constraint (one level per row). A missing value
adds nothing to the error (a numerical one counts as the mean, a categorical one as centred
indicators); a level the PCA does not keep (a rare or unseen one) has all its indicators 0.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from .schema import Factorized, category_key, to_numeric

#: Components kept: the fewest explaining this share of the variance (see
#: :func:`components_kept`)...
VARIANCE_KEPT = 0.9
#: ...and fewer while the last kept is within this many times ``sqrt(rank / rows)`` (relatively)
#: of the first left out: eigenvalues of a sample differ by about that much by chance.
NOISE = 4.0
#: One-hot levels of a categorical feature: its most frequent ones, at most this many...
MAX_LEVELS = 10
#: ...each seen in at least this share of its non-missing reference values...
MIN_LEVEL_SHARE = 0.01
#: ...and at most this many indicator columns in all (fewer levels per feature when there are
#: many categorical features; the features past the cap are left out).
MAX_INDICATORS = 60
_DIGITS = 10
#: z-scores beyond this are capped when scoring rows (so that huge values give a huge but
#: finite error).
Z_LIMIT = 1e6
#: Values (rows x columns) centred at a time when scoring a table: bounds the memory used.
BLOCK_VALUES = 2**22

Levels = tuple[tuple[str, tuple[str, ...]], ...]


@dataclass(frozen=True)
class Layout:
    """The columns of a PCA: numerical ``features``, then the one-hot indicators of each
    ``categorical`` feature's levels; ``mean`` and ``scale`` of every column, in that order."""

    features: tuple[str, ...]
    categorical: Levels
    mean: tuple[float, ...]
    scale: tuple[float, ...]

    @property
    def width(self) -> int:
        return len(self.mean)


@dataclass(frozen=True)
class PCAModel:
    """A PCA of standardized features and level indicators, and the reference's error.

    ``components`` are the principal directions kept or, when ``residual``, the directions
    left out (whichever are fewer: the error only needs one set).
    """

    features: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    components: tuple[tuple[float, ...], ...]
    reference_error: float
    categorical: Levels = ()
    residual: bool = False

    @property
    def layout(self) -> Layout:
        return Layout(self.features, self.categorical, self.mean, self.scale)

    @property
    def kept(self) -> int:
        """The number of principal components."""
        return len(self.mean) - len(self.components) if self.residual else len(self.components)

    @property
    def extended(self) -> bool:
        """Whether the model uses what profile format version 2 could not say (categorical
        levels, directions left out)."""
        return bool(self.categorical) or self.residual

    def projector(self) -> np.ndarray:
        """``P`` with ``zᵀ P z`` a standardized row's squared reconstruction error."""
        w = np.asarray(self.components).reshape(-1, len(self.mean))
        return w.T @ w if self.residual else np.eye(len(self.mean)) - w.T @ w

    def error(self, frame: pd.DataFrame) -> float:
        """Mean squared reconstruction error of a table's rows."""
        return self.error_sum(frame) / max(len(frame), 1)

    def error_sum(self, frame: pd.DataFrame, factorized: Factorized | None = None,
                  columns: Mapping[str, pd.Series] | None = None) -> float:
        """Sum of the rows' squared reconstruction errors, block by block (bounded memory).

        A standardized row ``z`` scores ``Σ (vᵀz)²`` over the directions ``v`` left out, or
        ``|z|² - Σ (wᵀz)²`` over the components ``w``: a product with the fewer of the two
        sets. The indicators' part of each product (and of ``|z|²``) is a column of a small
        table per categorical feature, picked by the row's level (``factorized`` shares the
        categorical columns' hashing with the window's category counts). ``columns``: the
        table's columns already read from it (all the model reads), else read here, once.
        """
        read: Mapping[str, pd.Series] | pd.DataFrame = frame if columns is None else columns
        codes = [level_codes(read[name], levels, factorized(name) if factorized else None)
                 for name, levels in self.categorical]
        numbers = [read[name] for name in self.features]
        inverse = self._inverse_scale
        total = 0.0
        for start, stop in _blocks(len(frame), len(self.mean)):
            picked = [code[start:stop] for code in codes]
            with np.errstate(over="ignore", invalid="ignore"):
                # clean rows as they are, centred (the scale is in the maps: a pass less); a
                # missing or infinite value (NaN or inf spreads to the sum) makes the block
                # count again with it at the mean
                part = self._block_error(
                    _centred(numbers, self.features, self.mean, start, stop, masked=False),
                    picked, scaled=False)
                if not np.isfinite(part):
                    part = self._block_error(
                        _centred(numbers, self.features, self.mean, start, stop), picked,
                        scaled=False)
            if not np.isfinite(part):  # values too large to square: cap their z-scores
                block = _centred(numbers, self.features, self.mean, start, stop, inverse)
                part = self._block_error(np.clip(block, -Z_LIMIT, Z_LIMIT, out=block), picked)
            total += part
        return max(total, 0.0)

    def _block_error(self, block: np.ndarray, codes: Sequence[np.ndarray],
                     scaled: bool = True) -> float:
        """The error sum of a block of standardized numbers (squared in place) and the rows'
        level codes; ``scaled=False``: of numbers only centred, each feature's scale applied
        here (in the directions, and to each feature's sum of squares)."""
        numeric, tables, squares = self._maps
        if not scaled:
            numeric = self._scaled_directions
        part = 0.0
        if len(numeric):
            projected = numeric @ block
            for table, code in zip(tables, codes, strict=True):
                projected += table[:, code]
            part = float(np.square(projected, out=projected).sum())
        if self.residual:
            return part
        sums = np.square(block, out=block).sum(axis=1)
        norm = float(sums.sum() if scaled else sums @ np.square(self._inverse_scale)) + sum(
            float(np.bincount(code, minlength=len(square)) @ square)
            for square, code in zip(squares, codes, strict=True))
        return norm - part

    @cached_property
    def _inverse_scale(self) -> np.ndarray:
        """One over each numerical feature's scale (a standardized value is ``(x - mean) *``
        this)."""
        return 1 / np.asarray(self.scale[:len(self.features)])

    @cached_property
    def _scaled_directions(self) -> np.ndarray:
        """The stored directions on the centred numbers: each feature's part times its
        inverse scale (so that they read centred numbers as the stored ones read z-scores)."""
        return np.ascontiguousarray(self._maps[0] * self._inverse_scale)

    @cached_property
    def _maps(self) -> tuple[np.ndarray, list[np.ndarray], list[np.ndarray]]:
        """The stored directions on the standardized numbers; per categorical feature, their
        products with the standardized centred indicators of each level, of another value and
        of a missing one (:func:`level_codes`), and the squared norms of those."""
        directions = np.asarray(self.components).reshape(-1, len(self.mean))
        numeric = directions[:, :len(self.features)]
        tables, squares, start = [], [], len(self.features)
        for table in _centred_tables(self.layout):
            levels = slice(start, start + len(table))
            standardized = table / np.asarray(self.scale[levels])[:, None]
            tables.append(directions[:, levels] @ standardized)
            squares.append(np.sum(np.square(standardized), axis=0))
            start += len(table)
        return np.ascontiguousarray(numeric), tables, squares

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "features": list(self.features), "mean": list(self.mean), "scale": list(self.scale),
            "residual_components" if self.residual else "components":
                [list(c) for c in self.components],
            "reference_error": self.reference_error}
        if self.categorical:  # written only when there are levels: other models keep their bytes
            out["categorical"] = [[name, list(levels)] for name, levels in self.categorical]
        return out

    @classmethod
    def from_dict(cls, obj: dict[str, Any]) -> PCAModel:
        residual = "residual_components" in obj
        model = cls(
            features=tuple(str(f) for f in obj["features"]),
            mean=tuple(float(v) for v in obj["mean"]), scale=tuple(float(v) for v in obj["scale"]),
            components=tuple(tuple(float(v) for v in c) for c in
                             obj["residual_components" if residual else "components"]),
            reference_error=float(obj["reference_error"]),
            categorical=tuple((str(name), tuple(str(v) for v in levels))
                              for name, levels in obj.get("categorical", ())),
            residual=residual,
        )
        d = len(model.features) + sum(len(levels) for _, levels in model.categorical)
        if len(model.mean) != d or len(model.scale) != d or any(len(c) != d for c in model.components):
            raise ValueError("PCA model arrays do not match its feature count")
        return model


def pca_inputs(features: Sequence[str], moments: Mapping[str, tuple[float | None, float | None]],
               shares: Mapping[str, Sequence[tuple[str, float]]] | None = None) -> Layout:
    """The columns a PCA can use, with their rounded means and scales.

    Numerical ``features`` with a finite mean and a positive spread (``moments``: mean and
    standard deviation of the finite values); then, for each categorical feature in ``shares``
    (its levels with their shares of its non-missing values, most frequent first), the levels
    kept as indicators (see ``MAX_LEVELS``, ``MIN_LEVEL_SHARE``, ``MAX_INDICATORS``).
    """
    kept = [(f, m, s) for f in features for m, s in [moments[f]]
            if m is not None and s is not None and np.isfinite(m) and s > 0]
    mean = [_r(m) for _, m, _ in kept]
    scale = [_r(s) for _, _, s in kept]
    categorical = []
    shares = shares or {}
    per_feature = min(MAX_LEVELS, max(2, MAX_INDICATORS // max(len(shares), 1)))
    room = MAX_INDICATORS
    for name, levels in shares.items():
        chosen = [(level, p) for level, p in levels if p >= MIN_LEVEL_SHARE]
        chosen = chosen[:min(per_feature, room)]
        if not chosen or (len(chosen) == 1 and chosen[0][1] >= 1 - 1e-12):
            continue  # no room left, or a constant feature (it goes with nothing)
        categorical.append((name, tuple(level for level, _ in chosen)))
        mean += [_r(p) for _, p in chosen]
        scale += [_r(np.sqrt(p)) for _, p in chosen]
        room -= len(chosen)
    return Layout(tuple(f for f, _, _ in kept), tuple(categorical), tuple(mean), tuple(scale))


def fit_pca(frame: pd.DataFrame, features: Sequence[str],
            moments: Mapping[str, tuple[float | None, float | None]] | None = None,
            shares: Mapping[str, Sequence[tuple[str, float]]] | None = None) -> PCAModel | None:
    """Fit the PCA of numerical ``features`` and the levels of categorical ones (``shares``,
    as for :func:`pca_inputs`); ``None`` if there are fewer than two usable columns.

    ``moments`` gives each numerical feature's mean and standard deviation over its finite
    values when they are already known (the profile's summaries); otherwise they are computed.
    The components are the eigenvectors of the standardized rows' covariance, accumulated block
    by block like :meth:`PCAModel.error_sum`, so the table is never copied whole.
    """
    if moments is None:
        moments = {f: _finite_moments(to_numeric(frame[f], f)) for f in features}
    layout = pca_inputs(features, moments, shares)
    if layout.width < 2 or len(frame) == 0:
        return None
    return pca_from_gram(gram(frame, layout), layout, len(frame))


def level_codes(column: pd.Series, levels: Sequence[str],
                factorized: tuple[np.ndarray, Any] | None = None) -> np.ndarray:
    """Each row's index in ``levels`` (values compared as normalised category keys);
    ``len(levels)`` for another value, ``len(levels) + 1`` for a missing one. ``factorized``
    is the column's ``pd.factorize`` when already known."""
    codes, uniques = factorized or pd.factorize(column, use_na_sentinel=True)
    index = {level: i for i, level in enumerate(levels)}
    lookup = [index.get(category_key(value), len(levels)) for value in uniques]
    return np.asarray([*lookup, len(levels) + 1], dtype=np.min_scalar_type(len(levels) + 1))[codes]


def gram(frame: pd.DataFrame, layout: Layout) -> np.ndarray:
    """``Σ c cᵀ`` over a table's centred rows ``c`` (unstandardized; indicators centred at
    their shares, missing values at 0): it adds up over parts of a table."""
    return _moments(frame, layout)[0]


def column_sums(frame: pd.DataFrame, layout: Layout) -> tuple[np.ndarray, np.ndarray]:
    """The Gram matrix of :func:`gram` and ``Σ c``, the sum of the centred rows."""
    return _moments(frame, layout)


def _moments(frame: pd.DataFrame, layout: Layout) -> tuple[np.ndarray, np.ndarray]:
    tables = _centred_tables(layout)
    codes = [level_codes(frame[name], levels) for name, levels in layout.categorical]
    numbers = [frame[name] for name in layout.features]
    numeric = len(layout.features)
    total, sums = np.zeros((layout.width,) * 2), np.zeros(layout.width)
    for start, stop in _blocks(len(frame), layout.width):
        block = np.empty((layout.width, stop - start))
        block[:numeric] = _centred(numbers, layout.features, layout.mean, start, stop)
        row = numeric
        for table, code in zip(tables, codes, strict=True):
            block[row:row + len(table)] = table[:, code[start:stop]]
            row += len(table)
        total += block @ block.T
        sums += block.sum(axis=1)
    return total, sums


def pca_from_gram(centred_gram: np.ndarray, layout: Layout, rows: int,
                  kept: int | None = None) -> PCAModel | None:
    """The PCA model of a table from the Gram matrix of its centred rows (see :func:`gram`);
    ``kept`` fixes the number of components (default: :func:`components_kept`)."""
    d = layout.width
    if d < 2 or rows == 0:
        return None
    scale = np.asarray(layout.scale)
    eigenvalues, vectors = np.linalg.eigh(centred_gram / np.outer(scale, scale))
    eigenvalues, vectors = np.clip(eigenvalues[::-1], 0, None) / rows, vectors[:, ::-1]
    if eigenvalues.sum() <= 0:
        return None
    k = components_kept(eigenvalues, rows) if kept is None else kept
    residual = d - k < k  # store the fewer directions
    chosen = vectors[:, k:] if residual else vectors[:, :k]
    components = tuple(tuple(_r(v) for v in c) for c in chosen.T)
    model = PCAModel(layout.features, layout.mean, layout.scale, components, 0.0,
                     layout.categorical, residual)
    return replace(model, reference_error=_r(_trace_error(model, centred_gram) / rows))


def components_kept(eigenvalues: np.ndarray, rows: int) -> int:
    """How many of the principal directions (``eigenvalues`` in decreasing order) to keep.

    The fewest explaining ``VARIANCE_KEPT`` of the variance, leaving out at least one direction
    with some variance; then fewer while the last kept and the first left out are within
    sampling noise of each other (``NOISE`` x ``sqrt(rank / rows)`` apart, relatively): which
    of several directions of about equal variance the sample puts first is chance, and a PCA
    that split them would score new rows unlike its own (with no clear gap at all, it keeps
    none and the error is the rows' whole squared distance from the mean).
    """
    rank = int(np.count_nonzero(eigenvalues > 1e-9 * eigenvalues[0]))
    if rank < 2:
        return 0
    share = np.cumsum(eigenvalues) / eigenvalues.sum()
    k = min(int(np.searchsorted(share, VARIANCE_KEPT) + 1), rank - 1)
    tolerance = NOISE * np.sqrt(rank / rows)
    while k > 0 and eigenvalues[k - 1] <= eigenvalues[k] * (1 + tolerance):
        k -= 1
    return k


#: A fold's variance of a column below this share of the reference's: the column is constant.
_CONSTANT = 1e-9


def held_out_errors(model: PCAModel, centred_gram: np.ndarray, rows: int,
                    chunk_grams: Sequence[np.ndarray], chunk_sums: Sequence[np.ndarray],
                    chunk_rows: Sequence[int]) -> list[float]:
    """Each chunk's mean error under the PCA fitted on the reference's other rows: what a
    window of new rows scores.

    The chunks' errors under ``model`` itself are optimistic, the PCA having been fitted to
    their rows. Each fold's PCA has the same columns and number of components as ``model``,
    with the means, shares and scales of its own rows: through shared ones, a chunk whose
    column varies more would make the fold's column vary less, and its error pessimistic.
    ``centred_gram`` and ``rows`` are the whole reference's, the chunks' Gram matrices and
    column sums centred likewise (:func:`gram`, :func:`column_sums`).
    """
    layout, numeric = model.layout, len(model.features)
    mean, scale = np.asarray(model.mean), np.asarray(model.scale)
    spread = np.diag(centred_gram)[:numeric] / rows
    out = []
    for part, sums, n in zip(chunk_grams, chunk_sums, chunk_rows, strict=True):
        rest = rows - n
        if not n or rest <= 0:
            continue
        shift = -sums / rest  # the other rows' mean, from the whole reference's (sums 0)
        fold_gram = centred_gram - part - rest * np.outer(shift, shift)
        # a column constant in the other rows (its one varying row in this chunk: rounding
        # leaves its variance a hair either side of zero) keeps the reference's scale
        ratio = np.diag(fold_gram)[:numeric] / rest / np.where(spread > 0, spread, 1)
        fold_scale = np.concatenate((
            scale[:numeric] * np.sqrt(np.where(ratio > _CONSTANT, ratio, 1.0)),
            np.sqrt(np.clip(mean[numeric:] + shift[numeric:], 1e-12, None))))
        fold_layout = replace(layout, mean=tuple(mean + shift), scale=tuple(fold_scale))
        fold = pca_from_gram(fold_gram, fold_layout, rest, model.kept)
        if fold is not None:
            moved = part - np.outer(shift, sums) - np.outer(sums, shift) + n * np.outer(shift, shift)
            out.append(_trace_error(fold, moved) / n)
    return out


def _trace_error(model: PCAModel, centred_gram: np.ndarray) -> float:
    """The rows' error sum from their Gram matrix ``G``: ``trace(D P D G)``, ``D`` the
    inverse scales."""
    inverse = 1 / np.asarray(model.scale)
    return float(np.sum(model.projector() * np.outer(inverse, inverse) * centred_gram))


def _centred_tables(layout: Layout) -> list[np.ndarray]:
    """Per categorical feature, the centred indicators (one row per level) of each level, of
    another value (all 0) and of a missing value (at the shares): columns by
    :func:`level_codes`."""
    tables, start = [], len(layout.features)
    for _, levels in layout.categorical:
        share = np.asarray(layout.mean[start:start + len(levels)])
        table = np.zeros((len(levels), len(levels) + 2))
        table[:, :len(levels)] = np.eye(len(levels))
        table[:, :len(levels) + 1] -= share[:, None]
        tables.append(table)
        start += len(levels)
    return tables


def _finite_moments(values: np.ndarray) -> tuple[float | None, float | None]:
    finite = values[np.isfinite(values)]
    return (float(finite.mean()), float(finite.std())) if len(finite) else (None, None)


def _blocks(rows: int, width: int) -> Iterator[tuple[int, int]]:
    """Row ranges of at most ``BLOCK_VALUES`` values (and at least 4096 rows) each."""
    block = max(4096, BLOCK_VALUES // max(width, 1))
    for start in range(0, rows, block):
        yield start, min(start + block, rows)


def _centred(columns: Sequence[pd.Series], features: Sequence[str], mean: Sequence[float],
             start: int, stop: int, inverse_scale: np.ndarray | None = None, masked: bool = True
             ) -> np.ndarray:
    """Rows ``start:stop`` of the ``features``' ``columns`` minus their means (times
    ``inverse_scale``: z-scores), feature-major (one feature per row of the block); a missing
    or infinite value counts as the mean (0 after centring), unless ``masked=False`` leaves it
    as it is (a caller that sees whether it spread to its result, and then asks again, saves a
    pass over clean rows)."""
    centred = np.empty((len(features), stop - start))
    for j, (name, series) in enumerate(zip(features, columns, strict=True)):
        row = centred[j]
        values = (series.to_numpy()[start:stop] if series.dtype == np.float64  # as to_numeric
                  else to_numeric(series.iloc[start:stop], name))
        np.subtract(values, mean[j], out=row)
        if inverse_scale is not None:
            row *= inverse_scale[j]
        if not masked:
            continue
        with np.errstate(invalid="ignore", over="ignore"):
            finite = bool(np.isfinite(row.sum()))  # one cheap pass; a mask if needed
        if not finite:
            row[~np.isfinite(row)] = 0.0
    return centred


def _r(x: float) -> float:
    return float(f"{x:.{_DIGITS}g}")
