"""The file-system side of loading, written once: which file a name means, whether it can be
read, the vocabulary files, and where user code imports from."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from models.errors import CheckpointError, first_line
from models.vocab import SPECIALS, CharVocab
from models.zoo import ZOO_DIR


def zoo_names() -> list[str]:
    return sorted(p.stem for p in ZOO_DIR.glob("*.safetensors"))


def resolve(model: str | Path) -> Path:
    """A path as given, or a zoo name (`doubled-lstm`) -> its bundled file."""
    path = Path(model)
    if path.exists() or path.suffix or "/" in str(model):
        return path
    zoo = ZOO_DIR / f"{model}.safetensors"
    if zoo.exists():
        return zoo
    known = ", ".join(zoo_names()) or "none"
    raise CheckpointError(f"{model}: no such file and no zoo model of that name (zoo: {known})")


def readable_file(model: str) -> Path:
    """The file `model` names (a path or a zoo name), or a one-line error for every way it can
    fail to be one: asking the file system can itself fail (a directory on the way that may not
    be entered, a name too long), and that is an error message too, not a traceback."""
    try:
        path = resolve(model)
        if not path.exists():
            raise CheckpointError(f"{path}: no such file")
        if path.is_dir():
            raise CheckpointError(f"{path}: is a directory, not a checkpoint file")
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


def read_vocab(path: str | Path, what: str = "--vocab") -> CharVocab:
    """A JSON list of tokens in index order (so "\\n" and " " are expressible)."""
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
    long = [t for t in data if len(t) != 1 and t not in SPECIALS]
    if long:
        raise CheckpointError(f"{path}: {what} token {long[0]!r} is neither one character nor "
                              f"one of {', '.join(SPECIALS)}; write a special such as <pad> or "
                              "<eos> as one of those or as a character the text never uses")
    try:
        return CharVocab(tuple(data))
    except ValueError as exc:  # duplicates
        raise CheckpointError(f"{path}: {what}: {exc}") from None


def importable_cwd() -> None:
    """User modules (a factory's, a pickled model's class) import from the current directory."""
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
