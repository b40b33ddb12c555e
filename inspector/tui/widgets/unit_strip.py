"""The selected unit's value over time, drawn under the tape: one column per step, aligned with
the characters above it (Karpathy's cell view, as a bar chart).

Two lines: the upper one holds positive values as bars rising from its bottom edge (orange),
the lower one negative values as bars hanging from its top edge (blue), so zero is the line
between them; a dim `▁` on the upper line marks zero under every step whose bar is too small to
see. The bars are scaled to the largest |value| in the window (the characters' colours keep
the unit's own scale), and that largest value is written at the right: the upper line's top is
`+top`, the lower line's bottom `-top` (values that are never negative use the upper line only).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from rich.segment import Segment
from rich.style import Style

from inspector.tui.colours import RAMP_ENDS, Scale
from inspector.tui.text import style_runs

EIGHTHS = " ▁▂▃▄▅▆▇█"
NONFINITE = Style(color="magenta", bold=True)
LABEL = Style(dim=True)
SCALE_WIDTH = 20  # columns kept at the right for the scale's ends and the unit's name


@dataclass(frozen=True)
class StripCell:
    """One step's bar: its value (None for a key not yet fed) and the tape column's width."""

    value: float | None
    level: int = 0  # the colour level on `scale` (the text's colour)
    width: int = 1


def eighths(fraction: float) -> int:
    """0..8: how many eighths of a cell a bar of `fraction` (0..1) fills."""
    return max(0, min(8, round(fraction * 8)))


@lru_cache(maxsize=8)
def bar_style(positive: bool, hanging: bool) -> Style:
    """Orange bars for positive values, blue for negative (the signed ramp's ends); a hanging
    bar is a rising one drawn in reverse."""
    from rich.color import Color

    low, high = RAMP_ENDS["signed"]
    return Style(color=Color.from_rgb(*(high if positive else low)), reverse=hanging)


def bar_top(cells: Sequence[StripCell]) -> float:
    """The largest finite |value| of the window (1 when all are zero)."""
    finite = [abs(c.value) for c in cells if c.value is not None and math.isfinite(c.value)]
    return max(finite, default=0.0) or 1.0


def strip_cells(cell: StripCell, top: float) -> tuple[tuple[str, Style | None],
                                                       tuple[str, Style | None]]:
    """The (upper, lower) glyph and style of one step, bars scaled to `top`."""
    value = cell.value
    if value is None:
        return (" ", None), (" ", None)
    if not math.isfinite(value):
        return ("!", NONFINITE), (" ", None)
    share = value / top
    n = eighths(min(abs(share), 1.0))
    if n == 0:
        return ("▁", LABEL), (" ", None)
    if share > 0:
        return (EIGHTHS[n], bar_style(True, False)), (" ", None)
    # a bar hanging n eighths from the top: the lower (8 - n) eighths drawn reversed
    return ("▁", LABEL), (EIGHTHS[8 - n], bar_style(False, True))


def strip_lines(cells: Sequence[StripCell], scale: Scale, unit: str,
                on_view: int | None = None) -> tuple[list[Segment], list[Segment]]:
    """The two lines' segments for `cells` (two columns a character: bar, space) and the
    bars' scale at the right; runs of one style are one segment (the tape redraws these on
    every key)."""
    top = bar_top(cells)
    pieces = [_pieces(strip_cells(cell, top), cell.width, index == on_view)
              for index, cell in enumerate(cells)]
    upper = style_runs(piece for up, _ in pieces for piece in up)
    lower = style_runs(piece for _, down in pieces for piece in down)
    return ([*(Segment(text, style) for style, text in upper),
             Segment(f"┤{top:+.2g} ▁0", LABEL)],
            [*(Segment(text, style) for style, text in lower),
             Segment(f"┤{-top:+.2g} {unit}", LABEL)])


@lru_cache(maxsize=512)
def _pieces(glyphs: tuple[tuple[str, Style | None], tuple[str, Style | None]], width: int,
            on_view: bool) -> tuple[tuple[tuple[Style | None, str], ...], ...]:
    """One step's (style, text) on the upper and lower line, its column's width and the
    tape's gap included: the gap joins the bar's run where the bar has no style of its own."""
    (a, a_style), (b, b_style) = glyphs
    pad = " " * width  # the column's own width, then the tape's gap
    a_style = _with(a_style, Style(underline=True) if on_view else None)
    return _joined(a, a_style, pad), _joined(b, b_style, pad)


def _joined(glyph: str, style: Style | None,
            pad: str) -> tuple[tuple[Style | None, str], ...]:
    """A glyph and the blank after it: one piece where the blank looks the same in the glyph's
    style (no background, reverse or underline of its own), so a line of bars of one colour
    is one segment."""
    if style is None or not (style.bgcolor or style.reverse or style.underline):
        return ((style, glyph + pad),)
    return (style, glyph), (None, pad)


def _with(style: Style | None, extra: Style | None) -> Style | None:
    if extra is None:
        return style
    return extra if style is None else style + extra
