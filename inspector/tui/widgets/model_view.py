"""Everything shown for one model: tape, per-layer heatmaps, top-k, unit detail, legend, log.

A screen holds one of these per model (compare mode puts two side by side) and tells it which
step is on view; the view asks each widget only for the window that fits on screen.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
from textual.app import ComposeResult
from textual.containers import Container, Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Static

from inspector.tui.colours import SCALE_MODES, SessionRanges, scale_for
from inspector.tui.explain import held_names, unit_formulas
from inspector.tui.view import StepCache, legend_names, map_specs, tape_window
from inspector.tui.widgets.heatmap import Heatmap, map_layout
from inspector.tui.widgets.legend import Legend
from inspector.tui.widgets.step_log import StepLog
from inspector.tui.widgets.tape import Tape
from inspector.tui.widgets.top_k import TopK
from inspector.tui.widgets.unit_detail import GateSplit, UnitDetail, UnitView

if TYPE_CHECKING:
    from inspector.engine import InspectableModel, Session, StepRecord


class Panel(VerticalScroll, can_focus=False):
    """A scrolling panel that never takes focus, so arrow keys stay with the screen's bindings."""


class BlankContainer(Container):
    """A container that draws nothing of its own (no border; its children cover it): Textual
    then paints it as plain blank lines instead of styling each line of it on every frame."""

    BLANK = True


class BlankHorizontal(Horizontal):
    """`BlankContainer`, laid out left to right."""

    BLANK = True


MAX_MAP_LINES = 6


def map_columns(units: int, maps: int, width: int) -> int:
    """How many heatmaps of `units` to put side by side in `width` cells: as many as keep each
    map at most MAX_MAP_LINES text lines tall (two units per cell), at least one.

    A 64-unit layer puts all its maps in one row; a 512-unit layer gets one wide map per row at
    120 columns. The compositor's cost per key grows with the number of widget lines on screen
    (each costs ~0.15 ms in Textual however few cells it has), so wide short maps are also the
    fast ones.
    """
    for columns in range(maps, 1, -1):
        map_width = (width + 1) // columns - 1
        if map_width >= 2 and math.ceil(math.ceil(units / map_width) / 2) <= MAX_MAP_LINES:
            return columns
    return 1


