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
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from .core.names import QUALITY_METRICS
from .core.panels import Panel, Row, Timeline, metric_table, timeline
from .core.policy import Policy
from .core.profile import CategoricalSummary, NumericSummary, Profile
from .core.report import DecayReport
from .core.times import span_label
from .core.window import CategoricalStats, ColumnStats, NumericStats, WindowStats

_COLORS = {"healthy": "#2e7d32", "warning": "#f9a825", "degraded": "#c62828"}


def plots(report: DecayReport, profile: Profile, stats: WindowStats, policy: Policy,
          series: Sequence[dict[str, Any]] = ()) -> dict[str, bytes]:
    """PNG plots by file name: ``drift.png``, ``dist_<feature>.png`` (top 3), ``series.png``.

    The window's side of each plot comes from its statistics (:mod:`mlflow_decay.core.window`), so
    windows read in batches or from Spark get the same plots. ``series`` holds the version's
    windows, this one included (see :func:`mlflow_decay.core.panels.timeline`).
    """
    with _collector_paused():
        out = {"drift.png": _drift_bars(report, profile, policy)}
        for name in _distribution_features(report, profile, policy):
            out[_distribution_file(profile.metric_keys[name])] = _distribution(
                name, profile, stats.features[name])
        _, breaches = policy.decide(report.metrics, profile.bands, report.rows)
        data = timeline(series, policy, profile, breaches) if series else None
        if data is not None and data.panels:
            out["series.png"] = _series(data)
    return out


def _distribution_features(report: DecayReport, profile: Profile, policy: Policy) -> list[str]:
    return report.drifted_features[:3] or _top_features(report, profile, policy)[:3]


def _distribution_file(key: str) -> str:
    return f"dist_{key.replace('/', '_').replace(' ', '_')}.png"


def captions(images: dict[str, bytes], report: DecayReport, profile: Profile,
             policy: Policy) -> dict[str, str]:
    """A readable title for each plot of :func:`plots`, by file name."""
    out = {"drift.png": "Drift by feature (red: judged drifted)",
           "series.png": "The version's windows: metrics, thresholds and stages"}
    for name in _distribution_features(report, profile, policy):
        out[_distribution_file(profile.metric_keys[name])] = f"{name}: reference vs window"
    return {file: out.get(file, file) for file in images}


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


