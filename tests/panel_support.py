"""A small host app for the analysis panels: one dock fed `PanelInput`s built from a real
`Session`, as the main screen's controller builds them."""

from __future__ import annotations

import torch
from textual.app import App, ComposeResult

from inspector.engine import Feed, NativeModel, Session
from inspector.tui.panels.base import AnalysisPanel, PanelInput, PanelSpec
from inspector.tui.panels.dock import AnalysisDock
from inspector.tui.panels.inputs import events_input, model_info
from inspector.tui.panels.source import TimelineSource
from models.char_rnn import CharRNN, CharRNNConfig
from models.vocab import CharVocab


def panel_input(session, source: TimelineSource, info, generation: int, *,
                t: int | None, unit: str | None, feature: str | None = None,
                span: tuple[int, int] | None = None) -> PanelInput:
    """The input every panel gets for this frame of `session`, through the same
    `events_input` the main screen's `timeline_input` uses."""
    events = session.events
    tokens = tuple(e.typed for e in events if isinstance(e, Feed))
    return events_input(events, tokens, session, source, info, generation, t=t, unit=unit,
                        feature=feature, span=span, branch=session.branch)


def small_model(cell: str = "lstm", layers: int = 2, hidden: int = 16, seed: int = 0,
                vocab: CharVocab | None = None) -> NativeModel:
    vocab = vocab or CharVocab.letters()
    torch.manual_seed(seed)
    module = CharRNN(CharRNNConfig(len(vocab), cell, layers, hidden, 8)).eval()
    return NativeModel(module, vocab, f"{cell}-{layers}x{hidden}")


class PanelHost(App):
    """The dock alone, with a session the test drives by hand."""

    CSS = "AnalysisDock { height: 1fr; }"

    def __init__(self, specs: list[PanelSpec], model: NativeModel, task: str | None = None):
        super().__init__()
        self.specs = specs
        self.model = model
        self.session = Session(model)
        self.source = TimelineSource(model)
        self.info = model_info(model, model.name, task)
        self.generation = 0
        self.unit: str | None = "l0.h[0]"
        self.t: int | None = None
        self.feature: str | None = None
        self.span: tuple[int, int] | None = None

    def compose(self) -> ComposeResult:
        yield AnalysisDock(self.specs, id="dock")

    @property
    def dock(self) -> AnalysisDock:
        return self.query_one(AnalysisDock)

    def frame(self, **changes) -> None:
        """Hand the dock a new input, as the screen does after every verb."""
        for key, value in changes.items():
            setattr(self, key, value)
        self.generation += 1
        t = self.t if self.t is not None else (self.session.cursor - 1
                                               if self.session.cursor else None)
        self.dock.update_input(panel_input(self.session, self.source, self.info,
                                           self.generation, t=t, unit=self.unit,
                                           feature=self.feature, span=self.span))

    def on_analysis_panel_select_unit(self, message: AnalysisPanel.SelectUnit) -> None:
        self.frame(unit=message.unit)

    def on_analysis_panel_show_units(self, message: AnalysisPanel.ShowUnits) -> None:
        self.shown_units = (message.orders, message.label)


async def settle(pilot, panel: AnalysisPanel | None = None) -> None:
    """Until no panel computes and every result is drawn."""
    app = pilot.app
    for _ in range(200):
        await app.workers.wait_for_complete()
        await pilot.pause()
        panels = [panel] if panel is not None else list(app.dock.panels.values())
        if not any(p.computing for p in panels):
            break
    await pilot.pause()
