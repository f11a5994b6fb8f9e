"""Direct loss estimation (regression): the exported trees against scikit-learn, the band's
parts against their formulas, and the estimates against realized errors under shift."""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import HistGradientBoostingRegressor

import mlflow_decay as md
from mlflow_decay.core.evaluation import evaluate_window
from mlflow_decay.core.frames import loss_inputs
from mlflow_decay.stats import Z95
from mlflow_decay.stats.loss import LossModel, estimate_regression, walk_numpy
from mlflow_decay.stats.loss_fit import (
    ALTERNATIVE,
    GRID,
    JACKKNIFE,
    MAX_ITER,
    PARALLEL_ROWS,
    choose_capacity,
    export,
    fit_loss_models,
    regressor,
    run_fits,
    tilts,
)

CATEGORIES = {"b": ("u", "v", "w", "x", "y", "z"), "d": ("p", "q", "r")}


def _mixed(n: int, rng: np.random.Generator) -> np.ndarray:
    """Numbers in columns a and c, category codes in b (6) and d (3), some missing."""
    x = np.column_stack([rng.normal(size=n), rng.integers(0, 6, n), rng.normal(size=n),
                         rng.integers(0, 3, n)]).astype(float)
    x[::11, 0] = np.nan
    x[::13, 1] = np.nan
    return x


@pytest.mark.parametrize("loss", ["squared_error", "poisson"])
def test_exported_trees_predict_exactly_like_sklearn(loss: str) -> None:
    rng = np.random.default_rng(3)
    x = _mixed(6000, rng)
    y = np.abs(x[:, 2]) * (1 + np.nan_to_num(x[:, 1])) + rng.random(6000) * (1 + x[:, 3])
    fitted = HistGradientBoostingRegressor(
        loss=loss, max_iter=40, max_leaf_nodes=15, categorical_features=[False, True, False, True],
        random_state=0).fit(x, y)
    model = export(fitted, ["a", "b", "c", "d"], CATEGORIES)
    assert model.link == ("log" if loss == "poisson" else "identity")
    probe = _mixed(3000, rng)
    probe[::5, 3] = np.nan  # missing and (as NaN) unknown categories take sklearn's side
    probe[::7, 2] = np.nan
    expected = fitted.predict(probe)
    raw = model.raw_numpy(probe)
    assert np.max(np.abs(model.predict(probe) / expected - 1)) < 1e-5  # sklearn's walker
    assert np.max(np.abs((np.exp(raw) if loss == "poisson" else raw) / expected - 1)) < 1e-5
    again = LossModel.from_dict(json.loads(json.dumps(model.to_dict())))
    assert again == model
    assert np.array_equal(again.predict(probe), model.predict(probe))


def test_category_codes_and_integer_categories_read_as_sklearn_would() -> None:
    frame = pd.DataFrame({"fuel": ["gas", "diesel", None, "hydrogen", "gas"],
                          "doors": ["3", "5", "4", None, "x"], "age": [1.0, 2.0, np.inf, 4.0, 5]})
    model = LossModel(("fuel", "doors", "age"), 0.0, (), categories={"fuel": ("gas", "diesel")})
    x = loss_inputs(frame, [model])
    np.testing.assert_array_equal(x[:, 0], [0, 1, np.nan, np.nan, 0])  # unseen: missing
    np.testing.assert_array_equal(x[:, 1], [3, 5, 4, np.nan, np.nan])  # numbers where they are
    np.testing.assert_array_equal(x[:, 2], [1, 2, np.nan, 4, 5])


def test_old_loss_models_keep_their_bytes_and_their_band() -> None:
    rng = np.random.default_rng(4)
    x = rng.normal(size=(3000, 2))
    error = rng.normal(0, 1 + np.abs(x[:, 0]))
    old = [export(HistGradientBoostingRegressor(max_iter=20, random_state=0).fit(x, loss),
                  ["a", "b"], {}) for loss in (np.abs(error), error**2)]
    for model in old:  # written exactly as before: three keys, floats
        assert set(model.to_dict()) == {"columns", "baseline", "trees"}
        assert all(isinstance(v, float) for t in model.to_dict()["trees"] for a in t for v in a)
        assert not model.is_new
    probe = rng.normal(size=(800, 2))
    absolute, squared = (np.clip(m.predict(probe), 0, None) for m in old)
    sd_mae = np.sqrt(np.clip(squared - absolute**2, 0, None).mean() / 800)
    rmse = np.sqrt(squared.mean())
    sd_rmse = np.sqrt(2 * np.mean(squared**2) / 800) / (2 * rmse)
    est = estimate_regression(probe, old)
    assert est["est.mae"] == pytest.approx(absolute.mean())
    assert est["est.mae.upper"] - est["est.mae"] == pytest.approx(Z95 * sd_mae)
    assert est["est.rmse.upper"] - est["est.rmse"] == pytest.approx(Z95 * sd_rmse)


