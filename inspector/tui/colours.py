"""Colour scales shared by the heatmaps and the legend.

Values are quantised to a few levels and every colour drawn comes from `half_block_style`, an
lru_cache over (ramp, upper level, lower level). Measured for STYLE.md: eight 512-unit heatmaps
cost ~60 ms a key when each cell builds its own `Style` and ~7 ms with this cache plus merged runs.

The signed ramp is blue for negative and orange for positive through a dark zero (Okabe and Ito's
pair, told apart with every common colour-vision deficiency, unlike red against green); sigmoid
gates run from the dark zero to yellow. NaN is magenta, +Inf white, -Inf green. Where there is no
colour (`NO_COLOR`, a monochrome terminal) each level has a glyph.

Two ways to pick a map's range, toggled by the user: `session` (the default) keeps bounded
activations on their natural range (±1, 0..1) and unbounded ones (c, Δh, a relu h) on the largest
|value| seen so far in the session, so a colour means the same number at every step; `step`
stretches every map over its own values at the step on view, to show small differences.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from rich.color import Color
from rich.style import Style

from inspector.tui.numbers import number

LEVELS = 15  # odd, so a signed scale has an exact zero level in the middle
NAN, POS_INF, NEG_INF, EMPTY = -1, -2, -3, -4  # special levels, never produced by quantising

ZERO_RGB = (28, 28, 34)
RAMP_ENDS = {
    "signed": ((86, 180, 233), (230, 159, 0)),  # sky blue for negative, orange for positive
    "unit": (ZERO_RGB, (240, 228, 66)),  # dark to yellow for sigmoid gates in [0, 1]
}
SPECIAL_RGB = {NAN: (255, 0, 255), POS_INF: (255, 255, 255), NEG_INF: (57, 255, 20)}
SPECIAL_NAMES = {NAN: "NaN", POS_INF: "+Inf", NEG_INF: "-Inf"}

# Glyph levels for a screen without colour: one unit per cell, its strength by how much of the
# cell is ink, its sign by the glyph's family (signed maps), never a colour.
SIGNED_GLYPHS = "≡≡==--···++**##"  # level 0 (most negative) .. 7 (zero) .. 14 (most positive)
UNIT_GLYPHS = "···░░░▒▒▒▓▓▓███"  # level 0 (0) .. 14 (1)
SPECIAL_GLYPHS = {NAN: "N", POS_INF: "▲", NEG_INF: "▼", EMPTY: " "}

SCALE_MODES = ("session", "step")


@dataclass(frozen=True)
class Scale:
    """How values map to levels: `ramp` names the colours, [low, high] the value range."""

    ramp: str  # "signed" | "unit"
    low: float
    high: float
    adaptive: bool = False  # range taken from the values themselves (shown in the title)
    basis: str = "fixed"  # "fixed" (natural range) | "session" (so far) | "step" (this step)

    def label(self) -> str:
        """The range: `±1`, `0..1`, `±2.3`, `±1e+30`."""
        if self.ramp == "signed":
            return f"±{_short(self.high)}"
        return f"{_short(self.low)}..{_short(self.high)}"

    def quantise(self, values: np.ndarray) -> np.ndarray:
        """Levels 0..LEVELS-1 for finite values, the special levels for NaN and ±Inf."""
        values = np.asarray(values, dtype=np.float32)
        span = self.high - self.low or 1.0
        finite = np.isfinite(values)
        clean = values if finite.all() else np.where(finite, values, self.low)
        with np.errstate(over="ignore", invalid="ignore"):
            scaled = (clean.astype(np.float64) - self.low) * ((LEVELS - 1) / span)
        levels = np.clip(np.rint(scaled), 0, LEVELS - 1).astype(np.int8)
        if clean is not values:
            levels[np.isnan(values)] = NAN
            levels[np.isposinf(values)] = POS_INF
            levels[np.isneginf(values)] = NEG_INF
        return levels


SIGNED = Scale("signed", -1.0, 1.0)
UNIT = Scale("unit", 0.0, 1.0)


def _finite_abs_max(values: np.ndarray) -> float:
    finite = np.abs(np.asarray(values, dtype=np.float64))
    finite = finite[np.isfinite(finite)]
    return float(finite.max()) if finite.size else 0.0


def adaptive_signed(values: np.ndarray, basis: str = "step") -> Scale:
    """A symmetric scale reaching the largest finite |value| (for c, Δh and unbounded h)."""
    top = _finite_abs_max(values)
    return Scale("signed", -top if top > 0 else -1.0, top if top > 0 else 1.0, adaptive=True,
                 basis=basis)


def step_unit(values: np.ndarray) -> Scale:
    """0..max of a gate's values at this step (per-step mode)."""
    finite = np.asarray(values, dtype=np.float64)
    finite = finite[np.isfinite(finite)]
    top = float(finite.max()) if finite.size else 1.0
    return Scale("unit", 0.0, top if top > 0 else 1.0, adaptive=True, basis="step")


