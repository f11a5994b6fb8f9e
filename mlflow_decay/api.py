"""The Python API: profiles stored with model versions, and the use cases (:mod:`.monitoring`,
:mod:`.comparison`, :mod:`.labels`) re-exported as ``md.<name>``."""

from __future__ import annotations

import numbers
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd

from . import registry
from .comparison import compare
from .core.frames import list_columns
from .core.policy_file import DEFAULT_POLICY
from .core.profile import Profile
from .engines.dispatch import got, require_frame
from .errors import DataError, RegistryError
from .monitoring import evaluate, monitor
from .recording import unapplied, visible_actions
from .registry import experiments, refusals, runs
from .registry.refusals import explained


@explained
def attach_profile(model_uri: str, profile: Profile, *, tracking_uri: str | None = None,
                   reference_sample: pd.DataFrame | None = None, sample_rows: int = 5000) -> str:
    """Store a reference profile with the model version ``model_uri`` names.

    Parameters
    ----------
    model_uri : str
        ``models:/<name>/<version>`` or ``models:/<name>@<alias>``.
    profile : Profile
    tracking_uri : str, optional
        MLflow tracking/registry URI; default MLflow's current one.
    reference_sample : DataFrame, optional
        Opt-in, and it stores **raw rows**: up to ``sample_rows`` random rows of the
        reference's feature columns, kept next to the profile, so that each evaluation also
        logs Evidently's data-drift report. The profile itself holds aggregates only.

    Returns
    -------
    str
        The profile's artifact URI (also in the version tag ``mlflow_decay.profile_uri``).
        It lives in the version's LoggedModel under
        ``mlflow_decay/<name>/<version>/reference_profile.json`` (one LoggedModel may back
        several versions), or in a dedicated profile run when the version's source is not a
        LoggedModel (or its LoggedModel was deleted).
    """
    if not isinstance(profile, Profile):
        raise DataError("profile must be a Profile (from md.build_profile, md.load_profile or "
                        f"md.Profile.from_json), got {got(profile)}")
    if reference_sample is not None:
        _check_sample(profile, reference_sample, sample_rows)
    client = registry.client_for(tracking_uri)
    ref = registry.resolve(client, model_uri)
    data = profile.to_json()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / registry.PROFILE_FILE).write_bytes(data)
        if reference_sample is not None:
            columns = [c for c in profile.features if c in reference_sample.columns]
            rows = min(sample_rows, len(reference_sample))
            reference_sample[columns].sample(n=rows, random_state=0).to_parquet(
                folder / registry.SAMPLE_FILE, index=False)
        base = registry.store_in_model(client, ref, folder) or runs.log_profile_run(
            client, ref, folder)
    uri = f"{base}/{registry.PROFILE_FILE}"
    registry.record_profile(client, ref, uri, data)
    if reference_sample is not None:
        client.set_model_version_tag(ref.name, ref.version, registry.SAMPLE_URI,
                                     f"{base}/{registry.SAMPLE_FILE}")
    return uri


def _check_sample(profile: Profile, sample: Any, rows: Any) -> None:
    """Refuse a reference sample that would leave every evaluation's Evidently page empty:
    no rows, none of the profile's features, or a row count that is not a positive integer."""
    require_frame(sample, "reference_sample")
    if isinstance(rows, bool) or not isinstance(rows, numbers.Integral) or rows < 1:
        raise DataError(f"sample_rows must be a positive whole number of rows, got {rows!r}")
    if sample.empty or not any(c in sample.columns for c in profile.features):
        raise DataError("reference_sample holds no rows of the profile's features "
                        f"({list_columns(profile.features)}); it has {len(sample):,} rows of "
                        f"the columns {list_columns(sample.columns)}")


@explained
def load_profile(model_uri: str, *, tracking_uri: str | None = None) -> Profile:
    """Read and verify the reference profile stored with a model version.

    Raises
    ------
    ProfileError
        If the version has none, or its bytes do not match the SHA-256 recorded at attach time.
    """
    client = registry.client_for(tracking_uri)
    return registry.profile_of(client, registry.resolve(client, model_uri))


@explained
def restore(model_uri: str, reason: str, *, tracking_uri: str | None = None,
            experiment: str | None = None) -> str:
    """Mark a version healthy again by hand, with a reason; returns the restore run's id.

    The restore is logged as a run first; then the version's stage, reason and streaks are
    reset, and the status line in its description, if it has one (aliases removed earlier are
    not put back: move them with MLflow if wanted). A version never evaluated has no stage to
    restore: refused.
    """
    if not isinstance(reason, str) or not reason.strip():
        raise DataError("restore needs a reason (who looked, and why the version is fine)")
    experiments.check_experiment(experiment)
    client = registry.client_for(tracking_uri)
    ref = registry.resolve(client, model_uri)
    if ref.status is None:
        raise DataError(f"{ref.uri} has no decay stage to restore: none of its windows was "
                        "evaluated")
    run_id = runs.log_restore(client, ref, reason, experiment)
    # a status line written into the description before (policy: describe) is kept true
    planned = registry.plan(ref, "healthy", [registry.RESTORED_BY_HAND + reason], DEFAULT_POLICY,
                            run_id=run_id, state=("healthy", (0, 0), None))
    last, _ = registry.last_window(ref)
    # the last window's verdict replaced later (its rows again, other rows, with the same
    # bounds) is decided from the stage set here, not from the one before that window
    restart = () if last is None else (registry.Action(
        "set_tag", registry.LAST_WINDOW, replace(last, before=("healthy", 0, 0)).to_tag()),)
    registry.apply(client, ref, (*restart, *planned.actions))
    runs.record_actions(client, run_id, visible_actions(ref, planned.actions))
    return run_id


