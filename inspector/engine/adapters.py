"""Models with their own forward: user factories (`--factory module:callable`) and whole pickled
modules (`--trust-pickle`).

Protocol: `forward(x_t, hidden) -> (out, hidden)` for one step, `x_t` a LongTensor holding one
token index (shape (1, 1)), `hidden` None at the start. The numbers shown are the module's own:
`out` gives the logits, and forward hooks on the inner nn.RNN/LSTM/GRU submodules capture what
each received, so h, c and every gate are recomputed exactly from those submodules' weights even
when the forward adds layers of its own (dropout, ReLU, layer norm) around them.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from inspector.engine.cells import LayerStep, frozen, layer_weights, step_stack
from inspector.engine.model import InspectableModel
from inspector.engine.records import LayerState, Output, State, make_output
from models.vocab import CharVocab


def recurrent_submodules(module: nn.Module) -> list[tuple[str, nn.RNNBase]]:
    return [(name, m) for name, m in module.named_modules() if isinstance(m, nn.RNNBase)]


class HookedModel(InspectableModel):
    """Steps a user module through its own forward and reads its recurrent layers by hooks."""

    kind = "char"

    def __init__(self, module: nn.Module, vocab: CharVocab, name: str, head: bool = True) -> None:
        found = recurrent_submodules(module)
        if len(found) != 1:
            names = ", ".join(n or "(root)" for n, _ in found) or "none"
            raise ValueError(f"needs exactly one nn.RNN/LSTM/GRU inside the model to show its "
                             f"states (found: {names})")
        # Half, bfloat16 or double weights are computed in float32 like every other model, so the
        # hidden state handed back to the forward and the one the engine shows are the same.
        self.dtypes = sorted({str(p.dtype).removeprefix("torch.") for p in module.parameters()
                              if p.is_floating_point()} - {"float32"})
        self.module = module.float().eval()
        self.vocab = vocab
        self.name = name
        self.has_head = head  # a seq2seq encoder's `out` is not a distribution: ignore it
        self.rnn_name, self.rnn = found[0]
        try:
            self.layers = layer_weights(self.rnn)
        except ValueError as exc:
            raise ValueError(f"{self.rnn_name or '(root)'}: {exc}") from None
        self.cell = self.layers[0].cell
        self.n_layers = len(self.layers)
        self.hidden = self.layers[0].hidden
        self._initial = super().initial_state()
        self._captured: list[tuple[torch.Tensor, object]] = []
        self.rnn.register_forward_hook(self._capture)

    @property
    def nonlinearity(self) -> str | None:
        return self.layers[0].nonlinearity if self.cell == "rnn" else None

    def initial_state(self) -> State:
        return self._initial

    def _capture(self, _module, args, _output) -> None:
        x = args[0]
        hx = args[1] if len(args) > 1 else None
        self._captured.append((x.detach(), hx))

    def _to_torch(self, state: State):
        """Our State as the hidden the user's forward returned: None at the start (as the
        protocol promises), else (layers, 1, H) tensors."""
        if state is self._initial:
            return None
        h = torch.from_numpy(np.stack([s.h for s in state]))[:, None, :]
        if self.cell == "lstm":
            return h, torch.from_numpy(np.stack([s.c for s in state]))[:, None, :]
        return h

    @torch.no_grad()
    def step(self, token_id: int, state: State) -> tuple[tuple[LayerStep, ...], Output]:
        self._captured.clear()
        out, _ = self.module(torch.tensor([[token_id]]), self._to_torch(state))
        if len(self._captured) != 1:
            raise RuntimeError(f"{self.name}: its forward ran the recurrent layer "
                               f"{len(self._captured)} times for one token; expected once")
        x, hx = self._captured[0]
        x = x.reshape(-1).float().numpy()  # this step's input to layer 0, whatever the batching
        steps = step_stack(self.layers, x, self._hidden_from(hx))
        if not self.has_head:
            return steps, make_output(None, self.vocab.tokens)
        logits = out.detach().float().reshape(-1).numpy()
        if logits.shape[0] != len(self.vocab):
            raise ValueError(f"{self.name}: its forward returned {logits.shape[0]} outputs for a "
                             f"vocabulary of {len(self.vocab)} tokens")
        return steps, make_output(logits, self.vocab.tokens)

    def _hidden_from(self, hx) -> State:
        """The state the recurrent layer really started from (what the forward passed it)."""
        if hx is None:
            return self._initial
        h, c = (hx if isinstance(hx, tuple) else (hx, None))
        h = h.detach().float().reshape(self.n_layers, self.hidden).numpy()
        if c is not None:
            c = c.detach().float().reshape(self.n_layers, self.hidden).numpy()
        return tuple(LayerState(frozen(h[k]), frozen(c[k]) if c is not None else None)
                     for k in range(self.n_layers))
