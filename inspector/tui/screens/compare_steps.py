"""Compare two steps: why does the same `a` give `a`, then `b`?

The two steps' states side by side per layer (h, and c for an LSTM), their difference as a third
map, the units that differ most by name and value, and one line saying what the difference means.
By default the two most recent steps that read the same character; type two other steps and Enter.
The screen never asks the engine: `compare(a, b)` (the controller's) returns what to draw.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

from inspector.tui.colours import SIGNED, adaptive_signed
from inspector.tui.explain import comparison_line
from inspector.tui.numbers import number
from inspector.tui.widgets.heatmap import Heatmap

if TYPE_CHECKING:
    from inspector.engine.step_diff import LayerDifference, StepComparison

Compare = Callable[[int, int], "StepComparison | str"]  # a comparison, or why there is none


def parse_steps(text: str) -> tuple[int, int]:
    """`0 1`, `t=0 t=1`, `0,1`: two step numbers."""
    words = text.replace(",", " ").replace("t=", " ").split()
    if len(words) != 2 or not all(word.isdigit() for word in words):
        raise ValueError("write two steps, like 0 1")
    return int(words[0]), int(words[1])


def unit_rows(layer: LayerDifference) -> str:
    return "\n".join(f"{unit.name:<10} {number(unit.a):>8} → {number(unit.b):>8}   "
                     f"Δ {number(unit.difference)}" for unit in layer.top) or "no unit differs"


class CompareSteps(ModalScreen[None]):
    """Escape closes; Enter compares the steps typed."""

    BINDINGS = [Binding("escape", "dismiss", "Close", id="close-compare-steps")]

    def __init__(self, compare: Compare, pair: tuple[int, int] | None, steps: int) -> None:
        super().__init__()
        self.compare = compare
        self.pair = pair
        self.steps = steps

    def compose(self) -> ComposeResult:
        with Vertical(id="compare-steps"):
            yield Label("Compare two steps (Escape closes)", id="compare-steps-title")
            start = "" if self.pair is None else f"{self.pair[0]} {self.pair[1]}"
            yield Input(start, placeholder=f"two steps of 0..{self.steps - 1}, like 0 1",
                        id="compare-steps-input")
            yield Static("", id="compare-steps-line")
            yield VerticalScroll(id="compare-steps-body")

    async def on_mount(self) -> None:
        if self.pair is None:
            self.say("no character was read twice yet: type two steps to compare, like 0 1")
        else:
            await self.show_pair(*self.pair)

    def say(self, text: str) -> None:
        self.query_one("#compare-steps-line", Static).update(text)

    async def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        try:
            a, b = parse_steps(event.value)
        except ValueError as exc:
            self.say(str(exc))
            return
        await self.show_pair(a, b)

    async def show_pair(self, a: int, b: int) -> None:
        comparison = self.compare(a, b)
        body = self.query_one("#compare-steps-body", VerticalScroll)
        await body.remove_children()
        if isinstance(comparison, str):
            self.say(comparison)
            return
        self.pair = (a, b)
        self.say(comparison_line(comparison))
        for layer in comparison.layers:
            await body.mount(*self.section(comparison, layer))

    @staticmethod
    def section(comparison: StepComparison, layer: LayerDifference) -> list:
        units = len(layer.a)
        name = layer.activation
        both = np.concatenate([layer.a, layer.b])
        scale = SIGNED if name.endswith(".h") else adaptive_signed(both, basis="fixed")
        maps = [Heatmap(name, f"t={comparison.t_a}", units),
                Heatmap(name, f"t={comparison.t_b}", units),
                Heatmap(f"Δ{name}", "difference", units)]
        maps[0].show(layer.a, scale, t=comparison.t_a)
        maps[1].show(layer.b, scale, t=comparison.t_b)
        maps[2].show(layer.difference, adaptive_signed(layer.difference, basis="fixed"))
        header = Static(f"{name}  apart by {number(layer.distance, sign=False)}",
                        classes="compare-steps-name")
        return [header, Container(*maps, classes="compare-steps-maps"),
                Static(unit_rows(layer), classes="compare-steps-units")]
