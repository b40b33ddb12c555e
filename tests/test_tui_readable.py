"""Issue 12 on the app: every unit identifiable (marker, click either half, hover), F1's words."""

import numpy as np
from rich.console import Console
from textual.widgets import Label, Static
from tui_support import headless, settle, status, tape_lines

from inspector.tui.app import InspectorApp
from inspector.tui.screens.compare_steps import CompareSteps
from inspector.tui.screens.confirm import Confirm
from inspector.tui.screens.help import HelpScreen
from inspector.tui.screens.main import MainScreen
from inspector.tui.screens.path_prompt import CheckpointPath, ExportPath, split_vocab
from inspector.tui.widgets.heatmap import Heatmap
from inspector.tui.widgets.unit_detail import UnitDetail


def l0_h(app) -> Heatmap:
    return next(h for h in app.main.query(Heatmap) if h.activation == "l0.h")


async def test_a_click_selects_a_unit_in_the_lower_half_of_a_cell_and_hover_names_it():
    app = InspectorApp("doubled-lstm")
    async with app.run_test(size=(80, 24)) as pilot:  # no room to grow: two units a cell
        await settle(pilot)
        await pilot.press("a", "a")
        await settle(pilot)
        heatmap = l0_h(app)
        assert heatmap.zoom == (1, 1)
        width = heatmap.size.width
        await pilot.click(heatmap, offset=(3, 1))
        assert "l0 unit 3" in status(app)
        await pilot.click(heatmap, offset=(3, 1))  # the same cell again: its lower unit
        assert f"l0 unit {width + 3}" in status(app)
        assert heatmap.selected == width + 3
        assert "▼" in heatmap.render_line(1).text  # the marker points at the lower half
        last = headless("doubled-lstm", "aa").last
        value = last.layers[0].h[width + 3]
        await pilot.hover(heatmap, offset=(3, 1))
        assert heatmap.tooltip == f"l0.h[3] = {last.layers[0].h[3]:+.2f} (t=1)"
        assert heatmap.hover_text(width + 3) == f"l0.h[{width + 3}] = {value:+.2f} (t=1)"
        await pilot.press("down")  # the map has focus: one grid row down
        assert heatmap.selected == 2 * width + 3 and f"l0 unit {2 * width + 3}" in status(app)
        await pilot.press("escape", "left")  # the timeline has the arrows again
        await settle(pilot)
        assert "t=0 of 2 steps" in status(app)


async def test_help_explains_the_ideas_the_symbols_and_the_mouse():
    app = InspectorApp("doubled-lstm")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        console = Console(width=100, record=True)
        for part in ("#help-concepts", "#help-symbols", "#help-mouse"):
            console.print(app.screen.query_one(part, Static).content)
        text = console.export_text()
        for words in ("hidden state h", "cell state c", "forget gate", "update gate", "Δh",
                      "input part and memory part", "handoff", "◆", "✗", "¿", "⟨ ⟩",
                      "NaN", "Click a square"):
            assert words in text


async def test_the_unit_detail_redoes_the_step_with_the_records_numbers():
    app = InspectorApp("doubled-lstm")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("a", "a", *["down"] * 5)
        await settle(pilot)
        text = app.main.query_one(UnitDetail).text()
        session = headless("doubled-lstm", "aa")
        step = session.last.layers[0]
        c_prev = session.records(0, 1)[0].layers[0].c[5]
        i, m, f = step.input_part["f"][5], step.memory_part["f"][5], step.gates["f"][5]
        assert f"f = σ({i:.2f} + {m:.2f}) = {f:.2f}" in text  # one sign per term
        gi, gg, go = step.gates["i"][5], step.gates["g"][5], step.gates["o"][5]
        lines = " ".join(text.split())  # a line too long for the panel puts its result below
        def factor(x):  # a negative factor in brackets
            return f"({x:.2f})" if f"{x:.2f}".startswith("-") else f"{x:.2f}"

        assert (f"c = {f:.2f}·{factor(c_prev)} + {gi:.2f}·{factor(gg)} = {step.c[5]:+.2f}"
                in lines)
        assert f"h = {go:.2f}·tanh({step.c[5]:.2f}) = {step.h[5]:+.2f}" in lines
        assert "│" in text and "input" in text and "memory" in text  # the signed bars


