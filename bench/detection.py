"""Seed-scenario detection benchmark: how soon does mlflow-decay see a model decay?

A churn model launches at AUC ~0.94; after a stable phase, covariate and concept drift take it
to ~0.87 over 20 windows of 50k rows, and the last 10 windows have no labels yet. Every window
goes through the real loop (sqlite MLflow store, registered version, stored profile,
``md.monitor``). Printed per window: realized AUC (known to the benchmark, not to the monitor
where labels are missing), estimated AUC with its band, status; then the detection delay in
windows after the realized AUC first falls 0.02 below the reference.

Run: ``.venv/bin/python bench/detection.py [--windows 20] [--rows 50000]``
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")

import mlflow

import mlflow_decay as md
from mlflow_decay import demo


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--windows", type=int, default=20)
    parser.add_argument("--stable", type=int, default=6, help="windows before the drift starts")
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--unlabelled", type=int, default=10, help="last windows without labels")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        uri = f"sqlite:///{tmp}/mlflow.db"
        os.chdir(tmp)
        mlflow.set_tracking_uri(uri)
        mlflow.set_registry_uri(uri)
        client = mlflow.MlflowClient()
        client.create_registered_model("churn")
        exp = client.create_experiment("models")
        logged = client.create_logged_model(exp, name="model")
        version = client.create_model_version("churn", f"models:/{logged.model_id}",
                                              model_id=logged.model_id).version
        model = demo.train_model(demo.make_data(40_000, 0.0, seed=1))
        reference = demo.make_data(50_000, 0.0, seed=2)
        reference["churn_score"] = demo.scores(model, reference)
        profile = md.build_profile(reference, target="churned", prediction="churn_score",
                                   categorical=demo.CATEGORICAL, numerical=demo.NUMERICAL)
        model_uri = f"models:/churn/{version}"
        md.attach_profile(model_uri, profile)
        ref_auc = profile.performance["roc_auc"]

        frames, realized = [], []
        start = pd.Timestamp("2026-01-05", tz="UTC")
        for i in range(args.windows):
            drift = max(0, i - args.stable + 1) / max(args.windows - args.stable, 1)
            frame = demo.make_data(args.rows, drift, seed=1000 + i)
            frame["churn_score"] = demo.scores(model, frame)
            realized.append(roc_auc_score(frame.churned, frame.churn_score))
            if i >= args.windows - args.unlabelled:
                frame["churned"] = np.nan  # labels have not arrived yet
            frame["ts"] = start + pd.Timedelta(weeks=i) + pd.to_timedelta(
                np.arange(len(frame)) % 86_400, unit="s")
            frames.append(frame)
        began = time.perf_counter()
        reports = md.monitor(model_uri, pd.concat(frames, ignore_index=True),
                             timestamp_column="ts", every="7D")
        seconds = time.perf_counter() - began

    print(f"reference AUC {ref_auc:.3f}; {args.windows} windows of {args.rows:,} rows; "
          f"labels missing in the last {args.unlabelled}; monitor took {seconds:.1f} s\n")
    print("| window | phase | realized AUC | labels | estimated AUC [95% band] | status |")
    print("|---:|---|---:|---|---|---|")
    for i, (report, auc) in enumerate(zip(reports, realized, strict=True)):
        m = report.metrics
        band = f"{m['est.roc_auc']:.3f} [{m['est.roc_auc.lower']:.3f}, {m['est.roc_auc.upper']:.3f}]"
        phase = "stable" if i < args.stable else "drift"
        labels = "yes" if "perf.roc_auc" in m else "no"
        print(f"| {i + 1} | {phase} | {auc:.3f} | {labels} | {band} | {report.status} |")
    crossed = next((i for i, a in enumerate(realized) if a <= ref_auc - 0.02), None)
    first = {s: next((i for i, r in enumerate(reports) if r.status in s), None)
             for s in (("warning", "degraded"), ("degraded",))}
    stable_false = sum(r.status == "degraded" for r in reports[:args.stable])
    print()
    print(f"realized AUC first 0.02 below reference: window {_w(crossed)}")
    for label, states in (("first warning or degraded", ("warning", "degraded")),
                          ("first degraded", ("degraded",))):
        at = first[states]
        delay = "n/a" if at is None or crossed is None else f"{at - crossed:+d} windows"
        print(f"{label}: window {_w(at)} (delay {delay})")
    print(f"degraded verdicts in the stable phase: {stable_false}")


def _w(i: int | None) -> str:
    return "never" if i is None else str(i + 1)


if __name__ == "__main__":
    main()
