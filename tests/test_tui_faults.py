"""The app on a factory whose forward raises, returns the wrong shape or hangs on its fifth call
(the second key: tests/userland/faulty_models.py): the key is refused with a one-line notice, the
session on screen is kept, and the app never freezes (ctrl+q quits even after a hang)."""

import json
import time

import pytest
from tui_support import settle, status
from userland import faulty_models as fm

from inspector.loading import ModelSource
from inspector.tui.app import InspectorApp


@pytest.fixture
def letters(tmp_path):
    path = tmp_path / "letters.json"
    path.write_text(json.dumps(list(fm.LETTERS)))
    return str(path)


@pytest.fixture
def released():
    fm.release.clear()
    yield
    fm.release.set()


def notices(app) -> str:
    return " | ".join(n.message for n in app._notifications)  # as test_tui_app reads them


def faulty_app(letters, fault, **options) -> InspectorApp:
    return InspectorApp(ModelSource(None, vocab=letters,
                                    factory=f"userland.faulty_models:build_{fault}", **options))


@pytest.mark.parametrize("fault", ["raising", "wrong_hidden_shape", "not_a_tensor"])
async def test_a_key_the_forward_refuses_is_one_notice_and_the_session_is_kept(letters, fault):
    app = faulty_app(letters, fault)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("a")
        await settle(pilot)
        assert "t=0 of 1 steps" in status(app)
        await pilot.press("b")
        await settle(pilot)
        assert "t=0 of 1 steps" in status(app)
        assert "refused" in notices(app)
        await pilot.press("b")  # the model is kept: the next call is an ordinary step
        await settle(pilot)
        assert "t=1 of 2 steps" in status(app)


async def test_a_forward_that_hangs_is_refused_and_ctrl_q_quits(letters, released):
    app = faulty_app(letters, "hanging", step_timeout=0.5)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("a")
        await settle(pilot)
        await pilot.press("b")
        started = time.monotonic()
        while "did not return" not in notices(app) and time.monotonic() - started < 20:
            await pilot.pause(0.1)
        assert "did not return within 0.5 s" in notices(app)
        await settle(pilot)
        assert "t=0 of 1 steps" in status(app)
        await pilot.press("ctrl+q")
        await pilot.pause()
    assert not app.is_running


async def test_a_refused_step_says_so_on_the_status_line_until_the_next_step(letters):
    app = faulty_app(letters, "raising")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("a", "b")
        await settle(pilot)
        assert "step refused: its forward failed" in status(app)
        await pilot.press("b")
        await settle(pilot)
        assert "refused" not in status(app) and "t=1 of 2 steps" in status(app)


async def test_the_log_file_gets_the_traceback_of_a_refused_step(letters, tmp_path):
    from inspector.tui.app import log, log_to

    path = tmp_path / "rnn-inspect.log"
    handler = log_to(path)
    try:
        app = faulty_app(letters, "raising")
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(pilot)
            await pilot.press("a", "b")
            await settle(pilot)
            assert "refused" in notices(app)
    finally:
        log.removeHandler(handler)
        handler.close()
    text = path.read_text()
    assert "Traceback" in text and "the fifth call fails" in text


@pytest.mark.parametrize(("where", "said"), [("missing/x.log", "does not exist"),
                                             (".", "is a folder")])
def test_the_log_option_refuses_a_file_it_cannot_write_in_one_line(tmp_path, capsys, where,
                                                                   said):
    from inspector.cli import main

    assert main(["--log", str(tmp_path / where), "doubled-lstm"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and said in err[0]


async def test_records_no_longer_held_are_recomputed_off_the_event_loop(letters, monkeypatch):
    """Home on a long session whose first steps have left the record cache: the user's forward
    recomputes them in a worker; meanwhile F1 still opens and a key typed waits its turn."""
    from textual import events
    from tui_support import log_lines
    from userland import slow_models as sm

    from inspector.engine import Session, inspectable
    from inspector.loading import open_model
    from inspector.tui.screens.help import HelpScreen
    from inspector.tui.text import vector_summary

    monkeypatch.setattr("inspector.engine.session.RECORD_CACHE", 64)
    source = ModelSource(None, vocab=letters, factory="userland.slow_models:build_held_lm")
    text = "abcdefgh" * 25
    app = InspectorApp(source)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(pilot)
            app.screen.post_message(events.Paste(text))
            await settle(pilot)
            assert "t=199 of 200 steps" in status(app)
            sm.hold()
            await pilot.press("home")  # t=0 has left the cache: recomputed
            for _ in range(200):
                if sm.held.is_set():
                    break
                await pilot.pause(0.05)
            assert sm.held.is_set() and "computing… the records of t=0.." in status(app)
            await pilot.press("c")  # waits for the records
            await pilot.press("f1")
            await pilot.pause()
            assert isinstance(app.screen, HelpScreen)  # the event loop answered
            await pilot.press("escape")
            await pilot.pause()
            assert "1 keys queued" in status(app)
            sm.release()
            await settle(pilot)
            assert "t=200 of 201 steps" in status(app)  # the c, after the paste
            await pilot.press("home")
            await settle(pilot)
            reference = Session(inspectable(open_model(source)))
            first = reference.feed(text + "c")[0]
            assert log_lines(app)[0].startswith("t=0  x='a'")
            assert log_lines(app)[0].endswith(f"={vector_summary(first.layers[0].h)}")
    finally:
        sm.release()
