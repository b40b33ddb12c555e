"""Session timelines: undo/redo, keyframes, branches, interventions, replay, unknown characters."""

import subprocess

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from inspector.engine import Intervention, NativeModel, Session
from models.char_rnn import CharRNN, CharRNNConfig
from models.vocab import CharVocab, UnknownCharacterError

VOCAB = CharVocab.letters()


@pytest.fixture(scope="module")
def model() -> NativeModel:
    torch.manual_seed(1)
    return NativeModel(CharRNN(CharRNNConfig(len(VOCAB), "lstm", 2, 12, 4)).eval(), VOCAB, "m")


def same(a, b) -> bool:
    return all(np.array_equal(x.h, y.h) and (x.c is None or np.array_equal(x.c, y.c))
               for x, y in zip(a, b))


def test_back_and_forward_are_undo_and_redo(model):
    s = Session(model, keyframe_every=3)
    s.feed("abcdefg")
    after = s.state
    s.back(4)
    assert s.cursor == 3 and s.text == "abc"
    fresh = Session(model)
    fresh.feed("abc")
    assert same(s.state, fresh.state)
    s.forward(10)
    assert s.cursor == 7 and same(s.state, after)
    s.back(2)
    s.feed("z")  # typing after stepping back drops the redo tail
    assert s.text == "abcdez" and not s.can_forward


def test_records_far_back_are_recomputed_exactly(model):
    s = Session(model, keyframe_every=8)
    records = s.feed("thequickbrownfoxjumpsoverthelazydog" * 100)
    s._records.clear()  # force recomputation from keyframes
    again = s.records(1000, 1010)
    for a, b in zip(records[1000:1010], again):
        assert a.t == b.t and np.array_equal(a.layers[1].h, b.layers[1].h)
        assert np.array_equal(a.probs, b.probs)
    history = s.history("l0.c", 3, 1000, 1010)
    assert np.array_equal(history, [r.layers[0].c[3] for r in records[1000:1010]])


def test_reset_starts_again_from_zero(model):
    s = Session(model)
    s.feed("abc")
    s.reset()
    assert s.cursor == 0 and s.text == "" and s.last is None
    assert all(not layer.h.any() for layer in s.state)


def test_interventions_change_later_steps_and_back_undoes_them(model):
    s = Session(model)
    s.feed("ab")
    plain = Session(model)
    plain.feed("abc")
    s.intervene(Intervention("set", "l0.h", 2, 5.0))
    assert s.state[0].h[2] == 5.0
    record = s.feed("c")[0]
    assert record.interventions == (Intervention("set", "l0.h", 2, 5.0),)
    assert not np.array_equal(record.layers[0].h, plain.last.layers[0].h)
    s.back(2)  # the step, then the intervention
    assert same(s.state, Session.replay(model, plain.events[:2]).state)
    assert s.pending == ()


def test_clamp_holds_a_unit_until_released(model):
    s = Session(model)
    s.intervene(Intervention("clamp", "l1.c", 0, 0.5))
    for record in s.feed("abcd"):
        assert record.layers[1].c[0] == np.float32(0.5)
    s.intervene(Intervention("release", "l1.c", 0))
    assert s.feed("e")[0].layers[1].c[0] != np.float32(0.5)


def test_zero_scale_and_replace(model):
    s = Session(model)
    s.feed("abc")
    h = np.array(s.state[0].h)
    s.intervene(Intervention("scale", "l0.h", None, 2.0))
    np.testing.assert_array_equal(s.state[0].h, h * np.float32(2.0))
    s.intervene(Intervention("zero", "l0.c"))
    assert not s.state[0].c.any()
    s.intervene(Intervention("replace", "l1.h", None, tuple(range(12))))
    np.testing.assert_array_equal(s.state[1].h, np.arange(12, dtype=np.float32))
    with pytest.raises(ValueError, match="out of range"):
        s.intervene(Intervention("set", "l0.h", 99, 1.0))
    with pytest.raises(ValueError, match="l0.h or l0.c"):
        s.intervene(Intervention("set", "h", 0, 1.0))


