"""The one way rnn-inspect writes a file: checked first, then written atomically.

Every output (checkpoints, traces, exports, screenshots, session files) goes through here, so
no command can replace a device, FIFO, socket or directory (safetensors' own writer renames a
temporary file over the target: `--out /dev/null` would have replaced the device), and a failure
or Ctrl-C halfway leaves any existing file exactly as it was.

Lives in `models` (which never imports `inspector`) because checkpoint saving needs it too.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

__all__ = ["OutputPathError", "atomic_path", "atomic_write", "check_output", "write_with"]

_UMASK = os.umask(0o022)  # read once, at import (os.umask can only be read by setting it)
os.umask(_UMASK)


class OutputPathError(ValueError):
    """A target that must not be written; the message is one line naming the path."""


def check_output(path: str | Path) -> Path:
    """Refuse, before any work starts, a target that is not a regular file or cannot be made.

    A missing parent folder is fine when its nearest existing ancestor is a writable folder
    (`atomic_write` creates the folders and removes them again if nothing was written).
    """
    path = Path(path)
    if str(path) == "" or path.name in ("", ".", ".."):
        raise OutputPathError(f"{path}: not a file name")
    try:
        return _checked(path)
    except OutputPathError:
        raise
    except (OSError, ValueError) as exc:  # asking can fail too: a folder that may not be entered
        raise OutputPathError(f"{path}: cannot use it ({getattr(exc, 'strerror', None) or exc})"
                              ) from None


def _checked(path: Path) -> Path:
    try:
        mode = path.stat().st_mode
    except (FileNotFoundError, NotADirectoryError):
        mode = None
    if mode is not None and not stat.S_ISREG(mode):
        raise OutputPathError(f"{path} is {_kind(mode)}, not a regular file: refusing to "
                              "replace it")
    missing = _missing_parents(path)
    ancestor = missing[-1].parent if missing else path.parent
    # A missing folder is named as missing, whatever stops it being made.
    gone = f"folder {path.parent} does not exist and cannot be made: " if missing else ""
    if ancestor.exists() and not ancestor.is_dir():
        raise OutputPathError(f"{path}: {gone}{ancestor} is a file, not a folder")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise OutputPathError(f"{path}: {gone}cannot write in {ancestor} (permission denied)")
    if mode is not None and not os.access(path, os.W_OK):
        raise OutputPathError(f"{path}: the file is not writable (permission denied)")
    return path


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _missing_parents(path: Path) -> list[Path]:
    missing = []
    parent = path.parent
    while not parent.exists():
        missing.append(parent)
        if parent == parent.parent:
            break
        parent = parent.parent
    return missing


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success it is fsynced and renamed over `path`.

    For writers that insist on a file name (safetensors, numpy, screenshots). On any exception
    (KeyboardInterrupt included) the temporary file is removed, folders made for it are removed,
    and an existing `path` is untouched.
    """
    path = check_output(path)
    made = _missing_parents(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        check_output(path)  # still not a device or folder: it could have changed meanwhile
        if path.exists():
            with contextlib.suppress(OSError):
                os.chmod(tmp, stat.S_IMODE(path.stat().st_mode))
        else:
            os.chmod(tmp, 0o666 & ~_UMASK)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        for folder in made:  # innermost first
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise
    _fsync_folder(path.parent)


@contextlib.contextmanager
def atomic_write(path: str | Path, mode: str = "w", encoding: str | None = "utf-8"
                 ) -> Iterator[IO]:
    """`open(path, mode)` that becomes visible only when the block completes without error."""
    if "b" in mode:
        encoding = None
    with atomic_path(path) as tmp, open(tmp, mode, encoding=encoding) as f:
        yield f


def write_with(path: str | Path, writer: Callable[[Path], object]) -> Path:
    """Run `writer(temporary_path)` and move the result over `path` atomically."""
    with atomic_path(path) as tmp:
        writer(tmp)
    return Path(path)


def _fsync_folder(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
