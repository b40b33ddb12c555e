"""Colour scales shared by the heatmaps and the legend.

Values are quantised to a few levels and every colour drawn comes from `cell_style`, an lru_cache
over (ramp, upper level, lower level). Measured for STYLE.md: eight 512-unit heatmaps cost ~60 ms a
key when each cell builds its own `Style` and ~7 ms with this cache plus merged runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from rich.color import Color
from rich.style import Style

LEVELS = 15  # odd, so a signed scale has an exact zero level in the middle
NAN, POS_INF, NEG_INF, EMPTY = -1, -2, -3, -4  # special levels, never produced by quantising

ZERO_RGB = (28, 28, 34)
RAMP_ENDS = {
    "signed": ((59, 130, 246), (239, 68, 68)),  # blue for negative, red for positive
    "unit": (ZERO_RGB, (250, 204, 21)),  # dark to amber for sigmoid gates in [0, 1]
}
SPECIAL_RGB = {NAN: (255, 0, 255), POS_INF: (255, 255, 255), NEG_INF: (0, 255, 255)}


@dataclass(frozen=True)
class Scale:
    """How values map to levels: `ramp` names the colours, [low, high] the value range."""

    ramp: str  # "signed" | "unit"
    low: float
    high: float
    adaptive: bool = False  # range taken from the values themselves (shown in the title)

    def label(self) -> str:
        if self.ramp == "signed":
            return f"±{_short(self.high)}"
        return f"{_short(self.low)}..{_short(self.high)}"

    def quantise(self, values: np.ndarray) -> np.ndarray:
        """Levels 0..LEVELS-1 for finite values, the special levels for NaN and ±Inf."""
        values = np.asarray(values, dtype=np.float32)
        span = self.high - self.low or 1.0
        finite = np.isfinite(values)
        clean = values if finite.all() else np.where(finite, values, self.low)
        scaled = (clean - self.low) * ((LEVELS - 1) / span)
        levels = np.clip(np.rint(scaled), 0, LEVELS - 1).astype(np.int8)
        if clean is not values:
            levels[np.isnan(values)] = NAN
            levels[np.isposinf(values)] = POS_INF
            levels[np.isneginf(values)] = NEG_INF
        return levels


SIGNED = Scale("signed", -1.0, 1.0)
UNIT = Scale("unit", 0.0, 1.0)


def adaptive_signed(values: np.ndarray) -> Scale:
    """A symmetric scale reaching the largest finite |value| (for c, Δh and unbounded h)."""
    finite = np.abs(values[np.isfinite(values)])
    top = float(finite.max()) if finite.size else 0.0
    return Scale("signed", -top if top > 0 else -1.0, top if top > 0 else 1.0, adaptive=True)


def _short(value: float) -> str:
    return f"{value:.2g}" if abs(value) < 10 else f"{value:.0f}"


def _mix(a: tuple[int, int, int], b: tuple[int, int, int], t: float) -> tuple[int, int, int]:
    return tuple(round(x + (y - x) * t) for x, y in zip(a, b, strict=True))  # type: ignore[return-value]


@lru_cache(maxsize=64)
def level_rgb(ramp: str, level: int) -> tuple[int, int, int]:
    """The colour of one level: signed ramps pass through a dark zero, unit ramps start at it."""
    if level in SPECIAL_RGB:
        return SPECIAL_RGB[level]
    low, high = RAMP_ENDS[ramp]
    t = level / (LEVELS - 1)
    if ramp == "signed":
        return _mix(ZERO_RGB, low, 1 - 2 * t) if t < 0.5 else _mix(ZERO_RGB, high, 2 * t - 1)
    return _mix(low, high, t)


@lru_cache(maxsize=4096)
def cell_style(ramp: str, upper: int, lower: int, marked: bool = False,
               background: Color | None = None) -> Style:
    """Style of a half-block cell: foreground is the upper value, background the lower one
    (`background`, the widget's own, where there is no lower unit)."""
    color = None if upper == EMPTY else Color.from_rgb(*level_rgb(ramp, upper))
    bgcolor = background if lower == EMPTY else Color.from_rgb(*level_rgb(ramp, lower))
    return Style(color=color, bgcolor=bgcolor, underline=marked, bold=marked)
