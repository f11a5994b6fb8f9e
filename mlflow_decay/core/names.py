"""Metric keys: the name under which a column's metrics are logged (its own name when MLflow
takes it, else a safe name with a short hash), the same for a column whatever else the table holds."""

from __future__ import annotations

import fnmatch
import functools
import hashlib
import posixpath
import re
import string
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


# -- the metric names an evaluation logs, and globs of them ------------------------------------
FEATURE_METRICS = {"numerical": ("wasserstein", "ks", "psi", "js"),
                   "categorical": ("js", "psi", "unseen_share")}
QUALITY_METRICS = ("missing_rate", "nonfinite_rate", "out_of_range_share")
#: The quality shares whose rise above the reference's own share is logged too (``.delta``).
QUALITY_DELTAS = ("missing_rate.delta", "nonfinite_rate.delta")
IMPACT_METRICS = ("impact.predictions_since_breach", "impact.detection_delay_windows")
#: Error metrics whose change from the reference is also logged as a ratio (``perf.rmse.ratio``:
#: the window's RMSE over the reference's), so that a threshold can be relative.
RATIO_METRICS = ("rmse", "mae")
#: The names derived from a metric's (its change from the reference, its 95% band).
DERIVED = (".delta", ".ratio", ".lower", ".upper")
#: Family-wise false-alarm rate of the "could this be noise?" guard on drift: on drifted
#: features (Bonferroni over them) and on the model output's drift rules.
DRIFT_ALPHA = 0.05
#: The two-sample test's p-value of the model output's distribution against the reference's
#: (KS; chi-square for predicted classes): a drift.prediction.* rule breaches only below
#: ``DRIFT_ALPHA``, so a small window's sampling noise is not drift.
PREDICTION_P_VALUE = "drift.prediction.p_value"
#: How far a performance metric (``perf.*``, ``est.*``) must lie from its reference band's mean,
#: in the window's sampling deviations (the band's, scaled to the window's rows), for a constant
#: threshold to judge it: a small window's chance drop is not decay (3, NannyML's default
#: for its realized-performance thresholds; the band's deviation, from 10 chunks, may be low).
PERFORMANCE_NOISE_Z = 3.0
#: MLflow's longest metric name: a longer pattern matches nothing.
MAX_PATTERN = 250
#: Performance metrics that are better when higher, and those better when lower (errors): their
#: levels, changes from the reference and estimates' bounds have one sense each.
HIGHER_IS_BETTER = ("roc_auc", "pr_auc", "accuracy", "precision", "recall", "f1", "roc_auc_ovr",
                    "f1_macro", "r2")
LOWER_IS_BETTER = ("log_loss", "brier", "rmse", "mae")


def higher_is_worse(pattern: str) -> bool:
    """Whether the metrics ``pattern`` names can only be worse when higher: drift effect sizes
    and shares, shares of bad rows, error ratios."""
    stats = {s for names in FEATURE_METRICS.values() for s in names}
    last = pattern.rsplit(".", 1)[-1]
    return (pattern in ("drift.share", "drift.features_drifted")
            or (pattern.startswith("drift.") and last in stats)
            or _quality_share(pattern)
            or (pattern.startswith(("perf.", "est.")) and pattern.endswith(".ratio"))
            or _performance_name(pattern) in LOWER_IS_BETTER)


def lower_is_worse(pattern: str) -> bool:
    """Whether the metrics ``pattern`` names can only be worse when lower: a performance
    metric that is better when higher (``perf.roc_auc``, ``est.accuracy.delta``, ...)."""
    return _performance_name(pattern) in HIGHER_IS_BETTER


def share_range(pattern: str) -> tuple[float, float] | None:
    """The values the metrics ``pattern`` names can take when they are shares or probability
    scores: ``(0, 1)``, and ``(-1, 1)`` for their changes from the reference; else ``None``."""
    stats = {"ks", "js", "unseen_share"}
    last = pattern.rsplit(".", 1)[-1]
    name = _performance_name(pattern)
    share = (pattern in ("drift.share", "labels.coverage")
             or (pattern.startswith("drift.") and last in stats and "*" not in last)
             or _quality_share(pattern)
             or (name is not None and name != "r2" and name in (*HIGHER_IS_BETTER, "brier")))
    if not share:
        return None
    return (-1.0, 1.0) if pattern.endswith(".delta") else (0.0, 1.0)