class MapsPanel(Panel):
    """The heatmaps, one grid per layer, as many columns as fit the panel's width."""

    BLANK = True  # its padding is blank and the maps cover the rest: see BlankContainer

    def __init__(self, units: int, maps_per_layer: int, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.units = units
        self.maps_per_layer = maps_per_layer

    def on_resize(self) -> None:
        """Grow the maps to fill the panel where they fit (a 64-unit layer's units get 2x2 or
        3x3 cells at 200x60), else lay them out as `map_columns` says and let the panel scroll."""
        region = self.scrollable_content_region
        layers = len(self.query(".layer"))
        maps = max(1, sum(1 for heatmap in self.query(Heatmap)
                          if heatmap.display) // max(1, layers))
        fit = map_layout(self.units, maps, layers, region.width, region.height)
        columns, zoom = fit if fit is not None else (
            map_columns(self.units, maps, region.width), (1, 1))
        for grid in self.query(".layer"):
            grid.styles.grid_size_columns = columns
        for heatmap in self.query(Heatmap):
            heatmap.set_zoom(zoom)
        self.call_after_refresh(self.catch_up)

    def shows(self, heatmap: Heatmap) -> bool:
        """Whether the heatmap is (at least partly) in view, as of the last layout."""
        return heatmap.region.overlaps(self.region)

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        self.call_after_refresh(self.catch_up)  # once the regions reflect the new offset

    def catch_up(self) -> None:
        """Redraw the maps that scrolled into view since their values last changed."""
        for heatmap in self.query(Heatmap):
            if heatmap.stale and self.shows(heatmap):
                heatmap.catch_up()


class ModelView(Vertical):
    """The inspector for one model and its session."""

    class Resized(Message):
        """The view has a new size: the screen redraws so each window fits (tape, log)."""

    def on_resize(self) -> None:
        self.post_message(self.Resized())

    def __init__(self, model: InspectableModel, task: str | None, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.model = model
        self.task_name = task
        self.specs = map_specs(model)
        # Kept by reference: querying the DOM on every key costs more than drawing some panels.
        self.tape = Tape(id="tape")
        self.maps = MapsPanel(model.hidden, len(self.specs) // model.n_layers, id="maps")
        self.heatmaps = [Heatmap(spec.activation, spec.title, model.hidden,
                                 classes="gate" if spec.gate else None) for spec in self.specs]
        self.top_k = TopK(id="top-k")
        self.unit_detail = UnitDetail(id="unit")
        self.step_log = StepLog(id="log")
        self.scale_mode = SCALE_MODES[0]  # "session": a colour means one number at every step
        self.ranges = SessionRanges()

    def compose(self) -> ComposeResult:
        yield self.tape
        with BlankHorizontal(id="body"):
            with self.maps:
                for layer in range(self.model.n_layers):
                    yield Static(f"layer {layer}", classes="layer-title")
                    with BlankContainer(classes="layer"):
                        yield from (heatmap for heatmap, spec in zip(self.heatmaps, self.specs,
                                                                     strict=True)
                                    if spec.layer == layer)
            with Panel(id="side"):
                yield self.top_k
                yield self.unit_detail
                yield Legend(id="legend")
        yield self.step_log

    def on_mount(self) -> None:
        self.query_one(Legend).describe(*legend_names(self.model))

    def toggle_scale(self) -> str:
        """Session-wide ranges ⇄ each map stretched over its own step; returns the new mode."""
        self.scale_mode = SCALE_MODES[1 - SCALE_MODES.index(self.scale_mode)]
        self.query_one(Legend).set_mode(self.scale_mode)
        return self.scale_mode

    def show(self, session: Session, cache: StepCache, pending: str, view_t: int | None,
             layer: int, unit: int) -> StepRecord | None:
        """Draw step `view_t` (None: the newest) with `unit` of `layer` selected; returns the
        record drawn."""
        t = len(cache) - 1 if view_t is None else view_t
        record = self._record(session, t)
        cells, first_t, view_index = tape_window(cache.steps, pending, self.tape.capacity, view_t,
                                                 self.task_name)
        self.tape.show(cells, first_t, view_index)
        panel = self.maps.region
        for heatmap, spec in zip(self.heatmaps, self.specs, strict=True):
            values = None if record is None else record.activation(spec.activation)
            scale = scale_for(spec.scale, spec.activation, values, self.scale_mode, self.ranges)
            heatmap.show(values, scale, unit if spec.layer == layer else None,
                         visible=heatmap.region.overlaps(panel),
                         t=None if record is None else record.t)
        if record is None:
            self.top_k.show((), None)
        else:
            self.top_k.show(record.top, record.entropy)
        capacity = self.step_log.capacity
        self.step_log.show([step.line for step in cache.steps[max(0, t + 1 - capacity):t + 1]])
        self._show_unit(session, record, layer, unit)
        return record

    @staticmethod
    def _record(session: Session, t: int) -> StepRecord | None:
        if t < 0:
            return None
        if t == session.cursor - 1 and session.last is not None:
            return session.last
        return session.records(t, t + 1)[0]

    def _show_unit(self, session: Session, record: StepRecord | None, layer: int,
                   unit: int) -> None:
        detail = self.unit_detail
        if record is None:
            detail.show(None, f"unit {unit} of layer {layer}: no step yet")
            return
        step = record.layers[layer]
        state = {"h": float(step.h[unit])}
        if step.c is not None:
            state["c"] = float(step.c[unit])
        stop = record.t + 1
        start = max(0, stop - detail.history_width)
        history = session.history(f"l{layer}.h", unit, start, stop)
        names = self.model.gate_names or tuple(step.input_part)  # plain RNN / MLP: "h"
        gates = tuple(GateSplit(name, float(step.gates.get(name, step.h)[unit]),
                                float(step.input_part[name][unit]),
                                float(step.memory_part[name][unit]))
                      for name in names)
        formulas = unit_formulas(self.model.cell, step, session.state_before(record.t)[layer],
                                 unit, nonlinearity=self.model.nonlinearity or "tanh",
                                 held=held_names(record.clamps, layer, unit))
        detail.show(UnitView(layer, unit, self.model.hidden, state, np.asarray(history), start,
                             gates), formulas=formulas)
