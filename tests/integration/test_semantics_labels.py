"""Issue 11, items 4-8: labels and classes matched by value, the decision threshold, realized
beats estimated when labels cover a window, and missing model outputs as a quality metric."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import frame_profile, make_frame, reference_profile, registry_snapshot
from sklearn import metrics as skm

import mlflow_decay as md
from mlflow_decay import registry
from mlflow_decay.cli import main
from mlflow_decay.core.evaluation import evaluate_window
from mlflow_decay.core.policy_file import DEFAULT_POLICY, load_policy
from mlflow_decay.core.profile import Profile


@pytest.fixture(scope="module")
def profile() -> Profile:
    return reference_profile()


# -- item 4: label encodings are reconciled by value ----------------------------------------
ENCODINGS: dict[str, Callable[[pd.Series], pd.Series]] = {
    "bool": lambda y: y.astype(bool),
    "float": lambda y: y.astype(float),
    "text 1.0/0.0": lambda y: y.map({1: "1.0", 0: "0.0"}),
    "text true/false": lambda y: y.map({1: "true", 0: "false"}),
    "text 1/0": lambda y: y.astype(str),
}


@pytest.mark.parametrize("encode", list(ENCODINGS.values()), ids=list(ENCODINGS))
def test_window_labels_match_the_profile_classes_by_value(profile: Profile,
                                                          encode: Callable[[pd.Series], pd.Series]
                                                          ) -> None:
    window = make_frame(3000, 7)
    hard = (window.score >= 0.5).astype(int)
    result = evaluate_window(profile, window.assign(label=encode(window.label)))
    m = result.metrics
    assert m["perf.roc_auc"] == pytest.approx(skm.roc_auc_score(window.label, window.score))
    assert m["perf.accuracy"] == pytest.approx(skm.accuracy_score(window.label, hard))
    assert m["perf.recall"] == pytest.approx(skm.recall_score(window.label, hard))
    # the labels are counted as the profile's classes: no label drift from the encoding
    assert m["drift.target.js"] == pytest.approx(
        evaluate_window(profile, window).metrics["drift.target.js"])
    assert DEFAULT_POLICY.decide(m, profile.bands, result.rows)[0] == "healthy"


def test_a_profile_of_boolean_labels_reads_windows_of_zeros_and_ones() -> None:
    reference = make_frame(4000, 1)
    by_bool = md.build_profile(reference.assign(label=reference.label.astype(bool)),
                               target="label", prediction="score", band_chunks=0)
    assert by_bool.classes == ("False", "True") and by_bool.positive_label == "True"
    window = make_frame(2000, 3)
    metrics = evaluate_window(by_bool, window).metrics
    assert metrics["perf.roc_auc"] == pytest.approx(skm.roc_auc_score(window.label, window.score))
    assert metrics["perf.f1"] == pytest.approx(skm.f1_score(window.label, window.score >= 0.5))


@pytest.mark.parametrize(("labels", "seen"), [
    (lambda y: y.map({1: "yes", 0: "no"}), "no, yes"),
    (lambda y: y + 1, "1, 2; the profile's classes are 0, 1; not a class: 2 (rows)"),
])
def test_labels_that_are_not_the_profile_classes_are_refused(
        tracking_uri: str, profiled: str, labels: Callable[[pd.Series], pd.Series],
        seen: str) -> None:
    window = make_frame(1000, 7)
    before = registry_snapshot(tracking_uri)
    with pytest.raises(md.DataError) as caught:
        md.evaluate(profiled, window.assign(label=labels(window.label)), tracking_uri=tracking_uri)
    rows = f"{(labels(window.label) == 2).sum():,} rows"
    assert str(caught.value) == (f"labels in column 'label' are {seen.replace('rows', rows)}"
                                 if "not a class" in seen else
                                 f"labels in column 'label' are {seen}; the profile's classes "
                                 "are 0, 1")
    assert registry_snapshot(tracking_uri) == before


def test_late_labels_match_by_value(tracking_uri: str, new_version: Callable[..., str],
                                    tmp_path: Path) -> None:
    uri = new_version()
    reference = make_frame(4000, 1).assign(id=lambda f: [f"r{i}" for i in range(len(f))])
    md.attach_profile(uri, md.build_profile(reference, target="label", prediction="score",
                                            id_column="id", band_chunks=0),
                      tracking_uri=tracking_uri)
    window = make_frame(2000, 4).assign(id=lambda f: [f"w{i}" for i in range(len(f))])
    report = md.evaluate(uri, window.drop(columns="label"), tracking_uri=tracking_uri)
    # labels arriving as booleans from another system
    bad = window[["id"]].assign(label=np.where(window.label == 1, "yes", "no"))
    before = registry_snapshot(tracking_uri)
    with pytest.raises(md.DataError, match="labels in column 'label' are no, yes; the profile's "
                                           "classes are 0, 1"):
        md.attach_labels(uri, bad, tracking_uri=tracking_uri)
    assert registry_snapshot(tracking_uri) == before
    updated = md.attach_labels(uri, window[["id"]].assign(label=window.label.astype(bool)),
                               tracking_uri=tracking_uri)
    assert [w.run_id for w in updated] == [report.run_id]
    assert updated[0].metrics["perf.roc_auc"] == pytest.approx(
        skm.roc_auc_score(window.label, window.score))
    assert updated[0].metrics["perf.accuracy"] == pytest.approx(
        skm.accuracy_score(window.label, window.score >= 0.5))


def test_compare_reads_text_labels_by_value(tracking_uri: str, new_version: Callable[..., str]
                                            ) -> None:
    champion, challenger = new_version(), new_version()
    for uri in (champion, challenger):
        md.attach_profile(uri, frame_profile(4000, 1, target="label", prediction="score",
                                             band_chunks=0), tracking_uri=tracking_uri)
    rng = np.random.default_rng(0)
    window = make_frame(2000, 5).assign(
        other=lambda f: np.clip(f.score + rng.normal(0, 0.2, len(f)), 0, 1))
    text = window.assign(label=window.label.map({1: "1.0", 0: "0.0"}))
    result = md.compare(text, [champion, challenger], predictions=["score", "other"],
                        log=False, tracking_uri=tracking_uri)
    assert result.delong is not None
    assert result.delong.auc == (pytest.approx(skm.roc_auc_score(window.label, window.score)),
                                 pytest.approx(skm.roc_auc_score(window.label, window.other)))


# -- item 5: multiclass columns and classes --------------------------------------------------
def _animals(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 1.5, n)
    logits = np.column_stack([x, -x, 0.3 * np.ones(n)])  # cat, dog, bird
    proba = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    y = np.array(["cat", "dog", "bird"])[(rng.random(n)[:, None] > np.cumsum(proba, 1)).sum(1)]
    # the columns are not in sorted label order (bird, cat, dog)
    return pd.DataFrame({"x": x, "p_cat": proba[:, 0], "p_dog": proba[:, 1],
                         "p_bird": proba[:, 2], "y": y})


COLUMNS = ["p_cat", "p_dog", "p_bird"]


def _sklearn_auc(frame: pd.DataFrame) -> float:
    return float(skm.roc_auc_score(frame.y, frame[["p_bird", "p_cat", "p_dog"]],
                                   multi_class="ovr", labels=["bird", "cat", "dog"]))


@pytest.mark.parametrize("classes", [None, ["cat", "dog", "bird"]], ids=["from names", "given"])
def test_multiclass_columns_map_to_their_classes(classes: list[str] | None) -> None:
    reference = _animals(6000, 0)
    profile = md.build_profile(reference, target="y", prediction=COLUMNS, task="multiclass",
                               classes=classes, band_chunks=0)
    assert profile.classes == ("cat", "dog", "bird")
    assert profile.performance["roc_auc_ovr"] == pytest.approx(_sklearn_auc(reference))
    assert profile.performance["roc_auc_ovr"] > 0.75
    window = _animals(3000, 1)
    metrics = evaluate_window(profile, window).metrics
    assert metrics["perf.roc_auc_ovr"] == pytest.approx(_sklearn_auc(window))
    predicted = np.array(["cat", "dog", "bird"])[window[COLUMNS].to_numpy().argmax(1)]
    assert metrics["perf.accuracy"] == pytest.approx(skm.accuracy_score(window.y, predicted))
    assert metrics["est.roc_auc_ovr"] == pytest.approx(metrics["perf.roc_auc_ovr"], abs=0.02)
    assert metrics["est.accuracy"] == pytest.approx(metrics["perf.accuracy"], abs=0.02)


def test_classes_given_by_value_keep_the_labels_spelling() -> None:
    frame = _animals(3000, 2)
    codes = frame.assign(y=frame.y.map({"cat": 0, "dog": 1, "bird": 2}))
    profile = md.build_profile(codes.rename(columns={"p_cat": "a", "p_dog": "b", "p_bird": "c"}),
                               target="y", prediction=["a", "b", "c"], task="multiclass",
                               classes=[0.0, 1, "2"], band_chunks=0)
    assert profile.classes == ("0", "1", "2")


@pytest.mark.parametrize(("columns", "labels", "message"), [
    (["proba_a", "proba_b", "proba_c"], ["x", "y", "z"], "cannot tell each prediction column's "
     "class from its name (columns proba_a, proba_b, proba_c; labels of 'y': x, y, z)"),
    (["p1", "p11", "p2"], ["1", "11", "2"], "cannot tell each prediction column's class"),
    (["p_a", "p_b"], ["a", "b", "c"], "2 prediction columns for 3 classes"),
])
def test_multiclass_columns_that_name_no_single_class_are_refused(
        columns: list[str], labels: list[str], message: str) -> None:
    rng = np.random.default_rng(0)
    proba = rng.dirichlet(np.ones(len(columns)), 600)
    frame = pd.DataFrame(proba, columns=columns).assign(
        x=rng.normal(size=600), y=rng.choice(labels, 600))
    with pytest.raises(md.DataError, match=message.replace("(", r"\(").replace(")", r"\)")):
        md.build_profile(frame, target="y", prediction=columns, task="multiclass", band_chunks=0)


def test_a_label_that_ends_another_is_read_after_its_separator() -> None:
    rng = np.random.default_rng(0)
    columns = ["p_11", "p_1", "p_2"]
    proba = rng.dirichlet(np.ones(3), 900)
    frame = pd.DataFrame(proba, columns=columns).assign(
        x=rng.normal(size=900), y=rng.choice([1, 2, 11], 900))
    profile = md.build_profile(frame, target="y", prediction=columns, task="multiclass",
                               band_chunks=0)
    assert profile.classes == ("11", "1", "2")


def test_cli_profile_takes_classes(tracking_uri: str, new_version: Callable[..., str],
                                   tmp_path: Path) -> None:
    uri = new_version()
    reference = _animals(3000, 0).rename(columns={"p_cat": "s0", "p_dog": "s1", "p_bird": "s2"})
    reference.to_csv(tmp_path / "ref.csv", index=False)
    result = CliRunner().invoke(main, [
        "profile", uri, "--data", str(tmp_path / "ref.csv"), "--target", "y", "--task",
        "multiclass", "--prediction", "s0,s1,s2", "--classes", "cat,dog,bird",
        "--band-chunks", "0", "--tracking-uri", tracking_uri, "--json"])
    assert result.exit_code == 0, result.output
    stored = md.load_profile(uri, tracking_uri=tracking_uri)
    assert stored.classes == ("cat", "dog", "bird")
    assert json.loads(result.stdout)["performance"]["roc_auc_ovr"] == pytest.approx(
        _sklearn_auc(_animals(3000, 0)))


# -- item 6: the decision threshold ------------------------------------------------------------
def test_threshold_is_stored_and_used_by_realized_and_estimated_metrics() -> None:
    reference = make_frame(6000, 1)
    profile = md.build_profile(reference, target="label", prediction="score", threshold=0.3,
                               band_chunks=0)
    assert Profile.from_json(profile.to_json()).threshold == 0.3
    hard = reference.score >= 0.3
    for name, func in (("accuracy", skm.accuracy_score), ("precision", skm.precision_score),
                       ("recall", skm.recall_score), ("f1", skm.f1_score)):
        assert profile.performance[name] == pytest.approx(func(reference.label, hard))
    window = make_frame(4000, 2)
    metrics = evaluate_window(profile, window).metrics
    assert metrics["perf.recall"] == pytest.approx(
        skm.recall_score(window.label, window.score >= 0.3))
    # the estimate counts the same decisions: expected recall = sum p over hard / sum p
    expected = window.score[window.score >= 0.3].sum() / window.score.sum()
    assert metrics["est.recall"] == pytest.approx(expected, abs=0.01)
    assert metrics["est.recall"] == pytest.approx(metrics["perf.recall"], abs=0.03)


def test_profiles_without_a_threshold_load_with_one_half(profile: Profile) -> None:
    data = profile.to_dict()
    assert "threshold" not in data and "prediction_kind" not in data  # old bytes, old hash
    loaded = Profile.from_dict(data)
    assert (loaded.threshold, loaded.prediction_kind, loaded.predicted_label) == (
        0.5, "probability", None)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"threshold": 1.5}, "threshold must be a number between 0 and 1"),
    ({"threshold": 0.3, "task": "regression"}, "threshold applies to binary tasks"),
    ({"prediction_kind": "odds"}, "prediction_kind must be one of probability, logit"),
    ({"prediction_kind": "logit", "task": "regression"}, "prediction_kind applies to classifiers"),
    ({"classes": ["0", "1"]}, r"classes applies to multiclass tasks, not binary \(give "
     r"positive_label\)"),
    # kept silently, and read by nothing
    ({"positive_label": "1", "task": "regression"},
     "positive_label applies to binary tasks, not regression"),
    ({"positive_label": "1", "task": "multiclass"},
     r"positive_label applies to binary tasks, not multiclass \(give classes\)"),
])
def test_bad_threshold_or_kind_is_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(md.DataError, match=message):
        md.build_profile(make_frame(500, 1), target="label", prediction="score", band_chunks=0,
                         **kwargs)  # type: ignore[arg-type]


def test_a_window_decision_column_wins(tracking_uri: str, profiled: str, tmp_path: Path) -> None:
    window = make_frame(3000, 4)
    rng = np.random.default_rng(3)
    decided = np.where(rng.random(len(window)) < 0.8, window.score >= 0.5,
                       rng.random(len(window)) < 0.5).astype(int)
    window["decision"] = decided
    report = md.evaluate(profiled, window, log=False, predicted_label="decision",
                         tracking_uri=tracking_uri)
    for name, func in (("accuracy", skm.accuracy_score), ("precision", skm.precision_score),
                       ("recall", skm.recall_score), ("f1", skm.f1_score)):
        assert report.metrics[f"perf.{name}"] == pytest.approx(func(window.label, decided))
    assert report.metrics["perf.roc_auc"] == pytest.approx(
        skm.roc_auc_score(window.label, window.score))
    assert "decision" not in report.extra_columns
    window.to_csv(tmp_path / "w.csv", index=False)
    out = CliRunner().invoke(main, ["evaluate", profiled, "--data", str(tmp_path / "w.csv"),
                                    "--predicted-label", "decision", "--no-log", "--json",
                                    "--tracking-uri", tracking_uri])
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["metrics"]["perf.accuracy"] == pytest.approx(
        skm.accuracy_score(window.label, decided))
    missing = CliRunner().invoke(main, ["evaluate", profiled, "--data", str(tmp_path / "w.csv"),
                                        "--predicted-label", "nope", "--tracking-uri",
                                        tracking_uri])
    assert missing.exit_code == 1
    assert "decision column 'nope' is missing from the window" in missing.stderr


def test_a_monitors_windows_read_their_decision_column(tracking_uri: str, profiled: str,
                                                       tmp_path: Path) -> None:
    """``monitor`` takes the window's decisions as ``evaluate`` does, in memory, streamed
    from Parquet and from the command line: each window's realized accuracy is its own."""
    table = make_frame(3000, 4)
    rng = np.random.default_rng(3)
    table["decision"] = np.where(rng.random(len(table)) < 0.8, table.score >= 0.5,
                                 rng.random(len(table)) < 0.5).astype(int)
    table["ts"] = pd.Timestamp("2026-03-01", tz="UTC") + pd.to_timedelta(
        np.arange(len(table)) * 60, unit="s")  # 50 hours: three days
    table.to_parquet(tmp_path / "w.parquet")
    days = [table[table.ts.dt.day == d] for d in (1, 2, 3)]
    for data in (table, tmp_path / "w.parquet"):
        reports = md.monitor(profiled, data, timestamp_column="ts", every="1D", log=False,
                             predicted_label="decision", tracking_uri=tracking_uri)
        assert [r.rows for r in reports] == [len(d) for d in days]
        for report, day in zip(reports, days, strict=True):
            assert report.metrics["perf.accuracy"] == pytest.approx(
                skm.accuracy_score(day.label, day.decision))
    out = CliRunner().invoke(main, ["monitor", profiled, "--data", str(tmp_path / "w.parquet"),
                                    "--timestamp-column", "ts", "--window", "1D", "--dry-run",
                                    "--predicted-label", "decision", "--json",
                                    "--tracking-uri", tracking_uri])
    assert out.exit_code == 0, out.output
    assert [w["metrics"]["perf.accuracy"] for w in json.loads(out.stdout)] == pytest.approx(
        [skm.accuracy_score(d.label, d.decision) for d in days])
    missing = CliRunner().invoke(main, ["monitor", profiled, "--data", str(tmp_path / "w.parquet"),
                                        "--chunk-size", "1000", "--predicted-label", "nope",
                                        "--tracking-uri", tracking_uri])
    assert missing.exit_code == 1
    assert "decision column 'nope' is missing from the window" in missing.stderr


