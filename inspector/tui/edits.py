"""What the edit dialogs accept: one line such as `set 0.5`, `clamp l1.c[3] -1` or `swap world`,
parsed into the engine's `Intervention` / `HandoffEdit`.

Typing a line keeps every printable key usable inside the dialog while the screens keep theirs for
the model. Pure functions, so the grammar is tested without a terminal. The engine is imported
inside the functions: it pulls in torch, which the first screen must not wait for.
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from inspector.engine import HandoffEdit, Intervention

TARGET = re.compile(r"^(l\d+\.[hc])(?:\[(\d+)\])?$")
INTERVENTION_HELP = ("zero · set VALUE · scale VALUE: edit the state the next step starts from\n"
                     "clamp VALUE: hold it in every later step's state, before the output head "
                     "reads it · release\n"
                     "another unit or state: add it, e.g. clamp l1.c[5] 0.5")
HANDOFF_HELP = ("zero · scale VALUE · swap SOURCE  (whole, or add l0.h / l1.c[5])\n"
                "set l0.h[5] VALUE · clear (drop every edit)")


class EditError(ValueError):
    """A line the dialog cannot use; the message says what to type instead."""


def _split(words: list[str]) -> tuple[tuple[str, int | None] | None, list[str]]:
    """Pull an optional target (`l0.h`, `l0.c[3]`) out of the words."""
    for index, word in enumerate(words):
        match = TARGET.match(word)
        if match:
            unit = int(match.group(2)) if match.group(2) is not None else None
            return (match.group(1), unit), words[:index] + words[index + 1:]
    return None, words


def _value(kind: str, words: list[str]) -> float:
    if len(words) != 1:
        raise EditError(f"{kind} needs one number, e.g. `{kind} 0.5`")
    try:
        value = float(words[0])
    except ValueError:
        raise EditError(f"{words[0]!r} is not a number") from None
    if not math.isfinite(value) or not math.isfinite(float(np.float32(value))):
        raise EditError(f"{words[0]!r} is not a finite float32 number: a state holding it "
                        "would make every later step NaN or Inf")
    return value


def parse_intervention(line: str, target: str | None = None,
                       unit: int | None = None) -> Intervention:
    """`zero`, `set 0.5`, `clamp -1`, `release`, `scale 2` on the selected unit (`target`[`unit`])
    unless the line names another target (`set l0.h[7] 5`; `set l0.h[7]=5` reads the same)."""
    from inspector.engine import Intervention

    kind, *words = line.replace("=", " ").split() or [""]
    if kind not in ("zero", "set", "clamp", "release", "scale"):
        raise EditError(f"start with zero, set, clamp, release or scale (not {kind!r})")
    named, words = _split(words)
    if named is not None:
        target, unit = named
    if target is None:
        raise EditError(f"{kind} needs a target such as l0.h[7]")
    if kind in ("zero", "release"):
        if words:
            raise EditError(f"{kind} takes no value")
        return Intervention(kind, target, unit)
    return Intervention(kind, target, unit, _value(kind, words))


def parse_handoff_edit(line: str) -> HandoffEdit | None:
    """A handoff edit, or None for `clear` (drop every edit)."""
    from inspector.engine import HandoffEdit

    kind, *words = line.split() or [""]
    if kind == "clear" and not words:
        return None
    if kind not in ("zero", "scale", "set", "swap"):
        raise EditError(f"start with zero, scale, set, swap or clear (not {kind!r})")
    named, words = _split(words)
    target, unit = named if named is not None else (None, None)
    if kind == "swap":
        if len(words) != 1 or not words[0].isprintable():
            raise EditError("swap needs the other source, e.g. `swap world`")
        return HandoffEdit("swap", target, unit, source=words[0])
    if kind == "zero":
        if words:
            raise EditError("zero takes no value")
        return HandoffEdit("zero", target, unit)
    if kind == "set" and unit is None:
        raise EditError("set needs a unit, e.g. `set l0.h[5] 1.0`")
    return HandoffEdit(kind, target, unit, _value(kind, words))
