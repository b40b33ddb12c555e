"""Keras models: Keras 3 `.keras` archives, legacy `.h5` files and `.weights.h5` weights, read
with h5py and the archive's config (Keras itself is not needed).

The layers are mapped onto PyTorch's names and gate orders (`embed.weight`, `rnn.weight_ih_l0`,
`head.weight`, …) and handed to the same recogniser as a torch state_dict, so vocabularies and
`info` work alike for every format. Keras keeps one bias per layer where PyTorch has two
(`bias_hh` is then zero); its LSTM gates `[i, f, c, o]` are PyTorch's `[i, f, g, o]`; its GRU
gates `[z, r, h]` are reordered to `[r, z, n]`. The lstm_seq2seq shape (an encoder LSTM whose
`[h, c]` is the decoder LSTM's initial_state) opens as seq2seq.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from inspector.loading import hdf5_heaps
from inspector.loading.files import read_json_text, read_zip_member
from inspector.loading.torch import detect
from models.errors import CheckpointError, first_line

if TYPE_CHECKING:
    from inspector.loading import ModelSource
    from models.checkpoint import Checkpoint

RECURRENT = {"LSTM": "lstm", "GRU": "gru", "SimpleRNN": "rnn"}
GATES = {"lstm": 4, "gru": 3, "rnn": 1}
PASS_THROUGH = ("InputLayer", "Dropout", "SpatialDropout1D", "GaussianDropout", "GaussianNoise")
GROUPS = 1 << 12  # groups under one layer: Keras writes a few (`cell`, `forward_layer/cell`)
CONFIG_LIMIT = 16 << 20  # config.json: larger is not a model description
INSTALL_H5PY = "pip install h5py (or pip install 'rnn-inspect[keras]')"


@dataclass
class Layer:
    """One layer of the config: its class, name, config and weights in Keras's order."""

    kind: str
    name: str
    config: dict
    inputs: list[str] = field(default_factory=list)  # names of the layers feeding it
    initial_state: list[tuple[str, int]] = field(default_factory=list)  # (layer, output index)
    weights: list[np.ndarray] = field(default_factory=list)


def h5py_module():
    try:
        import h5py
    except ImportError:
        raise CheckpointError(f"reading Keras files needs h5py: {INSTALL_H5PY}") from None
    return h5py


DAMAGE = (OSError, KeyError, RuntimeError, ValueError, TypeError, IndexError, AttributeError)


def load_keras(path: Path, source: ModelSource, head: bytes) -> Checkpoint:
    """A `.keras` zip archive (head starts with the zip magic) or an HDF5 `.h5` file; a damaged
    file (h5py's errors while walking it, a config of the wrong shape) is one line."""
    h5py = h5py_module()
    try:
        layers, route = read_layers(path, h5py, head)
    except DAMAGE as exc:
        raise CheckpointError(f"{path}: not a readable Keras file ({type(exc).__name__}: "
                              f"{first_line(exc)})") from None
    return build(path, source, layers, route)


def read_layers(path: Path, h5py, head: bytes) -> tuple[list[Layer], str]:
    if head.startswith(b"PK"):
        with zipfile.ZipFile(path) as archive:
            config = read_json_text(path, read_zip_member(path, archive, "config.json",
                                                          CONFIG_LIMIT), "config.json")
            weights = read_zip_member(path, archive, "model.weights.h5",
                                      path.stat().st_size * 2 + (1 << 20))
        hdf5_heaps.check_bytes(path, weights)
        with h5_file(h5py, path, io.BytesIO(weights)) as f:
            layers = layers_of(path, config)
            attach_v3(path, f, layers, config.get("class_name") == "Sequential")
        route = "Keras 3 .keras archive (config.json + model.weights.h5)"
    else:
        hdf5_heaps.check_file(path)
        with h5_file(h5py, path, str(path)) as f:
            raw = f.attrs.get("model_config")
            if raw is not None:
                text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
                layers = layers_of(path, read_json_text(path, text, "model_config"))
                attach_legacy(path, f["model_weights"] if "model_weights" in f else f, layers)
                route = "legacy Keras .h5 (model_config + model_weights)"
            elif "layers" in f:
                layers = layers_from_shapes(path, f)
                route = "Keras .weights.h5 (no config: layers read from the weights' shapes)"
            else:
                raise CheckpointError(f"{path}: an HDF5 file without a Keras model_config or "
                                      "Keras weights; save the model with model.save('m.keras')")
    return layers, route


