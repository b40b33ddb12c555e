"""Bidirectional models, written as the tutorials write them: a tagger traced over the whole
input and a bidirectional encoder handing over to an attention decoder, both directions shown
side by side, held to the models' own forwards (max |dh|, |dp| <= 1e-5 every step)."""

import json

import numpy as np
import pytest
import torch
from userland import any_models as am

from inspector.cli import main
from inspector.engine import Seq2SeqSession, Session, inspectable
from inspector.loading import ModelSource, open_model

TOL = 1e-5
SENTENCE = "the dog sat on a mat ."


def json_file(tmp_path, name, data):
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return str(path)


def close(a, b) -> float:
    a, b = (np.asarray(v.detach() if isinstance(v, torch.Tensor) else v, np.float64)
            for v in (a, b))
    assert a.shape == b.shape, (a.shape, b.shape)
    return float(np.abs(a - b).max())


def lstm_gates(lstm, x, h, c, suffix):
    """One LSTM step of one direction, from nn.LSTM's own weights (i, f, g, o)."""
    w = {k: getattr(lstm, f"{k}_l0{suffix}") for k in ("weight_ih", "weight_hh", "bias_ih",
                                                        "bias_hh")}
    pre = x @ w["weight_ih"].T + w["bias_ih"] + h @ w["weight_hh"].T + w["bias_hh"]
    i, f, g, o = pre.chunk(4, -1)
    return {"i": torch.sigmoid(i), "f": torch.sigmoid(f), "g": torch.tanh(g),
            "o": torch.sigmoid(o)}


@pytest.mark.parametrize("factory", ["build_bi_tagger", "build_bi_tagger_gru"])
def test_a_bidirectional_tagger_is_traced_over_the_whole_input(tmp_path, factory):
    words = json_file(tmp_path, "words.json", am.WORDS)
    tags = json_file(tmp_path, "tags.json", am.TAGS)
    out = tmp_path / "trace.json"
    assert main(["trace", "--factory", f"userland.any_models:{factory}", "--vocab", words,
                 "--labels", tags, "--input", SENTENCE, "--out", str(out)]) == 0
    data = json.loads(out.read_text())
    model = getattr(am, factory)()
    ids = torch.tensor([am.WORDS.index(w) for w in SENTENCE.split()])
    with torch.no_grad():
        scores = model(ids).exp()
        embeds = model.word_embeddings(ids)[:, None]
        layer_outputs = []
        x = embeds
        for k in range(model.lstm.num_layers):  # each layer's outputs: both directions
            single = type(model.lstm)(x.shape[-1], model.lstm.hidden_size, bidirectional=True)
            single.load_state_dict({name.replace(f"_l{k}", "_l0"): v
                                    for name, v in model.lstm.state_dict().items()
                                    if name.endswith((f"_l{k}", f"_l{k}_reverse"))})
            x, _ = single(x)
            layer_outputs.append(x[:, 0])
    steps = data["steps"]
    assert [s["input"] for s in steps] == SENTENCE.split()
    assert data["model"]["labels"] == am.TAGS
    for t, step in enumerate(steps):
        assert step["prediction"] == am.TAGS[int(scores[t].argmax())]
        assert close(dict(step["top"])[step["prediction"]], scores[t].max()) <= TOL
        for k, layer in enumerate(step["layers"]):
            assert close(layer["h"], layer_outputs[k][t]) <= TOL  # [forward | backward]
    if factory == "build_bi_tagger":  # every gate of both directions, from the LSTM's weights
        H = model.lstm.hidden_size
        h = c = torch.zeros(H)
        forward = []
        for t in range(len(ids)):
            gates = lstm_gates(model.lstm, embeds[t, 0], h, c, "")
            c = gates["f"] * c + gates["i"] * gates["g"]
            h = gates["o"] * torch.tanh(c)
            forward.append(gates)
        h = c = torch.zeros(H)
        for t in reversed(range(len(ids))):
            gates = lstm_gates(model.lstm, embeds[t, 0], h, c, "_reverse")
            c = gates["f"] * c + gates["i"] * gates["g"]
            h = gates["o"] * torch.tanh(c)
            for g in "ifgo":
                both = torch.cat([forward[t][g], gates[g]])
                assert close(steps[t]["layers"][0]["gates"][g], both) <= TOL


