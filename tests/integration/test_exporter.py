"""``mlflow-decay exporter``: a scrape shows what the registry holds, in Prometheus' own parser;
a real Prometheus scrapes it and fires the example alert; it keeps serving while the tracking
server is down; the example rules and dashboard use only names it exports."""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from conftest import (
    _free_port,
    frame_profile,
    make_frame,
    reference_profile,
    registry_snapshot,
    start_server,
    stop_server,
)
from prometheus_client.openmetrics.parser import text_string_to_metric_families as openmetrics_families
from prometheus_client.parser import text_string_to_metric_families

import mlflow_decay as md
from mlflow_decay import registry
from mlflow_decay.cli import main
from mlflow_decay.exporter import (
    DEFAULT_METRICS,
    DecayCollector,
    Exporter,
    Snapshot,
    VersionState,
    _version_metrics,
    read_snapshot,
    serve,
)

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
ALERTS = EXAMPLES / "prometheus" / "alerts.yml"
DASHBOARD = EXAMPLES / "grafana" / "mlflow-decay.json"
#: (name, labels) -> value
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@dataclass(frozen=True)
class Store:
    """A store where churn v1 decayed (three windows, the last two drifted), v2 is healthy and
    holds @champion, v3 has a profile and no verdict yet."""

    uri: str
    degraded: str
    healthy: str
    fresh: str


@pytest.fixture
def store(tracking_uri: str, profiled: str, new_version: Callable[..., str]) -> Store:
    days = ["2026-03-01", "2026-03-02", "2026-03-03", "2026-03-04"]
    for i, (shift, flip) in enumerate([(0.0, 0.0), (1.5, 0.3), (1.5, 0.3)]):
        md.evaluate(profiled, make_frame(2000, 10 + i, shift=shift, flip=flip),
                    window_start=days[i], window_end=days[i + 1], tracking_uri=tracking_uri)
    healthy, fresh = new_version(), new_version()
    for uri in (healthy, fresh):
        md.attach_profile(uri, reference_profile(), tracking_uri=tracking_uri)
    md.evaluate(healthy, make_frame(2000, 20), window_start=days[2], window_end=days[3],
                tracking_uri=tracking_uri)
    registry.client_for(tracking_uri).set_registered_model_alias("churn", "champion", "2")
    return Store(tracking_uri, profiled, healthy, fresh)


@contextlib.contextmanager
def running(uri: str, **options: Any) -> Iterator[Exporter]:
    exporter = serve(uri, port=0, **options)
    try:
        yield exporter
    finally:
        exporter.close()


def scrape(url: str, openmetrics: bool = False) -> Samples:
    """Every sample of a scrape, parsed by prometheus_client's parser for the format."""
    accept = {"Accept": "application/openmetrics-text; version=1.0.0"} if openmetrics else {}
    with urllib.request.urlopen(urllib.request.Request(url, headers=accept), timeout=10) as resp:
        text = resp.read().decode()
    families = (openmetrics_families if openmetrics else text_string_to_metric_families)(text)
    return {(s.name, tuple(sorted(s.labels.items()))): s.value for f in families for s in f.samples}


def of(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, tuple(sorted(labels.items()))))


def _version(uri: str) -> str:
    return uri.rsplit("/", 1)[1]


