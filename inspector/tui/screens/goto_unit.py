"""Ctrl+G: go to a unit by name or number (`13`, `l1 13`, `l0.h[13]`, `l1.gate.f[5]`), so a unit
named in a paper, a log line or `rnn-inspect units` is one step away. Typing goes to the dialog,
never to the model; a wrong address is said inline and the dialog stays open."""

from __future__ import annotations

import re

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.validation import ValidationResult, Validator
from textual.widgets import Input, Label

from inspector.names import parse_name
from inspector.tui.screens.prompt import LinePrompt

LAYER_AND_UNIT = re.compile(r"l(\d+)(?:[\s:.,]+|\s*unit\s*)(\d+)")
UNIT = re.compile(r"(?:unit\s*)?(\d+)")


def parse_unit(text: str, n_layers: int, hidden: int, layer: int) -> tuple[int, int]:
    """(layer, unit) for an address; a bare number stays on `layer`. Raises ValueError with the
    sentence to show."""
    text = text.strip().lower()
    name = parse_name(text)
    if name is not None and name.unit is not None:  # l0.h[13], l1.gate.f[5], dec.l0.c[2]
        layer, unit = name.layer, name.unit
    elif match := LAYER_AND_UNIT.fullmatch(text):
        layer, unit = int(match[1]), int(match[2])
    elif match := UNIT.fullmatch(text):
        unit = int(match[1])
    else:
        raise ValueError(f"{text or 'nothing'}: write a unit number (13), a layer and a unit "
                         "(l1 13) or a name (l0.h[13])")
    if not 0 <= layer < n_layers:
        raise ValueError(f"there is no layer {layer}: the model has {n_layers} "
                         f"(l0..l{n_layers - 1})")
    if not 0 <= unit < hidden:
        raise ValueError(f"there is no unit {unit}: layers have units 0..{hidden - 1}")
    return layer, unit


class UnitAddress(Validator):
    def __init__(self, n_layers: int, hidden: int, layer: int) -> None:
        super().__init__()
        self.shape = (n_layers, hidden, layer)

    def validate(self, value: str) -> ValidationResult:
        try:
            parse_unit(value, *self.shape)
        except ValueError as exc:
            return self.failure(str(exc))
        return self.success()


class GotoUnit(LinePrompt):
    """Dismisses with the address typed once it names a unit of this model, None on Escape."""

    def __init__(self, n_layers: int, hidden: int, layer: int) -> None:
        super().__init__("Go to unit")
        self.shape = (n_layers, hidden, layer)

    def compose(self) -> ComposeResult:
        n_layers, hidden, layer = self.shape
        last = f"l{n_layers - 1}"
        with Vertical(id="prompt"):
            yield Label(self.title_text, id="prompt-title")
            yield Input("", placeholder=f"13, {last} {hidden - 1}, {last}.h[{hidden // 2}]",
                        validators=[UnitAddress(*self.shape)], validate_on=["submitted"],
                        id="prompt-input")
            yield Label(f"a number stays on layer {layer}; layers l0..{last}, units "
                        f"0..{hidden - 1}", id="prompt-hint")
            yield Label("", id="prompt-error")
