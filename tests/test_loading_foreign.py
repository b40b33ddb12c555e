"""Real-world checkpoints open, are described by `info`, and give the model's own numbers."""

import contextlib
import importlib
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save_file, save_model
from userland import tutorial_models as tm

from inspector.engine import Seq2SeqSession, Session, inspectable
from inspector.loading import ModelSource, open_model
from models.checkpoint import CheckpointError

TOL = 1e-5
TEXT = "abcabhhgfedcba"


@pytest.fixture
def vocab_file(tmp_path):
    path = tmp_path / "vocab.json"
    path.write_text(json.dumps(tm.VOCAB))
    return str(path)


def own_forward(module, text, seq_first=False):
    """The user's module over the whole text: logits (T, V)."""
    ids = torch.tensor([[tm.VOCAB.index(c) for c in text]])
    with torch.no_grad():
        logits, _ = module(ids.T if seq_first else ids, None)
    return (logits[:, 0] if seq_first else logits[0]).numpy()


def engine_logits(checkpoint, text):
    return np.stack([r.logits for r in Session(inspectable(checkpoint)).feed(text)])


def assert_same(a, b):
    assert a.shape == b.shape and float(np.abs(a - b).max()) <= TOL


def test_word_language_model_with_tied_weights(tmp_path, vocab_file):
    torch.manual_seed(0)
    model = tm.WordLanguageModel().eval()
    path = tmp_path / "model.pt"
    torch.save(model.state_dict(), path)
    checkpoint = open_model(ModelSource(str(path), vocab=vocab_file))
    assert checkpoint.meta["detected"]["input"].startswith("embedding encoder.weight")
    assert checkpoint.meta["detected"]["head"] == "decoder.weight"
    assert_same(engine_logits(checkpoint, TEXT), own_forward(model, TEXT, seq_first=True))


def test_tied_safetensors_saved_with_save_model(tmp_path, vocab_file):
    torch.manual_seed(1)
    model = tm.WordLanguageModel("GRU", nlayers=1).eval()
    path = tmp_path / "model.safetensors"
    save_model(model, str(path))
    checkpoint = open_model(ModelSource(str(path), vocab=vocab_file))
    assert "tied" in checkpoint.meta["detected"]
    assert_same(engine_logits(checkpoint, TEXT), own_forward(model, TEXT, seq_first=True))


def test_one_hot_relu_rnn_needs_the_nonlinearity_flag(tmp_path, vocab_file):
    torch.manual_seed(2)
    model = tm.OneHotCharRNN().eval()
    with torch.no_grad():
        model.rnn.weight_hh_l0.mul_(0.5)
    path = tmp_path / "onehot.pth"
    torch.save(model.state_dict(), path)
    checkpoint = open_model(ModelSource(str(path), vocab=vocab_file, nonlinearity="relu"))
    assert checkpoint.meta["arch"]["embed"] == 0
    assert_same(engine_logits(checkpoint, TEXT), own_forward(model, TEXT))
    tanh = open_model(ModelSource(str(path), vocab=vocab_file))
    assert "pass --nonlinearity relu" in tanh.meta["detected"]["nonlinearity"]


def test_dataparallel_prefix_nested_names_and_training_wrapper(tmp_path, vocab_file):
    torch.manual_seed(3)
    model = tm.Nested().eval()
    state = {f"module.{k}": v for k, v in model.state_dict().items()}
    path = tmp_path / "ckpt.pt"
    torch.save({"model_state_dict": state, "optimizer": {"lr": 0.1}, "epoch": 7}, path)
    checkpoint = open_model(ModelSource(str(path), vocab=vocab_file))
    assert checkpoint.meta["detected"]["wrapper"] == "model_state_dict"
    assert "body.core." in checkpoint.meta["detected"]["recurrent"]
    assert_same(engine_logits(checkpoint, TEXT), own_forward(model, TEXT, seq_first=True))


def test_dataparallel_lstm_in_the_general_checkpoint_layout(tmp_path, vocab_file):
    """PyTorch's "saving a general checkpoint" recipe, from a model wrapped in nn.DataParallel."""
    torch.manual_seed(12)
    model = tm.CharLSTM().eval()
    parallel = torch.nn.DataParallel(model)
    optimizer = torch.optim.Adam(parallel.parameters())
    path = tmp_path / "checkpoint.tar"
    torch.save({"epoch": 4, "model_state_dict": parallel.state_dict(),
                "optimizer_state_dict": optimizer.state_dict(), "loss": 1.25}, path)
    checkpoint = open_model(ModelSource(str(path), vocab=vocab_file))
    assert checkpoint.meta["detected"]["recurrent"] == "LSTM lstm.*, 2 layer(s), hidden 9"
    assert_same(engine_logits(checkpoint, TEXT), own_forward(model, TEXT))


