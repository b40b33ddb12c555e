"""The messages workers post back to the app and screens: plain results, as dataclasses."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from textual.message import Message

if TYPE_CHECKING:
    from inspector.tui.controller import FeedResult
    from inspector.tui.frames import Seq2SeqFrame
    from inspector.tui.jobs import Loaded, Seq2SeqLoaded


@dataclass
class ModelLoaded(Message):
    loaded: Loaded | Seq2SeqLoaded
    serial: int = 0  # of the load that made it: a superseded load's result is ignored


@dataclass
class LoadFailed(Message):
    source: str
    reason: str
    serial: int = 0


@dataclass
class PartnerLoaded(Message):
    loaded: Loaded | None
    error: str | None = None


@dataclass
class Fed(Message):
    """A feed job is done (a paste, a partner catching up, keys for a user's own forward)."""

    result: FeedResult
    partner: bool = False


@dataclass
class FeedProgress(Message):
    """How far a feed job has got; a newer one replaces one still queued."""

    done: int
    partner: bool = False

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, FeedProgress) and message.partner == self.partner


@dataclass
class ExportFinished(Message):
    path: Path | None
    error: str | None = None


@dataclass
class SessionSaved(Message):
    path: Path | None
    error: str | None = None


@dataclass
class Seq2SeqWorked(Message):
    """The seq2seq screen's worker has run the verbs queued for it: the frame to draw after
    them (None if drawing it failed), and the one line of an unexpected error."""

    frame: Seq2SeqFrame | None
    error: str | None = None


@dataclass
class RecordsFetched(Message):
    """A records job is back (`CharController.run_records`): None, or why it failed."""

    serial: int
    error: str | None = None
    partner: bool = False
