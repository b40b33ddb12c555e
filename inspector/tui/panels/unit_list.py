"""A panel whose body is a ranked list of units (the units-for-a-pattern and sort panels).

A title line over rows, best first; the cursor row is the unit selected from the list (ctrl+↑ /
ctrl+↓ or a click select it, and the maps, unit panel and text colours follow), the unit the
screen has selected is underlined, and ctrl+← / ctrl+→ cycle the panel's `ORDERS`.
"""

from __future__ import annotations

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.app import ComposeResult

from inspector.tui.panels.base import AnalysisPanel, PanelInput
from inspector.tui.widgets.lines import LinesWidget

BOLD = Style(bold=True)
DIM = Style(dim=True)
CURSOR = Style(reverse=True)
SELECTED = Style(bold=True, underline=True)


class UnitListPanel(AnalysisPanel):
    """Subclasses set `ORDERS` and say what a result lists: `unit_names`, `title_line`,
    `row_text`; `self.result` is the result drawn (None before the first)."""

    ORDERS: tuple[str, ...] = ()

    def __init__(self) -> None:
        super().__init__()
        self.order = self.ORDERS[0]
        self.title = LinesWidget(classes="panel-title")
        self.rows = LinesWidget(classes="panel-rows")
        self.result = None
        self.row = 0  # the cursor's row in the list
        self.first = 0  # the first row on screen

    def unit_names(self) -> tuple[str, ...]:
        """The units of `self.result`, best first."""
        raise NotImplementedError

    def title_line(self) -> list[Segment]:
        raise NotImplementedError

    def row_text(self, rank: int) -> str:
        """Row `rank` (0 is the best) as written in the list."""
        raise NotImplementedError

    def compose_body(self) -> ComposeResult:
        yield self.title
        yield self.rows

    def show(self, result, fresh: bool) -> None:
        """Draw `result`; `fresh` (another pattern or order) moves the cursor back to the top."""
        if self.result is None or fresh:
            self.row = self.first = 0
        self.result = result
        self._draw()

    def clear(self) -> None:
        self.result = None
        self.title.set_lines([])
        self.rows.set_lines([])

    def update_input(self, data: PanelInput) -> None:
        unit_moved = self.data is not None and self.data.unit != data.unit
        super().update_input(data)
        if unit_moved and self.result is not None:
            self._draw()  # the underlined unit follows the screen's selection

    @property
    def capacity(self) -> int:
        return max(1, self.size.height - 2)

    def _draw(self) -> None:
        self.title.set_lines([self.title_line()])
        names = self.unit_names()
        self.row = min(self.row, len(names) - 1)
        if self.row < self.first:
            self.first = self.row
        elif self.row >= self.first + self.capacity:
            self.first = self.row - self.capacity + 1
        selected = self.data.unit if self.data is not None else None
        lines = []
        for rank in range(self.first, min(len(names), self.first + self.capacity)):
            style = CURSOR if rank == self.row else SELECTED if names[rank] == selected else Style()
            lines.append([Segment(self.row_text(rank), style)])
        self.rows.set_lines(lines)

    def cursor(self, delta: int) -> None:
        """Move to the next / previous unit of the list and select it (the first press selects
        the row the cursor is on, if it is not selected yet)."""
        if self.result is None or not self.unit_names():
            return
        names = self.unit_names()
        selected = self.data.unit if self.data is not None else None
        if names[self.row] == selected or delta == 0:
            self.row = max(0, min(len(names) - 1, self.row + delta))
        self._draw()
        self.post_message(self.SelectUnit(names[self.row]))

    def option(self, delta: int) -> None:
        self.order = self.ORDERS[(self.ORDERS.index(self.order) + delta) % len(self.ORDERS)]
        if self.data is not None:
            self.update_input(self.data)

    def on_click(self, event: events.Click) -> None:
        if self.result is None:
            return
        offset = event.get_content_offset(self.rows)
        if offset is not None and 0 <= offset.y < len(self.rows.lines):
            self.row = self.first + offset.y
            self.cursor(0)
