"""The analysis dock: one panel on view at a time, under the maps of the main screen.

The screen owns the dock's keys (they print nothing: every printable key feeds the model):
`ctrl+d` shows or hides it, `ctrl+n` shows the next panel; the command palette lists every
panel. Every frame the screen hands the dock one `PanelInput`; only the panel on view computes.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.segment import Segment
from rich.style import Style
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import ContentSwitcher

from inspector.tui.panels.base import AnalysisPanel, PanelInput, PanelSpec
from inspector.tui.widgets.lines import LinesWidget

TITLE_ON = Style(bold=True, reverse=True)
TITLE_OFF = Style(dim=True)
HINT = Style(dim=True, italic=True)


class AnalysisDock(Vertical):
    """The panels of `specs`, one on view; its first line lists them."""

    DEFAULT_CSS = """
    AnalysisDock { height: 12; border-top: solid $panel; }
    AnalysisDock > #dock-titles { height: 1; padding: 0 1; }
    AnalysisDock > ContentSwitcher { height: 1fr; padding: 0 1; }
    """

    def __init__(self, specs: Sequence[PanelSpec], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.specs = tuple(specs)
        self.panels: dict[str, AnalysisPanel] = {}
        for spec in self.specs:
            panel = spec.make()
            panel.id = f"panel-{spec.id}"
            self.panels[spec.id] = panel
        self.current = self.specs[0].id if self.specs else None
        self.titles = LinesWidget(id="dock-titles")
        self.data: PanelInput | None = None

    def compose(self) -> ComposeResult:
        yield self.titles
        with ContentSwitcher(initial=f"panel-{self.current}" if self.current else None):
            yield from self.panels.values()

    def on_mount(self) -> None:
        self._draw_titles()
        if self.current is not None and self.display:
            self.panels[self.current].activate(True)

    @property
    def panel(self) -> AnalysisPanel | None:
        """The panel on view."""
        return self.panels.get(self.current) if self.current else None

    def update_input(self, data: PanelInput) -> None:
        """Every frame: the newest input goes to every panel; only the one on view computes."""
        self.data = data
        for panel in self.panels.values():
            panel.update_input(data)

    def show_panel(self, panel_id: str) -> None:
        if panel_id not in self.panels:
            raise KeyError(panel_id)
        if self.current is not None:
            self.panels[self.current].activate(False)
        self.current = panel_id
        self.query_one(ContentSwitcher).current = f"panel-{panel_id}"
        self._draw_titles()
        if self.display:
            self.panels[panel_id].activate(True)

    def next_panel(self, delta: int = 1) -> None:
        if not self.specs:
            return
        ids = [spec.id for spec in self.specs]
        self.show_panel(ids[(ids.index(self.current) + delta) % len(ids)])

    def set_shown(self, shown: bool) -> None:
        """Show or hide the dock; a hidden dock's panels compute nothing."""
        self.display = shown
        if self.panel is not None:
            self.panel.activate(shown)

    def on_resize(self) -> None:
        self._draw_titles()

    def _draw_titles(self) -> None:
        """The panels' titles, the one on view highlighted; where they do not all fit, the
        first ones give way (`‹`) so the one on view is always seen."""
        ids = [spec.id for spec in self.specs]
        first = 0
        width = self.titles.size.width or 10_000
        on_view = ids.index(self.current) if self.current in ids else 0

        def used(start: int) -> int:
            shown = self.specs[start:on_view + 1]
            return (2 if start else 0) + sum(len(spec.title) + 3 for spec in shown)

        while first < on_view and used(first) > width:
            first += 1
        line: list[Segment] = [Segment("‹ ", HINT)] if first else []
        for spec in self.specs[first:]:
            style = TITLE_ON if spec.id == self.current else TITLE_OFF
            line += [Segment(f" {spec.title} ", style), Segment(" ")]
        line.append(Segment("ctrl+n next · ctrl+d hide", HINT))
        self.titles.set_lines([line])