class h5_file:  # noqa: N801 - used like h5py.File, with one-line errors
    """h5py.File with its errors as one line: a truncated or corrupted HDF5 file."""

    def __init__(self, h5py, path: Path, target) -> None:
        self.h5py, self.path, self.target = h5py, path, target

    def __enter__(self):
        try:
            self.file = self.h5py.File(self.target, "r")
        except (OSError, ValueError) as exc:
            raise CheckpointError(f"{self.path}: not a readable HDF5 file ({exc})") from None
        return self.file

    def __exit__(self, *exc) -> None:
        self.file.close()


def layers_of(path: Path, config: Any) -> list[Layer]:
    """The model's layers from its config, in call order, with their graph links."""
    if not isinstance(config, dict) or not isinstance(config.get("config"), dict | list):
        raise CheckpointError(f"{path}: the Keras config is not a model description")
    model_class = config.get("class_name")
    body = config["config"]
    raw_layers = body if isinstance(body, list) else body.get("layers")
    if not isinstance(raw_layers, list):
        raise CheckpointError(f"{path}: the Keras config of {model_class!r} lists no layers")
    layers = []
    previous = None
    for raw in raw_layers:
        if not isinstance(raw, dict) or not isinstance(raw.get("config"), dict):
            raise CheckpointError(f"{path}: a Keras layer entry is not an object")
        kind, conf = str(raw.get("class_name")), raw["config"]
        name = str(conf.get("name", raw.get("name", kind)))
        layer = Layer(kind, name, conf)
        if model_class == "Sequential":
            layer.inputs = [previous] if previous else []
        else:
            link(path, layer, raw.get("inbound_nodes"))
        layers.append(layer)
        previous = name
    return layers


def link(path: Path, layer: Layer, nodes: Any) -> None:
    """A functional layer's inputs and initial_state, in Keras 3's or Keras 2's form."""
    if not nodes:
        return
    if not isinstance(nodes, list) or len(nodes) != 1:
        raise CheckpointError(f"{path}: Keras layer {layer.name!r} is called more than once (a "
                              "shared layer); use --factory module:callable")
    node = nodes[0]
    if isinstance(node, dict):  # Keras 3: {"args": [tensor…], "kwargs": {"initial_state": […]}}
        layer.inputs = [ref[0] for ref in tensor_refs(node.get("args"))]
        kwargs = node.get("kwargs") if isinstance(node.get("kwargs"), dict) else {}
        layer.initial_state = tensor_refs(kwargs.get("initial_state"))
    elif isinstance(node, list):  # Keras 2: [[name, node, index, kwargs], …]; states follow
        refs = [(str(e[0]), int(e[2])) for e in node if isinstance(e, list) and len(e) >= 3
                and isinstance(e[2], int)]
        layer.inputs = [name for name, _ in refs[:1]]
        layer.initial_state = refs[1:]


def tensor_refs(value: Any) -> list[tuple[str, int]]:
    """Every Keras 3 `__keras_tensor__` in an argument: (layer name, output index)."""
    found: list[tuple[str, int]] = []
    pending = [value]
    while pending:  # iterative: a hostile config may nest deeply
        item = pending.pop()
        if isinstance(item, dict):
            history = item.get("config", {}).get("keras_history") \
                if item.get("class_name") == "__keras_tensor__" and isinstance(
                    item.get("config"), dict) else None
            if isinstance(history, list) and len(history) == 3 and isinstance(history[2], int):
                found.append((str(history[0]), history[2]))
            else:
                pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(reversed(item))
    return found


