"""Hostile files, one per class the loading issue lists: each must cost nothing and exit 2 with
one line. Shared by the tests and benchmarks/bench_loading.py (which times each against a valid
file)."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save_file

from models.char_rnn import CharRNN, CharRNNConfig


def tiny_state() -> dict[str, torch.Tensor]:
    torch.manual_seed(0)
    return {k: v.contiguous() for k, v in CharRNN(CharRNNConfig(6, hidden=4, embed=3))
            .state_dict().items()}


def native(path: Path, meta: str | dict, tensors: dict | None = None) -> None:
    raw = meta if isinstance(meta, str) else json.dumps(meta)
    save_file(tensors or tiny_state(), str(path), metadata={"rnn_inspect": raw})


def good_meta(**changes) -> dict:
    meta = {"format_version": 1, "kind": "char", "vocab": list("abcdef"),
            "arch": {"cell": "lstm", "layers": 1, "hidden": 4, "embed": 3}}
    for key, value in changes.items():
        if key in ("hidden", "layers", "embed"):
            meta["arch"][key] = value
        else:
            meta[key] = value
    return meta


def valid(path: Path) -> None:
    native(path, good_meta())


def state_with(path: Path, change: Callable[[dict], None]) -> None:
    state = dict(tiny_state())
    change(state)
    torch.save(state, path)


def corrupted_zip_entry(path: Path) -> None:
    """A torch.save zip with one tensor byte changed: only the entry's CRC shows it."""
    buffer = io.BytesIO()
    torch.save(tiny_state(), buffer)
    data = bytearray(buffer.getvalue())
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as archive:
        info = next(i for i in archive.infolist() if "/data/" in i.filename)
    local = info.header_offset  # the local header's own name and extra lengths (torch pads)
    start = local + 30 + int.from_bytes(data[local + 26:local + 28], "little") + \
        int.from_bytes(data[local + 28:local + 30], "little")
    data[start + 8] ^= 0xFF
    path.write_bytes(bytes(data))


def huge_npz(path: Path) -> None:
    """An .npz entry whose header declares 10^12 floats and holds 16 bytes."""
    header = {"descr": "<f4", "fortran_order": False, "shape": (10**6, 10**6)}
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, header)
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("Wxh.npy", buffer.getvalue() + b"\0" * 16)


def looping_global_heap(path: Path) -> None:
    """A legacy Keras .h5 whose global heap (where its model_config string lives) ends in a
    free-space object of size 0: HDF5's walk over the heap never moves on from it. The class of
    the mutated file the fuzzer found (tests/fixtures/looping_global_heap.h5)."""
    import h5py

    with h5py.File(path, "w") as f:
        f.attrs["model_config"] = json.dumps({"class_name": "Sequential", "config": {
            "layers": [{"class_name": "LSTM", "config": {"name": "lstm", "units": 4}}]}})
        f.create_group("model_weights")
    data = bytearray(path.read_bytes())
    heap = data.index(b"GCOL")
    at = heap + 16  # magic, version, reserved, size: then the objects, 16-byte headers
    while int.from_bytes(data[at:at + 2], "little") != 0:  # to the free-space object
        at += 16 + (int.from_bytes(data[at + 8:at + 16], "little") + 7) // 8 * 8
    data[at + 8:at + 16] = bytes(8)
    path.write_bytes(bytes(data))


def linked_back(path: Path) -> None:
    """A Keras .weights.h5 whose layer group holds a hard link to the group above it: a walk
    that follows sublayers without remembering where it has been never ends."""
    import h5py

    with h5py.File(path, "w") as f:
        layer = f.create_group("layers/lstm")
        for index, shape in enumerate([(3, 16), (4, 16), (16,)]):
            layer[f"vars/{index}"] = np.zeros(shape, np.float32)
        layer["cell"] = f["layers"]


