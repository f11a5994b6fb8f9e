"""Label-free performance estimation: mlflow-decay against NannyML on the same windows (issue 13).

Both tools see the same reference rows (with labels) and the same production windows (without
labels); the realized metric of each window is computed here with scikit-learn from its hidden
labels. Per task and metric, for each tool: the mean absolute error of the estimate against the
realized value over the windows (MAE), the largest absolute error, the mean signed error (bias),
and the 95% band's coverage (the share of windows whose realized value lies in the band).

mlflow-decay is used through its public API only: ``md.build_profile`` on the reference,
``md.attach_profile`` to a version registered in a throwaway sqlite MLflow store (a temporary
folder, removed at the end), and ``md.evaluate(uri, window, log=False, apply=False)``; its band
is ``est.<metric>.lower``/``.upper``. NannyML's band is its ``lower_confidence_boundary``/
``upper_confidence_boundary``, which is the estimate +- 3 sampling errors (``SAMPLING_ERROR_RANGE
= 3``, about 99.7%): its coverage is shown as such, next to the coverage of the estimate +- 1.96
sampling errors, NannyML's 95% band.

Tasks (``--tasks``, comma-separated; default all):

- ``census``: binary, real data: NannyML's US census employment data (Massachusetts, ACS), the
  model outputs it ships (``predicted_probability``); reference = its 2015 part; the 2016-2018
  part cut in row order into 21 windows of 10,000 rows (the last 8,892), as NannyML's
  ``chunk_size=10000`` cuts it. ``est.roc_auc`` vs CBPE ``roc_auc``.
- ``threshold``: binary decisions at threshold 0.65 on NannyML's synthetic car loan data
  (``y_pred`` recomputed as ``y_pred_proba >= 0.65``; mlflow-decay ``threshold=0.65``);
  analysis cut into 10 windows of 5,000. ``est.f1`` and ``est.accuracy`` vs CBPE.
- ``census@0.65``: the census windows again, decisions at 0.65 (``prediction`` recomputed):
  ``est.f1`` and ``est.accuracy`` vs CBPE, on real data.
- ``regression``: NannyML's synthetic car price data, 12 windows of 5,000 (the second half
  covariate-shifted). ``est.mae``/``est.rmse`` vs DLE.
- ``multiclass``: NannyML's synthetic credit card multiclass data, 10 windows of 6,000.
  Macro ``est.roc_auc_ovr`` and ``est.f1_macro`` vs CBPE's (macro) ``roc_auc`` and ``f1``.
- ``multivariate``: generated data, 4 numerical and 3 categorical features; 5 windows drawn
  like the reference and 5 where only the association of two categorical features changes
  (their marginals stay put). Windows flagged by mlflow-decay's ``drift.multivariate.
  reconstruction_error`` rule (the default policy: outside the reference band, k = 4 sd, on
  either side, warns) and by NannyML's ``DataReconstructionDriftCalculator`` (PCA, alert
  outside 3 sd).
- ``multivariate-mixed``: a second generated set, 6 numerical and 4 categorical features (12
  regions, 230 products of which 200 rare, 3 tiers, 4 devices); 5 windows like the reference,
  then 3 of each shift with every marginal unchanged: the tier no longer drives the amount
  (categorical-numerical), the product follows the region less (0.7 -> 0.2) or more (0.7 ->
  0.95: into the principal subspace, the error falls), and device and tier, independent in the
  reference, go together (a new association among directions of equal variance, which a PCA's
  reconstruction cannot see).
- ``digits``: scikit-learn's bundled digits (is it a 3, 5 or 8?), a logistic regression, 30
  windows of 10,000 rows resampled from the held-out half with weights that grow with the ink
  in the image's top half (covariate shift). ``est.roc_auc`` vs CBPE.
- ``rare-positives``: generated, about 4 % positives (fraud, churn): a class-weighted logistic
  regression (its scores far above the positive rate) fitted on 30,000 rows of a model with
  interactions; reference 20,000 rows, 20 fresh windows of 5,000 from the same distribution,
  decisions at 0.5. ``est.roc_auc``, ``est.pr_auc``, ``est.f1``, ``est.accuracy`` vs CBPE
  (``average_precision`` for PR AUC).
- held out (``bench/heldout.py``, see there): ``heldout-wfh``, ``heldout-california``,
  ``heldout-titanic``, ``heldout-carloan-dq``: NannyML's other bundled binary datasets, chunked
  as NannyML's documentation chunks them; ``est.roc_auc``, ``est.f1``, ``est.accuracy`` vs CBPE.
  No choice in mlflow-decay was measured on them before they were added.

Run (NannyML is required: the script exits 1 if it is missing)::

    make bench        # installs NannyML into .venv when missing, then speed.py and this
    .venv/bin/python bench/estimation.py [--tasks census,threshold] [--seed 0] [--verbose]

``--verbose`` also prints each window: realized value, both estimates and bands. The script
sets ``NML_DISABLE_USAGE_LOGGING=1`` (NannyML's usage analytics) and ``MLFLOW_DISABLE_TELEMETRY``
itself. About 20 s to 1.5 min on the 2-core development machine, depending on its load.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import shutil
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

os.environ["NML_DISABLE_USAGE_LOGGING"] = "1"  # NannyML's usage analytics: off, always
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")

import numpy as np
import pandas as pd
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, average_precision_score, f1_score, roc_auc_score
from sklearn.model_selection import train_test_split

import mlflow_decay as md

# bench/heldout.py imports this module by name, also when it runs as a script
sys.modules.setdefault("estimation", sys.modules[__name__])
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

Z95 = 1.959963984540054
#: NannyML's confidence boundaries are the estimate +- this many sampling errors.
NML_SAMPLING_ERROR_RANGE = 3.0
#: The synthetic timestamp that gives each window its own day, so NannyML's period chunker cuts
#: the concatenated windows exactly where they were cut here.
WINDOW_DAY = "__bench_window_day"
#: Held-out tasks (``bench/heldout.py``): NannyML datasets no choice here was measured on.
HELDOUT_TASKS = ("heldout-wfh", "heldout-california", "heldout-titanic", "heldout-carloan-dq")
TASKS = ("census", "threshold", "census@0.65", "regression", "multiclass", "multivariate",
         "multivariate-mixed", "digits", "rare-positives", *HELDOUT_TASKS)
#: NannyML's name of a metric where it differs from mlflow-decay's.
NML_METRIC = {"pr_auc": "average_precision"}
MULTIVARIATE_METRIC = "drift.multivariate.reconstruction_error"


class MissingNannyML(RuntimeError):
    """NannyML cannot be imported: the comparison cannot run."""


def import_nannyml() -> Any:
    """NannyML, or :class:`MissingNannyML` saying how to install it (never a silent skip)."""
    try:
        import nannyml
    except ImportError as exc:
        raise MissingNannyML(
            f"NannyML is required for this benchmark and cannot be imported ({exc}); "
            f"install it into this interpreter ({sys.executable} -m pip install nannyml) "
            "or run `make bench`, which does") from exc
    return nannyml


# ---------------------------------------------------------------------------------------------
# results


@dataclass
class Series:
    """One tool's estimates of one metric over the windows, against the realized values."""

    tool: str
    metric: str
    estimate: np.ndarray
    realized: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    #: NannyML only: its own (+-3 sampling errors) confidence boundaries
    native_lower: np.ndarray | None = None
    native_upper: np.ndarray | None = None

    @property
    def error(self) -> np.ndarray:
        return self.estimate - self.realized

    def part(self, windows: slice) -> Series:
        """The same series over some of the windows."""
        def cut(a: np.ndarray | None) -> np.ndarray | None:
            return None if a is None else a[windows]

        return Series(self.tool, self.metric, self.estimate[windows], self.realized[windows],
                      self.lower[windows], self.upper[windows], cut(self.native_lower),
                      cut(self.native_upper))

    @property
    def mae(self) -> float:
        return float(np.mean(np.abs(self.error)))

    @property
    def max_error(self) -> float:
        return float(np.max(np.abs(self.error)))

    @property
    def bias(self) -> float:
        return float(np.mean(self.error))

    @property
    def covered(self) -> int:
        return int(np.sum((self.lower <= self.realized) & (self.realized <= self.upper)))

    @property
    def native_covered(self) -> int | None:
        if self.native_lower is None or self.native_upper is None:
            return None
        return int(np.sum((self.native_lower <= self.realized) & (self.realized <= self.native_upper)))

    @property
    def half_width(self) -> float:
        """Mean half-width of the 95% band."""
        return float(np.mean(self.upper - self.lower) / 2)

    @property
    def band_fit(self) -> float:
        """The band's half-width over 1.96 x the RMS error: 1 when the band is as wide as the
        observed errors call for, below 1 when too narrow."""
        rms = float(np.sqrt(np.mean(self.error ** 2)))
        return self.half_width / (Z95 * rms) if rms > 0 else float("inf")


