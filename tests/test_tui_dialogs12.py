"""The compare-steps view and the go-to-unit dialog, driven by keys in a small app."""

import numpy as np
import pytest
from textual.app import App
from textual.widgets import Input, Label, Static

from inspector.engine import Session, inspectable
from inspector.engine.step_diff import compare_steps, default_pair
from inspector.loading import ModelSource, open_model
from inspector.tui.screens.compare_steps import CompareSteps, parse_steps
from inspector.tui.screens.goto_unit import GotoUnit, parse_unit
from inspector.tui.widgets.heatmap import Heatmap


@pytest.fixture(scope="module")
def lstm_session():
    session = Session(inspectable(open_model(ModelSource("doubled-lstm"))))
    session.feed("aab")
    return session


def text_of(widget: Static) -> str:
    return str(widget.render())


async def test_compare_steps_shows_both_states_their_difference_and_why(lstm_session):
    records = lstm_session.records(0, 3)

    def compare(a, b):
        if not (0 <= a < 3 and 0 <= b < 3):
            return f"no step {max(a, b)}: the timeline has steps 0..2"
        return compare_steps(records[a], records[b])

    pair = default_pair([r.typed for r in records])
    assert pair == (0, 1)
    app = App()
    async with app.run_test(size=(120, 60)) as pilot:
        app.push_screen(CompareSteps(compare, pair, 3))
        await pilot.pause()
        screen = app.screen
        line = text_of(screen.query_one("#compare-steps-line", Static))
        assert line.startswith("t=0 and t=1 both read 'a', so their input parts are equal")
        maps = list(screen.query(Heatmap))
        assert len(maps) == 3 * 4  # l0.h l0.c l1.h l1.c, each at t=0, t=1 and their difference
        first, second, difference = maps[:3]
        assert np.array_equal(first.values, records[0].layers[0].h)
        assert np.array_equal(second.values, records[1].layers[0].h)
        assert np.allclose(difference.values, records[1].layers[0].h - records[0].layers[0].h)
        units = text_of(screen.query(".compare-steps-units").first(Static))
        top = compare_steps(records[0], records[1]).layers[0].top[0]
        assert units.splitlines()[0].startswith(top.name)
        assert f"{top.a:+.2f} →" in units.splitlines()[0]
        field = screen.query_one(Input)
        field.value = "1 7"
        await pilot.press("enter")
        await pilot.pause()
        assert "no step 7" in text_of(screen.query_one("#compare-steps-line", Static))
        field.value = "1 2"
        await pilot.press("enter")
        await pilot.pause()
        assert "t=1 read 'a' and t=2 read 'b'" in text_of(screen.query_one("#compare-steps-line"))
        await pilot.press("escape")
        assert not isinstance(app.screen, CompareSteps)


def test_step_pairs_and_unit_addresses_parse():
    assert parse_steps("0 1") == parse_steps("t=0 t=1") == parse_steps("0,1") == (0, 1)
    with pytest.raises(ValueError):
        parse_steps("0")
    assert parse_unit("13", 2, 64, 1) == (1, 13)
    assert parse_unit("l0 13", 2, 64, 1) == parse_unit("l0.h[13]", 2, 64, 1) == (0, 13)
    assert parse_unit("l1.gate.f[5]", 2, 64, 0) == parse_unit("L1 unit 5", 2, 64, 0) == (1, 5)
    with pytest.raises(ValueError, match="no layer 2: the model has 2"):
        parse_unit("l2.h[3]", 2, 64, 0)
    with pytest.raises(ValueError, match="no unit 64: layers have units 0..63"):
        parse_unit("64", 2, 64, 0)
    with pytest.raises(ValueError, match="write a unit number"):
        parse_unit("h", 2, 64, 0)


async def test_goto_unit_dialog_says_what_is_wrong_and_stays_open():
    app = App()
    chosen = []
    async with app.run_test(size=(100, 30)) as pilot:
        app.push_screen(GotoUnit(1, 64, 0), chosen.append)
        await pilot.pause()
        await pilot.press(*"l1 3", "enter")
        await pilot.pause()
        assert isinstance(app.screen, GotoUnit)
        error = str(app.screen.query_one("#prompt-error", Label).render())
        assert "no layer 1: the model has 1 (l0..l0)" in error
        assert "l0.h[32]" in app.screen.query_one(Input).placeholder
        app.screen.query_one(Input).value = ""
        await pilot.press(*"l0.h[13]", "enter")
        await pilot.pause()
        assert chosen == ["l0.h[13]"]
