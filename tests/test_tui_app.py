"""Pilot tests of the inspector: what the widgets show after real key presses."""

from __future__ import annotations

import io
import json
import re
import threading
import time

import numpy as np
import pytest
from rich.console import Console
from textual.widgets import Input, Static
from tui_support import log_lines, make_checkpoint, settle, status, tape_lines

from inspector.tui import app as app_module
from inspector.tui.app import InspectorApp
from inspector.tui.screens.help import HelpScreen
from inspector.tui.screens.main import LOOKAHEAD_DELAY
from inspector.tui.screens.path_prompt import PathPrompt
from inspector.tui.widgets.heatmap import Heatmap
from inspector.tui.widgets.top_k import TopK
from inspector.tui.widgets.unit_detail import UnitDetail
from models.vocab import CharVocab

LOG_LINE = re.compile(r"^t=(\d+)  x=(\S+)  → y=(\S+) \((\d\.\d\d)\)  (l\d\.(?:h|act))\[0:8\]=\[")


def headless(path, text: str):
    """The session a script gets for `text`: what the screen must agree with."""
    from inspector.engine import Session, inspectable
    from inspector.loading import open_model

    session = Session(inspectable(open_model(str(path))))
    session.feed(text)
    return session


def same_state(a, b) -> bool:
    return all(np.array_equal(x.h, y.h) and (x.c is None or np.array_equal(x.c, y.c))
               for x, y in zip(a, b, strict=True))


@pytest.fixture
def lstm(tmp_path):
    return make_checkpoint(tmp_path / "tiny-lstm.safetensors")


async def test_default_model_types_aabbcc_into_abcdef():
    app = InspectorApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press(*"aabbcc")
        await settle(pilot)
        assert status(app).startswith("doubled-lstm")
        assert tape_lines(app)[:2] == ["x a a b b c c", "y a b c d e f"]
        assert "✗" not in tape_lines(app)[2]
        lines = log_lines(app)
        assert len(lines) == 6
        for t, (line, x, y) in enumerate(zip(lines, "aabbcc", "abcdef", strict=True)):
            assert LOG_LINE.match(line).groups()[:3] == (str(t), repr(x), repr(y))
        # every line shows the state *after* its step, of the selected layer (l0)
        from inspector.engine import Session, inspectable
        from inspector.loading import open_model
        from inspector.tui.text import vector_summary

        session = Session(inspectable(open_model("doubled-lstm")))
        for line, record in zip(lines, session.feed("aabbcc"), strict=True):
            assert line.endswith(f"l0.h[0:8]={vector_summary(record.layers[0].h)}")
        await pilot.press("tab")  # the log follows the selected layer
        assert log_lines(app)[-1].endswith(
            f"l1.h[0:8]={vector_summary(session.last.layers[1].h)}")


@pytest.mark.parametrize(("size", "shown"), [((120, 40), 6), ((80, 24), 3)])
async def test_step_log_shows_the_newest_steps_for_the_size(lstm, size, shown):
    app = InspectorApp(str(lstm))
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        await pilot.press(*"abcdefghij")
        await settle(pilot)
        lines = log_lines(app)
        assert len(lines) >= shown
        assert [int(LOG_LINE.match(line).group(1)) for line in lines] == list(
            range(10 - len(lines), 10))


async def test_keys_typed_while_loading_are_queued_in_order(lstm, monkeypatch):
    gate = threading.Event()
    real_load = app_module.load

    def slow_load(source, replay, opened=None):
        gate.wait(10)
        return real_load(source, replay, opened)

    monkeypatch.setattr(app_module, "load", slow_load)
    app = InspectorApp(str(lstm))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press(*"hello")
        await pilot.press("backspace", "p")
        assert tape_lines(app)[0] == "x h e l l p"
        assert tape_lines(app)[1] == "y … … … … …"
        assert "5 keys queued" in status(app)
        gate.set()
        await settle(pilot)
        assert tape_lines(app)[0] == "x h e l l p"
        assert "…" not in tape_lines(app)[1]
        assert [line[:3] for line in log_lines(app)] == ["t=0", "t=1", "t=2", "t=3", "t=4"]


