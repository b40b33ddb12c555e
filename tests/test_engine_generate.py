"""Session: the model writes (generate), state_before, renaming and deleting branches."""

import numpy as np
import pytest
import torch

from inspector.engine import Intervention, NativeModel, Session
from inspector.engine.cells import sigmoid
from models.char_rnn import CharRNN, CharRNNConfig
from models.vocab import CharVocab

VOCAB = CharVocab.letters()


@pytest.fixture(scope="module")
def lstm() -> NativeModel:
    torch.manual_seed(3)
    return NativeModel(CharRNN(CharRNNConfig(len(VOCAB), "lstm", 2, 10, 4)).eval(), VOCAB, "m")


def test_greedy_writing_feeds_back_each_prediction_and_marks_it(lstm):
    s = Session(lstm)
    s.feed("ab")
    written = s.generate(6)
    assert len(written) == 6 and all(r.by_model for r in written)
    predicted = [s.records(1, 2)[0].prediction] + [r.prediction for r in written[:-1]]
    assert [r.token for r in written] == predicted  # each step reads the one before's argmax
    # the same numbers as typing those characters
    typed = Session(lstm)
    typed_records = typed.feed("ab" + "".join(r.typed for r in written))
    for a, b in zip(written, typed_records[2:]):
        assert np.array_equal(a.layers[1].h, b.layers[1].h) and not b.by_model
    assert [r.by_model for r in s.records(0, s.cursor)] == [False] * 2 + [True] * 6


def test_written_steps_are_undone_like_typing(lstm):
    s = Session(lstm)
    s.feed("abc")
    s.generate(4)
    s.back(4)
    assert s.text == "abc" and s.cursor == 3
    s.forward(2)
    assert s.cursor == 5 and s.records(3, 5)[0].by_model


def test_sampling_with_a_temperature_is_reproducible_and_differs_from_greedy(lstm):
    def run(seed):
        s = Session(lstm)
        s.feed("a")
        return "".join(r.typed for r in s.generate(30, 5.0, np.random.default_rng(seed)))

    assert run(1) == run(1)
    greedy = Session(lstm)
    greedy.feed("a")
    assert run(1) != "".join(r.typed for r in greedy.generate(30))


def test_writing_needs_a_first_step_and_stops_at_an_untypable_token(lstm):
    with pytest.raises(ValueError, match="type a character first"):
        Session(lstm).generate(3)
    with pytest.raises(ValueError, match="temperature"):
        s = Session(lstm)
        s.feed("a")
        s.generate(3, -1.0)
    torch.manual_seed(3)
    biased = NativeModel(CharRNN(CharRNNConfig(len(VOCAB), "lstm", 2, 10, 4)).eval(), VOCAB, "u")
    biased.head_b = biased.head_b.copy()
    biased.head_b[VOCAB.unk_id] += 100.0  # it always predicts <unk>, which nobody can type
    s = Session(biased)
    s.feed("a")
    assert s.last.prediction == "<unk>"
    assert s.generate(3) == [] and s.cursor == 1


def test_state_before_is_what_the_step_read(lstm):
    s = Session(lstm)
    s.feed("ab")
    s.intervene(Intervention("set", "l0.c", 2, 3.0))
    s.intervene(Intervention("clamp", "l1.h", 1, 0.5))
    s.feed("cd")
    for t in range(s.cursor):
        before, record = s.state_before(t), s.records(t, t + 1)[0]
        for k, step in enumerate(record.layers):
            g = step.gates
            c = g["f"] * before[k].c + g["i"] * g["g"]
            assert np.allclose(step.c, c, atol=1e-6)
            assert np.allclose(step.h - step.delta_h, before[k].h, atol=1e-6)
    assert s.state_before(2)[0].c[2] == 3.0
    assert s.state_before(3)[1].h[1] == 0.5
    assert not s.state_before(0)[0].h.any()


def test_gate_values_are_the_activation_of_their_input_and_memory_parts(lstm):
    s = Session(lstm)
    record = s.feed("hello")[-1]
    step = record.layers[0]
    for gate in "ifo":
        assert np.allclose(step.gates[gate],
                           sigmoid(step.input_part[gate] + step.memory_part[gate]), atol=1e-6)
    assert np.allclose(step.gates["g"], np.tanh(step.input_part["g"] + step.memory_part["g"]),
                       atol=1e-6)


def test_branches_can_be_renamed_and_deleted(lstm):
    s = Session(lstm)
    s.feed("abc")
    s.fork("try")
    s.feed("x")
    s.rename_branch("try", "with x")
    assert s.branch == "with x" and s.text == "abcx"
    assert [b.name for b in s.branches()] == ["main", "with x"]
    with pytest.raises(ValueError, match="exists already"):
        s.rename_branch("main", "with x")
    with pytest.raises(ValueError, match="branch on view"):
        s.delete_branch("with x")
    s.switch("main")
    assert s.text == "abc"
    s.delete_branch("with x")
    assert [b.name for b in s.branches()] == ["main"]
    with pytest.raises(ValueError, match="no branch named"):
        s.switch("with x")
