"""Held-out tasks of ``bench/estimation.py``: NannyML 0.13.1's bundled datasets that no choice in
mlflow-decay was ever measured on (issue 13: "we will check the same on held-out data").

Each is chunked the way NannyML's own documentation chunks that dataset, so the comparison is on
its terms; the decisions are the shipped ``y_pred``, recomputed as ``y_pred_proba >= t`` at the
threshold ``t`` that reproduces them exactly (the scores are rounded to two decimals), so that
CBPE (which reads ``y_pred``) and mlflow-decay (which reads ``threshold``) decide alike.

- ``heldout-wfh``: NannyML's synthetic binary classification data (will an employee work from
  home?), shipped scores, decisions at 0.48; 50,000 analysis rows in 10 chunks of 5,000 (the
  ``chunk_size=5000`` of NannyML's binary tutorials).
- ``heldout-california``: NannyML's modified California housing (real data: a block's value
  above the median, a random forest's shipped scores, reference and analysis from different
  regions of the state), decisions at 0.8; the analysis cut by calendar month
  (``chunk_period='M'`` of NannyML's California example): 12 windows, the last 216 rows.
- ``heldout-titanic``: NannyML's Titanic (Kaggle's train set as reference, its test set with
  targets as analysis). No model outputs ship: a logistic regression (class, sex, age, siblings,
  parents, fare, port; median imputation, one-hot categories) is fitted here on the reference
  only and scores both parts, decisions at 0.5. Its 418 analysis rows in 10 chunks (NannyML's
  default chunker, ``CountBasedChunker(10)``, the one its Titanic tutorial uses).
- ``heldout-carloan-dq``: NannyML's car loan data with quality issues (10-16% missing
  ``salary_range`` and ``driver_tenure``), decisions at 0.65; 10 chunks of 5,000 (the
  ``chunk_size=5000`` of NannyML's data-quality tutorials). Its scores and targets are those of
  the car loan data of the ``threshold`` task; what is new is the missing features.

Run them through ``bench/estimation.py --tasks heldout-wfh,...`` (with ``--cv-seed`` for another
cross-validation seed). Run this file itself (``python bench/heldout.py``, NannyML venv, about a
minute) for band coverage over finer cuts: the "work from home" data in 10, 20 and 40 windows,
California by month and by week (weeks of at least 100 rows), three cross-validation seeds each.
"""

from __future__ import annotations

from typing import Any

import estimation as E  # bench/estimation.py (run from bench/, or with it on sys.path)
import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

METRICS = ["roc_auc", "f1", "accuracy"]


def decided(frame: pd.DataFrame, score: str, threshold: float, shipped: str = "y_pred"
            ) -> pd.DataFrame:
    """``frame`` with ``y_pred`` recomputed as ``score >= threshold``, checked to be the
    shipped decisions when there are any."""
    decision = (frame[score] >= threshold).astype(int)
    if shipped in frame and not (decision == frame[shipped]).all():
        raise RuntimeError(f"{shipped} is not {score} >= {threshold}")
    return frame.assign(y_pred=decision)


def chunked_task(store: E.DecayStore, name: str, frames: tuple[pd.DataFrame, pd.DataFrame],
                 target: str, threshold: float, what: str) -> E.TaskResult:
    """A NannyML synthetic binary set with time-ordered analysis rows: 10 chunks of 5,000
    (NannyML's tutorials), shipped scores decided at ``threshold`` (the shipped ``y_pred``)."""
    reference, analysis = (decided(f, "y_pred_proba", threshold) for f in frames)
    windows = E.cut(analysis, 5_000)
    data = (f"held out: NannyML {what}: reference {len(reference):,} rows, analysis "
            f"{len(analysis):,} in time order, {len(windows)} chunks of 5,000; shipped "
            f"y_pred_proba, decisions >= {threshold} (= shipped y_pred)")
    result = E.binary_task(
        name, data, store, reference, windows, target=target, score="y_pred_proba",
        decision="y_pred", metrics=METRICS, threshold=threshold,
        md_options={"id_column": "id", "timestamp_column": "timestamp", "exclude": ["y_pred"]})
    result.parts = E.halves(len(windows))
    return result


