"""A small app for measuring what an analysis panel costs the key path: every printable key is fed
to a Session (as the main screen feeds it), a Static shows the newest step, and the analysis dock
with PANEL on view gets the frame's PanelInput, so the panel computes in its worker while keys
come in. `bench_panels.py` runs it under `shared/tools/keylat.py` against the bare Textual app.

    python benchmarks/panel_host.py MODEL PANEL      (PANEL: probe, trajectory, saliency, diff,
                                                      or none for the dock hidden)
"""

from __future__ import annotations

import sys

from textual import events
from textual.app import App, ComposeResult
from textual.widgets import Static

from inspector.tui.panels import panel_specs
from inspector.tui.panels.base import ModelInfo, PanelInput
from inspector.tui.panels.dock import AnalysisDock


class PanelHost(App):
    CSS = "#step { height: 3; } AnalysisDock { height: 14; }"

    def __init__(self, model, task: str | None, panel: str) -> None:
        super().__init__()
        self.model, self.model_task = model, task
        self.panel_id = panel
        self.generation = 0

    def compose(self) -> ComposeResult:
        yield Static("loading…", id="step")
        yield AnalysisDock(panel_specs(), id="dock")

    def on_mount(self) -> None:
        from inspector.engine import NativeModel, Session
        from inspector.engine.records import Intervention
        from inspector.tui.panels.source import TimelineSource

        model, task = self.model, self.model_task
        self.session = Session(model)
        self.interventions: tuple[tuple[int, str], ...] = ()
        if self.panel_id == "diff":  # something to compare: an edit before the first key
            edit = Intervention("set", "l0.h", 0, 1.0)
            self.session.intervene(edit)
            self.interventions = ((0, edit.describe()),)
        self.source = TimelineSource(model)
        self.info = ModelInfo(model.name, model.cell, model.n_layers, model.hidden,
                              tuple(model.gate_names), tuple(model.labels), task,
                              isinstance(model, NativeModel))
        dock = self.query_one(AnalysisDock)
        if self.panel_id == "none":
            dock.set_shown(False)
        else:
            dock.show_panel(self.panel_id)
        self.query_one("#step", Static).update("ready")

    def on_key(self, event: events.Key) -> None:
        if not event.is_printable or not event.character:
            return
        record = self.session.feed(event.character)[-1]
        self.generation += 1
        self.query_one("#step", Static).update(
            f"t={record.t} x={record.typed!r} → y={record.prediction!r} "
            f"({record.confidence:.2f})")
        session = self.session
        self.query_one(AnalysisDock).update_input(PanelInput(
            self.generation, self.info, tuple(session.text), session.cursor - 1, "l0.h[0]",
            self.source.activations(session.events), self.source.run, None, None,
            session.branch, tuple(b.name for b in session.branches()), self.interventions,
            lambda branch: self.source.activations(session.events)))


def load(name: str):
    """The model, loaded and warmed up before the first screen (keylat types once it is up):
    torch's first step, the analysis package and scikit-learn load once, seconds under load."""
    import torch

    from inspector.engine import Session, inspectable
    from inspector.loading import ModelSource, open_model

    torch.set_num_threads(1)
    checkpoint = open_model(ModelSource(name))
    model = inspectable(checkpoint)
    Session(model).feed("ab")
    import sklearn.linear_model  # noqa: F401

    import inspector.analysis  # noqa: F401

    return model, (checkpoint.meta or {}).get("task")


if __name__ == "__main__":
    from inspector.tui.threads import limit_math_threads

    limit_math_threads()
    PanelHost(*load(sys.argv[1]), sys.argv[2]).run()