def test_torch_compile_and_distributed_prefixes_are_dropped(tmp_path, vocab_file):
    """DistributedDataParallel(torch.compile(model)).state_dict() names every key
    `module._orig_mod.…` (spelled out here: importing the compiler costs seconds)."""
    torch.manual_seed(13)
    model = tm.CharLSTM(layers=1).eval()
    path = tmp_path / "compiled.pt"
    torch.save({f"module._orig_mod.{k}": v for k, v in model.state_dict().items()}, path)
    checkpoint = open_model(ModelSource(str(path), vocab=vocab_file))
    assert checkpoint.meta["detected"]["head"] == "fc.weight"
    assert_same(engine_logits(checkpoint, TEXT), own_forward(model, TEXT))


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_weights_compute_in_float32(tmp_path, vocab_file, dtype):
    torch.manual_seed(4)
    model = tm.Nested().eval()
    path = tmp_path / "half.safetensors"
    save_file({k: v.to(dtype) for k, v in model.state_dict().items()}, str(path))
    checkpoint = open_model(ModelSource(str(path), vocab=vocab_file))
    assert "computed in float32" in checkpoint.meta["detected"]["dtype"]
    model.load_state_dict({k: v.to(dtype).float() for k, v in model.state_dict().items()})
    assert_same(engine_logits(checkpoint, TEXT), own_forward(model, TEXT, seq_first=True))


@contextlib.contextmanager
def saved_as_cuda():
    """torch.save tags every storage with the device it lives on; tag CPU ones "cuda:0" so the
    file is exactly what a GPU training run writes (torch.load without map_location fails)."""
    def tag(_storage):
        return "cuda:0"

    torch.serialization.register_package(-1, tag, lambda _obj, _location: None)
    try:
        yield
    finally:
        registry = torch.serialization._package_registry
        registry[:] = [entry for entry in registry if entry[1] is not tag]


def test_tensors_saved_on_cuda_load_on_the_cpu(tmp_path, vocab_file):
    torch.manual_seed(9)
    model = tm.WordLanguageModel("GRU").eval()
    path = tmp_path / "gpu.pt"
    with saved_as_cuda():
        torch.save({"state_dict": model.state_dict(), "epoch": 3}, path)
    with pytest.raises(RuntimeError, match="CUDA"):
        torch.load(path, weights_only=True)  # the file really is CUDA-tagged
    checkpoint = open_model(ModelSource(str(path), vocab=vocab_file))
    assert_same(engine_logits(checkpoint, TEXT), own_forward(model, TEXT, seq_first=True))


def test_safetensors_under_a_pt_name_is_read_as_safetensors(tmp_path, vocab_file):
    torch.manual_seed(11)
    model = tm.Nested().eval()
    path = tmp_path / "renamed.pt"
    save_file(model.state_dict(), str(path))
    checkpoint = open_model(ModelSource(str(path), vocab=vocab_file))
    assert checkpoint.meta["detected"]["format"] == "safetensors state_dict"
    assert_same(engine_logits(checkpoint, TEXT), own_forward(model, TEXT, seq_first=True))


def test_factory_with_its_own_forward_is_hooked(vocab_file):
    checkpoint = open_model(ModelSource(None, vocab=vocab_file,
                                        factory="userland.tutorial_models:build_normed"))
    model = tm.build_normed()
    records = Session(inspectable(checkpoint)).feed(TEXT)
    hidden = None
    with torch.no_grad():
        for record, char in zip(records, TEXT):
            out, hidden = model(torch.tensor([[tm.VOCAB.index(char)]]), hidden)
            assert float(np.abs(record.logits - out.reshape(-1).numpy()).max()) <= TOL
            for k in range(2):
                assert float(np.abs(record.layers[k].h - hidden[0][k, 0].numpy()).max()) <= TOL
                assert float(np.abs(record.layers[k].c - hidden[1][k, 0].numpy()).max()) <= TOL
    assert set(records[0].layers[0].gates) == set("ifgo")


def test_factory_seq2seq_pair_decodes_like_its_modules(tmp_path):
    vocab = tmp_path / "v.json"
    vocab.write_text(json.dumps(tm.SEQ_VOCAB))
    checkpoint = open_model(ModelSource(None, vocab=str(vocab),
                                        factory="userland.tutorial_models:build_pair"))
    assert checkpoint.kind == "seq2seq"
    session = Seq2SeqSession(inspectable(checkpoint))
    session.feed_source("abc")
    decoded = session.decode(max_len=60)
    encoder, decoder = tm.build_pair()
    with torch.no_grad():
        hidden = None
        for char in "abc":
            _, hidden = encoder(torch.tensor([[tm.SEQ_VOCAB.index(char)]]), hidden)
        token, expected = 0, []
        for _ in range(60):
            out, hidden = decoder(torch.tensor([[token]]), hidden)
            token = int(out.reshape(-1).argmax())
            if token == 1:
                break
            expected.append(tm.SEQ_VOCAB[token])
    assert decoded.output == "".join(expected)
    assert len(decoded.records) >= len(expected)


