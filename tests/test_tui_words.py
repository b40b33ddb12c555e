"""A word model in the TUI: letters gather into a word, a space feeds it, the tape shows words."""

import json

import numpy as np
import torch
from tui_support import log_lines, settle, status, tape_lines
from userland import any_models as am

from inspector.loading import ModelSource
from inspector.tui.app import InspectorApp


async def test_a_word_model_feeds_a_word_per_space_and_the_tape_shows_words(tmp_path):
    words = tmp_path / "words.json"
    words.write_text(json.dumps(am.WORDS))
    app = InspectorApp(ModelSource(None, vocab=str(words),
                                   factory="userland.any_models:build_word_lm"))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press(*"the", "space", *"cat")
        await settle(pilot)
        assert "typing 'cat': space feeds it" in status(app), status(app)
        assert tape_lines(app)[0].split() == ["x", "the"]
        await pilot.press("backspace", "t", "space", *"sat", "enter")
        await settle(pilot)
        assert tape_lines(app)[0].split() == ["x", "the", "cat", "sat"]
        predictions = tape_lines(app)[1].split()[1:]
        logged = log_lines(app)[-3:]
    model = am.build_word_lm()
    hidden = model.init_hidden(1)
    with torch.no_grad():
        for t, (word, shown, line) in enumerate(zip(["the", "cat", "sat"], predictions, logged,
                                                    strict=True)):
            out, hidden = model(torch.tensor([[am.WORDS.index(word)]]), hidden)
            probs = out[0, 0].exp().numpy() if out.dim() == 3 else out[0].exp().numpy()
            best = int(np.argmax(probs))
            assert shown == am.WORDS[best]  # the screen's prediction is the model's own
            guess = am.WORDS[best] if len(am.WORDS[best]) > 1 else repr(am.WORDS[best])
            assert line.startswith(f"t={t}  x={word}  → y={guess} ({float(probs[best]):.2f})")


async def test_the_seq2seq_output_stops_at_the_vocabularys_own_end_token(tmp_path):
    """--eos EOS (the translation tutorial's): the output line ends where the decoder predicted
    EOS, without it, and says the decode finished (no 'length cap'). The untrained tutorial
    pair predicts EOS at once for this source (the others run to its length cap)."""
    from experiment_support import open_seq2seq

    from inspector.tui.widgets.lines import LinesWidget

    source, target = tmp_path / "src.json", tmp_path / "trg.json"
    source.write_text(json.dumps(am.SOURCE))
    target.write_text(json.dumps(am.TARGET))
    app = InspectorApp(ModelSource(None, vocab=str(source), target_vocab=str(target), bos="SOS",
                                   eos="EOS", source_eos=True,
                                   factory="userland.any_models:build_attention"))
    encoder, decoder = am.tutorial_pair()
    ids, _, _ = am.tutorial_evaluate(encoder, decoder, [am.SOURCE.index(c) for c in "cccac"])
    async with app.run_test(size=(120, 40)) as pilot:
        await open_seq2seq(pilot)
        await pilot.press(*"cccac", "enter")
        for _ in range(100):
            await app.workers.wait_for_complete()
            await pilot.pause()
            line = app.seq2seq.query_one("#output", LinesWidget).text()
            if "steps" in line:
                break
    expected = "".join(am.TARGET[i] for i in ids)
    assert ids == []  # the tutorial's own decode: EOS first
    assert line.startswith(f"output {expected}  {len(ids) + 1} steps"), line
    assert "EOS" not in line and "length cap" not in line


def test_decoded_text_stops_at_the_vocabularys_eos_and_joins_words():
    from inspector.engine.records import NO_PREDICTION
    from inspector.engine.seq2seq import decoded_text
    from models.vocab import Vocab

    class Step:
        def __init__(self, prediction):
            self.prediction = prediction

    words = Vocab(("<go>", "<stop>", "the", "cat", "sat"), bos="<go>", eos="<stop>")
    steps = [Step(p) for p in ("the", "cat", "<stop>", "sat")]
    assert decoded_text(steps, words) == "the cat"
    assert decoded_text([Step("the"), Step(NO_PREDICTION), Step("cat")], words) == "the"
    chars = Vocab(("SOS", "EOS", "a", "b"), bos="SOS", eos="EOS")
    assert decoded_text([Step("a"), Step("</s>"), Step("EOS"), Step("b")], chars) == "a</s>"
