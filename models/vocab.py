"""Character vocabularies: tokens in index order, with the specials the tasks need."""

from __future__ import annotations

import string
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

BOS = "<s>"
EOS = "</s>"
UNK = "<unk>"
SPECIALS = (UNK, BOS, EOS)


class UnknownCharacterError(ValueError):
    """A character the vocabulary cannot encode and that has no `<unk>` to fall back on."""

    def __init__(self, char: str) -> None:
        super().__init__(f"character {char!r} (U+{ord(char):04X}) is not in the model's vocabulary")
        self.char = char


@dataclass(frozen=True)
class CharVocab:
    """Tokens in index order; every non-special token is one character.

    Specials (`<s>`, `</s>`, `<unk>`) are only reachable by index, never by typing their spelling,
    so a user typing `<` feeds the `<` character (or `<unk>`), not a special.
    """

    tokens: tuple[str, ...]
    _index: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        tokens = tuple(self.tokens)
        object.__setattr__(self, "tokens", tokens)
        if len(set(tokens)) != len(tokens):
            dupes = sorted({t for t in tokens if tokens.count(t) > 1})
            raise ValueError(f"vocabulary has duplicate tokens: {dupes!r}")
        for token in tokens:
            if not isinstance(token, str) or (len(token) != 1 and token not in SPECIALS):
                raise ValueError(
                    f"vocabulary token {token!r} is neither one character nor one of {SPECIALS}"
                )
        object.__setattr__(self, "_index", {t: i for i, t in enumerate(tokens)})

    @classmethod
    def letters(cls, specials: Iterable[str] = (UNK,)) -> CharVocab:
        """Specials first, then `a`–`z`."""
        return cls((*specials, *string.ascii_lowercase))

    @classmethod
    def from_text(cls, text: str, specials: Iterable[str] = (UNK,)) -> CharVocab:
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
        return self._index.get(BOS)

    @property
    def eos_id(self) -> int | None:
        return self._index.get(EOS)

    def id(self, token: str) -> int:
        """Index of a token (a character or a special's spelling); unknown → `<unk>` or an error."""
        found = self._index.get(token)
        if found is not None:
            return found
        if self.unk_id is not None:
            return self.unk_id
        raise UnknownCharacterError(token)

    def encode(self, text: str) -> list[int]:
        """One index per character; characters outside the vocabulary follow the `<unk>` policy."""
        ids = []
        for char in text:
            found = self._index.get(char) if char not in SPECIALS else None
            if found is None:
                if self.unk_id is None:
                    raise UnknownCharacterError(char)
                found = self.unk_id
            ids.append(found)
        return ids

    def decode(self, ids: Sequence[int], *, strip_specials: bool = True) -> str:
        """Text for indices; specials are dropped unless `strip_specials` is false."""
        out = []
        for i in ids:
            token = self.tokens[int(i)]
            if strip_specials and token in SPECIALS:
                continue
            out.append(token)
        return "".join(out)

    def to_json(self) -> list[str]:
        return list(self.tokens)
