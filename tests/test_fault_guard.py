"""A user's forward that raises, returns the wrong thing or hangs on its fifth call (the second
step of a session: tests/userland/faulty_models.py) is refused in one line and the session is
left as it was; a hang is bounded and gives the model up; two threads never step a model's own
forward at once."""

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from userland import faulty_models as fm

from inspector.cli import main
from inspector.engine import Session, inspectable
from inspector.engine.guard import Guard
from inspector.engine.journal import JournaledSession, replay
from inspector.loading import ModelSource, open_model
from models.errors import ModelUnusable, StepRefused

TESTS = Path(__file__).resolve().parent
WRONG = {"raising": "RuntimeError: the fifth call fails",
         "wrong_hidden_shape": "shape (1, 1, 3)",
         "wrong_hidden_dtype": "dtype torch.float64",
         "wrong_output_shape": "shape (1, 1, 3)",
         "wrong_output_dtype": "dtype torch.int64",
         "not_a_tensor": "list as its output"}


@pytest.fixture
def letters(tmp_path):
    path = tmp_path / "letters.json"
    path.write_text(json.dumps(list(fm.LETTERS)))
    return str(path)


@pytest.fixture
def released():
    """A hanging forward is let go when the test ends, so no thread outlives it for long."""
    fm.release.clear()
    yield
    fm.release.set()


def faulty(letters, fault, **options):
    checkpoint = open_model(ModelSource(None, vocab=letters,
                                        factory=f"userland.faulty_models:build_{fault}",
                                        **options))
    return inspectable(checkpoint)


def clean_steps(text):
    """The factory's module stepped by hand, one call per character: the reference."""
    module, hidden, steps = fm.build_clean(), None, []
    with torch.no_grad():
        for char in text:
            out, hidden = module(torch.tensor([[fm.LETTERS.index(char)]]), hidden)
            steps.append((hidden.reshape(-1).numpy().copy(),
                          torch.softmax(out.reshape(-1), 0).numpy()))
    return steps


def assert_steps_are(records, text):
    assert [r.typed for r in records] == list(text)
    for record, (h, probs) in zip(records, clean_steps(text), strict=True):
        assert np.abs(record.layers[0].h - h).max() <= 1e-5
        assert np.abs(record.probs - probs).max() <= 1e-5


@pytest.mark.parametrize("fault", sorted(WRONG))
def test_a_step_the_forward_gets_wrong_is_refused_and_the_session_is_kept(letters, fault):
    session = JournaledSession(faulty(letters, fault))
    first = session.feed("a")
    with pytest.raises(StepRefused) as refused:
        session.feed("b")
    message = str(refused.value)
    assert WRONG[fault] in message and fault in message and "\n" not in message
    assert not isinstance(refused.value, ModelUnusable)
    # the step did not happen: one step, nothing to redo, the state after 'a'
    assert (session.cursor, session.text, session.can_forward) == (1, "a", False)
    assert session.last is first[0] and session.state[0].h is first[0].layers[0].h
    assert session.journal == [{"op": "type", "keys": ["a"]}]
    # the model is kept: the next call is an ordinary step, exactly the forward's numbers
    session.feed("b")
    assert_steps_are(session.records(0, 2), "ab")
    assert session.journal == [{"op": "type", "keys": ["a", "b"]}]


def test_a_refused_step_keeps_the_redo_tail(letters):
    session = Session(faulty(letters, "raising"))
    session.feed("a")
    session.back(1)
    with pytest.raises(StepRefused):
        session.feed("b")
    assert (session.cursor, session.can_forward) == (0, True)
    session.forward(1)
    assert_steps_are(session.records(0, 1), "a")


def test_an_edit_of_an_earlier_step_is_all_or_nothing(letters):
    """Editing step 0 replays the step after it: the replay's refused step undoes the edit."""
    from inspector.engine import Intervention

    session = JournaledSession(faulty(letters, "raising"))
    before = session.feed("a")[0]
    edit = Intervention("set", "l0.h", 2, 0.5)
    with pytest.raises(StepRefused):
        session.intervene(edit, at=0)  # replays 'a': the fifth call
    assert session.events == (before_feed(session),) and session.records(0, 1)[0] is before
    assert session.journal == [{"op": "type", "keys": ["a"]}]
    session.intervene(edit, at=0)
    assert session.records(0, 1)[0].interventions == (edit,)


def before_feed(session):
    return session.events[0]


def test_a_branch_switch_the_forward_refuses_stays_on_its_branch(letters):
    session = Session(faulty(letters, "raising"))
    session.feed("a")
    session.fork("b1", at=0)  # nothing to step on the new branch
    with pytest.raises(StepRefused):
        session.switch("main")  # recomputes 'a' on main: the fifth call
    assert (session.branch, session.cursor) == ("b1", 0)
    session.switch("main")
    assert session.branch == "main"
    assert_steps_are(session.records(0, 1), "a")


