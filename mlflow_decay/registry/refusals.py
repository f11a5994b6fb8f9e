"""The tracking server's refusals (``mlflow server --app-name basic-auth``, an auth gateway):
which permission a refused request needs, said in one line that names the user."""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Callable
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit

from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from ..errors import RegistryError, first_line

F = TypeVar("F", bound=Callable[..., Any])

#: What each registry change (and reading a profile) needs under MLflow's basic auth.
NEEDS = {**dict.fromkeys(("set_tag", "set_alias", "set_description", "transition_stage"),
                         "EDIT on the registered model"),
         "delete_alias": "MANAGE on the registered model",
         "read_profile": "READ on the experiment of the version's logged model, which holds "
                         "the profile",
         "read_experiment": "READ on this experiment",
         "create_run": "EDIT on this experiment, to log a run in it",
         "read_run": "READ on the experiment of the version's window runs"}

# (a part of the endpoint, the HTTP method or "" for any) -> what was refused, what it needs
_ENDPOINTS: tuple[tuple[str, str, str], ...] = (
    ("/registered-models/alias", "DELETE", "MANAGE on the registered model (removing an alias)"),
    ("/registered-models/alias", "POST", "EDIT on the registered model (setting an alias)"),
    ("/model-versions/delete-tag", "", "MANAGE on the registered model (deleting a version tag)"),
    ("/model-versions/set-tag", "", "EDIT on the registered model (setting a version tag)"),
    ("/model-versions/update", "", "EDIT on the registered model (its description)"),
    ("/model-versions/transition-stage", "", "EDIT on the registered model"),
    ("/registered-models/", "", "READ on the registered model"),
    ("/model-versions/", "", "READ on the registered model"),
    ("/experiments/create", "", "the right to create experiments"),
    ("/experiments/", "", "READ on the experiment"),
    ("/runs/delete", "", "MANAGE on the experiment"),
    ("/runs/create", "", "EDIT on the experiment"),
    ("/runs/search", "", "READ on the experiment"),
    ("/runs/get", "", "READ on the experiment"),
    ("/runs/", "", "EDIT on the experiment (logging a run)"),
    ("/logged-models/", "", "READ (to read) or EDIT (to write) on the experiment of the "
                            "version's logged model"),
    ("/mlflow-artifacts/", "GET", "READ on the experiment holding the file"),
    ("/mlflow-artifacts/", "", "EDIT on the experiment holding the file"),
)


def status_of(exc: BaseException) -> int | None:
    """401 or 403 when ``exc`` is the server refusing a request (an MLflow REST error or a
    file transfer's HTTP error), else ``None``."""
    response = getattr(exc, "response", None)
    code = getattr(response, "status_code", None)
    if code in (401, 403):
        return int(code)
    if isinstance(exc, MlflowException):
        if exc.error_code == "UNAUTHENTICATED":
            return 401
        if exc.error_code == "PERMISSION_DENIED":
            return 403
        found = re.search(r"error code (401|403) != ", str(exc))
        return int(found.group(1)) if found else None
    return None


def masked(uri: str) -> str:
    """A URI as a message may show it: a password in it masked."""
    return re.sub(r"(://[^/@:]*):[^/@]*@", r"\1:***@", uri)


def user_of(uri: str) -> str | None:
    """The user a client authenticates as: ``MLFLOW_TRACKING_USERNAME``, else the URI's user
    (never its password)."""
    return os.environ.get("MLFLOW_TRACKING_USERNAME") or urlsplit(uri).username or None


def explain(exc: BaseException, uri: str, kind: str | None = None) -> str | None:
    """One line for a refused request: who was refused on which server, what it needs (when
    the endpoint says), then the server's own words; ``None`` when ``exc`` is no refusal.
    ``kind``: the registry change refused (an :class:`~mlflow_decay.registry.plan.Action`
    kind), or ``"read_profile"``."""
    status = status_of(exc)
    if status is None:
        return None
    store = masked(uri)
    user = user_of(uri)
    said = first_line(exc, 300)
    if status == 401:
        who = (f"user {user!r} was not authenticated: check MLFLOW_TRACKING_USERNAME and "
               "MLFLOW_TRACKING_PASSWORD" if user else
               "no credentials were given: set MLFLOW_TRACKING_USERNAME and "
               "MLFLOW_TRACKING_PASSWORD")
        return f"{store} refused the request: {who}: {said}"
    found = NEEDS[kind] if kind in NEEDS else _needed(exc)
    who = f"user {user!r}" if user else "this client (no MLFLOW_TRACKING_USERNAME)"
    needs = f" (it needs {found})" if found else ""
    return f"permission denied on {store} for {who}{needs}: {said}"


def _needed(exc: BaseException) -> str | None:
    text = str(exc)
    request = getattr(getattr(exc, "response", None), "request", None)
    method = str(getattr(request, "method", "") or "").upper()
    for part, verb, needs in _ENDPOINTS:
        if part in text and (not verb or verb == method or (
                verb == "GET" and not method)):  # a REST error names no method: a read
            return needs
    return None  # a gateway's refusal names no endpoint


def release(client: MlflowClient, name: str, version: str, key: str, token: str) -> None:
    """Release a lease tag: delete it, or, where deleting a version tag is refused (it needs
    MANAGE, where writing one needs EDIT), overwrite it with the lease ended (the holder's
    name, ending at 0), which the next process takes at once."""
    try:
        client.delete_model_version_tag(name, version, key)
    except MlflowException as exc:
        if status_of(exc) != 403:
            raise
        client.set_model_version_tag(name, version, key, f"{token.rsplit('|', 1)[0]}|0")


def refusal(exc: BaseException, client: MlflowClient, kind: str, what: str
            ) -> RegistryError | None:
    """``exc`` as :class:`RegistryError` when the server refused it: ``what`` was refused, to
    whom, and what it needs (:func:`explain`; ``kind`` as in ``NEEDS``); ``None`` for any
    other error."""
    why = explain(exc, str(client.tracking_uri), kind)
    return None if why is None else RegistryError(f"{what}: {why}")


def refused_after(exc: BaseException, done: str) -> RegistryError | None:
    """A registry change the server refused (``exc``, raised by
    :func:`~mlflow_decay.registry.model_versions.apply`), restated with what was done before
    it (``done``); ``None`` for any other error."""
    if not isinstance(exc, RegistryError) or exc.__cause__ is None or status_of(
            exc.__cause__) is None:
        return None
    return RegistryError(f"{exc}; {done}")


def explained(func: F) -> F:
    """A public call (``md.<name>``, given ``tracking_uri=`` or MLflow's current one) whose
    refusals by the tracking server raise :class:`RegistryError` in the line the CLI prints
    for them (:func:`explain`: who was refused, what it needs), not MLflow's own exception."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except Exception as exc:
            import mlflow

            why = explain(exc, kwargs.get("tracking_uri") or mlflow.get_tracking_uri())
            if why is None:
                raise
            raise RegistryError(why) from exc

    return cast(F, wrapper)
