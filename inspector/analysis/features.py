"""Features a user names: one value per step, to hold the hidden state against.

A feature describes the state *after* step t's input (as every panel does): `in-quotes` is 1 on
an opening quote and 0 on the closing one. Task features come from `models.tasks`, the one source
of task targets, so the analysis and the training data can never disagree.

    pair-position   doubled task: 0 on the first letter of a pair, 1 on the second
    position        the step number t
    char=X          1 where the input is X
    bit=N           flip-flop task: bit N (1-3) after the step; `bits` the number 0-7
    in-quotes       1 inside a '…' or "…" string (triple quotes and backslash escapes too)
    in-parens       1 inside ( … ), at any depth
    indent          the indentation (leading spaces) of the current line
    line-position   the column of the character in its line
    regex:PATTERN   1 on every character inside a match of PATTERN
    span:A-B        1 on steps A to B-1 (a span selected on the tape), 0 elsewhere
    labels:FILE     one label per token: numbers or names, one a line (or a JSON list)
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from models import tasks

BINARY, CATEGORICAL, CONTINUOUS = "binary", "categorical", "continuous"
NAMES = ("pair-position", "position", "char=X", "bit=N", "bits", "in-quotes", "in-parens",
         "indent", "line-position", "regex:PATTERN", "span:A-B", "labels:FILE")


class FeatureError(ValueError):
    """A feature that cannot be computed; the message is one line naming it."""


@dataclass(frozen=True)
class Feature:
    """`values[t]` for every step; `kind` says which statistics apply (binary features get
    LSTMVis's threshold and Jaccard; categorical ones a probe's accuracy; continuous ones r/R²)."""

    name: str
    values: np.ndarray = field(repr=False)  # (T,) float64, read-only
    kind: str
    classes: tuple[str, ...] = ()  # names of a categorical feature's values 0, 1, …

    @property
    def steps(self) -> int:
        return len(self.values)


def _made(name: str, values, kind: str | None = None, classes: tuple[str, ...] = ()) -> Feature:
    array = np.asarray(values, dtype=np.float64)
    array.setflags(write=False)
    if kind is None:
        kind = BINARY if np.isin(array, (0.0, 1.0)).all() else CONTINUOUS
    return Feature(name, array, kind, classes)


def in_quotes(text: str) -> np.ndarray:
    out = np.zeros(len(text), dtype=np.int64)
    quote, escaped, t = "", False, 0
    while t < len(text):
        char = text[t]
        if quote:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif text.startswith(quote, t):
                out[t:t + len(quote) - 1] = 1  # the closing run's first quotes are still inside
                t += len(quote)
                quote = ""
                continue
            elif char == "\n" and len(quote) == 1:
                quote = ""  # an unterminated one-line string ends with its line
                continue
            out[t] = 1
        elif char in "'\"":
            quote = char * 3 if text.startswith(char * 3, t) else char
            out[t:t + len(quote)] = 1
            t += len(quote)
            continue
        t += 1
    return out


def in_parens(text: str) -> np.ndarray:
    depth = np.cumsum([1 if c == "(" else -1 if c == ")" else 0 for c in text])
    return (np.maximum.accumulate(np.maximum(-depth, 0)) + depth > 0).astype(np.int64) \
        if len(text) else np.zeros(0, dtype=np.int64)


def line_positions(text: str) -> np.ndarray:
    out = np.zeros(len(text), dtype=np.int64)
    column = 0
    for t, char in enumerate(text):
        out[t] = column
        column = 0 if char == "\n" else column + 1
    return out


def indents(text: str) -> np.ndarray:
    """The number of leading spaces of each character's line, as far as it has been read."""
    out = np.zeros(len(text), dtype=np.int64)
    indent, leading = 0, True
    for t, char in enumerate(text):
        if char == "\n":
            out[t] = indent
            indent, leading = 0, True
            continue
        if leading and char == " ":
            indent += 1
        else:
            leading = False
        out[t] = indent
    return out


