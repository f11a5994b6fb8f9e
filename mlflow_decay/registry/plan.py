"""Registry changes decided as data: a window's verdict through the hysteresis, once per window,
and the rollback alias (:mod:`.promotion` decides the promotion alias). No MLflow calls here:
:mod:`.model_versions` makes the changes."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Literal, cast

from ..core.policy import Policy
from ..core.rules import STATUSES, Status
from ..core.times import identifying_span, is_open, parse_time, span_label, time_label
from ..errors import RegistryError
from .description import status_line, with_block
from .tags import (
    BREACH_STREAK,
    CLEAN_STREAK,
    DESCRIPTION_BEGIN,
    LAST_EVALUATED_AT,
    LAST_RUN_ID,
    LAST_STATUS,
    LAST_WINDOW,
    PROFILE_URI,
    REMOVED_ALIASES,
    ROLLED_BACK_FROM,
    ROLLED_BACK_TO,
    STATUS,
    STATUS_CHANGED_AT,
    STATUS_REASON,
    STATUS_RUN_ID,
    ModelVersionRef,
)

#: The longest tag value written: a longer reason or window list is cut.
MAX_TAG = 5000


# -- status ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Action:
    """One registry change: a version tag, an alias removal or move, a legacy stage, or the
    status line in the version's description (``set_description``: ``value`` replaces the
    marked block, see :func:`with_block`).

    ``version`` names another version of the same model when the change is not to the
    evaluated one (a rollback tags and points the alias at its target).
    """

    kind: Literal["set_tag", "delete_alias", "set_alias", "transition_stage", "set_description"]
    key: str
    value: str = ""
    version: str | None = None

    def to_dict(self) -> dict[str, str | None]:
        return {"kind": self.kind, "key": self.key, "value": self.value, "version": self.version}

    @classmethod
    def from_dict(cls, obj: dict[str, str | None]) -> Action:
        kind = obj["kind"]
        if kind not in ("set_tag", "delete_alias", "set_alias", "transition_stage",
                        "set_description"):
            raise RegistryError(f"unknown planned registry action {kind!r}")
        return cls(kind, str(obj["key"]), str(obj.get("value") or ""),  # type: ignore[arg-type]
                   None if obj.get("version") is None else str(obj["version"]))

    def describe(self, ref: ModelVersionRef) -> str:
        """The change as a person reads it; an alias change reads back with
        :func:`alias_change_version`."""
        where = f"models:/{ref.name}/{self.version}" if self.version else ref.uri
        if self.kind == "delete_alias":
            return f"{_ALIAS_VERBS[0]}{self.key} from {where}"
        if self.kind == "set_alias":
            return f"{_ALIAS_VERBS[1]}{self.key} to {where}"
        if self.kind == "transition_stage":
            return f"transition {where} to stage {self.value}"
        if self.kind == "set_description":
            return f"describe {where}: {self.value[:60]}"
        return f"set tag {self.key}={self.value[:60]} on {where}"


_ALIAS_VERBS = ("remove alias @", "move alias @")


def alias_change_version(text: str) -> str | None:
    """The version an alias change described by :meth:`Action.describe` is about (the one the
    alias left or went to), else ``None``: the text describes another kind of change."""
    if not text.startswith(_ALIAS_VERBS):
        return None
    return text.rpartition("/")[2]


@dataclass(frozen=True)
class Plan:
    """The status a version moves to after one evaluation, and the registry changes it takes."""

    previous: str | None
    status: Status
    changed: bool
    actions: tuple[Action, ...] = field(default=())
    note: str | None = None
    skipped: bool = False


def plan(ref: ModelVersionRef, status: Status, reasons: list[str], policy: Policy,
         run_id: str | None, now: datetime | None = None,
         state: tuple[Status, tuple[int, int], str | None] | None = None,
         others: list[ModelVersionRef] | None = None,
         base: tuple[str | None, tuple[int, int]] | None = None,
         window: str = "", describe: bool | None = None, last_run_id: str | None = None,
         since: str = "") -> Plan:
    """Decide the version's next status and the registry changes, without making them.

    The policy's hysteresis decides the stage from this window and the streaks kept in version
    tags (so any process can continue them), or from ``base`` (a stage and streaks to start
    from: those before a window whose verdict this one replaces), unless ``state`` gives the
    outcome (a replay); re-evaluating a degraded version changes nothing but the last-run and
    streak tags. A degraded version's rollback aliases move to the newest healthy version
    among ``others``. With ``describe`` (default: the policy's, or whether the description
    holds a status line written before, which is kept true), the version's description gets a
    status line naming ``window`` (the window's bounds, short). ``run_id`` is the run
    the stage is decided on, also taken as the last window's run unless ``last_run_id`` names
    a later one (a replay decides on the window where the final stage began). ``since`` (a
    replay) names the window the stage began on, when that moved: the status line then says
    so, with ``reasons``, though the stage stays.
    """
    previous = ref.status
    start, streaks = base if base is not None else (
        previous, (_int_tag(ref, BREACH_STREAK), _int_tag(ref, CLEAN_STREAK)))
    status, streaks, note = state or policy.next_state(start, status, streaks)
    stamp = (now or datetime.now(UTC)).isoformat(timespec="seconds")
    run = run_id or "<this run>"
    reason = "; ".join(reasons) or "no threshold breached"
    actions: list[Action] = []
    if status == "degraded":
        actions, stuck = _degrade(ref, policy, others)
        note = "; ".join(n for n in (note, *stuck) if n) or None
    changed = status != previous
    if changed:
        actions += [
            Action("set_tag", STATUS_REASON, _clip(reason)),
            Action("set_tag", STATUS_RUN_ID, run),
            Action("set_tag", STATUS_CHANGED_AT, stamp),
        ]
    actions += [
        Action("set_tag", BREACH_STREAK, str(streaks[0])),
        Action("set_tag", CLEAN_STREAK, str(streaks[1])),
        Action("set_tag", LAST_STATUS, status),
        Action("set_tag", LAST_RUN_ID, last_run_id or run),
        Action("set_tag", LAST_EVALUATED_AT, stamp),
    ]
    if describe is None:  # a line written before stays true whatever the policy
        describe = policy.describe or DESCRIPTION_BEGIN in ref.description
    if describe:
        line = status_line(ref, status, reasons if changed or since else None, stamp, window,
                           since)
        actions.append(Action("set_description", "description", line))
    # the status tag itself last, once everything it implies is done (also when the stage
    # stays but was typed by hand otherwise: searches for it match the exact spelling)
    if changed or ref.tags.get(STATUS) != status:
        actions.append(Action("set_tag", STATUS, status))
    return Plan(previous=previous, status=status, changed=changed, actions=tuple(actions),
                note=note)


def _degrade(ref: ModelVersionRef, policy: Policy, others: list[ModelVersionRef] | None
             ) -> tuple[list[Action], list[str]]:
    """What the policy does to a degraded version: its rollback aliases move to the newest
    healthy version, its other listed aliases are removed (and remembered), it may be
    archived. Also returns, per rollback alias with nowhere to go, what becomes of it.

    The removals come first: removing an alias needs MANAGE where every other change needs
    EDIT (which taking the version's lease has shown), so a refused removal leaves the
    registry as it was, not with an alias moved and the version's stage unchanged."""
    moves: list[Action] = []
    stuck: list[str] = []
    for alias in (a for a in policy.rollback_aliases if a in ref.aliases):
        target = _rollback_target(ref, others)
        if target is None:
            fate = "it is removed (remove_aliases)" if alias in policy.remove_aliases else "it stays"
            stuck.append(f"no healthy version to roll @{alias} back to; {fate}")
            continue
        moves += [
            Action("set_alias", alias, version=target.version),
            Action("set_tag", ROLLED_BACK_TO, f"@{alias} -> v{target.version}"),
            Action("set_tag", ROLLED_BACK_FROM, f"@{alias} <- v{ref.version}",
                   version=target.version),
        ]
    moved = {a.key for a in moves if a.kind == "set_alias"}
    actions = [Action("delete_alias", a) for a in policy.remove_aliases
               if a in ref.aliases and a not in moved]
    actions += moves
    if policy.archive and ref.stage != "Archived":
        actions.append(Action("transition_stage", "stage", "Archived"))
    removed = [a.key for a in actions if a.kind == "delete_alias"]
    if removed:
        previous_removed = [a for a in ref.tags.get(REMOVED_ALIASES, "").split(",") if a]
        actions.append(Action("set_tag", REMOVED_ALIASES,
                              ",".join(dict.fromkeys(previous_removed + removed))))
    return actions, stuck


def _rollback_target(ref: ModelVersionRef, others: list[ModelVersionRef] | None
                     ) -> ModelVersionRef | None:
    """The most recent other version whose stage is healthy (never a degraded one)."""
    healthy = [o for o in others or () if o.version != ref.version and o.status == "healthy"]
    return max(healthy, key=lambda o: int(o.version)) if healthy else None


def _int_tag(ref: ModelVersionRef, key: str) -> int:
    try:
        return max(int(ref.tags.get(key, "0")), 0)
    except ValueError:
        return 0


@dataclass(frozen=True)
class AppliedWindow:
    """The last window whose verdict moved a version (tag ``LAST_WINDOW``, JSON): its bounds
    (UTC ISO 8601), key and profile, and the version's stage and streaks before it."""

    start: str | None
    end: str | None
    key: str
    profile: str = ""
    before: tuple[str | None, int, int] | None = None

    def to_tag(self) -> str:
        before = None if self.before is None else dict(
            zip(("status", "breach", "clean"), self.before, strict=True))
        return json.dumps({"start": self.start, "end": self.end, "key": self.key,
                           "profile": self.profile, "before": before}, sort_keys=True)

    @classmethod
    def from_tag(cls, text: str) -> AppliedWindow:
        """Read the tag; also the older ``<end time>|<key>`` form. :class:`ValueError` if it
        is neither (an older version stored any text given as a bound)."""
        if text.startswith("{"):
            obj = json.loads(text)
            before = obj.get("before")
            return cls(obj.get("start"), obj.get("end"), str(obj["key"]), str(obj.get("profile", "")),
                       None if before is None else (before.get("status"), int(before["breach"]),
                                                    int(before["clean"])))
        when, sep, key = text.partition("|")
        stamp = parse_time(when)
        if not sep or (when and stamp is None):
            raise ValueError(text)
        return cls(None, None if stamp is None else stamp.isoformat(), key)

    def ends(self) -> Any:
        return parse_time(self.end or self.start)


def window_span(start: str | None, end: str | None) -> tuple[Any, Any] | None:
    """A window's bounds as times when they identify it (:func:`identifying_span`)."""
    return identifying_span(parse_time(start), parse_time(end))


def last_window(ref: ModelVersionRef) -> tuple[AppliedWindow | None, str | None]:
    """The version's last applied window, and a note when its tag cannot be read (then it is
    treated as absent: it must not block later verdicts)."""
    text = ref.tags.get(LAST_WINDOW)
    if not text:
        return None, None
    try:
        return AppliedWindow.from_tag(text), None
    except (ValueError, KeyError, TypeError, AttributeError):
        return None, (f"tag {LAST_WINDOW} = {text[:60]!r} is not a window (an older "
                      "mlflow-decay stored bounds as given): ignored")


def _is_last(key: str | Callable[[], str] | None, last: AppliedWindow, start: str | None,
             end: str | None, profile: str) -> bool:
    """Whether the window keyed ``key`` is the ``last`` applied one. A key hashes the profile
    and the bounds: when the last window stored others, a key still to compute cannot match."""
    if callable(key):
        times = (parse_time(start), parse_time(end))
        if last.profile and (last.profile != profile
                             or (parse_time(last.start), parse_time(last.end)) != times):
            return False
        key = key()
    return key == last.key


def plan_window(ref: ModelVersionRef, status: Status, reasons: list[str], policy: Policy,
                run_id: str | None, *, start: str | None, end: str | None,
                key: str | Callable[[], str] | None, others: list[ModelVersionRef] | None = None,
                now: datetime | None = None, rows: int | None = None,
                timezone: str | None = None) -> Plan:
    """What one window's verdict does to the version: :func:`plan`, once per window (the
    status line and notes name times on the clock of ``timezone``, the zone that cut it,
    default UTC).

    - A window still open (it ends after ``now``) is provisional: its verdict is logged, not
      applied; the closed window is evaluated anew and counts. So is a window of fewer
      ``rows`` than the policy's ``min_rows``: logged, not applied.
    - A window is identified, per version and profile, by its bounds (or, without bounds, by
      its key: rows and all). The same key as the last applied window changes nothing; the
      same bounds with other rows *replace* that window's verdict: the hysteresis starts again
      from the stage and streaks the version had before it (kept in ``LAST_WINDOW``); another
      window ending before (or, with bounds, when) the last applied one ends changes nothing.
      Otherwise the window is one more step.

    ``key`` may be a function computing it (a preview that is not logged: the rows'
    fingerprint costs a pass over them): it is called only when the last applied window has
    the same bounds and profile, and such a plan does not record the window (``LAST_WINDOW``).
    """
    notes: list[str] = []

    def skip(why: str) -> Plan:
        kept = cast(Status, ref.status if ref.status in STATUSES else "healthy")
        return Plan(ref.status, kept, False, (), "; ".join([*notes, why]), skipped=True)

    if is_open(end, now):
        return skip(f"provisional: the window ends {time_label(end, timezone)}, after now; its "
                    "verdict is logged, not applied (the closed window is evaluated again and "
                    "counts once)")
    if rows is not None and rows < policy.min_rows:
        return skip(f"{rows} rows, fewer than the policy's min_rows ({policy.min_rows}): its "
                    "verdict is logged, not applied (too few rows to tell decay from chance)")
    last, unreadable = last_window(ref) if key else (None, None)
    notes += [unreadable] if unreadable else []
    before: tuple[str | None, int, int] = (
        ref.status, _int_tag(ref, BREACH_STREAK), _int_tag(ref, CLEAN_STREAK))
    if last is not None:
        span = window_span(start, end)
        if _is_last(key, last, start, end, ref.profile_sha256):
            return skip("this window's verdict was already applied by another run")
        if (span is not None and span == window_span(last.start, last.end)
                and last.profile == ref.profile_sha256 and last.before is not None):
            before = last.before
            notes.append("a window with these bounds was applied before: this verdict replaces "
                         "it (the stage is decided again from the one before that window)")
        elif (ends := parse_time(end or start)) is not None and last.ends() is not None and (
                ends < last.ends() or (ends == last.ends() and span is not None)):
            # ending with the last applied window, whose verdict it cannot replace (that window
            # was stored by an older mlflow-decay, or judged against another profile): no step
            other = (" judged against another profile (the version's profile was attached "
                     "since)" if last.profile and last.profile != ref.profile_sha256 else "")
            return skip(f"a window ending {time_label(last.end or last.start, timezone)} or "
                        f"later was already applied by another run{other}")
    final = plan(ref, status, reasons, policy, run_id, others=others,
                 base=(before[0], (before[1], before[2])), window=span_label(start, end, timezone))
    actions = final.actions
    if isinstance(key, str) and key:
        tag = Action("set_tag", LAST_WINDOW,
                     AppliedWindow(start, end, key, ref.profile_sha256, before).to_tag())
        # the status tag stays last: everything it implies is done first
        actions = (*actions[:-1], tag, actions[-1]) if final.changed else (*actions, tag)
    if final.note:
        notes.append(final.note)
    return replace(final, actions=actions, note="; ".join(notes) or None)


def changes(ref: ModelVersionRef, actions: tuple[Action, ...],
            held: dict[str, str] | None = None) -> tuple[Action, ...]:
    """``actions`` without the tag writes that change nothing: those of ``ref``'s own tags that
    already hold the value (as the actions before them leave it). ``ref`` must be as the
    registry holds it now (read under the version's lease).

    Nor the alias changes a plan made earlier (a run cut short or refused, completed now) no
    longer fits: the removal of an alias ``ref`` does not hold (MLflow would take it from the
    version holding it now), and a rollback of an alias neither on ``ref`` nor on its target
    (moved by hand since), with its rollback tags. ``held``: the model's aliases now, by
    alias (default: ``ref``'s own)."""
    held = dict(held) if held is not None else dict.fromkeys(ref.aliases, ref.version)
    stale = {a.key for a in actions if a.kind == "set_alias" and a.version not in (
        None, ref.version) and held.get(a.key) not in (ref.version, a.version)}
    actions = tuple(a for a in actions if not (
        (a.kind == "delete_alias" and held.get(a.key) != ref.version)
        or (a.kind == "set_alias" and a.key in stale)
        or (a.kind == "set_tag" and a.key in (ROLLED_BACK_TO, ROLLED_BACK_FROM)
            and a.value.split(" ", 1)[0][1:] in stale)))
    tags, out = dict(ref.tags), []
    for action in actions:
        if action.kind == "set_tag" and action.version in (None, ref.version):
            if tags.get(action.key) == action.value:
                continue
            tags[action.key] = action.value
        out.append(action)
    return tuple(out)


def simulate(ref: ModelVersionRef, actions: tuple[Action, ...]) -> ModelVersionRef:
    """The version as it would be after ``actions`` (a dry run's registry, in memory)."""
    tags, aliases, stage, description = dict(ref.tags), list(ref.aliases), ref.stage, ref.description
    for action in actions:
        mine = action.version in (None, ref.version)
        if action.kind == "set_tag" and mine:
            tags[action.key] = action.value
        elif action.kind == "delete_alias" or (action.kind == "set_alias" and not mine):
            aliases = [a for a in aliases if a != action.key]
        elif action.kind == "set_alias":
            aliases.append(action.key)
        elif action.kind == "transition_stage" and mine:
            stage = action.value
        elif action.kind == "set_description" and mine:
            description = with_block(description, action.value)
    return replace(ref, tags=tags, aliases=tuple(dict.fromkeys(aliases)), stage=stage,
                   description=description)


def _clip(text: str) -> str:
    return text if len(text) <= MAX_TAG else text[: MAX_TAG - 1] + "…"


def status_rows(refs: list[ModelVersionRef]) -> list[dict[str, Any]]:
    """One JSON-safe row per version for ``mlflow-decay status``."""
    return [
        {
            "version": r.version,
            "aliases": list(r.aliases),
            "status": r.status or ("profiled" if PROFILE_URI in r.tags else "no profile"),
            "since": r.tags.get(STATUS_CHANGED_AT),
            "last_evaluated_at": r.tags.get(LAST_EVALUATED_AT),
            "last_status": r.tags.get(LAST_STATUS),
            "last_run_id": r.tags.get(LAST_RUN_ID),
            "status_run_id": r.tags.get(STATUS_RUN_ID),
            "reason": r.tags.get(STATUS_REASON),
            "legacy_stage": r.stage,
        }
        for r in refs
    ]
