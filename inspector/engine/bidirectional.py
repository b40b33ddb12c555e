"""Bidirectional models: every step depends on the whole input, so they are run over the whole
input at once (a session runs them again after each key), never stepped one token at a time.

The protocol: `forward(tokens) -> out` or `(out, hidden)`, the whole input per call, as the
tutorials' taggers and bidirectional encoders are written. `tokens` is a LongTensor of shape
(T, 1) (or (1, T) when the bidirectional nn.LSTM/GRU is batch_first, or (T,) when the forward
takes a plain sentence); which one is read from what the recurrent layer received. A tagger's
`out` is its head, one row per step; an encoder's is its outputs (what attention reads) and
`hidden` what the decoder starts from, exactly as the forward returns it.

Each layer's record at step t holds both directions side by side, as nn.LSTM/GRU's outputs do:
`h = [forward h_t | backward h_t]`, `c` and every gate likewise, the backward half's Δh taken
against step t+1 (where that direction came from). The numbers are recomputed from each
direction's own weights from what the layer received, and checked against what it returned.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from inspector.engine.cells import LayerStep, LayerWeights, frozen, step_layer
from inspector.engine.hooked import CHECK_TOLERANCE, HiddenLayout, ProtocolError, readable
from inspector.engine.model import ModelFacts
from inspector.engine.records import (
    LayerState,
    Output,
    State,
    StepRecord,
    make_output,
    nonfinite_names,
    numbered_labels,
    output_kind,
)
from models.vocab import Vocab

WHOLE_INPUT = ("its every step depends on the whole input (a bidirectional layer), so it cannot "
               "be stepped key by key; trace it: rnn-inspect trace MODEL --input TEXT")


def _numpy(tensor: torch.Tensor) -> np.ndarray:
    return tensor.detach().to("cpu", torch.float32).numpy().copy()


def direction_weights(rnn: nn.RNNBase) -> tuple[tuple[LayerWeights, LayerWeights], ...]:
    """(forward, backward) weights of every layer of a bidirectional nn.RNN/LSTM/GRU."""
    if getattr(rnn, "proj_size", 0):
        raise ProtocolError("LSTM projections (proj_size) are not supported")
    cell = {"LSTM": "lstm", "GRU": "gru", "RNN_TANH": "rnn", "RNN_RELU": "rnn"}[rnn.mode]
    nonlinearity = "relu" if rnn.mode == "RNN_RELU" else "tanh"
    layers = []
    for k in range(rnn.num_layers):
        pair = []
        for suffix in ("", "_reverse"):
            w_ih = _numpy(getattr(rnn, f"weight_ih_l{k}{suffix}"))
            zeros = np.zeros(w_ih.shape[0], np.float32)
            b_ih = _numpy(getattr(rnn, f"bias_ih_l{k}{suffix}")) if rnn.bias else zeros
            b_hh = _numpy(getattr(rnn, f"bias_hh_l{k}{suffix}")) if rnn.bias else zeros
            pair.append(LayerWeights(cell, w_ih, _numpy(getattr(rnn, f"weight_hh_l{k}{suffix}")),
                                     b_ih, b_hh, nonlinearity))
        layers.append(tuple(pair))
    return tuple(layers)


def _joined(forward: LayerStep, backward: LayerStep) -> LayerStep:
    def cat(a, b):
        return frozen(np.concatenate([a, b]))

    return LayerStep(cat(forward.h, backward.h),
                     None if forward.c is None else cat(forward.c, backward.c),
                     {g: cat(v, backward.gates[g]) for g, v in forward.gates.items()},
                     {g: cat(v, backward.input_part[g]) for g, v in forward.input_part.items()},
                     {g: cat(v, backward.memory_part[g]) for g, v in forward.memory_part.items()},
                     cat(forward.delta_h, backward.delta_h))


def run_bidirectional(layers: tuple[tuple[LayerWeights, LayerWeights], ...], x: np.ndarray,
                      start: list[LayerState] | None = None
                      ) -> tuple[list[tuple[LayerStep, ...]], list[LayerState]]:
    """Every layer over the whole input `x` (T, I), forward and backward, from `start` (one
    LayerState per direction per layer, nn's h_0 order: l0, l0_reverse, l1, …; None: zeros).
    Returns each step's layers (directions side by side) and each direction's final state."""
    steps: list[list[LayerStep]] = [[] for _ in range(len(x))]
    finals = []
    for k, pair in enumerate(layers):
        halves = []
        for d, weights in enumerate(pair):
            size = weights.hidden
            state = (start[2 * k + d] if start is not None else
                     LayerState(np.zeros(size, np.float32),
                                np.zeros(size, np.float32) if weights.cell == "lstm" else None))
            order = range(len(x)) if d == 0 else range(len(x) - 1, -1, -1)
            half: dict[int, LayerStep] = {}
            for t in order:
                step = step_layer(weights, x[t], state.h, state.c)
                half[t] = step
                state = LayerState(step.h, step.c)
            finals.append(state)
            halves.append(half)
        for t in range(len(x)):
            steps[t].append(_joined(halves[0][t], halves[1][t]))
        x = np.stack([steps[t][-1].h for t in range(len(x))]) if len(x) else x
    return [tuple(s) for s in steps], finals


@dataclass(frozen=True)
class WholeRun:
    """One run over the whole input: each step's layers and output, the outputs (T, D) an
    attention decoder reads, and the hidden the forward returned (None for a tagger's)."""

    layers: tuple[tuple[LayerStep, ...], ...]
    outputs: tuple[Output, ...]
    memory: np.ndarray
    hidden: object | None

    def records(self, pieces: list[tuple[str, int]], tokens: tuple[str, ...]
                ) -> list[StepRecord]:
        return [StepRecord(t, typed, tokens[token_id], token_id, layers, output, (),
                           nonfinite_names(layers, output))
                for t, ((typed, token_id), layers, output)
                in enumerate(zip(pieces, self.layers, self.outputs, strict=True))]


class WholeModel(ModelFacts):
    """A model with a bidirectional nn.RNN/LSTM/GRU, run over the whole input (see the module's
    docstring). `head` False: a seq2seq encoder, whose `out` is its outputs."""

    kind = "char"
    whole_input = True
    can_hold = False

    def __init__(self, module: nn.Module, vocab: Vocab, name: str, *, head: bool = True,
                 labels: tuple[str, ...] | None = None, output: str | None = None) -> None:
        self.module, self.dtypes, self.notes = readable(module)
        self.vocab, self.name, self.has_head = vocab, name, head
        parts = [(n, m) for n, m in self.module.named_modules() if isinstance(m, nn.RNNBase)]
        if len(parts) != 1 or not parts[0][1].bidirectional:
            raise ProtocolError(f"a whole-input model needs exactly one bidirectional "
                                f"nn.RNN/LSTM/GRU; it has {len(parts)} recurrent layer stack(s)")
        self.part_name, self.part = parts[0]
        self.weights = direction_weights(self.part)
        self.cell = self.weights[0][0].cell
        self.n_layers = len(self.weights)
        self.hidden = 2 * self.weights[0][0].hidden
        self.layout_form = self._discover()
        out = self._forward([0, 0, 0])[0]
        self._labels, self.output_kind, self.output_note = self._head(out, labels, output)

    # -- what it is (the InspectableModel attributes traces and info read) --------------------
    @property
    def nonlinearity(self) -> str | None:
        return self.weights[0][0].nonlinearity if self.cell == "rnn" else None

    def describe(self) -> dict[str, str]:
        facts = {"recurrent": f"bidirectional {type(self.part).__name__} "
                              f"{self.part_name or '(root)'}, {self.n_layers} layer(s), "
                              f"{self.hidden // 2} per direction",
                 "input": {"column": "the whole input as a (T, 1) LongTensor",
                           "row": "the whole input as a (1, T) LongTensor",
                           "flat": "the whole input as a (T,) LongTensor"}[self.layout_form],
                 "state": "both directions side by side (forward | backward), each step "
                          "computed from the whole input"}
        if self.output_note:
            facts["output"] = self.output_note
        if self.notes:
            facts["mode"] = "; ".join(self.notes)
        return facts

    def step(self, token_id: int, state: State, hold=None):
        raise ValueError(f"{self.name}: {WHOLE_INPUT}")

    def close(self) -> None:
        return None

    # -- running --------------------------------------------------------------------------------
    def _tokens(self, ids: list[int], form: str) -> torch.Tensor:
        tensor = torch.tensor(ids, dtype=torch.long)
        return {"column": tensor[:, None], "row": tensor[None, :], "flat": tensor}[form]

    @contextlib.contextmanager
    def _hook(self):
        calls: list[tuple] = []
        handle = self.part.register_forward_hook(
            lambda _m, args, kwargs, out: calls.append((args, kwargs, out)), with_kwargs=True)
        try:
            yield calls
        finally:
            handle.remove()

    def _call(self, ids: list[int], form: str):
        with torch.no_grad(), self._hook() as calls:
            returned = self.module(self._tokens(ids, form))
        return returned, calls

    def _received(self, calls: list[tuple], steps: int) -> tuple[np.ndarray, object] | None:
        """What the layer was given, as (T, I) inputs and its h_0, when it was one call over
        `steps` steps of one sequence; else None."""
        if len(calls) != 1:
            return None
        args, kwargs, _ = calls[0]
        x = args[0] if args else kwargs.get("input")
        if not isinstance(x, torch.Tensor):
            return None
        if x.ndim == 3:
            if x.shape[0 if self.part.batch_first else 1] != 1:
                return None
            x = x[0] if self.part.batch_first else x[:, 0]
        if x.ndim != 2 or x.shape[0] != steps:
            return None
        hx = args[1] if len(args) > 1 else kwargs.get("hx")
        return _numpy(x), hx

    def _discover(self) -> str:
        """Which tokens layout the forward takes: the one for which the layer received the
        whole input as one sequence (three steps, so no layout passes by accident)."""
        forms = (("row", "column", "flat") if self.part.batch_first else
                 ("column", "flat", "row"))
        first = None
        for form in forms:
            try:
                _, calls = self._call([0, 0, 0], form)
            except Exception as exc:  # the user's code: the first form's error is the one said
                first = first or exc
                continue
            if self._received(calls, 3) is not None:
                return form
        reason = f" ({type(first).__name__}: {first})" if first is not None else ""
        raise ProtocolError(f"its forward did not run the bidirectional layer over the whole "
                            f"input as one sequence for tokens shaped (T, 1), (1, T) or (T,)"
                            f"{reason}; the protocol is forward(tokens) -> out or (out, hidden)")

    def _forward(self, ids: list[int]):
        returned, calls = self._call(ids, self.layout_form)
        if isinstance(returned, (tuple, list)) and len(returned) == 2:
            out, hidden = returned
        else:
            out, hidden = returned, None
        if not isinstance(out, torch.Tensor):
            raise ProtocolError(f"{self.name}: its forward returned {type(out).__name__}, not a "
                                "tensor of outputs")
        received = self._received(calls, len(ids))
        if received is None:
            raise ProtocolError(f"{self.name}: its bidirectional layer was not run over the "
                                "whole input as one sequence")
        return out, hidden, received, calls[0][2]

    def _head(self, out: torch.Tensor, labels, kind):
        if not self.has_head:
            return None, "raw", None
        values = _numpy(out).reshape(3, -1)
        detected = kind or output_kind(values[0])
        note = None
        size = values.shape[1]
        if labels is not None and len(labels) != size:
            raise ProtocolError(f"--labels has {len(labels)} labels, its forward returns "
                                f"{size} outputs per step")
        if labels is None and size != len(self.vocab) and detected != "raw":
            labels = numbered_labels(size)
            note = (f"{size} outputs, not the {len(self.vocab)} tokens of the vocabulary: "
                    f"labelled 0…{size - 1} (name them with --labels FILE)")
        if detected != "logits" and kind is None:
            said = {"raw": "raw values, shown as they are, never softmaxed",
                    "probs": "probabilities (rows sum to 1): not softmaxed again",
                    "log_probs": "log-probabilities: exp, not softmaxed again"}[detected]
            note = f"{note}; {said}" if note else said
        return labels, detected, note

    def run(self, ids: list[int]) -> WholeRun:
        """The whole input at once: every step's layers (recomputed from the weights and
        checked against the layer's own outputs) and outputs, and what the forward returned."""
        if not ids:
            raise ValueError(f"{self.name}: give at least one token")
        out, hidden, (x, hx), returned = self._forward(ids)
        start = None
        if hx is not None:
            h, c = hx if isinstance(hx, tuple) else (hx, None)
            h_rows = _numpy(h).reshape(2 * self.n_layers, -1)
            c_rows = _numpy(c).reshape(2 * self.n_layers, -1) if c is not None else None
            start = [LayerState(h_rows[i], None if c_rows is None else c_rows[i])
                     for i in range(2 * self.n_layers)]
        layers, _ = run_bidirectional(self.weights, x, start)
        top = returned[0]
        top = (top[0] if self.part.batch_first else top[:, 0]) if top.ndim == 3 else top
        worst = float(np.abs(np.stack([s[-1].h for s in layers]) - _numpy(top)).max())
        if not worst <= CHECK_TOLERANCE:
            raise ProtocolError(f"{self.part_name}: both directions recomputed from its weights "
                                f"give outputs {worst:.3g} away from the ones it returned")
        values = _numpy(out).reshape(len(ids), -1)
        if self.has_head:
            outputs = tuple(make_output(row, self.labels, kind=self.output_kind)
                            for row in values)
        else:
            outputs = tuple(make_output(None, ()) for _ in ids)
        return WholeRun(tuple(layers), outputs, values, hidden)

    def records(self, text: str) -> list[StepRecord]:
        pieces = self.vocab.tokenize(text)
        return self.run([i for _, i in pieces]).records(pieces, self.vocab.tokens)

    def handoff_state(self, hidden) -> State:
        """The hidden an encoder's forward returned, as the decoder's first state."""
        if hidden is None:
            raise ProtocolError(f"{self.name}: an encoder's forward returns (outputs, hidden)")
        layout = HiddenLayout.of(hidden, self.cell == "lstm")
        self.handoff_layout = layout
        return layout.to_state(hidden)


class WholeSession:
    """The source side of a seq2seq session whose encoder is bidirectional: the tokens typed so
    far, run again over the whole of them after each key (so every step shown is exact for the
    source as it stands), with the end token appended when the model takes one (--source-eos).
    `state` is the hidden the encoder's forward returned: the decoder's first state."""

    def __init__(self, model: WholeModel, source_eos: bool = False) -> None:
        self.model = model
        self.source_eos = source_eos
        self._pieces: list[tuple[str, int]] = []
        self._run: WholeRun | None = None

    @property
    def text(self) -> str:
        return self.model.vocab.join(typed for typed, _ in self._pieces)

    @property
    def cursor(self) -> int:
        return len(self._pieces)

    def _all(self) -> list[tuple[str, int]]:
        vocab = self.model.vocab
        return [*self._pieces, (vocab.eos, vocab.id(vocab.eos))] if self.source_eos \
            else self._pieces

    def run(self) -> WholeRun | None:
        if self._run is None and self._all():
            self._run = self.model.run([i for _, i in self._all()])
        return self._run

    def all_records(self) -> list[StepRecord]:
        """Every step of the source as the decoder sees it (the end token's last)."""
        run = self.run()
        return [] if run is None else run.records(self._all(), self.model.vocab.tokens)

    def records(self, start: int, stop: int) -> list[StepRecord]:
        return self.all_records()[max(0, start):min(stop, self.cursor)]

    @property
    def last(self) -> StepRecord | None:
        return self.records(self.cursor - 1, self.cursor)[0] if self.cursor else None

    @property
    def state(self) -> State:
        run = self.run()
        if run is None:
            return self.model.handoff_layout.zeros()
        return self.model.handoff_state(run.hidden)

    def feed(self, text: str) -> list[StepRecord]:
        start = self.cursor
        self._pieces += self.model.vocab.tokenize(text)
        self._run = None
        return self.records(start, self.cursor)

    def back(self, n: int = 1) -> None:
        del self._pieces[max(0, self.cursor - n):]
        self._run = None

    def reset(self) -> None:
        self._pieces.clear()
        self._run = None
