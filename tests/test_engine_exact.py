"""The engine's numbers are torch.nn's numbers: stepping, bulk traces and gates, within 1e-5."""

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inspector.engine import NativeModel, Session, trace
from inspector.engine.cells import memory_parts
from models.char_rnn import CharRNN, CharRNNConfig
from models.mlp import MLPBaseline, MLPConfig
from models.vocab import CharVocab

TOL = 1e-5


def close(a, b) -> bool:
    """max abs diff <= 1e-5, scaled by the magnitude only where it exceeds 1: a relu RNN's state
    is unbounded, and float32 cannot hold 1e-5 absolute on values above ~100."""
    a, b = np.asarray(a), np.asarray(b)
    return float(np.abs(a - b).max()) <= TOL * max(1.0, float(np.abs(b).max()))
VOCAB = CharVocab.from_text("abcdefghij \n")
FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def build(cell, layers, hidden, embed, bias=True, nonlinearity="tanh", seed=0):
    torch.manual_seed(seed)
    module = CharRNN(CharRNNConfig(len(VOCAB), cell, layers, hidden, embed, nonlinearity, bias))
    with torch.no_grad():
        # Larger input weights than the default init exercise saturated gates too. The recurrent
        # weights keep torch's init: scaled up they make the map chaotic, and then any two float32
        # implementations drift apart exponentially, which says nothing about correctness.
        for name, p in module.rnn.named_parameters():
            if not name.startswith("weight_hh"):
                p.mul_(3.0)
    return module.eval()


def reference(module: CharRNN, ids: list[int], batch_first: bool):
    """torch.nn's own forward, through a separately built module holding the same weights."""
    cfg = module.config
    cls = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[cfg.cell]
    extra = {"nonlinearity": cfg.nonlinearity} if cfg.cell == "rnn" else {}
    rnn = cls(cfg.input_size, cfg.hidden, cfg.layers, bias=cfg.bias, batch_first=batch_first,
              **extra)
    rnn.load_state_dict(module.rnn.state_dict())
    x = module.input_vectors(torch.tensor([ids]))  # (1, T, I)
    with torch.no_grad():
        out, hidden = rnn(x if batch_first else x.transpose(0, 1))
        out = out if batch_first else out.transpose(0, 1)
        logits = module.head(out)
    return out[0].numpy(), hidden, logits[0].numpy()


def independent_gates(module: CharRNN, layer: int, x: torch.Tensor, h: torch.Tensor):
    """Gates recomputed with torch ops straight from the module's named weights."""
    rnn = module.rnn
    w_ih, w_hh = getattr(rnn, f"weight_ih_l{layer}"), getattr(rnn, f"weight_hh_l{layer}")
    b_ih = getattr(rnn, f"bias_ih_l{layer}") if rnn.bias else torch.zeros(w_ih.shape[0])
    b_hh = getattr(rnn, f"bias_hh_l{layer}") if rnn.bias else torch.zeros(w_ih.shape[0])
    gi, gh = torch.nn.functional.linear(x, w_ih, b_ih), torch.nn.functional.linear(h, w_hh, b_hh)
    if module.config.cell == "lstm":
        i, f, g, o = (gi + gh).chunk(4)
        return {"i": torch.sigmoid(i), "f": torch.sigmoid(f), "g": torch.tanh(g),
                "o": torch.sigmoid(o)}
    ir, iz, in_ = gi.chunk(3)
    hr, hz, hn = gh.chunk(3)
    r = torch.sigmoid(ir + hr)
    return {"r": r, "z": torch.sigmoid(iz + hz), "n": torch.tanh(in_ + r * hn)}


@FAST
@given(cell=st.sampled_from(["rnn", "lstm", "gru"]), layers=st.integers(1, 3),
       hidden=st.integers(1, 256), embed=st.sampled_from([0, 3, 16]), bias=st.booleans(),
       batch_first=st.booleans(), relu=st.booleans(),
       text=st.text(alphabet="abcdefghij \n", min_size=1, max_size=200))
def test_stepping_equals_torch_nn(cell, layers, hidden, embed, bias, batch_first, relu, text):
    module = build(cell, layers, hidden, embed, bias, "relu" if relu and cell == "rnn" else "tanh")
    ids = VOCAB.encode(text)
    out, final, logits = reference(module, ids, batch_first)
    records = Session(NativeModel(module, VOCAB, "m")).feed(text)
    top = np.stack([r.layers[-1].h for r in records])
    assert close(top, out)
    assert close(np.stack([r.logits for r in records]), logits)
    h_n = final[0] if cell == "lstm" else final
    for k in range(layers):
        assert close(records[-1].layers[k].h, h_n[k, 0].numpy())
        if cell == "lstm":
            assert close(records[-1].layers[k].c, final[1][k, 0].numpy())


@FAST
@given(cell=st.sampled_from(["rnn", "lstm", "gru"]), layers=st.integers(1, 3),
       hidden=st.integers(1, 128), embed=st.sampled_from([0, 8]), bias=st.booleans(),
       text=st.text(alphabet="abcdefghij \n", min_size=1, max_size=120))
