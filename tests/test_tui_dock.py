"""The analysis dock on the main screen: keys reach the panels without taking printable
characters, the panels read the session on screen, and what they select reaches the maps, the
tape and the text colours. Numbers are checked against a headless session of the same model."""

from __future__ import annotations

import numpy as np
from tui_support import headless, settle, status, tape_lines

from inspector.analysis import feature, rank_units
from inspector.engine import inspectable
from inspector.loading import open_model
from inspector.tui.app import InspectorApp
from inspector.tui.colours import SIGNED
from inspector.tui.panels.unit_colours import char_style
from inspector.tui.widgets.heatmap import Heatmap
from inspector.tui.widgets.tape import Tape, coloured_style

DOUBLED = "aabbccddeeffgghhiijjkkllmmnn"


def dock(app):
    return app.main.dock


def tape_first(app) -> int:
    return app.main.query(Tape).last().first_t


async def test_the_dock_opens_and_cycles_while_every_printable_key_still_feeds_the_model():
    app = InspectorApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert not dock(app).display
        await pilot.press("ctrl+d")
        await settle(pilot)
        assert dock(app).display and dock(app).current == "text"
        titles = dock(app).titles.text()
        assert "Text by unit" in titles and "Units for a pattern" in titles
        await pilot.press(*"aabb", "n", "d")  # n and d are letters here, never commands
        await settle(pilot)
        assert tape_lines(app)[0] == "x a a b b n d"
        await pilot.press("ctrl+n")
        assert dock(app).current == "units"
        await pilot.press("ctrl+d")
        await settle(pilot)
        assert not dock(app).display


async def test_the_text_panel_colours_the_session_on_screen_by_the_selected_unit():
    app = InspectorApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+d", *"abcabc", "down", "down")  # unit 2 of layer 0
        await settle(pilot)
        panel = dock(app).panel
        values = headless("doubled-lstm", "abcabc").history("l0.h", 2)
        np.testing.assert_allclose(panel.colours.values, values, atol=1e-5)
        np.testing.assert_array_equal(panel.colours.levels, SIGNED.quantise(panel.colours.values))
        assert panel.legend.text().startswith("l0.h[2] ")
        assert panel.text.line_text(0) == "abcabc"


async def test_ctrl_u_colours_the_tape_and_draws_the_unit_under_it_aligned():
    app = InspectorApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press(*"abcd", "tab", "ctrl+u")  # layer 1, unit 0
        await settle(pilot)
        tape = app.main.query(Tape).last()
        assert tape.strip and tape.size.height == 5
        values = headless("doubled-lstm", "abcd").history("l1.h", 0)
        levels = SIGNED.quantise(values)
        assert tape.colours.label == "l1.h[0]"
        np.testing.assert_allclose(tape.colours.values, values, atol=1e-5)
        styles = [seg.style for seg in tape.render_line(0) if seg.text.strip() in "abcd"
                  and seg.text.strip()]
        for t, style in enumerate(styles):
            expected = coloured_style("signed", int(levels[t]), t == 3, False)
            assert style.bgcolor == expected.bgcolor, t
        assert style.bgcolor == char_style("signed", int(levels[3])).bgcolor
        upper, lower = tape.line_text(3), tape.line_text(4)
        top = float(np.abs(values).max())  # the bars span the window's largest |value|
        assert f"┤{top:+.2g} ▁0" in upper and lower.endswith(f"┤{-top:+.2g} l1.h[0]")
        # one bar per character, in the character's own column
        x_line = tape.line_text(0)
        for column in (i for i, ch in enumerate(x_line) if ch in "abcd"):
            assert upper[column] != " " or lower[column] != " "


