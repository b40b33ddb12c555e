"""Fixed points of the recurrent map with one input held (Sussillo & Barak 2013).

F(x) is one step of the whole stack with the input `hold`; x is every layer's state side by side
(`[h; c]` per layer for an LSTM). From many visited states, q(x) = ½‖x − F(x)‖² is minimised for
all of them at once (Adam on the batch, then damped Newton steps, in float64 with torch
autograd); the points reached are deduplicated and each gets the eigenvalues of F's Jacobian
there: stable when every |λ| < 1. `period=2` finds the fixed points of F∘F instead, which
include the 2-cycles.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from inspector.engine.model import NativeModel
from inspector.engine.records import LayerState

Q_TOLERANCE = 1e-10  # a point with q above this is a slow point, not a fixed point
MERGE_DISTANCE = 1e-3  # points closer than this (max |Δ| of any coordinate) are one point


@dataclass(frozen=True)
class FixedPoint:
    state: dict[str, np.ndarray] = field(repr=False)  # `l0.h`, `l0.c`, … (float64)
    q: float
    eigenvalues: np.ndarray = field(repr=False)  # complex, largest |λ| first
    output: str  # the token the model predicts at this state
    period: int  # 1: F(x) = x; 2: F(F(x)) = x with F(x) ≠ x

    @property
    def max_abs_eig(self) -> float:
        return float(np.abs(self.eigenvalues[0])) if len(self.eigenvalues) else 0.0

    @property
    def stable(self) -> bool:
        return self.max_abs_eig < 1.0


@dataclass(frozen=True)
class FixedPointResult:
    hold: str
    period: int
    starts: int  # how many visited states the search began from
    points: tuple[FixedPoint, ...]  # stable first, then by q

    def to_json(self, eigenvalues: int = 16) -> dict:
        return {"hold": self.hold, "period": self.period, "starts": self.starts,
                "points": [{"stable": p.stable, "q": p.q, "max_abs_eig": p.max_abs_eig,
                            "output": p.output, "period": p.period,
                            "eigenvalues": [[float(v.real), float(v.imag)]
                                            for v in p.eigenvalues[:eigenvalues]],
                            "state": {k: v.tolist() for k, v in p.state.items()}}
                           for p in self.points]}


class StepMap:
    """F(x) for a batch of stacked states (B, D) with one input held, in float64 torch."""

    def __init__(self, model: NativeModel, token_id: int) -> None:
        if model.cell == "mlp":
            raise ValueError(f"{model.name} is an MLP: it has no state, so no fixed points")
        self.model = model
        self.cell = model.cell
        self.hidden = model.hidden
        self.parts = 2 if model.has_cell else 1
        self.layers = [{k: torch.from_numpy(getattr(w, k).astype(np.float64))
                        for k in ("w_ih", "w_hh", "b_ih", "b_hh")} for w in model.layers]
        self.relu = model.nonlinearity == "relu"
        self.x0 = torch.from_numpy(model.input_vector(token_id).astype(np.float64))
        self.head_w = None if model.head_w is None else torch.from_numpy(
            model.head_w.astype(np.float64))
        self.head_b = None if model.head_b is None else torch.from_numpy(
            model.head_b.astype(np.float64))

    @property
    def size(self) -> int:
        return self.hidden * self.parts * len(self.layers)

    def names(self) -> list[str]:
        return [f"l{k}.{part}" for k in range(len(self.layers))
                for part in ("h", "c")[:self.parts]]

    def layer_step(self, k: int, inp: torch.Tensor, h: torch.Tensor, c: torch.Tensor | None,
                   on_c=None) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Layer k's new (h, c) from its input `inp` (B, I) and state: PyTorch's equations and
        gate order (c is None but for an LSTM). `on_c(c)` may replace an LSTM's new c before
        h is made from it."""
        w = self.layers[k]
        pre_x = inp @ w["w_ih"].T + w["b_ih"]
        pre_h = h @ w["w_hh"].T + w["b_hh"]
        if self.cell == "rnn":
            return (torch.relu(pre_x + pre_h) if self.relu else torch.tanh(pre_x + pre_h)), None
        if self.cell == "lstm":
            i, f, g, o = (pre_x + pre_h).chunk(4, 1)
            new_c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
            if on_c is not None:
                new_c = on_c(new_c)
            return torch.sigmoid(o) * torch.tanh(new_c), new_c
        xr, xz, xn = pre_x.chunk(3, 1)  # gru
        hr, hz, hn = pre_h.chunk(3, 1)
        r, z = torch.sigmoid(xr + hr), torch.sigmoid(xz + hz)
        return (1 - z) * torch.tanh(xn + r * hn) + z * h, None

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """(B, D) -> (B, D): one step of every layer."""
        H, out = self.hidden, []
        inp = self.x0.expand(x.shape[0], -1)
        for k in range(len(self.layers)):
            base = k * H * self.parts
            h = x[:, base:base + H]
            c = x[:, base + H:base + 2 * H] if self.parts == 2 else None
            new_h, new_c = self.layer_step(k, inp, h, c)
            out += [new_h] if new_c is None else [new_h, new_c]
            inp = new_h
        return torch.cat(out, 1)

    def output(self, x: np.ndarray) -> str:
        """The token predicted at state x (the top layer's h through the head)."""
        if self.head_w is None:
            return ""
        base = (len(self.layers) - 1) * self.hidden * self.parts
        logits = self.head_w @ torch.from_numpy(x[base:base + self.hidden])
        if self.head_b is not None:
            logits = logits + self.head_b
        return self.model.vocab.tokens[int(logits.argmax())]

    def split(self, x: np.ndarray) -> dict[str, np.ndarray]:
        H = self.hidden
        return {name: x[j * H:(j + 1) * H].copy() for j, name in enumerate(self.names())}

    def stack(self, state: tuple[LayerState, ...]) -> np.ndarray:
        parts = []
        for layer in state:
            parts.append(layer.h)
            if self.parts == 2:
                parts.append(layer.c)
        return np.concatenate(parts).astype(np.float64)


