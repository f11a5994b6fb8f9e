"""What the report shows, as data: the version's windows as one panel per metric family with
the policy's thresholds and the stages (``series.png``), and the window's metrics by family
with reference values, deltas and thresholds (the page's metrics table). :mod:`mlflow_decay.render`
draws them; nothing here imports matplotlib."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from .names import DERIVED
from .policy import Policy
from .profile import Profile
from .report import figure_text
from .rules import Breach, Rule
from .times import identifying_span, parse_time

if TYPE_CHECKING:
    import pandas as pd

#: The performance metric a panel follows when none breached: the first with data, among
#: those with a rule first.
PREFERRED = ("roc_auc", "roc_auc_ovr", "r2", "rmse", "mae", "accuracy", "f1_macro", "pr_auc")
#: The metrics table's families, in order: (title, metric-name prefixes).
FAMILIES = (("performance (realized)", ("perf.",)),
            ("performance (estimated without labels, 95 % band)", ("est.",)),
            ("prediction and target drift", ("drift.prediction.", "drift.target.")),
            ("feature drift", ("drift.share", "drift.features_drifted")),
            ("multivariate drift", ("drift.multivariate.",)),
            ("data quality", ("quality.",)),
            ("labels", ("labels.",)),
            ("business", ("business.",)),
            ("impact", ("impact.",)))
_LEVEL = {"warning": "warn", "degraded": "degrade"}
#: The windows a series plot shows at most: the newest ones (a quarter of daily windows, almost
#: four days of hourly ones); the version's timeline run in MLflow holds them all.
SERIES_WINDOWS = 90
_DAY = 86_400.0


@dataclass
class Limit:
    """A threshold line: its level, the side a breach is on, and its value in each window
    (``nan`` where none applies)."""

    level: str
    side: str
    values: list[float]


@dataclass
class Panel:
    """One metric family's plot: its lines per window, the band, thresholds and the breach."""

    family: str
    metric: str
    lines: dict[str, list[float]]
    limits: list[Limit] = field(default_factory=list)
    band: tuple[list[float], list[float]] | None = None
    reference: float | None = None
    breach: Breach | None = None
    trigger: bool = False
    covers: tuple[str, ...] = ()

    @property
    def title(self) -> str:
        """The panel's title: the family and metric, and the reported window's breach (worst
        first) said briefly: ``drift.share (breached: 0.75 ≥ 0.3, warning)``."""
        title = f"performance: {self.metric}" if self.family == "performance" else self.metric
        b = self.breach
        if b is None:
            return title
        said = ("" if b.metric == self.metric else f"{b.metric} = ") + (
            f"{figure_text(b.value)} {'≥' if b.direction == 'above' else '≤'} "
            f"{figure_text(b.threshold)}, {b.level}")
        said += f", {b.basis.removeprefix('reference ')}" if b.basis else ""
        return f"{title}  ({'triggered' if self.trigger else 'breached'}: {said})"


@dataclass
class Timeline:
    """The windows along the x-axis (window midpoints in days since 1970 when every window
    has dates, else window numbers from 1), their extents, stages and ticks, and the panels."""

    x: list[float]
    spans: list[tuple[float, float]]
    stages: list[str]
    dated: bool
    ticks: list[float]
    tick_labels: list[str]
    panels: list[Panel]
    current: int = -1  # the reported window's place along x (ringed)
    timezone: str | None = None  # the clock of the tick labels (None: UTC)

    @property
    def xlabel(self) -> str:
        return f"window dates ({self.timezone or 'UTC'})" if self.dated else "window"