@dataclass
class Flags:
    """Windows a tool flagged as drifted, among the drifted and the undrifted windows."""

    tool: str
    what: str
    drifted: list[bool]  # per window: whether it was made drifted
    flagged: list[bool]
    values: list[float]
    limits: list[float]
    lower: list[float] | None = None  # two-sided: the lower limits

    @property
    def hits(self) -> int:
        return sum(f for f, d in zip(self.flagged, self.drifted, strict=True) if d)

    @property
    def false_alarms(self) -> int:
        return sum(f for f, d in zip(self.flagged, self.drifted, strict=True) if not d)


@dataclass
class TaskResult:
    """One task: how its data and windows were built, and both tools' results."""

    name: str
    data: str
    windows: list[str]
    rows: list[int]
    series: list[Series] = field(default_factory=list)
    flags: list[Flags] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    #: parts of the windows also scored on their own, e.g. before and after a known shift
    parts: list[tuple[str, slice]] = field(default_factory=list)

    def pairs(self) -> list[tuple[Series, Series]]:
        """(mlflow-decay, NannyML) series of each metric, in order."""
        ours = [s for s in self.series if s.tool == "mlflow-decay"]
        theirs = {s.metric: s for s in self.series if s.tool == "NannyML"}
        return [(s, theirs[s.metric]) for s in ours]


# ---------------------------------------------------------------------------------------------
# mlflow-decay through its public API


class DecayStore:
    """A throwaway sqlite MLflow store where profiles are attached to registered versions, so
    that ``md.evaluate`` (which reads a version's profile) evaluates windows without logging."""

    def __init__(self) -> None:
        self.folder = tempfile.mkdtemp(prefix="bench-estimation-")
        self.uri = f"sqlite:///{self.folder}/mlflow.db"
        self._client: Any = None
        self._experiment = ""

    def __enter__(self) -> DecayStore:
        import mlflow
        from mlflow import MlflowClient

        for name in ("mlflow", "alembic"):
            logging.getLogger(name).setLevel(logging.WARNING)
        mlflow.set_tracking_uri(self.uri)
        mlflow.set_registry_uri(self.uri)
        self._client = MlflowClient(tracking_uri=self.uri, registry_uri=self.uri)
        self._experiment = self._client.create_experiment("bench-models")
        return self

    def __exit__(self, *exc: object) -> None:
        import mlflow

        mlflow.set_tracking_uri(None)  # type: ignore[arg-type]
        mlflow.set_registry_uri(None)  # type: ignore[arg-type]
        shutil.rmtree(self.folder, ignore_errors=True)

    def register(self, name: str, profile: Any) -> str:
        """A new version of model ``name`` with ``profile`` attached; its ``models:/`` URI."""
        client = self._client
        with contextlib.suppress(Exception):
            client.create_registered_model(name)
        model = client.create_logged_model(self._experiment, name=name)
        version = client.create_model_version(name, source=f"models:/{model.model_id}",
                                              model_id=model.model_id)
        uri = f"models:/{name}/{version.version}"
        md.attach_profile(uri, profile, tracking_uri=self.uri)
        return uri

    def evaluate(self, uri: str, window: pd.DataFrame) -> Any:
        """The window's :class:`md.DecayReport`, nothing logged, the registry unchanged."""
        return md.evaluate(uri, window, log=False, apply=False, tracking_uri=self.uri)


