"""Saliency through time ("connectivity", Distill 2019): how much each earlier input mattered to
the prediction at step T, as the squared norm of the gradient of the predicted token's logit
with respect to each step's input vector (its embedding, or its one-hot vector).

Exact: one backward pass through torch's own recurrent modules built from the model's weights,
on the CPU, in eval mode (no dropout, no cuDNN).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from inspector.engine.model import NativeModel


@dataclass(frozen=True)
class Saliency:
    at: int
    prediction: str
    inputs: str  # the characters up to and including step `at`
    scores: tuple[float, ...]  # one per step 0 … at

    def to_json(self) -> dict:
        return {"at": self.at, "prediction": self.prediction, "inputs": self.inputs,
                "scores": list(self.scores)}


def saliency(model: NativeModel, text: str, at: int | None = None) -> Saliency:
    """The saliency of every step of `text` for the prediction at step `at` (default: the last)."""
    if not isinstance(model, NativeModel):
        raise ValueError(f"{model.name}: saliency needs gradients through the model's own "
                         "weights; a model with its own forward is not supported")
    if model.head_w is None:
        raise ValueError(f"{model.name} has no output head: nothing to explain")
    at = len(text) - 1 if at is None else at
    if not 0 <= at < len(text):
        raise ValueError(f"--at {at} is outside the input (steps 0 … {len(text) - 1})")
    ids = np.array(model.vocab.encode(text[:at + 1]), dtype=np.int64)
    x = torch.from_numpy(model.inputs_matrix(ids)).requires_grad_(True)  # (T, I)
    with torch.enable_grad():
        h = x
        if model.cell == "mlp":
            w = model.layers[0]
            h = torch.tanh(h @ torch.from_numpy(w.w_ih).T + torch.from_numpy(w.b_ih))
        else:
            for module in model.fused_layers():
                h = module.eval()(h[None])[0][0]  # from the zero state, as a trace starts
        logits = torch.from_numpy(model.head_w) @ h[-1]
        if model.head_b is not None:
            logits = logits + torch.from_numpy(model.head_b)
        target = int(logits.argmax())
        (grad,) = torch.autograd.grad(logits[target], x)
    scores = grad.square().sum(1)
    return Saliency(at, model.vocab.tokens[target], text[:at + 1],
                    tuple(float(v) for v in scores))