def _mapped(step: StepMap, period: int):
    def apply(x: torch.Tensor) -> torch.Tensor:
        for _ in range(period):
            x = step(x)
        return x
    return apply


def _q(apply, x: torch.Tensor) -> torch.Tensor:
    return 0.5 * (x - apply(x)).square().sum(1)


ITERATIONS = 200


def minimise(apply, starts: torch.Tensor, iterations: int = ITERATIONS, lr: float = 0.05,
             newton: int = 12) -> tuple[torch.Tensor, torch.Tensor]:
    """Minimise q from every start at once: Adam, then damped Newton steps on x − F(x) = 0
    (each point's step kept only where it lowers that point's q). Returns (points, q)."""
    flushed = torch.set_flush_denormal(True)  # q near 0 makes denormal gradients: 10x slower
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # (B, 64) tensors: a second thread only adds hand-offs
    try:
        return _minimise(apply, starts, iterations, lr, newton)
    finally:
        torch.set_num_threads(threads)
        if flushed:
            torch.set_flush_denormal(False)


def _minimise(apply, starts: torch.Tensor, iterations: int, lr: float, newton: int
              ) -> tuple[torch.Tensor, torch.Tensor]:
    # Adam written out: torch.optim's first use imports torch._dynamo (seconds, for nothing here).
    x = starts.clone()
    m, v = torch.zeros_like(x), torch.zeros_like(x)
    beta1, beta2 = 0.9, 0.999
    for n in range(1, iterations + 1):
        x.requires_grad_(True)
        q = _q(apply, x)
        (grad,) = torch.autograd.grad(q.sum(), x)
        x = x.detach()
        if float(q.detach().max()) < 1e-20:  # every point is there already
            break
        m.mul_(beta1).add_(grad, alpha=1 - beta1)
        v.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        step = lr * 0.99 ** n / (1 - beta1 ** n)
        x = x - step * m / ((v / (1 - beta2 ** n)).sqrt() + 1e-8)
    eye = torch.eye(x.shape[1], dtype=x.dtype)
    for _ in range(newton):
        jac = _jacobians(apply, x)
        residual = x - apply(x)
        try:
            delta = torch.linalg.solve(eye - jac, residual[..., None])[..., 0]
        except RuntimeError:  # a singular I − J somewhere: stop refining
            break
        with torch.no_grad():
            candidate = x - delta
            q_new, q_old = _q(apply, candidate), _q(apply, x)
            better = q_new < q_old
            x = torch.where(better[:, None], candidate, x)
            if not bool(better.any()) or float(torch.minimum(q_new, q_old).max()) < 1e-20:
                break  # nothing moves any more, or every point has arrived
    with torch.no_grad():
        return x, _q(apply, x)