def test_a_scrape_shows_the_registry_and_reads_it_again_after_the_interval(store: Store) -> None:
    client = registry.client_for(store.uri)
    before = registry_snapshot(store.uri)
    last_logged: dict[str, dict[str, float]] = {}
    with running(store.uri, interval=3600) as exporter:
        for openmetrics in (False, True):
            got = scrape(exporter.url, openmetrics)
            assert of(got, "mlflow_decay_exporter_up") == 1
            assert of(got, "mlflow_decay_model_versions", model="churn") == 3
            for uri, status in ((store.degraded, "degraded"), (store.healthy, "healthy")):
                v = _version(uri)
                assert {s: of(got, "mlflow_decay_version_status", model="churn", version=v,
                              status=s) for s in ("healthy", "warning", "degraded")} == {
                    s: float(s == status) for s in ("healthy", "warning", "degraded")}
                ref = registry.resolve(client, uri)
                stamp = registry.last_window(ref)[0]
                assert of(got, "mlflow_decay_last_evaluation_timestamp_seconds", model="churn",
                          version=v) == md_seconds(ref.tags[registry.LAST_EVALUATED_AT])
                assert of(got, "mlflow_decay_last_window_end_timestamp_seconds", model="churn",
                          version=v) == md_seconds(stamp.end)  # type: ignore[union-attr]
                for tag, name in ((registry.BREACH_STREAK, "breach"), (registry.CLEAN_STREAK, "clean")):
                    assert of(got, f"mlflow_decay_{name}_streak", model="churn", version=v) == \
                        int(ref.tags[tag])
                logged = client.get_run(ref.tags[registry.LAST_RUN_ID]).data.metrics
                last_logged[v] = logged
                exported = {dict(k[1])["metric"]: value for k, value in got.items()
                            if k[0] == "mlflow_decay_window_metric" and dict(k[1])["version"] == v}
                assert exported == {m: logged[m] for m in DEFAULT_METRICS if m in logged}
                assert len(exported) == 5
                # labels in the window: the last window is the last one with labels
                assert of(got, "mlflow_decay_labelled_window_metric", model="churn", version=v,
                          metric="perf.roc_auc") == logged["perf.roc_auc"]
            assert of(got, "mlflow_decay_breach_streak", model="churn", version="1") == 2
            assert of(got, "mlflow_decay_version_alias", model="churn", version="2",
                      alias="champion") == 1
            # a version without a verdict: every stage 0, no time, no window metric
            fresh = _version(store.fresh)
            assert [of(got, "mlflow_decay_version_status", model="churn", version=fresh, status=s)
                    for s in ("healthy", "warning", "degraded")] == [0, 0, 0]
            assert not [k for k in got if dict(k[1]).get("version") == fresh
                        and k[0] != "mlflow_decay_version_status"]

        # restored by hand: served from the cache until the next reading, then healthy with the
        # metrics of the last evaluated window (the restore run has none)
        md.restore(store.degraded, "looked at it", tracking_uri=store.uri)
        degraded = {"model": "churn", "version": "1", "status": "degraded"}
        assert of(scrape(exporter.url), "mlflow_decay_version_status", **degraded) == 1
        assert exporter.collector.refresh()
        got = scrape(exporter.url)
        assert of(got, "mlflow_decay_version_status", **degraded) == 0
        assert of(got, "mlflow_decay_version_status", **{**degraded, "status": "healthy"}) == 1
        assert of(got, "mlflow_decay_breach_streak", model="churn", version="1") == 0
        assert of(got, "mlflow_decay_window_metric", model="churn", version="1",
                  metric="perf.roc_auc") == last_logged["1"]["perf.roc_auc"]
    after = registry_snapshot(store.uri)
    assert after["version tags"] != before["version tags"]  # the restore, not the exporter
    assert after["runs"] == before["runs"] + 1

    # globs and a list of models, one of them not registered
    snap = read_snapshot(client, ["churn", "nosuch"], ["drift.*.psi"])
    assert snap.models == {"churn": 3, "nosuch": 0}
    v1 = next(s for s in snap.versions if s.version == "1")
    assert set(v1.metrics) == {f"drift.{c}.psi" for c in
                               ("x1", "x2", "color", "level", "prediction", "target")}
    assert v1.status == "healthy" and v1.aliases == ()
    assert read_snapshot(client, ["nosuch"]).versions == ()


