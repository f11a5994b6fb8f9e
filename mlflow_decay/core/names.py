"""Metric keys: the name under which a column's metrics are logged (its own name when MLflow
takes it, else a safe name with a short hash), the same for a column whatever else the table holds."""

from __future__ import annotations

import hashlib
import posixpath
import re
from collections import Counter
from collections.abc import Collection, Iterable

from ..errors import DataError

#: Metric segments of the model outputs and window-wide drift: no feature's metric key is one.
RESERVED_KEYS = frozenset({"prediction", "target", "multivariate"})

#: Longest metric key of a column, so that ``decay.quality.<key>.out_of_range_share`` (the
#: evaluator plugin's longest name) stays within MLflow's 250 characters.
MAX_KEY = 200

_NOT_IN_KEY = r"[^0-9A-Za-z_\-. /]"


def metric_key(name: str) -> str:
    """A column name made safe for an MLflow metric key (letters, digits, ``_-. /``)."""
    return re.sub(_NOT_IN_KEY, "_", name)


def hashed_name(name: str, not_allowed: str, limit: int) -> str:
    """``name`` with the characters matching ``not_allowed`` replaced by ``_``, cut to fit
    ``limit`` and suffixed with ``-`` and 8 hex digits of the raw name's SHA-256: distinct
    names stay distinct, and a name always gets the same one."""
    digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return f"{re.sub(not_allowed, '_', name)[:limit - 9]}-{digest}"


def metric_keys(names: Iterable[str], reserved: Collection[str] = ()) -> dict[str, str]:
    """The key each column's metrics are logged under (``drift.<key>.psi``).

    A column's key is its name made safe for MLflow (:func:`metric_key`), as long as that is at
    most ``MAX_KEY`` characters, a plain path (MLflow refuses ``a//b``, ``a/../b``), not in
    ``reserved``, and no other column's. Otherwise (``x+`` and ``x*`` both give ``x_``; a
    feature named ``prediction``) it is the name made safe and suffixed with a short hash of
    the raw name: ``x_-3f2a9c1d``. A column whose name needs no change keeps it always.
    """
    names = list(dict.fromkeys(names))
    safe = {n: metric_key(n) for n in names}
    counts = Counter(safe.values())
    taken = {n for n in names if safe[n] == n} | set(reserved)
    keys = {}
    for name in names:
        key = safe[name]
        if (key in reserved or len(key) > MAX_KEY or not _plain_path(key)
                or (key != name and (counts[key] > 1 or key in taken))):
            key = hashed_name(name, r"[^0-9A-Za-z_\-. ]", MAX_KEY)
        keys[name] = key
    seen: dict[str, str] = {}
    for name, key in keys.items():
        if key in seen:  # a hashed key equal to another column's own name
            raise DataError(f"columns {seen[key]!r} and {name!r} would log their metrics under "
                            f"one name ({key!r}); rename one of them")
        seen[key] = name
    return keys


def _plain_path(key: str) -> bool:
    """Whether MLflow takes ``<section>.<key>.<metric>`` and ``<section>.<key>`` as they are
    (it refuses names that are not plain paths)."""
    return all(posixpath.normpath(name) == name for name in (f"m.{key}.m", f"m.{key}"))
