"""Champion vs challenger: two model versions judged on the same window, side by side, with
a paired test on the window's labelled rows (DeLong's test of two classifiers' AUCs, or a
paired t-test of a regression's absolute errors or a multiclass model's log losses) and the
promotion streak."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from . import registry
from .core.evaluation import Evaluation, evaluate_with_outputs
from .core.frames import column_names, missing_column
from .core.policy import Policy
from .core.policy_file import as_policy
from .core.profile import Profile
from .core.report import Comparison, side_by_side
from .core.times import zoned_bounds
from .engines.dispatch import require_frame
from .engines.partials import fingerprint_columns
from .engines.sources import rows_digest
from .errors import DataError, RegistryError
from .monitoring import outside_notes
from .registry import experiments, refusals, run_files, runs
from .stats import estimate
from .stats.comparison import DeLong, PairedLoss, delong, paired_loss
from .stats.schema import map_labels, to_numeric


@refusals.explained
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
    timezone: str | None = None,
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
        Log one comparison run (experiment ``mlflow-decay/<champion's name>/compare``, apart
        from the window runs; ``experiment`` overrides it) and keep the challenger's winning
        streak in its version tags.
    promote : bool
        Move the policy's promote alias to the challenger once it has beaten the champion
        (the policy's ``[promote]``: a binary model's ROC AUC gain and DeLong's p-value; a
        regression's or multiclass model's share of the mean absolute error or log loss saved
        and the paired t-test's p-value) on enough windows in a row; the reason is recorded
        in both versions' tags. Both must be versions of one
        registered model (versions of two are compared, with no streak kept).
    dry_run : bool
        Show what would be logged and moved; change nothing.
    window_start, window_end : str, optional
        ISO 8601 bounds of the window (as for :func:`evaluate`). The window counts once
        towards the promotion streak: identified by its bounds, or without them by its rows'
        fingerprint; comparing on it again replaces its result (a scheduler's retry does not
        win twice).
    timezone : str, optional
        The IANA time zone (``"America/New_York"``) on whose clock bounds without an offset
        are read, and the window shown, as for :func:`evaluate`: New York's March 8 is one
        window (one step of the streak), the same as :func:`monitor` with ``timezone`` cuts
        for that day. Needs a bound.

    Returns
    -------
    Comparison
        Each side's status, ``compare.<label>.<metric>``, ``compare.diff.<metric>`` (challenger
        minus champion) and, with labels, the paired test: DeLong's of the ROC AUC difference
        (``delong``), or the t-test of the mean loss difference (``paired``).
    """
    require_frame(window, "compare (the paired test reads every row's outputs)")
    if isinstance(models, str) or len(models) != 2:
        got = f"the text {models!r}" if isinstance(models, str) else len(models)
        raise DataError(f"compare takes a list of two model URIs (champion, challenger), got "
                        f"{got}")
    if predictions is not None:
        predictions = list(column_names(predictions, "predictions"))
        if len(predictions) != 2:
            raise DataError("give one prediction column per model (two), got "
                            f"{', '.join(map(repr, predictions)) or 'none'}")
    window_start, window_end, timezone = zoned_bounds(window_start, window_end, timezone)
    experiments.check_experiment(experiment)
    pol = as_policy(policy)
    parsed = [registry.parse_model_uri(uri) for uri in models]  # (name, version, alias)
    names = [name for name, _, _ in parsed]
    if promote and names[0] != names[1]:  # an alias names a version of its own model only
        raise DataError(f"promote (--promote) moves @{pol.promote_alias} among the versions of "
                        f"one registered model, and {models[0]} and {models[1]} are of two "
                        f"({names[0]!r}, {names[1]!r}): compare them without promoting, or "
                        f"register the challenger as a version of {names[0]!r}")
    client = registry.client_for(tracking_uri)
    refs = [registry.resolve(client, uri) for uri in models]
    if (refs[0].name, refs[0].version) == (refs[1].name, refs[1].version) and (
            predictions is None or predictions[0] == predictions[1]):
        # after a promotion, @champion and @challenger name one version until a new
        # challenger is registered: a scheduled comparison says so
        aliases = [alias for _, _, alias in parsed]
        promoted = (f" (a promoted challenger keeps @{aliases[1]} until another version "
                    "takes it)" if all(aliases) and aliases[0] != aliases[1] else "")
        raise DataError(f"{models[0]} and {models[1]} are the same version "
                        f"(v{refs[0].version}) with the same outputs{promoted}: compare two "
                        "versions, or give two --predictions columns")
    profiles = [registry.profile_of(client, ref) for ref in refs]
    labels = _side_labels(models, refs)
    sides = []
    for i, profile in enumerate(profiles):
        try:
            sides.append(_judge(window, profile, pol,
                                None if predictions is None else predictions[i]))
        except DataError as error:  # a column one side reads (the challenger's new feature)
            role = ("champion", "challenger")[i]
            raise DataError(f"{refs[i].uri}, the {role}: {error}") from None
    test, note = _paired_test(window, sides, labels)  # a note: why none, how it read outputs
    comparison = _side_by_side(refs, labels, sides, pol, test)
    _place(comparison, window, profiles[0].timestamp_column, window_start, window_end, timezone)
    identity = _window_identity(window, sides, pol, predictions, window_start, window_end)
    planned = partial(_promotion, refs[0], test, note, pol, promote, identity, comparison.window)
    actions, why = planned(refs[1])
    comparison.promotion = [a.describe(refs[0]) for a in actions if a.kind == "set_alias"]
    comparison.notes.extend([note, why] if test is not None and note else [why])
    if log and not dry_run:
        _log_and_promote(client, refs, comparison, planned, experiment,
                         {registry.COMPARE_WINDOW: identity})
    return comparison