def regex_spans(text: str, pattern: str) -> np.ndarray:
    try:
        compiled = re.compile(pattern)
    except re.error as exc:
        raise FeatureError(f"regex:{pattern}: not a regular expression ({exc})") from None
    out = np.zeros(len(text), dtype=np.int64)
    for match in compiled.finditer(text):
        out[match.start():match.end()] = 1
    return out


def read_labels(path: str, steps: int) -> tuple[np.ndarray, str, tuple[str, ...]]:
    """Labels from a file: numbers (binary when all are 0/1) or names (categorical)."""
    try:
        raw = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise FeatureError(f"labels:{path}: cannot read it "
                           f"({getattr(exc, 'strerror', None) or exc})") from None
    if raw.lstrip().startswith("["):
        try:
            labels = [str(x) for x in json.loads(raw)]
        except json.JSONDecodeError as exc:
            raise FeatureError(f"labels:{path}: invalid JSON ({exc})") from None
    else:
        labels = [line.strip() for line in raw.splitlines() if line.strip()]
    if len(labels) != steps:
        raise FeatureError(f"labels:{path}: {len(labels)} labels for {steps} steps "
                           "(one label per token)")
    try:
        return np.array([float(x) for x in labels]), "", ()
    except ValueError:
        classes = tuple(sorted(set(labels)))
        index = {c: i for i, c in enumerate(classes)}
        kind = BINARY if len(classes) == 2 else CATEGORICAL
        return np.array([index[x] for x in labels], dtype=np.float64), kind, classes


def span_bounds(spec: str, steps: int) -> tuple[int, int]:
    """`span:A-B` -> (A, B): the steps A .. B-1, inside a text of `steps` steps."""
    start, dash, stop = spec[len("span:"):].partition("-")
    if not (dash and start.isdigit() and stop.isdigit()) or int(start) >= int(stop):
        raise FeatureError(f"{spec}: name the steps as span:A-B with A < B (steps A to B-1)")
    if int(stop) > steps:
        raise FeatureError(f"{spec}: the input has {steps} steps (0 to {steps - 1})")
    return int(start), int(stop)


def feature(spec: str, text: str) -> Feature:
    """The feature named `spec` over `text` (one value per character)."""
    if spec == "pair-position":
        return _made(spec, tasks.pair_positions(text), BINARY)
    if spec == "position":
        return _made(spec, np.arange(len(text)), CONTINUOUS)
    if spec.startswith("char="):
        char = spec[len("char="):]
        if len(char) != 1:
            raise FeatureError(f"{spec}: name one character (char=X)")
        return _made(spec, [c == char for c in text], BINARY)
    if spec == "bits":
        return _made(spec, tasks.flipflop_bits(text), CATEGORICAL,
                     tuple(str(k) for k in range(8)))
    if spec.startswith("bit="):
        bit = spec[len("bit="):]
        if bit not in ("1", "2", "3"):
            raise FeatureError(f"{spec}: the flip-flop has bits 1, 2 and 3")
        return _made(spec, (tasks.flipflop_bits(text) >> (int(bit) - 1)) & 1, BINARY)
    if spec == "in-quotes":
        return _made(spec, in_quotes(text), BINARY)
    if spec == "in-parens":
        return _made(spec, in_parens(text), BINARY)
    if spec == "indent":
        return _made(spec, indents(text), CONTINUOUS)
    if spec == "line-position":
        return _made(spec, line_positions(text), CONTINUOUS)
    if spec.startswith("regex:"):
        return _made(spec, regex_spans(text, spec[len("regex:"):]), BINARY)
    if spec.startswith("span:"):
        start, stop = span_bounds(spec, len(text))
        values = np.zeros(len(text))
        values[start:stop] = 1
        return _made(spec, values, BINARY)
    if spec.startswith("labels:"):
        values, kind, classes = read_labels(spec[len("labels:"):], len(text))
        return _made(spec, values, kind or None, classes)
    raise FeatureError(f"unknown feature {spec!r}; features: {', '.join(NAMES)}")
