"""The decay loop on a real sqlite MLflow store: attach, load, evaluate, log, degrade."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import mlflow
import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import make_frame, reference_profile, registry_snapshot

import mlflow_decay as md
from mlflow_decay import registry
from mlflow_decay.cli import main
from mlflow_decay.core.policy_file import DEFAULT_POLICY, load_policy


def test_attach_stores_profile_in_the_logged_model_and_tags_the_version(
        tracking_uri: str, new_version: Callable[..., str]) -> None:
    uri = new_version()
    profile = reference_profile()
    artifact = md.attach_profile(uri, profile, tracking_uri=tracking_uri)
    name, version = uri.removeprefix("models:/").split("/")  # one folder per version
    assert artifact == f"{uri}/mlflow_decay/{name}/{version}/reference_profile.json"
    ref = registry.resolve(registry.client_for(tracking_uri), uri)
    assert ref.tags[registry.PROFILE_URI] == artifact
    assert ref.tags[registry.PROFILE_SHA256] == profile.sha256()
    assert md.load_profile(uri, tracking_uri=tracking_uri) == profile
    # readable from another process through MLflow's own URI resolution
    code = ("import mlflow.artifacts, sys, hashlib; p = mlflow.artifacts.download_artifacts("
            f"{artifact!r}, tracking_uri={tracking_uri!r}, registry_uri={tracking_uri!r}); "
            "print(hashlib.sha256(open(p, 'rb').read()).hexdigest())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == profile.sha256()


def test_a_profile_in_a_local_artifact_store_is_read_in_place(
        tracking_uri: str, new_version: Callable[..., str], monkeypatch: pytest.MonkeyPatch
        ) -> None:
    """A local store's profile is read where it is: no temporary copy (MLflow's download,
    given no destination, returns a local artifact's own path)."""
    uri = new_version()
    profile = reference_profile()
    md.attach_profile(uri, profile, tracking_uri=tracking_uri)

    def no_copy(*args: object, **kwargs: object) -> None:
        raise AssertionError("a local profile was copied to a temporary directory")

    monkeypatch.setattr("mlflow_decay.registry.model_versions.tempfile.TemporaryDirectory",
                        no_copy)
    assert md.load_profile(uri, tracking_uri=tracking_uri) == profile


