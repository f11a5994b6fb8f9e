"""Champion vs challenger: two model versions judged on the same window, side by side, with
DeLong's test of their AUCs and the promotion streak."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import registry
from .core.evaluation import evaluate_window
from .core.frames import prediction_values
from .core.policy import Policy, as_policy
from .core.report import Comparison, side_by_side
from .core.times import window_bounds
from .engines.partials import fingerprint_columns
from .engines.sources import rows_digest
from .errors import DataError
from .registry import runs
from .stats.comparison import delong
from .stats.schema import map_labels


def compare(
    window: pd.DataFrame,
    models: list[str],
    *,
    predictions: list[str] | None = None,
    policy: Policy | str | Path | None = None,
    log: bool = True,
    promote: bool = False,
    dry_run: bool = False,
    tracking_uri: str | None = None,
    experiment: str | None = None,
    window_start: str | None = None,
    window_end: str | None = None,
) -> Comparison:
    """Judge two model versions (champion first, challenger second) on the same window.

    Parameters
    ----------
    window : DataFrame
        Production rows with both versions' features and outputs; labels optional.
    models : list of two str
        Model URIs, e.g. ``["models:/churn@champion", "models:/churn@challenger"]``.
    predictions : list of two str, optional
        Each version's output column in ``window`` (default: the one named in its profile).
    policy, tracking_uri, experiment
        As for :func:`evaluate`.
    log : bool
        Log one comparison run (experiment ``mlflow-decay/<champion's name>``) and keep the
        challenger's winning streak in its version tags.
    promote : bool
        Move the policy's promote alias to the challenger once it has beaten the champion
        (ROC AUC gain and DeLong p-value per the policy's ``[promote]``) on enough windows in a
        row; the reason is recorded in both versions' tags.
    dry_run : bool
        Show what would be logged and moved; change nothing.
    window_start, window_end : str, optional
        ISO 8601 bounds of the window (as for :func:`evaluate`). The window counts once
        towards the promotion streak: identified by its bounds, or without them by its rows'
        fingerprint; comparing on it again replaces its result (a scheduler's retry does not
        win twice).

    Returns
    -------
    Comparison
        Each side's status, ``compare.<label>.<metric>``, ``compare.diff.<metric>`` (challenger
        minus champion) and, with labels, DeLong's test of the ROC AUC difference.
    """
    if len(models) != 2:
        raise DataError(f"compare takes two model URIs (champion, challenger), got {len(models)}")
    if predictions is not None and len(predictions) != 2:
        raise DataError("give one prediction column per model (two)")
    window_start, window_end = window_bounds(window_start, window_end)
    runs.check_experiment(experiment)
    pol = as_policy(policy)
    client = registry.client_for(tracking_uri)
    refs = [registry.resolve(client, uri) for uri in models]
    if (refs[0].name, refs[0].version) == (refs[1].name, refs[1].version) and (
            predictions is None or predictions[0] == predictions[1]):
        raise DataError(f"{models[0]} and {models[1]} are the same version with the same "
                        "outputs: compare two versions, or give two --predictions columns")
    profiles = [registry.profile_of(client, ref) for ref in refs]
    labels = [_side_label(uri, ref) for uri, ref in zip(models, refs, strict=True)]
    if labels[0] == labels[1]:
        labels = [f"{labels[0]}_1", f"{labels[1]}_2"]
    frames: list[pd.DataFrame] = []
    results = []
    statuses: list[str] = []
    for i, profile in enumerate(profiles):
        frame = window
        if predictions is not None:
            if predictions[i] not in window.columns:
                raise DataError(f"prediction column {predictions[i]!r} is missing from the window")
            own = profile.prediction_columns
            if len(own) != 1:
                raise DataError("predictions= works for single-column outputs (binary, regression)")
            frame = window.drop(columns=[c for c in own if c in window.columns
                                         and c != predictions[i]])
            # the profile reads the given column (errors then name it), as its own output
            profiles[i] = profile = replace(profile, prediction=predictions[i])
        result = evaluate_window(profile, frame, pol)
        frames.append(frame)
        results.append(result)
        statuses.append(pol.decide(result.metrics, profile.bands, result.rows)[0])
    metrics = side_by_side(labels, [r.metrics for r in results])
    notes = list(dict.fromkeys(n for n in (pol.labels_decide(r.metrics) for r in results) if n))
    test = None
    target = profiles[0].target
    if (profiles[0].task == "binary" and target is not None and target in window.columns
            and results[0].has_labels):
        y = map_labels(window[target], profiles[0].classes, target)
        scores = [prediction_values(f, p.prediction_columns, p.task, p.prediction_kind)
                  for f, p in zip(frames, profiles, strict=True)]
        keep = pd.notna(y) & np.isfinite(scores[0]) & np.isfinite(scores[1])
        positive = y[keep] == profiles[0].positive_label
        if positive.all() or not positive.any():
            notes.append("DeLong's test left out: the labels have a single class")
        else:
            test = delong(positive, scores[0][keep], scores[1][keep])
            metrics.update({"compare.diff.roc_auc": test.diff,
                            "compare.diff.roc_auc.p_value": test.p_value,
                            "compare.diff.roc_auc.lower": test.lower,
                            "compare.diff.roc_auc.upper": test.upper})
    comparison = Comparison(models=[r.uri for r in refs], labels=labels, statuses=statuses,
                            metrics=metrics, delong=test, notes=notes)
    columns: dict[str, Any] = {}
    for i, profile in enumerate(profiles):
        columns.update(fingerprint_columns(profile, pol.business, None if predictions is None
                                           else [predictions[i]]))
    identity = (f"{window_start or ''}/{window_end or ''}" if window_start or window_end
                else "rows:" + rows_digest(window, columns).hex()[:32])
    actions, why = registry.plan_promotion(refs[0], refs[1], test, pol, promote, identity)
    comparison.promotion = [a.describe(refs[0]) for a in actions if a.kind == "set_alias"]
    comparison.notes.append(why)
    if log and not dry_run:
        comparison.run_id = runs.log_comparison(
            client, refs, comparison, experiment,
            {registry.WINDOW_START: window_start or "",
             registry.WINDOW_END: window_end or "",
             registry.COMPARE_WINDOW: identity})
        from .render import comparison_panel

        runs.log_files(client, comparison.run_id,
                           {"plots/comparison.png": comparison_panel(comparison)})
        registry.apply(client, refs[0], actions)
        runs.record_actions(client, comparison.run_id, comparison.promotion)
    return comparison


def _side_label(uri: str, ref: registry.ModelVersionRef) -> str:
    _, _, alias = registry.parse_model_uri(uri)
    return alias or f"v{ref.version}"