def test_a_bidirectional_tagger_cannot_be_typed_key_by_key_and_says_why(tmp_path):
    words = json_file(tmp_path, "words.json", am.WORDS)
    checkpoint = open_model(ModelSource(None, vocab=words,
                                        factory="userland.any_models:build_bi_tagger"))
    model = inspectable(checkpoint)
    with pytest.raises(ValueError, match="depends on the whole input.*rnn-inspect trace"):
        Session(model)
    assert "bidirectional LSTM lstm" in checkpoint.meta["detected"]["recurrent"]


def test_a_bidirectional_encoder_hands_over_as_its_forward_does(tmp_path):
    source = json_file(tmp_path, "src.json", am.SOURCE)
    target = json_file(tmp_path, "trg.json", am.TARGET)
    checkpoint = open_model(ModelSource(None, vocab=source, target_vocab=target, bos="SOS",
                                        eos="EOS", source_eos=True,
                                        factory="userland.any_models:build_bi_attention"))
    session = Seq2SeqSession(inspectable(checkpoint))
    session.feed_source("bad")
    assert len(session.encoder.records(0, 3)) == 3  # the source so far, run again per key
    session.feed_source("ge")
    decoded = session.decode(max_len=12)
    encoder, decoder = am.bi_pair()
    outputs, first, steps = am.bi_translate(encoder, decoder,
                                            [am.SOURCE.index(c) for c in "badge"])
    records = session.source_records
    assert [r.token for r in records] == [*"badge", "EOS"]
    for record, row in zip(records, outputs, strict=True):  # both directions, side by side
        assert close(record.layers[0].h, row) <= TOL
        assert set(record.layers[0].gates) == set("rzn")
        assert record.layers[0].gates["z"].shape == (10,)
    assert close(session.handoff().layers[0].h, first[0]) <= TOL
    assert len(decoded.records) == len(steps)
    for record, (logits, hidden, attention) in zip(decoded.records, steps, strict=True):
        assert close(record.probs, torch.softmax(logits, -1)) <= TOL
        assert close(record.layers[0].h, hidden) <= TOL
        assert close(record.attention, attention) <= TOL


def test_a_bidirectional_encoder_trace_holds_both_directions_and_the_attention(tmp_path):
    source = json_file(tmp_path, "src.json", am.SOURCE)
    target = json_file(tmp_path, "trg.json", am.TARGET)
    out = tmp_path / "trace.json"
    assert main(["trace", "--factory", "userland.any_models:build_bi_attention", "--vocab",
                 source, "--target-vocab", target, "--bos", "SOS", "--eos", "EOS",
                 "--source-eos", "--input", "cab", "--out", str(out)]) == 0
    data = json.loads(out.read_text())
    encoder, decoder = am.bi_pair()
    outputs, first, steps = am.bi_translate(encoder, decoder,
                                            [am.SOURCE.index(c) for c in "cab"], max_len=64)
    assert [s["input"] for s in data["encoder"]["steps"]] == ["c", "a", "b", "EOS"]
    for step, row in zip(data["encoder"]["steps"], outputs, strict=True):
        assert close(step["layers"][0]["h"], row) <= TOL
    assert close(data["handoff"]["layers"][0]["h"], first[0]) <= TOL
    for step, (_, _, attention) in zip(data["decoder"]["steps"], steps, strict=True):
        assert close(step["attention"], attention) <= TOL


