"""Reports people look at: a self-contained HTML page and PNG plots for one evaluation.

The page embeds its plots as data URIs (no external assets) and escapes every string that
comes from data or users (column names, category values, reasons). Plots: per-feature drift
bars, reference vs window distributions of the most drifted features, and the version's metric
series with threshold lines and status bands. matplotlib is imported here only.
"""

from __future__ import annotations

import base64
import contextlib
import gc
import html
import io
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .core.names import QUALITY_METRICS
from .core.policy import Policy
from .core.profile import CategoricalSummary, NumericSummary, Profile
from .core.report import DecayReport
from .core.window import CategoricalStats, ColumnStats, NumericStats, WindowStats

_COLORS = {"healthy": "#2e7d32", "warning": "#f9a825", "degraded": "#c62828"}


def plots(report: DecayReport, profile: Profile, stats: WindowStats, policy: Policy,
          series: Sequence[dict[str, Any]] = ()) -> dict[str, bytes]:
    """PNG plots by file name: ``drift.png``, ``dist_<feature>.png`` (top 3), ``series.png``.

    The window's side of each plot comes from its statistics (:mod:`mlflow_decay.core.window`), so
    windows read in batches or from Spark get the same plots.
    """
    with _collector_paused():
        out = {"drift.png": _drift_bars(report, profile, policy)}
        for name in report.drifted_features[:3] or _top_features(report, profile, policy)[:3]:
            key = profile.metric_keys[name]
            out[f"dist_{key.replace('/', '_').replace(' ', '_')}.png"] = _distribution(
                name, profile, stats.features[name])
        if series:
            out["series.png"] = _series(series, policy)
    return out


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cycle collector off while matplotlib draws: a figure allocates thousands of
    small objects, and each collection they trigger walks the whole heap (a quarter of the
    drawing time in a process that has MLflow loaded). The figures' cycles are collected later."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def render_html(report: DecayReport, images: dict[str, bytes], policy: Policy,
                profile: Profile) -> str:
    """The report as one HTML page with its images inlined: summary, reasons, registry
    changes, plots, every feature's drift and data quality, the other metrics, notes."""
    e = html.escape
    status = report.status
    drift_stats = ("psi", "js", "ks", "wasserstein", "unseen_share")
    keys = profile.metric_keys
    per_feature = {f"{section}.{key}.{stat}" for key in keys.values()
                   for section, stats in (("drift", drift_stats), ("quality", QUALITY_METRICS))
                   for stat in stats}
    rows = "".join(f"<tr><td>{e(k)}</td><td>{v:.4g}</td></tr>"
                   for k, v in sorted(report.metrics.items()) if k not in per_feature)
    drifted = set(report.drifted_features)
    drift_rows = "".join(
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td>{}</tr>".format(
            e(name), e(profile.features[name].kind), e(key if key != name else ""),
            "yes" if name in drifted else "", "".join(
                f"<td>{_cell(report.metrics.get(f'{section}.{key}.{stat}'))}</td>"
                for section, stats in (("drift", drift_stats), ("quality", QUALITY_METRICS))
                for stat in stats))
        for name, key in keys.items())
    imgs = "".join(f'<figure><img alt="{e(name)}" src="data:image/png;base64,'
                   f'{base64.b64encode(data).decode()}"><figcaption>{e(name)}</figcaption></figure>'
                   for name, data in images.items())
    reasons = "".join(f"<li>{e(r)}</li>" for r in report.reasons) or "<li>none</li>"
    notes = "".join(f"<li>{e(n)}</li>" for n in report.notes) or "<li>none</li>"
    actions = "".join(f"<li>{e(a)}</li>" for a in report.actions) or "<li>none</li>"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>mlflow-decay: {e(report.model_uri)}</title>
