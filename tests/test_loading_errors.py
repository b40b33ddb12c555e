"""Every bad input is one line on stderr naming the file and the problem, exit 2, no traceback;
and nothing is ever unpickled unless the user opts in."""

import json
import os
import subprocess

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from safetensors.torch import save_file

from inspector.loading import ModelSource, open_model
from models.char_rnn import CharRNN, CharRNNConfig
from models.checkpoint import CheckpointError, save_checkpoint
from models.vocab import CharVocab


def tiny_state(**config) -> dict[str, torch.Tensor]:
    torch.manual_seed(0)
    return CharRNN(CharRNNConfig(6, **config)).state_dict()


def make_cases(tmp_path):
    """name -> (command args, text the one line must contain)."""
    d = tmp_path
    vocab6 = d / "v6.json"
    vocab6.write_text(json.dumps(list("abcdef")))
    vocab5 = d / "v5.json"
    vocab5.write_text(json.dumps(list("abcde")))
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
    shapes = tiny_state()
    save_file(shapes, str(d / "shapes.safetensors"),
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
    bi = torch.nn.GRU(4, 8, bidirectional=True)
    torch.save({f"rnn.{k}": v for k, v in bi.state_dict().items()}, d / "bidir.pt")
    plain = str(d / "plain.pt")
    return {
        "empty file": (["info", str(d / "empty.pt")], "empty.pt"),
        "random bytes": (["info", str(d / "random.pt")], "random.pt: not a readable"),
        "truncated safetensors": (["info", str(d / "truncated.safetensors")],
                                  "truncated.safetensors: not a readable safetensors"),
        "a directory": (["info", str(d / "adir.pt")], "adir.pt: is a directory"),
        "missing file": (["info", str(d / "nope.pt")], "nope.pt: no such file"),
        "broken metadata JSON": (["info", str(d / "badmeta.safetensors")], "not valid JSON"),
        "missing keys": (["info", str(d / "missing.safetensors")],
                         "missing tensors head.bias, rnn.weight_hh_l0"),
        "extra keys": (["info", plain.replace("plain", "extra"), "--vocab", str(vocab6)],
                       "norm.weight"),
        "mismatched shapes": (["info", str(d / "shapes.safetensors")], "has shape"),
        "vocab size mismatch": (["info", plain, "--vocab", str(vocab5)],
                                "has 5 tokens, the model's head head.weight has 6 outputs"),
        "no vocab for a state_dict": (["info", plain], "pass --vocab FILE"),
        "two candidate heads": (["info", str(d / "twoheads.pt"), "--vocab", str(vocab6)],
                                "two candidate heads (aux.weight, head.weight)"),
        "proj_size": (["info", str(d / "proj.pt"), "--vocab", str(vocab6)], "weight_hr_l0"),
        "bidirectional": (["info", str(d / "bidir.pt"), "--vocab", str(vocab6)],
                          "weight_ih_l0_reverse"),
        "unknown zoo name": (["info", "no-such-model"], "no zoo model of that name"),
        "trace of a bad file": (["trace", str(d / "random.pt"), "--input", "ab"], "random.pt"),
    }


def test_each_bad_input_is_one_line_and_exit_2(tmp_path, python, cli_env):
    cases = make_cases(tmp_path)
    running = {name: subprocess.Popen([python, "-m", "inspector.cli", *args], env=cli_env,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                      stdin=subprocess.DEVNULL)
               for name, (args, _) in cases.items()}
    for name, process in running.items():
        stdout, stderr = process.communicate(timeout=180)
        expected = cases[name][1]
        assert process.returncode == 2, (name, stderr)
        assert stderr.startswith("rnn-inspect: ") and stderr.count("\n") == 1, (name, stderr)
        assert expected in stderr, (name, stderr)
        assert "Traceback" not in stderr and stdout == "", name


def test_permission_denied_is_one_line(tmp_path, monkeypatch):
    path = tmp_path / "locked.pt"
    torch.save(tiny_state(), path)
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if str(p) == str(path)
                        else real_access(p, mode))
    with pytest.raises(CheckpointError, match="locked.pt: permission denied"):
        open_model(str(path))


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=2048), suffix=st.sampled_from([".pt", ".pth", ".safetensors"]))
def test_random_bytes_only_ever_raise_checkpoint_errors(tmp_path, data, suffix):
    path = tmp_path / f"fuzz{suffix}"
    path.write_bytes(data)
    with pytest.raises(CheckpointError) as err:
        open_model(ModelSource(str(path), vocab=None))
    assert "\n" not in str(err.value) and "fuzz" in str(err.value)


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
    from inspector.tui.workers import load  # what the app's open-checkpoint command runs

    path, marker = evil_file
    with pytest.raises(CheckpointError, match="refused"):
        load(ModelSource(str(path)), "")
    assert not marker.exists()
