"""Building a `PanelInput` from the timeline on screen: the controller's side of the contract.

Cheap (runs on the event loop once per frame): it copies the session's event list and names
what is selected; every number is computed later, in the panels' workers, by `TimelineSource`.
"""

from __future__ import annotations

from typing import Any

from inspector.tui.panels.base import ModelInfo, PanelInput
from inspector.tui.panels.source import TimelineSource


def model_info(model: Any, label: str, task: str | None) -> ModelInfo:
    from inspector.engine.model import NativeModel

    return ModelInfo(label, model.cell, model.n_layers, model.hidden, tuple(model.gate_names),
                     tuple(model.labels), task, isinstance(model, NativeModel),
                     model.nonlinearity)


def timeline_input(timeline: Any, source: TimelineSource, session: Any) -> PanelInput:
    """The input for this frame from the controller's `frames.Timeline` (the main screen's
    way). `session` is only read by `reference(branch)`, in a worker, for another branch's
    events (the branch on screen is never read there)."""
    from inspector.engine.session import Feed, Intervene

    if source.info is None or source.info.label != timeline.label:
        source.info = model_info(timeline.model, timeline.label, timeline.task)
    events = timeline.events
    tokens = tuple(step.typed for step in timeline.steps)
    interventions = []
    step = 0
    for event in events:
        if isinstance(event, Feed):
            step += 1
        elif isinstance(event, Intervene):
            interventions.append((step, event.intervention.describe()))

    def reference(name: str | None):
        if name is None:
            return source.activations(tuple(e for e in events if isinstance(e, Feed)))
        return source.activations(session.branch_events(name))

    return PanelInput(timeline.generation, source.info, tokens, timeline.t, timeline.unit_name,
                      source.activations(events), source.run, timeline.feature, timeline.span,
                      timeline.branch, session.branch_names(), tuple(interventions), reference)
