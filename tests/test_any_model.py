"""Recurrent models as people write them (tests/userland/any_models.py), saved their way, opened
with the documented flags and held to their own forward: max |dh|, |dp| <= 1e-5 every step."""

import json

import numpy as np
import pytest
import torch
from userland import any_models as am

from inspector.cli import main
from inspector.engine import Seq2SeqSession, Session, inspectable
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


def test_a_hand_written_linear_cell_pickled_whole_opens_with_trust_pickle(tmp_path, letters):
    """The classification tutorial's RNN: one-hot rows, initHidden(), LogSoftmax over 3
    categories; saved with torch.save(rnn, PATH)."""
    rnn = am.build_tutorial_rnn()
    path = tmp_path / "char-rnn-classification.pt"
    torch.save(rnn, path)
    labels = json_file(tmp_path, "labels.json", ["Arabic", "Chinese", "Czech"])
    checkpoint = open_model(ModelSource(str(path), vocab=letters, trust_pickle=True,
                                        labels=labels))
    detected = checkpoint.meta["detected"]
    assert detected["input"] == "one-hot (1, 8) float"
    assert detected["initial"].startswith("from its initHidden()")
    assert "not shown: no nn.RNN/LSTM/GRU" in detected["gates"]
    assert "log-probabilities" in detected["output"]
    records = Session(inspectable(checkpoint)).feed(TEXT)
    hidden = rnn.initHidden()
    with torch.no_grad():
        for record, char in zip(records, TEXT):
            x = torch.zeros(1, 8)
            x[0, am.LETTERS.index(char)] = 1
            out, hidden = rnn(x, hidden)
            assert close(record.layers[0].h, hidden[0]) <= TOL
            assert close(record.probs, out[0].exp()) <= TOL  # not softmaxed a second time
            assert record.prediction == ["Arabic", "Chinese", "Czech"][int(out.argmax())]
    assert records[0].layers[0].gates == {}


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


def test_stacked_lstm_cells_show_every_gate_exactly(tmp_path):
    """pytorch/examples time_sequence_prediction's two LSTMCells, fed a sine wave from a .npy;
    its output is one real value, never softmaxed."""
    wave = np.sin(np.arange(12) / 2.0)[:, None]
    path = tmp_path / "wave.npy"
    np.save(path, wave)
    out_path = tmp_path / "trace.json"
    assert main(["trace", "--factory", "userland.any_models:build_sequence", "--input-array",
                 str(path), "--out", str(out_path)]) == 0
    steps = json.loads(out_path.read_text())["steps"]
    model = am.build_sequence()
    hidden = None
    with torch.no_grad():
        for step, x in zip(steps, wave):
            x = torch.from_numpy(x[None].copy())
            before = hidden or ((torch.zeros(1, 9, dtype=torch.float64),) * 2,) * 2
            out, hidden = model(x, hidden)
            expected = [lstm_cell_reference(model.lstm1, x, *before[0]),
                        lstm_cell_reference(model.lstm2, hidden[0][0], *before[1])]
            assert "prediction" not in step and close(step["output"], out[0]) <= TOL
            assert close(step["input"], x[0]) <= 1e-7  # the .npy row, in float32
            for k, layer in enumerate(step["layers"]):
                assert close(layer["h"], hidden[k][0][0]) <= TOL
                assert close(layer["c"], hidden[k][1][0]) <= TOL
                for gate in "ifgo":
                    assert close(layer["gates"][gate], expected[k][gate][0]) <= TOL
    assert len(steps) == 12


