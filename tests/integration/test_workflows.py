"""Registry workflows: rollback of a serving alias, restore by hand, and the history."""

from __future__ import annotations

import json
import shlex
from collections.abc import Callable
from pathlib import Path

from click.testing import CliRunner
from conftest import make_frame, reference_profile, registry_snapshot

import mlflow_decay as md
from mlflow_decay import registry
from mlflow_decay.cli import main


def test_rollback_restore_and_history(tracking_uri: str, new_version: Callable[..., str],
                                      tmp_path: Path) -> None:
    client = registry.client_for(tracking_uri)
    v1, v2, v3 = new_version(), new_version(), new_version()
    for uri in (v1, v2, v3):
        md.attach_profile(uri, reference_profile(), tracking_uri=tracking_uri)
    md.evaluate(v1, make_frame(3000, 2), tracking_uri=tracking_uri)  # v1 healthy
    policy = tmp_path / "p.toml"
    policy.write_text('[actions]\nrollback_aliases = ["champion"]\n'
                      '[hysteresis]\ndegrade_after = 1\n')
    # v2's first breaching window only warns (default hysteresis)
    md.evaluate(v2, make_frame(3000, 3, shift=1.5, flip=0.3), tracking_uri=tracking_uri)
    md.evaluate(v3, make_frame(3000, 4), tracking_uri=tracking_uri)  # v3 healthy, newest
    client.set_registered_model_alias("churn", "champion", "2")
    before = registry_snapshot(tracking_uri)
    dry = md.evaluate("models:/churn@champion", make_frame(3000, 5, shift=1.5, flip=0.3),
                      policy=policy, log=False, tracking_uri=tracking_uri)
    assert "move alias @champion to models:/churn/3" in dry.actions
    assert registry_snapshot(tracking_uri) == before

    # someone looks at v2's warning and restores it by hand; then it breaches for real
    out = CliRunner().invoke(main, ["restore", v2, "--reason", "false alarm: upstream fixed",
                                    "--tracking-uri", tracking_uri])
    assert out.exit_code == 0, out.output + out.stderr
    assert registry.resolve(client, v2).tags[registry.STATUS] == "healthy"
    report = md.evaluate("models:/churn@champion", make_frame(3000, 5, shift=1.5, flip=0.3),
                         policy=policy, tracking_uri=tracking_uri)
    assert report.status == "degraded"
    assert client.get_model_version_by_alias("churn", "champion").version in ("3", 3)
    assert registry.resolve(client, v2).tags[registry.ROLLED_BACK_TO] == "@champion -> v3"
    assert registry.resolve(client, v3).tags[registry.ROLLED_BACK_FROM] == "@champion <- v2"

    out = CliRunner().invoke(main, ["history", "churn", "--tracking-uri", tracking_uri, "--json"])
    assert out.exit_code == 0, out.output + out.stderr
    events = [(e["version"], e["event"]) for e in json.loads(out.stdout)]
    assert events == [
        ("1", "stage - -> healthy"),
        ("2", "stage - -> warning"),
        ("3", "stage - -> healthy"),
        ("2", "stage warning -> healthy"),
        ("2", "stage healthy -> degraded"),
        ("2", "move alias @champion to models:/churn/3"),
    ]
    reasons = {e["event"]: e["reason"] for e in json.loads(out.stdout)}
    assert reasons["stage warning -> healthy"] == "restored by hand: false alarm: upstream fixed"
    one = CliRunner().invoke(main, ["history", v3, "--tracking-uri", tracking_uri, "--json"])
    assert [e["version"] for e in json.loads(one.stdout)] == ["3"]
    # restoring v2 now is no undo: @champion stays on v3, and the command says so
    again = CliRunner().invoke(main, ["restore", v2, "--reason", "retrained upstream",
                                      "--tracking-uri", tracking_uri])
    assert again.exit_code == 0, again.output
    assert again.stdout.splitlines()[1] == (
        "  note: @champion, taken off it when it was degraded, not put back (move aliases with "
        "MLflow if wanted)")
    assert client.get_model_version_by_alias("churn", "champion").version in ("3", 3)
    assert "note:" not in out.stdout  # the first restore: v2 had lost no alias yet


