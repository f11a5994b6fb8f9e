"""The report answers "when" and "why": series.png holds every window of the version (the
reported one included) on window dates, one panel per metric family with the policy's
thresholds and the triggering metric marked; the metrics table groups by family with reference
values and thresholds; the plots are not blank; notes never contradict the actions."""

from __future__ import annotations

import html
import io
import itertools
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import make_frame, reference_profile

import mlflow_decay as md
from mlflow_decay import plots, recording, registry
from mlflow_decay.core.panels import SERIES_WINDOWS, Timeline, metric_table, timeline
from mlflow_decay.core.policy_file import DEFAULT_POLICY
from mlflow_decay.core.rules import Breach

pytestmark = pytest.mark.plots  # its windows' plots are drawn (tests/conftest.py)

WEEKS = ("2026-01-05", "2026-01-12", "2026-01-19", "2026-01-26")


def _point(status: str, start: str | None, end: str | None, key: str | None = None,
           **metrics: float) -> dict[str, object]:
    return {"status": status, "start": start, "end": end, "key": key,
            "metrics": {"quality.rows": 2000.0, **metrics}}


def _weekly(n: int) -> list[dict[str, object]]:
    """``n`` weekly windows decaying: AUC down, prediction PSI and drift share up."""
    return [_point(("healthy", "warning", "degraded", "degraded")[i], WEEKS[i], WEEKS[i + 1],
                   key=f"k{i}", **{"perf.roc_auc": 0.94 - 0.03 * i, "est.roc_auc": 0.94 - 0.02 * i,
                                   "est.roc_auc.lower": 0.92 - 0.02 * i,
                                   "est.roc_auc.upper": 0.96 - 0.02 * i,
                                   "drift.prediction.psi": 0.05 + 0.1 * i,
                                   "drift.share": 0.25 * i})
            for i in range(n)]


def _pixels(png: bytes) -> np.ndarray:
    import matplotlib.image

    return matplotlib.image.imread(io.BytesIO(png), format="png")


def _not_blank(png: bytes) -> None:
    """A decoded plot with ink on it: pixel variance and a palette of colours."""
    image = _pixels(png)
    assert image.ndim == 3 and image.shape[0] > 100 and image.shape[1] > 100
    assert float(image[..., :3].std()) > 0.05
    colours = np.unique((image[..., :3] * 255).astype(np.uint8).reshape(-1, 3), axis=0)
    assert len(colours) > 20


def test_series_of_windows_cut_on_a_zones_clock_is_dated_on_it() -> None:
    """Before: New York's days (cut by monitor --timezone) were dated on the series plot at
    their UTC boundaries, with hours (``03-07 05:00``, ``03-09 04:00``: the day the clocks
    went forward is 23 hours, so a "window shorter than a day"), under "window dates (UTC)"."""
    days = pd.date_range("2026-03-06", "2026-03-11", freq="D", tz="America/New_York")
    points = [_point("healthy", a.tz_convert("UTC").isoformat(), b.tz_convert("UTC").isoformat(),
                     key=f"k{i}", **{"perf.roc_auc": 0.9})
              for i, (a, b) in enumerate(itertools.pairwise(days))]
    data = timeline(points, DEFAULT_POLICY, reference_profile(), timezone="America/New_York")
    assert data.xlabel == "window dates (America/New_York)"
    assert data.tick_labels == [d.strftime("%Y-%m-%d") for d in days]
    hours = timeline(points, DEFAULT_POLICY, reference_profile(), timezone="Asia/Tokyo")
    assert hours.tick_labels[:2] == ["03-06 14:00", "03-07 14:00"]  # New York's midnights
    utc = timeline(points, DEFAULT_POLICY, reference_profile())
    assert utc.xlabel == "window dates (UTC)" and utc.tick_labels[0] == "03-06 05:00"


def test_hours_then_weeks_get_ticks_spread_along_the_axis() -> None:
    """Before: every third of the 18 boundaries was ticked, so five of the six ticks fell in
    the first 12 hours of a 29-day axis, their labels on top of each other."""
    hours = pd.date_range("2026-01-05", periods=13, freq="h", tz="UTC")
    weeks = pd.date_range("2026-01-06", periods=5, freq="7D", tz="UTC")
    spans = [*itertools.pairwise(hours), (hours[-1], weeks[0]), *itertools.pairwise(weeks)]
    points = [_point("healthy", a.isoformat(), b.isoformat(), key=f"k{i}",
                     **{"drift.share": 0.1}) for i, (a, b) in enumerate(spans)]
    data = timeline(points, DEFAULT_POLICY, reference_profile())
    axis = data.ticks[-1] - data.ticks[0]
    assert 3 <= len(data.ticks) <= 6 and axis > 25
    assert min(b - a for a, b in itertools.pairwise(data.ticks)) >= axis / 6
    assert data.tick_labels[0] == "01-05 00:00" and data.tick_labels[-1] == "02-03 00:00"


