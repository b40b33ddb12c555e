"""Exact, introspective one-step math for one layer of nn.RNN / nn.LSTM / nn.GRU.

PyTorch's conventions and gate order throughout, so every number is one a user of `nn.LSTM`
recognises. Each pre-activation is kept split into its input part (`W_ih x + b_ih`) and its memory
part (`W_hh h + b_hh`; for the GRU's `n`, `r * (W_hn h + b_hn)`): how much of the step came from
the character and how much from the hidden state.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from torch import nn

GATES = {"lstm": ("i", "f", "g", "o"), "gru": ("r", "z", "n"), "rnn": (), "mlp": (),
         "custom": ()}


def frozen(array: np.ndarray) -> np.ndarray:
    """A float32, read-only array: records are snapshots nobody may edit in place."""
    out = np.asarray(array, dtype=np.float32)
    if out.flags.writeable:
        out = out.copy() if out.base is not None else out
        out.setflags(write=False)
    return out


def sigmoid(x: np.ndarray) -> np.ndarray:
    # tanh form: no overflow warning for large |x|, and equal to torch.sigmoid within 1e-7.
    return 0.5 * (1.0 + np.tanh(0.5 * x))


@dataclass(frozen=True)
class LayerWeights:
    """One layer's weights as float32 numpy arrays (zeros for a layer built with bias=False)."""

    cell: str  # rnn | lstm | gru | mlp
    w_ih: np.ndarray  # (G*H, I)
    w_hh: np.ndarray | None  # (G*H, H); None for the MLP, which has no memory
    b_ih: np.ndarray  # (G*H,)
    b_hh: np.ndarray  # (G*H,)
    nonlinearity: str = "tanh"

    @property
    def hidden(self) -> int:
        return self.w_ih.shape[0] // max(len(GATES[self.cell]), 1)


@dataclass(frozen=True)
class LayerStep:
    """Everything one layer did in one step; arrays are read-only float32 of shape (hidden,)."""

    h: np.ndarray
    c: np.ndarray | None
    gates: dict[str, np.ndarray]  # after their activation
    input_part: dict[str, np.ndarray]  # per gate (key "h" for plain RNN / MLP)
    memory_part: dict[str, np.ndarray]
    delta_h: np.ndarray


def _numpy(tensor) -> np.ndarray:
    return tensor.detach().to("cpu").float().numpy().copy()


def layer_weights(rnn: nn.RNNBase) -> tuple[LayerWeights, ...]:
    """The per-layer weights of a torch recurrent module (unidirectional, no projections)."""
    if rnn.bidirectional:
        raise ValueError("bidirectional recurrent layers are not supported")
    if getattr(rnn, "proj_size", 0):
        raise ValueError("LSTM projections (proj_size) are not supported")
    cell = {"LSTM": "lstm", "GRU": "gru", "RNN_TANH": "rnn", "RNN_RELU": "rnn"}[rnn.mode]
    nonlinearity = "relu" if rnn.mode == "RNN_RELU" else "tanh"
    layers = []
    for k in range(rnn.num_layers):
        w_ih = _numpy(getattr(rnn, f"weight_ih_l{k}"))
        w_hh = _numpy(getattr(rnn, f"weight_hh_l{k}"))
        if rnn.bias:
            b_ih = _numpy(getattr(rnn, f"bias_ih_l{k}"))
            b_hh = _numpy(getattr(rnn, f"bias_hh_l{k}"))
        else:
            b_ih = b_hh = np.zeros(w_ih.shape[0], dtype=np.float32)
        layers.append(LayerWeights(cell, w_ih, w_hh, b_ih, b_hh, nonlinearity))
    return tuple(layers)


def cell_weights(cell: nn.RNNCellBase) -> LayerWeights:
    """The weights of an nn.LSTMCell / nn.GRUCell / nn.RNNCell: one layer of the same math."""
    kind = {nn.LSTMCell: "lstm", nn.GRUCell: "gru", nn.RNNCell: "rnn"}.get(type(cell))
    if kind is None:
        raise ValueError(f"{type(cell).__name__} is not an nn.LSTMCell, nn.GRUCell or nn.RNNCell")
    w_ih, w_hh = _numpy(cell.weight_ih), _numpy(cell.weight_hh)
    if cell.bias:
        b_ih, b_hh = _numpy(cell.bias_ih), _numpy(cell.bias_hh)
    else:
        b_ih = b_hh = np.zeros(w_ih.shape[0], dtype=np.float32)
    return LayerWeights(kind, w_ih, w_hh, b_ih, b_hh, getattr(cell, "nonlinearity", "tanh"))