def layers_from_shapes(path: Path, f) -> list[Layer]:
    """A `.weights.h5` without its config: each layer's kind from its weights' shapes, the order
    from how the shapes chain (Keras writes the groups alphabetically)."""
    layers = []
    for name in f["layers"]:
        weights = [read_dataset(path, ds) for ds in list_vars(path, f["layers"][name])]
        shapes = [w.shape for w in weights]
        if len(shapes) == 3 and len(shapes[0]) == 2 and len(shapes[1]) == 2:
            units = shapes[1][0]
            gates = shapes[1][1] // units if units else 0
            kind = {4: "LSTM", 3: "GRU", 1: "SimpleRNN"}.get(gates)
            if kind is None:
                raise CheckpointError(f"{path}: layer {name!r} has weights of shapes {shapes}, "
                                      "which fit no LSTM/GRU/SimpleRNN")
            conf = {"units": units, "activation": "tanh", "assumed": True}
            conf |= {"reset_after": True} if kind == "GRU" else {}
        elif len(shapes) in (1, 2) and len(shapes[0]) == 2 and name.startswith("embedding"):
            kind, conf = "Embedding", {}
        elif len(shapes) in (1, 2) and len(shapes[0]) == 2:
            kind, conf = "Dense", {"units": shapes[0][1], "use_bias": len(shapes) == 2}
        elif not shapes:
            continue
        else:
            raise CheckpointError(f"{path}: layer {name!r} has weights of shapes {shapes}; "
                                  "save the whole model with model.save('m.keras')")
        layers.append(Layer(kind, name, conf, weights=weights))
    return chain_by_shape(path, layers)


def chain_by_shape(path: Path, layers: list[Layer]) -> list[Layer]:
    """Order layers so each one's input width is the previous one's output width."""
    def width_in(layer: Layer) -> int | None:
        return None if layer.kind == "Embedding" else layer_shape(path, layer)[0]

    ordered = [x for x in layers if x.kind == "Embedding"]
    rest = [x for x in layers if x.kind != "Embedding"]
    while rest:
        last = layer_out(path, ordered[-1]) if ordered else None
        following = [x for x in rest if last is None or width_in(x) == last]
        if last is None:  # one-hot input: the recurrent layer nothing else feeds
            outs = {layer_out(path, x) for x in rest}
            following = [x for x in rest if x.kind in RECURRENT and width_in(x) not in outs]
        if len(following) != 1:
            raise CheckpointError(f"{path}: the layers' order cannot be read from their shapes "
                                  "alone; save the whole model with model.save('m.keras')")
        ordered.append(following[0])
        rest.remove(following[0])
    for before, after in zip(ordered, ordered[1:]):
        after.inputs = [before.name]
    return ordered


def layer_shape(path: Path, layer: Layer) -> tuple[int, int]:
    return tuple(layer.weights[0].shape) if layer.weights else (0, 0)


def layer_out(path: Path, layer: Layer) -> int:
    if layer.kind in RECURRENT:
        return int(layer.weights[1].shape[0])
    return int(layer.weights[0].shape[1])


def list_vars(path: Path, group, seen: set | None = None) -> list:
    """A Keras 3 layer group's variables in order: its `vars/0…n`, then its sublayers' (an RNN's
    `cell`, a TimeDistributed's `layer`). Each group is visited once: hard links that lead back
    up (a cycle) or to one group many times (a fan-out) would otherwise recurse without end or
    multiply the work, and Keras writes neither."""
    seen = set() if seen is None else seen
    if group.id in seen or len(seen) >= GROUPS:
        raise CheckpointError(f"{path}: HDF5 group {group.name} is linked more than once (or "
                              f"the weights span more than {GROUPS:,} groups); Keras writes "
                              "neither")
    seen.add(group.id)
    found = []
    if "vars" in group:
        found += [group["vars"][key] for key in sorted(group["vars"], key=var_index)]
    for key in sorted(group):
        if key != "vars" and hasattr(group[key], "keys"):
            found += list_vars(path, group[key], seen)
    return found