def test_series_holds_every_window_on_dates_with_family_panels_and_thresholds() -> None:
    profile = reference_profile()
    points = _weekly(3)
    trigger = Breach("drift.prediction.psi", 0.25, 0.25, "degraded", "above")
    data = timeline(points, DEFAULT_POLICY, profile, [trigger])
    assert len(data.x) == len(points) == 3 and data.dated
    assert data.stages == ["healthy", "warning", "degraded"]
    assert data.tick_labels[0] == "2026-01-05" and "2026-01-26" in data.tick_labels
    assert data.xlabel == "window dates (UTC)"
    families = [p.family for p in data.panels]
    assert families == ["performance", "prediction drift", "drift share"]  # no multivariate data
    perf, psi, share = data.panels
    assert perf.metric == "roc_auc" and set(perf.lines) == {"perf", "est"}
    assert perf.band is not None and perf.band[0][2] == pytest.approx(0.88)
    # the delta rule drawn on the metric: the profile's reference AUC plus warn/degrade
    reference = profile.performance["roc_auc"]
    lines = {(lim.level, lim.side): lim.values for lim in perf.limits}
    assert lines[("warning", "below")] == pytest.approx([reference - 0.02] * 3)
    assert lines[("degraded", "below")] == pytest.approx([reference - 0.05] * 3)
    assert psi.trigger and not perf.trigger and psi.breach is trigger
    assert {(lim.level, lim.values[0]) for lim in psi.limits} == {("warning", 0.1),
                                                                  ("degraded", 0.25)}
    assert [lim.values for lim in share.limits] == [[0.3] * 3]


def test_first_window_alone_and_windows_without_dates() -> None:
    profile = reference_profile()
    first = timeline(_weekly(1), DEFAULT_POLICY, profile)
    assert len(first.x) == 1 and first.spans[0][1] - first.spans[0][0] == pytest.approx(7)
    assert first.tick_labels == ["2026-01-05", "2026-01-12"]
    undated = [_point("healthy", None, None, **{"drift.share": v}) for v in (0.1, 0.2)]
    undated.append(_point("warning", "2026-01-05", "2026-01-12", **{"drift.share": 0.4}))
    data = timeline(undated, DEFAULT_POLICY, profile)
    assert not data.dated and data.x == [1.0, 2.0, 3.0] and data.tick_labels == ["1", "2", "3"]
    assert [p.family for p in data.panels] == ["drift share"]  # no data: no panel, never blank


def test_a_rerun_replaces_its_window_and_an_unplotted_trigger_gets_its_panel() -> None:
    profile = reference_profile()
    points = _weekly(2)
    again = dict(points[0], metrics={**points[0]["metrics"], "drift.share": 0.9})  # type: ignore[dict-item]
    trigger = Breach("quality.prediction.missing_rate", 0.2, 0.1, "degraded", "above")
    later = _point("degraded", WEEKS[2], WEEKS[3], **{"quality.prediction.missing_rate": 0.2})
    data = timeline([*points, again, later], DEFAULT_POLICY, profile, [trigger])
    assert len(data.x) == 3 and data.x == sorted(data.x)  # window order, the rerun replacing
    share = next(p for p in data.panels if p.family == "drift share")
    assert share.lines["value"][0] == 0.9
    extra = data.panels[-1]
    assert extra.family == "trigger" and extra.trigger
    assert extra.metric == "quality.prediction.missing_rate"
    assert {lim.level for lim in extra.limits} == {"warning", "degraded"}


def test_reference_band_thresholds_follow_each_windows_rows() -> None:
    profile = reference_profile()
    name = "drift.multivariate.reconstruction_error"
    mean, sd, chunk = profile.bands[name]
    points = [_point("healthy", WEEKS[i], WEEKS[i + 1], **{name: mean}) for i in range(2)]
    points[1]["metrics"]["quality.rows"] = 4 * chunk  # type: ignore[index]
    points[0]["metrics"]["quality.rows"] = chunk  # type: ignore[index]
    panel = timeline(points, DEFAULT_POLICY, profile).panels[-1]
    assert panel.family == "multivariate" and panel.reference == mean
    upper = next(lim.values for lim in panel.limits if lim.level == "warning" and lim.side == "above")
    assert upper == pytest.approx([mean + 4 * sd, mean + 2 * sd])  # sd scaled by sqrt(1/4)