def test_replay_reproduces_bit_for_bit(model):
    s = Session(model, keyframe_every=4)
    s.feed("hello")
    s.intervene(Intervention("clamp", "l0.h", 1, -1.0))
    s.feed("world")
    s.intervene(Intervention("scale", "l1.c", None, 0.5))
    s.feed("again")
    copy = Session.replay(model, s.events, keyframe_every=7)
    for a, b in zip(s.records(0, s.cursor), copy.records(0, copy.cursor)):
        assert np.array_equal(a.logits, b.logits) and a.interventions == b.interventions


def test_branches_fork_switch_and_diverge(model):
    s = Session(model)
    s.feed("abcd")
    s.back(1)
    s.fork("alt")
    assert s.branch == "alt" and s.text == "abc"
    s.feed("xy")
    s.switch("main")
    assert s.text == "abc" and s.can_forward
    s.forward()
    assert s.text == "abcd"
    assert s.divergence("alt") == 3
    names = {b.name: b for b in s.branches()}
    assert names["alt"].fork_t == 3 and names["alt"].length == 5
    with pytest.raises(ValueError, match="exists"):
        s.fork("alt")
    with pytest.raises(ValueError, match="no branch"):
        s.switch("nope")


def test_unknown_characters_follow_the_vocabulary(model):
    s = Session(model)
    records = s.feed("a😀é\x00")
    assert [r.token for r in records] == ["a", "<unk>", "<unk>", "<unk>"]
    assert [r.typed for r in records] == ["a", "😀", "é", "\x00"]
    strict = Session(NativeModel(model.module, CharVocab(tuple("abcdefghijklmnopqrstuvwxyz")),
                                 "strict"))
    with pytest.raises(UnknownCharacterError, match="'!'"):
        strict.feed("ab!")
    assert strict.cursor == 0  # nothing fed


@settings(max_examples=30, deadline=None)
@given(st.lists(st.one_of(st.text(min_size=1, max_size=5), st.integers(1, 3)), max_size=25))
def test_any_sequence_of_feeds_and_backs_is_consistent(model, actions):
    s = Session(model, keyframe_every=2)
    for action in actions:
        if isinstance(action, str):
            s.feed(action)
        else:
            s.back(action)
    again = Session(model)
    again.feed(s.text)
    assert s.cursor == again.cursor
    assert same(s.state, again.state)


def test_engine_does_not_import_textual(python):
    code = "import sys, inspector.engine; print('textual' in sys.modules)"
    out = subprocess.run([python, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_paste_equals_feeding_within_rounding(model):
    text = "thequickbrownfoxjumpsoverthelazydog" * 40
    pasted, fed = Session(model, keyframe_every=16), Session(model, keyframe_every=16)
    fed.feed("ab")
    pasted.feed("ab")
    pasted.intervene(Intervention("zero", "l0.h"))
    fed.intervene(Intervention("zero", "l0.h"))
    predictions = pasted.paste(text)
    fed_records = fed.feed(text)
    assert len(predictions) == len(text)
    agreeing = sum(p == r.prediction for p, r in zip(predictions, fed_records, strict=True))
    assert agreeing >= len(text) - 2  # the fused head's argmax: equal but for float32 near-ties
    assert pasted.text == fed.text and pasted.cursor == fed.cursor
    for a, b in zip(pasted.state, fed.state):
        assert np.abs(a.h - b.h).max() <= 1e-5 and np.abs(a.c - b.c).max() <= 1e-5
    assert pasted.records(2, 3)[0].interventions == fed.records(2, 3)[0].interventions
    for a, b in zip(pasted.records(500, 520), fed.records(500, 520)):
        assert a.t == b.t and np.abs(a.probs - b.probs).max() <= 1e-5
    pasted.back(700)
    fed.back(700)
    assert np.abs(pasted.state[1].h - fed.state[1].h).max() <= 1e-5