def test_cli_profile_stores_the_threshold(tracking_uri: str, new_version: Callable[..., str],
                                          tmp_path: Path) -> None:
    uri = new_version()
    reference = make_frame(3000, 1)
    reference.to_csv(tmp_path / "ref.csv", index=False)
    result = CliRunner().invoke(main, [
        "profile", uri, "--data", str(tmp_path / "ref.csv"), "--target", "label",
        "--prediction", "score", "--threshold", "0.7", "--band-chunks", "0",
        "--tracking-uri", tracking_uri])
    assert result.exit_code == 0, result.output
    stored = md.load_profile(uri, tracking_uri=tracking_uri)
    assert stored.threshold == 0.7
    assert stored.performance["accuracy"] == pytest.approx(
        skm.accuracy_score(reference.label, reference.score >= 0.7))


# -- item 7: realized beats estimated when labels cover the window -------------------------
POLICY = ('inherit = false\n[thresholds]\n"perf.roc_auc.delta" = { warn = -0.02, degrade = -0.05 }\n'
          '"est.roc_auc.delta" = { warn = -0.02, degrade = -0.05 }\n')


def _squashed(seed: int) -> pd.DataFrame:
    """Scores pulled towards 0.5: the ranking (realized AUC) is unchanged, but calibrated by
    the reference the scores look uninformative (estimated AUC falls)."""
    window = make_frame(3000, seed)
    return window.assign(score=0.5 + 0.15 * (window.score - 0.5))