def test_a_forward_that_hangs_is_given_up_within_its_timeout(letters, released):
    model = faulty(letters, "hanging", step_timeout=0.5)
    session = JournaledSession(model)
    session.feed("a")
    started = time.monotonic()
    with pytest.raises(ModelUnusable) as hung:
        session.feed("b")
    waited = time.monotonic() - started
    assert 0.5 <= waited < 5
    line = str(hung.value)
    assert "did not return within 0.5 s" in line and "--step-timeout" in line
    assert "\n" not in line
    assert (session.cursor, session.text, session.can_forward) == (1, "a", False)
    # never called again: refused at once, with the same line, even after it returns
    fm.release.set()
    for _ in range(3):
        started = time.monotonic()
        with pytest.raises(ModelUnusable, match="did not return within 0.5 s"):
            session.feed("b")
        assert time.monotonic() - started < 0.1
    assert model.module.calls == fm.FAULTY_CALL
    assert session.cursor == 1 and session.journal == [{"op": "type", "keys": ["a"]}]


def test_a_stepped_paste_keeps_what_was_fed_before_a_refused_step(letters):
    session = JournaledSession(faulty(letters, "raising"))
    with pytest.raises(StepRefused):
        session.paste("abcdef")
    assert session.text == "a"
    assert session.journal == [{"op": "paste", "text": "a"}]
    assert_steps_are(replay(session.model, session.journal).records(0, 1), "a")


def test_the_guard_serves_one_call_at_a_time_and_bounds_each():
    guard = Guard("slow", timeout=0.3)
    assert guard.run(lambda a, b: a + b, 2, 3) == 5
    with pytest.raises(KeyError):
        guard.run({}.__getitem__, "missing")  # the function's own error, raised in the caller
    gate = threading.Event()
    with pytest.raises(ModelUnusable):
        guard.run(gate.wait, 30)
    gate.set()
    with pytest.raises(ModelUnusable):
        guard.run(lambda: 1)
    with pytest.raises(ValueError, match="positive"):
        Guard("x", timeout=0)


def test_two_threads_never_step_a_models_own_forward_at_once():
    """An export replays the timeline on its own session while keys step the one on screen:
    the same model stepped from two threads. The forward counts calls that overlap."""
    from inspector.engine.hooked import HookedModel
    from models.vocab import CharVocab

    vocab = CharVocab(tuple(fm.LETTERS))
    texts = ["abcdefgh" * 25, "hgfedcba" * 25]

    # The detector works: the bare module called from two threads overlaps.
    bare = fm.build_exclusive()

    def call_bare(text):
        hidden = None
        with torch.no_grad():
            for char in text:
                _, hidden = bare(torch.tensor([[fm.LETTERS.index(char)]]), hidden)

    threads = [threading.Thread(target=call_bare, args=(t[:80],)) for t in texts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert bare.overlaps > 0

    model = HookedModel(fm.build_exclusive(), vocab, "exclusive")
    expected = [Session(model).feed(t) for t in texts]
    errors: list[BaseException] = []
    got: list[list] = [[], []]

    def by_step(k):  # model.step directly: no Session lock in between
        try:
            state = model.initial_state()
            for char in texts[k]:
                layers, output = model.step(vocab.id(char), state)
                got[k].append((layers, output))
                state = tuple(type(s)(layer.h, layer.c) for s, layer in zip(state, layers))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=by_step, args=(k,)) for k in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert model.module.overlaps == 0
    assert errors == []
    for records, steps in zip(expected, got, strict=True):
        assert len(steps) == len(records)
        for record, (layers, output) in zip(records, steps):
            assert np.array_equal(record.layers[0].h, layers[0].h)
            assert np.array_equal(record.layers[0].c, layers[0].c)
            assert set(layers[0].gates) == set("ifgo")
            for gate in "ifgo":
                assert np.array_equal(record.layers[0].gates[gate], layers[0].gates[gate])
            assert np.array_equal(record.probs, output.probs)


def run_cli(args, timeout=60):
    env = {"PYTHONPATH": f"{TESTS.parent}:{TESTS}", "PATH": "/usr/bin:/bin"}
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "inspector.cli", *args], capture_output=True,
                          text=True, timeout=timeout, env=env, cwd=TESTS.parent)
    return done, time.monotonic() - started


@pytest.mark.parametrize("fault", ["raising", "wrong_hidden_shape", "not_a_tensor"])
def test_trace_of_a_faulty_factory_is_one_line_and_exit_2(letters, fault, capsys):
    status = main(["trace", "--factory", f"userland.faulty_models:build_{fault}", "--vocab",
                   letters, "--input", "abcdef"])
    err = capsys.readouterr().err
    assert status == 2
    assert err.count("\n") == 1 and err.startswith("rnn-inspect: ") and WRONG[fault] in err


def test_trace_of_a_hanging_factory_ends_after_its_timeout(letters):
    done, took = run_cli(["trace", "--factory", "userland.faulty_models:build_hanging",
                          "--vocab", letters, "--input", "abcdef", "--step-timeout", "1"])
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert "did not return within 1 s" in done.stderr
    assert took < 30  # the forward would hang for two minutes: the process does not wait


def test_step_timeout_is_checked_and_refused_where_no_user_code_runs(capsys):
    assert main(["trace", "doubled-lstm", "--input", "ab", "--step-timeout", "2"]) == 2
    assert "runs no code of its own" in capsys.readouterr().err
    assert main(["trace", "doubled-lstm", "--input", "ab", "--step-timeout", "nan"]) == 2
    assert "positive number of seconds" in capsys.readouterr().err
