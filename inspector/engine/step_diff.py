"""Two steps of a timeline side by side: the seed's question "why does the same `a` give `a`
then `b`?". Both steps read the same character, so their input parts are equal and every
difference in their states comes from the memory each started from.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from inspector.engine.records import StepRecord

TOP_UNITS = 5


@dataclass(frozen=True)
class UnitDifference:
    """One unit at both steps: `l0.h[13]` was `a` at the first and `b` at the second."""

    name: str
    a: float
    b: float

    @property
    def difference(self) -> float:
        return self.b - self.a


@dataclass(frozen=True)
class LayerDifference:
    """One activation (`l0.h`, `l0.c`) at both steps and how far apart they are."""

    activation: str
    a: np.ndarray
    b: np.ndarray
    distance: float  # Euclidean norm of b - a
    top: tuple[UnitDifference, ...]  # the units that differ most, largest first

    @property
    def difference(self) -> np.ndarray:
        return self.b - self.a


@dataclass(frozen=True)
class StepComparison:
    t_a: int
    t_b: int
    typed_a: str
    typed_b: str
    prediction_a: str
    prediction_b: str
    confidence_a: float
    confidence_b: float
    same_input_part: bool  # every layer-0 input part equal: only the memory tells them apart
    layers: tuple[LayerDifference, ...]  # per layer: h, then c for an LSTM

    @property
    def identical(self) -> bool:
        return all(layer.distance == 0 for layer in self.layers)


def default_pair(typed: Sequence[str], newest: int | None = None) -> tuple[int, int] | None:
    """The two most recent steps (up to `newest`) that read the same character: (0, 1) on `aa`.
    None when no character repeats."""
    last = len(typed) - 1 if newest is None else min(newest, len(typed) - 1)
    for t in range(last, 0, -1):
        for s in range(t - 1, -1, -1):
            if typed[s] == typed[t]:
                return s, t
    return None


def _layer(name: str, a: np.ndarray, b: np.ndarray, top: int) -> LayerDifference:
    a64, b64 = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        diff = b64 - a64
        size = np.where(np.isfinite(diff), np.abs(diff), np.inf)  # NaN/Inf rank first
        distance = float(np.linalg.norm(diff)) if np.all(np.isfinite(diff)) else float("inf")
    order = np.argsort(-size, kind="stable")[:top]
    units = tuple(UnitDifference(f"{name}[{unit}]", float(a[unit]), float(b[unit]))
                  for unit in order.tolist() if size[unit] > 0)
    return LayerDifference(name, np.asarray(a), np.asarray(b), distance, units)


def compare_steps(a: StepRecord, b: StepRecord, top: int = TOP_UNITS) -> StepComparison:
    """Step `a` against step `b`: per layer the state after each, their distance and the `top`
    units that differ most by name and value."""
    layers = []
    for k, (x, y) in enumerate(zip(a.layers, b.layers, strict=True)):
        layers.append(_layer(f"l{k}.h", x.h, y.h, top))
        if x.c is not None and y.c is not None:
            layers.append(_layer(f"l{k}.c", x.c, y.c, top))
    first_a, first_b = a.layers[0].input_part, b.layers[0].input_part
    same_input = all(np.array_equal(first_a[name], first_b[name]) for name in first_a)
    return StepComparison(a.t, b.t, a.typed, b.typed, a.prediction, b.prediction, a.confidence,
                          b.confidence, same_input, tuple(layers))