def test_seq2seq_state_dict_as_the_tutorials_save_it(tmp_path):
    """Encoder and decoder in one state_dict, source and target vocabularies differing."""
    torch.manual_seed(14)
    model = tm.TutorialSeq2Seq().eval()
    with torch.no_grad():  # untrained, it would say </s> at once: decode the full 60 steps
        model.decoder.fc_out.bias[1] = -10.0
    path = tmp_path / "tut1-model.pt"
    torch.save(model.state_dict(), path)
    source_vocab, target_vocab = tmp_path / "src.json", tmp_path / "trg.json"
    source_vocab.write_text(json.dumps(list("abcdefg")))
    target_vocab.write_text(json.dumps(tm.SEQ_VOCAB))
    checkpoint = open_model(ModelSource(str(path), vocab=str(source_vocab),
                                        target_vocab=str(target_vocab)))
    assert checkpoint.kind == "seq2seq"
    assert checkpoint.meta["detected"]["decoder"] == ("LSTM decoder.rnn.*, embedding "
                                                      "decoder.embedding.weight, head "
                                                      "decoder.fc_out.weight")
    session = Seq2SeqSession(inspectable(checkpoint))
    session.feed_source("gabbed")
    decoded = session.decode(max_len=60)
    tokens, logits = model.greedy(["abcdefg".index(c) for c in "gabbed"])
    assert len(tokens) == 60 and decoded.output == "".join(tm.SEQ_VOCAB[t] for t in tokens)
    assert_same(np.stack([r.logits for r in decoded.records]), logits.numpy())


def test_trusted_pickle_of_a_whole_module_is_inspected(tmp_path, vocab_file, python, cli_env):
    torch.manual_seed(6)
    model = tm.WordLanguageModel(tie=False).eval()
    path = tmp_path / "whole.pt"
    torch.save(model, path)
    refused = subprocess.run([python, "-m", "inspector.cli", "info", str(path), "--vocab",
                              vocab_file], capture_output=True, text=True, env=cli_env,
                             timeout=120, cwd=tmp_path)
    assert refused.returncode == 2 and refused.stderr.count("\n") == 1
    assert "userland.tutorial_models.WordLanguageModel" in refused.stderr
    assert "state_dict" in refused.stderr and "--trust-pickle" in refused.stderr
    checkpoint = open_model(ModelSource(str(path), vocab=vocab_file, trust_pickle=True))
    assert checkpoint.warnings == [f"{path}: unpickled with --trust-pickle, which runs code from "
                                   "the file; do this only for files you made"]
    assert_same(engine_logits(checkpoint, TEXT), own_forward(model, TEXT, seq_first=True))


FACTORY_MODULE = """
import torch
from torch import nn


class CharGRU(nn.Module):
    def __init__(self):
        super().__init__()
        self.embedding = nn.Embedding(8, 6)
        self.gru = nn.GRU(6, 10, batch_first=True)
        self.fc = nn.Linear(10, 8)

    def forward(self, x_t, hidden):
        out, hidden = self.gru(self.embedding(x_t), hidden)
        return self.fc(torch.relu(out)), hidden


def build():
    torch.manual_seed(10)
    return CharGRU().eval()
"""