async def test_a_span_selected_with_shift_arrows_ranks_the_units_and_ctrl_down_selects_one():
    app = InspectorApp()
    model = inspectable(open_model("doubled-lstm"))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press(*DOUBLED, "shift+left", "shift+left")  # the last three steps
        await pilot.press("ctrl+d", "ctrl+n")
        await settle(pilot)
        panel = dock(app).panel
        n = len(DOUBLED)
        expected = rank_units(model, DOUBLED, feature(f"span:{n - 3}-{n}", DOUBLED), top=64)
        assert f"the span t={n - 3}..{n - 1}" in panel.title.text()
        shown = [panel.rows.line_text(y).split()[1] for y in range(len(panel.rows.lines))]
        assert shown == [u.name for u in expected.units[:len(shown)]]
        await pilot.press("ctrl+down")
        await settle(pilot)
        best = expected.units[0].name
        layer, unit = int(best[1]), int(best.split("[")[1][:-1])
        assert f"l{layer} unit {unit}" in status(app)
        maps = [h for h in app.main.query(Heatmap) if h.activation.startswith(f"l{layer}.")]
        assert all(h.selected == unit for h in maps)
        await pilot.press(*["ctrl+n"] * (len(dock(app).specs) - 1))  # round to the text panel
        await settle(pilot)
        text = dock(app).panels["text"]
        assert text.colours.unit == best
        assert app.main.query(Tape).last().span == (n - 3 - tape_first(app), n - tape_first(app))
        await pilot.press("escape")  # clears the span
        await settle(pilot)
        assert app.main.query(Tape).last().span is None


async def test_a_span_dragged_with_the_mouse_on_the_tape_ranks_the_units():
    app = InspectorApp()
    model = inspectable(open_model("doubled-lstm"))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press(*DOUBLED)
        await settle(pilot)
        tape = app.main.query(Tape).last()
        n = len(DOUBLED)
        column = {}
        for x in range(tape.size.width):
            column.setdefault(tape.step_at(x), x)
        await pilot.mouse_down(tape, offset=(column[n - 5], 0))
        await pilot.mouse_up(tape, offset=(column[n - 2], 0))  # steps n-5 .. n-2
        await pilot.press("ctrl+d", "ctrl+n")
        await settle(pilot)
        panel = dock(app).panel
        expected = rank_units(model, DOUBLED, feature(f"span:{n - 5}-{n - 1}", DOUBLED), top=64)
        assert f"the span t={n - 5}..{n - 2}" in panel.title.text()
        shown = [panel.rows.line_text(y).split()[1] for y in range(len(panel.rows.lines))]
        assert len(shown) >= 5 and shown == [u.name for u in expected.units[:len(shown)]]
        assert tape.span == (n - 5 - tape_first(app), n - 1 - tape_first(app))


async def test_ctrl_f_names_a_feature_and_a_bad_one_is_refused_in_the_dialog():
    app = InspectorApp()
    model = inspectable(open_model("doubled-lstm"))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press(*DOUBLED, "ctrl+d", "ctrl+n", "ctrl+f", *"regex:(", "enter")
        await pilot.pause()
        assert "not a regular expression" in app.screen.query_one("#prompt-error").render().plain
        await pilot.press(*(["backspace"] * 7), *"pair-position", "enter")
        await settle(pilot)
        panel = dock(app).panel
        expected = rank_units(model, DOUBLED, feature("pair-position", DOUBLED), top=64)
        assert [u.name for u in panel.matches.ranking.units] == [u.name for u in expected.units]
        assert len(app.main.controller.steps) == len(DOUBLED)  # nothing typed in it was fed


async def test_the_sort_panel_shows_each_layers_top_units_in_the_maps():
    app = InspectorApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press(*"abcab", "ctrl+d", "ctrl+n", "ctrl+n")
        await settle(pilot)
        assert dock(app).current == "sort"
        record = headless("doubled-lstm", "abcab").last
        h0 = app.main.query(Heatmap).first()
        assert h0.activation == "l0.h" and h0.units == 32
        expected = np.argsort(-np.abs(record.activation("l0.h")), kind="stable")[:32]
        np.testing.assert_array_equal(h0.order, expected)
        assert "top 32 by |value|" in str(app.main.query(".layer-title").first().render())
        await pilot.press("ctrl+n")  # another panel: the maps show every unit again
        await settle(pilot)
        assert h0.units == 64 and h0.order is None