def var_index(key: str) -> int:
    return int(key) if key.isdigit() else 1 << 30


def attach_v3(path: Path, f, layers: list[Layer], sequential: bool) -> None:
    """Keras 3 weights: `layers/<key>/…/vars/<i>`, where the key is not the layer's name but its
    class in snake case, numbered in layer order (`lstm`, `lstm_1`); a Sequential's input layer
    is not among them."""
    group = f["layers"] if "layers" in f else None
    used: dict[str, int] = {}
    for layer in layers:
        if sequential and layer.kind == "InputLayer":
            continue
        key = snake_case(layer.kind)
        used[key] = used.get(key, -1) + 1
        key = f"{key}_{used[key]}" if used[key] else key
        if group is not None and key in group:
            layer.weights = [read_dataset(path, ds) for ds in list_vars(path, group[key])]


def snake_case(name: str) -> str:
    """`SimpleRNN` -> `simple_rnn`, `TimeDistributed` -> `time_distributed`, as Keras names them."""
    name = re.sub(r"\W+", "", name)
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def attach_legacy(path: Path, f, layers: list[Layer]) -> None:
    """Keras 2 (and Keras 3's legacy writer): `<layer>/<weight_names[i]>`."""
    for layer in layers:
        if layer.name not in f:
            continue
        names = f[layer.name].attrs.get("weight_names", [])
        layer.weights = [read_dataset(path, f[layer.name][n.decode() if isinstance(n, bytes)
                                                          else str(n)]) for n in names]


def read_dataset(path: Path, ds) -> np.ndarray:
    """One weight, its dtype and size checked before it is read: never bool, integer or complex,
    never more elements than the file could hold."""
    if not hasattr(ds, "dtype"):
        raise CheckpointError(f"{path}: Keras weight {ds.name} is not a dataset")
    if ds.dtype.kind != "f":
        raise CheckpointError(f"{path}: Keras weight {ds.name} has dtype {ds.dtype}; weights "
                              "must be floating point")
    if ds.size * ds.dtype.itemsize > ds.file.id.get_filesize() + (1 << 20):
        raise CheckpointError(f"{path}: Keras weight {ds.name} declares {ds.shape}, more than "
                              "the file holds")
    try:
        return np.asarray(ds[()], dtype=np.float32)
    except OSError as exc:
        raise CheckpointError(f"{path}: Keras weight {ds.name} cannot be read ({exc})") from None


@dataclass(frozen=True)
class Side:
    """One recurrent chain: optional embedding, the recurrent layers, optional Dense head."""

    embed: Layer | None
    recurrent: tuple[Layer, ...]
    head: Layer | None
    notes: tuple[str, ...]


def build(path: Path, source: ModelSource, layers: list[Layer], route: str) -> Checkpoint:
    by_name = {layer.name: layer for layer in layers}
    recurrent = [layer for layer in layers if layer.kind in RECURRENT]
    for layer in layers:
        unsupported(path, layer)
    decoders = [layer for layer in recurrent if layer.initial_state]
    if not recurrent:
        raise CheckpointError(f"{path}: no LSTM, GRU or SimpleRNN layer in the Keras model")
    if decoders:
        return build_pair(path, source, layers, by_name, decoders[0], route)
    side = chain(path, layers, by_name, layers[0])
    tensors = side_tensors(path, side, "")
    notes = {"notes": "; ".join(side.notes)} if side.notes else {}
    return detect(path, tensors, source, route, None, [], nonlinearity=rnn_activation(side),
                  facts=notes)


