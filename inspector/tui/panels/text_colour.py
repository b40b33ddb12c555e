"""Item 1 of the analysis issue, Karpathy's cell view: the whole text typed, every character on
the colour of the selected unit's value at that step, scrollable, the step on view marked.

`unit_colours` (a worker) reads the unit's column of the timeline's activations; the widget only
lays the tokens out in lines and draws them with cached styles, so scrolling and moving the
step on view cost no computation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual.app import ComposeResult
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from inspector.tui.colours import LEVELS, Scale
from inspector.tui.numbers import number
from inspector.tui.panels.base import AnalysisPanel, PanelError, PanelInput, PanelSpec
from inspector.tui.panels.unit_colours import char_style, scale_text, unit_scale
from inspector.tui.text import glyph, token_label, token_repr
from inspector.tui.widgets.cached_style import CachedStyle
from inspector.tui.widgets.lines import LinesWidget

BOLD = Style(bold=True)
DIM = Style(dim=True)
ON_VIEW = Style(reverse=True, bold=True)


@dataclass(frozen=True)
class UnitColours:
    """One unit over the timeline: its value after each step, and the level each colour is."""

    unit: str  # `l0.h[3]`
    tokens: tuple[str, ...]
    values: np.ndarray  # (T,) float32
    levels: np.ndarray  # (T,) int8, levels of `scale` (colours.LEVELS of them)
    scale: Scale


def unit_colours(data: PanelInput) -> UnitColours:
    """The selected unit's value at every step of the timeline on view (worker thread)."""
    if data.unit is None:
        raise PanelError("select a unit (↑ ↓, a click on a map, ctrl+g) to colour the text by it")
    if not data.steps:
        raise PanelError(f"type: every character is coloured by {data.unit} at its step")
    name, unit = data.selected()
    values = np.array(data.activations.get(name)[:, unit], dtype=np.float32)
    scale = unit_scale(data.model, name, values)
    return UnitColours(data.unit, data.tokens, values, scale.quantise(values), scale)


def swatch(scale: Scale) -> list[Segment]:
    """The scale's colours, low to high, one cell each."""
    return [Segment(" ", char_style(scale.ramp, level)) for level in range(LEVELS)]


def legend(colours: UnitColours, t: int | None) -> list[Segment]:
    line = [Segment(f"{colours.unit} ", BOLD), *swatch(colours.scale),
            Segment(f" {scale_text(colours.scale)}", DIM)]
    if t is not None and 0 <= t < len(colours.values):
        line.append(Segment(f"  t={t} {token_repr(colours.tokens[t])}: "
                            f"{number(colours.values[t])}"))
    return line


class ColouredText(CachedStyle, ScrollView, can_focus=False):
    """The tokens wrapped at the widget's width, each on its step's colour; scrolls."""

    DEFAULT_CSS = "ColouredText { height: 1fr; overflow-y: auto; overflow-x: hidden; }"

    def __init__(self) -> None:
        super().__init__()
        self.colours: UnitColours | None = None
        self.t: int | None = None
        self.rows: list[list[tuple[int, str]]] = []  # per line: (step, text drawn)
        self.row_of: list[int] = []  # the line each step is on
        self._width = 0

    def show(self, colours: UnitColours | None, t: int | None) -> None:
        self.colours = colours
        self.t = t
        self._width = 0  # lay out again
        self._layout()
        self.refresh()
    def move_to(self, t: int | None) -> None:
        """The step on view moved: mark it and keep it in view (no new colours)."""
        self.t = t
        self._follow()
        self.refresh()

    def on_resize(self) -> None:
        self._layout()

    def _layout(self) -> None:
        width = max(1, self.scrollable_content_region.width or self.size.width)
        if self.colours is None:
            self.rows, self.row_of = [], []
            self.virtual_size = Size(width, 0)
            return
        if width == self._width:
            return
        self._width = width
        rows: list[list[tuple[int, str]]] = [[]]
        used = 0
        row_of = []
        for t, token in enumerate(self.colours.tokens):
            text = glyph(token) if len(token) == 1 else token_label(token) + " "
            size = cell_len(text)
            if used and used + size > width:
                rows.append([])
                used = 0
            rows[-1].append((t, text))
            row_of.append(len(rows) - 1)
            used += size
            if token == "\n":
                rows.append([])
                used = 0
        self.rows, self.row_of = rows, row_of
        self.virtual_size = Size(width, len(rows))
        self.call_after_refresh(self._follow)  # once the new size bounds the scroll

    def _follow(self) -> None:
        if self.t is None or not (0 <= self.t < len(self.row_of)):
            return
        row = self.row_of[self.t]
        height = self.scrollable_content_region.height or self.size.height
        if not (self.scroll_y <= row < self.scroll_y + height):
            self.scroll_to(y=max(0, row - height // 2), animate=False, immediate=True)

    def line_text(self, y: int) -> str:
        """The plain text of line y of the whole text (not of the screen)."""
        return "".join(text for _, text in self.rows[y]) if y < len(self.rows) else ""

    def step_style(self, t: int) -> Style:
        colours = self.colours
        style = char_style(colours.scale.ramp, int(colours.levels[t]))
        return style + ON_VIEW if t == self.t else style

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        base = self.base_style
        row = int(self.scroll_offset.y) + y
        if self.colours is None or row >= len(self.rows):
            return Strip.blank(width, base)
        segments = [Segment(text, self.step_style(t)) for t, text in self.rows[row]]
        strip = Strip(segments)
        return strip.crop_extend(0, width, base)


class TextPanel(AnalysisPanel):
    """The text coloured by the selected unit."""

    def __init__(self) -> None:
        super().__init__()
        self.legend = LinesWidget(classes="panel-legend")
        self.text = ColouredText()
        self.colours: UnitColours | None = None

    def compose_body(self) -> ComposeResult:
        yield self.legend
        yield self.text

    def depends_on(self, data: PanelInput):
        return (data.generation, data.unit)

    def compute(self, data: PanelInput) -> UnitColours:
        return unit_colours(data)

    def update_input(self, data: PanelInput) -> None:
        moved = self.data is not None and self.data.t != data.t
        super().update_input(data)
        if moved and self.colours is not None and self.shown_key == self.depends_on(data):
            self.legend.set_lines([legend(self.colours, data.t)])
            self.text.move_to(data.t)

    def draw(self, result: UnitColours) -> None:
        self.colours = result
        t = self.data.t if self.data is not None else None
        self.legend.set_lines([legend(result, t)])
        self.text.show(result, t)

    def clear(self) -> None:
        self.colours = None
        self.legend.set_lines([])
        self.text.show(None, None)


SPEC = PanelSpec("text", "Text by unit", TextPanel, order=10,
                 description="The typed text coloured by the selected unit's value at each step")