def wfh_task(store: E.DecayStore, seed: int) -> E.TaskResult:
    """NannyML's synthetic binary data (work from home), 10 chunks of 5,000."""
    nml = E.import_nannyml()
    reference, analysis, targets = nml.datasets.load_synthetic_binary_classification_dataset()
    frames = (reference.drop(columns=["period"]),
              E.with_targets(analysis, targets).drop(columns=["period"]))
    return chunked_task(store, "heldout-wfh", frames, "work_home_actual", 0.48,
                        "synthetic binary (work from home)")


def california_task(store: E.DecayStore, seed: int) -> E.TaskResult:
    """NannyML's modified California housing (real data), monthly windows."""
    nml = E.import_nannyml()
    reference, analysis, targets = nml.datasets.load_modified_california_housing_dataset()
    analysis = E.with_targets(analysis, targets)
    reference, analysis = (decided(f, "y_pred_proba", 0.8) for f in (reference, analysis))
    month = pd.to_datetime(analysis["timestamp"]).dt.to_period("M")
    windows = [g.reset_index(drop=True) for _, g in analysis.groupby(month, sort=True)]
    data = (f"held out, real data: NannyML modified California housing: reference "
            f"{len(reference):,} rows, analysis {len(analysis):,} cut by calendar month "
            f"(NannyML's chunk_period='M') into {len(windows)} windows of "
            f"{min(len(w) for w in windows)}-{max(len(w) for w in windows)} rows; shipped "
            "y_pred_proba (a random forest), decisions >= 0.8 (= shipped y_pred)")
    result = E.binary_task(
        "heldout-california", data, store, reference, windows, target="clf_target",
        score="y_pred_proba", decision="y_pred", metrics=METRICS, threshold=0.8,
        md_options={"id_column": "id", "timestamp_column": "timestamp", "exclude": ["y_pred"]})
    result.windows = [str(p) for p in sorted(month.unique())]
    return result


TITANIC_NUMBERS = ["Pclass", "Age", "SibSp", "Parch", "Fare"]
TITANIC_CATEGORIES = ["Sex", "Embarked"]


def titanic_model() -> Any:
    """The simple model fitted on Titanic's reference: a logistic regression on median-imputed
    numbers and one-hot categories (missing as its own category)."""
    columns = ColumnTransformer([
        ("numbers", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), TITANIC_NUMBERS),
        ("categories", make_pipeline(SimpleImputer(strategy="constant", fill_value="missing"),
                                     OneHotEncoder(handle_unknown="ignore")), TITANIC_CATEGORIES)])
    return make_pipeline(columns, LogisticRegression(max_iter=1000))


def titanic_frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Titanic's reference and analysis (with targets), scored by a model of the reference."""
    nml = E.import_nannyml()
    reference, analysis, targets = nml.datasets.load_titanic_dataset()
    analysis = analysis.merge(targets, on="PassengerId", how="left")
    features = TITANIC_NUMBERS + TITANIC_CATEGORIES
    frames = [f[["PassengerId", *features, "Survived"]].astype(
        dict.fromkeys(TITANIC_CATEGORIES, object)) for f in (reference, analysis)]
    model = titanic_model().fit(frames[0][features], frames[0]["Survived"])
    out = []
    for f in frames:
        f = f.assign(y_pred_proba=model.predict_proba(f[features])[:, 1])
        out.append(decided(f, "y_pred_proba", 0.5).astype(dict.fromkeys(TITANIC_CATEGORIES, str)))
    return out[0], out[1]


def titanic_task(store: E.DecayStore, seed: int) -> E.TaskResult:
    """NannyML's Titanic, a logistic regression fitted on the reference, 10 chunks."""
    reference, analysis = titanic_frames()
    windows = [analysis.iloc[i].reset_index(drop=True)
               for i in np.array_split(np.arange(len(analysis)), 10)]
    data = (f"held out, real data: NannyML Titanic: reference {len(reference)} rows (Kaggle "
            f"train), analysis {len(analysis)} (Kaggle test) in 10 chunks of "
            f"{min(len(w) for w in windows)}-{max(len(w) for w in windows)} (NannyML's default "
            "chunker); no outputs ship: logistic regression fitted here on the reference only "
            "(imputed numbers, one-hot sex and port), decisions >= 0.5")
    return E.binary_task(
        "heldout-titanic", data, store, reference, windows, target="Survived",
        score="y_pred_proba", decision="y_pred", metrics=METRICS, threshold=0.5,
        md_options={"id_column": "PassengerId", "exclude": ["y_pred"]})