def unsupported(path: Path, layer: Layer) -> None:
    kind = layer.kind
    if kind in RECURRENT or kind in PASS_THROUGH or kind in ("Embedding", "Dense",
                                                             "TimeDistributed", "Activation"):
        return
    hint = ("one direction is needed to step through" if kind == "Bidirectional"
            else "use --factory module:callable")
    raise CheckpointError(f"{path}: Keras layer {layer.name!r} is a {kind}, which is not "
                          f"supported ({hint})")


def chain(path: Path, layers: list[Layer], by_name: dict[str, Layer], start: Layer) -> Side:
    """Follow one input through the layers that consume it, to the head (or to the end)."""
    consumers: dict[str, list[Layer]] = {}
    for layer in layers:
        for name in layer.inputs:
            consumers.setdefault(name, []).append(layer)
    embed, recurrent, head, notes = None, [], None, []
    current = start
    seen = set()
    while current is not None and current.name not in seen:
        seen.add(current.name)
        layer = inner(current)
        if layer.kind == "Embedding":
            if recurrent or embed:
                raise CheckpointError(f"{path}: Keras Embedding {layer.name!r} sits after another "
                                      "layer; use --factory module:callable")
            embed = layer
            if layer.config.get("mask_zero"):
                notes.append(f"{layer.name} has mask_zero: assumes index 0 (padding) is never fed")
        elif layer.kind in RECURRENT:
            if head is not None:
                raise CheckpointError(f"{path}: Keras layer {layer.name!r} comes after the Dense "
                                      "head; use --factory module:callable")
            recurrent.append(layer)
        elif layer.kind == "Dense":
            if head is not None:
                raise CheckpointError(f"{path}: two Dense layers ({head.name}, {layer.name}) after "
                                      "the recurrent layers; use --factory module:callable")
            head = layer
            if activation(layer) == "softmax":
                notes.append(f"{layer.name}: softmax head, its pre-activation used as logits")
        elif layer.kind == "Activation":
            if activation(layer) not in ("softmax", "linear") or head is None:
                raise CheckpointError(f"{path}: Keras Activation {layer.name!r} "
                                      f"({activation(layer)}) is not a softmax after the head")
        following = [x for x in consumers.get(current.name, []) if x.inputs[:1] == [current.name]]
        if len(following) > 1:
            names = ", ".join(x.name for x in following)
            raise CheckpointError(f"{path}: Keras layer {current.name!r} feeds several layers "
                                  f"({names}); use --factory module:callable")
        current = following[0] if following else None
    if not recurrent:
        raise CheckpointError(f"{path}: no recurrent layer after Keras input {start.name!r}")
    return Side(embed, tuple(recurrent), head, tuple(notes))


def inner(layer: Layer) -> Layer:
    """A TimeDistributed(Dense) is its Dense, applied at every step."""
    if layer.kind != "TimeDistributed":
        return layer
    wrapped = layer.config.get("layer")
    kind = wrapped.get("class_name") if isinstance(wrapped, dict) else None
    if kind != "Dense" or not isinstance(wrapped.get("config"), dict):
        return Layer(f"TimeDistributed({kind})", layer.name, {})
    return Layer("Dense", layer.name, wrapped["config"], layer.inputs, [], layer.weights)


def activation(layer: Layer) -> str:
    value = layer.config.get("activation", "linear")
    return value if isinstance(value, str) else str(value.get("class_name", value)) \
        if isinstance(value, dict) else str(value)


def rnn_activation(side: Side) -> str | None:
    """A SimpleRNN's activation as its config states it (None: no config says)."""
    first = side.recurrent[0]
    if RECURRENT[first.kind] != "rnn" or first.config.get("assumed"):
        return None
    return activation(first)


