"""`status`, `history` and `monitor` say when (the window's dates) and why (whole reasons), and
what a report notes never contradicts what it did."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import make_frame

import mlflow_decay as md
from mlflow_decay import registry
from mlflow_decay.cli import main
from mlflow_decay.core.policy_file import DEFAULT_POLICY

pytestmark = pytest.mark.plots  # its windows' plots are drawn (tests/conftest.py)

WEEKS = [("2026-02-02", "2026-02-09"), ("2026-02-09", "2026-02-16")]


def _degrade(uri: str, tracking_uri: str, policy: md.Policy = DEFAULT_POLICY) -> md.DecayReport:
    for seed, (start, end) in zip((3, 4), WEEKS, strict=True):  # degrade_after = 2
        report = md.evaluate(uri, make_frame(3000, seed, shift=1.5, flip=0.3), policy=policy,
                             window_start=start, window_end=end, tracking_uri=tracking_uri)
    return report


def _pieces(cell: str) -> list[str]:
    return [p for p in re.sub(r" \(\+\d+ more\)$", "", cell).split("; ") if p]


def test_status_and_history_show_window_dates_and_whole_reasons(tracking_uri: str,
                                                                 profiled: str) -> None:
    report = _degrade(profiled, tracking_uri)
    assert report.status == "degraded" and len("; ".join(report.reasons)) > 110
    reasons = set(report.reasons) | set(registry.resolve(
        registry.client_for(tracking_uri), profiled).tags[registry.STATUS_REASON].split("; "))
    status = CliRunner().invoke(main, ["status", "churn"]).stdout.splitlines()
    # the times are UTC, and the headers say so (a bound given as 00:00+02:00 shows 22:00)
    assert "since window (UTC)" in status[0] and "last window (UTC)" in status[0]
    row = status[1]
    assert "2026-02-09 → 02-16" in row  # the window that degraded it
    cell = row[row.index("degraded", row.index("→ 02-16") + 8) + 8:].strip()
    assert "more)" in cell and all(piece in reasons for piece in _pieces(cell)), cell
    history = CliRunner().invoke(main, ["history", "churn"]).stdout.splitlines()
    assert history[0].split()[:4] == ["logged", "(UTC)", "window", "(UTC)"]
    moved = next(line for line in history if "warning -> degraded" in line)
    assert "2026-02-09 → 02-16" in moved
    tail = moved.split("warning -> degraded", 1)[1].strip()
    assert all(piece in reasons for piece in _pieces(tail)), tail
    rows = json.loads(CliRunner().invoke(main, ["status", "churn", "--json"]).stdout)
    assert rows[0]["since_window"] == {"start": "2026-02-09T00:00:00+00:00",
                                       "end": "2026-02-16T00:00:00+00:00"}
    assert md.status(profiled, tracking_uri=tracking_uri) == rows
    page = registry.client_for(tracking_uri).download_artifacts(report.run_id or "",
                                                                "decay_report.html")
    assert "<p>window 2026-02-09 → 02-16 (UTC), 3000 rows;" in Path(page).read_text()


def test_monitor_shows_each_windows_verdict_and_the_stage_apart(tracking_uri: str, profiled: str,
                                                                 tmp_path: Path) -> None:
    frames = [make_frame(800, seed, shift=1.5, flip=0.3) for seed in (5, 6, 7)]
    data = pd.concat(frames, ignore_index=True)
    data["ts"] = pd.Timestamp("2026-03-02", tz="UTC") + pd.to_timedelta(
        [d for d in range(3) for _ in range(800)], unit="D")
    data.to_csv(tmp_path / "w.csv", index=False)
    result = CliRunner().invoke(main, ["monitor", profiled, "--data", str(tmp_path / "w.csv"),
                                       "--timestamp-column", "ts", "--window", "1D"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split()[:6] == ["#", "window", "(UTC)", "rows", "verdict", "stage"]
    cells = [line.split() for line in lines[1:]]
    assert [c[0] for c in cells] == ["1", "2", "3"]
    assert [c[1] for c in cells] == ["2026-03-02", "2026-03-03", "2026-03-04"]
    assert [(c[5], c[6]) for c in cells] == [("degraded", "warning"), ("degraded", "degraded"),
                                             ("degraded", "degraded")]


def test_a_summary_says_how_many_more_features_drifted() -> None:
    report = md.DecayReport(model_uri="m", model_name="m", model_version="1", status="warning",
                            window_status="warning", previous_status=None, reasons=[], metrics={},
                            rows=1, drifted_features=list("abcde"))
    assert report.summary().endswith("drifted: a, b, c (+2 more)")
    assert replace(report, drifted_features=list("abc")).summary().endswith("drifted: a, b, c")


@pytest.mark.parametrize(("removed", "fate", "removes"), [
    (("champion",), "it is removed (remove_aliases)", True), ((), "it stays", False)])
def test_notes_say_what_became_of_an_alias_with_nowhere_to_roll_back_to(
        tracking_uri: str, profiled: str, removed: tuple[str, ...], fate: str,
        removes: bool) -> None:
    client = registry.client_for(tracking_uri)
    client.set_registered_model_alias("churn", "champion", "1")
    policy = replace(DEFAULT_POLICY, rollback_aliases=("champion",), remove_aliases=removed)
    report = _degrade(profiled, tracking_uri, policy)
    assert f"no healthy version to roll @champion back to; {fate}" in report.notes
    assert (f"remove alias @champion from {profiled}" in report.actions) is removes
    assert ("champion" in registry.resolve(client, profiled).aliases) is not removes


def test_tables_keep_their_columns_apart_for_windows_with_times_and_offsets(
        tracking_uri: str, profiled: str, tmp_path: Path) -> None:
    """Windows with hours (given with an offset) are wider than dates: no cell runs into the
    next in `status`, `history`, `monitor` or `labels`."""
    frame = make_frame(800, 8, shift=1.5, flip=0.3).assign(row=lambda f: [f"r{i}" for i in f.index])
    profile = md.build_profile(make_frame(3000, 1).assign(row=lambda f: [f"r{i}" for i in f.index]),
                               target="label", prediction="score", id_column="row")
    md.attach_profile(profiled, profile, tracking_uri=tracking_uri)
    md.evaluate(profiled, frame.drop(columns="label"), window_start="2026-03-31T23:30:00+01:30",
                window_end="2026-04-04T06:00:00-02:00", tracking_uri=tracking_uri)
    frame[["row", "label"]].to_csv(tmp_path / "labels.csv", index=False)
    labelled = CliRunner().invoke(main, ["labels", profiled, "--data", str(tmp_path / "labels.csv")])
    window = "2026-03-31 22:00 → 04-04 08:00"
    for args in (["status", "churn"], ["history", "churn"]):
        lines = CliRunner().invoke(main, args).stdout.splitlines()
        assert window in lines[1]
        cells = [re.split(r"\s{2,}", line) for line in lines]
        assert len(cells[1]) == len(cells[0]), lines
        assert _starts(lines[1], cells[1]) == _starts(lines[0], cells[0]), lines
    lines = [line.strip() for line in labelled.stdout.splitlines()[1:]]
    assert re.split(r"\s{2,}", lines[1])[:3] == [window, "800 of 800", "degraded"], lines


def _starts(line: str, cells: list[str]) -> list[int]:
    """Where each of a line's cells starts."""
    out, at = [], 0
    for cell in cells:
        at = line.index(cell, at)
        out.append(at)
        at += len(cell)
    return out