async def test_main_screen_panels_for_an_lstm(lstm):
    app = InspectorApp(str(lstm))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press(*"abc")
        await settle(pilot)
        titles = [(h.activation, h.title) for h in app.main.query(Heatmap)]
        assert titles == [(f"l{layer}.{name}", title) for layer in (0, 1) for name, title in
                          [("h", "h"), ("c", "c"), ("gate.i", "i"), ("gate.f", "f"),
                           ("gate.g", "g"), ("gate.o", "o"), ("dh", "Δh")]]
        assert all(h.render_line(1).text.strip("▀▲▼◆ ") == "" for h in app.main.query(Heatmap))
        top = app.main.query_one(TopK)
        assert len(top.top) == 5 and "entropy" in top.text()
        probs = [p for _, p in top.top]
        assert probs == sorted(probs, reverse=True) and f"{probs[0]:5.3f}" in top.text()
        detail = app.main.query_one(UnitDetail).text()
        assert "l0 unit 0" in detail and "h over t=0..2" in detail
        assert all(gate in detail for gate in ("\ni ", "\nf ", "\ng ", "\no "))
        assert "input" in detail and "memory" in detail
        legend = str(app.main.query_one("#legend").render())
        assert "-1" in legend and "+1" in legend and "NaN" in legend and "Inf" in legend


async def test_gru_and_plain_rnn_show_their_own_maps(tmp_path):
    for cell, names in (("gru", ["h", "r", "z", "n", "Δh"]), ("rnn", ["h", "Δh"])):
        path = make_checkpoint(tmp_path / f"{cell}.safetensors", cell=cell, layers=1, hidden=16)
        app = InspectorApp(str(path))
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(pilot)
            await pilot.press("a")
            await settle(pilot)
            assert [h.title for h in app.main.query(Heatmap)] == names
            assert "\nh " in app.main.query_one(UnitDetail).text() or cell == "gru"


async def test_every_printable_key_feeds_the_model_and_enter_only_with_a_newline(tmp_path):
    letters = make_checkpoint(tmp_path / "letters.safetensors", layers=1, hidden=8)
    app = InspectorApp(str(letters))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("a", "space", "exclamation_mark", "enter", "Z")
        await settle(pilot)
        assert tape_lines(app)[0] == "x a ␣ ! Z"  # unknown characters go in as <unk>
        assert "x=<unk>" in log_lines(app)[1]
    text = make_checkpoint(tmp_path / "text.safetensors", layers=1, hidden=8,
                           vocab=CharVocab(("<unk>", "\n", "a")))
    app = InspectorApp(str(text))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("a", "enter")
        await settle(pilot)
        assert tape_lines(app)[0] == "x a ↵"
        assert "x='\\n'" in log_lines(app)[-1]


async def test_backspace_steps_back_and_arrows_move_through_the_timeline(lstm):
    app = InspectorApp(str(lstm))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press(*"abcd", "backspace")
        await settle(pilot)
        assert tape_lines(app)[0] == "x a b c"
        assert log_lines(app)[-1].startswith("t=2  x='c'")
        await pilot.press("left", "left")
        assert "t=0 of 3 steps" in status(app) and "viewing the past" in status(app)
        assert log_lines(app)[-1].startswith("t=0  x='a'")
        assert app.main.query_one(TopK).top  # the panels show the step on view
        await pilot.press("left", "right")
        assert "t=1 of 3 steps" in status(app)
        await pilot.press("end")
        assert "t=2 of 3 steps" in status(app) and "viewing" not in status(app)
        await pilot.press("home")
        assert "t=0 of 3" in status(app)
        await pilot.press("x")
        await settle(pilot)
        assert "t=3 of 4 steps" in status(app)  # typing returns to the newest step


async def test_select_unit_and_layer_reset_and_toggle_panels(lstm):
    app = InspectorApp(str(lstm))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press(*"ab", "down", "down", "up", "pagedown", "tab")
        assert "l1 unit 17" in status(app)
        assert "l1 unit 17" in app.main.query_one(UnitDetail).text()
        selected = [h.activation for h in app.main.query(Heatmap) if h.selected == 17]
        assert selected and all(name.startswith("l1.") for name in selected)
        await pilot.press("shift+tab", "pageup", "pageup", "up")
        assert "l0 unit 0" in status(app)
        await pilot.press("f2")
        assert not any(h.display for h in app.main.query(".gate"))
        await pilot.press("f2", "f3", "f4")
        assert all(h.display for h in app.main.query(".gate"))
        assert not app.main.query_one("#log").display and not app.main.query_one("#side").display
        await pilot.press("f3", "f4", "ctrl+r", "y")
        await settle(pilot)
        assert tape_lines(app)[0] == "x" and log_lines(app) == []
        assert "no steps yet" in status(app)


