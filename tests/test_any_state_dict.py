"""state_dicts of taggers and of hand-stacked cells, saved the way the tutorials save them, opened
and held to the model's own forward (max |dh|, |dp| <= 1e-5 every step); labels and
vocabularies stored beside the weights are read, and cross-checked with --labels."""

import json

import numpy as np
import pytest
import torch
from torch import nn
from userland import any_models as am

from inspector.cli import main
from inspector.engine import Session, inspectable
from inspector.loading import CheckpointError, ModelSource, open_model

TOL = 1e-5
SENTENCE = "the dog sat on a mat ."


def json_file(tmp_path, name, data):
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return str(path)


def close(a, b) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    assert a.shape == b.shape, (a.shape, b.shape)
    return float(np.abs(a - b).max())


def saved_tagger(tmp_path, **extra):
    """The sequence-models tutorial's tagger saved as a training checkpoint dict, with its
    word_to_ix and tag_to_ix beside the weights, as notebooks keep them."""
    model = am.build_tagger()
    path = tmp_path / "tagger.pt"
    torch.save({"model_state_dict": model.state_dict(), "epoch": 3, **extra}, path)
    return model, path


def tutorial_tags(model, sentence):
    """The tutorial's own forward over the whole sentence, and the LSTM's h after each word."""
    ids = torch.tensor([am.WORDS.index(w) for w in sentence.split()])
    with torch.no_grad():
        scores, _ = model(ids)
        embeds = model.word_embeddings(ids).view(len(ids), 1, -1)
        outputs, _ = model.lstm(embeds)
    return scores.exp(), outputs[:, 0]


def test_a_tagger_state_dict_with_its_tag_index_opens_with_the_files_labels(tmp_path):
    model, path = saved_tagger(tmp_path, word_to_ix={w: i for i, w in enumerate(am.WORDS)},
                               tag_to_ix={t: i for i, t in enumerate(am.TAGS)})
    checkpoint = open_model(ModelSource(str(path)))
    assert checkpoint.meta["labels"] == am.TAGS
    assert checkpoint.meta["detected"]["labels"] == "stored in the file"
    records = Session(inspectable(checkpoint)).feed(SENTENCE)
    probs, hs = tutorial_tags(model, SENTENCE)
    assert [r.token for r in records] == SENTENCE.split()
    for record, p, h in zip(records, probs, hs, strict=True):
        assert close(record.probs, p) <= TOL  # a softmax over log-softmax scores: the same
        assert close(record.layers[0].h, h) <= TOL
        assert record.prediction == am.TAGS[int(p.argmax())]
        assert set(record.layers[0].gates) == set("ifgo")


def test_a_tagger_state_dict_without_labels_is_numbered_and_says_so(tmp_path):
    model, path = saved_tagger(tmp_path)
    words = json_file(tmp_path, "words.json", am.WORDS)
    checkpoint = open_model(ModelSource(str(path), vocab=words))
    assert checkpoint.meta["labels"] == ["0", "1", "2", "3", "4"]
    assert "labelled 0…4" in checkpoint.meta["detected"]["labels"]
    tags = json_file(tmp_path, "tags.json", am.TAGS)
    out = tmp_path / "trace.json"
    assert main(["trace", str(path), "--vocab", words, "--labels", tags, "--input", SENTENCE,
                 "--out", str(out)]) == 0
    data = json.loads(out.read_text())
    probs, hs = tutorial_tags(model, SENTENCE)
    assert data["model"]["labels"] == am.TAGS
    for step, p, h in zip(data["steps"], probs, hs, strict=True):
        assert step["prediction"] == am.TAGS[int(p.argmax())]
        assert close(dict(step["top"])[step["prediction"]], p.max()) <= TOL
        assert close(step["layers"][0]["h"], h) <= TOL