def decay_reports(store: DecayStore, result: TaskResult, reference: pd.DataFrame,
                  windows: Sequence[pd.DataFrame], **profile_options: Any) -> list[Any]:
    """mlflow-decay's report on each window (labels removed); the seconds it all took go to
    ``result.seconds``, and how the profile estimates (its calibration or loss models) to
    ``result.notes``."""
    began = time.perf_counter()
    profile = md.build_profile(reference, **profile_options)
    uri = store.register("".join(c if c.isalnum() else "-" for c in result.name), profile)
    hidden = [c for c in (profile_options.get("target"),) if c]
    reports = [store.evaluate(uri, w.drop(columns=hidden)) for w in windows]
    result.seconds["mlflow-decay"] = time.perf_counter() - began
    result.notes.extend(estimator_notes(profile))
    return reports


def estimator_notes(profile: Any) -> list[str]:
    """What the profile's estimator is made of: each calibration map, or the loss models' inputs."""
    notes = []
    for i, c in enumerate(profile.calibrations):
        which = f" (class {profile.classes[i]})" if len(profile.calibrations) > 1 else ""
        ece = (f"; reference ECE raw {c.ece_raw:.4f}, calibrated (out of fold) {c.ece_calibrated:.4f}"
               if c.ece_raw is not None and c.ece_calibrated is not None else "")
        kind = (f"{getattr(c, 'method', 'a')} map of {len(c.x)} points"
                + (f", {len(c.folds)} fold maps for the band" if getattr(c, "folds", ()) else "")
                if c.x else "raw scores (no map kept)")
        notes.append(f"mlflow-decay calibration{which}: {kind}{ece}")
    if profile.loss_models:
        model = profile.loss_models[0]
        notes.append("mlflow-decay loss models read: " + ", ".join(
            f"{c} (by category)" if c in model.categories else c for c in model.columns))
        size = sum(len(json.dumps(m.to_dict(), separators=(",", ":"))) for m in profile.loss_models)
        notes.append(f"mlflow-decay loss models: {len(model.trees)} trees of up to "
                     f"{max((len(t[0]) + 1) // 2 for t in model.trees) if model.trees else 0} "
                     f"leaves ({model.link} link), {len(model.folds)} jackknife copies each"
                     + (f", an alternative of {len(model.alternative[1])} trees of up to "
                        f"{max((len(t[0]) + 1) // 2 for t in model.alternative[1])} leaves"
                        if getattr(model, "alternative", None) else "")
                     + f", {size / 1000:.0f} KB in the profile")
    return notes


def decay_series(reports: Sequence[Any], metric: str, key: str, realized: np.ndarray) -> Series:
    """mlflow-decay's ``est.<key>`` with its band, as the series of ``metric``."""
    def get(suffix: str) -> np.ndarray:
        return np.array([r.metrics.get(f"est.{key}{suffix}", np.nan) for r in reports])

    return Series("mlflow-decay", metric, get(""), realized, get(".lower"), get(".upper"))


# ---------------------------------------------------------------------------------------------
# NannyML on the same windows