def test_metrics_table_groups_by_family_with_reference_delta_and_threshold() -> None:
    profile = reference_profile()
    reference = profile.performance["roc_auc"]
    metrics = {"perf.roc_auc": reference - 0.06, "perf.roc_auc.delta": -0.06,
               "est.roc_auc": 0.9, "est.roc_auc.lower": 0.88, "est.roc_auc.upper": 0.92,
               "drift.prediction.psi": 0.3, "drift.share": 0.5, "quality.rows": 2000.0,
               "drift.x1.psi": 0.2}
    status, breaches = DEFAULT_POLICY.decide(metrics, profile.bands, 2000)
    groups = dict(metric_table(metrics, 2000, DEFAULT_POLICY, profile, breaches, {"drift.x1.psi"}))
    assert list(groups) == ["performance (realized)",
                            "performance (estimated without labels, 95 % band)",
                            "prediction and target drift", "feature drift", "data quality"]
    auc = groups["performance (realized)"][0]
    assert (auc.metric, auc.reference, auc.delta, auc.level) == (
        "perf.roc_auc", reference, -0.06, "degraded")
    assert auc.threshold == "degrade Δ ≤ -0.05, warn Δ ≤ -0.02"
    est = groups["performance (estimated without labels, 95 % band)"][0]
    assert (est.low, est.high) == (0.88, 0.92)  # folded into its row
    psi = groups["prediction and target drift"][0]
    assert psi.reference == profile.bands["drift.prediction.psi"][0]
    assert psi.threshold == "degrade ≥ 0.25, warn ≥ 0.1"
    assert all(r.metric != "drift.x1.psi" for rows in groups.values() for r in rows)
    assert status == "degraded"


def _evaluate_weeks(uri: str, tracking_uri: str, shifts: tuple[float, ...],
                    policy: str | None = None) -> list[md.DecayReport]:
    return [md.evaluate(uri, make_frame(2000, 10 + i, shift=shift), tracking_uri=tracking_uri,
                        window_start=WEEKS[i], window_end=WEEKS[i + 1], policy=policy)
            for i, shift in enumerate(shifts)]


def test_logged_series_has_the_reported_window_and_plots_are_not_blank(
        tracking_uri: str, profiled: str, tmp_path: Path) -> None:
    reports = _evaluate_weeks(profiled, tracking_uri, (0.0, 0.6, 1.2))
    client = registry.client_for(tracking_uri)
    first = Path(client.download_artifacts(reports[0].run_id, "plots", str(tmp_path / "one")))
    assert (first / "series.png").exists()  # a version's first window: plotted too
    local = Path(client.download_artifacts(reports[-1].run_id, "", str(tmp_path / "last")))
    pngs = {p.name: p.read_bytes() for p in (local / "plots").iterdir()}
    for png in pngs.values():
        _not_blank(png)
    # what the last window's page plotted: the three logged windows, this one included
    ref = registry.resolve(client, profiled)
    points = recording.logged_series(client, ref, None)
    assert len(points) == 3 and points[-1]["key"] == reports[-1].window_key
    _, breaches = DEFAULT_POLICY.decide(reports[-1].metrics, reference_profile().bands,
                                        reports[-1].rows)
    data = timeline(points, DEFAULT_POLICY, reference_profile(), breaches)
    assert len(data.x) == 3 and data.tick_labels[0] == WEEKS[0]
    with plots._collector_paused():
        assert plots._series(data) == pngs["series.png"]
    trigger = reports[-1].reasons[0].split(" = ")[0]
    assert [p for p in data.panels if p.trigger and trigger in (p.metric, *p.covers)]
    page = (local / "decay_report.html").read_text()
    for caption in ("Drift by feature", "The version&#x27;s windows", "x1: reference vs window"):
        assert f"<figcaption>{caption}" in page
    assert not re.search(r"<figcaption>[^<]*\.png", page)
    assert '<th class="family" colspan="5">performance (realized)</th>' in page
    auc = reference_profile().performance["roc_auc"]
    assert re.search(rf"<td>perf.roc_auc</td><td>{auc:.4g}</td><td>[^<]+</td><td>[-+][^<]+</td>"
                     r'<td class="threshold">degrade Δ ≤ -0.05, warn Δ ≤ -0.02</td>', page)


def _page_lists(page: str, section: str) -> list[str]:
    block = re.search(rf'id="{section}">.*?<ul>(.*?)</ul>', page, re.S)
    assert block is not None
    return [html.unescape(x) for x in re.findall(r"<li>(.*?)</li>", block.group(1))]


@pytest.mark.parametrize(("remove", "fate"), [(True, "it is removed (remove_aliases)"),
                                              (False, "it stays")])
