"""Your own X → Y: pairs of token sequences from a file, a seeded held-out split, padded batches.

A file holds one pair a line: TSV `input<TAB>target`, or JSON lines `{"input": …, "target": …}`
(`.jsonl`, `.ndjson` or `.json`; each value a string, or a list of tokens). Tokens are characters,
or whitespace-separated words (`tokens="words"`). Every problem with a file is a `PairsError`: one
line naming the file and the line number, so the command can print it and exit 2.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from models.tasks import Seq2SeqBatch, pad_seq2seq
from models.vocab import BOS, EOS, SPECIALS, UNK, CharVocab

TOKENIZATIONS = ("chars", "words")
JSON_SUFFIXES = (".jsonl", ".ndjson", ".json")
DATA_DIR = Path(__file__).parent / "data"
IGNORE = -100  # target padding: cross_entropy's ignore_index


class PairsError(ValueError):
    """Bad pairs data; the message is one line naming the file (and line) and the problem."""


@dataclass(frozen=True)
class Pair:
    line: int  # 1-based line number in the file
    source: tuple[str, ...]
    target: tuple[str, ...]


@dataclass(frozen=True)
class PairsData:
    path: Path
    tokens: str  # chars | words
    pairs: tuple[Pair, ...]

    @property
    def first_unaligned(self) -> Pair | None:
        """The first pair whose target does not have one token per input token."""
        return next((p for p in self.pairs if len(p.source) != len(p.target)), None)

    def vocab(self, seq2seq: bool) -> CharVocab:
        """Specials, then every token of the file (both sides: one vocabulary, like the zoo's)."""
        specials = (UNK, BOS, EOS) if seq2seq else (UNK,)
        seen = sorted({t for p in self.pairs for t in (*p.source, *p.target)})
        return CharVocab((*specials, *seen), split=self.tokens)


@dataclass(frozen=True)
class Split:
    """Indices into `PairsData.pairs`; pairs with the same input are always on the same side."""

    train: tuple[int, ...]
    held_out: tuple[int, ...]


def resolve_data(name: str | Path) -> Path:
    """A path as given, or the name of a bundled data file (`doubled.tsv`)."""
    path = Path(name)
    if path.exists() or path.parent != Path("."):
        return path
    bundled = DATA_DIR / path.name
    return bundled if bundled.is_file() else path


def read_pairs(name: str | Path, tokens: str = "chars") -> PairsData:
    """Read and check every line of a pairs file."""
    if tokens not in TOKENIZATIONS:
        raise PairsError(f"tokens must be one of {', '.join(TOKENIZATIONS)}, not {tokens!r}")
    path = resolve_data(name)
    if not path.exists():
        raise PairsError(f"{path}: no such file")
    if not path.is_file():
        raise PairsError(f"{path}: not a regular file")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise PairsError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    as_json = path.suffix.lower() in JSON_SUFFIXES
    pairs = []
    for number, line in enumerate(raw.split(b"\n"), start=1):
        try:
            text = line.decode("utf-8").removesuffix("\r")
        except UnicodeDecodeError as exc:
            raise PairsError(f"{path}:{number}: not UTF-8 text (byte 0x{line[exc.start]:02x} at "
                             f"column {exc.start + 1})") from None
        if number == 1:
            text = text.removeprefix("\ufeff")
        if not text.strip():
            continue
        where = f"{path}:{number}"
        source, target = _json_pair(where, text) if as_json else _tsv_pair(where, text)
        pairs.append(Pair(number, _tokens(where, "input", source, tokens),
                          _tokens(where, "target", target, tokens)))
    if not pairs:
        layout = '{"input": …, "target": …} lines' if as_json else "input<TAB>target lines"
        raise PairsError(f"{path}: no pairs (the file is empty; it needs {layout})")
    return PairsData(path, tokens, tuple(pairs))


def _tsv_pair(where: str, text: str) -> tuple[str, str]:
    fields = text.split("\t")
    if len(fields) == 1:
        raise PairsError(f"{where}: no tab between input and target (each line is "
                         "input<TAB>target)")
    if len(fields) > 2:
        raise PairsError(f"{where}: {len(fields) - 1} tabs; each line is input<TAB>target with "
                         "one tab")
    return fields[0], fields[1]


def _json_pair(where: str, text: str) -> tuple[object, object]:
    try:
        item = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PairsError(f"{where}: not valid JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(item, dict):
        raise PairsError(f'{where}: not a JSON object like {{"input": …, "target": …}}')
    for key in ("input", "target"):
        if key not in item:
            raise PairsError(f"{where}: no {key!r} key")
    return item["input"], item["target"]


def _tokens(where: str, side: str, value: object, tokens: str) -> tuple[str, ...]:
    if isinstance(value, str):
        out = tuple(value.split()) if tokens == "words" else tuple(value)
    elif isinstance(value, list) and all(isinstance(t, str) and t for t in value):
        out = tuple(value)
    else:
        raise PairsError(f"{where}: the {side} is neither a string nor a list of tokens")
    if not out:
        raise PairsError(f"{where}: empty {side}")
    reserved = next((t for t in out if t in SPECIALS), None)
    if reserved is not None:
        raise PairsError(f"{where}: the {side} holds {reserved!r}, a token the models reserve")
    if tokens == "chars" and any(len(t) != 1 for t in out):
        raise PairsError(f"{where}: the {side} lists tokens longer than one character; "
                         "use --tokens words")
    return out


def split_pairs(data: PairsData, holdout: float, seed: int) -> Split:
    """A seeded split by distinct input: a held-out input is never seen in training."""
    if not 0 <= holdout < 1:
        raise PairsError(f"--holdout must be at least 0 and below 1, not {holdout}")
    by_source: dict[tuple[str, ...], list[int]] = {}
    for index, pair in enumerate(data.pairs):
        by_source.setdefault(pair.source, []).append(index)
    groups = list(by_source.values())
    count = round(len(groups) * holdout)
    if holdout > 0:
        count = max(count, 1)
        if count >= len(groups):
            raise PairsError(f"{data.path}: {len(groups)} distinct input(s) is too few to hold "
                             f"{holdout:g} out and train on the rest (--holdout 0 uses all)")
    order = np.random.default_rng(seed).permutation(len(groups))
    held = sorted(i for g in order[:count] for i in groups[g])
    train = sorted(i for g in order[count:] for i in groups[g])
    return Split(tuple(train), tuple(held))


@dataclass(frozen=True)
class StepBatch:
    inputs: np.ndarray  # (B, T) int64, right-padded with 0
    targets: np.ndarray  # (B, T) int64, padded with IGNORE


def encode(vocab: CharVocab, tokens: tuple[str, ...]) -> list[int]:
    return [vocab.id(t) for t in tokens]


def step_batch(data: PairsData, vocab: CharVocab, indices) -> StepBatch:
    """Aligned pairs as padded arrays: a step model reads x_t and is scored on y_t."""
    pairs = [data.pairs[i] for i in indices]
    width = max(len(p.source) for p in pairs)
    inputs = np.zeros((len(pairs), width), dtype=np.int64)
    targets = np.full((len(pairs), width), IGNORE, dtype=np.int64)
    for row, pair in enumerate(pairs):
        inputs[row, : len(pair.source)] = encode(vocab, pair.source)
        targets[row, : len(pair.target)] = encode(vocab, pair.target)
    return StepBatch(inputs, targets)


def seq2seq_batch(data: PairsData, vocab: CharVocab, indices) -> Seq2SeqBatch:
    pairs = [data.pairs[i] for i in indices]
    return pad_seq2seq(vocab, [encode(vocab, p.source) for p in pairs],
                       [encode(vocab, p.target) for p in pairs])
