"""mlflow-decay: catch silent model decay where models live, in the MLflow model registry.

>>> import mlflow_decay as md
>>> profile = md.build_profile(train, target="y", prediction="score")   # doctest: +SKIP
>>> md.attach_profile("models:/churn/3", profile)                      # doctest: +SKIP
>>> report = md.evaluate("models:/churn@champion", window)             # doctest: +SKIP
>>> report.status, report.reasons                                      # doctest: +SKIP
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .errors import (
    DataError,
    DecayError,
    DecayWarning,
    PolicyError,
    ProfileError,
    RegistryError,
)

if TYPE_CHECKING:
    from .api import attach_profile, history, load_profile, restore, status
    from .comparison import compare
    from .core.policy import Policy
    from .core.policy_file import load_policy
    from .core.profile import Profile
    from .core.report import DecayReport
    from .core.summarize import merge_profiles
    from .engines.dispatch import build_profile
    from .labels import attach_labels
    from .monitoring import evaluate, monitor

__version__ = "0.1.0"

# Everything but the errors loads on first use, so `import mlflow_decay` and the CLI's
# --help stay fast (pandas, scikit-learn and mlflow are heavy imports).
_LAZY = {
    "attach_profile": "api", "load_profile": "api", "history": "api", "restore": "api",
    "status": "api",
    "evaluate": "monitoring", "monitor": "monitoring", "compare": "comparison",
    "attach_labels": "labels",
    "Policy": "core.policy", "load_policy": "core.policy_file",
    "Profile": "core.profile", "build_profile": "engines.dispatch",
    "merge_profiles": "core.summarize",
    "DecayReport": "core.report",
}

__all__ = [
    "DataError", "DecayError", "DecayReport", "DecayWarning", "Policy", "PolicyError", "Profile",
    "ProfileError", "RegistryError", "attach_labels", "attach_profile", "build_profile",
    "compare", "evaluate", "history", "load_policy", "load_profile", "merge_profiles", "monitor",
    "restore", "status",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module 'mlflow_decay' has no attribute {name!r}")