def side_tensors(path: Path, side: Side, prefix: str) -> dict[str, torch.Tensor]:
    """PyTorch names for one side: `embed.weight`, `rnn.*_l{k}`, `head.weight`, `head.bias`."""
    tensors: dict[str, torch.Tensor] = {}
    if side.embed is not None:
        (table,) = expect(path, side.embed, 1)
        tensors[f"{prefix}embed.weight"] = torch.from_numpy(table)
    cells = {RECURRENT[layer.kind] for layer in side.recurrent}
    if len(cells) != 1:
        raise CheckpointError(f"{path}: stacked Keras layers of different kinds "
                              f"({', '.join(x.kind for x in side.recurrent)}) cannot be one "
                              "PyTorch stack; use --factory module:callable")
    units = {int(layer.config.get("units", 0)) for layer in side.recurrent}
    if len(units) != 1:
        raise CheckpointError(f"{path}: stacked Keras recurrent layers of different sizes "
                              f"({sorted(units)}) cannot be one PyTorch stack; use --factory")
    for k, layer in enumerate(side.recurrent):
        tensors |= {f"{prefix}rnn.{name}_l{k}": value
                    for name, value in recurrent_tensors(path, layer).items()}
    if side.head is not None:
        weights = expect(path, side.head, 1, 2)
        tensors[f"{prefix}head.weight"] = torch.from_numpy(weights[0].T.copy())
        tensors[f"{prefix}head.bias"] = torch.from_numpy(
            weights[1] if len(weights) == 2 else np.zeros(weights[0].shape[1], np.float32))
    return tensors


def expect(path: Path, layer: Layer, *counts: int) -> list[np.ndarray]:
    if len(layer.weights) not in counts or any(w.ndim not in (1, 2) for w in layer.weights):
        shapes = [tuple(w.shape) for w in layer.weights]
        raise CheckpointError(f"{path}: Keras layer {layer.name!r} ({layer.kind}) has weights "
                              f"of shapes {shapes}")
    return layer.weights


def recurrent_tensors(path: Path, layer: Layer) -> dict[str, torch.Tensor]:
    """One Keras recurrent layer as PyTorch's weight_ih, weight_hh, bias_ih, bias_hh."""
    cell = RECURRENT[layer.kind]
    conf = layer.config
    if conf.get("go_backwards"):
        raise CheckpointError(f"{path}: Keras layer {layer.name!r} runs backwards "
                              "(go_backwards), which a step-through cannot show")
    wanted = {"lstm": ("tanh", "sigmoid"), "gru": ("tanh", "sigmoid"),
              "rnn": ("tanh", None)}[cell]
    if cell == "rnn" and activation(layer) not in ("tanh", "relu"):
        raise CheckpointError(f"{path}: Keras SimpleRNN {layer.name!r} uses activation "
                              f"{activation(layer)!r}; nn.RNN has only tanh and relu")
    if cell != "rnn" and (activation(layer), conf.get("recurrent_activation", "sigmoid")) \
            != wanted:
        raise CheckpointError(f"{path}: Keras {layer.kind} {layer.name!r} uses activations "
                              f"{activation(layer)!r}/{conf.get('recurrent_activation')!r}; "
                              f"only tanh/sigmoid map exactly onto nn.{layer.kind}")
    if cell == "gru" and not conf.get("reset_after", True):
        raise CheckpointError(f"{path}: Keras GRU {layer.name!r} has reset_after=False, which "
                              "applies the reset gate before the recurrent matmul: no nn.GRU "
                              "computes that exactly")
    weights = expect(path, layer, 2, 3)
    kernel, recurrent = weights[0], weights[1]
    units = recurrent.shape[0]
    gates = GATES[cell]
    if recurrent.shape != (units, gates * units) or kernel.shape[1] != gates * units:
        raise CheckpointError(f"{path}: Keras {layer.kind} {layer.name!r} has kernel "
                              f"{kernel.shape} and recurrent kernel {recurrent.shape}, which do "
                              f"not fit {units} units")
    bias = weights[2] if len(weights) == 3 else np.zeros(gates * units, np.float32)
    if cell == "gru":
        bias = bias.reshape(-1, gates * units)
        if bias.shape[0] != 2:
            raise CheckpointError(f"{path}: Keras GRU {layer.name!r} has a bias of shape "
                                  f"{weights[2].shape}; reset_after=True keeps two")
        input_bias, recurrent_bias = bias[0], bias[1]
    else:
        if bias.shape != (gates * units,):
            raise CheckpointError(f"{path}: Keras {layer.kind} {layer.name!r} has a bias of "
                                  f"shape {bias.shape}")
        input_bias, recurrent_bias = bias, np.zeros_like(bias)
    order = gru_order(units) if cell == "gru" else slice(None)
    return {"weight_ih": torch.from_numpy(kernel.T[order].copy()),
            "weight_hh": torch.from_numpy(recurrent.T[order].copy()),
            "bias_ih": torch.from_numpy(input_bias[order].copy()),
            "bias_hh": torch.from_numpy(recurrent_bias[order].copy())}