@explained
def status(model: str, *, tracking_uri: str | None = None) -> list[dict[str, Any]]:
    """Every version of a model (a name, or a ``models:/`` URI of one of its versions) with its
    decay stage, newest first: the stage, since when and on which window it was decided, the
    last window whose verdict counted (``last_window``; after a restore, the newest logged),
    the stage it left (``last_status``) and its own verdict (``last_verdict``), the reasons,
    aliases. A window is ``{"start", "end"}`` (UTC ISO 8601), with ``"timezone"`` when
    ``monitor`` cut it on that zone's clock. ``unapplied``: the newest window whose verdict
    is logged but whose registry changes are not made (refused by the server, or cut short),
    ``{"run_id", "window", "verdict"}``, which the version's next evaluation makes first."""
    client = registry.client_for(tracking_uri)
    name = registry.resolve(client, model).name if model.startswith("models:/") else model
    refs = registry.versions(client, name)
    rows = registry.status_rows(refs)
    try:
        pending = unapplied(client, name)
    except RegistryError as exc:  # READ on the model only: fine until a window is evaluated
        if exc.__cause__ is None or refusals.status_of(exc.__cause__) is None:
            raise
        pending = {}
    for ref, row in zip(refs, rows, strict=True):
        run = pending.get(ref.version)
        row["unapplied"] = None if run is None else {
            "run_id": run.info.run_id, "window": runs.bounds_of(run),
            "verdict": run.data.tags.get(registry.STATUS)}
        row["since_window"] = (runs.window_of(client, row["status_run_id"])
                               if row["status_run_id"] else None)
        # after a restore by hand, the last window is still the last one evaluated
        last = runs.last_window_run(client, ref)
        row["last_window"] = None if last is None else runs.bounds_of(last)
        if last is not None and last.info.run_id != row["last_run_id"]:
            row["last_status"] = last.data.tags.get(registry.STATUS)
        # the window's own verdict (the stage may wait for the hysteresis, or a window may
        # move nothing); runs of older versions hold the stage only
        row["last_verdict"] = None if last is None else (
            last.data.tags.get(registry.WINDOW_STATUS) or last.data.tags.get(registry.STATUS))
    return rows


@explained
def history(model: str, *, tracking_uri: str | None = None, experiment: str | None = None
            ) -> list[dict[str, Any]]:
    """Every stage change and alias move of a model (a name) or one version (a URI), in time
    order, read back from the runs that caused them; a window bound or reason that does not
    exist (a restore by hand, an alias move) is ``None``, as in :func:`status`; an event of a
    window cut on a zone's clock has its ``timezone``."""
    experiments.check_experiment(experiment)
    client = registry.client_for(tracking_uri)
    if model.startswith("models:/"):
        ref = registry.resolve(client, model)
        name, version = ref.name, ref.version
    else:
        registry.versions(client, model)  # refuses unknown models
        name, version = model, None
    experiments.check_not_deleted(client, name, experiment)  # else its windows read as none at all
    events: list[dict[str, Any]] = []
    last: dict[str, str] = {}
    kinds = ("evaluation", "restore") if version else ("evaluation", "restore", "comparison")
    found = runs.decay_runs(client, name, version, kinds, experiment)
    if version:  # comparisons are of the model: those that compared this version
        uri = f"models:/{name}/{version}"
        found = sorted([*found, *(r for r in runs.decay_runs(client, name, None, ("comparison",),
                                                             experiment)
                                  if uri in r.data.tags.get(registry.COMPARE_MODELS, "")
                                  .split(","))], key=lambda r: r.info.start_time)
    for run in found:
        tags = run.data.tags
        v = tags.get(registry.MODEL_VERSION, "-")
        status = tags.get(registry.STATUS, "")
        when = pd.Timestamp(run.info.start_time, unit="ms", tz="UTC").isoformat(timespec="seconds")
        base = {"time": when, "version": v, "run_id": run.info.run_id,
                "window_start": tags.get(registry.WINDOW_START) or None,
                "window_end": tags.get(registry.WINDOW_END) or None, **runs.zone_of(run)}
        if status and status != last.get(v):
            events.append({**base, "event": f"stage {last.get(v, '-')} -> {status}",
                           "reason": tags.get(registry.REASONS) or None})
            last[v] = status
        for action in tags.get(registry.REGISTRY_ACTIONS, "").split("; "):
            moved = registry.alias_change_version(action)
            if moved is not None:  # a comparison's: of the version the alias moved to
                events.append({**base, "version": moved if v == "-" and moved.isdigit() else v,
                               "event": action, "reason": (  # a comparison's: why it won
                                   tags.get(registry.REASONS) or None
                                   if tags.get(registry.KIND) == "comparison" else None)})
    return events


__all__ = ["attach_profile", "compare", "evaluate", "history", "load_profile", "monitor", "restore",
           "status"]
