"""The counterfactual diff against torch.nn: two runs of an LSTM stepped by torch's own module,
one with a state edited by hand, give the same per-layer distances, KL and argmax flips."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from inspector.analysis.counterfactual import (
    SteppedRun,
    branch_diff,
    diff_arrays,
    diff_records,
    intervention_diff,
    kl_bits,
    without_interventions,
)
from inspector.engine import NativeModel, Session
from inspector.engine.records import Intervention
from models.char_rnn import CharRNN, CharRNNConfig
from models.vocab import CharVocab

VOCAB = CharVocab.from_text("abcd")
TOL = 1e-5


@pytest.fixture(scope="module")
def lstm():
    torch.manual_seed(3)
    module = CharRNN(CharRNNConfig(len(VOCAB), "lstm", 2, 8, 4)).eval()
    with torch.no_grad():
        module.head.weight.mul_(4.0)  # sharper outputs: flips and KL well away from zero
    return module


def torch_run(module: CharRNN, text: str, edit=None):
    """Per step: (per-layer h, per-layer c, probs), stepping torch's own nn.LSTM one character
    at a time; `edit` = (t, layer, unit, value) sets h[layer][unit] before step t."""
    cfg = module.config
    rnn = torch.nn.LSTM(cfg.input_size, cfg.hidden, cfg.layers, batch_first=True)
    rnn.load_state_dict(module.rnn.state_dict())
    h = torch.zeros(cfg.layers, 1, cfg.hidden)
    c = torch.zeros(cfg.layers, 1, cfg.hidden)
    out = []
    with torch.no_grad():
        for t, char in enumerate(text):
            if edit is not None and edit[0] == t:
                h = h.clone()
                h[edit[1], 0, edit[2]] = edit[3]
            x = module.input_vectors(torch.tensor([[VOCAB.id(char)]]))
            _, (h, c) = rnn(x, (h, c))
            probs = torch.softmax(module.head(h[-1, 0]), -1)
            out.append((h[:, 0].numpy().copy(), c[:, 0].numpy().copy(), probs.numpy()))
    return out


def expected(clean, edited):
    rows = []
    for (h_a, c_a, p_a), (h_b, c_b, p_b) in zip(clean, edited, strict=True):
        distances = []
        for k in range(len(h_a)):
            distances.append(float(np.linalg.norm(h_b[k].astype(np.float64) - h_a[k])))
            distances.append(float(np.linalg.norm(c_b[k].astype(np.float64) - c_a[k])))
        kl = float(F.kl_div(torch.log(torch.from_numpy(p_b).double()),
                            torch.from_numpy(p_a).double(), reduction="sum")) / math.log(2)
        rows.append((distances, kl, int(p_a.argmax()) != int(p_b.argmax())))
    return rows


def check(diff, rows):
    assert len(diff.steps) == len(rows)
    for step, (distances, kl, flipped) in zip(diff.steps, rows, strict=True):
        assert np.allclose(step.distances, distances, atol=TOL, rtol=0)
        assert step.kl == pytest.approx(kl, abs=TOL)
        assert step.flipped == flipped


def test_an_intervention_against_the_same_keys_without_it_equals_torch(lstm):
    model = NativeModel(lstm, VOCAB, "lstm")
    session = Session(model)
    session.feed("abca")
    session.intervene(Intervention("set", "l1.h", 3, 5.0))  # before step 4
    session.feed("bcddab")
    diff = intervention_diff(session)
    text = "abcabcddab"
    rows = expected(torch_run(lstm, text), torch_run(lstm, text, (4, 1, 3, 5.0)))
    check(diff, rows)
    assert diff.names == ("l0.h", "l0.c", "l1.h", "l1.c")
    assert diff.first_difference == 4
    assert all(d == 0 for step in diff.steps[:4] for d in step.distances)
    assert diff.steps[4].distances[2] > 0.01  # the edited layer moved
    assert diff.flips == sum(flipped for _, _, flipped in rows)
    assert diff.flips > 0  # this edit does flip some prediction (else the test shows little)


def test_two_branches_equal_torch_on_their_two_texts(lstm):
    model = NativeModel(lstm, VOCAB, "lstm")
    session = Session(model)
    session.feed("abcab")
    session.fork("other", at=2)  # the fork holds steps 0, 1 and continues differently
    session.feed("ddab")
    assert session.text == "abddab"
    session.switch("main")
    session.feed("c")
    diff = branch_diff(session, "other")  # other (a) against main on view (b)
    rows = expected(torch_run(lstm, "abddab"), torch_run(lstm, "abcabc"))
    check(diff, rows)
    assert diff.first_difference == 2
    assert [s.typed_a + s.typed_b for s in diff.steps[:3]] == ["aa", "bb", "dc"]
    assert session.branch == "main" and session.text == "abcabc"  # untouched


def test_identical_runs_differ_nowhere(lstm):
    model = NativeModel(lstm, VOCAB, "lstm")
    a, b = Session(model).feed("abcd"), Session(model).feed("abcd")
    diff = diff_records(a, b)
    assert diff.first_difference is None and diff.flips == 0
    assert all(s.kl == 0 and s.distances == (0, 0, 0, 0) for s in diff.steps)


def test_without_interventions_replays_only_the_keys(lstm):
    session = Session(NativeModel(lstm, VOCAB, "lstm"))
    session.feed("ab")
    session.intervene(Intervention("clamp", "l1.c", None, 0.0))
    session.feed("cd")
    clean = without_interventions(session)
    assert clean.text == "abcd" and not clean.clamps
    assert all(not r.interventions and not r.clamps for r in clean.records(0, 4))


def test_kl_bits_edges():
    p = np.array([0.5, 0.5, 0.0])
    assert kl_bits(p, p) == 0.0
    assert kl_bits(p, np.array([0.25, 0.75, 0.0])) == pytest.approx(
        0.5 * math.log2(2) + 0.5 * math.log2(0.5 / 0.75))
    assert kl_bits(p, np.array([1.0, 0.0, 0.0])) == math.inf
    assert math.isnan(kl_bits(np.zeros(0), np.zeros(0)))
    assert math.isnan(kl_bits(np.array([np.nan, 1.0]), np.array([0.5, 0.5])))


def test_the_clean_replay_agrees_bit_for_bit_with_the_edited_run_until_the_edit(lstm):
    model = NativeModel(lstm, VOCAB, "lstm")
    session = Session(model)
    session.feed("abca")
    session.intervene(Intervention("set", "l1.c", 0, 2.0))
    session.feed("bcd")
    names = ["l0.h", "l0.c", "l1.h", "l1.c", "probs"]
    run = SteppedRun(model, names)
    run.arrays(tuple("abc"))
    clean = run.arrays(tuple("abcabcd"), start=2)  # grown by four keys
    assert run.tokens == tuple("abcabcd")
    edited = session.records(0, 7)
    for name in names:
        rows = np.stack([r.activation(name) for r in edited])
        assert clean[name].shape == (5, rows.shape[1])
        assert np.array_equal(clean[name][:2], rows[2:4])  # steps 2, 3: before the edit
    assert not np.array_equal(clean["l1.c"][2], edited[4].activation("l1.c"))
    assert np.array_equal(clean["l0.h"][2], edited[4].activation("l0.h"))  # l0 is not edited
    reference = torch_run(lstm, "abcabcd")
    assert np.allclose(clean["l1.h"], np.stack([h[1] for h, _, _ in reference[2:]]), atol=TOL)
    other = run.arrays(tuple("abd"))  # not a continuation: computed again from the start
    assert np.allclose(other["probs"], np.stack([p for _, _, p in torch_run(lstm, "abd")]),
                       atol=TOL)


def test_diff_arrays_names_the_predictions_by_the_labels(lstm):
    model = NativeModel(lstm, VOCAB, "lstm")
    a, b = Session(model).feed("abcd"), Session(model).feed("abdd")
    names = ("l0.h", "l0.c", "l1.h", "l1.c")
    arrays = [{**{n: np.stack([r.activation(n) for r in run]) for n in names},
               "probs": np.stack([r.probs for r in run])} for run in (a, b)]
    diff = diff_arrays(arrays[0], arrays[1], names, VOCAB.tokens, 0, None, "abdd")
    by_records = diff_records(a, b)
    assert [s.prediction_a for s in diff.steps] == [r.prediction for r in a]
    assert [s.prediction_b for s in diff.steps] == [r.prediction for r in b]
    assert [s.distances for s in diff.steps] == [s.distances for s in by_records.steps]
    assert [s.typed_b for s in diff.steps] == list("abdd") and diff.first_difference == 2


def test_float32_rounding_between_two_paths_is_not_a_difference():
    names = ("l0.h",)
    a = {"l0.h": np.zeros((3, 4), dtype=np.float32), "probs": np.full((3, 2), 0.5)}
    b = {"l0.h": a["l0.h"] + np.float32(3e-7), "probs": a["probs"] + [[1e-7, -1e-7]] * 3}
    b["l0.h"][2, 1] = 0.01
    diff = diff_arrays(a, b, names, ("x", "y"))
    assert diff.steps[0].distances[0] == pytest.approx(6e-7, rel=1e-3)  # shown, as it is
    assert not diff.steps[0].differs and not diff.steps[1].differs
    assert diff.first_difference == 2 and diff.flips == 0
