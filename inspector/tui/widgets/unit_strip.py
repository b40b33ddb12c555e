"""The selected unit's value over time, drawn under the tape: one column per step, aligned with
the characters above it (Karpathy's cell view, as a bar chart).

Two lines: the upper one holds positive values as bars rising from its bottom edge, the lower
one negative values as bars hanging from its top edge, so zero is the line between them; a
`▁` on the upper line marks zero under every step whose bar is too small to see. The scale's
ends are written at the right: the upper line's top is `high`, the lower line's bottom `-high`
(a gate's 0..1 scale uses the upper line only).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from rich.segment import Segment
from rich.style import Style

from inspector.tui.colours import Scale, level_rgb

EIGHTHS = " ▁▂▃▄▅▆▇█"
NONFINITE = Style(color="magenta", bold=True)
LABEL = Style(dim=True)
SCALE_WIDTH = 12  # columns kept at the right for the scale's ends


@dataclass(frozen=True)
class StripCell:
    """One step's bar: its value (None for a key not yet fed) and the tape column's width."""

    value: float | None
    level: int = 0  # the colour level on `scale` (the text's colour)
    width: int = 1


def eighths(fraction: float) -> int:
    """0..8: how many eighths of a cell a bar of `fraction` (0..1) fills."""
    return max(0, min(8, round(fraction * 8)))


@lru_cache(maxsize=64)
def bar_style(ramp: str, level: int, hanging: bool) -> Style:
    """A bar in its value's colour; a hanging bar is a rising one drawn in reverse."""
    from rich.color import Color

    color = Color.from_rgb(*level_rgb(ramp, level))
    return Style(color=color, reverse=hanging)


def strip_cells(cell: StripCell, scale: Scale) -> tuple[tuple[str, Style | None],
                                                         tuple[str, Style | None]]:
    """The (upper, lower) glyph and style of one step."""
    value = cell.value
    if value is None:
        return (" ", None), (" ", None)
    if not math.isfinite(value):
        return ("!", NONFINITE), (" ", None)
    top = scale.high if scale.ramp == "signed" else scale.high - scale.low
    share = (value - (0.0 if scale.ramp == "signed" else scale.low)) / (top or 1.0)
    if share >= 0:
        n = eighths(min(share, 1.0))
        return (EIGHTHS[max(n, 1)], bar_style(scale.ramp, cell.level, False)), (" ", None)
    n = eighths(min(-share, 1.0))
    if n == 0:
        return ("▁", bar_style(scale.ramp, cell.level, False)), (" ", None)
    # a bar hanging n eighths from the top: the lower (8 - n) eighths drawn reversed
    return ("▁", LABEL), (EIGHTHS[8 - n], bar_style(scale.ramp, cell.level, True))


def strip_lines(cells: Sequence[StripCell], scale: Scale, unit: str,
                on_view: int | None = None) -> tuple[list[Segment], list[Segment]]:
    """The two lines' segments for `cells` (two columns a character: bar, space) and the
    scale's ends at the right."""
    upper: list[Segment] = []
    lower: list[Segment] = []
    for index, cell in enumerate(cells):
        (a, a_style), (b, b_style) = strip_cells(cell, scale)
        pad = " " * cell.width  # the column's own width, then the tape's gap
        mark = Style(underline=True) if index == on_view else None
        upper.append(Segment(a, _with(a_style, mark)))
        upper.append(Segment(pad))
        lower.append(Segment(b, b_style))
        lower.append(Segment(pad))
    if scale.ramp == "signed":
        high, low = f"{scale.high:+.3g}", f"{-scale.high:+.3g}"
        upper.append(Segment(f"┤{high} ▁0 {unit}", LABEL))
        lower.append(Segment(f"┤{low}", LABEL))
    else:
        upper.append(Segment(f"┤{scale.high:.3g} ▁{scale.low:.3g} {unit}", LABEL))
    return upper, lower


def _with(style: Style | None, extra: Style | None) -> Style | None:
    if extra is None:
        return style
    return extra if style is None else style + extra
