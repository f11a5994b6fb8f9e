"""Errors raised by mlflow-decay.

Every error a user can cause is a :class:`DecayError` with a one-line message naming the
column, file, version or option at fault and what was expected. The CLI prints that line
and exits non-zero without a traceback.
"""

from __future__ import annotations


class DecayError(Exception):
    """Base class of the errors mlflow-decay raises for bad input."""

    exit_code = 1


class DataError(DecayError):
    """A window or reference table is unusable (missing column, wrong type, empty, unreadable)."""


class ProfileError(DecayError):
    """A reference profile is missing, malformed, or does not match its recorded hash."""


class RegistryError(DecayError):
    """A model, version or alias cannot be found or changed in the MLflow registry."""


class PolicyError(DecayError):
    """A policy file is malformed or names something it cannot use."""


def first_line(exc: BaseException, limit: int = 200) -> str:
    """The first line of an error's message, at most ``limit`` characters (past SQLAlchemy's
    preamble of an autoflush, which names no cause); the error's type when it says nothing."""
    lines = [line for line in str(exc).strip().splitlines()
             if not line.startswith("(raised as a result of Query-invoked autoflush")]
    return (lines[0] if lines else type(exc).__name__)[:limit]


class DecayWarning(UserWarning):
    """Something a call did that holds but that the caller should know (labels that matched
    no stored row, for one); the CLI prints it as a note."""
