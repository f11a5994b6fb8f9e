"""A new user's first hour: help that reads in workflow order, commands that say where they
looked, and no library noise in the output of the CLI or the Python API."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import make_frame

import mlflow_decay as md
from mlflow_decay import registry
from mlflow_decay.cli import main

pytestmark = pytest.mark.plots  # its windows' plots are drawn (tests/conftest.py)

WORKFLOW = ["profile", "evaluate", "monitor", "labels", "status", "history", "compare",
            "restore", "exporter", "policy", "demo"]


def test_help_lists_the_commands_in_workflow_order_with_whole_summaries() -> None:
    text = CliRunner().invoke(main, ["--help"]).output
    listed = text.split("Commands:\n")[1].splitlines()
    names = [line.split()[0] for line in listed if line.strip()]
    assert names[:len(WORKFLOW)] == WORKFLOW
    for line in listed:
        summary = line.split(None, 1)[1]
        assert not summary.endswith("..."), line
        assert summary[0].isupper() and summary.endswith("."), line


def test_every_demo_option_has_help_and_policy_show_reads_no_store() -> None:
    demo = CliRunner().invoke(main, ["demo", "--help"]).output
    for option, words in (("--model-name", "Registered model"), ("--windows", "Weekly"),
                          ("--window-rows", "Rows per window")):
        assert words in demo.split(option, 1)[1].split("--", 1)[0], option
    show = CliRunner().invoke(main, ["policy", "show", "--tracking-uri", "sqlite:///x.db"])
    assert show.exit_code == 2 and "No such option '--tracking-uri'" in show.output
    assert CliRunner().invoke(main, ["policy", "show"]).exit_code == 0


def test_status_takes_a_name_or_any_uri_of_the_model(tracking_uri: str, profiled: str) -> None:
    client = registry.client_for(tracking_uri)
    client.set_registered_model_alias("churn", "champion", "1")
    outputs = {form: CliRunner().invoke(main, ["status", form, "--json"])
               for form in ("churn", "models:/churn", profiled, "models:/churn@champion")}
    assert all(r.exit_code == 0 for r in outputs.values()), {k: r.output for k, r in outputs.items()}
    assert len({r.stdout for r in outputs.values()}) == 1


@pytest.mark.parametrize("command", [["status", "nope"], ["history", "nope"],
                                     ["status", "models:/nope/1"],
                                     ["restore", "models:/nope/1", "--reason", "r"]])
def test_a_missing_model_names_the_store_that_was_searched(tracking_uri: str,
                                                            command: list[str]) -> None:
    result = CliRunner().invoke(main, [*command, "--tracking-uri", tracking_uri])
    assert result.exit_code == 1
    assert result.output.strip() == (
        f"mlflow-decay: error: {'models:/nope/1: ' if command[1] == 'models:/nope/1' else ''}"
        f"no registered model named 'nope' in {tracking_uri}")


def test_a_password_in_the_store_uri_is_not_shown() -> None:
    from mlflow import MlflowClient

    client = MlflowClient("http://ops:s3cret@127.0.0.1:1", "http://ops:s3cret@127.0.0.1:1")
    assert registry.model_versions.store_name(client) == "http://ops:***@127.0.0.1:1"


def test_the_python_api_prints_no_progress_bar_and_leaves_the_switch_alone(
        tracking_uri: str, profiled: str, capfd: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", raising=False)
    capfd.readouterr()
    md.evaluate(profiled, make_frame(400, 3), tracking_uri=tracking_uri)
    out, err = capfd.readouterr()
    assert "Downloading artifacts" not in out + err
    assert "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR" not in os.environ  # restored, not set for good
    monkeypatch.setenv("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "true")  # the user's choice wins
    with registry.model_versions.quiet_downloads():
        assert os.environ["MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"] == "true"


def test_profile_without_a_target_says_what_will_not_be_tracked(
        tracking_uri: str, new_version: Callable[..., str], tmp_path: Path) -> None:
    make_frame(600, 1).to_csv(tmp_path / "ref.csv", index=False)
    args = ["profile", new_version(), "--data", str(tmp_path / "ref.csv")]
    bare = CliRunner().invoke(main, [*args, "--exclude", "label,score"])
    assert bare.exit_code == 0, bare.output
    assert ("no --target: performance will not be tracked, neither realized nor estimated "
            "(both need the reference's labels); no --prediction: nor prediction drift"
            ) in bare.stdout
    assert "features: x1 (numerical), x2 (numerical), color (categorical), level" in bare.stdout
    scored = CliRunner().invoke(main, [*args, "--prediction", "score", "--exclude", "label"])
    assert "no --target: performance will not be tracked" in scored.stdout
    assert "no --prediction" not in scored.stdout
    labelled = CliRunner().invoke(main, [*args, "--prediction", "score", "--target", "label"])
    assert "no --target" not in labelled.stdout


@pytest.mark.server
def test_the_python_api_prints_no_run_links_from_a_tracking_server(
        mlflow_server: str, capfd: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    from conftest import _new_version, current_uri, reference_profile

    monkeypatch.delenv("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", raising=False)
    name = f"quiet-{os.getpid()}-{id(capfd)}"
    with current_uri(mlflow_server, monkeypatch):
        client = registry.client_for(mlflow_server)
        uri = f"models:/{name}/{_new_version(client, name)}"
        md.attach_profile(uri, reference_profile(), tracking_uri=mlflow_server)
        capfd.readouterr()
        report = md.evaluate(uri, make_frame(400, 3), tracking_uri=mlflow_server)
    out, err = capfd.readouterr()
    assert report.run_id and "View run" not in out + err and "View experiment" not in out + err
    assert "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT" not in os.environ


def test_a_new_store_made_by_the_python_api_logs_nothing(
        tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    uri = f"sqlite:///{tmp_path / 'fresh.db'}"
    capfd.readouterr()
    with pytest.raises(md.RegistryError, match="no registered model named 'nope'"):
        md.status("nope", tracking_uri=uri)
    out, err = capfd.readouterr()
    assert "database tables" not in out + err and (tmp_path / "fresh.db").exists()
