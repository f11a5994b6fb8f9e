"""``mlflow.models.evaluate(..., evaluators=["mlflow_decay"])``: decay as an MLflow evaluator.

Registered under the ``mlflow.model_evaluator`` entry point. It evaluates the dataset as a
production window against the reference profile of the evaluated model's registered version
and returns the decay metrics, with the report as an artifact. The version is the one whose
source is the LoggedModel MLflow hands over (``mlflow.models.evaluate("models:/churn@champion",
...)`` loads that model, whose ``model_id`` names its LoggedModel); the evaluator config's
``{"model_uri": "models:/churn/3"}`` overrides it, and is needed when the model is not given
(a static dataset of predictions) or when several profiled versions share its LoggedModel. It
reads the registry only: stages change through ``evaluate``/``monitor``. MLflow runs every
installed evaluator when ``evaluators=`` is not given: a model without a profiled version (and
no ``model_uri``) is then skipped with a :class:`~mlflow_decay.DecayWarning`, not refused, so
installing mlflow-decay does not break a plain ``mlflow.models.evaluate``.

Give the model's scores as the dataset's ``predictions`` column (probabilities for
classifiers, as in the profile); with a model instead, a classifier's raw model's
``predict_proba`` (a scikit-learn model's pyfunc ``predict`` gives class labels, which are
refused), else its ``predict`` output.
"""

from __future__ import annotations

import json
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from mlflow import MlflowClient
from mlflow.entities import Metric
from mlflow.models.evaluation.artifacts import JsonEvaluationArtifact
from mlflow.models.evaluation.base import EvaluationResult, ModelEvaluator

from .. import registry
from ..core.evaluation import evaluate_window
from ..core.policy_file import as_policy
from ..core.profile import Profile
from ..core.supervision import classes_from_columns
from ..errors import DataError, DecayWarning, RegistryError
from ..stats.schema import category_key, label_list, sort_key
from .run_files import REPORT_JSON
from .tags import STATUS


class DecayEvaluator(ModelEvaluator):
    """MLflow model evaluator computing mlflow-decay metrics against a stored profile."""

    @classmethod
    def can_evaluate(cls, *, model_type: Any, evaluator_config: Any, **kwargs: Any) -> bool:
        return model_type in (None, "classifier", "regressor")

    def evaluate(self, *, model_type: Any, dataset: Any, run_id: str, evaluator_config: Any,
                 model: Any = None, extra_metrics: Any = None, custom_artifacts: Any = None,
                 predictions: Any = None, **kwargs: Any) -> EvaluationResult | None:
        config = dict(evaluator_config or {})
        client = MlflowClient()
        model_id = getattr(model, "model_id", None) or kwargs.get("model_id")
        if config.get("model_uri"):
            ref = registry.resolve(client, config["model_uri"])
        else:
            try:
                ref = _profiled_version(client, model_id)
            except RegistryError as exc:
                # MLflow runs every installed evaluator when none is named: a model without
                # a profiled version is not ours to judge, and its evaluation goes on
                warnings.warn(f"{exc} (skipped)", DecayWarning, stacklevel=2)
                return None
        profile = registry.profile_of(client, ref)
        window = pd.DataFrame(dataset.features_data).copy()
        if dataset.has_predictions:
            scores = dataset.predictions_data
        elif model is not None:
            # with a model, ``predictions`` names the column of its output to read (as for
            # MLflow's own evaluators)
            scores = _model_outputs(model, window, profile, predictions)
        else:
            raise DataError("mlflow_decay evaluator needs predictions (or a model)")
        window = _with_outputs(window, scores, profile)
        if dataset.has_targets and profile.target is not None:
            window[profile.target] = pd.Series(list(dataset.labels_data), index=window.index)
        policy = as_policy(config.get("policy"))
        result = evaluate_window(profile, window, policy)
        status, breaches = policy.decide(result.metrics, profile.bands, result.rows)
        metrics = {f"decay.{k}": v for k, v in result.metrics.items()}
        report = {"model_uri": ref.uri, "window_status": status,
                  "reasons": [str(b) for b in breaches], "metrics": result.metrics,
                  "notes": [*result.notes, *policy.window_notes(result.metrics, profile.bands, result.rows)],
                  "extra_columns": result.extra_columns}
        stamp = int(pd.Timestamp.now().timestamp() * 1000)
        batch = [Metric(k, v, stamp, 0) for k, v in metrics.items()]
        for i in range(0, len(batch), 1000):
            client.log_batch(run_id, metrics=batch[i:i + 1000])
        client.set_tag(run_id, STATUS, status)
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / REPORT_JSON
            path.write_text(json.dumps(report, indent=2, default=str))
            client.log_artifact(run_id, str(path))
        uri = f"runs:/{run_id}/{REPORT_JSON}"
        artifact = JsonEvaluationArtifact(uri=uri, content=report)
        return EvaluationResult(metrics=metrics, artifacts={"decay_report": artifact},
                                run_id=run_id)


