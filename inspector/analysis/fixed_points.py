"""Fixed points of the recurrent map with one input held (Sussillo & Barak 2013).

F(x) is one step of the whole stack with the input `hold`; x is every layer's state side by side
(`[h; c]` per layer for an LSTM). From many visited states, and from where `settle` steps of F
take them, q(x) = ½‖x − F(x)‖² is minimised for all of them at once (Adam on the batch with
torch autograd's gradients, then damped Newton steps with F's Jacobian in closed form, in
float64); the points reached are deduplicated and each gets the eigenvalues of F's Jacobian
there: stable when every |λ| < 1. `period=2` finds the fixed points of F∘F instead, which
include the 2-cycles.
"""

from __future__ import annotations

from collections.abc import Callable
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

    def jacobian(self, x: torch.Tensor) -> torch.Tensor:
        """(B, D) -> (B, D, D): dF/dx at every state of the batch, in closed form. Layer k's
        new state depends on its own state (`layer_jacobian`'s first part) and, through its
        input, on the new h of the layer below, so its rows are that part plus the second part
        times the rows of the new h below. Equal to autograd's (tests), a few matrix products
        instead of one backward pass per coordinate: a 2x512 LSTM's takes a second, not 20."""
        H, P, B = self.hidden, self.parts, x.shape[0]
        jac = x.new_zeros(B, x.shape[1], x.shape[1])
        inp = self.x0.expand(B, -1)
        for k in range(len(self.layers)):
            base = k * H * P
            h = x[:, base:base + H]
            c = x[:, base + H:base + 2 * H] if P == 2 else None
            own, through_input, new_h = self.layer_jacobian(k, inp, h, c)
            jac[:, base:base + P * H, base:base + P * H] = own
            if k > 0:  # the new h of layer k-1: rows base - P*H … of jac, columns before base
                below = jac[:, base - P * H:base - P * H + H, :base]
                jac[:, base:base + P * H, :base] = through_input @ below
            inp = new_h
        return jac

    def layer_jacobian(self, k: int, inp: torch.Tensor, h: torch.Tensor, c: torch.Tensor | None
                       ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Layer k's (d new/d own state (B, P·H, P·H), d new/d input (B, P·H, I), new h), the
        new state ordered [h; c] as the stacked state is."""
        w = self.layers[k]
        H = self.hidden
        pre_x = inp @ w["w_ih"].T + w["b_ih"]
        pre_h = h @ w["w_hh"].T + w["b_hh"]

        def rows(scale: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
            return scale[:, :, None] * weight  # diag(scale) @ weight, batched: (B, H, n)

        if self.cell == "rnn":
            pre = pre_x + pre_h
            new_h = torch.relu(pre) if self.relu else torch.tanh(pre)
            slope = (pre > 0).to(pre.dtype) if self.relu else 1 - new_h.square()
            return rows(slope, w["w_hh"]), rows(slope, w["w_ih"]), new_h
        if self.cell == "lstm":
            i, f, g, o = (pre_x + pre_h).chunk(4, 1)
            si, sf, tg, so = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)
            new_c = sf * c + si * tg
            tc = torch.tanh(new_c)
            to_c = so * (1 - tc.square())  # d h'/d c'
            scale_c = (si * (1 - si) * tg, sf * (1 - sf) * c, si * (1 - tg.square()))
            scale_o = so * (1 - so) * tc

            def through(weight: torch.Tensor) -> torch.Tensor:  # (d h'/d v; d c'/d v)
                parts = weight.split(H, 0)
                dc = sum(rows(scale, part) for scale, part in zip(scale_c, parts))
                return torch.cat([rows(scale_o, parts[3]) + to_c[:, :, None] * dc, dc], 1)

            own = torch.cat([through(w["w_hh"]),
                             torch.cat([torch.diag_embed(to_c * sf), torch.diag_embed(sf)], 1)],
                            2)
            return own, through(w["w_ih"]), so * tc
        xr, xz, xn = pre_x.chunk(3, 1)  # gru
        hr, hz, hn = pre_h.chunk(3, 1)
        r, z = torch.sigmoid(xr + hr), torch.sigmoid(xz + hz)
        n = torch.tanh(xn + r * hn)
        new_h = (1 - z) * n + z * h
        slope_n, slope_r, slope_z = 1 - n.square(), r * (1 - r), z * (1 - z)

        def through(weight: torch.Tensor, state: bool) -> torch.Tensor:
            w_r, w_z, w_n = weight.split(H, 0)
            dr = rows(slope_r, w_r)
            inner = rows(hn, dr) + (rows(r, w_n) if state else w_n)  # d(xn + r*hn)/d v
            out = rows((1 - z) * slope_n, inner) + rows((h - n) * slope_z, w_z)
            return out + torch.diag_embed(z) if state else out

        return through(w["w_hh"], True), through(w["w_ih"], False), new_h

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


class HeldMap:
    """F applied `period` times (F∘F for period 2), and its Jacobian by the chain rule."""

    def __init__(self, step: StepMap, period: int) -> None:
        self.step = step
        self.period = period

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        for _ in range(self.period):
            x = self.step(x)
        return x

    @property
    def blocks(self) -> list[slice]:
        """Each layer's coordinates. Layer k's new state depends on layers 0..k only, so every
        Jacobian here is block lower triangular in these blocks (for F∘F too: a product of
        such matrices): its eigenvalues are its diagonal blocks' and a linear system with it
        is solved block by block, each O(block³) instead of O(D³)."""
        width = self.step.hidden * self.step.parts
        return [slice(k * width, (k + 1) * width) for k in range(len(self.step.layers))]

    def jacobian(self, x: torch.Tensor) -> torch.Tensor:
        """(B, D, D) at every point of x (B, D)."""
        with torch.no_grad():
            jac = self.step.jacobian(x)
            for _ in range(self.period - 1):
                x = self.step(x)
                jac = self.step.jacobian(x) @ jac
        return jac


def _q(apply, x: torch.Tensor) -> torch.Tensor:
    return 0.5 * (x - apply(x)).square().sum(1)


ITERATIONS = 200
SETTLE = 300  # steps of the held input from each start: where they lead is searched from too
NEWTON = 12  # damped Newton steps after the optimiser, at most
JACOBIAN_BYTES = 64 * 2 ** 20  # Jacobians held at once: a 2x512 LSTM's (D = 2048) is 32 MB

Progress = Callable[[str, int, int], None]  # (stage, done, total); it may raise to stop


def _quiet(stage: str, done: int, total: int) -> None:
    pass


def chunk_size(size: int) -> int:
    """How many points' (size, size) Jacobians are made at once."""
    return max(1, JACOBIAN_BYTES // (8 * size * size))


def minimise(apply: HeldMap, starts: torch.Tensor, iterations: int = ITERATIONS,
             lr: float = 0.05, newton: int = NEWTON, progress: Progress = _quiet
             ) -> tuple[torch.Tensor, torch.Tensor]:
    """Minimise q from every start at once: Adam, then damped Newton steps on x − F(x) = 0
    (each point's step kept only where it lowers that point's q), the points taken
    `chunk_size` at a time. Returns (points, q). `progress` hears of every Adam iteration
    ("adam", n, iterations) and every chunk refined ("newton", points done, points)."""
    flushed = torch.set_flush_denormal(True)  # q near 0 makes denormal gradients: 10x slower
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # (B, 64) tensors: a second thread only adds hand-offs
    try:
        x = _adam(apply, starts, iterations, lr, progress)
        chunk = chunk_size(x.shape[1])
        refined = []
        for first in range(0, len(x), chunk):
            refined.append(_newton(apply, x[first:first + chunk], newton))
            progress("newton", min(first + chunk, len(x)), len(x))
        x = torch.cat(refined) if refined else x
        with torch.no_grad():
            return x, _q(apply, x)
    finally:
        torch.set_num_threads(threads)
        if flushed:
            torch.set_flush_denormal(False)


def _adam(apply: HeldMap, starts: torch.Tensor, iterations: int, lr: float,
          progress: Progress) -> torch.Tensor:
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
        progress("adam", n, iterations)
    return x


def _newton(apply: HeldMap, x: torch.Tensor, steps: int) -> torch.Tensor:
    eye = torch.eye(x.shape[1], dtype=x.dtype)
    for _ in range(steps):
        jac = apply.jacobian(x)
        with torch.no_grad():
            residual = x - apply(x)
            delta, info = _solve_lower(eye - jac, residual, apply.blocks)
            del jac
            candidate = x - delta
            q_new, q_old = _q(apply, candidate), _q(apply, x)
            # a singular I − J (info > 0) gives no step for that point
            better = (q_new < q_old) & (info == 0)
            x = torch.where(better[:, None], candidate, x)
            if not bool(better.any()) or float(torch.minimum(q_new, q_old).max()) < 1e-20:
                break  # nothing moves any more, or every point has arrived
    return x


def _solve_lower(matrix: torch.Tensor, rhs: torch.Tensor, blocks: list[slice]
                 ) -> tuple[torch.Tensor, torch.Tensor]:
    """Solve matrix @ x = rhs for block lower triangular `matrix` (B, D, D), rhs (B, D), by
    forward substitution over `blocks`. Returns (x, info): info > 0 where a diagonal block is
    singular (that point's x is not to be used)."""
    x = torch.zeros_like(rhs)
    info = torch.zeros(len(rhs), dtype=torch.int32)
    for block in blocks:
        known = slice(0, block.start)
        right = rhs[:, block] - (matrix[:, block, known] @ x[:, known, None])[..., 0]
        part, bad = torch.linalg.solve_ex(matrix[:, block, block], right[..., None])
        x[:, block] = part[..., 0]
        info = torch.maximum(info, bad.to(torch.int32))
    return x, info


def eigenvalues(apply: HeldMap, points: torch.Tensor, progress: Progress = _quiet
                ) -> np.ndarray:
    """(B, D) complex: the eigenvalues of the map's Jacobian at every point (its diagonal
    blocks', `HeldMap.blocks`), `chunk_size` points at a time; `progress` hears ("stability",
    points done, points)."""
    chunk = chunk_size(points.shape[1])
    out = []
    for first in range(0, len(points), chunk):
        jac = apply.jacobian(points[first:first + chunk])
        out.append(torch.cat([torch.linalg.eigvals(jac[:, block, block])
                              for block in apply.blocks], 1).numpy())
        progress("stability", min(first + chunk, len(points)), len(points))
    return np.concatenate(out)


def deduplicate(points: np.ndarray, q: np.ndarray, distance: float = MERGE_DISTANCE
                ) -> list[int]:
    """Indices of distinct points (the lowest q of each cluster), lowest q first."""
    kept: list[int] = []
    for i in np.argsort(q, kind="stable"):
        if all(np.abs(points[i] - points[j]).max() >= distance for j in kept):
            kept.append(int(i))
    return kept


def settled(step: StepMap, starts: torch.Tensor, steps: int, progress: Progress
            ) -> torch.Tensor:
    """Where `steps` steps of the held input take each start (the rows that stay finite). A
    stable point pulls these close, where the Newton steps converge: from the visited states
    alone the demo LSTM's slow points (|λ| ≈ 0.99, far out in c) were out of the optimiser's
    reach for most letters."""
    x = starts
    with torch.no_grad():
        for n in range(1, steps + 1):
            x = step(x)
            progress("settle", n, steps)
    return x[torch.isfinite(x).all(1)]


def find_fixed_points(model: NativeModel, hold: str, starts: np.ndarray, *, period: int = 1,
                      iterations: int = ITERATIONS, settle: int = SETTLE,
                      q_tolerance: float = Q_TOLERANCE, noise: float = 0.0, seed: int = 0,
                      progress: Progress | None = None) -> FixedPointResult:
    """Fixed points (or period-2 points) of `model` under the input `hold`, searched from the
    stacked states `starts` (S, D) (plus Gaussian `noise`, if given) and from where `settle`
    steps of the held input take them. `progress(stage, done, total)` hears how far the search
    is ("settle", "adam", "newton", "stability"); an exception it raises stops the search and
    comes out of this call."""
    if period not in (1, 2):
        raise ValueError(f"--period must be 1 or 2, not {period}")
    if settle < 0:
        raise ValueError(f"--settle must be 0 or more, not {settle}")
    progress = progress or _quiet
    token = model.vocab.id(hold)
    step = StepMap(model, token)
    x0 = torch.from_numpy(np.asarray(starts, dtype=np.float64))
    if noise:
        x0 = x0 + noise * torch.randn(x0.shape, generator=torch.Generator().manual_seed(seed),
                                      dtype=x0.dtype)
    if settle:
        x0 = torch.cat([x0, settled(step, x0, settle, progress)])
    apply = HeldMap(step, period)
    points, q = minimise(apply, x0, iterations, progress=progress)
    points_np, q_np = points.numpy(), q.numpy()
    good = np.flatnonzero(q_np <= q_tolerance)
    kept = [good[i] for i in deduplicate(points_np[good], q_np[good])]
    found = []
    if kept:
        chosen = points[kept]
        spectra = eigenvalues(apply, chosen, progress)
        with torch.no_grad():
            moved = (step(chosen) - chosen).abs().amax(1).numpy()
        for row, index in enumerate(kept):
            values = spectra[row][np.argsort(-np.abs(spectra[row]), kind="stable")]
            own_period = 1 if period == 1 or moved[row] < MERGE_DISTANCE else 2
            found.append(FixedPoint(step.split(points_np[index]), float(q_np[index]), values,
                                    step.output(points_np[index]), own_period))
    # Stable first, then by the token predicted and |λ|: q at a converged point is at the level
    # of rounding noise, so ordering by it gives a different order on a different CPU.
    found.sort(key=lambda p: (not p.stable, p.output, round(p.max_abs_eig, 6), p.q))
    return FixedPointResult(hold, period, len(starts), tuple(found))
