"""One activation vector (e.g. `l0.gate.f`) as a half-block heatmap drawn with the Line API.

Two units share a terminal cell: `▀` with the foreground for the upper unit and the background
for the lower one. Units run row-major across the widget's width. Each text line is built from
quantised levels with runs of equal cells merged into one Segment, and cached until the values or
the width change, so a key costs a few short strips, never one widget per unit.
"""

from __future__ import annotations

import math

import numpy as np
from rich.segment import Segment
from rich.style import Style
from textual.events import Click
from textual.geometry import Region, Size
from textual.message import Message
from textual.strip import Strip

from inspector.tui.palette import EMPTY, SIGNED, Scale, cell_style
from inspector.tui.widgets.cached_style import CachedStyle

TITLE_STYLE = Style(dim=True)


class Heatmap(CachedStyle):
    """A heatmap of one named activation; `show` replaces its values."""

    DEFAULT_CSS = "Heatmap { height: auto; }"  # as tall as its width needs

    class UnitClicked(Message):
        """The user clicked a unit: the screen selects it."""

        def __init__(self, heatmap: Heatmap, unit: int) -> None:
            super().__init__()
            self.heatmap = heatmap
            self.unit = unit

    def __init__(self, activation: str, title: str, size: int, *, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.activation = activation
        self.title = title
        self.units = size
        self.scale = SIGNED
        self.levels = np.full(size, EMPTY, dtype=np.int8)
        self.selected: int | None = None
        self._strips: dict[int, Strip] = {}
        self._strip_width = 0
        self._pairs: list[list[tuple[int, int]]] | None = None
        self.stale = False

    def show(self, values: np.ndarray | None, scale: Scale, selected: int | None = None, *,
             visible: bool = True) -> None:
        """New values (None: nothing to show yet, e.g. before the first step).

        Only the text lines whose cells changed are redrawn (saturated units, a fixed scale's
        calm regions stay put), and a map scrolled out of view is only marked stale (see
        `catch_up`): redrawing maps nobody can see cost ~2 ms a key with a 2x512 LSTM."""
        old_levels, old_selected, old_title = self.levels, self.selected, self.title_text()
        self.scale = scale
        self.levels = (np.full(self.units, EMPTY, dtype=np.int8) if values is None
                       else scale.quantise(values))
        self.selected = selected
        self._pairs = None
        width = self.size.width
        if not visible:
            self.stale = True
            self._strips.clear()
        elif self.stale or not width or selected != old_selected:
            self.stale = False
            self._strips.clear()
            self.refresh()
        else:
            lines = {1 + unit // width // 2
                     for unit in np.flatnonzero(old_levels != self.levels).tolist()}
            if self.title_text() != old_title:
                lines.add(0)
            for y in lines:
                self._strips.pop(y, None)
                self.refresh(Region(0, y, width, 1))

    def catch_up(self) -> None:
        """Redraw if values arrived while the map was out of view."""
        if self.stale:
            self.stale = False
            self.refresh()

    @property
    def columns(self) -> int:
        return max(1, self.size.width)

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        rows = math.ceil(self.units / max(1, width))
        return 1 + math.ceil(rows / 2)

    def unit_at(self, x: int, y: int) -> int | None:
        """The unit drawn in the upper half of cell (x, y), or None off the map."""
        if y < 1 or not 0 <= x < self.columns:
            return None
        unit = (y - 1) * 2 * self.columns + x
        return unit if unit < self.units else None

    def on_click(self, event: Click) -> None:
        unit = self.unit_at(event.x, event.y)
        if unit is not None:
            self.post_message(self.UnitClicked(self, unit))

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        if width != self._strip_width:
            self._strips.clear()
            self._pairs = None
            self._strip_width = width
        strip = self._strips.get(y)
        if strip is None:
            strip = self._title_strip(width) if y == 0 else self._cells_strip(y - 1, width)
            self._strips[y] = strip
        return strip

    def title_text(self) -> str:
        return f"{self.title}{self.scale.label()}" if self.scale.adaptive else self.title

    def _title_strip(self, width: int) -> Strip:
        text = self.title_text()
        style = self.base_style + TITLE_STYLE
        return Strip([Segment(text[:width].ljust(width), style)], width)

    def _line_pairs(self, width: int) -> list[list[tuple[int, int]]]:
        """(upper, lower) levels of every cell, per text line: one numpy pass per update, since
        numpy calls on a few dozen values cost more than the Python that follows them."""
        if self._pairs is None:
            rows = math.ceil(self.units / width)
            rows += rows % 2
            grid = np.full(rows * width, EMPTY, dtype=np.int16)
            grid[:self.units] = self.levels
            grid = grid.reshape(rows // 2, 2, width)
            upper, lower = grid[:, 0].tolist(), grid[:, 1].tolist()
            self._pairs = [list(zip(u, v, strict=True)) for u, v in zip(upper, lower, strict=True)]
        return self._pairs

    def _cells_strip(self, line: int, width: int) -> Strip:
        pairs = self._line_pairs(width)
        if line >= len(pairs):
            return Strip.blank(width, self.base_style)
        cells = pairs[line]
        marked = -1
        if self.selected is not None and self.selected // width // 2 == line:
            marked = self.selected % width  # the selected unit's cell is a run of its own
        ramp = self.scale.ramp
        background = self.base_style.bgcolor
        segments = []
        start = 0
        for x in range(1, width + 1):
            if x == width or cells[x] != cells[start] or x == marked or x - 1 == marked:
                top, bottom = cells[start]
                glyph = " " if top == EMPTY else "▀"
                style = cell_style(ramp, top, bottom, start == marked, background)
                segments.append(Segment(glyph * (x - start), style))
                start = x
        return Strip(segments, width)
