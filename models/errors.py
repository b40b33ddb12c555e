"""Errors users see: one line each. Free of torch, so the TUI can import it before torch loads."""

from __future__ import annotations

__all__ = ["CheckpointError", "ModelUnusable", "StepRefused", "first_line", "printable"]


class CheckpointError(Exception):
    """A checkpoint that cannot be used; the message is one line naming the file and the problem.

    Messages quote what files contain (key names, metadata), which may hold any character: control
    characters are escaped here, so the message stays one line whatever the file says."""

    def __init__(self, message: str) -> None:
        super().__init__(printable(message))


class StepRefused(ValueError):
    """A step of a model's own forward (a factory's, a trusted pickle's) that did not happen:
    the forward raised, returned something off the protocol, or did not return in time. The
    message is one line; whoever was stepping is left as it was before the step."""

    def __init__(self, message: str) -> None:
        super().__init__(printable(message))


class ModelUnusable(StepRefused):
    """A model's own forward did not return in time: it is never stepped again."""


def printable(text: str) -> str:
    """Text from a file, safe to print: control, bidi and other invisible characters (which can
    clear a terminal or reorder a line) written as escapes such as `\\x1b` and `\\u202e`."""
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode()
                   for ch in text)


def first_line(exc: BaseException) -> str:
    """An exception as a short reason for a one-line message."""
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else type(exc).__name__