def _model_outputs(model: Any, window: pd.DataFrame, profile: Profile,
                   column: str | None = None) -> Any:
    """The evaluated model's outputs on the window, as the profile reads them: a classifier's
    class probabilities from its raw model's ``predict_proba`` (as MLflow's own classifier
    evaluator gets them; a scikit-learn model's pyfunc ``predict`` gives class labels), in the
    profile's class order (as logits when the profile reads logits); else ``predict``'s (its
    ``column`` when it gives a DataFrame, see :func:`_output_column`). Class labels where
    probabilities were expected are refused."""
    if profile.task == "regression":
        return _output_column(model.predict(window), column, profile)
    try:
        raw = model.get_raw_model()
    except (AttributeError, NotImplementedError):
        raw = None
    proba, known = getattr(raw, "predict_proba", None), getattr(raw, "classes_", None)
    if proba is not None and known is not None:
        inputs = window[_model_inputs(model, raw, window)]
        # a model fitted on arrays (no feature names) is given one, as it was fitted
        values = np.asarray(proba(inputs if hasattr(raw, "feature_names_in_")
                                  else inputs.to_numpy()))
        index = {category_key(c): i for i, c in enumerate(known)}
        wanted = ([str(profile.positive_label)] if profile.task == "binary"
                  else list(profile.classes))
        if all(c in index for c in wanted):
            picked = values[:, np.array([index[c] for c in wanted])]
            if profile.prediction_kind == "logit":  # read back through sigmoid / softmax
                picked = np.clip(picked, 1e-15, 1 - 1e-15)
                picked = np.log(picked / (1 - picked)) if profile.task == "binary" else np.log(picked)
            return picked
        raise DataError(f"mlflow_decay evaluator: the model's classes ({label_list(list(index))}) "
                        f"are not the profile's ({label_list(profile.classes)})")
    scores = _output_column(model.predict(window), column, profile)
    values = np.asarray(scores.to_numpy() if hasattr(scores, "to_numpy") else list(scores))
    if values.ndim == 1 and len(values) > 1 and np.isin(
            pd.Series(values).map(category_key), list(profile.classes)).all():
        raise DataError("mlflow_decay evaluator: the model's predict gives class labels "
                        f"({label_list(sorted(set(map(category_key, values))))}), not the "
                        "probabilities the profile reads; log it with "
                        'pyfunc_predict_fn="predict_proba", or pass the scores as predictions=')
    if profile.task == "multiclass" and values.ndim == 2 and values.shape[1] == len(
            profile.classes) > 1:
        return values[:, _class_columns(scores, profile)]
    return scores


def _class_columns(scores: Any, profile: Profile) -> list[int]:
    """Where each of the profile's classes is among a multiclass model's probability columns:
    by the columns' names (the profile's prediction columns, or names ending with the classes:
    ``bronze``, ``p_bronze``), else, for columns that tell no class (an array), in
    scikit-learn's sorted order, which must then be the profile's: never by position alone."""
    classes = [str(c) for c in profile.classes]
    names = [str(c) for c in scores.columns] if isinstance(scores, pd.DataFrame) else []
    if sorted(names) == sorted(profile.prediction_columns):
        return [names.index(c) for c in profile.prediction_columns]
    if names:
        try:
            named = classes_from_columns(names, classes, profile.target or "the profile")
        except DataError:  # names that tell no class (0, 1, 2 of text classes)
            pass
        else:
            return [named.index(c) for c in classes]
    if classes == sorted(classes, key=sort_key):
        return list(range(len(classes)))
    raise DataError(f"mlflow_decay evaluator: the model's {len(classes)} probability columns"
                    + (f" ({', '.join(names[:10])})" if names else "")
                    + " do not say which class each is, and the profile's classes "
                    f"({', '.join(classes)}) are not in scikit-learn's sorted order: name the "
                    "output columns after the classes (p_<class>), or give predictions= a "
                    "column holding each row's probabilities in the profile's class order")


def _output_column(scores: Any, column: str | None, profile: Profile) -> Any:
    """A ``predict`` output as the profile's outputs: of a DataFrame, the ``column`` named
    (``mlflow.models.evaluate(..., predictions=...)``, as MLflow's own evaluators read a
    model with several outputs), else its only column; several columns stand for one score only
    as a binary classifier's two class probabilities (each row summing to 1). Anything else is
    refused, naming the columns, rather than one of them taken as the score."""
    if not isinstance(scores, pd.DataFrame):
        return scores
    names = ", ".join(map(str, scores.columns))
    if column is not None:
        if column not in scores.columns:
            raise DataError(f"mlflow_decay evaluator: predictions={column!r} is not a column of "
                            f"the model's output ({names})")
        return scores[column]
    if scores.shape[1] == 1:
        return scores.iloc[:, 0]
    if len(profile.prediction_columns) > 1:
        return scores  # one column per class: checked against the profile's when assigned
    if (profile.task == "binary" and profile.prediction_kind != "logit"
            and scores.shape[1] == 2 and all(map(pd.api.types.is_numeric_dtype, scores.dtypes))):
        values = scores.to_numpy(dtype=float, na_value=np.nan)
        rows = values[np.isfinite(values).all(axis=1)]
        if np.allclose(rows.sum(axis=1), 1.0, atol=1e-6):
            return scores  # class probabilities in scikit-learn's order: the positive class last
    wanted = ("the prediction" if profile.task == "regression"
              else f"the probability of class {profile.positive_label}")
    raise DataError(f"mlflow_decay evaluator: the model's output has {scores.shape[1]} columns "
                    f"({names}); name the one holding {wanted} with "
                    "mlflow.models.evaluate(..., predictions=COLUMN)")


