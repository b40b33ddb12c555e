"""Models with their own forward, read by hooks: user factories (`--factory module:callable`) and
whole pickled modules (`--trust-pickle`).

The protocol, one step per call: `forward(x_t, hidden) -> (out, hidden)`; an attention decoder's
`forward(x_t, hidden, encoder_outputs) -> (out, hidden, attention)`.
- `x_t` is a token index as a (1, 1) LongTensor; when the forward refuses that, a one-hot (1, V)
  float (as the char-RNN tutorials feed it); a real-valued input is a (1, F) float.
- `hidden` is None at the start, or what the module's `initHidden()` / `init_hidden()` returns;
  after that it is exactly the hidden the previous call returned (a tensor, or tuples and lists
  of them such as `(h, c)`). That hidden is the state carried and shown: one layer per row of its
  tensors, `(h, c)` pairs for LSTMs, so an intervention edits what the next call receives.
- Gates are read exactly where the recurrent parts are nn.RNN/LSTM/GRU or their cells: forward
  hooks record what each part received, its step is recomputed from its own weights and checked
  against what it returned, every step. Hooks only read, and live for one call.
- The user's module is never changed: it is run as it is when float32 and in eval mode, else
  through a float32 copy in eval mode.
"""

from __future__ import annotations

import contextlib
import copy
import inspect
import re
from dataclasses import dataclass, replace

import numpy as np
import torch
from torch import nn

from inspector.engine.cells import (
    LayerStep,
    LayerWeights,
    cell_weights,
    frozen,
    layer_weights,
    step_layer,
    step_stack,
)
from inspector.engine.guard import STEP_TIMEOUT, Guard, ModelUnusable, StepRefused
from inspector.engine.model import InspectableModel
from inspector.engine.records import (
    LayerState,
    Output,
    State,
    make_output,
    numbered_labels,
    output_kind,
)
from models.errors import first_line
from models.vocab import Vocab

PROTOCOL = ("the protocol is forward(x_t, hidden) -> (out, hidden), one token per call, hidden "
            "None at the start")
MEMORY_NAME = re.compile(r"enc|context|memory|annotation|outputs", re.IGNORECASE)
CHECK_TOLERANCE = 1e-4  # recomputed gates against the part's own output (float32 rounding)
Hidden = object  # a tensor, or tuples / lists of them


class ProtocolError(ValueError):
    """The user's forward does not follow the protocol (said in one line)."""


def stepping_failed(exc: Exception) -> ProtocolError:
    return ProtocolError(f"stepping its forward failed ({type(exc).__name__}: "
                         f"{str(exc).strip().splitlines()[0] if str(exc).strip() else ''}); "
                         f"{PROTOCOL}")


def refused(name: str, exc: Exception) -> StepRefused:
    """A step that did not happen, in one line: the user's own error, or what broke the
    protocol."""
    if isinstance(exc, StepRefused):
        return exc
    reason = (str(exc) if isinstance(exc, ProtocolError)
              else f"its forward raised {type(exc).__name__}: {first_line(exc)}")
    return StepRefused(f"{name}: step refused, {reason}")


# -- the hidden the forward returns <-> State ----------------------------------------------------
@dataclass(frozen=True)
class Leaf:
    """One tensor of the hidden: its shape and dtype, and which (layer, h|c) each row holds."""

    shape: tuple[int, ...]
    dtype: torch.dtype
    rows: tuple[tuple[int, str], ...]


