"""The report people look at: a self-contained HTML page for one evaluation.

The page embeds its plots (:mod:`mlflow_decay.plots`) as data URIs (no external assets) and
escapes every string that comes from data or users (column names, category values, reasons).
Late labels add a section to it; Evidently's data-drift page is an optional second page.
"""

from __future__ import annotations

import base64
import html
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from .core.names import QUALITY_METRICS
from .core.panels import Row, metric_table
from .core.policy import Policy
from .core.profile import Profile
from .core.report import DecayReport, figure_text
from .core.times import span_label
from .plots import COLORS, captions

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
    rows = metric_table(report.metrics, report.rows, policy, profile, breaches, per_feature)
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
<style>{_STYLE}.status{{background:{COLORS.get(status, "#555")}}}</style></head><body>
<h1 id="summary">{e(report.model_uri)} <span class="status">{e(status)}</span></h1>
<p>window {e(bounds + f" ({report.timezone or 'UTC'})" if (bounds := span_label(
    report.window_start, report.window_end, report.timezone)) else "-")}, {report.rows} rows;
this window alone: {e(report.window_status)}; before: {e(report.previous_status or "-")};
policy: {e(report.policy)} (sha256 {policy.sha256()[:12]}); run: {e(report.run_id or "-")}</p>
<h2 id="reasons">Reasons</h2><ul>{reasons}</ul>
<h2 id="actions">Registry changes</h2><ul>{actions}</ul>
<h2 id="plots">Plots</h2>{imgs}
<h2 id="drift">Drift and data quality by feature</h2>
<table><tr><th>feature</th><th>kind</th><th>metric key</th><th>drifted</th><th>psi</th>
<th>js</th><th>ks</th><th>wasserstein</th><th>unseen share</th><th>missing rate</th>
<th>non-finite rate</th><th>out-of-range share</th></tr>{drift_rows}</table>
<h2 id="metrics">Metrics</h2>{_metrics_table(rows)}
<h2 id="notes">Notes</h2><ul>{notes}</ul>
<p>extra columns ignored: {e(", ".join(report.extra_columns) or "none")}</p>
</body></html>
"""


#: The late labels' section of a report page, between these marks (a later batch replaces it).
_LABELS = ("<!-- mlflow-decay: late labels -->", "<!-- /mlflow-decay: late labels -->")


def with_late_labels(page: str, metrics: dict[str, float], labelled: int, verdict: str,
                     before: str, stage: str | None, when: str, policy: Policy,
                     profile: Profile, notes: Sequence[str] = ()) -> str | None:
    """An evaluation's report ``page`` with a section on the late labels joined onto its
    window (in place of an earlier batch's), above its reasons: ``labelled`` rows, the realized
    metrics among the run's ``metrics`` as the ``policy`` (named) judges them, the window's ``verdict``
    with them (``before``: without these), and the version's ``stage`` after the window,
    replayed (``None``: the window was not applied), and the ``notes`` on them. ``None`` when
    the page has no reasons heading to put it above (not a report of ours)."""
    e = html.escape
    at = page.find('<h2 id="reasons">')
    start, end = page.find(_LABELS[0]), page.find(_LABELS[1])
    if start >= 0 and end > start:
        page, at = page[:start] + page[end + len(_LABELS[1]):], start
    elif at < 0:
        return None
    rows = int(metrics.get("quality.rows", 0))
    _, breaches = policy.decide(metrics, profile.bands, rows)
    realized = {k: v for k, v in metrics.items() if k.startswith(("perf.", "labels."))}
    reasons = "".join(f"<li>{e(str(b))}</li>" for b in breaches) or "<li>none</li>"
    after = (f" The version's stage after this window, replayed with them: <b>{e(stage)}</b>."
             if stage else " The window was not applied (still open, or fewer rows than the "
             "policy's min_rows), so no stage follows from it.")
    section = (
        f'{_LABELS[0]}\n<section id="late-labels"><h2>Late labels <span class="status" '
        f'style="background:{COLORS.get(stage or verdict, "#555")}">{e(stage or verdict)}'
        f'</span></h2>\n<p>Joined {e(when)} UTC:'
        f" {labelled} of {rows} rows have a label. With them this window alone is "
        f"<b>{e(verdict)}</b> (before these labels: {e(before)}).{after} Judged by policy "
        f"{e(policy.source)} (sha256 {policy.sha256()[:12]}). The rest of the page "
        "is the evaluation as it was logged, without these labels.</p>\n<h3>Reasons</h3>"
        f"<ul>{reasons}</ul>\n"
        f"{_metrics_table(metric_table(realized, rows, policy, profile, breaches))}"
        + ("<h3>Notes</h3><ul>" + "".join(f"<li>{e(n)}</li>" for n in notes) + "</ul>"
           if notes else "") + "</section>\n"
        f"{_LABELS[1]}\n")
    return page[:at] + section + page[at:]


def _cell(value: float | None) -> str:
    return "-" if value is None else figure_text(value)


def _metrics_table(groups: list[tuple[str, list[Row]]]) -> str:
    """The metrics table: a heading row per family, then its metrics (a breached one shaded
    by level, an estimate with its band)."""
    e = html.escape
    out = ['<table class="metrics"><tr><th>metric</th><th>reference</th><th>window</th>'
           '<th>delta</th><th class="threshold">threshold (policy)</th></tr>']
    for family, rows in groups:
        out.append(f'<tr><th class="family" colspan="5">{e(family)}</th></tr>')
        for row in rows:
            value = _cell(row.value)
            if row.low is not None and row.high is not None:
                value += f" ({_cell(row.low)} to {_cell(row.high)})"
            delta = "-" if row.delta is None else figure_text(row.delta, sign=True)
            if row.ratio is not None:  # what a ratio rule ("degrade × ≥ 1.25") judges
                delta = f"{'' if row.delta is None else delta + ' '}(× {row.ratio:.4g})"
            level = f' class="{row.level}"' if row.level else ""
            out.append(f"<tr{level}><td>{e(row.metric)}</td><td>{_cell(row.reference)}</td>"
                       f"<td>{value}</td><td>{delta}</td>"
                       f'<td class="threshold">{e(row.threshold) or "-"}</td></tr>')
    return "".join(out) + "</table>"


def evidently_report(sample: pd.DataFrame, window: pd.DataFrame) -> tuple[bytes | None, str | None]:
    """Evidently's data-drift HTML for the stored raw reference sample vs the window.

    Returns the page (or ``None``) and a note when it could not be made.
    """
    columns = [c for c in sample.columns if c in window.columns]
    if not columns or sample.empty:
        return None, "Evidently report left out: the stored reference sample has no rows or columns"
    try:
        from evidently import Report
        from evidently.presets import DataDriftPreset

        with warnings.catch_warnings():  # its chi-square on a category one side lacks divides by 0
            warnings.simplefilter("ignore", RuntimeWarning)
            snapshot = Report([DataDriftPreset()]).run(current_data=window[columns],
                                                        reference_data=sample[columns])
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "evidently.html"
            snapshot.save_html(str(path))
            return path.read_bytes(), None
    except Exception as exc:  # an optional view (a window's all-missing column fails it):
        # never let it break an evaluation
        return None, f"Evidently report left out: {type(exc).__name__}: {str(exc)[:120]}"
