"""The seed scenario: a churn classifier launched at AUC ~0.94 that decays to ~0.87.

``mlflow-decay demo`` trains a scikit-learn model on synthetic data, registers it, attaches
its reference profile and evaluates windows of growing covariate and concept drift.
"""

from __future__ import annotations

import contextlib
import io
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from .core.policy import Policy

FEATURES = ["tenure_months", "monthly_charges", "usage_hours", "age", "support_calls",
            "contract", "region", "payment_method"]
CATEGORICAL = ["contract", "region", "payment_method"]
NUMERICAL = [f for f in FEATURES if f not in CATEGORICAL]
FIRST_WEEK = pd.Timestamp("2026-01-05", tz="UTC")  # the first window's start; one a week


def make_data(n: int, drift: float, seed: int) -> pd.DataFrame:
    """Synthetic churn rows; ``drift`` in [0, 1] shifts features and the label mechanism.

    Covariates move (charges up, usage down, more month-to-month contracts, a new region mix)
    and a factor the model never sees gains weight in the label, so the model's ranking
    degrades as ``drift`` grows.
    """
    rng = np.random.default_rng(seed)
    tenure = rng.gamma(2.0, 12.0 * (1 - 0.35 * drift), n)
    charges = rng.normal(65 + 12 * drift, 18, n)
    usage = rng.gamma(3.0, 6.0 * (1 - 0.3 * drift), n)
    age = rng.normal(42, 12, n).clip(18, 90)
    calls = rng.poisson(1.5 + 1.2 * drift, n)
    month_share = 0.45 + 0.25 * drift
    contract = rng.choice(["month", "one_year", "two_year"], n,
                          p=[month_share, (1 - month_share) * 0.55, (1 - month_share) * 0.45])
    region = rng.choice(["north", "south", "east", "west"], n,
                        p=[0.3, 0.3 - 0.15 * drift, 0.2, 0.2 + 0.15 * drift])
    payment = rng.choice(["card", "bank", "check"], n, p=[0.5, 0.3, 0.2])
    hidden = rng.normal(0, 1, n)
    logit = (
        -0.07 * tenure + 0.05 * (charges - 65) - 0.09 * usage + 0.55 * calls
        + 1.6 * (contract == "month") - 0.9 * (contract == "two_year")
        + 0.4 * (payment == "check") - 0.3
        + 1.6 * drift * (region == "west") - 1.0 * drift * (payment == "card")
        + (0.8 * drift) * hidden
    )
    churn = rng.random(n) < 1 / (1 + np.exp(-1.6 * logit))
    return pd.DataFrame({
        "tenure_months": tenure.round(1), "monthly_charges": charges.round(2),
        "usage_hours": usage.round(2), "age": age.round(0), "support_calls": calls,
        "contract": contract, "region": region, "payment_method": payment,
        "churned": churn.astype(int),
    })


def train_model(train: pd.DataFrame) -> Any:
    """Fit the demo's scikit-learn pipeline (logistic regression on scaled and one-hot columns)."""
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    pipe = make_pipeline(
        ColumnTransformer([("num", StandardScaler(), NUMERICAL),
                           ("cat", OneHotEncoder(handle_unknown="ignore"), CATEGORICAL)]),
        LogisticRegression(max_iter=1000),
    )
    pipe.fit(train[FEATURES], train["churned"])
    return pipe


def scores(model: Any, frame: pd.DataFrame) -> np.ndarray:
    """The model's churn probability for each row."""
    return np.asarray(model.predict_proba(frame[FEATURES])[:, 1])


def run(tracking_uri: str, *, model_name: str = "demo-churn", windows: int = 8,
        window_rows: int = 5000, echo: Callable[[str], None] = print) -> list[dict[str, object]]:
    """Run the seed scenario against ``tracking_uri``; return one summary dict per window.

    Act 1: version 1 (@champion) decays over ``windows`` weekly windows and is degraded.
    Act 2: a challenger retrained on recent data wins two compared windows and is promoted.
    Act 3: version 3 is released as @champion with a unit bug in its feature pipeline; it is
    degraded and @champion rolls back to the newest healthy version.
    """
    import mlflow

    from .core.policy_file import DEFAULT_POLICY

    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_registry_uri(tracking_uri)
    with _mlflow_quiet():
        mlflow.set_experiment(f"mlflow-decay-demo/{model_name}")
    # the default policy removes @champion from a degraded version; the demo also rolls it
    # back to the newest healthy version
    policy = replace(DEFAULT_POLICY, rollback_aliases=("champion",), source="demo policy")
    scenario = _Scenario(mlflow.MlflowClient(), model_name, policy, window_rows, echo)
    model, v1 = scenario.champion_decays(windows)
    scenario.challenger_is_promoted(model, v1, first=windows)
    scenario.buggy_release_is_rolled_back(first=windows + 2)
    return scenario.rows


