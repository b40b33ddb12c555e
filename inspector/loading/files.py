"""The file-system side of loading, written once: which file a name means, whether it can be
read, the vocabulary files, and where user code imports from."""

from __future__ import annotations

import difflib
import json
import os
import stat
import sys
import zipfile
import zlib
from pathlib import Path

from models.errors import CheckpointError, first_line
from models.vocab import CharVocab
from models.zoo import ZOO_DIR, zoo_names


def resolve(model: str | Path) -> Path:
    """A zoo name (`doubled-lstm`) -> its bundled file; anything else is a path as given.

    A bare zoo name always means the zoo, even when the current folder holds a file or folder of
    that name (`./doubled-lstm` names that one): what `rnn-inspect doubled-lstm` opens must not
    depend on where it is run."""
    text = str(model)
    path = Path(model)
    bare = not path.suffix and "/" not in text and os.sep not in text and "\0" not in text
    zoo = ZOO_DIR / f"{text}.safetensors"
    if bare and text not in ("", ".", "..") and zoo.is_file():
        return zoo
    if not bare or path.exists():
        return path
    known = zoo_names()
    close = difflib.get_close_matches(text, known, n=1)
    hint = f"; did you mean {close[0]}?" if close else f" (zoo: {', '.join(known) or 'none'})"
    raise CheckpointError(f"{model}: no such file and no zoo model of that name{hint}")


def readable_file(model: str) -> Path:
    """The file `model` names (a path or a zoo name), or a one-line error for every way it can
    fail to be one: asking the file system can itself fail (a directory on the way that may not
    be entered, a name too long), and that is an error message too, not a traceback."""
    try:
        path = resolve(model)
        if not path.exists():
            raise CheckpointError(f"{path}: no such file")
        mode = path.stat().st_mode
        if stat.S_ISDIR(mode):
            if (path / "saved_model.pb").exists():
                raise CheckpointError(f"{path}: is a TensorFlow SavedModel, which is not "
                                      f"supported: {CONVERT_HINT}")
            raise CheckpointError(f"{path}: is a directory, not a checkpoint file")
        if not stat.S_ISREG(mode):  # a FIFO would block the first read, a device never end
            raise CheckpointError(f"{path}: is a {special_kind(mode)}, not a regular file")
        if not os.access(path, os.R_OK):
            raise CheckpointError(f"{path}: permission denied")
    except PermissionError:
        raise CheckpointError(f"{model}: permission denied (a directory on the way cannot be "
                              "entered)") from None
    except OSError as exc:
        shown = model if len(model) <= 200 else f"{model[:100]}…{model[-100:]}"
        raise CheckpointError(f"{shown}: cannot open ({exc.strerror or first_line(exc)})"
                              ) from None
    return path


def special_kind(mode: int) -> str:
    kinds = ((stat.S_ISFIFO, "FIFO (named pipe)"), (stat.S_ISSOCK, "socket"),
             (stat.S_ISCHR, "character device"), (stat.S_ISBLK, "block device"))
    return next((name for test, name in kinds if test(mode)), "special file")


CONVERT_HINT = ("export the model to ONNX, Keras (.keras) or a PyTorch state_dict "
                "(torch.save(model.state_dict(), PATH)) and open that")
HEAD_SIZE = 64
TORCH_LEGACY = b"\x80\x02\x8a\x0al\xfc\x9cF\xf9 j\xa8P\x19"  # torch.save's magic number
HDF5 = b"\x89HDF\r\n\x1a\n"
OTHER_KINDS = {".t7": "a Lua Torch7 file", ".pb": "a TensorFlow graph (.pb)",
               ".tflite": "a TensorFlow Lite model", ".gguf": "a GGUF file (llama.cpp)",
               ".index": "a TensorFlow checkpoint index", ".msgpack": "a Flax checkpoint",
               ".joblib": "a joblib pickle"}


def read_head(path: Path) -> bytes:
    """The first bytes of a regular file: what its format is recognised by."""
    try:
        with path.open("rb") as f:
            return f.read(HEAD_SIZE)
    except OSError as exc:
        raise CheckpointError(f"{path}: cannot read ({exc.strerror or first_line(exc)})"
                              ) from None


def kind_of(path: Path, head: bytes) -> str:
    """safetensors | keras | hdf5 | npz | torchscript | pickle | onnx | torch, from the head and,
    for zip archives, the entry names; kinds the inspector cannot open are named in the error."""
    size = path.stat().st_size
    if len(head) >= 9 and head[8:9] == b"{" and int.from_bytes(head[:8], "little") <= size - 8:
        return "safetensors"
    if path.suffix == ".safetensors":
        return "safetensors"
    if head.startswith(HDF5):
        return "hdf5"
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return zip_kind(path)
    if head.startswith(b"\x80") and not head.startswith(TORCH_LEGACY):
        return "pickle"
    if path.suffix == ".onnx":
        return "onnx"
    suffix = ".index" if path.name.endswith(".ckpt.index") else path.suffix
    other = OTHER_KINDS.get(suffix) or ("a TensorFlow Lite model" if head[4:8] == b"TFL3"
                                        else "a GGUF file (llama.cpp)" if head[:4] == b"GGUF"
                                        else None)
    if other:
        raise CheckpointError(f"{path}: is {other}, which is not supported: {CONVERT_HINT}")
    return "torch"


