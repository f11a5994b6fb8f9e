"""A tracking server with MLflow's basic auth (``mlflow server --app-name basic-auth``): each
user's refusals say in one line who was refused and which permission is needed, a refused
registry change leaves its run marked unfinished and no lease behind, and no password shows."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from conftest import _free_port, _new_version, make_frame, reference_profile, start_server, stop_server
from mlflow import MlflowClient
from mlflow.server.auth.client import AuthServiceClient

import mlflow_decay as md
from mlflow_decay import registry
from mlflow_decay.cli import main
from mlflow_decay.registry import experiments

pytestmark = pytest.mark.server

ADMIN = ("admin", "adm1n-Secret-pw")
USERS = {"reader": "READ", "editor": "EDIT", "nobody": None}
_GRANTED: set[tuple[str, str]] = set()


def _password(user: str) -> str:
    return ADMIN[1] if user == "admin" else f"{user}-Pa55-word"


@pytest.fixture(scope="module")
def auth_server(tmp_path_factory: pytest.TempPathFactory, empty_store: Path) -> Iterator[str]:
    """One `mlflow server --app-name basic-auth` for the module (users without a grant have
    no permission), with the users of ``USERS``; its URL."""
    root = tmp_path_factory.mktemp("auth-server")
    (root / "auth.ini").write_text(
        "[mlflow]\ndefault_permission = NO_PERMISSIONS\n"
        f"database_uri = sqlite:///{root / 'auth.db'}\nadmin_username = {ADMIN[0]}\n"
        f"admin_password = {ADMIN[1]}\n"
        "authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n"
        "auth_cache_ttl_seconds = 60\n")  # a password hash checked once, not per request
    port = _free_port()
    proc = start_server(root, port, store=empty_store, args=("--app-name", "basic-auth"),
                        extra_env={"MLFLOW_AUTH_CONFIG_PATH": str(root / "auth.ini"),
                                   "MLFLOW_FLASK_SERVER_SECRET_KEY": uuid.uuid4().hex})
    url = f"http://127.0.0.1:{port}"
    try:
        with pytest.MonkeyPatch.context() as mp:
            _as("admin", mp)
            auth = AuthServiceClient(url)
            for user in USERS:
                auth.create_user(user, _password(user))
        yield url
    finally:
        stop_server(proc)


def _as(user: str, monkeypatch: pytest.MonkeyPatch, password: str | None = None) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", user)
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", password or _password(user))


#: A policy that degrades at the first breaching window, rolls @champion back and removes
#: @champion and @prod from a degraded version (a removal needs MANAGE).
ROLLBACK = ('[actions]\nrollback_aliases = ["champion"]\n'
            'remove_aliases = ["champion", "prod"]\n[hysteresis]\ndegrade_after = 1\n')


def _windows(tmp_path: Path, policy_text: str) -> tuple[Path, Path, Path]:
    """A policy file holding ``policy_text``, a window like the reference and a degraded one."""
    policy = tmp_path / "policy.toml"
    policy.write_text(policy_text)
    good, bad = tmp_path / "good.csv", tmp_path / "bad.csv"
    make_frame(500, 9).to_csv(good, index=False)
    make_frame(500, 10, shift=1.2, flip=0.3).to_csv(bad, index=False)
    return policy, good, bad


def _model(url: str, monkeypatch: pytest.MonkeyPatch, versions: int = 1) -> str:
    """A new model with ``versions`` profiled versions (the first @champion), registered by
    the admin, each user granted its permission on it and its experiments; its name."""
    _as("admin", monkeypatch)
    client = MlflowClient(url, registry_uri=url)
    name = f"churn-{uuid.uuid4().hex[:8]}"
    for _ in range(versions):
        md.attach_profile(f"models:/{name}/{_new_version(client, name)}", reference_profile(),
                          tracking_uri=url)
    client.set_registered_model_alias(name, "champion", "1")
    ids = [experiments.experiment_id(client, name), client.get_experiment_by_name("models")
           .experiment_id]
    auth = AuthServiceClient(url)
    for user, permission in USERS.items():
        if permission is not None:
            auth.grant_user_permission(user, "registered_model", name, permission)
            for exp in ids:
                if (user, exp) not in _GRANTED:  # the experiment "models" holds every model
                    auth.grant_user_permission(user, "experiment", exp, permission)
                    _GRANTED.add((user, exp))
    return name


def _cli(monkeypatch: pytest.MonkeyPatch, user: str, *args: str,
         password: str | None = None) -> Result:
    _as(user, monkeypatch, password)
    return CliRunner().invoke(main, list(args))


def _last(out: Result) -> str:
    assert "Traceback" not in out.stderr, out.stderr
    return out.stderr.strip().splitlines()[-1]


def test_refusals_and_bad_passwords_name_the_user_and_the_permission_needed(
        auth_server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    name = _model(auth_server, monkeypatch)
    data = tmp_path / "w.csv"
    make_frame(500, 9).to_csv(data, index=False)
    uri, where = f"models:/{name}@champion", ("--tracking-uri", auth_server)
    out = _cli(monkeypatch, "nobody", "status", name, *where)
    assert out.exit_code == 1
    assert _last(out).startswith(f"mlflow-decay: error: permission denied on {auth_server} for "
                                 "user 'nobody' (it needs READ on the registered model): ")
    assert "not found" not in out.stderr and "no registered model" not in out.stderr
    out = _cli(monkeypatch, "reader", "evaluate", uri, "--data", str(data), "--no-log", *where,
               password="not-the-password")
    assert out.exit_code == 1
    assert (f"{auth_server} refused the request: user 'reader' was not authenticated: check "
            "MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD") in _last(out)
    # a reader evaluates without logging, and reads the status and the history
    for args in (["evaluate", uri, "--data", str(data), "--no-log"], ["status", name],
                 ["history", name]):
        out = _cli(monkeypatch, "reader", *args, *where)
        assert out.exit_code == 0, out.stderr
        assert _password("reader") not in out.output + out.stderr
    out = _cli(monkeypatch, "reader", "evaluate", uri, "--data", str(data), *where)
    assert out.exit_code == 1
    assert (f"experiment 'mlflow-decay/{name}': permission denied on {auth_server} for user "
            "'reader' (it needs EDIT on this experiment, to log a run in it)") in _last(out)
    # READ on the model but not on its logged model's experiment: the profile is refused
    _as("admin", monkeypatch)
    auth = AuthServiceClient(auth_server)
    outsider = f"outsider-{name}"
    auth.create_user(outsider, _password(outsider))
    auth.grant_user_permission(outsider, "registered_model", name, "READ")
    out = _cli(monkeypatch, outsider, "evaluate", uri, "--data", str(data), "--no-log", *where)
    assert out.exit_code == 1
    assert "reference profile" in _last(out) and "cannot be read: permission denied" in _last(out)
    assert (f"for user {outsider!r} (it needs READ on the experiment of the version's logged "
            "model, which holds the profile): ") in _last(out)
    # a password in the URI is masked in the message
    secret = auth_server.replace("://", f"://nobody:{_password('nobody')}@")
    out = _cli(monkeypatch, "nobody", "status", name, "--tracking-uri", secret)
    assert out.exit_code == 1 and _password("nobody") not in out.output + out.stderr
    assert "user 'nobody'" in _last(out) and "nobody:***@" in _last(out)


def test_an_edit_user_leaves_no_lease_and_a_refused_degrade_names_manage_and_its_run(
        auth_server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    name = _model(auth_server, monkeypatch)
    client = MlflowClient(auth_server, registry_uri=auth_server)
    policy, good, bad = _windows(tmp_path, "[hysteresis]\ndegrade_after = 1\n")
    where = ("--tracking-uri", auth_server, "--policy", str(policy))
    uri = f"models:/{name}/1"
    out = _cli(monkeypatch, "editor", "evaluate", uri, "--data", str(good), "--window-start",
               "2026-01-01", "--window-end", "2026-01-02", *where)
    assert out.exit_code == 0, out.stderr
    _as("admin", monkeypatch)
    lease = client.get_model_version(name, "1").tags.get(registry.LOCK)
    # deleting a version tag needs MANAGE: the editor's lease is ended, not left to block
    assert lease is None or float(lease.rsplit("|", 1)[1]) < time.time()
    before = client.get_model_version(name, "1").tags
    out = _cli(monkeypatch, "editor", "evaluate", uri, "--data", str(bad), "--window-start",
               "2026-01-02", "--window-end", "2026-01-03", *where)
    assert out.exit_code == 1
    last = _last(out)
    assert "is locked" not in out.stderr
    assert (f"could not remove alias @champion from {uri}: permission denied on {auth_server} "
            "for user 'editor' (it needs MANAGE on the registered model): ") in last
    run_id = last.split("; run ")[1].split()[0]
    _as("admin", monkeypatch)
    assert client.get_run(run_id).info.status == "FAILED"
    after = client.get_model_version(name, "1")
    assert after.tags.get(registry.STATUS) == before.get(registry.STATUS) == "healthy"
    assert client.get_registered_model(name).aliases == {"champion": "1"}
    lease = after.tags.get(registry.LOCK)
    assert lease is None or float(lease.rsplit("|", 1)[1]) < time.time()
    # the same window evaluated again by the admin makes the changes the run planned
    out = _cli(monkeypatch, "admin", "evaluate", uri, "--data", str(bad), "--window-start",
               "2026-01-02", "--window-end", "2026-01-03", *where)
    assert out.exit_code == 0, out.stderr
    assert client.get_model_version(name, "1").tags[registry.STATUS] == "degraded"
    assert client.get_registered_model(name).aliases == {}
    assert client.get_run(run_id).info.status == "FINISHED"


def test_a_readers_refused_comparison_is_not_left_finished(
        auth_server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    name = _model(auth_server, monkeypatch, versions=2)
    data = tmp_path / "w.csv"
    make_frame(500, 9).to_csv(data, index=False)
    out = _cli(monkeypatch, "reader", "compare", f"models:/{name}/1", f"models:/{name}/2",
               "--data", str(data), "--window-start", "2026-01-01", "--window-end",
               "2026-01-02", "--tracking-uri", auth_server)
    assert out.exit_code == 1
    last = _last(out)
    assert (f"on models:/{name}/2: permission denied on {auth_server} for user 'reader' "
            "(it needs EDIT on the registered model): ") in last
    assert "did not count towards the promotion streak" in last
    _as("admin", monkeypatch)
    client = MlflowClient(auth_server)
    found = client.get_experiment_by_name(experiments.comparison_experiment_name_for(name))
    runs = client.search_runs([found.experiment_id])
    assert [r.info.status for r in runs] == ["FAILED"]
    out = _cli(monkeypatch, "reader", "compare", f"models:/{name}/1", f"models:/{name}/2",
               "--data", str(data), "--no-log", "--tracking-uri", auth_server)
    assert out.exit_code == 0, out.stderr
    # the reader made the comparisons' experiment (its own): a history that cannot read it
    # names it
    out = _cli(monkeypatch, "editor", "history", name, "--tracking-uri", auth_server)
    assert out.exit_code == 1
    assert (f"experiment 'mlflow-decay/{name}/compare': permission denied on {auth_server} for "
            "user 'editor' (it needs READ on this experiment): ") in _last(out)


def test_a_refused_alias_removal_leaves_a_rollback_unmade(
        auth_server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A degraded version's @champion moves to a healthy version (EDIT) and its @prod is
    removed (MANAGE): the editor's refused removal leaves both aliases where they were and no
    rollback tag, as the run's message says (its changes not made)."""
    name = _model(auth_server, monkeypatch, versions=2)
    client = MlflowClient(auth_server, registry_uri=auth_server)
    for alias in ("champion", "prod"):
        client.set_registered_model_alias(name, alias, "2")
    policy, good, bad = _windows(tmp_path, ROLLBACK)
    where = ("--tracking-uri", auth_server, "--policy", str(policy), "--window-start",
             "2026-01-01", "--window-end", "2026-01-02")
    out = _cli(monkeypatch, "editor", "evaluate", f"models:/{name}/1", "--data", str(good), *where)
    assert out.exit_code == 0, out.stderr  # version 1 is healthy: the rollback's target
    uri = f"models:/{name}/2"
    out = _cli(monkeypatch, "editor", "evaluate", uri, "--data", str(bad), *where)
    assert out.exit_code == 1
    assert (f"could not remove alias @prod from {uri}: permission denied on {auth_server} for "
            "user 'editor' (it needs MANAGE on the registered model): ") in _last(out)
    assert "changes it plans, not made" in _last(out)
    _as("admin", monkeypatch)
    assert client.get_registered_model(name).aliases == {"champion": "2", "prod": "2"}
    for version in ("1", "2"):
        tags = client.get_model_version(name, version).tags
        assert registry.ROLLED_BACK_TO not in tags and registry.ROLLED_BACK_FROM not in tags
    assert client.get_model_version(name, "2").tags.get(registry.STATUS) is None
    # status says the degraded verdict waits (the version's stage is still none)
    run_id = _last(out).split("; run ")[1].split()[0]
    shown = _cli(monkeypatch, "editor", "status", name, "--tracking-uri", auth_server)
    assert shown.exit_code == 0, shown.stderr
    assert shown.stdout.splitlines()[-1] == (
        f"v2: the degraded verdict of window 2026-01-01 → 01-02 (run {run_id}) is logged, its "
        "registry changes not made (refused by the server, or cut short): the version's next "
        "evaluation by a user allowed to make them makes them first")
    rows = md.status(name, tracking_uri=auth_server)
    assert [r["unapplied"] for r in rows] == [{
        "run_id": run_id, "verdict": "degraded", "window": {
            "start": "2026-01-01T00:00:00+00:00", "end": "2026-01-02T00:00:00+00:00"}}, None]
    # the admin's next evaluation makes the planned changes, all of them
    out = _cli(monkeypatch, "admin", "evaluate", uri, "--data", str(bad), *where)
    assert out.exit_code == 0, out.stderr
    assert client.get_registered_model(name).aliases == {"champion": "1"}
    assert client.get_model_version(name, "2").tags[registry.STATUS] == "degraded"
    assert [r["unapplied"] for r in md.status(name, tracking_uri=auth_server)] == [None, None]


