"""The shipped zoo does what the README claims, measured from the files themselves."""

import subprocess
import zipfile

import numpy as np
import pytest
import torch

from inspector.loading.native import load_checkpoint
from models import tasks
from models.train import (
    EVAL_SEED_OFFSET,
    bits_per_char,
    char_accuracy,
    predict_text,
    reverse_exact_match,
)
from models.zoo import ZOO_DIR, manifest, manifest_rows

TEST_SEED = 20261124 + EVAL_SEED_OFFSET  # not the stream used by training or by `train`'s report
RECURRENT = ["doubled-rnn", "doubled-lstm", "doubled-gru"]


def doubled_windows(vocab, seed=TEST_SEED):
    rng = np.random.default_rng(seed)
    return [tasks.doubled_batch(rng, vocab, 40, pairs) for pairs in range(1, 33)]


def test_every_manifest_entry_is_shipped_and_small():
    names = set(manifest())
    assert names == {p.stem for p in ZOO_DIR.glob("*.safetensors")}
    assert {"shift-mlp", "doubled-mlp", *RECURRENT, "reverse-seq2seq"} <= names
    assert any(load_checkpoint(n).meta["task"] == "text" for n in names)
    assert sum(p.stat().st_size for p in ZOO_DIR.glob("*.safetensors")) <= 10_000_000


@pytest.mark.parametrize("name", RECURRENT)
def test_recurrent_models_learn_the_doubled_task(name):
    model = load_checkpoint(name)
    accuracy = np.mean([char_accuracy(model.module, b) for b in doubled_windows(model.vocab)])
    assert accuracy >= 0.99
    seed = tasks.doubled_source(0, 26)
    assert predict_text(model.module, model.vocab, seed) == "abcdefghijklmnopqrstuvwxyz" * 2


def test_doubled_rnn_is_a_tanh_rnn():
    model = load_checkpoint("doubled-rnn")
    assert isinstance(model.module.rnn, torch.nn.RNN)
    assert model.module.rnn.nonlinearity == "tanh"


def test_the_mlp_cannot_learn_the_doubled_task_but_learns_shift():
    doubled = load_checkpoint("doubled-mlp")
    accuracy = np.mean([char_accuracy(doubled.module, b) for b in doubled_windows(doubled.vocab)])
    assert accuracy <= 0.55
    first, second = predict_text(doubled.module, doubled.vocab, "aa")
    assert first == second  # same input, same answer: no memory
    shift = load_checkpoint("shift-mlp")
    batch = tasks.shift_batch(np.random.default_rng(TEST_SEED), shift.vocab, 100, 26)
    assert char_accuracy(shift.module, batch) >= 0.99


def test_reverse_seq2seq_reverses_held_out_strings():
    model = load_checkpoint("reverse-seq2seq")
    assert model.kind == "seq2seq" and model.meta["arch"]["cell"] == "lstm"
    words = tasks.random_words(np.random.default_rng(TEST_SEED), 1000)
    assert reverse_exact_match(model.module, model.vocab, words) >= 0.95


def test_text_model_reports_bits_per_char_on_held_out_text():
    name = next(n for n in manifest() if load_checkpoint(n).meta["task"] == "text")
    model = load_checkpoint(name)
    assert model.meta["arch"]["layers"] == 2 and model.meta["arch"]["hidden"] >= 128
    _, held_out = tasks.split_corpus(tasks.load_corpus())
    bpc = bits_per_char(model.module, model.vocab, held_out)
    assert bpc == pytest.approx(model.meta["train"]["bits_per_char"], abs=1e-3)
    assert bpc < 3.0  # a unigram model of this corpus needs about 4.6


def test_zoo_command_lists_measured_figures(python, cli_env):
    run = subprocess.run([python, "-m", "inspector.cli", "zoo"], capture_output=True, text=True,
                         env=cli_env, timeout=60)
    assert run.returncode == 0, run.stderr
    for row in manifest_rows():
        line = next(line for line in run.stdout.splitlines() if line.startswith(row["name"]))
        assert row["figures"] in line
    assert "bits/char" in run.stdout and "exact match" in run.stdout


def test_wheel_ships_the_zoo_and_corpus(tmp_path, python):
    root = ZOO_DIR.parent.parent
    run = subprocess.run([python, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                          "-q", "-w", str(tmp_path), str(root)], capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr
    wheel = next(tmp_path.glob("rnn_inspect-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for path in ZOO_DIR.glob("*.safetensors"):
        assert f"models/zoo/{path.name}" in names
    assert "models/data/corpus.txt" in names and "inspector/tui/app.tcss" in names
    assert {"models/data/shift.tsv", "models/data/doubled.tsv"} <= names
