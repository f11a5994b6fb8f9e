"""Privacy of stored profiles, fuzzed loaders, and properties of the statistics (hypothesis)."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mlflow_decay as md
from mlflow_decay.core import drift
from mlflow_decay.core.evaluation import evaluate_window
from mlflow_decay.core.policy import Policy
from mlflow_decay.core.policy_file import load_policy
from mlflow_decay.core.profile import CategoricalSummary, NumericSummary, Profile
from mlflow_decay.core.summarize import merge_summaries, summarize_categorical, summarize_numeric
from mlflow_decay.core.window import numeric_stats
from mlflow_decay.errors import PolicyError, ProfileError

FUZZ = settings(max_examples=150, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


# -- privacy -----------------------------------------------------------------------------------
def test_rare_categories_are_folded_into_other_and_never_stored() -> None:
    rng = np.random.default_rng(0)
    city = np.array(["paris"] * 1000 + ["lyon"] * 5 + ["smallville-4711"] * 3, dtype=object)
    frame = pd.DataFrame({"city": rng.permutation(city), "x": rng.normal(size=len(city))})
    profile = md.build_profile(frame, band_chunks=0)
    summary = profile.features["city"]
    assert isinstance(summary, CategoricalSummary)
    assert summary.categories == ("paris", "lyon") and summary.other == 3
    assert b"smallville" not in profile.to_json()
    keep_all = md.build_profile(frame, band_chunks=0, min_category_count=1)
    assert "smallville-4711" in keep_all.features["city"].categories  # type: ignore[union-attr]
    # a window with the folded value counts it outside the profile's categories
    window = pd.DataFrame({"city": ["smallville-4711"] * 10 + ["paris"] * 990,
                           "x": rng.normal(size=1000)})
    metrics = evaluate_window(profile, window).metrics
    assert metrics["drift.city.unseen_share"] == pytest.approx(0.01)
    with pytest.raises(md.DataError, match="min_category_count"):
        md.build_profile(frame, min_category_count=0)


def test_streamed_profiles_fold_after_merging(tmp_path: Path) -> None:
    # rare in every file but frequent overall: kept; rare overall: folded
    directory = tmp_path / "ref"
    directory.mkdir()
    for i in range(4):
        pd.DataFrame({"c": ["a"] * 50 + ["b"] * 2 + (["z"] if i == 0 else []),
                      "x": np.arange(52 + (i == 0), dtype=float)}).to_parquet(
            directory / f"{i}.parquet")
    summary = md.build_profile(directory, band_chunks=0).features["c"]
    assert isinstance(summary, CategoricalSummary)
    assert summary.categories == ("a", "b") and summary.counts == (200, 8) and summary.other == 1


# -- fuzzed loaders ----------------------------------------------------------------------------
_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                 max_size=4),
    max_leaves=20)


def _valid_profile() -> dict[str, object]:
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"x": rng.normal(size=300), "c": rng.choice(["u", "v"], 300),
                          "y": rng.integers(0, 2, 300), "p": rng.random(300)})
    return json.loads(md.build_profile(frame, target="y", prediction="p", band_chunks=0).to_json())


VALID = _valid_profile()


@FUZZ
@given(st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_profile_loader_takes_any_bytes(data: bytes) -> None:
    with contextlib.suppress(ProfileError):
        assert isinstance(Profile.from_json(data), Profile)


@FUZZ
@given(st.sampled_from(sorted(VALID)), _json)
def test_profile_loader_takes_any_value_in_any_field(key: str, value: object) -> None:
    with contextlib.suppress(ProfileError):
        assert isinstance(Profile.from_dict({**VALID, key: value}), Profile)


@FUZZ
@given(st.sampled_from(sorted(VALID["features"]["x"])), _json)  # type: ignore[index]
def test_profile_loader_takes_any_value_in_a_summary(key: str, value: object) -> None:
    features = {"x": {**VALID["features"]["x"], key: value}}  # type: ignore[index,dict-item]
    with contextlib.suppress(ProfileError):
        assert isinstance(Profile.from_dict({**VALID, "features": features}), Profile)


_toml_value = st.one_of(st.integers(-5, 5), st.floats(-2, 2, allow_nan=False), st.booleans(),
                        st.sampled_from(['"above"', '"below"', '"x"', '"drift.share"', "[]", "{}"]))
_toml_key = st.sampled_from(["warn", "degrade", "direction", "warn_k", "degrade_k", "metric",
                             "threshold", "hysteresis", "x", "alias", "windows"])


@FUZZ
@given(st.lists(st.tuples(
    st.sampled_from(["thresholds", "drift", "actions", "promote", "business", "hysteresis",
                     "nonsense"]),
    st.sampled_from(['"drift.share"', '"perf.roc_auc.delta"', "numerical", "categorical",
                     "degrade_after", "remove_aliases", "columns", '"bogus.metric"']),
    st.one_of(_toml_value, st.dictionaries(_toml_key, _toml_value, max_size=3).map(
        lambda d: "{ " + ", ".join(f"{k} = {str(v).lower() if isinstance(v, bool) else v}"
                                   for k, v in d.items()) + " }"))), max_size=5))
def test_policy_loader_takes_any_toml(tmp_path_factory: pytest.TempPathFactory,
                                      entries: list[tuple[str, str, object]]) -> None:
    text = "".join(f"[{section}]\n{key} = {str(v).lower() if isinstance(v, bool) else v}\n"
                   for section, key, v in entries)
    path = tmp_path_factory.mktemp("policy") / "p.toml"
    path.write_text(text)
    with contextlib.suppress(PolicyError):
        assert isinstance(load_policy(path), Policy)


@FUZZ
@given(st.binary(max_size=200))
def test_policy_loader_takes_any_bytes(tmp_path_factory: pytest.TempPathFactory,
                                       data: bytes) -> None:
    path = tmp_path_factory.mktemp("policy") / "p.toml"
    path.write_bytes(data)
    with contextlib.suppress(PolicyError):
        assert isinstance(load_policy(path), Policy)


# -- properties of the statistics ---------------------------------------------------------------
_samples = st.lists(st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False),
                    min_size=20, max_size=400)


@settings(max_examples=80, deadline=None)
@given(_samples)
def test_a_sample_against_its_own_profile_shows_no_drift(values: list[float]) -> None:
    x = np.asarray(values)
    summary = summarize_numeric(x)
    result = drift.numeric_drift(summary, numeric_stats(summary, x))
    assert result["psi"] == pytest.approx(0.0, abs=1e-9)
    assert result["js"] == pytest.approx(0.0, abs=1e-6)
    tolerance = 0.002 + 2 / len(x)  # the sketch's CDF error
    assert result["ks"] <= tolerance
    # ∫|F_sketch - F| dx is at most the CDF error times the range (per reference std)
    assert result["wasserstein"] <= tolerance * np.ptp(x) / (x.std() or 1.0)


@settings(max_examples=80, deadline=None)
@given(_samples, _samples)
def test_psi_and_js_are_non_negative_and_js_is_at_most_one(a: list[float], b: list[float]) -> None:
    summary = summarize_numeric(np.asarray(a))
    result = drift.numeric_drift(summary, numeric_stats(summary, np.asarray(b)))
    assert result["psi"] >= 0 and 0 <= result["js"] <= 1 + 1e-12
    assert 0 <= result["ks"] <= 1 and result["wasserstein"] >= 0


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(list("abcdefg")), min_size=1, max_size=60),
       st.lists(st.sampled_from(list("abcdefgh")), min_size=1, max_size=60),
       st.lists(st.sampled_from(list("abcxyz")), min_size=1, max_size=60))
def test_categorical_merge_is_associative_and_order_free(a: list[str], b: list[str],
                                                          c: list[str]) -> None:
    sa, sb, sc = (summarize_categorical(pd.Series(v)) for v in (a, b, c))
    whole = summarize_categorical(pd.Series(a + b + c))
    left = merge_summaries(merge_summaries(sa, sb), sc)
    right = merge_summaries(sa, merge_summaries(sb, sc))
    swapped = merge_summaries(merge_summaries(sc, sa), sb)
    for merged in (left, right, swapped):
        assert merged == whole


@settings(max_examples=40, deadline=None)
@given(_samples, _samples, _samples)
def test_numeric_merge_is_associative_and_order_free(a: list[float], b: list[float],
                                                     c: list[float]) -> None:
    sa, sb, sc = (summarize_numeric(np.asarray(v)) for v in (a, b, c))
    whole = np.asarray(a + b + c)
    merged = [merge_summaries(merge_summaries(sa, sb), sc),
              merge_summaries(sa, merge_summaries(sb, sc)),
              merge_summaries(merge_summaries(sc, sa), sb)]
    grid = np.quantile(whole, np.linspace(0, 1, 101))
    for m in merged:
        assert isinstance(m, NumericSummary)
        assert (m.count, m.min, m.max) == (len(whole), whole.min(), whole.max())
        assert m.mean == pytest.approx(whole.mean(), rel=1e-9, abs=1e-6)
        # counts agree exactly; the quantile sketches agree within their tolerance (which
        # includes two rows' worth per sketch, 2 / n, so small samples allow more)
        assert np.max(np.abs(m.cdf(grid) - merged[0].cdf(grid))) <= 0.002 + 8 / len(whole)
