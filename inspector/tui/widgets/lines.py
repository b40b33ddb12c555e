"""A widget that shows a few prepared lines of segments through the Line API.

Small panels (top-k, unit detail, step log) redraw on every key. Built as Rich `Text` they cost
milliseconds a frame in markup conversion; prepared segments with shared, pre-built styles cost
almost nothing, and the height follows the number of lines without a relayout on every key.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.segment import Segment
from textual.geometry import Region, Size
from textual.strip import Strip

from inspector.tui.widgets.cached_style import DirectLines

Line = Sequence[Segment]


class LinesWidget(DirectLines):
    """Draws `lines` top to bottom, each cut at the widget's width (never wrapped)."""

    DEFAULT_CSS = "LinesWidget { height: auto; }"

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.lines: list[Line] = []
        self._height = 0  # the content height laid out
        self._hold: object = None
        self._strips: dict[int, Strip] = {}  # drawn lines, by y, at `_strip_width`
        self._strip_width = 0

    def set_lines(self, lines: list[Line], hold: object = None) -> None:
        """Show new lines; only the lines that differ are redrawn, and the layout is redone only
        when the height changes. While `hold` stays equal (not None) the height never shrinks:
        a panel whose line count wavers from key to key (a formula that wraps or not) keeps
        blank lines at its foot instead of moving everything below it and laying the whole
        screen out again on every key."""
        old, self.lines = self.lines, lines
        height = len(lines)
        if hold is not None and hold == self._hold:
            height = max(height, self._height)
        self._hold = hold
        auto = self.styles.height is None or self.styles.height.is_auto
        relayout = height != self._height and auto  # a fixed height needs no new layout
        self._height = height
        if len(lines) != len(old) or relayout or not self.size.width:
            self._strips.clear()
            self.refresh(layout=relayout)
            return
        width = self.size.width
        changed = [y for y, (before, after) in enumerate(zip(old, lines, strict=True))
                   if before != after]
        for y in changed:
            self._strips.pop(y, None)
        if changed:
            self.refresh(*(Region(0, y, width, 1) for y in changed))

    def notify_style_update(self) -> None:
        self._strips.clear()  # drawn in the old colours
        super().notify_style_update()

    def line_text(self, y: int) -> str:
        """The plain text of line y, as tests and screen readers see it."""
        return "".join(segment.text for segment in self.lines[y]) if y < len(self.lines) else ""

    def text(self) -> str:
        return "\n".join(self.line_text(y) for y in range(len(self.lines)))

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return self._height

    def draw_line(self, y: int, width: int) -> Strip:
        if width != self._strip_width:
            self._strips.clear()
            self._strip_width = width
        strip = self._strips.get(y)
        if strip is None:
            strip = self._strips[y] = self._draw_line(y, width)
        return strip

    def _draw_line(self, y: int, width: int) -> Strip:
        base = self.base_style
        if y >= len(self.lines):
            return Strip.blank(width, base)
        strip = Strip(list(Segment.apply_style(self.lines[y], base)))  # one copy, not three
        return strip if strip.cell_length == width else strip.crop_extend(0, width, base)