def timeline(points: Sequence[Mapping[str, Any]], policy: Policy, profile: Profile,
             breaches: Sequence[Breach] = (), timezone: str | None = None) -> Timeline:
    """The series plot's data.

    Parameters
    ----------
    points : sequence of dict
        The version's windows in the order logged, the reported one last (the plot shows at
        most the newest :data:`SERIES_WINDOWS` of them): ``status`` (the
        version's stage after it), ``metrics``, and optionally ``start``/``end`` (ISO 8601)
        and ``key``. A later window with the same bounds (without bounds: the same key)
        replaces an earlier one: a forced rerun, a window closed or evaluated again with
        other rows.
    policy, profile : Policy, Profile
        The thresholds, and the reference values and bands they are relative to.
    breaches : sequence of Breach
        The reported window's breaches, worst first: the first is the trigger.
    timezone : str, optional
        The IANA time zone whose clock cut the reported window: the dates are on it.
    """
    times = {t: parse_time(t) for t in dict.fromkeys(
        t for p in points for t in (p.get("start"), p.get("end")))}
    points, current = _deduplicated(points, times)
    points, current = _newest(points, current)
    x, spans, dated, bounds = _axis(points, times)
    metrics = [p.get("metrics") or {} for p in points]
    rows = [m.get("quality.rows") for m in metrics]
    named = {b.metric: b for b in reversed(breaches)}  # the worst breach of each metric
    panels = [p for p in (_performance(metrics, rows, policy, profile, breaches),
                          _single("prediction drift", _prediction_metric(metrics, policy, named),
                                  metrics, rows, policy, profile, named),
                          _single("drift share", "drift.share", metrics, rows, policy, profile,
                                  named),
                          _single("multivariate", "drift.multivariate.reconstruction_error",
                                  metrics, rows, policy, profile, named)) if p is not None]
    if breaches:
        first = breaches[0].metric
        hit = [p for p in panels if first in (p.metric, *p.covers)]
        if not hit:  # e.g. quality.prediction.missing_rate: it gets a panel of its own
            extra = _single("trigger", first, metrics, rows, policy, profile, named)
            hit = [extra] if extra is not None else []
            panels += hit
        for panel in hit:
            panel.trigger = True
    ticks, labels = _ticks(x, bounds, dated, timezone)
    return Timeline(x, spans, [str(p.get("status") or "") for p in points], dated, ticks, labels,
                    panels, current, timezone)


def _deduplicated(points: Sequence[Mapping[str, Any]], times: Mapping[Any, pd.Timestamp | None]
                  ) -> tuple[list[Mapping[str, Any]], int]:
    """The points without those a later one of the same window replaces (the same bounds,
    else the same key), in window order when every one has a start (``times``: each bound
    parsed); and where the last point (the reported window) landed."""
    def identity(i: int, p: Mapping[str, Any]) -> tuple[Any, ...]:
        span = identifying_span(times[p.get("start")], times[p.get("end")])
        if span is not None:
            return "bounds", *span
        return ("key", p["key"]) if p.get("key") else ("point", i)

    last = {identity(i, p): i for i, p in enumerate(points)}
    kept = [i for i, p in enumerate(points) if last[identity(i, p)] == i]
    starts = [times[points[i].get("start")] for i in kept]
    if all(s is not None for s in starts):
        kept = [kept[j] for j in sorted(range(len(kept)), key=lambda j: starts[j])]  # type: ignore[arg-type,return-value]
    return [points[i] for i in kept], kept.index(len(points) - 1) if points else -1


def _newest(points: list[Mapping[str, Any]], current: int
            ) -> tuple[list[Mapping[str, Any]], int]:
    """The newest :data:`SERIES_WINDOWS` points or, when the reported window is older than
    those (a window evaluated late), those ending with it (near the start: the first ones);
    and where it landed."""
    first = max(0, len(points) - SERIES_WINDOWS)
    if current < first:
        first = max(0, current - SERIES_WINDOWS + 1)
    return points[first:first + SERIES_WINDOWS], current - first


def _axis(points: Sequence[Mapping[str, Any]], times: Mapping[Any, pd.Timestamp | None]
          ) -> tuple[list[float], list[tuple[float, float]], bool, list[float]]:
    """Each window's x, its extent, whether x are dates, and the window boundaries
    (``times``: each bound parsed)."""
    bounds = [(times[p.get("start")], times[p.get("end")]) for p in points]
    if points and all(a is not None and b is not None and a < b for a, b in bounds):
        spans = [(a.timestamp() / _DAY, b.timestamp() / _DAY) for a, b in bounds]  # type: ignore[union-attr]
        edges = sorted({v for span in spans for v in span})
        return [(a + b) / 2 for a, b in spans], spans, True, edges
    x = [float(i) for i in range(1, len(points) + 1)]
    return x, [(v - 0.5, v + 0.5) for v in x], False, x


def _ticks(x: list[float], bounds: list[float], dated: bool, timezone: str | None = None,
           most: int = 6) -> tuple[list[float], list[str]]:
    """At most ``most`` ticks: dated windows at their boundaries (dates on the clock of
    ``timezone``, default UTC's, with hours when a window is shorter than a day or, on a
    zone's clock, a boundary is not at its midnight), others at their numbers."""
    chosen = _spaced(bounds, most)
    ticks = [bounds[i] for i in chosen]
    if not dated:
        return ticks, [str(int(t)) for t in ticks]
    clock = UTC if timezone is None else ZoneInfo(timezone)
    times = [datetime.fromtimestamp(t * _DAY, clock) for t in bounds]
    # a day its clocks change is 23 or 25 hours long: still a day on that clock
    short = (any(b - a < 1 for a, b in itertools.pairwise(bounds)) if timezone is None
             else any((t.hour, t.minute) != (0, 0) for t in times))
    form = "%m-%d %H:%M" if short else "%Y-%m-%d"
    return ticks, [times[i].strftime(form) for i in chosen]


