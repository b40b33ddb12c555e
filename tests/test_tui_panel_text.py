"""The text coloured by a unit (Karpathy's cell view): every character's colour is the level of
the unit's value at its step, as the session's own records give it."""

from __future__ import annotations

import numpy as np
from panel_support import PanelHost, settle, small_model

from inspector.tui.colours import SIGNED, UNIT, adaptive_signed
from inspector.tui.numbers import number
from inspector.tui.panels.text_colour import SPEC, TextPanel
from inspector.tui.panels.unit_colours import char_style


def unit_history(session, name: str, unit: int) -> np.ndarray:
    return np.array([r.activation(name)[unit] for r in session.records(0, session.cursor)])


def styles_shown(panel: TextPanel) -> list:
    """The style of every character drawn, step by step, from the widget's own layout."""
    return [panel.text.step_style(t) for row in panel.text.rows for t, _ in row]


async def test_each_character_is_coloured_by_the_unit_at_its_step():
    app = PanelHost([SPEC], small_model())
    async with app.run_test(size=(80, 20)) as pilot:
        panel = app.dock.panels["text"]
        app.frame()
        await settle(pilot)
        assert "select a unit" in panel.note.text() or "type" in panel.note.text()
        app.session.feed("hello world\nabcabc")
        app.frame(unit="l1.h[5]")
        await settle(pilot)
        values = unit_history(app.session, "l1.h", 5)
        levels = SIGNED.quantise(values)  # a tanh h: the fixed ±1 scale
        np.testing.assert_allclose(panel.colours.values, values, atol=1e-5)
        shown = styles_shown(panel)
        last = len(values) - 1
        for t, style in enumerate(shown):
            expected = char_style("signed", int(levels[t]))
            assert style == (expected + style.__class__(reverse=True, bold=True)
                             if t == last else expected), t
        assert panel.text.line_text(0) == "hello␣world↵"
        assert panel.text.line_text(1) == "abcabc"
        legend = panel.legend.text()
        assert legend.startswith("l1.h[5] ") and "-1 … 0 … +1" in legend
        assert legend.endswith(f"t={last} 'c': {number(values[last])}")


async def test_moving_the_step_on_view_moves_the_mark_without_recomputing():
    app = PanelHost([SPEC], small_model())
    async with app.run_test(size=(80, 20)) as pilot:
        panel = app.dock.panels["text"]
        app.session.feed("abcdef")
        app.frame(unit="l0.c[2]")
        await settle(pilot)
        key = panel.shown_key
        app.t = 2
        app.generation -= 1  # the same timeline: only the step on view moved
        app.frame()
        await settle(pilot)
        assert panel.shown_key == key
        values = unit_history(app.session, "l0.c", 2)
        scale = adaptive_signed(values)  # a cell state is unbounded: the timeline's largest |c|
        assert panel.text.step_style(2) == char_style("signed", int(scale.quantise(values)[2])) \
            + char_style("signed", 0).__class__(reverse=True, bold=True)
        assert panel.legend.text().endswith(f"t=2 'c': {number(values[2])}")


async def test_a_gate_is_coloured_on_its_0_to_1_scale_and_a_long_text_scrolls_to_the_step():
    app = PanelHost([SPEC], small_model())
    async with app.run_test(size=(40, 12)) as pilot:
        panel = app.dock.panels["text"]
        app.session.feed("abcdefghij" * 40)
        app.frame(unit="l0.gate.f[1]")
        await settle(pilot)
        values = unit_history(app.session, "l0.gate.f", 1)
        assert panel.colours.scale == UNIT
        np.testing.assert_array_equal(panel.colours.levels, UNIT.quantise(panel.colours.values))
        np.testing.assert_allclose(panel.colours.values, values, atol=1e-5)
        row = panel.text.row_of[len(values) - 1]
        assert panel.text.scroll_y <= row < panel.text.scroll_y + panel.text.size.height
        assert row > panel.text.size.height  # the text is longer than the panel