def test_an_old_profile_loads_writes_and_estimates_as_before() -> None:
    rng = np.random.default_rng(8)
    frame = _shifted_frame(3000, rng, 0.0)
    x = frame[["x1", "yhat"]].to_numpy()
    error = (frame.y - frame.yhat).to_numpy()
    old = tuple(export(HistGradientBoostingRegressor(max_iter=20, random_state=0).fit(x, loss),
                       ["x1", "yhat"], {}) for loss in (np.abs(error), error**2))
    profile = dataclasses.replace(
        md.build_profile(frame, target="y", prediction="yhat", task="regression",
                         features=["x1"], band_chunks=0), loss_models=old)
    written = json.loads(profile.to_json())
    assert written["format_version"] == 1  # what a reader of version 1 reads
    assert written["loss_models"] == [m.to_dict() for m in old]
    again = md.Profile.from_json(profile.to_json())
    assert again.to_json() == profile.to_json()
    window = _shifted_frame(1000, rng, 0.5)
    metrics = evaluate_window(again, window).metrics
    expected = estimate_regression(window[["x1", "yhat"]].to_numpy(), old)
    assert {k: metrics[k] for k in expected} == pytest.approx(expected)


def _constant(value: float) -> tuple[tuple[float, ...], ...]:
    return ((-1.0,), (0.0,), (0.0,), (0.0,), (0.0,), (value,))  # one leaf


def test_band_adds_sampling_and_the_delete_a_group_jackknife() -> None:
    folds = tuple((0.0, (_constant(v),)) for v in (1.0, 1.2, 0.9, 1.1))
    model = LossModel(("a",), 0.0, (_constant(1.05),), square_ratio=1.6, dispersion=3.0,
                      ratio_spread=0.02, folds=folds)
    est = estimate_regression(np.zeros((400, 1)), [model])

    def jackknife(values: np.ndarray) -> float:
        k = len(values)
        return (k - 1) / k * float(np.sum((values - values.mean()) ** 2))

    squared = 1.6 * 1.05**2
    var_mae = (squared - 1.05**2) / 400 + jackknife(np.array([1.0, 1.2, 0.9, 1.1]))
    var_mse = (3.0 * squared**2 / 400 + jackknife(1.6 * np.array([1.0, 1.2, 0.9, 1.1]) ** 2)
               + (0.02 * squared) ** 2)
    assert est["est.mae"] == pytest.approx(1.05)
    assert est["est.rmse"] == pytest.approx(np.sqrt(squared))
    assert est["est.mae.upper"] - est["est.mae"] == pytest.approx(Z95 * np.sqrt(var_mae))
    assert est["est.rmse.upper"] - est["est.rmse"] == pytest.approx(
        Z95 * np.sqrt(var_mse) / (2 * np.sqrt(squared)))


def _two_leaves(feature: int, threshold: float, left: float, right: float
                ) -> tuple[tuple[float, ...], ...]:
    """A tree of one split (``x[feature] <= threshold`` goes left, missing too)."""
    return ((float(feature), -1.0, -1.0), (threshold, 0.0, 0.0), (1.0, 0.0, 0.0),
            (1.0, 0.0, 0.0), (2.0, 0.0, 0.0), (0.0, left, right))


def test_band_adds_the_disagreement_of_an_alternative_model() -> None:
    folds = tuple((0.0, (_constant(v),)) for v in (1.0, 1.2, 0.9, 1.1))
    base = LossModel(("a",), 0.0, (_constant(1.05),), square_ratio=1.6, dispersion=3.0,
                     ratio_spread=0.02, folds=folds)
    # the alternative agrees below a = 0 and predicts 1.45 above it
    with_other = dataclasses.replace(base, alternative=(0.0, (_two_leaves(0, 0.0, 1.05, 1.45),)))
    inside, beyond = np.zeros((400, 1)), np.r_[np.zeros(300), np.ones(100)][:, None]
    before = estimate_regression(inside, [base])
    assert estimate_regression(inside, [with_other]) == pytest.approx(before)  # they agree
    after = estimate_regression(beyond, [with_other])
    assert after["est.mae"] == before["est.mae"] and after["est.rmse"] == before["est.rmse"]
    other = np.r_[np.full(300, 1.05), np.full(100, 1.45)]
    var_mae = ((before["est.mae.upper"] - before["est.mae"]) / Z95) ** 2 + (
        1.05 - other.mean()) ** 2
    sd_mse = (before["est.rmse.upper"] - before["est.rmse"]) / Z95 * 2 * before["est.rmse"]
    var_mse = sd_mse**2 + (1.6 * (1.05**2 - np.mean(other**2))) ** 2
    assert after["est.mae.upper"] - after["est.mae"] == pytest.approx(Z95 * np.sqrt(var_mae))
    assert after["est.rmse.upper"] - after["est.rmse"] == pytest.approx(
        Z95 * np.sqrt(var_mse) / (2 * after["est.rmse"]))
    assert after["est.mae.upper"] - after["est.mae"] > 1.1 * (
        before["est.mae.upper"] - before["est.mae"])  # wider where they disagree
    again = LossModel.from_dict(json.loads(json.dumps(with_other.to_dict())))
    assert again == with_other and again.format_version == 4 and base.format_version == 3
    assert "alternative" not in base.to_dict()  # written as before without one