def _model_inputs(model: Any, raw: Any, window: pd.DataFrame) -> list[str]:
    """The window's columns the raw model reads, in its order: the names it was fitted on,
    else the logged signature's inputs (which the pyfunc's ``predict`` would select), else all."""
    names = getattr(raw, "feature_names_in_", None)
    if names is None:
        schema = getattr(getattr(model, "metadata", None), "get_input_schema", lambda: None)()
        names = schema.input_names() if schema is not None and schema.has_input_names() else None
    return [str(c) for c in names] if names is not None else list(window.columns)


def _with_outputs(window: pd.DataFrame, scores: Any, profile: Profile) -> pd.DataFrame:
    """The window with the model's outputs as the profile's prediction column(s): one score per
    row, or one column per class; a binary classifier's class probabilities (two columns) give
    the positive class's (see :func:`_positive_column`)."""
    outputs = profile.prediction_columns
    values = np.asarray(scores.to_numpy() if hasattr(scores, "to_numpy") else list(scores))
    if values.ndim == 2 and len(outputs) == 1 and values.shape[1] in (1, 2):
        values = values[:, _positive_column(scores, profile) if values.shape[1] == 2 else 0]
    if values.ndim == 1 and len(outputs) == 1:
        return window.assign(**{outputs[0]: values})
    if values.ndim == 2 and values.shape[1] == len(outputs):
        return window.assign(**{c: values[:, i] for i, c in enumerate(outputs)})
    hint = (f": give predictions= a column holding each row's {len(outputs)} probabilities (a "
            f"list per row, in the order of the profile's classes: {', '.join(profile.classes)})"
            if values.ndim == 1 and len(outputs) > 1 else "")
    raise DataError(f"mlflow_decay evaluator: the model's outputs have shape {values.shape}; "
                    f"the profile expects {len(outputs)} column(s) ({', '.join(outputs)}){hint}")


def _positive_column(scores: Any, profile: Profile) -> int:
    """Which of a binary classifier's two class-probability columns is the positive class's:
    the one whose name ends with its label (``p_churn`` of ``p_churn, p_stay``; ``1`` of
    ``0, 1``), else its place in the classes' sorted order, scikit-learn's (``churn`` of
    ``churn``/``stay`` is the first, not the last)."""
    classes = [str(c) for c in profile.classes]
    if profile.positive_label is None or str(profile.positive_label) not in classes:
        return 1  # no labels in the reference: scikit-learn's positive class is the last
    if isinstance(scores, pd.DataFrame) and profile.target is not None:
        try:
            named = classes_from_columns([str(c) for c in scores.columns], classes,
                                         profile.target)
        except DataError:  # names that say no class (probability_a, probability_b)
            pass
        else:
            return named.index(str(profile.positive_label))
    return classes.index(str(profile.positive_label))


def _profiled_version(client: MlflowClient, model_id: str | None) -> registry.ModelVersionRef:
    """The registered version whose source is the LoggedModel ``model_id`` and which has a
    reference profile; :class:`RegistryError` naming what to do when there is none, or more
    than one."""
    how = ('or name the profiled version with evaluator_config={"model_uri": '
           '"models:/<name>/<version>"}')
    if not model_id:
        raise RegistryError("mlflow_decay evaluator: the evaluated model has no LoggedModel id "
                            f"(no model given, or one logged before MLflow 3); {how}")
    found = client.search_model_versions(registry.equals("source_path", f"models:/{model_id}"))
    refs = [registry.resolve(client, f"models:/{mv.name}/{mv.version}") for mv in found
            if getattr(mv, "model_id", None) == model_id or mv.source == f"models:/{model_id}"]
    profiled = [r for r in refs if r.tags.get(registry.PROFILE_URI)]
    if len(profiled) == 1:
        return profiled[0]
    if profiled:
        raise RegistryError(f"mlflow_decay evaluator: LoggedModel {model_id} is registered as "
                            f"{', '.join(r.uri for r in profiled)}, each with a profile: name "
                            'the one meant with evaluator_config={"model_uri": ...}')
    if refs:
        raise RegistryError(f"mlflow_decay evaluator: {', '.join(r.uri for r in refs)} "
                            "(the evaluated model) has no reference profile; attach one with "
                            f"`mlflow-decay profile`, {how}")
    raise RegistryError(f"mlflow_decay evaluator: the evaluated model (LoggedModel {model_id}) "
                        f"is not a registered model version; register and profile it, {how}")