def test_rollback_never_targets_a_degraded_version(tracking_uri: str,
                                                   new_version: Callable[..., str],
                                                   tmp_path: Path) -> None:
    client = registry.client_for(tracking_uri)
    reference = make_frame(3000, 1)
    v1, v2 = new_version(), new_version()
    for uri in (v1, v2):
        md.attach_profile(uri, md.build_profile(reference, target="label", prediction="score"),
                          tracking_uri=tracking_uri)
    policy = tmp_path / "p.toml"
    # remove_aliases = []: the default policy removes @champion when it cannot be rolled back
    policy.write_text('[actions]\nrollback_aliases = ["champion"]\nremove_aliases = []\n'
                      '[hysteresis]\ndegrade_after = 1\n')
    bad = make_frame(3000, 3, shift=1.5, flip=0.3)
    md.evaluate(v1, bad, policy=policy, tracking_uri=tracking_uri)  # v1 degraded
    client.set_registered_model_alias("churn", "champion", "2")
    report = md.evaluate("models:/churn@champion", bad, policy=policy, tracking_uri=tracking_uri)
    assert report.status == "degraded"
    assert client.get_model_version_by_alias("churn", "champion").version in ("2", 2)
    assert any("no healthy version to roll @champion back to" in n for n in report.notes)
    out = CliRunner().invoke(main, ["restore", v1, "--reason", " ", "--tracking-uri",
                                    tracking_uri])
    assert out.exit_code == 2 and "give a reason" in out.stderr


# -- trial 3: restore says what it does not give back, and needs a stage --------------
def test_restore_names_the_aliases_it_does_not_put_back(tracking_uri: str, profiled: str,
                                                        tmp_path: Path) -> None:
    client = registry.client_for(tracking_uri)
    assert _degrade_the_champion(profiled, tracking_uri, tmp_path).status == "degraded"
    out = CliRunner().invoke(main, ["restore", profiled, "--reason", "feed fixed",
                                    "--tracking-uri", tracking_uri])
    assert out.exit_code == 0, out.output + out.stderr
    assert "note: @champion, taken off it when it was degraded, not put back" in out.stdout
    client.set_registered_model_alias("churn", "champion", "1")  # put back by hand
    out = CliRunner().invoke(main, ["restore", profiled, "--reason", "again", "--json",
                                    "--tracking-uri", tracking_uri])
    assert json.loads(out.stdout)["aliases_not_restored"] == []


def _degrade_the_champion(uri: str, tracking_uri: str, tmp_path: Path) -> md.DecayReport:
    """Version 1 of 'churn' as @champion, degraded by one bad window (``degrade_after = 1``)."""
    registry.client_for(tracking_uri).set_registered_model_alias("churn", "champion", "1")
    policy = tmp_path / "p.toml"
    policy.write_text("[hysteresis]\ndegrade_after = 1\n")
    return md.evaluate(uri, make_frame(3000, 3, shift=1.5, flip=0.3), policy=policy,
                       tracking_uri=tracking_uri)


def test_restore_refuses_a_version_never_evaluated(tracking_uri: str, profiled: str) -> None:
    # it was marked healthy: status and the exporter showed an unwatched version as healthy
    before = registry_snapshot(tracking_uri)
    out = CliRunner().invoke(main, ["restore", profiled, "--reason", "looked",
                                    "--tracking-uri", tracking_uri])
    assert out.exit_code == 1 and "Traceback" not in out.output
    assert out.stderr.strip() == ("mlflow-decay: error: models:/churn/1 has no decay stage to "
                                  "restore: none of its windows was evaluated")
    assert registry_snapshot(tracking_uri) == before


