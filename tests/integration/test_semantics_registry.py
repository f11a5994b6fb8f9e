"""Issue 11, registry side: metric keys that never collide, one profile per version, late
labels for streamed windows, the evaluator plugin's own model, model names with quotes,
strict JSON, and the version lock released on Ctrl-C."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import frame_profile, make_frame, registry_snapshot
from sklearn.metrics import roc_auc_score

import mlflow_decay as md
from mlflow_decay import registry
from mlflow_decay.cli import main
from mlflow_decay.core.report import DecayReport
from mlflow_decay.registry import model_versions, runs


def _finished_only(tracking_uri: str) -> None:
    """No run of the store is left FAILED or RUNNING."""
    client = registry.client_for(tracking_uri)
    exps = [e.experiment_id for e in client.search_experiments()]
    assert {r.info.status for r in client.search_runs(exps)} <= {"FINISHED"}


# -- item 10: metric keys ------------------------------------------------------------------------
def test_columns_whose_safe_names_collide_get_distinct_stable_keys(
        tracking_uri: str, new_version: Callable[..., str], tmp_path: Path) -> None:
    def table(n: int, seed: int, shift: float = 0.0) -> pd.DataFrame:
        base = make_frame(n, seed)
        rng = np.random.default_rng(seed)
        return base.assign(**{"x+": rng.normal(0, 1, n), "x*": rng.normal(shift, 1, n),
                              "prediction": rng.normal(3 * shift, 1, n),
                              "target": rng.normal(0, 1, n)})

    uri = new_version()
    profile = md.build_profile(table(3000, 1), target="label", prediction="score")
    md.attach_profile(uri, profile, tracking_uri=tracking_uri)
    report = md.evaluate(uri, table(3000, 2, shift=1.0), tracking_uri=tracking_uri)
    # one wasserstein per numerical feature, and the model output's own
    numerical = [n for n, s in profile.features.items() if s.kind == "numerical"]
    assert len([k for k in report.metrics if k.endswith(".wasserstein")]) == len(numerical) + 1
    keys = report.feature_keys
    # every feature logs under its own key; the model output keeps drift.prediction.*
    assert len(set(keys.values())) == len(keys) == len(profile.features)
    assert keys["x1"] == "x1" and keys["x+"] != keys["x*"]
    assert keys["prediction"] not in ("prediction", "target")
    assert keys["target"] not in ("prediction", "target")
    metrics = report.metrics
    assert metrics[f"drift.{keys['x*']}.wasserstein"] > 0.5  # the shifted one
    assert metrics[f"drift.{keys['x+']}.wasserstein"] < 0.1
    assert metrics[f"drift.{keys['prediction']}.wasserstein"] > 1.0  # the feature...
    assert metrics["drift.prediction.psi"] < 0.1  # ...not the model's scores, which stayed put
    logged = registry.client_for(tracking_uri).get_run(report.run_id).data.metrics
    assert {k: v for k, v in logged.items() if k in metrics} == pytest.approx(metrics)
    # stable: a column's key depends on the columns, not on their order or a rebuild
    again = md.build_profile(table(2000, 5)[::-1].iloc[:, ::-1], target="label",
                             prediction="score")
    assert again.metric_keys == profile.metric_keys
    # the page shows each feature by its column name, next to its key
    client = registry.client_for(tracking_uri)
    page = Path(client.download_artifacts(report.run_id, "decay_report.html",
                                          str(tmp_path))).read_text()
    assert f"<td>x+</td><td>numerical</td><td>{keys['x+']}</td>" in page
    assert f"<td>x*</td><td>numerical</td><td>{keys['x*']}</td>" in page


def test_metric_keys_keep_plain_names_and_hash_the_rest() -> None:
    from mlflow_decay.core.names import MAX_KEY, metric_keys

    keys = metric_keys(["a b", "x_", "x+", "revenue (€)", "a//b", "y" * 300], ["prediction"])
    assert keys["a b"] == "a b" and keys["x_"] == "x_"  # names MLflow takes stay as they are
    assert keys["revenue (€)"] == "revenue ___"  # safe and alone: as before
    assert keys["x+"].startswith("x_-") and len(keys["x+"]) == 11  # took x_'s key: hashed
    assert "//" not in keys["a//b"] and len(keys["y" * 300]) == MAX_KEY
    assert metric_keys(["x+"])["x+"] == "x_"
    assert metric_keys(["x+", "x*"])["x+"] == metric_keys(["x*", "x+", "z"])["x+"]


def test_profile_says_which_columns_log_under_another_key(
        tracking_uri: str, new_version: Callable[..., str], tmp_path: Path) -> None:
    uri = new_version()
    make_frame(1000, 1).rename(columns={"x1": "x+", "x2": "x*"}).to_csv(tmp_path / "r.csv",
                                                                        index=False)
    out = CliRunner().invoke(main, ["profile", uri, "--data", str(tmp_path / "r.csv"),
                                    "--target", "label", "--prediction", "score",
                                    "--tracking-uri", tracking_uri, "--json"])
    assert out.exit_code == 0, out.output + out.stderr
    keys = json.loads(out.stdout)["metric_keys"]
    assert sorted(keys) == ["x*", "x+"] and keys["x+"] != keys["x*"]
    assert keys["x+"].startswith("x_-") and keys["x*"].startswith("x_-")


def test_column_names_near_the_metric_name_limit_are_logged(
        tracking_uri: str, new_version: Callable[..., str]) -> None:
    long = {"x1": "x" * 240, "x2": "déjà " * 50}
    uri = new_version()
    md.attach_profile(uri, md.build_profile(make_frame(2000, 1).rename(columns=long),
                                            target="label", prediction="score"),
                      tracking_uri=tracking_uri)
    report = md.evaluate(uri, make_frame(1000, 2).rename(columns=long), tracking_uri=tracking_uri)
    assert report.run_id is not None and max(map(len, report.metrics)) <= 250
    assert any(k.startswith("drift.xxx") for k in report.metrics)
    _finished_only(tracking_uri)


def test_a_metric_name_mlflow_refuses_is_refused_before_any_run(
        tracking_uri: str, profiled: str) -> None:
    client = registry.client_for(tracking_uri)
    ref = registry.resolve(client, profiled)
    before = registry_snapshot(tracking_uri)
    report = DecayReport(model_uri=ref.uri, model_name=ref.name, model_version=ref.version,
                         status="healthy", window_status="healthy", previous_status=None,
                         reasons=[], metrics={"drift." + "z" * 250 + ".psi": 0.1}, rows=10)
    with pytest.raises(md.DataError, match="cannot be logged to MLflow"):
        runs.log_evaluation(client, ref, report)
    assert registry_snapshot(tracking_uri) == before


# -- item 11: one profile per version --------------------------------------------------------------
def test_versions_sharing_a_logged_model_keep_their_own_profiles(
        tracking_uri: str, profiled: str) -> None:
    client = registry.client_for(tracking_uri)
    source = registry.resolve(client, profiled).source
    other = mlflow.register_model(source, "other")
    other_uri = f"models:/other/{other.version}"
    second = md.build_profile(make_frame(2000, 7, shift=0.5), target="label", prediction="score")
    md.attach_profile(other_uri, second, tracking_uri=tracking_uri)
    first = md.load_profile(profiled, tracking_uri=tracking_uri)  # not "tampered"
    assert first.rows == 5000
    assert md.load_profile(other_uri, tracking_uri=tracking_uri) == second
    assert md.evaluate(profiled, make_frame(500, 3), tracking_uri=tracking_uri).run_id


def test_a_profile_stored_where_earlier_versions_put_it_still_loads(
        tracking_uri: str, new_version: Callable[..., str], tmp_path: Path) -> None:
    import hashlib

    uri = new_version()
    client = registry.client_for(tracking_uri)
    ref = registry.resolve(client, uri)
    profile = md.build_profile(make_frame(1000, 1), target="label", prediction="score",
                               band_chunks=0)
    (tmp_path / registry.PROFILE_FILE).write_bytes(profile.to_json())
    assert ref.model_id is not None
    client.log_model_artifact(ref.model_id, str(tmp_path / registry.PROFILE_FILE),
                              artifact_path="mlflow_decay")  # today's layout
    client.set_model_version_tag(ref.name, ref.version, registry.PROFILE_URI,
                                 f"{uri}/mlflow_decay/{registry.PROFILE_FILE}")
    client.set_model_version_tag(ref.name, ref.version, registry.PROFILE_SHA256,
                                 hashlib.sha256(profile.to_json()).hexdigest())
    assert md.load_profile(uri, tracking_uri=tracking_uri) == profile


# -- item 12: late labels for streamed windows -------------------------------------------------------
def _with_ids(frame: pd.DataFrame, prefix: str) -> pd.DataFrame:
    return frame.assign(id=[f"{prefix}{i}" for i in range(len(frame))])


@pytest.fixture
def with_ids(tracking_uri: str, new_version: Callable[..., str]) -> str:
    """A version whose profile names the id column ``id``."""
    uri = new_version()
    md.attach_profile(uri, frame_profile(3000, 1, ids="r", target="label", prediction="score",
                                         id_column="id"), tracking_uri=tracking_uri)
    return uri


def test_late_labels_reach_windows_read_from_parquet(tracking_uri: str, with_ids: str,
                                                     tmp_path: Path) -> None:
    window = _with_ids(make_frame(4000, 2, flip=0.3), "w")
    folder = tmp_path / "window"
    folder.mkdir()
    for i in range(4):  # several files: the outputs are written batch by batch
        window.iloc[i * 1000:(i + 1) * 1000].drop(columns="label").to_parquet(
            folder / f"part-{i}.parquet")
    report = md.evaluate(with_ids, folder, tracking_uri=tracking_uri)
    assert not any("labels cannot be attached" in n for n in report.notes)
    window[["id", "label"]].to_csv(tmp_path / "labels.csv", index=False)
    out = CliRunner().invoke(main, ["labels", with_ids, "--labels", str(tmp_path / "labels.csv"),
                                    "--tracking-uri", tracking_uri])
    assert out.exit_code == 0, out.output + out.stderr
    assert out.stdout.splitlines()[0] == "1 window(s) received labels"
    run = registry.client_for(tracking_uri).get_run(report.run_id)
    assert run.data.metrics["perf.roc_auc"] == pytest.approx(
        roc_auc_score(window.label, window.score))
    assert run.data.metrics["labels.coverage"] == 1.0


def test_a_streamed_monitor_stores_each_windows_ids(tracking_uri: str, with_ids: str,
                                                    tmp_path: Path) -> None:
    data = _with_ids(make_frame(3000, 4), "m").assign(
        ts=pd.Timestamp("2026-03-01", tz="UTC") + pd.to_timedelta(np.arange(3000) * 60, "s"))
    data.drop(columns="label").to_parquet(tmp_path / "prod.parquet")
    reports = md.monitor(with_ids, tmp_path / "prod.parquet", timestamp_column="ts", every="1D",
                         tracking_uri=tracking_uri)
    assert len(reports) == 3
    updated = md.attach_labels(with_ids, data.iloc[::2][["id", "label"]],
                               tracking_uri=tracking_uri)
    assert [w.run_id for w in updated] == [r.run_id for r in reports]
    assert [w.labelled for w in updated] == [720, 720, 60]


def test_labels_matching_no_window_exit_1_saying_why(tracking_uri: str, with_ids: str,
                                                     tmp_path: Path) -> None:
    labels = tmp_path / "labels.csv"
    pd.DataFrame({"id": ["a", "b"], "label": [0, 1]}).to_csv(labels, index=False)
    args = ["labels", with_ids, "--labels", str(labels), "--tracking-uri", tracking_uri]
    none = CliRunner().invoke(main, args)
    assert none.exit_code == 1 and none.stderr.strip() == (
        f"mlflow-decay: error: {with_ids} has no logged windows to attach labels to")
    md.evaluate(with_ids, make_frame(500, 3), tracking_uri=tracking_uri)  # no id column
    before = registry_snapshot(tracking_uri)
    none = CliRunner().invoke(main, args)
    assert none.exit_code == 1 and "none of the 1 logged window(s)" in none.stderr
    assert "stored row ids" in none.stderr and len(none.stderr.strip().splitlines()) == 1
    # the profile names the id column: what else stores none (a user who monitored a Spark
    # DataFrame carrying the ids was told that windows store them when they carry them)
    assert "a window evaluated from a Spark DataFrame stores none" in none.stderr
    assert registry_snapshot(tracking_uri) == before


def test_conflicting_duplicate_labels_are_refused(tracking_uri: str, with_ids: str) -> None:
    window = _with_ids(make_frame(500, 2), "w")
    md.evaluate(with_ids, window.drop(columns="label"), tracking_uri=tracking_uri)
    labels = window[["id", "label"]]
    same_twice = pd.concat([labels, labels.iloc[:10]])  # exact duplicates are fine
    assert md.attach_labels(with_ids, same_twice, tracking_uri=tracking_uri)[0].labelled == 500
    clash = pd.concat([labels, labels.iloc[[7]].assign(label=1 - labels.label.iloc[7])])
    before = registry_snapshot(tracking_uri)
    with pytest.raises(md.DataError, match="id 'w7' has different labels"):
        md.attach_labels(with_ids, clash, tracking_uri=tracking_uri)
    assert registry_snapshot(tracking_uri) == before


# -- item 14: the evaluator plugin resolves the model it is given ------------------------------------
def _registered_sklearn_model(tracking_uri: str) -> tuple[str, pd.DataFrame]:
    """A logistic regression logged with skops, registered as 'churn' @champion; its URI and a
    reference table with its scores."""
    import mlflow.sklearn
    from sklearn.linear_model import LogisticRegression

    features = ["x1", "x2", "level"]
    train = make_frame(3000, 11)
    model = LogisticRegression().fit(train[features], train["label"])
    mlflow.set_experiment("models")  # not the experiment an earlier test left active
    with mlflow.start_run():
        info = mlflow.sklearn.log_model(
            model, name="model", registered_model_name="churn",
            serialization_format=mlflow.sklearn.SERIALIZATION_FORMAT_SKOPS,
            pyfunc_predict_fn="predict_proba", pip_requirements=["scikit-learn", "skops"],
            input_example=train[features].head(3))
    uri = f"models:/churn/{info.registered_model_version}"
    client = registry.client_for(tracking_uri)
    client.set_registered_model_alias("churn", "champion", str(info.registered_model_version))
    reference = make_frame(3000, 1)[[*features, "label"]]
    return uri, reference.assign(score=model.predict_proba(reference[features])[:, 1])


def test_the_evaluator_plugin_resolves_the_version_of_the_model_it_is_given(
        tracking_uri: str) -> None:
    uri, reference = _registered_sklearn_model(tracking_uri)
    window = make_frame(2000, 4, shift=1.0)[["x1", "x2", "level", "label"]]
    # skipped with the reason (MLflow runs every installed evaluator when none is named, and
    # a plain evaluation must go on); named alone, MLflow then says none could evaluate it
    with pytest.warns(md.DecayWarning, match="has no reference profile"), \
            pytest.raises(mlflow.exceptions.MlflowException, match="could not be evaluated"), \
            mlflow.start_run():
        mlflow.models.evaluate("models:/churn@champion", window, targets="label",
                               model_type="classifier", evaluators=["mlflow_decay"])
    md.attach_profile(uri, md.build_profile(reference, target="label", prediction="score"),
                      tracking_uri=tracking_uri)
    with mlflow.start_run():
        result = mlflow.models.evaluate("models:/churn@champion", window, targets="label",
                                        model_type="classifier", evaluators=["mlflow_decay"])
    report = result.artifacts["decay_report"].content
    assert report["model_uri"] == uri
    assert result.metrics["decay.drift.x1.wasserstein"] > 0.5
    assert 0.5 < result.metrics["decay.perf.roc_auc"] < 1.0


# -- crash cases: quotes in model names, strict JSON, the lock ---------------------------------------
@pytest.mark.parametrize("name", ["O'Brien", 'say "hi" \\ it\'s'])
def test_model_names_with_quotes_work_in_every_command(
        tracking_uri: str, new_version: Callable[..., str], tmp_path: Path, name: str) -> None:
    uri = new_version(name)
    md.attach_profile(uri, frame_profile(2000, 1, target="label", prediction="score",
                                         band_chunks=0), tracking_uri=tracking_uri)
    make_frame(500, 2).to_csv(tmp_path / "w.csv", index=False)
    runner = CliRunner()
    for args in (["evaluate", uri, "--data", str(tmp_path / "w.csv")],
                 ["evaluate", uri, "--data", str(tmp_path / "w.csv")],
                 ["status", name], ["history", name], ["history", uri]):
        out = runner.invoke(main, [*args, "--tracking-uri", tracking_uri, "--json"])
        assert out.exit_code == 0, (args, out.output, out.stderr)
    evaluated = json.loads(runner.invoke(main, ["evaluate", uri, "--data", str(tmp_path / "w.csv"),
                                                "--tracking-uri", tracking_uri, "--json"]).stdout)
    status = json.loads(runner.invoke(main, ["status", name, "--tracking-uri", tracking_uri,
                                             "--json"]).stdout)
    assert status[0]["last_run_id"] == evaluated["run_id"]
    assert len(md.history(name, tracking_uri=tracking_uri)) == 1
    again = md.evaluate(uri, tmp_path / "w.csv", tracking_uri=tracking_uri)
    assert again.skipped  # the logged window was found through the tag filters


def _strict(text: str) -> object:
    def refuse(constant: str) -> object:
        raise ValueError(f"{constant} is not JSON")

    return json.loads(text, parse_constant=refuse)


def test_json_output_is_strict_and_huge_business_values_do_not_overflow(
        tracking_uri: str, profiled: str, tmp_path: Path) -> None:
    (tmp_path / "policy.toml").write_text('[business]\ncolumns = ["revenue"]\n')
    make_frame(500, 2).assign(revenue=1.7e308).to_parquet(tmp_path / "w.parquet")
    out = CliRunner().invoke(main, ["evaluate", profiled, "--data", str(tmp_path / "w.parquet"),
                                    "--policy", str(tmp_path / "policy.toml"), "--json",
                                    "--tracking-uri", tracking_uri])
    assert out.exit_code == 0, out.output + out.stderr
    report = _strict(out.stdout)
    assert report["metrics"]["business.revenue"] == pytest.approx(1.7e308)  # type: ignore[index]
    nan = DecayReport(model_uri="m", model_name="m", model_version="1", status="healthy",
                      window_status="healthy", previous_status=None, reasons=[],
                      metrics={"a": float("inf"), "b": float("nan"), "c": 1.0}, rows=1)
    assert _strict(json.dumps(nan.to_dict()))["metrics"] == {  # type: ignore[index]
        "a": None, "b": None, "c": 1.0}


def test_ctrl_c_while_taking_the_version_lock_releases_it(
        tracking_uri: str, profiled: str, monkeypatch: pytest.MonkeyPatch) -> None:
    client = registry.client_for(tracking_uri)
    ref = registry.resolve(client, profiled)

    def interrupted(_seconds: float) -> None:  # Ctrl-C right after the lease was written
        assert model_versions._lock_of(client, ref) is not None
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(model_versions.time, "sleep", interrupted)
        with pytest.raises(KeyboardInterrupt), registry.version_lock(client, ref, owner="me"):
            pass  # pragma: no cover - never reached
    assert registry.LOCK not in registry.resolve(client, profiled).tags
    holding = registry.version_lock(client, ref, owner="me", settle=0.01)
    with pytest.raises(KeyboardInterrupt), holding:  # and while holding it
        raise KeyboardInterrupt
    assert registry.LOCK not in registry.resolve(client, profiled).tags


@pytest.mark.parametrize("value", ["soon", "-1", "nan", "3600"])
def test_a_bad_lock_settle_fails_before_anything_is_logged(
        tracking_uri: str, profiled: str, monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv(registry.SETTLE_ENV, value)
    before = registry_snapshot(tracking_uri)
    with pytest.raises(md.RegistryError, match=f"MLFLOW_DECAY_LOCK_SETTLE must be a number of "
                                               f"seconds from 0 to 60, got '{value}'"):
        md.evaluate(profiled, make_frame(300, 5), tracking_uri=tracking_uri)
    result = CliRunner().invoke(main, ["monitor", profiled, "--data", "missing.csv", "--chunk-size", "9",
                                       "--tracking-uri", tracking_uri])
    assert result.exit_code != 0 and "MLFLOW_DECAY_LOCK_SETTLE" in result.output
    assert "Traceback" not in result.output
    assert registry_snapshot(tracking_uri) == before
    monkeypatch.setenv(registry.SETTLE_ENV, "0.5")
    assert registry.lock_settle() == 0.5
    monkeypatch.delenv(registry.SETTLE_ENV)
    assert registry.lock_settle() == 0.2


def test_a_run_waiting_for_the_lock_says_so(tracking_uri: str, profiled: str,
                                            caplog: pytest.LogCaptureFixture) -> None:
    import re
    import time
    from datetime import UTC, datetime

    client = registry.client_for(tracking_uri)
    ref = registry.resolve(client, profiled)
    until = time.time() + 60
    client.set_model_version_tag(ref.name, ref.version, registry.LOCK,
                                 f"other-process|{until:.3f}")
    locked = pytest.raises(md.RegistryError, match="is locked by another mlflow-decay process")
    with (caplog.at_level(logging.WARNING, logger="mlflow_decay.registry"), locked,
          registry.version_lock(client, ref, owner="me", settle=0.01, wait=0.1)):
        pass  # pragma: no cover - never reached
    end = datetime.fromtimestamp(until, UTC).strftime("%H:%M:%S UTC")
    assert [r.getMessage() for r in caplog.records] == [
        f"{profiled} is locked by another mlflow-decay process (other-process, whose lease ends "
        f"at {end} if it does not finish first): waiting for it, up to 0 s"]
    # a holder that died: the wait is until its lease ends (seconds), not the whole patience
    caplog.clear()
    client.set_model_version_tag(ref.name, ref.version, registry.LOCK,
                                 f"dead-run|{time.time() + 1.5:.3f}")
    with (caplog.at_level(logging.WARNING, logger="mlflow_decay.registry"),
          registry.version_lock(client, ref, owner="me", settle=0.01, wait=300)):
        pass
    assert re.search(r"\(dead-run, whose lease ends at .* UTC if it does not finish first\): "
                     r"waiting for it, up to [12] s$", caplog.records[0].getMessage())


def test_windows_of_fewer_rows_than_min_rows_are_logged_not_applied(
        tracking_uri: str, profiled: str, tmp_path: Path) -> None:
    """Two small windows that breach (labels flipped, features shifted): by default (min_rows
    100) logged with their verdict, the version unmoved; with min_rows = 1 they degrade it."""
    def small(seed: int) -> pd.DataFrame:
        return make_frame(60, seed, shift=2.0, flip=0.5)

    days = [("2026-04-01", "2026-04-02"), ("2026-04-02", "2026-04-03")]
    reports = [md.evaluate(profiled, small(s), window_start=a, window_end=b,
                           tracking_uri=tracking_uri) for s, (a, b) in zip((1, 2), days, strict=True)]
    assert [r.window_status for r in reports] == ["degraded", "degraded"]
    assert [r.status for r in reports] == ["healthy", "healthy"] and all(r.run_id for r in reports)
    assert any("60 rows, fewer than the policy's min_rows (100)" in n for n in reports[-1].notes)
    ref = registry.resolve(registry.client_for(tracking_uri), profiled)
    assert ref.status is None  # never applied
    (tmp_path / "p.toml").write_text("[hysteresis]\nmin_rows = 1\n")
    later = [("2026-04-03", "2026-04-04"), ("2026-04-04", "2026-04-05")]
    final = [md.evaluate(profiled, small(s), window_start=a, window_end=b,
                         policy=tmp_path / "p.toml", tracking_uri=tracking_uri)
             for s, (a, b) in zip((3, 4), later, strict=True)]
    assert [r.status for r in final] == ["warning", "degraded"]


def test_a_window_logged_without_applying_is_applied_when_evaluated_again(
        tracking_uri: str, profiled: str, tmp_path: Path) -> None:
    # md.evaluate(..., apply=False) logged the window; evaluated again to apply it, it was
    # "logged before: not logged or applied again", and its verdict never reached the version
    (tmp_path / "p.toml").write_text(
        '[thresholds]\n"perf.accuracy" = { warn = 0.99, direction = "below" }\n')
    window = make_frame(2000, 4)
    args = {"policy": tmp_path / "p.toml", "window_start": "2026-05-01",
            "window_end": "2026-05-08", "tracking_uri": tracking_uri}
    shadow = md.evaluate(profiled, window, apply=False, **args)
    assert (shadow.window_status, shadow.applied, shadow.run_id is not None) == (
        "warning", False, True)
    assert md.status("churn", tracking_uri=tracking_uri)[0]["status"] == "profiled"
    applied = md.evaluate(profiled, window, **args)
    assert (applied.skipped, applied.applied, applied.status) == (False, True, "warning")
    assert applied.run_id != shadow.run_id
    assert md.status("churn", tracking_uri=tracking_uri)[0]["status"] == "warning"
    again = md.evaluate(profiled, window, **args)  # now it was applied: a rerun is skipped
    assert (again.skipped, again.run_id) == (True, applied.run_id)