def test_a_labelled_window_is_judged_by_its_labels(tracking_uri: str, profiled: str,
                                                   tmp_path: Path) -> None:
    policy = tmp_path / "p.toml"
    policy.write_text(POLICY)
    window = _squashed(11)
    report = md.evaluate(profiled, window, policy=policy, tracking_uri=tracking_uri)
    assert report.metrics["est.roc_auc.delta"] < -0.05  # the estimate alone would degrade
    assert report.metrics["perf.roc_auc.delta"] > -0.02
    assert report.metrics["labels.coverage"] == 1.0
    assert report.window_status == "healthy" and report.reasons == []
    assert "est.* not applied: labels cover 100% of rows >= 80%" in report.notes
    logged = registry.client_for(tracking_uri).get_run(report.run_id).data.metrics
    assert logged["labels.coverage"] == 1.0
    # few labels: the estimate decides
    sparse = _squashed(12)
    sparse.loc[sparse.index[: 2400], "label"] = np.nan
    partly = md.evaluate(profiled, sparse, policy=policy, log=False, tracking_uri=tracking_uri)
    assert partly.metrics["labels.coverage"] == pytest.approx(0.2)
    assert partly.window_status == "degraded"
    assert any(r.startswith("est.roc_auc.delta") for r in partly.reasons)


