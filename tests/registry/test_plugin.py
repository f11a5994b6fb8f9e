"""The mlflow.model_evaluator plugin, exercised through mlflow.models.evaluate itself."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import mlflow
import mlflow.models
import mlflow.pyfunc
import mlflow.sklearn
import pandas as pd
import pytest
from conftest import frame_profile, make_frame
from sklearn.metrics import accuracy_score

import mlflow_decay as md


def test_mlflow_models_evaluate_with_the_decay_evaluator(tracking_uri: str, profiled: str) -> None:
    window = make_frame(3000, 4, shift=1.0)
    with mlflow.start_run() as run:
        result = mlflow.models.evaluate(
            data=window,
            predictions="score", targets="label", model_type="classifier",
            evaluators=["mlflow_decay"],
            evaluator_config={"mlflow_decay": {"model_uri": profiled}})
    assert result.metrics["decay.drift.x1.wasserstein"] > 0.5
    assert "decay.est.roc_auc" in result.metrics and "decay.perf.roc_auc" in result.metrics
    logged = mlflow.MlflowClient().get_run(run.info.run_id)
    assert logged.data.metrics["decay.drift.share"] == pytest.approx(
        result.metrics["decay.drift.share"])
    report = json.loads(Path(mlflow.artifacts.download_artifacts(
        run_id=run.info.run_id, artifact_path="decay_report.json")).read_text())
    assert report["model_uri"] == profiled and report["window_status"] in ("warning", "degraded")
    assert result.artifacts["decay_report"].content["window_status"] == report["window_status"]


# --- trial 3: a plainly logged classifier is judged on its probabilities ----------

def _log_classifier(train: pd.DataFrame, target: str, name: str, **kwargs: object) -> str:
    import mlflow.sklearn
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression().fit(train[FEATURES], train[target])
    mlflow.set_experiment("models")
    with mlflow.start_run():
        info = mlflow.sklearn.log_model(
            model, name="model", registered_model_name=name,
            serialization_format=mlflow.sklearn.SERIALIZATION_FORMAT_SKOPS,
            pip_requirements=["scikit-learn", "skops"], input_example=train[FEATURES].head(3),
            **kwargs)  # type: ignore[arg-type]
    return f"models:/{name}/{info.registered_model_version}"


FEATURES = ["x1", "x2", "level"]


@pytest.mark.parametrize("labels, positive", [((0, 1), None), (("churn", "stay"), "churn")])
def test_a_classifier_logged_without_pyfunc_predict_fn_is_scored_by_its_probabilities(
        tracking_uri: str, labels: tuple[object, object], positive: str | None) -> None:
    import numpy as np
    from sklearn import metrics as skm

    train, reference, window = (make_frame(3000, s) for s in (11, 1, 4))
    for frame in (train, reference, window):
        frame["y"] = np.where(frame["label"] == 1, labels[1 if positive is None else 0],
                              labels[0 if positive is None else 1])
    uri = _log_classifier(train, "y", "plain")  # pyfunc predict gives class labels
    model = mlflow.sklearn.load_model(uri)
    pos = list(model.classes_).index(labels[1] if positive is None else positive)
    reference["p"] = model.predict_proba(reference[FEATURES])[:, pos]
    md.attach_profile(uri, md.build_profile(reference[[*FEATURES, "y", "p"]], target="y",
                                            prediction="p", positive_label=positive),
                      tracking_uri=tracking_uri)
    with mlflow.start_run():
        result = mlflow.models.evaluate(uri, window[[*FEATURES, "y"]], targets="y",
                                        model_type="classifier", evaluators=["mlflow_decay"])
    truth = window["y"] == (labels[1] if positive is None else positive)
    expected = skm.roc_auc_score(truth, model.predict_proba(window[FEATURES])[:, pos])
    assert result.metrics["decay.perf.roc_auc"] == pytest.approx(expected)
    assert result.metrics["decay.drift.prediction.psi"] < 0.1  # same model, same population


def _log_pyfunc(model: object, name: str, reference: pd.DataFrame) -> str:
    """A custom pyfunc ``model`` logged and registered as ``name``; its version's URI."""
    mlflow.set_experiment("models")
    with mlflow.start_run():
        # requirements given: inferring them imports the model in a subprocess (4 s a model)
        info = mlflow.pyfunc.log_model(name="model", python_model=model,
                                       registered_model_name=name, pip_requirements=["mlflow"],
                                       input_example=reference[FEATURES].head(3))
    return f"models:/{name}/{info.registered_model_version}"


