"""No cyclic garbage collection between a key and its frame.

Python's collector runs whenever enough objects have been allocated, and a key's frame allocates
thousands (records, strips, segments): measured on a 4x1024 LSTM at 200x60, two or three
collections a key, ~0.7 ms on average and ~9 ms when one is a full collection. The screen pauses
the collector when a key comes in and lets it run again once the frame is out and the app is idle
(the lookahead), so its work falls between keys instead. Nothing is lost: objects are still freed
by reference counting at once, and cycles wait a few tens of milliseconds. If the collector was
off already (the user's choice), it is left alone; a pause that nothing ends (keys faster than
the lookahead, forever) is ended by `check` after `LONGEST` seconds.
"""

from __future__ import annotations

import gc
import time

LONGEST = 1.0  # s: the longest the collector stays paused

_paused_at: float | None = None


def pause() -> None:
    global _paused_at
    if _paused_at is None and gc.isenabled():
        gc.disable()
        _paused_at = time.monotonic()


def resume() -> None:
    global _paused_at
    if _paused_at is not None:
        _paused_at = None
        gc.enable()


def check(now: float | None = None) -> None:
    """End a pause that has lasted longer than `LONGEST` (called on a timer)."""
    if _paused_at is not None and (time.monotonic() if now is None else now) - _paused_at > LONGEST:
        resume()


def paused() -> bool:
    return _paused_at is not None
