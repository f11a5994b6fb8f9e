"""The MLflow model registry side: model versions, the profiles stored with them, and the
registry changes made to them (under a per-version lease).

MLflow's stages are fixed and deprecated, so a version's decay stage is the version tag
``mlflow_decay.status`` (searchable: ``tags.`mlflow_decay.status` = 'degraded'``), with
optional alias removal and, for teams on legacy stages, a transition to ``Archived``.
Every MLflow quirk (version as str or int, LoggedModel sources) is handled here.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import logging
import os
import random
import re
import shlex
import tempfile
import time
import urllib.parse
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from ..core.names import hashed_name
from ..core.profile import Profile
from ..errors import ProfileError, RegistryError, first_line
from .description import with_block
from .plan import Action
from .refusals import explain, masked, release
from .tags import (
    LOCK,
    PROFILE_DIR,
    PROFILE_SHA256,
    PROFILE_URI,
    REMOVED_ALIASES,
    TAG,
    ModelVersionRef,
    parse_model_uri,
)

logger = logging.getLogger(__name__)


def client_for(tracking_uri: str | None = None) -> MlflowClient:
    """An MLflow client for ``tracking_uri`` (``None``: MLflow's current tracking URI);
    :class:`RegistryError` if its store cannot be opened (a file that is not a database)."""
    # a new sqlite store logs its table creation at INFO: our doing, not the caller's news
    setup = logging.getLogger("mlflow.store.db.utils")
    level = setup.level
    setup.setLevel(max(level, logging.WARNING))
    try:
        if tracking_uri is None:
            return QuietClient()
        return QuietClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    except Exception as exc:
        if not is_store_error(exc):
            raise
        raise RegistryError(f"tracking store {tracking_uri or 'of MLflow'} could not be opened: "
                            f"{first_line(exc)}") from exc
    finally:
        setup.setLevel(level)


def is_store_error(exc: BaseException) -> bool:
    """Whether an error comes from a database store under MLflow (SQLAlchemy's, raw)."""
    return type(exc).__module__.startswith("sqlalchemy")


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
    return _ref(mv)


def _ref(mv: Any) -> ModelVersionRef:
    """A version as MLflow returned it (by a lookup or a search), as a :class:`ModelVersionRef`."""
    source = str(mv.source or "")
    model_id = getattr(mv, "model_id", None) or _logged_model_id(source)
    return ModelVersionRef(
        name=str(mv.name), version=str(mv.version), source=source,
        tags={str(k): str(v) for k, v in (mv.tags or {}).items()},
        aliases=tuple(getattr(mv, "aliases", None) or ()), stage=str(mv.current_stage or "None"),
        model_id=model_id, description=str(mv.description or ""),
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
        return f"no registered model named {name!r} in {store_name(client)}"
    found = _versions_of(client, name)
    versions = sorted({str(v.version) for v in found}, key=int)
    if alias is not None:
        removed = [str(v.version) for v in found
                   if alias in (v.tags or {}).get(REMOVED_ALIASES, "").split(",")]
        why = (f" (mlflow-decay removed it from version {max(removed, key=int)} when that was "
               f"degraded; see `mlflow-decay status {shlex.quote(name)}`)" if removed else "")
        return f"model {name!r} has no alias {alias!r}{why}"
    known = ", ".join(versions) if versions else "none"
    return f"model {name!r} has no version {version} (versions: {known})"


def store_name(client: MlflowClient) -> str:
    """The client's registry URI as a message may show it (a password in it masked)."""
    return masked(str(client._registry_uri or client.tracking_uri))


def _versions_of(client: MlflowClient, name: str) -> list[Any]:
    """Every version of a registered model (as MLflow's search returns them)."""
    return [mv for mv in client.search_model_versions(equals("name", name)) if mv.name == name]


def decay_versions(client: MlflowClient, names: list[str] | None = None) -> list[ModelVersionRef]:
    """The versions mlflow-decay watches (those with an ``mlflow_decay.*`` tag: a profile, a
    stage) of the named models, or of every model, with their aliases; by name, newest first.

    Read with MLflow's searches of versions and of registered models (for the aliases), a page
    of up to 10,000 versions at a time, one search per model named. Reads only.
    """
    found: list[ModelVersionRef] = []
    held: dict[tuple[str, str], list[str]] = {}
    for where in [None] if names is None else [equals("name", n) for n in names]:
        for mv in _pages(client.search_model_versions, where):
            if (names is None or mv.name in names) and any(
                    str(k).startswith(TAG) for k in (mv.tags or {})):
                found.append(_ref(mv))
        for rm in _pages(client.search_registered_models, where):
            for alias, version in (rm.aliases or {}).items():
                held.setdefault((str(rm.name), str(version)), []).append(str(alias))
    found = [dataclasses.replace(r, aliases=tuple(sorted(held.get((r.name, r.version), ()))))
             for r in found]
    return sorted(found, key=lambda r: (r.name, -int(r.version)))


def _pages(search: Any, where: str | None) -> Iterator[Any]:
    """Every result of an MLflow search, page after page."""
    token: str | None = None
    while True:
        page = search(where, page_token=token)
        yield from page
        token = page.token
        if not token:
            return


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
    URI of that folder, or ``None`` if the version's source is not a LoggedModel (or one that
    was deleted since)."""
    if ref.model_id is None:
        return None
    folder = profile_folder(ref)
    try:
        client.log_model_artifacts(ref.model_id, str(directory), artifact_path=folder)
    except MlflowException as exc:
        if exc.error_code != "RESOURCE_DOES_NOT_EXIST":
            raise
        return None
    return f"{ref.uri}/{folder}"


def record_profile(client: MlflowClient, ref: ModelVersionRef, uri: str, data: bytes) -> None:
    """Point the version's tags at a stored profile and its SHA-256."""
    client.set_model_version_tag(ref.name, ref.version, PROFILE_URI, uri)
    client.set_model_version_tag(ref.name, ref.version, PROFILE_SHA256,
                                 hashlib.sha256(data).hexdigest())


def profile_of(client: MlflowClient, ref: ModelVersionRef, *, shared: bool = False) -> Profile:
    """The verified profile of a resolved version. ``shared``: the same object as for the same
    bytes before (read-only use: its computed grids and maps are kept from call to call)."""
    uri, sha = ref.tags.get(PROFILE_URI), ref.tags.get(PROFILE_SHA256)
    if not uri or not sha:
        raise ProfileError(f"{ref.uri} has no reference profile; attach one with "
                           "`mlflow-decay profile` or md.attach_profile")
    try:
        data = read_artifact(client, ref, uri)
    except (MlflowException, OSError) as exc:
        why = explain(exc, store_name(client), "read_profile") or first_line(exc, 200)
        raise ProfileError(f"{ref.uri}: reference profile {uri} cannot be read: {why}") from exc
    if hashlib.sha256(data).hexdigest() != sha:
        raise ProfileError(f"{ref.uri}: reference profile does not match its recorded SHA-256 "
                           "(tampered or truncated); rebuild and attach it again")
    return _parsed(data) if shared else Profile.from_json(data)


@functools.lru_cache(maxsize=8)
def _parsed(data: bytes) -> Profile:
    """A profile's bytes parsed once (a process evaluating window after window reuses it)."""
    return Profile.from_json(data)


def read_artifact(client: MlflowClient, ref: ModelVersionRef, uri: str) -> bytes:
    """The bytes of an artifact stored with a version (in its LoggedModel or a profile run)."""
    source = uri
    prefix = f"{ref.uri}/"
    if uri.startswith(prefix) and ref.model_id is not None:
        # resolve the LoggedModel with this client: MLflow resolves models:/ artifact URIs
        # through the process-wide tracking URI, which may name another store
        location = _artifact_location(client, ref.model_id)
        source = f"{location.rstrip('/')}/{uri[len(prefix):]}"
    return artifact_bytes(client, source)


def _artifact_location(client: MlflowClient, model_id: str) -> str:
    """Where a LoggedModel's artifacts are, asked of the store once per process: MLflow sets
    it when the model is created and never changes it, and the lookup was a third of the
    registry's time in every evaluation (seven queries of an sqlite store, a round trip to a
    server)."""
    key = (client.tracking_uri, model_id)
    if (location := _LOCATIONS.get(key)) is None:
        location = _LOCATIONS[key] = client.get_logged_model(model_id).artifact_location
    return location


#: The LoggedModels' artifact locations already asked for, by tracking URI and model id.
_LOCATIONS: dict[tuple[str, str], str] = {}


def artifact_bytes(client: MlflowClient, artifact_uri: str) -> bytes:
    """The bytes of the artifact at ``artifact_uri`` (through ``client``'s stores, MLflow's
    progress bar off): one in a local artifact store is read where it is, others from a
    temporary copy."""
    import mlflow.artifacts

    # without a destination MLflow returns a local artifact's own path (no copy, no temporary
    # directory, no download thread); anything else it would copy somewhere to be removed
    local = urllib.parse.urlparse(artifact_uri).scheme in ("", "file")
    with (contextlib.nullcontext(None) if local else tempfile.TemporaryDirectory()) as tmp, \
            quiet_downloads():
        path = mlflow.artifacts.download_artifacts(
            artifact_uri=artifact_uri, dst_path=tmp, tracking_uri=client.tracking_uri,
            registry_uri=client._registry_uri)
        return Path(path).read_bytes()


@contextlib.contextmanager
def switched(switch: str, value: str) -> Iterator[None]:
    """One of MLflow's environment switches set to ``value`` for a while, unless the user set
    it themselves (their choice stands)."""
    if switch in os.environ:
        yield
        return
    os.environ[switch] = value
    try:
        yield
    finally:
        os.environ.pop(switch, None)


def quiet_downloads() -> contextlib.AbstractContextManager[None]:
    """MLflow's artifact progress bar off for our own downloads (a few KB each: the bar would
    only print into the caller's output)."""
    return switched("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")


class QuietClient(MlflowClient):
    """MLflow's client, printing nothing into the caller's output: no run links on stdout when
    a run ends on a tracking server, no progress bar for a download (each unless the user set
    MLflow's switch). A registered model's name is checked for being a prompt once per client,
    not before every call on it: MLflow's check reads the whole registered model each time (a
    fifth of the time a window's registry changes took on a local store)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._not_prompts: set[str] = set()

    def _raise_if_prompt(self, name: str) -> None:
        if name not in self._not_prompts:
            super()._raise_if_prompt(name)
            self._not_prompts.add(name)

    def set_terminated(self, *args: Any, **kwargs: Any) -> None:
        with switched("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true"):
            super().set_terminated(*args, **kwargs)

    def download_artifacts(self, *args: Any, **kwargs: Any) -> str:
        with quiet_downloads():
            return str(super().download_artifacts(*args, **kwargs))


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
            elif action.kind == "set_description":
                _describe(client, ref.name, version, action.value)
            else:
                client.transition_model_version_stage(ref.name, version, action.value)
        except MlflowException as exc:
            raise _refused(client, ref, action, exc) from exc


def _refused(client: MlflowClient, ref: ModelVersionRef, action: Action, exc: MlflowException
             ) -> RegistryError:
    """A registry change the store failed or refused, said in one line (who, what it needs)."""
    why = explain(exc, store_name(client), action.kind) or first_line(exc, 200)
    return RegistryError(f"{ref.uri}: could not {action.describe(ref)}: {why}")


def _describe(client: MlflowClient, name: str, version: str, line: str) -> None:
    """Write ``line`` into the version's description's marked block (its text read now: a
    person's edit since the plan is kept); nothing when it already reads so."""
    now = client.get_model_version(name, version).description or ""
    text = with_block(now, line)
    if text != now:
        client.update_model_version(name, version, description=text)


SETTLE_ENV = "MLFLOW_DECAY_LOCK_SETTLE"


@contextlib.contextmanager
def version_lock(client: MlflowClient, ref: ModelVersionRef, owner: str, *,
                 ttl: float = 120.0, settle: float | None = None, wait: float = 300.0
                 ) -> Iterator[ModelVersionRef]:
    """Hold a lease on a version's registry changes (tag ``mlflow_decay.lock``); yields the
    version as read when the lease was taken (its tags as they are now: no other process
    changes them while it is held).

    MLflow has no compare-and-set, so the lease is taken by writing it and reading it back
    after ``settle`` seconds (default: ``MLFLOW_DECAY_LOCK_SETTLE``, else 0.2): of two
    processes that both found it free, only the last writer reads its own value back, provided
    each wrote within ``settle`` of its read (a few ms on any tracking server). A lease older
    than ``ttl`` (its holder died) is taken over. Waiting for another holder is logged (once,
    as a warning); an interruption (Ctrl-C) while taking or holding the lease releases it.
    """
    settle = lock_settle() if settle is None else settle
    token = f"{owner}|{time.time() + ttl:.3f}"
    deadline = time.monotonic() + wait
    told = False
    try:
        while True:
            held = (now := _reread(client, ref)).tags.get(LOCK)
            if held is None or _expired(held):
                rival = _write_lease(client, ref, token)
                if rival is None:
                    time.sleep(settle)
                    held = (now := _reread(client, ref)).tags.get(LOCK)
                    if held == token:
                        break
                else:
                    held = rival
            if time.monotonic() > deadline:
                raise RegistryError(f"{ref.uri} is locked by another mlflow-decay process "
                                    f"({_lease_text(held)}); retry later")
            if not told:
                logger.warning("%s is locked by another mlflow-decay process (%s): waiting for "
                               "it, up to %.0f s", ref.uri, _lease_text(held),
                               max(0.0, min(deadline, _lease_left(held)) - time.monotonic()))
                told = True
            time.sleep(settle * (1 + random.random()))
        yield now
    finally:
        with contextlib.suppress(MlflowException, OSError):
            if _lock_of(client, ref) == token:
                release(client, ref.name, ref.version, LOCK, token)


def lock_settle() -> float:
    """Seconds between writing the lease and reading it back: ``MLFLOW_DECAY_LOCK_SETTLE``
    (raise it for a tracking server far away; a single process on a local store can lower
    it), else 0.2."""
    text = os.environ.get(SETTLE_ENV, "0.2")
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 60:
        raise RegistryError(f"{SETTLE_ENV} must be a number of seconds from 0 to 60, got {text!r}")
    return value


def _write_lease(client: MlflowClient, ref: ModelVersionRef, token: str) -> str | None:
    """Write the lease; ``None`` when written, else the rival's lease: a rival wrote it at
    the same moment and the store refused ours as a duplicate (wait for it like any holder)."""
    try:
        client.set_model_version_tag(ref.name, ref.version, LOCK, token)
    except MlflowException as exc:
        held = _lock_of(client, ref)
        if held is None or held == token or _expired(held):  # the store's own failure
            raise _refused(client, ref, Action("set_tag", LOCK, token), exc) from exc
        return held
    return None


def _reread(client: MlflowClient, ref: ModelVersionRef) -> ModelVersionRef:
    return _ref(client.get_model_version(ref.name, ref.version))


def _lock_of(client: MlflowClient, ref: ModelVersionRef) -> str | None:
    return _reread(client, ref).tags.get(LOCK)


def _lease_left(token: str | None) -> float:
    """When a lease ends, on the ``time.monotonic()`` clock (now when it cannot be read)."""
    try:
        return time.monotonic() + float(str(token).rsplit("|", 1)[1]) - time.time()
    except (IndexError, ValueError):
        return time.monotonic()


def _lease_text(token: str | None) -> str:
    """A lease as a person reads it: its holder and when it ends (UTC)."""
    owner, _, until = str(token).rpartition("|")
    try:
        end = datetime.fromtimestamp(float(until), UTC).strftime("%H:%M:%S UTC")
    except ValueError:
        return str(token)
    return f"{owner}, whose lease ends at {end} if it does not finish first"


def _expired(token: str) -> bool:
    try:
        return float(token.rsplit("|", 1)[1]) < time.time()
    except (IndexError, ValueError):
        return True


def versions(client: MlflowClient, name: str) -> list[ModelVersionRef]:
    """Every version of a registered model, newest first; :class:`RegistryError` if unknown."""
    if not _registered(client, name):
        raise RegistryError(f"no registered model named {name!r} in {store_name(client)}")
    refs = [resolve(client, f"models:/{name}/{mv.version}") for mv in _versions_of(client, name)]
    return sorted(refs, key=lambda r: -int(r.version))