def test_a_batch_first_bidirectional_model_opens_where_it_was_refused(tmp_path):
    """forward(ids (1, T)) -> logits (1, T, V) with a batch_first bidirectional GRU: the tokens
    are given as (1, T), read from the layer; the head's logits are softmaxed once."""
    from userland import tutorial_models as tm

    letters = json_file(tmp_path, "letters.json", list(am.LETTERS))
    checkpoint = open_model(ModelSource(None, vocab=letters,
                                        factory="userland.tutorial_models:build_bidirectional"))
    assert checkpoint.meta["detected"]["input"] == "the whole input as a (1, T) LongTensor"
    model = inspectable(checkpoint)
    records = model.records("abcahhg")
    torch.manual_seed(0)
    reference = tm.build_bidirectional()
    reference.load_state_dict(checkpoint.module.state_dict())
    ids = torch.tensor([[am.LETTERS.index(c) for c in "abcahhg"]])
    with torch.no_grad():
        logits = reference(ids)[0]
        outputs, _ = reference.rnn(reference.embed(ids))
    for record, row, h in zip(records, logits, outputs[0], strict=True):
        assert close(record.probs, torch.softmax(row, -1)) <= TOL
        assert close(record.layers[0].h, h) <= TOL


async def test_the_app_refuses_a_bidirectional_tagger_in_one_line(tmp_path):
    from tui_support import settle

    from inspector.tui.app import InspectorApp

    words = json_file(tmp_path, "words.json", am.WORDS)
    app = InspectorApp(ModelSource(None, vocab=words,
                                   factory="userland.any_models:build_bi_tagger"))
    said, real_exit = [], app.exit

    def exit_saying(*args, **kwargs):
        said.append(str(kwargs.get("message")))
        real_exit(*args, **kwargs)

    app.exit = exit_saying
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
    assert app.return_code == 2 and len(said) == 1
    message = said[0]
    assert "depends on the whole input" in message and "rnn-inspect trace" in message
    assert "\n" not in message


async def test_the_seq2seq_screen_runs_a_bidirectional_encoder_again_after_each_key(tmp_path):
    from experiment_support import open_seq2seq

    from inspector.tui.app import InspectorApp
    from inspector.tui.widgets.lines import LinesWidget
    from inspector.tui.widgets.step_log import StepLog

    source = json_file(tmp_path, "src.json", am.SOURCE)
    target = json_file(tmp_path, "trg.json", am.TARGET)
    app = InspectorApp(ModelSource(None, vocab=source, target_vocab=target, bos="SOS",
                                   eos="EOS", source_eos=True,
                                   factory="userland.any_models:build_bi_attention"))
    encoder, decoder = am.bi_pair()
    outputs, _, steps = am.bi_translate(encoder, decoder, [am.SOURCE.index(c) for c in "cab"],
                                        max_len=64)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_seq2seq(pilot)
        await pilot.press(*"cab")
        await pilot.pause()
        log = app.seq2seq.query_one("#encoder-log", StepLog).texts
        await pilot.press("enter")
        for _ in range(100):
            await app.workers.wait_for_complete()
            await pilot.pause()
            line = app.seq2seq.query_one("#output", LinesWidget).text()
            if "steps" in line:
                break
        records = app.seq2seq.controller.session.source_records
    assert [entry.split()[1] for entry in log] == ["x='c'", "x='a'", "x='b'"]
    for record, row in zip(records, outputs, strict=True):
        assert close(record.layers[0].h, row) <= TOL
    assert f"{len(steps)} steps" in line