def test_status_after_a_restore_shows_the_last_window_evaluated(
        tracking_uri: str, profiled: str, tmp_path: Path) -> None:
    # it showed "last window: - healthy", the restore taken for a window
    policy = tmp_path / "p.toml"
    policy.write_text("[hysteresis]\ndegrade_after = 1\n")
    md.evaluate(profiled, make_frame(3000, 3, shift=1.5, flip=0.3), policy=policy,
                window_start="2026-03-02", window_end="2026-03-09", tracking_uri=tracking_uri)
    md.restore(profiled, "feed fixed", tracking_uri=tracking_uri)
    out = CliRunner().invoke(main, ["status", "churn", "--tracking-uri", tracking_uri, "--json"])
    row = json.loads(out.stdout)[0]
    assert row["status"] == "healthy" and row["since_window"] is None
    assert row["last_window"] == {"start": "2026-03-02T00:00:00+00:00",
                                  "end": "2026-03-09T00:00:00+00:00"}
    assert row["last_status"] == "degraded"
    text = CliRunner().invoke(main, ["status", "churn", "--tracking-uri", tracking_uri]).stdout
    assert "2026-03-02 → 03-09 degraded" in text and "restored by hand: feed fixed" in text


def test_status_shows_the_last_windows_verdict_beside_the_stage(tracking_uri: str,
                                                                profiled: str) -> None:
    # the "last window" cell showed the stage the window left (warning: the hysteresis waits),
    # read as that window's verdict (it breached the degrade line)
    report = md.evaluate(profiled, make_frame(3000, 3, shift=1.5, flip=0.3),
                         window_start="2026-03-02", window_end="2026-03-09",
                         tracking_uri=tracking_uri)
    assert (report.window_status, report.status) == ("degraded", "warning")
    text = CliRunner().invoke(main, ["status", "churn", "--tracking-uri", tracking_uri]).stdout
    assert "2026-03-02 → 03-09 degraded" in text.splitlines()[1]
    row = md.status("churn", tracking_uri=tracking_uri)[0]
    assert (row["status"], row["last_status"], row["last_verdict"]) == (
        "warning", "warning", "degraded")


def test_a_window_applied_under_the_previous_profile_is_named_as_such(
        tracking_uri: str, profiled: str) -> None:
    # re-evaluating a period after attaching a new profile said only "already applied by
    # another run", read as a duplicate of this very evaluation
    window = make_frame(1000, 8)
    bounds = {"window_start": "2026-03-02", "window_end": "2026-03-09"}
    md.evaluate(profiled, window, tracking_uri=tracking_uri, **bounds)
    second = md.build_profile(make_frame(3000, 5, shift=0.5), target="label", prediction="score")
    md.attach_profile(profiled, second, tracking_uri=tracking_uri)
    after = md.evaluate(profiled, window, tracking_uri=tracking_uri, **bounds)
    assert not after.applied and after.run_id
    assert any("judged against another profile" in n for n in after.notes), after.notes


def test_history_json_marks_what_does_not_exist_as_status_json_does(
        tracking_uri: str, profiled: str, tmp_path: Path) -> None:
    # history gave "" for the restore's window and for no reason where status gives null
    policy = tmp_path / "p.toml"
    policy.write_text("[hysteresis]\ndegrade_after = 1\n")
    md.evaluate(profiled, make_frame(3000, 1), window_start="2026-03-02",
                window_end="2026-03-09", tracking_uri=tracking_uri)
    md.evaluate(profiled, make_frame(3000, 3, shift=1.5, flip=0.3), policy=policy,
                window_start="2026-03-09", window_end="2026-03-16", tracking_uri=tracking_uri)
    md.restore(profiled, "feed fixed", tracking_uri=tracking_uri)
    invoke = CliRunner().invoke
    row = json.loads(invoke(main, ["status", "churn", "--tracking-uri", tracking_uri,
                                   "--json"]).stdout)[0]
    events = json.loads(invoke(main, ["history", "churn", "--tracking-uri", tracking_uri,
                                      "--json"]).stdout)
    assert [e["event"] for e in events] == ["stage - -> healthy", "stage healthy -> degraded",
                                            "stage degraded -> healthy"]
    restored = events[-1]
    assert row["since_window"] is None and row["status_run_id"] == restored["run_id"]
    assert (restored["window_start"], restored["window_end"]) == (None, None)
    assert restored["reason"] == row["reason"] == "restored by hand: feed fixed"
    assert events[0]["reason"] is None  # a clean window: no reasons
    assert all(value != "" for e in events for value in e.values()), events
    assert md.history("churn", tracking_uri=tracking_uri) == events
    text = invoke(main, ["history", "churn", "--tracking-uri", tracking_uri]).stdout
    assert text.splitlines()[-1].split()[2:4] == ["-", "1"]