def carloan_dq_task(store: E.DecayStore, seed: int) -> E.TaskResult:
    """NannyML's car loan data with missing values, 10 chunks of 5,000."""
    nml = E.import_nannyml()
    reference, analysis, targets = nml.datasets.load_synthetic_car_loan_data_quality_dataset()
    reference, analysis = (f.assign(repaid=f["repaid"].astype(int))
                           for f in (reference, E.with_targets(analysis, targets)))
    return chunked_task(store, "heldout-carloan-dq", (reference, analysis), "repaid", 0.65,
                        "synthetic car loan with quality issues (salary_range and "
                        "driver_tenure 10-16% missing)")


TASKS = {"heldout-wfh": wfh_task, "heldout-california": california_task,
         "heldout-titanic": titanic_task, "heldout-carloan-dq": carloan_dq_task}


# ---------------------------------------------------------------------------------------------
# coverage over finer cuts of the same held-out data (``python bench/heldout.py``)


def finer_cuts() -> dict[str, tuple[pd.DataFrame, dict[str, list[pd.DataFrame]], dict[str, Any]]]:
    """Per data set: the reference, the analysis cut finer than NannyML's docs cut it (to count
    band coverage over more windows), and the task's options."""
    nml = E.import_nannyml()
    reference, analysis, targets = nml.datasets.load_synthetic_binary_classification_dataset()
    wfh = [decided(f.drop(columns=["period"]), "y_pred_proba", 0.48)
           for f in (reference, E.with_targets(analysis, targets))]
    reference, analysis, targets = nml.datasets.load_modified_california_housing_dataset()
    cal = [decided(f, "y_pred_proba", 0.8) for f in (reference, E.with_targets(analysis, targets))]
    week = pd.to_datetime(cal[1]["timestamp"]).dt.to_period("W")
    timed = {"id_column": "id", "timestamp_column": "timestamp", "exclude": ["y_pred"]}
    return {
        "heldout-wfh": (wfh[0], {f"{n} x {len(wfh[1]) // n:,}": E.cut(wfh[1], len(wfh[1]) // n)
                                 for n in (10, 20, 40)},
                        {"target": "work_home_actual", "threshold": 0.48, **timed}),
        "heldout-california": (cal[0], {
            "12 months": [g.reset_index(drop=True) for _, g in cal[1].groupby(
                pd.to_datetime(cal[1]["timestamp"]).dt.to_period("M"))],
            "weeks": [g.reset_index(drop=True) for _, g in cal[1].groupby(week) if len(g) >= 100]},
            {"target": "clf_target", "threshold": 0.8, **timed}),
    }


def coverage_main(cv_seeds: tuple[int, ...] = (0, 1, 2)) -> None:
    """Band coverage (md | NML) per cut and pooled over cuts and cross-validation seeds."""
    with E.DecayStore() as store:
        for name, (reference, cuts, options) in finer_cuts().items():
            pooled: dict[str, list[int]] = {}
            for label, windows in cuts.items():
                for seed in cv_seeds:
                    with E.cv_seeded(seed):
                        result = E.binary_task(
                            name, "", store, reference, windows, target=options["target"],
                            score="y_pred_proba", decision="y_pred", metrics=METRICS,
                            threshold=options["threshold"],
                            md_options={k: v for k, v in options.items()
                                        if k not in ("target", "threshold")})
                    for ours, theirs in result.pairs():
                        n = len(windows)
                        print(f"{name} | {label} ({n} windows) | cv seed {seed} | {ours.metric} | "
                              f"MAE {ours.mae:.4g} | {theirs.mae:.4g} | covered "
                              f"{ours.covered}/{n} | {theirs.covered}/{n} | band fit "
                              f"{ours.band_fit:.2f} | {theirs.band_fit:.2f}", flush=True)
                        tally = pooled.setdefault(ours.metric, [0, 0, 0])
                        tally[0] += ours.covered
                        tally[1] += theirs.covered
                        tally[2] += n
            for metric, (md_covered, nml_covered, n) in pooled.items():
                print(f"{name} | pooled | {metric} | covered {100 * md_covered / n:.1f}% | "
                      f"{100 * nml_covered / n:.1f}% of {n}")


if __name__ == "__main__":
    coverage_main()
