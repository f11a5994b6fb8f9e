"""PNG plots of an evaluation and of a comparison, drawn with matplotlib (imported here only).

Per-feature drift bars, reference vs window distributions of the most drifted features, the
version's metric series with threshold lines and stage bands, and a champion vs challenger
panel. The window's side of each plot comes from its statistics, so windows read in batches or
from Spark get the same plots.
"""

from __future__ import annotations

import contextlib
import gc
import io
from collections.abc import Iterator, Sequence
from typing import Any, Literal

import numpy as np

from .core.panels import Panel, Timeline, timeline
from .core.policy import Policy
from .core.profile import CategoricalSummary, NumericSummary, Profile
from .core.report import DecayReport
from .core.window import CategoricalStats, ColumnStats, NumericStats, WindowStats

#: Each stage's colour, in the plots and on the page's badge.
COLORS = {"healthy": "#2e7d32", "warning": "#f9a825", "degraded": "#c62828"}


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
        data = timeline(series, policy, profile, breaches, report.timezone) if series else None
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


def _effect_name(metric: str) -> str:
    """A drift metric as the bars show it (the Wasserstein distance is in reference sds)."""
    return "wasserstein / ref. sd" if metric == "wasserstein" else metric


def _drift_bars(report: DecayReport, profile: Profile, policy: Policy) -> bytes:
    names = _top_features(report, profile, policy)[:15][::-1]
    labels = [n[:30] for n in names]
    kinds = [profile.features[n].kind for n in names]
    keys = profile.metric_keys
    values = [report.metrics[f"drift.{keys[n]}.{policy.feature_metric(k)}"]
              for n, k in zip(names, kinds, strict=True)]
    lines = [policy.feature_threshold(k) for k in kinds]
    shown = {k: _effect_name(policy.feature_metric(k)) for k in ("numerical", "categorical")
             if k in kinds}
    xlabel = ("drift effect size (" + ", ".join(f"{k}: {m}" for k, m in shown.items())
              + "; dashed: threshold)")
    # past its line yet grey: the effect is large enough, the two-sample test cannot tell it
    # from this window's sampling noise (few rows); said where it happens
    noise = any(v >= line and n not in report.drifted_features
                for n, v, line in zip(names, values, lines, strict=True))
    title = "Drift by feature (red: judged drifted)" + (
        "\ngrey past its line: within sampling noise at this window's rows" if noise else "")
    left = 0.3 + 0.075 * max(map(len, labels), default=1)
    # the axes as wide as the axis label (centred under the bars) and the title, whatever
    # the names beside them
    width = left + 0.2 + max(4.4, 0.075 * max(len(xlabel), *map(len, title.split("\n"))))
    extra = 0.2 * title.count("\n")
    fig = _figure(width, 0.3 * len(names) + 1.2 + extra, left=left, top=0.35 + extra)
    ax = fig.add_subplot()
    colors = [COLORS["degraded"] if n in report.drifted_features else "#607d8b" for n in names]
    ax.barh(range(len(names)), values, color=colors)
    ax.set_yticks(range(len(names)), labels)
    if len(set(lines)) == 1:
        ax.axvline(lines[0], color="#999", linestyle="--", linewidth=1)
    else:  # each kind's own threshold, at its bars
        ax.vlines(lines, np.arange(len(names)) - 0.45, np.arange(len(names)) + 0.45,
                  color="#999", linestyle="--", linewidth=1)
    low, high = ax.get_xlim()
    _few_ticks(ax.xaxis, low, high, bins=4)
    ax.set_xlabel(xlabel)
    ax.set_title(title, y=1)  # y given: no title layout pass
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
        ax.set_xticks(x[::step], _bin_labels(ref.edges)[::step], rotation=60, fontsize=7)
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


def _bin_labels(edges: Sequence[float]) -> list[str]:
    """Each bin ``(-inf, e1), [e1, e2), ..., [ek, inf)`` by where it starts: the first as
    below ``e1``, the last as above the value before it when it only closes that value's bin
    (a column of few values: one bin per value, one below and one above them); written as
    the series' ticks are (``1457``, ``250k``: ``.3g`` wrote ``1.46e+03``)."""
    last = (f">{_tick_label(edges[-2])}"
            if len(edges) > 1 and edges[-1] == np.nextafter(edges[-2], np.inf)
            else f"≥{_tick_label(edges[-1])}")
    return [f"<{_tick_label(edges[0])}", *(_tick_label(v) for v in edges[:-1]), last]


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
        _panel(ax, panel, x, (lo, hi), marker, timeline.current)
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
            if stages[first] in COLORS:
                low, high = spans[first][0], spans[i - 1][1]
                bands.append([(low, 0), (low, 1), (high, 1), (high, 0)])
                colors.append(COLORS[stages[first]])
            first = i
    ax.add_collection(PolyCollection(bands, facecolors=colors, alpha=0.12, linewidths=0,
                                     transform=ax.get_xaxis_transform()), autolim=False)


#: Each kind of line's style, marker and colour.
_LINES: dict[str, tuple[Literal["-", "--"], str, str]] = {
    "perf": ("-", "o", "#1565c0"), "est": ("--", "s", "#6a1b9a"), "value": ("-", "o", "#37474f")}


