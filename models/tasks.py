"""The seed tasks and their data generators.

- `shift`:   a→b, b→c, …, z→a. Each output depends only on the current input: an MLP learns it.
- `doubled`: aabbcc…zz → abcd…zabcd…z. The first `a` must give `a` and the second `b`: the same
             input needs two answers, so only a model with memory (a hidden state) can learn it.
- `reverse`: seq2seq, a–z strings of length 1–12 → the string reversed.
- `text`:    next-character language model on a corpus (bundled Python source by default).
- `flipflop`: three remembered bits. `A`/`a`, `B`/`b`, `C`/`c` set / reset bit 1, 2, 3 and `.` is
             no pulse; the target at every step is the digit `0`–`7` naming the bits (bit 1 the
             lowest), starting from 0. Between pulses the state must hold still: the classic
             case of fixed points (Sussillo & Barak 2013), one stable point per bit pattern.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from models.vocab import BOS, EOS, UNK, CharVocab

LETTERS = string.ascii_lowercase
CORPUS_PATH = Path(__file__).parent / "data" / "corpus.txt"
TASKS = ("shift", "doubled", "reverse", "text", "flipflop")
MAX_REVERSE_LEN = 12
MAX_CORPUS_BYTES = 64 * 2**20  # read whole into memory and encoded as int64 (8 bytes a char)


def shift_target(text: str) -> str:
    """a→b, …, z→a for every letter."""
    return "".join(LETTERS[(LETTERS.index(ch) + 1) % 26] for ch in text)


def doubled_source(start_pair: int, pairs: int) -> str:
    """`pairs` doubled letters starting at letter `start_pair` (wrapping z→a): 'ccdd…'."""
    return "".join(LETTERS[(start_pair + k) % 26] * 2 for k in range(pairs))


def doubled_target(start_pair: int, pairs: int) -> str:
    """Pair j (letter j, doubled) maps to letters 2j and 2j+1 mod 26: aabb…zz → abc…zabc…z."""
    out = []
    for k in range(pairs):
        j = (start_pair + k) % 26
        out.append(LETTERS[(2 * j) % 26] + LETTERS[(2 * j + 1) % 26])
    return "".join(out)


def pair_positions(text: str) -> np.ndarray:
    """The doubled task's `pair-position` of every character: 0 on the first letter of a pair,
    1 on the second (a letter repeating the one before it, when that one began a pair)."""
    out = np.zeros(len(text), dtype=np.int64)
    for t in range(1, len(text)):
        out[t] = 1 if text[t] == text[t - 1] and out[t - 1] == 0 else 0
    return out


FLIPFLOP_PULSES = "ABCabc"  # set bit 1, 2, 3; reset bit 1, 2, 3
FLIPFLOP_HOLD = "."


def flipflop_bits(text: str) -> np.ndarray:
    """(T,) the three bits after each character, as the number 0–7 (bit 1 the lowest)."""
    out = np.zeros(len(text), dtype=np.int64)
    bits = 0
    for t, char in enumerate(text):
        k = FLIPFLOP_PULSES.find(char)
        if k >= 0:
            bits = bits | (1 << k) if k < 3 else bits & ~(1 << (k - 3))
        out[t] = bits
    return out


def flipflop_target(text: str) -> str:
    return "".join(str(b) for b in flipflop_bits(text))


def stream_targets(task: str | None, text: str) -> list[str | None] | None:
    """What a character task wants the model to output at each position of a typed stream
    (None at a position the task says nothing about); None for tasks without a per-character
    target (a language model's target is simply the next character).

    `shift`: the next letter. `doubled`: the letters of pair j (`pair_positions`) map to
    letters 2j and 2j+1, as `doubled_target` does."""
    if task not in ("shift", "doubled"):
        return None
    positions = pair_positions(text).tolist() if task == "doubled" else None
    out: list[str | None] = []
    for t, ch in enumerate(text):
        if ch not in LETTERS:
            out.append(None)
        elif task == "shift":
            out.append(shift_target(ch))
        else:
            out.append(doubled_target(LETTERS.index(ch), 1)[positions[t]])
    return out


def expected_output(task: str | None, source: str) -> list[str] | None:
    """What a seq2seq decoder should predict step by step (ending in `</s>`), where the task's
    answer is known."""
    if task == "reverse":
        return [*source[::-1], EOS]
    return None


@dataclass(frozen=True)
class CharBatch:
    inputs: np.ndarray  # (B, T) int64
    targets: np.ndarray  # (B, T) int64


@dataclass(frozen=True)
class Seq2SeqBatch:
    source: np.ndarray  # (B, S) int64, right-padded with pad_id
    decoder_input: np.ndarray  # (B, T) int64: <s> y1 … yn, padded
    targets: np.ndarray  # (B, T) int64: y1 … yn </s>, padded with -100 (ignored by the loss)
    source_lengths: np.ndarray  # (B,)


def letters_vocab() -> CharVocab:
    return CharVocab.letters((UNK,))


def seq2seq_vocab() -> CharVocab:
    return CharVocab.letters((UNK, BOS, EOS))


def shift_batch(rng: np.random.Generator, vocab: CharVocab, batch: int, length: int) -> CharBatch:
    """Random letters; each target is the next letter of the alphabet."""
    idx = rng.integers(0, 26, size=(batch, length))
    offset = vocab.id("a")
    return CharBatch(idx + offset, (idx + 1) % 26 + offset)


def doubled_batch(rng: np.random.Generator, vocab: CharVocab, batch: int,
                  pairs: int) -> CharBatch:
    """Windows of `pairs` doubled letters starting at any pair boundary (so typing may start at
    any letter). Vectorised form of doubled_source / doubled_target."""
    start = rng.integers(0, 26, size=(batch, 1))
    letter = (start + np.arange(pairs)) % 26  # (B, P)
    inputs = np.repeat(letter, 2, axis=1)  # (B, 2P)
    targets = np.stack([(2 * letter) % 26, (2 * letter + 1) % 26], axis=2).reshape(batch, -1)
    offset = vocab.id("a")
    return CharBatch(inputs + offset, targets + offset)


def flipflop_vocab() -> CharVocab:
    """Inputs `.ABCabc` and outputs `0`–`7` share one vocabulary (the head predicts tokens)."""
    return CharVocab.from_text(FLIPFLOP_HOLD + FLIPFLOP_PULSES + "01234567")


def flipflop_batch(rng: np.random.Generator, vocab: CharVocab, batch: int, length: int,
                   pulse: float = 0.1) -> CharBatch:
    """Random pulses (each step one with probability `pulse`) between stretches of `.`."""
    pulses = rng.integers(0, 6, size=(batch, length))
    chars = np.where(rng.random((batch, length)) < pulse, pulses, 6)  # 6: the hold
    alphabet = FLIPFLOP_PULSES + FLIPFLOP_HOLD
    texts = ["".join(alphabet[i] for i in row) for row in chars]
    inputs = np.array([vocab.encode(t) for t in texts], dtype=np.int64)
    targets = np.array([vocab.encode(flipflop_target(t)) for t in texts], dtype=np.int64)
    return CharBatch(inputs, targets)


def random_words(rng: np.random.Generator, count: int, max_len: int = MAX_REVERSE_LEN) -> list[str]:
    lengths = rng.integers(1, max_len + 1, size=count)
    return ["".join(LETTERS[i] for i in rng.integers(0, 26, size=n)) for n in lengths]


def reverse_batch(rng: np.random.Generator, vocab: CharVocab, batch: int) -> Seq2SeqBatch:
    return seq2seq_batch(vocab, random_words(rng, batch), lambda w: w[::-1])


def seq2seq_batch(vocab: CharVocab, sources: list[str], transform) -> Seq2SeqBatch:
    """Pad a list of source strings and their transformed targets into arrays."""
    return pad_seq2seq(vocab, [vocab.encode(s) for s in sources],
                       [vocab.encode(transform(s)) for s in sources])


def pad_seq2seq(vocab: CharVocab, sources: list[list[int]],
                targets: list[list[int]]) -> Seq2SeqBatch:
    """Token ids of sources and targets as padded encoder input, decoder input and targets."""
    pad = vocab.id(EOS)
    s_len = max(map(len, sources))
    t_len = max(map(len, targets)) + 1
    src = np.full((len(sources), s_len), pad, dtype=np.int64)
    dec_in = np.full((len(sources), t_len), pad, dtype=np.int64)
    tgt = np.full((len(sources), t_len), -100, dtype=np.int64)
    for row, (s, ids) in enumerate(zip(sources, targets)):
        src[row, : len(s)] = s
        dec_in[row, : len(ids) + 1] = [vocab.id(BOS), *ids]
        tgt[row, : len(ids) + 1] = [*ids, vocab.id(EOS)]
    return Seq2SeqBatch(src, dec_in, tgt, np.array([len(s) for s in sources]))


def sample_text(task: str, length: int = 1024, seed: int = 0) -> str:
    """About `length` characters of a task's own inputs, from its generator (for analyses that
    need states the model visits: the fixed-point search starts from them)."""
    rng = np.random.default_rng(seed)
    if task == "doubled":
        chunks = [doubled_source(int(rng.integers(0, 26)), int(rng.integers(4, 33)))
                  for _ in range(length // 8 + 1)]
    elif task == "shift":
        chunks = ["".join(LETTERS[i] for i in rng.integers(0, 26, size=length))]
    elif task == "flipflop":
        vocab = flipflop_vocab()
        rows = flipflop_batch(rng, vocab, length // 64 + 1, 64).inputs
        chunks = [vocab.decode(row) for row in rows]
    elif task == "reverse":
        chunks = random_words(rng, length // 6 + 1)
    elif task == "text":
        corpus = load_corpus()
        start = int(rng.integers(0, max(len(corpus) - length, 1)))
        chunks = [corpus[start:start + length]]
    else:
        raise ValueError(f"unknown task {task!r}; choose one of {', '.join(TASKS)}")
    return "".join(chunks)[:length]


def load_corpus(path: str | Path | None = None) -> str:
    """The text of a corpus file, or a ValueError naming the file: missing, too big, empty, or
    not text (not UTF-8, or holding NUL bytes, as binary files do)."""
    path = Path(path or CORPUS_PATH)
    try:
        size = path.stat().st_size
        if not path.is_file():
            raise ValueError(f"{path}: not a regular file (--corpus)")
        if size > MAX_CORPUS_BYTES:
            raise ValueError(f"{path}: {size:,} bytes; the text task reads at most "
                             f"{MAX_CORPUS_BYTES:,} (--corpus)")
        data = path.read_bytes()
    except FileNotFoundError:
        raise ValueError(f"{path}: does not exist (--corpus)") from None
    except OSError as exc:
        raise ValueError(f"{path}: cannot read it ({exc.strerror or exc}) (--corpus)") from None
    if not data:
        raise ValueError(f"{path}: the file is empty (--corpus)")
    if b"\0" in data:
        raise ValueError(f"{path}: holds NUL bytes, so it is binary, not text (--corpus)")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: not UTF-8 text (byte {data[exc.start]:#04x} at offset "
                         f"{exc.start:,}) (--corpus)") from None


def split_corpus(text: str, held_out: float = 0.05) -> tuple[str, str]:
    """The last `held_out` fraction of the text is kept for evaluation."""
    cut = int(len(text) * (1 - held_out))
    return text[:cut], text[cut:]


def text_batch(rng: np.random.Generator, encoded: np.ndarray, batch: int, length: int) -> CharBatch:
    """Random windows of an encoded corpus; targets are the next characters."""
    starts = rng.integers(0, len(encoded) - length - 1, size=batch)
    rows = starts[:, None] + np.arange(length)
    return CharBatch(encoded[rows], encoded[rows + 1])