@dataclass(frozen=True)
class HiddenLayout:
    """How a forward's hidden maps onto layers, so it goes to a State and back bit for bit."""

    structure: object  # a leaf index, or (container type name, children)
    leaves: tuple[Leaf, ...]
    sizes: tuple[int, ...]  # each layer's hidden size
    has_cell: bool

    @property
    def n_layers(self) -> int:
        return len(self.sizes)

    @classmethod
    def of(cls, hidden: Hidden, lstm: bool) -> HiddenLayout:
        tensors: list[torch.Tensor] = []
        structure = _flatten(hidden, tensors)
        for t in tensors:
            if t.ndim == 0 or not t.is_floating_point():
                raise ProtocolError(f"the hidden it returned holds a tensor of shape "
                                    f"{tuple(t.shape)} and dtype {t.dtype}; expected float "
                                    "(layers, 1, H) or (1, H) tensors")
        pairs = _pairs(structure, tensors) if lstm else None
        rows: dict[int, list[tuple[int, str]]] = {}
        sizes: list[int] = []
        groups = pairs if pairs is not None else [(i, None) for i in range(len(tensors))]
        for h_leaf, c_leaf in groups:
            count = tensors[h_leaf].numel() // tensors[h_leaf].shape[-1]
            first = len(sizes)
            sizes.extend([tensors[h_leaf].shape[-1]] * count)
            rows[h_leaf] = [(first + r, "h") for r in range(count)]
            if c_leaf is not None:
                rows[c_leaf] = [(first + r, "c") for r in range(count)]
        leaves = tuple(Leaf(tuple(t.shape), t.dtype, tuple(rows[i]))
                       for i, t in enumerate(tensors))
        return cls(structure, leaves, tuple(sizes), pairs is not None)

    def matches(self, hidden: Hidden) -> bool:
        return self.mismatch(hidden) is None

    def mismatch(self, hidden: Hidden) -> str | None:
        """How `hidden` differs from the hidden of the first call (None: it does not): another
        nesting, shape or dtype would be read into the wrong layers, or cast without a word."""
        tensors: list[torch.Tensor] = []
        try:
            structure = _flatten(hidden, tensors)
        except ProtocolError as exc:
            return str(exc)
        if structure != self.structure:
            return ("the hidden it returned is nested differently from the one its first call "
                    "returned")
        for t, leaf in zip(tensors, self.leaves):
            if tuple(t.shape) != leaf.shape or t.dtype != leaf.dtype:
                return (f"the hidden it returned holds a tensor of shape {tuple(t.shape)} and "
                        f"dtype {t.dtype}, where its first call returned {leaf.shape} and "
                        f"{leaf.dtype}")
        return None

    def to_state(self, hidden: Hidden) -> State:
        tensors: list[torch.Tensor] = []
        _flatten(hidden, tensors)
        parts: list[dict[str, np.ndarray]] = [{} for _ in self.sizes]
        for t, leaf in zip(tensors, self.leaves):
            values = t.detach().to("cpu", torch.float32).reshape(len(leaf.rows), -1).numpy()
            for (layer, what), row in zip(leaf.rows, values):
                parts[layer][what] = frozen(row.copy())
        return tuple(LayerState(p["h"], p.get("c")) for p in parts)

    def to_hidden(self, state: State) -> Hidden:
        tensors = []
        for leaf in self.leaves:
            rows = np.stack([getattr(state[layer], what) for layer, what in leaf.rows])
            tensors.append(torch.from_numpy(rows.reshape(leaf.shape)).to(leaf.dtype))
        return _build(self.structure, tensors)

    def zeros(self) -> State:
        return tuple(LayerState(frozen(np.zeros(size, np.float32)),
                                frozen(np.zeros(size, np.float32)) if self.has_cell else None)
                     for size in self.sizes)

    def describe(self) -> str:
        shapes = ", ".join(str(leaf.shape) for leaf in self.leaves)
        what = "(h, c) pairs" if self.has_cell else "h"
        return f"{what}: tensors {shapes} -> {self.n_layers} layer(s)"


def _flatten(hidden: Hidden, tensors: list[torch.Tensor]) -> object:
    if isinstance(hidden, torch.Tensor):
        tensors.append(hidden)
        return len(tensors) - 1
    if isinstance(hidden, (tuple, list)) and hidden:
        return (type(hidden).__name__, tuple(_flatten(item, tensors) for item in hidden))
    raise ProtocolError(f"the hidden it returned is a {type(hidden).__name__}; expected a "
                        "tensor, or tuples/lists of tensors")


def _build(structure: object, tensors: list[torch.Tensor]) -> Hidden:
    if isinstance(structure, int):
        return tensors[structure]
    kind, children = structure
    items = [_build(child, tensors) for child in children]
    return tuple(items) if kind == "tuple" else items


