"""Hostile files cost nothing: each is one line and exit 2, found before anything big is built;
only regular files are opened; text from a file is printed escaped. Fuzzed with hypothesis over
random bytes, random safetensors metadata, mutated files of each format and random
state_dicts, each within a time and memory bound: every load runs in a forked child under a
deadline (tests/watchdog.py), so one that hangs fails with its stack instead of hanging the run."""

import contextlib
import io
import json
import os
import threading
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from hostile_files import HOSTILE, good_meta, native, tiny_state
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from watchdog import bounded

from inspector.cli import main
from inspector.loading import ModelSource, open_model
from models.errors import CheckpointError

SECONDS = 5.0  # per file, generous for a loaded 2-core machine; the benchmark measures ≤ 1 s
GROWTH = 300 << 20  # resident memory a file may add
FIXTURES = Path(__file__).parent / "fixtures"


def run_main(argv) -> tuple[int, str, str]:
    """main(argv) in a forked child under the deadline: (exit code, stdout, stderr)."""
    def call():
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(argv)
        return code, out.getvalue(), err.getvalue()

    return bounded(call, SECONDS)


def one_line_exit_2(argv) -> str:
    code, out, err = run_main(argv)
    assert code == 2, err
    assert out == "" and err.count("\n") == 1, err
    assert err.startswith("rnn-inspect: ") and "Traceback" not in err
    return err


@pytest.mark.parametrize("name", list(HOSTILE))
def test_each_hostile_file_is_one_line_and_exit_2(tmp_path, name):
    write, suffix, expected = HOSTILE[name]
    path = tmp_path / f"hostile{suffix}"
    write(path)
    err = one_line_exit_2(["info", str(path)])
    assert expected in err, err


def test_the_mutated_h5_that_hung_the_loader_is_one_line(tmp_path):
    """The fuzzer's find, byte for byte: a legacy Keras .h5 with 9 bytes spliced into its
    model_config made HDF5's global heap walk spin forever (94% CPU, Ctrl-C ignored)."""
    err = one_line_exit_2(["info", str(FIXTURES / "looping_global_heap.h5"),
                           "--vocab", str(FIXTURES / "keras_vocab.json")])
    assert "HDF5 global heap at byte 2,048 is damaged" in err, err


def test_float8_weights_are_widened_with_a_note(tmp_path):
    state = tiny_state()
    state["rnn.weight_ih_l0"] = state["rnn.weight_ih_l0"].to(torch.float8_e4m3fn)
    torch.save(state, tmp_path / "f8.pt")
    (tmp_path / "v.json").write_text(json.dumps(list("abcdef")))
    checkpoint = open_model(ModelSource(str(tmp_path / "f8.pt"), vocab=str(tmp_path / "v.json")))
    assert "float8_e4m3fn weights (rnn.weight_ih_l0…) widened to float32" in \
        checkpoint.meta["detected"]["converted"]
    widened = state["rnn.weight_ih_l0"].to(torch.float32)
    assert torch.equal(checkpoint.module.rnn.weight_ih_l0, widened)


def test_a_fifo_is_refused_without_opening_it(tmp_path, capsys):
    """Opening a FIFO for reading blocks until a writer comes: it must never be opened."""
    fifo = tmp_path / "model.pt"
    os.mkfifo(fifo)
    result = {}
    worker = threading.Thread(target=lambda: result.update(rc=main(["info", str(fifo)])),
                              daemon=True)
    worker.start()
    worker.join(30)
    assert result.get("rc") == 2, "info hung on a FIFO"
    assert "is a FIFO (named pipe), not a regular file" in capsys.readouterr().err


def test_metadata_text_is_printed_escaped(tmp_path, capsys):
    """A task name that would clear the terminal and reverse the line, printed as escapes."""
    path = tmp_path / "m.safetensors"
    native(path, good_meta(task="\x1b[2J\x1b[H\u202eevil", train={"note\x07": "\x1b]0;x\x07"}))
    assert main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\u202e" not in out and "\x07" not in out
    assert "\\x1b[2J\\x1b[H\\u202eevil" in out


def test_the_tui_loader_escapes_the_task_too(tmp_path):
    from inspector.tui.jobs import load

    path = tmp_path / "m.safetensors"
    native(path, good_meta(task="\x1b[2Jdoubled"))
    assert load(ModelSource(str(path)), "").task == "\\x1b[2Jdoubled"


def test_the_tui_writes_tokens_from_a_file_escaped():
    from inspector.tui.text import glyph, token_repr

    for token in ("\x1b[2J", "\u202eabc", "\x07"):
        shown = token_repr(token) + glyph(token)
        assert shown.isprintable(), shown


def resident() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def bounded_open(path, **options) -> None:
    """open_model: a CheckpointError or a model, within the time bound (the watchdog's deadline,
    enforced while it runs) and the memory bound."""
    def call() -> None:
        before = resident()
        try:
            open_model(ModelSource(str(path), **options))
        except CheckpointError as err:
            assert "\n" not in str(err)
        assert resident() - before < GROWTH

    bounded(call, SECONDS)


FUZZ = settings(max_examples=40, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])
JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
                    lambda inner: st.lists(inner, max_size=4)
                    | st.dictionaries(st.text(max_size=6), inner, max_size=4), max_leaves=12)


