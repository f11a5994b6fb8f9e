"""The MLflow experiments mlflow-decay logs into: their names, and finding or creating them."""

from __future__ import annotations

import functools
from typing import Any

from mlflow import MlflowClient
from mlflow.entities import Experiment, Run
from mlflow.exceptions import MlflowException

from ..errors import DataError, RegistryError
from .refusals import refusal


def experiment_name_for(model_name: str) -> str:
    """The default experiment of a model's evaluations: ``mlflow-decay/<model name>``."""
    return f"mlflow-decay/{model_name}"


def comparison_experiment_name_for(model_name: str) -> str:
    """The default experiment of a model's comparisons: ``mlflow-decay/<model name>/compare``
    (apart from the window runs, whose charts their ``compare.*`` metrics would crowd)."""
    return f"{experiment_name_for(model_name)}/compare"


def check_experiment(name: str | None) -> None:
    """Refuse an empty experiment name (``None`` means the default one)."""
    if name is not None and not isinstance(name, str):
        raise DataError(f"experiment must be an experiment's name (a string), got "
                        f"{type(name).__name__} {name!r}")
    if name is not None and not name.strip():
        raise DataError("experiment name is empty: give a name, or leave it out for "
                        "mlflow-decay/<model name>")


def experiment_id(client: MlflowClient, model_name: str, name: str | None = None) -> str:
    """The id of the evaluations' experiment, created when missing; one deleted (in the UI,
    say) is refused, naming it: its runs are where the version's windows are kept."""
    name = name or experiment_name_for(model_name)
    found = check_not_deleted(client, model_name, name)
    if found is not None:
        return str(found.experiment_id)
    try:
        return str(client.create_experiment(name))
    except MlflowException:  # created meanwhile by another process
        again = client.get_experiment_by_name(name)
        if again is None:
            raise
        return str(again.experiment_id)


def create_run(client: MlflowClient, model_name: str, name: str | None = None,
               **kwargs: Any) -> Run:
    """A new run (``kwargs`` as for ``MlflowClient.create_run``) in the experiment ``name``
    (default: the model's evaluations'), created when missing; refused by the server,
    :class:`RegistryError` naming the experiment."""
    name = name or experiment_name_for(model_name)
    exp_id = experiment_id(client, model_name, name)
    try:
        return client.create_run(exp_id, **kwargs)
    except MlflowException as exc:
        if (refused := refusal(exc, client, "create_run", f"experiment {name!r}")) is None:
            raise
        raise refused from exc


def check_not_deleted(client: MlflowClient, model_name: str, name: str | None = None
                      ) -> Experiment | None:
    """The evaluations' experiment (``None`` when there is none yet), refused when it was
    deleted (in the UI, say): its runs, the version's windows, went with it, or when the
    server refuses to show it (:class:`RegistryError` naming it)."""
    name = name or experiment_name_for(model_name)
    found = _readable(client, name)
    if found is not None and found.lifecycle_stage == "deleted":
        raise RegistryError(f"experiment {name!r} (id {found.experiment_id}) is deleted: restore "
                            f"it (mlflow experiments restore --experiment-id "
                            f"{found.experiment_id}), or use another with --experiment NAME")
    return found


def experiment_ids(client: MlflowClient, model_name: str, kinds: tuple[str, ...],
                    experiment: str | None) -> list[str]:
    """The experiments holding a model's runs of ``kinds`` (those that exist)."""
    names = [experiment or experiment_name_for(model_name)]
    if experiment is None and "comparison" in kinds:
        names.append(comparison_experiment_name_for(model_name))
    return [e.experiment_id for e in map(functools.partial(_readable, client), names)
            if e is not None]


def _readable(client: MlflowClient, name: str) -> Experiment | None:
    """An experiment by name; refused by the server, :class:`RegistryError` naming it."""
    try:
        return client.get_experiment_by_name(name)
    except MlflowException as exc:
        if (refused := refusal(exc, client, "read_experiment", f"experiment {name!r}")) is None:
            raise
        raise refused from exc
