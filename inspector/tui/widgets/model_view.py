"""Everything shown for one model: tape, per-layer heatmaps, top-k, unit detail, legend, log.

A screen holds one of these per model (compare mode puts two side by side) and tells it which
step is on view; the view asks each widget only for the window that fits on screen.
"""

from __future__ import annotations

import math

from textual.app import ComposeResult
from textual.containers import Container, Horizontal, Vertical, VerticalScroll
from textual.errors import NoWidget
from textual.geometry import NULL_REGION, Region
from textual.message import Message
from textual.strip import Strip
from textual.widgets import Static

from inspector.tui.frames import ViewFrame, ViewLayout, Viewport
from inspector.tui.widgets.heatmap import Heatmap, map_layout
from inspector.tui.widgets.legend import Legend
from inspector.tui.widgets.step_log import StepLog
from inspector.tui.widgets.tape import Tape
from inspector.tui.widgets.top_k import TopK
from inspector.tui.widgets.unit_detail import UnitDetail


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
TITLE_RANGE = len(" ±0.75")  # a map's title is its name and the range of its colours


def map_columns(units: int, maps: int, width: int) -> int:
    """How many heatmaps of `units` to put side by side in `width` cells: as many as keep each
    map at most MAX_MAP_LINES text lines tall (two units per cell), at least one. (The panel
    scrolls then: fewer rows of maps beat whole titles, which lose their range instead.)

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
        self.all_units = units
        self.ordered = False  # the maps show a panel's top units, not all of them
        self.maps_per_layer = maps_per_layer

    def on_resize(self) -> None:
        """Grow the maps to fill the panel where they fit (a 64-unit layer's units get 2x2 or
        3x3 cells at 200x60), else lay them out as `map_columns` says and let the panel scroll."""
        region = self.scrollable_content_region
        layers = len(self.query(".layer"))
        maps = max(1, sum(1 for heatmap in self.query(Heatmap)
                          if heatmap.display) // max(1, layers))
        titles = max((len(heatmap.title) + TITLE_RANGE for heatmap in self.query(Heatmap)),
                     default=1)
        fit = map_layout(self.units, maps, layers, region.width, region.height, titles)
        columns, zoom = fit if fit is not None else (
            map_columns(self.units, maps, region.width), (1, 1))
        for grid in self.query(".layer"):
            grid.styles.grid_size_columns = columns
        map_width = (region.width + 1) // columns - 1  # the narrowest of the grid's columns
        for heatmap in self.query(Heatmap):
            heatmap.set_zoom(zoom, map_width)
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
    """The inspector for one model: draws the `ViewFrame`s its controller builds."""

    class Resized(Message):
        """The view has a new size: the screen redraws so each window fits (tape, log)."""

    def render_lines(self, crop: Region) -> list[Strip]:
        """Its children cover it: without a border (compare mode draws one) it is blank lines,
        as `BlankContainer`, not styled line by line on every frame."""
        if not any(self.styles.gutter):
            return [Strip.blank(crop.width, self.visual_style.rich_style)] * crop.height
        return super().render_lines(crop)

    def on_resize(self) -> None:
        self.post_message(self.Resized())

    def __init__(self, layout: ViewLayout, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.view_layout = layout
        # Kept by reference: querying the DOM on every key costs more than drawing some panels.
        self.tape = Tape(id="tape")
        self.maps = MapsPanel(layout.hidden, layout.maps_per_layer, id="maps")
        self.heatmaps = [Heatmap(spec.activation, spec.title, layout.hidden,
                                 classes="gate" if spec.gate else None) for spec in layout.specs]
        self.top_k = TopK(id="top-k")
        self.unit_detail = UnitDetail(id="unit")
        self.step_log = StepLog()
        self.legend = Legend(id="legend")
        self.layer_titles = [Static(f"layer {layer}", classes="layer-title")
                             for layer in range(layout.n_layers)]
        self._titles: dict[int, str] = {}  # the layer titles' text, as last set

    def compose(self) -> ComposeResult:
        yield self.tape
        with BlankHorizontal(id="body"):
            with self.maps:
                for layer in range(self.view_layout.n_layers):
                    yield self.layer_titles[layer]
                    with BlankContainer(classes="layer"):
                        yield from (heatmap for heatmap, spec in zip(self.heatmaps,
                                                                     self.view_layout.specs,
                                                                     strict=True)
                                    if spec.layer == layer)
            with Panel(id="side"):
                yield self.top_k
                yield Static("F4: the unit", classes="compact-hint")
                yield self.unit_detail
                yield self.legend
        # The rule above the log is the box's border: the log itself has none, so its lines,
        # new on every key, skip Textual's per-line border pass (see DirectLines).
        with Container(id="log", classes="log-box"):
            yield self.step_log

    def on_mount(self) -> None:
        self.legend.describe(*self.view_layout.legend)

    def viewport(self) -> Viewport:
        """How much of the timeline fits, as laid out now."""
        return Viewport(self.tape.capacity, self.step_log.capacity,
                        self.unit_detail.history_width)

    def _show_orders(self, frame: ViewFrame) -> None:
        """A panel's top units in the maps (or all units again): titles say which, and the
        grid is laid out for the new number of units."""
        orders = {}
        for spec, map_frame in zip(self.view_layout.specs, frame.maps, strict=True):
            orders.setdefault(spec.layer, (map_frame.order, map_frame.order_label))
        ordered = any(order is not None for order, _ in orders.values())
        for layer, title in enumerate(self.layer_titles):
            order, label = orders.get(layer, (None, ""))
            text = f"layer {layer}" + (f" · {label}" if order is not None else "")
            if self._titles.get(layer) != text:  # Static.update lays the screen out again
                self._titles[layer] = text
                title.update(text)
        shown = max((len(order) for order, _ in orders.values() if order is not None),
                    default=self.maps.all_units)
        if ordered != self.maps.ordered or shown != self.maps.units:
            self.maps.ordered = ordered
            self.maps.units = shown
            self.call_after_refresh(self.maps.on_resize)

    def draw(self, frame: ViewFrame) -> None:
        self.tape.show(frame.tape)
        panel = self.maps.region
        ordered = any(m.order is not None for m in frame.maps)
        if ordered or self.maps.ordered:
            self._show_orders(frame)
        screen = self.screen  # once: `widget.region` walks up to it for every map
        for heatmap, map_frame in zip(self.heatmaps, frame.maps, strict=True):
            try:
                region = screen.find_widget(heatmap).region
            except NoWidget:  # not laid out yet
                region = NULL_REGION
            heatmap.show(map_frame.values, map_frame.scale, map_frame.selected,
                         visible=region.overlaps(panel), t=frame.t, order=map_frame.order)
        self.top_k.show(frame.top)
        self.step_log.show(frame.log)
        self.unit_detail.show(frame.unit, frame.unit_placeholder, formulas=frame.formulas)
        if frame.scale_mode != self.legend.mode:
            self.legend.set_mode(frame.scale_mode)
