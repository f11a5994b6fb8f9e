"""The rows' fingerprint is computed for a logged run only: an evaluation that logs nothing skips
it, unless its preview must tell whether the window is the last one applied."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import make_frame

import mlflow_decay as md
from mlflow_decay import registry
from mlflow_decay.cli import main
from mlflow_decay.engines import sources
from mlflow_decay.engines.partials import fingerprint_columns
from mlflow_decay.engines.sources import rows_digest
from mlflow_decay.engines.windows import window_key

DAY = {"window_start": "2026-05-10", "window_end": "2026-05-11"}


@pytest.fixture
def hashed(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The row counts the fingerprint reads from here on (it still computes as before)."""
    counts: list[int] = []
    add = sources.Fingerprint.add

    def counted(self: sources.Fingerprint, frame: pd.DataFrame) -> None:
        counts.append(len(frame))
        add(self, frame)

    monkeypatch.setattr(sources.Fingerprint, "add", counted)
    return counts


def _files(window: pd.DataFrame, tmp: Path) -> tuple[Path, Path]:
    window.to_parquet(tmp / "w.parquet")
    window.to_csv(tmp / "w.csv", index=False)
    return tmp / "w.parquet", tmp / "w.csv"


def test_an_evaluation_that_logs_nothing_reads_no_fingerprint(
        tracking_uri: str, profiled: str, tmp_path: Path, hashed: list[int]) -> None:
    window = make_frame(2000, 3)
    for source in (window, *_files(window, tmp_path)):
        report = md.evaluate(profiled, source, log=False, **DAY, tracking_uri=tracking_uri)
        assert report.rows == 2000 and report.window_key is None and report.run_id is None
    out = CliRunner().invoke(main, ["evaluate", profiled, "--data", str(tmp_path / "w.parquet"),
                                    "--no-log", "--json", "--tracking-uri", tracking_uri])
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["window_key"] is None
    assert hashed == []


def test_a_logged_window_stores_the_fingerprint_of_its_rows(
        tracking_uri: str, profiled: str, tmp_path: Path, hashed: list[int]) -> None:
    window = make_frame(2000, 3)
    client = registry.client_for(tracking_uri)
    ref = registry.resolve(client, profiled)
    rows = rows_digest(window, fingerprint_columns(md.load_profile(profiled,
                                                                   tracking_uri=tracking_uri)))
    expected = window_key(ref.name, ref.version, ref.profile_sha256,
                          "2026-05-10T00:00:00+00:00", "2026-05-11T00:00:00+00:00", rows)
    hashed.clear()
    report = md.evaluate(profiled, window, **DAY, tracking_uri=tracking_uri)
    assert hashed == [2000] and report.window_key == expected
    run = client.get_run(report.run_id)  # type: ignore[arg-type]
    assert run.data.tags[registry.WINDOW_KEY] == expected
    # the same rows streamed from Parquet are the same window: found logged, not logged again
    again = md.evaluate(profiled, _files(window, tmp_path)[0], **DAY, tracking_uri=tracking_uri)
    assert again.skipped and again.run_id == report.run_id and again.window_key == expected
    # one note says so (trial 6: "registry unchanged: already applied by another run" came
    # first, as if another run had been at work)
    assert [n for n in again.notes if "logged before" in n or "registry unchanged" in n] == [
        f"this window was logged before (run {report.run_id}): not logged or applied again; "
        "force=True (--force) logs it again"]


@pytest.mark.parametrize("bounds", [DAY, {}])
def test_a_preview_of_the_last_applied_window_still_finds_it(
        tracking_uri: str, profiled: str, tmp_path: Path, hashed: list[int],
        bounds: dict[str, str]) -> None:
    window = make_frame(2000, 3)
    assert md.evaluate(profiled, window, **bounds, tracking_uri=tracking_uri).applied
    hashed.clear()
    for source in (window, *_files(window, tmp_path)):  # Parquet: its files read once more
        same = md.evaluate(profiled, source, log=False, **bounds, tracking_uri=tracking_uri)
        assert same.actions == [] and any("already applied by another run" in n
                                          for n in same.notes), same.notes
    assert sum(hashed) == 3 * 2000
    other = md.evaluate(profiled, make_frame(2000, 4, shift=1.5, flip=0.3), log=False, **bounds,
                        tracking_uri=tracking_uri)
    assert other.status == "warning" and not any("already applied" in n for n in other.notes)
    assert any("replaces it" in n for n in other.notes) == bool(bounds)


def test_a_preview_of_other_bounds_reads_no_fingerprint(
        tracking_uri: str, profiled: str, hashed: list[int]) -> None:
    md.evaluate(profiled, make_frame(2000, 3), **DAY, tracking_uri=tracking_uri)
    hashed.clear()
    later = md.evaluate(profiled, make_frame(2000, 3), log=False, window_start="2026-05-11",
                        window_end="2026-05-12", tracking_uri=tracking_uri)
    earlier = md.evaluate(profiled, make_frame(2000, 3), log=False, window_start="2026-05-09",
                          window_end="2026-05-10", tracking_uri=tracking_uri)
    assert hashed == []
    assert later.status == "healthy" and not any("already applied" in n for n in later.notes)
    assert any("2026-05-11T00:00:00+00:00 or later was already applied" in n
               for n in earlier.notes), earlier.notes


# trial 6 (helper 6A): a drift-only profile of categorical features, logged window by window
def test_a_version_profiled_on_categories_alone_logs_its_windows(
        tracking_uri: str, new_version: Callable[..., str]) -> None:
    """Before: every logged evaluation ended in an IndexError from the rows' fingerprint."""
    rng = np.random.default_rng(0)
    uri = new_version()

    def table(rows: int) -> pd.DataFrame:
        return pd.DataFrame({"country": rng.choice(list("abcde"), rows),
                             "plan": rng.choice(["x", "y"], rows)})

    md.attach_profile(uri, md.build_profile(table(2000)), tracking_uri=tracking_uri)
    window = table(500)
    first = md.evaluate(uri, window, window_start="2026-03-01", window_end="2026-03-02",
                        tracking_uri=tracking_uri)
    assert first.run_id is not None and first.window_key
    again = md.evaluate(uri, window.sample(frac=1.0, random_state=1), window_start="2026-03-01",
                        window_end="2026-03-02", tracking_uri=tracking_uri)
    assert again.skipped and again.run_id == first.run_id
