"""`rnn-inspect trace`: DESIGN.md's JSON schema, full precision, npz without pickles, seq2seq."""

import json
import subprocess

import numpy as np
import pytest
import torch

from inspector.engine import HandoffEdit, Seq2SeqSession, inspectable, trace, trace_to_json
from inspector.loading.native import load_checkpoint
from models import tasks
from models.char_rnn import CharRNN, CharRNNConfig
from models.checkpoint import save_checkpoint
from models.seq2seq import Seq2Seq, Seq2SeqConfig
from models.vocab import CharVocab


@pytest.fixture(scope="module")
def gru_file(tmp_path_factory):
    torch.manual_seed(2)
    module = CharRNN(CharRNNConfig(27, "gru", 2, 6, 3))
    return save_checkpoint(tmp_path_factory.mktemp("m") / "gru.safetensors", "char", module,
                           CharVocab.letters())


@pytest.fixture(scope="module")
def seq2seq_file(tmp_path_factory):
    torch.manual_seed(3)
    vocab = tasks.seq2seq_vocab()
    module = Seq2Seq(Seq2SeqConfig(len(vocab), len(vocab), "lstm", 2, 8, 4, "linear"))
    return save_checkpoint(tmp_path_factory.mktemp("m") / "s2s.safetensors", "seq2seq", module,
                           vocab)


def run_trace(python, env, *args, stdin=None):
    return subprocess.run([python, "-m", "inspector.cli", "trace", *args], capture_output=True,
                          text=True, env=env, timeout=120, input=stdin)


def test_json_trace_schema_and_full_precision(gru_file, python, cli_env):
    out = run_trace(python, cli_env, str(gru_file), "--input", "ab?")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["format"] == "rnn-inspect-trace/2"
    assert data["model"] == {"kind": "char", "cell": "gru", "layers": 2, "hidden": 6,
                             "vocab": list(CharVocab.letters().tokens)}
    steps = data["steps"]
    assert [s["t"] for s in steps] == [0, 1, 2] and [s["input"] for s in steps] == list("ab?")
    assert steps[2]["token"] == "<unk>"
    first = steps[0]
    assert set(first) >= {"t", "input", "prediction", "top", "entropy", "layers"}
    assert set(first["layers"][0]) == {"h", "gates"}
    assert set(first["layers"][0]["gates"]) == set("rzn")
    model = inspectable(load_checkpoint(gru_file))
    result = trace(model, "ab?")
    for k in range(2):  # every float is the exact float32 value: nothing rounded
        assert np.array_equal(np.array(steps[1]["layers"][k]["h"], dtype=np.float32),
                              result.arrays[f"l{k}.h"][1])
    assert first["prediction"] == first["top"][0][0]
    assert "input_part" not in first["layers"][0]


def test_splits_only_on_request_and_stdin_input(gru_file, python, cli_env):
    out = run_trace(python, cli_env, str(gru_file), "--input", "-", "--splits", stdin="ba")
    assert out.returncode == 0, out.stderr
    layer = json.loads(out.stdout)["steps"][1]["layers"][0]
    assert set(layer["input_part"]) == set("rzn") == set(layer["memory_part"])


def test_npz_loads_without_pickle(gru_file, tmp_path, python, cli_env):
    path = tmp_path / "t.npz"
    out = run_trace(python, cli_env, str(gru_file), "--input", "abcd", "--format", "npz",
                    "--out", str(path))
    assert out.returncode == 0, out.stderr
    with np.load(path, allow_pickle=False) as data:
        assert data["h"].shape == (4, 2, 6) and data["h"].dtype == np.float32
        assert data["gate_r"].shape == (4, 2, 6) and data["probs"].shape == (4, 27)
        assert list(data["vocab"]) == list(CharVocab.letters().tokens)
        assert "".join(data["input_chars"]) == "abcd"
        assert "in_r" not in data


def test_npz_without_out_is_a_one_line_error(gru_file, python, cli_env):
    out = run_trace(python, cli_env, str(gru_file), "--input", "a", "--format", "npz")
    assert out.returncode == 2 and out.stderr.strip().count("\n") == 0 and "--out" in out.stderr