def test_the_label_coverage_setting_is_a_policy_key(tmp_path: Path) -> None:
    metrics = {"est.roc_auc.delta": -0.11, "perf.roc_auc.delta": -0.007, "labels.coverage": 0.9}
    assert DEFAULT_POLICY.min_label_coverage == 0.8
    assert DEFAULT_POLICY.decide(metrics)[0] == "healthy"
    strict = tmp_path / "strict.toml"
    strict.write_text("[labels]\nmin_coverage = 0.95\n")
    assert load_policy(strict).decide(metrics)[0] == "degraded"
    assert load_policy(strict).to_toml().endswith("[labels]\nmin_coverage = 0.95\n")
    for bad in ("0", "1.5", '"most"'):
        strict.write_text(f"[labels]\nmin_coverage = {bad}\n")
        with pytest.raises(md.PolicyError, match=r"\[labels\] min_coverage"):
            load_policy(strict)


# -- item 8: missing model outputs ---------------------------------------------------------------
def test_a_model_that_outputs_only_nan_is_degraded(tracking_uri: str, profiled: str) -> None:
    window = make_frame(2000, 6).assign(score=np.nan)
    report = md.evaluate(profiled, window.drop(columns="label"), log=False,
                         tracking_uri=tracking_uri)
    assert report.metrics["quality.prediction.missing_rate"] == 1.0
    assert report.window_status == "degraded"
    assert any(r.startswith("quality.prediction.missing_rate = 1 >= 0.1 (degraded")
               for r in report.reasons)
    partly = make_frame(2000, 6)
    partly.loc[:9, "score"] = np.nan
    partly.loc[10:19, "score"] = np.inf
    metrics = md.evaluate(profiled, partly, log=False, tracking_uri=tracking_uri).metrics
    assert metrics["quality.prediction.missing_rate"] == pytest.approx(20 / 2000)


