"""The MLflow model registry side: model URIs, profiles stored with versions, status tags.

MLflow's stages are fixed and deprecated, so a version's decay stage is the version tag
``mlflow_decay.status`` (searchable: ``tags.`mlflow_decay.status` = 'degraded'``), with
optional alias removal and, for teams on legacy stages, a transition to ``Archived``.
Every MLflow quirk (version as str or int, LoggedModel sources) is handled here.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import random
import re
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, cast

from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from .core.names import hashed_name
from .core.policy import STATUSES, Policy, Status
from .core.profile import Profile
from .core.times import is_open, parse_time
from .errors import ProfileError, RegistryError

logger = logging.getLogger(__name__)

TAG = "mlflow_decay."
PROFILE_URI = TAG + "profile_uri"
PROFILE_SHA256 = TAG + "profile_sha256"
STATUS = TAG + "status"
STATUS_REASON = TAG + "status_reason"
STATUS_RUN_ID = TAG + "status_run_id"
STATUS_CHANGED_AT = TAG + "status_changed_at"
LAST_STATUS = TAG + "last_status"
LAST_RUN_ID = TAG + "last_run_id"
LAST_EVALUATED_AT = TAG + "last_evaluated_at"
REMOVED_ALIASES = TAG + "removed_aliases"
ROLLED_BACK_TO = TAG + "rolled_back_to"
ROLLED_BACK_FROM = TAG + "rolled_back_from"
PROMOTE_STREAK = TAG + "promote_streak"
PROMOTE_WINDOW = TAG + "promote_window"
PROMOTED_FROM = TAG + "promoted_from"
DEMOTED_TO = TAG + "demoted_to"
BREACH_STREAK = TAG + "breach_streak"
CLEAN_STREAK = TAG + "clean_streak"
LAST_WINDOW = TAG + "last_window"
LOCK = TAG + "lock"
PROFILE_DIR = "mlflow_decay"
PROFILE_FILE = "reference_profile.json"
SAMPLE_FILE = "reference_sample.parquet"
SAMPLE_URI = TAG + "reference_sample_uri"
_URI = re.compile(r"^models:/(?P<name>[^/@]+)(?:/(?P<version>\d+)|@(?P<alias>[^/]+))$")
_MAX_TAG = 5000


def client_for(tracking_uri: str | None = None) -> MlflowClient:
    """An MLflow client for ``tracking_uri`` (``None``: MLflow's current tracking URI);
    :class:`RegistryError` if its store cannot be opened (a file that is not a database)."""
    try:
        if tracking_uri is None:
            return MlflowClient()
        return MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    except Exception as exc:
        if not is_store_error(exc):
            raise
        raise RegistryError(f"tracking store {tracking_uri or 'of MLflow'} could not be opened: "
                            f"{first_line(exc)}") from exc


def is_store_error(exc: BaseException) -> bool:
    """Whether an error comes from a database store under MLflow (SQLAlchemy's, raw)."""
    return type(exc).__module__.startswith("sqlalchemy")


def first_line(exc: BaseException, limit: int = 200) -> str:
    """The first line of an error's message, at most ``limit`` characters."""
    lines = str(exc).strip().splitlines()
    return (lines[0] if lines else type(exc).__name__)[:limit]


def equals(field: str, value: str) -> str:
    """A search-filter clause selecting ``field`` equal to ``value``, whatever quotes it holds.

    MLflow's filter grammar has no escape character: a value is quoted with a quote it does not
    contain (backslashes are literal). A value holding both quotes is matched with ``LIKE``,
    its quotes and backslashes as one-character wildcards, so callers keep exact matches only.
    """
    if "'" not in value:
        return f"{field} = '{value}'"
    if '"' not in value:
        return f'{field} = "{value}"'
    pattern = re.sub(r"['\\]", "_", value)
    return f"{field} LIKE '{pattern}'"


@dataclass(frozen=True)
class ModelVersionRef:
    """A resolved model version: its name, version (always str), source, tags and aliases."""

    name: str
    version: str
    source: str
    tags: dict[str, str]
    aliases: tuple[str, ...]
    stage: str
    model_id: str | None = None

    @property
    def uri(self) -> str:
        return f"models:/{self.name}/{self.version}"

    @property
    def status(self) -> str | None:
        return self.tags.get(STATUS)

    @property
    def profile_sha256(self) -> str:
        """SHA-256 of the version's reference profile ("" if it has none)."""
        return self.tags.get(PROFILE_SHA256, "")


def parse_model_uri(uri: str) -> tuple[str, str | None, str | None]:
    """Split ``models:/<name>/<version>`` or ``models:/<name>@<alias>`` into name, version, alias."""
    match = _URI.match(uri or "")
    if not match:
        raise RegistryError(f"model URI {uri!r} is not models:/<name>/<version> or "
                            "models:/<name>@<alias>")
    return match["name"], match["version"], match["alias"]


def resolve(client: MlflowClient, uri: str) -> ModelVersionRef:
    """Look up the version a model URI names; :class:`RegistryError` if there is none."""
    name, version, alias = parse_model_uri(uri)
    try:
        mv = (client.get_model_version(name, version) if version is not None
              else client.get_model_version_by_alias(name, alias))  # type: ignore[arg-type]
    except MlflowException as exc:
        if not _is_missing(exc):
            raise  # the server refused or failed: its own message, not "not found"
        raise RegistryError(f"{uri}: {_not_found(client, name, version, alias)}") from exc
    source = str(mv.source or "")
    model_id = getattr(mv, "model_id", None) or _logged_model_id(source)
    return ModelVersionRef(
        name=str(mv.name), version=str(mv.version), source=source,
        tags={str(k): str(v) for k, v in (mv.tags or {}).items()},
        aliases=tuple(getattr(mv, "aliases", None) or ()), stage=str(mv.current_stage or "None"),
        model_id=model_id,
    )


def _logged_model_id(source: str) -> str | None:
    match = re.match(r"^models:/(m-[0-9a-f]+)$", source)
    return match.group(1) if match else None


def _is_missing(exc: MlflowException) -> bool:
    """Whether the registry said "no such model/version/alias" (as opposed to a refusal such as
    PERMISSION_DENIED or a server failure, which must not read as a missing model)."""
    return exc.error_code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE")


def _registered(client: MlflowClient, name: str) -> bool:
    """Whether a registered model ``name`` exists; other registry errors propagate."""
    try:
        client.get_registered_model(name)
    except MlflowException as exc:
        if not _is_missing(exc):
            raise
        return False
    return True


def _not_found(client: MlflowClient, name: str, version: str | None, alias: str | None) -> str:
    if not _registered(client, name):
        return f"no registered model named {name!r}"
    versions = sorted({str(v.version) for v in _versions_of(client, name)}, key=int)
    if alias is not None:
        return f"model {name!r} has no alias {alias!r}"
    known = ", ".join(versions) if versions else "none"
    return f"model {name!r} has no version {version} (versions: {known})"


def _versions_of(client: MlflowClient, name: str) -> list[Any]:
    """Every version of a registered model (as MLflow's search returns them)."""
    return [mv for mv in client.search_model_versions(equals("name", name)) if mv.name == name]


# -- profiles --------------------------------------------------------------------------------
def profile_folder(ref: ModelVersionRef) -> str:
    """Where a version's profile lives in its LoggedModel: ``mlflow_decay/<name>/<version>``.

    One LoggedModel can back versions of several registered models, so each version has its
    own folder (a name with characters other than letters, digits, ``_.-`` is made plain and
    suffixed with a short hash of it). Profiles attached before lived in ``mlflow_decay/``;
    the version tag ``mlflow_decay.profile_uri`` says where, so they still load.
    """
    plain = re.fullmatch(r"[0-9A-Za-z_-][0-9A-Za-z_.-]*", ref.name) is not None
    name = ref.name if plain else hashed_name(ref.name, r"[^0-9A-Za-z_.-]", 100)
    return f"{PROFILE_DIR}/{name}/{ref.version}"


def store_in_model(client: MlflowClient, ref: ModelVersionRef, directory: Path) -> str | None:
    """Write a directory's files into the version's LoggedModel (:func:`profile_folder`); the
    URI of that folder, or ``None`` if the version's source is not a LoggedModel."""
    if ref.model_id is None:
        return None
    folder = profile_folder(ref)
    client.log_model_artifacts(ref.model_id, str(directory), artifact_path=folder)
    return f"{ref.uri}/{folder}"


def record_profile(client: MlflowClient, ref: ModelVersionRef, uri: str, data: bytes) -> None:
    """Point the version's tags at a stored profile and its SHA-256."""
    client.set_model_version_tag(ref.name, ref.version, PROFILE_URI, uri)
    client.set_model_version_tag(ref.name, ref.version, PROFILE_SHA256,
                                 hashlib.sha256(data).hexdigest())


def profile_of(client: MlflowClient, ref: ModelVersionRef) -> Profile:
    """The verified profile of a resolved version."""
    uri, sha = ref.tags.get(PROFILE_URI), ref.tags.get(PROFILE_SHA256)
    if not uri or not sha:
        raise ProfileError(f"{ref.uri} has no reference profile; attach one with "
                           "`mlflow-decay profile` or md.attach_profile")
    try:
        data = read_artifact(client, ref, uri)
    except (MlflowException, OSError) as exc:
        raise ProfileError(f"{ref.uri}: reference profile {uri} cannot be read: "
                           f"{str(exc).splitlines()[0][:200]}") from exc
    if hashlib.sha256(data).hexdigest() != sha:
        raise ProfileError(f"{ref.uri}: reference profile does not match its recorded SHA-256 "
                           "(tampered or truncated); rebuild and attach it again")
    return Profile.from_json(data)


def read_artifact(client: MlflowClient, ref: ModelVersionRef, uri: str) -> bytes:
    """The bytes of an artifact stored with a version (in its LoggedModel or a profile run)."""
    import mlflow.artifacts

    source = uri
    prefix = f"{ref.uri}/"
    if uri.startswith(prefix) and ref.model_id is not None:
        # resolve the LoggedModel with this client: MLflow resolves models:/ artifact URIs
        # through the process-wide tracking URI, which may name another store
        location = client.get_logged_model(ref.model_id).artifact_location
        source = f"{location.rstrip('/')}/{uri[len(prefix):]}"
    with tempfile.TemporaryDirectory() as tmp:
        path = mlflow.artifacts.download_artifacts(
            artifact_uri=source, dst_path=tmp, tracking_uri=client.tracking_uri,
            registry_uri=client._registry_uri)
        return Path(path).read_bytes()


# -- status ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Action:
    """One registry change: a version tag, an alias removal or move, or a legacy stage.

    ``version`` names another version of the same model when the change is not to the
    evaluated one (a rollback tags and points the alias at its target).
    """

    kind: Literal["set_tag", "delete_alias", "set_alias", "transition_stage"]
    key: str
    value: str = ""
    version: str | None = None

    def to_dict(self) -> dict[str, str | None]:
        return {"kind": self.kind, "key": self.key, "value": self.value, "version": self.version}

    @classmethod
    def from_dict(cls, obj: dict[str, str | None]) -> Action:
        kind = obj["kind"]
        if kind not in ("set_tag", "delete_alias", "set_alias", "transition_stage"):
            raise RegistryError(f"unknown planned registry action {kind!r}")
        return cls(kind, str(obj["key"]), str(obj.get("value") or ""),  # type: ignore[arg-type]
                   None if obj.get("version") is None else str(obj["version"]))

    def describe(self, ref: ModelVersionRef) -> str:
        where = f"models:/{ref.name}/{self.version}" if self.version else ref.uri
        if self.kind == "delete_alias":
            return f"remove alias @{self.key} from {where}"
        if self.kind == "set_alias":
            return f"move alias @{self.key} to {where}"
        if self.kind == "transition_stage":
            return f"transition {where} to stage {self.value}"
        return f"set tag {self.key}={self.value[:60]} on {where}"


@dataclass(frozen=True)
class Plan:
    """The status a version moves to after one evaluation, and the registry changes it takes."""

    previous: str | None
    status: Status
    changed: bool
    actions: tuple[Action, ...] = field(default=())
    note: str | None = None
    skipped: bool = False


def plan(ref: ModelVersionRef, status: Status, reasons: list[str], policy: Policy,
         run_id: str | None, now: datetime | None = None,
         state: tuple[Status, tuple[int, int], str | None] | None = None,
         others: list[ModelVersionRef] | None = None,
         base: tuple[str | None, tuple[int, int]] | None = None) -> Plan:
    """Decide the version's next status and the registry changes, without making them.

    The policy's hysteresis decides the stage from this window and the streaks kept in version
    tags (so any process can continue them), or from ``base`` (a stage and streaks to start
    from: those before a window whose verdict this one replaces), unless ``state`` gives the
    outcome (a replay); re-evaluating a degraded version changes nothing but the last-run and
    streak tags. A degraded version's rollback aliases move to the newest healthy version
    among ``others``.
    """
    previous = ref.status
    start, streaks = base if base is not None else (
        previous, (_int_tag(ref, BREACH_STREAK), _int_tag(ref, CLEAN_STREAK)))
    status, streaks, note = state or policy.next_state(start, status, streaks)
    stamp = (now or datetime.now(UTC)).isoformat(timespec="seconds")
    run = run_id or "<this run>"
    reason = "; ".join(reasons) or "no threshold breached"
    actions: list[Action] = []
    if status == "degraded":
        for alias in (a for a in policy.rollback_aliases if a in ref.aliases):
            target = _rollback_target(ref, others)
            if target is None:
                fate = ("it is removed (remove_aliases)" if alias in policy.remove_aliases
                        else "it stays")
                note = ((note + "; ") if note else "") + (
                    f"no healthy version to roll @{alias} back to; {fate}")
                continue
            actions += [
                Action("set_alias", alias, version=target.version),
                Action("set_tag", ROLLED_BACK_TO, f"@{alias} -> v{target.version}"),
                Action("set_tag", ROLLED_BACK_FROM, f"@{alias} <- v{ref.version}",
                       version=target.version),
            ]
        moved = {a.key for a in actions if a.kind == "set_alias"}
        actions += [Action("delete_alias", a) for a in policy.remove_aliases
                    if a in ref.aliases and a not in moved]
        if policy.archive and ref.stage != "Archived":
            actions.append(Action("transition_stage", "stage", "Archived"))
        removed = [a.key for a in actions if a.kind == "delete_alias"]
        if removed:
            previous_removed = [a for a in ref.tags.get(REMOVED_ALIASES, "").split(",") if a]
            actions.append(Action("set_tag", REMOVED_ALIASES,
                                  ",".join(dict.fromkeys(previous_removed + removed))))
    changed = status != previous
    if changed:
        actions += [
            Action("set_tag", STATUS_REASON, _clip(reason)),
            Action("set_tag", STATUS_RUN_ID, run),
            Action("set_tag", STATUS_CHANGED_AT, stamp),
        ]
    actions += [
        Action("set_tag", BREACH_STREAK, str(streaks[0])),
        Action("set_tag", CLEAN_STREAK, str(streaks[1])),
        Action("set_tag", LAST_STATUS, status),
        Action("set_tag", LAST_RUN_ID, run),
        Action("set_tag", LAST_EVALUATED_AT, stamp),
    ]
    if changed:  # the status tag itself last, once everything it implies is done
        actions.append(Action("set_tag", STATUS, status))
    return Plan(previous=previous, status=status, changed=changed, actions=tuple(actions),
                note=note)


def _rollback_target(ref: ModelVersionRef, others: list[ModelVersionRef] | None
                     ) -> ModelVersionRef | None:
    """The most recent other version whose stage is healthy (never a degraded one)."""
    healthy = [o for o in others or () if o.version != ref.version and o.status == "healthy"]
    return max(healthy, key=lambda o: int(o.version)) if healthy else None


def _int_tag(ref: ModelVersionRef, key: str) -> int:
    try:
        return max(int(ref.tags.get(key, "0")), 0)
    except ValueError:
        return 0


def apply(client: MlflowClient, ref: ModelVersionRef, actions: tuple[Action, ...]) -> None:
    """Make the planned registry changes, in order."""
    for action in actions:
        version = action.version or ref.version
        try:
            if action.kind == "set_tag":
                client.set_model_version_tag(ref.name, version, action.key, action.value)
            elif action.kind == "delete_alias":
                client.delete_registered_model_alias(ref.name, action.key)
            elif action.kind == "set_alias":
                client.set_registered_model_alias(ref.name, action.key, version)
            else:
                client.transition_model_version_stage(ref.name, version, action.value)
        except MlflowException as exc:
            raise RegistryError(f"{ref.uri}: could not {action.describe(ref)}: "
                                f"{str(exc).splitlines()[0][:200]}") from exc


@contextlib.contextmanager
def version_lock(client: MlflowClient, ref: ModelVersionRef, owner: str, *,
                 ttl: float = 120.0, settle: float = 0.2, wait: float = 300.0) -> Iterator[None]:
    """Hold a lease on a version's registry changes (tag ``mlflow_decay.lock``).

    MLflow has no compare-and-set, so the lease is taken by writing it and reading it back
    after ``settle`` seconds: of two processes that both found it free, only the last writer
    reads its own value back, provided each wrote within ``settle`` of its read (a few ms on
    any tracking server). A lease older than ``ttl`` (its holder died) is taken over. Waiting
    for another holder is logged (once, as a warning); an interruption (Ctrl-C) while taking
    or holding the lease releases it.
    """
    token = f"{owner}|{time.time() + ttl:.3f}"
    deadline = time.monotonic() + wait
    told = False
    try:
        while True:
            held = _lock_of(client, ref)
            if held is None or _expired(held):
                client.set_model_version_tag(ref.name, ref.version, LOCK, token)
                time.sleep(settle)
                held = _lock_of(client, ref)
                if held == token:
                    break
            if time.monotonic() > deadline:
                raise RegistryError(f"{ref.uri} is locked by another mlflow-decay process "
                                    f"({held}); retry later")
            if not told:
                logger.warning("%s is locked by another mlflow-decay process (%s): waiting for "
                               "it, up to %.0f s", ref.uri, held, wait)
                told = True
            time.sleep(settle * (1 + random.random()))
        yield
    finally:
        with contextlib.suppress(MlflowException, OSError):
            if _lock_of(client, ref) == token:
                client.delete_model_version_tag(ref.name, ref.version, LOCK)


def _lock_of(client: MlflowClient, ref: ModelVersionRef) -> str | None:
    tags: dict[str, str] = client.get_model_version(ref.name, ref.version).tags
    return tags.get(LOCK)


def _expired(token: str) -> bool:
    try:
        return float(token.rsplit("|", 1)[1]) < time.time()
    except (IndexError, ValueError):
        return True


@dataclass(frozen=True)
class AppliedWindow:
    """The last window whose verdict moved a version (tag ``LAST_WINDOW``, JSON): its bounds
    (UTC ISO 8601), key and profile, and the version's stage and streaks before it."""

    start: str | None
    end: str | None
    key: str
    profile: str = ""
    before: tuple[str | None, int, int] | None = None

    def to_tag(self) -> str:
        before = None if self.before is None else dict(
            zip(("status", "breach", "clean"), self.before, strict=True))
        return json.dumps({"start": self.start, "end": self.end, "key": self.key,
                           "profile": self.profile, "before": before}, sort_keys=True)

    @classmethod
    def from_tag(cls, text: str) -> AppliedWindow:
        """Read the tag; also the older ``<end time>|<key>`` form. :class:`ValueError` if it
        is neither (an older version stored any text given as a bound)."""
        if text.startswith("{"):
            obj = json.loads(text)
            before = obj.get("before")
            return cls(obj.get("start"), obj.get("end"), str(obj["key"]), str(obj.get("profile", "")),
                       None if before is None else (before.get("status"), int(before["breach"]),
                                                    int(before["clean"])))
        when, sep, key = text.partition("|")
        stamp = parse_time(when)
        if not sep or (when and stamp is None):
            raise ValueError(text)
        return cls(None, None if stamp is None else stamp.isoformat(), key)

    def ends(self) -> Any:
        return parse_time(self.end or self.start)


def window_span(start: str | None, end: str | None) -> tuple[Any, Any] | None:
    """A window's bounds as times when they identify it: ``None`` without bounds, or when
    start and end are one time (a chunk of rows that share a timestamp is its rows)."""
    lo, hi = parse_time(start), parse_time(end)
    if (lo, hi) == (None, None) or (lo is not None and hi is not None and lo >= hi):
        return None
    return lo, hi


def last_window(ref: ModelVersionRef) -> tuple[AppliedWindow | None, str | None]:
    """The version's last applied window, and a note when its tag cannot be read (then it is
    treated as absent: it must not block later verdicts)."""
    text = ref.tags.get(LAST_WINDOW)
    if not text:
        return None, None
    try:
        return AppliedWindow.from_tag(text), None
    except (ValueError, KeyError, TypeError, AttributeError):
        return None, (f"tag {LAST_WINDOW} = {text[:60]!r} is not a window (an older "
                      "mlflow-decay stored bounds as given): ignored")


def plan_window(ref: ModelVersionRef, status: Status, reasons: list[str], policy: Policy,
                run_id: str | None, *, start: str | None, end: str | None, key: str | None,
                others: list[ModelVersionRef] | None = None, now: datetime | None = None
                ) -> Plan:
    """What one window's verdict does to the version: :func:`plan`, once per window.

    - A window still open (it ends after ``now``) is provisional: its verdict is logged, not
      applied; the closed window is evaluated anew and counts.
    - A window is identified, per version and profile, by its bounds (or, without bounds, by
      its key: rows and all). The same key as the last applied window changes nothing; the
      same bounds with other rows *replace* that window's verdict: the hysteresis starts again
      from the stage and streaks the version had before it (kept in ``LAST_WINDOW``); another
      window ending before (or, with bounds, when) the last applied one ends changes nothing.
      Otherwise the window is one more step.
    """
    notes: list[str] = []

    def skip(why: str) -> Plan:
        kept = cast(Status, ref.status if ref.status in STATUSES else "healthy")
        return Plan(ref.status, kept, False, (), "; ".join([*notes, why]), skipped=True)

    if is_open(end, now):
        return skip(f"provisional: the window ends {end}, after now; its verdict is logged, not "
                    "applied (the closed window is evaluated again and counts once)")
    last, unreadable = last_window(ref) if key else (None, None)
    notes += [unreadable] if unreadable else []
    before: tuple[str | None, int, int] = (
        ref.status, _int_tag(ref, BREACH_STREAK), _int_tag(ref, CLEAN_STREAK))
    if last is not None:
        span = window_span(start, end)
        if key == last.key:
            return skip("this window's verdict was already applied by another run")
        if (span is not None and span == window_span(last.start, last.end)
                and last.profile == ref.profile_sha256 and last.before is not None):
            before = last.before
            notes.append("a window with these bounds was applied before: this verdict replaces "
                         "it (the stage is decided again from the one before that window)")
        elif (ends := parse_time(end or start)) is not None and last.ends() is not None and (
                ends < last.ends() or (ends == last.ends() and span is not None)):
            # ending with the last applied window, whose verdict it cannot replace (that window
            # was stored by an older mlflow-decay, or judged against another profile): no step
            return skip(f"a window ending {last.end or last.start} or later was already applied "
                        "by another run")
    final = plan(ref, status, reasons, policy, run_id, others=others,
                 base=(before[0], (before[1], before[2])))
    actions = final.actions
    if key:
        tag = Action("set_tag", LAST_WINDOW,
                     AppliedWindow(start, end, key, ref.profile_sha256, before).to_tag())
        # the status tag stays last: everything it implies is done first
        actions = (*actions[:-1], tag, actions[-1]) if final.changed else (*actions, tag)
    if final.note:
        notes.append(final.note)
    return replace(final, actions=actions, note="; ".join(notes) or None)


def simulate(ref: ModelVersionRef, actions: tuple[Action, ...]) -> ModelVersionRef:
    """The version as it would be after ``actions`` (a dry run's registry, in memory)."""
    tags, aliases, stage = dict(ref.tags), list(ref.aliases), ref.stage
    for action in actions:
        mine = action.version in (None, ref.version)
        if action.kind == "set_tag" and mine:
            tags[action.key] = action.value
        elif action.kind == "delete_alias" or (action.kind == "set_alias" and not mine):
            aliases = [a for a in aliases if a != action.key]
        elif action.kind == "set_alias":
            aliases.append(action.key)
        elif action.kind == "transition_stage" and mine:
            stage = action.value
    return replace(ref, tags=tags, aliases=tuple(dict.fromkeys(aliases)), stage=stage)


def _clip(text: str) -> str:
    return text if len(text) <= _MAX_TAG else text[: _MAX_TAG - 1] + "…"


def versions(client: MlflowClient, name: str) -> list[ModelVersionRef]:
    """Every version of a registered model, newest first; :class:`RegistryError` if unknown."""
    if not _registered(client, name):
        raise RegistryError(f"no registered model named {name!r}")
    refs = [resolve(client, f"models:/{name}/{mv.version}") for mv in _versions_of(client, name)]
    return sorted(refs, key=lambda r: -int(r.version))


def status_rows(refs: list[ModelVersionRef]) -> list[dict[str, Any]]:
    """One JSON-safe row per version for ``mlflow-decay status``."""
    return [
        {
            "version": r.version,
            "aliases": list(r.aliases),
            "status": r.status or ("profiled" if PROFILE_URI in r.tags else "no profile"),
            "since": r.tags.get(STATUS_CHANGED_AT),
            "last_evaluated_at": r.tags.get(LAST_EVALUATED_AT),
            "last_status": r.tags.get(LAST_STATUS),
            "last_run_id": r.tags.get(LAST_RUN_ID),
            "reason": r.tags.get(STATUS_REASON),
            "legacy_stage": r.stage,
        }
        for r in refs
    ]


def plan_promotion(champion: ModelVersionRef, challenger: ModelVersionRef, test: Any,
                   policy: Policy, promote: bool, window: str | None = None
                   ) -> tuple[tuple[Action, ...], str]:
    """The challenger's winning streak and, when it is long enough and ``promote`` is asked,
    the alias move; returns the actions and a one-line explanation.

    A window is won when DeLong's AUC difference (challenger minus champion) is at least the
    policy's ``min_auc_gain`` with p below ``max_p_value``. The streak is kept on the
    challenger as ``<champion version>:<count>`` and restarts when the champion changes. Each
    ``window`` (its bounds, or its rows' fingerprint) counts once: the comparison last counted
    is kept in ``PROMOTE_WINDOW`` with the streak before it, and comparing on it again (a
    retry, or more rows with the same bounds) replaces its result instead of adding one.
    """
    won = (test is not None and test.diff >= policy.promote_min_gain
           and test.p_value < policy.promote_max_p_value)
    held, _, count = challenger.tags.get(PROMOTE_STREAK, "").partition(":")
    base = int(count) if held == champion.version and count.isdigit() else 0
    last_champion, _, rest = challenger.tags.get(PROMOTE_WINDOW, "").partition("|")
    last_base, _, last_window = rest.partition("|")
    again = (window is not None and last_window == window and last_champion == champion.version
             and last_base.isdigit())
    if again:
        base = int(last_base)
    streak = base + 1 if won else 0
    need = policy.promote_windows
    alias = policy.promote_alias
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    if test is None:
        why = "no promotion: DeLong's test needs labels on the window"
    else:
        why = (f"challenger {'won' if won else 'did not win'} this window (AUC {test.diff:+.4f}, "
               f"p = {test.p_value:.3g}); streak {streak} of {need}")
    if again:
        why += " (this window was compared before: its result replaces the earlier one)"
    counted = (() if window is None else
               (Action("set_tag", PROMOTE_WINDOW, f"{champion.version}|{base}|{window}"[:_MAX_TAG],
                       version=challenger.version),))
    if promote and streak >= need and alias not in challenger.aliases:
        reason = f"{why}; promoted at {stamp}"
        return (
            Action("set_alias", alias, version=challenger.version),
            Action("set_tag", PROMOTED_FROM, f"v{champion.version}: {reason}"[:_MAX_TAG],
                   version=challenger.version),
            Action("set_tag", DEMOTED_TO, f"v{challenger.version} at {stamp}",
                   version=champion.version),
            *counted,
            Action("set_tag", PROMOTE_STREAK, f"{champion.version}:0", version=challenger.version),
        ), f"{why}: @{alias} moves to v{challenger.version}"
    return (*counted, Action("set_tag", PROMOTE_STREAK, f"{champion.version}:{streak}",
                             version=challenger.version)), why
