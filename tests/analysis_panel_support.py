"""A small host App for one analysis panel, and the PanelInput of a real Session's timeline (its
activations from `TimelineSource`, as the main screen's will be)."""

from __future__ import annotations

from textual.app import App, ComposeResult

from inspector.engine import Session
from inspector.engine.session import Feed
from inspector.tui.panels.base import AnalysisPanel, ModelInfo, PanelInput, PanelSpec
from inspector.tui.panels.dock import AnalysisDock
from inspector.tui.panels.source import TimelineSource


def model_info(model, task: str | None = None) -> ModelInfo:
    from inspector.engine import NativeModel

    return ModelInfo(model.name, model.cell, model.n_layers, model.hidden,
                     tuple(model.gate_names), tuple(model.labels), task,
                     isinstance(model, NativeModel))


class Timeline:
    """A Session and the source of its activations; `input()` is the frame's PanelInput."""

    def __init__(self, model, task: str | None = None) -> None:
        self.model = model
        self.session = Session(model)
        self.source = TimelineSource(model)
        self.info = model_info(model, task)
        self.generation = 0

    def feed(self, text: str) -> Timeline:
        self.session.feed(text)
        self.generation += 1
        return self

    def events_of(self, branch: str | None) -> tuple:
        if branch is None:  # the same keys without interventions
            return tuple(e for e in self.session.events if isinstance(e, Feed))
        other = self.session.clone()
        other.switch(branch)
        return other.events

    def input(self, t: int | None = None, feature: str | None = None,
              unit: str | None = "l0.h[0]") -> PanelInput:
        session = self.session
        records = session.records(0, session.cursor)
        interventions = tuple((r.t, iv.describe()) for r in records for iv in r.interventions)
        steps = session.cursor
        return PanelInput(
            self.generation, self.info, tuple(r.typed for r in records),
            (steps - 1 if steps else None) if t is None else t, unit,
            self.source.activations(session.events), self.source.run, feature, None,
            session.branch, tuple(b.name for b in session.branches()), interventions,
            lambda branch: self.source.activations(self.events_of(branch)))


class Host(App):
    """One panel in a dock, as the main screen docks it."""

    def __init__(self, make, panel_id: str = "p") -> None:
        super().__init__()
        self.spec = PanelSpec(panel_id, panel_id.title(), make)

    def compose(self) -> ComposeResult:
        yield AnalysisDock([self.spec], id="dock")

    @property
    def dock(self) -> AnalysisDock:
        return self.query_one(AnalysisDock)

    @property
    def panel(self) -> AnalysisPanel:
        return self.dock.panel


async def settle(pilot) -> None:
    """Wait for every worker (a panel's compute, a fixed-point search) and the redraws."""
    panel = pilot.app.panel
    for _ in range(400):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause(0.05 if panel.waiting_for_quiet else None)
        if (not panel.computing and not panel.waiting_for_quiet
                and not any(w.is_running for w in pilot.app.workers)):
            await pilot.pause()
            return
    raise AssertionError("the panel never settled")