def test_realized_metrics_of_the_last_window_with_late_labels_are_exported(
        tracking_uri: str, new_version: Callable[..., str]) -> None:
    """Before: only the last window's metrics were exported, and the last window never has its
    labels yet when they arrive late: a realized perf.* never reached Prometheus."""
    from sklearn.metrics import roc_auc_score

    uri = new_version()
    md.attach_profile(uri, frame_profile(3000, 1, ids="r", target="label", prediction="score",
                                         id_column="id", band_chunks=0),
                      tracking_uri=tracking_uri)
    days = [make_frame(800, 30 + d).assign(id=[f"d{d}-{i}" for i in range(800)]) for d in range(3)]
    for d, day in enumerate(days):
        md.evaluate(uri, day.drop(columns="label"), window_start=f"2026-03-0{d + 1}",
                    window_end=f"2026-03-0{d + 2}", tracking_uri=tracking_uri)
        if d == 1:  # the first day's labels arrive while the third is not evaluated yet
            md.attach_labels(uri, days[0][["id", "label"]], tracking_uri=tracking_uri)
    client = registry.client_for(tracking_uri)
    state = next(s for s in read_snapshot(client, ["churn"]).versions
                 if s.version == _version(uri))
    assert "perf.roc_auc" not in state.metrics and "est.roc_auc" in state.metrics
    assert state.labelled["perf.roc_auc"] == pytest.approx(
        roc_auc_score(days[0]["label"], days[0]["score"]))
    assert state.labelled["labels.coverage"] == 1.0 and set(state.labelled) == {
        "perf.roc_auc", "labels.coverage"}
    assert state.labelled_window_end == md_seconds("2026-03-02")
    samples = {s.labels.get("metric", ""): s.value for f in _version_metrics([state])
               for s in f.samples if s.name.startswith("mlflow_decay_labelled_window")}
    assert samples == {**state.labelled, "": state.labelled_window_end}


def md_seconds(text: str | None) -> float:
    from mlflow_decay.core.times import parse_time

    stamp = parse_time(text)
    assert stamp is not None, text
    return stamp.timestamp()