def test_bulk_trace_equals_stepping(cell, layers, hidden, embed, bias, text):
    model = NativeModel(build(cell, layers, hidden, embed, bias), VOCAB, "m")
    records = Session(model).feed(text)
    result = trace(model, text, splits=True)
    for name, array in result.arrays.items():
        stepped = np.stack([r.activation(name) for r in records])
        assert array.shape == stepped.shape, name
        assert close(array, stepped), name


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_gates_match_an_independent_recomputation(cell):
    module = build(cell, 2, 24, 8, seed=3)
    text = "abcabc jj\nhhhh"
    records = Session(NativeModel(module, VOCAB, "m")).feed(text)
    x_all = module.input_vectors(torch.tensor([VOCAB.encode(text)]))[0]
    prev = [torch.zeros(24), torch.zeros(24)]
    with torch.no_grad():
        for t, record in enumerate(records):
            x = x_all[t]
            for k in range(2):
                gates = independent_gates(module, k, x, prev[k])
                for name, value in gates.items():
                    assert np.abs(record.layers[k].gates[name] - value.numpy()).max() <= TOL
                prev[k] = torch.from_numpy(np.array(record.layers[k].h))
                x = prev[k]


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_input_and_memory_parts_sum_to_the_preactivation(cell):
    module = build(cell, 1, 16, 4, seed=5)
    records = Session(NativeModel(module, VOCAB, "m")).feed("abba")
    prev = np.zeros(16, dtype=np.float32)
    for record in records:
        step = record.layers[0]
        if cell == "lstm":
            pre = step.input_part["f"] + step.memory_part["f"]
            np.testing.assert_allclose(step.gates["f"], 1 / (1 + np.exp(-pre)), atol=1e-6)
        elif cell == "gru":
            pre = step.input_part["n"] + step.memory_part["n"]
            np.testing.assert_allclose(step.gates["n"], np.tanh(pre), atol=1e-6)
        else:
            pre = step.input_part["h"] + step.memory_part["h"]
            np.testing.assert_allclose(step.h, np.tanh(pre), atol=1e-6)
        np.testing.assert_allclose(step.delta_h, step.h - prev, atol=1e-7)
        prev = step.h


def test_mlp_output_depends_only_on_the_current_character():
    torch.manual_seed(0)
    module = MLPBaseline(MLPConfig(len(VOCAB), 4, 8)).eval()
    model = NativeModel(module, VOCAB, "mlp")
    records = Session(model).feed("aba")
    with torch.no_grad():
        logits, _ = module(torch.tensor([VOCAB.encode("aba")]))
    np.testing.assert_allclose(np.stack([r.logits for r in records]), logits[0].numpy(), atol=TOL)
    np.testing.assert_array_equal(records[0].logits, records[2].logits)
    assert model.activation_names() == ["l0.h"]


def test_output_summary_is_consistent():
    model = NativeModel(build("lstm", 1, 8, 4), VOCAB, "m")
    record = Session(model).feed("a")[0]
    assert record.probs.sum() == pytest.approx(1.0, abs=1e-6)
    assert record.top[0] == (record.prediction, record.confidence)
    assert [p for _, p in record.top] == sorted((p for _, p in record.top), reverse=True)
    expected = -(record.probs * np.log2(record.probs)).sum()
    assert record.entropy == pytest.approx(expected, rel=1e-5)
    assert not record.layers[0].h.flags.writeable


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn", "mlp"])
def test_steps_prepared_between_keys_are_bit_for_bit_the_same(cell, monkeypatch):
    """`prepare` works out W_hh h + b_hh ahead on another thread; the numbers must not move."""
    import inspector.engine.model as engine_model

    prepared = []

    def spy(layers, state):
        prepared.append(state)
        return memory_parts(layers, state)

    monkeypatch.setattr(engine_model, "memory_parts", spy)
    module = (MLPBaseline(MLPConfig(len(VOCAB), 9, 4)).eval() if cell == "mlp"
              else build(cell, 2, 9, 4, seed=3))
    plain, ahead = (Session(NativeModel(module, VOCAB, name)) for name in "ab")
    text = "abcabcjj \nja"
    for ch in text:
        ahead.prepare()
        expected, got = plain.feed(ch)[0], ahead.feed(ch)[0]
        for x, y in zip(expected.layers, got.layers, strict=True):
            assert np.array_equal(x.h, y.h) and (x.c is None or np.array_equal(x.c, y.c))
            for name in x.memory_part:
                assert np.array_equal(x.memory_part[name], y.memory_part[name])
                assert np.array_equal(x.gates.get(name, x.h), y.gates.get(name, y.h))
        assert np.array_equal(expected.output.probs, got.output.probs)
    assert len(prepared) == (0 if cell == "mlp" else len(text))  # the MLP has no memory


def test_a_prepared_memory_part_is_used_for_its_own_state_only(monkeypatch):
    import inspector.engine.model as engine_model

    model = NativeModel(build("lstm", 2, 9, 4, seed=4), VOCAB, "m")
    honest = model.step(0, model.initial_state())[0]

    def poisoned(layers, state):
        return tuple(part + 1.0 for part in memory_parts(layers, state))

    monkeypatch.setattr(engine_model, "memory_parts", poisoned)
    start = model.initial_state()
    model.prepare(start)
    used = model.step(0, start)[0]  # the poisoned parts show: they were used, not recomputed
    assert np.allclose(used[0].memory_part["f"], honest[0].memory_part["f"] + 1.0, atol=1e-6)
    other = model.step(0, model.initial_state())[0]  # an equal state, but not the one prepared
    assert np.array_equal(other[0].memory_part["f"], honest[0].memory_part["f"])