def test_multiclass_rows_with_any_missing_probability_count() -> None:
    profile = md.build_profile(_animals(3000, 0), target="y", prediction=COLUMNS,
                               task="multiclass", band_chunks=0)
    window = _animals(1000, 1)
    window.loc[:49, "p_dog"] = np.nan
    window.loc[40:59, "p_bird"] = np.inf
    metrics = evaluate_window(profile, window).metrics
    assert metrics["quality.prediction.missing_rate"] == pytest.approx(60 / 1000)


# -- scores outside [0, 1] -------------------------------------------------------------------
def _logits(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(score=np.log(frame.score / (1 - frame.score)))


def test_logits_are_read_as_probabilities_when_the_profile_says_so(
        tracking_uri: str, new_version: Callable[..., str], tmp_path: Path) -> None:
    uri = new_version()
    reference = make_frame(4000, 1)
    _logits(reference).to_csv(tmp_path / "ref.csv", index=False)
    result = CliRunner().invoke(main, [
        "profile", uri, "--data", str(tmp_path / "ref.csv"), "--target", "label",
        "--prediction", "score", "--prediction-kind", "logit", "--band-chunks", "0",
        "--tracking-uri", tracking_uri])
    assert result.exit_code == 0, result.output
    stored = md.load_profile(uri, tracking_uri=tracking_uri)
    assert stored.prediction_kind == "logit"
    plain = frame_profile(4000, 1, target="label", prediction="score", band_chunks=0)
    assert stored.performance == pytest.approx(plain.performance)
    window = make_frame(2000, 2)
    report = md.evaluate(uri, _logits(window), log=False, tracking_uri=tracking_uri)
    expected = evaluate_window(plain, window).metrics
    for name in ("perf.roc_auc", "perf.accuracy", "perf.brier", "est.roc_auc",
                 "drift.prediction.psi"):
        assert report.metrics[name] == pytest.approx(expected[name])


def test_multiclass_logits_go_through_the_softmax() -> None:
    frame = _animals(3000, 0)
    logits = frame.assign(**{c: np.log(frame[c]) + 3.0 for c in COLUMNS})
    by_logit = md.build_profile(logits, target="y", prediction=COLUMNS, task="multiclass",
                                prediction_kind="logit", band_chunks=0)
    plain = md.build_profile(frame, target="y", prediction=COLUMNS, task="multiclass",
                             band_chunks=0)
    assert by_logit.performance == pytest.approx(plain.performance)
    with pytest.raises(md.DataError, match=r"column 'p_cat': expected probabilities in \[0, 1\], "
                                           "got values from"):
        md.build_profile(logits, target="y", prediction=COLUMNS, task="multiclass",
                         band_chunks=0)


def test_compare_refuses_scores_outside_zero_one(tracking_uri: str,
                                                 new_version: Callable[..., str],
                                                 tmp_path: Path) -> None:
    champion, challenger = new_version(), new_version()
    for uri in (champion, challenger):
        md.attach_profile(uri, frame_profile(2000, 1, target="label", prediction="score",
                                             band_chunks=0), tracking_uri=tracking_uri)
    window = make_frame(1000, 5).assign(other=lambda f: f.score * 100)
    window.to_csv(tmp_path / "w.csv", index=False)
    before = registry_snapshot(tracking_uri)
    result = CliRunner().invoke(main, ["compare", champion, challenger, "--data",
                                       str(tmp_path / "w.csv"), "--predictions", "score,other",
                                       "--tracking-uri", tracking_uri])
    assert result.exit_code == 1 and "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        f"mlflow-decay: error: {challenger}, the challenger: column 'other': expected "
        "probabilities in [0, 1], got values from")
    assert registry_snapshot(tracking_uri) == before