#: The report page's style sheet (the status badge's colour is added per page).
_STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem;color:#222}
.status{display:inline-block;padding:.2rem .8rem;border-radius:1rem;color:#fff}
table{border-collapse:collapse;margin:1rem 0}td,th{border:1px solid #ddd;padding:.25rem .6rem;
text-align:right}td:first-child,th:first-child{text-align:left}
figure{display:inline-block;margin:.5rem;vertical-align:top}img{max-width:680px}
figcaption{font-weight:600;text-align:center}
.metrics th.family{text-align:left;background:#f3f3f3}.metrics td{white-space:nowrap}
.metrics td.threshold,.metrics th.threshold{text-align:left;white-space:normal}
tr.warning td{background:#fff3cd}tr.degraded td{background:#f8d7da}
"""


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
    _, breaches = policy.decide(report.metrics, profile.bands, report.rows)
    rows = _metric_rows(metric_table(report.metrics, report.rows, policy, profile, breaches,
                                     per_feature))
    drifted = set(report.drifted_features)
    drift_rows = "".join(
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td>{}</tr>".format(
            e(name), e(profile.features[name].kind), e(key if key != name else ""),
            "yes" if name in drifted else "", "".join(
                f"<td>{_cell(report.metrics.get(f'{section}.{key}.{stat}'))}</td>"
                for section, stats in (("drift", drift_stats), ("quality", QUALITY_METRICS))
                for stat in stats))
        for name, key in keys.items())
    titles = captions(images, report, profile, policy)
    order = sorted(images, key=lambda name: name != "series.png")  # "when" first
    imgs = "".join(f'<figure><img alt="{e(titles[name])}" src="data:image/png;base64,'
                   f'{base64.b64encode(images[name]).decode()}"><figcaption>{e(titles[name])}'
                   '</figcaption></figure>' for name in order)
    reasons = "".join(f"<li>{e(r)}</li>" for r in report.reasons) or "<li>none</li>"
    notes = "".join(f"<li>{e(n)}</li>" for n in report.notes) or "<li>none</li>"
    actions = "".join(f"<li>{e(a)}</li>" for a in report.actions) or "<li>none</li>"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>mlflow-decay: {e(report.model_uri)}</title>
<style>{_STYLE}.status{{background:{_COLORS.get(status, "#555")}}}</style></head><body>
<h1 id="summary">{e(report.model_uri)} <span class="status">{e(status)}</span></h1>
<p>window {e(bounds + " (UTC)" if (bounds := span_label(report.window_start, report.window_end))
              else "-")}, {report.rows} rows;
this window alone: {e(report.window_status)}; before: {e(report.previous_status or "-")};
policy: {e(report.policy)}; run: {e(report.run_id or "-")}</p>
<h2 id="reasons">Reasons</h2><ul>{reasons}</ul>
<h2 id="actions">Registry changes</h2><ul>{actions}</ul>
<h2 id="plots">Plots</h2>{imgs}
<h2 id="drift">Drift and data quality by feature</h2>
<table><tr><th>feature</th><th>kind</th><th>metric key</th><th>drifted</th><th>psi</th>
<th>js</th><th>ks</th><th>wasserstein</th><th>unseen share</th><th>missing rate</th>
<th>non-finite rate</th><th>out-of-range share</th></tr>{drift_rows}</table>
<h2 id="metrics">Metrics</h2>
<table class="metrics"><tr><th>metric</th><th>reference</th><th>window</th><th>delta</th>
<th class="threshold">threshold (policy)</th></tr>{rows}</table>
<h2 id="notes">Notes</h2><ul>{notes}</ul>
<p>extra columns ignored: {e(", ".join(report.extra_columns) or "none")}</p>
</body></html>
"""


LATE_LABELS_BEGIN, LATE_LABELS_END = "<!-- mlflow-decay late labels -->", "<!-- /late labels -->"


def with_late_labels(page: str, status: str, lines: Sequence[str]) -> str:
    """A report page with a notice of late labels at its top (``status`` colours it; each of
    ``lines`` a paragraph, escaped), replacing the notice of an earlier batch: the page was
    drawn before them, and says so."""
    e = html.escape
    body = "".join(f"<p>{e(line)}</p>" for line in lines)
    block = (f'{LATE_LABELS_BEGIN}<div style="border:3px solid {_COLORS.get(status, "#555")};'
             f'padding:.2rem 1rem;margin-bottom:1rem">{body}</div>{LATE_LABELS_END}')
    start = page.find(LATE_LABELS_BEGIN)
    end = page.find(LATE_LABELS_END, start) if start >= 0 else -1
    if end >= 0:
        return page[:start] + block + page[end + len(LATE_LABELS_END):]
    at = page.find("<body>")
    at = at + len("<body>") if at >= 0 else 0
    return page[:at] + "\n" + block + page[at:]


def _cell(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


def _metric_rows(groups: list[tuple[str, list[Row]]]) -> str:
    """The metrics table's rows: a heading row per family, then its metrics (a breached one
    shaded by level, an estimate with its band)."""
    e = html.escape
    out = []
    for family, rows in groups:
        out.append(f'<tr><th class="family" colspan="5">{e(family)}</th></tr>')
        for row in rows:
            value = _cell(row.value)
            if row.low is not None and row.high is not None:
                value += f" ({_cell(row.low)} to {_cell(row.high)})"
            delta = "-" if row.delta is None else f"{row.delta:+.4g}"
            level = f' class="{row.level}"' if row.level else ""
            out.append(f"<tr{level}><td>{e(row.metric)}</td><td>{_cell(row.reference)}</td>"
                       f"<td>{value}</td><td>{delta}</td>"
                       f'<td class="threshold">{e(row.threshold) or "-"}</td></tr>')
    return "".join(out)


def _figure(width: float = 6.0, height: float = 3.2, left: float = 0.7, right: float = 0.2,
            top: float = 0.35, bottom: float = 0.75) -> Any:
    """A figure with fixed margins (in inches): a layout engine would draw it twice."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=80)
    fig.subplots_adjust(left=left / width, right=1 - right / width, top=1 - top / height,
                        bottom=bottom / height, wspace=0.3)
    return fig


def _png(fig: Any) -> bytes:
    """The figure drawn by Agg, its glyphs unhinted, as an RGB PNG (Pillow's, compression
    level 3: 2 % larger than the default, faster).

    Unhinted glyphs look a little softer; FreeType's hinting of each one cost an eighth of the
    plots' time (the setting holds during the draw only)."""
    from matplotlib import rc_context
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from PIL import Image

    canvas = FigureCanvasAgg(fig)
    with rc_context({"text.hinting": "no_hinting"}):
        canvas.draw()
    buffer = io.BytesIO()
    Image.fromarray(np.asarray(canvas.buffer_rgba())[..., :3]).save(buffer, format="png",
                                                                    compress_level=3)
    return buffer.getvalue()


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
    low, high = ax.get_xlim()
    _few_ticks(ax.xaxis, low, high, bins=4)
    ax.set_xlabel("drift effect size (numerical: wasserstein, categorical: js)")
    ax.set_title("Drift by feature (red: judged drifted)", y=1)  # y given: no title layout pass
    return _png(fig)


def _distribution(name: str, profile: Profile, counted: ColumnStats) -> bytes:
    """Reference vs window: a numerical feature's shares on the profile's bins and both CDFs,
    a categorical one's category shares. Title and legend sit above the axes, so the legend
    never covers a bar."""
    ref = profile.features[name]
    numeric = isinstance(ref, NumericSummary)
    fig = _figure(8 if numeric else 6, top=0.55)
    ax = fig.add_subplot(1, 2, 1) if numeric else fig.add_subplot()
    if isinstance(ref, NumericSummary) and isinstance(counted, NumericStats) and ref.count:
        n = max(counted.count, 1)
        # histogram on the profile's bins (reference deciles), then the two CDFs
        shares = counted.histogram(ref.edges) / n
        x = np.arange(len(ref.counts))
        ax.bar(x - 0.2, ref.histogram_proportions(), 0.4, label="reference", color="#1565c0")
        ax.bar(x + 0.2, shares, 0.4, label="window", color="#c62828")
        step = 1 + len(x) // 8  # every other bin's label when there are many
        ax.set_xticks(x[::step], [f"{v:.3g}" for v in (ref.min, *ref.edges)][::step], rotation=60,
                      fontsize=7)
        ax.set_xlabel("bin (from)")
        ax.set_ylabel("share")
        _few_ticks(ax.yaxis, *ax.get_ylim())
        ax = fig.add_subplot(1, 2, 2)
        xs, ps = ref.knots()
        ax.plot(xs, ps, color="#1565c0")
        if counted.count:
            ax.step(counted.grid, counted.through / n, where="post", color="#c62828")
        ax.set_ylabel("cumulative share")
        ax.set_yticks([0, 0.5, 1])
        low, high = ax.get_xlim()
        _few_ticks(ax.xaxis, low, high, bins=4)
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
        _few_ticks(ax.yaxis, *ax.get_ylim())
    height = fig.get_figheight()
    fig.suptitle(f"{name[:60]}: reference vs window", x=0.02, y=1 - 0.08 / height, ha="left",
                 va="top", fontsize=10)
    fig.legend(*fig.axes[0].get_legend_handles_labels(), loc="upper right", ncols=2, fontsize=8,
               frameon=False, bbox_to_anchor=(1 - 0.1 / fig.get_figwidth(), 1))
    return _png(fig)


def _series(timeline: Timeline) -> bytes:
    """One figure, one panel per metric family over the windows: lines, the estimate's band,
    the thresholds in each window, the stages as background, the reported window ringed and
    the panel of the metric that triggered the change framed in red."""
    n = len(timeline.panels)
    height = 0.45 + 0.6 + n * 1.35 + (n - 1) * 0.4
    fig = _figure(8.5, height, right=1.75, top=0.45, bottom=0.6)
    fig.subplots_adjust(hspace=0.4 / 1.35)
    axes = fig.subplots(n, 1, squeeze=False)[:, 0]
    x = np.asarray(timeline.x)
    marker = len(x) <= 60
    lo, hi = np.asarray(timeline.spans).T
    for ax, panel in zip(axes, timeline.panels, strict=True):
        _stages(ax, timeline)
        _panel(ax, panel, x, (lo, hi), marker)
        ax.set_xlim(lo[0], hi[-1])
        ax.set_xticks([])  # dates on the lowest panel only (ticks are a plot's dearest part)
    axes[-1].set_xticks(timeline.ticks, timeline.tick_labels, fontsize=8)
    axes[-1].set_xlabel(timeline.xlabel, fontsize=8)
    fig.suptitle("Metrics per window (background: the version's stage)", x=0.02, y=1 - 0.08 / height,
                 ha="left", va="top", fontsize=10)
    fig.legend(handles=_series_legend(timeline), loc="upper right", fontsize=7, frameon=False,
               bbox_to_anchor=(1, 1 - 0.45 / height))
    return _png(fig)


def _stages(ax: Any, timeline: Timeline) -> None:
    """The version's stage as background: one band per run of windows in the same stage, all
    in one collection spanning the panel's height."""
    from matplotlib.collections import PolyCollection

    stages, spans = timeline.stages, timeline.spans
    bands, colors = [], []
    first = 0
    for i in range(1, len(stages) + 1):
        if i == len(stages) or stages[i] != stages[first]:
            if stages[first] in _COLORS:
                low, high = spans[first][0], spans[i - 1][1]
                bands.append([(low, 0), (low, 1), (high, 1), (high, 0)])
                colors.append(_COLORS[stages[first]])
            first = i
    ax.add_collection(PolyCollection(bands, facecolors=colors, alpha=0.12, linewidths=0,
                                     transform=ax.get_xaxis_transform()), autolim=False)


#: Each kind of line's style, marker and colour.
_LINES: dict[str, tuple[Literal["-", "--"], str, str]] = {
    "perf": ("-", "o", "#1565c0"), "est": ("--", "s", "#6a1b9a"), "value": ("-", "o", "#37474f")}


def _panel(ax: Any, panel: Panel, x: np.ndarray, spans: tuple[np.ndarray, np.ndarray],
           marker: bool) -> None:
    """A panel's lines, band, reference, thresholds (per window: a reference band's moves with
    the window's rows), and its title naming the current window's breach."""
    if panel.band is not None:
        low, high = panel.band
        if len(x) > 1:
            ax.fill_between(x, low, high, color=_LINES["est"][2], alpha=0.15, linewidth=0)
        else:  # one window: its band as a bar
            ax.vlines(x, low, high, color=_LINES["est"][2], alpha=0.3, linewidth=6)
    for key, ys in panel.lines.items():
        style, mark, color = _LINES[key]
        ax.plot(x, ys, linestyle=style, marker=mark if marker else "", color=color,
                markersize=3.5, linewidth=1.4)
        if np.isfinite(ys[-1]):
            ax.plot(x[-1:], ys[-1:], "o", markersize=9, markerfacecolor="none", color=color)
    if panel.reference is not None:
        ax.axhline(panel.reference, color="#757575", linestyle=":", linewidth=1)
    gaps = np.full(len(x), np.nan)  # one line per threshold, a segment per window
    for limit in panel.limits:
        color = _COLORS["degraded" if limit.level == "degraded" else "warning"]
        ax.plot(np.column_stack([*spans, gaps]).ravel(),
                np.column_stack([limit.values, limit.values, gaps]).ravel(),
                color=color, linestyle="--", linewidth=1.1)
    values = [v for ys in (*panel.lines.values(), *(panel.band or ()),
                           *(lim.values for lim in panel.limits)) for v in ys if np.isfinite(v)]
    values += [] if panel.reference is None else [panel.reference]
    _ylim(ax, values)
    ax.tick_params(labelsize=8)
    ax.set_title(panel.title, loc="left", fontsize=9, pad=3, y=1,  # y given: no layout pass
                 color=_COLORS["degraded"] if panel.trigger else "#222",
                 fontweight="bold" if panel.trigger else "normal")
    if panel.trigger:
        for spine in ax.spines.values():
            spine.set_edgecolor(_COLORS["degraded"])
            spine.set_linewidth(2)


def _ylim(ax: Any, values: list[float]) -> None:
    """A y range holding the values and thresholds; logarithmic when they span more than two
    orders of magnitude (a broken pipeline's reconstruction error next to its band)."""
    if not values:
        return
    low, high = min(values), max(values)
    if low > 0 and high / low > 1000:
        ax.set_yscale("log")
        ax.set_ylim(low / 1.5, high * 1.5)
        return
    pad = (high - low) * 0.1 or max(abs(high) * 0.05, 0.01)
    ax.set_ylim(low - pad, high + pad)
    _few_ticks(ax.yaxis, low - pad, high + pad)


def _few_ticks(axis: Any, low: float, high: float, bins: int = 3) -> None:
    """At most ``bins + 1`` round ticks within ``low``…``high``, fixed: a locator would also
    make ticks outside the view, and each tick costs more to draw than a line of data."""
    from matplotlib.ticker import MaxNLocator

    axis.set_ticks([v for v in MaxNLocator(nbins=bins).tick_values(low, high) if low <= v <= high])


def _series_legend(timeline: Timeline) -> list[Any]:
    """Legend entries for what the panels draw, stages included."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    panels = timeline.panels
    used = {key for p in panels for key in p.lines}
    out: list[Any] = [
        Line2D([], [], linestyle=_LINES[k][0], marker=_LINES[k][1], color=_LINES[k][2],
               markersize=3.5, label=label)
        for k, label in (("perf", "realized"), ("est", "estimated, 95 % band")) if k in used]
    out.append(Line2D([], [], marker="o", markersize=9, markerfacecolor="none", linestyle="",
                      color="#37474f", label="this window"))
    if any(p.reference is not None for p in panels):
        out.append(Line2D([], [], color="#757575", linestyle=":", label="reference"))
    levels = {lim.level for p in panels for lim in p.limits}
    out += [Line2D([], [], color=_COLORS[lvl], linestyle="--", label=f"{_WORD[lvl]} threshold")
            for lvl in ("warning", "degraded") if lvl in levels]
    out += [Patch(color=_COLORS[s], alpha=0.25, label=f"stage {s}")
            for s in ("healthy", "warning", "degraded") if s in timeline.stages]
    return out


_WORD = {"warning": "warn", "degraded": "degrade"}


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
    with warnings.catch_warnings():  # its chi-square on a category one side lacks divides by 0
        warnings.simplefilter("ignore", RuntimeWarning)
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