def test_a_versions_logged_model_is_looked_up_once_per_process(
        tracking_uri: str, profiled: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Where a LoggedModel keeps its artifacts never changes: every evaluation asked the store
    again (seven sqlite queries, a third of the registry's time in one), now the first does."""
    asked: list[str] = []
    lookup = mlflow.MlflowClient.get_logged_model

    def counting(self: mlflow.MlflowClient, model_id: str) -> object:
        asked.append(model_id)
        return lookup(self, model_id)

    monkeypatch.setattr(mlflow.MlflowClient, "get_logged_model", counting)
    window = make_frame(300, seed=2)
    first = md.evaluate(profiled, window, log=False, tracking_uri=tracking_uri)
    again = md.evaluate(profiled, window, log=False, tracking_uri=tracking_uri)
    assert first.metrics == again.metrics
    assert len(asked) == 1  # the fixture's version is new: its LoggedModel too
    assert md.load_profile(profiled, tracking_uri=tracking_uri) == reference_profile()
    assert len(asked) == 1


def test_versions_without_a_logged_model_get_a_profile_run(
        tracking_uri: str, new_version: Callable[..., str]) -> None:
    uri = new_version("legacy", logged_model=False)
    profile = reference_profile()
    artifact = md.attach_profile(uri, profile, tracking_uri=tracking_uri)
    assert artifact.startswith("runs:/") and artifact.endswith("mlflow_decay/reference_profile.json")
    assert md.load_profile(uri, tracking_uri=tracking_uri) == profile


def test_alias_uris_resolve(tracking_uri: str, profiled: str) -> None:
    client = registry.client_for(tracking_uri)
    client.set_registered_model_alias("churn", "champion", profiled.rsplit("/", 1)[1])
    assert md.load_profile("models:/churn@champion", tracking_uri=tracking_uri) == \
        md.load_profile(profiled, tracking_uri=tracking_uri)


def test_healthy_window_is_logged_as_a_run_with_all_metrics(tracking_uri: str, profiled: str) -> None:
    window = make_frame(3000, seed=9)
    report = md.evaluate(profiled, window, tracking_uri=tracking_uri,
                         window_start="2026-01-01T00:00:00+00:00",
                         window_end="2026-01-02T00:00:00+00:00")
    assert report.status == "healthy" and report.reasons == []
    client = registry.client_for(tracking_uri)
    run = client.get_run(report.run_id)
    assert run.info.status == "FINISHED"
    assert client.get_experiment(run.info.experiment_id).name == "mlflow-decay/churn"
    assert run.data.tags["mlflow_decay.model_name"] == "churn"
    assert run.data.tags["mlflow_decay.model_version"] == profiled.rsplit("/", 1)[1]
    assert run.data.tags["mlflow_decay.window_end"] == "2026-01-02T00:00:00+00:00"
    assert run.data.tags["mlflow_decay.status"] == "healthy"
    assert run.data.metrics == pytest.approx(report.metrics)
    for key in ("drift.x1.psi", "drift.x1.js", "drift.x1.wasserstein", "drift.x1.ks",
                "drift.color.js", "drift.color.psi", "drift.color.unseen_share",
                "drift.prediction.psi", "drift.share", "quality.x1.missing_rate",
                "quality.x1.out_of_range_share", "quality.rows", "perf.roc_auc",
                "perf.roc_auc.delta", "perf.pr_auc", "perf.log_loss", "perf.brier",
                "perf.accuracy", "perf.f1"):
        assert key in run.data.metrics, key
    local = client.download_artifacts(report.run_id, "decay_report.json")
    assert json.loads(Path(local).read_text())["status"] == "healthy"
    tags = registry.resolve(client, profiled).tags
    assert tags[registry.STATUS] == "healthy"
    assert tags[registry.STATUS_RUN_ID] == report.run_id


def test_degraded_window_moves_the_version_after_logging(
        tracking_uri: str, profiled: str, tmp_path: Path) -> None:
    client = registry.client_for(tracking_uri)
    version = profiled.rsplit("/", 1)[1]
    client.set_registered_model_alias("churn", "champion", version)
    policy_file = tmp_path / "policy.toml"
    policy_file.write_text('[actions]\nremove_aliases = ["champion"]\narchive = true\n')
    window = make_frame(3000, seed=4, shift=1.5, flip=0.3)
    first = md.evaluate("models:/churn@champion", window, policy=policy_file,
                        tracking_uri=tracking_uri)
    # hysteresis: the first breaching window only warns, and removes nothing
    assert (first.window_status, first.status) == ("degraded", "warning")
    assert any("breaching window 1 of 2" in n for n in first.notes)
    assert registry.resolve(client, profiled).aliases == ("champion",)
    later = make_frame(3000, seed=5, shift=1.5, flip=0.3)
    report = md.evaluate("models:/churn@champion", later, policy=policy_file,
                         tracking_uri=tracking_uri)
    assert report.status == "degraded" and report.applied
    assert any(r.startswith("perf.roc_auc.delta") for r in report.reasons)
    ref = registry.resolve(client, profiled)
    assert ref.tags[registry.STATUS] == "degraded"
    assert ref.tags[registry.STATUS_RUN_ID] == report.run_id
    assert "perf.roc_auc.delta" in ref.tags[registry.STATUS_REASON]
    assert ref.aliases == () and ref.stage == "Archived"
    assert ref.tags[registry.REMOVED_ALIASES] == "champion"
    run = client.get_run(report.run_id)
    assert run.info.status == "FINISHED"
    # the run was logged before the tag changed, and the tag time is not earlier than the run
    assert ref.tags[registry.STATUS_CHANGED_AT] >= pd.Timestamp(
        run.info.start_time, unit="ms", tz="UTC").isoformat(timespec="seconds")
    degraded = client.search_model_versions(
        "name='churn' AND tags.`mlflow_decay.status` = 'degraded'")
    assert [str(mv.version) for mv in degraded] == [version]

    # a further breaching window: no new transition, same status run, nothing else removed
    again = md.evaluate(profiled, make_frame(3000, seed=6, shift=1.5, flip=0.3),
                        policy=policy_file, tracking_uri=tracking_uri)
    after = registry.resolve(client, profiled)
    assert again.previous_status == "degraded" and again.actions == []
    assert after.tags[registry.STATUS_RUN_ID] == report.run_id
    assert after.tags[registry.STATUS_CHANGED_AT] == ref.tags[registry.STATUS_CHANGED_AT]
    assert after.tags[registry.LAST_RUN_ID] == again.run_id

    # a clean window does not bring it back unless the policy allows auto-recovery
    clean = md.evaluate(profiled, make_frame(3000, seed=9), policy=policy_file,
                        tracking_uri=tracking_uri)
    assert clean.window_status == "healthy" and clean.status == "degraded"
    policy_file.write_text('[actions]\nauto_recover = true\n[hysteresis]\nrecover_after = 3\n')
    statuses = [md.evaluate(profiled, make_frame(3000, seed=10 + i), policy=policy_file,
                            tracking_uri=tracking_uri).status for i in range(3)]
    # the clean window above already counts: two more make three in a row
    assert statuses == ["degraded", "healthy", "healthy"]
    tags = registry.resolve(client, profiled).tags
    assert tags[registry.STATUS] == "healthy" and tags[registry.CLEAN_STREAK] == "4"


def test_the_same_window_is_logged_and_counted_once(tracking_uri: str, profiled: str,
                                                    tmp_path: Path) -> None:
    window = tmp_path / "w.csv"
    make_frame(3000, seed=4, shift=1.5, flip=0.3).to_csv(window, index=False)
    args = ["evaluate", profiled, "--data", str(window), "--window-end", "2026-11-25",
            "--tracking-uri", tracking_uri]
    first = CliRunner().invoke(main, [*args, "--json"])
    assert first.exit_code == 0, first.stderr
    logged = json.loads(first.stdout)
    assert logged["status"] == "warning" and not logged["skipped"]  # breach 1 of 2
    before = registry_snapshot(tracking_uri)
    # a scheduler retrying the task: the window is not logged, nor counted, a second time
    again = md.evaluate(profiled, window, window_end="2026-11-25", tracking_uri=tracking_uri)
    assert again.skipped and again.run_id == logged["run_id"] and again.status == "warning"
    assert again.metrics == pytest.approx(logged["metrics"])
    assert any("logged before" in n for n in again.notes)
    assert registry_snapshot(tracking_uri) == before
    # the same rows as another window (other bounds) are another evaluation
    other = md.evaluate(profiled, window, window_end="2026-11-26", tracking_uri=tracking_uri)
    assert not other.skipped and other.status == "degraded"
    # --force logs it again, but its verdict does not count twice
    tags = registry.resolve(registry.client_for(tracking_uri), profiled).tags
    forced = CliRunner().invoke(main, [*args, "--force", "--json"])
    assert forced.exit_code == 0 and json.loads(forced.stdout)["run_id"] != logged["run_id"]
    assert registry.resolve(registry.client_for(tracking_uri), profiled).tags == tags
    assert registry_snapshot(tracking_uri)["runs"] == before["runs"] + 2


def test_dry_run_and_no_log_change_nothing(tracking_uri: str, profiled: str) -> None:
    before = registry_snapshot(tracking_uri)
    window = make_frame(3000, seed=4, shift=1.5, flip=0.3)
    dry = md.evaluate(profiled, window, log=False, apply=False, tracking_uri=tracking_uri)
    assert (dry.window_status, dry.status) == ("degraded", "warning")
    assert dry.run_id is None and not dry.applied
    assert any("set tag mlflow_decay.status=warning" in a for a in dry.actions)
    md.evaluate(profiled, window, log=False, tracking_uri=tracking_uri)
    assert registry_snapshot(tracking_uri) == before


def test_policy_defaults_read_reference_performance(tracking_uri: str, profiled: str) -> None:
    report = md.evaluate(profiled, make_frame(3000, seed=4, shift=0.0, flip=0.25),
                         policy=load_policy(), log=False, tracking_uri=tracking_uri)
    delta = report.metrics["perf.roc_auc.delta"]
    profile = md.load_profile(profiled, tracking_uri=tracking_uri)
    assert delta == pytest.approx(report.metrics["perf.roc_auc"] - profile.performance["roc_auc"])
    assert report.window_status == ("degraded" if delta <= -0.05 else
                                    report.window_status)


def test_an_explicit_tracking_uri_wins_over_mlflows_current_one(
        tracking_uri: str, new_version: Callable[..., str], tmp_path: Path) -> None:
    uris = [new_version(), new_version("legacy", logged_model=False)]
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'other.db'}")
    mlflow.set_registry_uri(f"sqlite:///{tmp_path / 'other.db'}")
    profile = reference_profile()
    for uri in uris:
        md.attach_profile(uri, profile, tracking_uri=tracking_uri)
        assert md.load_profile(uri, tracking_uri=tracking_uri) == profile
        report = md.evaluate(uri, make_frame(2000, 3), tracking_uri=tracking_uri)
        assert registry.client_for(tracking_uri).get_run(report.run_id).info.status == "FINISHED"


# -- trial 4: a version whose LoggedModel was deleted ------------------------------
@pytest.mark.parametrize("store", ["sqlite", pytest.param("server", marks=pytest.mark.server)])
def test_a_profile_for_a_version_whose_logged_model_was_deleted_goes_into_a_run(
        store: str, tracking_uri: str, request: pytest.FixtureRequest) -> None:
    """Before: `profile` failed with "RestException: RESOURCE_DOES_NOT_EXIST: Logged model
    with ID 'm-…' not found", naming no version, and the version could not be watched."""
    uri_store = tracking_uri if store == "sqlite" else request.getfixturevalue("mlflow_server")
    client = registry.client_for(uri_store)
    name = f"gone-{store}"
    client.create_registered_model(name)
    exp = client.get_experiment_by_name("models") or client.get_experiment(
        client.create_experiment("models"))
    model = client.create_logged_model(exp.experiment_id, name="model")
    version = client.create_model_version(name, f"models:/{model.model_id}",
                                          model_id=model.model_id).version
    client.delete_logged_model(model.model_id)
    uri = f"models:/{name}/{version}"
    stored = md.attach_profile(uri, reference_profile(), tracking_uri=uri_store)
    assert stored.startswith("runs:/")
    assert md.load_profile(uri, tracking_uri=uri_store).sha256() == reference_profile().sha256()


# -- trial 8: every reason of a window is kept on its run ---------------------------
def test_a_window_with_many_breaches_keeps_every_reason_for_history_and_reruns(
        tracking_uri: str, profiled: str, tmp_path: Path) -> None:
    # eight rules that all breach: the run's tag kept the first five, so history said
    # "(+4 more)" of a window with 8 reasons and a rerun's report lost three
    policy = tmp_path / "p.toml"
    policy.write_text("inherit = false\n[thresholds]\n" + "".join(
        f'"{m}" = {{ warn = 0 }}\n' for m in (
            "drift.x1.ks", "drift.x1.js", "drift.x2.ks", "drift.x2.js", "drift.x1.wasserstein",
            "drift.x2.wasserstein", "quality.x1.missing_rate", "quality.rows")))
    window = make_frame(400, 3)
    first = md.evaluate(profiled, window, policy=policy, window_start="2026-01-01",
                        window_end="2026-01-02", tracking_uri=tracking_uri)
    assert len(first.reasons) == 8
    again = md.evaluate(profiled, window, policy=policy, window_start="2026-01-01",
                        window_end="2026-01-02", tracking_uri=tracking_uri)
    assert again.run_id == first.run_id and again.reasons == first.reasons
    change = [e for e in md.history(profiled, tracking_uri=tracking_uri)
              if "stage" in e["event"]][-1]
    assert change["reason"].split("; ") == first.reasons


def test_a_client_checks_a_name_for_being_a_prompt_once_and_still_refuses_a_prompt(
        tracking_uri: str, profiled: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """MLflow's client reads the whole registered model before every call on one of its
    versions, to refuse prompts; ours reads it once per name, and a prompt is still refused."""
    import mlflow.genai
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    reads: list[str] = []
    get = MlflowClient.get_registered_model
    monkeypatch.setattr(MlflowClient, "get_registered_model",
                        lambda self, name: reads.append(name) or get(self, name))
    client = registry.client_for(tracking_uri)
    name, version = profiled.removeprefix("models:/").split("/")
    for i in range(3):
        client.set_model_version_tag(name, version, f"k{i}", "v")
        client.get_model_version(name, version)
    assert reads == [name]
    assert client.get_model_version(name, version).tags["k2"] == "v"

    mlflow.genai.register_prompt("greeting", "Hello {{name}}")
    for _ in range(2):  # not remembered as a model after its first refusal
        with pytest.raises(MlflowException, match="greeting"):
            client.set_model_version_tag("greeting", "1", "k", "v")


def test_a_degraded_versions_alias_removals_come_before_its_rollback() -> None:
    """Removing an alias needs MANAGE where moving one needs EDIT: the removals are made first,
    so a refused one leaves no alias moved."""
    policy = replace(DEFAULT_POLICY, rollback_aliases=("champion",),
                     remove_aliases=("champion", "prod"), degrade_after=1)
    degraded = registry.ModelVersionRef("churn", "2", "", {registry.STATUS: "healthy"},
                                        ("champion", "prod"), "None")
    healthy = registry.ModelVersionRef("churn", "1", "", {registry.STATUS: "healthy"}, (), "None")
    actions = registry.plan(degraded, "degraded", ["x"], policy, "run",
                            others=[healthy, degraded]).actions
    aliases = [(a.kind, a.key, a.version) for a in actions if "alias" in a.kind]
    assert aliases == [("delete_alias", "prod", None), ("set_alias", "champion", "1")]


def test_a_plan_completed_later_leaves_aliases_moved_since_where_they_are() -> None:
    ref = registry.ModelVersionRef("churn", "2", "", {}, ("prod",), "None")
    actions = (registry.Action("delete_alias", "champion"), registry.Action("delete_alias", "prod"),
               registry.Action("set_alias", "champion", version="1"),
               registry.Action("set_tag", registry.ROLLED_BACK_TO, "@champion -> v1"),
               registry.Action("set_tag", registry.ROLLED_BACK_FROM, "@champion <- v2",
                               version="1"),
               registry.Action("set_tag", registry.STATUS, "degraded"))
    # @champion on version 3 now (moved by hand): neither removed nor rolled back
    kept = registry.changes(ref, actions, {"champion": "3", "prod": "2"})
    assert kept == (actions[1], actions[5])
    # on the rollback's target already (a run cut short after the move): its tags still made
    assert registry.changes(ref, actions, {"champion": "1", "prod": "2"}) == (
        actions[1], *actions[2:])
