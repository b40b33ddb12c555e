"""A factory whose head returns probabilities is detected and not softmaxed a second time."""

import json

import numpy as np
import torch
from userland import any_models as am

from inspector.engine import Session, inspectable
from inspector.loading import ModelSource, open_model


def test_a_probability_head_is_shown_as_it_is(tmp_path):
    letters = tmp_path / "letters.json"
    letters.write_text(json.dumps(list(am.LETTERS)))
    checkpoint = open_model(ModelSource(None, vocab=str(letters),
                                        factory="userland.any_models:build_softmax_head"))
    assert "probabilities (rows sum to 1): not softmaxed again" in \
        checkpoint.meta["detected"]["output"]
    text = "abcabhhg"
    records = Session(inspectable(checkpoint)).feed(text)
    model, hidden = am.build_softmax_head(), None
    with torch.no_grad():
        for record, char in zip(records, text, strict=True):
            out, hidden = model(torch.tensor([[am.LETTERS.index(char)]]), hidden)
            assert float(np.abs(record.probs - out[0].numpy()).max()) <= 1e-5
            assert float(np.abs(record.layers[0].h - hidden[0, 0].numpy()).max()) <= 1e-5
