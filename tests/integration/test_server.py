"""The attach -> evaluate -> degrade path against a real `mlflow server` on 127.0.0.1."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import _new_version, current_uri, make_frame

import mlflow_decay as md
from mlflow_decay import registry
from mlflow_decay.cli import main

pytestmark = [pytest.mark.server, pytest.mark.plots]


@pytest.fixture
def server_uri(mlflow_server: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    with current_uri(mlflow_server, monkeypatch):
        yield mlflow_server


def test_attach_evaluate_degrade_over_rest(server_uri: str, tmp_path) -> None:
    name = f"churn-{uuid.uuid4().hex[:8]}"
    client = registry.client_for(server_uri)
    version = _new_version(client, name)
    assert isinstance(version, str)
    uri = f"models:/{name}/{version}"
    client.set_registered_model_alias(name, "champion", version)
    reference = make_frame(5000, 1)
    reference.to_parquet(tmp_path / "ref.parquet")

    runner = CliRunner()
    out = runner.invoke(main, ["profile", uri, "--data", str(tmp_path / "ref.parquet"),
                               "--target", "label", "--prediction", "score",
                               "--tracking-uri", server_uri, "--json"])
    assert out.exit_code == 0, out.output + out.stderr
    attached = json.loads(out.stdout)
    assert attached["profile_uri"] == f"{uri}/mlflow_decay/{name}/{version}/reference_profile.json"
    assert md.load_profile(f"models:/{name}@champion", tracking_uri=server_uri).sha256() == \
        attached["sha256"]

    (tmp_path / "policy.toml").write_text(
        '[actions]\nremove_aliases = ["champion"]\n[hysteresis]\ndegrade_after = 1\n')
    make_frame(3000, 4, shift=1.5, flip=0.3).to_csv(tmp_path / "w.csv", index=False)
    out = runner.invoke(main, ["evaluate", f"models:/{name}@champion", "--data",
                               str(tmp_path / "w.csv"), "--policy", str(tmp_path / "policy.toml"),
                               "--tracking-uri", server_uri, "--json"])
    assert out.exit_code == 0, out.output + out.stderr
    report = json.loads(out.stdout)
    assert report["status"] == "degraded" and report["applied"]
    run = client.get_run(report["run_id"])
    assert run.info.status == "FINISHED" and run.data.metrics["perf.roc_auc.delta"] < -0.05

    # the HTML report is served by the tracking server's artifact proxy
    page = Path(client.download_artifacts(report["run_id"], "decay_report.html",
                                          str(tmp_path))).read_text()
    assert 'id="summary"' in page and "data:image/png;base64," in page

    ref = registry.resolve(client, uri)
    assert ref.tags[registry.STATUS] == "degraded"
    assert ref.tags[registry.STATUS_RUN_ID] == report["run_id"]
    assert "champion" not in ref.aliases

    out = runner.invoke(main, ["status", name, "--tracking-uri", server_uri, "--json"])
    assert out.exit_code == 0, out.output + out.stderr
    rows = json.loads(out.stdout)
    assert [(r["version"], r["status"]) for r in rows] == [(version, "degraded")]


def test_workflows_over_rest(server_uri: str, tmp_path: Path) -> None:
    import mlflow
    import mlflow.models
    import numpy as np

    name = f"flow-{uuid.uuid4().hex[:8]}"
    client = registry.client_for(server_uri)
    v1, v2 = (f"models:/{name}/{_new_version(client, name)}" for _ in range(2))
    for uri in (v1, v2):
        md.attach_profile(uri, md.build_profile(make_frame(3000, 1), target="label",
                                                prediction="score"), tracking_uri=server_uri)
    policy = tmp_path / "p.toml"
    policy.write_text('[actions]\nrollback_aliases = ["champion"]\n[hysteresis]\n'
                      'degrade_after = 1\n[promote]\nwindows = 1\n')
    assert md.evaluate(v1, make_frame(2000, 2), tracking_uri=server_uri).status == "healthy"
    client.set_registered_model_alias(name, "champion", v2.rsplit("/", 1)[1])
    bad = md.evaluate(f"models:/{name}@champion", make_frame(2000, 3, shift=1.5, flip=0.3),
                      policy=policy, tracking_uri=server_uri)
    assert bad.status == "degraded"  # rolled back to v1, the newest healthy version
    assert str(client.get_model_version_by_alias(name, "champion").version) == v1[-1]

    md.restore(v2, "fixed upstream", tracking_uri=server_uri)
    window = make_frame(3000, 4)
    noise = np.random.default_rng(0).normal(0, 0.05, len(window))
    window["score_new"] = np.clip(window.label * 0.35 + window.score * 0.65 + noise, 0, 1)
    result = md.compare(window, [f"models:/{name}@champion", v2],
                        predictions=["score", "score_new"], policy=policy, promote=True,
                        tracking_uri=server_uri)
    assert result.promotion == [f"move alias @champion to {v2}"]
    assert str(client.get_model_version_by_alias(name, "champion").version) == v2[-1]

    events = [e["event"] for e in md.history(name, tracking_uri=server_uri)]
    assert events == ["stage - -> healthy", "stage - -> degraded",
                      f"move alias @champion to {v1}", "stage degraded -> healthy",
                      f"move alias @champion to {v2}"]

    with mlflow.start_run():
        evaluation = mlflow.models.evaluate(
            data=window, predictions="score", targets="label", model_type="classifier",
            evaluators=["mlflow_decay"], evaluator_config={"mlflow_decay": {"model_uri": v1}})
    assert "decay.est.roc_auc" in evaluation.metrics
