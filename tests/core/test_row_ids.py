"""Late labels' row ids: the one-line reasons no window received labels."""

from __future__ import annotations

import pandas as pd

from mlflow_decay.core.row_ids import why_unmatched


def test_windows_without_ids_name_the_profiles_id_column_or_that_it_has_none() -> None:
    """Trial 19c: a profile without an id column read "names an id column, here None"."""
    labelled = pd.Series(["7"])
    none = why_unmatched("models:/m/1", 3, 0, "customer", labelled, set(), stored_ids=None)
    assert "None" not in none
    assert "names an id column, which this one does not: profile the version again with " \
           "--id-column (id_column=)," in none
    named = why_unmatched("models:/m/1", 3, 0, "customer", labelled, set(), stored_ids="id")
    assert "names an id column, here 'id', and its rows carry it" in named