def test_a_bidirectional_tagger_state_dict_with_its_vocabularies_is_traced(tmp_path, capsys):
    model = am.build_bi_tagger()
    path = tmp_path / "bitagger.pt"
    torch.save({"state_dict": model.state_dict(), "word_to_ix": {w: i for i, w in
                                                                 enumerate(am.WORDS)},
                "tag_to_ix": {t: i for i, t in enumerate(am.TAGS)}}, path)
    out = tmp_path / "trace.json"
    assert main(["trace", str(path), "--input", SENTENCE, "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert err.count("assumes") == 1 and "--factory module:callable" in err
    data = json.loads(out.read_text())
    ids = torch.tensor([am.WORDS.index(w) for w in SENTENCE.split()])
    with torch.no_grad():
        scores = model(ids).exp()
        outputs, _ = model.lstm(model.word_embeddings(ids)[:, None])
    assert data["model"]["labels"] == am.TAGS
    for t, step in enumerate(data["steps"]):
        assert step["prediction"] == am.TAGS[int(scores[t].argmax())]
        assert close([p for _, p in step["top"]], scores[t].sort(descending=True).values[:5]
                     ) <= TOL
        assert close(step["layers"][0]["h"], outputs[t, 0]) <= TOL


@pytest.mark.parametrize(("pair", "squeeze", "bridge"), [
    ("concat_pair", False, "both directions' final states side by side"),
    ("bridge_pair", True, "tanh(encoder.fc.weight·[forward; backward] + bias)")])
def test_a_bidirectional_encoder_state_dict_hands_over_as_detected(tmp_path, pair, squeeze,
                                                                   bridge):
    encoder, decoder = getattr(am, pair)()
    path = tmp_path / "pair.pt"
    torch.save({"encoder": encoder.state_dict(), "decoder": decoder.state_dict()}, path)
    source = json_file(tmp_path, "src.json", am.SOURCE)
    target = json_file(tmp_path, "trg.json", am.TARGET)
    checkpoint = open_model(ModelSource(str(path), vocab=source, target_vocab=target,
                                        bos="SOS", eos="EOS", source_eos=True))
    assert checkpoint.meta["detected"]["bridge"].startswith(bridge)
    assert any("assumes" in w and "--factory" in w for w in checkpoint.warnings)
    from models.checkpoint import describe

    said = describe(checkpoint)
    assert any(line.startswith("route      mapped onto a bidirectional") for line in said)
    assert any(line.startswith("assumes    its forward is") and bridge in line for line in said)
    session = Seq2SeqSession(inspectable(checkpoint))
    session.feed_source("hadec")
    decoded = session.decode()
    outputs, first, steps = am.greedy(encoder, decoder, [am.SOURCE.index(c) for c in "hadec"],
                                      squeeze=squeeze)
    for record, row in zip(session.source_records, outputs, strict=True):
        assert close(record.layers[-1].h, row) <= TOL
    first_h = first[0] if isinstance(first, tuple) else first
    for k, layer in enumerate(session.handoff().layers):
        assert close(layer.h, first_h[k, 0]) <= TOL
    assert len(decoded.records) == len(steps)
    for record, (logits, hidden) in zip(decoded.records, steps, strict=True):
        assert close(record.probs, torch.softmax(logits, -1)) <= TOL
        h = hidden[0] if isinstance(hidden, tuple) else hidden
        assert close(record.layers[-1].h, h[-1, 0]) <= TOL


def test_a_bidirectional_pair_with_attention_weights_is_refused_naming_the_factory(tmp_path,
                                                                                    capsys):
    encoder, decoder = am.bi_pair()
    path = tmp_path / "attn.pt"
    torch.save({"encoder": encoder.state_dict(), "decoder": decoder.state_dict()}, path)
    source = json_file(tmp_path, "src.json", am.SOURCE)
    assert main(["info", str(path), "--vocab", source]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--factory module:callable" in err


def test_the_decoder_after_a_bidirectional_encoder_takes_the_step_timeout(tmp_path):
    """--step-timeout bounds every call of the user's decoder forward, after a bidirectional
    encoder as after any other (it was left at the default 5 s there)."""
    source = json_file(tmp_path, "src.json", am.SOURCE)
    target = json_file(tmp_path, "trg.json", am.TARGET)
    opened = {timeout: open_model(ModelSource(None, vocab=source, target_vocab=target,
                                              bos="SOS", eos="EOS", source_eos=True,
                                              step_timeout=timeout,
                                              factory="userland.any_models:build_bi_attention"))
              for timeout in (None, 0.75)}
    assert opened[None].inspectable.decoder.guard.timeout == 5.0  # the default
    assert opened[0.75].inspectable.decoder.guard.timeout == 0.75
