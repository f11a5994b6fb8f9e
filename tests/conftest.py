"""Shared fixtures: a real sqlite MLflow store per test, a real `mlflow server` per session."""

from __future__ import annotations

import os

# The workers are the parallelism (pytest-xdist: a process per core). OpenMP's and BLAS's own
# threads on top of them only wait for each other, many times slower on a busy machine: a
# regression's loss model took 7 s to fit on two OpenMP threads and 0.4 s on one. The
# libraries read these when they load (below), and the tests' subprocesses inherit them.
for _threads in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_threads, "1")

import contextlib
import functools
import gc
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient
from mlflow.store.db import utils as _db_utils

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")

import mlflow_decay as md
import mlflow_decay.plots
from mlflow_decay import registry

# Each test opens a store of its own, and MLflow checks a new store's schema against the head
# of its migration scripts, read anew from about 70 files every time (23 ms a store): the head
# is a fact of the installed MLflow, so a worker reads it once (the check itself still runs).
_db_utils._get_latest_schema_revision = functools.cache(_db_utils._get_latest_schema_revision)

# The cycle collector runs less often: the tests allocate much (MLflow, pandas, matplotlib)
# over a large heap, and collecting every 700 allocations cost 8 % of the suite's CPU time.
gc.set_threshold(20_000, 50, 100)
# What the imports above allocated lives as long as the session: out of the collector's sight.
gc.freeze()

RAM_DISK = Path("/dev/shm")


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    """Temporary directories on a RAM disk when the machine has one and none was given: each
    test's sqlite store commits (and its artifacts are written and removed) without waiting for
    the disk, about a tenth of the suite's time. The workers of ``-n`` are given theirs below it."""
    if (config.option.basetemp is None and not hasattr(config, "workerinput")
            and RAM_DISK.is_dir() and os.access(RAM_DISK, os.W_OK)):
        config.option.basetemp = tempfile.mkdtemp(prefix="mlflow-decay-tests-", dir=RAM_DISK)
        config.stash[_RAM_BASETEMP] = Path(config.option.basetemp)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """What the tests left is out of the collector's sight at exit too: pytest's last full
    collection (looking for unraisable exceptions) walked about 800,000 objects, 2 s a worker."""
    gc.freeze()


def pytest_unconfigure(config: pytest.Config) -> None:
    if _RAM_BASETEMP in config.stash:
        shutil.rmtree(config.stash[_RAM_BASETEMP], ignore_errors=True)


_RAM_BASETEMP = pytest.StashKey[Path]()


def make_frame(n: int, seed: int, shift: float = 0.0, flip: float = 0.0) -> pd.DataFrame:
    """Features, a score and labels: ``shift`` moves features, ``flip`` adds label noise."""
    rng = np.random.default_rng(seed)
    x1 = rng.normal(shift, 1, n)
    x2 = rng.lognormal(0.2 * shift, 0.5, n)
    tilt = 0.2 * min(shift, 1)
    color = rng.choice(["red", "green", "blue"], n, p=[0.5 - tilt, 0.3, 0.2 + tilt])
    level = rng.integers(0, 4, n)
    logit = 1.5 * x1 - 0.8 * np.log(x2) + 0.7 * (color == "red")
    score = 1 / (1 + np.exp(-logit))
    y = (rng.random(n) < score).astype(int)
    noisy = rng.random(n) < flip
    y[noisy] = 1 - y[noisy]
    return pd.DataFrame({"x1": x1, "x2": x2, "color": color, "level": level,
                         "score": score, "label": y})


def mixed_table(rows: int, seed: int, shift: float = 0.0) -> pd.DataFrame:
    """Numerical, count and categorical columns, binary labels ``y`` and noisy scores ``p``
    (1% of ``x`` missing): the table the out-of-core and Spark tests profile."""
    rng = np.random.default_rng(seed)
    x = rng.normal(shift, 1, rows)
    x[rng.random(rows) < 0.01] = np.nan
    frame = pd.DataFrame({
        "x": x, "z": rng.lognormal(0, 1, rows), "k": rng.poisson(3, rows).astype(float),
        "w": 0.5 * x + rng.normal(0, 1, rows),
        "city": rng.choice(["a", "b", "c", "d"], rows, p=[0.4, 0.3, 0.2, 0.1]),
        "y": rng.integers(0, 2, rows),
    })
    frame["p"] = np.clip(0.5 + 0.3 * (frame["y"] - 0.5) + rng.normal(0, 0.2, rows), 0, 1)
    return frame


def check_pr_auc_and_f1(found: dict[str, float], window: np.ndarray, p: np.ndarray,
                        threshold: float, tolerance: float) -> None:
    """The estimated ``est.pr_auc`` and ``est.f1`` of scores ``window`` decided at ``threshold``
    are within ``tolerance`` of the mean realized value over 20 label draws from the true
    probabilities ``p`` (scikit-learn's), and their bands cover it."""
    from sklearn import metrics as skm

    draws = np.random.default_rng(5).random((20, len(p))) < p  # the window's labels, 20 times
    for name, metric in (("pr_auc", lambda d: skm.average_precision_score(d, window)),
                         ("f1", lambda d: skm.f1_score(d, window >= threshold))):
        realized = np.mean([metric(d) for d in draws])
        assert abs(found[f"est.{name}"] - realized) < tolerance, (name, found, realized)
        assert found[f"est.{name}.lower"] <= realized <= found[f"est.{name}.upper"], name