def test_monitor_and_labels_tables_show_a_regressions_rmse(tracking_uri: str,
                                                            new_version: Callable[..., str],
                                                            tmp_path: Path) -> None:
    rng = np.random.default_rng(0)

    def prices(n: int, shift: float) -> pd.DataFrame:
        sqft = rng.lognormal(7 + shift, 0.3, n)
        return pd.DataFrame({"sqft": sqft, "id": np.arange(n),
                             "price": 150 * sqft * rng.lognormal(0, 0.15, n),
                             "pred": 150 * sqft})

    uri = new_version("prices")
    md.attach_profile(uri, md.build_profile(prices(2000, 0.0), target="price", prediction="pred",
                                            task="regression", id_column="id", band_chunks=0),
                      tracking_uri=tracking_uri)
    window = prices(1000, 0.4)
    window.drop(columns="price").to_csv(tmp_path / "w.csv", index=False)
    result = CliRunner().invoke(main, ["monitor", uri, "--data", str(tmp_path / "w.csv"),
                                       "--chunk-size", "500", "--json"])
    assert result.exit_code == 0, result.output
    estimated = [r["metrics"]["est.rmse"] for r in json.loads(result.stdout)]
    result = CliRunner().invoke(main, ["monitor", uri, "--data", str(tmp_path / "w.csv"),
                                       "--chunk-size", "500", "--force"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split()[6:9] == ["rmse", "est", "rmse"]  # after "window (UTC)"
    assert [line.split()[6] for line in lines[1:]] == [f"{v:,.1f}" for v in estimated]
    window[["id", "price"]].to_csv(tmp_path / "labels.csv", index=False)
    result = CliRunner().invoke(main, ["labels", uri, "--data", str(tmp_path / "labels.csv")])
    assert result.exit_code == 0, result.output
    header, *rows = result.stdout.splitlines()[1:]
    assert header.split()[4] == "rmse"
    realized = [np.sqrt(np.mean((part.price - part.pred) ** 2))
                for part in (window.iloc[:500], window.iloc[500:])]
    assert sorted(float(r.split()[-2].replace(",", "")) for r in rows) == pytest.approx(
        sorted(realized), abs=0.06)


def test_a_summary_shows_the_estimate_when_the_window_has_no_labels(tracking_uri: str,
                                                                     profiled: str) -> None:
    window = make_frame(2000, 8)
    labelled = md.evaluate(profiled, window, log=False, tracking_uri=tracking_uri)
    assert f"roc_auc {labelled.metrics['perf.roc_auc']:.3f}" in labelled.summary()
    assert "est." not in labelled.summary()
    unlabelled = md.evaluate(profiled, window.drop(columns="label"), log=False,
                             tracking_uri=tracking_uri)
    est = {k: unlabelled.metrics[f"est.roc_auc{k}"] for k in ("", ".lower", ".upper")}
    # with its band: the estimate alone read as exact (trial 8)
    assert (f"  est. roc_auc {est['']:.3f} [{est['.lower']:.3f}, {est['.upper']:.3f}]  "
            "drift share") in unlabelled.summary()


def test_status_says_a_stage_set_by_hand_was_restored_and_when(tracking_uri: str,
                                                               profiled: str) -> None:
    # trial 8: the "since window (UTC)" cell showed the bare ISO time of the
    # restore, 2026-11-28T06:12, in a column of windows
    md.evaluate(profiled, make_frame(3000, 3, shift=1.5, flip=0.3),
                policy=replace(DEFAULT_POLICY, degrade_after=1), window_start=WEEKS[0][0],
                window_end=WEEKS[0][1], tracking_uri=tracking_uri)
    md.restore(profiled, reason="feed fixed", tracking_uri=tracking_uri)
    since = md.status("churn", tracking_uri=tracking_uri)[0]["since"]
    row = CliRunner().invoke(main, ["status", "churn"]).stdout.splitlines()[1]
    assert f"restored {since[:10]} {since[11:16]}" in row, row