def test_a_model_whose_predict_gives_class_labels_is_refused_not_read_as_scores(
        tracking_uri: str) -> None:
    from mlflow.pyfunc import PythonModel

    class Labels(PythonModel):  # a classifier behind a custom pyfunc: no raw predict_proba
        def predict(self, context, model_input, params=None):
            return (model_input["x1"] > 0).astype(int)

    reference = make_frame(2000, 1)
    uri = _log_pyfunc(Labels(), "labels", reference)
    md.attach_profile(uri, frame_profile(2000, 1, target="label", prediction="score"),
                      tracking_uri=tracking_uri)
    with pytest.raises(md.DataError, match=r"class labels .*0, 1.*predict_proba"), \
            mlflow.start_run():
        mlflow.models.evaluate(uri, make_frame(500, 2)[[*FEATURES, "label"]], targets="label",
                               model_type="classifier", evaluators=["mlflow_decay"])


def test_a_classifier_fitted_on_arrays_reads_its_signatures_columns_of_a_wider_dataset(
        tracking_uri: str) -> None:
    import numpy as np
    from mlflow.models import infer_signature
    from sklearn import metrics as skm
    from sklearn.linear_model import LogisticRegression

    train, reference, window = (make_frame(3000, s) for s in (11, 1, 4))
    model = LogisticRegression().fit(train[FEATURES].to_numpy(), train["label"])  # no names
    mlflow.set_experiment("models")
    with mlflow.start_run():
        info = mlflow.sklearn.log_model(
            model, name="model", registered_model_name="arrays",
            serialization_format=mlflow.sklearn.SERIALIZATION_FORMAT_SKOPS,
            pip_requirements=["scikit-learn", "skops"],
            signature=infer_signature(train[FEATURES], model.predict(train[FEATURES].to_numpy())))
    uri = f"models:/arrays/{info.registered_model_version}"
    reference["p"] = model.predict_proba(reference[FEATURES].to_numpy())[:, 1]
    md.attach_profile(uri, md.build_profile(reference[[*FEATURES, "label", "p"]], target="label",
                                            prediction="p"), tracking_uri=tracking_uri)
    data = window[[*FEATURES, "label"]].assign(row_id=np.arange(len(window)))  # not an input
    with mlflow.start_run():
        result = mlflow.models.evaluate(uri, data, targets="label", model_type="classifier",
                                        evaluators=["mlflow_decay"])
    expected = skm.roc_auc_score(window["label"],
                                 model.predict_proba(window[FEATURES].to_numpy())[:, 1])
    assert result.metrics["decay.perf.roc_auc"] == pytest.approx(expected)


# --- trial 4: a pyfunc whose predict gives a DataFrame ---------------------------

def _log_frame_model(reference: pd.DataFrame, shape: str) -> str:
    """A classifier behind a custom pyfunc whose ``predict`` gives a DataFrame (``shape``: its
    columns), registered and profiled on ``reference``'s score."""
    from mlflow.pyfunc import PythonModel

    class Frame(PythonModel):
        def predict(self, context, model_input, params=None):
            p = 1 / (1 + np.exp(-(1.5 * model_input["x1"].to_numpy())))
            label = (p >= 0.5).astype(int)
            columns = {"probability": p, "prediction": label, "p_0": 1 - p, "p_1": p}
            return pd.DataFrame({c: columns[c] for c in shape.split(",")})

    import numpy as np

    uri = _log_pyfunc(Frame(), "frames", reference)
    scored = reference.assign(p=1 / (1 + np.exp(-(1.5 * reference["x1"]))))
    md.attach_profile(uri, md.build_profile(scored[[*FEATURES, "label", "p"]], target="label",
                                            prediction="p"))
    return uri


