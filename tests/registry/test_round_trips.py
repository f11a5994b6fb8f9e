"""How many requests one logged window costs the tracking server (each one a round trip to a
remote server), and the version's lease when two processes write it at once."""

from __future__ import annotations

import collections
import functools
import threading
from collections.abc import Iterator

import pytest
from conftest import make_frame
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

import mlflow_decay as md
from mlflow_decay import registry
from mlflow_decay.registry import Action


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[collections.Counter[str]]:
    """The MlflowClient methods called, by name (calls made inside another one not counted:
    MLflow's own checks are the server's business)."""
    counted: collections.Counter[str] = collections.Counter()
    inside = threading.local()
    for name in [n for n in vars(MlflowClient) if not n.startswith("_")]:
        method = getattr(MlflowClient, name)
        if not callable(method):
            continue

        @functools.wraps(method)
        def counting(*args: object, __name: str = name, __method: object = method,
                     **kwargs: object) -> object:
            outer = not getattr(inside, "depth", 0)
            counted[__name] += outer
            inside.depth = getattr(inside, "depth", 0) + 1
            try:
                return __method(*args, **kwargs)  # type: ignore[operator]
            finally:
                inside.depth -= 1

        monkeypatch.setattr(MlflowClient, name, counting)
    yield counted


def test_a_steady_window_reads_few_of_the_versions_runs_and_writes_only_changed_tags(
        tracking_uri: str, profiled: str, calls: collections.Counter[str]) -> None:
    days = [(f"2026-03-0{d}", f"2026-03-0{d + 1}") for d in (1, 2, 3)]
    for seed, (start, end) in zip((11, 12), days, strict=False):
        md.evaluate(profiled, make_frame(2000, seed), window_start=start, window_end=end)
    before = registry.resolve(registry.client_for(tracking_uri), profiled).tags
    calls.clear()
    report = md.evaluate(profiled, make_frame(2000, 13), window_start=days[2][0],
                         window_end=days[2][1])
    calls = collections.Counter(calls)  # those of the evaluation only
    assert report.status == "healthy" and report.run_id
    after = registry.resolve(registry.client_for(tracking_uri), profiled).tags
    changed = {k for k in after if after[k] != before.get(k)}
    # the version's runs: three searches before the run (the window's logged runs, the
    # unfinished ones, the plots' series), one for twins of the new run, two for the timeline
    # (its run, the window's twins there)
    assert calls["search_runs"] == 6, calls
    # resolving the URI, then the lease: read, read back, read before releasing it
    assert calls["get_model_version"] == 4, calls
    # the lease, then only the tags whose values change (the streak of healthy windows, the
    # last run and when); unchanged ones (the breach streak, the last status) are not written
    assert calls["set_model_version_tag"] == 1 + len(changed), (calls, changed)
    assert {registry.BREACH_STREAK, registry.LAST_STATUS, registry.STATUS} & changed == set()
    assert after[registry.LAST_RUN_ID] == report.run_id
    assert sum(calls.values()) <= 30, calls


def test_a_logged_windows_reads_do_not_grow_with_the_versions_history(
        profiled: str, monkeypatch: pytest.MonkeyPatch, runs_read: list[int]) -> None:
    """Before: every logged window read all the version's runs back with their metrics (a
    daily job took 0.6 s after 15 windows, 5 s after 1,000); now the window's own runs, the
    unfinished ones and the newest few a series plot shows."""
    from mlflow_decay import recording
    from mlflow_decay.registry import runs

    for module in (recording, runs):
        monkeypatch.setattr(module, "SERIES_WINDOWS", 1, raising=False)
    days = [(f"2026-03-{d:02d}", f"2026-03-{d + 1:02d}") for d in range(1, 6)]
    for seed, (start, end) in enumerate(days[:-1]):
        md.evaluate(profiled, make_frame(300, seed), window_start=start, window_end=end)
    runs_read.clear()
    report = md.evaluate(profiled, make_frame(300, 5), window_start=days[-1][0],
                         window_end=days[-1][1])
    assert report.run_id and len(runs_read) == 6
    # the newest one; the new run itself (its twins), the version's timeline run and the new
    # run again (its twins in the timeline)
    assert sum(runs_read) == 1 + 1 + 1 + 1, runs_read


def test_tag_writes_that_change_nothing_are_left_out_in_order(profiled: str,
                                                              tracking_uri: str) -> None:
    ref = registry.resolve(registry.client_for(tracking_uri), profiled)
    ref = registry.simulate(ref, (Action("set_tag", "a", "1"), Action("set_tag", "b", "2")))
    actions = (Action("set_tag", "a", "1"), Action("set_tag", "b", "3"),
               Action("set_tag", "b", "2"), Action("set_tag", "a", "1", version="99"),
               Action("set_alias", "champion"), Action("set_tag", "c", "4"))
    assert registry.changes(ref, actions) == actions[1:]


def test_a_rivals_write_of_the_lease_at_the_same_moment_is_waited_for(
        tracking_uri: str, profiled: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two processes that find the lease free write it at once: the store refuses the second
    insert of the tag as a duplicate. The refused one waits for the rival's lease like any."""
    client = registry.client_for(tracking_uri)
    ref = registry.resolve(client, profiled)
    real = MlflowClient.set_model_version_tag
    rival = "rival|{:.3f}"
    raced = []

    def racing(self: MlflowClient, name: str, version: str, key: str, value: str) -> None:
        if key == registry.LOCK and not raced:  # the rival's insert lands first: ours fails
            import time

            raced.append(rival.format(time.time() + 0.3))
            real(self, name, version, key, raced[0])
            raise MlflowException("(sqlite3.IntegrityError) UNIQUE constraint failed")
        real(self, name, version, key, value)

    monkeypatch.setattr(MlflowClient, "set_model_version_tag", racing)
    with registry.version_lock(client, ref, owner="me", settle=0.01) as now:
        assert raced and now.tags[registry.LOCK].startswith("me|")  # taken once it expired
    assert registry.LOCK not in registry.resolve(client, profiled).tags
    # a refusal that is no rival's write is the store's failure: raised, said as any refused
    # registry change is (the tag and the version), MLflow's exception its cause
    monkeypatch.setattr(MlflowClient, "set_model_version_tag",
                        lambda *a, **k: (_ for _ in ()).throw(MlflowException("read-only")))
    with pytest.raises(md.RegistryError, match=f"{profiled}: could not set tag "
                       f"{registry.LOCK}=me.* on {profiled}: read-only") as refused, \
            registry.version_lock(client, ref, owner="me", settle=0.01):
        pass
    assert isinstance(refused.value.__cause__, MlflowException)