def test_notes_never_contradict_the_actions(tracking_uri: str, profiled: str, tmp_path: Path,
                                            remove: bool, fate: str) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text('[actions]\nrollback_aliases = ["champion"]\n'
                      f'remove_aliases = {["champion"] if remove else []}\n'.replace("'", '"')
                      + "[hysteresis]\ndegrade_after = 1\n")
    client = registry.client_for(tracking_uri)
    client.set_registered_model_alias("churn", "champion", "1")
    (report,) = _evaluate_weeks(profiled, tracking_uri, (1.5,), str(policy))
    assert report.status == "degraded"
    page = Path(client.download_artifacts(report.run_id, "decay_report.html", str(tmp_path))
                ).read_text()
    actions, notes = _page_lists(page, "actions"), _page_lists(page, "notes")
    removed = [a for a in actions if a.startswith("remove alias @champion")]
    assert [n for n in notes if "no healthy version to roll @champion back to" in n] == [
        f"no healthy version to roll @champion back to; {fate}"]
    assert bool(removed) == remove
    assert ("champion" in registry.resolve(client, profiled).aliases) != remove


def test_report_page_with_panels_renders_in_headless_chromium(
        tracking_uri: str, profiled: str, tmp_path: Path) -> None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("chromium is not installed (Debian: apt-get install chromium)")
    reports = _evaluate_weeks(profiled, tracking_uri, (0.0, 1.2))
    client = registry.client_for(tracking_uri)
    page = Path(client.download_artifacts(reports[-1].run_id, "decay_report.html", str(tmp_path)))
    shot = tmp_path / "report.png"
    subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={shot}",
         "--window-size=1200,1600", page.as_uri()], capture_output=True, timeout=120)
    _not_blank(shot.read_bytes())
    # the plots sit high on the page: the screenshot's upper part holds the series' stages
    top = _pixels(shot.read_bytes())[:1600, :, :3]
    healthy = np.array([0x2e, 0x7d, 0x32]) / 255 * 0.12 + (1 - 0.12)  # the stage's tint
    assert (np.abs(top - healthy).max(axis=-1) < 0.03).sum() > 1000


def _regression_profile() -> md.Profile:
    """A regression whose errors grow with ``|x|`` (its loss model has something to read)."""
    rng = np.random.default_rng(2)
    x = rng.normal(0, 1, 3000)
    return md.build_profile(
        pd.DataFrame({"x": x, "y": 2 * x + rng.normal(0, 0.5 * (1 + np.abs(x))), "yhat": 2 * x}),
        target="y", prediction="yhat", task="regression", band_chunks=0)


def test_a_regressions_ratio_rule_is_drawn_on_its_error_and_named_in_the_table() -> None:
    profile = _regression_profile()
    reference = profile.estimated_performance["rmse"]
    points = [_point("warning", WEEKS[i], WEEKS[i + 1], key=f"k{i}",
                     **{"est.rmse": reference * (1 + 0.2 * i), "est.rmse.ratio": 1 + 0.2 * i})
              for i in range(2)]
    trigger = Breach("est.rmse.ratio", 1.2, 1.1, "warning", "above")
    perf = timeline(points, DEFAULT_POLICY, profile, [trigger]).panels[0]
    assert perf.metric == "rmse" and perf.trigger and perf.breach is trigger
    lines = {(lim.level, lim.side): lim.values for lim in perf.limits}
    assert lines[("warning", "above")] == pytest.approx([reference * 1.1] * 2)
    assert lines[("degraded", "above")] == pytest.approx([reference * 1.25] * 2)
    (_, rows), = [g for g in metric_table(points[1]["metrics"], 2000, DEFAULT_POLICY,
                                          profile, [trigger]) if g[0].startswith("perf")]
    row, = [r for r in rows if r.metric == "est.rmse"]
    assert row.threshold == "degrade × ≥ 1.25, warn × ≥ 1.1" and row.level == "warning"


# trial 5: a window evaluated again with other rows (a late file, a corrected feed)
# after later windows were logged
def test_a_window_evaluated_again_replaces_its_date_and_is_the_one_ringed() -> None:
    """Before: its two evaluations (other rows: other keys) were both drawn at its date, a
    vertical zig-zag, and the ring marked the latest date's window, not the reported one."""
    profile = reference_profile()
    points = _weekly(3)
    late = _point("degraded", WEEKS[0], WEEKS[1], key="k0-late",
                  **{"drift.share": 0.75, "drift.prediction.psi": 0.05})
    data = timeline([*points, late], DEFAULT_POLICY, profile)
    assert len(data.x) == 3 and data.x == sorted(data.x)
    assert data.current == 0  # the reported window, first by date
    share = next(p for p in data.panels if p.family == "drift share")
    assert share.lines["value"] == [0.75, 0.25, 0.5]
    assert data.stages == ["degraded", "warning", "degraded"]
    assert timeline(points, DEFAULT_POLICY, profile).current == 2  # else the last window
    # chunks of rows that share one timestamp are their rows: both drawn
    moment = "2026-01-05T00:00:00+00:00"
    chunks = [_point("healthy", moment, moment, key=k, **{"drift.share": v})
              for k, v in (("a", 0.0), ("b", 0.25))]
    assert len(timeline(chunks, DEFAULT_POLICY, profile).x) == 2