@pytest.mark.parametrize("shape, column", [("p_0,p_1", None), ("probability,prediction",
                                                                 "probability"),
                                           ("prediction,probability", "probability")])
def test_a_dataframe_output_is_read_by_its_probability_column(
        tracking_uri: str, shape: str, column: str | None) -> None:
    """Before: a DataFrame's last column was taken as the score, whatever it held, and
    ``predictions=`` (the output column MLflow's evaluators read) was ignored: a model giving
    (probability, prediction) was judged on its 0/1 labels (AUC 0.64 for 0.72, PSI 6.8)."""
    import numpy as np
    from sklearn import metrics as skm

    window = make_frame(2000, 4)
    uri = _log_frame_model(make_frame(3000, 1), shape)
    with mlflow.start_run():
        result = mlflow.models.evaluate(uri, window[[*FEATURES, "label"]], targets="label",
                                        predictions=column, model_type="classifier",
                                        evaluators=["mlflow_decay"])
    expected = skm.roc_auc_score(window["label"], 1 / (1 + np.exp(-(1.5 * window["x1"]))))
    assert result.metrics["decay.perf.roc_auc"] == pytest.approx(expected)
    assert result.metrics["decay.drift.prediction.psi"] < 0.1  # the same scores' distribution


@pytest.mark.parametrize("shape, column, message", [
    ("prediction", None, r"class labels \(0, 1\)"),
    ("probability,prediction", None, r"2 columns \(probability, prediction\); name the one "
                                     r"holding the probability of class 1 with .*predictions="),
    ("probability", "score", r"predictions='score' is not a column of the model's output "
                             r"\(probability\)")])
def test_a_dataframe_output_that_is_not_one_score_is_refused(
        tracking_uri: str, shape: str, column: str | None, message: str) -> None:
    """Before: a one-column DataFrame of class labels, or the labels as the last of two
    columns, were read as scores (no refusal, a wrong AUC and a huge prediction drift)."""
    uri = _log_frame_model(make_frame(3000, 1), shape)
    with pytest.raises(md.DataError, match=message), mlflow.start_run():
        mlflow.models.evaluate(uri, make_frame(500, 2)[[*FEATURES, "label"]], targets="label",
                               predictions=column, model_type="classifier",
                               evaluators=["mlflow_decay"])


# --- trial 6: a pyfunc giving both classes' probabilities, the positive one first ---

@pytest.mark.parametrize("columns", ["p_churn,p_stay", "p_stay,p_churn", "array"])
def test_two_class_probabilities_give_the_positive_class_even_when_it_sorts_first(
        tracking_uri: str, columns: str) -> None:
    """Before: the last of two probability columns was read as the positive class's, so a
    churn/stay model (positive "churn", first in scikit-learn's order) whose pyfunc gives
    ``p_churn, p_stay`` was judged on P(stay): AUC 0.23 for 0.77, degraded."""
    import numpy as np
    from mlflow.pyfunc import PythonModel
    from sklearn import metrics as skm

    def churn(x1: np.ndarray) -> np.ndarray:
        return 1 / (1 + np.exp(-(1.5 * x1)))

    class Both(PythonModel):
        def predict(self, context, model_input, params=None):
            p = churn(model_input["x1"].to_numpy())
            if columns == "array":  # scikit-learn's predict_proba: sorted classes
                return np.column_stack([p, 1 - p])
            both = {"p_churn": p, "p_stay": 1 - p}
            return pd.DataFrame({c: both[c] for c in columns.split(",")})

    reference, window = make_frame(3000, 1), make_frame(2000, 4)
    for frame in (reference, window):
        frame["y"] = np.where(frame["label"] == 1, "churn", "stay")
    uri = _log_pyfunc(Both(), "both", reference)
    scored = reference.assign(p=churn(reference["x1"].to_numpy()))
    md.attach_profile(uri, md.build_profile(scored[[*FEATURES, "y", "p"]], target="y",
                                            prediction="p", positive_label="churn"),
                      tracking_uri=tracking_uri)
    with mlflow.start_run():
        result = mlflow.models.evaluate(uri, window[[*FEATURES, "y"]], targets="y",
                                        model_type="classifier", evaluators=["mlflow_decay"])
    expected = skm.roc_auc_score(window["y"] == "churn", churn(window["x1"].to_numpy()))
    assert result.metrics["decay.perf.roc_auc"] == pytest.approx(expected)
    assert result.metrics["decay.drift.prediction.psi"] < 0.1  # the same scores' distribution