def test_streamed_profiles_and_windows_read_outputs_like_in_memory(tmp_path: Path) -> None:
    reference = _logits(make_frame(4000, 1)).assign(
        decision=lambda f: (f.score >= 0.2).astype(int))
    reference.to_parquet(tmp_path / "ref.parquet")
    options = dict(target="label", prediction="score", prediction_kind="logit", threshold=0.3,
                   predicted_label="decision", band_chunks=0)
    streamed = md.build_profile(tmp_path / "ref.parquet", **options)  # type: ignore[arg-type]
    in_memory = md.build_profile(reference, **options)  # type: ignore[arg-type]
    assert (streamed.threshold, streamed.prediction_kind, streamed.predicted_label) == (
        0.3, "logit", "decision")
    assert streamed.performance == pytest.approx(in_memory.performance)
    assert in_memory.performance["accuracy"] == pytest.approx(
        skm.accuracy_score(reference.label, reference.decision))
    window = _logits(make_frame(3000, 2)).assign(decision=lambda f: (f.score >= 0).astype(int),
                                                 label=lambda f: f.label.astype(bool))
    window.to_parquet(tmp_path / "w.parquet")
    from mlflow_decay.engines.dispatch import evaluate_source

    result, _, _ = evaluate_source(streamed, tmp_path / "w.parquet")
    expected = evaluate_window(in_memory, window).metrics
    for name in ("perf.accuracy", "perf.roc_auc", "est.accuracy", "labels.coverage",
                 "quality.prediction.missing_rate"):
        assert result.metrics[name] == pytest.approx(expected[name])
    assert expected["perf.accuracy"] == pytest.approx(
        skm.accuracy_score(window.label, window.decision))


def test_late_labels_on_a_streamed_window_use_its_stored_decisions(
        tracking_uri: str, new_version: Callable[..., str], tmp_path: Path) -> None:
    uri = new_version()
    reference = make_frame(3000, 1).assign(id=np.arange(3000))
    md.attach_profile(uri, md.build_profile(reference, target="label", prediction="score",
                                            id_column="id", band_chunks=0),
                      tracking_uri=tracking_uri)
    window = make_frame(2000, 6).assign(id=np.arange(10_000, 12_000))
    rng = np.random.default_rng(9)
    decided = (rng.random(len(window)) < 0.5).astype(int)  # decisions unlike the 0.5 threshold
    window.assign(decision=decided).drop(columns="label").to_parquet(tmp_path / "w.parquet")
    md.evaluate(uri, tmp_path / "w.parquet", predicted_label="decision",
                tracking_uri=tracking_uri)
    updated = md.attach_labels(uri, window[["id", "label"]], tracking_uri=tracking_uri)
    assert len(updated) == 1 and updated[0].labelled == len(window)
    assert updated[0].metrics["perf.accuracy"] == pytest.approx(
        skm.accuracy_score(window.label, decided))
    assert updated[0].metrics["perf.roc_auc"] == pytest.approx(
        skm.roc_auc_score(window.label, window.score))


def test_number_labels_take_the_larger_as_positive_as_scikit_learn_does() -> None:
    reference = make_frame(2000, 1)
    for offset in (0, 1, -1):  # 0/1, 1/2 (as in many older datasets), -1/0
        frame = reference.assign(label=reference.label + offset)
        profile = md.build_profile(frame, target="label", prediction="score", band_chunks=0)
        assert profile.performance["roc_auc"] == pytest.approx(
            skm.roc_auc_score(frame.label, frame.score))
        assert profile.positive_label == str(1 + offset)
        assert not profile.notes


