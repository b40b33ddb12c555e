"""Sort units: each order's list is the session's numbers sorted, the contribution order is the
analysis package's gradient × activation, and the maps are asked for each layer's top units."""

from __future__ import annotations

import numpy as np
from panel_support import PanelHost, settle, small_model

from inspector.analysis import feature
from inspector.analysis.contribution import contributions
from inspector.analysis.units import rank_chunks
from inspector.engine import Intervention
from inspector.tui.numbers import number
from inspector.tui.panels.sort_units import SPEC
from inspector.tui.panels.text_colour import SPEC as TEXT_SPEC

TEXT = "sorting the units of a small lstm"


def shown(panel) -> list[tuple[str, str]]:
    return [tuple(panel.rows.line_text(y).split()[1:3]) for y in range(len(panel.rows.lines))]


def expected_rows(scores: dict[str, np.ndarray], n: int) -> list[tuple[str, str]]:
    flat = [(f"{name}[{u}]", float(v)) for name, values in scores.items()
            for u, v in enumerate(values)]
    flat.sort(key=lambda item: -abs(item[1]))
    return [(name, number(v)) for name, v in flat[:n]]


async def test_value_and_delta_h_orders_sort_the_step_on_view():
    model = small_model("lstm", 2, 16)
    app = PanelHost([SPEC], model)
    async with app.run_test(size=(90, 24)) as pilot:
        panel = app.dock.panels["sort"]
        app.session.feed(TEXT)
        app.frame(t=10)
        await settle(pilot)
        record = app.session.records(10, 11)[0]
        n = len(panel.rows.lines)
        assert n == panel.capacity
        h = {f"l{k}.h": record.activation(f"l{k}.h") for k in range(2)}
        assert shown(panel) == expected_rows(h, n)
        orders, label = app.shown_units
        assert label == "top 16 by |value|"
        for k in range(2):
            assert orders[k] == tuple(np.argsort(-np.abs(h[f"l{k}.h"]), kind="stable"))
        panel.option(1)
        await settle(pilot)
        dh = {f"l{k}.h": record.activation(f"l{k}.dh") for k in range(2)}
        assert shown(panel) == expected_rows(dh, n)
        assert "|Δh|" in panel.title.text() and "t=10" in panel.title.text()


async def test_contribution_order_is_gradient_times_activation_of_the_prediction():
    model = small_model("lstm", 2, 16)
    app = PanelHost([SPEC], model)
    async with app.run_test(size=(90, 24)) as pilot:
        panel = app.dock.panels["sort"]
        app.session.feed("abc")
        app.session.intervene(Intervention("set", "l0.h", 4, 0.8))  # the state step 3 reads
        app.session.feed("defgh")
        panel.order = "contribution"
        app.frame(t=3)
        await settle(pilot)
        record = app.session.records(3, 4)[0]
        before = tuple((layer.h, layer.c) for layer in app.session.state_before(3))
        expected = contributions(model, before, record.token_id)
        scores = {f"l{k}.h": expected.scores[f"l{k}.h"] for k in range(2)}
        assert shown(panel) == expected_rows(scores, len(panel.rows.lines))
        assert f"the prediction {record.prediction!r} at t=3" in panel.title.text()
        panel.cursor(1)
        await settle(pilot)
        assert app.unit == expected_rows(scores, 1)[0][0]


async def test_match_order_is_r_against_the_pattern_and_leaving_shows_every_unit_again():
    model = small_model("gru", 1, 16)
    app = PanelHost([SPEC, TEXT_SPEC], model)
    async with app.run_test(size=(90, 24)) as pilot:
        panel = app.dock.panels["sort"]
        app.session.feed(TEXT)
        panel.order = "match"
        app.frame(feature="char=t")
        await settle(pilot)
        text = app.session.text
        ranking = rank_chunks(model, app.source.activations(app.session.events).chunks(["l0.h"]),
                              feature("char=t", text), names=["l0.h"])
        r = np.zeros(16)
        for score in ranking.units:
            r[int(score.name[5:-1])] = score.r
        assert shown(panel) == expected_rows({"l0.h": r}, len(panel.rows.lines))
        assert "r against char=t" in panel.title.text()
        app.dock.next_panel()
        await settle(pilot)
        assert app.shown_units == (None, "")
