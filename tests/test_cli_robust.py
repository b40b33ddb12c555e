"""Issue 18: the command line never loses work, never writes where it must not, and never prints a
traceback. Every case calls `main(argv)` in-process (a subprocess costs ~2 s of torch import)."""

from __future__ import annotations

import contextlib
import io
import json
import tempfile
import warnings
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inspector.cli import main
from inspector.loading.native import load_checkpoint
from models import train as train_module

TINY = ["--hidden", "4", "--embed", "4", "--steps", "3", "--batch", "4", "--quiet"]


def run(capsys, *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def one_line(err: str) -> str:
    """The single `rnn-inspect: …` line a refused command prints, and nothing else."""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("rnn-inspect: "), err
    assert "Traceback" not in err
    return lines[0]


# --- 3 / 4: options that cannot train a real model are refused before anything is allocated ---

@pytest.mark.parametrize(("options", "expected"), [
    (["--batch", "0"], "--batch must be between 1"),
    (["--lr", "inf"], "--lr must be a positive finite number"),
    (["--lr", "nan"], "--lr must be a positive finite number"),
    (["--lr", "-1"], "--lr must be a positive finite number"),
    (["--lr", "1e308"], "--lr must be a positive finite number at most 10, not 1e+308"),
    (["--lr", "11"], "--lr must be a positive finite number at most 10, not 11"),
    (["--embed", "-1"], "--embed must be between 0"),
    (["--activity-l1", "-1"], "--activity-l1 must be a finite number from 0 to 100, not -1"),
    (["--activity-l1", "nan"], "--activity-l1 must be a finite number"),
    (["--cell", "mlp", "--activity-l1", "0.1"], "--activity-l1 penalises a recurrent"),
    (["--seq-len", "0"], "--seq-len must be between 1"),
    (["--seed", str(2**64)], "--seed must be between 0"),
    (["--seed", "-1"], "--seed must be between 0"),
    (["--hidden", "1000000"], "--hidden must be between 1"),
    (["--layers", "0"], "--layers must be between 1"),
    (["--steps", "0"], "--steps must be"),
    (["--cell", "mlp", "--embed", "0"], "the MLP needs --embed 1"),
    (["--hidden", "4096", "--layers", "8"], "parameters, more than"),
    (["--hidden", "1024", "--batch", "4096", "--seq-len", "65536"], "activations, more than"),
])
def test_options_that_cannot_train_are_one_line(capsys, tmp_path, options, expected):
    out = tmp_path / "m.safetensors"
    status, _, err = run(capsys, "train", "shift", *TINY, *options, "--out", str(out))
    assert status == 2
    assert expected in one_line(err)
    assert not out.exists()


@pytest.mark.parametrize(("options", "expected"), [
    (["--lr", "1e308"], "--lr must be a positive finite number at most 10, not 1e+308"),
    (["--lr", "0"], "--lr must be a positive finite number"),
    (["--batch", "0"], "--batch must be between 1"),
    (["--embed", "-1"], "--embed must be between 0"),
    (["--hidden", "0"], "--hidden must be between 1"),
    (["--activity-l1", "0.1"], "--activity-l1 is for the built-in tasks"),
])
def test_train_pairs_refuses_options_that_cannot_train_in_one_line(capsys, tmp_path, options,
                                                                  expected):
    """`train pairs` checks the same numbers as the built-in tasks, before the first step
    (`--lr 1e308` raised RuntimeError inside torch's Adam, `--embed -1` a torch traceback)."""
    out = tmp_path / "m.safetensors"
    status, _, err = run(capsys, "train", "pairs", "--data", "doubled.tsv", *TINY, *options,
                         "--out", str(out))
    assert status == 2
    assert expected in one_line(err)
    assert not out.exists()


def corpus_case(tmp_path, name: str, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(("data", "expected"), [
    (b"", "the file is empty"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary, not text"),
    (b"caf\xe9 au lait " * 20, "not UTF-8 text (byte 0xe9 at offset 3)"),
    (b"short", "the corpus has 5 characters"),
])
def test_a_bad_corpus_is_one_line_naming_the_file(capsys, tmp_path, data, expected):
    corpus = corpus_case(tmp_path, "notes.txt", data)
    status, _, err = run(capsys, "train", "text", *TINY, "--seq-len", "8", "--corpus",
                         str(corpus), "--out", str(tmp_path / "m.safetensors"))
    assert status == 2
    line = one_line(err)
    assert str(corpus) in line and expected in line


def test_a_missing_corpus_says_it_does_not_exist(capsys, tmp_path):
    missing = tmp_path / "gone" / "notes.txt"
    status, _, err = run(capsys, "train", "text", *TINY, "--corpus", str(missing),
                         "--out", str(tmp_path / "m.safetensors"))
    assert status == 2
    line = one_line(err)
    assert str(missing) in line and "does not exist" in line


def test_a_corpus_with_too_many_characters_is_refused_before_the_model_is_built(
        capsys, tmp_path, monkeypatch):
    distinct = "".join(chr(0x4E00 + k) for k in range(train_module.MAX_VOCAB + 5))
    corpus = corpus_case(tmp_path, "han.txt", (distinct * 2).encode())
    built = []
    monkeypatch.setattr(train_module, "build", lambda *a: built.append(a) or pytest.fail("built"))
    status, _, err = run(capsys, "train", "text", *TINY, "--corpus", str(corpus),
                         "--out", str(tmp_path / "m.safetensors"))
    assert status == 2
    line = one_line(err)
    assert str(corpus) in line and f"{train_module.MAX_VOCAB + 5:,} distinct characters" in line
    assert not built


# --- 4: a loss that goes NaN stops training with a line and saves nothing ---

def nan_after(monkeypatch, good_steps: int) -> None:
    real = train_module.char_loss
    calls = []

    def poisoned(module, batch, *penalty):
        loss, acc = real(module, batch, *penalty)
        calls.append(1)
        return (loss * float("nan") if len(calls) > good_steps else loss), acc

    monkeypatch.setattr(train_module, "char_loss", poisoned)


def test_a_loss_that_goes_nan_stops_with_a_line_and_saves_nothing(capsys, tmp_path, monkeypatch):
    nan_after(monkeypatch, 2)
    out = tmp_path / "made" / "for" / "it.safetensors"
    status, stdout, err = run(capsys, "train", "doubled", *TINY, "--steps", "5", "--out", str(out))
    assert status == 2
    line = one_line(err)
    assert "loss became nan at step 3 of 5" in line and "nothing saved" in line
    assert not (tmp_path / "made").exists()  # the folders made for --out are gone too
    assert "saved" not in stdout


# --- 2: Ctrl-C during training saves the model so far next to the target, and says so ---

def interrupt_after(monkeypatch, good_steps: int) -> None:
    real = train_module.char_loss
    calls = []

    def interrupted(module, batch, *penalty):
        calls.append(1)
        if len(calls) > good_steps:
            raise KeyboardInterrupt
        return real(module, batch, *penalty)

    monkeypatch.setattr(train_module, "char_loss", interrupted)


def test_ctrl_c_during_training_saves_the_model_so_far(capsys, tmp_path, monkeypatch):
    interrupt_after(monkeypatch, 2)
    out = tmp_path / "run.safetensors"
    status, _, err = run(capsys, "train", "doubled", *TINY, "--steps", "50", "--out", str(out))
    assert status == 130
    saved = tmp_path / "run.interrupted.safetensors"
    line = one_line(err)
    assert str(saved) in line and "step 2 of 50" in line
    assert not out.exists()
    checkpoint = load_checkpoint(saved)
    assert checkpoint.meta["train"]["steps"] == 2
    assert checkpoint.meta["train"]["interrupted"] is True


def test_ctrl_c_before_the_first_step_saves_nothing(capsys, tmp_path, monkeypatch):
    interrupt_after(monkeypatch, 0)
    out = tmp_path / "run.safetensors"
    status, _, err = run(capsys, "train", "doubled", *TINY, "--out", str(out))
    assert status == 130
    assert "nothing saved" in one_line(err)
    assert list(tmp_path.iterdir()) == []


def test_the_interrupted_checkpoint_keeps_its_metadata_json_clean(tmp_path, monkeypatch):
    interrupt_after(monkeypatch, 0)
    result = train_module.train(train_module.TrainConfig("doubled", hidden=4, steps=3),
                                progress=False)
    assert result.interrupted and result.facts["steps"] == 0
    json.dumps(result.facts, allow_nan=False)  # no NaN loss in the metadata


# --- 1 / 2: output paths are checked before any work; a missing parent is named as missing ---

def test_train_out_an_existing_folder_is_refused_before_training(capsys, tmp_path, monkeypatch):
    monkeypatch.setattr(train_module, "build", lambda *a: pytest.fail("trained first"))
    status, _, err = run(capsys, "train", "doubled", *TINY, "--out", str(tmp_path))
    assert status == 2
    assert "is a folder, not a regular file: refusing to replace it" in one_line(err)


def test_an_interrupted_target_that_is_a_folder_is_refused_before_training(capsys, tmp_path,
                                                                          monkeypatch):
    (tmp_path / "run.interrupted.safetensors").mkdir()
    monkeypatch.setattr(train_module, "build", lambda *a: pytest.fail("trained first"))
    status, _, err = run(capsys, "train", "doubled", *TINY, "--out",
                         str(tmp_path / "run.safetensors"))
    assert status == 2
    assert "run.interrupted.safetensors is a folder" in one_line(err)


def test_a_parent_that_cannot_be_made_says_it_does_not_exist(capsys, tmp_path):
    blocker = tmp_path / "notes.txt"
    blocker.write_text("a file, not a folder")
    out = blocker / "runs" / "m.safetensors"
    status, _, err = run(capsys, "train", "doubled", *TINY, "--out", str(out))
    assert status == 2
    line = one_line(err)
    assert f"folder {out.parent} does not exist" in line and "is a file, not a folder" in line
    status, _, err = run(capsys, "trace", "doubled-lstm", "--input", "ab", "--out",
                         str(blocker / "t.json"))
    assert status == 2
    assert f"{blocker} is a file, not a folder" in one_line(err)


def test_train_out_with_a_pickle_suffix_is_refused(capsys, tmp_path):
    status, _, err = run(capsys, "train", "doubled", *TINY, "--out", str(tmp_path / "r.pt"))
    assert status == 2
    line = one_line(err)
    assert "train writes safetensors" in line and "r.safetensors" in line
    assert list(tmp_path.iterdir()) == []


def test_npz_out_is_written_under_the_name_given(capsys, tmp_path):
    out = tmp_path / "x.bin"
    status, _, err = run(capsys, "trace", "doubled-gru", "--input", "aabb", "--format", "npz",
                         "--out", str(out))
    assert status == 0, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.bin"]
    import numpy as np
    with np.load(out) as arrays:
        assert arrays["h"].shape[0] == 4


# --- 3: no tracebacks ---

@pytest.mark.parametrize("model", ["doubled-lstm", "doubled-gru", "doubled-rnn", "doubled-mlp",
                                   "reverse-seq2seq"])
def test_trace_of_empty_input_is_one_line_on_every_model_kind(capsys, model):
    status, out, err = run(capsys, "trace", model, "--input", "")
    assert status == 2
    assert "--input is empty" in one_line(err)
    assert out == ""


def test_trace_of_empty_or_undecodable_stdin_is_one_line(capsys, monkeypatch):
    import io

    for data, expected in ((b"", "standard input) is empty"), (b"\xffab", "not UTF-8 text")):
        monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(data)))
        status, _, err = run(capsys, "trace", "doubled-lstm", "--input", "-")
        assert status == 2
        assert expected in one_line(err)


def test_a_closed_stdout_is_one_line(capsys, monkeypatch):
    monkeypatch.setattr("sys.stdout", None)  # what Python sets when started with `>&-`
    assert main(["zoo"]) == 2
    assert "standard output is closed" in one_line(capsys.readouterr().err)


def test_a_full_stdout_is_one_line(capsys, monkeypatch):
    class Full:
        def write(self, text):
            raise OSError(28, "No space left on device")

        def flush(self):
            raise OSError(28, "No space left on device")

    monkeypatch.setattr("sys.stdout", Full())
    assert main(["zoo"]) == 2
    assert "No space left on device" in one_line(capsys.readouterr().err)


def test_ctrl_c_during_start_up_is_exit_130_and_quiet(capsys, monkeypatch):
    import importlib

    real = importlib.import_module

    def interrupted(name, *args):
        if name.startswith("inspector.commands."):
            raise KeyboardInterrupt  # as if Ctrl-C arrived while torch was being imported
        return real(name, *args)

    monkeypatch.setattr(importlib, "import_module", interrupted)
    status, out, err = run(capsys, "info", "doubled-lstm")
    assert (status, out, err) == (130, "", "")


def test_the_entry_module_imports_no_torch(python, cli_env):
    """So a Ctrl-C during torch's import (the slow part of start-up) lands in main's handler."""
    import subprocess

    probe = ("import sys, inspector.cli; "
             "print(sorted(m for m in ('torch', 'numpy', 'textual') if m in sys.modules))")
    done = subprocess.run([python, "-c", probe], capture_output=True, text=True, env=cli_env,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


# --- 4: options that do nothing for the model given ---

@pytest.mark.parametrize(("argv", "expected"), [
    (["info", "doubled-lstm", "--vocab", "missing.json"],
     "--vocab missing.json: doubled-lstm is a native checkpoint"),
    (["trace", "doubled-lstm", "--input", "ab", "--nonlinearity", "relu"],
     "--nonlinearity relu: doubled-lstm is a native checkpoint"),
    (["info", "reverse-seq2seq", "--target-vocab", "missing.json"],
     "--target-vocab missing.json: reverse-seq2seq is a native checkpoint"),
    (["reverse-seq2seq", "--compare", "doubled-lstm"],
     "--compare: reverse-seq2seq is a seq2seq model"),
    (["doubled-lstm", "--compare", "reverse-seq2seq"],
     "--compare: reverse-seq2seq is a seq2seq model"),
    (["train", "doubled", "--cell", "lstm", "--nonlinearity", "relu", "--out", "x.safetensors"],
     "--nonlinearity does nothing"),
    (["train", "shift", "--bridge", "linear", "--out", "x.safetensors"], "--bridge does nothing"),
    (["train", "doubled", "--corpus", "c.txt", "--out", "x.safetensors"],
     "--corpus does nothing"),
    (["train", "reverse", "--seq-len", "9", "--out", "x.safetensors"], "--seq-len does nothing"),
    (["train", "shift", "--cell", "mlp", "--layers", "2", "--out", "x.safetensors"],
     "--layers does nothing"),
])
def test_options_that_do_nothing_are_refused(capsys, tmp_path, monkeypatch, argv, expected):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("inspector.tui.app.run_app", lambda *a, **k: pytest.fail("app started"))
    status, _, err = run(capsys, *argv)
    assert status == 2
    assert expected in one_line(err)
    assert list(tmp_path.iterdir()) == []


NOISY_FACTORY = """
import torch
from torch import nn

print("importing noisy")


class Noisy(nn.Module):
    def __init__(self):
        super().__init__()
        self.embedding = nn.Embedding(8, 4)
        self.gru = nn.GRU(4, 5, batch_first=True)
        self.fc = nn.Linear(5, 8)

    def forward(self, x_t, hidden):
        print("forward called")
        out, hidden = self.gru(self.embedding(x_t), hidden)
        return self.fc(out), hidden


def build():
    print("building")
    torch.manual_seed(3)
    return Noisy().eval()
"""


def test_a_factory_print_never_lands_in_a_trace_on_stdout(capsys, tmp_path, monkeypatch):
    (tmp_path / "noisy_factory_18.py").write_text(NOISY_FACTORY)
    (tmp_path / "vocab.json").write_text(json.dumps(list("abcdefgh")))
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    status, out, err = run(capsys, "trace", "--factory", "noisy_factory_18:build",
                           "--vocab", "vocab.json", "--input", "abc")
    assert status == 0, err
    assert len(json.loads(out)["steps"]) == 3  # stdout is the trace and nothing else
    assert "importing noisy" in err and "building" in err and "forward called" in err


# --- 5: messages name the thing ---

def test_a_typo_command_suggests_the_right_one(capsys, monkeypatch):
    monkeypatch.setattr("inspector.tui.app.run_app", lambda *a, **k: pytest.fail("app started"))
    status, _, err = run(capsys, "tarce", "doubled-lstm", "--input", "abc")
    assert status == 2
    assert "did you mean `rnn-inspect trace`?" in one_line(err)


def test_a_typo_zoo_name_suggests_the_right_one(capsys):
    status, _, err = run(capsys, "info", "doubled-lsmt")
    assert status == 2
    assert "did you mean doubled-lstm?" in one_line(err)


def test_a_folder_named_like_a_zoo_model_does_not_shadow_the_zoo(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "doubled-lstm").mkdir()
    status, out, err = run(capsys, "info", "doubled-lstm")
    assert status == 0, err
    assert "models/zoo/doubled-lstm.safetensors" in out
    status, _, err = run(capsys, "info", "./doubled-lstm")  # explicit: the folder it names
    assert status == 2
    assert "is a directory" in one_line(err)


def test_argparse_errors_are_one_line(capsys):
    status, _, err = run(capsys, "train", "doubled", "--steps", "many", "--out", "x")
    assert status == 2
    assert "invalid int value: 'many'" in one_line(err)


# --- every option at once: one line and exit 2, or success ---

def run_quietly(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(argv)
    return status, out.getvalue(), err.getvalue()


def assert_one_line_or_success(status: int, err: str) -> None:
    assert "Traceback" not in err
    if status != 0:
        assert status == 2, err
        one_line(err)


SMALL_OR_BAD = st.one_of(st.integers(-3, 5), st.sampled_from([10**7, 2**64, -(2**63)]))


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(task=st.sampled_from(["shift", "doubled", "reverse", "text"]),
       cell=st.sampled_from(["rnn", "lstm", "gru", "mlp"]),
       numbers=st.fixed_dictionaries({}, optional={
           "--hidden": SMALL_OR_BAD, "--embed": SMALL_OR_BAD, "--layers": SMALL_OR_BAD,
           "--batch": SMALL_OR_BAD, "--seq-len": SMALL_OR_BAD, "--seed": SMALL_OR_BAD,
           "--steps": st.integers(-1, 2),
           "--lr": st.sampled_from(["0.01", "0", "-1", "inf", "nan", "1e-9", "1e308"]),
           "--nonlinearity": st.sampled_from(["tanh", "relu"]),
           "--bridge": st.sampled_from(["identity", "linear"])}),
       corpus=st.sampled_from([None, "text", "empty", "binary"]),
       out=st.sampled_from(["m.safetensors"] * 4 + ["sub/m.safetensors", "m.pt", ".",
                                                   "/dev/null"]))
def test_any_train_options_are_one_line_or_success(tmp_path, monkeypatch, task, cell, numbers,
                                                  corpus, out):
    # Held-out evaluation (1,000 decodes for reverse) is tested by the smoke tests; here it
    # would cost seconds an example.
    monkeypatch.setattr(train_module, "evaluate", lambda *a: ({}, "not evaluated"))
    work = Path(tempfile.mkdtemp(dir=tmp_path))
    argv = ["train", task, "--cell", cell, "--quiet", "--out", str(work / out)]
    tiny = {"--hidden": 4, "--embed": 3, "--batch": 2, "--steps": 1}
    if task in ("shift", "text"):
        tiny["--seq-len"] = 6
    numbers = {**tiny, **numbers}
    for option, value in numbers.items():
        argv += [option, str(value)]
    if corpus is not None:
        data = {"text": b"the quick brown fox jumps over the lazy dog " * 3, "empty": b"",
                "binary": b"\x00\x01\x02"}[corpus]
        (work / "c.txt").write_bytes(data)
        argv += ["--corpus", str(work / "c.txt")]
    if task == "text" and corpus is None:
        return  # the bundled corpus' evaluation is too slow for many examples
    status, _, err = run_quietly(argv)
    assert_one_line_or_success(status, err)
    if status == 0:
        assert load_checkpoint(work / out).meta["train"]["steps"] >= 1


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(model=st.sampled_from(["doubled-lstm", "doubled-gru", "doubled-rnn", "doubled-mlp",
                              "reverse-seq2seq", "no-such-model", "doubled-lsmt", "./nope"]),
       text=st.text(max_size=6),
       fmt=st.sampled_from([None, "json", "jsonl", "npz"]),
       out=st.sampled_from([None, None, None, "t.out", "sub/t.out", ".", "/dev/null"]),
       extra=st.lists(st.sampled_from([["--splits"], ["--nonlinearity", "relu"],
                                       ["--vocab", "v.json"], ["--target-vocab", "v.json"],
                                       ["--factory", "nomodule:build"]]), max_size=2))
def test_any_trace_options_are_one_line_or_success(tmp_path, model, text, fmt, out, extra):
    work = Path(tempfile.mkdtemp(dir=tmp_path))
    argv = ["trace", model, "--input", text]
    if fmt is not None:
        argv += ["--format", fmt]
    if out is not None:
        argv += ["--out", str(work / out)]
    for option in extra:
        argv += option
    status, stdout, err = run_quietly(argv)
    assert_one_line_or_success(status, err)
    if status == 0 and out is None and fmt in (None, "json"):
        document = json.loads(stdout)
        assert len(document.get("steps", document.get("encoder", {}).get("steps", []))) == len(
            text)


def test_a_trace_of_nan_weights_has_no_bare_nan_in_its_json(capsys, tmp_path):
    vocab = tmp_path / "vocab.json"
    vocab.write_text(json.dumps(list("abcdefgh")))
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # numpy's noise would reach stderr
        status, out, err = run(capsys, "trace", "--factory", "userland.tutorial_models:build_nan",
                               "--vocab", str(vocab), "--input", "abc")
    assert status == 0, err
    assert err.count("\n") == 1 and "NaN/Inf values in head.bias" in err  # one warning line

    def bare(constant):
        raise AssertionError(f"bare {constant} in the trace JSON")

    document = json.loads(out, parse_constant=bare)
    assert all(step["nonfinite"] for step in document["steps"])  # written as null, by name
    assert document["steps"][0]["entropy"] is None
