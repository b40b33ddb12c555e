"""F10 saves the session on screen and ctrl+l loads it again: the same steps, branches, step on
view and selection, replayed exactly; other weights are refused unless told otherwise."""

from __future__ import annotations

import json

import torch
from textual.widgets import Input
from tui_support import make_checkpoint, settle, status, tape_lines

from inspector import sessions
from inspector.tui.app import InspectorApp
from inspector.tui.screens.path_prompt import PathPrompt
from inspector.tui.widgets.lines import LinesWidget
from models.char_rnn import CharRNN, CharRNNConfig
from models.checkpoint import save_checkpoint
from models.vocab import CharVocab


async def answer(pilot, value: str, seq2seq: bool = False) -> None:
    """Type a path into the dialog on screen and press Enter, then wait for the work it starts
    (the main screen's status says when it is idle; the seq2seq screen's workers do)."""
    app = pilot.app
    assert isinstance(app.screen, PathPrompt)
    app.screen.query_one(Input).value = value
    await pilot.press("enter")
    if seq2seq:
        await app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.pause()
    else:
        await settle(pilot)


async def test_f10_saves_and_ctrl_l_opens_the_session_exactly(tmp_path):
    model = make_checkpoint(tmp_path / "tiny-lstm.safetensors", hidden=8)
    path = tmp_path / "room.json"
    app = InspectorApp(str(model))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press(*"aabb")
        await settle(pilot)
        await pilot.press("f6")  # fork b1 at the newest step, then type on it
        await pilot.press(*"cc")
        await pilot.press("down", "down", "tab", "left", "left")  # l1 unit 2, viewing t=3
        await settle(pilot)
        before_status, before_tape = status(app), tape_lines(app)
        assert "t=3 of 6 steps" in before_status and "l1 unit 2" in before_status
        await pilot.press("f10")
        await answer(pilot, str(path))
        assert path.is_file()
        saved = sessions.read_session(path)
        assert saved.view == sessions.View(3, 1, 2)
        assert saved.data["branch"] == "b1"

        await pilot.press("ctrl+r", "y", *"zz")  # something else on screen
        await settle(pilot)
        assert "t=1 of 2 steps" in status(app)
        await pilot.press("ctrl+l")
        await answer(pilot, str(path))
        assert app.screen is app.main
        assert status(app) == before_status and tape_lines(app) == before_tape
        assert not [n for n in app._notifications if n.severity == "warning"]


async def test_a_session_on_other_weights_is_refused_in_the_dialog(tmp_path):
    model = make_checkpoint(tmp_path / "tiny-lstm.safetensors", hidden=8)
    path = tmp_path / "room.json"
    app = InspectorApp(str(model))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press(*"ab", "f10")
        await answer(pilot, str(path))
        torch.manual_seed(123)  # other weights under the same file name
        save_checkpoint(model, "char", CharRNN(CharRNNConfig(27, "lstm", 2, 8, 16)),
                        CharVocab.letters())
        await pilot.press("ctrl+r", "y", *"cd")
        await settle(pilot)
        await pilot.press("ctrl+l")
        await answer(pilot, str(path))
        messages = [n.message for n in app._notifications if n.severity == "error"]
        assert len(messages) == 1 and "other weights" in messages[0]
        assert tape_lines(app)[0] == "x c d"  # the session on screen is kept
        await pilot.press("ctrl+p", *"weights differ")  # told otherwise: opened anyway
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause()
        await answer(pilot, str(path))
        assert tape_lines(app)[0] == "x a b"
    assert json.loads(path.read_text())["format"] == "rnn-inspect-session/1"


async def test_a_seq2seq_session_comes_back_with_its_edits_and_decode(tmp_path):
    path = tmp_path / "s2s.json"
    app = InspectorApp("reverse-seq2seq")
    async with app.run_test(size=(120, 40)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.press(*"hello")
        await pilot.press("f6", "f6", "f6")  # three decoder steps, one per key
        await pilot.pause()
        shown = [app.seq2seq.query_one(f"#{name}", LinesWidget).text()
                 for name in ("output", "source", "decoder-log")]
        await pilot.press("f10")
        await answer(pilot, str(path), seq2seq=True)
        await pilot.press("ctrl+r", *"abc", "enter")
        await pilot.pause()
        await pilot.press("ctrl+l")
        await answer(pilot, str(path), seq2seq=True)
        assert [app.seq2seq.query_one(f"#{name}", LinesWidget).text()
                for name in ("output", "source", "decoder-log")] == shown
        assert shown[0].startswith("output oll") and shown[1].startswith("source hello")
