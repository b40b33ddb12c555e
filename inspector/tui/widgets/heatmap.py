"""One activation vector (e.g. `l0.gate.f`) as a half-block heatmap drawn with the Line API.

Two units share a terminal cell: `▀` with the foreground for the upper unit and the background
for the lower one. Units run row-major across the widget's width. Each text line is built from
quantised levels with runs of equal cells merged into one Segment, and cached until the values or
the width change, so a key costs a few short strips, never one widget per unit.

The selected unit's cell is filled with its colour and carries `▲` (the upper unit) or `▼` (the
lower one) in black or white: visible at a glance, and it says which half is meant. A click picks
the half under the pointer where the terminal reports pixels, else the upper unit, and the lower
one on a second click of the same cell. Without colour (`NO_COLOR`) each unit gets a cell of its
own and a glyph for its level (see `colours.level_glyph`).
"""

from __future__ import annotations

import math

import numpy as np
from rich.color import Color
from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding
from textual.events import Click, Leave, MouseMove
from textual.filter import ANSIToTruecolor, LineFilter, dim_color
from textual.geometry import Region, Size
from textual.message import Message
from textual.strip import Strip

from inspector.tui.colours import (
    EMPTY,
    SIGNED,
    Scale,
    half_block_style,
    level_glyph,
    marker_style,
)
from inspector.tui.numbers import number
from inspector.tui.widgets.cached_style import DirectLines