def test_the_python_api_says_a_refusal_in_the_clis_line_not_mlflows_exception(
        auth_server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    name = _model(auth_server, monkeypatch, versions=2)
    frame = make_frame(500, 9)
    first, second = f"models:/{name}/1", f"models:/{name}/2"
    calls = {
        "status": lambda: md.status(name, tracking_uri=auth_server),
        "history": lambda: md.history(name, tracking_uri=auth_server),
        "load_profile": lambda: md.load_profile(first, tracking_uri=auth_server),
        "evaluate": lambda: md.evaluate(first, frame, log=False, tracking_uri=auth_server),
        "compare": lambda: md.compare(frame, [first, second], log=False,
                                      tracking_uri=auth_server),
    }
    _as("nobody", monkeypatch)
    for call in calls.values():
        with pytest.raises(md.RegistryError) as refused:
            call()
        assert str(refused.value).startswith(
            f"permission denied on {auth_server} for user 'nobody' (it needs READ on the "
            "registered model): ")
    _as("reader", monkeypatch, "not-the-password")
    with pytest.raises(md.RegistryError, match="user 'reader' was not authenticated: check "
                       "MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD"):
        calls["status"]()
    _as("reader", monkeypatch)
    assert calls["evaluate"]().status == "healthy"  # a reader evaluates without logging
    with pytest.raises(md.RegistryError, match="for user 'reader' \\(it needs EDIT on this "
                       "experiment, to log a run in it\\)"):
        md.evaluate(first, frame, window_start="2026-01-01", window_end="2026-01-02",
                    tracking_uri=auth_server)


def test_an_experiment_the_server_will_not_show_is_named(
        auth_server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The comparisons' experiment made by the editor, the windows' by the admin: a reader
    comparing, and a user with READ on the model only asking for its history, are told which
    experiment they cannot read."""
    name = _model(auth_server, monkeypatch, versions=2)
    data = tmp_path / "w.csv"
    make_frame(500, 9).to_csv(data, index=False)
    args = ("compare", f"models:/{name}/1", f"models:/{name}/2", "--data", str(data),
            "--tracking-uri", auth_server)
    assert _cli(monkeypatch, "editor", *args).exit_code == 0
    out = _cli(monkeypatch, "reader", *args)
    assert out.exit_code == 1
    assert (f"error: experiment 'mlflow-decay/{name}/compare': permission denied on "
            f"{auth_server} for user 'reader' (it needs READ on this experiment): ") in _last(out)
    _as("admin", monkeypatch)
    modeller = f"modeller-{name}"
    AuthServiceClient(auth_server).create_user(modeller, _password(modeller))
    AuthServiceClient(auth_server).grant_user_permission(modeller, "registered_model", name,
                                                         "READ")
    out = _cli(monkeypatch, modeller, "history", name, "--tracking-uri", auth_server)
    assert out.exit_code == 1
    assert (f"error: experiment 'mlflow-decay/{name}': permission denied on {auth_server} for "
            f"user {modeller!r} (it needs READ on this experiment): ") in _last(out)


def test_status_without_read_on_the_windows_experiment_names_the_run_and_the_experiment(
        auth_server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    name = _model(auth_server, monkeypatch)
    data = tmp_path / "w.csv"
    make_frame(500, 9).to_csv(data, index=False)
    modeller = f"modeller-{name}"
    auth = AuthServiceClient(auth_server)
    auth.create_user(modeller, _password(modeller))
    auth.grant_user_permission(modeller, "registered_model", name, "READ")
    where = ("--tracking-uri", auth_server)
    out = _cli(monkeypatch, modeller, "status", name, *where)  # nothing evaluated yet
    assert out.exit_code == 0, out.stderr
    out = _cli(monkeypatch, "editor", "evaluate", f"models:/{name}/1", "--data", str(data),
               "--window-start", "2026-01-01", "--window-end", "2026-01-02", *where)
    assert out.exit_code == 0, out.stderr
    out = _cli(monkeypatch, modeller, "status", name, *where)
    assert out.exit_code == 1
    assert re.search(
        f"error: models:/{name}/1: the run of its last window, [0-9a-f]{{32}}, cannot be read "
        f"\\(it is in experiment 'mlflow-decay/{name}' unless logged with --experiment\\): "
        f"permission denied on {auth_server} for user {modeller!r} \\(it needs READ on the "
        "experiment of the version's window runs\\): ", _last(out)), _last(out)
    assert _cli(monkeypatch, "reader", "status", name, *where).exit_code == 0


def test_a_refused_rollback_completed_later_moves_no_alias_moved_by_hand_since(
        auth_server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The editor's refused degrade planned @champion's rollback to version 1; the admin
    then moved @champion to version 3 by hand. The admin's next evaluation completes the
    refused run's plan without taking @champion from version 3."""
    name = _model(auth_server, monkeypatch, versions=3)
    client = MlflowClient(auth_server, registry_uri=auth_server)
    for alias in ("champion", "prod"):
        client.set_registered_model_alias(name, alias, "2")
    policy, good, bad = _windows(tmp_path, ROLLBACK)
    where = ("--tracking-uri", auth_server, "--policy", str(policy))
    day = ("--window-start", "2026-01-01", "--window-end", "2026-01-02")
    assert _cli(monkeypatch, "editor", "evaluate", f"models:/{name}/1", "--data", str(good),
                *where, *day).exit_code == 0
    uri = f"models:/{name}/2"
    out = _cli(monkeypatch, "editor", "evaluate", uri, "--data", str(bad), *where, *day)
    assert out.exit_code == 1
    run_id = _last(out).split("; run ")[1].split()[0]
    # the editor's next window: refused again, saying it is the earlier window's plan
    next_day = ("--window-start", "2026-01-02", "--window-end", "2026-01-03")
    out = _cli(monkeypatch, "editor", "evaluate", uri, "--data", str(good), *where, *next_day)
    assert out.exit_code == 1
    assert (f"could not remove alias @prod from {uri}: permission denied on {auth_server} for "
            "user 'editor' (it needs MANAGE on the registered model): ") in _last(out)
    assert (f"; this change is planned by run {run_id} of the earlier window 2026-01-01 → "
            "01-02, not finished, which the version's next evaluation completes first: nothing "
            "of this evaluation was logged") in _last(out)
    _as("admin", monkeypatch)
    found = client.search_runs([experiments.experiment_id(client, name)],
                               f"tags.`{registry.MODEL_VERSION}` = '2'")
    assert [r.info.run_id for r in found] == [run_id]
    client.set_registered_model_alias(name, "champion", "3")  # a person's choice, since
    out = _cli(monkeypatch, "admin", "evaluate", uri, "--data", str(bad), *where, *next_day)
    assert out.exit_code == 0, out.stderr
    assert client.get_registered_model(name).aliases == {"champion": "3"}
    assert client.get_model_version(name, "2").tags[registry.STATUS] == "degraded"
    assert registry.ROLLED_BACK_FROM not in client.get_model_version(name, "1").tags


def test_a_run_the_server_will_not_let_a_user_log_names_its_experiment(
        auth_server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A user with EDIT on the model but READ only on its experiments is refused the
    comparison's run and the window's run, each naming the experiment, before any change."""
    name = _model(auth_server, monkeypatch, versions=2)
    data = tmp_path / "w.csv"
    make_frame(500, 9).to_csv(data, index=False)
    where = ("--tracking-uri", auth_server, "--window-start", "2026-01-01", "--window-end",
             "2026-01-02")
    compare = ("compare", f"models:/{name}/1", f"models:/{name}/2", "--data", str(data),
               "--promote", *where)
    assert _cli(monkeypatch, "editor", *compare).exit_code == 0  # makes .../compare
    _as("admin", monkeypatch)
    analyst = f"analyst-{name}"
    auth = AuthServiceClient(auth_server)
    auth.create_user(analyst, _password(analyst))
    auth.grant_user_permission(analyst, "registered_model", name, "EDIT")
    client = MlflowClient(auth_server, registry_uri=auth_server)
    for exp in ("models", f"mlflow-decay/{name}", f"mlflow-decay/{name}/compare"):
        auth.grant_user_permission(analyst, "experiment",
                                   client.get_experiment_by_name(exp).experiment_id, "READ")
    before = client.get_model_version(name, "2").tags
    for args, exp in ((compare, f"mlflow-decay/{name}/compare"),
                      (("evaluate", f"models:/{name}/1", "--data", str(data), *where),
                       f"mlflow-decay/{name}")):
        out = _cli(monkeypatch, analyst, *args)
        assert out.exit_code == 1
        assert (f"error: experiment {exp!r}: permission denied on {auth_server} for user "
                f"{analyst!r} (it needs EDIT on this experiment, to log a run in it): "
                ) in _last(out)
    _as("admin", monkeypatch)
    assert client.get_model_version(name, "2").tags == before
    assert client.get_registered_model(name).aliases == {"champion": "1"}


def test_no_rollback_goes_to_a_version_whose_degraded_verdict_waits_refused(
        auth_server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Version 3's degrade was refused (its @prod removal needs MANAGE): its tags still say
    healthy, but @champion's rollback from version 2 goes to version 1, not to it."""
    name = _model(auth_server, monkeypatch, versions=3)
    client = MlflowClient(auth_server, registry_uri=auth_server)
    client.set_registered_model_alias(name, "champion", "2")
    client.set_registered_model_alias(name, "prod", "3")
    policy, good, bad = _windows(tmp_path, ROLLBACK)
    where = ("--tracking-uri", auth_server, "--policy", str(policy))
    for version, data, day, code in (("1", good, 1, 0), ("3", good, 1, 0), ("3", bad, 2, 1),
                                     ("2", bad, 2, 0)):
        out = _cli(monkeypatch, "editor", "evaluate", f"models:/{name}/{version}", "--data",
                   str(data), *where, "--window-start", f"2026-01-0{day}", "--window-end",
                   f"2026-01-0{day + 1}")
        assert out.exit_code == code, out.stderr
    _as("admin", monkeypatch)
    assert client.get_model_version(name, "3").tags[registry.STATUS] == "healthy"
    assert client.get_registered_model(name).aliases == {"champion": "1", "prod": "3"}
