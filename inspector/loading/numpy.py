"""numpy weights: `.npz` archives (read without pickles) and, only with --trust-pickle, a pickle
of numpy arrays.

Karpathy's min-char-rnn keeps `Wxh, Whh, Why, bh, by`: `h = tanh(Wxh x + Whh h + bh)` on a
one-hot `x`, `y = Why h + by`. That is an `nn.RNN` with `bias_hh = 0` and a Linear head, so it is
renamed onto PyTorch's names; arrays already under PyTorch names pass as they are. A vocabulary
saved beside the weights (`chars`, `vocab`, `itos`, … as a unicode array) is used like a torch
checkpoint's.
"""

from __future__ import annotations

import io
import pickle
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from inspector.loading.files import read_zip_member
from inspector.loading.torch import detect, plain_pickle_globals, refused_pickle, stored_vocab
from models.errors import CheckpointError, first_line

if TYPE_CHECKING:
    from inspector.loading import ModelSource
    from models.checkpoint import Checkpoint

MIN_CHAR_RNN = ("Wxh", "Whh", "Why", "bh", "by")
HEADER_LIMIT = 1 << 16  # an .npy header is a short dict literal


def load_npz(path: Path, source: ModelSource) -> Checkpoint:
    arrays = read_npz(path)
    return from_arrays(path, source, arrays, "numpy .npz")


def load_pickle(path: Path, source: ModelSource) -> Checkpoint:
    """A plain pickle (not torch.save): only with --trust-pickle when it imports anything, since
    unpickling runs code; one of plain lists and dicts has nothing to run."""
    if not source.trust_pickle:
        names = plain_pickle_globals(path)
        if names:
            raise refused_pickle(path, names)
    try:
        with path.open("rb") as f:
            data = pickle.load(f)  # noqa: S301 - the user opted in with --trust-pickle
    except Exception as exc:  # a pickle can raise anything while it runs
        raise CheckpointError(f"{path}: cannot unpickle it ({type(exc).__name__}: "
                              f"{first_line(exc)})") from None
    if not isinstance(data, dict) or not data:
        raise CheckpointError(f"{path}: the pickle holds a {type(data).__name__}, not a dict of "
                              "numpy arrays")
    checkpoint = from_arrays(path, source, data, "pickle of numpy arrays (--trust-pickle)")
    checkpoint.warnings.insert(0, f"{path}: unpickled with --trust-pickle, which runs code from "
                                  "the file; do this only for files you made")
    return checkpoint


def read_npz(path: Path) -> dict[str, np.ndarray]:
    """Every array of an .npz, each header checked against its entry's size before the data is
    read, so a tiny file cannot declare a huge array; object arrays (pickles) are refused."""
    arrays = {}
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise CheckpointError(f"{path}: not a readable .npz archive ({first_line(exc)})") from None
    with archive:
        for info in archive.infolist():
            name = info.filename.removesuffix(".npy")
            data = read_zip_member(path, archive, info.filename, info.file_size)
            arrays[name] = npy_array(path, name, data)
    return arrays


def npy_array(path: Path, name: str, data: bytes) -> np.ndarray:
    buffer = io.BytesIO(data)
    try:
        version = np.lib.format.read_magic(buffer)
        reader = {(1, 0): np.lib.format.read_array_header_1_0,
                  (2, 0): np.lib.format.read_array_header_2_0}.get(version)
        if reader is None:
            raise ValueError(f"npy version {version}")
        shape, _, dtype = reader(buffer)
    except (ValueError, SyntaxError, EOFError, TypeError) as exc:
        raise CheckpointError(f"{path}: array {name!r} has no valid .npy header "
                              f"({first_line(exc)})") from None
    if dtype.hasobject:
        raise CheckpointError(f"{path}: array {name!r} holds Python objects (a pickle); save "
                              "numbers and strings only")
    count = int(np.prod(shape, dtype=object))
    if count * dtype.itemsize > len(data) - buffer.tell():
        raise CheckpointError(f"{path}: array {name!r} declares shape {shape}, more data than "
                              "its entry holds")
    buffer.seek(0)
    return np.lib.format.read_array(buffer, allow_pickle=False)


def from_arrays(path: Path, source: ModelSource, arrays: dict[Any, Any], route: str
                ) -> Checkpoint:
    """Weights and an optional vocabulary, from names min-char-rnn or PyTorch uses."""
    if not all(isinstance(key, str) for key in arrays):
        raise CheckpointError(f"{path}: array names must be strings")
    arrays = {k: v.detach().cpu().numpy() if isinstance(v, torch.Tensor) and v.layout
              == torch.strided and not v.is_meta else v for k, v in arrays.items()}
    vocab = stored_vocab(path, {k: v.tolist() if isinstance(v, np.ndarray) and v.dtype.kind
                                in "US" else v for k, v in arrays.items()})
    weights = {k: v for k, v in arrays.items() if isinstance(v, np.ndarray)
               and v.dtype.kind not in "US"}
    for key, value in weights.items():
        if value.dtype.kind != "f":
            raise CheckpointError(f"{path}: array {key!r} has dtype {value.dtype}; weights must "
                                  "be floating point")
    facts = {}
    if all(name in weights for name in MIN_CHAR_RNN):
        tensors = min_char_rnn(path, weights)
        route += ", min-char-rnn names (Wxh, Whh, Why, bh, by)"
        facts["notes"] = "one bias bh, so bias_hh = 0; tanh, as min-char-rnn computes"
        nonlinearity = "tanh"
    else:
        tensors = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in weights.items()}
        nonlinearity = None
    return detect(path, tensors, source, route, None, [], nonlinearity=nonlinearity,
                  facts=facts, vocab=vocab)


def min_char_rnn(path: Path, w: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
    hidden, vocab = w["Wxh"].shape if w["Wxh"].ndim == 2 else (0, 0)
    expected = {"Wxh": (hidden, vocab), "Whh": (hidden, hidden), "Why": (vocab, hidden),
                "bh": (hidden,), "by": (vocab,)}
    for name, shape in expected.items():
        got = w[name].reshape(-1) if name in ("bh", "by") and w[name].ndim == 2 \
            and 1 in w[name].shape else w[name]
        if got.shape != shape or not hidden:
            raise CheckpointError(f"{path}: min-char-rnn array {name} has shape "
                                  f"{w[name].shape}, expected {shape}")
        w[name] = got
    extra = sorted(set(w) - set(MIN_CHAR_RNN))
    if extra:
        raise CheckpointError(f"{path}: arrays {', '.join(extra[:6])} are not part of "
                              "min-char-rnn's Wxh, Whh, Why, bh, by")

    def tensor(a: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(a))

    bias = tensor(w["bh"])
    return {"rnn.weight_ih_l0": tensor(w["Wxh"]), "rnn.weight_hh_l0": tensor(w["Whh"]),
            "rnn.bias_ih_l0": bias, "rnn.bias_hh_l0": torch.zeros_like(bias),
            "head.weight": tensor(w["Why"]), "head.bias": tensor(w["by"])}
