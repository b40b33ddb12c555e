"""HDF5 global heaps checked before the HDF5 library reads them.

Variable-length data (the strings of a legacy Keras file's `model_config`, `weight_names`, …)
lives in global heap collections (`GCOL` blocks). The library walks a collection's objects with
`p = begin + need`, where `need` comes from the file; an object whose `need` is 0 (a free-space
object of size 0, or a size that wraps around) never moves `p`, and the walk spins forever in C,
holding the GIL, deaf to Ctrl-C. A mutated `.h5` did exactly that (tests/fixtures/).

So every collection in the file is walked here first, as the library would walk it, and one
whose objects do not tile it exactly — each object at least an object header long, none past its
end — is refused. A collection the library has written always tiles exactly, so valid files pass.
"""

from __future__ import annotations

import mmap
import os
from pathlib import Path

from models.errors import CheckpointError

SIGNATURE = b"\x89HDF\r\n\x1a\n"
MAGIC = b"GCOL"
MIN_SIZE = 4096  # H5HG_MINSIZE: the library never writes a smaller collection
MAX_OBJECTS = 1 << 20  # far more variable-length values than a model's description holds
WRAP = 1 << 64  # the library's sizes are size_t


def check_file(path: Path) -> None:
    """check_bytes over an HDF5 file on disk, mapped rather than read."""
    try:
        with path.open("rb") as f:
            if os.fstat(f.fileno()).st_size == 0:
                return  # nothing to map; h5py refuses an empty file itself
            with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as data:
                check_bytes(path, data)
    except OSError:
        return  # a file that cannot be mapped cannot be read by h5py either: it says why


def check_bytes(path: Path, data: bytes | mmap.mmap) -> None:
    """Refuse the file (one line) if any global heap collection in `data` would make the HDF5
    library loop; files without a superblock are left for the library to refuse."""
    lengths = size_of_lengths(data)
    if lengths is None:
        return
    header = 8 + lengths  # magic, version, 3 reserved bytes, then the collection's size
    objects = 0
    at = data.find(MAGIC)
    while at != -1:
        if data[at + 4:at + 8] == b"\x01\0\0\0":  # version 1, reserved zero: a collection
            size = little(data, at + 8, lengths)
            if size >= MIN_SIZE:
                objects += walk(path, data, at, size, header, lengths)
                if objects > MAX_OBJECTS:
                    raise CheckpointError(f"{path}: its HDF5 global heaps hold more than "
                                          f"{MAX_OBJECTS:,} objects; not a model file")
        at = data.find(MAGIC, at + 1)


def walk(path: Path, data, start: int, size: int, header: int, lengths: int) -> int:
    """The library's walk over one collection, bytes past the file's end read as zeros (as a
    file-like object gives them); returns how many objects it holds."""
    end = start + size
    object_header = 8 + lengths  # index, reference count, 4 reserved bytes, the object's size
    p, count = start + header, 0
    while p < end:
        if p + object_header > end:  # a tail too short for a header is free space
            break
        index = little(data, p, 2)
        object_size = little(data, p + 8, lengths)
        need = object_size if index == 0 else \
            (object_header + ((object_size + 7) & ~7)) % WRAP
        if need < object_header or p + need > end:
            raise CheckpointError(
                f"{path}: HDF5 global heap at byte {start:,} is damaged (object {index} at byte "
                f"{p:,} claims {object_size:,} bytes); the file is corrupted")
        p += need
        count += 1
        if count > MAX_OBJECTS:
            break
    return count


def size_of_lengths(data) -> int | None:
    """The superblock's size of lengths (the width of every size field), or None without one.
    The superblock sits at byte 0, 512, 1024, … (after a user block)."""
    at = 0
    while at + 16 <= len(data):
        if data[at:at + 8] == SIGNATURE:
            version = data[at + 8]
            lengths = data[at + 14] if version in (0, 1) else data[at + 10]
            return lengths if lengths in (2, 4, 8, 16, 32) else None
        at = 512 if at == 0 else at * 2
    return None


def little(data, at: int, width: int) -> int:
    """A little-endian size_t of `width` bytes at `at` (zeros past the end), as the library
    decodes it: wider fields wrap at 64 bits."""
    raw = bytes(data[at:at + width])
    return int.from_bytes(raw.ljust(width, b"\0"), "little") % WRAP
