"""Which engine reads a source: a DataFrame in memory, a CSV or Parquet path, a Spark DataFrame."""

from __future__ import annotations

import inspect
from typing import Any

import pandas as pd

from ..core import summarize
from ..core.columns import check_options
from ..core.profile import Profile


def build_profile(reference: Any, **options: Any) -> Profile:
    if isinstance(reference, pd.DataFrame):
        return summarize.build_profile(reference, **options)
    defaults = inspect.signature(summarize.build_profile).parameters
    check_options(*(options.get(k, defaults[k].default) for k in (
        "task", "min_category_count", "threshold", "prediction_kind", "classes")))
    from ..streaming import build_profile_from  # the Parquet and Spark engines

    return build_profile_from(reference, **options)


# md.build_profile: the core's options and documentation, for any source
build_profile.__doc__ = summarize.build_profile.__doc__
build_profile.__signature__ = inspect.signature(summarize.build_profile)  # type: ignore[attr-defined]
