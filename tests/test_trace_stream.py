"""Streamed traces: JSON, JSON lines and npz written chunk by chunk agree with the in-memory
trace, never hold a bare NaN, read back in format /1 and /2, and are written atomically."""

import json

import numpy as np
import pytest
import torch

from inspector.cli import main
from inspector.engine import inspectable, trace
from inspector.engine.bulk import trace_chunks
from inspector.engine.export import (
    FORMAT,
    read_trace,
    trace_header,
    write_json_trace,
    write_npz,
    write_trace,
)
from inspector.loading.native import load_checkpoint
from models.char_rnn import CharRNN, CharRNNConfig
from models.checkpoint import save_checkpoint
from models.vocab import CharVocab

TEXT = "the quick brown fox jumps over the lazy dog " * 3


@pytest.fixture(scope="module")
def lstm_file(tmp_path_factory):
    torch.manual_seed(5)
    module = CharRNN(CharRNNConfig(27, "lstm", 2, 8, 4))
    return save_checkpoint(tmp_path_factory.mktemp("m") / "lstm.safetensors", "char", module,
                           CharVocab.letters())


@pytest.fixture(scope="module")
def nan_file(tmp_path_factory):
    torch.manual_seed(6)
    module = CharRNN(CharRNNConfig(27, "gru", 1, 4, 3))
    with torch.no_grad():
        module.rnn.weight_ih_l0[0, 0] = float("nan")  # unit 0 of r, then everything after it
    return save_checkpoint(tmp_path_factory.mktemp("m") / "nan.safetensors", "char", module,
                           CharVocab.letters())


def strict_load(text: str):
    def refuse(name):
        raise AssertionError(f"bare {name} in the JSON")
    return json.loads(text, parse_constant=refuse)


def close(a, b) -> bool:
    return np.abs(np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)).max() <= 1e-5


def test_chunks_chain_their_state_and_equal_one_trace(lstm_file):
    model = inspectable(load_checkpoint(lstm_file))
    whole = trace(model, TEXT)
    parts = list(trace_chunks(model, TEXT, chunk=7))
    assert [p.start for p in parts] == list(range(0, len(TEXT), 7))
    for name, array in whole.arrays.items():
        assert close(np.concatenate([p.arrays[name] for p in parts]), array), name


@pytest.mark.parametrize("fmt", ["json", "jsonl"])
def test_streamed_json_equals_the_in_memory_trace(lstm_file, tmp_path, fmt):
    checkpoint = load_checkpoint(lstm_file)
    model = inspectable(checkpoint)
    out = tmp_path / f"t.{fmt}"
    write_trace(checkpoint, TEXT, fmt, out, chunk=16)
    lines = out.read_text().splitlines()
    if fmt == "jsonl":
        assert len(lines) == len(TEXT) + 1 and "steps" not in strict_load(lines[0])
        assert [strict_load(line)["t"] for line in lines[1:]] == list(range(len(TEXT)))
    else:
        document = strict_load(out.read_text())
        assert len(document["steps"]) == len(TEXT)
    header, steps = read_trace(out)
    assert header["format"] == FORMAT == "rnn-inspect-trace/2"
    assert header["interventions"] == [] and header["branch"] == "main"
    assert set(header["source"]) == {"tool", "torch", "model_sha256"}
    assert header["model"]["cell"] == "lstm" and header["model"]["layers"] == 2
    whole = trace(model, TEXT)
    assert "".join(s["input"] for s in steps) == TEXT
    for k in range(2):
        assert close([s["layers"][k]["h"] for s in steps], whole.arrays[f"l{k}.h"])
        assert close([s["layers"][k]["c"] for s in steps], whole.arrays[f"l{k}.c"])
        assert close([s["layers"][k]["gates"]["f"] for s in steps], whole.arrays[f"l{k}.gate.f"])
    probs = whole.arrays["probs"]
    assert [s["prediction"] for s in steps] == [model.vocab.tokens[i] for i in probs.argmax(1)]


