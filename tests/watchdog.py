"""One call run in a forked child under a deadline, so a load that never returns — even one spinning
inside C code that holds the GIL, where no signal handler or timer thread of the test's own
process can run — fails its test with the stack it hung in instead of hanging the run.

The child is forked after the test has drawn its example, so Hypothesis draws, shrinks and
reports as usual; the call's value or exception comes back pickled, so the test checks them as if
the call had run in its own process."""

from __future__ import annotations

import faulthandler
import os
import pickle
import select
import signal
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from typing import Any

STACK_LINES = 24  # the innermost frames first: where it hung, not the test runner below it


class Hung(AssertionError):
    """The call was still running at its deadline; the message holds its stack."""


def bounded(call: Callable[[], Any], seconds: float) -> Any:
    """call() in a forked child: its value, or its exception raised here; Hung past `seconds`."""
    with tempfile.TemporaryFile() as stack:
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: never returns into the test runner
            try:
                os.close(read)
                if "torch" in sys.modules:  # a forked thread pool is not safe to share
                    sys.modules["torch"].set_num_threads(1)
                faulthandler.register(signal.SIGUSR1, file=stack, all_threads=True)
                with os.fdopen(write, "wb") as pipe:
                    pipe.write(outcome(call))
            finally:
                os._exit(0)
        os.close(write)
        try:
            payload = read_until(read, time.monotonic() + seconds)
        finally:
            os.close(read)
        if payload is None:
            os.kill(pid, signal.SIGUSR1)  # faulthandler writes every thread's stack
            dumped = wait_for_dump(stack)
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            raise Hung(f"still running after {seconds} s; where it was:\n{dumped}")
        os.waitpid(pid, 0)
    kind, value = pickle.loads(payload)
    if kind == "raised":
        raise value
    if kind == "unpicklable":
        raise AssertionError(f"the call raised, in the child:\n{value}")
    return value


def outcome(call: Callable[[], Any]) -> bytes:
    try:
        return pickle.dumps(("value", call()))
    except BaseException as exc:  # sent back whole, so the test sees the call's own exception
        try:
            return pickle.dumps(("raised", exc))
        except Exception:
            return pickle.dumps(("unpicklable", traceback.format_exc()))


def read_until(fd: int, deadline: float) -> bytes | None:
    """Everything the child writes, up to its end of file, or None at the deadline."""
    chunks = []
    while True:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            return None
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def wait_for_dump(stack) -> str:
    """The child's faulthandler dump: it is written from a signal handler, so wait until it
    stops growing (at most a few seconds)."""
    size, steady = -1, 0
    for _ in range(100):
        time.sleep(0.05)
        now = os.fstat(stack.fileno()).st_size
        steady = steady + 1 if now == size and now else 0
        if steady >= 3:
            break
        size = now
    stack.seek(0)
    lines = stack.read().decode("utf-8", "replace").splitlines()
    return "\n".join(lines[:STACK_LINES]) or "(no stack was written)"