def test_text_labels_name_their_positive_class_and_a_backwards_score_is_noted(
        tracking_uri: str, new_version: Callable[..., str], tmp_path: Path) -> None:
    reference = make_frame(2000, 1).assign(
        label=lambda f: f.label.map({1: "churn", 0: "stay"}))
    # which class the score is the probability of cannot be guessed from "churn" and "stay"
    with pytest.raises(md.DataError, match="which class is the score the probability of"):
        md.build_profile(reference, target="label", prediction="score", band_chunks=0)
    right = md.build_profile(reference, target="label", prediction="score",
                             positive_label="churn", band_chunks=0)
    assert right.performance["roc_auc"] == pytest.approx(
        skm.roc_auc_score(reference.label == "churn", reference.score))
    assert not any("below 0.5" in n for n in right.notes)
    wrong = md.build_profile(reference, target="label", prediction="score",
                             positive_label="stay", band_chunks=0)
    assert any("reference roc_auc" in n and "below 0.5" in n for n in wrong.notes)
    reference.to_csv(tmp_path / "ref.csv", index=False)
    uri = new_version()
    args = ["profile", uri, "--data", str(tmp_path / "ref.csv"), "--target", "label",
            "--prediction", "score", "--band-chunks", "0", "--tracking-uri", tracking_uri]
    before = registry_snapshot(tracking_uri)
    refused = CliRunner().invoke(main, args)
    assert refused.exit_code == 1 and "--positive-label" in refused.stderr
    assert registry_snapshot(tracking_uri) == before
    done = CliRunner().invoke(main, [*args, "--positive-label", "churn"])
    assert done.exit_code == 0, done.output
    assert "classes: churn, stay (positive: churn)" in done.stdout
    assert md.load_profile(uri, tracking_uri=tracking_uri).positive_label == "churn"


def test_profiles_reading_outputs_anew_are_format_2_and_others_keep_their_bytes() -> None:
    reference = make_frame(1000, 1)
    numbers = ["x1", "x2"]  # categorical features' levels in the PCA make a profile version 3
    plain = md.build_profile(reference, target="label", prediction="score", band_chunks=0,
                             features=numbers)
    assert json.loads(plain.to_json())["format_version"] == 1
    assert "threshold" not in json.loads(plain.to_json())
    assert json.loads(md.build_profile(reference, target="label", prediction="score",
                                       band_chunks=0).to_json())["format_version"] == 3
    tuned = md.build_profile(reference, target="label", prediction="score", band_chunks=0,
                             threshold=0.3, features=numbers)
    # a reader of format 1 refuses it rather than deciding at 0.5
    assert json.loads(tuned.to_json())["format_version"] == 2
    assert Profile.from_json(tuned.to_json()) == tuned


# -- trial 3: a decision column needs the scores beside it ----------------------------
def test_decisions_without_scores_are_refused(tracking_uri: str, new_version: Callable[..., str],
                                             ) -> None:
    # the profile was stored and every window reported no performance, with no word why
    frame = make_frame(500, 3).assign(decision=lambda f: (f.score >= 0.5).astype(int))
    with pytest.raises(md.DataError, match="predicted_label 'decision' needs the model's scores"):
        md.build_profile(frame.drop(columns="score"), target="label", predicted_label="decision")
    uri = new_version()
    md.attach_profile(uri, md.build_profile(frame.drop(columns=["score", "decision"]),
                                            target="label"), tracking_uri=tracking_uri)
    with pytest.raises(md.DataError, match="names a target and the model's scores"):
        md.evaluate(uri, frame.drop(columns="score"), predicted_label="decision", log=False,
                    tracking_uri=tracking_uri)


def test_no_estimate_set_aside_note_without_estimates(tracking_uri: str, profiled: str) -> None:
    # a labelled window whose model gave no scores said "est.* not applied" of estimates it
    # did not have
    window = make_frame(500, 4).assign(score=np.nan)
    report = md.evaluate(profiled, window, log=False, tracking_uri=tracking_uri)
    assert not any(k.startswith("est.") for k in report.metrics)
    assert not any(n.startswith("est.* not applied") for n in report.notes), report.notes
    labelled = md.evaluate(profiled, make_frame(500, 4), log=False, tracking_uri=tracking_uri)
    assert any(n.startswith("est.* not applied") for n in labelled.notes)


def test_a_class_without_reference_labels_is_named_with_classes() -> None:
    # "3 prediction columns for 2 classes; give one probability column per class": the user
    # had one per class, a rare class had no label in the reference; classes= is the way
    rng = np.random.default_rng(0)
    columns = ["p_a", "p_b", "p_c"]
    frame = pd.DataFrame(rng.dirichlet(np.ones(3), 600), columns=columns).assign(
        x=rng.normal(size=600), y=rng.choice(["a", "b"], 600))
    with pytest.raises(md.DataError, match=r"3 prediction columns but the reference labels in "
                       r"'y' hold 2 classes \(a, b\): a class no reference row has cannot be read "
                       r"from the column names; name each column's class in column order with "
                       r"classes= \(--classes\)"):
        md.build_profile(frame, target="y", prediction=columns, task="multiclass", band_chunks=0)
    profile = md.build_profile(frame, target="y", prediction=columns, task="multiclass",
                               classes=["a", "b", "c"], band_chunks=0)
    assert profile.classes == ("a", "b", "c")