def zip_kind(path: Path) -> str:
    """A zip is a Keras 3 archive, an .npz, TorchScript, or a torch.save file."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            damaged = archive.testzip()  # every entry's CRC: torch's reader checks none
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, zlib.error, NotImplementedError):
        return "torch"  # torch.load reports the damage in its words
    if damaged is not None:
        raise CheckpointError(f"{path}: archive entry {damaged} is corrupted (its CRC does not "
                              "match)")
    if "config.json" in names and "model.weights.h5" in names:
        return "keras"
    if names and all(name.endswith(".npy") for name in names):
        return "npz"
    if any(name.endswith("/constants.pkl") or "/code/__torch__" in name for name in names):
        return "torchscript"
    return "torch"


def read_vocab(path: str | Path, what: str = "--vocab") -> CharVocab:
    """A JSON list of tokens in index order (so "\\n" and " " are expressible), of any spelling:
    characters, words, specials such as `<eos>` or `SOS`."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CheckpointError(f"{path}: no such file ({what})") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"{path}: cannot read {what} ({exc})") from None
    except json.JSONDecodeError as exc:
        raise CheckpointError(f"{path}: {what} is not valid JSON ({exc})") from None
    if not isinstance(data, list) or not all(isinstance(t, str) for t in data):
        raise CheckpointError(f"{path}: {what} must be a JSON list of strings, one token each")
    duplicate = first_duplicate(data)
    if duplicate is not None:
        raise CheckpointError(f"{path}: {what} has duplicate tokens: {duplicate!r}")
    try:
        return CharVocab(tuple(data))
    except ValueError as exc:
        raise CheckpointError(f"{path}: {what}: {exc}") from None


def read_labels(path: str | Path) -> list[str]:
    """--labels FILE: a JSON list naming a head's outputs in index order (tags, classes)."""
    path = Path(path)
    try:
        data = read_json_text(path, path.read_text(encoding="utf-8"), "--labels")
    except FileNotFoundError:
        raise CheckpointError(f"{path}: no such file (--labels)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"{path}: cannot read --labels ({exc})") from None
    if not isinstance(data, list) or not data or not all(isinstance(t, str) for t in data):
        raise CheckpointError(f"{path}: --labels must be a JSON list of strings, one per output")
    duplicate = first_duplicate(data)
    if duplicate is not None:
        raise CheckpointError(f"{path}: --labels names {duplicate!r} twice")
    return data


def first_duplicate(tokens: list[str]) -> str | None:
    """One pass with a set: a vocabulary of a million tokens is checked in milliseconds."""
    seen: set[str] = set()
    for token in tokens:
        if token in seen:
            return token
        seen.add(token)
    return None


def importable_cwd() -> None:
    """User modules (a factory's, a pickled model's class) import from the current directory."""
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())


def refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not a number JSON allows")


def read_json_text(path: Path, text: str | bytes, what: str):
    """JSON from a file's metadata, as strict as the standard: no NaN or Infinity, no numbers of
    thousands of digits, no nesting deep enough to exhaust the stack — each one line."""
    try:
        return json.loads(text, parse_constant=refuse_constant)
    except RecursionError:
        raise CheckpointError(f"{path}: {what} is nested too deeply to be a model description"
                              ) from None
    except (ValueError, UnicodeDecodeError) as exc:  # JSONDecodeError, int digits limit
        raise CheckpointError(f"{path}: {what} is not valid JSON ({first_line(exc)})") from None


def read_zip_member(path: Path, archive: zipfile.ZipFile, name: str, limit: int) -> bytes:
    """One member of a zip archive, at most `limit` bytes, its CRC checked: a corrupted entry or
    a zip bomb is one line, never a partial read or gigabytes."""
    try:
        info = archive.getinfo(name)
    except KeyError:
        raise CheckpointError(f"{path}: the archive has no {name}") from None
    if info.file_size > limit:
        raise CheckpointError(f"{path}: {name} in the archive declares {info.file_size:,} bytes, "
                              f"more than a model of this file's size needs")
    if info.flag_bits & 0x1:
        raise CheckpointError(f"{path}: {name} in the archive is encrypted")
    try:
        with archive.open(info) as member:
            data = member.read(limit + 1)
    except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError, zlib.error) as exc:
        raise CheckpointError(f"{path}: {name} in the archive is corrupted ({first_line(exc)})"
                              ) from None
    if len(data) > limit:
        raise CheckpointError(f"{path}: {name} in the archive is larger than it declares")
    return data