class SessionRanges:
    """The largest finite |value| of each activation seen so far in the session (`session`
    mode's range for unbounded maps). It only grows, so stepping back never changes a colour's
    meaning; `clear` when the model or the timeline starts over."""

    def __init__(self) -> None:
        self._top: dict[str, float] = {}

    def see(self, name: str, values: np.ndarray) -> float:
        top = max(self._top.get(name, 0.0), _finite_abs_max(values))
        self._top[name] = top
        return top

    def scale(self, name: str, values: np.ndarray) -> Scale:
        top = self.see(name, values)
        return Scale("signed", -top if top > 0 else -1.0, top if top > 0 else 1.0, adaptive=True,
                     basis="session")

    def clear(self) -> None:
        self._top.clear()


def scale_for(kind: str, name: str, values: np.ndarray | None, mode: str,
              ranges: SessionRanges) -> Scale:
    """The scale of one map. `kind` is how its activation is bounded: "signed" (tanh, ±1),
    "unit" (sigmoid, 0..1) or "adaptive" (unbounded); `mode` one of SCALE_MODES."""
    if values is None:
        return UNIT if kind == "unit" else SIGNED
    if mode == "step":
        return step_unit(values) if kind == "unit" else adaptive_signed(values)
    if kind == "unit":
        return UNIT
    if kind == "signed":
        return SIGNED
    return ranges.scale(name, values)


def level_value(scale: Scale, level: int) -> float:
    """The value in the middle of a level (for the legend)."""
    return scale.low + (scale.high - scale.low) * level / (LEVELS - 1)


def _short(value: float) -> str:
    if abs(value) < 10:
        return f"{value:.2g}"
    return f"{value:.0f}" if abs(value) < 1e4 else number(value, sign=False, digits=1)


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


def level_glyph(ramp: str, level: int) -> str:
    """The glyph of one level on a screen without colour."""
    if level in SPECIAL_GLYPHS:
        return SPECIAL_GLYPHS[level]
    return (SIGNED_GLYPHS if ramp == "signed" else UNIT_GLYPHS)[level]


def contrast_rgb(rgb: tuple[int, int, int]) -> tuple[int, int, int]:
    """Black or white, whichever reads on `rgb` (the selected unit's marker)."""
    r, g, b = rgb
    return (0, 0, 0) if 0.299 * r + 0.587 * g + 0.114 * b > 140 else (255, 255, 255)


@lru_cache(maxsize=4096)
def half_block_style(ramp: str, upper: int, lower: int, marked: bool = False,
                     background: Color | None = None) -> Style:
    """Style of a half-block cell: foreground is the upper value, background the lower one
    (`background`, the widget's own, where there is no lower unit)."""
    color = None if upper == EMPTY else Color.from_rgb(*level_rgb(ramp, upper))
    bgcolor = background if lower == EMPTY else Color.from_rgb(*level_rgb(ramp, lower))
    return Style(color=color, bgcolor=bgcolor, underline=marked, bold=marked)


@lru_cache(maxsize=256)
def marker_style(ramp: str, level: int) -> Style:
    """The selected unit's cell: the whole cell in the unit's colour, a marker glyph on it in
    black or white, whichever reads, so the selection shows at a glance on any value."""
    rgb = level_rgb(ramp, level) if level != EMPTY else ZERO_RGB
    return Style(color=Color.from_rgb(*contrast_rgb(rgb)), bgcolor=Color.from_rgb(*rgb),
                 bold=True)


