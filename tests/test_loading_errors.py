"""Every bad input is one line on stderr naming the file and the problem, exit 2, no traceback;
and nothing is ever unpickled unless the user opts in."""

import functools
import io
import json
import os
import pickle
import shutil
import struct
import subprocess
import warnings

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from safetensors.torch import save, save_file

from inspector.loading import ModelSource, open_model
from models.char_rnn import CharRNN, CharRNNConfig
from models.checkpoint import CheckpointError, save_checkpoint
from models.vocab import CharVocab


def tiny_state(**config) -> dict[str, torch.Tensor]:
    torch.manual_seed(0)
    return CharRNN(CharRNNConfig(6, **config)).state_dict()


def make_files(d):
    """Every kind of bad file the issue lists, plus ambiguous and unsupported state_dicts."""
    (d / "v6.json").write_text(json.dumps(list("abcdef")))
    (d / "v5.json").write_text(json.dumps(list("abcde")))
    (d / "empty.pt").write_bytes(b"")
    (d / "random.pt").write_bytes(os.urandom(4096))
    native = save_checkpoint(d / "native.safetensors", "char", CharRNN(CharRNNConfig(27)),
                             CharVocab.letters())
    (d / "truncated.safetensors").write_bytes(native.read_bytes()[:300])
    (d / "adir.pt").mkdir()
    save_file({k: v.contiguous() for k, v in tiny_state().items()}, str(d / "badmeta.safetensors"),
              metadata={"rnn_inspect": "{not json"})
    missing = tiny_state()
    del missing["head.bias"], missing["rnn.weight_hh_l0"]
    save_file(missing, str(d / "missing.safetensors"),
              metadata={"rnn_inspect": json.dumps({"format_version": 1, "kind": "char",
                        "arch": {"cell": "lstm", "layers": 1, "hidden": 64, "embed": 16},
                        "vocab": list("abcdef")})})
    extra = tiny_state()
    extra["norm.weight"] = torch.ones(3, 7)
    torch.save(extra, d / "extra.pt")
    save_file(tiny_state(), str(d / "shapes.safetensors"),
              metadata={"rnn_inspect": json.dumps({"format_version": 1, "kind": "char",
                        "arch": {"cell": "lstm", "layers": 1, "hidden": 32, "embed": 16},
                        "vocab": list("abcdef")})})
    torch.save(tiny_state(), d / "plain.pt")
    two_heads = tiny_state()
    two_heads["aux.weight"], two_heads["aux.bias"] = torch.ones(6, 64), torch.ones(6)
    torch.save(two_heads, d / "twoheads.pt")
    lstm = torch.nn.LSTM(4, 8, proj_size=3)
    torch.save({f"rnn.{k}": v for k, v in lstm.state_dict().items()} | {
        "head.weight": torch.ones(6, 3), "head.bias": torch.ones(6)}, d / "proj.pt")
    pair = {f"enc.rnn.{k}": v for k, v in torch.nn.GRU(4, 8).state_dict().items()}
    pair |= {f"dec.rnn.{k}": v for k, v in torch.nn.GRU(4, 6).state_dict().items()}
    torch.save(pair, d / "pair.pt")
    bi = torch.nn.GRU(4, 8, bidirectional=True)
    torch.save({f"rnn.{k}": v for k, v in bi.state_dict().items()}, d / "bidir.pt")


# name -> (command args relative to the files' directory, text the one line must contain)
BAD_INPUT = {
    "empty file": (["info", "empty.pt"], "empty.pt: not a readable PyTorch file"),
    "random bytes": (["info", "random.pt"], "random.pt: not a readable"),
    "truncated safetensors": (["info", "truncated.safetensors"],
                              "truncated.safetensors: not a readable safetensors"),
    "a directory": (["info", "adir.pt"], "adir.pt: is a directory"),
    "missing file": (["info", "nope.pt"], "nope.pt: no such file"),
    "broken metadata JSON": (["info", "badmeta.safetensors"], "not valid JSON"),
    "missing keys": (["info", "missing.safetensors"],
                     "missing tensors head.bias, rnn.weight_hh_l0"),
    "extra keys": (["info", "extra.pt", "--vocab", "v6.json"], "extra.pt: tensors norm.weight"),
    "mismatched shapes": (["info", "shapes.safetensors"], "has shape"),
    "vocab size mismatch": (["info", "plain.pt", "--vocab", "v5.json"],
                            "has 5 tokens, the model's head head.weight has 6 outputs"),
    "trace of a bad file": (["trace", "random.pt", "--input", "ab"], "random.pt"),
}


# These go through a real process (argv, stderr, exit code as a shell sees them); the others of
# BAD_INPUT call main(argv) in-process, the same code path without ~2 s of torch import each.
IN_A_PROCESS = ("empty file", "missing file", "trace of a bad file")


