"""Colours for one unit's values over the timeline: the text panel, the tape and the strip
under it colour each step by the selected unit, on the heatmaps' own ramps and levels.

Bounded activations keep their natural range (tanh h and the g / n gates ±1, sigmoid gates
0..1), so a colour means the same number in every session; unbounded ones (c, Δh, a relu h, a
model with its own forward) are scaled to the largest |value| of the timeline.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from rich.color import Color
from rich.style import Style

from inspector.tui.colours import SIGNED, UNIT, Scale, adaptive_signed, contrast_rgb, level_rgb
from inspector.tui.panels.base import ModelInfo

SIGMOID = frozenset("ifozr")


def unit_scale(model: ModelInfo, activation: str, values: np.ndarray) -> Scale:
    """The scale one unit of `activation` (`l0.h`, `l1.gate.f`…) is coloured on."""
    return scale_of(activation, values, model.native, model.nonlinearity)


def scale_of(activation: str, values: np.ndarray, native: bool,
             nonlinearity: str | None) -> Scale:
    """As `unit_scale`, from the model's plain facts (the controller has no ModelInfo)."""
    kind = activation.split(".", 1)[1]
    if kind.startswith("gate."):
        return UNIT if kind[-1] in SIGMOID else SIGNED
    if kind == "h" and native and nonlinearity != "relu":
        return SIGNED
    return adaptive_signed(values, basis="session")


def values_scale(values: np.ndarray) -> Scale:
    """A panel's own values (saliency…): 0..max when none is negative, else ±max."""
    finite = np.asarray(values, dtype=np.float64)
    finite = finite[np.isfinite(finite)]
    if finite.size and finite.min() >= 0:
        top = float(finite.max())
        return Scale("unit", 0.0, top if top > 0 else 1.0, adaptive=True, basis="session")
    return adaptive_signed(values, basis="session")


@lru_cache(maxsize=64)
def char_style(ramp: str, level: int) -> Style:
    """A character on its value's colour, in black or white, whichever reads."""
    rgb = level_rgb(ramp, level)
    return Style(color=Color.from_rgb(*contrast_rgb(rgb)), bgcolor=Color.from_rgb(*rgb))


def scale_text(scale: Scale) -> str:
    """`−1 … 0 … +1`: the ends of the scale and where its zero is."""
    if scale.ramp == "unit":
        return f"{scale.low:.3g} … {scale.high:.3g}"
    return f"{-scale.high:+.3g} … 0 … {scale.high:+.3g}"
