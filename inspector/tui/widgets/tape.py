"""The input tape: typed characters, the model's output under each, misses marked below.

Only a window of the timeline is ever drawn (the screen asks for `capacity` steps around the step
on view), so a 10,000-character session costs the same per key as a short one.
"""

from __future__ import annotations

from functools import lru_cache

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.message import Message
from textual.strip import Strip

from inspector.tui.colours import EMPTY
from inspector.tui.frames import TapeCell, TapeColours, TapeFrame
from inspector.tui.text import style_runs, token_label
from inspector.tui.widgets.cached_style import DirectLines
from inspector.tui.widgets.unit_strip import SCALE_WIDTH, StripCell, strip_lines

LABELS = ("x ", "y ", "  ")
LABEL_STYLE = Style(dim=True)
MISS_STYLE = Style(color="red", bold=True)
VIEW_STYLE = Style(reverse=True)
PENDING_STYLE = Style(dim=True, italic=True)
INTERVENED_STYLE = Style(color="magenta", bold=True)
WRITTEN_STYLE = Style(color="cyan", italic=True)
SPAN_STYLE = Style(underline=True, bold=True)


class Tape(DirectLines):
    """Three lines: x (typed), y (output at that step, red when a miss), and ✗ under every miss,
    ◆ under a step whose state was edited by an intervention, ✎ under a step the model wrote
    (its x in cyan italics).

    With colours (ctrl+u, or a panel's values) each typed character sits on its step's colour
    and two more lines draw the values as bars aligned under the characters (`unit_strip`);
    a span selected on the tape (shift+← →, a drag) is underlined."""

    class SpanDragged(Message):
        """Steps [start, stop) dragged over with the mouse (`span`; a field named `stop` would
        hide `Message.stop()`)."""

        def __init__(self, start: int, stop: int) -> None:
            super().__init__()
            self.span = (start, stop)

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.cells: tuple[TapeCell, ...] = ()
        self.first_t = 0
        self.view_index: int | None = None
        self.colours: TapeColours | None = None
        self.span: tuple[int, int] | None = None
        self.strip = False  # the bars are drawn: the screen sets it before measuring
        self._drag_from: int | None = None
        self._bars: tuple[tuple, list[Strip]] | None = None  # (what they show, both lines)

    @property
    def capacity(self) -> int:
        """How many steps fit: two columns each after the label (and, with the bars, the
        scale's ends at the right)."""
        room = self.size.width - len(LABELS[0]) - (SCALE_WIDTH if self.strip else 0)
        return max(1, room // 2)

    def show(self, frame: TapeFrame) -> None:
        """Cells for steps frame.first_t.. ; `view_index` (into cells) is highlighted."""
        if (frame.cells, frame.first_t, frame.view_index, frame.colours, frame.span) == (
                self.cells, self.first_t, self.view_index, self.colours, self.span):
            return
        self.cells = frame.cells
        self.first_t = frame.first_t
        self.view_index = frame.view_index
        self.colours = frame.colours
        self.span = frame.span
        self.refresh()

    def step_at(self, x: int) -> int | None:
        """The step drawn at column x (content coordinates), or None."""
        column = len(LABELS[0])
        for index, cell in enumerate(self.cells):
            width = cell.width + 1
            if column <= x < column + width:
                return self.first_t + index
            column += width
        return None

    def on_mouse_down(self, event: events.MouseDown) -> None:
        self._drag_from = self.step_at(event.x)

    def on_mouse_up(self, event: events.MouseUp) -> None:
        start, self._drag_from = self._drag_from, None
        stop = self.step_at(event.x)
        if start is not None and stop is not None and start != stop:
            self.post_message(self.SpanDragged(min(start, stop), max(start, stop) + 1))

    def line_text(self, y: int) -> str:
        """The plain text of line y (what tests read)."""
        return "".join(segment.text for segment in self.render_line(y)).rstrip()

    def draw_line(self, y: int, width: int) -> Strip:
        base = self.base_style
        if y >= len(LABELS):
            if self.colours is not None and y < len(LABELS) + 2:
                return self._strip_line(y - len(LABELS), width)
            return Strip.blank(width, base)
        # Runs of equal style become one segment each (a cell's trailing space takes its
        # style, but for the reversed step on view), built on the widget's own style, so the
        # strip needs no further copies: a tape of misses costs a few segments, not 2 a cell.
        span, view, colours = self.span, self.view_index, self.colours
        levels = colours.levels if y == 0 and colours is not None else None
        ramp = colours.scale.ramp if levels is not None else None

        def pieces():
            yield LABEL_STYLE, LABELS[y]
            for index, cell in enumerate(self.cells):
                in_span = y == 0 and span is not None and span[0] <= index < span[1]
                level = EMPTY if levels is None else levels[index]
                yield from cell_pieces(cell, y, index == view, in_span, ramp, level)

        runs = style_runs(pieces())
        used = sum(cell_len(text) for _, text in runs)
        strip = Strip([Segment(text, base + style) for style, text in runs], used)
        if used > width and not all(cell.narrow for cell in self.cells):
            # words are wider than the window planned for: keep the label and the newest ones
            label = len(LABELS[y])
            return Strip.join([strip.crop(0, label), strip.crop(used - width + label, used)])
        return strip if used == width else strip.crop_extend(0, width, base)

    def _strip_line(self, line: int, width: int) -> Strip:
        """Line 0 or 1 of the bars under the tape: both are laid out together, once a frame."""
        colours, base = self.colours, self.base_style
        key = (self.cells, colours, self.view_index, width, base)
        if self._bars is None or self._bars[0] != key:
            cells = [StripCell(value, level, cell.width if not cell.narrow else 1)
                     for cell, value, level in zip(self.cells, colours.values, colours.levels,
                                                   strict=True)]
            lines = strip_lines(cells, colours.scale, colours.label, self.view_index)
            strips = [Strip([Segment(LABELS[2], base + LABEL_STYLE),
                             *(Segment(seg.text, base + seg.style if seg.style else base)
                               for seg in segments)]).crop_extend(0, width, base)
                      for segments in lines]  # strip_lines has joined the runs already
            self._bars = (key, strips)
        return self._bars[1][line]


@lru_cache(maxsize=4096)
def cell_pieces(cell: TapeCell, y: int, on_view: bool, in_span: bool, ramp: str | None,
                level: int) -> tuple[tuple[Style, str], ...]:
    """A step's (style, text) pieces on tape line y, its trailing gap included: the gap takes
    the cell's style but for a reversed or coloured cell (the gap keeps no colour). Cached, as
    the window slides one step a key and redraws the same cells at new places."""
    if y == 0 and level != EMPTY:
        style = coloured_style(ramp, level, on_view, in_span)
    else:
        style = tape_style(cell.predicted is None, y > 0 and cell.miss, on_view and y < 2,
                           y == 2 and cell.intervened, cell.by_model and y != 1)
        if in_span:
            style = style + SPAN_STYLE
    if y == 0:
        char = token_label(cell.typed)
    elif y == 1:
        char = "…" if cell.predicted is None else token_label(cell.predicted)
    else:
        char = "◆" if cell.intervened else "✎" if cell.by_model else "✗" if cell.miss else " "
    if not cell.narrow:  # a word: every line of the cell as wide as its longest
        char = char.ljust(cell.width)
    if style.reverse or style.bgcolor is not None:
        return (style, char), (tape_style(False, False, False), " ")
    return ((style, char + " "),)


@lru_cache(maxsize=256)
def coloured_style(ramp: str, level: int, on_view: bool, in_span: bool) -> Style:
    """A typed character on its value's colour (see `unit_colours.char_style`)."""
    from inspector.tui.panels.unit_colours import char_style

    style = char_style(ramp, level)
    if on_view:
        style += Style(reverse=True, bold=True)
    if in_span:
        style += SPAN_STYLE
    return style


@lru_cache(maxsize=32)
def tape_style(pending: bool, miss: bool, on_view: bool, intervened: bool = False,
               written: bool = False) -> Style:
    """Built once per combination: adding Styles per cell on every key is measurable."""
    style = Style()
    if pending:
        style += PENDING_STYLE
    if miss:
        style += MISS_STYLE
    if intervened:
        style += INTERVENED_STYLE
    if written:
        style += WRITTEN_STYLE
    if on_view:
        style += VIEW_STYLE
    return style