def test_an_alias_the_degradation_removed_is_named_as_such(tracking_uri: str, profiled: str,
                                                          tmp_path: Path) -> None:
    # a scheduled `evaluate models:/churn@champion` then failed with "has no alias 'champion'"
    # and no word that mlflow-decay had taken it off
    _degrade_the_champion("models:/churn@champion", tracking_uri, tmp_path)
    before = registry_snapshot(tracking_uri)
    make_frame(300, 4).to_csv(tmp_path / "w.csv", index=False)
    out = CliRunner().invoke(main, ["evaluate", "models:/churn@champion", "--data",
                                    str(tmp_path / "w.csv"), "--tracking-uri", tracking_uri])
    assert out.exit_code == 1 and out.stderr.strip() == (
        "mlflow-decay: error: models:/churn@champion: model 'churn' has no alias 'champion' "
        "(mlflow-decay removed it from version 1 when that was degraded; see `mlflow-decay "
        "status churn`)")
    assert registry_snapshot(tracking_uri) == before


# -- trial 4: a restore stands when the window it followed is evaluated again ---------
def test_a_window_evaluated_again_after_a_restore_starts_from_the_restored_stage(
        tracking_uri: str, profiled: str, tmp_path: Path) -> None:
    """Before: the corrected file of the window that degraded the version, evaluated after a
    restore (same bounds, other rows), was decided from the stage before that window: the
    version was degraded again at once and the @champion a person had put back was removed."""
    client = registry.client_for(tracking_uri)
    client.set_registered_model_alias("churn", "champion", "1")
    bounds = {"window_start": "2026-03-02", "window_end": "2026-03-09"}
    bad = make_frame(3000, 3, shift=1.5, flip=0.3)
    md.evaluate(profiled, bad, window_start="2026-02-23", window_end="2026-03-02",
                tracking_uri=tracking_uri)
    assert md.evaluate(profiled, bad, tracking_uri=tracking_uri, **bounds).status == "degraded"
    md.restore(profiled, "feed fixed", tracking_uri=tracking_uri)
    client.set_registered_model_alias("churn", "champion", "1")  # put back by hand
    again = md.evaluate(profiled, bad.iloc[:-10], tracking_uri=tracking_uri, **bounds)
    assert again.status == "warning"  # the first breaching window since the restore
    ref = registry.resolve(client, profiled)
    assert ref.status == "warning" and "champion" in ref.aliases
    assert ref.tags[registry.BREACH_STREAK] == "1"


def test_the_status_command_suggested_for_a_removed_alias_can_be_pasted(
        tracking_uri: str, new_version: Callable[..., str], tmp_path: Path) -> None:
    """Before: for "Churn Modell ü" the hint read `mlflow-decay status Churn Modell ü`, which
    run as printed is a usage error (three arguments)."""
    uri = new_version("Churn Modell ü")
    md.attach_profile(uri, reference_profile(), tracking_uri=tracking_uri)
    client = registry.client_for(tracking_uri)
    client.set_registered_model_alias("Churn Modell ü", "champion", "1")
    policy = tmp_path / "p.toml"
    policy.write_text("[hysteresis]\ndegrade_after = 1\n")
    md.evaluate(uri, make_frame(3000, 3, shift=1.5, flip=0.3), policy=policy,
                tracking_uri=tracking_uri)
    make_frame(300, 4).to_csv(tmp_path / "w.csv", index=False)
    out = CliRunner().invoke(main, ["evaluate", "models:/Churn Modell ü@champion", "--data",
                                    str(tmp_path / "w.csv"), "--tracking-uri", tracking_uri])
    assert out.exit_code == 1
    assert out.stderr.strip().endswith("see `mlflow-decay status 'Churn Modell ü'`)")
    hint = out.stderr.strip().rsplit("`", 2)[1].removeprefix("mlflow-decay ")
    status = CliRunner().invoke(main, [*shlex.split(hint), "--tracking-uri", tracking_uri])
    assert status.exit_code == 0 and "degraded" in status.stdout