async def test_clicking_a_heatmap_cell_selects_that_unit(lstm):
    app = InspectorApp(str(lstm))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("a")
        await settle(pilot)
        heatmap = app.main.query(Heatmap).filter(".gate").first()  # l0 input gate
        await pilot.click(heatmap, offset=(2, 1))
        assert "l0 unit 2" in status(app)


async def test_help_lists_every_binding_and_quit_quits(lstm):
    app = InspectorApp(str(lstm))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("f1")
        assert isinstance(app.screen, HelpScreen)
        console = Console(width=100, file=io.StringIO(), record=True)
        console.print(app.screen.query_one("#help-keys", Static).content)
        help_text = console.export_text()
        for description in ("Undo the last step", "View the previous step", "Unit +1",
                            "Clear the timeline", "Show or hide the gate heatmaps",
                            "Open a checkpoint", "Export the trace", "Save an SVG screenshot",
                            "Quit"):
            assert description in help_text
        await pilot.press("escape")
        assert app.screen is app.main
        await pilot.press("ctrl+q")
    assert app.return_code == 0


async def test_command_palette_offers_the_commands(lstm):
    app = InspectorApp(str(lstm))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        from inspector.tui.commands import InspectorCommands

        provider = InspectorCommands(app.main)
        titles = [title for title, _, _ in provider.commands()]
        for wanted in ("Open a checkpoint file or zoo model", "Switch model: doubled-lstm",
                       "Export the trace of the typed text as JSON or npz",
                       "Save an SVG screenshot", "Clear the timeline (h back to zero)"):
            assert wanted in titles
        await pilot.press("ctrl+p")
        await pilot.press(*"switch model doubled-rnn")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await settle(pilot)
        assert status(app).startswith("doubled-rnn")


async def test_open_checkpoint_validates_and_switches_keeping_the_text(lstm, tmp_path):
    other = make_checkpoint(tmp_path / "other-gru.safetensors", cell="gru", layers=1, hidden=8)
    app = InspectorApp(str(lstm))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press(*"abc", "ctrl+o")
        assert isinstance(app.screen, PathPrompt)
        prompt_input = app.screen.query_one(Input)
        prompt_input.value = str(tmp_path / "missing.safetensors")
        await pilot.press("enter")
        assert isinstance(app.screen, PathPrompt)
        assert "no such file" in str(app.screen.query_one("#prompt-error").render())
        prompt_input.value = str(other)
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen is app.main
        assert status(app).startswith("other-gru │ gru 1×8")
        assert tape_lines(app)[0] == "x a b c"


async def test_a_bad_file_notifies_and_keeps_the_old_model_and_timeline(lstm, tmp_path):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"not a checkpoint at all")
    app = InspectorApp(str(lstm))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press(*"ab")
        await settle(pilot)
        app.open_model(str(bad))
        await pilot.press("c")  # typed while the bad file loads: queued, then fed to the old model
        await settle(pilot)
        messages = [n.message for n in app._notifications]
        assert any(m.startswith(f"{bad}: not a readable safetensors file") for m in messages)
        assert all("\n" not in m for m in messages)
        assert status(app).startswith("tiny-lstm") and tape_lines(app)[0] == "x a b c"
        assert "…" not in tape_lines(app)[1]  # the queued key was fed to the old model


async def test_a_model_that_cannot_be_opened_at_start_exits_with_code_2(tmp_path):
    app = InspectorApp(str(tmp_path / "nothing.safetensors"))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
    assert app.return_code == 2


@pytest.mark.parametrize("size", [(80, 24), (250, 70)])
async def test_works_from_80x24_to_250x70(lstm, size):
    app = InspectorApp(str(lstm))
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        await pilot.press(*"abcabc")
        await settle(pilot)
        assert not app.main.query_one("#too-small").display
        assert tape_lines(app)[0] == "x a b c a b c"
        assert app.main.query_one("#content").region.height > 10


