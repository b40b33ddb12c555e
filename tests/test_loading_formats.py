"""Files written by other producers open with their producer's own numbers: Keras 3 (on its torch
backend), torch.onnx.export, numpy (the min-char-rnn recurrence) and the checkpoint dicts course
code saves. Every comparison is max |Δh|, |Δp| <= 1e-5 over every step."""

import json
import pickle
import sys

import numpy as np
import pytest
import torch

from inspector.cli import main
from inspector.engine import Seq2SeqSession, Session, inspectable
from inspector.loading import ModelSource, open_model
from models.char_rnn import CharRNN, CharRNNConfig
from models.errors import CheckpointError

TOL = 1e-5
KERAS_TOKENS = ["<unk>", *"abcdef"]  # the Keras models' 7 ids, spelled so they can be typed
KERAS_IDS = [1, 2, 3, 0, 4, 6, 5, 5, 2, 1, 0, 3]  # what the producer fed


def biggest(a, b) -> float:
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape, (a.shape, b.shape)
    return float(np.abs(a - b).max())


def feed_ids(checkpoint, ids):
    session = Session(inspectable(checkpoint))
    records = []
    for i in ids:  # index 0 is <unk>: any character the vocabulary lacks
        records += session.feed(KERAS_TOKENS[i] if i else "?")
    return records


@pytest.mark.parametrize(("name", "layers", "out"), [
    ("lm.keras", ["lstm_a", "lstm_b"], "logits"),  # Embedding + 2 stacked LSTM + linear Dense
    ("lm.h5", ["lstm_a", "lstm_b"], "logits"),  # the same, Keras's legacy HDF5 writer
    ("gru.keras", ["gru"], "probs"),  # one-hot input, GRU, TimeDistributed(Dense softmax)
    ("gru.h5", ["gru"], "probs"),
    ("rnn.keras", ["rnn"], "probs"),  # SimpleRNN(relu): the nonlinearity read from the config
])
def test_keras_models_give_keras_numbers(keras_dir, name, layers, out):
    checkpoint = open_model(ModelSource(str(keras_dir / name), vocab=str(keras_dir / "v7.json")))
    reference = np.load(keras_dir / (name.split(".")[0] + ".npz"))
    records = feed_ids(checkpoint, KERAS_IDS)
    for k, layer in enumerate(layers):
        assert biggest([r.layers[k].h for r in records], reference[layer][0]) <= TOL, layer
    field = "logits" if out == "logits" else "probs"
    ours = [getattr(r.output, field) for r in records]
    assert biggest(ours, reference[out][0]) <= TOL
    assert "Keras" in checkpoint.meta["detected"]["format"]


def test_a_keras_weights_file_says_what_it_assumes(keras_dir):
    """`.weights.h5` has no config: the layers come from the shapes, and a SimpleRNN's activation
    cannot be read, so it is assumed (and --nonlinearity gives the true one)."""
    path, vocab = str(keras_dir / "rnn.weights.h5"), str(keras_dir / "v7.json")
    guessed = open_model(ModelSource(path, vocab=vocab))
    assert "assumes tanh" in guessed.meta["detected"]["nonlinearity"]
    told = open_model(ModelSource(path, vocab=vocab, nonlinearity="relu"))
    reference = np.load(keras_dir / "rnn.npz")
    records = feed_ids(told, KERAS_IDS)
    assert biggest([r.layers[0].h for r in records], reference["rnn"][0]) <= TOL
    assert biggest([r.output.probs for r in records], reference["probs"][0]) <= TOL


