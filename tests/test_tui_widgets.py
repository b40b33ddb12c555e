"""The TUI's drawing rules on plain numpy arrays: palette, heatmap strips, tape, log, misses."""

from __future__ import annotations

import numpy as np
import pytest
from textual.app import App, ComposeResult

from inspector.tui.colours import (
    EMPTY,
    LEVELS,
    NAN,
    NEG_INF,
    POS_INF,
    SIGNED,
    UNIT,
    adaptive_signed,
    half_block_style,
    level_rgb,
)
from inspector.tui.frames import TapeCell, TapeFrame, TopKFrame
from inspector.tui.summaries import StepSummary, is_miss, tape_window, targets_after
from inspector.tui.text import glyph, log_line, state_summary, vector_summary
from inspector.tui.widgets.heatmap import Heatmap
from inspector.tui.widgets.step_log import StepLog
from inspector.tui.widgets.tape import Tape
from inspector.tui.widgets.top_k import TopK, bar
from inspector.tui.widgets.unit_detail import sparkline


def test_quantise_maps_range_ends_zero_and_nonfinite_values():
    levels = SIGNED.quantise(np.array([-1, 0, 1, 5, np.nan, np.inf, -np.inf], dtype=np.float32))
    assert levels.tolist() == [0, LEVELS // 2, LEVELS - 1, LEVELS - 1, NAN, POS_INF, NEG_INF]
    assert UNIT.quantise(np.array([0.0, 1.0])).tolist() == [0, LEVELS - 1]


def test_adaptive_scale_reaches_the_largest_finite_value():
    scale = adaptive_signed(np.array([0.5, -3.0, np.nan], dtype=np.float32))
    assert (scale.low, scale.high) == (-3.0, 3.0) and scale.label() == "±3"
    assert adaptive_signed(np.zeros(3, dtype=np.float32)).high == 1.0


def test_nan_and_inf_have_colours_no_value_can_take():
    finite = {level_rgb(ramp, level) for ramp in ("signed", "unit") for level in range(LEVELS)}
    specials = [level_rgb("signed", level) for level in (NAN, POS_INF, NEG_INF)]
    assert len(set(specials)) == 3 and not finite & set(specials)


def test_half_block_styles_are_cached():
    assert half_block_style("signed", 3, 4) is half_block_style("signed", 3, 4)
    assert half_block_style("signed", 3, EMPTY).bgcolor is None


class One(App):
    def __init__(self, widget) -> None:
        super().__init__()
        self.widget = widget

    def compose(self) -> ComposeResult:
        yield self.widget


async def test_heatmap_packs_two_units_per_cell_and_merges_runs():
    heatmap = Heatmap("l0.h", "h", 10)
    async with One(heatmap).run_test(size=(5, 10)) as pilot:
        values = np.array([1, 1, 1, -1, -1, 0, 0, 0, 0, np.nan], dtype=np.float32)
        heatmap.show(values, SIGNED, selected=None)
        await pilot.pause()
        assert heatmap.size.height == 1 + 1  # title + ceil(ceil(10 / 5) / 2)
        assert heatmap.render_line(0).text.startswith("h")
        segments = [s for s in heatmap.render_line(1) if s.text.strip()]
        assert "".join(s.text for s in segments) == "▀" * 5
        # upper row 1 1 1 -1 -1, lower row 0 0 0 0 NaN: three runs
        assert [len(s.text) for s in segments] == [3, 1, 1]
        assert segments[-1].style.bgcolor.triplet == tuple(level_rgb("signed", NAN))
        assert heatmap.unit_at(3, 1) == 3 and heatmap.unit_at(0, 2) is None


async def test_heatmap_redraws_only_the_lines_whose_cells_changed():
    heatmap = Heatmap("l0.h", "h", 16)  # 4 columns: units 0-7 on line 1, 8-15 on line 2
    async with One(heatmap).run_test(size=(4, 6)) as pilot:
        heatmap.show(np.zeros(16, dtype=np.float32), SIGNED)
        await pilot.pause()
        first, second = heatmap.render_line(1), heatmap.render_line(2)
        assert heatmap.render_line(1) is first
        values = np.zeros(16, dtype=np.float32)
        values[9] = 1.0
        heatmap.show(values, SIGNED)
        assert heatmap.render_line(1) is first and heatmap.render_line(2) is not second
        assert heatmap.render_line(2).text == "▀▀▀▀"


async def test_heatmap_redraws_the_right_line_when_its_rows_are_narrower_than_it():
    heatmap = Heatmap("l0.h", "h", 16)  # 5 cells wide, 4 units a row (4x4, see row_length)
    async with One(heatmap).run_test(size=(5, 6)) as pilot:
        heatmap.show(np.zeros(16, dtype=np.float32), SIGNED)
        await pilot.pause()
        assert heatmap.units_per_row() == 4
        first, second = heatmap.render_line(1), heatmap.render_line(2)
        values = np.zeros(16, dtype=np.float32)
        values[9] = 1.0  # units 8-15 are on line 2
        heatmap.show(values, SIGNED)
        assert heatmap.render_line(1) is first and heatmap.render_line(2) is not second
        assert heatmap.render_line(2) != second


@pytest.mark.parametrize("zoom_y", [2, 3])
async def test_a_zoomed_heatmap_redraws_only_the_lines_its_changed_units_cover(zoom_y):
    """Units 2 cells wide and zoom_y half-cells tall (the sort panel's top units): 8 units,
    4 a row; a changed unit redraws the text lines its row covers, no others."""
    heatmap = Heatmap("l0.h", "h", 8)
    async with One(heatmap).run_test(size=(8, 8)) as pilot:
        heatmap.set_zoom((2, zoom_y))
        heatmap.show(np.zeros(8, dtype=np.float32), SIGNED)
        await pilot.pause()
        assert heatmap.units_per_row() == 4
        lines = range(1, heatmap.size.height)
        before = {y: heatmap.render_line(y) for y in lines}
        values = np.zeros(8, dtype=np.float32)
        values[5] = 1.0  # row 1: pixel rows zoom_y .. 2 zoom_y - 1
        heatmap.show(values, SIGNED)
        covered = {1 + y // 2 for y in range(zoom_y, 2 * zoom_y)}
        for y in lines:
            assert (heatmap.render_line(y) is before[y]) == (y not in covered), y
        assert any(list(heatmap.render_line(y)) != list(before[y]) for y in covered)


async def test_heatmap_marks_the_selected_unit_with_an_arrow_to_its_half_of_the_cell():
    heatmap = Heatmap("l0.h", "h", 16)  # 4 columns: a line holds units 0-3 over 4-7
    async with One(heatmap).run_test(size=(4, 6)) as pilot:
        values = np.zeros(16, dtype=np.float32)
        for selected, line, column, arrow in ((2, 1, 2, "▲"), (5, 1, 1, "▼"), (13, 2, 1, "▼")):
            heatmap.show(values, SIGNED, selected=selected)
            await pilot.pause()
            strip = list(heatmap.render_line(line))
            assert [len(s.text) for s in strip] == [n for n in (column, 1, 3 - column) if n]
            marker = strip[1 if column else 0]
            assert marker.text == arrow  # not a bold or underlined half block
            level = heatmap.levels[selected]
            assert marker.style.bgcolor.triplet == level_rgb("signed", level)  # the unit's colour
            assert marker.style.color.triplet in ((0, 0, 0), (255, 255, 255))
            other = 3 - line  # the other cell line has no mark
            assert set(heatmap.render_line(other).text) == {"▀"}


async def test_heatmap_click_selects_the_unit_in_either_half():
    heatmap = Heatmap("l0.h", "h", 16)  # 4 columns: line 1 holds units 0-3 over 4-7

    class Clicks(One):
        picked: list[int] = []

        def on_heatmap_unit_clicked(self, message: Heatmap.UnitClicked) -> None:
            self.picked.append(message.unit)
            heatmap.show(np.zeros(16, dtype=np.float32), SIGNED, selected=message.unit)

    app = Clicks(heatmap)
    async with app.run_test(size=(4, 6)) as pilot:
        heatmap.show(np.zeros(16, dtype=np.float32), SIGNED)
        await pilot.pause()
        assert heatmap.unit_under(1.0, 1.2) == 1 and heatmap.unit_under(1.0, 1.7) == 5
        assert heatmap.unit_under(3.4, 2.6) == 15 and heatmap.unit_under(0.0, 3.0) is None
        await pilot.click(heatmap, offset=(1, 1))  # whole cells only: the upper unit first
        await pilot.click(heatmap, offset=(1, 1))  # the same cell again: the lower one
        await pilot.click(heatmap, offset=(3, 2))
        assert app.picked == [1, 5, 11]


async def test_heatmap_hover_names_the_unit_and_its_value_at_the_step():
    heatmap = Heatmap("l0.h", "h", 16)
    async with One(heatmap).run_test(size=(4, 6)) as pilot:
        values = np.linspace(-1, 1, 16).astype(np.float32)
        values[6] = 1e30
        heatmap.show(values, SIGNED, t=4)
        await pilot.pause()
        await pilot.hover(heatmap, offset=(2, 1))
        assert heatmap.tooltip == f"l0.h[2] = {values[2]:+.2f} (t=4)"
        assert heatmap.hover_text(6) == "l0.h[6] = +1e+30 (t=4)"


async def test_a_focused_heatmap_moves_the_selection_by_row_and_by_unit():
    heatmap = Heatmap("l0.h", "h", 16)  # 4 columns

    class Moves(One):
        def on_heatmap_unit_clicked(self, message: Heatmap.UnitClicked) -> None:
            heatmap.show(np.zeros(16, dtype=np.float32), SIGNED, selected=message.unit)

    async with Moves(heatmap).run_test(size=(4, 6)) as pilot:
        heatmap.show(np.zeros(16, dtype=np.float32), SIGNED, selected=0)
        await pilot.pause()
        assert not heatmap.has_focus  # never focused before a click
        await pilot.click(heatmap, offset=(1, 1))
        await pilot.click(heatmap, offset=(1, 1))  # the lower unit, 5
        assert heatmap.has_focus and heatmap.selected == 5
        await pilot.press("down")
        assert heatmap.selected == 9  # one grid row: the map is 4 units wide
        await pilot.press("right", "right", "up")
        assert heatmap.selected == 7
        await pilot.press("up", "up")  # no row above 3: stays
        assert heatmap.selected == 3
        await pilot.press("escape")
        assert not heatmap.has_focus and not heatmap.can_focus


async def test_heatmap_without_colour_draws_one_glyph_per_unit():
    heatmap = Heatmap("l0.h", "h", 8)
    async with One(heatmap).run_test(size=(4, 6)) as pilot:
        heatmap.glyphs = True
        heatmap.show(np.array([-1, -0.5, 0, 0.5, 1, np.nan, np.inf, -np.inf], dtype=np.float32),
                     SIGNED, selected=2)
        heatmap.refresh(layout=True)
        await pilot.pause()
        assert heatmap.size.height == 1 + 2  # a line per row of units
        assert heatmap.render_line(1).text == "≡-·+" and heatmap.render_line(2).text == "#N▲▼"
        (marked,) = [s for s in heatmap.render_line(1) if s.style and s.style.reverse]
        assert marked.text == "·"


async def test_heatmap_out_of_view_keeps_the_newest_values_for_when_it_is_seen():
    heatmap = Heatmap("l0.c", "c", 8)
    async with One(heatmap).run_test(size=(4, 4)) as pilot:
        heatmap.show(np.zeros(8, dtype=np.float32), SIGNED)
        await pilot.pause()
        newest = np.full(8, 3.0, dtype=np.float32)
        heatmap.show(np.ones(8, dtype=np.float32), SIGNED, visible=False)
        heatmap.show(newest, adaptive_signed(newest), selected=1, visible=False)
        assert heatmap.stale
        heatmap.catch_up()
        await pilot.pause()
        assert not heatmap.stale and heatmap.title_text() == "c ±3*"
        assert heatmap.levels.tolist() == [LEVELS - 1] * 8 and heatmap.selected == 1


async def test_heatmap_title_is_dimmed_in_rgb_on_the_maps_background():
    heatmap = Heatmap("l0.h", "h", 8)
    async with One(heatmap).run_test(size=(4, 4)) as pilot:
        await pilot.pause()
        base = heatmap.base_style
        (title,) = list(heatmap.render_line(0))
        assert title.style.bgcolor == base.bgcolor and title.style.color.triplet is not None
        assert title.style.color != base.color  # blended towards the background



async def test_heatmap_lines_follow_a_new_theme():
    heatmap = Heatmap("l0.h", "h", 6)  # 3 units a row over 3 (a 4th, blank cell)
    async with One(heatmap).run_test(size=(4, 4)) as pilot:
        heatmap.show(np.zeros(6, dtype=np.float32), SIGNED)
        await pilot.pause()
        before, base = heatmap.render_line(1), heatmap.base_style
        pilot.app.theme = "textual-light" if pilot.app.theme != "textual-light" else "nord"
        await pilot.pause()
        assert heatmap.base_style.bgcolor != base.bgcolor
        (title,) = list(heatmap.render_line(0))
        after = list(heatmap.render_line(1))
        assert title.style.bgcolor == after[-1].style.bgcolor == heatmap.base_style.bgcolor
        assert after != list(before)


def summaries(typed: str, predicted: str, task: str | None = None) -> list[StepSummary]:
    targets = targets_after(task, (), typed) or [None] * len(typed)
    return [StepSummary(t, x, x, y, target)
            for t, (x, y, target) in enumerate(zip(typed, predicted, targets, strict=True))]


def test_misses_follow_the_task_or_next_character_prediction():
    assert targets_after("doubled", (), "aabbcc") == list("abcdef")
    assert targets_after("shift", (), "z") == ["a"] and targets_after("doubled", (), "?") == [None]
    assert targets_after("text", (), "abc") is None  # a language model: the next key
    good = summaries("aabbcc", "abcdef", "doubled")
    assert not any(is_miss(good, t, True) for t in range(6))
    mlp = summaries("aabbcc", "aaccee", "doubled")
    assert [is_miss(mlp, t, True) for t in range(6)] == [False, True, False, True, False, True]
    # the marks come from the task's own pairs, not t % 2: a pair that starts at t=1
    shifted = summaries("zaabb", "?abcd", "doubled")
    assert [s.target for s in shifted] == ["y", "a", "b", "c", "d"]
    assert [is_miss(shifted, t, True) for t in range(5)] == [True, False, False, False, False]
    # a run continued across keys keeps its pair position
    assert targets_after("doubled", summaries("a", "a", "doubled"), "ab") == ["b", "c"]
    # a language model's output at t guesses x[t+1]: the wrong guess is the one marked
    lm = summaries("abcd", "bxdz")  # after a: b (hit); after b: x (c typed: miss); after c: d
    assert [is_miss(lm, t, False) for t in range(4)] == [False, True, False, False]


def test_tape_window_shows_the_newest_steps_and_pending_keys():
    steps = summaries("abcdef", "bcdefg")
    frame = tape_window(steps, "xy", capacity=5, view_t=None, task_targets=False)
    assert frame.first_t == 3 and [c.typed for c in frame.cells] == list("defxy")
    assert frame.cells[-1].predicted is None and frame.view_index == 2
    frame = tape_window(steps, "", capacity=4, view_t=1, task_targets=False)
    assert frame.first_t == 0 and frame.view_index == 1


async def test_tape_draws_typed_predicted_and_miss_lines():
    tape = Tape()
    async with One(tape).run_test(size=(30, 3)) as pilot:
        tape.show(TapeFrame((TapeCell("a", "a"), TapeCell("a", "c", miss=True),
                             TapeCell(" ", None)), 0, 1))
        await pilot.pause()
        assert [tape.line_text(y) for y in range(3)] == ["x a a ␣", "y a c …", "    ✗"]
        assert tape.capacity == 14


def test_log_line_is_the_seeds_wording_with_the_summary_last():
    state = state_summary("l1.h", np.array([0.0, -0.5], dtype=np.float32))
    assert state == "l1.h[0:2]=[0.00 -0.50]"
    line = log_line(1, "a", "b", 0.987, state)
    assert line == "t=1  x='a'  → y='b' (0.99)  l1.h[0:2]=[0.00 -0.50]"
    assert log_line(0, "<unk>", "\n", 0.5, "").startswith("t=0  x=<unk>  → y='\\n'")
    assert log_line(0, "h", None, 0.0, "l0.h[0:1]=[0.10]") == "t=0  x='h'  l0.h[0:1]=[0.10]"
    assert vector_summary(np.arange(10, dtype=np.float32), 2) == "[0.00 1.00 …]"
    assert state_summary("l0.act", np.zeros(20)).startswith("l0.act[0:8]=[0.00")
    assert glyph(" ") == "␣" and glyph("\n") == "↵" and glyph("字") == "·"
    assert glyph("<NaN>") == "!" and glyph("?") == "?"  # a NaN output is not the token '?'


async def test_step_log_keeps_the_newest_lines_that_fit_and_cuts_at_the_edge():
    log = StepLog()
    async with One(log).run_test(size=(20, 3)) as pilot:
        await pilot.pause()
        log.show([f"t={t}  x='a'  → y='b' (0.99)  h=[…]" for t in range(10)])
        assert [line[:3] for line in log.texts] == ["t=7", "t=8", "t=9"]
        assert log.render_line(2).text == "t=9  x='a'  → y='b' "


async def test_top_k_bars_and_entropy():
    top = TopK()
    async with One(top).run_test(size=(30, 8)) as pilot:
        top.show(TopKFrame((("b", 0.75), ("<unk>", 0.25)), 0.81))
        await pilot.pause()
        text = top.text()
        assert "0.750" in text and "<unk>" in text and "entropy 0.810 bits" in text
    assert bar(0.5, 4) == "██  " and bar(1.0, 2) == "██"


async def test_top_k_escapes_a_hostile_token_from_a_vocabulary_file():
    top = TopK()
    async with One(top).run_test(size=(40, 8)) as pilot:
        top.show(TopKFrame((("\x1b[2Jok", 0.75), ("\u202eevil", 0.25)), 0.81))
        await pilot.pause()
        text = top.text()
        assert "\\x1b[2Jok" in text and "\\u202eevil" in text
        assert "\x1b" not in text and "\u202e" not in text


def test_sparkline_marks_nonfinite_values():
    assert "".join(s.text for s in sparkline(np.array([0.0, 1.0, np.nan]))) == "▁█!"
    assert "".join(s.text for s in sparkline(np.array([2.0, 2.0]))) == "▅▅"


def test_map_layout_grows_small_maps_to_fill_the_panel():
    from inspector.tui.widgets.heatmap import map_layout, map_lines

    assert map_lines(64, 11, (1, 1)) == 3 and map_lines(64, 11, (1, 2)) == 6
    # the demo's 2x64 LSTM, 7 maps a layer: bigger units where there is room, never overflowing
    small = map_layout(64, 7, 2, 78, 24)
    large = map_layout(64, 7, 2, 158, 45)
    assert small is not None and large is not None
    assert large[1][0] * large[1][1] > small[1][0] * small[1][1]
    for (columns, zoom), (width, height) in ((small, (78, 24)), (large, (158, 45))):
        map_width = (width + 1) // columns - 1
        rows = -(-7 // columns)
        assert 2 * (1 + rows * (1 + map_lines(64, map_width, zoom))) <= height
    assert map_layout(512, 7, 4, 80, 20) is None  # too big to fit: the panel scrolls


def test_map_rows_are_filled_evenly():
    from inspector.tui.widgets.heatmap import row_length

    # 64 units 9 a row would leave one alone on an eighth row: 8 rows of 8 instead
    assert row_length(64, 9) == 8 and row_length(64, 18, 2) == 8
    assert row_length(64, 10) == 8  # a full grid for one more row: 8 rows of 8, not 7 of 10
    assert row_length(64, 11) == 11  # 6 rows (the last 9 units): 8 rows of 8 would be two more
    assert row_length(64, 7) == 7 and row_length(10, 5) == 5
    assert row_length(64, 200) == 64 and row_length(3, 1) == 1


async def test_a_zoomed_heatmap_draws_each_unit_over_several_cells_and_clicks_map_back():
    heatmap = Heatmap("l0.h", "h", 6)
    async with One(heatmap).run_test(size=(6, 8)) as pilot:
        heatmap.set_zoom((2, 2))  # 3 units a row, each 2 cells wide and one line tall
        heatmap.show(np.array([1, -1, 0, 1, 1, 1], dtype=np.float32), SIGNED, selected=4)
        await pilot.pause()
        assert heatmap.size.height == 1 + 2
        assert heatmap.unit_at(3, 1) == 1 and heatmap.unit_at(2, 2) == 4
        assert heatmap.unit_at(5, 2, lower=True) == 5
        line = heatmap.render_line(2)
        assert line.text == "▀▀◆▀▀▀"  # the selected unit fills its cells: ◆
        assert heatmap.hover_text(4) == "l0.h[4] = +1.00"


def test_the_export_dialog_refuses_what_is_not_a_regular_file(tmp_path):
    import os

    from inspector.tui.screens.path_prompt import ExportPath

    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)
    refused = ExportPath().validate(str(fifo))
    assert not refused.is_valid and "a FIFO, not a regular file" in refused.failure_descriptions[0]
    folder = tmp_path / "dir.json"
    folder.mkdir()
    assert not ExportPath().validate(str(folder)).is_valid
    missing = ExportPath().validate(str(tmp_path / "nowhere" / "t.json"))
    assert "does not exist" in missing.failure_descriptions[0]
    assert ExportPath().validate(str(tmp_path / "t.jsonl")).is_valid


@pytest.fixture
def layouts(monkeypatch):
    """Every full-screen layout Textual does from here on, counted."""
    from textual.screen import Screen

    done = []
    original = Screen._refresh_layout

    def counted(self, *args, **kwargs):
        done.append(1)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Screen, "_refresh_layout", counted)
    return done


async def test_lines_widget_holds_its_height_and_lays_out_only_when_it_changes(layouts):
    from rich.segment import Segment

    from inspector.tui.widgets.lines import LinesWidget

    widget = LinesWidget()
    async with One(widget).run_test(size=(20, 10)) as pilot:
        await pilot.pause()  # the first layout, at mount, is done
        rows = [[Segment(f"row {n}")] for n in range(4)]
        laid_out = len(layouts)
        widget.set_lines(rows, hold="unit 3")
        await pilot.pause()
        assert widget.size.height == 4 and len(layouts) > laid_out
        laid_out = len(layouts)
        widget.set_lines(rows[:2], hold="unit 3")  # fewer lines, same hold: no new layout
        await pilot.pause()
        assert widget.size.height == 4 and len(layouts) == laid_out
        assert [widget.render_line(y).text.strip() for y in range(4)] == ["row 0", "row 1",
                                                                          "", ""]
        widget.set_lines(rows[:2], hold="unit 4")  # another unit: the height follows again
        await pilot.pause()
        assert widget.size.height == 2 and len(layouts) > laid_out


async def test_step_log_of_fixed_height_never_asks_for_a_layout(layouts):
    log = StepLog()
    log.styles.height = 5
    async with One(log).run_test(size=(30, 10)) as pilot:
        await pilot.pause()  # the first layout, at mount, is done
        laid_out = len(layouts)
        for n in range(1, 8):
            log.show([f"t={t}" for t in range(n)])
            await pilot.pause()
        assert len(layouts) == laid_out and log.texts == [f"t={t}" for t in range(2, 7)]