def test_the_reported_windows_ring_is_drawn_over_every_line_and_not_clipped() -> None:
    """Before: the ring went under the lines drawn after it and was clipped at the panel's
    edge, where the last window sits: with a year of daily windows half a ring showed on
    the drift share panel and none on the others."""
    from matplotlib.figure import Figure

    points = _weekly(3)
    data = timeline(points, DEFAULT_POLICY, reference_profile())
    ax = Figure().subplots()
    perf = data.panels[0]
    lo, hi = np.asarray(data.spans).T
    plots._panel(ax, perf, np.asarray(data.x), (lo, hi), True, data.current)
    rings = [line for line in ax.lines if line.get_markersize() == 9]
    others = [line for line in ax.lines if line.get_markersize() != 9]
    assert len(rings) == 2  # realized and estimated
    assert all(not r.get_clip_on() for r in rings)
    assert min(r.get_zorder() for r in rings) > max(o.get_zorder() for o in others)
    assert [float(np.ravel(r.get_xdata())[0]) for r in rings] == [data.x[-1]] * 2


def test_the_series_shows_the_newest_windows_or_those_ending_with_a_late_one() -> None:
    """Before: every window the version ever logged was drawn (a year of hourly windows: a
    smear of 8,760 points, and every logged window read them all back)."""
    profile = reference_profile()
    day = pd.Timestamp("2026-01-01", tz="UTC")
    n = 2 * SERIES_WINDOWS + 20
    points = [_point("healthy", (day + pd.Timedelta(days=d)).isoformat(),
                     (day + pd.Timedelta(days=d + 1)).isoformat(), key=f"d{d}",
                     **{"drift.share": d / 1000}) for d in range(n)]

    def shown(data: Timeline) -> list[float]:
        return next(p for p in data.panels if p.family == "drift share").lines["value"]

    data = timeline(points, DEFAULT_POLICY, profile)
    assert len(data.x) == SERIES_WINDOWS and data.current == SERIES_WINDOWS - 1
    assert shown(data)[0] == pytest.approx((n - SERIES_WINDOWS) / 1000)  # the oldest left out
    # a window evaluated late (older than those): shown last, with the windows before it
    late = SERIES_WINDOWS + 5
    again = dict(points[late], key="again", metrics={"quality.rows": 2000.0, "drift.share": 0.9})
    data = timeline([*points, again], DEFAULT_POLICY, profile)
    assert len(data.x) == SERIES_WINDOWS and data.current == SERIES_WINDOWS - 1
    assert shown(data)[-1] == 0.9 and shown(data)[0] == pytest.approx(6 / 1000)
    # near the start: the first windows, the late one among them
    again = dict(points[3], key="again", metrics={"quality.rows": 2000.0, "drift.share": 0.9})
    data = timeline([*points, again], DEFAULT_POLICY, profile)
    assert len(data.x) == SERIES_WINDOWS and data.current == 3 and shown(data)[3] == 0.9


# trial 6 (helper 6A): a regression's daily windows, late labels on the older ones
def test_a_regressions_performance_panel_keeps_the_estimate_once_some_windows_have_labels(
        ) -> None:
    """Before: once any window had labels the panel showed realized r2 (a regression's first
    preferred metric, which has no estimate), so the unlabelled windows' est.rmse, the metric
    judging them, vanished from the plot and the reported window had no performance point."""
    profile = _regression_profile()
    rmse = profile.estimated_performance["rmse"]
    points = [_point("healthy", WEEKS[i], WEEKS[i + 1], key=f"k{i}",
                     **{"est.rmse": rmse, "est.rmse.ratio": 1.0, "est.rmse.lower": 0.9 * rmse,
                        "est.rmse.upper": 1.1 * rmse, "est.mae": 0.8 * rmse,
                        **({"perf.rmse": rmse, "perf.r2": 0.8, "perf.mae": 0.8 * rmse}
                           if i < 2 else {})})
              for i in range(3)]
    perf = timeline(points, DEFAULT_POLICY, profile).panels[0]
    assert perf.metric == "rmse"
    assert perf.lines["est"][-1] == pytest.approx(rmse)  # the reported window has its point
    assert perf.lines["perf"][:2] == pytest.approx([rmse] * 2)