def many_tokens(path: Path) -> None:
    """300k tokens and one duplicate in the metadata vocabulary: a quadratic check runs minutes."""
    tokens = [chr(0x10000 + i) for i in range(300_000)] + [chr(0x10005)]
    native(path, good_meta(vocab=tokens))


def typed_state(dtype: torch.dtype) -> Callable[[Path], None]:
    return lambda path: state_with(path, lambda s: s.update(
        {"rnn.weight_ih_l0": s["rnn.weight_ih_l0"].to(dtype)}))


# name -> (writer(path), suffix, text the one line contains)
HOSTILE: dict[str, tuple[Callable[[Path], None], str, str]] = {
    "empty metadata": (lambda p: native(p, ""), ".safetensors", "not valid JSON"),
    "Infinity size": (lambda p: native(p, json.dumps(good_meta()).replace('"hidden": 4',
                                                                         '"hidden": Infinity')),
                      ".safetensors", "Infinity is not a number"),
    "negative size": (lambda p: native(p, good_meta(hidden=-4)), ".safetensors",
                      "arch.hidden is -4"),
    "huge size": (lambda p: native(p, good_meta(hidden=40_000)), ".safetensors",
                  "but the file holds"),
    "wrong field type": (lambda p: native(p, good_meta(vocab="abcdef")), ".safetensors",
                         "vocab must be a JSON list"),
    "100k-deep JSON": (lambda p: native(p, "[" * 100_000 + "]" * 100_000), ".safetensors",
                       "nested too deeply"),
    "5000-digit integer": (lambda p: native(p, json.dumps(good_meta()).replace(
        '"hidden": 4', '"hidden": 4' + "0" * 5000)), ".safetensors", "digits"),
    "300k tokens, one duplicate": (many_tokens, ".safetensors", "duplicate tokens"),
    "complex weights": (typed_state(torch.complex64), ".pt", "dtype complex64"),
    "integer weights": (typed_state(torch.int64), ".pt", "dtype int64"),
    "bool weights": (typed_state(torch.bool), ".pt", "dtype bool"),
    "sparse tensor": (lambda p: state_with(p, lambda s: s.update(
        {"rnn.weight_ih_l0": s["rnn.weight_ih_l0"].to_sparse()})), ".pt", "sparse_coo tensor"),
    "meta tensor": (lambda p: state_with(p, lambda s: s.update(
        {"rnn.weight_ih_l0": torch.empty(16, 3, device="meta")})), ".pt", "has no data"),
    "non-string key": (lambda p: state_with(p, lambda s: s.update({7: torch.zeros(2)})), ".pt",
                       "key 7 is a int"),
    "corrupted zip entry": (corrupted_zip_entry, ".pt", "CRC does not match"),
    "npz declaring 10^12 floats": (huge_npz, ".npz", "more data than its entry holds"),
    "HDF5 global heap that never ends": (looping_global_heap, ".h5",
                                         "HDF5 global heap at byte"),
    "HDF5 group linked into itself": (linked_back, ".weights.h5", "is linked more than once"),
}


def long_onnx(path: Path) -> None:
    """A valid one-hot GRU + head graph whose input declares 21,000 time steps: its check must
    not step the graph through all of them (onnx's reference evaluator steps in Python)."""
    import onnx

    class Model(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.rnn, self.head = torch.nn.GRU(6, 4), torch.nn.Linear(4, 6)

        def forward(self, x):
            return self.head(self.rnn(x)[0])

    buffer = io.BytesIO()
    torch.onnx.export(Model(), (torch.zeros(2, 1, 6),), buffer, dynamo=False)
    model = onnx.load_from_string(buffer.getvalue())
    model.graph.input[0].type.tensor_type.shape.dim[0].dim_value = 21_000
    onnx.save(model, str(path))


# name -> (writer(path), suffix): valid files that must cost as little as the valid native file
COSTLY: dict[str, tuple[Callable[[Path], None], str]] = {
    "ONNX declaring 21,000 steps": (long_onnx, ".onnx"),
}
