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