def test_lstm_seq2seq_opens_with_the_h_c_handoff(keras_dir, tmp_path):
    """The Keras example: encoder [state_h, state_c] is the decoder LSTM's initial_state; one-hot
    inputs of different sizes on each side."""
    source_vocab, target_vocab = tmp_path / "src.json", tmp_path / "tgt.json"
    source_vocab.write_text(json.dumps(list("vwxyz")))
    target = ["<s>", "</s>", "a", "b", "c", "d"]  # ids 0/1: the example's "\t" and "\n"
    target_vocab.write_text(json.dumps(target))
    checkpoint = open_model(ModelSource(str(keras_dir / "s2s.keras"), vocab=str(source_vocab),
                                        target_vocab=str(target_vocab)))
    assert checkpoint.kind == "seq2seq"
    assert "initial_state" in checkpoint.meta["detected"]["notes"]
    reference = np.load(keras_dir / "s2s.npz")
    session = Seq2SeqSession(inspectable(checkpoint))
    session.feed_source("".join("vwxyz"[i] for i in reference["source"]))
    handoff = session.handoff().layers[0]
    assert biggest(handoff.h, reference["handoff_h"][0]) <= TOL
    assert biggest(handoff.c, reference["handoff_c"][0]) <= TOL
    teacher = "".join(target[i] for i in reference["target"][1:])
    steps = session.decode(teacher=teacher).records[:len(reference["target"])]
    assert biggest([r.layers[0].h for r in steps], reference["decoder"][0]) <= TOL
    assert biggest([r.output.probs for r in steps], reference["probs"][0]) <= TOL
    target_vocab.write_text(json.dumps(["\t", "\n", "a", "b", "c", "d"]))  # as the example has
    tabbed = Seq2SeqSession(inspectable(open_model(ModelSource(
        str(keras_dir / "s2s.keras"), vocab=str(source_vocab), target_vocab=str(target_vocab),
        bos="\t", eos="\n"))))
    tabbed.feed_source("".join("vwxyz"[i] for i in reference["source"]))
    same = tabbed.decode(teacher=teacher).records[:len(reference["target"])]
    assert same[0].typed == "\t"
    assert biggest([r.output.probs for r in same], reference["probs"][0]) <= TOL


