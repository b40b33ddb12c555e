"""Inspectable models: the one primitive `step(token_id, state)` and what it knows about itself.

`InspectableModel` is abstract so a model whose forward is the user's own (issue 7's hooked
adapter) plugs in beside the native one, which steps by hand from the module's weights.
"""

from __future__ import annotations

import contextlib
import threading
import weakref
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator

import numpy as np
import torch
from torch import nn

from inspector.engine.cells import (
    GATES,
    LayerStep,
    LayerWeights,
    frozen,
    layer_weights,
    memory_parts,
    step_stack,
)
from inspector.engine.records import LayerState, Output, State, make_output
from models.char_rnn import RecurrentCore
from models.mlp import MLPBaseline
from models.vocab import CharVocab

Hold = Callable[[int, LayerStep], LayerStep]  # layer k's step -> the step with clamps put in

_LOCKS: weakref.WeakKeyDictionary[object, threading.Lock] = weakref.WeakKeyDictionary()
_LOCKS_GUARD = threading.Lock()


def model_lock(model: object) -> threading.Lock:
    """The one lock every step of `model` runs under: a user's forward (hooks, captured inputs)
    is not safe to run from two threads at once, and an export may replay while keys step."""
    with _LOCKS_GUARD:
        lock = _LOCKS.get(model)
        if lock is None:
            lock = _LOCKS[model] = threading.Lock()
        return lock


@contextlib.contextmanager
def torch_threads(n: int | None) -> Iterator[None]:
    """torch's intra-op threads set to `n` while the block runs, then back (None: unchanged).
    With OpenMP the setting belongs to the calling thread: a worker can take every core for a
    bulk job while the event loop's steps keep one."""
    if n is None:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(max(1, n))
    try:
        yield
    finally:
        torch.set_num_threads(before)


class ModelFacts:
    """What a model is, as traces, `info` and the screens read it: shared by the models that
    step (`InspectableModel`) and those run over a whole input (`bidirectional.WholeModel`)."""

    vocab: CharVocab
    cell: str  # rnn | lstm | gru | mlp | custom (a hand-written cell: no gates to read)
    _labels: tuple[str, ...] | None = None

    @property
    def labels(self) -> tuple[str, ...]:
        """The names of the head's outputs: the vocabulary unless the head says otherwise (a
        tagger's labels)."""
        return self._labels if self._labels is not None else self.vocab.tokens

    @property
    def gate_names(self) -> tuple[str, ...]:
        return GATES[self.cell]

    @property
    def has_cell(self) -> bool:
        return self.cell == "lstm"

    @property
    def nonlinearity(self) -> str | None:
        """`tanh` | `relu` for plain RNN layers (a relu state is unbounded); None otherwise."""
        return None


class InspectableModel(ModelFacts, ABC):
    kind: str  # char | mlp
    name: str
    n_layers: int
    hidden: int
    output_kind: str = "logits"  # logits | log_probs | probs | raw (records.OUTPUT_KINDS)
    can_hold = False  # whether `step(..., hold=)` puts clamps in before the head reads the state

    def activation_names(self) -> list[str]:
        names = []
        for k in range(self.n_layers):
            names.append(f"l{k}.h")
            if self.has_cell:
                names.append(f"l{k}.c")
            names.extend(f"l{k}.gate.{g}" for g in self.gate_names)
        return names

    def initial_state(self) -> State:
        zeros = frozen(np.zeros(self.hidden, dtype=np.float32))
        return tuple(LayerState(zeros, zeros if self.has_cell else None)
                     for _ in range(self.n_layers))

    @abstractmethod
    def step(self, token_id: int, state: State, hold: Hold | None = None
             ) -> tuple[tuple[LayerStep, ...], Output]:
        """One step from `state`: every layer's record and the head's output. `hold` (only
        where `can_hold`) edits each layer's new state before the next layer and the head
        read it: that is how a clamp reaches the prediction."""

    def prepare(self, state: State) -> None:
        """Work out now whatever a step from `state` needs before its input is known (the app
        calls this while the user is between keys). Optional: by default, nothing."""
        return None

    def step_vector(self, x: np.ndarray, state: State
                    ) -> tuple[tuple[LayerStep, ...], Output]:
        """One step from a real-valued input vector (a time series' features) instead of a
        token."""
        raise ValueError(f"{self.name} takes tokens, not real-valued inputs")

    def close(self) -> None:
        """Let go of the user's module (a hooked model's hooks); nothing to do by default."""
        return None


