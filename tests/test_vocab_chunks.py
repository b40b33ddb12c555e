"""Long text fed in chunks feeds the same tokens as fed whole: `Vocab.chunks` cuts only between
tokens (never inside a word, nor inside `<eos>` of a vocabulary that mixes characters and
specials), for any text. (The app's pastes now go through Session.paste, which tokenizes the
whole text; this is the engine's way to feed a long text piece by piece.)"""

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from userland import any_models as am

from inspector.engine import Session, inspectable
from inspector.loading import ModelSource, open_model
from models.vocab import Vocab

VOCABS = {
    "chars": Vocab(("<unk>", "a", "b", "c", " ", ".")),
    "chars and specials": Vocab(("<unk>", "a", "b", "<", ">", "<eos>", "ab", "e", "o", "s")),
    "words": Vocab(("<unk>", "<eos>", "the", "cat", "sat", ".", "a", "cat.")),
}
ALPHABET = "abc <>eos.\n\tthe cat sat x"


@settings(max_examples=150, deadline=None)
@given(text=st.lists(st.sampled_from([*ALPHABET, "the", "cat", "<eos>", "ab"]) | st.characters(),
                     max_size=40).map("".join),
       size=st.integers(1, 12), kind=st.sampled_from(sorted(VOCABS)))
def test_chunked_tokens_are_the_tokens_of_the_whole_text(text, size, kind):
    vocab = VOCABS[kind]
    pieces = list(vocab.chunks(text, size))
    assert "".join(pieces) == text
    assert all(pieces) and all(len(p) >= size for p in pieces[:-1])
    assert [t for p in pieces for t in vocab.tokenize(p)] == vocab.tokenize(text)


@settings(max_examples=60, deadline=None)
@given(words=st.lists(st.sampled_from(["the", "cat", "sat", ".", "zebra", "cat."]), max_size=30),
       gaps=st.lists(st.sampled_from([" ", "  ", "\n", "\t "]), min_size=30, max_size=30),
       size=st.integers(1, 20))
def test_a_word_is_never_cut(words, gaps, size):
    text = "".join(w + g for w, g in zip(words, gaps))
    vocab = VOCABS["words"]
    for piece in vocab.chunks(text, size):
        assert piece.split() == [w for w in piece.split() if w in words]
    assert [t for p in vocab.chunks(text, size) for t in vocab.tokenize(p)] == vocab.tokenize(text)


def test_a_chunk_size_below_one_is_refused():
    with pytest.raises(ValueError, match="at least 1"):
        list(VOCABS["chars"].chunks("abc", 0))


def test_a_word_model_fed_in_chunks_steps_exactly_as_fed_whole(tmp_path):
    words = tmp_path / "words.json"
    words.write_text(json.dumps(am.WORDS))
    checkpoint = open_model(ModelSource(None, vocab=str(words),
                                        factory="userland.any_models:build_word_lm"))
    text = "the cat sat on a mat . the dog ran on the mat . a cat sat"
    chunked = Session(inspectable(checkpoint))
    for piece in chunked.model.vocab.chunks(text, 5):  # 5 characters: inside most words
        chunked.feed(piece)
    whole = Session(inspectable(checkpoint))
    records = whole.feed(text)
    assert [r.token for r in records] == text.split()
    assert chunked.cursor == whole.cursor == len(text.split())
    for a, b in zip(chunked.records(0, chunked.cursor), records, strict=True):
        assert a.token == b.token and np.array_equal(a.probs, b.probs)
        assert all(np.array_equal(x.h, y.h) for x, y in zip(a.layers, b.layers))