def test_alternative_trees_are_looked_up_by_pairs_exactly_as_sklearn_walks_them() -> None:
    rng = np.random.default_rng(9)
    x = _mixed(8000, rng)
    y = np.abs(x[:, 2]) * (1 + np.nan_to_num(x[:, 1])) + rng.random(8000) * (1 + x[:, 3])
    categorical = np.array([False, True, False, True])
    fitted = regressor(ALTERNATIVE, categorical).fit(x, y)
    model = export(fitted, ["a", "b", "c", "d"], CATEGORIES)
    assert max(len(t[0]) for t in model.trees) == 5  # three leaves: two inputs at most
    alternative = LossModel(model.columns, 0.0, (), link="log", categories=CATEGORIES,
                            alternative=(model.baseline, model.trees))
    probe = _mixed(3000, rng)
    probe[::5, 3] = np.nan
    probe[::7, 2] = np.nan
    probe[::17, 0] = np.inf
    probe[::19, 2] = -np.inf
    for f in (0, 2):  # values on the trees' split points: x <= threshold goes left
        splits = [v for t in model.trees for g, v in zip(t[0], t[1], strict=True) if g == f]
        probe[::3, f] = rng.choice(splits, len(probe[::3]))
    looked_up = alternative.predict_alternative(probe)
    assert alternative.alternative is not None
    walked = np.exp(walk_numpy(*alternative.alternative, alternative.categorical, probe))
    assert looked_up is not None
    np.testing.assert_allclose(looked_up, walked, rtol=1e-12)  # the tables: the trees' sum
    np.testing.assert_allclose(looked_up, fitted.predict(probe), rtol=1e-5)  # leaves: 7 digits
    assert LossModel(("a",), 0.0, ()).predict_alternative(probe[:, :1]) is None


def test_square_ratio_dispersion_and_folds_of_normal_errors() -> None:
    # normal errors of any scale: E e^2 = pi/2 (E|e|)^2, Var e^2 = 2 (E e^2)^2
    rng = np.random.default_rng(5)
    x = rng.normal(size=(6000, 2))
    error = rng.normal(0, 0.5 + np.abs(x[:, 0]))
    (model,) = fit_loss_models(x, error, ["a", "b"])
    assert model.square_ratio == pytest.approx(np.pi / 2, abs=0.08)
    assert model.dispersion == pytest.approx(2.0, abs=0.4)
    assert 0 < model.ratio_spread < 0.05  # the same shape everywhere: c barely moves
    assert len(model.folds) == JACKKNIFE and 0 < len(model.trees) <= MAX_ITER
    assert model.link == "log" and model.ceiling == pytest.approx(np.abs(error).max())
    # the alternative: scikit-learn's trees of three leaves on every row, exported as they are
    assert model.alternative is not None and len(model.alternative[1]) == ALTERNATIVE.iterations
    sklearn = regressor(ALTERNATIVE, np.zeros(2, dtype=bool)).fit(x, np.abs(error))
    probe = rng.normal(size=(500, 2))
    np.testing.assert_allclose(model.predict_alternative(probe), sklearn.predict(probe),
                               rtol=1e-5)
    assert fit_loss_models(x, np.zeros(6000), ["a", "b"]) == ()  # nothing to learn


def test_capacity_is_one_of_the_grid_and_tilts_are_weights() -> None:
    rng = np.random.default_rng(6)
    x = _mixed(3000, rng)
    weights = tilts(x, np.array([False, True, False, True]), seed=1, count=20)
    assert weights.shape == (20, 3000) and np.allclose(weights.sum(axis=1), 1)
    assert np.all(weights >= 0) and weights.max(axis=1).min() > 1 / 3000  # shifted, not flat
    loss = np.abs(x[:, 2]) + rng.random(3000)
    capacity, oof = choose_capacity(x, loss, np.array([False, True, False, True]))
    assert (capacity.leaves, capacity.learning_rate) in GRID
    assert 1 <= capacity.iterations <= MAX_ITER and oof.shape == loss.shape
    assert np.corrcoef(oof, loss)[0, 1] > 0.5  # out of fold, the model tracks the loss


