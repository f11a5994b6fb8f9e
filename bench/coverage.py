"""Band coverage of label-free estimates over many windows and seeds (issue 13): mlflow-decay and
NannyML side by side, on the data of ``bench/estimation.py`` cut finer and on generated data.

A 95% band should hold the realized value in about 95% of windows (the issue asks for 90-99%).
Each task's reference builds one profile per seed (``md.build_profile``; the seed is the
cross-validation seed of the calibration map or of the loss models, passed to
``core.supervision``), and each window's ``est.*`` comes from the profile as ``md.evaluate``
computes it (``stats.estimate.estimated_metrics`` / ``stats.loss.estimate_regression`` on the
window's model outputs; nothing is logged). NannyML (CBPE, DLE) estimates the same windows once
(its fit has no seed); its 95% band is the estimate +- 1.96 sampling errors.

Tasks (``--tasks``; default all):

- ``census``: NannyML's census employment data (reference 2015, analysis 2016-2018 in id order)
  cut into 84, 42 and 21 windows; ``roc_auc``, and ``f1``/``accuracy`` decided at 0.5 and 0.65.
- ``threshold``: NannyML's synthetic car loan data at 0.65, cut into 10, 20 and 40 windows.
- ``multiclass``: NannyML's synthetic credit cards, cut into 10, 20 and 40 windows, each half
  on its own (NannyML made the second half concept-shifted: no label-free estimate can follow).
- ``digits``: scikit-learn's digits, windows resampled under covariate shift (as in
  ``estimation.py``), drawn anew for each seed.
- ``regression``: NannyML's synthetic car prices cut into 12, 24 and 48 windows, and
  ``--tilted`` windows of 5,000 drawn from the analysis rows with random exponential tilts of
  one to three features (per seed).
- ``laplace``, ``house``: generated regressions (a misspecified linear model with
  heteroscedastic Laplace errors; house prices with lognormal noise), reference 50,000 rows,
  a pool half like it and half shifted beyond its range; 12 windows in pool order and
  ``--tilted`` tilted windows per seed. ``--nannyml-tilted`` also runs DLE on the tilted ones;
  ``--data-seed`` draws them anew (reference, pool and the linear model).

Run with the NannyML venv (see ``estimation.py``)::

    python bench/coverage.py [--tasks census,multiclass] [--seeds 0,1,2] [--tilted 150]

Prints, per task and metric, each cut's coverage (md | NML), band fit (half-width over 1.96 x
RMS error: below 1 too narrow) and MAE, and the pooled coverage over every window and seed.
"""

from __future__ import annotations

import argparse
import functools
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, __file__.rsplit("/", 1)[0])
import estimation as E
import generated as G

import mlflow_decay as md
from mlflow_decay.core.frames import loss_inputs, prediction_values
from mlflow_decay.stats import estimate, loss

TASKS = ("census", "threshold", "multiclass", "digits", "regression", "laplace", "house")


@dataclass
class Cut:
    """Windows of one task, and the realized value of each metric on each."""

    label: str
    windows: list[pd.DataFrame]
    realized: dict[str, np.ndarray]
    nannyml: bool = True  # whether NannyML estimates these windows too
    nml: dict[str, E.Series] = field(default_factory=dict)


@dataclass
class Tally:
    """Per (metric, cut) the series of each tool, over the seeds."""

    series: dict[tuple[str, str], list[E.Series]] = field(default_factory=dict)

    def add(self, metric: str, cut: str, s: E.Series) -> None:
        self.series.setdefault((metric, cut), []).append(s)


def decay_series(profile: Any, cut: Cut, keys: dict[str, str]) -> dict[str, E.Series]:
    """mlflow-decay's estimate and band of each metric (``keys``: metric -> est key)."""
    rows = []
    for w in cut.windows:
        if profile.loss_models:
            rows.append(loss.estimate_regression(loss_inputs(w, profile.loss_models),
                                                 profile.loss_models))
        else:
            values = prediction_values(w, profile.prediction_columns, profile.task,
                                       profile.prediction_kind)
            rows.append(estimate.estimated_metrics(profile.task, values, profile.calibrations,
                                                   profile.threshold))
    out = {}
    for metric, key in keys.items():
        def get(suffix: str, key: str = key) -> np.ndarray:
            return np.array([r.get(f"est.{key}{suffix}", np.nan) for r in rows])
        out[metric] = E.Series("mlflow-decay", metric, get(""), cut.realized[metric],
                               get(".lower"), get(".upper"))
    return out


