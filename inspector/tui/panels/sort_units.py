"""Item 7 of the analysis issue: sort the units at the step on view, and show the top ones in
the maps.

Four orders, cycled with ctrl+← / ctrl+→: |value| (the unit's h after the step), |Δh| (how much
the step moved it), contribution (gradient × activation for the prediction on view, from
`inspector.analysis.contribution`) and match (|r| against the tape span or the chosen feature,
from `inspector.analysis.units.rank_chunks`). The list ranks every layer's h units together;
while the panel is on view each layer's maps show that layer's top units in this order.
ctrl+↑ / ctrl+↓ (or a click) selects a unit of the list.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.app import ComposeResult

from inspector.tui.numbers import number
from inspector.tui.panels.base import AnalysisPanel, PanelError, PanelInput, PanelSpec
from inspector.tui.panels.units import pattern_of
from inspector.tui.widgets.lines import LinesWidget

ORDERS = ("value", "dh", "contribution", "match")
ORDER_TITLES = {"value": "|value|", "dh": "|Δh|", "contribution": "contribution to the prediction",
                "match": "match"}
MAP_UNITS = 32  # units each layer's maps keep while the panel is on view
BOLD = Style(bold=True)
DIM = Style(dim=True)
CURSOR = Style(reverse=True)
SELECTED = Style(bold=True, underline=True)


@dataclass(frozen=True)
class SortedUnits:
    order: str
    t: int
    about: str  # what the scores are of: `t=12`, `the prediction 'b' at t=12`, `pair-position`
    names: tuple[str, ...]  # every layer's h units, best first
    scores: tuple[float, ...]  # the signed score of each (sorted by its magnitude)
    layer_orders: tuple[tuple[int, ...], ...]  # per layer: its units, best first


def score_units(data: PanelInput, order: str) -> SortedUnits:
    """Every h unit's score at the step on view (worker thread)."""
    if data.t is None:
        raise PanelError("type: the units are sorted at the step on view")
    t, layers = data.t, data.model.n_layers
    about = f"t={t}"
    if order in ("value", "dh"):
        suffix = "h" if order == "value" else "dh"
        per_layer = [np.asarray(data.activations.get(f"l{k}.{suffix}")[t], dtype=np.float64)
                     for k in range(layers)]
    elif order == "contribution":
        per_layer, about = _contributions(data)
    else:
        per_layer, about = _matches(data)
    names, scores = [], []
    for k, values in enumerate(per_layer):
        names += [f"l{k}.h[{u}]" for u in range(len(values))]
        scores += [float(v) for v in values]
    magnitude = np.abs(np.nan_to_num(np.array(scores), nan=-1.0))
    best = np.argsort(-magnitude, kind="stable")
    layer_orders = tuple(tuple(int(u) for u in np.argsort(-np.abs(np.nan_to_num(v, nan=-1.0)),
                                                          kind="stable"))
                         for v in per_layer)
    return SortedUnits(order, t, about, tuple(names[i] for i in best),
                       tuple(scores[i] for i in best), layer_orders)


def _contributions(data: PanelInput) -> tuple[list[np.ndarray], str]:
    from inspector.analysis.contribution import contributions

    if not data.model.native:
        raise PanelError("contributions need the model's own weights: a model with its own "
                         "forward has no gradients here")
    t = data.t
    before = data.activations.state_before(t)
    after = {name: data.activations.get(name)[t] for name in data.activations.names()
             if name.endswith((".h", ".c"))}
    token = data.tokens[t]

    def job(model):
        return contributions(model, before, model.vocab.encode(token)[0], after=after)

    result = data.run(job)
    layers = [result.scores[f"l{k}.h"] for k in range(data.model.n_layers)]
    return layers, f"the prediction {result.target!r} at t={t}"


def _matches(data: PanelInput) -> tuple[list[np.ndarray], str]:
    from inspector.analysis.features import FeatureError, feature
    from inspector.analysis.units import rank_chunks

    spec, described = pattern_of(data)
    if data.steps < 2:
        raise PanelError("type a few characters: a match needs at least two steps")
    names = [f"l{k}.h" for k in range(data.model.n_layers)]
    try:
        pattern = feature(spec, data.text)
        model = data.run(lambda model: model)  # its names and bounds only: nothing is stepped
        ranking = rank_chunks(model, data.activations.chunks(names), pattern, names=names)
    except FeatureError as exc:
        raise PanelError(str(exc)) from None
    layers = [np.zeros(data.model.hidden) for _ in names]
    for score in ranking.units:
        name, _, unit = score.name.partition("[")
        layers[int(name[1:].split(".")[0])][int(unit[:-1])] = score.r
    return layers, f"r against {described}"