# --- trial 7: a multiclass window's static predictions ----------------------------

def test_a_multiclass_windows_static_predictions_are_one_column_of_lists(
        tracking_uri: str, new_version: Callable[..., str]) -> None:
    """MLflow's predictions= names one column: of an 8-class window's p_<class> columns, the
    user gave one, and the error said only that the outputs had shape (n,). It now says what
    works: a column of each row's probabilities, in the profile's class order."""
    import numpy as np
    from sklearn.metrics import accuracy_score

    rng = np.random.default_rng(1)

    def cards(n: int) -> pd.DataFrame:
        y = rng.integers(0, 3, n)
        p = rng.dirichlet([1, 1, 1], n) + 2 * np.eye(3)[y]
        p /= p.sum(axis=1, keepdims=True)
        return pd.DataFrame(p, columns=["p_c", "p_a", "p_b"]).assign(
            x=rng.normal(0, 1, n), y=np.array(["c", "a", "b"])[y])

    uri = new_version("cards")
    md.attach_profile(uri, md.build_profile(cards(2000), target="y",
                                            prediction=["p_c", "p_a", "p_b"], task="multiclass",
                                            band_chunks=0), tracking_uri=tracking_uri)
    window = cards(500)
    config = {"mlflow_decay": {"model_uri": uri}}
    with pytest.raises(md.DataError, match=r"give predictions= a column holding each row's 3 "
                       r"probabilities \(a list per row, in the order of the profile's classes: "
                       r"c, a, b\)"):
        mlflow.models.evaluate(data=window, predictions="p_a", targets="y",
                               model_type="classifier", evaluators=["mlflow_decay"],
                               evaluator_config=config)
    lists = window.drop(columns=["p_c", "p_a", "p_b"]).assign(
        proba=list(window[["p_c", "p_a", "p_b"]].to_numpy()))
    result = mlflow.models.evaluate(data=lists, predictions="proba", targets="y",
                                    model_type="classifier", evaluators=["mlflow_decay"],
                                    evaluator_config=config)
    assert result.metrics["decay.perf.accuracy"] == pytest.approx(accuracy_score(
        window.y, np.array(["c", "a", "b"])[window[["p_c", "p_a", "p_b"]].to_numpy().argmax(1)]))


def test_a_plain_mlflow_evaluate_is_not_broken_by_the_installed_evaluator(
        tracking_uri: str) -> None:
    # without evaluators=, MLflow runs every installed evaluator: ours refused a model that no
    # profiled version holds, so installing mlflow-decay broke every such evaluation
    mlflow.set_experiment("plain")
    window = make_frame(500, 4).drop(columns="color")  # MLflow's explainer reads numbers
    window["decided"] = (window.score >= 0.5).astype(int)  # MLflow's classifier reads labels
    with pytest.warns(md.DecayWarning, match=r"has no LoggedModel id .*\(skipped\)"), \
            mlflow.start_run():
        result = mlflow.models.evaluate(data=window, predictions="decided", targets="label",
                                        model_type="classifier")
    assert result.metrics["accuracy_score"] == pytest.approx(
        accuracy_score(window.label, window.decided))
    assert not any(k.startswith("decay.") for k in result.metrics)
    # named, it still says why it cannot judge the model (MLflow then says none could)
    with pytest.warns(md.DecayWarning, match="has no LoggedModel id"), \
            pytest.raises(mlflow.exceptions.MlflowException, match="could not be evaluated"), \
            mlflow.start_run():
        mlflow.models.evaluate(data=window, predictions="score", targets="label",
                               model_type="classifier", evaluators=["mlflow_decay"])