def test_history_of_a_model_named_alias_lists_no_tag_writes_as_alias_moves(
        tracking_uri: str, new_version: Callable[..., str]) -> None:
    # the alias moves are read back from each run's registry actions: by what the text says,
    # not by a word the model's name may hold too
    uri = new_version("alias_churn")
    md.attach_profile(uri, reference_profile(), tracking_uri=tracking_uri)
    md.evaluate(uri, make_frame(3000, 2), tracking_uri=tracking_uri)
    events = [e["event"] for e in md.history("alias_churn", tracking_uri=tracking_uri)]
    assert events == ["stage - -> healthy"]
    assert registry.alias_change_version("move alias @champion to models:/alias_churn/3") == "3"
    assert registry.alias_change_version(
        "set tag mlflow_decay.status=healthy on models:/alias_churn/1") is None


def test_status_leaves_out_a_last_window_whose_run_was_deleted(tracking_uri: str,
                                                               profiled: str) -> None:
    # MLflow still returns a run deleted in its UI (marked deleted): status showed its window
    md.evaluate(profiled, make_frame(3000, 2), window_start="2026-03-02",
                window_end="2026-03-09", tracking_uri=tracking_uri)
    last = md.evaluate(profiled, make_frame(3000, 3, shift=1.5, flip=0.3),
                       window_start="2026-03-09", window_end="2026-03-16",
                       tracking_uri=tracking_uri)
    registry.client_for(tracking_uri).delete_run(last.run_id)
    row = md.status("churn", tracking_uri=tracking_uri)[0]
    assert row["last_window"] == {"start": "2026-03-02T00:00:00+00:00",
                                  "end": "2026-03-09T00:00:00+00:00"}
    assert row["last_verdict"] == "healthy"


def test_a_stage_typed_by_hand_in_another_case_stands_and_is_written_as_searched(
        tracking_uri: str, profiled: str) -> None:
    # a person set the stage to "Degraded" in MLflow's UI: the next window planned from
    # healthy and overwrote it without a word
    client = registry.client_for(tracking_uri)
    client.set_model_version_tag("churn", "1", registry.STATUS, "Degraded ")
    report = md.evaluate(profiled, make_frame(3000, 2), tracking_uri=tracking_uri)
    assert (report.window_status, report.previous_status, report.status) == (
        "healthy", "degraded", "degraded")
    found = client.search_model_versions(
        f"name='churn' AND tags.`{registry.STATUS}`='degraded'")
    assert [str(v.version) for v in found] == ["1"]


def test_each_window_run_records_the_effective_policy_that_judged_it(
        tracking_uri: str, profiled: str, tmp_path: Path) -> None:
    # a policy file edited in place mid-year left no trace of which thresholds judged which
    # window: only the path as typed
    policy = tmp_path / "policy.toml"
    policy.write_text('[thresholds]\n"drift.share" = { warn = 0.3 }\n')
    first = md.evaluate(profiled, make_frame(2000, 2), policy=policy, tracking_uri=tracking_uri)
    policy.write_text('[thresholds]\n"drift.share" = { warn = 0.2 }\n')
    second = md.evaluate(profiled, make_frame(2000, 3), policy=policy, tracking_uri=tracking_uri)
    copy = tmp_path / "copy.toml"
    copy.write_text(policy.read_text())
    client = registry.client_for(tracking_uri)
    tags = [client.get_run(r.run_id).data.tags for r in (first, second)]
    assert [t[registry.POLICY] for t in tags] == [str(policy)] * 2
    hashes = [t[registry.POLICY_SHA256] for t in tags]
    assert hashes[0] != hashes[1]
    assert hashes[1] == md.load_policy(copy).sha256()  # content, not where it was read from
    stored = json.loads(Path(client.download_artifacts(second.run_id, "decay_report.json",
                                                       str(tmp_path))).read_text())
    assert stored["policy_effective"]["thresholds"]["drift.share"]["warn"] == 0.2
