"""A policy's TOML file: read (``tomllib``), each section checked, and laid over the packaged
default (``default_policy.toml``); :data:`DEFAULT_POLICY` is that default alone."""

from __future__ import annotations

import math
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any, cast

from ..errors import PolicyError
from .names import (
    FEATURE_METRICS,
    IMPACT_METRICS,
    MAX_PATTERN,
    QUALITY_DELTAS,
    QUALITY_METRICS,
    RATIO_METRICS,
    globs_meet,
    higher_is_worse,
    lower_is_worse,
    metric_patterns,
    share_range,
)
from .policy import Policy
from .rules import Direction, Rule

_SECTIONS = {"drift", "thresholds", "actions", "hysteresis", "business", "promote", "labels",
             "inherit"}
_HYSTERESIS_KEYS = {"degrade_after", "recover_after", "min_rows"}
_ACTION_KEYS = {"remove_aliases", "rollback_aliases", "archive", "auto_recover", "describe"}
_PROMOTE_KEYS = {"alias", "min_auc_gain", "min_loss_gain", "max_p_value", "windows"}
#: The table each key of the tables with fixed keys belongs in (a key put in the wrong one).
_HOME = {**dict.fromkeys(_HYSTERESIS_KEYS, "hysteresis"), **dict.fromkeys(_ACTION_KEYS, "actions"),
         **dict.fromkeys(_PROMOTE_KEYS, "promote"), "columns": "business",
         "min_coverage": "labels", "numerical": "drift", "categorical": "drift"}


