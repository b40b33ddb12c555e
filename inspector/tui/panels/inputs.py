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
    if source.info is None or source.info.label != timeline.label:
        source.info = model_info(timeline.model, timeline.label, timeline.task)
    return events_input(timeline.events, tuple(step.typed for step in timeline.steps), session,
                        source, source.info, timeline.generation, t=timeline.t,
                        unit=timeline.unit_name, feature=timeline.feature, span=timeline.span,
                        branch=timeline.branch)


def events_input(events: tuple, tokens: tuple[str, ...], session: Any, source: TimelineSource,
                 info: ModelInfo, generation: int, *, t: int | None, unit: str | None,
                 feature: str | None, span: tuple[int, int] | None, branch: str) -> PanelInput:
    """The input for the timeline made of `events` (the branch on view): its interventions with
    the step each edits the state of, and the runs a panel may compare with (`reference`)."""
    from inspector.engine.session import Feed, Intervene

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

    return PanelInput(generation, info, tokens, t, unit, source.activations(events), source.run,
                      feature, span, branch, session.branch_names(), tuple(interventions),
                      reference)
