"""A version turning degraded reaches an on-call hook through MLflow's own registry webhooks."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import ClassVar

import pytest
from conftest import _new_version, current_uri, make_frame

import mlflow_decay as md
from mlflow_decay import registry

pytestmark = pytest.mark.server


class _Receiver(BaseHTTPRequestHandler):
    received: ClassVar[list[dict[str, object]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        _Receiver.received.append(json.loads(body or b"{}"))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Receiver.received = []
    yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    server.shutdown()


def test_degraded_version_fires_tag_and_alias_webhooks(mlflow_server: str, receiver: str,
                                                       monkeypatch: pytest.MonkeyPatch,
                                                       tmp_path: Path) -> None:
    with current_uri(mlflow_server, monkeypatch):
        client = registry.client_for(mlflow_server)
        name = f"hooked-{uuid.uuid4().hex[:8]}"
        version = _new_version(client, name)
        uri = f"models:/{name}/{version}"
        md.attach_profile(uri, md.build_profile(make_frame(3000, 1), target="label",
                                                prediction="score"), tracking_uri=mlflow_server)
        client.set_registered_model_alias(name, "champion", version)
        client.create_webhook(name=f"on-call-{name}", url=receiver,
                              events=["model_version_tag.set", "model_version_alias.deleted"])
        policy = tmp_path / "p.toml"
        policy.write_text('[actions]\nremove_aliases = ["champion"]\n'
                          '[hysteresis]\ndegrade_after = 1\n')
        report = md.evaluate(uri, make_frame(3000, 2, shift=1.5, flip=0.3), policy=policy,
                             tracking_uri=mlflow_server)
        assert report.status == "degraded"
        deadline = time.monotonic() + 20
        text = ""
        while time.monotonic() < deadline:
            text = json.dumps(_Receiver.received)
            if "degraded" in text and "champion" in text:
                break
            time.sleep(0.25)
        assert '"mlflow_decay.status"' in text and '"degraded"' in text, text[:2000]
        assert "champion" in text  # the alias removal fired model_version_alias.deleted