def _spaced(bounds: list[float], most: int) -> list[int]:
    """Which of the (ascending) ``bounds`` get a tick: every n-th, at most ``most``, when
    that leaves them apart; else, as when windows of an hour are followed by weeks (every
    n-th boundary then fell within the hours, their labels on top of each other), from the
    first, each next boundary at least a ``most``-th of the axis past the last one ticked."""
    step = max(1, math.ceil(len(bounds) / most))
    chosen = list(range(0, len(bounds), step))
    gap = (bounds[-1] - bounds[0]) / most if bounds else 0.0
    if all(bounds[b] - bounds[a] >= gap / 2 for a, b in itertools.pairwise(chosen)):
        return chosen
    chosen = [0]
    for i, value in enumerate(bounds):
        if value - bounds[chosen[-1]] >= gap * (1 - 1e-9):
            chosen.append(i)
    return chosen


def _values(metrics: Sequence[Mapping[str, float]], name: str) -> list[float]:
    return [float(m.get(name, math.nan)) for m in metrics]


def _has(metrics: Sequence[Mapping[str, float]], name: str) -> bool:
    return any(math.isfinite(m.get(name, math.nan)) for m in metrics)


def _limits(rule: Rule | None, band: tuple[float, float, int] | None,
            rows: Sequence[float | None], offset: float = 0.0, scale: float = 1.0) -> list[Limit]:
    """A rule's thresholds in each window (reference bands scale with the window's rows),
    times ``scale`` and shifted by ``offset`` (a delta rule drawn on its metric: offset by the
    reference value; a ratio rule: scaled by it)."""
    if rule is None:
        return []
    out: dict[tuple[str, str], list[float]] = {}
    for i, n in enumerate(rows):
        for level, side, threshold, _ in rule.limits(band, int(n) if n else None):
            out.setdefault((level, side), [math.nan] * len(rows))[i] = threshold * scale + offset
    return [Limit(level, side, values) for (level, side), values in out.items()]


def _performance(metrics: Sequence[Mapping[str, float]], rows: Sequence[float | None],
                 policy: Policy, profile: Profile, breaches: Sequence[Breach]) -> Panel | None:
    """Realized and estimated values of one performance metric (the worst breached one, else a
    ruled one, one with an estimate first), the estimate's band, the reference and the
    thresholds of the side that decides."""
    named = {b.metric: b for b in reversed(breaches)}
    keys = list(dict.fromkeys(k for m in metrics for k in m if not k.endswith(DERIVED)))
    names = [k[5:] for k in keys if k.startswith("perf.")] + [
        k[4:] for k in keys if k.startswith("est.")]
    if not names:
        return None

    def ruled(m: str) -> bool:
        return any(policy.rule_for(f"{s}.{m}{d}") for s in ("perf", "est") for d in _JUDGED)

    breached = [b.metric.split(".")[1] for b in breaches if b.metric.startswith(("perf.", "est."))]
    # a metric with an estimate is drawn in every window, labelled or not (a regression's r2
    # has none: once some windows had labels, the panel lost the estimate judging the others)
    rank = {m: (breached.index(m) if m in breached else len(breached), not ruled(m),
                not _has(metrics, f"est.{m}"),
                PREFERRED.index(m) if m in PREFERRED else len(PREFERRED)) for m in names}
    m = min(dict.fromkeys(names), key=lambda k: rank[k])
    lines = {side: _values(metrics, f"{side}.{m}") for side in ("perf", "est")
             if _has(metrics, f"{side}.{m}")}
    decides = next((s for s in ("perf", "est") for d in _JUDGED if f"{s}.{m}{d}" in named),
                   "perf" if "perf" in lines else "est")
    reference = (profile.performance if decides == "perf" else profile.estimated_performance).get(m)
    limits = _limits(policy.rule_for(f"{decides}.{m}"), profile.bands.get(f"{decides}.{m}"), rows)
    if reference is not None:
        limits += _limits(policy.rule_for(f"{decides}.{m}.delta"),
                          profile.bands.get(f"{decides}.{m}.delta"), rows, offset=reference)
        limits += _limits(policy.rule_for(f"{decides}.{m}.ratio"),
                          profile.bands.get(f"{decides}.{m}.ratio"), rows, scale=reference)
    band = None
    if _has(metrics, f"est.{m}.lower"):
        band = (_values(metrics, f"est.{m}.lower"), _values(metrics, f"est.{m}.upper"))
    covers = tuple(f"{s}.{m}{d}" for s in ("perf", "est") for d in _JUDGED)
    breach = next((named[k] for k in covers if k in named), None)
    return Panel("performance", m, lines, limits, band, reference, breach, covers=covers)