class SortPanel(AnalysisPanel):
    """The sorted list; the maps follow it while it is on view."""

    def __init__(self) -> None:
        super().__init__()
        self.order = ORDERS[0]
        self.title = LinesWidget(classes="panel-title")
        self.rows = LinesWidget(classes="panel-rows")
        self.sorted: SortedUnits | None = None
        self.row = 0
        self.first = 0

    def compose_body(self) -> ComposeResult:
        yield self.title
        yield self.rows

    def depends_on(self, data: PanelInput):
        pattern = (data.feature, data.span) if self.order == "match" else None
        return (data.generation, data.t, self.order, pattern)

    def compute(self, data: PanelInput) -> SortedUnits:
        return score_units(data, self.order)

    def draw(self, result: SortedUnits) -> None:
        if self.sorted is None or self.sorted.order != result.order:
            self.row = self.first = 0
        self.sorted = result
        self._draw()
        top = MAP_UNITS if self.data is None else min(MAP_UNITS, self.data.model.hidden)
        self.post_message(self.ShowUnits(tuple(o[:top] for o in result.layer_orders),
                                         f"top {top} by {ORDER_TITLES[result.order]}"))

    def clear(self) -> None:
        self.sorted = None
        self.title.set_lines([])
        self.rows.set_lines([])
        self.post_message(self.ShowUnits(None))

    def activate(self, active: bool) -> None:
        was = self.on_view
        super().activate(active)
        if was and not active:  # the maps show every unit again
            self.post_message(self.ShowUnits(None))
        elif active and not was and self.sorted is not None and self.shown_key is not None:
            self.draw(self.sorted)

    def update_input(self, data: PanelInput) -> None:
        unit_moved = self.data is not None and self.data.unit != data.unit
        super().update_input(data)
        if unit_moved and self.sorted is not None:
            self._draw()

    @property
    def capacity(self) -> int:
        return max(1, self.size.height - 2)

    def _draw(self) -> None:
        result = self.sorted
        self.title.set_lines([[Segment("units by ", DIM), Segment(ORDER_TITLES[result.order], BOLD),
                               Segment(f" · {result.about} · ctrl+←→ order", DIM)]])
        self.row = min(self.row, len(result.names) - 1)
        if self.row < self.first:
            self.first = self.row
        elif self.row >= self.first + self.capacity:
            self.first = self.row - self.capacity + 1
        selected = self.data.unit if self.data is not None else None
        lines = []
        for rank in range(self.first, min(len(result.names), self.first + self.capacity)):
            name = result.names[rank]
            style = CURSOR if rank == self.row else SELECTED if name == selected else Style()
            lines.append([Segment(f"{rank + 1:>3} {name:<10} {number(result.scores[rank])}",
                                  style)])
        self.rows.set_lines(lines)

    def cursor(self, delta: int) -> None:
        if self.sorted is None or not self.sorted.names:
            return
        names = self.sorted.names
        selected = self.data.unit if self.data is not None else None
        if names[self.row] == selected or delta == 0:
            self.row = max(0, min(len(names) - 1, self.row + delta))
        self._draw()
        self.post_message(self.SelectUnit(names[self.row]))

    def option(self, delta: int) -> None:
        self.order = ORDERS[(ORDERS.index(self.order) + delta) % len(ORDERS)]
        if self.data is not None:
            self.update_input(self.data)

    def on_click(self, event: events.Click) -> None:
        if self.sorted is None:
            return
        offset = event.get_content_offset(self.rows)
        if offset is not None and 0 <= offset.y < len(self.rows.lines):
            self.row = self.first + offset.y
            self.cursor(0)


SPEC = PanelSpec("sort", "Sort units", SortPanel, order=25,
                 description="Sort the units by |value|, |Δh|, contribution to the prediction "
                             "or match score; the maps show the top ones")