def _place(comparison: Comparison, window: pd.DataFrame, column: str | None,
           start: str | None, end: str | None, timezone: str | None) -> None:
    """Give the comparison its window's bounds and zone, and the notes on the window's rows
    outside them (counted on their instants, shown on the zone's clock), as an evaluation's."""
    comparison.window_start, comparison.window_end, comparison.timezone = start, end, timezone
    comparison.notes[:0] = outside_notes(column, window, window, start, end, timezone)


@dataclass(frozen=True)
class _Side:
    """One version judged on the window: its profile (reading the output column given for
    it, if any), the evaluation, the status the window earns and the model outputs the
    evaluation read (for the paired test)."""

    profile: Profile
    result: Evaluation
    status: str
    outputs: np.ndarray | None


def _judge(window: pd.DataFrame, profile: Profile, pol: Policy, prediction: str | None
           ) -> _Side:
    """Evaluate one version on the window; with ``prediction``, its output is that column
    (a single-column output), and its own output columns are left out of the window."""
    frame = window
    if prediction is not None:
        if prediction not in window.columns:
            raise DataError(f"prediction column {prediction!r} is missing from the window "
                            f"({missing_column(prediction, window)})")
        frame = window.drop(columns=[c for c in profile.prediction_columns
                                     if c in window.columns and c != prediction])
        # the profile reads the given column (errors then name it), as its own output
        profile = profile.reading_output(prediction)
    result, outputs = evaluate_with_outputs(profile, frame, pol)
    return _Side(profile, result, pol.decide(result.metrics, profile.bands, result.rows)[0],
                 outputs)


def _shared_outputs(sides: list[_Side]) -> str | None:
    """A note when both versions read their outputs from the same column(s) of the window:
    one model's outputs judged twice, differing only by how each profile reads them."""
    profiles = [s.profile for s in sides]  # each reading the column given for it, if any
    read = [p.prediction_columns for p in profiles]
    if read[0] != read[1]:
        return None
    shown = ", ".join(map(repr, read[0][:3])) + (f" (+{len(read[0]) - 3} more)"
                                                 if len(read[0]) > 3 else "")
    how = ("give each version its own column (--predictions, predictions=)" if len(read[0]) == 1
           else f"put each version's outputs in columns of their own, and profile it on them "
                f"(a {profiles[0].task} profile reads the columns it was built on)")
    return (f"both versions read their outputs from the same column(s), {shown}: the window "
            f"holds one model's outputs, and the sides differ only by how each profile reads "
            f"them (reference, calibration, threshold); to compare two models, {how}")