def check_one_line(name: str, code: int, stdout: str, stderr: str) -> None:
    expected = BAD_INPUT[name][1]
    assert code == 2, (name, stderr)
    assert stderr.startswith("rnn-inspect: ") and stderr.count("\n") == 1, (name, stderr)
    assert expected in stderr, (name, stderr)
    assert "Traceback" not in stderr and stdout == "", name


def test_bad_input_in_a_process_is_one_line_and_exit_2(tmp_path, python, cli_env):
    make_files(tmp_path)
    running = {name: subprocess.Popen([python, "-m", "inspector.cli", *BAD_INPUT[name][0]],
                                      env=cli_env, cwd=tmp_path, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
               for name in IN_A_PROCESS}
    for name, process in running.items():
        stdout, stderr = process.communicate(timeout=180)
        check_one_line(name, process.returncode, stdout, stderr)


@pytest.mark.parametrize("name", [name for name in BAD_INPUT if name not in IN_A_PROCESS])
def test_each_bad_input_is_one_line_and_exit_2(tmp_path, monkeypatch, capsys, name):
    from inspector.cli import main

    make_files(tmp_path)
    monkeypatch.chdir(tmp_path)
    code = main(BAD_INPUT[name][0])
    captured = capsys.readouterr()
    check_one_line(name, code, captured.out, captured.err)


@pytest.mark.parametrize(("name", "vocab", "expected"), [
    ("plain.pt", None, "plain.pt: a plain state_dict carries no vocabulary: pass --vocab FILE"),
    ("twoheads.pt", "v6.json", "two candidate heads (aux.weight, head.weight)"),
    ("proj.pt", "v6.json", "rnn.weight_hr_l0: LSTM projections (proj_size) are not supported"),
    # a bidirectional GRU alone: no head over its two directions (16 = 2 x 8), so not a tagger
    ("bidir.pt", "v6.json", "no Linear head taking the hidden size 16"),
    ("no-such-model", None, "no zoo model of that name"),
    ("pair.pt", "v6.json", "two recurrent stacks (dec.rnn.*, enc.rnn.*) with different hidden "
                           "(6 vs 8)"),
])
def test_ambiguous_or_unsupported_is_one_line_naming_the_keys(tmp_path, monkeypatch, name, vocab,
                                                              expected):
    """Same CheckpointError the CLI prints (the subprocess test shows how it is printed)."""
    make_files(tmp_path)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(CheckpointError) as err:
        open_model(ModelSource(name, vocab=vocab))
    assert expected in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize(("content", "expected"), [
    ('{"a": 1}', "--vocab must be a JSON list of strings"),
    ("[1, 2]", "--vocab must be a JSON list of strings"),
    ("[", "--vocab is not valid JSON"),
    ('["a", "a"]', "duplicate tokens"),
    ('["<pad>", ""]', "token '' at index 1 is not a non-empty string"),  # <pad>: any spelling
])
def test_a_bad_vocab_file_is_one_line(tmp_path, content, expected):
    torch.save(tiny_state(), tmp_path / "plain.pt")
    (tmp_path / "vocab.json").write_text(content)
    with pytest.raises(CheckpointError) as err:
        open_model(ModelSource(str(tmp_path / "plain.pt"), vocab=str(tmp_path / "vocab.json")))
    assert str(err.value).startswith(f"{tmp_path / 'vocab.json'}: ")
    assert expected in str(err.value) and "\n" not in str(err.value)


def enforcing_permissions() -> list[str]:
    """A command prefix under which permission bits apply. Root ignores them, so as root drop the
    two capabilities that bypass them (then root is an ordinary owner of its mode-000 files)."""
    if os.geteuid() != 0:
        return []
    prefix = ["setpriv", "--inh-caps=-all", "--bounding-set=-dac_override,-dac_read_search", "--"]
    if shutil.which("setpriv") is None or subprocess.run([*prefix, "true"]).returncode != 0:
        pytest.skip("running as root and cannot drop CAP_DAC_OVERRIDE: no file is unreadable")
    return prefix


def test_no_permission_is_one_line(tmp_path, python, cli_env):
    torch.save(tiny_state(), tmp_path / "locked.pt")
    (tmp_path / "closed").mkdir()
    torch.save(tiny_state(), tmp_path / "closed" / "inside.pt")
    cases = {"locked.pt": "locked.pt: permission denied",
             "closed/inside.pt": "inside.pt: permission denied (a directory on the way"}
    prefix = enforcing_permissions()
    (tmp_path / "locked.pt").chmod(0)
    (tmp_path / "closed").chmod(0)
    try:
        running = {name: subprocess.Popen([*prefix, python, "-m", "inspector.cli", "info", name],
                                          env=cli_env, cwd=tmp_path, stdout=subprocess.PIPE,
                                          stderr=subprocess.PIPE, text=True)
                   for name in cases}
        for name, process in running.items():
            stdout, stderr = process.communicate(timeout=180)
            assert process.returncode == 2 and stdout == "", (name, stderr)
            assert stderr.startswith("rnn-inspect: ") and stderr.count("\n") == 1, stderr
            assert cases[name] in stderr, stderr
    finally:
        (tmp_path / "closed").chmod(0o755)
        (tmp_path / "locked.pt").chmod(0o644)


@functools.cache
def valid_files() -> dict[str, bytes]:
    """A good file of each format, for the fuzzer to corrupt."""
    buffer = io.BytesIO()
    torch.save(tiny_state(hidden=4, embed=3), buffer)
    return {".pt": buffer.getvalue(),
            ".safetensors": save(tiny_state(hidden=4, embed=3), {"rnn_inspect": json.dumps({
                "format_version": 1, "kind": "char", "vocab": list("abcdef"),
                "arch": {"cell": "lstm", "layers": 1, "hidden": 4, "embed": 3}})})}


@st.composite
def corrupted(draw) -> tuple[str, bytes]:
    """Random bytes, random bytes behind a format's magic, or a good file with bytes changed or
    cut off: garbage that gets past the first check of each reader."""
    suffix = draw(st.sampled_from([".pt", ".safetensors"]))
    how = draw(st.sampled_from(["random", "magic", "mutated", "truncated"]))
    if how in ("random", "magic"):
        magic = {"random": b"", "magic": draw(st.sampled_from(
            [b"\x80\x02", b"PK\x03\x04", struct.pack("<Q", 64) + b'{"'])) }[how]
        return suffix, magic + draw(st.binary(max_size=1024))
    good = valid_files()[suffix]
    if how == "truncated":
        return suffix, good[:draw(st.integers(0, len(good) - 1))]
    data = bytearray(good)
    for _ in range(draw(st.integers(1, 4))):
        data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    return suffix, bytes(data)


@settings(max_examples=80, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=corrupted())
def test_corrupt_files_only_ever_raise_checkpoint_errors(tmp_path, case):
    """One line and nothing else: no other exception, no warning printed on top of it."""
    suffix, data = case
    path = tmp_path / f"fuzz{suffix}"
    path.write_bytes(data)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            checkpoint = open_model(ModelSource(str(path), vocab=None))
        except CheckpointError as err:
            assert "\n" not in str(err) and "fuzz" in str(err)
        else:  # a changed byte inside a weight's value still makes a valid file
            assert checkpoint.kind == "char"
    assert not caught, [str(w.message) for w in caught]


class Evil:
    """Unpickling this creates a file: what a malicious checkpoint would do."""

    def __init__(self, target: str) -> None:
        self.target = target

    def __reduce__(self):
        return (open, (self.target, "w"))


@pytest.fixture
def evil_file(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pt"
    torch.save({"weights": Evil(str(marker))}, path)
    return path, marker


def test_a_plain_torch_load_would_run_the_payload(evil_file):
    path, marker = evil_file
    torch.load(path, weights_only=False)  # proves the file is dangerous, so the next test counts
    assert marker.exists()


@pytest.mark.parametrize("command", [["info"], ["trace", "--input", "ab"], []],
                         ids=["info", "trace", "tui"])
def test_malicious_pickle_is_refused_by_every_command(evil_file, command, python, cli_env):
    path, marker = evil_file
    args = [*command[:1], str(path), *command[1:]]
    run = subprocess.run([python, "-m", "inspector.cli", *args], capture_output=True, text=True,
                         env={**cli_env, "CI": "true"}, timeout=120, stdin=subprocess.DEVNULL)
    assert run.returncode == 2, run.stderr
    assert run.stderr.count("\n") == 1 and "io.open" in run.stderr
    assert "refused" in run.stderr and "Traceback" not in run.stderr
    assert not marker.exists()


def test_malicious_pickle_is_refused_by_the_tui_loader(evil_file):
    from inspector.tui.jobs import load  # what the app's open-checkpoint command runs

    path, marker = evil_file
    with pytest.raises(CheckpointError, match="refused"):
        load(ModelSource(str(path)), "")
    assert not marker.exists()


def test_a_raw_pickle_payload_is_refused_too(tmp_path):
    """Not made by torch.save at all: plain torch.load would run it while reading the header."""
    marker = tmp_path / "pwned"
    path = tmp_path / "raw.pth"
    path.write_bytes(pickle.dumps(Evil(str(marker)), protocol=2))
    with pytest.raises(CheckpointError, match=r"raw.pth: holds pickled Python objects \(io.open\)"):
        open_model(ModelSource(str(path)))
    assert not marker.exists()


def test_key_names_with_control_characters_stay_on_one_line(tmp_path):
    state = tiny_state()
    state["rnn.bias_ih\nl0"] = state.pop("rnn.bias_ih_l0")
    path = tmp_path / "odd.pt"
    torch.save(state, path)
    with pytest.raises(CheckpointError) as err:
        open_model(ModelSource(str(path)))
    assert "\n" not in str(err.value) and "bias_ih\\nl0" in str(err.value)
