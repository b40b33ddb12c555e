"""State trajectories: the principal components of h per layer and the path in the first ones.

Two streamed passes: the first accumulates each layer's mean and covariance (float64, shifted
sums), the second projects every step; memory holds one chunk and the path, never the trace.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from inspector.analysis.activations import activation_chunks
from inspector.engine.bulk import CHUNK
from inspector.engine.model import InspectableModel


class Moments:
    """Running mean and covariance of rows, chunk by chunk (a panel can feed a growing session)."""

    def __init__(self) -> None:
        self.n = 0
        self.shift: np.ndarray | None = None
        self.s1: np.ndarray | None = None
        self.s2: np.ndarray | None = None

    def update(self, rows: np.ndarray) -> None:
        if not len(rows):
            return
        x = np.asarray(rows, dtype=np.float64)
        if self.shift is None:
            self.shift = x.mean(0)
            self.s1 = np.zeros_like(self.shift)
            self.s2 = np.zeros((len(self.shift), len(self.shift)))
        x = x - self.shift
        self.n += len(x)
        self.s1 += x.sum(0)
        self.s2 += x.T @ x

    @property
    def mean(self) -> np.ndarray:
        return self.shift + self.s1 / self.n

    @property
    def covariance(self) -> np.ndarray:
        centred = self.s1 / self.n
        return self.s2 / self.n - np.outer(centred, centred)


@dataclass(frozen=True)
class Components:
    name: str  # `l0.h`
    mean: np.ndarray = field(repr=False)  # (H,)
    axes: np.ndarray = field(repr=False)  # (k, H), unit vectors, largest variance first
    explained: tuple[float, ...]  # share of the total variance along each axis

    def project(self, rows: np.ndarray) -> np.ndarray:
        return (np.asarray(rows, dtype=np.float64) - self.mean) @ self.axes.T


def components(moments: Moments, name: str, k: int = 2) -> Components:
    values, vectors = np.linalg.eigh(moments.covariance)
    order = np.argsort(values)[::-1][:k]
    total = float(values.clip(min=0).sum())
    explained = tuple(float(max(values[i], 0.0) / total) if total > 0 else 0.0 for i in order)
    axes = vectors[:, order].T
    # A sign convention, so the same states give the same picture run after run.
    signs = np.sign(axes[np.arange(len(axes)), np.abs(axes).argmax(1)])
    return Components(name, moments.mean, axes * signs[:, None], explained)


@dataclass(frozen=True)
class PCALayer:
    components: Components
    path: np.ndarray = field(repr=False)  # (T, k)

    @property
    def name(self) -> str:
        return self.components.name


@dataclass(frozen=True)
class PCAResult:
    steps: int
    layers: tuple[PCALayer, ...]

    def to_json(self) -> dict:
        return {"steps": self.steps,
                "layers": [{"name": layer.name, "explained": list(layer.components.explained),
                            "path": layer.path.tolist()} for layer in self.layers]}


def pca(model: InspectableModel, text: str, *, k: int = 2, names: list[str] | None = None,
        chunk: int = CHUNK) -> PCAResult:
    """The first `k` principal components of each layer's h (or of `names`) and the path."""
    names = names or [f"l{j}.h" for j in range(model.n_layers)]
    moments = {name: Moments() for name in names}
    for _, arrays in activation_chunks(model, text, names, chunk):
        for name in names:
            moments[name].update(arrays[name])
    axes = {name: components(moments[name], name, k) for name in names}
    paths: dict[str, list[np.ndarray]] = {name: [] for name in names}
    for _, arrays in activation_chunks(model, text, names, chunk):
        for name in names:
            paths[name].append(axes[name].project(arrays[name]))
    return PCAResult(len(text), tuple(PCALayer(axes[name], np.concatenate(paths[name]))
                                      for name in names))
