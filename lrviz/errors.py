"""The one exception family lrviz raises for anything a user did or can fix.

The CLI catches :class:`LrvizError` at a single boundary, prints ``str(error)`` on one
line and exits with ``error.exit_code``; every other exception is a bug and shows a
traceback only under ``--debug``.
"""

from __future__ import annotations


class LrvizError(Exception):
    """Root of every user-facing error.

    ``where`` is the place of the bad value: ``"cyclic.yaml: scheduler.step_size_up"``
    or ``"--step-size-up"``. It is printed before the message.
    """

    exit_code = 2

    def __init__(self, message: str, where: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.where = where

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" if self.where else self.message


class SpecError(LrvizError):
    """The spec or the command line is invalid (exit code 2)."""

    exit_code = 2


class RunError(LrvizError):
    """The spec is valid, but running it fails as it would in training (exit code 1)."""

    exit_code = 1
    step: int | None = None  # the row after which the run failed, when it is known