def test_strip_bars_rise_for_positive_values_and_hang_for_negative_ones():
    from inspector.tui.widgets.unit_strip import StripCell, strip_cells

    (up, up_style), (down, _) = strip_cells(StripCell(0.5), 0.5)
    assert (up, down) == ("█", " ") and not up_style.reverse
    (up, _), (down, down_style) = strip_cells(StripCell(-0.25), 0.5)
    assert up == "▁" and down == "▄" and down_style.reverse  # hangs 4 eighths from the top
    assert strip_cells(StripCell(0.0), 0.5)[0][0] == "▁"  # zero: the baseline only
    assert strip_cells(StripCell(float("nan")), 0.5)[0][0] == "!"
    assert strip_cells(StripCell(None), 0.5) == ((" ", None), (" ", None))


async def test_the_trajectory_on_the_main_screen_marks_the_demos_fixed_points(capsys):
    """The demo (2x64 LSTM, 256 numbers of state) on the real screen: the trajectory panel's
    fixed points of the input on view are the command line's for the same keys."""
    import json

    from inspector.cli import main
    from inspector.tui.panels.trajectory import TrajectoryPanel

    typed = "aabbccdd"
    app = InspectorApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press(*typed, "ctrl+d", "ctrl+n", "ctrl+n", "ctrl+n", "ctrl+n")
        panel = dock(app).panel
        assert isinstance(panel, TrajectoryPanel)
        lines = []
        for _ in range(300):
            await settle(pilot)
            await pilot.pause(0.05)
            lines = panel.plot.text().splitlines()
            if lines and "hold d: ●" in lines[0] and not panel.searching:
                break
    assert main(["fixed-points", "doubled-lstm", "--hold", "d", "--input", typed, "--json"]) == 0
    expected = json.loads(capsys.readouterr().out)
    stable = sum(p["stable"] for p in expected["points"])
    assert stable >= 1
    assert f"hold d: ● {stable} stable" in lines[0] and lines[0].endswith(
        f"○ {len(expected['points']) - stable} unstable · {len(typed)} starts")
    assert lines[-2] == "max|λ| " + " ".join(
        f"{'●' if p['stable'] else '○'}→{p['output']} {p['max_abs_eig']:.3f}"
        for p in expected["points"])


async def test_a_panel_computes_only_once_the_keys_frame_is_out(monkeypatch):
    """The panel on view starts on a key's input only after that key's frame is drawn (the
    lookahead sets `frame_out`), so its worker never shares the core with the frame."""
    from inspector.tui.panels.text_colour import TextPanel

    seen = []
    honest = TextPanel.compute

    def compute(self, data):
        seen.append((data.steps, self.app.main.frame_out.is_set()))
        return honest(self, data)

    monkeypatch.setattr(TextPanel, "compute", compute)
    app = InspectorApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+d")
        await settle(pilot)
        for key in "abc":
            await pilot.press(key)
            await settle(pilot)
        assert [steps for steps, _ in seen][-1] == 3 and all(out for _, out in seen)
        np.testing.assert_allclose(dock(app).panel.colours.values,
                                   headless("doubled-lstm", "abc").history("l0.h", 0),
                                   atol=1e-5)


async def test_the_docks_input_is_built_after_the_keys_frame_not_in_it():
    """A typed key's frame draws the maps and the tape and nothing more: the dock's input
    (every step's event read again) is built once that frame is out, by the lookahead."""
    app = InspectorApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+d", *"ab")
        await settle(pilot)
        main = app.main
        assert dock(app).data.steps == 2
        main.controller.queue("c")
        main.flush()  # the key's frame, as a typed key draws it
        assert "x a b c" in tape_lines(app)[0]
        assert dock(app).data.steps == 2 and not main.frame_out.is_set()
        await settle(pilot)
        assert main.frame_out.is_set() and dock(app).data.steps == 3
        assert dock(app).data.tokens == ("a", "b", "c")
