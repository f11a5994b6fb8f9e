"""The PCA of numerical features and categorical levels: against scikit-learn's PCA of the same
encoded table, its held-out reference errors against refitting, and old models."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlflow_decay.stats import multivariate as mv
from mlflow_decay.stats.multivariate import (
    Layout,
    PCAModel,
    column_sums,
    components_kept,
    fit_pca,
    gram,
    held_out_errors,
    level_codes,
    pca_from_gram,
    pca_inputs,
)
from mlflow_decay.stats.schema import category_counts


def _table(rows: int, seed: int, missing: bool = True) -> pd.DataFrame:
    """Correlated numbers, two associated categorical features (one with rare levels), one
    independent."""
    rng = np.random.default_rng(seed)
    x = rng.multivariate_normal([0, 0, 0], [[1, 0.7, 0.3], [0.7, 1, 0.2], [0.3, 0.2, 1]], rows)
    color = rng.choice(4, rows, p=[0.4, 0.3, 0.2, 0.1])
    shade = np.where(rng.random(rows) < 0.7, color, rng.integers(0, 4, rows))
    rare = rng.random(rows) < 0.004  # below the 1% share a level needs
    frame = pd.DataFrame({
        "a": x[:, 0], "b": x[:, 1] * 3 + 1, "c": x[:, 2],
        "color": np.where(rare, "zz", np.array(["r", "g", "b", "y"])[color]).astype(object),
        "shade": np.array(["1", "2", "3", "4"])[shade],
        "size": rng.choice(["S", "M", "L"], rows),
    })
    if missing:
        frame.loc[rng.random(rows) < 0.03, "color"] = None
        frame.loc[rng.random(rows) < 0.02, "a"] = np.nan
    return frame


def _shares(frame: pd.DataFrame, columns: list[str]) -> dict[str, list[tuple[str, float]]]:
    return {c: list(frame[c].value_counts(normalize=True).items()) for c in columns}


def _encoded(model: PCAModel, frame: pd.DataFrame) -> np.ndarray:
    """The table as the PCA reads it, built directly: standardized numbers (missing: 0), and
    per kept level ``(indicator - share) / sqrt(share)`` (missing value: 0)."""
    columns = []
    for name, mean, scale in zip(model.features, model.mean, model.scale, strict=False):
        z = (frame[name].to_numpy(dtype=float) - mean) / scale
        columns.append(np.where(np.isfinite(z), z, 0.0))
    j = len(model.features)
    for name, levels in model.categorical:
        values = frame[name]
        for level in levels:
            z = ((values == level).to_numpy(dtype=float) - model.mean[j]) / model.scale[j]
            columns.append(np.where(values.isna().to_numpy(), 0.0, z))
            j += 1
    return np.column_stack(columns)


def test_pca_with_levels_matches_sklearn_on_the_encoded_table() -> None:
    from sklearn.decomposition import PCA

    frame = _table(20_000, 0)
    model = fit_pca(frame, ["a", "b", "c"], shares=_shares(frame, ["color", "shade", "size"]))
    assert model is not None
    assert dict(model.categorical) == {"color": ("r", "g", "b", "y"), "shade": ("1", "2", "3", "4"),
                                       "size": model.categorical[2][1]}  # 'zz' is under 1%
    z = _encoded(model, frame)
    reference = PCA().fit(z)
    v = reference.components_[:model.kept]
    assert 0 < model.kept < z.shape[1]
    assert np.allclose(model.projector(), np.eye(z.shape[1]) - v.T @ v, atol=1e-7)
    assert model.reference_error == pytest.approx(model.error(frame), rel=1e-8)
    # a window's error is its rows' squared distance from their reconstruction by sklearn
    window = _table(3_000, 1)
    window.loc[:40, "size"] = "XL"  # unseen: no indicator
    pca = PCA(model.kept).fit(z)
    encoded = _encoded(model, window) - pca.mean_  # sklearn reconstructs around its mean
    direct = float(np.sum((encoded - pca.inverse_transform(pca.transform(encoded + pca.mean_))
                           + pca.mean_) ** 2))
    assert model.error_sum(window) == pytest.approx(direct, rel=1e-6)


def test_both_stored_forms_score_alike() -> None:
    frame = _table(10_000, 2)
    model = fit_pca(frame, ["a", "b", "c"], shares=_shares(frame, ["color", "shade", "size"]))
    assert model is not None
    g = gram(frame, model.layout)
    for kept in (1, len(model.mean) - 1):
        other = pca_from_gram(g, model.layout, len(frame), kept)
        assert other is not None and other.kept == kept
        assert other.residual == (kept > len(other.mean) - kept)
        z = _encoded(other, frame)
        direct = float(np.einsum("ij,jk,ik->", z, other.projector(), z))
        assert other.error_sum(frame) == pytest.approx(direct, rel=1e-8)
        assert PCAModel.from_dict(other.to_dict()) == other


def test_level_codes_read_values_as_the_profile_does() -> None:
    column = pd.Series([1, 1.0, "1", "2", None, np.nan, "x", False, 2.0], dtype=object)
    codes = level_codes(column, ["1", "2", "False"])
    assert codes.tolist() == [0, 0, 0, 1, 4, 4, 3, 2, 1]
    counts, missing = category_counts(column)  # as the profile counts them
    assert missing == np.sum(codes == 4)
    assert counts == {"1": 3, "2": 2, "x": 1, "False": 1}


def test_levels_are_the_frequent_ones_and_capped() -> None:
    moments = {"n": (0.0, 1.0), "flat": (2.0, 0.0)}
    many = [(f"v{i}", 0.9 / 30) for i in range(30)] + [("rare", 0.005)]
    layout = pca_inputs(["n", "flat"], moments, {
        "many": many, "one": [("only", 1.0)], "two": [("a", 0.6), ("b", 0.4)]})
    assert layout.features == ("n",)  # no spread: left out
    assert dict(layout.categorical) == {"many": tuple(f"v{i}" for i in range(mv.MAX_LEVELS)),
                                        "two": ("a", "b")}  # a constant feature is left out
    assert layout.mean[1:3] == (pytest.approx(0.03), pytest.approx(0.03))
    assert layout.scale[-1] == pytest.approx(np.sqrt(0.4))
    crowded = pca_inputs([], {}, {f"f{i}": many for i in range(40)})
    assert len(crowded.mean) == mv.MAX_INDICATORS  # two levels each, until the cap


def test_held_out_errors_equal_refitting_without_each_chunk() -> None:
    frame = _table(12_000, 3, missing=False)
    model = fit_pca(frame, ["a", "b", "c"], shares=_shares(frame, ["color", "shade", "size"]))
    assert model is not None
    total = gram(frame, model.layout)
    chunks = [frame.iloc[i * 3000:(i + 1) * 3000] for i in range(3)]
    moments = [column_sums(c, model.layout) for c in chunks]
    found = held_out_errors(model, total, len(frame), [g for g, _ in moments],
                            [s for _, s in moments], [len(c) for c in chunks])
    for chunk, error in zip(chunks, found, strict=True):
        rest = frame.drop(chunk.index)
        shares = [(rest[name] == level).mean() for name, levels in model.categorical
                  for level in levels]
        layout = Layout(model.features, model.categorical,
                        (*(rest[f].mean() for f in model.features), *shares),
                        (*(rest[f].std(ddof=0) for f in model.features), *np.sqrt(shares)))
        fold = pca_from_gram(gram(rest, layout), layout, len(rest), model.kept)
        assert fold is not None
        assert error == pytest.approx(fold.error(chunk), rel=1e-6)
    # scored by the PCA fitted to them, the chunks look better than new rows do
    assert np.mean(found) > np.mean([model.error(c) for c in chunks])


def test_a_column_that_varies_in_one_chunk_only_gives_finite_held_out_errors() -> None:
    # as a sparse pixel of scikit-learn's digits: without its one non-zero row the column is
    # constant (its variance, by difference, a hair either side of zero); it keeps the
    # reference's scale, and every error stays finite
    frame = _table(9_000, 4, missing=False)
    frame["sparse"] = 0.0
    frame.loc[frame.index[7], "sparse"] = 3.0
    model = fit_pca(frame, ["a", "b", "c", "sparse"])
    assert model is not None and "sparse" in model.features
    total = gram(frame, model.layout)
    chunks = [frame.iloc[i * 3000:(i + 1) * 3000] for i in range(3)]
    moments = [column_sums(c, model.layout) for c in chunks]
    found = held_out_errors(model, total, len(frame), [g for g, _ in moments],
                            [s for _, s in moments], [len(c) for c in chunks])
    assert len(found) == 3 and np.all(np.isfinite(found)) and max(found) < 1e3


def test_directions_of_about_equal_variance_are_not_split() -> None:
    rows = 10_000
    noise = 4 * np.sqrt(3 / rows)
    assert components_kept(np.array([2.0, 1.0, 0.1]), rows) == 2  # clear gaps: 90 %
    # the cut would fall between two directions the sample cannot tell apart: both left out
    assert components_kept(np.array([3.0, 0.5, 0.5 * (1 - noise / 2)]), rows) == 1
    assert components_kept(np.array([1.0, 1 - noise / 3, 1 - noise / 2]), rows) == 0
    assert components_kept(np.array([1.0, 1.0, 0.0]), rows) == 0  # rank 2, no gap
    assert components_kept(np.array([1.0, 0.5, 0.0]), rows) == 1  # a constraint stays out


def test_old_models_load_and_score_as_before() -> None:
    # an older profile's PCA: numerical features, the kept components, no levels
    rng = np.random.default_rng(5)
    x = rng.multivariate_normal([0, 0, 0], [[1, 0.8, 0], [0.8, 1, 0], [0, 0, 1]], 5000)
    frame = pd.DataFrame(x, columns=["p", "q", "r"])
    w = np.linalg.qr(rng.normal(size=(3, 2)))[0].T
    old = {"features": ["p", "q", "r"], "mean": [0.0, 0.0, 0.0], "scale": [1.0, 1.0, 1.0],
           "components": w.tolist(), "reference_error": 0.5}
    model = PCAModel.from_dict(old)
    assert model.kept == 2 and not model.residual and not model.extended
    assert model.to_dict() == old  # same keys, same bytes
    expected = float(np.sum((x - x @ w.T @ w) ** 2))  # the old |(I - WᵀW) z|²
    assert model.error_sum(frame) == pytest.approx(expected, rel=1e-9)
    with pytest.raises(ValueError, match="do not match"):
        PCAModel.from_dict({**old, "categorical": [["k", ["a"]]]})


def test_categorical_levels_alone_make_a_pca() -> None:
    frame = _table(5_000, 6)[["color", "shade"]]
    model = fit_pca(frame, [], shares=_shares(frame, ["color", "shade"]))
    assert model is not None and model.features == () and model.extended
    assert model.error(frame) == pytest.approx(model.reference_error, rel=1e-8)