def test_the_comparison_panel_shows_every_metric_on_its_own_scale_and_names_it_whole(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Before: one axis for every metric, so a regression's RMSE in the millions left the
    PSI and drift-share bars a fraction of a pixel wide, and the names were cut at the left
    edge ('iction.psi'; perf.roc_auc_ovr and est.roc_auc_ovr both read '_auc_ovr')."""
    from matplotlib.patches import Rectangle

    from mlflow_decay.core.report import Comparison

    values = {"perf.rmse": (8_275_356.5, 7_860_877.0), "est.roc_auc_ovr": (0.943, 0.984),
              "drift.prediction.psi": (0.7173, 0.6875),
              "drift.multivariate.reconstruction_error": (0.7694, 0.7694)}
    metrics = {f"compare.{side}.{name}": pair[i] for name, pair in values.items()
               for i, side in enumerate(("champion", "challenger"))}
    drawn: list[object] = []
    monkeypatch.setattr(plots, "_png", lambda fig: drawn.append(fig) or b"")
    plots.comparison_panel(Comparison(models=["models:/m/1", "models:/m/2"],
                                      labels=["champion", "challenger"],
                                      statuses=["healthy", "healthy"], metrics=metrics))
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = drawn[0]
    renderer = FigureCanvasAgg(fig).get_renderer()
    texts = [t for ax in fig.axes  # type: ignore[attr-defined]
             for t in (*ax.get_yticklabels(), ax.title, ax._left_title)]
    for name, pair in values.items():
        shown = [t for t in texts if t.get_text() == name]
        assert shown, name
        assert all(t.get_window_extent(renderer).x0 >= 0 for t in shown), name
        for value in pair:
            widths = [ax.transData.transform((p.get_width(), 0))[0]
                      - ax.transData.transform((0, 0))[0]
                      for ax in fig.axes for p in ax.patches  # type: ignore[attr-defined]
                      if isinstance(p, Rectangle) and p.get_width() == pytest.approx(value)]
            assert widths and max(widths) > 20, (name, value, widths)  # pixels


def test_the_comparison_panel_names_its_window_on_the_zones_clock(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Before: a comparison's panel named no window: a New York team's nightly panels of March
    8 and 9 could not be told apart. The window is named under the title, on the zone's
    clock (New York's March 8: 23 hours), inside the figure, clear of the title and bars."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from mlflow_decay.core.report import Comparison

    metrics = {"compare.champion.perf.roc_auc": 0.81, "compare.challenger.perf.roc_auc": 0.84}
    drawn: list[object] = []
    monkeypatch.setattr(plots, "_png", lambda fig: drawn.append(fig) or b"")
    for zone in ("America/New_York", None):
        plots.comparison_panel(Comparison(
            models=["models:/m/1", "models:/m/2"], labels=["champion", "challenger"],
            statuses=["healthy", "healthy"], metrics=metrics,
            window_start="2026-03-08T05:00:00+00:00", window_end="2026-03-09T04:00:00+00:00",
            timezone=zone))
    shown = ["window 2026-03-08 00:00-05:00 → 03-09 00:00-04:00 (America/New_York)",
             "window 2026-03-08 05:00 → 03-09 04:00 (UTC)"]
    for fig, line in zip(drawn, shown, strict=True):
        renderer = FigureCanvasAgg(fig).get_renderer()
        (text,) = [t for t in fig.texts if t.get_text() == line]  # type: ignore[attr-defined]
        box = text.get_window_extent(renderer)
        title = fig._suptitle.get_window_extent(renderer)  # type: ignore[attr-defined]
        bars = max(ax.get_window_extent(renderer).y1 + 12  # the metric's name above its bars
                   for ax in fig.axes)  # type: ignore[attr-defined]
        assert box.x0 >= 0 and box.x1 <= fig.bbox.width  # type: ignore[attr-defined]
        assert bars <= box.y0 and box.y1 <= title.y0, (bars, box, title)


def test_a_regressions_errors_in_the_millions_are_labelled_whole_without_a_scale_over_the_title(
        ) -> None:
    """Before: a house-price model's RMSE (5.5e6) got matplotlib's labels 0.5, 0.75, 1.0 and a
    scale "1e7" written at the panel's top left, over its title ('1e7rformance: rmse')."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    rng = np.random.default_rng(2)
    x = rng.normal(0, 1, 1000)
    profile = md.build_profile(  # prices: errors in the millions
        pd.DataFrame({"x": x, "y": 2.7e7 + 5e6 * (x + rng.normal(0, 1, 1000)),
                      "yhat": 2.7e7 + 5e6 * x}),
        target="y", prediction="yhat", task="regression", band_chunks=0)
    reference = profile.estimated_performance["rmse"]
    points = [_point("healthy", WEEKS[i], WEEKS[i + 1], key=f"k{i}",
                     **{"est.rmse": reference * (1 + 0.3 * i),
                        "est.rmse.lower": 0.9 * reference * (1 + 0.3 * i),
                        "est.rmse.upper": 1.1 * reference * (1 + 0.3 * i),
                        "est.rmse.ratio": 1 + 0.3 * i})
              for i in range(3)]
    data = timeline(points, DEFAULT_POLICY, profile)
    ax = Figure().subplots()
    lo, hi = np.asarray(data.spans).T
    plots._panel(ax, data.panels[0], np.asarray(data.x), (lo, hi), True, data.current)
    FigureCanvasAgg(ax.figure).draw()
    assert ax.yaxis.get_offset_text().get_text() == ""
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels and all(t.endswith("M") for t in labels), labels
    values = [float(t[:-1]) * 1e6 for t in labels]
    assert values == pytest.approx(list(ax.get_yticks()))


def test_a_few_valued_columns_bins_are_labelled_below_each_value_and_above(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A rating forced numerical has one bin per value and one below and one above them; the
    labels read '<1', '1', ..., '5', '>5' (the bin of values above 5 read '5' like the 5s')."""
    from mlflow_decay.core.window import numeric_stats

    rng = np.random.default_rng(0)
    ref = pd.DataFrame({"stars": rng.choice([1.0, 2, 3, 4, 5], 3000),
                        "x": rng.normal(0, 1, 3000)})
    profile = md.build_profile(ref, band_chunks=0, numerical=["stars"])
    drawn: list[object] = []
    monkeypatch.setattr(plots, "_png", lambda fig: drawn.append(fig) or b"")
    plots._distribution("stars", profile, numeric_stats(profile.features["stars"],
                                                        np.full(100, 6.0)))
    bars = drawn[0].axes[0]  # type: ignore[attr-defined]
    assert [t.get_text() for t in bars.get_xticklabels()] == ["<1", "1", "2", "3", "4", "5", ">5"]


# trial 21 (helper g): a house's floor area and its list price as features
def test_a_features_bins_in_thousands_are_labelled_whole_not_in_scientific_notation(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Before: the floor area's bins read '<1.29e+03', '1.46e+03', ... and a price's
    '<2.5e+05'; now as the series' ticks are written: '<1290', '1457', ..., '250k'."""
    from mlflow_decay.core.window import numeric_stats

    rng = np.random.default_rng(0)
    ref = pd.DataFrame({"sqft": rng.normal(1800, 400, 3000),
                        "list_price": rng.normal(400_000, 90_000, 3000)})
    profile = md.build_profile(ref, band_chunks=0)
    drawn: list[object] = []
    monkeypatch.setattr(plots, "_png", lambda fig: drawn.append(fig) or b"")
    for name in ("sqft", "list_price"):
        summary = profile.features[name]
        plots._distribution(name, profile, numeric_stats(summary, ref[name].to_numpy()))
        labels = [t.get_text() for t in drawn[-1].axes[0].get_xticklabels()]  # type: ignore[attr-defined]
        assert labels and not any("e+" in t for t in labels), labels
        assert labels[0] == f"<{plots._tick_label(summary.edges[0])}"
    assert drawn[-1].axes[0].get_xticklabels()[0].get_text().endswith("k")  # type: ignore[attr-defined]


def test_the_drift_bars_name_the_policys_metrics_and_each_kinds_threshold_whole(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Trial 19: the drift plot's axis read 'numerical: wasserstein, categorical: js' whatever
    the policy measured drift with (PSI bars labelled Wasserstein), drew the numerical
    threshold across categorical bars judged on another, and a wine feature's long name
    ('od280/od315_of_diluted_wines') pushed the axis label past the image's right edge."""
    from types import SimpleNamespace

    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from mlflow_decay.core.evaluation import evaluate_window
    from mlflow_decay.core.policy_file import load_policy

    (tmp_path / "p.toml").write_text('[drift]\nnumerical = { metric = "psi", threshold = 0.2 }\n'
                                     'categorical = { metric = "js", threshold = 0.05 }\n')
    pol = load_policy(tmp_path / "p.toml")
    long = "od280/od315_of_diluted_wines"
    ref = make_frame(3000, 1).drop(columns=["score", "label"]).rename(columns={"x1": long})
    profile = md.build_profile(ref, band_chunks=0, categorical=["color"])
    window = make_frame(1000, 2, shift=1.0).drop(columns=["score", "label"]).rename(
        columns={"x1": long})
    result = evaluate_window(profile, window, pol)
    drawn: list[object] = []
    monkeypatch.setattr(plots, "_png", lambda fig: drawn.append(fig) or b"")
    plots._drift_bars(SimpleNamespace(metrics=result.metrics,  # type: ignore[arg-type]
                                      drifted_features=result.drifted_features), profile, pol)
    fig = drawn[0]
    ax = fig.axes[0]  # type: ignore[attr-defined]
    label = ax.get_xlabel()
    assert ax.get_title().startswith("Drift by feature")
    assert "numerical: psi" in label and "categorical: js" in label and "wasserstein" not in label
    names = [t.get_text() for t in ax.get_yticklabels()]
    widths = [p.get_width() for p in ax.patches]
    assert widths[names.index(long)] == pytest.approx(result.metrics[f"drift.{long}.psi"])
    assert widths[names.index("color")] == pytest.approx(result.metrics["drift.color.js"])
    segments = ax.collections[0].get_segments()  # one threshold per bar, at its kind's line
    at = {names[round(s[:, 1].mean())]: s[0, 0] for s in segments}
    assert at[long] == 0.2 and at["x2"] == 0.2 and at["color"] == 0.05
    renderer = FigureCanvasAgg(fig).get_renderer()
    box = ax.xaxis.label.get_window_extent(renderer)
    assert box.x0 >= 0 and box.x1 <= fig.bbox.width  # type: ignore[attr-defined]


@pytest.mark.parametrize("rows", [40, 2000])
def test_a_bar_past_its_line_but_not_judged_drifted_is_explained_in_the_title(
        monkeypatch: pytest.MonkeyPatch, rows: int) -> None:
    """Before: a small window's bar past the dashed threshold was grey (its test could not tell
    the effect from noise at 40 rows, so it was not judged drifted) with nothing to say why,
    beside a title reading 'red: judged drifted'. The title says it when it happens."""
    from types import SimpleNamespace

    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from mlflow_decay.core.evaluation import evaluate_window
    from mlflow_decay.core.policy_file import DEFAULT_POLICY

    profile = md.build_profile(make_frame(3000, 1).drop(columns=["score", "label"]),
                               band_chunks=0)
    window = make_frame(rows, 2, shift=0.25).drop(columns=["score", "label"])
    result = evaluate_window(profile, window)
    effect = result.metrics["drift.x1.wasserstein"]
    assert effect >= DEFAULT_POLICY.feature_threshold("numerical")
    drawn: list[object] = []
    monkeypatch.setattr(plots, "_png", lambda fig: drawn.append(fig) or b"")
    plots._drift_bars(SimpleNamespace(metrics=result.metrics,  # type: ignore[arg-type]
                                      drifted_features=result.drifted_features),
                      profile, DEFAULT_POLICY)
    fig = drawn[0]
    ax = fig.axes[0]  # type: ignore[attr-defined]
    assert ("x1" in result.drifted_features) == (rows == 2000)
    assert ("within sampling noise" in ax.get_title()) == (rows == 40), result.drifted_features
    # the title's lines and the axis label inside the image (the label ran past its right
    # edge when the feature names were short)
    canvas = FigureCanvasAgg(fig)
    canvas.draw()  # the axis label is placed when drawn
    renderer = canvas.get_renderer()
    for text in (ax.title, ax.xaxis.label):
        box = text.get_window_extent(renderer)
        assert box.x0 >= 0 and box.x1 <= fig.bbox.width  # type: ignore[attr-defined]
        assert box.y0 >= 0 and box.y1 <= fig.bbox.height  # type: ignore[attr-defined]


# trial 21 (helper g): a price model's error held to a service level in the target's units
def test_a_threshold_in_the_targets_units_reads_whole_in_the_table_and_the_panel_title(
        tmp_path: Path) -> None:
    """Before: "degrade ≥ 5e+04, warn ≥ 4e+04" in the table and "perf.rmse = 1.256e+05 ≥
    5e+04" over the panel of a house-price model's RMSE."""
    from mlflow_decay.core.policy_file import as_policy

    path = tmp_path / "policy.toml"
    path.write_text('[thresholds]\n"perf.rmse" = { warn = 40000, degrade = 50000 }\n')
    policy = as_policy(path)
    profile = _regression_profile()
    metrics = {"perf.rmse": 125_645.87, "quality.rows": 2000.0}
    status, breaches = policy.decide(metrics, profile.bands, 2000)
    assert status == "degraded"
    (_, rows), = [g for g in metric_table(metrics, 2000, policy, profile, breaches)
                  if g[0].startswith("performance")]
    assert rows[0].threshold == "degrade ≥ 50,000, warn ≥ 40,000; degrade × ≥ 1.25, warn × ≥ 1.1"
    points = [_point("degraded", WEEKS[0], WEEKS[1], key="k0", **metrics)]
    panel = timeline(points, policy, profile, breaches).panels[0]
    assert panel.title == "performance: rmse  (triggered: perf.rmse = 125,645.9 ≥ 50,000, degraded)"