def gru_order(units: int) -> np.ndarray:
    """Keras GRU rows `[z, r, h]` in PyTorch's order `[r, z, n]`."""
    z, r, h = (np.arange(units) + k * units for k in range(3))
    return np.concatenate([r, z, h])


def build_pair(path: Path, source: ModelSource, layers: list[Layer], by_name: dict[str, Layer],
               decoder_rnn: Layer, route: str) -> Checkpoint:
    """lstm_seq2seq: the decoder's first recurrent layer starts from the encoder's states."""
    encoder_names = {name for name, _ in decoder_rnn.initial_state}
    if len(encoder_names) != 1 or encoder_names.pop() not in by_name:
        raise CheckpointError(f"{path}: Keras layer {decoder_rnn.name!r} starts from states of "
                              "several layers; use --factory module:callable")
    encoder_rnn = by_name[decoder_rnn.initial_state[0][0]]
    if encoder_rnn.kind != decoder_rnn.kind:
        raise CheckpointError(f"{path}: the encoder is a {encoder_rnn.kind} and the decoder a "
                              f"{decoder_rnn.kind}; the handoff needs the same cell")
    state_count = 2 if encoder_rnn.kind == "LSTM" else 1
    if [index for _, index in decoder_rnn.initial_state] != list(range(1, state_count + 1)):
        raise CheckpointError(f"{path}: Keras layer {decoder_rnn.name!r} does not start from its "
                              f"encoder's final states in order ({encoder_rnn.name} outputs "
                              f"1..{state_count}); use --factory module:callable")
    inputs = [layer for layer in layers if not layer.inputs and layer.kind == "InputLayer"]
    sides = {}
    for start in inputs:
        side = chain(path, layers, by_name, start)
        sides[side.recurrent[-1].name] = side
    encoder = sides.get(encoder_rnn.name)
    decoder = next((s for s in sides.values() if decoder_rnn in s.recurrent), None)
    if encoder is None or decoder is None or len(sides) != 2:
        raise CheckpointError(f"{path}: expected two inputs, an encoder ending in "
                              f"{encoder_rnn.name!r} and a decoder through {decoder_rnn.name!r}")
    if len(encoder.recurrent) != 1 or len(decoder.recurrent) != 1 or decoder.head is None:
        raise CheckpointError(f"{path}: a Keras seq2seq model opens with one recurrent layer per "
                              "side and a Dense head on the decoder; use --factory")
    if encoder.head is not None:
        raise CheckpointError(f"{path}: the encoder {encoder_rnn.name!r} has its own Dense "
                              f"{encoder.head.name!r}; use --factory module:callable")
    tensors = side_tensors(path, encoder, "encoder.") | side_tensors(path, decoder, "decoder.")
    notes = [*encoder.notes, *decoder.notes,
             f"handoff: {encoder_rnn.name}'s final [h{', c' if state_count == 2 else ''}] is "
             f"{decoder_rnn.name}'s initial_state"]
    return detect(path, tensors, source, route, None, [], nonlinearity=None,
                  facts={"notes": "; ".join(notes)})