def test_a_keras_gru_with_reset_after_false_is_refused(keras_dir, capsys):
    assert main(["info", str(keras_dir / "gru_reset_before.keras"),
                 "--vocab", str(keras_dir / "v7.json")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "reset_after=False" in err and "no nn.GRU" in err


def test_info_names_the_format_route_and_dtype(keras_dir, capsys):
    assert main(["info", str(keras_dir / "lm.keras"), "--vocab",
                 str(keras_dir / "v7.json")]) == 0
    out = capsys.readouterr().out
    assert "format     Keras 3 .keras archive" in out
    assert "route      mapped onto nn.LSTM" in out and "dtype      float32" in out


# numpy ------------------------------------------------------------------------------------

def min_char_rnn(seed=0, vocab=6, hidden=7):
    rng = np.random.default_rng(seed)
    return {"Wxh": rng.normal(0, 0.5, (hidden, vocab)), "Whh": rng.normal(0, 0.5, (hidden, hidden)),
            "Why": rng.normal(0, 0.5, (vocab, hidden)), "bh": rng.normal(0, 0.5, (hidden, 1)),
            "by": rng.normal(0, 0.5, (vocab, 1))}


def min_char_rnn_forward(w, ids):
    """min-char-rnn's own recurrence (lossFun's forward pass), in float64 as it runs."""
    h = np.zeros((w["Whh"].shape[0], 1))
    hs, ps = [], []
    for i in ids:
        x = np.zeros((w["Wxh"].shape[1], 1))
        x[i] = 1
        h = np.tanh(w["Wxh"] @ x + w["Whh"] @ h + w["bh"])
        y = w["Why"] @ h + w["by"]
        hs.append(h[:, 0])
        ps.append((np.exp(y) / np.sum(np.exp(y)))[:, 0])
    return np.array(hs), np.array(ps)


def test_min_char_rnn_npz_with_its_chars(tmp_path):
    weights = min_char_rnn()
    chars = list("abcxyz")
    np.savez(tmp_path / "char-rnn.npz", chars=np.array(chars), **weights)
    checkpoint = open_model(ModelSource(str(tmp_path / "char-rnn.npz")))  # no --vocab needed
    text = "abzzyxcab"
    records = Session(inspectable(checkpoint)).feed(text)
    hs, ps = min_char_rnn_forward(weights, [chars.index(c) for c in text])
    assert biggest([r.layers[0].h for r in records], hs) <= TOL
    assert biggest([r.output.probs for r in records], ps) <= TOL
    assert checkpoint.meta["detected"]["vocab"] == "stored in the file"


def test_npz_under_pytorch_names_and_a_numpy_pickle(tmp_path):
    torch.manual_seed(0)
    model = CharRNN(CharRNNConfig(6, "gru", 2, 5, 3)).eval()
    arrays = {k: v.numpy() for k, v in model.state_dict().items()}
    np.savez(tmp_path / "m.npz", **arrays)
    (tmp_path / "v.json").write_text(json.dumps(list("abcdef")))
    with (tmp_path / "m.pkl").open("wb") as f:
        pickle.dump(arrays | {"chars": list("abcdef")}, f)
    text = "abcfed"
    with torch.no_grad():
        expected = model(torch.tensor([[ord(c) - 97 for c in text]]))[0][0].numpy()
    from_npz = open_model(ModelSource(str(tmp_path / "m.npz"), vocab=str(tmp_path / "v.json")))
    assert biggest([r.logits for r in Session(inspectable(from_npz)).feed(text)], expected) <= TOL
    with pytest.raises(CheckpointError, match="holds pickled Python objects"):
        open_model(ModelSource(str(tmp_path / "m.pkl")))
    trusted = open_model(ModelSource(str(tmp_path / "m.pkl"), trust_pickle=True))
    assert biggest([r.logits for r in Session(inspectable(trusted)).feed(text)], expected) <= TOL
    assert "--trust-pickle" in trusted.warnings[0]


# ONNX -------------------------------------------------------------------------------------

class Exported(torch.nn.Module):
    def __init__(self, cell, one_hot):
        super().__init__()
        self.one_hot = one_hot
        self.embed = None if one_hot else torch.nn.Embedding(6, 4)
        self.rnn = getattr(torch.nn, cell)(6 if one_hot else 4, 8, 2)
        self.head = torch.nn.Linear(8, 6)

    def forward(self, x):  # (T, B) ids or (T, B, V) one-hot
        out, _ = self.rnn(x if self.one_hot else self.embed(x))
        return self.head(out)


@pytest.mark.parametrize("cell", ["LSTM", "GRU", "RNN"])
@pytest.mark.parametrize("one_hot", [False, True], ids=["embedding", "one-hot"])
def test_onnx_export_gives_torch_numbers(tmp_path, cell, one_hot):
    torch.manual_seed(0)
    model = Exported(cell, one_hot).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0, 0.5)  # biases too: a misplaced one shows
    probe = torch.tensor([[0], [1], [2]])
    torch.onnx.export(model, (torch.nn.functional.one_hot(probe, 6).float() if one_hot
                              else probe,), str(tmp_path / "m.onnx"), dynamo=False)
    (tmp_path / "v.json").write_text(json.dumps(list("abcdef")))
    checkpoint = open_model(ModelSource(str(tmp_path / "m.onnx"), vocab=str(tmp_path / "v.json")))
    text = "abcfedaab"
    ids = torch.tensor([["abcdef".index(c)] for c in text])
    with torch.no_grad():
        x = torch.nn.functional.one_hot(ids, 6).float() if one_hot else ids
        expected = model(x)[:, 0]
        h = model.rnn(x if one_hot else model.embed(x))[0][:, 0]
    records = Session(inspectable(checkpoint)).feed(text)
    assert biggest([r.layers[-1].h for r in records], h) <= TOL
    assert biggest([r.output.probs for r in records], torch.softmax(expected, -1)) <= TOL
    assert checkpoint.meta["detected"]["format"].startswith(f"ONNX graph (2 {cell} node(s)")


def test_onnx_without_the_package_says_how_to_install(tmp_path, monkeypatch, capsys):
    (tmp_path / "m.onnx").write_bytes(b"\x08\x07")
    monkeypatch.setitem(sys.modules, "onnx", None)
    assert main(["info", str(tmp_path / "m.onnx")]) == 2
    assert "pip install 'rnn-inspect[onnx]'" in capsys.readouterr().err


def test_a_bidirectional_onnx_graph_is_one_line(tmp_path, capsys):
    torch.onnx.export(torch.nn.GRU(3, 4, bidirectional=True), (torch.zeros(2, 1, 3),),
                      str(tmp_path / "bi.onnx"), dynamo=False)
    assert main(["info", str(tmp_path / "bi.onnx")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "runs bidirectional" in err


# checkpoint dicts -------------------------------------------------------------------------

def char_lstm(vocab=6):
    torch.manual_seed(3)
    return CharRNN(CharRNNConfig(vocab, "lstm", 2, 6, 0)).eval()  # one-hot, like the notebooks


def logits_of(model, text, tokens):
    with torch.no_grad():
        return model(torch.tensor([[tokens.index(c) for c in text]]))[0][0].numpy()


@pytest.mark.parametrize("store", ["tokens", "chars", "int2char", "char2int", "itos", "stoi"])
def test_a_checkpoint_dict_brings_its_vocabulary(tmp_path, store):
    """The course-notebook checkpoint: {'n_hidden', 'n_layers', 'state_dict', 'tokens'}."""
    model, tokens = char_lstm(), list("qwerty")
    saved = {"tokens": tuple(tokens), "chars": "".join(tokens), "itos": tokens,
             "int2char": dict(enumerate(tokens)), "char2int": {c: i for i, c in enumerate(tokens)},
             "stoi": {c: i for i, c in enumerate(tokens)}}[store]
    path = tmp_path / "rnn_x_epoch.net"
    torch.save({"n_hidden": 6, "n_layers": 2, "state_dict": model.state_dict(), store: saved},
               path)
    checkpoint = open_model(ModelSource(str(path)))
    text = "qwertyytr"
    ours = [r.logits for r in Session(inspectable(checkpoint)).feed(text)]
    assert biggest(ours, logits_of(model, text, tokens)) <= TOL
    assert checkpoint.meta["detected"]["vocab"] == "stored in the file"


def test_a_stored_vocabulary_is_cross_checked_with_vocab(tmp_path):
    torch.save({"state_dict": char_lstm().state_dict(), "tokens": list("qwerty")},
               tmp_path / "m.pt")
    (tmp_path / "same.json").write_text(json.dumps(list("qwerty")))
    (tmp_path / "other.json").write_text(json.dumps(list("abcdef")))
    same = open_model(ModelSource(str(tmp_path / "m.pt"), vocab=str(tmp_path / "same.json")))
    assert "matches the file's" in same.meta["detected"]["vocab"]
    with pytest.raises(CheckpointError, match="differs from the vocabulary stored in the file"):
        open_model(ModelSource(str(tmp_path / "m.pt"), vocab=str(tmp_path / "other.json")))


def test_encoder_decoder_dicts_and_two_files_open_as_seq2seq(tmp_path):
    """Translation code saves {'encoder': sd, 'decoder': sd}, or each half in its own file."""
    from models.seq2seq import Seq2Seq, Seq2SeqConfig

    torch.manual_seed(4)
    model = Seq2Seq(Seq2SeqConfig(10, 10, "gru", 1, 6, 4)).eval()
    tokens = ["<s>", "</s>", *"abcdefgh"]
    (tmp_path / "v.json").write_text(json.dumps(tokens))
    state = model.state_dict()
    halves = {side: {k.removeprefix(f"{side}."): v for k, v in state.items()
                     if k.startswith(f"{side}.")} for side in ("encoder", "decoder")}
    torch.save(halves, tmp_path / "both.pt")
    torch.save(halves["encoder"], tmp_path / "encoder.pt")
    torch.save(halves["decoder"], tmp_path / "decoder.pt")
    with torch.no_grad():
        expected = model(torch.tensor([[2, 3, 4]]), torch.tensor([[0, 4, 3, 2]]))[0].numpy()
    for source in (ModelSource(str(tmp_path / "both.pt"), vocab=str(tmp_path / "v.json")),
                   ModelSource(str(tmp_path / "encoder.pt"), vocab=str(tmp_path / "v.json"),
                               decoder=str(tmp_path / "decoder.pt"))):
        checkpoint = open_model(source)
        assert checkpoint.kind == "seq2seq" and checkpoint.inspectable is None
        session = Seq2SeqSession(inspectable(checkpoint))
        session.feed_source("abc")
        records = session.decode(teacher="cba").records
        assert biggest([r.output.logits for r in records], expected) <= TOL


def test_a_missing_bias_hh_is_zero(tmp_path):
    """A one-bias recurrence, h' = tanh(W_ih x + b + W_hh h), saved without bias_hh."""
    model = CharRNN(CharRNNConfig(6, "rnn", 1, 5, 3)).eval()
    with torch.no_grad():
        model.rnn.bias_hh_l0.zero_()
    state = model.state_dict()
    del state["rnn.bias_hh_l0"]
    torch.save(state, tmp_path / "m.pt")
    (tmp_path / "v.json").write_text(json.dumps(list("abcdef")))
    checkpoint = open_model(ModelSource(str(tmp_path / "m.pt"), vocab=str(tmp_path / "v.json")))
    ours = [r.logits for r in Session(inspectable(checkpoint)).feed("abcfed")]
    assert biggest(ours, logits_of(model, "abcfed", list("abcdef"))) <= TOL
    assert "zero" in checkpoint.meta["detected"]["bias_hh"]


class WeightsOnly(torch.nn.Module):
    """A class that holds the layers but leaves the forward to other code."""

    def __init__(self):
        super().__init__()
        self.embed = torch.nn.Embedding(6, 3)
        self.rnn = torch.nn.GRU(3, 5, batch_first=True)
        self.head = torch.nn.Linear(5, 6)


def test_a_trusted_pickle_without_forward_falls_back_to_its_state_dict(tmp_path):
    module = WeightsOnly().eval()
    torch.save(module, tmp_path / "whole.pt")
    (tmp_path / "v.json").write_text(json.dumps(list("abcdef")))
    checkpoint = open_model(ModelSource(str(tmp_path / "whole.pt"), vocab=str(tmp_path / "v.json"),
                                        trust_pickle=True))
    assert "without a forward" in checkpoint.meta["detected"]["wrapper"]
    with torch.no_grad():
        out, _ = module.rnn(module.embed(torch.tensor([[0, 1, 5]])))
        expected = module.head(out)[0].numpy()
    ours = [r.logits for r in Session(inspectable(checkpoint)).feed("abf")]
    assert biggest(ours, expected) <= TOL


def test_a_pickle_whose_module_is_missing_says_where_to_run(tmp_path, capsys, monkeypatch):
    code = tmp_path / "code"
    code.mkdir()
    (code / "model.py").write_text("import torch\nclass Net(torch.nn.Module):\n"
                                   "    def __init__(self):\n        super().__init__()\n"
                                   "        self.rnn = torch.nn.GRU(3, 4)\n")
    monkeypatch.syspath_prepend(str(code))
    import model  # the user's module, importable only from its folder

    torch.save(model.Net(), tmp_path / "net.pt")
    monkeypatch.delitem(sys.modules, "model")
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p != str(code)])
    monkeypatch.chdir(tmp_path)  # not the code's folder
    assert main(["info", str(tmp_path / "net.pt"), "--trust-pickle"]) == 2
    err = capsys.readouterr().err
    assert "needs the module 'model'" in err and "PYTHONPATH" in err and err.count("\n") == 1


@pytest.mark.parametrize(("name", "expected"), [
    ("model.t7", "is a Lua Torch7 file"), ("frozen.pb", "is a TensorFlow graph"),
    ("model.tflite", "is a TensorFlow Lite model"), ("ggml.gguf", "is a GGUF file"),
])
def test_files_of_other_kinds_are_named(tmp_path, capsys, name, expected):
    (tmp_path / name).write_bytes(b"\x04\x00\x00\x00 not a torch file at all")
    assert main(["info", str(tmp_path / name)]) == 2
    err = capsys.readouterr().err
    assert expected in err and err.count("\n") == 1


def test_a_savedmodel_and_torchscript_are_named(tmp_path, capsys):
    (tmp_path / "export").mkdir()
    (tmp_path / "export" / "saved_model.pb").write_bytes(b"")
    torch.jit.save(torch.jit.script(torch.nn.GRU(3, 4)), str(tmp_path / "scripted.pt"))
    assert main(["info", str(tmp_path / "export")]) == 2
    assert "is a TensorFlow SavedModel" in capsys.readouterr().err
    assert main(["info", str(tmp_path / "scripted.pt")]) == 2
    assert "is a TorchScript archive" in capsys.readouterr().err
