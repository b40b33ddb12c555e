"""What the edit dialogs accept: one line such as `set 0.5`, `clamp l1.c[3] -1` or `swap world`,
parsed into the engine's `Intervention` / `HandoffEdit`.

Typing a line keeps every printable key usable inside the dialog while the screens keep theirs for
the model. Pure functions, so the grammar is tested without a terminal. The engine is imported
inside the functions: it pulls in torch, which the first screen must not wait for.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from inspector.names import parse_name

if TYPE_CHECKING:
    from inspector.engine import HandoffEdit, Intervention

CELL_NAMES = {"rnn": "plain RNN", "gru": "GRU", "mlp": "MLP", "lstm": "LSTM"}


class EditError(ValueError):
    """A line the dialog cannot use; the message says what to type instead."""


@dataclass(frozen=True)
class StateShape:
    """What a target may name in the model open: its layers, units and whether it keeps a cell
    state, so a wrong target is refused in the dialog with the reason (and the examples shown
    are ones this model accepts)."""

    layers: int
    hidden: int
    has_cell: bool
    cell: str = "rnn"

    @classmethod
    def of(cls, model) -> StateShape:
        return cls(model.n_layers, model.hidden, model.has_cell, model.cell)

    def example(self, unit: int = 5) -> str:
        """A target this model has: the last layer's c (or h), unit 5 when there is one."""
        return f"l{self.layers - 1}.{'c' if self.has_cell else 'h'}[{min(unit, self.hidden - 1)}]"

    def layer_names(self) -> str:
        names = [f"l{k}" for k in range(self.layers)]
        if len(names) > 3:
            names = [names[0], "…", names[-1]]
        return (f"{self.layers} layer{'s' if self.layers > 1 else ''}: "
                + ", ".join(names))

    def check(self, target: str, unit: int | None) -> None:
        name = parse_name(target)
        index, what = name.layer, name.what
        if index >= self.layers:
            raise EditError(f"{target}: there is no layer {index}; this model has "
                            f"{self.layer_names()}")
        if what == "c" and not self.has_cell:
            raise EditError(f"{target}: this {CELL_NAMES.get(self.cell, 'model')} keeps no "
                            f"cell state c, only h (l{index}.h)")
        if unit is not None and unit >= self.hidden:
            raise EditError(f"{target}[{unit}]: there is no unit {unit}; {target} has units "
                            f"0..{self.hidden - 1}")


def intervention_help(shape: StateShape | None = None) -> str:
    """The F5 dialog's lines, with an example this model accepts."""
    example = shape.example() if shape is not None else "l1.c[5]"
    return ("zero · set VALUE · scale VALUE: edit the state the next step starts from\n"
            "clamp VALUE: hold it in every later step's state, before the output head reads it "
            "· release\n"
            f"another unit or state: add it, e.g. clamp {example} 0.5")


def handoff_help(shape: StateShape | None = None) -> str:
    """The handoff dialog's lines, with targets the decoder's state has."""
    example = shape.example() if shape is not None else "l1.c[5]"
    return (f"zero · scale VALUE · swap SOURCE  (whole, or add l0.h / {example})\n"
            f"set {example} VALUE · clear (drop every edit)")


def _is_number(word: str) -> bool:
    try:
        float(word)
    except ValueError:
        return False
    return True


def _split(words: list[str], shape: StateShape | None = None,
           strict: bool = True) -> tuple[tuple[str, int | None] | None, list[str]]:
    """Pull an optional target (`l0.h`, `l0.c[3]`) out of the words, checked against `shape`
    when given. `strict`: a word that looks like a target but is not one (a gate, `h[3]`
    without its layer) is refused with the reason rather than read as a value."""
    for index, word in enumerate(words):
        name = parse_name(word)
        if name is not None and name.is_state:
            if shape is not None:
                shape.check(name.target, name.unit)
            return (name.target, name.unit), words[:index] + words[index + 1:]
        if not strict or _is_number(word):
            continue
        if name is not None and name.is_gate and name.prefix is None:
            layer = f"l{name.layer}"
            state = f"{layer}.h or {layer}.c" if shape is None or shape.has_cell else f"{layer}.h"
            raise EditError(f"{word} is a gate: it is computed afresh from the input and the "
                            f"state at every step, so it cannot be edited; edit {state}, "
                            "the state the gates read")
        bare = parse_name(f"l0.{word}")
        if bare is not None and bare.is_state:  # `h[3]`: a state without its layer
            raise EditError(f"{word!r} needs its layer, e.g. l0.{word}")
        if "." in word or "[" in word:
            example = shape.example() if shape is not None else "l0.h[7]"
            raise EditError(f"{word!r} is not a target: write a layer's state such as "
                            f"{example}")
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


def parse_intervention(line: str, target: str | None = None, unit: int | None = None,
                       shape: StateShape | None = None) -> Intervention:
    """`zero`, `set 0.5`, `clamp -1`, `release`, `scale 2` on the selected unit (`target`[`unit`])
    unless the line names another target (`set l0.h[7] 5`; `set l0.h[7]=5` reads the same).
    With `shape`, a target the model does not have is refused here, with the reason."""
    from inspector.engine import Intervention

    kind, *words = line.replace("=", " ").split() or [""]
    if kind not in ("zero", "set", "clamp", "release", "scale"):
        raise EditError(f"start with zero, set, clamp, release or scale (not {kind!r})")
    named, words = _split(words, shape)
    if named is not None:
        target, unit = named
    if target is None:
        raise EditError(f"{kind} needs a target such as l0.h[7]")
    if kind in ("zero", "release"):
        if words:
            raise EditError(f"{kind} takes no value")
        return Intervention(kind, target, unit)
    return Intervention(kind, target, unit, _value(kind, words))


def parse_handoff_edit(line: str, shape: StateShape | None = None) -> HandoffEdit | None:
    """A handoff edit, or None for `clear` (drop every edit); targets checked against the
    decoder's `shape` when given."""
    from inspector.engine import HandoffEdit

    kind, *words = line.split() or [""]
    if kind == "clear" and not words:
        return None
    if kind not in ("zero", "scale", "set", "swap"):
        raise EditError(f"start with zero, scale, set, swap or clear (not {kind!r})")
    named, words = _split(words, shape, strict=kind != "swap")
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