def nannyml_series(cut: Cut, reference: pd.DataFrame, make: Callable[[], Any],
                   hidden: Sequence[str], keys: dict[str, str]) -> None:
    table, _ = E.nannyml_run(make, reference, cut.windows, hidden)
    for metric, key in keys.items():
        cut.nml[metric] = E.nannyml_series(table, metric, key, cut.realized[metric])


# ---------------------------------------------------------------------------------------------
# tasks: each yields (profile options, reference, cuts per seed, est keys, NannyML maker)


@dataclass
class Task:
    name: str
    reference: pd.DataFrame
    options: dict[str, Any]
    keys: dict[str, str]  # metric -> mlflow-decay est key
    nml_keys: dict[str, str]  # metric -> NannyML key
    hidden: list[str]
    make_nml: Callable[[], Any] | None
    cuts: Callable[[int], list[Cut]]  # seed -> cuts (fixed cuts return the same objects)


def binary_cuts(frames: pd.DataFrame, counts: Sequence[int], target: str, score: str,
                metrics: Sequence[str], threshold: float) -> list[Cut]:
    out = []
    for count in counts:
        size = -(-len(frames) // count)
        windows = E.cut(frames, size)
        out.append(Cut(f"{len(windows)}x{size}", windows, {
            m: np.array([E.binary_realized(m, threshold)(w, target, score) for w in windows])
            for m in metrics}))
    return out


def census_tasks(threshold: float) -> Task:
    nml = E.import_nannyml()
    reference, windows, _ = E.census_windows()
    analysis = pd.concat(windows, ignore_index=True)
    frames = [reference, analysis]
    reference, analysis = (f.assign(prediction=(f["predicted_probability"] >= threshold)
                                    .astype(int)) for f in frames)
    metrics = ["roc_auc", "f1", "accuracy"] if threshold == 0.5 else ["f1", "accuracy"]
    return cbpe_task(nml, f"census@{threshold}", reference, analysis, (84, 42, 21), metrics,
                     "employed", "predicted_probability", "prediction", threshold,
                     {"id_column": "id", "exclude": ["year", "prediction"]})


def threshold_task() -> Task:
    nml = E.import_nannyml()
    reference, analysis, targets = nml.datasets.load_synthetic_car_loan_dataset()
    analysis = E.with_targets(analysis, targets)
    for f in (reference, analysis):
        f["y_pred"] = (f["y_pred_proba"] >= 0.65).astype(int)
        f["repaid"] = f["repaid"].astype(int)
    return cbpe_task(nml, "threshold", reference, analysis, (10, 20, 40), ["f1", "accuracy"],
                     "repaid", "y_pred_proba", "y_pred", 0.65,
                     {"id_column": "id", "exclude": ["y_pred"], "timestamp_column": "timestamp"})


def cbpe_task(nml: Any, name: str, reference: pd.DataFrame, analysis: pd.DataFrame,
              counts: Sequence[int], metrics: list[str], target: str, score: str, decision: str,
              threshold: float, options: dict[str, Any]) -> Task:
    """A binary task cut into ``counts`` windows, mlflow-decay decided at ``threshold`` and
    NannyML's CBPE on the ``decision`` column."""
    cuts = binary_cuts(analysis, counts, target, score, metrics, threshold)
    return Task(
        name, reference,
        {"target": target, "prediction": score, "threshold": threshold, **options},
        {m: m for m in metrics}, {m: m for m in metrics}, [target],
        lambda: nml.CBPE(problem_type="classification_binary", y_pred_proba=score,
                         y_pred=decision, y_true=target, metrics=metrics,
                         timestamp_column_name=E.WINDOW_DAY, chunk_period="D"),
        lambda seed: cuts)


def multiclass_task() -> Task:
    from sklearn.metrics import f1_score, roc_auc_score

    nml = E.import_nannyml()
    reference, analysis, targets = nml.datasets.load_synthetic_multiclass_classification_dataset()
    analysis = E.with_targets(analysis, targets)
    classes = ["prepaid_card", "highstreet_card", "upmarket_card"]
    scores = [f"y_pred_proba_{c}" for c in classes]
    cuts = []
    for count in (10, 20, 40):  # each half on its own: NannyML made the second concept-shifted
        windows = E.cut(analysis, len(analysis) // count)
        for half, part in (("1st half", windows[:count // 2]), ("2nd half", windows[count // 2:])):
            cuts.append(Cut(f"{len(windows)}x{len(windows[0])}, {half}", part, {
                "roc_auc": np.array([np.mean([roc_auc_score(w["y_true"] == c, w[s])
                                              for c, s in zip(classes, scores, strict=True)])
                                     for w in part]),
                "f1": np.array([f1_score(w["y_true"], w["y_pred"], average="macro",
                                         labels=classes) for w in part])}))
    return Task(
        "multiclass", reference,
        {"task": "multiclass", "target": "y_true", "prediction": scores, "classes": classes,
         "id_column": "id", "timestamp_column": "timestamp", "exclude": ["y_pred"]},
        {"roc_auc": "roc_auc_ovr", "f1": "f1_macro"}, {"roc_auc": "roc_auc", "f1": "f1"},
        ["y_true"],
        lambda: nml.CBPE(problem_type="classification_multiclass",
                         y_pred_proba=dict(zip(classes, scores, strict=True)), y_pred="y_pred",
                         y_true="y_true", metrics=["roc_auc", "f1"],
                         timestamp_column_name=E.WINDOW_DAY, chunk_period="D"),
        lambda seed: cuts)


def digits_task() -> Task:
    nml = E.import_nannyml()
    reference = E.digits_data(0)[0]

    @functools.cache
    def cuts(seed: int) -> list[Cut]:
        frames = E.digits_data(seed)[1]
        return [Cut("30x10000 resampled", frames, {"roc_auc": np.array(
            [E.binary_realized("roc_auc")(w, "label", "score") for w in frames])})]

    return Task(
        "digits", reference,
        {"target": "label", "prediction": "score", "numerical": [f"px{i}" for i in range(64)],
         "exclude": ["decision"]},
        {"roc_auc": "roc_auc"}, {"roc_auc": "roc_auc"}, ["label"],
        lambda: nml.CBPE(problem_type="classification_binary", y_pred_proba="score",
                         y_pred="decision", y_true="label", metrics=["roc_auc"],
                         timestamp_column_name=E.WINDOW_DAY, chunk_period="D"),
        cuts)


def regression_cut(label: str, windows: list[pd.DataFrame], target: str, pred: str) -> Cut:
    error = [w[target].to_numpy(float) - w[pred].to_numpy(float) for w in windows]
    return Cut(label, windows, {"mae": np.array([np.mean(np.abs(e)) for e in error]),
                                "rmse": np.array([np.sqrt(np.mean(e ** 2)) for e in error])})


def regression_task(name: str, tilted: int, nml_tilted: bool, data_seed: int = 0) -> Task:
    nml = E.import_nannyml()
    if name == "regression":
        reference, analysis, targets = nml.datasets.load_synthetic_car_price_dataset()
        pool = E.with_targets(analysis, targets)
        features = ["car_age", "km_driven", "price_new", "accident_count", "door_count", "fuel",
                    "transmission"]
        target, pred, counts = "y_true", "y_pred", (12, 24, 48)
        options = {"id_column": "id", "timestamp_column": "timestamp"}
    else:
        reference, pool, features, target, pred = getattr(G, name)(data_seed)
        counts, options = (12,), {}
    fixed = []
    for count in counts:
        windows = E.cut(pool, len(pool) // count)
        fixed.append(regression_cut(f"{len(windows)}x{len(windows[0])}", windows, target, pred))

    @functools.cache
    def cuts(seed: int) -> list[Cut]:
        if not tilted:
            return fixed
        windows = G.tilted_windows(reference, pool, features, tilted, 5_000,
                                   np.random.default_rng(1000 + seed))
        cut = regression_cut(f"{tilted}x5000 tilted", windows, target, pred)
        cut.nannyml = nml_tilted
        return [*fixed, cut]

    keys = {"mae": "mae", "rmse": "rmse"}
    return Task(
        name, reference[[*features, target, pred, *options.values()]],
        {"task": "regression", "target": target, "prediction": pred, **options}, keys, keys,
        [target],
        lambda: nml.DLE(feature_column_names=features, y_pred=pred, y_true=target,
                        metrics=["mae", "rmse"], timestamp_column_name=E.WINDOW_DAY,
                        chunk_period="D", tune_hyperparameters=False,
                        hyperparameters={"verbosity": -1}),
        cuts)


# ---------------------------------------------------------------------------------------------
# running and printing


def run_task(task: Task, seeds: Sequence[int], tally: Tally) -> None:
    """Build a profile per seed, estimate every cut's windows; NannyML once per window set."""
    for seed in seeds:
        began = time.perf_counter()
        with E.cv_seeded(seed):
            profile = md.build_profile(task.reference, band_chunks=0, **task.options)
        built = time.perf_counter() - began
        for cut in task.cuts(seed):
            for metric, series in decay_series(profile, cut, task.keys).items():
                tally.add(metric, cut.label, series)
            if cut.nannyml and not cut.nml and task.make_nml is not None:
                nannyml_series(cut, task.reference, task.make_nml, task.hidden, task.nml_keys)
            for metric, series in cut.nml.items():
                tally.add(metric, cut.label, series)
        print(f"  {task.name} seed {seed}: profile {built:.1f} s, "
              f"{sum(len(c.windows) for c in task.cuts(seed))} windows, "
              f"{time.perf_counter() - began:.0f} s", file=sys.stderr, flush=True)


def pooled(series: Sequence[E.Series]) -> tuple[int, int, float, float]:
    """Covered windows, windows, band fit, MAE over several series of one tool."""
    covered = sum(s.covered for s in series)
    n = sum(len(s.estimate) for s in series)
    err = np.concatenate([s.error for s in series])
    half = np.concatenate([(s.upper - s.lower) / 2 for s in series])
    rms = float(np.sqrt(np.nanmean(err ** 2)))
    return covered, n, float(np.nanmean(half) / (E.Z95 * rms)), float(np.nanmean(np.abs(err)))


def report(name: str, tally: Tally) -> list[str]:
    lines = []
    metrics = sorted({m for m, _ in tally.series}, key=list(dict.fromkeys(
        m for m, _ in tally.series)).index)
    for metric in metrics:
        cells: dict[str, list[E.Series]] = {"mlflow-decay": [], "NannyML": []}
        for (m, cut), series in tally.series.items():
            if m != metric:
                continue
            row = [name, metric, cut]
            for tool in cells:
                mine = [s for s in series if s.tool == tool]
                cells[tool].extend(mine)
                row.append(_cell(mine))
            lines.append("| " + " | ".join(row) + " |")
        lines.append(f"| {name} | {metric} | **all** | {_cell(cells['mlflow-decay'])} "
                     f"| {_cell(cells['NannyML'])} |")
    return lines


def _cell(series: Sequence[E.Series]) -> str:
    if not series:
        return "-"
    covered, n, fit, mae = pooled(series)
    return f"{covered}/{n} = {covered / n:.1%}, fit {fit:.2f}, MAE {mae:.3g}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", default=",".join(TASKS))
    parser.add_argument("--seeds", default="0,1,2", help="cross-validation seeds (default 0,1,2)")
    parser.add_argument("--tilted", type=int, default=100,
                        help="tilted windows per seed for the regressions (default 100; 0: none)")
    parser.add_argument("--data-seed", type=int, default=0,
                        help="draw the generated sets (laplace, house) anew with this seed "
                             "(default 0): their one reference makes one draw of the loss "
                             "model's own error, shared by every window and CV seed")
    parser.add_argument("--nannyml-tilted", action="store_true",
                        help="also run NannyML's DLE on the tilted windows (slow)")
    args = parser.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",")]
    tasks = [t.strip() for t in args.tasks.split(",") if t.strip()]
    if any(t not in TASKS for t in tasks):
        parser.error(f"choose tasks from {', '.join(TASKS)}")
    makers: dict[str, Callable[[], list[Task]]] = {
        "census": lambda: [census_tasks(0.5), census_tasks(0.65)],
        "threshold": lambda: [threshold_task()], "multiclass": lambda: [multiclass_task()],
        "digits": lambda: [digits_task()],
        **{n: functools.partial(lambda n: [regression_task(n, args.tilted, args.nannyml_tilted,
                                                           args.data_seed)],
                                n) for n in ("regression", "laplace", "house")}}
    began = time.perf_counter()
    lines = ["| task | metric | windows | mlflow-decay: covered, band fit, MAE "
             "| NannyML: covered, band fit, MAE |", "|---|---|---|---|---|"]
    for name in tasks:
        for task in makers[name]():
            tally = Tally()
            with E.quiet():
                run_task(task, seeds, tally)
            lines += report(task.name, tally)
    drawn = f", generated sets drawn with seed {args.data_seed}" if args.data_seed else ""
    print(f"## 95% band coverage over many windows, seeds {args.seeds}{drawn} (mlflow-decay "
          f"{md.__version__}, NannyML {E.import_nannyml().__version__})\n")
    print("\n".join(lines))
    print(f"\nband fit = mean half-width / (1.96 x RMS error); total "
          f"{time.perf_counter() - began:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
