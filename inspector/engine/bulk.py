"""Bulk traces: the fused PyTorch forward, layer by layer, with every gate recomputed vectorised.

Far faster than stepping (one batched matmul per layer instead of one matvec per step), and equal
to it within float32 rounding: tests hold both to `nn.LSTM`'s numbers.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace

import numpy as np
import torch

from inspector.engine.model import InspectableModel, NativeModel
from inspector.engine.records import State, distribution


@dataclass(frozen=True)
class Trace:
    """Named float32 arrays over T steps: `l0.h` [T, H], `l0.gate.f` [T, H], `probs` [T, V]…"""

    model: NativeModel
    text: str
    token_ids: np.ndarray  # (T,)
    arrays: dict[str, np.ndarray] = field(repr=False)
    final_state: State = field(repr=False)
    start: int = 0  # the step number of row 0: a chunk of a longer trace starts later
    pieces: tuple[str, ...] = ()  # the typed piece of each step (a character, a word)
    inputs: np.ndarray | None = field(default=None, repr=False)  # (T, F) real-valued inputs

    @property
    def length(self) -> int:
        return len(self.token_ids)


def _recurrent_gates(model: NativeModel, weights, x: torch.Tensor, prev: torch.Tensor,
                     splits: bool) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor],
                                            dict[str, torch.Tensor]]:
    """Every gate of every step at once: two GEMMs and in-place activations, in torch (its
    elementwise kernels are several times faster than numpy's on these sizes)."""
    names = model.gate_names or ("h",)
    pre_x = torch.addmm(torch.from_numpy(weights.b_ih), x, torch.from_numpy(weights.w_ih).T)
    pre_h = torch.addmm(torch.from_numpy(weights.b_hh), prev, torch.from_numpy(weights.w_hh).T)
    ins = dict(zip(names, pre_x.chunk(len(names), 1)))
    mems = dict(zip(names, pre_h.chunk(len(names), 1)))
    gates = {}
    if model.cell == "gru":
        gates["r"] = torch.sigmoid(ins["r"] + mems["r"])
        gates["z"] = torch.sigmoid(ins["z"] + mems["z"])
        mems["n"] = mems["n"] * gates["r"]
        gates["n"] = torch.tanh(ins["n"] + mems["n"])
    if splits:
        ins, mems = {g: v.clone() for g, v in ins.items()}, {g: v.clone() for g, v in mems.items()}
    if model.cell == "lstm":
        pre = pre_x.add_(pre_h)  # pre_x's storage is reused: the splits were cloned above
        for g, v in zip(names, pre.chunk(4, 1)):
            gates[g] = v.tanh_() if g == "g" else v.sigmoid_()
    return gates, ins, mems


@torch.no_grad()
def trace_ids(model: NativeModel, token_ids: np.ndarray, state: State | None = None,
              splits: bool = False, text: str = "") -> Trace:
    """Trace token ids from `state` (zeros by default)."""
    state = state or model.initial_state()
    x = torch.from_numpy(model.inputs_matrix(np.asarray(token_ids, dtype=np.int64)))  # (T, I)
    arrays: dict[str, np.ndarray] = {}
    final = []
    for k, weights in enumerate(model.layers):
        h0 = torch.tensor(state[k].h)
        if model.cell == "mlp":
            pre_x = torch.addmm(torch.from_numpy(weights.b_ih), x,
                                torch.from_numpy(weights.w_ih).T)
            h = torch.tanh(pre_x)
            if splits:
                arrays[f"l{k}.in.h"] = pre_x.numpy()
                arrays[f"l{k}.mem.h"] = np.zeros(tuple(pre_x.shape), dtype=np.float32)
        else:
            hx = h0[None, None]
            if model.cell == "lstm":
                hx = (hx, torch.tensor(state[k].c)[None, None])
            h = model.fused_layers()[k](x.contiguous()[None], hx)[0][0]  # (T, H): torch's own
        prev = torch.cat([h0[None], h[:-1]])  # (T, H): the state each step started from
        arrays[f"l{k}.h"] = h.numpy()
        arrays[f"l{k}.dh"] = (h - prev).numpy()
        c_last = state[k].c
        if model.cell in ("lstm", "gru") or (model.cell == "rnn" and splits):
            gates, ins, mems = _recurrent_gates(model, weights, x, prev, splits)
            for g, v in gates.items():
                arrays[f"l{k}.gate.{g}"] = v.numpy()
            if splits:
                for g in ins:
                    arrays[f"l{k}.in.{g}"] = ins[g].numpy()
                    arrays[f"l{k}.mem.{g}"] = mems[g].numpy()
            if model.cell == "lstm":
                c = np.empty(tuple(h.shape), dtype=np.float32)
                c_prev = state[k].c
                f, ig = gates["f"].numpy(), (gates["i"] * gates["g"]).numpy()
                for t in range(len(c)):  # elementwise recurrence: cheap next to the GEMMs
                    np.multiply(f[t], c_prev, out=c[t])  # c[t] = f[t] * c_prev + ig[t], in place
                    c[t] += ig[t]
                    c_prev = c[t]
                arrays[f"l{k}.c"] = c
                c_last = c[-1] if len(c) else c_last
        h_last = h[-1].numpy() if len(h) else state[k].h
        final.append(type(state[k])(h_last, c_last if model.has_cell else None))
        x = h
    if model.head_w is not None:
        logits = x.numpy() @ model.head_w.T + (model.head_b if model.head_b is not None else 0)
        arrays["logits"] = logits.astype(np.float32, copy=False)
        if model.output_kind != "raw":
            arrays["probs"] = distribution(arrays["logits"], model.output_kind)
    return Trace(model, text, np.asarray(token_ids), arrays, tuple(final))


def trace(model: InspectableModel, text: str, state: State | None = None,
          splits: bool = False) -> Trace:
    """Trace typed text, split into tokens by the vocabulary (unknown text follows its `<unk>`
    policy)."""
    return trace_pieces(model, model.vocab.tokenize(text), state, splits)


def trace_pieces(model: InspectableModel, pieces: list[tuple[str, int]],
                 state: State | None = None, splits: bool = False, start: int = 0) -> Trace:
    """Trace (typed piece, token id) pairs. Native models go through the fused forward; a model
    with its own forward (a user factory) is stepped, since only its forward knows what it
    computes."""
    ids = np.array([token_id for _, token_id in pieces], dtype=np.int64)
    typed = tuple(piece for piece, _ in pieces)
    text = model.vocab.join(typed)
    if isinstance(model, NativeModel):
        part = trace_ids(model, ids, state, splits, text)
    else:
        steps = [lambda s, i=int(i): model.step(i, s) for i in ids]
        part = stepped_trace(model, text, ids, steps, state, splits)
    return replace(part, start=start, pieces=typed)


CHUNK = 2048  # steps per chunk of a streamed trace: ~60 MB for a 2x512 LSTM with every gate


def trace_chunks(model: InspectableModel, text: str, *, chunk: int = CHUNK,
                 state: State | None = None, splits: bool = False) -> Iterator[Trace]:
    """The trace of `text` as consecutive chunks, each starting from the last one's final state:
    the same numbers as one `trace(text)` (within float32 rounding of torch's fused kernels),
    in memory that does not grow with the length. Nothing for an empty text."""
    pieces = model.vocab.tokenize(text)
    for start in range(0, len(pieces), chunk):
        part = trace_pieces(model, pieces[start:start + chunk], state, splits, start)
        state = part.final_state
        yield part


def trace_array(model: InspectableModel, inputs: np.ndarray, splits: bool = False) -> Trace:
    """Trace real-valued inputs `[T, features]` (a time series), one row per step."""
    inputs = np.asarray(inputs, dtype=np.float32)
    if inputs.ndim == 1:
        inputs = inputs[:, None]
    if inputs.ndim != 2:
        raise ValueError(f"the input array has shape {inputs.shape}; expected [T, features]")
    steps = [lambda s, x=x: model.step_vector(x, s) for x in inputs]
    ids = np.full(len(inputs), -1, dtype=np.int64)
    return replace(stepped_trace(model, "", ids, steps, None, splits), inputs=inputs)


def stepped_trace(model: InspectableModel, text: str, ids: np.ndarray, steps,
                  state: State | None, splits: bool) -> Trace:
    """A trace by calling `steps` (each `state -> (layers, output)`) one after another."""
    state = state or model.initial_state()
    records = []
    for step in steps:
        layers, output = step(state)
        records.append((layers, output))
        state = tuple(type(s)(layer.h, layer.c) for s, layer in zip(state, layers))
    arrays: dict[str, np.ndarray] = {}
    for k in range(model.n_layers):
        layer_steps = [layers[k] for layers, _ in records]
        arrays[f"l{k}.h"] = np.array([s.h for s in layer_steps], dtype=np.float32)
        arrays[f"l{k}.dh"] = np.array([s.delta_h for s in layer_steps], dtype=np.float32)
        if model.has_cell:
            arrays[f"l{k}.c"] = np.array([s.c for s in layer_steps], dtype=np.float32)
        for g in model.gate_names:
            arrays[f"l{k}.gate.{g}"] = np.array([s.gates[g] for s in layer_steps],
                                                dtype=np.float32)
        if splits:
            for g in model.gate_names or ("h",):
                arrays[f"l{k}.in.{g}"] = np.array([s.input_part[g] for s in layer_steps],
                                                  np.float32)
                arrays[f"l{k}.mem.{g}"] = np.array([s.memory_part[g] for s in layer_steps],
                                                   np.float32)
    if records and records[0][1].logits.size:
        arrays["logits"] = np.array([out.logits for _, out in records], dtype=np.float32)
        if records[0][1].probs.size:
            arrays["probs"] = np.array([out.probs for _, out in records], dtype=np.float32)
    if records and records[0][1].attention is not None:
        arrays["attention"] = np.array([out.attention for _, out in records], dtype=np.float32)
    return Trace(model, text, ids, arrays, state)
