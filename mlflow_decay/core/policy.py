"""Decay policies: thresholds per metric, the drifted-feature rule, and registry actions.

A policy is plain data read from TOML (``tomllib``) and laid over the packaged default; the
decision is one pure function of a window's metrics and the policy.
"""

from __future__ import annotations

import fnmatch
import json
import math
import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any, cast

from ..errors import PolicyError
from .names import (
    DRIFT_ALPHA,
    FEATURE_METRICS,
    IMPACT_METRICS,
    MAX_PATTERN,
    PREDICTION_P_VALUE,
    QUALITY_METRICS,
    RATIO_METRICS,
    globs_meet,
    higher_is_worse,
    metric_patterns,
)
from .rules import Breach, Direction, Rule, Status

_SECTIONS = {"drift", "thresholds", "actions", "hysteresis", "business", "promote", "labels",
             "inherit"}
_HYSTERESIS_KEYS = {"degrade_after", "recover_after", "min_rows"}
_ACTION_KEYS = {"remove_aliases", "rollback_aliases", "archive", "auto_recover", "describe"}


@dataclass(frozen=True)
class Policy:
    """Thresholds, the drifted-feature rule and the registry actions of a degraded version."""

    rules: tuple[Rule, ...]
    drift: tuple[tuple[str, str, float], ...] = (
        ("numerical", "wasserstein", 0.1), ("categorical", "js", 0.1))
    remove_aliases: tuple[str, ...] = ()
    rollback_aliases: tuple[str, ...] = ()
    archive: bool = False
    auto_recover: bool = False
    describe: bool = False
    degrade_after: int = 2
    recover_after: int = 3
    min_rows: int = 1
    business: tuple[str, ...] = ()
    promote_alias: str = "champion"
    promote_min_gain: float = 0.01
    promote_max_p_value: float = 0.05
    promote_windows: int = 2
    min_label_coverage: float = 0.8
    source: str = "default"

    def feature_metric(self, kind: str) -> str:
        return next(m for k, m, _ in self.drift if k == kind)

    def feature_threshold(self, kind: str) -> float:
        return next(t for k, _, t in self.drift if k == kind)

    def rule_for(self, metric: str) -> Rule | None:
        """The most specific rule matching a metric: its exact name, else the longest pattern
        (found once per metric name and policy)."""
        if metric not in self._rule_of:
            self._rule_of[metric] = self._find_rule(metric)
        return self._rule_of[metric]

    @cached_property
    def _rule_of(self) -> dict[str, Rule | None]:
        return {}

    def _find_rule(self, metric: str) -> Rule | None:
        exact = [r for r in self.rules if r.pattern == metric]
        if exact:
            return exact[0]
        matches = [r for r in self.rules if fnmatch.fnmatchcase(metric, r.pattern)]
        return max(matches, key=lambda r: len(r.pattern.replace("*", ""))) if matches else None

    def labels_decide(self, metrics: dict[str, float]) -> str | None:
        """Why the ``est.*`` rules do not apply to a window, or ``None`` when they do: its labels
        (``labels.coverage``) cover at least ``min_label_coverage`` of its rows, so the realized
        ``perf.*`` metrics decide and the estimates are reported only."""
        coverage = metrics.get("labels.coverage")
        if (coverage is None or not coverage > 0 or coverage < self.min_label_coverage
                or not any(name.startswith("est.") for name in metrics)):
            return None  # (no estimate to set aside: a window without scores)
        return (f"est.* not applied: labels cover {coverage:.0%} of rows >= "
                f"{self.min_label_coverage:.0%}")

    def unbanded(self, metrics: dict[str, float],
                 bands: dict[str, tuple[float, float, int]] | None) -> str | None:
        """Why a rule judged by the reference band (``warn_k``/``degrade_k``) judged none of a
        window's metrics, or ``None``: the profile has no band for them (a reference too small
        for three band chunks, or built with ``band_chunks=0``)."""
        names = [n for n in metrics if n not in (bands or {}) and (rule := self.rule_for(n))
                 and rule.limits((0.0, 1.0, 1), None) and not rule.limits(None, None)]
        if not names:
            return None
        return (f"{', '.join(names[:3])}{' (+more)' if len(names) > 3 else ''} not judged: "
                "the profile has no reference band for it (its rule takes warn_k/degrade_k)")

    def window_notes(self, metrics: dict[str, float],
                     bands: dict[str, tuple[float, float, int]] | None) -> list[str]:
        """How this policy judged a window, where it matters: :meth:`labels_decide`,
        :meth:`unbanded`."""
        return [n for n in (self.labels_decide(metrics), self.unbanded(metrics, bands)) if n]

    def decide(self, metrics: dict[str, float],
               bands: dict[str, tuple[float, float, int]] | None = None,
               rows: int | None = None) -> tuple[Status, list[Breach]]:
        """The status a window's metrics earn, and every breach behind it (worst first).

        ``bands`` are the profile's reference bands and ``rows`` the window's size, for rules
        with ``warn_k``/``degrade_k``. The ``est.*`` rules are left out when labels cover
        enough of the window (see :meth:`labels_decide`), and the ``drift.prediction.*`` rules
        when the model output's two-sample test (``drift.prediction.p_value``) cannot tell its
        shift from sampling noise at ``DRIFT_ALPHA``.
        """
        breaches: list[Breach] = []
        labelled = self.labels_decide(metrics) is not None
        # the model output's drift within sampling noise (its test's p-value) breaches nothing
        noise = metrics.get(PREDICTION_P_VALUE, 0.0) >= DRIFT_ALPHA
        for name, value in metrics.items():
            rule = self.rule_for(name)
            if rule is None or not math.isfinite(value) or (labelled and name.startswith("est.")):
                continue
            if noise and name.startswith("drift.prediction.") and name != PREDICTION_P_VALUE:
                continue
            for level, side, threshold, basis in rule.limits((bands or {}).get(name), rows):
                if value >= threshold if side == "above" else value <= threshold:
                    breaches.append(Breach(name, value, threshold, level, side, basis))
                    break
        breaches.sort(key=lambda b: (b.level != "degraded", -abs(b.value - b.threshold)))
        status: Status = "healthy"
        if breaches:
            status = "degraded" if breaches[0].level == "degraded" else "warning"
        return status, breaches

    def next_state(self, previous: str | None, window: Status, streaks: tuple[int, int]
                   ) -> tuple[Status, tuple[int, int], str | None]:
        """The hysteresis state machine, like an alerting rule's ``for:`` clause.

        Parameters
        ----------
        previous : str or None
            The version's stage before this window.
        window : {"healthy", "warning", "degraded"}
            What this window alone earned.
        streaks : (int, int)
            Consecutive degrade-breaching windows and consecutive clean windows so far.

        Returns
        -------
        status, streaks, note
            The version's new stage, the updated streaks, and why it differs from ``window``.
        """
        breach, clean = streaks
        breach, clean = (breach + 1, 0) if window == "degraded" else (
            (0, 0) if window == "warning" else (0, clean + 1))
        if previous == "degraded" and window != "degraded":
            if self.auto_recover and clean >= self.recover_after:
                return window, (breach, clean), None
            why = (f"clean window {clean} of {self.recover_after}" if self.auto_recover and clean
                   else "policy auto_recover is off" if not self.auto_recover else "not clean")
            return "degraded", (breach, clean), f"window is {window}; version stays degraded ({why})"
        if window == "degraded" and previous != "degraded" and breach < self.degrade_after:
            return "warning", (breach, clean), (f"breaching window {breach} of {self.degrade_after}: "
                                                "warning until the breach persists")
        return window, (breach, clean), None

    def replay(self, windows: Sequence[Status], start: str | None = None
               ) -> list[tuple[Status, tuple[int, int], str | None]]:
        """Run the state machine over a series of window verdicts, in order: from scratch, or
        from the stage ``start`` with no streaks (a version restored by hand)."""
        states: list[tuple[Status, tuple[int, int], str | None]] = []
        previous = start
        streaks = (0, 0)
        for window in windows:
            status, streaks, note = self.next_state(previous, window, streaks)
            states.append((status, streaks, note))
            previous = status
        return states

    def to_dict(self) -> dict[str, Any]:
        return {
            "drift": {k: {"metric": m, "threshold": t} for k, m, t in self.drift},
            "thresholds": {r.pattern: r.to_dict() for r in self.rules},
            "actions": {"remove_aliases": list(self.remove_aliases),
                        "rollback_aliases": list(self.rollback_aliases), "archive": self.archive,
                        "auto_recover": self.auto_recover, "describe": self.describe},
            "hysteresis": {"degrade_after": self.degrade_after,
                           "recover_after": self.recover_after, "min_rows": self.min_rows},
            "business": {"columns": list(self.business)},
            "promote": {"alias": self.promote_alias, "min_auc_gain": self.promote_min_gain,
                        "max_p_value": self.promote_max_p_value,
                        "windows": self.promote_windows},
            "labels": {"min_coverage": self.min_label_coverage},
        }

    def to_toml(self) -> str:
        """The effective policy (:meth:`to_dict`) as TOML, readable back by :func:`load_policy`."""
        lines = [f"# effective mlflow-decay policy (from {_toml_value(self.source)})",
                 "inherit = false"]
        for section, table in self.to_dict().items():
            lines += ["", f"[{section}]", *(f"{_toml_key(k)} = {_toml_value(v)}"
                                           for k, v in table.items())]
        return "\n".join(lines) + "\n"