def test_fits_of_few_rows_run_one_after_another_and_many_side_by_side() -> None:
    import threading

    def job(k: int) -> tuple[int, int]:
        return k, threading.get_ident()

    jobs = [functools.partial(job, k) for k in range(6)]
    serial = run_fits(jobs, rows=PARALLEL_ROWS - 1)
    assert serial == [(k, threading.get_ident()) for k in range(6)]  # in order, here
    side_by_side = run_fits(jobs, rows=PARALLEL_ROWS)
    assert [k for k, _ in side_by_side] == list(range(6))
    assert threading.get_ident() not in {ident for _, ident in side_by_side}


def test_a_fit_runs_on_one_openmp_thread_though_scikit_learn_loads_after_the_caller() -> None:
    """The fits import scikit-learn's estimators themselves: its OpenMP library was not yet
    loaded when the thread limit looked for libraries, so the limit held nothing, and a small
    fit's OpenMP threads mostly waited for each other (a capacity search: 22 s, 10 s limited)."""
    code = ("from mlflow_decay.stats.loss_fit import run_fits\n"
            "def job():\n"
            "    from sklearn.utils._openmp_helpers import _openmp_effective_n_threads\n"
            "    return _openmp_effective_n_threads()\n"
            "print(run_fits([job], rows=10))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env={**os.environ, "OMP_NUM_THREADS": "4"})
    assert out.stdout.strip() == "[1]", out

def _shifted_frame(n: int, rng: np.random.Generator, shift: float) -> pd.DataFrame:
    x1 = rng.normal(shift, 1, n)
    fuel = rng.choice(["gas", "diesel", "electric"], n, p=[0.5 - shift / 4, 0.3 + shift / 4, 0.2])
    doors = rng.choice([2, 3, 4, 5], n, p=[0.1, 0.2, 0.4 - shift / 5, 0.3 + shift / 5])
    scale = (0.3 + 0.4 * np.abs(x1)) * np.where(fuel == "diesel", 2.0, 1.0) * (1 + 0.2 * doors)
    yhat = 2 * x1
    return pd.DataFrame({"x1": x1, "fuel": fuel, "doors": doors, "yhat": yhat,
                         "y": yhat + rng.normal(0, 1, n) * scale})


def test_regression_estimates_and_bands_under_covariate_shift() -> None:
    rng = np.random.default_rng(7)
    profile = md.build_profile(_shifted_frame(8000, rng, 0.0), target="y", prediction="yhat",
                               task="regression", band_chunks=0)
    (absolute,) = profile.loss_models
    assert set(absolute.columns) == {"x1", "fuel", "doors", "yhat"}
    assert set(absolute.categories) == {"fuel"}  # doors (integer categories) read as numbers
    assert md.Profile.from_json(profile.to_json()) == profile
    assert json.loads(profile.to_json())["format_version"] == 4  # with the alternative
    # the same profile as version 3 wrote it (no alternative): read and estimated as then
    old = dataclasses.replace(profile, loss_models=(
        dataclasses.replace(absolute, alternative=None),))
    assert json.loads(old.to_json())["format_version"] == 3
    assert b"alternative" not in old.to_json() and md.Profile.from_json(old.to_json()) == old
    covered, errors, widened = {"mae": 0, "rmse": 0}, [], 0
    shifts = np.linspace(0.0, 0.8, 30)
    for shift in shifts:
        window = _shifted_frame(1500, rng, shift)
        metrics = evaluate_window(profile, window).metrics
        before = evaluate_window(old, window).metrics
        expected = estimate_regression(loss_inputs(window, old.loss_models), old.loss_models)
        assert {k: before[k] for k in expected} == expected
        for name in covered:
            est, real = metrics[f"est.{name}"], metrics[f"perf.{name}"]
            assert before[f"est.{name}"] == est  # the alternative moves only the band
            half, half_before = (m[f"est.{name}.upper"] - est for m in (metrics, before))
            assert half >= half_before
            widened += half > 1.01 * half_before
            errors.append(abs(est / real - 1))
            covered[name] += metrics[f"est.{name}.lower"] <= real <= metrics[f"est.{name}.upper"]
    assert np.mean(errors) < 0.04
    assert min(covered.values()) >= 0.85 * len(shifts)
    assert widened > 0
