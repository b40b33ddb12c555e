"""Recurrent models as people write them (tests/userland/any_models.py), saved their way, opened
with the documented flags and held to their own forward: max |dh|, |dp| <= 1e-5 every step."""

import json

import numpy as np
import pytest
import torch
from userland import any_models as am

from inspector.engine import Session, inspectable
from inspector.engine.hooked import HookedModel
from inspector.loading import ModelSource, open_model
from models.vocab import Vocab

TOL = 1e-5
TEXT = "abcabhhgfedcba"


def json_file(tmp_path, name, data):
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return str(path)


def close(a, b) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    assert a.shape == b.shape, (a.shape, b.shape)
    return float(np.abs(a - b).max())


def softmax(x):
    return torch.softmax(torch.as_tensor(x, dtype=torch.float64), -1).numpy()


@pytest.fixture
def letters(tmp_path):
    return json_file(tmp_path, "letters.json", list(am.LETTERS))


def test_a_factory_that_rescales_its_hidden_carries_what_it_returns(letters):
    """The old adapter stepped the GRU's own state (twice the returned one): off from step 1."""
    checkpoint = open_model(ModelSource(None, vocab=letters,
                                        factory="userland.any_models:build_rescaled"))
    assert "changes the hidden" in checkpoint.meta["detected"]["gates"]
    records = Session(inspectable(checkpoint)).feed(TEXT)
    model, hidden = am.build_rescaled(), None
    with torch.no_grad():
        for record, char in zip(records, TEXT):
            out, hidden = model(torch.tensor([[am.LETTERS.index(char)]]), hidden)
            assert close(record.layers[0].h, hidden.reshape(-1)) <= TOL
            assert close(record.probs, softmax(out.reshape(-1))) <= TOL
    assert set(records[0].layers[0].gates) == set("rzn")


def test_an_intervention_edits_the_hidden_the_next_call_receives(letters):
    checkpoint = open_model(ModelSource(None, vocab=letters,
                                        factory="userland.any_models:build_rescaled"))
    session = Session(inspectable(checkpoint))
    session.feed("abc")
    from inspector.engine import Intervention

    session.intervene(Intervention("set", "l0.h", 3, 2.0))
    record = session.feed("d")[0]
    model = am.build_rescaled()
    with torch.no_grad():
        hidden = None
        for char in "abc":
            _, hidden = model(torch.tensor([[am.LETTERS.index(char)]]), hidden)
        hidden = hidden.clone()
        hidden[0, 0, 3] = 2.0
        out, hidden = model(torch.tensor([[am.LETTERS.index("d")]]), hidden)
    assert close(record.layers[0].h, hidden.reshape(-1)) <= TOL
    assert close(record.logits, out.reshape(-1)) <= TOL


def test_the_users_module_is_never_changed_and_keeps_no_hooks():
    trained = am.build_name_generator()  # in training mode, as a notebook leaves it
    sequence = am.build_sequence()  # float64
    before = {k: v.clone() for k, v in sequence.state_dict().items()}
    for module, vocab in ((trained, Vocab(tuple(am.LETTERS))), (sequence, None)):
        model = HookedModel(module, vocab, "m")
        for _ in range(3):
            if vocab is None:
                model.step_vector(np.array([0.5]), model.initial_state())
            else:
                model.step(1, model.initial_state())
        assert all(not m._forward_hooks for m in module.modules())
    assert trained.training and next(sequence.parameters()).dtype == torch.float64
    assert all(torch.equal(before[k], v) for k, v in sequence.state_dict().items())
    assert "training mode" in HookedModel(trained, Vocab(tuple(am.LETTERS)), "m"
                                          ).describe()["mode"]


def test_without_labels_a_head_of_another_size_gets_numbered_labels(letters):
    checkpoint = open_model(ModelSource(None, vocab=letters,
                                        factory="userland.any_models:build_tutorial_rnn"))
    model = inspectable(checkpoint)
    assert model.labels == ("0", "1", "2")
    assert "labelled 0…2" in checkpoint.meta["detected"]["output"]


def test_a_category_bound_in_the_factory_generates_as_the_tutorial(letters):
    checkpoint = open_model(ModelSource(None, vocab=letters,
                                        factory="userland.any_models:build_name_generator"))
    records = Session(inspectable(checkpoint)).feed("bad")
    model = am.build_name_generator().eval()
    hidden = model.initHidden()
    with torch.no_grad():
        for record, char in zip(records, "bad"):
            out, hidden = model(torch.nn.functional.one_hot(
                torch.tensor([am.LETTERS.index(char)]), 8).float(), hidden)
            assert close(record.layers[0].h, hidden[0]) <= TOL
            assert close(record.probs, out[0].exp()) <= TOL


def lstm_cell_reference(cell, x, h, c):
    gates = x @ cell.weight_ih.T + cell.bias_ih + h @ cell.weight_hh.T + cell.bias_hh
    i, f, g, o = gates.chunk(4, -1)
    return {"i": torch.sigmoid(i), "f": torch.sigmoid(f), "g": torch.tanh(g),
            "o": torch.sigmoid(o)}