class NativeModel(InspectableModel):
    """Steps a CharRNN, a seq2seq encoder/decoder or an MLPBaseline by hand from its weights.

    A hand-written numpy step has none of `nn.LSTM`'s per-call overhead, and exposes the gates
    `nn.LSTM` keeps to itself; tests hold it to `nn.LSTM`'s numbers within 1e-5.
    """

    can_hold = True

    def __init__(self, module: nn.Module, vocab: CharVocab, name: str, kind: str = "char",
                 labels: tuple[str, ...] | None = None, output_kind: str = "logits") -> None:
        self.module = module
        self._labels = labels
        self.output_kind = output_kind
        self.vocab = vocab
        self.name = name
        self.kind = kind
        if isinstance(module, MLPBaseline):
            self.cell = "mlp"
            self.layers: tuple[LayerWeights, ...] = (LayerWeights(
                "mlp", module.hidden.weight.detach().numpy().copy(), None,
                module.hidden.bias.detach().numpy().copy(),
                np.zeros(module.config.hidden, dtype=np.float32)),)
            self.embedding: np.ndarray | None = module.embed.weight.detach().numpy().copy()
        elif isinstance(module, RecurrentCore):
            self.layers = layer_weights(module.rnn)
            self.cell = self.layers[0].cell
            self.embedding = (module.embed.weight.detach().numpy().copy()
                              if module.embed is not None else None)
        else:
            raise TypeError(f"cannot inspect a {type(module).__name__} natively")
        self.n_layers = len(self.layers)
        self.hidden = self.layers[0].hidden
        head = getattr(module, "head", None)
        self.head_w = head.weight.detach().numpy().copy() if head is not None else None
        self.head_b = (head.bias.detach().numpy().copy() if head is not None and head.bias
                       is not None else None)
        self._ahead: tuple[State, tuple[np.ndarray | None, ...]] | None = None  # see prepare
        self._fused: list[nn.RNNBase] | None = None  # see fused_layers

    @property
    def nonlinearity(self) -> str | None:
        return self.layers[0].nonlinearity if self.cell == "rnn" else None

    @property
    def input_size(self) -> int:
        return self.layers[0].w_ih.shape[1]

    def input_vector(self, token_id: int) -> np.ndarray:
        if self.embedding is not None:
            return self.embedding[token_id]
        x = np.zeros(self.input_size, dtype=np.float32)
        x[token_id] = 1.0
        return x

    def head(self, h: np.ndarray) -> np.ndarray | None:
        if self.head_w is None:
            return None
        logits = self.head_w @ h
        return logits + self.head_b if self.head_b is not None else logits

    def prepare(self, state: State) -> None:
        """Compute every layer's memory part (`W_hh h + b_hh`) for a step from `state` now, for
        the step that follows to use: the app calls this while the user is between keys, so
        the key's own step is left with the input part and the gates (for a 2x512 LSTM it then
        reads 4 of its 12 MB of weights). Same expression, same numbers."""
        ahead = self._ahead
        if self.cell != "mlp" and (ahead is None or ahead[0] is not state):
            self._ahead = (state, memory_parts(self.layers, state))

    def step(self, token_id: int, state: State, hold: Hold | None = None
             ) -> tuple[tuple[LayerStep, ...], Output]:
        ahead = self._ahead  # read once: a worker thread may be stepping meanwhile
        memory = ahead[1] if ahead is not None and ahead[0] is state else None
        steps = step_stack(self.layers, self.input_vector(token_id), state, memory, hold)
        return steps, make_output(self.head(steps[-1].h), self.labels, kind=self.output_kind)

    def step_vector(self, x: np.ndarray, state: State, hold: Hold | None = None
                    ) -> tuple[tuple[LayerStep, ...], Output]:
        if x.shape != (self.input_size,):
            raise ValueError(f"{self.name} takes {self.input_size} input features per step, "
                             f"not {x.shape[-1] if x.ndim else 1}")
        steps = step_stack(self.layers, np.asarray(x, dtype=np.float32), state, hold=hold)
        return steps, make_output(self.head(steps[-1].h), self.labels, kind=self.output_kind)

    def inputs_matrix(self, token_ids: np.ndarray) -> np.ndarray:
        """(T, I): every step's input vector (embedding rows, or one-hot)."""
        if self.embedding is not None:
            return self.embedding[token_ids]
        x = np.zeros((len(token_ids), self.input_size), dtype=np.float32)
        x[np.arange(len(token_ids)), token_ids] = 1.0
        return x

    def fused_layers(self) -> list[nn.RNNBase]:
        """One single-layer torch module per layer, holding this model's weights: torch's fused
        forward, layer by layer (bulk traces need every layer's outputs). Built once."""
        if self._fused is None:
            sizes = [self.input_size] + [self.hidden] * (self.n_layers - 1)
            self._fused = [_single_layer(w, self.cell, size)
                           for w, size in zip(self.layers, sizes, strict=True)]
        return self._fused

    @torch.no_grad()
    def fused_run(self, token_ids: list[int], state: State) -> tuple[State, np.ndarray]:
        """The state after `token_ids` from `state` by torch's fused forward, and the top-1
        token id the head gives at every step (-1 where the output is not finite): a paste."""
        if self.cell == "mlp":
            x = torch.from_numpy(self.inputs_matrix(np.asarray(token_ids, dtype=np.int64)))
            weights = self.layers[0]
            top_h = torch.tanh(torch.addmm(torch.from_numpy(weights.b_ih), x,
                                           torch.from_numpy(weights.w_ih).T))
            final = (LayerState(frozen(top_h[-1].numpy())),)
        else:
            x = torch.from_numpy(self.inputs_matrix(np.asarray(token_ids, dtype=np.int64)))[None]
            out = []
            for layer, module in zip(state, self.fused_layers(), strict=True):
                hx = torch.tensor(layer.h)[None, None]
                if self.has_cell:
                    hx = (hx, torch.tensor(layer.c)[None, None])
                x, last = module(x, hx)
                if self.has_cell:
                    out.append(LayerState(frozen(last[0][0, 0].numpy()),
                                          frozen(last[1][0, 0].numpy())))
                else:
                    out.append(LayerState(frozen(last[0, 0].numpy())))
            final, top_h = tuple(out), x[0]
        if self.head_w is None:
            return final, np.full(len(token_ids), -1, dtype=np.int64)
        logits = top_h @ torch.from_numpy(self.head_w).T
        if self.head_b is not None:
            logits += torch.from_numpy(self.head_b)
        top = logits.argmax(dim=1).numpy()
        finite = torch.isfinite(logits).all(dim=1).numpy()
        return final, np.where(finite, top, -1)


def _single_layer(weights: LayerWeights, cell: str, input_size: int) -> nn.RNNBase:
    cls = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}[cell]
    kwargs = {"nonlinearity": weights.nonlinearity} if cell == "rnn" else {}
    layer = cls(input_size, weights.hidden, 1, batch_first=True, **kwargs)
    with torch.no_grad():
        layer.weight_ih_l0.copy_(torch.from_numpy(weights.w_ih))
        layer.weight_hh_l0.copy_(torch.from_numpy(weights.w_hh))
        layer.bias_ih_l0.copy_(torch.from_numpy(weights.b_ih))
        layer.bias_hh_l0.copy_(torch.from_numpy(weights.b_hh))
    return layer


def state_after(steps: tuple[LayerStep, ...]) -> State:
    return tuple(LayerState(s.h, s.c) for s in steps)
