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

from inspector.names import parse_name
from inspector.tui.numbers import number
from inspector.tui.panels.base import PanelError, PanelInput, PanelSpec
from inspector.tui.panels.unit_list import BOLD, DIM, UnitListPanel
from inspector.tui.panels.units import pattern_of

ORDERS = ("value", "dh", "contribution", "match")
ORDER_TITLES = {"value": "|value|", "dh": "|Δh|", "contribution": "contribution to the prediction",
                "match": "match"}
MAP_UNITS = 32  # units each layer's maps keep while the panel is on view


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
        name = parse_name(score.name)
        layers[name.layer][name.unit] = score.r
    return layers, f"r against {described}"


class SortPanel(UnitListPanel):
    """The sorted list; the maps follow it while it is on view."""

    ORDERS = ORDERS

    @property
    def sorted(self) -> SortedUnits | None:
        return self.result

    def depends_on(self, data: PanelInput):
        pattern = (data.feature, data.span) if self.order == "match" else None
        return (data.generation, data.t, self.order, pattern)

    def compute(self, data: PanelInput) -> SortedUnits:
        return score_units(data, self.order)

    def draw(self, result: SortedUnits) -> None:
        self.show(result, fresh=self.result is not None and self.result.order != result.order)
        top = MAP_UNITS if self.data is None else min(MAP_UNITS, self.data.model.hidden)
        self.post_message(self.ShowUnits(tuple(o[:top] for o in result.layer_orders),
                                         f"top {top} by {ORDER_TITLES[result.order]}"))

    def clear(self) -> None:
        super().clear()
        self.post_message(self.ShowUnits(None))

    def activate(self, active: bool) -> None:
        was = self.on_view
        super().activate(active)
        if was and not active:  # the maps show every unit again
            self.post_message(self.ShowUnits(None))
        elif active and not was and self.result is not None and self.shown_key is not None:
            self.draw(self.result)

    def unit_names(self) -> tuple[str, ...]:
        return self.result.names

    def title_line(self) -> list[Segment]:
        return [Segment("units by ", DIM), Segment(ORDER_TITLES[self.result.order], BOLD),
                Segment(f" · {self.result.about} · ctrl+←→ order", DIM)]

    def row_text(self, rank: int) -> str:
        return f"{rank + 1:>3} {self.result.names[rank]:<10} {number(self.result.scores[rank])}"


SPEC = PanelSpec("sort", "Sort units", SortPanel, order=25,
                 description="Sort the units by |value|, |Δh|, contribution to the prediction "
                             "or match score; the maps show the top ones")