def _panel(ax: Any, panel: Panel, x: np.ndarray, spans: tuple[np.ndarray, np.ndarray],
           marker: bool, current: int) -> None:
    """A panel's lines, band, reference, thresholds (per window: a reference band's moves with
    the window's rows), the reported window (``current``, an index of ``x``) ringed, and its
    title naming that window's breach."""
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
    if panel.reference is not None:
        ax.axhline(panel.reference, color="#757575", linestyle=":", linewidth=1)
    gaps = np.full(len(x), np.nan)  # one line per threshold, a segment per window
    for limit in panel.limits:
        color = COLORS["degraded" if limit.level == "degraded" else "warning"]
        ax.plot(np.column_stack([*spans, gaps]).ravel(),
                np.column_stack([limit.values, limit.values, gaps]).ravel(),
                color=color, linestyle="--", linewidth=1.1)
    for key, ys in panel.lines.items():  # over every line, unclipped: the last window sits
        if np.isfinite(ys[current]):    # on the panel's edge, hundreds of windows beside it
            ax.plot(x[current], ys[current], "o", markersize=9, markerfacecolor="none",
                    markeredgewidth=1.5, color=_LINES[key][2], zorder=4, clip_on=False)
    values = [v for ys in (*panel.lines.values(), *(panel.band or ()),
                           *(lim.values for lim in panel.limits)) for v in ys if np.isfinite(v)]
    values += [] if panel.reference is None else [panel.reference]
    _ylim(ax, values)
    ax.tick_params(labelsize=8)
    ax.set_title(panel.title, loc="left", fontsize=9, pad=3, y=1,  # y given: no layout pass
                 color=COLORS["degraded"] if panel.trigger else "#222",
                 fontweight="bold" if panel.trigger else "normal")
    if panel.trigger:
        for spine in ax.spines.values():
            spine.set_edgecolor(COLORS["degraded"])
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

    ticks = [v for v in MaxNLocator(nbins=bins).tick_values(low, high) if low <= v <= high]
    axis.set_ticks(ticks, [_tick_label(v) for v in ticks])


def _tick_label(value: float) -> str:
    """A tick's value written whole and short (8.5M, 250k, 0.25): matplotlib's own labels of a
    regression's errors in the millions put their scale ("1e7") over the panel's title."""
    for scale, suffix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= 10 * scale or (abs(value) >= scale and scale >= 1e6):
            return f"{value / scale:.4g}{suffix}"
    return f"{value:.4g}"


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
    out += [Line2D([], [], color=COLORS[lvl], linestyle="--", label=f"{_WORD[lvl]} threshold")
            for lvl in ("warning", "degraded") if lvl in levels]
    out += [Patch(color=COLORS[s], alpha=0.25, label=f"stage {s}")
            for s in ("healthy", "warning", "degraded") if s in timeline.stages]
    return out


_WORD = {"warning": "warn", "degraded": "degrade"}


def comparison_panel(comparison: Any) -> bytes:
    """Champion vs challenger: their shared metrics side by side, as one PNG, one row per metric
    on its own scale (a regression's RMSE in the millions beside a PSI of 0.7 left the drift
    bars invisible), named in full above its bars, each bar with its value."""
    a, b = comparison.labels
    m = comparison.metrics
    names = [k[len(f"compare.{a}."):] for k in m if k.startswith(f"compare.{a}.")
             and f"compare.{b}.{k[len(f'compare.{a}.'):]}" in m]
    row, window = 0.62, comparison.window
    top = 0.6 + (0.2 if window else 0.0)  # a line under the title names the window
    fig = _figure(7, row * max(len(names), 1) + 0.3 + top, left=0.2, right=0.2, top=top,
                  bottom=0.25)
    fig.subplots_adjust(hspace=0.3 / (row - 0.3))
    axes = fig.subplots(max(len(names), 1), 1, squeeze=False)[:, 0]
    for ax, name in zip(axes, names, strict=False):
        values = [m[f"compare.{a}.{name}"], m[f"compare.{b}.{name}"]]
        ax.barh([1, 0], values, 0.8, color=["#1565c0", "#ef6c00"])
        finite = [v for v in values if np.isfinite(v)]
        low, high = min(0.0, *finite), max(0.0, *finite)
        ax.set_xlim(low - 0.02 * (high - low or 1), high + 0.25 * (high - low or 1))
        for y, v in ((1, values[0]), (0, values[1])):
            ax.text(max(v, 0.0) if np.isfinite(v) else 0.0, y, f" {v:,.4g}", va="center",
                    fontsize=7)
        ax.set_yticks([])
        ax.set_xticks([])
        ax.set_title(name, loc="left", fontsize=8, pad=2)
    for ax in axes[len(names):]:
        ax.set_axis_off()
    title = f"{a} (blue) vs {b} (orange)"
    if comparison.delong is not None:
        title += f": AUC diff {comparison.delong.diff:+.3f}, p = {comparison.delong.p_value:.2g}"
    elif (paired := comparison.paired) is not None:
        title += f": {paired.metric} {-paired.gain:+.1%}, p = {paired.p_value:.2g}"
    fig.suptitle(title, x=0.02, y=1 - 0.1 / fig.get_figheight(), ha="left", va="top",
                 fontsize=10)
    if window:  # on the clock of the zone that placed it, as the comparison's table shows it
        fig.text(0.02, 1 - 0.36 / fig.get_figheight(), f"window {window}",
                 ha="left", va="top", fontsize=8, color="#424242")
    return _png(fig)