@dataclass
class _Scenario:
    """The demo's registered model, its policy and weekly windows, and one summary row per
    window evaluated."""

    client: Any
    model_name: str
    policy: Policy
    window_rows: int
    echo: Callable[[str], None]
    rows: list[dict[str, object]] = field(default_factory=list)

    def champion_decays(self, windows: int) -> tuple[Any, str]:
        """Act 1: the champion meets ever more drift, window by window; returns the model and
        its version's URI."""
        model, v1 = self.release(seed=1, drift=0.0, alias="champion")
        for i in range(windows):
            window = self.window(i, i / max(windows - 1, 1))
            self.evaluate(f"models:/{self.model_name}@champion" if i == 0 else v1,
                          window.assign(churn_score=scores(model, window)), i)
        return model, v1

    def challenger_is_promoted(self, model: Any, v1: str, first: int) -> None:
        """Act 2: a challenger retrained on recent data, compared with the decayed champion
        on the same rows for two windows, and promoted."""
        challenger, v2 = self.release(seed=3, drift=1.0, alias="challenger")
        for i in range(first, first + 2):
            window = self.window(i, 1.0)
            window["churn_score"] = scores(model, window)
            window["challenger_score"] = scores(challenger, window)
            self.evaluate(v2, window.drop(columns="churn_score").rename(
                columns={"challenger_score": "churn_score"}), i)
            self.compare(window, v1)

    def buggy_release_is_rolled_back(self, first: int) -> None:
        """Act 3: version 3 released as champion with a unit bug in its feature pipeline."""
        released, _ = self.release(seed=5, drift=1.0, alias="champion")
        for i in range(first, first + 2):
            window = self.window(i, 1.0)
            window["monthly_charges"] *= 100  # cents, not dollars
            self.evaluate(f"models:/{self.model_name}@champion", window.assign(
                churn_score=scores(released, window)), i)

    def release(self, seed: int, drift: float, alias: str) -> tuple[Any, str]:
        """A version trained and profiled on data of this ``drift`` (seeds ``seed`` and
        ``seed + 1``), under ``alias``."""
        return _release(self.client, self.model_name, make_data(20_000, drift, seed=seed),
                        make_data(10_000, drift, seed=seed + 1), alias, self.echo)

    def window(self, i: int, drift: float) -> pd.DataFrame:
        return make_data(self.window_rows, drift, seed=100 + i)

    def evaluate(self, uri: str, window: pd.DataFrame, i: int) -> None:
        """Evaluate window ``i`` (week ``i`` from the start) and say what became of the version."""
        from . import api, registry

        begin = FIRST_WEEK + pd.Timedelta(weeks=i)
        report = api.evaluate(uri, window, policy=self.policy, window_start=begin.isoformat(),
                              window_end=(begin + pd.Timedelta(weeks=1)).isoformat())
        self.echo(f"window {i + 1} {begin:%Y-%m-%d}  v{report.model_version}  {report.summary()}")
        if report.status != report.previous_status and report.status == "degraded":
            moves = [a for a in report.actions if registry.alias_change_version(a)]
            self.echo(f"  -> {report.model_uri} moved to stage 'degraded': {report.reasons[0]}"
                      + (f"; {'; '.join(moves)}" if moves else ""))
        self.rows.append({"window": i + 1, "version": report.model_version,
                          "status": report.status, "roc_auc": report.metrics.get("perf.roc_auc"),
                          "drift_share": report.metrics["drift.share"],
                          "run_id": report.run_id})

    def compare(self, window: pd.DataFrame, v1: str) -> None:
        """Compare the decayed version 1 with @challenger on the same rows, promoting it."""
        from . import api

        result = api.compare(window, [v1, f"models:/{self.model_name}@challenger"],
                             predictions=["churn_score", "challenger_score"], policy=self.policy,
                             promote=True)
        assert result.delong is not None
        self.echo(f"  compare v{v1.rsplit('/', 1)[1]} vs @challenger: AUC {result.delong.auc[0]:.3f} vs "
                  f"{result.delong.auc[1]:.3f}, DeLong p = {result.delong.p_value:.2g}"
                  + (f"; {result.promotion[0]}" if result.promotion else ""))


def _release(client: Any, model_name: str, train: pd.DataFrame, reference: pd.DataFrame,
             alias: str, echo: Callable[[str], None]) -> tuple[Any, str]:
    """Train, log (skops, not pickle), register, alias and profile one version."""
    import mlflow
    import mlflow.sklearn

    from . import api
    from .engines.dispatch import build_profile

    model = train_model(train)
    reference = reference.assign(churn_score=scores(model, reference))
    with mlflow.start_run(run_name=f"train @{alias}"), _mlflow_quiet():
        info = mlflow.sklearn.log_model(
            model, name="model", registered_model_name=model_name,
            serialization_format=mlflow.sklearn.SERIALIZATION_FORMAT_SKOPS,
            pip_requirements=["scikit-learn", "skops"], input_example=reference[FEATURES].head(3),
        )
    version = str(info.registered_model_version)
    client.set_registered_model_alias(model_name, alias, version)
    uri = f"models:/{model_name}/{version}"
    profile = build_profile(reference, target="churned", prediction="churn_score",
                            task="binary", categorical=CATEGORICAL, numerical=NUMERICAL)
    api.attach_profile(uri, profile)
    echo(f"registered {uri} (alias @{alias}); reference AUC "
         f"{profile.performance['roc_auc']:.3f}; profile attached")
    return model, uri


@contextlib.contextmanager
def _mlflow_quiet() -> Iterator[None]:
    """MLflow's INFO lines and its "Successfully registered model" prints (on stderr) left out
    of the demo's output while it sets up its experiment and registers its versions."""
    logger = logging.getLogger("mlflow")
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        with contextlib.redirect_stderr(io.StringIO()):
            yield
    finally:
        logger.setLevel(level)