@FUZZ
@given(meta=st.fixed_dictionaries({}, optional={
    "format_version": JSON | st.just(1), "kind": JSON | st.sampled_from(["char", "seq2seq", "mlp"]),
    "arch": JSON | st.fixed_dictionaries({}, optional={
        "cell": JSON | st.sampled_from(["lstm", "gru", "rnn"]),
        "layers": JSON | st.integers(-2, 9), "hidden": JSON | st.integers(-4, 1 << 20),
        "embed": JSON | st.integers(-1, 64)}),
    "vocab": JSON | st.lists(st.text(max_size=2), max_size=8), "task": JSON, "train": JSON,
    "target_vocab": JSON, "bridge": JSON}))
def test_fuzz_random_safetensors_metadata(tmp_path, meta):
    path = tmp_path / "fuzz.safetensors"
    native(path, meta)
    bounded_open(path)


@FUZZ
@given(header=st.binary(max_size=64) | JSON.map(lambda v: json.dumps(v).encode()),
       declared=st.integers(0, 1 << 40))
def test_fuzz_random_safetensors_headers(tmp_path, header, declared):
    path = tmp_path / "fuzz.safetensors"
    path.write_bytes(declared.to_bytes(8, "little") + header + b"\0" * 32)
    bounded_open(path)


KEYS = ["rnn.weight_ih_l0", "rnn.weight_hh_l0", "rnn.bias_ih_l0", "rnn.bias_hh_l0",
        "rnn.weight_ih_l1", "rnn.weight_hh_l1", "embed.weight", "head.weight", "head.bias",
        "enc.rnn.weight_ih_l0", "enc.rnn.weight_hh_l0", "dec.rnn.weight_ih_l0",
        "dec.rnn.weight_hh_l0", "rnn.weight_ih_l0_reverse", "other.weight"]


@FUZZ
@given(state=st.dictionaries(st.sampled_from(KEYS), st.lists(st.integers(0, 24), min_size=0,
                                                             max_size=3), min_size=1, max_size=9),
       vocab=st.integers(1, 24))
def test_fuzz_random_foreign_state_dicts(tmp_path, state, vocab):
    torch.save({k: torch.randn(tuple(shape)) for k, shape in state.items()}, tmp_path / "sd.pt")
    (tmp_path / "v.json").write_text(json.dumps([chr(97 + i) for i in range(vocab)]))
    bounded_open(tmp_path / "sd.pt", vocab=str(tmp_path / "v.json"))


def npz_bytes() -> bytes:
    rng = np.random.default_rng(0)
    buffer = io.BytesIO()
    np.savez(buffer, Wxh=rng.normal(size=(4, 3)), Whh=rng.normal(size=(4, 4)),
             Why=rng.normal(size=(3, 4)), bh=rng.normal(size=(4, 1)), by=rng.normal(size=(3, 1)),
             chars=np.array(list("abc")))
    return buffer.getvalue()


def onnx_bytes() -> bytes:
    buffer = io.BytesIO()
    torch.onnx.export(torch.nn.Sequential(torch.nn.GRU(3, 4)), (torch.zeros(2, 1, 3),), buffer,
                      dynamo=False)
    return buffer.getvalue()


KERAS_FILES = ["gru.keras", "s2s.keras", "lm.h5", "gru.h5", "rnn.weights.h5"]


@pytest.fixture(scope="module")
def valid_files(keras_dir) -> dict[str, bytes]:
    """A valid file of each new format, Keras's written by Keras itself."""
    files = {"m.npz": npz_bytes(), "m.onnx": onnx_bytes()}
    return files | {name: (keras_dir / name).read_bytes() for name in KERAS_FILES}


@settings(FUZZ, max_examples=100)
@given(data=st.data())
def test_fuzz_mutated_files_of_each_format(tmp_path, valid_files, data):
    name = data.draw(st.sampled_from(sorted(valid_files)))
    suffix = Path(name).suffix
    good = bytearray(valid_files[name])
    how = data.draw(st.sampled_from(["flip", "truncate", "splice"]))
    if how == "truncate":
        good = good[:data.draw(st.integers(0, len(good) - 1))]
    elif how == "splice":
        at = data.draw(st.integers(0, len(good)))
        good[at:at] = data.draw(st.binary(min_size=1, max_size=64))
    else:
        for _ in range(data.draw(st.integers(1, 6))):
            good[data.draw(st.integers(0, len(good) - 1))] = data.draw(st.integers(0, 255))
    path = tmp_path / f"fuzz{suffix}"
    path.write_bytes(bytes(good))
    (tmp_path / "v.json").write_text(json.dumps(["<unk>", *"abcdef"]))
    vocab = str(tmp_path / "v.json") if suffix in (".keras", ".h5") else None
    bounded_open(path, vocab=vocab)


@FUZZ
@given(data=st.binary(max_size=2048), suffix=st.sampled_from([".npz", ".onnx", ".keras", ".h5",
                                                               ".pt", ".pkl"]))
def test_fuzz_random_bytes_under_every_suffix(tmp_path, data, suffix):
    path = tmp_path / f"fuzz{suffix}"
    path.write_bytes(data)
    bounded_open(path)


def test_a_keras_archive_with_a_damaged_entry_is_one_line(tmp_path):
    """A zip entry whose bytes changed after it was written: the CRC says so."""
    path = tmp_path / "m.keras"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("config.json", json.dumps({"class_name": "Sequential",
                                                    "config": {"layers": []}}))
        archive.writestr("model.weights.h5", b"\x89HDF\r\n\x1a\n" + b"\0" * 64)
    data = bytearray(path.read_bytes())
    data[data.index(b"Sequential")] ^= 0x01
    path.write_bytes(bytes(data))
    assert "is corrupted" in one_line_exit_2(["info", str(path)])