def split(vector: np.ndarray, names: tuple[str, ...]) -> dict[str, np.ndarray]:
    size = vector.shape[-1] // len(names)
    return {name: vector[..., k * size:(k + 1) * size] for k, name in enumerate(names)}


def activate(cell: str, gate: str, pre: np.ndarray) -> np.ndarray:
    """The activation PyTorch applies to each gate's pre-activation."""
    return np.tanh(pre) if gate in ("g", "n") else sigmoid(pre)


def memory_parts(layers: tuple[LayerWeights, ...], state) -> tuple[np.ndarray | None, ...]:
    """`W_hh h + b_hh` of every layer for a step from `state` (None for the MLP): the part of the
    step its input does not change, so it can be computed before the input is known."""
    return tuple(None if weights.w_hh is None else weights.w_hh @ layer.h + weights.b_hh
                 for weights, layer in zip(layers, state))


def step_stack(layers: tuple[LayerWeights, ...], x: np.ndarray, state,
               memory: tuple[np.ndarray | None, ...] | None = None,
               hold=None) -> tuple[LayerStep, ...]:
    """One step through every layer: each layer's new h is the next layer's input. `memory`,
    if given, is `memory_parts(layers, state)` computed ahead; `hold(k, step)`, if given,
    edits layer k's new state before the next layer reads it (clamps)."""
    steps = []
    for k, (weights, layer) in enumerate(zip(layers, state)):
        out = step_layer(weights, x, layer.h, layer.c, None if memory is None else memory[k])
        if hold is not None:
            out = hold(k, out)
        steps.append(out)
        x = out.h
    return tuple(steps)


def step_layer(weights: LayerWeights, x: np.ndarray, h: np.ndarray,
               c: np.ndarray | None = None, memory_pre: np.ndarray | None = None) -> LayerStep:
    """One step of one layer from input `x` (I,) and previous state `h` (H,), `c` (H,) for LSTM;
    `memory_pre` is `W_hh h + b_hh` if it was computed ahead (`memory_parts`)."""
    cell = weights.cell
    input_pre = weights.w_ih @ x + weights.b_ih  # (G*H,)
    if weights.w_hh is None:  # MLP: the same input always gives the same output
        memory_pre = np.zeros_like(input_pre)
    elif memory_pre is None:
        memory_pre = weights.w_hh @ h + weights.b_hh
    if cell in ("rnn", "mlp"):
        pre = input_pre + memory_pre
        new_h = np.maximum(pre, 0) if weights.nonlinearity == "relu" else np.tanh(pre)
        return LayerStep(frozen(new_h), None, {}, {"h": frozen(input_pre)},
                         {"h": frozen(memory_pre)}, frozen(new_h - h))
    names = GATES[cell]
    inputs, memories = split(input_pre, names), split(memory_pre, names)
    if cell == "lstm":
        gates = {g: activate(cell, g, inputs[g] + memories[g]) for g in names}
        new_c = gates["f"] * c + gates["i"] * gates["g"]
        new_h = gates["o"] * np.tanh(new_c)
    else:  # gru
        r = sigmoid(inputs["r"] + memories["r"])
        z = sigmoid(inputs["z"] + memories["z"])
        memories["n"] = r * memories["n"]
        n = np.tanh(inputs["n"] + memories["n"])
        gates = {"r": r, "z": z, "n": n}
        new_c = None
        new_h = (1.0 - z) * n + z * h
    return LayerStep(frozen(new_h), None if new_c is None else frozen(new_c),
                     {g: frozen(v) for g, v in gates.items()},
                     {g: frozen(v) for g, v in inputs.items()},
                     {g: frozen(v) for g, v in memories.items()}, frozen(new_h - h))
