"""Gradient × activation against torch.nn's own cells and autograd."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from panel_support import small_model

from inspector.analysis.contribution import contributions
from inspector.engine import Intervention, Session


def torch_reference(model, session, t):
    """d logit[target] / d unit × unit for the lower layer's h at step t, through
    nn.LSTMCell / nn.GRUCell / nn.RNNCell holding the top layer's weights."""
    rnn = model.module.rnn
    cell_type = {"lstm": torch.nn.LSTMCell, "gru": torch.nn.GRUCell, "rnn": torch.nn.RNNCell}
    cell = cell_type[model.cell](model.hidden, model.hidden).double()
    with torch.no_grad():
        for part in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(cell, part).copy_(getattr(rnn, f"{part}_l1"))
    record = session.records(t, t + 1)[0]
    before = session.state_before(t)
    h0 = torch.tensor(record.activation("l0.h"), dtype=torch.float64, requires_grad=True)
    h1 = torch.tensor(before[1].h, dtype=torch.float64)[None]
    if model.cell == "lstm":
        c1 = torch.tensor(before[1].c, dtype=torch.float64)[None]
        top = cell(h0[None], (h1, c1))[0][0]
    else:
        top = cell(h0[None], h1)[0]
    logits = torch.from_numpy(model.head_w.astype(np.float64)) @ top \
        + torch.from_numpy(model.head_b.astype(np.float64))
    target = int(logits.argmax())
    logits[target].backward()
    return target, (h0.grad * h0).detach().numpy(), \
        model.head_w[target].astype(np.float64) * record.activation("l1.h")


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_contributions_equal_torch_autograd_through_nn_cells(cell):
    model = small_model(cell, 2, 12, seed=4)
    session = Session(model)
    session.feed("contribution")
    t = 7
    record = session.records(t, t + 1)[0]
    before = tuple((layer.h, layer.c) for layer in session.state_before(t))
    got = contributions(model, before, record.token_id)
    target, lower, top = torch_reference(model, session, t)
    assert got.target == model.labels[target] == record.prediction
    np.testing.assert_allclose(got.scores["l0.h"], lower, atol=1e-6)
    np.testing.assert_allclose(got.scores["l1.h"], top, atol=1e-6)
    np.testing.assert_allclose(got.values["l1.h"], record.activation("l1.h"), atol=1e-5)


def test_a_clamped_unit_keeps_its_recorded_value():
    model = small_model("lstm", 2, 12, seed=4)
    session = Session(model)
    session.feed("abc")
    session.intervene(Intervention("clamp", "l1.h", 2, 0.5))
    session.feed("d")
    record = session.records(3, 4)[0]
    before = tuple((layer.h, layer.c) for layer in session.state_before(3))
    after = {name: record.activation(name) for name in ("l0.h", "l0.c", "l1.h", "l1.c")}
    got = contributions(model, before, record.token_id, after=after)
    assert got.values["l1.h"][2] == pytest.approx(0.5)
    target = model.labels.index(got.target)
    assert got.scores["l1.h"][2] == pytest.approx(model.head_w[target, 2] * 0.5, abs=1e-6)
    assert got.target == record.prediction
