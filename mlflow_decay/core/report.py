"""What an evaluation found: one window's report (status, reasons, metrics, the registry plan),
and champion vs challenger side by side on one window (with the paired test on its labelled
rows)."""

from __future__ import annotations

import math
import numbers
from dataclasses import asdict, dataclass, field
from typing import Any

from ..stats import Z95
from ..stats.comparison import DeLong, PairedLoss
from .rules import Status
from .times import span_label


@dataclass
class DecayReport:
    """What one evaluation found and did.

    Attributes
    ----------
    status : {"healthy", "warning", "degraded"}
        The version's stage after this window (a degraded version stays degraded unless the
        policy allows auto-recovery).
    window_status : str
        What this window alone earned under the policy.
    reasons : list of str
        Human-readable threshold breaches, worst first.
    metrics : dict of str to float
        Flat metrics, logged to MLflow exactly under these names.
    run_id : str or None
        The MLflow run the evaluation was logged to (``None`` when not logged).
    actions : list of str
        Registry changes planned for this window; ``applied`` says whether they were made.
    step, window_key : int, str
        The window's position in a monitored series (the MLflow metric step) and its identity
        (model, version, bounds, data fingerprint; ``None`` from :func:`evaluate` without
        logging, which skips the fingerprint); ``skipped`` when a rerun found it logged.
    feature_keys : dict of str to str
        Each feature column's metric key (``drift.<key>.psi``): the column name itself, unless
        MLflow cannot take it or it collides with another column's or a model output's.
    provisional : bool
        The window was still open (it ends after the evaluation): logged, not applied.
    timezone : str or None
        The IANA time zone on whose clock the window was cut (``monitor --timezone``), in which
        its bounds are shown; the bounds themselves are UTC. ``None``: UTC.
    """

    model_uri: str
    model_name: str
    model_version: str
    status: Status
    window_status: Status
    previous_status: str | None
    reasons: list[str]
    metrics: dict[str, float]
    rows: int
    run_id: str | None = None
    window_start: str | None = None
    window_end: str | None = None
    drifted_features: list[str] = field(default_factory=list)
    extra_columns: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    actions: list[str] = field(default_factory=list)
    applied: bool = False
    policy: str = "default"
    step: int = 0
    window_key: str | None = None
    skipped: bool = False
    feature_keys: dict[str, str] = field(default_factory=dict)
    provisional: bool = False
    timezone: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict of the report (a non-finite number becomes ``None``)."""
        return json_safe(asdict(self))

    def __str__(self) -> str:
        """What ``mlflow-decay evaluate`` prints: the version, the window and :meth:`summary`,
        then the breaches, notes, ignored columns, registry changes and the run (``print``,
        and a notebook's display; ``repr`` keeps every field)."""
        window = span_label(self.window_start, self.window_end, self.timezone)
        lines = [f"{self.model_uri}{f' {window}' if window else ''}: {self.summary()}"]
        lines += [f"  breach: {r}" for r in self.reasons[:10]]
        if len(self.reasons) > 10:
            lines.append(f"  … {len(self.reasons) - 10} more breaches")
        lines += [f"  note: {n}" for n in self.notes]
        if self.extra_columns:
            lines.append(f"  ignored extra columns: {', '.join(self.extra_columns)}")
        verb = "done" if self.applied else "would do (nothing changed)"
        lines += [f"  registry {verb}: {a}" for a in self.actions]
        lines.append(f"  run {self.run_id}" if self.run_id else "  not logged")
        return "\n".join(lines)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        """IPython's display (a notebook cell ending in a report): the text of ``print``."""
        printer.text(str(self))

    def summary(self) -> str:
        """One line: status, the realized performance (AUC, else accuracy; RMSE), else its
        estimate without labels with its 95 % band, drift share and the top drifted features."""
        parts = [f"{self.status:<8}"]
        name, realized, est = headline(self.metrics)
        if realized is None and "perf.accuracy" in self.metrics:  # AUC undefined: one class
            name, realized = "accuracy", self.metrics["perf.accuracy"]
        if realized is not None:
            parts.append(f"{name} {metric_text(realized)}")
        elif est is not None:
            low, high = (self.metrics.get(f"est.{name}.{side}") for side in ("lower", "upper"))
            band = ("" if low is None or high is None
                    else f" [{metric_text(low)}, {metric_text(high)}]")
            parts.append(f"est. {name} {metric_text(est)}{band}")
        parts.append(f"drift share {self.metrics.get('drift.share', 0.0):.2f}")
        if self.drifted_features:
            more = len(self.drifted_features) - 3
            parts.append("drifted: " + ", ".join(self.drifted_features[:3])
                         + (f" (+{more} more)" if more > 0 else ""))
        return "  ".join(parts)


#: The performance metric a one-line view shows, by task: binary, multiclass, regression.
HEADLINE = ("roc_auc", "roc_auc_ovr", "rmse")


def headline(metrics: dict[str, float]) -> tuple[str, float | None, float | None]:
    """The task's :data:`HEADLINE` metric in ``metrics``: its name, realized and estimated
    values (``None`` when missing); ``("roc_auc", None, None)`` when neither is there."""
    for name in HEADLINE:
        if f"perf.{name}" in metrics or f"est.{name}" in metrics:
            return name, metrics.get(f"perf.{name}"), metrics.get(f"est.{name}")
    return HEADLINE[0], None, None


def metric_text(value: float, digits: int = 3, sign: bool = False) -> str:
    """A metric as text (``sign``: with its ``+``/``-``): ``digits`` decimals, or from 100 on
    (an RMSE in dollars) one, with thousands separated."""
    plus = "+" if sign else ""
    return f"{value:{plus}.{digits}f}" if abs(value) < 100 else f"{value:{plus},.1f}"


def figure_text(value: float, sign: bool = False) -> str:
    """A number on a report page: four significant digits (``0.004244``, ``8.298``) or, from
    100 on (an error in a target's units: a price), as :func:`metric_text` writes it
    (``125,645.9``; a whole number without decimals: ``2,000``), where four digits read
    ``1.256e+05``, and ``6297`` beside ``28,630.3``."""
    plus = "+" if sign else ""
    if not math.isfinite(value) or abs(value) < 100:
        return f"{value:{plus}.4g}"
    return f"{value:{plus},.0f}" if value == int(value) else metric_text(value, sign=sign)


def text_table(header: list[str], rows: list[list[str]], right: frozenset[int] = frozenset()) -> str:
    """Aligned columns: each as wide as its widest cell plus two spaces (a cell never runs
    into the next); the columns numbered in ``right`` are right-aligned; no line ends in
    spaces."""
    lines = [header, *rows]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    return "\n".join("  ".join(
        cell.rjust(widths[i]) if i in right else cell.ljust(widths[i])
        for i, cell in enumerate(line)).rstrip() for line in lines)


def json_safe(obj: Any) -> Any:
    """``obj`` with every non-finite number (NaN, ±inf, which strict JSON has not) as ``None``,
    through dicts, lists and tuples."""
    if isinstance(obj, dict):
        return {k: json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    if (isinstance(obj, numbers.Real) and not isinstance(obj, numbers.Integral)
            and not math.isfinite(obj)):
        return None
    return obj


@dataclass
class Comparison:
    """Champion vs challenger on one window: each side's report, their differences, and the
    paired test on the window's labelled rows (``delong`` for a binary model, ``paired`` for a
    regression's absolute errors or a multiclass model's log losses), and the window's bounds
    (UTC ISO 8601, shown on the clock of ``timezone``, an IANA name; ``None``: UTC)."""

    models: list[str]
    labels: list[str]
    statuses: list[str]
    metrics: dict[str, float]
    delong: DeLong | None = None
    run_id: str | None = None
    promotion: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    paired: PairedLoss | None = None
    window_start: str | None = None
    window_end: str | None = None
    timezone: str | None = None

    @property
    def window(self) -> str:
        """Its window as shown under a comparison (``""`` without bounds): on the clock of the
        zone that placed it, named."""
        span = span_label(self.window_start, self.window_end, self.timezone)
        return f"{span} ({self.timezone or 'UTC'})" if span else ""

    def to_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in self.__dict__.items() if k not in ("delong", "paired")}
        out["delong"] = None if self.delong is None else self.delong.__dict__
        out["paired"] = None if self.paired is None else self.paired.__dict__
        return json_safe(out)

    def text(self, verb: str) -> str:
        """What ``mlflow-decay compare`` prints: both sides' verdicts on this window alone (not
        the versions' stages, which only evaluations move) and metrics with their difference,
        the paired test, the notes and the promotion (``verb``: whether it ``did`` or ``would``
        happen), under the window, when it has bounds."""
        a, b = self.labels
        m = self.metrics
        rows = [["window verdict", *self.statuses, ""]] + [
            [name, metric_text(m[f"compare.{a}.{name}"], 4),
             metric_text(m[f"compare.{b}.{name}"], 4),
             metric_text(m[f"compare.diff.{name}"], 4, sign=True)]
            for name in COMPARED if f"compare.diff.{name}" in m]
        lines = [f"window {self.window}"] if self.window else []
        lines += text_table(["metric", a, b, "diff"], rows,
                            right=frozenset({1, 2, 3})).splitlines()
        if self.delong is not None:
            d = self.delong
            lines.append(f"DeLong: AUC difference {d.diff:+.4f} (95% CI {d.lower:+.4f} to "
                         f"{d.upper:+.4f}), p = {d.p_value:.3g}")
        if self.paired is not None:
            t = self.paired
            lines.append(f"paired t-test: mean {t.metric} difference "
                         f"{figure_text(t.diff, sign=True)} (95% CI "
                         f"{figure_text(t.lower, sign=True)} to "
                         f"{figure_text(t.upper, sign=True)}; {-t.gain:+.1%} of "
                         f"{figure_text(t.mean[0])}), p = {t.p_value:.3g}, {t.rows:,} rows")
        lines += [f"note: {n}" for n in self.notes]
        lines += [f"promotion ({verb}): {p}" for p in self.promotion]
        lines.append(f"run {self.run_id}" if self.run_id else "not logged")
        return "\n".join(lines)

    def __str__(self) -> str:
        """:meth:`text`, of a promotion that happened when the comparison was logged."""
        return self.text("did" if self.run_id else "would")

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        """IPython's display (a notebook cell ending in a comparison): the text of ``print``."""
        printer.text(str(self))


#: Metrics compared side by side (when present for both versions).
COMPARED = ("perf.roc_auc", "perf.roc_auc.delta", "perf.pr_auc", "perf.accuracy", "perf.f1",
            "perf.roc_auc_ovr", "perf.rmse", "perf.mae", "est.roc_auc", "est.roc_auc.delta",
            "est.pr_auc", "est.accuracy", "est.f1", "est.roc_auc_ovr", "est.mae", "est.rmse",
            "drift.share", "drift.prediction.psi", "drift.multivariate.reconstruction_error")


def side_by_side(labels: list[str], metrics: list[dict[str, float]]) -> dict[str, float]:
    """``compare.<label>.<metric>`` for each side and ``compare.diff.<metric>`` (second - first)."""
    out: dict[str, float] = {}
    for label, m in zip(labels, metrics, strict=True):
        out.update({f"compare.{label}.{k}": m[k] for k in COMPARED if k in m})
    for k in COMPARED:
        if k in metrics[0] and k in metrics[1]:
            out[f"compare.diff.{k}"] = metrics[1][k] - metrics[0][k]
    sd = [(m.get("est.roc_auc.upper", math.nan) - m.get("est.roc_auc.lower", math.nan)) / (2 * Z95)
          for m in metrics]
    if "compare.diff.est.roc_auc" in out and all(math.isfinite(s) for s in sd):
        half = Z95 * math.sqrt(sd[0] ** 2 + sd[1] ** 2)  # independent sampling errors
        out["compare.diff.est.roc_auc.lower"] = out["compare.diff.est.roc_auc"] - half
        out["compare.diff.est.roc_auc.upper"] = out["compare.diff.est.roc_auc"] + half
    return out