<style>
body{{font-family:system-ui,sans-serif;margin:2rem;color:#222}}
.status{{display:inline-block;padding:.2rem .8rem;border-radius:1rem;color:#fff;
background:{_COLORS.get(status, "#555")}}}
table{{border-collapse:collapse;margin:1rem 0}}td,th{{border:1px solid #ddd;padding:.25rem .6rem;
text-align:right}}td:first-child,th:first-child{{text-align:left}}
figure{{display:inline-block;margin:.5rem}}img{{max-width:560px}}
</style></head><body>
<h1 id="summary">{e(report.model_uri)} <span class="status">{e(status)}</span></h1>
<p>window {e(report.window_start or "-")} to {e(report.window_end or "-")}, {report.rows} rows;
this window alone: {e(report.window_status)}; before: {e(report.previous_status or "-")};
policy: {e(report.policy)}; run: {e(report.run_id or "-")}</p>
<h2 id="reasons">Reasons</h2><ul>{reasons}</ul>
<h2 id="actions">Registry changes</h2><ul>{actions}</ul>
<h2 id="plots">Plots</h2>{imgs}
<h2 id="drift">Drift and data quality by feature</h2>
<table><tr><th>feature</th><th>kind</th><th>metric key</th><th>drifted</th><th>psi</th>
<th>js</th><th>ks</th><th>wasserstein</th><th>unseen share</th><th>missing rate</th>
<th>non-finite rate</th><th>out-of-range share</th></tr>{drift_rows}</table>
<h2 id="metrics">Metrics</h2><table><tr><th>metric</th><th>value</th></tr>{rows}</table>
<h2 id="notes">Notes</h2><ul>{notes}</ul>
<p>extra columns ignored: {e(", ".join(report.extra_columns) or "none")}</p>
</body></html>
"""


def _cell(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


def _figure(width: float = 6.0, height: float = 3.2, left: float = 0.7, right: float = 0.2
            ) -> Any:
    """A figure with fixed margins (in inches): a layout engine would draw it twice."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=80)
    fig.subplots_adjust(left=left / width, right=1 - right / width, top=1 - 0.35 / height,
                        bottom=0.75 / height, wspace=0.3)
    return fig


def _png(fig: Any) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def _top_features(report: DecayReport, profile: Profile, policy: Policy) -> list[str]:
    keys = profile.metric_keys
    scores = {n: report.metrics.get(f"drift.{keys[n]}.{policy.feature_metric(s.kind)}")
              for n, s in profile.features.items()}
    return sorted((n for n, v in scores.items() if v is not None), key=lambda n: -scores[n])  # type: ignore[operator]


def _drift_bars(report: DecayReport, profile: Profile, policy: Policy) -> bytes:
    names = _top_features(report, profile, policy)[:15][::-1]
    labels = [n[:30] for n in names]
    fig = _figure(6, 0.3 * len(names) + 1.2, left=0.3 + 0.075 * max(map(len, labels), default=1))
    ax = fig.add_subplot()
    keys = profile.metric_keys
    values = [report.metrics[f"drift.{keys[n]}.{policy.feature_metric(profile.features[n].kind)}"]
              for n in names]
    colors = [_COLORS["degraded"] if n in report.drifted_features else "#607d8b" for n in names]
    ax.barh(range(len(names)), values, color=colors)
    ax.set_yticks(range(len(names)), labels)
    ax.axvline(policy.feature_threshold("numerical"), color="#999", linestyle="--", linewidth=1)
    ax.set_xlabel("drift effect size (numerical: wasserstein, categorical: js)")
    ax.set_title("Drift by feature (red: judged drifted)")
    return _png(fig)


def _distribution(name: str, profile: Profile, counted: ColumnStats) -> bytes:
    ref = profile.features[name]
    fig = _figure(8 if isinstance(ref, NumericSummary) else 6)
    ax = fig.add_subplot(1, 2, 1) if isinstance(ref, NumericSummary) else fig.add_subplot()
    if isinstance(ref, NumericSummary) and isinstance(counted, NumericStats) and ref.count:
        n = max(counted.count, 1)
        # histogram on the profile's bins (reference deciles), then the two CDFs
        shares = counted.histogram(ref.edges) / n
        x = np.arange(len(ref.counts))
        ax.bar(x - 0.2, ref.histogram_proportions(), 0.4, label="reference", color="#1565c0")
        ax.bar(x + 0.2, shares, 0.4, label="window", color="#c62828")
        ax.set_xticks(x, [f"{v:.3g}" for v in (ref.min, *ref.edges)], rotation=60, fontsize=7)
        ax.set_xlabel("bin (from)")
        ax.set_ylabel("share")
        ax.legend(loc="upper right")
        ax = fig.add_subplot(1, 2, 2)
        xs, ps = ref.knots()
        ax.plot(xs, ps, label="reference", color="#1565c0")
        if counted.count:
            ax.step(counted.grid, counted.through / n, where="post", label="window",
                    color="#c62828")
        ax.set_ylabel("cumulative share")
    elif isinstance(ref, CategoricalSummary) and isinstance(counted, CategoricalStats) and ref.count:
        cats = list(ref.categories[:12])
        total = sum(counted.counts.values()) or 1
        r = [c / ref.count for c in ref.counts[:12]]
        w = [counted.counts.get(c, 0) / total for c in cats]
        x = np.arange(len(cats))
        ax.bar(x - 0.2, r, 0.4, label="reference", color="#1565c0")
        ax.bar(x + 0.2, w, 0.4, label="window", color="#c62828")
        ax.set_xticks(x, [c[:12] for c in cats], rotation=45)
        ax.set_ylabel("share")
    ax.set_title(f"{name[:40]}: reference vs window")
    ax.legend(loc="lower right" if isinstance(ref, NumericSummary) else "upper right")
    return _png(fig)


def _series(series: Sequence[dict[str, Any]], policy: Policy) -> bytes:
    from matplotlib.ticker import MaxNLocator

    fig = _figure(8.5, 3.4, right=1.9)  # the legend goes right of the plot
    ax = fig.add_subplot()
    x = np.arange(1, len(series) + 1)
    stages = [point.get("status", "") for point in series]
    first = 0
    for i in range(1, len(stages) + 1):  # one band per run of windows in the same stage
        if i == len(stages) or stages[i] != stages[first]:
            ax.axvspan(first + 0.5, i + 0.5, color=_COLORS.get(stages[first], "#eee"), alpha=0.12)
            first = i
    for key, style in (("perf.roc_auc", "-o"), ("est.roc_auc", "--s"), ("perf.rmse", "-o"),
                       ("est.mae", "--s"), ("drift.share", ":^")):
        ys = [p["metrics"].get(key, np.nan) for p in series]
        if not np.all(np.isnan(ys)):
            ax.plot(x, ys, style if len(series) <= 60 else style[:-1], label=key, markersize=4)
    rule = policy.rule_for("drift.share")
    if rule is not None and rule.warn is not None:
        ax.axhline(rule.warn, color=_COLORS["warning"], linestyle="--", linewidth=1,
                   label="drift.share warn")
    ax.set_xlabel("window")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_title("Metrics per window (background: stage)")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1))
    return _png(fig)