async def test_f9_compares_the_two_as_of_aa_and_says_why_they_differ():
    app = InspectorApp("doubled-lstm")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("a", "a", "f9")
        await pilot.pause()
        assert isinstance(app.screen, CompareSteps)
        line = str(app.screen.query_one("#compare-steps-line", Static).render())
        assert line.startswith("t=0 and t=1 both read 'a', so their input parts are equal")
        assert "'a' (0.99) vs 'b' (0.99)" in line
        records = headless("doubled-lstm", "aa").records(0, 2)
        maps = list(app.screen.query(Heatmap))
        assert np.array_equal(maps[0].values, records[0].layers[0].h)
        assert np.array_equal(maps[1].values, records[1].layers[0].h)
        await pilot.press("escape")
        await pilot.press("b")  # keys go to the model again
        await settle(pilot)
        assert "t=2 of 3 steps" in status(app)


async def test_ctrl_g_goes_to_a_unit_by_name_without_feeding_the_model():
    app = InspectorApp("doubled-lstm")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("a", "ctrl+g", *"l1.h[13]", "enter")
        await settle(pilot)
        assert isinstance(app.screen, MainScreen)
        assert "l1 unit 13" in status(app) and "t=0 of 1 steps" in status(app)


async def test_the_model_writes_marked_steps_and_backspace_undoes_them():
    app = InspectorApp("doubled-rnn")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("a", "a", "f8")
        await settle(pilot)
        assert "t=11 of 12 steps" in status(app)
        session = headless("doubled-rnn", "aa")
        session.generate(10)
        records = session.records(0, 12)
        assert tape_lines(app)[0].replace(" ", "").endswith(
            "".join(r.typed for r in records[2:]))
        assert [r.by_model for r in records] == [False] * 2 + [True] * 10
        assert all(r.typed == prev.prediction for prev, r in zip(records[1:], records[2:]))
        tape = tape_lines(app)
        assert tape[2].replace(" ", "").endswith("✎" * 10)
        await pilot.press("backspace", "backspace")
        await settle(pilot)
        assert "t=9 of 10 steps" in status(app)


async def test_ctrl_t_switches_between_session_wide_and_per_step_scales():
    app = InspectorApp("doubled-lstm")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press(*"abcabc")
        await settle(pilot)
        c_map = next(h for h in app.main.query(Heatmap) if h.activation == "l0.c")
        session = headless("doubled-lstm", "abcabc")
        top = max(float(np.abs(r.layers[0].c).max()) for r in session.records(0, 6))
        # session mode (the default): the range is the largest |c| seen so far, at every step
        assert c_map.scale.basis == "session" and c_map.scale.high == np.float32(top)
        await pilot.press("left", "left")
        await settle(pilot)
        assert c_map.scale.high == np.float32(top)  # the same colours mean the same numbers
        assert not c_map.title_text().endswith("*")
        await pilot.press("ctrl+t")
        await settle(pilot)
        now = session.records(3, 4)[0].layers[0].c
        assert c_map.scale.basis == "step"
        assert c_map.scale.high == np.float32(np.abs(now).max()) < top
        assert c_map.title_text().endswith("*")
        assert c_map.levels.tolist() == c_map.scale.quantise(now).tolist()