def _until(check: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {seconds} s: {what}")
        time.sleep(0.3)


@pytest.mark.server
def test_it_keeps_serving_the_last_values_while_the_tracking_server_is_down(
        store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "5")
    root = tmp_path / "server"
    root.mkdir()
    port = _free_port()
    proc = start_server(root, port, store=Path(store.uri.removeprefix("sqlite:///")))
    try:
        with running(f"http://127.0.0.1:{port}", interval=1) as exporter:
            degraded = {"model": "churn", "version": "1", "status": "degraded"}
            got = scrape(exporter.url)
            assert of(got, "mlflow_decay_exporter_up") == 1
            assert of(got, "mlflow_decay_version_status", **degraded) == 1
            stop_server(proc, kill=True)
            _until(lambda: of(scrape(exporter.url), "mlflow_decay_exporter_up") == 0, 30,
                   "exporter_up 0 once the server is killed")
            got = scrape(exporter.url)
            assert of(got, "mlflow_decay_version_status", **degraded) == 1  # the last values
            errors = of(got, "mlflow_decay_exporter_refresh_errors_total")
            assert errors is not None and errors >= 1
            proc = start_server(root, port)
            _until(lambda: of(scrape(exporter.url), "mlflow_decay_exporter_up") == 1, 30,
                   "exporter_up 1 once the server is back")
    finally:
        stop_server(proc)


def _get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as resp:
        return json.loads(resp.read())


def _dashboard_queries() -> list[str]:
    board = json.loads(DASHBOARD.read_text())
    return [t["expr"] for p in board["panels"] for t in p.get("targets", ())]


@pytest.mark.server
@pytest.mark.skipif(shutil.which("prometheus") is None,
                    reason="prometheus is not installed (Debian package prometheus; .ci/run "
                           "installs it)")
def test_a_real_prometheus_scrapes_it_and_fires_the_degraded_alert(store: Store,
                                                                     tmp_path: Path) -> None:
    with running(store.uri, interval=1) as exporter:
        target = exporter.url.removeprefix("http://").removesuffix("/metrics")
        shutil.copy(ALERTS, tmp_path / "alerts.yml")
        (tmp_path / "prometheus.yml").write_text(yaml.safe_dump({
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": ["alerts.yml"],
            "scrape_configs": [{"job_name": "mlflow-decay", "static_configs": [{"targets": [target]}]}],
        }))
        port = _free_port()
        log = open(tmp_path / "prometheus.log", "wb")  # noqa: SIM115
        proc = subprocess.Popen(
            ["prometheus", f"--config.file={tmp_path / 'prometheus.yml'}",
             f"--web.listen-address=127.0.0.1:{port}", f"--storage.tsdb.path={tmp_path / 'tsdb'}"],
            stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path, start_new_session=True)
        log.close()
        api = f"http://127.0.0.1:{port}/api/v1"
        try:
            query = 'mlflow_decay_version_status{status="degraded"} == 1'

            def degraded() -> list[dict[str, str]]:
                with contextlib.suppress(OSError):
                    found = _get_json(f"{api}/query?query={urllib.parse.quote(query)}")
                    return [r["metric"] for r in found["data"]["result"]]
                assert proc.poll() is None, (tmp_path / "prometheus.log").read_text()[-2000:]
                return []

            _until(lambda: bool(degraded()), 30, "Prometheus sees the degraded version")
            assert [(m["model"], m["version"]) for m in degraded()] == [("churn", "1")]
            rules = _get_json(f"{api}/rules")["data"]["groups"][0]["rules"]
            assert {r["name"]: r["health"] for r in rules} == {
                "MLflowDecayVersionDegraded": "ok", "MLflowDecayVersionWarningForLong": "ok",
                "MLflowDecayNotEvaluated": "ok", "MLflowDecayNeverEvaluated": "ok",
                "MLflowDecayExporterCannotReadRegistry": "ok"}

            def firing() -> list[tuple[str, str, str]]:
                alerts = _get_json(f"{api}/alerts")["data"]["alerts"]
                return [(a["labels"]["alertname"], a["labels"].get("version", ""), a["state"])
                        for a in alerts]

            _until(lambda: bool(firing()), 15, "the degraded alert fires")
            assert firing() == [("MLflowDecayVersionDegraded", "1", "firing")]
            for expr in _dashboard_queries():  # every panel's query has data
                found = _get_json(f"{api}/query?query={urllib.parse.quote(expr.replace('$model', '.*'))}")
                assert found["status"] == "success" and found["data"]["result"], expr
        finally:
            stop_server(proc)


# -- the command line ----------------------------------------------------------------------------
def _one_line_error(args: list[str], code: int) -> str:
    out = CliRunner().invoke(main, ["exporter", *args])
    assert out.exit_code == code, out.output + out.stderr
    assert "Traceback" not in out.output + out.stderr
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    if code == 1:  # a DecayError or failure: one line
        assert len(lines) == 1, out.stderr
    else:  # a usage error: click's usage, then one line
        assert lines[-1].startswith("Error: "), out.stderr
    return lines[-1]


def test_bad_input_gets_one_line(tracking_uri: str, tmp_path: Path,
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    uri = ["--tracking-uri", tracking_uri]
    assert "70000 is not in the range 0<=x<=65535" in _one_line_error([*uri, "--port", "70000"], 2)
    assert "0.5 is not in the range x>=1" in _one_line_error([*uri, "--interval", "0.5"], 2)
    assert "'perf.auc': unknown metric name" in _one_line_error(
        [*uri, "--metrics", "drift.share,perf.auc"], 2)
    missing = tmp_path / "nothing" / "mlflow.db"
    assert _one_line_error(["--tracking-uri", f"sqlite:///{missing}"], 1) == (
        f"mlflow-decay: error: tracking store sqlite:///{missing}: no such database file "
        f"({missing})")
    assert not missing.parent.exists()  # not created
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    down = f"http://127.0.0.1:{_free_port()}"
    assert _one_line_error(["--tracking-uri", down], 1) == (
        f"mlflow-decay: error: tracking server {down} cannot be reached (Connection refused)")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert _one_line_error([*uri, "--port", str(port)], 1) == (
            f"mlflow-decay: error: cannot listen on 127.0.0.1:{port}: Address already in use")


def test_the_command_warns_of_an_unknown_model_serves_and_stops_on_sigterm(tracking_uri: str,
                                                                           profiled: str) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "mlflow_decay.cli", "exporter", "--models", "churn,nosuch",
         "--port", "0", "--interval", "1", "--tracking-uri", tracking_uri, "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stderr is not None
        lines = [proc.stdout.readline()]
        while lines[-1] not in ("}\n", ""):  # the JSON printed at start (it then serves)
            lines.append(proc.stdout.readline())
        assert lines[-1], "".join(lines) + proc.stderr.read()
        started = json.loads("".join(lines))
        assert started["models"] == {"churn": 1, "nosuch": 0}
        assert started["metrics"] == list(DEFAULT_METRICS) and started["interval"] == 1
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/metrics", started["url"])
        got = scrape(started["url"])
        assert of(got, "mlflow_decay_model_versions", model="nosuch") == 0
        assert of(got, "mlflow_decay_model_versions", model="churn") == 1
        assert of(got, "mlflow_decay_version_status", model="churn", version="1",
                  status="healthy") == 0
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
        warning = proc.stderr.read().strip()
        assert warning.startswith("mlflow-decay: warning: no registered model named 'nosuch'")
        assert warning.endswith(": exported as mlflow_decay_model_versions 0 until it is "
                                "registered") and "\n" not in warning
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_help_loads_no_prometheus_client() -> None:
    code = ("import sys\nfrom click.testing import CliRunner\nfrom mlflow_decay.cli import main\n"
            "out = CliRunner().invoke(main, ['exporter', '--help'])\n"
            "print(out.exit_code, 'prometheus_client' in sys.modules, 'mlflow' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["0", "False", "False"]


# -- the example rules and dashboard -------------------------------------------------------------
@pytest.mark.skipif(shutil.which("promtool") is None,
                    reason="promtool is not installed (Debian package prometheus; .ci/run "
                           "installs it)")
def test_the_alert_rules_pass_promtool_and_their_unit_tests() -> None:
    folder = ALERTS.parent
    for args in (["check", "rules", "alerts.yml"], ["test", "rules", "alerts_test.yml"]):
        out = subprocess.run(["promtool", *args], cwd=folder, capture_output=True, text=True)
        assert out.returncode == 0, out.stdout + out.stderr
        assert "SUCCESS" in out.stdout


def _exported_names() -> set[str]:
    """Every sample name the exporter can serve (a collector fed one version of each kind)."""
    snap = Snapshot((VersionState("m", "1", "degraded", 1.0, 1.0, 2, 0, {"drift.share": 0.5},
                                  ("champion",), {"perf.roc_auc": 0.9}, 1.0),), {"m": 1})
    collector = DecayCollector(lambda: snap)
    assert collector.refresh()
    return {s.name for family in collector.collect() for s in family.samples}


def test_the_rules_and_the_dashboard_use_only_names_the_exporter_serves() -> None:
    from mlflow_decay.cli.exporter import DEFAULT_METRICS as SPELLED_OUT

    assert SPELLED_OUT.split(",") == list(DEFAULT_METRICS)  # the CLI's, spelled out for --help
    names = _exported_names()
    assert {"mlflow_decay_version_status", "mlflow_decay_window_metric",
            "mlflow_decay_exporter_refresh_errors_total"} <= names
    rules = [r for g in yaml.safe_load(ALERTS.read_text())["groups"] for r in g["rules"]]
    exprs = {r["alert"]: r["expr"] for r in rules}
    queries = _dashboard_queries()
    assert len(queries) >= 6
    for expr in [*exprs.values(), *queries]:
        used = set(re.findall(r"\bmlflow_decay_\w+", expr))
        assert used and used <= names, f"{expr}: {sorted(used - names)}"
        assert re.findall(r'metric=~?"([^"]+)"', expr) == [] or all(
            m in DEFAULT_METRICS for found in re.findall(r'metric=~?"([^"]+)"', expr)
            for m in found.split("|")), expr
    readme = (EXAMPLES.parent / "README.md").read_text().split("## Ops dashboards")[1]
    documented = set(re.findall(r"`(mlflow_decay_\w+)`", readme.split("\n## ")[0]))
    assert documented == names
    board = json.loads(DASHBOARD.read_text())
    assert {v["name"] for v in board["templating"]["list"]} == {"datasource", "model"}
    ids = [p["id"] for p in board["panels"]]
    assert len(set(ids)) == len(ids)


def test_the_serving_line_counts_the_registered_models_only() -> None:
    from mlflow_decay.cli.exporter import serving_line
    from mlflow_decay.exporter import Snapshot

    line = serving_line("http://127.0.0.1:9/metrics", Snapshot((), {"churn": 2, "nosuch": 0}),
                        "sqlite:///m.db", 30)
    assert line == ("serving http://127.0.0.1:9/metrics: 0 version(s) of 1 model(s) from "
                    "sqlite:///m.db, read every 30 s (Ctrl-C to stop)")
