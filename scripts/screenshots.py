"""Regenerate the README's screenshots: the demo against a real `mlflow server`, then MLflow's
experiment page (the decay metrics over windows, one line per version) and one evaluation's
report, each shot with headless Chromium.

Run it with ``make screenshots`` (or ``python scripts/screenshots.py [--out docs/screenshots]``).
It needs `chromium` on the PATH; everything listens on 127.0.0.1 and lives in a temp dir.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

SIZE = "1600,1000"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def mlflow_server(root: Path) -> Iterator[str]:
    """A real `mlflow server` on loopback with its store in ``root``; its URI."""
    port = _free_port()
    env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
           "MLFLOW_DISABLE_TELEMETRY": "true"}
    with open(root / "server.log", "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port),
             "--backend-store-uri", f"sqlite:///{root / 'server.db'}",
             "--artifacts-destination", str(root / "artifacts")],
            env=env, stdout=log, stderr=log)
    uri = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(f"{uri}/health", timeout=2).read()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"mlflow server did not start: see {root / 'server.log'}") from None
                time.sleep(0.5)
        yield uri
    finally:
        proc.terminate()
        proc.wait(30)


def shoot(url: str, path: Path, wait_ms: int = 15000) -> None:
    """A headless Chromium screenshot of ``url`` once its scripts have run ``wait_ms``."""
    subprocess.run([_chromium(), "--headless", "--no-sandbox", "--disable-gpu",
                    "--hide-scrollbars", f"--window-size={SIZE}",
                    f"--virtual-time-budget={wait_ms}", f"--screenshot={path}", url],
                   check=True, capture_output=True, timeout=180)


def _chromium() -> str:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        raise SystemExit("chromium is not installed (apt-get install -y chromium)")
    return browser


def shoot_charts(url: str, path: Path, search: str, wait_s: float = 12.0) -> None:
    """MLflow's chart view at ``url`` with its metric search set to ``search`` (the UI reads it
    from what is typed only), driven over Chromium's DevTools protocol; the assistant panel
    closed."""
    import asyncio
    import base64
    import json

    import websockets

    async def run() -> None:
        port = _free_port()
        width, height = (int(v) for v in SIZE.split(","))
        proc = subprocess.Popen([_chromium(), "--headless", "--no-sandbox", "--disable-gpu",
                                 f"--remote-debugging-port={port}", f"--window-size={SIZE}",
                                 "about:blank"], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        try:
            page = None
            for _ in range(100):
                with contextlib.suppress(OSError, StopIteration, ValueError):
                    tabs = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json"))
                    page = next(t for t in tabs if t["type"] == "page")
                    break
                await asyncio.sleep(0.2)
            assert page is not None, "chromium's DevTools did not answer"
            async with websockets.connect(page["webSocketDebuggerUrl"], max_size=2**27) as ws:
                ids = iter(range(1, 10**6))

                async def call(method: str, **params: object) -> dict[str, object]:
                    me = next(ids)
                    await ws.send(json.dumps({"id": me, "method": method, "params": params}))
                    while True:
                        message = json.loads(await ws.recv())
                        if message.get("id") == me:
                            return dict(message.get("result", {}))

                await call("Emulation.setDeviceMetricsOverride", width=width, height=height,
                           deviceScaleFactor=1, mobile=False)
                await call("Page.navigate", url=url)
                await asyncio.sleep(wait_s)
                await call("Runtime.evaluate", expression=_TYPE_SEARCH % json.dumps(search))
                await asyncio.sleep(wait_s / 2)
                shot = await call("Page.captureScreenshot", format="png")
                path.write_bytes(base64.b64decode(str(shot["data"])))
        finally:
            proc.terminate()
            proc.wait(30)

    asyncio.run(run())


# close MLflow's assistant panel, then type into the chart view's metric search box
_TYPE_SEARCH = """(() => {
  const close = [...document.querySelectorAll('button')].find(
      b => (b.getAttribute('aria-label') || '').startsWith('Close'));
  if (close) close.click();
  const box = [...document.querySelectorAll('input')].find(
      i => (i.placeholder || '').toLowerCase().includes('search metric charts'));
  if (!box) return 'no search box';
  Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value').set.call(box, %s);
  box.dispatchEvent(new Event('input', {bubbles: true}));
  return 'typed';
})()"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/screenshots"))
    args = parser.parse_args(argv)
    args.out = args.out.resolve()  # the demo runs in a temp dir
    args.out.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    from mlflow_decay import demo, registry

    with tempfile.TemporaryDirectory() as tmp, mlflow_server(Path(tmp)) as uri:
        os.chdir(tmp)
        demo.run(uri, echo=lambda _line: None)
        client = registry.client_for(uri)
        experiment = client.get_experiment_by_name("mlflow-decay/demo-churn")
        assert experiment is not None, "the demo logged no decay experiment"
        shoot_charts(f"{uri}/#/experiments/{experiment.experiment_id}/runs?compareRunsMode=CHART",
                     args.out / "experiment.png", search="roc_auc")
        degraded = client.search_runs(
            [experiment.experiment_id],
            "tags.`mlflow_decay.kind` = 'evaluation' AND tags.`mlflow_decay.status` = 'degraded'",
            order_by=["attributes.start_time ASC"], max_results=1)
        run_id = degraded[0].info.run_id
        page = Path(tmp) / "report.html"
        page.write_bytes(Path(client.download_artifacts(run_id, "decay_report.html", tmp))
                         .read_bytes())
        shoot(page.as_uri(), args.out / "report.png", wait_ms=2000)
    print(f"wrote {args.out / 'experiment.png'} and {args.out / 'report.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
