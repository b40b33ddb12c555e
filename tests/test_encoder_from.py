"""`--encoder-from`: one model's encoder hands over to another model's decoder."""

import contextlib
import io
import json

import numpy as np
import pytest
import torch

from inspector.cli import main
from inspector.engine import Seq2SeqSession, inspectable
from inspector.loading.native import load_checkpoint
from models import tasks
from models.checkpoint import save_checkpoint
from models.seq2seq import Seq2Seq, Seq2SeqConfig


def run_cli(argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(argv)
    return status, out.getvalue(), err.getvalue()


def tiny(path, seed, hidden=6, bridge="linear"):
    torch.manual_seed(seed)
    module = Seq2Seq(Seq2SeqConfig(29, 29, "lstm", 2, hidden, 4, bridge)).eval()
    return save_checkpoint(path, "seq2seq", module, tasks.seq2seq_vocab(), task="reverse")


def test_the_mixed_pair_is_the_other_encoder_and_bridge_then_this_decoder(tmp_path):
    decoder_model = load_checkpoint(tiny(tmp_path / "a.safetensors", 1))
    encoder_model = load_checkpoint(tiny(tmp_path / "b.safetensors", 2))
    mixed = inspectable(decoder_model).with_encoder_of(inspectable(encoder_model))
    session = Seq2SeqSession(mixed)
    session.feed_source("hello")
    vocab = decoder_model.vocab
    source = torch.tensor([vocab.encode("hello")])
    h, c = encoder_model.module.handoff(source)  # torch's own numbers, the other model's
    handoff = session.handoff().layers
    for k in range(2):
        assert np.abs(handoff[k].h - h[k, 0].detach().numpy()).max() <= 1e-5
        assert np.abs(handoff[k].c - c[k, 0].detach().numpy()).max() <= 1e-5
    decode = session.decode(max_len=6, teacher="olleh")
    decoder_input = torch.tensor([[vocab.bos_id, *vocab.encode("olleh")]])
    logits, _ = decoder_model.module.decoder(decoder_input, (h, c))
    probs = torch.softmax(logits[0], -1).detach().numpy()
    for t, record in enumerate(decode.records):
        assert np.abs(record.probs - probs[t]).max() <= 1e-5
    assert mixed.encoder_from == "b" and "trained end to end, separately" in mixed.handoff_note
    assert inspectable(decoder_model).handoff_note is None


def test_trace_names_the_encoder_and_says_why_in_one_line(tmp_path):
    a, b = tiny(tmp_path / "a.safetensors", 1), tiny(tmp_path / "b.safetensors", 2)
    status, stdout, stderr = run_cli(["trace", str(a), "--input", "abc", "--encoder-from", str(b)])
    assert status == 0, stderr
    data = json.loads(stdout)
    assert data["model"]["encoder_from"] == "b"
    assert stderr.count("\n") == 1 and stderr.startswith("rnn-inspect: note: b's encoder hands "
                                                         "over to a's decoder")
    own = json.loads(run_cli(["trace", str(b), "--input", "abc"])[1])
    assert data["handoff"] == own["handoff"] and data["encoder"] == own["encoder"]
    assert "encoder_from" not in own["model"]


@pytest.mark.parametrize("other,expected", [
    ("doubled-lstm", "doubled-lstm: a char model has no encoder or decoder"),
    ("wide", "--encoder-from {wide}: wide's encoder hands over 2 layer(s) of h and c sized 8, 8; "
             "a's decoder starts from 2 layer(s) of h and c sized 6, 6"),
])
def test_encoder_from_a_model_that_cannot_hand_over_is_one_line(tmp_path, other, expected):
    a = tiny(tmp_path / "a.safetensors", 1)
    wide = tiny(tmp_path / "wide.safetensors", 3, hidden=8)
    other = str(wide) if other == "wide" else other
    status, stdout, stderr = run_cli(["trace", str(a), "--input", "abc", "--encoder-from", other])
    assert status == 2 and stdout == "" and stderr.count("\n") == 1
    assert expected.format(wide=wide) in stderr


def exact_match(model, words) -> float:
    hits = 0
    for word in words:
        session = Seq2SeqSession(model)
        session.feed_source(word)
        hits += session.decode().output == word[::-1]
    return hits / len(words)


def test_the_jointly_trained_pair_decodes_and_the_mixed_pair_fails():
    """The two zoo models share a recipe and differ in seed: each decodes its own handoff; neither
    decoder can read the other's."""
    words = tasks.random_words(np.random.default_rng(20261202), 30)
    first = inspectable(load_checkpoint("reverse-seq2seq"))
    second = inspectable(load_checkpoint("reverse-seq2seq-seed1"))
    assert exact_match(first, words) >= 0.95 and exact_match(second, words) >= 0.95
    assert exact_match(first.with_encoder_of(second), words) <= 0.2
    assert exact_match(second.with_encoder_of(first), words) <= 0.2


async def test_the_seq2seq_screen_decodes_a_mixed_pair_and_says_why():
    from experiment_support import open_seq2seq
    from textual.widgets import Static

    from inspector.tui.app import InspectorApp
    from inspector.tui.widgets.lines import LinesWidget

    other = load_checkpoint("reverse-seq2seq-seed1")
    app = InspectorApp("reverse-seq2seq", encoder_from=other)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_seq2seq(pilot)
        title = str(app.seq2seq.query_one("#handoff-title", Static).render())
        assert title == ("handoff from reverse-seq2seq-seed1's encoder, trained separately from "
                         "this decoder")
        await pilot.press(*"hello", "enter")
        await pilot.pause()
        output = app.seq2seq.query_one("#output", LinesWidget).text()
        mixed = inspectable(load_checkpoint("reverse-seq2seq")).with_encoder_of(inspectable(other))
        session = Seq2SeqSession(mixed)
        session.feed_source("hello")
        expected = session.decode().output
        assert expected != "olleh" and output.startswith(f"output {expected}")
        assert f"{len(expected) + 1} steps" in output  # its tokens and </s>, nothing else


def test_the_app_command_refuses_an_encoder_that_cannot_hand_over(capsys):
    assert main(["reverse-seq2seq", "--encoder-from", "doubled-lstm"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "doubled-lstm: a char model has no encoder" in err