def test_labels_given_are_cross_checked_with_the_files(tmp_path, capsys):
    _, path = saved_tagger(tmp_path, word_to_ix={w: i for i, w in enumerate(am.WORDS)},
                           tags=am.TAGS)
    same = json_file(tmp_path, "same.json", am.TAGS)
    checkpoint = open_model(ModelSource(str(path), labels=same))
    assert checkpoint.meta["detected"]["labels"].endswith("(matches the file's)")
    other = json_file(tmp_path, "other.json", [*am.TAGS[1:], am.TAGS[0]])
    assert main(["info", str(path), "--labels", other]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "differs from the labels stored in the file" in err
    short = json_file(tmp_path, "short.json", am.TAGS[:3])
    assert main(["info", str(path), "--labels", short, "--vocab",
                 json_file(tmp_path, "w.json", am.WORDS)]) == 2
    assert "differs" in capsys.readouterr().err


def test_a_wrong_number_of_labels_is_one_line(tmp_path):
    _, path = saved_tagger(tmp_path)
    words = json_file(tmp_path, "words.json", am.WORDS)
    short = json_file(tmp_path, "short.json", am.TAGS[:3])
    with pytest.raises(CheckpointError, match="names 3 labels, the head has 5 outputs"):
        open_model(ModelSource(str(path), vocab=words, labels=short))


@pytest.mark.parametrize("cell", [nn.LSTMCell, nn.GRUCell, nn.RNNCell])
def test_a_state_dict_of_stacked_cells_opens_and_matches_the_cells(tmp_path, cell, capsys):
    model = am.build_cell_stack(cell)
    path = tmp_path / "cells.pt"
    torch.save(model.state_dict(), path)
    letters = json_file(tmp_path, "letters.json", list(am.LETTERS))
    checkpoint = open_model(ModelSource(str(path), vocab=letters))
    assert checkpoint.meta["detected"]["cells"].startswith(f"nn.{cell.__name__} cell1.*, cell2.*")
    assert any("cells stacked in name order" in w and "--factory" in w
               for w in checkpoint.warnings)
    text = "abcabhhgfedcba"
    records = Session(inspectable(checkpoint)).feed(text)
    hidden = None
    with torch.no_grad():
        for record, char in zip(records, text, strict=True):
            out, hidden = model(torch.tensor([[am.LETTERS.index(char)]]), hidden)
            for k, state in enumerate(hidden):
                h, c = state if isinstance(state, tuple) else (state, None)
                assert close(record.layers[k].h, h[0]) <= TOL
                if c is not None:
                    assert close(record.layers[k].c, c[0]) <= TOL
            assert close(record.probs, torch.softmax(out[0], -1)) <= TOL
    gates = {nn.LSTMCell: "ifgo", nn.GRUCell: "rzn", nn.RNNCell: ""}[cell]
    assert set(records[0].layers[1].gates) == set(gates)  # read from the cells' own weights


def test_cells_that_do_not_stack_plainly_are_refused_naming_the_factory(tmp_path, capsys):
    torch.manual_seed(31)
    path = tmp_path / "feeding.pt"
    torch.save(am.InputFeedingDecoder().state_dict(), path)
    letters = json_file(tmp_path, "letters.json", list(am.LETTERS))
    assert main(["info", str(path), "--vocab", letters]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--factory module:callable" in err
    torch.manual_seed(32)  # a second cell fed something wider than the first cell's h
    state = {"embed.weight": torch.randn(8, 5), "fc.weight": torch.randn(8, 6),
             "fc.bias": torch.zeros(8)}
    for name, cell in (("c1.", nn.GRUCell(5, 6)), ("c2.", nn.GRUCell(7, 6))):
        state |= {name + k: v for k, v in cell.state_dict().items()}
    torch.save(state, path)
    assert main(["info", str(path), "--vocab", letters]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cell c2.* takes 7 inputs" in err and "--factory" in err


def test_a_one_hot_classifier_state_dict_says_what_it_would_say_at_every_step(tmp_path):
    """The names tutorial's shape with nn.RNN: one-hot letters in, 3 languages out (it was
    refused before: its head is not the vocabulary)."""
    torch.manual_seed(33)
    rnn, h2o = nn.RNN(8, 6), nn.Linear(6, 3)
    path = tmp_path / "classifier.pt"
    torch.save({f"rnn.{k}": v for k, v in rnn.state_dict().items()} |
               {f"h2o.{k}": v for k, v in h2o.state_dict().items()} |
               {"all_categories": ["Arabic", "Chinese", "Czech"]}, path)
    letters = json_file(tmp_path, "letters.json", list(am.LETTERS))
    checkpoint = open_model(ModelSource(str(path), vocab=letters))
    assert checkpoint.meta["detected"]["input"] == "one-hot of 8"
    text = "bachfe"
    records = Session(inspectable(checkpoint)).feed(text)
    x = torch.nn.functional.one_hot(torch.tensor([am.LETTERS.index(c) for c in text]), 8)
    with torch.no_grad():
        outputs, _ = rnn(x.float()[:, None])
        probs = torch.softmax(h2o(outputs[:, 0]), -1)
    for record, h, p in zip(records, outputs[:, 0], probs, strict=True):
        assert close(record.layers[0].h, h) <= TOL and close(record.probs, p) <= TOL
        assert record.prediction == ["Arabic", "Chinese", "Czech"][int(p.argmax())]


def test_label_ids_kept_beside_the_weights_are_not_taken_for_names(tmp_path):
    model, path = saved_tagger(tmp_path, labels=[0, 3, 1], classes=5)
    words = json_file(tmp_path, "words.json", am.WORDS)
    checkpoint = open_model(ModelSource(str(path), vocab=words))
    assert checkpoint.meta["labels"] == ["0", "1", "2", "3", "4"]  # numbered, and said
