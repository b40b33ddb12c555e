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