def _toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else _toml_value(key)


def _toml_value(value: Any) -> str:
    """A value as TOML: a string with JSON's escapes (TOML's, but for DEL), a list, an inline
    table, a boolean or a number."""
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_toml_key(k)} = {_toml_value(v)}"
                                for k, v in value.items()) + " }"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(map(_toml_value, value)) + "]"
    return repr(value)


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
    alias, windows, max_p, min_gain = _promote(data, fallback, where)
    coverage = _label_coverage(data, fallback, where)
    return Policy(
        min_label_coverage=coverage,
        promote_alias=alias, promote_windows=windows, promote_max_p_value=max_p,
        promote_min_gain=min_gain, business=business,
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
            raise PolicyError(f"{where}: [drift] key {kind!r} must be numerical or categorical")
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
        drift[kind] = (metric, threshold)
    return tuple((k, m, t) for k, (m, t) in drift.items())


def _thresholds(data: dict[str, Any], fallback: Policy, where: str, check_names: bool
                ) -> tuple[Rule, ...]:
    """``[thresholds]``: a rule per metric name or pattern, replacing the one it overrides."""
    rules = {r.pattern: r for r in fallback.rules}
    for pattern, spec in _table(data, "thresholds", where).items():
        if check_names:
            check_metric_pattern(pattern, f"{where}: threshold {pattern!r}")
        rules[pattern] = _rule(pattern, spec, where)
    return tuple(rules.values())


def _actions(data: dict[str, Any], fallback: Policy, where: str
             ) -> tuple[tuple[str, ...], tuple[str, ...], dict[str, bool]]:
    """``[actions]``: the aliases removed and rolled back, and the flags ``archive``,
    ``auto_recover`` and ``describe``."""
    actions = _section(data, "actions", _ACTION_KEYS, where)
    alias_lists = {}
    for key in ("remove_aliases", "rollback_aliases"):
        value = actions.get(key, list(getattr(fallback, key)))
        if not isinstance(value, list) or not all(isinstance(a, str) and a for a in value):
            raise PolicyError(f"{where}: [actions] {key} must be a list of alias names")
        alias_lists[key] = tuple(value)
    flags = {}
    for key in ("archive", "auto_recover", "describe"):
        value = actions.get(key, getattr(fallback, key))
        if not isinstance(value, bool):
            raise PolicyError(f"{where}: [actions] {key} must be true or false")
        flags[key] = value
    return alias_lists["remove_aliases"], alias_lists["rollback_aliases"], flags


def _hysteresis(data: dict[str, Any], fallback: Policy, where: str) -> tuple[int, int, int]:
    """``[hysteresis]``: ``degrade_after`` and ``recover_after`` windows, ``min_rows``."""
    hysteresis = _section(data, "hysteresis", _HYSTERESIS_KEYS, where)
    counts = {}
    for key in sorted(_HYSTERESIS_KEYS):
        value = hysteresis.get(key, getattr(fallback, key))
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise PolicyError(f"{where}: [hysteresis] {key} must be a whole number >= 1")
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
             ) -> tuple[str, int, float, float]:
    """``[promote]``: the alias a challenger wins, over how many windows, with what p-value
    and AUC gain."""
    promote = _section(data, "promote", {"alias", "min_auc_gain", "max_p_value", "windows"}, where)
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
    return alias, windows, max_p, min_gain


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
        raise PolicyError(f"{where}: unknown [{key}] key {sorted(unknown)[0]!r} "
                          f"(expected {', '.join(sorted(allowed))})")
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
        f"quality.<feature>.{{{'|'.join(QUALITY_METRICS)}}}, quality.<feature>.missing_rate"
        f".delta, perf.<metric>[.delta] and "
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


DEFAULT_POLICY = load_policy()
