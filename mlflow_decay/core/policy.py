"""Decay policies: thresholds per metric, the drifted-feature rule, and registry actions.

A policy is plain data (read from TOML by :mod:`.policy_file`); the decision is one pure
function of a window's metrics and the policy.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from .names import DRIFT_ALPHA, PREDICTION_P_VALUE
from .rules import Breach, Rule, Status, noise_reach


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
    promote_min_loss_gain: float = 0.02
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
                     bands: dict[str, tuple[float, float, int]] | None,
                     rows: int | None = None) -> list[str]:
        """How this policy judged a window, where it matters: :meth:`labels_decide`,
        :meth:`unbanded`, and each change of a performance metric past a constant threshold
        but within the window's sampling noise, or of too few labelled rows (see
        :meth:`decide`)."""
        held = [f"{b.metric} = {b.value:.4g} is past {b.threshold:.4g} ({b.level}) but "
                + (f"of {b.basis}" if "min_rows" in b.basis
                   else f"within this window's sampling noise ({b.basis})") + ": not judged"
                for b in self._judge(metrics, bands, rows)[1]]
        return [n for n in (self.labels_decide(metrics), self.unbanded(metrics, bands), *held)
                if n]

    def decide(self, metrics: dict[str, float],
               bands: dict[str, tuple[float, float, int]] | None = None,
               rows: int | None = None) -> tuple[Status, list[Breach]]:
        """The status a window's metrics earn, and every breach behind it (worst first).

        ``bands`` are the profile's reference bands and ``rows`` the window's size, for rules
        with ``warn_k``/``degrade_k``. Left out: the ``est.*`` rules when labels cover enough
        of the window (see :meth:`labels_decide`); the ``drift.prediction.*`` rules when the
        model output's two-sample test (``drift.prediction.p_value``) cannot tell its shift
        from sampling noise at ``DRIFT_ALPHA``; and a constant threshold on a performance
        metric's change from the reference (``perf.*``/``est.*`` ``.delta``/``.ratio``) when the
        change lies within ``PERFORMANCE_NOISE_Z`` of the window's sampling deviations of its
        reference band's mean (:func:`~.rules.noise_reach`; no band: judged as it is). A
        ``perf.*`` metric is of the window's labelled rows (``labels.coverage`` of ``rows``):
        its noise is theirs, and from fewer than ``min_rows`` of them it is not judged.
        """
        breaches = self._judge(metrics, bands, rows)[0]
        status: Status = "healthy"
        if breaches:
            status = "degraded" if breaches[0].level == "degraded" else "warning"
        return status, breaches

    def _judge(self, metrics: dict[str, float], bands: dict[str, tuple[float, float, int]] | None,
               rows: int | None) -> tuple[list[Breach], list[Breach]]:
        """The breaches (worst first), and those held back as sampling noise (their ``basis``
        says how far noise reaches)."""
        breaches: list[Breach] = []
        held: list[Breach] = []
        labelled = self.labels_decide(metrics) is not None
        # the model output's drift within sampling noise (its test's p-value) breaches nothing
        noise = metrics.get(PREDICTION_P_VALUE, 0.0) >= DRIFT_ALPHA
        for name, value in metrics.items():
            rule = self.rule_for(name)
            if rule is None or not math.isfinite(value) or (labelled and name.startswith("est.")):
                continue
            if noise and name.startswith("drift.prediction.") and name != PREDICTION_P_VALUE:
                continue
            band = (bands or {}).get(name)
            n, what = _judged_rows(name, metrics, rows)
            few = what == "labelled rows" and n is not None and n < self.min_rows
            for level, side, threshold, basis in rule.limits(band, n):
                if value >= threshold if side == "above" else value <= threshold:
                    reach = None if basis else noise_reach(name, band, n)
                    if few:  # as a window under min_rows: mostly chance
                        held.append(Breach(name, value, threshold, level, side,
                                           f"{n} labelled rows, under min_rows {self.min_rows}"))
                    elif reach is not None and abs(value - reach[0]) < reach[1]:
                        held.append(Breach(name, value, threshold, level, side, f"reference "
                                           f"{round(reach[0], 4) + 0.0:.4f} +- {reach[1]:.2g} at "
                                           f"{n} {what}"))
                    else:
                        breaches.append(Breach(name, value, threshold, level, side, basis))
                    break
        breaches.sort(key=lambda b: (b.level != "degraded", -abs(b.value - b.threshold)))
        return breaches, held

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

    def sha256(self) -> str:
        """SHA-256 of the effective policy (:meth:`to_dict` as canonical JSON): the same
        thresholds, rules and actions give the same hash, wherever they were read from. A key
        added since hashes were first stored counts only away from its default, so a policy
        written before it keeps its hash (``labels`` compares the hashes of windows' runs)."""
        table = self.to_dict()
        if self.promote_min_loss_gain == Policy.promote_min_loss_gain:
            del table["promote"]["min_loss_gain"]
        text = json.dumps(table, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()

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
                        "min_loss_gain": self.promote_min_loss_gain,
                        "max_p_value": self.promote_max_p_value,
                        "windows": self.promote_windows},
            "labels": {"min_coverage": self.min_label_coverage},
        }

    def to_toml(self) -> str:
        """The effective policy (:meth:`to_dict`) as TOML, readable back by
        :func:`~.policy_file.load_policy`."""
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


def _judged_rows(metric: str, metrics: dict[str, float], rows: int | None
                 ) -> tuple[int | None, str]:
    """The rows ``metric`` was computed on, and what they are: a realized ``perf.*`` metric
    the window's labelled rows (``labels.coverage`` of ``rows``), any other its rows."""
    coverage = metrics.get("labels.coverage")
    if (rows and metric.startswith("perf.") and coverage is not None
            and math.isfinite(coverage) and 0 < coverage < 1):
        return max(1, round(coverage * rows)), "labelled rows"
    return rows, "rows"