def _copied(hidden: Hidden) -> tuple[object, list[torch.Tensor]]:
    tensors: list[torch.Tensor] = []
    structure = _flatten(hidden, tensors)
    return structure, [t.clone() for t in tensors]


def _leaf_order(structure: object) -> list[int]:
    if isinstance(structure, int):
        return [structure]
    return [i for child in structure[1] for i in _leaf_order(child)]


def _pairs(structure: object, tensors: list[torch.Tensor]) -> list[tuple[int, int]] | None:
    """(h, c) leaf pairs of an LSTM's hidden: `(h, c)`, `[(h0, c0), (h1, c1)]`, `[h0, c0, h1,
    c1]`, or the h's and the c's in two sequences (`([h0, h1, h2], [c0, c1, c2])`)."""
    if not isinstance(structure, int) and len(structure[1]) == 2:
        hs, cs = structure[1]
        if (not isinstance(hs, int) and not isinstance(cs, int) and len(hs[1]) == len(cs[1]) > 2
                and all(isinstance(i, int) for i in (*hs[1], *cs[1]))):
            pairs = list(zip(hs[1], cs[1]))
            return pairs if all(tensors[h].shape == tensors[c].shape for h, c in pairs) else None
    order = _leaf_order(structure)
    if len(order) % 2:
        return None
    pairs = list(zip(order[::2], order[1::2]))
    return pairs if all(tensors[h].shape == tensors[c].shape for h, c in pairs) else None


# -- recurrent parts read by hooks ---------------------------------------------------------------
@dataclass(frozen=True)
class Part:
    """An nn.RNN/LSTM/GRU or one of their cells inside the user's module."""

    name: str
    module: nn.Module
    layers: tuple[LayerWeights, ...]

    @property
    def is_cell(self) -> bool:
        return isinstance(self.module, nn.RNNCellBase)


def recurrent_parts(module: nn.Module) -> list[Part]:
    parts = []
    for name, sub in module.named_modules():
        if isinstance(sub, nn.RNNBase):
            try:
                parts.append(Part(name, sub, layer_weights(sub)))
            except ValueError as exc:
                raise ProtocolError(f"{name or '(root)'}: {exc}") from None
        elif isinstance(sub, nn.RNNCellBase):
            parts.append(Part(name, sub, (cell_weights(sub),)))
    return parts


def _rows(tensor: torch.Tensor, count: int) -> np.ndarray:
    return tensor.detach().to("cpu", torch.float32).reshape(count, -1).numpy()


def read_call(part: Part, args: tuple, kwargs: dict, output) -> tuple[LayerStep, ...] | None:
    """The steps one call of `part` took, recomputed from its weights from what it received and
    checked against what it returned; None when the call was not one step (a whole sequence)."""
    layers = part.layers
    x = args[0] if args else kwargs.get("input")
    if not isinstance(x, torch.Tensor) or x.numel() != layers[0].w_ih.shape[1]:
        return None
    hx = args[1] if len(args) > 1 else kwargs.get("hx")
    n, cell = len(layers), layers[0].cell
    if hx is None:
        start = tuple(LayerState(np.zeros(w.hidden, np.float32),
                                 np.zeros(w.hidden, np.float32) if cell == "lstm" else None)
                      for w in layers)
    else:
        h, c = hx if isinstance(hx, tuple) else (hx, None)
        h_rows = _rows(h, n)
        c_rows = _rows(c, n) if c is not None else None
        start = tuple(LayerState(h_rows[k], c_rows[k] if c_rows is not None else None)
                      for k in range(n))
    x = x.detach().to("cpu", torch.float32).reshape(-1).numpy()
    if part.is_cell:
        steps = (step_layer(layers[0], x, start[0].h, start[0].c),)
        returned = output if isinstance(output, tuple) else (output,)
    else:
        steps = step_stack(layers, x, start)
        returned = output[1] if isinstance(output[1], tuple) else (output[1],)
    expected_h = _rows(returned[0], n)
    worst = max(float(np.abs(s.h - expected_h[k]).max()) for k, s in enumerate(steps))
    if cell == "lstm":
        expected_c = _rows(returned[1], n)
        worst = max(worst, *(float(np.abs(s.c - expected_c[k]).max())
                             for k, s in enumerate(steps)))
    if not worst <= CHECK_TOLERANCE:
        raise ProtocolError(f"{part.name}: its gates recomputed from its weights give a state "
                            f"{worst:.3g} away from the one it returned")
    return steps


