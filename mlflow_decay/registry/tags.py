"""Every ``mlflow_decay.*`` name mlflow-decay writes into MLflow, model URIs, and the resolved
model version they name."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..core.rules import STATUSES
from ..errors import RegistryError
from ..stats.schema import folded

TAG = "mlflow_decay."

# -- version tags: the profile, the decay stage, its streaks, aliases moved, the lease ---------
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

# -- run tags: what each mlflow-decay run is and which window of which version it judged --------
KIND = TAG + "kind"  # evaluation, timeline, comparison, restore or profile
MODEL_NAME = TAG + "model_name"
MODEL_VERSION = TAG + "model_version"
MODEL_URI = TAG + "model_uri"
WINDOW_STATUS = TAG + "window_status"
WINDOW_START = TAG + "window_start"
WINDOW_END = TAG + "window_end"
WINDOW_KEY = TAG + "window_key"
#: On a window run cut on a time zone's clock (``monitor --timezone``): the zone (IANA name),
#: in which its bounds (stored as UTC) are shown; no tag: UTC
TIMEZONE = TAG + "timezone"
PROVISIONAL = TAG + "provisional"
ROWS = TAG + "rows"
REASONS = TAG + "reasons"
POLICY = TAG + "policy"
#: On a window run: the SHA-256 of the effective policy that judged it (:meth:`Policy.sha256`):
#: a policy file edited in place shows as a new hash (its thresholds are in the run's report)
POLICY_SHA256 = TAG + "policy_sha256"
OUTPUTS = TAG + "outputs"
LABELLED = TAG + "labelled"
#: On a window run: the file of the late labels joined onto it so far (ids and labels), so that
#: labels arriving in batches add up
LATE_LABELS = TAG + "late_labels"
REGISTRY_ACTIONS = TAG + "registry_actions"
#: The registry changes a run is about to make (JSON), stored before it makes them.
PLANNED = TAG + "planned_actions"
#: On a window run logged with ``apply=False``: its verdict was never applied, so it does not
#: make the window one logged before (a later run of its rows is logged and applied)
NOT_APPLIED = TAG + "not_applied"
#: The process that logs the run (``host:pid``).
OWNER = TAG + "owner"
COMPARE_MODELS = TAG + "compare.models"
COMPARE_LABELS = TAG + "compare.labels"
COMPARE_WINDOW = TAG + "compare.window"
#: On a window run: its step in the version's timeline run (the x of its points there).
TIMELINE_STEP = TAG + "timeline_step"
#: On a timeline run: the last step it gave out (a new window takes the next).
LAST_STEP = TAG + "last_step"
#: MLflow's own tag nesting a run under another (the window runs under their timeline).
PARENT_RUN_ID = "mlflow.parentRunId"
#: MLflow's own tag holding a run's name.
RUN_NAME = "mlflow.runName"
#: MLflow's own tag holding a run's description (Markdown, shown at the top of its page).
RUN_NOTE = "mlflow.note.content"


def compare_status(label: str) -> str:
    """The run tag holding one side's status in a comparison."""
    return f"{TAG}compare.{label}.status"


#: How the reason of a stage restored by hand begins (the restore run's and the version's).
RESTORED_BY_HAND = "restored by hand: "

# -- the marked block mlflow-decay writes into a version's description (policy: describe) ---
DESCRIPTION_BEGIN = "<!-- mlflow-decay -->"
DESCRIPTION_END = "<!-- /mlflow-decay -->"

# -- where profiles live, and model URIs ------------------------------------------------------
PROFILE_DIR = "mlflow_decay"
PROFILE_FILE = "reference_profile.json"
SAMPLE_FILE = "reference_sample.parquet"
SAMPLE_URI = TAG + "reference_sample_uri"
_URI = re.compile(r"^models:/(?P<name>[^/@]+)(?:/(?P<version>\d+)|@(?P<alias>[^/]+))$")


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
    description: str = ""

    @property
    def uri(self) -> str:
        return f"models:/{self.name}/{self.version}"

    @property
    def status(self) -> str | None:
        """The stage tag; one typed by hand in another case or with spaces (``Degraded``) is
        read as the stage it names (a later window writes it as mlflow-decay spells it)."""
        raw = self.tags.get(STATUS)
        name = None if raw is None else folded(raw)
        return name if name in STATUSES else raw

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
