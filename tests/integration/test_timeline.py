"""The version's timeline run (one series per version, window runs nested under it), window run
names led by their dates, comparisons apart, and the opt-in status line in the description."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from conftest import _new_version, current_uri, make_frame
from mlflow import MlflowClient
from mlflow.entities import Run

import mlflow_decay as md
from mlflow_decay import registry
from mlflow_decay.core.times import span_label
from mlflow_decay.errors import PolicyError
from mlflow_decay.registry import experiments, runs, timeline

DAY0 = pd.Timestamp("2026-03-02", tz="UTC")


@functools.cache
def _profile() -> md.Profile:
    reference = make_frame(4000, seed=1).assign(id=[f"r{i}" for i in range(4000)])
    return md.build_profile(reference, target="label", prediction="score", id_column="id",
                            band_chunks=0)


def _days(n: int, rows: int = 600) -> pd.DataFrame:
    """``n`` daily windows of unlabelled rows with ids, from DAY0; the later ones drifted."""
    parts = [make_frame(rows, seed=70 + d, shift=0.0 if d < 2 else 1.2).assign(
        id=[f"d{d}-{i}" for i in range(rows)], ts=DAY0 + pd.Timedelta(days=d, hours=3))
        for d in range(n)]
    return pd.concat(parts, ignore_index=True)


def _timeline(client: MlflowClient, name: str, version: str) -> Run:
    """The version's timeline run, found as another reader (an exporter) would find it."""
    exp = client.get_experiment_by_name(experiments.experiment_name_for(name))
    found = client.search_runs(
        [exp.experiment_id],
        filter_string=(f"tags.`mlflow_decay.kind` = 'timeline' AND "
                       f"tags.`mlflow_decay.model_name` = '{name}' AND "
                       f"tags.`mlflow_decay.model_version` = '{version}'"))
    assert len(found) == 1
    return found[0]


def _points(client: MlflowClient, run_id: str, key: str) -> list[tuple[int, int, float]]:
    return sorted((m.step, m.timestamp, m.value) for m in client.get_metric_history(run_id, key))


def _millis(day: int) -> int:
    return int((DAY0 + pd.Timedelta(days=day)).timestamp() * 1000)


def _windows(client: MlflowClient, name: str, version: str) -> list[Run]:
    ref = registry.resolve(client, f"models:/{name}/{version}")
    return runs.evaluation_runs(client, ref)


