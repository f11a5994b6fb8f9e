"""Faults: a monitor interrupted at any point leaves no status change without its run, and its
next run completes the work without duplicate window runs."""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import functools
import http.client
import http.server
import itertools
import os
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from conftest import _free_port, _new_version, current_uri, make_frame, start_server, stop_server
from mlflow import MlflowClient

import mlflow_decay as md
from mlflow_decay import registry
from mlflow_decay.registry import experiments

pytestmark = [pytest.mark.server, pytest.mark.slow]

POLICY = "[hysteresis]\ndegrade_after = 1\nrecover_after = 2\n"


def _production(windows: int, rows: int) -> pd.DataFrame:
    """Windows that start healthy and then decay."""
    return pd.concat([make_frame(rows, seed=40 + i, shift=0.0 if i < windows // 3 else 1.2,
                                 flip=0.0 if i < windows // 3 else 0.3)
                      for i in range(windows)], ignore_index=True)


def _runs(client: MlflowClient, name: str) -> list[Any]:
    found = client.get_experiment_by_name(experiments.experiment_name_for(name))
    return [] if found is None else client.search_runs([found.experiment_id], max_results=1000)


@functools.cache
def _profile() -> md.Profile:
    return md.build_profile(make_frame(4000, 1), target="label", prediction="score",
                            band_chunks=0)


def _server_version(url: str, monkeypatch: pytest.MonkeyPatch) -> tuple[MlflowClient, str]:
    """A new profiled version of a new model on the server at ``url``: its client and URI."""
    name = f"churn-{uuid.uuid4().hex[:8]}"
    with current_uri(url, monkeypatch):
        client = registry.client_for(url)
        uri = f"models:/{name}/{_new_version(client, name)}"
        md.attach_profile(uri, _profile(), tracking_uri=url)
    return client, uri


def _check_complete(client: MlflowClient, uri: str, windows: int) -> registry.ModelVersionRef:
    """One finished run per window, nothing unfinished, and a status backed by its run."""
    ref = registry.resolve(client, uri)
    runs = [r for r in _runs(client, ref.name) if r.data.tags.get("mlflow_decay.kind") ==
            "evaluation" and r.data.tags.get("mlflow_decay.model_version") == ref.version]
    keys = [r.data.tags["mlflow_decay.window_key"] for r in runs]
    assert len(keys) == len(set(keys)) == windows
    assert all(r.info.status == "FINISHED" for r in runs)
    if registry.STATUS_RUN_ID in ref.tags:
        assert client.get_run(ref.tags[registry.STATUS_RUN_ID]).info.status == "FINISHED"
    return ref


def _crash_when_degrading(monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """Make registry changes fail half-way when they degrade a version (as a server that went
    away would); return the real ``registry.apply``."""
    real_apply = registry.apply

    def crash(client: MlflowClient, ref: registry.ModelVersionRef,
              actions: tuple[registry.Action, ...]) -> None:
        if any(a.key == registry.STATUS and a.value == "degraded" for a in actions):
            real_apply(client, ref, actions[:2])
            raise ConnectionError("the tracking server went away")
        real_apply(client, ref, actions)

    monkeypatch.setattr(registry, "apply", crash)
    return real_apply


def test_an_evaluation_cut_short_is_completed_by_its_rerun(
        tracking_uri: str, new_version: Callable[..., str], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "policy.toml").write_text("[hysteresis]\ndegrade_after = 1\n")
    uri = new_version()
    md.attach_profile(uri, _profile(), tracking_uri=tracking_uri)
    client = registry.client_for(tracking_uri)
    window = make_frame(2000, 4, shift=1.5, flip=0.3)
    args: dict[str, Any] = {"policy": tmp_path / "policy.toml", "window_end": "2026-11-25",
                            "tracking_uri": tracking_uri}
    real_apply = _crash_when_degrading(monkeypatch)
    with pytest.raises(ConnectionError):
        md.evaluate(uri, window, **args)
    assert registry.resolve(client, uri).status is None  # not without its run
    monkeypatch.setattr(registry, "apply", real_apply)
    again = md.evaluate(uri, window, **args)  # the scheduler retries the task
    assert again.skipped and again.status == "degraded"
    ref = _check_complete(client, uri, 1)
    assert ref.status == "degraded" and ref.tags[registry.STATUS_RUN_ID] == again.run_id


def test_registry_changes_cut_short_are_completed_by_the_next_run(
        tracking_uri: str, new_version: Callable[..., str], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text(POLICY)
    data = _production(6, 800)
    uris = [new_version(), new_version()]
    for uri in uris:
        md.attach_profile(uri, _profile(), tracking_uri=tracking_uri)
    client = registry.client_for(tracking_uri)
    # the twin runs without a fault: what the interrupted one must end up as
    md.monitor(uris[1], data, chunk_size=800, policy=policy, tracking_uri=tracking_uri)

    real_apply = _crash_when_degrading(monkeypatch)
    with pytest.raises(ConnectionError):
        md.monitor(uris[0], data, chunk_size=800, policy=policy, tracking_uri=tracking_uri)
    ref = registry.resolve(client, uris[0])
    assert ref.status != "degraded"  # the status tag is written last: never without its run
    monkeypatch.setattr(registry, "apply", real_apply)

    again = md.monitor(uris[0], data, chunk_size=800, policy=policy, tracking_uri=tracking_uri)
    # the two healthy windows and the interrupted one are done; the rest are evaluated
    assert [r.skipped for r in again] == [True, True, True, False, False, False]
    done, twin = _check_complete(client, uris[0], 6), _check_complete(client, uris[1], 6)
    for key in (registry.STATUS, registry.BREACH_STREAK, registry.CLEAN_STREAK,
                registry.LAST_STATUS):
        assert done.tags.get(key) == twin.tags.get(key), key
    assert done.status == "degraded"


def test_killed_server_mid_monitor_then_rerun_completes(tmp_path: Path, empty_store: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "server"
    root.mkdir()
    proc = start_server(root, _free_port(), store=empty_store)
    url = f"http://127.0.0.1:{proc.args[proc.args.index('--port') + 1]}"  # type: ignore[union-attr]
    windows = 6
    data = tmp_path / "prod.csv"
    _production(windows, 600).to_csv(data, index=False)
    (tmp_path / "policy.toml").write_text(POLICY)
    env = {**os.environ, "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1",
           "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1", "MLFLOW_HTTP_REQUEST_TIMEOUT": "10"}
    command = [sys.executable, "-m", "mlflow_decay.cli", "monitor", "", "--data", str(data),
               "--chunk-size", "600", "--policy", str(tmp_path / "policy.toml"),
               "--tracking-uri", ""]
    try:
        client, uri = _server_version(url, monkeypatch)
        name = registry.resolve(client, uri).name
        command[4], command[-1] = uri, url
        monitor = subprocess.Popen(command, env=env, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 120
        while len([r for r in _runs(client, name) if r.info.status == "FINISHED"]) < 2:
            assert monitor.poll() is None and time.monotonic() < deadline, monitor.stderr
            time.sleep(0.2)
        stop_server(proc, kill=True)  # mid-monitor, as a crash would
        out, err = monitor.communicate(timeout=120)
        assert monitor.returncode == 1, out + err
        assert "Traceback" not in err
        assert err.strip().splitlines()[-1].startswith("mlflow-decay: error: "), err

        proc = start_server(root, _free_port())
        url = f"http://127.0.0.1:{proc.args[proc.args.index('--port') + 1]}"  # type: ignore[union-attr]
        client = registry.client_for(url)
        command[-1] = url
        rerun = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
        assert rerun.returncode == 0, rerun.stderr
        ref = _check_complete(client, uri, windows)
        assert ref.status == "degraded"
    finally:
        stop_server(proc)


def test_two_monitors_at_once_move_the_version_once(
        mlflow_server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tracking_uri: str,
        new_version: Callable[..., str]) -> None:
    monkeypatch.delenv(registry.SETTLE_ENV)  # two processes: the lease's default wait
    client, uri = _server_version(mlflow_server, monkeypatch)
    name = registry.resolve(client, uri).name
    days = _production(6, 700)
    days["ts"] = pd.Timestamp("2026-05-01", tz="UTC") + pd.to_timedelta(
        pd.RangeIndex(len(days)) * (86400 * 6 // len(days)), unit="s")
    days.to_csv(tmp_path / "prod.csv", index=False)
    (tmp_path / "policy.toml").write_text("[hysteresis]\ndegrade_after = 2\nrecover_after = 2\n")
    command = [sys.executable, "-m", "mlflow_decay.cli", "monitor", uri, "--data",
               str(tmp_path / "prod.csv"), "--timestamp-column", "ts", "--window", "1D",
               "--policy", str(tmp_path / "policy.toml"), "--tracking-uri", mlflow_server]
    both = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(2)]
    for proc in both:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
    runs = [r for r in _runs(client, name) if r.data.tags.get("mlflow_decay.kind") == "evaluation"]
    assert all(r.info.status == "FINISHED" for r in runs)
    keys = [r.data.tags["mlflow_decay.window_key"] for r in runs]
    # every window logged, by one monitor or both: each looks a window up when it comes to it,
    # so one that the other finished logging just before is skipped (6 to 12 runs)
    assert len(set(keys)) == 6 and max(collections.Counter(keys).values()) <= 2
    moves = [r.data.tags.get("mlflow_decay.registry_actions", "") for r in runs]
    when = {}
    for status in ("healthy", "warning", "degraded"):  # each transition made once, no flapping
        movers = [r for r, m in zip(runs, moves, strict=True)
                  if f"mlflow_decay.status={status} " in m]
        assert len(movers) == 1, (status, moves)
        when[status] = pd.Timestamp(movers[0].data.tags["mlflow_decay.window_start"])
    # each window counted once: the same days as one monitor alone (a twin, on sqlite)
    twin = new_version()
    md.attach_profile(twin, _profile(), tracking_uri=tracking_uri)
    alone = md.monitor(twin, days, timestamp_column="ts", every="1D",
                       policy=tmp_path / "policy.toml", tracking_uri=tracking_uri)
    first = {r.status: pd.Timestamp(r.window_start) for r in reversed(alone)}
    assert when == {s: first[s] for s in when}
    ref = registry.resolve(client, uri)
    assert ref.status == "degraded" and registry.LOCK not in ref.tags


@dataclasses.dataclass(frozen=True)
class _Fault:
    """An answer the proxy gives instead of the server's; ``lost``: the request reached the
    server, its response did not come back (a gateway timing out after the work was done)."""

    status: int
    body: bytes
    lost: bool = False


Faults = Callable[[str, str, int], _Fault | None]


class _Proxy(http.server.ThreadingHTTPServer):
    """A loopback HTTP proxy in front of a real server that answers some requests itself:
    ``fault(method, path, n)`` (``n`` counts requests) returns a :class:`_Fault`, or ``None``
    to forward. ``answered`` logs every request's ``(method, path, status, time received)``."""

    def __init__(self, upstream: str, fault: Faults):
        super().__init__(("127.0.0.1", 0), _ProxyHandler)
        self.upstream = urllib.parse.urlsplit(upstream).netloc
        self.fault = fault
        self.answered: list[tuple[str, str, int, float]] = []
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _ProxyHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Proxy

    def _any(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        with self.server.lock:
            n = len(self.server.answered)
            self.server.answered.append((self.command, self.path, 0, time.monotonic()))
        fault = self.server.fault(self.command, self.path, n)
        if fault is None or fault.lost:
            upstream = http.client.HTTPConnection(self.server.upstream, timeout=60)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP}
            upstream.request(self.command, self.path, body=body, headers=headers)
            reply = upstream.getresponse()
            status, data = reply.status, reply.read()
            sent = [(k, v) for k, v in reply.getheaders() if k.lower() not in _HOP]
            upstream.close()
        if fault is not None:
            status, data = fault.status, fault.body
            sent = [("Content-Type", "application/json")]
        with self.server.lock:
            self.server.answered[n] = (*self.server.answered[n][:2], status,
                                       self.server.answered[n][3])
        self.send_response(status)
        for key, value in sent:
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _any

    def log_message(self, format: str, *args: Any) -> None:
        pass


_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}


@contextlib.contextmanager
def _proxy(upstream: str, fault: Faults) -> Iterator[_Proxy]:
    proxy = _Proxy(upstream, fault)
    thread = threading.Thread(target=proxy.serve_forever, daemon=True)
    thread.start()
    try:
        yield proxy
    finally:
        proxy.shutdown()
        proxy.server_close()


UNAVAILABLE = _Fault(503, b'{"error_code": "TEMPORARILY_UNAVAILABLE", "message": "overloaded"}')
TIMED_OUT = _Fault(504, b"gateway timeout", lost=True)


def test_transient_http_errors_are_retried_with_backoff(
        mlflow_server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tracking_uri: str,
        new_version: Callable[..., str]) -> None:
    # MLflow's own retry settings: a first retry at once, then waits of 1 s x 2, 4, ...
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "1")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_BACKOFF_JITTER", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "5")
    (tmp_path / "policy.toml").write_text(POLICY)
    data = _production(3, 500)
    client, flaky = _server_version(mlflow_server, monkeypatch)

    creates = itertools.count()

    def outage(method: str, path: str, n: int) -> _Fault | None:
        # one request in three fails, and once two in a row: a server restarting; the first
        # run created is refused, then gets lost on its way back, and is created again by
        # the retry
        if path.endswith("/runs/create") and (c := next(creates)) < 2:
            return (UNAVAILABLE, TIMED_OUT)[c]
        return UNAVAILABLE if n % 3 == 1 or n == 30 else None

    with _proxy(mlflow_server, outage) as proxy, current_uri(proxy.url, monkeypatch):
        reports = md.monitor(flaky, data, chunk_size=500, policy=tmp_path / "policy.toml",
                             tracking_uri=proxy.url)
    answered = proxy.answered
    failed = [(m, p) for m, p, status, _ in answered if status == 503]
    assert len(failed) > 20
    assert {"POST", "GET"} <= {m for m, _ in failed}
    assert any("/runs/create" in p for _, p in failed)
    assert any("mlflow-artifacts" in p for _, p in failed)  # artifact transfers too
    assert [p for _, p, status, _ in answered if status == TIMED_OUT.status] == [
        "/api/2.0/mlflow/runs/create"]
    # the request refused twice in a row was sent again after a backoff of 2 s
    (m30, p30, _, t30), (m31, p31, _, t31), (m32, p32, s32, t32) = answered[30:33]
    assert (m30, p30) == (m31, p31) == (m32, p32) and s32 == 200
    assert t32 - t31 >= 1.9 and t31 - t30 < 1.0
    # the same as without faults (a twin on a local store)
    steady = new_version()
    md.attach_profile(steady, _profile(), tracking_uri=tracking_uri)
    alone = md.monitor(steady, data, chunk_size=500, policy=tmp_path / "policy.toml",
                       tracking_uri=tracking_uri)
    assert [r.status for r in reports] == [r.status for r in alone]
    assert [r.metrics for r in reports] == [r.metrics for r in alone]
    assert _check_complete(client, flaky, 3).status == "degraded"


REFUSED = _Fault(403, b'{"error_code": "PERMISSION_DENIED", "message": "token of alice has expired"}')


@pytest.mark.parametrize("refused", ["/api/", "/model-versions/set-tag"],
                         ids=["every request", "registry writes"])
def test_permanent_http_errors_fail_at_once_with_the_servers_message(
        mlflow_server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, refused: str) -> None:
    # the default retry settings stay: a retried 403 would take minutes and show in the log
    client, uri = _server_version(mlflow_server, monkeypatch)
    ref = registry.resolve(client, uri)
    data = tmp_path / "w.csv"
    make_frame(2000, 9, shift=1.5).to_csv(data, index=False)

    def deny(method: str, path: str, n: int) -> _Fault | None:
        return REFUSED if refused in path else None

    with _proxy(mlflow_server, deny) as proxy:
        proc = subprocess.run(
            [sys.executable, "-m", "mlflow_decay.cli", "evaluate", uri, "--data", str(data),
             "--tracking-uri", proxy.url], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("mlflow-decay: error: ")
    assert "PERMISSION_DENIED: token of alice has expired" in last
    if refused != "/api/":  # the version's lease, refused: said as any registry change is
        assert f"{uri}: could not set tag mlflow_decay.lock=" in last
        assert "is logged with this window's verdict and the changes it plans, not made" in last
    denied = [(m, p) for m, p, status, _ in proxy.answered if status == 403]
    assert len(denied) == 1  # not retried
    after = registry.resolve(client, uri)
    assert after.tags == ref.tags and after.aliases == ref.aliases  # nothing changed
    runs = [r for r in _runs(client, ref.name) if r.data.tags.get("mlflow_decay.kind") ==
            "evaluation" and r.data.tags.get("mlflow_decay.model_version") == ref.version]
    assert all(r.info.status != "FINISHED" for r in runs)  # a run that did not apply is not done