def _prediction_metric(metrics: Sequence[Mapping[str, float]], policy: Policy,
                       named: Mapping[str, Breach]) -> str:
    """The prediction drift statistic shown: the breached one, else one the policy judges."""
    found = [k for k in dict.fromkeys(k for m in metrics for k in m)
             if k.startswith("drift.prediction.")]
    return next((k for k in found if k in named), None) or next(
        (k for k in found if policy.rule_for(k) is not None), "drift.prediction.psi")


def _single(family: str, name: str, metrics: Sequence[Mapping[str, float]],
            rows: Sequence[float | None], policy: Policy, profile: Profile,
            named: Mapping[str, Breach]) -> Panel | None:
    """One metric with its own thresholds (none: no data in any window)."""
    if not _has(metrics, name):
        return None
    band = profile.bands.get(name)
    return Panel(family, name, {"value": _values(metrics, name)},
                 _limits(policy.rule_for(name), band, rows), None,
                 band[0] if band else None, named.get(name))


# -- the metrics table ---------------------------------------------------------------------------
@dataclass
class Row:
    """A metrics table row: the window's value (with its band), the reference, the delta (an
    error's ratio to the reference too), the threshold that applies (as text) and the level
    it was breached at."""

    metric: str
    value: float
    reference: float | None = None
    delta: float | None = None
    low: float | None = None
    high: float | None = None
    threshold: str = ""
    level: str | None = None
    ratio: float | None = None


def metric_table(metrics: Mapping[str, float], rows: int, policy: Policy, profile: Profile,
                 breaches: Iterable[Breach], leave_out: Iterable[str] = ()
                 ) -> list[tuple[str, list[Row]]]:
    """The window's metrics by family (:data:`FAMILIES`, then ``other``): one row per metric,
    its ``.delta``, ``.ratio``, ``.lower`` and ``.upper`` folded into it; ``leave_out`` names metrics shown
    elsewhere (per-feature drift and quality)."""
    skip = set(leave_out)
    level: dict[str, str] = {}
    for b in breaches:
        level.setdefault(b.metric, b.level)
    labelled = policy.labels_decide(dict(metrics)) is not None
    groups: dict[str, list[Row]] = {}
    for name in sorted(metrics):
        base = name.rsplit(".", 1)[0]
        if name in skip or (name.endswith(DERIVED) and base in metrics):
            continue
        family = next((t for t, prefixes in FAMILIES if name.startswith(prefixes)), "other")
        groups.setdefault(family, []).append(
            _row(name, metrics, rows, policy, profile, level, labelled))
    order = [t for t, _ in FAMILIES] + ["other"]
    return [(t, groups[t]) for t in order if t in groups]


def _row(name: str, metrics: Mapping[str, float], rows: int, policy: Policy, profile: Profile,
         level: Mapping[str, str], labelled: bool) -> Row:
    value = metrics[name]
    side, _, short = name.partition(".")
    known = {"perf": profile.performance, "est": profile.estimated_performance}.get(side, {})
    band = profile.bands.get(name)
    reference = known.get(short, band[0] if band else None)
    delta = metrics.get(f"{name}.delta", None if reference is None else value - reference)
    texts = [t for t in (_threshold(policy.rule_for(name + end), profile.bands.get(name + end),
                                    rows, _SYMBOL[end]) for end in _JUDGED) if t]
    text = "; ".join(texts)
    if text and labelled and side == "est":
        text += " (not applied: labels decide)"
    return Row(name, value, reference, delta, metrics.get(f"{name}.lower"),
               metrics.get(f"{name}.upper"), text,
               next((level[name + end] for end in _JUDGED if name + end in level), None),
               metrics.get(f"{name}.ratio"))


#: How a threshold text names what it judges: the value, its change Δ, its ratio × (errors).
_SYMBOL = {"": "", ".delta": "Δ ", ".ratio": "× "}
#: What a rule on a performance metric judges: the value, its change, its ratio.
_JUDGED = tuple(_SYMBOL)


def _threshold(rule: Rule | None, band: tuple[float, float, int] | None, rows: int,
               prefix: str) -> str:
    """A rule's thresholds as text: ``degrade Δ ≤ -0.05, warn Δ ≤ -0.02``."""
    if rule is None:
        return ""
    parts: dict[str, list[str]] = {}
    bases: dict[str, str] = {}
    for level, side, threshold, basis in rule.limits(band, rows):
        parts.setdefault(level, []).append(f"{'≥' if side == 'above' else '≤'} "
                                           f"{figure_text(threshold)}")
        bases[level] = f" ({basis})" if basis else ""
    return ", ".join(f"{_LEVEL.get(lvl, lvl)} {prefix}{' or '.join(p)}{bases[lvl]}"
                     for lvl, p in parts.items())