# --- trial 21: a multiclass pyfunc's probability columns, read by their names ------

@pytest.mark.parametrize("output", ["bronze,gold,platinum,silver", "p_platinum,p_silver,p_gold,p_bronze",
                                    "array"])
def test_a_multiclass_pyfuncs_probability_columns_are_read_by_name(
        tracking_uri: str, output: str) -> None:
    """Before: a pyfunc whose predict gives a DataFrame of class probabilities (columns in
    scikit-learn's sorted order) was read by position as the profile's classes (bronze,
    silver, gold, platinum): gold's column as silver's, PSI 7.9 and a wrong AUC. Now by the
    columns' names; an array, which names nothing, only when the profile's classes are in
    scikit-learn's order."""
    import numpy as np
    from mlflow.pyfunc import PythonModel
    from sklearn import metrics as skm

    ordered = ["bronze", "gold", "platinum", "silver"]  # scikit-learn's classes_

    def proba(x1: np.ndarray) -> np.ndarray:
        z = np.column_stack([x1, -x1, 0 * x1, 0.5 * x1])
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    class Tiers(PythonModel):
        def predict(self, context, model_input, params=None):
            p = proba(model_input["x1"].to_numpy())
            if output == "array":
                return p
            names = output.split(",")
            return pd.DataFrame({c: p[:, ordered.index(c.removeprefix("p_"))] for c in names})

    def tiers(seed: int, n: int) -> pd.DataFrame:
        frame = make_frame(n, seed)
        p = proba(frame["x1"].to_numpy())
        rng = np.random.default_rng(seed)
        y = np.array(ordered)[(p.cumsum(axis=1) < rng.random(n)[:, None]).sum(axis=1)]
        return frame.assign(tier=y, **{f"p_{c}": p[:, i] for i, c in enumerate(ordered)})

    reference, window = tiers(1, 3000), tiers(4, 2000)
    uri = _log_pyfunc(Tiers(), "tiers", reference)
    business = ["bronze", "silver", "gold", "platinum"]
    md.attach_profile(uri, md.build_profile(
        reference[[*FEATURES, "tier", *(f"p_{c}" for c in business)]], target="tier",
        prediction=[f"p_{c}" for c in business], task="multiclass", band_chunks=0),
        tracking_uri=tracking_uri)
    if output == "array":
        with pytest.raises(md.DataError, match=r"the model's 4 probability columns do not say "
                           r"which class each is, and the profile's classes \(bronze, silver, "
                           r"gold, platinum\) are not in scikit-learn's sorted order"), \
                mlflow.start_run():
            mlflow.models.evaluate(uri, window[[*FEATURES, "tier"]], targets="tier",
                                   model_type="classifier", evaluators=["mlflow_decay"])
        return
    with mlflow.start_run():
        result = mlflow.models.evaluate(uri, window[[*FEATURES, "tier"]], targets="tier",
                                        model_type="classifier", evaluators=["mlflow_decay"])
    p = window[[f"p_{c}" for c in ordered]].to_numpy()
    assert result.metrics["decay.perf.roc_auc_ovr"] == pytest.approx(skm.roc_auc_score(
        window.tier, p, multi_class="ovr", labels=ordered))
    assert result.metrics["decay.perf.f1_macro"] == pytest.approx(skm.f1_score(
        window.tier, np.array(ordered)[p.argmax(1)], labels=business, average="macro",
        zero_division=0))
    assert result.metrics["decay.drift.prediction.psi"] < 0.1  # the same model's outputs