@pytest.fixture
def reference() -> pd.DataFrame:
    return make_frame(5000, seed=1)


@pytest.fixture(scope="session")
def empty_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An sqlite MLflow store with its schema created once; tests copy it (migrations are slow)."""
    path = tmp_path_factory.mktemp("template") / "mlflow.db"
    with pytest.MonkeyPatch.context() as monkeypatch:
        # the Default experiment's artifact location is made from the working directory: the
        # template's, not the repository pytest runs in (runs logged to it landed there)
        monkeypatch.chdir(path.parent)
        MlflowClient(f"sqlite:///{path}").search_experiments()
    return path


@pytest.fixture
def tracking_uri(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, empty_store: Path) -> Iterator[str]:
    """A fresh sqlite store, also made MLflow's current URI (MLflow's own registry code reads
    the global URI when it resolves LoggedModel sources)."""
    shutil.copy(empty_store, tmp_path / "mlflow.db")
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.chdir(tmp_path)
    # one process per store: the version lease need not wait 0.2 s for a rival's write
    # (tests of two processes at once set the default back)
    monkeypatch.setenv(registry.SETTLE_ENV, "0.01")
    with current_uri(uri, monkeypatch):
        yield uri


@contextlib.contextmanager
def current_uri(uri: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Make ``uri`` MLflow's tracking and registry URI (environment and globals) for a while."""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    # MLflow's set_registry_uri exports the URI to child processes, and setting None does not
    # take it back: through monkeypatch, it is gone when the test ends
    monkeypatch.setenv("MLFLOW_REGISTRY_URI", uri)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    try:
        yield
    finally:
        mlflow.set_tracking_uri(None)  # type: ignore[arg-type]
        mlflow.set_registry_uri(None)  # type: ignore[arg-type]