def _jacobians(apply, x: torch.Tensor) -> torch.Tensor:
    """(B, D, D): the Jacobian of the map at every point, one reverse pass per output
    coordinate for the whole batch (rows are independent). Plain autograd: torch.func's first
    use imports torch._dynamo, seconds for nothing here."""
    x = x.detach().requires_grad_(True)
    with torch.enable_grad():
        out = apply(x)
        rows = [torch.autograd.grad(out[:, i].sum(), x, retain_graph=True)[0]
                for i in range(out.shape[1])]
    return torch.stack(rows, 1)


def deduplicate(points: np.ndarray, q: np.ndarray, distance: float = MERGE_DISTANCE
                ) -> list[int]:
    """Indices of distinct points (the lowest q of each cluster), lowest q first."""
    kept: list[int] = []
    for i in np.argsort(q, kind="stable"):
        if all(np.abs(points[i] - points[j]).max() >= distance for j in kept):
            kept.append(int(i))
    return kept


def find_fixed_points(model: NativeModel, hold: str, starts: np.ndarray, *, period: int = 1,
                      iterations: int = ITERATIONS, q_tolerance: float = Q_TOLERANCE,
                      noise: float = 0.0, seed: int = 0) -> FixedPointResult:
    """Fixed points (or period-2 points) of `model` under the input `hold`, searched from the
    stacked states `starts` (S, D) (plus Gaussian `noise`, if given)."""
    if period not in (1, 2):
        raise ValueError(f"--period must be 1 or 2, not {period}")
    token = model.vocab.id(hold)
    step = StepMap(model, token)
    x0 = torch.from_numpy(np.asarray(starts, dtype=np.float64))
    if noise:
        x0 = x0 + noise * torch.randn(x0.shape, generator=torch.Generator().manual_seed(seed),
                                      dtype=x0.dtype)
    apply = _mapped(step, period)
    points, q = minimise(apply, x0, iterations)
    points_np, q_np = points.numpy(), q.numpy()
    good = np.flatnonzero(q_np <= q_tolerance)
    kept = [good[i] for i in deduplicate(points_np[good], q_np[good])]
    found = []
    if kept:
        chosen = points[kept]
        eigenvalues = torch.linalg.eigvals(_jacobians(apply, chosen)).numpy()
        with torch.no_grad():
            moved = (step(chosen) - chosen).abs().amax(1).numpy()
        for row, index in enumerate(kept):
            values = eigenvalues[row][np.argsort(-np.abs(eigenvalues[row]), kind="stable")]
            own_period = 1 if period == 1 or moved[row] < MERGE_DISTANCE else 2
            found.append(FixedPoint(step.split(points_np[index]), float(q_np[index]), values,
                                    step.output(points_np[index]), own_period))
    found.sort(key=lambda p: (not p.stable, p.q))
    return FixedPointResult(hold, period, len(starts), tuple(found))
