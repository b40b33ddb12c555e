"""A session's path in the first two principal components of one layer's h, with the fixed points
of one held input projected into the same plane: what the trajectory panel draws.

The rows are the states the session on screen went through (interventions included), so the
picture is of exactly the run on view; the axes are `pca.components` of those rows and the fixed
points are `fixed_points.find_fixed_points`' results, started from the same visited states.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from inspector.analysis.fixed_points import (
    ITERATIONS,
    SETTLE,
    FixedPointResult,
    Progress,
    StepMap,
    find_fixed_points,
)
from inspector.analysis.pca import Components, Moments, components
from inspector.engine.model import NativeModel

FIXED_POINT_STARTS = 48  # visited states the fixed-point search starts from


@dataclass(frozen=True)
class ProjectedPoint:
    x: float
    y: float
    stable: bool
    output: str  # the token the model predicts at the fixed point
    max_abs_eig: float


@dataclass(frozen=True)
class Trajectory:
    name: str  # `l1.h`
    first_t: int  # path[i] is the state after step first_t + i
    explained: tuple[float, ...]  # share of the variance along PC1, PC2
    path: np.ndarray = field(repr=False)  # (n, 2)
    hold: str | None = None  # the input whose fixed points are marked
    fixed: tuple[ProjectedPoint, ...] = ()
    axes: Components | None = field(default=None, repr=False)


def state_names(model: NativeModel) -> list[str]:
    """The activations a fixed point's state is made of, in the search's order."""
    return StepMap(model, 0).names()


def stacked_states(arrays: Mapping[str, np.ndarray], names: list[str], count: int) -> np.ndarray:
    """(≤count, D) float64: evenly spaced visited states, the `names` activations (`l0.h`,
    `l0.c`, `l1.h`, …) side by side: the coordinates the fixed-point search works in."""
    steps = len(arrays[names[0]])
    wanted = np.unique(np.linspace(0, steps - 1, min(count, steps)).astype(int))
    return np.concatenate([np.asarray(arrays[name], dtype=np.float64)[wanted] for name in names],
                          axis=1)


def visited_fixed_points(model: NativeModel, hold: str, arrays: Mapping[str, np.ndarray],
                         starts: int = FIXED_POINT_STARTS, iterations: int = ITERATIONS,
                         progress: Progress | None = None, settle: int = SETTLE
                         ) -> FixedPointResult:
    """Fixed points of `model` with `hold` held, searched from `starts` states the run went
    through, evenly spaced: what `rnn-inspect fixed-points MODEL --hold HOLD --input TEXT
    --starts N --iterations M --settle K` finds for the same text."""
    return find_fixed_points(model, hold, stacked_states(arrays, state_names(model), starts),
                             iterations=iterations, settle=settle, progress=progress)


def trajectory(rows: np.ndarray, name: str, first_t: int = 0,
               fixed: FixedPointResult | None = None) -> Trajectory:
    """The path of `rows` (n, H) in its first two principal components, and `fixed`'s points
    (their `name` part) in the same plane."""
    moments = Moments()
    moments.update(rows)
    axes = components(moments, name, k=2)
    path = axes.project(rows)
    points: tuple[ProjectedPoint, ...] = ()
    hold = None
    if fixed is not None:
        hold = fixed.hold
        points = tuple(ProjectedPoint(*axes.project(p.state[name][None])[0].tolist(), p.stable,
                                      p.output, p.max_abs_eig) for p in fixed.points)
    return Trajectory(name, first_t, axes.explained, path, hold, points, axes)