# -- the model -----------------------------------------------------------------------------------
def takes_memory(module: nn.Module) -> bool:
    """An attention decoder: a third positional forward parameter named like the encoder's
    outputs (`encoder_outputs`, `context`, `memory`)."""
    try:
        params = list(inspect.signature(module.forward).parameters.values())
    except (TypeError, ValueError):
        return False
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return len(positional) >= 3 and bool(MEMORY_NAME.search(positional[2].name))


def initial_hidden(module: nn.Module) -> Hidden | None:
    """What the module's own `initHidden()` / `init_hidden(batch)` gives, else None."""
    init = getattr(module, "initHidden", None) or getattr(module, "init_hidden", None)
    if not callable(init):
        return None
    try:
        required = [p for p in inspect.signature(init).parameters.values()
                    if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY,
                                                           p.POSITIONAL_OR_KEYWORD)]
        with torch.no_grad():
            return init(1) if required else init()
    except Exception as exc:  # the user's code: reported as one line
        raise ProtocolError(f"its {init.__name__}() raised {type(exc).__name__}: {exc}") from None


def readable(module: nn.Module) -> tuple[nn.Module, list[str], list[str]]:
    """The module to run (itself, or a float32 eval copy), the dtypes it had, and notes."""
    dtypes = sorted({str(p.dtype).removeprefix("torch.") for p in module.parameters()
                     if p.is_floating_point()} - {"float32"})
    notes = []
    if module.training:
        notes.append("it was in training mode: inspected in eval mode (dropout off)")
    if not dtypes and not module.training:
        return module, dtypes, notes
    try:
        return copy.deepcopy(module).float().eval(), dtypes, notes
    except Exception as exc:  # a module that cannot be copied: say so, never change it
        raise ProtocolError(f"it needs a float32 eval copy ({', '.join(dtypes) or 'training'}) "
                            f"and copying it failed ({type(exc).__name__}: {exc}); return it "
                            "in float32 and eval mode") from None