def evidently_report(sample: pd.DataFrame, window: pd.DataFrame) -> tuple[bytes | None, str | None]:
    """Evidently's data-drift HTML for the stored raw reference sample vs the window.

    Returns the page (or ``None``) and a note when it could not be made.
    """
    try:
        from evidently import Report
        from evidently.presets import DataDriftPreset
    except Exception as exc:  # an optional view: never let it break an evaluation
        return None, f"Evidently report left out: {type(exc).__name__}: {str(exc)[:120]}"
    columns = [c for c in sample.columns if c in window.columns]
    snapshot = Report([DataDriftPreset()]).run(current_data=window[columns],
                                                reference_data=sample[columns])
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "evidently.html"
        snapshot.save_html(str(path))
        return path.read_bytes(), None


def comparison_panel(comparison: Any) -> bytes:
    """Champion vs challenger: their shared metrics side by side, as one PNG."""
    a, b = comparison.labels
    m = comparison.metrics
    names = [k[len(f"compare.{a}."):] for k in m if k.startswith(f"compare.{a}.")
             and f"compare.{b}.{k[len(f'compare.{a}.'):]}" in m]
    fig = _figure(7, 0.32 * len(names) + 1.4)
    ax = fig.add_subplot()
    y = np.arange(len(names))
    ax.barh(y - 0.2, [m[f"compare.{a}.{n}"] for n in names], 0.4, label=a, color="#1565c0")
    ax.barh(y + 0.2, [m[f"compare.{b}.{n}"] for n in names], 0.4, label=b, color="#ef6c00")
    ax.set_yticks(y, names)
    title = f"{a} vs {b}"
    if comparison.delong is not None:
        title += f" (AUC diff {comparison.delong.diff:+.3f}, p = {comparison.delong.p_value:.2g})"
    ax.set_title(title)
    ax.legend()
    return _png(fig)