def test_factory_from_the_current_directory_needs_no_model(tmp_path, vocab_file, cli_env):
    """The installed command, run where the user's module is (not on PYTHONPATH)."""
    (tmp_path / "mymodels.py").write_text(FACTORY_MODULE)
    command = Path(sys.executable).with_name("rnn-inspect")
    run = subprocess.run([str(command), "trace", "--factory", "mymodels:build", "--vocab",
                          vocab_file, "--input", "headfeed"], capture_output=True,
                         text=True, env=cli_env, timeout=120, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    steps = json.loads(run.stdout)["steps"]
    sys.path.insert(0, str(tmp_path))
    try:
        model = importlib.import_module("mymodels").build()
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("mymodels", None)
    hidden, expected = None, []
    with torch.no_grad():
        for char in "headfeed":
            out, hidden = model(torch.tensor([[tm.VOCAB.index(char)]]), hidden)
            expected.append(tm.VOCAB[int(out.argmax())])
    assert [step["prediction"] for step in steps] == expected


def test_info_prints_what_was_detected(tmp_path, vocab_file, python, cli_env):
    torch.manual_seed(7)
    path = tmp_path / "m.pt"
    torch.save(tm.WordLanguageModel().state_dict(), path)
    out = subprocess.run([python, "-m", "inspector.cli", "info", str(path), "--vocab",
                          vocab_file], capture_output=True, text=True, env=cli_env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "detected   recurrent: LSTM rnn.*, 2 layer(s), hidden 12" in out.stdout
    assert "detected   head: decoder.weight" in out.stdout


def test_nan_weights_load_with_a_warning(tmp_path, vocab_file):
    torch.manual_seed(8)
    model = tm.Nested()
    state = model.state_dict()
    state["out.proj.bias"][0] = float("nan")
    path = tmp_path / "nan.pt"
    torch.save(state, path)
    checkpoint = open_model(ModelSource(str(path), vocab=vocab_file))
    assert checkpoint.warnings[1:] == [f"{path}: NaN/Inf values in out.proj.bias"]
    record = Session(inspectable(checkpoint)).feed("a")[0]
    assert "logits" in record.nonfinite


def test_factory_errors_are_one_line(tmp_path, vocab_file):
    for spec, message in [("nope_module:build", "cannot import"),
                          ("userland.tutorial_models:missing", "has no callable 'missing'"),
                          ("userland.tutorial_models:build_broken",
                           "RuntimeError: weights file missing"),
                          ("no-colon", "expected module:callable"),
                          ("userland.tutorial_models:build_whole_sequence",
                           r"stepping its forward failed \(TypeError: .*the protocol is "
                           r"forward\(x_t, hidden\) -> \(out, hidden\)")]:
        with pytest.raises(CheckpointError, match=message) as err:
            open_model(ModelSource(None, vocab=vocab_file, factory=spec))
        assert "\n" not in str(err.value)


def test_factory_weights_that_are_nan_or_inf_load_with_a_warning(vocab_file):
    checkpoint = open_model(ModelSource(None, vocab=vocab_file,
                                        factory="userland.tutorial_models:build_nan"))
    assert checkpoint.warnings == ["factory userland.tutorial_models:build_nan: NaN/Inf values "
                                   "in head.bias"]


@pytest.mark.parametrize(("source", "message"), [
    (ModelSource("doubled-lstm", target_vocab="t.json"),
     "--target-vocab t.json: doubled-lstm is not a seq2seq model"),
    (ModelSource("doubled-lstm", vocab="v.json", factory="userland.tutorial_models:build_pair"),
     "doubled-lstm: pass either MODEL or --factory userland.tutorial_models:build_pair"),
])
def test_options_that_would_be_ignored_are_errors(source, message):
    with pytest.raises(CheckpointError, match=re.escape(message)):
        open_model(source)


@pytest.mark.filterwarnings("ignore")  # torch.jit itself is deprecated: warnings making the file
@pytest.mark.parametrize("trust_pickle", [False, True])
def test_torchscript_archives_are_named_as_such(tmp_path, vocab_file, trust_pickle):
    path = tmp_path / "scripted.pt"
    torch.jit.save(torch.jit.trace(tm.Nested().eval(), (torch.zeros(1, 3, dtype=torch.long),)),
                   str(path))
    with pytest.raises(CheckpointError, match="scripted.pt: is a TorchScript archive"):
        open_model(ModelSource(str(path), vocab=vocab_file, trust_pickle=trust_pickle))


def test_a_factory_module_that_fails_to_import_is_one_line(tmp_path, vocab_file, monkeypatch):
    monkeypatch.setattr(sys, "path", list(sys.path))  # the loader adds the cwd; undo it after
    monkeypatch.chdir(tmp_path)
    (tmp_path / "brokenmodels.py").write_text("def build(:\n")
    with pytest.raises(CheckpointError, match=r"cannot import brokenmodels \(SyntaxError: "):
        open_model(ModelSource(None, vocab=vocab_file, factory="brokenmodels:build"))


def test_a_half_precision_factory_model_is_computed_in_float32(vocab_file):
    checkpoint = open_model(ModelSource(None, vocab=vocab_file,
                                        factory="userland.tutorial_models:build_half"))
    assert checkpoint.meta["detected"]["dtype"] == "float16 (computed in float32)"
    model = tm.build_half().float()
    hidden = None
    with torch.no_grad():
        for record, char in zip(Session(inspectable(checkpoint)).feed(TEXT), TEXT):
            out, hidden = model(torch.tensor([[tm.VOCAB.index(char)]]), hidden)
            assert float(np.abs(record.logits - out.reshape(-1).numpy()).max()) <= TOL