def _side_by_side(refs: list[registry.ModelVersionRef], labels: list[str], sides: list[_Side],
                  pol: Policy, test: DeLong | PairedLoss | None) -> Comparison:
    """Both sides' statuses and metrics, their differences and, with labels, the paired
    test."""
    metrics = side_by_side(labels, [s.result.metrics for s in sides])
    notes = list(dict.fromkeys(n for n in (_shared_outputs(sides),
                                           *(pol.labels_decide(s.result.metrics) for s in sides))
                               if n))
    notes += _side_notes(labels, sides)
    rules = [_decision(s.profile) for s in sides]
    decided = {s.profile.predicted_label for s in sides}
    if len(decided) == 1 and None not in decided and _shared_outputs(sides) is None:
        # --predictions gives each version its outputs, not its decisions
        notes.append(f"both versions' realized accuracy, precision, recall and F1 are of the "
                     f"decisions in one column, {decided.pop()!r}: they are one caller's "
                     "decisions judged twice, and their differences say nothing of the models "
                     "(profile each version on its own decision column)")
    if sides[0].profile.task == "binary" and rules[0] != rules[1]:
        notes.append(f"accuracy, precision, recall and F1 are each version's at its own decision "
                     f"({labels[0]}: {rules[0]}; {labels[1]}: {rules[1]}): their differences "
                     "are of the decisions as well as of the models")
    if test is not None:
        name = "compare.diff." + ("roc_auc" if isinstance(test, DeLong) else test.metric)
        metrics.update({name: test.diff, f"{name}.p_value": test.p_value,
                        f"{name}.lower": test.lower, f"{name}.upper": test.upper})
    return Comparison(models=[r.uri for r in refs], labels=labels,
                      statuses=[s.status for s in sides], metrics=metrics,
                      delong=test if isinstance(test, DeLong) else None,
                      paired=test if isinstance(test, PairedLoss) else None, notes=notes)


def _side_notes(labels: list[str], sides: list[_Side]) -> list[str]:
    """What each side's evaluation noted about the window (a metric left out, outputs that
    look like probabilities sent as logits, rows without a decision), by side, or ``both:``;
    not which estimator made ``est.*``."""
    said = [[n for n in s.result.notes if n != estimate.estimator_note(s.profile.calibrations)]
            for s in sides]
    both = [n for n in said[0] if n in said[1]]
    return [*(f"both: {n}" for n in both),
            *(f"{label}: {n}" for label, notes in zip(labels, said, strict=True)
              for n in notes if n not in both)]


def _decision(profile: Profile) -> str:
    """How a binary version decides: its threshold, and the decision column of its realized
    metrics."""
    column = profile.predicted_label
    return f"threshold {profile.threshold:g}" + (f", realized by column {column!r}" if column else "")


def _paired_test(window: pd.DataFrame, sides: list[_Side], labels: list[str]
                 ) -> tuple[DeLong | PairedLoss | None, str | None]:
    """The paired test of the task on the window's labelled rows (labels that came with the
    window), and a note: why the test is left out, or how it read the outputs."""
    first = sides[0].profile
    target = first.target
    if not (target is not None and target in window.columns and sides[0].result.has_labels):
        what = "DeLong's test" if first.task == "binary" else "the paired test of the losses"
        return None, f"{what} needs labels on the window"
    if (blind := [label for label, side in zip(labels, sides, strict=True)
                  if side.outputs is None]):
        return None, (f"the paired test needs both versions' model outputs: the profile of "
                      f"{' and '.join(blind)} has no prediction column")
    if first.task == "binary":
        return _delong(window, sides)
    if sides[1].profile.task != first.task:
        return None, (f"the paired test left out: the versions' tasks differ ({first.task} and "
                      f"{sides[1].profile.task})")
    losses = [_row_losses(window, side, first) for side in sides]
    if any(loss is None for loss in losses):
        return None, (f"the paired test left out: the versions' classes differ "
                      f"({', '.join(first.classes)} and {', '.join(sides[1].profile.classes)})")
    a, b = (np.asarray(loss) for loss in losses)
    keep = np.isfinite(a) & np.isfinite(b)
    if keep.sum() < 2:
        return None, "the paired test needs two or more labelled rows both versions scored"
    metric = "mae" if first.task == "regression" else "log_loss"
    unscored = int((~keep & (np.isfinite(a) | np.isfinite(b))).sum())
    return paired_loss(metric, a[keep], b[keep]), (
        f"the paired test reads the {int(keep.sum()):,} labelled rows both versions scored: "
        f"{unscored:,} with a missing or infinite output of one are left out" if unscored else None)