def nannyml_frames(reference: pd.DataFrame, windows: Sequence[pd.DataFrame], hidden: Sequence[str]
                   ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Reference and analysis frames for NannyML, chunked by day: each window is one day of
    the analysis frame (labels removed), and the reference is cut into chunks of the first
    window's size, one a day, for NannyML's reference-based thresholds."""
    base = pd.Timestamp("2000-01-01")
    size = len(windows[0])
    reference = reference.copy()
    reference[WINDOW_DAY] = base - pd.to_timedelta(np.arange(len(reference)) // size + 1, unit="D")
    analysis = pd.concat([w.drop(columns=list(hidden)).assign(**{WINDOW_DAY: base + pd.Timedelta(days=i)})
                          for i, w in enumerate(windows)], ignore_index=True)
    return object_strings(reference), object_strings(analysis)


def object_strings(frame: pd.DataFrame) -> pd.DataFrame:
    """Text columns as numpy object arrays: NannyML 0.13 reshapes ``.values``, which pandas 3's
    default (pyarrow-backed) string arrays refuse (DLE's fit fails on them); see also
    :func:`quiet`, which keeps pandas from inferring them again inside NannyML."""
    text = [c for c in frame.columns if isinstance(frame[c].dtype, pd.StringDtype)]
    return frame.astype(dict.fromkeys(text, object)) if text else frame


def nannyml_table(results: Any, windows: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """The analysis chunks of a NannyML result, checked to be the windows cut here."""
    table = results.filter(period="analysis").to_df()
    sizes = [int(e - s + 1) for s, e in zip(table[("chunk", "start_index")],
                                             table[("chunk", "end_index")], strict=True)]
    if sizes != [len(w) for w in windows]:
        raise RuntimeError(f"NannyML's chunks ({sizes}) are not the windows "
                           f"({[len(w) for w in windows]})")
    return table


def nannyml_series(table: pd.DataFrame, metric: str, key: str, realized: np.ndarray) -> Series:
    """NannyML's estimate of ``key``: its 95% band (+-1.96 sampling errors) and its own
    confidence boundaries (+-3 sampling errors, clipped to the metric's range)."""
    value = table[(key, "value")].to_numpy(float)
    sampling_error = table[(key, "sampling_error")].to_numpy(float)
    return Series("NannyML", metric, value, realized, value - Z95 * sampling_error,
                  value + Z95 * sampling_error,
                  table[(key, "lower_confidence_boundary")].to_numpy(float),
                  table[(key, "upper_confidence_boundary")].to_numpy(float))


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Around NannyML's calls: its and its dependencies' warnings and log lines silenced, and
    pandas 3's inference of text as pyarrow strings off (NannyML 0.13 assigns object arrays to
    columns and then reshapes their ``.values``, which pyarrow-backed strings refuse)."""
    with warnings.catch_warnings(), pd.option_context("future.infer_string", False):
        warnings.simplefilter("ignore")
        logger = logging.getLogger("nannyml")
        level = logger.level
        logger.setLevel(logging.ERROR)
        try:
            yield
        finally:
            logger.setLevel(level)


def nannyml_run(make: Callable[[], Any], reference: pd.DataFrame, windows: Sequence[pd.DataFrame],
                hidden: Sequence[str]) -> tuple[pd.DataFrame, float]:
    """Fit a NannyML estimator or calculator on the reference, run it on the windows; the
    analysis chunks' table and the seconds it took."""
    ref, analysis = nannyml_frames(reference, windows, hidden)
    began = time.perf_counter()
    with quiet():
        tool = make()
        tool.fit(ref)
        results = tool.estimate(analysis) if hasattr(tool, "estimate") else tool.calculate(analysis)
    return nannyml_table(results, windows), time.perf_counter() - began


# ---------------------------------------------------------------------------------------------
# windows


def cut(frame: pd.DataFrame, rows: int) -> list[pd.DataFrame]:
    """Consecutive windows of ``rows`` rows in the frame's order; the last may be shorter
    (as NannyML's ``chunk_size`` cuts with ``incomplete='keep'``)."""
    return [frame.iloc[s:s + rows].reset_index(drop=True) for s in range(0, len(frame), rows)]


def with_targets(analysis: pd.DataFrame, targets: pd.DataFrame) -> pd.DataFrame:
    """A NannyML analysis frame with its separately shipped targets joined on ``id``."""
    if not (analysis["id"].to_numpy() == targets["id"].to_numpy()).all():
        return analysis.merge(targets, on="id", how="left")
    return analysis.assign(**{c: targets[c].to_numpy() for c in targets.columns if c != "id"})


def binary_realized(metric: str, threshold: float = 0.5) -> Callable[[pd.DataFrame, str, str], float]:
    def realized(frame: pd.DataFrame, target: str, score: str) -> float:
        y, p = frame[target].to_numpy(), frame[score].to_numpy(float)
        if metric == "roc_auc":
            return float(roc_auc_score(y, p))
        if metric == "pr_auc":
            return float(average_precision_score(y, p))
        decided = (p >= threshold).astype(y.dtype)
        return float(f1_score(y, decided) if metric == "f1" else accuracy_score(y, decided))
    return realized


def window_labels(windows: Sequence[pd.DataFrame], prefix: str = "") -> list[str]:
    return [f"{prefix}{i + 1}" for i in range(len(windows))]


def halves(n: int) -> list[tuple[str, slice]]:
    """The first and the second half of ``n`` windows, for datasets whose second half NannyML
    made shifted."""
    h = n // 2
    return [(f"windows 1-{h}", slice(0, h)), (f"windows {h + 1}-{n}", slice(h, n))]


# ---------------------------------------------------------------------------------------------
# tasks


def binary_task(name: str, data: str, store: DecayStore, reference: pd.DataFrame,
                windows: list[pd.DataFrame], *, target: str, score: str, decision: str,
                metrics: Sequence[str], threshold: float, md_options: dict[str, Any]
                ) -> TaskResult:
    """A binary classifier's metrics estimated by mlflow-decay and NannyML's CBPE."""
    nml = import_nannyml()
    result = TaskResult(name, data, window_labels(windows), [len(w) for w in windows])
    reports = decay_reports(
        store, result, reference, windows, target=target, prediction=score, threshold=threshold,
        **md_options)
    table, result.seconds["NannyML"] = nannyml_run(
        lambda: nml.CBPE(problem_type="classification_binary", y_pred_proba=score,
                         y_pred=decision, y_true=target,
                         metrics=[NML_METRIC.get(m, m) for m in metrics],
                         timestamp_column_name=WINDOW_DAY, chunk_period="D"),
        reference, windows, [target])
    for metric in metrics:
        realized = np.array([binary_realized(metric, threshold)(w, target, score) for w in windows])
        result.series.append(decay_series(reports, metric, metric, realized))
        result.series.append(nannyml_series(table, metric, NML_METRIC.get(metric, metric),
                                            realized))
    return result


def census_windows() -> tuple[pd.DataFrame, list[pd.DataFrame], str]:
    """NannyML's census employment data: reference, 21 windows, and how they were cut."""
    nml = import_nannyml()
    reference, analysis, targets = nml.datasets.load_us_census_ma_employment_data()
    analysis = with_targets(analysis, targets).sort_values("id", kind="stable")
    windows = cut(analysis, 10_000)
    data = (f"NannyML US census employment (MA): reference {len(reference):,} rows (2015), "
            f"analysis {len(analysis):,} rows (2016-2018) in id order cut into {len(windows)} "
            f"windows of 10,000 (last {len(windows[-1]):,}); shipped predicted_probability")
    return reference, windows, data


def census_task(store: DecayStore, seed: int) -> TaskResult:
    """Binary, real data: US census employment (MA), NannyML's shipped model outputs, ROC AUC."""
    reference, windows, data = census_windows()
    return binary_task("census", data, store, reference, windows, target="employed",
                       score="predicted_probability", decision="prediction", metrics=["roc_auc"],
                       threshold=0.5, md_options={"id_column": "id",
                                                  "exclude": ["year", "prediction"]})


def census_threshold_task(store: DecayStore, seed: int) -> TaskResult:
    """The census windows again, decisions at 0.65: F1 and accuracy on real data."""
    reference, windows, data = census_windows()
    reference = reference.assign(prediction=(reference["predicted_probability"] >= 0.65).astype(int))
    windows = [w.assign(prediction=(w["predicted_probability"] >= 0.65).astype(int)) for w in windows]
    return binary_task("census@0.65", data + ", decisions predicted_probability >= 0.65", store,
                       reference, windows, target="employed", score="predicted_probability",
                       decision="prediction", metrics=["f1", "accuracy"], threshold=0.65,
                       md_options={"id_column": "id", "exclude": ["year", "prediction"]})


def threshold_task(store: DecayStore, seed: int) -> TaskResult:
    """Binary decisions at 0.65: NannyML's synthetic car loan data, F1 and accuracy."""
    nml = import_nannyml()
    reference, analysis, targets = nml.datasets.load_synthetic_car_loan_dataset()
    analysis = with_targets(analysis, targets)
    frames = [reference, analysis]
    for f in frames:
        f["y_pred"] = (f["y_pred_proba"] >= 0.65).astype(int)
        f["repaid"] = f["repaid"].astype(int)
    windows = cut(analysis, 5_000)
    data = (f"NannyML synthetic car loan: reference {len(reference):,} rows, analysis "
            f"{len(analysis):,} rows in time order cut into {len(windows)} windows of 5,000; "
            "shipped y_pred_proba, decisions y_pred_proba >= 0.65")
    result = binary_task("threshold", data, store, reference, windows, target="repaid",
                         score="y_pred_proba", decision="y_pred", metrics=["f1", "accuracy"],
                         threshold=0.65, md_options={"id_column": "id", "exclude": ["y_pred"],
                                                     "timestamp_column": "timestamp"})
    result.parts = halves(len(windows))
    return result


def regression_task(store: DecayStore, seed: int) -> TaskResult:
    """Regression: NannyML's synthetic car price data, MAE and RMSE, against DLE."""
    nml = import_nannyml()
    reference, analysis, targets = nml.datasets.load_synthetic_car_price_dataset()
    analysis = with_targets(analysis, targets)
    windows = cut(analysis, 5_000)
    features = ["car_age", "km_driven", "price_new", "accident_count", "door_count", "fuel",
                "transmission"]
    result = TaskResult(
        "regression",
        f"NannyML synthetic car price: reference {len(reference):,} rows, analysis "
        f"{len(analysis):,} rows in time order cut into {len(windows)} windows of 5,000 "
        "(NannyML made the second half covariate-shifted); shipped y_pred",
        window_labels(windows), [len(w) for w in windows], parts=halves(len(windows)))
    reports = decay_reports(
        store, result, reference, windows, task="regression", target="y_true",
        prediction="y_pred", id_column="id", timestamp_column="timestamp")
    table, result.seconds["NannyML"] = nannyml_run(
        lambda: nml.DLE(feature_column_names=features, y_pred="y_pred", y_true="y_true",
                        metrics=["mae", "rmse"], timestamp_column_name=WINDOW_DAY,
                        chunk_period="D", tune_hyperparameters=False,
                        hyperparameters={"verbosity": -1}),  # LightGBM's defaults, quiet
        reference, windows, ["y_true"])
    error = [w["y_true"].to_numpy(float) - w["y_pred"].to_numpy(float) for w in windows]
    realized = {"mae": np.array([np.mean(np.abs(e)) for e in error]),
                "rmse": np.array([np.sqrt(np.mean(e ** 2)) for e in error])}
    for metric in ("mae", "rmse"):
        result.series.append(decay_series(reports, metric, metric, realized[metric]))
        result.series.append(nannyml_series(table, metric, metric, realized[metric]))
    return result


def multiclass_task(store: DecayStore, seed: int) -> TaskResult:
    """Multiclass: NannyML's synthetic credit card data, macro ROC AUC and macro F1."""
    nml = import_nannyml()
    reference, analysis, targets = nml.datasets.load_synthetic_multiclass_classification_dataset()
    analysis = with_targets(analysis, targets)
    classes = ["prepaid_card", "highstreet_card", "upmarket_card"]
    scores = [f"y_pred_proba_{c}" for c in classes]
    windows = cut(analysis, 6_000)
    result = TaskResult(
        "multiclass",
        f"NannyML synthetic multiclass (credit cards, 3 classes): reference {len(reference):,} "
        f"rows, analysis {len(analysis):,} rows in time order cut into {len(windows)} windows "
        "of 6,000; shipped class probabilities and y_pred (= their arg-max)",
        window_labels(windows), [len(w) for w in windows], parts=halves(len(windows)))
    reports = decay_reports(
        store, result, reference, windows, task="multiclass", target="y_true",
        prediction=scores, classes=classes, id_column="id", timestamp_column="timestamp",
        exclude=["y_pred"])
    table, result.seconds["NannyML"] = nannyml_run(
        lambda: nml.CBPE(problem_type="classification_multiclass",
                         y_pred_proba=dict(zip(classes, scores, strict=True)), y_pred="y_pred",
                         y_true="y_true", metrics=["roc_auc", "f1"],
                         timestamp_column_name=WINDOW_DAY, chunk_period="D"),
        reference, windows, ["y_true"])
    realized = {
        # one-vs-rest, macro: scikit-learn's multi_class="ovr" wants the classes sorted
        "roc_auc": np.array([np.mean([roc_auc_score(w["y_true"] == c, w[s]) for c, s in
                                      zip(classes, scores, strict=True)]) for w in windows]),
        "f1": np.array([f1_score(w["y_true"], w["y_pred"], average="macro", labels=classes)
                        for w in windows])}
    for metric, key in (("roc_auc", "roc_auc_ovr"), ("f1", "f1_macro")):
        result.series.append(decay_series(reports, f"{metric} (macro)", key, realized[metric]))
        result.series.append(nannyml_series(table, f"{metric} (macro)", metric, realized[metric]))
    return result


def categorical_drift_frame(rows: int, rng: np.random.Generator, associated: bool) -> pd.DataFrame:
    """4 correlated numerical features, independent of 3 categorical ones; ``color`` and
    ``shade`` agree on 80% of rows when ``associated``, else are independent with the same
    marginals (so every feature's own distribution is the same either way)."""
    cov = 0.6 * np.ones((4, 4)) + 0.4 * np.eye(4)
    numbers = rng.multivariate_normal(np.zeros(4), cov, rows)
    levels = np.array(["a", "b", "c", "d", "e"])
    p = np.array([0.4, 0.25, 0.15, 0.12, 0.08])
    color = rng.choice(5, rows, p=p)
    shade_marginal = 0.8 * p + 0.2 / 5
    shade = (np.where(rng.random(rows) < 0.8, color, rng.choice(5, rows)) if associated
             else rng.choice(5, rows, p=shade_marginal))
    return pd.DataFrame({
        **{f"x{i}": numbers[:, i] for i in range(4)},
        "color": levels[color], "shade": levels[shade],
        "channel": rng.choice(["web", "store", "phone", "partner"], rows, p=[0.5, 0.3, 0.15, 0.05]),
    })


def multivariate_task(store: DecayStore, seed: int) -> TaskResult:
    """Multivariate drift in categorical features only: windows flagged by each tool."""
    rng = np.random.default_rng(seed)
    rows, n = 5_000, 5
    reference = categorical_drift_frame(50_000, rng, associated=True)
    drifted = [False] * n + [True] * n
    windows = [categorical_drift_frame(rows, rng, associated=not d) for d in drifted]
    result = TaskResult(
        "multivariate",
        f"generated (seed {seed}): 4 correlated numerical + 3 categorical features; reference "
        f"50,000 rows; {n} windows of {rows:,} like the reference, then {n} where categorical "
        "'color' and 'shade' no longer agree on 80% of rows (same marginals, numbers untouched)",
        [f"{i + 1}{' drifted' if d else ''}" for i, d in enumerate(drifted)], [rows] * 2 * n)
    return flag_windows(store, result, reference, windows, drifted)


def mixed_drift_frame(rows: int, rng: np.random.Generator, shift: str = "") -> pd.DataFrame:
    """6 numerical and 4 categorical features: the product follows the region on 70% of rows
    (15% of rows hold one of 200 rare products), the amount grows with the tier, device and
    tier are independent. ``shift`` (``tier``, ``weaker``, ``stronger``, ``together``) changes
    one association and no feature's own distribution (see the task's description)."""
    zipf = 1 / np.arange(1, 13) ** 1.1
    region = rng.choice(12, rows, p=zipf / zipf.sum())
    tied = (region * 5 + rng.integers(0, 3, rows)) % 30
    free = (rng.choice(12, rows, p=zipf / zipf.sum()) * 5 + rng.integers(0, 3, rows)) % 30
    follows = {"weaker": 0.2, "stronger": 0.95}.get(shift, 0.7)
    product = np.where(rng.random(rows) < follows, tied, free)
    product = np.where(rng.random(rows) < 0.15, 30 + rng.integers(0, 200, rows), product)
    tier_p, device_p = np.array([0.6, 0.3, 0.1]), np.array([0.45, 0.3, 0.15, 0.1])
    tier, device = rng.choice(3, rows, p=tier_p), rng.choice(4, rows, p=device_p)
    if shift == "together":  # half the rows drawn comonotone: same marginals, associated
        u, joint = rng.random(rows), rng.random(rows) < 0.5
        tier = np.where(joint, np.searchsorted(np.cumsum(tier_p), u), tier)
        device = np.where(joint, np.searchsorted(np.cumsum(device_p), u), device)
    amount_tier = rng.choice(3, rows, p=tier_p) if shift == "tier" else tier
    x = rng.multivariate_normal(np.zeros(3), [[1, .7, .5], [.7, 1, .4], [.5, .4, 1]], rows)
    return pd.DataFrame({
        "x0": x[:, 0], "x1": x[:, 1], "x2": x[:, 2],
        "amount": rng.lognormal(3 + 0.5 * amount_tier, 0.5), "age": rng.gamma(5, 8, rows),
        "visits": rng.poisson(3, rows) + rng.random(rows),
        "region": np.char.add("r", region.astype(str)),
        "product": np.char.add("p", product.astype(str)),
        "tier": np.array(["gold", "silver", "bronze"])[tier],
        "device": np.array(["ios", "android", "web", "tv"])[device],
    })


def multivariate_mixed_task(store: DecayStore, seed: int) -> TaskResult:
    """A second multivariate set: more categories, mixed with numbers, four kinds of shift."""
    rng = np.random.default_rng(seed + 1)
    rows = 5_000
    shifts = [""] * 5 + [s for s in ("tier", "weaker", "stronger", "together") for _ in range(3)]
    reference = mixed_drift_frame(50_000, rng)
    windows = [mixed_drift_frame(rows, rng, s) for s in shifts]
    result = TaskResult(
        "multivariate-mixed",
        f"generated (seed {seed}): 6 numerical + 4 categorical features (12 regions, 230 "
        "products, 3 tiers, 4 devices); reference 50,000 rows; 5 windows of 5,000 like it, then "
        "3 each where the tier no longer drives the amount, the product follows the region less, "
        "or more, and device and tier go together (marginals unchanged)",
        [f"{i + 1}{f' drifted: {s}' if s else ''}" for i, s in enumerate(shifts)],
        [rows] * len(shifts))
    return flag_windows(store, result, reference, windows, [bool(s) for s in shifts])


def flag_windows(store: DecayStore, result: TaskResult, reference: pd.DataFrame,
                 windows: Sequence[pd.DataFrame], drifted: list[bool]) -> TaskResult:
    """Which windows each tool flags as multivariate drift (mlflow-decay: the default policy
    on ``drift.multivariate.reconstruction_error``, two-sided; NannyML: its PCA alert)."""
    nml = import_nannyml()
    from mlflow_decay.core.policy_file import DEFAULT_POLICY

    n = len(windows)
    reports = decay_reports(store, result, reference, windows)
    band = md.build_profile(reference).bands.get(MULTIVARIATE_METRIC)
    rule = DEFAULT_POLICY.rule_for(MULTIVARIATE_METRIC)
    limits = [{side: t for level, side, t, _ in (rule.limits(band, len(w)) if rule else ())
               if level == "warning"} for w in windows]
    result.flags.append(Flags(
        "mlflow-decay", f"{MULTIVARIATE_METRIC} breach (warn_k 4, either side)", drifted,
        [any(reason.startswith(MULTIVARIATE_METRIC) for reason in r.reasons) for r in reports],
        [r.metrics.get(MULTIVARIATE_METRIC, np.nan) for r in reports],
        [lim.get("above", np.nan) for lim in limits], [lim.get("below", np.nan) for lim in limits]))
    result.flags.append(Flags(
        "mlflow-decay", "window status not healthy (any rule; value: drift.share)", drifted,
        [r.window_status != "healthy" for r in reports],
        [r.metrics.get("drift.share", np.nan) for r in reports], [np.nan] * n))
    columns = list(reference.columns)
    table, result.seconds["NannyML"] = nannyml_run(
        lambda: nml.DataReconstructionDriftCalculator(
            column_names=columns, timestamp_column_name=WINDOW_DAY, chunk_period="D"),
        reference, windows, [])
    result.flags.append(Flags(
        "NannyML", "DataReconstructionDriftCalculator alert", drifted,
        [bool(a) for a in table[("reconstruction_error", "alert")]],
        list(table[("reconstruction_error", "value")].to_numpy(float)),
        list(table[("reconstruction_error", "upper_threshold")].to_numpy(float)),
        list(table[("reconstruction_error", "lower_threshold")].to_numpy(float))))
    if not any(MULTIVARIATE_METRIC in r.metrics for r in reports):
        result.notes.append(f"mlflow-decay logged no {MULTIVARIATE_METRIC}")
    return result


def digits_data(seed: int, windows: int = 30, rows: int = 10_000
                ) -> tuple[pd.DataFrame, list[pd.DataFrame], str]:
    """scikit-learn's bundled digits (3, 5 or 8?): the reference (the held-out half, scored by
    a logistic regression fitted on the other), windows resampled from it under covariate
    shift, and how they were made."""
    digits = load_digits()
    x = pd.DataFrame(digits.data, columns=[f"px{i}" for i in range(64)])
    y = np.isin(digits.target, [3, 5, 8]).astype(int)
    x_train, x_pool, y_train, y_pool = train_test_split(x, y, test_size=0.5, random_state=0,
                                                        stratify=y)
    model = LogisticRegression(C=0.002, max_iter=5000).fit(x_train, y_train)
    pool = x_pool.assign(score=model.predict_proba(x_pool)[:, 1], label=y_pool).reset_index(drop=True)
    pool["decision"] = (pool["score"] >= 0.5).astype(int)
    ink = pool[[f"px{i}" for i in range(32)]].sum(axis=1).to_numpy()
    ink = (ink - ink.mean()) / ink.std()
    rng = np.random.default_rng(seed)
    frames = []
    for w in range(windows):
        weights = np.exp(1.5 * w / max(windows - 1, 1) * ink)
        frames.append(pool.iloc[rng.choice(len(pool), size=rows, p=weights / weights.sum())]
                      .reset_index(drop=True))
    data = (f"scikit-learn digits, is it a 3, 5 or 8: logistic regression on {len(x_train)} rows; "
            f"reference = the other {len(pool)}; {windows} windows of {rows:,} resampled from them "
            f"with weight exp(s x top-half ink), s from 0 to 1.5 (seed {seed})")
    return pool, frames, data


def digits_task(store: DecayStore, seed: int, windows: int = 30, rows: int = 10_000) -> TaskResult:
    """Binary, scikit-learn's bundled digits (3, 5 or 8?) under resampled covariate shift."""
    pool, frames, data = digits_data(seed, windows, rows)
    return binary_task("digits", data, store, pool, frames, target="label", score="score",
                       decision="decision", metrics=["roc_auc"], threshold=0.5,
                       md_options={"numerical": [f"px{i}" for i in range(64)],
                                   "exclude": ["decision"]})


def rare_frame(rows: int, rng: np.random.Generator) -> pd.DataFrame:
    """8 standard normal features and a label of about 4 % positives, from a logistic model
    with an interaction and a hinge (which a linear model cannot follow)."""
    x = rng.normal(0, 1, (rows, 8))
    logit = (x @ np.array([1.2, -0.9, 0.7, 0.5, 0.3, 0.0, 0.0, 0.0]) - 4.9
             + 0.6 * x[:, 0] * x[:, 1] + 0.5 * np.maximum(x[:, 2], 0) ** 2)
    frame = pd.DataFrame(x, columns=[f"x{i}" for i in range(8)])
    return frame.assign(label=(rng.random(rows) < 1 / (1 + np.exp(-logit))).astype(int))


def rare_positives_task(store: DecayStore, seed: int) -> TaskResult:
    """Rare positives: a class-weighted model's four metrics on fresh windows."""
    rng = np.random.default_rng(seed)
    features = [f"x{i}" for i in range(8)]
    train = rare_frame(30_000, rng)
    model = LogisticRegression(class_weight="balanced", max_iter=1000)
    model.fit(train[features], train["label"])

    def scored(frame: pd.DataFrame) -> pd.DataFrame:
        score = model.predict_proba(frame[features])[:, 1]
        return frame.assign(score=score, decision=(score >= 0.5).astype(int))

    reference = scored(rare_frame(20_000, rng))
    windows = [scored(rare_frame(5_000, rng)) for _ in range(20)]
    data = (f"generated (seed {seed}), {reference['label'].mean():.1%} positives: class-weighted "
            "logistic regression fitted on 30,000 rows; reference 20,000 rows, 20 fresh windows "
            "of 5,000 from the same distribution, decisions at 0.5")
    return binary_task("rare-positives", data, store, reference, windows, target="label",
                       score="score", decision="decision",
                       metrics=["roc_auc", "pr_auc", "f1", "accuracy"], threshold=0.5,
                       md_options={"numerical": features, "exclude": ["decision"]})


TASK_FUNCTIONS: dict[str, Callable[[DecayStore, int], TaskResult]] = {
    "census": census_task, "threshold": threshold_task, "census@0.65": census_threshold_task,
    "regression": regression_task,
    "multiclass": multiclass_task, "multivariate": multivariate_task,
    "multivariate-mixed": multivariate_mixed_task, "digits": digits_task,
    "rare-positives": rare_positives_task,
}


@contextlib.contextmanager
def cv_seeded(seed: int) -> Iterator[None]:
    """The profile's cross-validation seed (calibration maps and loss models) set to ``seed``
    (``md.build_profile`` uses 0)."""
    import functools

    from mlflow_decay.core import supervision
    from mlflow_decay.stats import estimate, loss_fit

    calibrations, losses = supervision.fit_calibrations, supervision.fit_loss_models
    supervision.fit_calibrations = functools.partial(estimate.fit_calibrations, seed=seed)
    supervision.fit_loss_models = functools.partial(loss_fit.fit_loss_models, seed=seed)
    try:
        yield
    finally:
        supervision.fit_calibrations, supervision.fit_loss_models = calibrations, losses


def task_function(task: str) -> Callable[[DecayStore, int], TaskResult]:
    if task in HELDOUT_TASKS:
        import heldout

        return heldout.TASKS[task]
    return TASK_FUNCTIONS[task]


def run(tasks: Sequence[str], seed: int = 0, cv_seed: int = 0) -> list[TaskResult]:
    """Run the tasks, in order, in one throwaway MLflow store."""
    import_nannyml()
    results = []
    with DecayStore() as store, cv_seeded(cv_seed):
        for task in tasks:
            results.append(task_function(task)(store, seed))
    return results


# ---------------------------------------------------------------------------------------------
# printing


def _f(value: float, digits: int = 4) -> str:
    if not np.isfinite(value):
        return "n/a"
    return f"{value:.{digits}f}" if abs(value) < 10 else f"{value:.1f}"


def _g(value: float) -> str:
    """An error or a width: 3 significant digits."""
    return f"{value:.3g}" if np.isfinite(value) else "n/a"


def _signed(value: float) -> str:
    return f"{value:+.3g}" if np.isfinite(value) else "n/a"


def _signed_f(value: float) -> str:
    """A window's error, fixed-point like the values beside it."""
    if not np.isfinite(value):
        return "n/a"
    return f"{value:+.4f}" if abs(value) < 10 else f"{value:+.1f}"


def _row(task: str, ours: Series, theirs: Series, part: str = "") -> str:
    n = len(ours.estimate)
    metric = f"{ours.metric}, {part}" if part else ours.metric
    return (f"| {task} | {n} | {metric} | {_g(ours.mae)} \\| {_g(theirs.mae)} "
            f"| {_g(ours.max_error)} \\| {_g(theirs.max_error)} "
            f"| {_signed(ours.bias)} \\| {_signed(theirs.bias)} "
            f"| {ours.covered}/{n} \\| {theirs.covered}/{n} | {theirs.native_covered}/{n} "
            f"| {_g(ours.half_width)} \\| {_g(theirs.half_width)} "
            f"| {ours.band_fit:.2f} \\| {theirs.band_fit:.2f} |")


def table(results: Sequence[TaskResult]) -> str:
    """The side-by-side table: one row per task and metric, mlflow-decay | NannyML per cell."""
    lines = [
        "| task | windows | metric | MAE md \\| NML | max abs err md \\| NML | bias md \\| NML "
        "| 95% band coverage md \\| NML | NML own band (±3σ) coverage "
        "| band half-width md \\| NML | band fit md \\| NML |",
        "|---|---:|---|---|---|---|---|---:|---|---|",
    ]
    for r in results:
        for pair in r.pairs():
            lines.append(_row(r.name, *pair))
            lines.extend(_row(r.name, pair[0].part(windows), pair[1].part(windows), label)
                         for label, windows in r.parts)
        if r.flags:
            n = len(r.windows)
            ours_flags = [f for f in r.flags if f.tool == "mlflow-decay"]
            theirs_flags = next(f for f in r.flags if f.tool == "NannyML")
            drifted = sum(ours_flags[0].drifted)
            for f in ours_flags:
                lines.append(
                    f"| {r.name} | {n} | flagged, drifted (undrifted): md {f.what} \\| NML "
                    f"{theirs_flags.what} | {f.hits}/{drifted} ({f.false_alarms}/{n - drifted}) "
                    f"\\| {theirs_flags.hits}/{drifted} ({theirs_flags.false_alarms}/{n - drifted}) "
                    "| | | | | | |")
    return "\n".join(lines)


def details(result: TaskResult) -> str:
    """Per window: realized value, each tool's estimate and band (or flags)."""
    out = [f"### {result.name}", "", result.data, ""]
    for ours, theirs in result.pairs():
        out += [f"{ours.metric}:", "",
                "| window | rows | realized | mlflow-decay [95% band] | error | NannyML [95% band] "
                "| error | NannyML own band |", "|---|---:|---:|---|---:|---|---:|---|"]
        assert theirs.native_lower is not None and theirs.native_upper is not None
        for i, label in enumerate(result.windows):
            out.append(
                f"| {label} | {result.rows[i]:,} | {_f(ours.realized[i])} "
                f"| {_f(ours.estimate[i])} [{_f(ours.lower[i])}, {_f(ours.upper[i])}] "
                f"| {_signed_f(ours.error[i])} "
                f"| {_f(theirs.estimate[i])} [{_f(theirs.lower[i])}, {_f(theirs.upper[i])}] "
                f"| {_signed_f(theirs.error[i])} "
                f"| [{_f(theirs.native_lower[i])}, {_f(theirs.native_upper[i])}] |")
        out.append("")
    if result.flags:
        header = "| window | " + " | ".join(f"{f.tool}: {f.what}" for f in result.flags) + " |"
        out += [header, "|---|" + "---|" * len(result.flags)]
        for i, label in enumerate(result.windows):
            cells = []
            for f in result.flags:
                limit = f" (limit {f.limits[i]:.4g})" if np.isfinite(f.limits[i]) else ""
                if f.lower is not None:
                    limit = f" (limits {f.lower[i]:.4g}, {f.limits[i]:.4g})"
                cells.append(f"{'FLAG' if f.flagged[i] else 'no'} {f.values[i]:.4g}{limit}")
            out.append(f"| {label} | " + " | ".join(cells) + " |")
        out.append("")
    out += [f"note: {n}" for n in result.notes]
    return "\n".join(out)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", default=",".join(TASKS),
                        help=f"comma-separated, from {', '.join(TASKS)} (default: all)")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the generated data and resampled windows (default 0)")
    parser.add_argument("--cv-seed", type=int, default=0,
                        help="cross-validation seed of the calibration maps and loss models "
                             "(default 0, as md.build_profile)")
    parser.add_argument("--verbose", action="store_true", help="also print every window")
    args = parser.parse_args(argv)
    tasks = [t.strip() for t in args.tasks.split(",") if t.strip()]
    unknown = [t for t in tasks if t not in TASKS]
    if unknown or not tasks:
        parser.error(f"unknown task(s) {', '.join(unknown) or '(none given)'}; "
                     f"choose from {', '.join(TASKS)}")
    began = time.perf_counter()
    try:
        nml = import_nannyml()
        results = run(tasks, args.seed, args.cv_seed)
    except MissingNannyML as exc:
        print(f"bench/estimation.py: error: {exc}", file=sys.stderr)
        return 1
    import sklearn

    print(f"## Label-free estimation, mlflow-decay {md.__version__} (md) vs NannyML "
          f"{nml.__version__} (NML), same windows, one process (cross-validation seed "
          f"{args.cv_seed}; numpy {np.__version__}, pandas "
          f"{pd.__version__}, scikit-learn {sklearn.__version__})\n")
    print(table(results))
    print("\nband fit = mean band half-width / (1.96 x RMS error): 1 when the band is as wide as "
          "the errors, < 1 too narrow. NannyML's 95% band is its estimate +- 1.96 sampling "
          "errors; its own confidence boundaries are +- 3.\n")
    for r in results:
        seconds = ", ".join(f"{tool} {s:.1f} s" for tool, s in r.seconds.items())
        print(f"- {r.name}: {r.data}. Time: {seconds}.")
        for note in r.notes:
            print(f"  note: {note}")
    if args.verbose:
        print()
        for r in results:
            print(details(r))
    print(f"\ntotal {time.perf_counter() - began:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