class Heatmap(DirectLines):
    """A heatmap of one named activation; `show` replaces its values.

    Focused by a click (and only so: the arrows belong to the timeline until then), the arrow
    keys move the selection on the map's own grid: ↑/↓ one row, ←/→ one unit; Escape gives the
    keys back to the timeline."""

    DEFAULT_CSS = "Heatmap { height: auto; }"  # as tall as its width needs

    BINDINGS = [
        Binding("up", "move(0, -1)", "Unit row up", show=False),
        Binding("down", "move(0, 1)", "Unit row down", show=False),
        Binding("left", "move(-1, 0)", "Unit left", show=False),
        Binding("right", "move(1, 0)", "Unit right", show=False),
        Binding("escape", "blur", "Leave the map", show=False),
    ]

    class UnitClicked(Message):
        """The user clicked (or moved to) a unit: the screen selects it."""

        def __init__(self, heatmap: Heatmap, unit: int) -> None:
            super().__init__()
            self.heatmap = heatmap
            self.unit = unit

    def __init__(self, activation: str, title: str, size: int, *, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.activation = activation
        self.title = title
        self.units = size  # units drawn: all of them, or those of `order`
        self.size_units = size
        self.order: np.ndarray | None = None  # the units drawn, in this order (None: all)
        self.scale = SIGNED
        self.levels = np.full(size, EMPTY, dtype=np.int8)
        self.selected: int | None = None
        self.values: np.ndarray | None = None
        self.t: int | None = None  # the step the values are from (for the hover text)
        self.glyphs = False  # one unit per cell, drawn as glyphs: a screen without colour
        self.zoom = (1, 1)  # (cells wide, half-cells tall) a unit takes: grown to fill space
        self.grid_width: int | None = None  # see set_zoom
        self._strips: dict[int, Strip] = {}
        self._strip_width = 0
        self._keys: list[list[int]] | None = None  # see _line_keys
        self._segments = RunSegments(self.scale.ramp, None)
        self.stale = False
        self._unseen: tuple[np.ndarray | None, Scale, int | None, int | None] | None = None

    def on_mount(self) -> None:
        self.glyphs = self.app.no_color

    def show(self, values: np.ndarray | None, scale: Scale, selected: int | None = None, *,
             visible: bool = True, t: int | None = None,
             order: tuple[int, ...] | None = None) -> None:
        """New values (None: nothing to show yet, e.g. before the first step).

        Only the text lines whose cells changed are redrawn (saturated units, a fixed scale's
        calm regions stay put), and a map scrolled out of view only keeps the values, to be
        quantised and drawn once it is seen (see `catch_up`): drawing maps nobody can see cost
        ~2 ms a key with a 2x512 LSTM.

        `order` draws only those units, in that order (a panel's top units); `selected` stays
        a unit number and clicks report unit numbers."""
        if (None if order is None else tuple(order)) != (
                None if self.order is None else tuple(self.order.tolist())):
            units = self.units
            self.order = None if order is None else np.array(order, dtype=np.int64)
            self.units = self.size_units if order is None else len(order)
            self._strips.clear()
            self._keys = None
            self.stale = False
            self._unseen = None
            self._set(values, scale, selected, t)
            self.refresh(layout=self.units != units)  # as many units: the same height
            return
        if not visible:
            self._unseen = (values, scale, selected, t)
            self.stale = True
            self._strips.clear()
            return
        self._unseen = None
        old_levels, old_selected, old_title = self.levels, self.selected, self.title_text()
        self._set(values, scale, selected, t)
        width = self.size.width
        if self.stale or not width or selected != old_selected:
            self.stale = False
            self._strips.clear()
            self.refresh()
            return
        # a row of units_per_row units (fewer than the width where the rows are filled evenly:
        # see row_length) is zoom_y pixel rows tall, and a text line holds rows_per_line of them
        rows = np.unique(np.flatnonzero(old_levels != self.levels) // self.units_per_row(width))
        zoom_y, per_line = self.unit_size[1], self.rows_per_line
        lines = {line + 1 for first, last in zip((rows * zoom_y // per_line).tolist(),
                                                 (((rows + 1) * zoom_y - 1) // per_line).tolist(),
                                                 strict=True)
                 for line in range(first, last + 1)}
        if self.title_text() != old_title:
            lines.add(0)
        for y in lines:
            self._strips.pop(y, None)
        if lines:
            self.refresh(*(Region(0, y, width, 1) for y in sorted(lines)))

    def _set(self, values: np.ndarray | None, scale: Scale, selected: int | None,
             t: int | None = None) -> None:
        self.scale = scale
        self.values, self.t = values, t
        order = self.order
        shown = values if values is None or order is None else values[order]
        self.levels = (np.full(self.units, EMPTY, dtype=np.int8) if shown is None
                       else scale.quantise(shown))
        if order is not None and selected is not None:
            where = np.flatnonzero(order == selected)
            selected = int(where[0]) if len(where) else None
        self.selected = selected  # its place on the map
        self._keys = None

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

    @property
    def rows_per_line(self) -> int:
        return 1 if self.glyphs else 2

    @property
    def unit_size(self) -> tuple[int, int]:
        """(cells wide, pixel rows tall) of one unit; glyphs are always one cell a unit."""
        return (1, 1) if self.glyphs else self.zoom

    def set_zoom(self, zoom: tuple[int, int], grid_width: int | None = None) -> None:
        """Draw each unit `zoom` = (cells wide, half-cells tall): the panel's layout grows small
        maps to fill the space they have. `grid_width`: the cells every map of the panel lays
        its units out in, so maps side by side have one shape even where the grid's columns
        differ by a cell."""
        if (zoom, grid_width) != (self.zoom, self.grid_width):
            self.zoom, self.grid_width = zoom, grid_width
            self._strips.clear()
            self._keys = None
            self.refresh(layout=True)

    def units_per_row(self, width: int | None = None) -> int:
        width = self.columns if width is None else max(1, width)
        if self.grid_width is not None:
            width = min(width, max(1, self.grid_width))
        return row_length(self.units, width, self.unit_size[0])

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        if self.grid_width is not None:
            width = min(width, max(1, self.grid_width))
        return 1 + map_lines(self.units, width, self.unit_size, self.rows_per_line)

    def unit_at(self, x: int, y: int, lower: bool = False) -> int | None:
        """The unit drawn in the upper (or `lower`) half of cell (x, y), or None off the map."""
        zoom_x, zoom_y = self.unit_size
        per_row = self.units_per_row()
        if y < 1 or not 0 <= x < per_row * zoom_x:
            return None
        pixel_row = (y - 1) * self.rows_per_line + (1 if lower and not self.glyphs else 0)
        unit = pixel_row // zoom_y * per_row + x // zoom_x
        return unit if unit < self.units else None

    def unit_number(self, place: int) -> int:
        """The unit drawn at `place` on the map (its number in the layer)."""
        return place if self.order is None else int(self.order[place])

    def unit_under(self, x: float, y: float) -> int | None:
        """The unit under the pointer: the half it is in where the terminal reports pixels
        (fractional coordinates), else the upper unit."""
        return self.unit_at(int(x), int(y), lower=y - int(y) >= 0.5)

    def on_click(self, event: Click) -> None:
        x, y = event.pointer_x, event.pointer_y
        unit = self.unit_under(x, y)
        if unit is not None and y == int(y) and unit == self.selected:
            # a terminal that reports whole cells only: a second click takes the lower unit
            unit = self.unit_at(int(x), int(y), lower=True) or unit
        if unit is not None:
            self.can_focus = True
            self.focus()
            self.post_message(self.UnitClicked(self, self.unit_number(unit)))

    def on_blur(self) -> None:
        self.can_focus = False

    def hover_text(self, place: int) -> str:
        """`l0.h[13] = +0.73 (t=4)`: the unit's name and value at the step on view."""
        self._settle()
        unit = self.unit_number(place)
        value = "no step yet" if self.values is None else number(self.values[unit])
        when = "" if self.t is None else f" (t={self.t})"
        return f"{self.activation}[{unit}] = {value}{when}"

    def on_mouse_move(self, event: MouseMove) -> None:
        unit = self.unit_under(event.pointer_x, event.pointer_y)
        self.tooltip = None if unit is None else self.hover_text(unit)

    def on_leave(self, event: Leave) -> None:
        self.tooltip = None

    def action_move(self, dx: int, dy: int) -> None:
        """Move the selection on this map's grid: ±1 unit, or ±1 row (one line of units)."""
        if self.selected is None:
            unit = 0
        else:
            unit = self.selected + dx + dy * self.units_per_row()
            if not 0 <= unit < self.units:
                return
        self.post_message(self.UnitClicked(self, self.unit_number(unit)))

    def action_blur(self) -> None:
        self.blur()

    def draw_line(self, y: int, width: int) -> Strip:
        self._settle()
        if width != self._strip_width:
            self._strips.clear()
            self._keys = None
            self._strip_width = width
        strip = self._strips.get(y)
        if strip is None and width < 1:  # laid out with no room yet (a model view mounting)
            return Strip.blank(0)
        if strip is None:
            strip = self._title_strip(width) if y == 0 else self._cells_strip(y - 1, width)
            self._strips[y] = strip
        return strip

    def title_text(self) -> str:
        """The map's name and the range its colours span: `h ±1`, `c ±2.3`, and `c ±0.8*` for a
        range stretched over this step's own values (the legend says so)."""
        self._settle()
        basis = "*" if self.scale.basis == "step" else ""
        return f"{self.title} {self.scale.label()}{basis}"

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._strips.clear()  # drawn on the old background (a new theme, say)

    def get_line_filters(self) -> list[LineFilter]:
        """The app's filters but the ANSI-to-truecolor one: every colour drawn here is already
        RGB (the colour scales', and the title's below), so that filter would only copy each of a
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
        title = self.title_text()
        if len(title) > width:  # never a cut number (`c ±0` for `c ±0.75`): the name alone
            title = self.title
        return Strip([Segment(title[:width].ljust(width), style)], width)

    def _line_keys(self, width: int) -> list[list[int]]:
        """Every text line as the keys of its runs of equal cells (see `RunSegments`), the
        selected unit's cell a run of its own: one numpy pass over the map per update, so
        building a line is one dictionary lookup a run."""
        if self._keys is None:
            per_line = self.rows_per_line
            zoom_x, zoom_y = self.unit_size
            per_row = self.units_per_row(width)
            rows = math.ceil(self.units / per_row)
            units = np.full(rows * per_row, EMPTY, dtype=np.int64)
            units[:self.units] = self.levels
            pixels = units.reshape(rows, per_row)
            if (zoom_x, zoom_y) != (1, 1):
                pixels = np.repeat(np.repeat(pixels, zoom_y, axis=0), zoom_x, axis=1)
            lines = math.ceil(rows * zoom_y / per_line)
            padded = np.full((lines * per_line, width), EMPTY, dtype=np.int64)
            padded[:pixels.shape[0], :pixels.shape[1]] = pixels
            grid = np.full((lines, 2, width), EMPTY, dtype=np.int64)
            grid[:, :per_line] = padded.reshape(lines, per_line, width)
            code = ((grid[:, 0] - EMPTY) * LEVEL_CODES + (grid[:, 1] - EMPTY)).ravel()
            starts = np.ones(code.shape, dtype=bool)
            starts[1:] = code[1:] != code[:-1]
            starts[::width] = True  # every text line starts a run
            marked = np.zeros(code.shape, dtype=np.int64)
            if self.selected is not None:
                row, column = divmod(self.selected, per_row)
                line, half = divmod(row * zoom_y, per_line)
                x = column * zoom_x
                at = line * width + x
                full = zoom_y > 1 and not half  # the unit fills this cell top to bottom
                marked[at] = FULL_MARK if full else LOWER_MARK if half else UPPER_MARK
                starts[at] = True
                if x + 1 < width:
                    starts[at + 1] = True
            first = np.flatnonzero(starts)
            lengths = np.diff(first, append=code.size)
            keys = (code[first] * MAX_RUN + lengths) * MARKS + marked[first]
            bounds = np.searchsorted(first, np.arange(1, lines) * width).tolist()
            self._keys = [part.tolist() for part in np.split(keys, bounds)]
        return self._keys

    def _cells_strip(self, line: int, width: int) -> Strip:
        keys = self._line_keys(width)
        if line >= len(keys):
            return Strip.blank(width, self.base_style)
        ramp, background = self.scale.ramp, self.base_style.bgcolor
        segments = self._segments
        if ((segments.ramp, segments.background, segments.glyphs) != (ramp, background, self.glyphs)
                or len(segments) > 4096):
            segments = self._segments = RunSegments(ramp, background, self.glyphs)
        return Strip(list(map(segments.__getitem__, keys[line])), width)


LEVEL_CODES = 32  # level - EMPTY is in 0..LEVELS + 3: five bits each for the upper and lower unit
MAX_RUN = 1 << 16  # a run is at most one line of cells long
MARKS = 4  # unmarked, or the selected unit's cell: the unit in its upper / lower half / all of it
UPPER_MARK, LOWER_MARK, FULL_MARK = 1, 2, 3
MARKER_GLYPHS = {UPPER_MARK: "▲", LOWER_MARK: "▼", FULL_MARK: "◆"}


def row_length(units: int, width: int, zoom_x: int = 1) -> int:
    """Units a row of a map `width` cells wide: as few rows as fit, their units spread evenly,
    so 64 units 9 a row become 8 rows of 8 (a full grid), not 7 rows and one unit alone; a
    full grid also wins at the cost of one more row (64 units 10 a row: 8 rows of 8)."""
    fit = max(1, max(1, width) // zoom_x)
    if units <= fit:
        return max(1, units)
    rows = math.ceil(units / fit)
    for length in range(fit, 0, -1):
        if units / length > rows + 1:
            break
        if units % length == 0:
            return length
    return math.ceil(units / rows)


def map_lines(units: int, width: int, zoom: tuple[int, int], per_line: int = 2) -> int:
    """Text lines a map of `units` takes at `width` cells, each unit `zoom` = (cells wide,
    pixel rows tall), `per_line` pixel rows a line (two with half blocks)."""
    per_row = row_length(units, width, zoom[0])
    return math.ceil(math.ceil(units / per_row) * zoom[1] / per_line)


ZOOMS = ((4, 4), (3, 4), (3, 3), (2, 3), (2, 2), (1, 2), (1, 1))  # largest units first


def map_layout(units: int, maps: int, layers: int, width: int, height: int,
               title_width: int = 1) -> tuple[int, tuple[int, int]] | None:
    """(maps side by side, unit zoom) that draws every layer's `maps` in `width` x `height`
    cells with the largest units, as many maps a row as fit; None if even one cell a unit does
    not fit (the panel then scrolls). Each layer has a title line, each map one.

    Maps at least `title_width` wide come first, so a title such as `c ±0.75` is read whole;
    only where no such layout fits are the maps narrower (their titles then lose the range)."""
    for least in dict.fromkeys((title_width, 1)):
        for zoom in ZOOMS:
            for columns in range(maps, 0, -1):
                map_width = (width + 1) // columns - 1  # one cell between maps
                if map_width < max(zoom[0], least):
                    continue
                rows = math.ceil(maps / columns)
                lines = map_lines(units, map_width, zoom)
                if layers * (1 + rows * (1 + lines)) <= height:
                    return columns, zoom
    return None
GLYPH_MARKED = Style(reverse=True, bold=True)


class RunSegments(dict):
    """Segments of heatmap runs by key ((upper, lower) code * MAX_RUN + length) * MARKS + mark,
    built on first use: the same few runs recur, so most lines come from here."""

    def __init__(self, ramp: str, background: Color | None, glyphs: bool = False) -> None:
        super().__init__()
        self.ramp = ramp
        self.background = background
        self.glyphs = glyphs

    def __missing__(self, key: int) -> Segment:
        rest, mark = divmod(key, MARKS)
        code, length = divmod(rest, MAX_RUN)
        upper, lower = divmod(code, LEVEL_CODES)
        upper, lower = upper + EMPTY, lower + EMPTY
        if self.glyphs:
            style = GLYPH_MARKED if mark else Style(bgcolor=self.background)
            segment = Segment(level_glyph(self.ramp, upper) * length, style)
        elif mark:
            level = lower if mark == LOWER_MARK else upper
            segment = Segment(MARKER_GLYPHS[mark], marker_style(self.ramp, level))
        else:
            style = half_block_style(self.ramp, upper, lower, False, self.background)
            segment = Segment((" " if upper == EMPTY else "▀") * length, style)
        self[key] = segment
        return segment
