"""Descriptions in MLflow's UI: the line mlflow-decay keeps in a version's description and in
a window run's, in a block between marks after what a person wrote (which is left as it is)."""

from __future__ import annotations

import re
from collections.abc import Mapping

from ..core.times import span_label
from .tags import (
    DESCRIPTION_BEGIN,
    DESCRIPTION_END,
    MODEL_URI,
    PROVISIONAL,
    ROWS,
    RUN_NOTE,
    STATUS,
    STATUS_CHANGED_AT,
    STATUS_REASON,
    TIMEZONE,
    WINDOW_END,
    WINDOW_START,
    WINDOW_STATUS,
    ModelVersionRef,
)


def status_line(ref: ModelVersionRef, status: str, reasons: list[str] | None, stamp: str,
                window: str = "", since: str = "") -> str:
    """The version's stage in one Markdown line for its description: since when (the window
    it changed on, else the date) and why (``reasons`` when it changes now, else as its tags
    and its line say), and the last window evaluated. ``since`` names the window the stage
    began on when that is not the last one (a replay of late labels)."""
    if reasons is not None:
        since, why = since or window or stamp[:10], reasons
    else:
        span = _block(ref.description)
        before = _SINCE.match(ref.description, span[0]) if span else None
        since = (before["since"] if before and before["status"] == status
                 else ref.tags.get(STATUS_CHANGED_AT, stamp)[:10])
        why = [r for r in ref.tags.get(STATUS_REASON, "").split("; ") if r]
    shown: list[str] = []
    for reason in why:  # whole reasons, about 160 characters at most
        if shown and sum(len(r) + 2 for r in shown) + len(reason) > 160:
            break
        shown.append(reason.replace("*", "∗").replace("`", "'"))  # no Markdown emphasis
    more = f" (+{len(why) - len(shown)} more)" if len(why) > len(shown) else ""
    because = f": {'; '.join(shown)}{more}" if shown else ""
    when = f"{stamp[:16].replace('T', ' ')} UTC"
    last = f"last window {window} evaluated {when}" if window else f"updated {when}"
    return f"**mlflow-decay: {status}** since {since}{because} · {last}"


#: What :func:`status_line` wrote before: the stage and since when.
_SINCE = re.compile(re.escape(DESCRIPTION_BEGIN)
                    + r"\s*\*\*mlflow-decay: (?P<status>\w+)\*\* since (?P<since>.+?)(?:: | · )")


def _block(description: str) -> tuple[int, int] | None:
    """Where mlflow-decay's marked block is: the first end marker and the begin marker
    nearest before it (a begin marker whose end a person deleted is left alone, and so is the
    text after it)."""
    end = description.find(DESCRIPTION_END)
    start = description.rfind(DESCRIPTION_BEGIN, 0, end) if end >= 0 else -1
    return (start, end + len(DESCRIPTION_END)) if start >= 0 else None


def with_block(description: str, line: str) -> str:
    """``description`` with mlflow-decay's marked block holding ``line``: the block replaced
    where it is, else appended after what a person wrote (which is kept as it is)."""
    block = f"{DESCRIPTION_BEGIN}\n{line}\n{DESCRIPTION_END}"
    span = _block(description)
    if span is not None:
        return description[:span[0]] + block + description[span[1]:]
    if not description.strip():
        return block
    ending = len(description) - len(description.rstrip("\n"))
    return description + "\n" * max(0, 2 - ending) + block


def noted(tags: Mapping[str, str], changes: Mapping[str, str]) -> dict[str, str]:
    """``changes`` to a window run's tags ``tags`` with its description (:func:`window_note`)
    rewritten to match them."""
    return {**changes, RUN_NOTE: window_note({**tags, **changes})}


def window_note(tags: Mapping[str, str]) -> str:
    """A window run's description (MLflow's ``mlflow.note.content``) from its ``tags`` (as
    they are after the change being made): the version, the window on its clock and its rows,
    this window's own verdict (its name's last word) and the version's stage after it, which
    the policy's hysteresis may hold back; in the marked block, after what a person wrote
    there."""
    zone = tags.get(TIMEZONE) or None
    span = span_label(tags.get(WINDOW_START) or None, tags.get(WINDOW_END) or None, zone)
    where = f"window {span} ({zone or 'UTC'})" if span else "a window without dates"
    rows = tags.get(ROWS, "")
    size = f", {int(rows):,} rows" if rows.isdigit() else ""
    still = (" (still open when evaluated: it moved nothing)"
             if tags.get(PROVISIONAL) == "true" else "")
    line = (f"**{tags.get(MODEL_URI, '?')}**, {where}{size}: this window alone "
            f"**{tags.get(WINDOW_STATUS, '?')}**, the version's stage after it "
            f"**{tags.get(STATUS, '?')}**{still}. The report: artifact `decay_report.html`.")
    return with_block(tags.get(RUN_NOTE, ""), line)
