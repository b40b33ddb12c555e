"""Vocabularies: tokens in index order (characters, words or specials of any spelling), and the
one tokenizer that splits typed text by them.

How text is split follows the vocabulary (or its checkpoint's `"tokens"` field): a vocabulary of
words splits on whitespace, one of characters takes one character at a time, and where both
occur (characters plus `<eos>`, words plus `.`) the longest token that matches is taken.
"""

from __future__ import annotations

import string
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

BOS = "<s>"
EOS = "</s>"
UNK = "<unk>"
SPECIALS = (UNK, BOS, EOS)
SPLITS = ("chars", "words")


class UnknownCharacterError(ValueError):
    """Text the vocabulary cannot encode and that has no `<unk>` to fall back on."""

    def __init__(self, char: str) -> None:
        what = (f"character {char!r} (U+{ord(char):04X})" if len(char) == 1
                else f"token {char!r}")
        super().__init__(f"{what} is not in the model's vocabulary")
        self.char = char


@dataclass(frozen=True)
class Vocab:
    """Tokens in index order, how typed text splits into them, and the start/end tokens.

    `split` is `chars` or `words`; left empty it is read from the tokens (words when most
    non-special tokens are longer than one character). `<s>`, `</s>` and `<unk>` are reachable
    only by index, never by typing their spelling, so typing `<` feeds the `<` character.
    """

    tokens: tuple[str, ...]
    split: str = ""
    bos: str = BOS
    eos: str = EOS
    _index: dict[str, int] = field(init=False, repr=False, compare=False)
    _longest: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        tokens = tuple(self.tokens)
        object.__setattr__(self, "tokens", tokens)
        index: dict[str, int] = {}
        dupes = []
        for i, token in enumerate(tokens):
            if not isinstance(token, str) or not token:
                raise ValueError(f"vocabulary token {token!r} at index {i} is not a non-empty "
                                 "string")
            if token in index:
                dupes.append(token)
            index.setdefault(token, i)
        if dupes:
            raise ValueError(f"vocabulary has duplicate tokens: {sorted(set(dupes))[:5]!r}")
        object.__setattr__(self, "_index", index)
        typable = [t for t in tokens if t not in SPECIALS]
        object.__setattr__(self, "_longest", max(map(len, typable), default=1))
        if not self.split:
            words = sum(len(t) > 1 for t in typable)
            object.__setattr__(self, "split", "words" if 2 * words > len(typable) else "chars")
        if self.split not in SPLITS:
            raise ValueError(f"tokens split {self.split!r}: use one of {', '.join(SPLITS)}")

    @classmethod
    def letters(cls, specials: Iterable[str] = (UNK,)) -> Vocab:
        """Specials first, then `a`–`z`."""
        return cls((*specials, *string.ascii_lowercase))

    @classmethod
    def from_text(cls, text: str, specials: Iterable[str] = (UNK,)) -> Vocab:
        """Specials first, then every distinct character of `text` in code-point order."""
        return cls((*specials, *sorted(set(text))))

    def __len__(self) -> int:
        return len(self.tokens)

    def __contains__(self, token: object) -> bool:
        return token in self._index

    @property
    def unk_id(self) -> int | None:
        return self._index.get(UNK)

    @property
    def bos_id(self) -> int | None:
        return self._index.get(self.bos)

    @property
    def eos_id(self) -> int | None:
        return self._index.get(self.eos)

    @property
    def specials(self) -> frozenset[str]:
        return frozenset((UNK, self.bos, self.eos))

    def id(self, token: str) -> int:
        """Index of a token (any spelling, specials too); unknown → `<unk>` or an error."""
        found = self._index.get(token)
        if found is not None:
            return found
        if self.unk_id is not None:
            return self.unk_id
        raise UnknownCharacterError(token)

    def tokenize(self, text: str) -> list[tuple[str, int]]:
        """Typed text as (piece, token id) pairs, the pieces without the whitespace that
        separates words; text outside the vocabulary follows the `<unk>` policy."""
        if self.split == "chars" and self._longest == 1:  # the common case, kept fast
            index, unknown = self._index, self._unknown
            return [(char, found if (found := index.get(char)) is not None else unknown(char))
                    for char in text]
        if self.split == "chars":
            return self._longest_match(text)
        out = []
        for word in text.split():
            found = self._typable(word)
            if found is not None:
                out.append((word, found))
                continue
            try:  # a word with punctuation attached: `dog.` as `dog` `.`
                out.extend(self._longest_match(word, unknown=False))
            except UnknownCharacterError:
                out.append((word, self._unknown(word)))
        return out

    def chunks(self, text: str, size: int) -> Iterator[str]:
        """`text` in pieces of at least `size` characters (the last one shorter), cut only
        between tokens: feeding the pieces one after another feeds exactly the tokens of
        feeding it whole (a word is never split, nor a token such as `<eos>`)."""
        if size < 1:
            raise ValueError(f"chunk size must be at least 1, not {size}")
        if self.split == "chars" and self._longest == 1:
            cuts = iter(range(size, len(text), size))
        elif self.split == "chars":
            cuts = _spaced(self._token_ends(text), size)
        else:  # words: cut at whitespace, which always ends a word
            cuts = _spaced((i for i, char in enumerate(text) if char.isspace()), size)
        start = 0
        for cut in cuts:
            if cut < len(text):
                yield text[start:cut]
                start = cut
        if start < len(text):
            yield text[start:]

    def encode(self, text: str) -> list[int]:
        """Token ids for typed text (`tokenize` without the pieces)."""
        return [token_id for _, token_id in self.tokenize(text)]

    def join(self, pieces: Iterable[str]) -> str:
        """Typed pieces back as text: words with a space between them."""
        return (" " if self.split == "words" else "").join(pieces)

    def decode(self, ids: Sequence[int], *, strip_specials: bool = True) -> str:
        """Text for indices; specials are dropped unless `strip_specials` is false."""
        specials = self.specials
        return self.join(self.tokens[int(i)] for i in ids
                         if not (strip_specials and self.tokens[int(i)] in specials))

    def to_json(self) -> list[str]:
        return list(self.tokens)

    def _typable(self, piece: str) -> int | None:
        return None if piece in SPECIALS else self._index.get(piece)

    def _unknown(self, piece: str) -> int:
        if self.unk_id is None:
            raise UnknownCharacterError(piece)
        return self.unk_id

    def _token_ends(self, text: str) -> Iterator[int]:
        """Where each token of `_longest_match` ends, lazily and whatever the `<unk>` policy
        (an unmatched character is a token of its own there)."""
        position = 0
        while position < len(text):
            position += next((size for size in range(min(self._longest, len(text) - position),
                                                     1, -1)
                              if self._typable(text[position:position + size]) is not None), 1)
            yield position

    def _longest_match(self, text: str, unknown: bool = True) -> list[tuple[str, int]]:
        """At each position the longest token that matches; an unmatched character is one
        unknown (or, with `unknown` false, an error)."""
        out, position = [], 0
        while position < len(text):
            for size in range(min(self._longest, len(text) - position), 0, -1):
                piece = text[position:position + size]
                found = self._typable(piece)
                if found is not None:
                    break
            else:
                piece = text[position]
                if not unknown:
                    raise UnknownCharacterError(piece)
                found = self._unknown(piece)
            out.append((piece, found))
            position += len(piece)
        return out


def _spaced(boundaries: Iterable[int], size: int) -> Iterator[int]:
    """The first boundary at least `size` characters after the previous cut, each time."""
    last = 0
    for boundary in boundaries:
        if boundary - last >= size:
            yield boundary
            last = boundary


CharVocab = Vocab  # the name most of the code base knows it by