def test_seq2seq_trace_json(seq2seq_file, python, cli_env):
    out = run_trace(python, cli_env, str(seq2seq_file), "--input", "hello")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert set(data) == {"format", "model", "source", "interventions", "branch", "encoder",
                         "handoff", "decoder", "output"}
    assert [s["input"] for s in data["encoder"]["steps"]] == list("hello")
    assert len(data["handoff"]["layers"]) == 2 and set(data["handoff"]["layers"][0]) == {"h", "c"}
    assert data["decoder"]["steps"][0]["input"] == "<s>"
    assert "</s>" not in data["output"] and "<s>" not in data["output"]
    checkpoint = load_checkpoint(seq2seq_file)
    vocab = checkpoint.vocab
    expected = checkpoint.module.greedy(torch.tensor([vocab.encode("hello")]), vocab.bos_id,
                                        vocab.eos_id, max_len=64)[0]
    assert data["output"] == vocab.decode(expected)


def test_seq2seq_handoff_matches_torch_and_edits_apply(seq2seq_file):
    checkpoint = load_checkpoint(seq2seq_file)
    session = Seq2SeqSession(inspectable(checkpoint))
    session.feed_source("abc")
    with torch.no_grad():
        h, c = checkpoint.module.handoff(torch.tensor([checkpoint.vocab.encode("abc")]))
    handoff = session.handoff()
    for k in range(2):
        assert np.abs(handoff.layers[k].h - h[k, 0].numpy()).max() <= 1e-5
        assert np.abs(handoff.layers[k].c - c[k, 0].numpy()).max() <= 1e-5
    session.edit_handoff(HandoffEdit("scale", "l1.c", None, 0.0))
    assert session.handoff().norms["l1.c"] == 0.0
    session.clear_edits()
    session.edit_handoff(HandoffEdit("swap", source="zz"))
    other = Seq2SeqSession(inspectable(checkpoint))
    other.feed_source("zz")
    assert all(np.array_equal(a.h, b.h) for a, b in zip(session.handoff().layers,
                                                       other.handoff().layers))
    assert session.decode().output == other.decode().output


def test_decode_step_by_step_equals_greedy(seq2seq_file):
    session = Seq2SeqSession(inspectable(load_checkpoint(seq2seq_file)))
    session.feed_source("ab")
    full = session.decode(max_len=12)
    stepped = []
    while (record := session.decode_step(max_len=12)) is not None:
        stepped.append(record)
    assert [r.prediction for r in stepped] == [r.prediction for r in full.records]
    teacher = session.decode(teacher="ba")
    assert [r.typed for r in teacher.records] == ["<s>", "b", "a"]


def test_trace_to_json_in_process_matches_the_records(gru_file):
    model = inspectable(load_checkpoint(gru_file))
    data = trace_to_json(trace(model, "zz"))
    assert data["steps"][1]["layers"][1]["gates"]["z"] == trace(model, "zz").arrays[
        "l1.gate.z"][1].tolist()


def test_a_closed_pipe_ends_the_trace_quietly(gru_file, python, cli_env):
    """`rnn-inspect trace … | head -c 10`: no error when the reader stops early."""
    process = subprocess.Popen([python, "-m", "inspector.cli", "trace", str(gru_file), "--input",
                                "abcdefgh" * 500], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, env=cli_env)
    process.stdout.read(10)
    process.stdout.close()
    stderr = process.stderr.read().decode()
    assert process.wait(timeout=120) == 0
    assert stderr == ""


def test_a_closed_pipe_ends_info_quietly(python, cli_env):
    process = subprocess.Popen([python, "-m", "inspector.cli", "info", "text-lstm"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=cli_env)
    process.stdout.close()
    stderr = process.stderr.read().decode()
    assert process.wait(timeout=120) == 0
    assert stderr == ""


def test_a_gru_seq2seqs_linear_bridge_is_its_own_module(tmp_path):
    """The engine runs the checkpoint's own bridge (models.seq2seq.Bridge), so a GRU's handoff
    (h only) is torch's to the bit."""
    torch.manual_seed(4)
    vocab = tasks.seq2seq_vocab()
    module = Seq2Seq(Seq2SeqConfig(len(vocab), len(vocab), "gru", 2, 8, 4, "linear"))
    checkpoint = load_checkpoint(save_checkpoint(tmp_path / "g.safetensors", "seq2seq", module,
                                                 vocab))
    session = Seq2SeqSession(inspectable(checkpoint))
    session.feed_source("abc")
    with torch.no_grad():
        h = checkpoint.module.handoff(torch.tensor([checkpoint.vocab.encode("abc")]))
    layers = session.handoff().layers
    assert [layer.c for layer in layers] == [None, None]
    for k in range(2):
        assert np.abs(layers[k].h - h[k, 0].numpy()).max() <= 1e-6
