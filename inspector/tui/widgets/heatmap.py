"""One activation vector (e.g. `l0.gate.f`) as a half-block heatmap drawn with the Line API.

Two units share a terminal cell: `▀` with the foreground for the upper unit and the background
for the lower one. Units run row-major across the widget's width. Each text line is built from
quantised levels with runs of equal cells merged into one Segment, and cached until the values or
the width change, so a key costs a few short strips, never one widget per unit.
"""

from __future__ import annotations

import math

import numpy as np
from rich.color import Color
from rich.segment import Segment
from rich.style import Style
from textual.events import Click
from textual.filter import ANSIToTruecolor, LineFilter, dim_color
from textual.geometry import Region, Size
from textual.message import Message
from textual.strip import Strip

from inspector.tui.palette import EMPTY, SIGNED, Scale, cell_style
from inspector.tui.widgets.cached_style import CachedStyle

SEGMENT_CACHE = 4096  # (upper, lower, run length, marked) -> Segment, per map


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
        self._runs: list[list[tuple[int, int, int, int]]] | None = None
        self._segments: dict[tuple[int, int, int, bool], Segment] = {}  # see _cells_strip
        self._segments_for: tuple[str, Color | None] | None = None
        self.stale = False
        self._unseen: tuple[np.ndarray | None, Scale, int | None] | None = None  # see show

    def show(self, values: np.ndarray | None, scale: Scale, selected: int | None = None, *,
             visible: bool = True) -> None:
        """New values (None: nothing to show yet, e.g. before the first step).

        Only the text lines whose cells changed are redrawn (saturated units, a fixed scale's
        calm regions stay put), and a map scrolled out of view only keeps the values, to be
        quantised and drawn once it is seen (see `catch_up`): drawing maps nobody can see cost
        ~2 ms a key with a 2x512 LSTM."""
        if not visible:
            self._unseen = (values, scale, selected)
            self.stale = True
            self._strips.clear()
            return
        self._unseen = None
        old_levels, old_selected, old_title = self.levels, self.selected, self.title_text()
        self._set(values, scale, selected)
        width = self.size.width
        if self.stale or not width or selected != old_selected:
            self.stale = False
            self._strips.clear()
            self.refresh()
            return
        changed = np.flatnonzero(old_levels != self.levels) // (2 * width)
        lines = set((np.unique(changed) + 1).tolist())
        if self.title_text() != old_title:
            lines.add(0)
        for y in lines:
            self._strips.pop(y, None)
        if lines:
            self.refresh(*(Region(0, y, width, 1) for y in sorted(lines)))

    def _set(self, values: np.ndarray | None, scale: Scale, selected: int | None) -> None:
        self.scale = scale
        self.levels = (np.full(self.units, EMPTY, dtype=np.int8) if values is None
                       else scale.quantise(values))
        self.selected = selected
        self._runs = None

    def _settle(self) -> None:
        """Take the values that arrived while out of view."""
        if self._unseen is not None:
            self._set(*self._unseen)
            self._unseen = None

    def catch_up(self) -> None:
        """Redraw if values arrived while the map was out of view."""
        if self.stale:
            self.stale = False
            self._settle()
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
        self._settle()
        width = self.size.width
        if width != self._strip_width:
            self._strips.clear()
            self._runs = None
            self._strip_width = width
        strip = self._strips.get(y)
        if strip is None:
            strip = self._title_strip(width) if y == 0 else self._cells_strip(y - 1, width)
            self._strips[y] = strip
        return strip

    def title_text(self) -> str:
        self._settle()
        return f"{self.title}{self.scale.label()}" if self.scale.adaptive else self.title

    def get_line_filters(self) -> list[LineFilter]:
        """The app's filters but the ANSI-to-truecolor one: every colour drawn here is already
        RGB (the palette's, and the title's below), so that filter would only copy each of a
        line's ~70 segments, ~1 ms a key on a 2x512 LSTM. Others (NO_COLOR's) still apply."""
        return [line_filter for line_filter in super().get_line_filters()
                if not isinstance(line_filter, ANSIToTruecolor)]

    def _title_strip(self, width: int) -> Strip:
        base = self.base_style
        colour, background = base.color, base.bgcolor
        if colour and background and colour.triplet and background.triplet:
            # dim, blended here as the filter left out above would have done
            style = base + Style(color=dim_color(background, colour))
        else:  # an ANSI theme: the terminal dims
            style = base + Style(dim=True)
        return Strip([Segment(self.title_text()[:width].ljust(width), style)], width)

    def _line_runs(self, width: int) -> list[list[tuple[int, int, int, int]]]:
        """(start, end, upper level, lower level) of every run of equal cells, per text line,
        the selected unit's cell a run of its own: one numpy pass over the map per update, so
        the Python that builds a line's segments loops over runs, not cells."""
        if self._runs is None:
            rows = math.ceil(self.units / width)
            rows += rows % 2
            grid = np.full(rows * width, EMPTY, dtype=np.int16)
            grid[:self.units] = self.levels
            grid = grid.reshape(rows // 2, 2, width)
            upper, lower = grid[:, 0], grid[:, 1]
            code = (upper - EMPTY) * 64 + (lower - EMPTY)  # one number per (upper, lower) pair
            starts = np.ones(code.shape, dtype=bool)
            starts[:, 1:] = code[:, 1:] != code[:, :-1]
            if self.selected is not None:
                line, x = self.selected // width // 2, self.selected % width
                starts[line, x] = True
                if x + 1 < width:
                    starts[line, x + 1] = True
            tops, bottoms = upper.tolist(), lower.tolist()
            self._runs = []
            for line, row in enumerate(starts):
                edges = [*np.flatnonzero(row).tolist(), width]
                top, bottom = tops[line], bottoms[line]
                self._runs.append([(a, b, top[a], bottom[a])
                                   for a, b in zip(edges, edges[1:], strict=False)])
        return self._runs

    def _cells_strip(self, line: int, width: int) -> Strip:
        runs = self._line_runs(width)
        if line >= len(runs):
            return Strip.blank(width, self.base_style)
        marked = -1
        if self.selected is not None and self.selected // width // 2 == line:
            marked = self.selected % width
        ramp, background = self.scale.ramp, self.base_style.bgcolor
        if self._segments_for != (ramp, background) or len(self._segments) > SEGMENT_CACHE:
            self._segments_for, self._segments = (ramp, background), {}
        segments, found = self._segments, self._segments.get
        drawn = []
        for start, end, top, bottom in runs[line]:
            key = (top, bottom, end - start, start == marked)
            segment = found(key)
            if segment is None:  # the same few runs recur: most lines are built from the cache
                style = cell_style(ramp, top, bottom, start == marked, background)
                segment = segments[key] = Segment((" " if top == EMPTY else "▀") * (end - start),
                                                  style)
            drawn.append(segment)
        return Strip(drawn, width)
