"""Each unit's contribution to one prediction: gradient × activation.

For the prediction at step t (the predicted token's logit, or a given one), every unit of every
layer's h (and an LSTM's c) at step t gets d logit / d unit × its value: how much the logit
would move, to first order, if the unit were zeroed. Only step t's own computation lies between
a unit at step t and that logit (the layers above it at step t, then the head), so the step is
redone from the state it started from, in float64 torch with autograd, through the same
equations as the fixed-point search (`StepMap.layer_step`).

Where the session held a unit (a clamp) or its numbers come from elsewhere, pass the recorded
values as `after`: each layer's output is moved onto them (a straight-through shift: the value
is the recorded one, the gradient flows as computed).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import torch

from inspector.analysis.fixed_points import StepMap
from inspector.engine.model import NativeModel

LayerValues = tuple[np.ndarray, np.ndarray | None]  # (h, c or None) of one layer


@dataclass(frozen=True)
class Contribution:
    target: str  # the token whose logit is explained
    logit: float
    scores: dict[str, np.ndarray]  # `l0.h` -> (H,) gradient × activation
    values: dict[str, np.ndarray]  # the activations at step t (float64)

    def to_json(self) -> dict:
        return {"target": self.target, "logit": self.logit,
                "scores": {name: v.tolist() for name, v in self.scores.items()}}


def contributions(model: NativeModel, before: tuple[LayerValues, ...], token_id: int, *,
                  target: int | None = None,
                  after: Mapping[str, np.ndarray] | None = None) -> Contribution:
    """Gradient × activation of every unit at the step that reads `token_id` from the state
    `before` (per layer `(h, c)`), for the logit of `target` (default: the predicted one)."""
    if not isinstance(model, NativeModel):
        raise ValueError(f"{model.name}: contributions need gradients through the model's own "
                         "weights; a model with its own forward is not supported")
    if model.head_w is None:
        raise ValueError(f"{model.name} has no output head: no prediction to explain")
    head_w = torch.from_numpy(model.head_w.astype(np.float64))
    head_b = None if model.head_b is None else torch.from_numpy(model.head_b.astype(np.float64))
    leaves: dict[str, torch.Tensor] = {}
    with torch.enable_grad():
        if model.cell == "mlp":
            w = model.layers[0]
            x = torch.from_numpy(model.input_vector(token_id).astype(np.float64))
            x.requires_grad_(True)  # so the graph is built; its own gradient is not used
            inp = torch.tanh(x @ torch.from_numpy(w.w_ih.astype(np.float64)).T
                             + torch.from_numpy(w.b_ih.astype(np.float64)))[None]
            inp = _held(inp, after, "l0.h")
            inp.retain_grad()
            leaves["l0.h"] = inp
        else:
            step = StepMap(model, token_id)
            inp = step.x0[None].clone().requires_grad_(True)  # builds the graph (not used)
            for k, (h, c) in enumerate(before):
                h0 = torch.from_numpy(np.asarray(h, dtype=np.float64))[None]
                c0 = None if c is None else torch.from_numpy(np.asarray(c, dtype=np.float64))[None]

                def kept(c: torch.Tensor, name: str = f"l{k}.c") -> torch.Tensor:
                    c = _held(c, after, name)  # h is made from this c: every path counts
                    c.retain_grad()
                    leaves[name] = c
                    return c

                new_h, _ = step.layer_step(k, inp, h0, c0, on_c=kept)
                new_h = _held(new_h, after, f"l{k}.h")
                new_h.retain_grad()
                leaves[f"l{k}.h"] = new_h
                inp = new_h
        logits = inp[0] @ head_w.T
        if head_b is not None:
            logits = logits + head_b
        chosen = int(logits.argmax()) if target is None else int(target)
        logits[chosen].backward()
    scores = {name: (t.grad * t).detach()[0].numpy() for name, t in leaves.items()}
    values = {name: t.detach()[0].numpy() for name, t in leaves.items()}
    return Contribution(model.labels[chosen], float(logits[chosen].detach()), scores, values)


def _held(value: torch.Tensor, after: Mapping[str, np.ndarray] | None,
          name: str) -> torch.Tensor:
    """`value` moved onto the recorded one, if given (the gradient is unchanged)."""
    if after is None or name not in after:
        return value
    recorded = torch.from_numpy(np.asarray(after[name], dtype=np.float64))[None]
    return value + (recorded - value).detach()