class HookedModel(InspectableModel):
    """Steps a user module through its own forward; the state is the hidden it returns."""

    kind = "char"

    def __init__(self, module: nn.Module, vocab: Vocab | None, name: str, *, head: bool = True,
                 labels: tuple[str, ...] | None = None, output: str | None = None,
                 start: Hidden | None = None, memory: np.ndarray | None = None,
                 timeout: float = STEP_TIMEOUT) -> None:
        """`vocab` None: a model of real-valued inputs (a time series), fed (1, F) floats.
        `start` is the hidden to try the forward from (a decoder's: the encoder's handoff);
        `memory` an example of encoder outputs for an attention decoder's first try. Every call
        of the user's code runs under `guard` (one at a time, at most `timeout` seconds each)."""
        self.module, self.dtypes, self.notes = readable(module)
        self.guard = Guard(name, timeout)
        self.vocab = vocab if vocab is not None else Vocab(())
        self.example_memory = memory
        self.name = name
        self.has_head = head  # a seq2seq encoder's `out` is its outputs, not a distribution
        self.attends = takes_memory(self.module)
        self.parts = recurrent_parts(self.module)
        self._init = self.guard.run(initial_hidden, self.module)
        self.input_form = "index"
        self.features = self.parts[0].layers[0].w_ih.shape[1] if self.parts else None
        forms = ("index", "onehot") if vocab is not None else ("vector",)
        first = start if start is not None else self._init
        out, hidden = self._discover(forms, None if first is None else _build(*_copied(first)),
                                     memory)
        lstm = (any(w.cell == "lstm" for p in self.parts for w in p.layers) if self.parts
                else isinstance(hidden, tuple) and len(hidden) == 2)
        self.layout = HiddenLayout.of(hidden, lstm)
        self.n_layers = self.layout.n_layers
        self.hidden = self.layout.sizes[0]
        self._init_matches = self._init is not None and self.layout.matches(self._init)
        self._initial = (self.layout.to_state(self._init) if self._init_matches
                         else self.layout.zeros())
        self.cell, self.gates_note = self._gate_source()
        self.changes_hidden = False  # seen: the hidden it returns is not its layers' output
        self.out_shape = tuple(out.shape) if isinstance(out, torch.Tensor) else None
        self._labels, self.output_kind, self.output_note = self._head(out, labels, output)

    # -- what it is ----------------------------------------------------------------------------
    @property
    def has_cell(self) -> bool:
        return self.layout.has_cell

    @property
    def nonlinearity(self) -> str | None:
        return self.parts[0].layers[0].nonlinearity if self.cell == "rnn" else None

    def initial_state(self) -> State:
        return self._initial

    def describe(self) -> dict[str, str]:
        """What `info` says about it: parts read, state, input, output."""
        facts = {"recurrent": ", ".join(f"{type(p.module).__name__} {p.name or '(root)'}"
                                        for p in self.parts) or "none (a hand-written cell)",
                 "state": f"the hidden its forward returns, {self.layout.describe()}",
                 "input": {"index": "token index as a (1, 1) LongTensor",
                           "onehot": f"one-hot (1, {len(self.vocab)}) float",
                           "vector": f"real-valued (1, {self.features}) float (trace it with "
                                     "--input-array FILE.npy)"}[self.input_form]}
        if self.attends:
            facts["attention"] = "forward(x_t, hidden, encoder_outputs): given (T_src, H)"
        if self._init is not None:
            facts["initial"] = "from its initHidden()/init_hidden()"
        if self.gates_note:
            facts["gates"] = self.gates_note
        elif self.changes_hidden:
            facts["gates"] = ("its recurrent layers' own; its forward changes the hidden they "
                              "return, and the one it returns is the state shown and carried")
        if self.output_note:
            facts["output"] = self.output_note
        if self.notes:
            facts["mode"] = "; ".join(self.notes)
        return facts

    # -- stepping ------------------------------------------------------------------------------
    def step(self, token_id: int, state: State, memory: np.ndarray | None = None
             ) -> tuple[tuple[LayerStep, ...], Output]:
        return self._run(self._input(token_id), state, memory)

    def step_vector(self, x: np.ndarray, state: State, memory: np.ndarray | None = None
                    ) -> tuple[tuple[LayerStep, ...], Output]:
        return self._run(torch.from_numpy(np.asarray(x, np.float32).reshape(1, -1)), state,
                         memory)

    def _input(self, token_id: int) -> torch.Tensor:
        if self.input_form == "vector":
            raise ValueError(f"{self.name} takes real-valued inputs, not tokens: trace it with "
                             "--input-array FILE.npy")
        if self.input_form == "index":
            return torch.tensor([[token_id]])
        x = torch.zeros(1, len(self.vocab))
        x[0, token_id] = 1.0
        return x

    def _to_torch(self, state: State) -> Hidden | None:
        """The hidden for a call: fresh tensors every time, so a forward that edits its hidden
        in place cannot change a state kept in the timeline."""
        if state is self._initial and not self._init_matches:
            # None, as the protocol promises, or an initHidden() of another layout
            return None if self._init is None else _build(*_copied(self._init))
        return self.layout.to_hidden(state)

    @contextlib.contextmanager
    def _hooks(self):
        calls: list[list[tuple]] = [[] for _ in self.parts]
        handles = [part.module.register_forward_hook(
            lambda _m, args, kwargs, out, k=k: calls[k].append((args, kwargs, out)),
            with_kwargs=True) for k, part in enumerate(self.parts)]
        try:
            yield calls
        finally:
            for handle in handles:
                handle.remove()

    def _hooked_call(self, x: torch.Tensor, hidden: Hidden | None, memory: np.ndarray | None
                     ) -> tuple[object, list[list[tuple]]]:
        """One call with hooks on the recurrent parts (on the guard's thread, like every call
        of the user's code: hooks on a shared module would catch another call's parts)."""
        with self._hooks() as calls:
            return self._call(x, hidden, memory), calls

    def _call(self, x: torch.Tensor, hidden: Hidden | None, memory: np.ndarray | None):
        with torch.no_grad():
            if not self.attends:
                return self.module(x, hidden)
            if memory is None:
                raise ProtocolError("an attention decoder needs the encoder's outputs")
            return self.module(x, hidden, torch.from_numpy(np.asarray(memory, np.float32)))

    def _discover(self, forms: tuple[str, ...], start: Hidden | None, memory: np.ndarray | None):
        """The first call: which input form the forward takes, and what it returns."""
        if forms == ("vector",) and self.features is None:
            raise ProtocolError("without --vocab it takes real-valued inputs, but it has no "
                                "nn.RNN/LSTM/GRU or cell to tell their width; pass --vocab FILE")
        first = None
        for form in forms:
            self.input_form = form
            try:
                x = self._input(0) if form != "vector" else torch.zeros(1, self.features)
                returned = self.guard.run(self._call, x, start, memory)
                out, hidden, _ = unpack(returned)
                return out, hidden
            except (ProtocolError, ModelUnusable):
                raise
            except Exception as exc:  # the user's code: the first form's error is the one said
                first = first or exc
        raise stepping_failed(first)

    def _gate_source(self) -> tuple[str, str | None]:
        """The cell whose gates the layers show, or `custom` and why none are shown."""
        if not self.parts:
            return "custom", "not shown: no nn.RNN/LSTM/GRU or cell inside (a hand-written cell)"
        weights = [w for p in self.parts for w in p.layers]
        cells = {w.cell for w in weights}
        sizes = tuple(w.hidden for w in weights)
        if len(cells) != 1 or sizes != self.layout.sizes:
            return "custom", (f"not shown: its recurrent parts ({len(weights)} layer(s) of "
                              f"{', '.join(sorted(cells))}) do not line up with the "
                              f"{self.n_layers} layer(s) of the hidden it returns")
        if self.has_cell != (cells == {"lstm"}):
            return "custom", "not shown: the hidden it returns is not its recurrent parts' state"
        return cells.pop(), None

    def _head(self, out: torch.Tensor | None, labels: tuple[str, ...] | None,
              kind: str | None) -> tuple[tuple[str, ...] | None, str, str | None]:
        if not self.has_head or out is None:
            return None, "raw", None
        values = out.detach().to("cpu", torch.float32).reshape(-1).numpy()
        detected = kind or output_kind(values)
        note = None
        if labels is not None and len(labels) != values.size:
            raise ProtocolError(f"--labels has {len(labels)} labels, its forward returns "
                                f"{values.size} outputs")
        if labels is None and values.size != len(self.vocab) and detected != "raw":
            labels = numbered_labels(values.size)
            note = (f"{values.size} outputs, not the {len(self.vocab)} tokens of the "
                    f"vocabulary: labelled 0…{values.size - 1} (name them with --labels FILE)")
        if detected != "logits" and kind is None:
            said = {"raw": "raw values (one wide), shown as they are, never softmaxed",
                    "probs": "probabilities (rows sum to 1): not softmaxed again",
                    "log_probs": "log-probabilities: exp, not softmaxed again"}[detected]
            note = f"{note}; {said}" if note else said
        return labels, detected, note

    def _run(self, x: torch.Tensor, state: State, memory: np.ndarray | None
             ) -> tuple[tuple[LayerStep, ...], Output]:
        """One step through the user's forward, or StepRefused (one line) for anything it did
        that is not a step: it raised, returned something off the protocol, or hung."""
        hidden = self._to_torch(state)
        try:
            returned, calls = self.guard.run(self._hooked_call, x, hidden, memory)
            return self._read(returned, calls, state)
        except Exception as exc:  # the user's code mid-session: one line, not a traceback
            raise refused(self.name, exc) from None

    def _read(self, returned, calls: list[list[tuple]], state: State
              ) -> tuple[tuple[LayerStep, ...], Output]:
        """A call's records, checked against the protocol and against its first call."""
        out, new_hidden, attention = unpack(returned)
        mismatch = self.layout.mismatch(new_hidden)
        if mismatch is not None:
            raise ProtocolError(mismatch)
        new_state = self.layout.to_state(new_hidden)
        readings = self._readings(calls)
        if readings is not None and not all(np.allclose(r.h, s.h, atol=CHECK_TOLERANCE)
                                            for r, s in zip(readings, new_state)):
            self.changes_hidden = True
        layers = []
        for k, (now, before) in enumerate(zip(new_state, state)):
            reading = readings[k] if readings is not None else None
            gates, ins, mems = ((reading.gates, reading.input_part, reading.memory_part)
                                if reading is not None else ({}, {}, {}))
            layers.append(LayerStep(now.h, now.c, gates, ins, mems, frozen(now.h - before.h)))
        return tuple(layers), self._output(out, attention)

    def _readings(self, calls: list[list[tuple]]) -> list[LayerStep] | None:
        """Each layer's exact reading, when every part ran once for this step."""
        if self.cell == "custom" or any(len(c) != 1 for c in calls):
            return None
        readings: list[LayerStep] = []
        for part, [(args, kwargs, output)] in zip(self.parts, calls):
            steps = read_call(part, args, kwargs, output)
            if steps is None:
                return None
            readings.extend(steps)
        return readings

    def _output(self, out: torch.Tensor | None, attention: torch.Tensor | None) -> Output:
        weights = (attention.detach().to("cpu", torch.float32).reshape(-1).numpy()
                   if isinstance(attention, torch.Tensor) else None)
        values = (out.detach().to("cpu", torch.float32).reshape(-1).numpy().copy()
                  if isinstance(out, torch.Tensor) else None)
        if not self.has_head:
            empty = make_output(None, (), attention=weights)
            return empty if values is None else replace(empty, logits=frozen(values))
        if values is None:
            raise ProtocolError(f"its forward returned {type(out).__name__} as its output, not "
                                "a tensor")
        if not out.is_floating_point():
            raise ProtocolError(f"its forward returned an output of dtype {out.dtype}; expected "
                                "float logits or probabilities")
        if tuple(out.shape) != self.out_shape:
            raise ProtocolError(f"its forward returned an output of shape {tuple(out.shape)}, "
                                f"where its first call returned {self.out_shape}")
        if self.output_kind != "raw" and values.size != len(self.labels):
            raise ProtocolError(f"its forward returned {values.size} outputs for "
                                f"{len(self.labels)} labels")
        return make_output(values, self.labels, kind=self.output_kind, attention=weights)


