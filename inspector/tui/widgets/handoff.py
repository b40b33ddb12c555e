"""The handoff panel: what the encoder hands the decoder, per layer `h` (and `c`) as heatmaps with
their norms, and the edits applied to it."""

from __future__ import annotations

from rich.segment import Segment
from rich.style import Style
from textual.app import ComposeResult
from textual.containers import Vertical

from inspector.tui.frames import HandoffFrame, MapSpec
from inspector.tui.widgets.heatmap import Heatmap
from inspector.tui.widgets.lines import LinesWidget
from inspector.tui.widgets.map_grid import MapGrid

DIM = Style(dim=True)
EDIT = Style(color="magenta", bold=True)


class HandoffPanel(Vertical):
    """One map per state vector of the handoff (`specs` are the encoder's h/c maps)."""

    def __init__(self, specs: tuple[MapSpec, ...], hidden: int, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.heatmaps = [Heatmap(spec.activation, spec.activation, hidden) for spec in specs]
        self.norms = LinesWidget(id="handoff-norms")
        self.edits = LinesWidget(id="handoff-edits")
        self.grid = MapGrid(self.heatmaps, hidden, self.room)

    def room(self) -> int:
        """Lines the maps may take: the panel's, less the norms and the edits."""
        return (self.content_region.height - len(self.norms.lines)
                - max(1, len(self.edits.lines)))

    def compose(self) -> ComposeResult:
        yield self.norms
        yield self.grid
        yield self.edits

    def show(self, frame: HandoffFrame) -> None:
        for heatmap, map_frame in zip(self.heatmaps, frame.maps, strict=True):
            heatmap.show(map_frame.values, map_frame.scale, map_frame.selected)
        self.norms.set_lines([[Segment(line[:3], DIM), Segment(line[3:])]
                              for line in frame.norms])
        lines = len(self.norms.lines), len(self.edits.lines)
        if frame.edits:
            self.edits.set_lines([[Segment("◆ " + edit, EDIT)] for edit in frame.edits])
        else:
            self.edits.set_lines([[Segment("no edits (F5 edits the handoff)", DIM)]])
        if (len(self.norms.lines), len(self.edits.lines)) != lines:
            self.grid.fit()  # the maps' room changed