async def test_small_things_people_notice(tmp_path):
    app = InspectorApp("doubled-lstm")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("a", "b", "ctrl+r")
        await pilot.pause()
        assert isinstance(app.screen, Confirm)
        await pilot.press("x", "n")  # no key reaches the model; n keeps the timeline
        await settle(pilot)
        assert "t=1 of 2 steps" in status(app)
        # the palette lists every command once
        from inspector.tui.commands import InspectorCommands

        titles = [title for title, _, _ in InspectorCommands(app.screen).commands()]
        system = [command.title for command in app.get_system_commands(app.screen)]
        assert len(titles) == len(set(titles)) and "Quit" not in system
        assert "Screenshot" not in system
        # Escape closes the keys panel
        app.action_show_help_panel()
        await pilot.pause()
        assert app.screen.query("HelpPanel")
        await pilot.press("escape")
        await pilot.pause()
        assert not app.screen.query("HelpPanel")
        # releasing a unit that is not clamped says so in the dialog, which stays open
        await pilot.press("down", "down", "down", "f5", *"release", "enter")
        await pilot.pause()
        assert "l0.h[3] is not clamped: nothing to release" in str(app.screen.query_one(
            "#prompt-error", Label).render())
        await pilot.press("escape")
        await settle(pilot)
        assert "next step" not in status(app) and "clamped" not in status(app)
    validator = ExportPath()
    existing = tmp_path / "trace.json"
    existing.write_text("{}")
    (said,) = validator.validate(str(existing)).failure_descriptions
    assert "exists: Enter again replaces it" in said
    assert validator.validate(str(existing)).is_valid  # asked once, then replaced


async def test_keys_typed_while_the_terminal_is_too_small_are_not_fed():
    app = InspectorApp("doubled-lstm")
    async with app.run_test(size=(60, 20)) as pilot:
        await settle(pilot)
        await pilot.press("a", "b")
        await settle(pilot)
        assert "no steps yet" in status(app)


async def test_compare_mode_shows_both_models_top_k():
    from inspector.tui.widgets.top_k import TopK

    app = InspectorApp("doubled-mlp", compare="doubled-lstm")
    async with app.run_test(size=(120, 40)) as pilot:
        for _ in range(3):
            await settle(pilot)
        await pilot.press("a", "a")
        for _ in range(3):
            await settle(pilot)
        shown = [top for top in app.main.query(TopK) if top.display and top.region.width]
        assert len(shown) == 2
        assert shown[0].line_text(0).endswith("0.500")  # the MLP's split between a and b


async def test_the_open_dialog_lists_the_zoo_and_takes_a_vocabulary(tmp_path):
    vocab = tmp_path / "vocab.json"
    vocab.write_text('["a", "b"]')
    assert split_vocab(f"model.pt --vocab {vocab}") == ("model.pt", str(vocab))
    assert split_vocab("doubled-gru") == ("doubled-gru", None)
    check = CheckpointPath()
    assert "no such file" in check.validate("doubled-gru --vocab nope.json").failure_descriptions[0]
    assert check.validate(f"doubled-gru --vocab {vocab}").is_valid
    app = InspectorApp("doubled-lstm")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+o")
        await pilot.pause()
        hint = str(app.screen.query_one("#prompt-hint", Label).render())
        assert "doubled-gru" in hint and "reverse-seq2seq" in hint and "--vocab" in hint
        await pilot.press(*"doubled-gru", "enter")
        for _ in range(3):
            await settle(pilot)
        assert "gru 1×64" in status(app)


def test_seq2seq_output_is_green_only_where_it_is_the_answer():
    from inspector.tui.screens.seq2seq import RIGHT, WRONG, output_segments

    segments = output_segments("olleg", ["o", "l", "l", "e", "h", "</s>"])
    assert [s.style for s in segments] == [RIGHT] * 4 + [WRONG]
    short = output_segments("ol", ["o", "l", "l", "e", "h", "</s>"])
    assert short[-1].text == "···" and short[-1].style == WRONG
    (plain,) = output_segments("olleh", None)
    assert plain.style.color is None  # no task: nothing claims the output is right
