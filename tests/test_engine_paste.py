"""A long paste runs through the fused forward and builds no records: a record is computed when
first asked for, from the keyframe at the start of its interval, and equals stepping the text
within float32 rounding (the numbers a user sees are the model's)."""

import threading

import numpy as np
import pytest
import torch

from inspector.engine import Intervention, NativeModel, Session
from inspector.engine.session import PASTE_KEYFRAMES
from models.char_rnn import CharRNN, CharRNNConfig
from models.vocab import CharVocab

VOCAB = CharVocab.letters()
TEXT = "thequickbrownfoxjumpsoverthelazydog" * 60  # 2,100 characters


@pytest.fixture(scope="module", params=["lstm", "gru", "rnn"])
def model(request) -> NativeModel:
    torch.manual_seed(3)
    module = CharRNN(CharRNNConfig(len(VOCAB), request.param, 2, 24, 6)).eval()
    return NativeModel(module, VOCAB, request.param)


class Counted:
    """Counts the steps taken by hand (`step`), passing everything else through."""

    def __init__(self, model: NativeModel) -> None:
        self.model, self.steps = model, 0

    def __getattr__(self, name):
        return getattr(self.model, name)

    def step(self, *args, **kwargs):
        self.steps += 1
        return self.model.step(*args, **kwargs)


def test_a_paste_steps_nothing_until_a_record_is_shown(model):
    counted = Counted(model)
    session = Session(counted)
    session.feed("ab")
    counted.steps = 0
    predictions = session.paste(TEXT)
    assert counted.steps == 0 and len(predictions) == len(TEXT) == session.cursor - 2
    last = session.records(session.cursor - 40, session.cursor)  # a tape's worth
    assert counted.steps <= 2 * PASTE_KEYFRAMES
    steps = counted.steps
    session.records(session.cursor - 50, session.cursor - 40)  # stepping back: cached already
    assert counted.steps == steps
    fed = Session(model)
    stepped = fed.feed("ab" + TEXT)[-40:]
    for a, b in zip(last, stepped, strict=True):
        assert a.t == b.t and a.typed == b.typed
        for x, y in zip(a.layers, b.layers):
            assert np.abs(x.h - y.h).max() <= 1e-5
            for gate in x.gates:
                assert np.abs(x.gates[gate] - y.gates[gate]).max() <= 1e-5
        assert np.abs(a.probs - b.probs).max() <= 1e-5
    agreeing = sum(p == r.prediction for p, r in zip(predictions[-40:], stepped))
    assert agreeing >= 38  # the fused head's argmax: equal but for float32 near-ties


def test_a_paste_after_an_edit_keeps_it_on_the_first_pasted_step(model):
    session = Session(model)
    session.feed("abc")
    edit = Intervention("set", "l0.h", 3, 0.75)
    session.intervene(edit)
    session.paste(TEXT)
    first = session.records(3, 4)[0]
    assert first.interventions == (edit,) and first.typed == TEXT[0]
    fed = Session(model)
    fed.feed("abc")
    fed.intervene(edit)
    reference = fed.feed(TEXT[:5])
    assert np.abs(first.layers[1].h - reference[0].layers[1].h).max() <= 1e-5


def test_a_cancelled_paste_keeps_what_was_fed_and_says_its_progress(model):
    heard = []
    session = Session(model)
    session.paste(TEXT, progress=heard.append, cancelled=lambda: len(heard) == 3)
    assert heard == [PASTE_KEYFRAMES, 2 * PASTE_KEYFRAMES, 3 * PASTE_KEYFRAMES]
    assert session.text == TEXT[:3 * PASTE_KEYFRAMES]
    session.back(5)  # back into the pasted span: recomputed from its keyframe
    assert session.text == TEXT[:3 * PASTE_KEYFRAMES - 5]


def test_a_paste_drops_the_redo_tail_only_when_it_feeds(model):
    session = Session(model)
    session.feed("abcd")
    session.back(2)
    session.paste(TEXT, cancelled=lambda: True)
    assert session.can_forward and session.text == "ab"
    session.paste(TEXT)
    assert not session.can_forward and session.text == "ab" + TEXT


def test_a_paste_on_more_threads_gives_the_callers_back():
    torch.manual_seed(4)
    model = NativeModel(CharRNN(CharRNNConfig(len(VOCAB), "lstm", 1, 16, 4)).eval(), VOCAB, "m")
    seen = []

    def worker():
        torch.set_num_threads(1)
        one = Session(model)
        one.paste(TEXT)
        two = Session(model)
        two.paste(TEXT, threads=2)
        seen.append(torch.get_num_threads())
        seen.append(all(np.abs(a.h - b.h).max() <= 1e-5 for a, b in zip(one.state, two.state)))

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()
    assert seen == [1, True]


def test_backspace_and_redo_read_the_cached_step_instead_of_stepping(model):
    counted = Counted(model)
    session = Session(counted, keyframe_every=64)
    session.feed(TEXT[:300])
    session.intervene(Intervention("scale", "l1.h", None, 0.5))
    session.feed(TEXT[300:310])
    counted.steps = 0
    session.back(1)  # the step before is cached: its state, no step
    session.back(1)
    session.back(9)  # back over the tenth step and onto the edit made before it
    session.forward(3)  # redo: the edit and two steps, read off their cached records
    assert counted.steps == 0
    fresh = Session(model, keyframe_every=64)
    fresh.feed(TEXT[:300])
    fresh.intervene(Intervention("scale", "l1.h", None, 0.5))
    fresh.feed(TEXT[300:302])
    assert session.cursor == fresh.cursor == 302 and session.text == fresh.text
    for a, b in zip(session.state, fresh.state):
        assert np.array_equal(a.h, b.h) and (a.c is None or np.array_equal(a.c, b.c))
    assert session.records(300, 301)[0].interventions == fresh.records(300, 301)[0].interventions
