"""The selected unit: its value over the timeline, its gates, and where each gate's input came from.

The split shows how much of a gate's pre-activation came from the character (`W_ih x + b_ih`) and
how much from memory (`W_hh h + b_hh`): the question "does unit 17 react to the letter or count?".
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from rich.text import Text
from textual.widget import Widget

SPARKS = "▁▂▃▄▅▆▇█"


def sparkline(values: np.ndarray) -> Text:
    """One character per value, scaled to the finite range; NaN/Inf drawn as a magenta `!`."""
    values = np.asarray(values, dtype=np.float64)
    finite = values[np.isfinite(values)]
    text = Text()
    if not finite.size:
        return Text("!" * len(values), style="magenta")
    low, high = float(finite.min()), float(finite.max())
    span = high - low
    for value in values:
        if not np.isfinite(value):
            text.append("!", style="bold magenta")
        else:
            level = int(round((value - low) / span * (len(SPARKS) - 1))) if span else 3
            text.append(SPARKS[level], style="cyan")
    return text


@dataclass(frozen=True)
class GateSplit:
    """One gate of the selected unit at the step on view."""

    name: str
    value: float
    input_part: float
    memory_part: float

    @property
    def input_share(self) -> float:
        total = abs(self.input_part) + abs(self.memory_part)
        return abs(self.input_part) / total if total and np.isfinite(total) else 0.5


@dataclass(frozen=True)
class UnitView:
    """What the unit panel shows, plain numbers taken from the engine's records."""

    layer: int
    unit: int
    hidden: int
    state: dict[str, float]  # "h" and, for LSTMs, "c" at the step on view
    history: np.ndarray  # h of this unit for steps history_start.. (the window on screen)
    history_start: int
    gates: tuple[GateSplit, ...] = field(default=())


def signed(value: float) -> str:
    return f"{value:+.2f}" if np.isfinite(value) else f"{value:>5}"


class UnitDetail(Widget):
    """Unit panel; `show(None, ...)` before the first step."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.view: UnitView | None = None
        self.placeholder = ""

    @property
    def history_width(self) -> int:
        """How many steps of history fit on the sparkline line."""
        return max(4, self.size.width - 2)

    def show(self, view: UnitView | None, placeholder: str = "") -> None:
        self.view = view
        self.placeholder = placeholder
        self.refresh(layout=True)

    def render(self) -> Text:
        view = self.view
        if view is None:
            return Text(self.placeholder, style="dim")
        text = Text()
        text.append(f"l{view.layer} unit {view.unit}", style="bold")
        text.append(f" of {view.hidden}\n", style="dim")
        text.append("  ".join(f"{k} {signed(v)}" for k, v in view.state.items()))
        stop = view.history_start + len(view.history) - 1
        text.append(f"\nh over t={view.history_start}..{stop}\n", style="dim")
        text.append_text(sparkline(view.history))
        if view.gates:
            text.append("\n    value  input memory", style="dim")
        width = max(3, self.size.width - 22)
        for gate in view.gates:
            share = round(gate.input_share * width)
            text.append(f"\n{gate.name:<2}{signed(gate.value)} {signed(gate.input_part)} "
                        f"{signed(gate.memory_part)} ")
            text.append("▆" * share, style="yellow")
            text.append("▆" * (width - share), style="blue")
        if view.gates:
            text.append("\n")
            text.append("▆ input", style="yellow")
            text.append(" vs ", style="dim")
            text.append("▆ memory", style="blue")
        return text