def _row_losses(window: pd.DataFrame, side: _Side, first: Profile) -> np.ndarray | None:
    """Each row's loss (NaN where it has no label or output): a regression's absolute error, a
    multiclass model's log loss (its probabilities read as ``first``'s classes, renormalised
    to sum to 1, clipped to [eps, 1 - eps] at the machine epsilon as scikit-learn's
    ``log_loss`` does; ``None`` if its classes differ)."""
    target, profile, outputs = str(first.target), side.profile, side.outputs
    assert outputs is not None  # the paired test checked
    if profile.task == "regression":
        with np.errstate(invalid="ignore", over="ignore"):
            return np.asarray(np.abs(to_numeric(window[target], target) - outputs))
    try:
        mine = map_labels(pd.Series(profile.classes, dtype=object), first.classes, "classes")
    except DataError:
        return None
    if sorted(map(str, mine)) != sorted(map(str, first.classes)):
        return None
    y = map_labels(window[target], first.classes, target)
    column = {c: k for k, c in enumerate(mine)}
    index = pd.Series(y, dtype=object).map(column).fillna(-1).to_numpy(dtype=int)
    with np.errstate(invalid="ignore", divide="ignore"):
        proba = outputs / outputs.sum(axis=1, keepdims=True)
        picked = proba[np.arange(len(index)), np.maximum(index, 0)]
        eps = np.finfo(float).eps  # as sklearn.metrics.log_loss (1e-15 before 1.5)
        loss = -np.log(np.clip(picked, eps, 1.0 - eps))
    loss[(index < 0) | ~np.isfinite(proba).all(axis=1)] = np.nan
    return np.asarray(loss)


def _delong(window: pd.DataFrame, sides: list[_Side]) -> tuple[DeLong | None, str | None]:
    """DeLong's test of the two ROC AUCs on the window's labelled rows, and a note: why the
    test is left out, or that it read a challenger scoring the other class as the
    champion's."""
    first, second = sides[0].profile, sides[1].profile
    target = str(first.target)
    same = _same_positive(second, first)
    if same is None:
        return None, (f"DeLong's test left out: the versions' classes differ "
                      f"({', '.join(first.classes)} and {', '.join(second.classes)})")
    y = map_labels(window[target], first.classes, target)
    scores = [np.asarray(s.outputs) for s in sides]
    if not same:  # the challenger scores the other class: read as the champion's positive
        scores[1] = 1.0 - scores[1]
    keep = pd.notna(y) & np.isfinite(scores[0]) & np.isfinite(scores[1])
    positive = y[keep] == first.positive_label
    if positive.all() or not positive.any():
        return None, "DeLong's test needs both classes among the window's labels"
    notes = [] if same else [
        f"the versions score different classes ({first.positive_label!r} and "
        f"{second.positive_label!r}): their pr_auc, precision, recall and f1 are each of its "
        f"own positive class; DeLong's test reads both as the probability of "
        f"{first.positive_label!r}"]
    if (unscored := int((pd.notna(y) & ~keep).sum())):  # each side's perf.* reads its own rows
        notes.append(f"DeLong's test reads the {int(keep.sum()):,} labelled rows both versions "
                     f"scored: {unscored:,} with a missing or infinite score of one are left out "
                     "(each version's perf.* reads the rows it scored)")
    return delong(positive, scores[0][keep], scores[1][keep]), "; ".join(notes) or None


def _same_positive(profile: Profile, first: Profile) -> bool | None:
    """Whether ``profile``'s binary score is the probability of ``first``'s positive class
    (``False``: of the other class; ``None``: their classes differ). A profile without
    labels names no classes: its score is taken as ``first``'s."""
    if not profile.classes or profile.positive_label is None:
        return True
    try:
        mine = map_labels(pd.Series(profile.classes, dtype=object), first.classes, "classes")
    except DataError:
        return None
    if set(mine) != set(first.classes):
        return None
    return bool(mine[profile.classes.index(profile.positive_label)] == first.positive_label)