@pytest.fixture
def runs_read(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many runs each ``MlflowClient.search_runs`` call returns, in call order (clear it
    before the calls to count)."""
    returned: list[int] = []
    search = MlflowClient.search_runs

    def counting(self: MlflowClient, *args: Any, **kwargs: Any) -> Any:
        found = search(self, *args, **kwargs)
        returned.append(len(found))
        return found

    monkeypatch.setattr(MlflowClient, "search_runs", counting)
    return returned


def _new_version(client: MlflowClient, name: str, logged_model: bool = True) -> str:
    try:
        client.get_registered_model(name)
    except Exception:
        client.create_registered_model(name)
    exp = client.get_experiment_by_name("models") or None
    exp_id = exp.experiment_id if exp else client.create_experiment("models")
    if logged_model:
        model = client.create_logged_model(exp_id, name="model")
        mv = client.create_model_version(name, source=f"models:/{model.model_id}",
                                         model_id=model.model_id)
    else:
        run = client.create_run(exp_id)
        mv = client.create_model_version(name, source=f"runs:/{run.info.run_id}/model",
                                         run_id=run.info.run_id)
    return str(mv.version)


@pytest.fixture
def new_version(tracking_uri: str) -> Callable[..., str]:
    """Register a new version of a model (a LoggedModel source by default); return its URI."""
    client = registry.client_for(tracking_uri)

    def make(name: str = "churn", logged_model: bool = True) -> str:
        return f"models:/{name}/{_new_version(client, name, logged_model)}"

    return make


@pytest.fixture
def profiled(tracking_uri: str, new_version: Callable[..., str]) -> str:
    """A version of model 'churn' with the reference profile attached; its URI."""
    uri = new_version()
    md.attach_profile(uri, reference_profile(), tracking_uri=tracking_uri)
    return uri


@functools.cache
def reference_profile() -> md.Profile:
    """The profile of the ``reference`` fixture's table, built once per session."""
    return frame_profile(5000, 1, target="label", prediction="score")


@functools.cache
def frame_profile(rows: int, seed: int, ids: str | None = None, **options: Any) -> md.Profile:
    """The profile of ``make_frame(rows, seed)`` built with ``options`` (its rows named
    ``f"{ids}{i}"`` in a column ``id`` when ``ids`` is given), built once per session for
    the tests that profile that table alike."""
    frame = make_frame(rows, seed)
    if ids is not None:
        frame = frame.assign(id=[f"{ids}{i}" for i in range(rows)])
    return md.build_profile(frame, **options)


@pytest.fixture
def two_versions(tracking_uri: str, new_version: Callable[..., str]) -> tuple[str, str]:
    """Versions 1 and 2 of 'churn', both profiled on the same reference."""
    champion, challenger = new_version(), new_version()
    for uri in (champion, challenger):
        md.attach_profile(uri, reference_profile(), tracking_uri=tracking_uri)
    return champion, challenger


def registry_snapshot(tracking_uri: str) -> dict[str, object]:
    """Every version's tags, aliases and stage, plus the runs: what must not change.

    An sqlite store is read with sqlite3 (every row of those tables, deleted versions and runs
    too: 2 ms instead of 70 through MLflow's search calls); other stores through the client."""
    if tracking_uri.startswith("sqlite:///"):
        with contextlib.closing(sqlite3.connect(tracking_uri.removeprefix("sqlite:///"))) as db:
            rows: dict[str, Any] = {key: sorted(db.execute(query).fetchall())
                                    for key, query in _SNAPSHOT.items()}
            rows["runs"] = sum(stage == "active" for _, _, stage in rows["run rows"])
            return rows
    client = registry.client_for(tracking_uri)
    out: dict[str, object] = {}
    for rm in client.search_registered_models():
        for mv in client.search_model_versions(registry.equals("name", rm.name)):
            full = client.get_model_version(rm.name, str(mv.version))
            out[f"{rm.name}/{mv.version}"] = (dict(full.tags), sorted(full.aliases),
                                              full.current_stage)
    exps = [e.experiment_id for e in client.search_experiments()]
    out["runs"] = len(client.search_runs(exps)) if exps else 0
    return out


_SNAPSHOT = {
    "versions": "SELECT name, version, current_stage FROM model_versions",
    "version tags": "SELECT name, version, key, value FROM model_version_tags",
    "aliases": "SELECT name, alias, version FROM registered_model_aliases",
    "model tags": "SELECT name, key, value FROM registered_model_tags",
    "run rows": "SELECT run_uuid, status, lifecycle_stage FROM runs",
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(root: Path, port: int, extra_env: dict[str, str] | None = None,
                 store: Path | None = None, args: tuple[str, ...] = ()) -> subprocess.Popen[bytes]:
    """Start a real `mlflow server` on 127.0.0.1:``port`` with its store in ``root`` (a copy of
    the migrated sqlite ``store`` when it has none yet: migrating takes seconds), given
    ``args`` too (``--app-name basic-auth``); return once ``/health`` answers (60 s at most)."""
    if store is not None and not (root / "server.db").exists():
        shutil.copy(store, root / "server.db")
    env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
           "MLFLOW_DISABLE_TELEMETRY": "true", **(extra_env or {})}
    log = open(root / "server.log", "ab")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port),
         "--backend-store-uri", f"sqlite:///{root / 'server.db'}",
         "--artifacts-destination", str(root / "artifacts"), "--workers", "1", *args],
        stdout=log, stderr=subprocess.STDOUT, env=env, cwd=root,
        start_new_session=True,  # its own process group: the server's workers stop with it
    )
    log.close()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as resp:
                if resp.status == 200:
                    return proc
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            stop_server(proc)
            raise RuntimeError("mlflow server did not start:\n"
                               + (root / "server.log").read_text()[-3000:])
        time.sleep(0.5)


def stop_server(proc: subprocess.Popen[bytes], kill: bool = False) -> None:
    """Stop a server started by :func:`start_server` and its workers (``kill``: at once, as a
    crash would)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL if kill else signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory, empty_store: Path) -> Iterator[str]:
    """A real `mlflow server` on 127.0.0.1 for the session; its URL."""
    root = tmp_path_factory.mktemp("server")
    port = _free_port()
    proc = start_server(root, port, store=empty_store, extra_env={
        # webhooks to a receiver on loopback (tests/test_webhooks.py)
        "MLFLOW_WEBHOOK_ALLOWED_SCHEMES": "http,https",
        "MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS": "true",
        # the server caches "who listens to this event" for 60 s by default
        "MLFLOW_WEBHOOK_CACHE_TTL": "0"})
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_server(proc)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test that uses the session's `mlflow server` is a ``server`` test, so
    ``pytest -m "not server and not spark"`` runs without one."""
    for item in items:
        if "mlflow_server" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.server)


@pytest.fixture(autouse=True)
def _server_tests_marked(request: pytest.FixtureRequest) -> Iterator[None]:
    """A test that asks for the server only while running (``request.getfixturevalue``) must
    carry the ``server`` mark itself, or the developer loop would start a server."""
    yield
    if "mlflow_server" in request.fixturenames and not request.node.get_closest_marker("server"):
        pytest.fail(f"{request.node.nodeid} uses the mlflow server: mark it (or its parameter) "
                    "pytest.mark.server", pytrace=False)


@pytest.fixture(autouse=True)
def _plots_drawn_where_looked_at(request: pytest.FixtureRequest,
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """A logged window's PNG plots are drawn in the tests marked ``plots`` (the pages, the
    plots, the edge regimes and odd inputs, the demo); elsewhere its run gets the report page
    without them. matplotlib's drawing, about 0.5 s a logged window, was a fifth of the
    suite's time, spent in tests that never look at a plot."""
    if request.node.get_closest_marker("plots") is None:
        monkeypatch.setattr(mlflow_decay.plots, "plots", lambda *args, **kwargs: {})
