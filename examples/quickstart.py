"""mlflow-decay quickstart: the Python API from training to a degraded model version.

Run it with ``python examples/quickstart.py`` (uses $MLFLOW_TRACKING_URI, else ./mlflow.db).
It uses scikit-learn's bundled breast-cancer data, so it needs no download.
"""

from __future__ import annotations

import os

import mlflow
import mlflow.sklearn
import numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import mlflow_decay as md

TRACKING_URI = os.environ.get("MLFLOW_TRACKING_URI", "sqlite:///mlflow.db")
mlflow.set_tracking_uri(TRACKING_URI)
mlflow.set_registry_uri(TRACKING_URI)

# 1. Train a model and register it, as you already do with MLflow.
data = load_breast_cancer(as_frame=True)
frame = data.frame.rename(columns=lambda c: c.replace(" ", "_"))
features = [c for c in frame.columns if c != "target"]
train, rest = train_test_split(frame, test_size=0.5, random_state=0, stratify=frame.target)
validation, production = train_test_split(rest, test_size=0.5, random_state=0,
                                          stratify=rest.target)
model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, C=0.05))
model.fit(train[features], train.target)

mlflow.set_experiment("quickstart")
with mlflow.start_run():
    info = mlflow.sklearn.log_model(
        model, name="model", registered_model_name="quickstart-cancer",
        serialization_format=mlflow.sklearn.SERIALIZATION_FORMAT_SKOPS,
        pip_requirements=["scikit-learn", "skops"])
uri = f"models:/quickstart-cancer/{info.registered_model_version}"

# 2. Profile the validation data with the model's scores and labels, and store the profile
#    with the version (it lands in the LoggedModel as
#    mlflow_decay/<name>/<version>/reference_profile.json).
validation = validation.assign(score=model.predict_proba(validation[features])[:, 1])
profile = md.build_profile(validation, target="target", prediction="score")
md.attach_profile(uri, profile)
print(f"{uri}: profile {profile.sha256()[:12]}, reference AUC {profile.performance['roc_auc']:.3f}")

# 3. Evaluate a production window that looks like the reference: healthy.
window = production.assign(score=model.predict_proba(production[features])[:, 1])
report = md.evaluate(uri, window)
print(f"window 1: {report.status}  (run {report.run_id})")

# 4. Later windows where a measuring device was recalibrated: some features are scaled and
#    the labels no longer follow the old scores. The first breaching window warns; when the
#    breach persists a second week, the policy degrades the version.
rng = np.random.default_rng(0)
for week in (2, 3):
    shifted = production.sample(frac=1.0, replace=True, random_state=week)
    for column in features[:10]:
        shifted[column] = shifted[column] * 1.6
    shifted["score"] = model.predict_proba(shifted[features])[:, 1]
    flip = rng.random(len(shifted)) < 0.2
    shifted.loc[flip, "target"] = 1 - shifted.loc[flip, "target"]
    report = md.evaluate(uri, shifted, window_start=f"2026-02-{7 * week - 6:02d}",
                         window_end=f"2026-02-{7 * week + 1:02d}")
    print(f"window {week}: {report.status}")
for reason in report.reasons[:3]:
    print(f"  {reason}")

# 5. The "degraded" stage is a version tag: searchable like any tag.
client = mlflow.MlflowClient()
degraded = client.search_model_versions(
    "name='quickstart-cancer' AND tags.`mlflow_decay.status` = 'degraded'")
print("degraded versions:", sorted(str(mv.version) for mv in degraded))
