"""The promotion alias decided as data: a challenger's winning streak over the champion, window
by window, and the alias move it earns. No MLflow calls here: :mod:`.model_versions` makes the
changes."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from ..core.policy import Policy
from ..core.report import figure_text
from ..stats.comparison import DeLong, PairedLoss
from .plan import MAX_TAG, Action
from .tags import DEMOTED_TO, PROMOTE_STREAK, PROMOTE_WINDOW, PROMOTED_FROM, ModelVersionRef


def plan_promotion(champion: ModelVersionRef, challenger: ModelVersionRef,
                   test: DeLong | PairedLoss | None,
                   policy: Policy, promote: bool, window: str | None = None,
                   untested: str | None = None, shown: str = "") -> tuple[tuple[Action, ...], str]:
    """The challenger's winning streak and, when it is long enough and ``promote`` is asked,
    the alias move; returns the actions and a one-line explanation.

    A window is won when the challenger is better by the policy's margin with p below
    ``max_p_value``: DeLong's AUC difference (challenger minus champion) at least
    ``min_auc_gain``, or the share of the champion's mean loss it saves (a paired test: the
    absolute errors of a regression, the log losses of a multiclass model) at least
    ``min_loss_gain``. A degraded challenger is not
    promoted (its streak still counts). The streak is kept on the
    challenger as ``<champion version>:<count>`` and restarts when the champion changes. Each
    ``window`` (its bounds, or its rows' fingerprint) counts once: the comparison last counted
    is kept in ``PROMOTE_WINDOW`` with the streak before it and the streak's earlier windows,
    and comparing on any of them again (a retry, a job's lookback, or more rows with the same
    bounds) replaces its result instead of adding one.
    ``shown`` is the window as a reader knows it (its dates), named in ``PROMOTED_FROM``.
    ``untested`` says why there is no test (``test`` is ``None``): such a window (its labels
    not in yet, or of one class) neither wins nor loses; the streak stands and the window is
    not counted, so comparing it again with labels counts it.
    """
    held, _, count = challenger.tags.get(PROMOTE_STREAK, "").partition(":")
    base = int(count) if held == champion.version and count.isdigit() else 0
    if test is None:  # no evidence either way (no labels yet): the streak stands, uncounted
        why = "no promotion: " + (untested or "the paired test needs labels on the window")
        if base:
            why += (f"; the streak stays at {base} of {policy.promote_windows} (a window "
                    "without the test does not count)")
        return (), why
    margin = (policy.promote_min_gain if isinstance(test, DeLong)
              else policy.promote_min_loss_gain)
    won = test.gain >= margin and test.p_value < policy.promote_max_p_value
    need, alias = policy.promote_windows, policy.promote_alias
    streak, seen, kept = _streak(challenger.tags.get(PROMOTE_WINDOW, ""), champion.version,
                                 window, base, won, need)
    needs = "" if won else f"; a win needs {_needed(test, margin, policy)}"
    why = (f"challenger {'won' if won else 'did not win'} this window ({_difference(test)}, "
           f"p = {test.p_value:.3g}{needs}); streak {streak} of {need}")
    if seen:
        why += " (this window was compared before: its result replaces the earlier one)"
    counted = () if kept is None else (
        Action("set_tag", PROMOTE_WINDOW, kept, version=challenger.version),)
    due = promote and streak >= need and alias not in challenger.aliases
    if due and challenger.status == "degraded":  # as a rollback, never to a degraded version
        due, why = False, (f"{why}; @{alias} not moved: v{challenger.version} is degraded "
                           "(restore it first)")
    if not due:
        return (*counted, Action("set_tag", PROMOTE_STREAK, f"{champion.version}:{streak}",
                                 version=challenger.version)), why
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    return (
        Action("set_alias", alias, version=challenger.version),
        Action("set_tag", PROMOTED_FROM, f"v{champion.version}: {why}"
               f"{f'; window {shown}' if shown else ''}; promoted at {stamp}"[:MAX_TAG],
               version=challenger.version),
        Action("set_tag", DEMOTED_TO, f"v{challenger.version} at {stamp}",
               version=champion.version),
        *counted,
        Action("set_tag", PROMOTE_STREAK, f"{champion.version}:0", version=challenger.version),
    ), f"{why}: @{alias} moves to v{challenger.version}"


def promoted_by(actions: tuple[Action, ...], run_id: str) -> tuple[Action, ...]:
    """``actions`` with the comparison run that justified a promotion named at the end of
    its ``PROMOTED_FROM`` tag (the run is logged after the actions are planned)."""
    return tuple(replace(a, value=f"{a.value}; comparison run {run_id}"[:MAX_TAG])
                 if a.kind == "set_tag" and a.key == PROMOTED_FROM else a for a in actions)


def _streak(tag: str, champion: str, window: str | None, base: int, won: bool, need: int
            ) -> tuple[int, bool, str | None]:
    """The streak after a window won (or not) with ``base`` windows won before it; whether the
    window was compared before (its result replaces the earlier one); and the new value of the
    ``PROMOTE_WINDOW`` tag (``tag``), ``None`` to leave it.

    The tag reads ``<champion>|<streak before the last window>|<last window>`` and then the
    streak's earlier windows, newest first, so that none of them counts twice: the last
    window again counts from the streak before it, an earlier window of the streak won again
    leaves the streak as it is.
    """
    parts = tag.split("|")
    last_champion, last_base, last_window = [*parts, "", ""][:3]
    same = window is not None and last_champion == champion and last_base.isdigit()
    again = same and last_window == window
    within = same and not again and base > 0 and window in parts[3:]
    if again:
        base = int(last_base)
    streak = (base if within else base + 1) if won else 0
    if window is None or (within and won):
        return streak, again or within, None
    earlier = (parts[3:] if again else [last_window, *parts[3:]] if same and base and
               not within else [])[:need]
    kept = [champion, str(0 if within else base), window, *earlier]
    while len("|".join(kept)) > MAX_TAG and len(kept) > 3:
        kept.pop()
    return streak, again or within, "|".join(kept)[:MAX_TAG]


def _needed(test: DeLong | PairedLoss, margin: float, policy: Policy) -> str:
    """What the policy's ``[promote]`` asks of a window's test: ``AUC +0.0100 or more`` or
    ``mae -2.0% or lower``, and the p-value."""
    what = (f"AUC {margin:+.4f} or more" if isinstance(test, DeLong)
            else f"{test.metric} {-margin:+.1%} or lower")
    return f"{what} with p < {policy.promote_max_p_value:g}"


def _difference(test: DeLong | PairedLoss) -> str:
    """A test's difference, challenger minus champion: ``AUC +0.0123`` or, for a loss,
    ``mae -3.1% (0.512 to 0.496)``."""
    if isinstance(test, DeLong):
        return f"AUC {test.diff:+.4f}"
    return (f"{test.metric} {-test.gain:+.1%} ({figure_text(test.mean[0])} to "
            f"{figure_text(test.mean[1])})")