async def test_below_the_minimum_size_it_says_so(lstm):
    app = InspectorApp(str(lstm))
    async with app.run_test(size=(79, 24)) as pilot:
        await settle(pilot)
        message = app.main.query_one("#too-small")
        assert message.display and "at least 80x24" in str(message.render())
        assert not app.main.query_one("#content").display
        await pilot.resize_terminal(100, 30)
        await settle(pilot)
        assert not message.display and app.main.query_one("#content").display


async def test_keys_after_ten_thousand_characters_step_and_undo_in_order(lstm):
    app = InspectorApp(str(lstm))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        text = "abcdefghijklmnopqrstuvwxyz" * 385  # 10,010 characters, pasted
        app.main.queue_text(text[:10_000])
        await settle(pilot)
        assert "t=9999 of 10000 steps" in status(app)
        await pilot.press(*"hello")  # how fast: benchmarks/bench_long_session.py
        await settle(pilot)
        assert "t=10004 of 10005" in status(app)
        assert tape_lines(app)[0].endswith("u v w x y z a b c d e f g h i j k l m n o p h e l l o")
        assert log_lines(app)[-1].startswith("t=10004  x='o'")
        await pilot.press("backspace", "left", "left")
        assert "t=10001 of 10004" in status(app)


async def test_backspace_while_a_paste_is_fed_undoes_in_the_order_typed(lstm, monkeypatch):
    from inspector.engine.session import Session

    gate = threading.Event()
    real_paste = Session.paste

    def slow_paste(session, text, progress=None, cancelled=None):
        gate.wait(10)
        return real_paste(session, text, progress, cancelled)

    app = InspectorApp(str(lstm))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        # held from here: loading feeds the (empty) text carried over through paste too
        monkeypatch.setattr(Session, "paste", slow_paste)
        app.main.queue_text("ab" * 150)  # a paste long enough for the worker
        await pilot.pause()
        assert "feeding…" in status(app)
        await pilot.press("backspace", "backspace", "x", "y", "backspace")
        assert "3 keys queued" in status(app)  # two steps back, then x (y was eaten)
        gate.set()
        await settle(pilot)
        assert "t=298 of 299 steps" in status(app)
        assert tape_lines(app)[0].endswith("a b a b a b a b x")


async def test_a_long_paste_shows_how_far_it_has_got(lstm, monkeypatch):
    from inspector.engine.session import Session
    from inspector.tui.screens import main as main_module

    reached, gate = threading.Event(), threading.Event()
    real_paste = Session.paste

    def held_after_a_chunk(session, text, progress=None, cancelled=None):
        def hold(done):
            progress(done)
            if done == 256:
                reached.set()
                gate.wait(10)
        return real_paste(session, text, hold, cancelled)

    monkeypatch.setattr(Session, "paste", held_after_a_chunk)
    monkeypatch.setattr(main_module, "PROGRESS_EVERY", 0.0)
    app = InspectorApp(str(lstm))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        app.main.queue_text("ab" * 300)
        for _ in range(100):
            if reached.is_set():
                break
            await pilot.pause(0.05)
        await pilot.pause(0.1)
        assert "feeding… 256 of 600" in status(app)
        gate.set()
        await settle(pilot)
        assert "t=599 of 600 steps" in status(app) and "feeding" not in status(app)