def load_policy(path: str | Path | None = None) -> Policy:
    """Read a policy TOML file laid over the packaged default (``None``: the default alone).

    Raises
    ------
    PolicyError
        If the file is missing, not TOML, or names an unknown section, key or metric.
    """
    default = _parse(_read_default(), "default", check_names=False)
    if path is None:
        return default
    try:
        data = tomllib.loads((p := Path(path)).read_text(encoding="utf-8"))
    except TypeError as exc:  # a dict of settings, say
        raise PolicyError(f"policy must be a Policy or the path of a policy TOML file, got "
                          f"{type(path).__name__} (mlflow-decay policy show writes one)") from exc
    except FileNotFoundError as exc:
        raise PolicyError(f"policy file {str(p)!r} does not exist") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError(f"policy file {str(p)!r} cannot be read: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"policy file {str(p)!r} is not valid TOML: {exc}") from exc
    return _parse(data, str(p), base=default if data.get("inherit", True) is not False else None)


def as_policy(policy: Policy | str | Path | None) -> Policy:
    """A policy object, a policy file laid over the default, or (``None``) the default."""
    if isinstance(policy, Policy):
        return policy
    return DEFAULT_POLICY if policy is None else load_policy(policy)


def _read_default() -> dict[str, Any]:
    text = resources.files("mlflow_decay").joinpath("default_policy.toml").read_text("utf-8")
    return tomllib.loads(text)


def _parse(data: dict[str, Any], source: str, base: Policy | None = None,
           check_names: bool = True) -> Policy:
    """A policy from TOML data, each section laid over ``base`` (else the built-in values);
    ``check_names`` refuses rules no metric can match (it imports scikit-learn for the metric
    names: the packaged default, tested, is read without it)."""
    where = f"policy {source!r}"
    unknown = set(data) - _SECTIONS
    if unknown:
        if (key := sorted(unknown)[0]) in _HOME:
            raise PolicyError(f"{where}: {key!r} is a [{_HOME[key]}] key, written above every "
                              f"table: put it under [{_HOME[key]}]")
        raise PolicyError(f"{where}: unknown section {sorted(unknown)[0]!r} "
                          "(expected drift, thresholds, actions, hysteresis, business, promote, "
                          "labels, inherit)")
    if not isinstance(data.get("inherit", True), bool):
        raise PolicyError(f"{where}: inherit must be true or false")
    fallback = base or Policy(())
    drift = _drift(data, fallback, where)
    rules = _thresholds(data, fallback, where, check_names)
    remove_aliases, rollback_aliases, flags = _actions(data, fallback, where)
    degrade_after, recover_after, min_rows = _hysteresis(data, fallback, where)
    business = _business(data, fallback, where)
    alias, windows, max_p, min_gain, min_loss_gain = _promote(data, fallback, where)
    coverage = _label_coverage(data, fallback, where)
    return Policy(
        min_label_coverage=coverage,
        promote_alias=alias, promote_windows=windows, promote_max_p_value=max_p,
        promote_min_gain=min_gain, promote_min_loss_gain=min_loss_gain, business=business,
        degrade_after=degrade_after, recover_after=recover_after, min_rows=min_rows,
        rules=rules, drift=drift,
        remove_aliases=remove_aliases, rollback_aliases=rollback_aliases, **flags,
        source=source,
    )


def _drift(data: dict[str, Any], fallback: Policy, where: str
           ) -> tuple[tuple[str, str, float], ...]:
    """``[drift]``: each feature kind's metric and threshold."""
    drift = dict((k, (m, t)) for k, m, t in fallback.drift)
    for kind, spec in _table(data, "drift", where).items():
        if kind not in FEATURE_METRICS:
            hint = "; a metric's threshold goes under [thresholds]" if "." in kind else ""
            raise PolicyError(f"{where}: [drift] key {kind!r} must be numerical or "
                              f"categorical{hint}")
        if not isinstance(spec, dict) or set(spec) - {"metric", "threshold"}:
            raise PolicyError(f"{where}: [drift] {kind} must be {{ metric = ..., threshold = ... }}")
        metric = spec.get("metric", drift[kind][0])
        if metric not in FEATURE_METRICS[kind]:
            raise PolicyError(f"{where}: [drift] {kind} metric {metric!r} is not one of "
                              f"{', '.join(FEATURE_METRICS[kind])}")
        threshold = _number(spec.get("threshold", drift[kind][1]),
                            f"{where}: [drift] {kind} threshold")
        if threshold < 0:
            raise PolicyError(f"{where}: [drift] {kind} threshold must be >= 0 (an effect size), "
                              f"got {threshold:g}")
        if threshold > 1 and share_range(f"drift.x.{metric}") is not None:  # ks, js, unseen
            raise PolicyError(f"{where}: [drift] {kind} threshold {threshold:g} is outside 0..1, "
                              f"the values {metric} takes ({threshold / 100:g} if {threshold:g} "
                              "was a percentage)")
        drift[kind] = (metric, threshold)
    return tuple((k, m, t) for k, (m, t) in drift.items())


def _thresholds(data: dict[str, Any], fallback: Policy, where: str, check_names: bool
                ) -> tuple[Rule, ...]:
    """``[thresholds]``: a rule per metric name or pattern, replacing the one it overrides."""
    rules = {r.pattern: r for r in fallback.rules}
    for pattern, spec in _table(data, "thresholds", where).items():
        if pattern in _HOME and not isinstance(spec, dict):
            raise PolicyError(f"{where}: [thresholds] {pattern!r} is a [{_HOME[pattern]}] key: "
                              f"put it under [{_HOME[pattern]}]")
        if dotted := _unquoted(pattern, spec):
            raise PolicyError(f"{where}: threshold {dotted}: quote a metric name with dots, "
                              f'"{dotted}" = {{ ... }} (unquoted, TOML reads it as nested tables)')
        if check_names:
            check_metric_pattern(pattern, f"{where}: threshold {pattern!r}")
        rules[pattern] = _rule(pattern, spec, where)
    return tuple(rules.values())


def _unquoted(key: str, spec: Any) -> str | None:
    """The metric name a ``[thresholds]`` key written without quotes spelled (``drift.share =
    { warn = 0.3 }`` reads as ``{"drift": {"share": {"warn": 0.3}}}``), else ``None``."""
    rule_keys = {"warn", "degrade", "warn_k", "degrade_k", "direction"}
    if not isinstance(spec, dict) or not spec or set(spec) & rule_keys:
        return None
    inner, value = next(iter(spec.items()))
    if not isinstance(value, dict):
        return None
    return _unquoted(f"{key}.{inner}", value) or f"{key}.{inner}"


def _actions(data: dict[str, Any], fallback: Policy, where: str
             ) -> tuple[tuple[str, ...], tuple[str, ...], dict[str, bool]]:
    """``[actions]``: the aliases removed and rolled back, and the flags ``archive``,
    ``auto_recover`` and ``describe``."""
    actions = _section(data, "actions", _ACTION_KEYS, where)
    alias_lists = {}
    for key in ("remove_aliases", "rollback_aliases"):
        value = actions.get(key, list(getattr(fallback, key)))
        if not isinstance(value, list) or not all(isinstance(a, str) and a for a in value):
            raise PolicyError(f"{where}: [actions] {key} must be a list of alias names, "
                              f"got {value!r}")
        alias_lists[key] = tuple(value)
    flags = {}
    for key in ("archive", "auto_recover", "describe"):
        value = actions.get(key, getattr(fallback, key))
        if not isinstance(value, bool):
            raise PolicyError(f"{where}: [actions] {key} must be true or false, got {value!r}")
        flags[key] = value
    return alias_lists["remove_aliases"], alias_lists["rollback_aliases"], flags


def _hysteresis(data: dict[str, Any], fallback: Policy, where: str) -> tuple[int, int, int]:
    """``[hysteresis]``: ``degrade_after`` and ``recover_after`` windows, ``min_rows``."""
    hysteresis = _section(data, "hysteresis", _HYSTERESIS_KEYS, where)
    counts = {}
    for key in sorted(_HYSTERESIS_KEYS):
        value = hysteresis.get(key, getattr(fallback, key))
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise PolicyError(f"{where}: [hysteresis] {key} must be a whole number >= 1, "
                              f"got {value!r}")
        counts[key] = value
    return counts["degrade_after"], counts["recover_after"], counts["min_rows"]


def _business(data: dict[str, Any], fallback: Policy, where: str) -> tuple[str, ...]:
    """``[business]``: the KPI columns whose means are logged."""
    business = _section(data, "business", {"columns"}, where)
    columns = business.get("columns", list(fallback.business))
    if not isinstance(columns, list) or not all(isinstance(c, str) and c for c in columns):
        raise PolicyError(f"{where}: [business] columns must be a list of column names")
    return tuple(columns)


def _promote(data: dict[str, Any], fallback: Policy, where: str
             ) -> tuple[str, int, float, float, float]:
    """``[promote]``: the alias a challenger wins, over how many windows, with what p-value,
    AUC gain (binary) and share of the mean loss saved (regression, multiclass)."""
    promote = _section(data, "promote", _PROMOTE_KEYS, where)
    alias = promote.get("alias", fallback.promote_alias)
    windows = promote.get("windows", fallback.promote_windows)
    if not isinstance(alias, str) or not alias:
        raise PolicyError(f"{where}: [promote] alias must be an alias name")
    if isinstance(windows, bool) or not isinstance(windows, int) or windows < 1:
        raise PolicyError(f"{where}: [promote] windows must be a whole number >= 1")
    max_p = _number(promote.get("max_p_value", fallback.promote_max_p_value),
                    f"{where}: [promote] max_p_value")
    if not 0 < max_p <= 1:
        raise PolicyError(f"{where}: [promote] max_p_value must be in (0, 1]")
    min_gain = _number(promote.get("min_auc_gain", fallback.promote_min_gain),
                       f"{where}: [promote] min_auc_gain")
    min_loss_gain = _number(promote.get("min_loss_gain", fallback.promote_min_loss_gain),
                            f"{where}: [promote] min_loss_gain")
    if not 0 <= min_loss_gain < 1:
        raise PolicyError(f"{where}: [promote] min_loss_gain is a share of the champion's mean "
                          f"loss, in [0, 1) (0.02: 2% lower), got {min_loss_gain:g}")
    return alias, windows, max_p, min_gain, min_loss_gain


def _label_coverage(data: dict[str, Any], fallback: Policy, where: str) -> float:
    """``[labels]``: the share of a window's rows labels must cover for ``perf.*`` to decide."""
    labels = _section(data, "labels", {"min_coverage"}, where)
    coverage = _number(labels.get("min_coverage", fallback.min_label_coverage),
                       f"{where}: [labels] min_coverage")
    if not 0 < coverage <= 1:
        raise PolicyError(f"{where}: [labels] min_coverage must be in (0, 1]")
    return coverage


def _table(data: dict[str, Any], key: str, where: str) -> dict[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise PolicyError(f"{where}: [{key}] must be a table")
    return value


def _section(data: dict[str, Any], key: str, allowed: set[str], where: str) -> dict[str, Any]:
    table = _table(data, key, where)
    unknown = set(table) - allowed
    if unknown:
        name = sorted(unknown)[0]
        home = (f"; it is a [{_HOME[name]}] key" if name in _HOME
                else "; a metric's threshold goes under [thresholds]" if "." in name else "")
        raise PolicyError(f"{where}: unknown [{key}] key {name!r} "
                          f"(expected {', '.join(sorted(allowed))}{home})")
    return table


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise PolicyError(f"{what} must be a finite number, got {value!r}")
    return float(value)


def check_metric_pattern(pattern: str, what: str) -> None:
    """Refuse (:class:`PolicyError`, prefixed with ``what``) a metric name or glob that no
    metric mlflow-decay logs can match (a typo)."""
    if len(pattern) <= MAX_PATTERN and any(
            globs_meet(pattern, known) for known in metric_patterns()):
        return
    from ..stats.estimate import BINARY, MULTICLASS
    from ..stats.loss import REGRESSION
    from ..stats.performance import METRICS

    perf = ", ".join(dict.fromkeys(m for names in METRICS.values() for m in names))
    est = ", ".join(dict.fromkeys((*BINARY, *MULTICLASS, *REGRESSION)))
    stats = "|".join(dict.fromkeys(s for names in FEATURE_METRICS.values() for s in names))
    raise PolicyError(
        f"{what}: unknown metric name, no metric can match it; known: drift.share, "
        f"drift.features_drifted, drift.multivariate.reconstruction_error, "
        f"drift.<feature|prediction|target>.{{{stats}}}, quality.rows, "
        f"quality.<feature>.{{{'|'.join((*QUALITY_METRICS, *QUALITY_DELTAS))}}}, "
        f"perf.<metric>[.delta] and "
        f"est.<metric>[.lower|.upper|.delta] (perf: {perf}; est: {est}), "
        f"{{perf|est}}.{{{'|'.join(RATIO_METRICS)}}}.ratio, business.<column>, "
        f"{', '.join(IMPACT_METRICS)}, labels.coverage")


def _rule(pattern: str, spec: Any, where: str) -> Rule:
    what = f"{where}: threshold {pattern!r}"
    keys = {"warn", "degrade", "warn_k", "degrade_k", "direction"}
    if not isinstance(spec, dict) or not spec or set(spec) - keys:
        raise PolicyError(f"{what} must be {{ warn = x, degrade = y [, direction = ...] }} or "
                          "{ warn_k = k, degrade_k = k, direction = ... } (reference bands)")
    values = {k: _number(spec[k], f"{what} {k}") for k in keys - {"direction"} if k in spec}
    for level in ("warn", "degrade"):
        if level in values and f"{level}_k" in values:
            raise PolicyError(f"{what}: give {level} or {level}_k, not both")
        if values.get(f"{level}_k", 1.0) <= 0:
            raise PolicyError(f"{what}: {level}_k must be a positive number of standard deviations")
    if not values:
        raise PolicyError(f"{what} needs warn or degrade (or warn_k/degrade_k)")
    warn, degrade = values.get("warn"), values.get("degrade")
    direction = spec.get("direction")
    if direction is None:
        direction = "below" if warn is not None and degrade is not None and degrade < warn else (
            "below" if (degrade if degrade is not None else warn if warn is not None else 0) < 0
            else "above")
    if spec.get("direction") is None and direction == "below" and higher_is_worse(pattern):
        swapped = warn is not None and degrade is not None
        read = f"degrade {degrade:g} below warn {warn:g}" if swapped else "a negative threshold"
        raise PolicyError(f"{what}: {read} reads as lower is worse, but a higher {pattern} is "
                          f"worse: {'swap them' if swapped else 'give a positive one'}")
    if spec.get("direction") is None and direction == "above" and lower_is_worse(pattern):
        raise PolicyError(_read_as_higher(what, pattern, warn, degrade))
    span = share_range(pattern)
    for level, value in (("warn", warn), ("degrade", degrade)):
        if span is not None and value is not None and not span[0] <= value <= span[1]:
            raise PolicyError(f"{what}: {level} {value:g} is outside {span[0]:g}..{span[1]:g}, "
                              f"the values {pattern} takes ({value / 100:g} if {value:g} "
                              "was a percentage)")
    if direction not in ("above", "below", "both"):
        raise PolicyError(f"{what}: direction must be \"above\", \"below\" or \"both\", "
                          f"got {direction!r}")
    if direction == "both" and (warn is not None or degrade is not None):
        raise PolicyError(f"{what}: direction \"both\" takes reference bands (warn_k, "
                          "degrade_k), not constants")
    if warn is not None and degrade is not None and (
        (direction == "above" and degrade < warn) or (direction == "below" and degrade > warn)
    ):
        raise PolicyError(f"{what}: degrade {degrade:g} is less severe than warn {warn:g} "
                          f"for direction {direction!r}")
    if values.get("degrade_k", math.inf) < values.get("warn_k", 0):
        raise PolicyError(f"{what}: degrade_k is less severe than warn_k")
    return Rule(pattern, warn, degrade, cast(Direction, direction), values.get("warn_k"),
                values.get("degrade_k"))


def _read_as_higher(what: str, pattern: str, warn: float | None, degrade: float | None) -> str:
    """Why a rule without a direction on a metric that is worse when lower (AUC, accuracy, R2,
    their changes) is refused: it reads as higher is worse (a floor read as a ceiling)."""
    if warn is not None and degrade is not None and degrade > warn:
        read, fix = f"degrade {degrade:g} above warn {warn:g}", "swap them"
    elif warn is None and degrade is None:
        read, fix = "a reference band without a direction", 'give direction = "below"'
    elif pattern.endswith(".delta"):
        read, fix = "a positive change", "give a drop as a negative one (-0.02)"
    else:
        read, fix = ("a threshold alone" if warn is None or degrade is None
                     else "equal warn and degrade"), 'give direction = "below" for a floor'
    return (f"{what}: {read} reads as higher is worse, but a lower {pattern} is worse: {fix} "
            '(or direction = "above" if a higher value is what it watches for)')


DEFAULT_POLICY = load_policy()
