"""The step log: one line per step in the seed's words, newest last, cut (never wrapped) at the
right edge so a narrow screen loses only the state summary at the end of each line."""

from __future__ import annotations

from collections.abc import Sequence

from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip
from textual.widget import Widget

VIEW_STYLE = Style(bold=True)
OLD_STYLE = Style(dim=True)


class StepLog(Widget):
    """Shows the lines it is given; the screen asks for `capacity` of them."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.lines: tuple[str, ...] = ()

    @property
    def capacity(self) -> int:
        return max(1, self.size.height)

    def show(self, lines: Sequence[str]) -> None:
        self.lines = tuple(lines[-self.capacity:]) if lines else ()
        self.refresh()

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        if y >= len(self.lines):
            return Strip.blank(width)
        style = VIEW_STYLE if y == len(self.lines) - 1 else OLD_STYLE
        return Strip([Segment(self.lines[y], style)]).crop_extend(0, width, None)