def test_real_valued_inputs_of_the_wrong_width_are_one_line(tmp_path, capsys):
    path = tmp_path / "wide.npy"
    np.save(path, np.zeros((3, 4)))
    assert main(["trace", "--factory", "userland.any_models:build_sequence", "--input-array",
                 str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "wide.npy" in err and "4" in err


def test_a_word_language_model_splits_words_and_its_log_softmax_is_not_softmaxed_twice(tmp_path):
    words = json_file(tmp_path, "words.json", am.WORDS)
    out_path = tmp_path / "trace.json"
    text = "the cat sat on a mat . the dog ran"
    assert main(["trace", "--factory", "userland.any_models:build_word_lm", "--vocab", words,
                 "--input", text, "--out", str(out_path)]) == 0
    steps = json.loads(out_path.read_text())["steps"]
    assert [s["input"] for s in steps] == text.split()
    model = am.build_word_lm()
    hidden = model.init_hidden(1)
    with torch.no_grad():
        for step, word in zip(steps, text.split()):
            out, hidden = model(torch.tensor([[am.WORDS.index(word)]]), hidden)
            probs = out[0].exp().numpy()
            top = [[am.WORDS[i], float(probs[i])] for i in np.argsort(-probs, kind="stable")[:5]]
            assert [t[0] for t in step["top"]] == [t[0] for t in top]
            assert close([t[1] for t in step["top"]], [t[1] for t in top]) <= TOL
            for k in range(2):
                assert close(step["layers"][k]["h"], hidden[0][k, 0]) <= TOL
                assert close(step["layers"][k]["c"], hidden[1][k, 0]) <= TOL


def test_a_tagger_shows_its_labels_at_every_step(tmp_path):
    words = json_file(tmp_path, "words.json", am.WORDS)
    tags = json_file(tmp_path, "tags.json", am.TAGS)
    checkpoint = open_model(ModelSource(None, vocab=words, labels=tags,
                                        factory="userland.any_models:build_tagger"))
    records = Session(inspectable(checkpoint)).feed("the dog sat on a mat .")
    model = am.build_tagger()
    hidden = None
    with torch.no_grad():
        for record, word in zip(records, "the dog sat on a mat .".split()):
            out, hidden = model(torch.tensor([[am.WORDS.index(word)]]), hidden)
            assert record.token == word
            assert close(record.probs, out[0].exp()) <= TOL
            assert record.prediction == am.TAGS[int(out.argmax())]
            assert close(record.layers[0].h, hidden[0][0, 0]) <= TOL


def test_raw_output_is_never_softmaxed(letters):
    checkpoint = open_model(ModelSource(None, vocab=letters, output="raw",
                                        factory="userland.any_models:build_rescaled"))
    record = Session(inspectable(checkpoint)).feed("a")[0]
    model = am.build_rescaled()
    with torch.no_grad():
        out, _ = model(torch.tensor([[0]]), None)
    assert record.probs.size == 0 and close(record.logits, out.reshape(-1)) <= TOL


def test_an_attention_decoder_gets_the_encoder_outputs_and_shows_its_weights(tmp_path):
    """The classic translation tutorial: SOS/EOS tokens, EOS appended to the source, encoder
    outputs padded to MAX_LENGTH by the factory's wrapper, attention weights per step."""
    source = json_file(tmp_path, "src.json", am.SOURCE)
    target = json_file(tmp_path, "trg.json", am.TARGET)
    checkpoint = open_model(ModelSource(None, vocab=source, target_vocab=target, bos="SOS",
                                        eos="EOS", source_eos=True,
                                        factory="userland.any_models:build_attention"))
    assert "encoder_outputs" in checkpoint.meta["detected"]["decoder attention"]
    session = Seq2SeqSession(inspectable(checkpoint))
    session.feed_source("badge")
    decoded = session.decode(max_len=am.MAX_LENGTH)
    encoder, decoder = am.tutorial_pair()
    ids, rows, attention = am.tutorial_evaluate(encoder, decoder,
                                                [am.SOURCE.index(c) for c in "badge"])
    assert decoded.output == "".join(am.TARGET[i] for i in ids)
    assert len(decoded.records) == len(rows)
    for record, row, weights in zip(decoded.records, rows, attention):
        assert close(record.probs, row.exp()) <= TOL
        assert record.attention.shape == (6,) and close(record.attention, weights) <= TOL
    assert len(session.source_records) == 6 and session.source_records[-1].token == "EOS"


def test_an_attention_trace_holds_the_weights_per_decoder_step(tmp_path):
    source = json_file(tmp_path, "src.json", am.SOURCE)
    target = json_file(tmp_path, "trg.json", am.TARGET)
    out_path = tmp_path / "trace.json"
    assert main(["trace", "--factory", "userland.any_models:build_attention", "--vocab", source,
                 "--target-vocab", target, "--bos", "SOS", "--eos", "EOS", "--source-eos",
                 "--input", "cab", "--out", str(out_path)]) == 0
    data = json.loads(out_path.read_text())
    assert [s["input"] for s in data["encoder"]["steps"]] == ["c", "a", "b", "EOS"]
    encoder, decoder = am.tutorial_pair()
    ids, _, attention = am.tutorial_evaluate(encoder, decoder, [am.SOURCE.index(c) for c in "cab"])
    # the tutorial stops at MAX_LENGTH steps, a trace decodes up to 64: the same first ones
    assert data["output"].startswith("".join(am.TARGET[i] for i in ids))
    for step, weights in zip(data["decoder"]["steps"][:len(attention)], attention, strict=True):
        assert close(step["attention"], weights) <= TOL



def test_a_state_dict_says_once_what_it_assumes_on_every_command(tmp_path, letters, capsys):
    """A ReLU on the embeddings (the tutorial decoder's) or a relu RNN leave no trace in the
    state_dict: the assumption is one stderr line naming --factory, on trace too."""
    torch.manual_seed(28)
    rnn = torch.nn.RNN(8, 6, batch_first=True)
    state = {f"rnn.{k}": v for k, v in rnn.state_dict().items()}
    state |= {"emb.weight": torch.randn(8, 8), "out.weight": torch.randn(8, 6),
              "out.bias": torch.zeros(8)}
    path = tmp_path / "plain.pt"
    torch.save(state, path)
    for command in (["trace", str(path), "--input", "ab"], ["info", str(path)]):
        assert main([*command, "--vocab", letters]) == 0
        lines = [line for line in capsys.readouterr().err.splitlines() if "assumes" in line]
        assert len(lines) == 1
        assert "tanh in the plain RNN" in lines[0] and "--factory module:callable" in lines[0]
    assert main(["info", str(path), "--vocab", letters, "--nonlinearity", "relu"]) == 0
    line = next(x for x in capsys.readouterr().err.splitlines() if "assumes" in x)
    assert "tanh" not in line and "nothing between" in line