def _quality_share(pattern: str) -> bool:
    """Whether ``pattern`` names a data-quality share (missing, non-finite, out of range) or
    its change from the reference."""
    return pattern.startswith("quality.") and (pattern.rsplit(".", 1)[-1] in QUALITY_METRICS
                                               or pattern.endswith(QUALITY_DELTAS))


def _performance_name(pattern: str) -> str | None:
    """The performance metric a ``perf.*``/``est.*`` name is the level, change or bound of
    (``perf.roc_auc.delta``: ``roc_auc``), else ``None`` (a ratio, a glob, another section)."""
    section, _, rest = pattern.partition(".")
    name, _, derived = rest.partition(".")
    if section in ("perf", "est") and derived in ("", "delta", "lower", "upper"):
        return name
    return None


def never_negative(pattern: str) -> bool:
    """Whether the metrics ``pattern`` names are never below 0: drift effect sizes, shares and
    the PCA error, data quality shares (not their changes from the reference)."""
    return pattern.startswith("drift.") or (pattern.startswith("quality.")
                                            and not pattern.endswith(DERIVED))


def metric_patterns() -> tuple[str, ...]:
    """Glob patterns of every metric name an evaluation can log (``*`` stands for a column).

    Imports the performance and estimation modules (scikit-learn, scipy) for their metric names.
    """
    from ..stats.estimate import BINARY, MULTICLASS
    from ..stats.loss import REGRESSION
    from ..stats.performance import METRICS

    stats = sorted({s for names in FEATURE_METRICS.values() for s in names})
    perf = sorted({m for names in METRICS.values() for m in names})
    est = sorted({*BINARY, *MULTICLASS, *REGRESSION})
    return ("drift.share", "drift.features_drifted", "drift.multivariate.reconstruction_error",
            *(f"drift.*.{s}" for s in stats), "quality.rows",
            *(f"quality.*.{q}" for q in (*QUALITY_METRICS, *QUALITY_DELTAS)),
            *(f"perf.{m}{end}" for m in perf for end in ("", ".delta")),
            *(f"est.{m}{end}" for m in est for end in ("", ".lower", ".upper", ".delta")),
            *(f"{side}.{m}.ratio" for side in ("perf", "est") for m in RATIO_METRICS),
            "business.*", *IMPACT_METRICS, "labels.coverage")


def globs_meet(a: str, b: str) -> bool:
    """Whether some string matches both glob patterns (``fnmatch``'s ``*``, ``?``, ``[...]``)."""
    x, y = _glob_tokens(a), _glob_tokens(b)

    @functools.cache
    def meet(i: int, j: int) -> bool:
        if i == len(x) or j == len(y):
            return all(t == "*" for t in (*x[i:], *y[j:]))
        if x[i] == "*":
            return meet(i + 1, j) or meet(i, j + 1)
        if y[j] == "*":
            return meet(i, j + 1) or meet(i + 1, j)
        return _tokens_meet(x[i], y[j]) and meet(i + 1, j + 1)

    return meet(0, 0)


def _glob_tokens(pattern: str) -> tuple[str, ...]:
    """A glob as tokens: ``*``, ``?``, a ``[...]`` class, or one literal character."""
    tokens: list[str] = []
    i = 0
    while i < len(pattern):
        end = i + 1
        if pattern[i] == "[":  # as fnmatch: a leading ! or ] belongs to the class
            end = i + 1 + (pattern[i + 1:i + 2] == "!")
            end += pattern[end:end + 1] == "]"
            end = pattern.find("]", end) + 1 or i + 1  # no closing bracket: a literal [
        tokens.append(pattern[i:end])
        i = end
    return tuple(tokens)


def _tokens_meet(a: str, b: str) -> bool:
    """Whether one character matches both single-character tokens."""
    if a == "?" or b == "?":
        return True
    if len(a) == 1 or len(b) == 1:
        char, other = (a, b) if len(a) == 1 else (b, a)
        return char == other if len(other) == 1 else fnmatch.fnmatchcase(char, other)
    return any(fnmatch.fnmatchcase(c, a) and fnmatch.fnmatchcase(c, b)
               for c in set(string.printable) | set(a) | set(b))
