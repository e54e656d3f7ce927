"""The project's one error type: a one-line message naming the input and what was expected."""

from __future__ import annotations


class InterSynError(ValueError):
    """Bad input or state that a user can fix; the CLI prints it as one line and exits with 2."""


class NoTokensError(InterSynError):
    """Text `index` of a batch tokenizes to nothing; callers that batch sentences re-name it."""

    def __init__(self, index: int, text: str) -> None:
        super().__init__(f"caption {index} ({text!r:.60}) gives no tokens; expected readable text")
        self.index = index
        self.text = text
