"""From engine records to what the widgets show: heatmap layout, tape cells, misses, log lines.

Plain functions and one small cache, no widgets, so the rules (what counts as a miss, which scale a
map uses) are tested without a terminal.
"""

from __future__ import annotations

import string
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from inspector.tui.palette import SIGNED, UNIT, Scale, adaptive_signed
from inspector.tui.text import log_line
from inspector.tui.widgets.tape import TapeCell
from models.tasks import stream_targets

if TYPE_CHECKING:
    from inspector.engine import InspectableModel, Session, StepRecord

SIGMOID_GATES = frozenset("ifozr")
LETTERS = string.ascii_lowercase


@dataclass(frozen=True)
class MapSpec:
    """One heatmap: the activation it shows, its short title, and how its values are scaled."""

    activation: str
    title: str
    layer: int
    scale: str  # "signed" (fixed ±1) | "unit" (fixed 0..1) | "adaptive" (±max of the values)
    gate: bool = False

    def scale_for(self, values: np.ndarray) -> Scale:
        if self.scale == "unit":
            return UNIT
        if self.scale == "signed":
            return SIGNED
        return adaptive_signed(values)


def map_specs(model: InspectableModel) -> list[MapSpec]:
    """Per layer: h, c (LSTM), every gate in PyTorch order, Δh."""
    specs = []
    h_scale = "adaptive" if model.cell == "rnn" else "signed"  # relu RNNs are unbounded
    for layer in range(model.n_layers):
        specs.append(MapSpec(f"l{layer}.h", "h", layer, h_scale))
        if model.has_cell:
            specs.append(MapSpec(f"l{layer}.c", "c", layer, "adaptive"))
        for gate in model.gate_names:
            scale = "unit" if gate in SIGMOID_GATES else "signed"
            specs.append(MapSpec(f"l{layer}.gate.{gate}", gate, layer, scale, gate=True))
        specs.append(MapSpec(f"l{layer}.dh", "Δh", layer, "adaptive"))
    return specs


def legend_names(model: InspectableModel) -> tuple[str, str, str]:
    """Titles of the maps on each scale, for the legend: (fixed ±1, fixed 0..1, per map)."""
    specs = [s for s in map_specs(model) if s.layer == 0]
    names = {kind: " ".join(s.title for s in specs if s.scale == kind)
             for kind in ("signed", "unit", "adaptive")}
    return names["signed"], names["unit"], names["adaptive"]


@dataclass(frozen=True)
class StepSummary:
    """What tape and log need of one step, kept so old steps are never recomputed per key."""

    t: int
    typed: str
    token: str
    prediction: str
    line: str
    intervened: bool = False  # an intervention edited the state this step read, or a clamp holds
    by_model: bool = False  # the model wrote this step (Session.generate)


def summarise(record: StepRecord) -> StepSummary:
    top = record.layers[-1]
    h_before = top.h - top.delta_h  # the state step t read: zero at t=0
    edits = tuple(iv.describe() for iv in record.interventions) or tuple(
        "held " + iv.describe().removeprefix("clamp ") for iv in record.clamps)
    line = log_line(record.t, record.token, record.prediction, record.confidence, h_before, edits)
    return StepSummary(record.t, record.typed, record.token, record.prediction, line, bool(edits),
                       record.by_model)


class StepCache:
    """Summaries of steps 0..cursor-1 of the session on screen, grown as steps are fed."""

    def __init__(self) -> None:
        self.steps: list[StepSummary] = []

    def __len__(self) -> int:
        return len(self.steps)

    def extend(self, records: Sequence[StepRecord]) -> None:
        self.add(summarise(record) for record in records)

    def add(self, summaries: Iterable[StepSummary]) -> None:
        """Append summaries that continue the timeline (a stale one, from before a back, is
        skipped rather than misplaced)."""
        for summary in summaries:
            if summary.t == len(self.steps):
                self.steps.append(summary)

    def sync(self, session: Session) -> None:
        """Match the session's cursor after back/forward (and after a bulk feed in a worker)."""
        cursor = session.cursor
        del self.steps[cursor:]
        if len(self.steps) < cursor:
            self.extend(session.records(len(self.steps), cursor))

    def clear(self) -> None:
        self.steps.clear()


def task_target(task: str | None, steps: Sequence[StepSummary], t: int) -> str | None:
    """The output a transduction task wants at step t (None where it says nothing), from the
    task's own target function: only the run of equal letters ending at t matters."""
    if task not in ("shift", "doubled"):
        return None
    start = t
    while start > 0 and steps[start - 1].typed == steps[t].typed:
        start -= 1
    targets = stream_targets(task, "".join(step.typed for step in steps[start:t + 1]))
    return targets[-1]


def is_miss(task: str | None, steps: Sequence[StepSummary], t: int) -> bool:
    """Whether the prediction shown under step t was wrong.

    For the transduction tasks (`shift`, `doubled`) the output at t is compared with the task's
    target for x[t]. A language model's output at t is its guess at x[t+1]: it is a miss when
    the next key typed differs (the newest step's guess is not judged yet).
    """
    step = steps[t]
    if task in ("shift", "doubled"):
        target = task_target(task, steps, t)
        return target is not None and step.prediction != target
    return t + 1 < len(steps) and step.prediction != steps[t + 1].typed


def tape_window(steps: Sequence[StepSummary], pending: str, capacity: int,
                view_t: int | None, task: str | None) -> tuple[list[TapeCell], int, int | None]:
    """The cells that fit, ending at the newest step unless the step on view is further back.

    Returns (cells, first t, index of the step on view within cells)."""
    total = len(steps) + len(pending)
    end = total if view_t is None else min(total, max(view_t + 1 + capacity // 4, capacity))
    start = max(0, end - capacity)
    cells = []
    for t in range(start, end):
        if t < len(steps):
            step = steps[t]
            cells.append(TapeCell(step.typed, step.prediction, is_miss(task, steps, t),
                                  step.intervened, step.by_model))
        else:
            cells.append(TapeCell(pending[t - len(steps)], None))
    view_index = None if view_t is None else view_t - start
    if view_t is None and steps:
        view_index = len(steps) - 1 - start
    return cells, start, view_index
