"""The handoff panel: what the encoder hands the decoder, per layer `h` (and `c`) as heatmaps with
their norms, and the edits applied to it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.segment import Segment
from rich.style import Style
from textual.app import ComposeResult
from textual.containers import Container, Vertical

from inspector.tui.view import MapSpec
from inspector.tui.widgets.heatmap import Heatmap
from inspector.tui.widgets.lines import LinesWidget

if TYPE_CHECKING:
    from inspector.engine import Handoff

DIM = Style(dim=True)
EDIT = Style(color="magenta", bold=True)


class HandoffPanel(Vertical):
    """One map per state vector of the handoff (`specs` are the encoder's h/c maps)."""

    def __init__(self, specs: list[MapSpec], hidden: int, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.specs = specs
        self.heatmaps = [Heatmap(spec.activation, spec.activation, hidden) for spec in specs]
        self.norms = LinesWidget(id="handoff-norms")
        self.edits = LinesWidget(id="handoff-edits")

    def compose(self) -> ComposeResult:
        yield self.norms
        with Container(classes="handoff-maps"):
            yield from self.heatmaps
        yield self.edits

    def show(self, handoff: Handoff) -> None:
        for heatmap, spec in zip(self.heatmaps, self.specs, strict=True):
            values = getattr(handoff.layers[spec.layer], spec.activation.partition(".")[2])
            heatmap.show(values, spec.scale_for(values))
        layers = sorted({spec.layer for spec in self.specs})
        self.norms.set_lines([
            [Segment(f"l{layer} ", DIM),
             Segment("  ".join(f"‖{name.partition('.')[2]}‖ {value:.2f}"
                               for name, value in handoff.norms.items()
                               if name.startswith(f"l{layer}.")))]
            for layer in layers])
        if handoff.edits:
            self.edits.set_lines([[Segment("◆ " + edit.describe(), EDIT)]
                                  for edit in handoff.edits])
        else:
            self.edits.set_lines([[Segment("no edits (F5 edits the handoff)", DIM)]])
