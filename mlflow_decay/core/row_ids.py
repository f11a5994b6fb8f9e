"""Row ids of late labels: read one label per id, and what to say when they match none or
only some of the ids a version's windows stored (an id written otherwise on one side)."""

from __future__ import annotations

import warnings

import pandas as pd

from ..errors import DataError, DecayWarning
from ..stats.schema import category_array, folded, written_otherwise
from .frames import require_exact_ids


def warn_unused(uri: str, labelled: pd.Series, seen: set[str], id_column: str,
                earlier: int = 0) -> None:
    """Warn of ``labelled`` ids that match no row id the windows stored (``seen``) when others
    joined: a partial match would otherwise be silent. An unused id that is a stored one
    written otherwise (as :func:`loose` reads ids) is named with it, and the ``earlier``
    windows left out (judged against an earlier profile), where the others may be."""
    unused = labelled[~labelled.isin(seen)]
    if len(unused):
        near = written_otherwise(unused, seen, loose)
        written = (f"; labelled id {near[0]!r} is stored as {near[1]!r}: ids match as written"
                   if near is not None else "")
        warnings.warn(f"{len(unused):,} of {len(labelled):,} labelled ids (column {id_column!r}) "
                      f"match no row id stored by the windows of {uri} (for example "
                      f"{', '.join(map(repr, unused[:3]))}): their labels are not used{written}"
                      + _left_out(earlier), DecayWarning, stacklevel=3)


def known_labels(labels: pd.DataFrame, id_column: str, label_column: str) -> pd.DataFrame:
    """The labelled rows, one per id (ids as normalised text in ``__id__``); an id given two
    different labels is refused, naming it."""
    require_exact_ids(labels[id_column], id_column, "labels")
    known = labels[[id_column, label_column]].dropna()
    known = known.assign(__id__=category_array(known[id_column]),
                         __label__=category_array(known[label_column]))
    distinct = known.drop_duplicates(["__id__", "__label__"])
    clash = distinct["__id__"].duplicated(keep=False)
    if clash.any():
        example = distinct.loc[clash, "__id__"].iloc[0]
        found = ", ".join(repr(v) for v in distinct.loc[distinct["__id__"] == example,
                                                        "__label__"][:3])
        raise DataError(f"column {id_column!r}: id {example!r} has different labels ({found}) "
                        f"in column {label_column!r}; {int(clash.sum())} rows have conflicting "
                        "labels: keep one label per id")
    return distinct.drop(columns=[id_column, "__label__"])


def _left_out(earlier: int) -> str:
    """What is said of the ``earlier`` windows left out, judged against an earlier profile."""
    return (f" ({earlier} window(s) judged against an earlier profile, no longer stored, were "
            "left out: evaluate their rows again to judge them against this one)"
            if earlier else "")


def loose(key: str) -> str:
    """An id without what often differs between two systems' copies of it: spaces at its ends,
    letter case, the leading zeros of a number, and a zero fraction (``'42.0'``: an integer id
    written by a float column, then read as text)."""
    text = folded(key)
    whole, dot, fraction = text.partition(".")
    if dot and whole.isdigit() and fraction and not fraction.strip("0"):
        text = whole
    return (text.lstrip("0") or "0") if text.isdigit() else text


def why_unmatched(uri: str, windows: int, stored: int, id_column: str, labelled: pd.Series,
                  seen: set[str], earlier: int = 0, stored_ids: str | None = None) -> str:
    """Why no window received labels, in one line: with examples of the ``labelled`` ids and
    of those the windows ``seen`` stored, as compared, and a labelled id that is a stored one
    written otherwise (as :func:`loose` reads ids) with it (``earlier``: windows left out,
    judged against an earlier profile; ``stored_ids``: the profile's id column)."""
    left_out = _left_out(earlier)
    if not windows:
        return (f"{uri} has no logged windows to attach labels to"
                + (" against its current profile" if earlier else "") + left_out)
    if not stored:
        named = (f"here {stored_ids!r}" if stored_ids else "which this one does not: profile "
                 "the version again with --id-column (id_column=)")
        return (f"none of the {windows} logged window(s) of {uri} stored row ids (a window "
                f"stores them when the profile names an id column, {named}, and "
                "its rows carry it; a window evaluated from a Spark DataFrame stores none)"
                + left_out)
    near = written_otherwise(labelled, seen, loose)
    written = (f"; labelled id {near[0]!r} is stored as {near[1]!r}: ids match as written, "
               "except that the numbers 7 and 7.0 and the text '7' are one id" if near is not None
               else "")
    # side by side, a format that differs shows (leading zeros a CSV reader dropped, ...)
    return (f"none of the {len(labelled):,} labelled ids (column {id_column!r}) matches a row id "
            f"stored by the {stored} window(s) of {uri} that stored ids (labelled: "
            f"{', '.join(map(repr, labelled[:3]))}; stored: "
            f"{', '.join(map(repr, sorted(seen)[:3]))})"
            f"{written}" + left_out)