def unpack(returned) -> tuple[torch.Tensor | None, Hidden, torch.Tensor | None]:
    """(out, hidden) or (out, hidden, attention weights)."""
    if not isinstance(returned, (tuple, list)) or len(returned) not in (2, 3):
        count = f" of {len(returned)} values" if isinstance(returned, (tuple, list)) else ""
        raise ProtocolError(f"its forward returned {type(returned).__name__}{count}; {PROTOCOL}")
    out, hidden = returned[0], returned[1]
    return out, hidden, returned[2] if len(returned) == 3 else None



def hooked_pair(encoder: nn.Module, decoder: nn.Module, vocab: Vocab, target: Vocab, name: str,
                output: str | None = None, timeout: float = STEP_TIMEOUT
                ) -> tuple[HookedModel, HookedModel]:
    """An encoder and a decoder with their own forwards: the decoder is first tried from the
    encoder's hidden after two source tokens (and, for attention, their outputs)."""
    from inspector.engine.model import state_after

    enc = HookedModel(encoder, vocab, f"{name}.encoder", head=False, timeout=timeout)
    state, outputs = enc.initial_state(), []
    for _ in range(2):
        steps, out = enc.step(0, state)
        state = state_after(steps)
        outputs.append(out.logits if out.logits.size else steps[-1].h)
    memory = np.stack(outputs)
    dec = HookedModel(decoder, target, f"{name}.decoder", output=output,
                      start=enc.layout.to_hidden(state), memory=memory, timeout=timeout)
    return enc, dec
