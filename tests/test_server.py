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
    assert attached["profile_uri"] == f"{uri}/mlflow_decay/reference_profile.json"
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