def test_streamed_npz_equals_the_in_memory_trace(lstm_file, tmp_path):
    checkpoint = load_checkpoint(lstm_file)
    whole = trace(inspectable(checkpoint), TEXT, splits=True)
    out = tmp_path / "t.npz"
    write_trace(checkpoint, TEXT, "npz", out, chunk=10, splits=True)
    with np.load(out, allow_pickle=False) as data:
        assert data["h"].shape == (len(TEXT), 2, 8) and data["h"].dtype == np.float32
        for name in ("h", "c", "gate_i", "gate_o", "in_f", "mem_g"):
            stacked = np.stack([whole.arrays[f"l{k}.{name.replace('_', '.')}"]
                                for k in range(2)], axis=1)
            assert close(data[name], stacked), name
        assert close(data["probs"], whole.arrays["probs"])
        assert "".join(data["input_chars"]) == TEXT
        assert list(data["inputs"]) == list(whole.token_ids)
        assert list(data["vocab"]) == list(CharVocab.letters().tokens)


def test_the_out_name_is_kept_as_given(lstm_file, tmp_path):
    out = tmp_path / "x.bin"
    write_trace(load_checkpoint(lstm_file), "abc", "npz", out)
    assert out.exists() and not (tmp_path / "x.bin.npz").exists()
    with np.load(out) as data:
        assert data["h"].shape == (3, 2, 8)


def test_nonfinite_values_are_null_and_named(nan_file, tmp_path):
    out = tmp_path / "nan.jsonl"
    write_trace(load_checkpoint(nan_file), "abc", "jsonl", out)
    lines = out.read_text().splitlines()
    steps = [strict_load(line) for line in lines[1:]]
    assert steps[0]["layers"][0]["gates"]["r"][0] is None
    assert {"l0.gate.r", "l0.h"} <= set(steps[0]["nonfinite"])
    assert all("nonfinite" in s for s in steps)
    document = tmp_path / "nan.json"
    write_trace(load_checkpoint(nan_file), "abc", "json", document)
    assert strict_load(document.read_text())["steps"][2]["nonfinite"]


class Interrupted(KeyboardInterrupt):
    pass


def interrupted_after(n: int, items):
    for i, item in enumerate(items):
        if i == n:
            raise Interrupted
        yield item


@pytest.mark.parametrize("fmt", ["json", "jsonl", "npz"])
def test_an_interrupted_write_leaves_the_old_file(lstm_file, tmp_path, fmt):
    model = inspectable(load_checkpoint(lstm_file))
    out = tmp_path / f"old.{fmt}"
    out.write_bytes(b"precious")
    with pytest.raises(Interrupted):
        if fmt == "npz":
            from inspector.engine.export import npz_chunk
            chunks = (npz_chunk(p) for p in trace_chunks(model, TEXT, chunk=8))
            write_npz(out, interrupted_after(3, chunks))
        else:
            from inspector.engine.export import trace_steps
            write_json_trace(trace_header(model), interrupted_after(5, trace_steps(model, TEXT)),
                             out, lines=fmt == "jsonl")
    assert out.read_bytes() == b"precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == [out.name]


def test_format_1_files_stay_readable(tmp_path):
    old = tmp_path / "old.json"
    old.write_text(json.dumps({"format": "rnn-inspect-trace/1", "model": {"cell": "gru"},
                               "steps": [{"t": 0, "input": "a", "layers": [{"h": [0.5]}]}]}))
    header, steps = read_trace(old)
    assert header["interventions"] == [] and header["branch"] == "main"
    assert steps[0]["layers"][0]["h"] == [0.5]
    (tmp_path / "other.json").write_text('{"format": "something else"}')
    with pytest.raises(ValueError, match="not an rnn-inspect trace"):
        read_trace(tmp_path / "other.json")


def test_trace_command_writes_jsonl_to_stdout(lstm_file, capsys):
    assert main(["trace", str(lstm_file), "--input", "hello", "--format", "jsonl"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 6 and strict_load(lines[0])["format"] == FORMAT
    assert [strict_load(line)["input"] for line in lines[1:]] == list("hello")


def test_an_empty_input_is_one_line(lstm_file, tmp_path, capsys):
    assert main(["trace", str(lstm_file), "--input", "", "--format", "npz",
                 "--out", str(tmp_path / "e.npz")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "empty" in err and not (tmp_path / "e.npz").exists()
