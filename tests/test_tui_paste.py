"""Pastes: a bracketed paste goes through the fused path off the event loop, Escape stops it and
keeps what was fed, and in compare mode the partner catches up in a worker while the keys of the
first model are still taken."""

from __future__ import annotations

import threading

import pytest
from textual import events
from textual.widgets import Input
from tui_support import log_lines, make_checkpoint, settle, status, tape_lines

from inspector.engine.session import Session
from inspector.tui.app import InspectorApp
from inspector.tui.screens import main as main_module


@pytest.fixture
def lstm(tmp_path):
    return make_checkpoint(tmp_path / "tiny-lstm.safetensors")


def held_paste(monkeypatch, at: int):
    """Session.paste that stops (in its worker) once `at` tokens are in, until released."""
    reached, gate = threading.Event(), threading.Event()
    real_paste = Session.paste

    def paste(session, text, progress=None, cancelled=None, threads=None):
        def hold(done):
            if progress is not None:
                progress(done)
            if done >= at and not reached.is_set():
                reached.set()
                gate.wait(10)
        return real_paste(session, text, hold, cancelled, threads)

    monkeypatch.setattr(Session, "paste", paste)
    monkeypatch.setattr(main_module, "PROGRESS_EVERY", 0.0)
    return reached, gate


async def wait_for(pilot, event: threading.Event) -> None:
    for _ in range(200):
        if event.is_set():
            break
        await pilot.pause(0.05)
    await pilot.pause(0.1)


async def test_escape_stops_a_paste_and_keeps_what_was_fed(lstm, monkeypatch):
    reached, gate = held_paste(monkeypatch, 512)
    app = InspectorApp(str(lstm))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        text = "abcdefgh" * 500  # 4,000 characters, as a terminal brackets a paste
        app.screen.post_message(events.Paste(text))
        await wait_for(pilot, reached)
        assert "feeding… " in status(app) and " of 4,000" in status(app)
        await pilot.press("escape")
        gate.set()
        await settle(pilot)
        shown = status(app)
        fed = int(shown.split(" of ")[1].split()[0])  # "t=N of M steps"
        assert 512 <= fed < 4000, shown
        assert "feeding" not in shown
        assert tape_lines(app)[0].replace(" ", "").endswith(text[:fed][-20:])
        await pilot.press("x")  # the model takes keys again, after what was fed
        await settle(pilot)
        assert f"t={fed} of {fed + 1} steps" in status(app)
        reference = Session(app.main.controller.loaded.model)  # the same text, stepped
        reference.feed(text[:fed] + "x")
        shown_prediction = tape_lines(app)[1].split()[-1]
        assert shown_prediction == reference.last.prediction


async def test_a_paste_with_newlines_feeds_them_where_the_vocabulary_has_one(tmp_path):
    from models.vocab import CharVocab

    vocab = CharVocab.from_text("ab\n")
    app = InspectorApp(str(make_checkpoint(tmp_path / "nl.safetensors", vocab=vocab)))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        app.screen.post_message(events.Paste("ab\r\nba"))
        await settle(pilot)
        assert "t=4 of 5 steps" in status(app)  # \r\n is one newline
        await pilot.press("a", "enter", "b")  # a terminal without bracketed paste: Enter keys
        await settle(pilot)
        assert "t=7 of 8 steps" in status(app)
        assert tape_lines(app)[0].split()[1:] == list("ab↵baa↵b")


async def test_compare_partner_catches_up_in_a_worker_while_keys_are_taken(lstm, tmp_path,
                                                                          monkeypatch):
    other = make_checkpoint(tmp_path / "other.safetensors", cell="gru", seed=3)
    app = InspectorApp(str(lstm), compare=str(other))
    async with app.run_test(size=(160, 50)) as pilot:
        for _ in range(3):
            await settle(pilot)
        reached, gate = held_paste(monkeypatch, 256)
        app.screen.post_message(events.Paste("ab" * 1000))
        await wait_for(pilot, reached)
        # one of the two pastes is held in its worker: the screen still answers
        assert "feeding…" in status(app) or "catching up" in status(app)
        await pilot.press("left")
        await pilot.pause()
        gate.set()
        for _ in range(3):
            await settle(pilot)
        shown = status(app)
        assert "catching up" not in shown and "feeding" not in shown
        from inspector.tui.widgets.tape import Tape

        tapes = [tape.line_text(0).replace(" ", "") for tape in app.screen.query(Tape)
                 if tape.id == "tape"]
        assert len(tapes) == 2 and all(t.endswith("ab" * 10) for t in tapes)  # both fed it all
        assert "t=1999 of 2000 steps" in shown and "agree on" in str(
            app.screen.query_one("#agreement").render_line(0).text)


async def test_ctrl_t_in_compare_changes_both_views_scale_together(lstm, tmp_path):
    from inspector.tui.widgets.heatmap import Heatmap

    other = make_checkpoint(tmp_path / "other.safetensors", cell="gru", seed=3)
    app = InspectorApp(str(lstm), compare=str(other))
    async with app.run_test(size=(160, 50)) as pilot:
        for _ in range(3):
            await settle(pilot)
        await pilot.press(*"ab")
        await settle(pilot)

        def scales(view_id: str) -> set[str]:  # the scale each map of a view is drawn on
            return {h.scale.basis for h in app.screen.query_one(f"#{view_id}").query(Heatmap)}

        assert "step" not in scales("primary") | scales("partner")
        await pilot.press("ctrl+t")
        await settle(pilot)
        assert scales("primary") == scales("partner") == {"step"}
        await pilot.press("ctrl+t")
        await settle(pilot)
        assert "step" not in scales("primary") | scales("partner")


async def test_switching_model_during_a_paste_loses_no_text(lstm, tmp_path, monkeypatch):
    """ctrl+o mid-paste: the new model gets the text before the paste, the whole paste (also
    the part the old model had not read yet) and the keys typed meanwhile, in the order typed;
    the old model's unfinished paste is dropped with it."""
    other = make_checkpoint(tmp_path / "other-gru.safetensors", cell="gru", seed=5)
    app = InspectorApp(str(lstm))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press(*"ab")
        await settle(pilot)
        reached, gate = held_paste(monkeypatch, 256)
        text = "abcdefgh" * 250  # 2,000 characters
        app.screen.post_message(events.Paste(text))
        await wait_for(pilot, reached)
        assert "feeding… " in status(app)
        await pilot.press("h")  # typed while the paste is fed: queued after it
        await pilot.press("ctrl+o")
        await pilot.pause()
        app.screen.query_one(Input).value = str(other)
        await pilot.press("enter", "g")  # g: typed while the new model loads
        await settle(pilot)
        try:
            assert status(app).startswith("other-gru"), status(app)
        finally:
            gate.set()  # the old model's paste ends only now: it is not this model's
        await settle(pilot)
        typed = "ab" + text + "hg"
        assert status(app).startswith("other-gru")
        assert f"t={len(typed) - 1} of {len(typed)} steps" in status(app), status(app)
        assert tape_lines(app)[0].replace(" ", "").endswith(typed[-30:])
        from inspector.engine import inspectable
        from inspector.loading import open_model
        from inspector.tui.text import vector_summary

        reference = Session(inspectable(open_model(str(other))))  # the same text, typed
        reference.feed(typed)
        summary = vector_summary(reference.last.layers[0].h)  # the newest step's state
        assert log_lines(app)[-1].endswith(f"l0.h[0:8]={summary}"), log_lines(app)[-1]