# -- against a real `mlflow server` ------------------------------------------------------------
@pytest.fixture
def server_uri(mlflow_server: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    with current_uri(mlflow_server, monkeypatch):
        yield mlflow_server


@pytest.mark.server
def test_timeline_over_rest_one_point_per_window_nested_idempotent_labels(
        server_uri: str) -> None:
    name = f"churn-{uuid.uuid4().hex[:8]}"
    client = registry.client_for(server_uri)
    version = _new_version(client, name)
    uri = f"models:/{name}/{version}"
    md.attach_profile(uri, _profile(), tracking_uri=server_uri)
    data = _days(4)
    args: dict[str, Any] = {"timestamp_column": "ts", "every": "1D", "tracking_uri": server_uri}
    md.monitor(uri, data.drop(columns="label"), **args)

    line = _timeline(client, name, version)
    assert line.info.run_name == f"{name} v{version}"
    assert line.data.tags[registry.MODEL_NAME] == name
    assert line.data.tags[registry.LAST_STEP] == "4"
    shares = _points(client, line.info.run_id, "drift.share")
    assert [(s, t) for s, t, _ in shares] == [(d + 1, _millis(d + 1)) for d in range(4)]
    windows = _windows(client, name, version)
    assert [w.data.metrics["drift.share"] for w in windows] == [v for _, _, v in shares]
    assert {w.data.tags[registry.PARENT_RUN_ID] for w in windows} == {line.info.run_id}
    assert [w.data.tags[registry.TIMELINE_STEP] for w in windows] == ["1", "2", "3", "4"]
    assert windows[0].info.run_name == f"2026-03-02 → 03-03 v{version} healthy"
    # the window queries find the windows only, never the timeline
    ref = registry.resolve(client, uri)
    assert len({r.data.tags[registry.WINDOW_KEY] for r in runs.evaluation_runs(client, ref)}) == 4
    assert all(e["run_id"] != line.info.run_id for e in md.history(uri, tracking_uri=server_uri))

    # a rerun, even forced, adds no points
    keys = ("drift.share", "quality.rows", "impact.predictions_since_breach")
    before = {k: _points(client, line.info.run_id, k) for k in keys}
    assert len(before["impact.predictions_since_breach"]) == 1  # the monitor's last window
    md.monitor(uri, data.drop(columns="label"), **args)
    md.monitor(uri, data.drop(columns="label"), force=True, **args)
    assert {k: _points(client, line.info.run_id, k) for k in before} == before
    assert len(_points(client, line.info.run_id, "est.roc_auc")) == 4

    # late labels for days 1 and 3: realized points at steps 2 and 4, once
    late = data[data.id.str.startswith(("d1-", "d3-"))]
    md.attach_labels(uri, late, tracking_uri=server_uri)
    md.attach_labels(uri, late, tracking_uri=server_uri)
    realized = _points(client, line.info.run_id, "perf.roc_auc")
    assert [(s, t) for s, t, _ in realized] == [(2, _millis(2)), (4, _millis(4))]
    labelled = [w for w in _windows(client, name, version) if "perf.roc_auc" in w.data.metrics]
    assert [w.data.metrics["perf.roc_auc"] for w in labelled] == [v for _, _, v in realized]


# -- fast, on an sqlite store --------------------------------------------------------------------
def test_span_label_leads_with_dates() -> None:
    assert span_label("2026-02-02", "2026-02-09") == "2026-02-02 → 02-09"
    assert span_label("2025-12-29", "2026-01-05") == "2025-12-29 → 2026-01-05"
    assert span_label("2026-02-02T06:00", "2026-02-02T12:00") == "2026-02-02 06:00 → 12:00"
    assert span_label("2026-02-02T18:00", "2026-02-03") == "2026-02-02 18:00 → 02-03 00:00"
    assert span_label(None, "2026-02-09") == "until 2026-02-09"
    assert span_label(None, None) == ""


def test_span_label_on_a_zones_clock_shows_its_offsets() -> None:
    """A window cut on New York's clock, as its user reads it: local times with their offsets
    (which change on the day the clocks go forward), not the UTC times stored."""
    ny = "America/New_York"
    assert span_label("2026-03-08T05:00:00+00:00", "2026-03-09T04:00:00+00:00", ny) == \
        "2026-03-08 00:00-05:00 → 03-09 00:00-04:00"
    assert span_label("2026-03-08T05:00:00+00:00", "2026-03-08T11:00:00+00:00", ny) == \
        "2026-03-08 00:00-05:00 → 07:00-04:00"
    assert span_label("2026-12-31T18:30:00+00:00", "2027-01-01T18:30:00+00:00",
                      "Asia/Kolkata") == "2027-01-01 00:00+05:30 → 01-02 00:00+05:30"
    assert span_label("2026-03-08T05:00:00+00:00", None, ny) == "from 2026-03-08 00:00-05:00"
    assert span_label("2026-03-08T05:00:00+00:00", "2026-03-09T04:00:00+00:00") == \
        "2026-03-08 05:00 → 03-09 04:00"


def _evaluate(uri: str, uri_store: str, frame: pd.DataFrame, start: str | None = None,
              end: str | None = None, **kw: Any) -> md.DecayReport:
    return md.evaluate(uri, frame, window_start=start, window_end=end, tracking_uri=uri_store,
                       **kw)


def test_window_names_steps_out_of_order_and_re_evaluated(
        tracking_uri: str, new_version: Callable[..., str]) -> None:
    uri = new_version()
    md.attach_profile(uri, _profile(), tracking_uri=tracking_uri)
    client = registry.client_for(tracking_uri)
    frame = _days(1)
    late = _evaluate(uri, tracking_uri, frame, "2026-02-09", "2026-02-16")
    early = _evaluate(uri, tracking_uri, frame.iloc[:300], "2026-02-02", "2026-02-09")
    more = _evaluate(uri, tracking_uri, frame.iloc[:500], "2026-02-09", "2026-02-16")
    bare = _evaluate(uri, tracking_uri, frame.iloc[:400])
    steps = {r.run_id: client.get_run(r.run_id).data.tags[registry.TIMELINE_STEP]
             for r in (late, early, more, bare)}
    # a step per window as first logged; the same bounds with more rows keep theirs
    assert list(steps.values()) == ["1", "2", "1", "3"]
    assert client.get_run(late.run_id).info.run_name == "2026-02-09 → 02-16 v1 healthy"
    assert client.get_run(bare.run_id).info.run_name == "window 3 v1 healthy"
    line = _timeline(client, "churn", "1")
    rows = _points(client, line.info.run_id, "quality.rows")
    stamp = int(pd.Timestamp("2026-02-16", tz="UTC").timestamp() * 1000)
    assert rows[:3] == [(1, stamp, 500.0), (1, stamp, 600.0),
                        (2, stamp - 7 * 86_400_000, 300.0)]
    assert rows[3][0] == 3 and len(rows) == 4


def test_timeline_made_lazily_for_windows_logged_before_it(
        tracking_uri: str, new_version: Callable[..., str]) -> None:
    uri = new_version()
    md.attach_profile(uri, _profile(), tracking_uri=tracking_uri)
    client = registry.client_for(tracking_uri)
    frame = _days(1)
    for day in (2, 9):  # logged as an older mlflow-decay did: no timeline, no parent
        report = _evaluate(uri, tracking_uri, frame, f"2026-02-{day:02}", f"2026-02-{day + 7:02}")
        for tag in (registry.PARENT_RUN_ID, registry.TIMELINE_STEP):
            client.delete_tag(report.run_id, tag)
    client.delete_run(_timeline(client, "churn", "1").info.run_id)

    _evaluate(uri, tracking_uri, frame, "2026-02-16", "2026-02-23")
    line = _timeline(client, "churn", "1")
    assert [s for s, _, _ in _points(client, line.info.run_id, "drift.share")] == [1, 2, 3]
    windows = _windows(client, "churn", "1")
    assert [w.data.tags[registry.PARENT_RUN_ID] for w in windows] == [line.info.run_id] * 3
    assert windows[0].info.run_name == "2026-02-02 → 02-09 v1 healthy"


def test_crash_before_the_timeline_append_is_completed_once(
        tracking_uri: str, new_version: Callable[..., str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    uri = new_version()
    md.attach_profile(uri, _profile(), tracking_uri=tracking_uri)
    client = registry.client_for(tracking_uri)
    data = _days(3)
    real = timeline.append
    calls = {"n": 0}

    def crash_on_second_window(*args: Any) -> None:
        calls["n"] += 1
        real(*args)  # the points go in, the process dies before the run is finished
        if calls["n"] == 2:
            raise ConnectionError("the tracking server went away")

    monkeypatch.setattr(timeline, "append", crash_on_second_window)
    with pytest.raises(ConnectionError):
        md.monitor(uri, data, timestamp_column="ts", every="1D", tracking_uri=tracking_uri)
    monkeypatch.setattr(timeline, "append", real)
    again = md.monitor(uri, data, timestamp_column="ts", every="1D", tracking_uri=tracking_uri)
    assert [r.skipped for r in again] == [True, True, False]
    line = _timeline(client, "churn", "1")
    assert [s for s, _, _ in _points(client, line.info.run_id, "drift.share")] == [1, 2, 3]
    assert [s for s, _, _ in _points(client, line.info.run_id, "perf.roc_auc")] == [1, 2, 3]


def test_comparisons_live_in_their_own_experiment(
        tracking_uri: str, two_versions: tuple[str, str]) -> None:
    window = make_frame(2000, 5)
    result = md.compare(window, list(two_versions), tracking_uri=tracking_uri)
    client = registry.client_for(tracking_uri)
    run = client.get_run(result.run_id)
    assert client.get_experiment(run.info.experiment_id).name == "mlflow-decay/churn/compare"
    assert client.get_experiment_by_name("mlflow-decay/churn") is None  # no window run yet
    # history (which lists promotions) still reads them
    found = runs.decay_runs(client, "churn", None, ("evaluation", "restore", "comparison"))
    assert [r.info.run_id for r in found] == [result.run_id]


def test_description_status_line_only_with_the_opt_in(
        tracking_uri: str, new_version: Callable[..., str], tmp_path: Path) -> None:
    uri = new_version()
    md.attach_profile(uri, _profile(), tracking_uri=tracking_uri)
    client = registry.client_for(tracking_uri)
    client.update_model_version("churn", "1", description="Trained on 2025 data. -- Ana")
    drifted = make_frame(1500, 9, shift=1.5, flip=0.3)
    _evaluate(uri, tracking_uri, drifted, "2026-02-02", "2026-02-09")
    assert client.get_model_version("churn", "1").description == "Trained on 2025 data. -- Ana"

    policy = tmp_path / "policy.toml"
    policy.write_text("[actions]\ndescribe = true\n[hysteresis]\ndegrade_after = 1\n")
    report = _evaluate(uri, tracking_uri, drifted, "2026-02-09", "2026-02-16", policy=policy)
    assert report.status == "degraded"
    assert not any("describe" in a for a in report.actions)  # bookkeeping, not shown
    text = client.get_model_version("churn", "1").description
    assert text.startswith("Trained on 2025 data. -- Ana\n\n<!-- mlflow-decay -->\n")
    assert "**mlflow-decay: degraded** since 2026-02-09 → 02-16: " in text
    _evaluate(uri, tracking_uri, drifted.iloc[:1000], "2026-02-16", "2026-02-23", policy=policy)
    text = client.get_model_version("churn", "1").description
    assert "**mlflow-decay: degraded** since 2026-02-09 → 02-16: " in text  # when it changed
    assert "last window 2026-02-16 → 02-23 evaluated" in text
    md.restore(uri, "feed fixed", tracking_uri=tracking_uri)
    text = client.get_model_version("churn", "1").description
    assert text.count(registry.DESCRIPTION_BEGIN) == text.count(registry.DESCRIPTION_END) == 1
    assert text.startswith("Trained on 2025 data. -- Ana\n\n")
    assert "**mlflow-decay: healthy**" in text and "degraded" not in text


# trial 4: the version page's headline said "healthy" under a degraded stage
def test_a_status_line_written_before_is_kept_true_without_the_policy(
        tracking_uri: str, new_version: Callable[..., str], tmp_path: Path) -> None:
    """Before: a status line written by a monitor with ``describe = true`` stayed as it was
    when a later ``evaluate`` or ``labels`` (without that policy) moved the stage: the top of
    the version's page said "mlflow-decay: healthy" under a degraded version."""
    uri = new_version()
    md.attach_profile(uri, _profile(), tracking_uri=tracking_uri)
    client = registry.client_for(tracking_uri)
    policy = tmp_path / "policy.toml"
    policy.write_text("[actions]\ndescribe = true\n")
    clean, drifted = make_frame(1500, 8), make_frame(1500, 9, shift=1.5, flip=0.3)
    _evaluate(uri, tracking_uri, clean, "2026-02-02", "2026-02-09", policy=policy)
    assert "**mlflow-decay: healthy**" in client.get_model_version("churn", "1").description
    for start, end in (("2026-02-09", "2026-02-16"), ("2026-02-16", "2026-02-23")):
        report = _evaluate(uri, tracking_uri, drifted, start, end)  # the default policy
    assert report.status == "degraded"
    text = client.get_model_version("churn", "1").description
    assert "**mlflow-decay: degraded** since 2026-02-16 → 02-23: " in text
    assert "healthy" not in text and text.count(registry.DESCRIPTION_BEGIN) == 1
    # a version never described is left alone by the default policy
    other = new_version()
    md.attach_profile(other, _profile(), tracking_uri=tracking_uri)
    _evaluate(other, tracking_uri, drifted, "2026-02-09", "2026-02-16")
    assert not client.get_model_version("churn", "2").description


def test_describe_is_a_policy_flag(tmp_path: Path) -> None:
    assert md.load_policy().describe is False
    assert "describe = false" in md.load_policy().to_toml()
    (tmp_path / "p.toml").write_text("[actions]\ndescribe = true\n")
    assert md.load_policy(tmp_path / "p.toml").describe is True
    (tmp_path / "p.toml").write_text("[actions]\ndescribe = 'yes'\n")
    with pytest.raises(PolicyError, match=r"\[actions\] describe must be true or false"):
        md.load_policy(tmp_path / "p.toml")


def test_with_block_keeps_a_persons_text() -> None:
    block = "<!-- mlflow-decay -->\nline 1\n<!-- /mlflow-decay -->"
    assert registry.with_block("", "line 1") == block
    assert registry.with_block("Notes.", "line 1") == f"Notes.\n\n{block}"
    assert registry.with_block("Notes.\n", "line 1") == f"Notes.\n\n{block}"
    edited = f"Notes.\n\n{block}\nMore notes by hand."
    again = registry.with_block(edited, "line 2")
    assert again == f"Notes.\n\n{block.replace('line 1', 'line 2')}\nMore notes by hand."
    assert registry.with_block(again, "line 2") == again


def test_the_series_plot_draws_only_windows_judged_against_the_runs_profile(
        tracking_uri: str, profiled: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # after a new profile, the same weeks evaluated again were drawn beside the earlier
    # profile's: each date twice, drift from two references, the lines zig-zagging between
    from mlflow_decay import plots

    drawn: list[list[tuple[str | None, str | None]]] = []
    real = plots.plots

    def recording(*args: Any, **kwargs: Any) -> dict[str, bytes]:
        drawn.append([(p["start"], p.get("profile")) for p in args[4]])
        return real(*args, **kwargs)

    monkeypatch.setattr(plots, "plots", recording)
    weeks = [("2026-03-02", "2026-03-09"), ("2026-03-09", "2026-03-16")]
    frames = [make_frame(1000, seed) for seed in (3, 4)]
    for frame, (start, end) in zip(frames, weeks, strict=True):
        md.evaluate(profiled, frame, window_start=start, window_end=end,
                    tracking_uri=tracking_uri)
    first = md.load_profile(profiled, tracking_uri=tracking_uri).sha256()
    second = md.build_profile(make_frame(3000, 5, shift=0.5), target="label", prediction="score")
    md.attach_profile(profiled, second, tracking_uri=tracking_uri)
    md.monitor(profiled, pd.concat([f.assign(ts=pd.Timestamp(s, tz="UTC"))
                                    for f, (s, _) in zip(frames, weeks, strict=True)]),
               timestamp_column="ts", every="7D", tracking_uri=tracking_uri)
    assert [len(d) for d in drawn] == [1, 2, 1, 2]
    assert {p for d in drawn[:2] for _, p in d} == {first}
    assert {p for d in drawn[2:] for _, p in d} == {second.sha256()}


# trial 4: a person who deleted the end marker lost the text written after it
def test_with_block_keeps_the_text_after_a_begin_marker_whose_end_was_deleted() -> None:
    """Before: the block was taken to run from the first begin marker to the first end
    marker, so the second update deleted everything a person had written in between."""
    edited = ("Notes.\n\n<!-- mlflow-decay -->\n**mlflow-decay: degraded** since x\n\n"
              "Retrained on March data. -- Ana")
    once = registry.with_block(edited, "line 1")
    twice = registry.with_block(once, "line 2")
    assert twice == once.replace("line 1", "line 2")
    assert "Retrained on March data. -- Ana" in twice


# trial 5: a run deleted in MLflow's UI, or the timeline's `last_step` tag deleted
# or edited by hand, put later windows on steps the timeline already held
def test_a_window_whose_run_was_deleted_keeps_its_step_when_evaluated_again(
        tracking_uri: str, new_version: Callable[..., str]) -> None:
    """Before: the window evaluated again took the next step (4), so MLflow's chart by step
    drew day 2 after day 3, and day 2's points stayed at step 2 besides."""
    uri = new_version()
    md.attach_profile(uri, _profile(), tracking_uri=tracking_uri)
    client = registry.client_for(tracking_uri)
    data = _days(3)
    first = md.monitor(uri, data, timestamp_column="ts", every="1D", tracking_uri=tracking_uri)
    client.delete_run(first[1].run_id)  # by hand, in the UI
    again = md.monitor(uri, data, timestamp_column="ts", every="1D", tracking_uri=tracking_uri)
    assert [r.skipped for r in again] == [True, False, True]
    assert client.get_run(again[1].run_id).data.tags[registry.TIMELINE_STEP] == "2"
    line = _timeline(client, "churn", "1")
    assert line.data.tags[registry.LAST_STEP] == "3"
    # the same rows: the points at step 2 are already there, none is added
    assert [s for s, _, _ in _points(client, line.info.run_id, "quality.rows")] == [1, 2, 3]


@pytest.mark.parametrize("edit", [None, "", "three"])
def test_a_timeline_whose_last_step_tag_was_edited_gives_out_the_next_step(
        tracking_uri: str, new_version: Callable[..., str], edit: str | None) -> None:
    """Before: a deleted tag read as 0 (the next window took step 1, over the first
    window's points) and an edited one stopped every later window with a ValueError."""
    uri = new_version()
    md.attach_profile(uri, _profile(), tracking_uri=tracking_uri)
    client = registry.client_for(tracking_uri)
    data = _days(4)
    days = data["ts"].dt.floor("D")
    md.monitor(uri, data[days < DAY0 + pd.Timedelta(days=3)], timestamp_column="ts", every="1D",
               tracking_uri=tracking_uri)
    line = _timeline(client, "churn", "1")
    if edit is None:
        client.delete_tag(line.info.run_id, registry.LAST_STEP)
    else:
        client.set_tag(line.info.run_id, registry.LAST_STEP, edit)
    reports = md.monitor(uri, data, timestamp_column="ts", every="1D", tracking_uri=tracking_uri)
    assert client.get_run(reports[-1].run_id).data.tags[registry.TIMELINE_STEP] == "4"
    assert _timeline(client, "churn", "1").data.tags[registry.LAST_STEP] == "4"
    assert [s for s, _, _ in _points(client, line.info.run_id, "quality.rows")] == [1, 2, 3, 4]


# trial 21 (helper g): the runs table named window 2 "… v1 degraded" while the version page
# said warning (the hysteresis waits a window), and no run had a description
def test_a_window_runs_description_tells_its_version_window_verdict_and_the_stage_after_it(
        tracking_uri: str, new_version: Callable[..., str]) -> None:
    """Each window run's description (MLflow's ``mlflow.note.content``) names the version,
    the window and its rows, this window's own verdict (its name's last word) and the
    version's stage after it, kept true when late labels change them; a person's text in it
    stays."""
    uri = new_version()
    md.attach_profile(uri, _profile(), tracking_uri=tracking_uri)
    client = registry.client_for(tracking_uri)
    days = ("2026-02-02", "2026-02-09", "2026-02-16")
    # concept drift only: healthy without labels, degraded with them
    frames = [make_frame(1500, 40 + i, flip=0.4).assign(id=[f"w{i}-{j}" for j in range(1500)])
              for i in range(2)]
    reports = [_evaluate(uri, tracking_uri, f.drop(columns="label"), days[i], days[i + 1])
               for i, f in enumerate(frames)]

    def note(run_id: str) -> str:
        return client.get_run(run_id).data.tags.get("mlflow.note.content", "")

    first = note(reports[0].run_id)
    assert first == ("<!-- mlflow-decay -->\n**models:/churn/1**, window 2026-02-02 → 02-09 "
                     "(UTC), 1,500 rows: this window alone **healthy**, the version's stage "
                     "after it **healthy**. The report: artifact `decay_report.html`.\n"
                     "<!-- /mlflow-decay -->")
    client.set_tag(reports[0].run_id, "mlflow.note.content", f"Checked by Ana.\n\n{first}")
    md.attach_labels(uri, pd.concat(frames)[["id", "label"]], tracking_uri=tracking_uri)
    for report, stage in zip(reports, ("warning", "degraded"), strict=True):
        run = client.get_run(report.run_id)
        tags = run.data.tags
        assert (tags[registry.WINDOW_STATUS], tags[registry.STATUS]) == ("degraded", stage)
        assert run.info.run_name.endswith(" v1 degraded")
        assert (f"this window alone **degraded**, the version's stage after it **{stage}**."
                in tags["mlflow.note.content"])
        assert tags["mlflow.note.content"].count(registry.DESCRIPTION_BEGIN) == 1
    assert note(reports[0].run_id).startswith("Checked by Ana.\n\n<!-- mlflow-decay -->\n")
    # the version's row in the runs table, which expands to these windows, says what it is
    assert note(_timeline(client, "churn", "1").info.run_id) == (
        "Timeline of **models:/churn/1**: every window's metrics at step = the window's number "
        "(from 1, in the order first logged) and the window's end as time; its window runs are "
        "nested under it.")