async def test_export_trace_and_screenshot_in_the_background(lstm, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    app = InspectorApp(str(lstm))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press(*"abc", "ctrl+e")
        assert isinstance(app.screen, PathPrompt)
        assert app.screen.query_one(Input).value == "tiny-lstm-trace.json"
        await pilot.press("enter")
        await settle(pilot)
        exported = json.loads((tmp_path / "tiny-lstm-trace.json").read_text())
        assert exported["format"] == "rnn-inspect-trace/2" and len(exported["steps"]) == 3
        assert exported["branch"] == "main" and exported["interventions"] == []
        await pilot.press("ctrl+s")
        assert list(tmp_path.glob("*.svg"))
        messages = " ".join(n.message for n in app._notifications)
        assert "trace written to" in messages and "screenshot saved to" in messages


async def test_nan_activations_are_drawn_and_named(tmp_path):
    poisoned = make_checkpoint(tmp_path / "nan.safetensors", layers=1, hidden=8, poison=True)
    app = InspectorApp(str(poisoned))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("a")
        await settle(pilot)
        assert "NaN/Inf in" in status(app) and "l0." in status(app)
        heatmap = app.main.query(Heatmap).first()
        colours = {colour.triplet for s in heatmap.render_line(1) if s.style
                   for colour in (s.style.color, s.style.bgcolor) if colour}
        assert (255, 0, 255) in {tuple(c) for c in colours}  # a NaN's colour, the marker's too


async def test_maps_out_of_view_wait_and_catch_up_when_scrolled_to(tmp_path):
    # four layers: more maps than 80x24 shows at once (the 2x64 demo's two layers now fit)
    lstm = make_checkpoint(tmp_path / "deep-lstm.safetensors", layers=4, hidden=64)
    app = InspectorApp(str(lstm))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press(*"abc")
        await settle(pilot)
        maps = app.main.query_one("#maps")
        hidden = [h for h in app.main.query(Heatmap) if not maps.shows(h)]
        assert hidden and all(h.stale for h in hidden)
        maps.scroll_end(animate=False)
        await pilot.pause()
        await pilot.pause()
        shown = [h for h in hidden if maps.shows(h)]
        assert shown and not any(h.stale for h in shown)
        record = headless(lstm, "abc").last  # what they draw now is the newest step's values
        for heatmap in shown:
            values = record.activation(heatmap.activation)
            assert heatmap.levels.tolist() == heatmap.scale.quantise(values).tolist()
            assert heatmap.title_text().startswith(heatmap.title)


async def test_switching_models_replays_the_whole_tape(lstm, tmp_path):
    other = make_checkpoint(tmp_path / "other.safetensors", layers=1, hidden=8)
    app = InspectorApp(str(lstm))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press(*"abcdefgh", "left", "left")
        app.open_model(str(other))
        await settle(pilot)
        assert status(app).startswith("other │") and "t=7 of 8" in status(app)
        assert tape_lines(app)[0] == "x a b c d e f g h"
        assert len(log_lines(app)) == 7


async def test_between_keys_the_model_works_ahead_on_the_state_on_screen(lstm, monkeypatch):
    from inspector.engine import NativeModel

    prepared = []
    honest = NativeModel.prepare
    monkeypatch.setattr(NativeModel, "prepare",
                        lambda self, state: (prepared.append(state), honest(self, state))[1])
    app = InspectorApp(str(lstm))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        for typed in ("a", "ab", "abc"):
            await pilot.press(typed[-1])
            await settle(pilot)
            await pilot.pause(LOOKAHEAD_DELAY + 0.05)  # once the frame is out
            assert prepared and same_state(prepared[-1], headless(lstm, typed).state)
        await pilot.press("backspace")
        await settle(pilot)
        await pilot.pause(LOOKAHEAD_DELAY + 0.05)
        assert same_state(prepared[-1], headless(lstm, "ab").state)
        assert tape_lines(app)[0] == "x a b"


async def test_no_garbage_collection_between_a_key_and_its_frame(lstm, monkeypatch):
    """The collector is off from a key until its frame is out (the lookahead), on again
    between keys, and never left off behind the app."""
    import gc

    from inspector.tui.screens import main as main_screen
    from inspector.tui.screens.main import MainScreen

    during = []
    honest = MainScreen.flush

    def flush(self):
        during.append(gc.isenabled())
        return honest(self)

    monkeypatch.setattr(MainScreen, "flush", flush)
    assert gc.isenabled()
    app = InspectorApp(str(lstm))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        for key in "abc":
            await pilot.press(key)
            await settle(pilot)
            await pilot.pause(LOOKAHEAD_DELAY + 0.05)  # the frame is out: on again
            assert gc.isenabled()
        monkeypatch.setattr(main_screen, "LOOKAHEAD_DELAY", 60.0)  # no lookahead before quitting
        await pilot.press("d")
        await settle(pilot)
        assert tape_lines(app)[0] == "x a b c d" and not gc.isenabled()
    assert during == [False] * 4 and gc.isenabled()  # the app quit: on again


def test_a_collector_pause_nothing_ends_ends_by_itself(monkeypatch):
    import gc

    from inspector.tui import gc_pause

    gc_pause.pause()
    try:
        assert not gc.isenabled() and gc_pause.paused()
        gc_pause.check(time.monotonic() + gc_pause.LONGEST / 2)
        assert not gc.isenabled()
        gc_pause.check(time.monotonic() + gc_pause.LONGEST + 0.1)
        assert gc.isenabled() and not gc_pause.paused()
        gc.disable()  # off by the user's choice: left alone
        gc_pause.pause()
        gc_pause.resume()
        assert not gc.isenabled()
    finally:
        gc_pause.resume()
        gc.enable()


async def test_the_cli_opens_each_model_once_and_the_app_takes_them_as_they_are(
        lstm, tmp_path, monkeypatch):
    from inspector import cli, loading

    other = make_checkpoint(tmp_path / "other.safetensors", layers=1, hidden=8)
    opened = []
    honest = loading.open_model

    def counting(source):
        opened.append(source)
        return honest(source)

    # The one opener: the CLI imports it from loading when it runs, as the app's workers do.
    monkeypatch.setattr(loading, "open_model", counting)
    launched = {}
    monkeypatch.setattr(app_module, "run_app",
                        lambda *args, **kwargs: launched.update(args=args, kwargs=kwargs) or 0)
    assert cli.main([str(lstm), "--compare", str(other)]) == 0
    assert [s.model for s in opened] == [str(lstm), str(other)]
    assert launched["kwargs"].pop("log_file") is None  # no --log: run_app logs nowhere
    app = InspectorApp(*launched["args"], **launched["kwargs"])
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("a")
        await settle(pilot)
        assert tape_lines(app)[0].startswith("x a")
        assert app.main.query_one("#partner").border_title == "other"
    assert len(opened) == 2  # a factory's code would have run once, not twice


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_the_footer_leads_with_help_and_quit_and_keeps_the_palette_when_wide(lstm, size):
    from textual.widgets._footer import FooterKey

    app = InspectorApp(str(lstm))
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        await pilot.pause()
        keys = [key for key in app.main.query(FooterKey) if key.region.right <= size[0]]
        shown = [key.key for key in keys if not key.has_class("-command-palette")]
        assert shown[:3] == ["f1", "ctrl+q", "backspace"]
        assert any(key.has_class("-command-palette") for key in keys) == (size[0] >= 110)
        await pilot.press("f1")
        assert isinstance(app.screen, HelpScreen)  # the footer's f1 is the app's help
        await pilot.press("escape", "ctrl+q")
        await pilot.pause()
        assert not app.is_running


async def test_the_mlp_hidden_layer_is_an_activation_of_this_input_alone():
    app = InspectorApp("doubled-mlp")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press(*"ab")
        await settle(pilot)
        assert len(log_lines(app)) == 2
        assert all("l0.act[0:8]=[" in line for line in log_lines(app))
        assert "l0.h[" not in " ".join(log_lines(app))
        titles = [heatmap.title_text() for heatmap in app.main.query(Heatmap)]
        assert any(title.startswith("act") for title in titles)
        assert not any(title.startswith(("h ", "Δh")) for title in titles)  # nothing carried


async def test_dialogs_keep_their_input_show_errors_inline_and_never_leak_keys(lstm, tmp_path):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"not a checkpoint at all")
    app = InspectorApp(str(lstm))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press(*"abab")
        await settle(pilot)
        await pilot.press("ctrl+o", *str(bad), "enter")
        await settle(pilot)
        assert isinstance(app.screen, PathPrompt)  # an unreadable file: the dialog stays open
        assert "not a readable safetensors file" in str(app.screen.query_one("#prompt-error")
                                                        .render())
        assert app.screen.query_one(Input).value == str(bad)  # with what was typed
        await pilot.press("backspace", "backspace", "backspace", *"zz", "escape")
        await settle(pilot)
        assert app.screen is app.main
        assert tape_lines(app)[0] == "x a b a b"  # no Backspace or letter reached the model
        assert "t=3 of 4 steps" in status(app)
        await pilot.press("f5", *"set 1e999", "enter")  # a value float32 cannot hold
        await pilot.pause()
        assert "1e999" in str(app.screen.query_one("#prompt-error").render())
        assert app.screen.query_one(Input).value == "set 1e999"
        await pilot.press("backspace", *"0", "escape")
        await settle(pilot)
        assert tape_lines(app)[0] == "x a b a b" and "next step" not in status(app)
