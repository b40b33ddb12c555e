"""A user's forward run under guard: one call at a time, each bounded by a deadline.

A model with its own forward (`--factory`, `--trust-pickle`) runs the user's code on every step.
That code may raise, return something off the protocol, or never return; none of it may crash or
freeze whoever steps it. So every call goes to one thread of the model's own, one at a time (hooks
on the user's modules and the module itself are not safe to share between two calls), and the
caller waits for it at most `timeout` seconds. A call that does not return in time leaves its
thread running the user's code, so the model is given up: it is never called again, and every
later step is refused at once with the same one line.

Refusals are `StepRefused` (a `ValueError`, in `models.errors` so the TUI can catch it before
torch is imported): the step did not happen, and a `Session` is left as it was before it.
`ModelUnusable`, a `StepRefused`, says the model hung and will refuse every step.
"""

from __future__ import annotations

import queue
import threading
import weakref
from collections.abc import Callable
from typing import Any

from models.errors import ModelUnusable, StepRefused

__all__ = ["STEP_TIMEOUT", "Guard", "ModelUnusable", "StepRefused"]

STEP_TIMEOUT = 5.0  # s one call of a user's forward may take (rnn-inspect --step-timeout)


class _Call:
    __slots__ = ("args", "done", "error", "function", "result")

    def __init__(self, function: Callable[..., Any], args: tuple) -> None:
        self.function, self.args = function, args
        self.done = threading.Event()
        self.result: Any = None
        self.error: BaseException | None = None


_STOP = None


def _serve(calls: queue.SimpleQueue) -> None:
    """The guard's thread: run each call in turn. It holds no reference to the guard, so a guard
    that is dropped lets its thread end (see `Guard.__init__`)."""
    while (call := calls.get()) is not _STOP:
        try:
            call.result = call.function(*call.args)
        except BaseException as exc:  # handed to the caller, raised there
            call.error = exc
        call.done.set()
        del call


class Guard:
    """Runs calls of one model's user code on a thread of its own, one at a time, each waited
    for at most `timeout` seconds."""

    def __init__(self, name: str, timeout: float = STEP_TIMEOUT) -> None:
        if not timeout > 0:
            raise ValueError(f"the step timeout must be a positive number of seconds, "
                             f"not {timeout}")
        self.name = name
        self.timeout = float(timeout)
        self.unusable: str | None = None  # the one line every call is refused with, once hung
        self._lock = threading.Lock()
        self._calls: queue.SimpleQueue = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        weakref.finalize(self, self._calls.put, _STOP)

    def run(self, function: Callable[..., Any], *args: Any) -> Any:
        """`function(*args)` on the guard's thread: its result, or the exception it raised
        (raised here, in the caller). Raises ModelUnusable if it does not return within the
        timeout, and for every call after that. Calls from several threads are served one at a
        time; a caller waits at most three times the timeout (twice for its turn)."""
        if not self._lock.acquire(timeout=2 * self.timeout):
            # Another caller's call ends within the timeout (it returns or gives the model up),
            # so this is a machine too loaded to keep up: refused, the model is kept.
            raise StepRefused(f"{self.name}: its forward is still busy with another step")
        try:
            if self.unusable is not None:
                raise ModelUnusable(self.unusable)
            if self._thread is None:
                self._thread = threading.Thread(target=_serve, args=(self._calls,),
                                                name=f"user forward: {self.name}", daemon=True)
                self._thread.start()
            call = _Call(function, args)
            self._calls.put(call)
            if not call.done.wait(self.timeout):
                self.unusable = self._hung_line()
                raise ModelUnusable(self.unusable)
            if call.error is not None:
                error, call.error = call.error, None
                raise error
            return call.result
        finally:
            self._lock.release()

    def _hung_line(self) -> str:
        return (f"{self.name}: its forward did not return within {self.timeout:g} s, so it is "
                "not stepped again (it may still be running); fix its forward, or give it more "
                "time with --step-timeout SECONDS, and open it again")