def _window_identity(window: pd.DataFrame, sides: list[_Side], pol: Policy,
                     predictions: list[str] | None, start: str | None, end: str | None) -> str:
    """How the promotion streak knows the window: by its bounds, or without them by the
    fingerprint of the rows both sides read."""
    if start or end:
        return f"{start or ''}/{end or ''}"
    columns: dict[str, Any] = {}
    for i, side in enumerate(sides):
        columns.update(fingerprint_columns(side.profile, pol.business, None if predictions is None
                                           else [predictions[i]]))
    return "rows:" + rows_digest(window, columns).hex()[:32]


def _promotion(champion: registry.ModelVersionRef, test: DeLong | PairedLoss | None,
               note: str | None, pol: Policy, promote: bool, identity: str, shown: str,
               challenger: registry.ModelVersionRef) -> tuple[tuple[registry.Action, ...], str]:
    """The promotion streak and alias move, from the ``challenger``'s tags as given (``note``:
    why there is no paired ``test``)."""
    if champion.name != challenger.name:  # the tags would count it against another model's
        return (), (f"no promotion streak: {champion.name!r} and {challenger.name!r} are two "
                    "registered models" + (f"; {note}" if test is None else ""))
    return registry.plan_promotion(champion, challenger, test, pol, promote, identity,
                                   untested=note if test is None else None, shown=shown)


def _log_and_promote(client: MlflowClient, refs: list[registry.ModelVersionRef],
                     comparison: Comparison, planned: Callable[[registry.ModelVersionRef], Any],
                     experiment: str | None, tags: dict[str, str]) -> None:
    """Log the comparison run (its metrics and panel, tagged with its window and the zone
    whose clock places it), then, holding the challenger's lease, plan its streak and the
    alias move again from its tags as they are now (``planned``: another comparison may have
    counted a window since) and make them."""
    from .plots import comparison_panel

    tags = {registry.WINDOW_START: comparison.window_start or "",
            registry.WINDOW_END: comparison.window_end or "",
            **({registry.TIMEZONE: comparison.timezone} if comparison.timezone else {}),
            registry.REASONS: comparison.notes[-1][:5000], **tags}  # history's reason

    comparison.run_id = runs.log_comparison(client, refs, comparison, experiment, tags)
    run_files.log_files(client, comparison.run_id,
                   {"plots/comparison.png": comparison_panel(comparison)})
    if refs[0].name != refs[1].name:  # no streak, nothing to change
        return
    try:
        with registry.version_lock(client, refs[1], owner=comparison.run_id) as now:
            actions, why = planned(now)
            if why != comparison.notes[-1]:  # the streak moved while this window was judged
                comparison.notes[-1] = why
                comparison.promotion = [a.describe(refs[0]) for a in actions
                                        if a.kind == "set_alias"]
                client.set_tag(comparison.run_id, registry.REASONS, why[:5000])
            registry.apply(client, refs[0], registry.promoted_by(
                registry.changes(now, actions), comparison.run_id))
    except (RegistryError, MlflowException) as exc:
        refused = refusals.refused_after(exc, (
            f"comparison run {comparison.run_id} is logged, marked FAILED: this window did not "
            "count towards the promotion streak (--no-log compares without changing anything)"))
        if refused is None:
            raise
        client.set_terminated(comparison.run_id, "FAILED")
        raise refused from exc
    runs.record_actions(client, comparison.run_id, comparison.promotion)


def _side_labels(models: list[str], refs: list[registry.ModelVersionRef]) -> list[str]:
    """How the metrics name each side: its alias in the URI given, else ``v<version>``; made
    distinct when both are the same."""
    labels = [_side_label(uri, ref) for uri, ref in zip(models, refs, strict=True)]
    return [f"{labels[0]}_1", f"{labels[1]}_2"] if labels[0] == labels[1] else labels


def _side_label(uri: str, ref: registry.ModelVersionRef) -> str:
    _, _, alias = registry.parse_model_uri(uri)
    return alias or f"v{ref.version}"