@pytest.mark.parametrize("labels", [("Yes", "No"), ("YES", "NO"), ("TRUE", "FALSE")])
def test_yes_and_true_in_any_case_are_the_positive_class(labels: tuple[str, str]) -> None:
    # Telco-style "Yes"/"No" was refused asking for positive_label, where "yes"/"no" was read
    frame = make_frame(1000, 3)
    text = frame.assign(label=np.where(frame.label == 1, *labels))
    profile = md.build_profile(text, target="label", prediction="score", band_chunks=0)
    assert profile.positive_label == labels[0]
    assert profile.performance["roc_auc"] == pytest.approx(
        skm.roc_auc_score(frame.label, frame.score))


def test_rows_without_a_decision_are_named_in_a_note(tracking_uri: str, profiled: str,
                                                      tmp_path: Path) -> None:
    """Trial 6: a decision column with missing values (a business rule that did not
    run on some rows) left those rows out of every perf.* metric with no word of it."""
    window = make_frame(2000, 4)
    decided = pd.array((window.score >= 0.4).astype(int), dtype="Int64")
    decided[:150] = pd.NA
    window["decision"] = decided
    keep = np.arange(len(window)) >= 150
    note = ("150 of the 2,000 rows with a label and a model output have no decision in "
            "'decision': every perf.* metric is of the other 1,850")
    window.to_parquet(tmp_path / "w.parquet")
    for source in (window, tmp_path / "w.parquet"):  # in memory and streamed
        report = md.evaluate(profiled, source, log=False, predicted_label="decision",
                             tracking_uri=tracking_uri)
        assert note in report.notes
        assert report.metrics["perf.accuracy"] == pytest.approx(skm.accuracy_score(
            window.label[keep], window.decision[keep].astype(int)))
        assert report.metrics["perf.roc_auc"] == pytest.approx(
            skm.roc_auc_score(window.label[keep], window.score[keep]))
    profile = md.build_profile(window, target="label", prediction="score",
                               predicted_label="decision", band_chunks=0)
    assert note in profile.notes
    whole = md.evaluate(profiled, window.assign(decision=1), log=False,
                        predicted_label="decision", tracking_uri=tracking_uri)
    assert not any("no decision" in n for n in whole.notes)


def test_probabilities_sent_to_a_logit_profile_are_named_in_a_note(tmp_path: Path) -> None:
    """Trial 6: a window of probabilities (someone forgot the model now outputs
    logits) read as logits puts every score at 0.5-0.73 and every row over the 0.5 threshold;
    only the prediction drift showed it, with no word of why."""
    from mlflow_decay.engines.dispatch import evaluate_source

    profile = md.build_profile(_logits(make_frame(4000, 1)), target="label", prediction="score",
                               prediction_kind="logit", band_chunks=0)
    sent = make_frame(2000, 2)  # probabilities
    sent.to_parquet(tmp_path / "w.parquet")
    note = ("every output in 'score' lies in [0, 1] (read as logits, the profile's "
            "prediction_kind, probabilities from 0.5 to 0.73), where")
    for result in (evaluate_window(profile, sent), evaluate_source(profile, tmp_path / "w.parquet")[0]):
        assert any(n.startswith(note) and n.endswith("are these probabilities?")
                   for n in result.notes), result.notes
    right = evaluate_window(profile, _logits(make_frame(2000, 2)))
    assert not any("are these probabilities" in n for n in right.notes)


# --- trial 8: the decision a profile's accuracy and F1 were computed at ------------

def test_profile_prints_the_threshold_on_the_probability_scale_for_logits(
        tmp_path: Path, tracking_uri: str, new_version: Callable[[], str]) -> None:
    # an SVM's decision_function as logits with --threshold 0.7: the printout showed precision
    # and recall with no word of the decision they were computed at, nor its scale
    from scipy.special import expit, logit

    reference = make_frame(1000, 1)
    reference["margin"] = logit(reference.score.clip(1e-6, 1 - 1e-6))
    reference.drop(columns="score").to_csv(tmp_path / "ref.csv", index=False)
    uri = new_version()
    done = CliRunner().invoke(main, [
        "profile", uri, "--data", str(tmp_path / "ref.csv"), "--target", "label",
        "--prediction", "margin", "--prediction-kind", "logit", "--threshold", "0.7",
        "--band-chunks", "0", "--tracking-uri", tracking_uri])
    assert done.exit_code == 0, done.output
    assert ("classes: 0, 1 (positive: 1); decided positive at probability >= 0.7 (the logits' "
            "sigmoid)") in done.stdout
    decided = expit(reference.margin) >= 0.7
    assert f"precision {skm.precision_score(reference.label, decided):.4f}" in done.stdout
    # --json says it too: it named the classes, and not the decision
    done = CliRunner().invoke(main, [
        "profile", uri, "--data", str(tmp_path / "ref.csv"), "--target", "label",
        "--prediction", "margin", "--prediction-kind", "logit", "--threshold", "0.7",
        "--band-chunks", "0", "--json", "--tracking-uri", tracking_uri])
    printed = json.loads(done.stdout)
    assert {k: printed[k] for k in ("task", "threshold", "prediction_kind", "predicted_label")
            } == {"task": "binary", "threshold": 0.7, "prediction_kind": "logit",
                  "predicted_label": None}
    assert printed["performance"]["precision"] == pytest.approx(
        skm.precision_score(reference.label, decided))
