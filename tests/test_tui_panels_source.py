"""The panels' activations equal the session's own records: plain keys through the bulk trace
(kept and grown between frames), interventions replayed exactly."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from inspector.engine import Intervention, NativeModel, Session
from inspector.tui.panels.source import TimelineSource
from models.char_rnn import CharRNN, CharRNNConfig
from models.vocab import CharVocab

NAMES = ("l0.h", "l0.c", "l0.dh", "l0.gate.f", "l1.h", "l1.c", "logits", "probs")


def lstm(cell: str = "lstm") -> NativeModel:
    vocab = CharVocab.letters()
    torch.manual_seed(3)
    return NativeModel(CharRNN(CharRNNConfig(len(vocab), cell, 2, 24, 8)).eval(), vocab, "t")


def expected(session: Session, name: str) -> np.ndarray:
    return np.array([r.activation(name) for r in session.records(0, session.cursor)])


def names_for(model: NativeModel) -> tuple[str, ...]:
    gates = tuple(f"l0.gate.{g}" for g in model.gate_names)
    return tuple(n for n in NAMES if (n[-1] != "c" or model.has_cell) and "gate" not in n) + gates


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_plain_timeline_equals_the_session_as_it_grows_and_shrinks(cell):
    model = lstm(cell)
    source = TimelineSource(model)
    session = Session(model)
    handles = []
    for text, back in [("abcab", 0), ("cc", 3), ("zyxw", 0), ("", 6), ("qq", 0)]:
        session.feed(text)
        if back:
            session.back(back)
            session.forget_redo()
        handle = source.activations(session.events)
        assert handle.steps == session.cursor
        for name in names_for(model):
            np.testing.assert_allclose(handle.get(name), expected(session, name), atol=1e-5)
        handles.append((handle, {n: handle.get(n).copy() for n in names_for(model)}))
    for handle, copies in handles:  # what an older frame's handle gave never changes
        for name, values in copies.items():
            np.testing.assert_array_equal(handle.get(name), values)
            assert not handle.get(name).flags.writeable


def test_interventions_and_clamps_are_replayed_exactly():
    model = lstm()
    source = TimelineSource(model)
    session = Session(model)
    session.feed("abc")
    session.intervene(Intervention("set", "l0.h", 3, 0.9))
    session.feed("ab")
    session.intervene(Intervention("clamp", "l1.c", 2, -0.5))
    session.feed("cab")
    handle = source.activations(session.events)
    for name in NAMES:
        np.testing.assert_array_equal(handle.get(name), expected(session, name))
    assert np.all(handle.get("l1.c")[5:, 2] == np.float32(-0.5))
    clean = source.activations([e for e in session.events if not hasattr(e, "intervention")])
    assert np.abs(clean.get("l0.h")[3] - handle.get("l0.h")[3]).max() > 1e-3


def test_past_the_cache_budget_chunks_stream_the_same_numbers():
    model = lstm()
    source = TimelineSource(model, cache_bytes=1)  # nothing fits: every request traces again
    session = Session(model)
    session.feed("abcdefghij" * 7)
    handle = source.activations(session.events)
    seen = []
    for start, part in handle.chunks(("l1.h",), size=16):
        seen.append(start)
        np.testing.assert_allclose(part["l1.h"], expected(session, "l1.h")[start:start + 16],
                                   atol=1e-5)
    assert seen == list(range(0, 70, 16))
    np.testing.assert_allclose(handle.get("l0.c"), expected(session, "l0.c"), atol=1e-5)


def test_run_gives_the_model_to_the_job():
    model = lstm()
    assert TimelineSource(model).run(lambda m: m.hidden) == 24


def test_state_before_includes_the_edits_made_before_the_step():
    model = lstm()
    source = TimelineSource(model)
    session = Session(model)
    session.feed("abc")
    plain = source.activations(session.events)
    for t in (0, 2):
        for (h, c), layer in zip(plain.state_before(t), session.state_before(t), strict=True):
            np.testing.assert_allclose(h, layer.h, atol=1e-5)
            np.testing.assert_allclose(c, layer.c, atol=1e-5)
    session.intervene(Intervention("set", "l1.h", 4, 0.75))
    session.feed("d")
    edited = source.activations(session.events)
    (h0, _), (h1, _) = edited.state_before(3)
    assert h1[4] == np.float32(0.75)
    np.testing.assert_array_equal(h1, session.state_before(3)[1].h)
