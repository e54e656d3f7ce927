"""The project's one error type: a one-line message naming the input and what was expected."""

from __future__ import annotations


class InterSynError(ValueError):
    """Bad input or state that a user can fix; the CLI prints it as one line and exits with 2."""
