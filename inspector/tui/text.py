"""How tokens and steps are written on screen: one place, so tape, log and bars agree."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from rich.cells import cell_len
from rich.style import Style

from inspector.tui.numbers import number
from models.errors import printable

NO_PREDICTION = "<NaN>"  # the engine's prediction when the output is not finite (records.py)
SPECIAL_GLYPHS = {"<unk>": "¿", "<s>": "⟨", "</s>": "⟩", " ": "␣", "\n": "↵", "\t": "⇥",
                  NO_PREDICTION: "!"}
SUMMARY_UNITS = 8  # values of the state a log line shows


def glyph(token: str) -> str:
    """One terminal cell standing for a token, so columns of the tape stay aligned."""
    if token in SPECIAL_GLYPHS:
        return SPECIAL_GLYPHS[token]
    if len(token) == 1 and token.isprintable() and cell_len(token) == 1:
        return token
    return "·"


def token_label(token: str, width: int = 12) -> str:
    """A token as the tape writes it: one cell for a character or a special, a word as itself
    (cut at `width` cells), so a word model's tape shows its words."""
    if len(token) == 1 or token in SPECIAL_GLYPHS or not token.isprintable():
        return glyph(token)
    return token if cell_len(token) <= width else token[:width - 1] + "…"


def token_repr(token: str) -> str:
    """A token as the step log writes it: characters quoted like Python, longer tokens bare but
    escaped (a vocabulary from a file may hold control or bidi characters)."""
    return printable(token) if len(token) > 1 else repr(token)


def vector_summary(values: np.ndarray, limit: int = SUMMARY_UNITS) -> str:
    """`[0.12 -0.53 1e+30 nan …]`: the first few values, each through the one number formatter
    (a huge or non-finite value stays short); the log line is cut at the screen edge anyway."""
    shown = " ".join(number(v, sign=False) for v in np.asarray(values[:limit], dtype=np.float64))
    return f"[{shown}{' …' if len(values) > limit else ''}]"


def state_summary(name: str, values: np.ndarray, limit: int = SUMMARY_UNITS) -> str:
    """`l1.h[0:8]=[…]`: a state summary labelled with its layer and the units shown."""
    return f"{name}[0:{min(limit, len(values))}]={vector_summary(values, limit)}"


def log_line(t: int, typed: str, prediction: str | None, confidence: float, state: str,
             edits: tuple[str, ...] = ()) -> str:
    """The seed's step line: `t=1  x='a'  → y='b' (0.99)  l0.h[0:8]=[…]`, the state being the
    one *after* step t (as every panel shows it), last so a narrow screen cuts only the summary.
    Interventions that shaped the step are written before it, marked `◆`. A step without an
    output (an encoder's) has no `→ y` part."""
    marks = "".join(f"◆ {edit}  " for edit in edits)
    output = "" if prediction is None else (
        f"→ y={token_repr(prediction)} ({number(confidence, sign=False)})  ")
    return f"t={t}  x={token_repr(typed)}  {output}{marks}{state}"


def style_runs(pieces: Iterable[tuple[Style | None, str]]) -> list[list]:
    """`(style, text)` pieces joined where neighbours share one style object (the cached
    styles make that the common case), as `[style, text]` runs: a run is one segment."""
    runs: list[list] = []
    for style, text in pieces:
        if runs and runs[-1][0] is style:
            runs[-1][1] += text
        else:
            runs.append([style, text])
    return runs
