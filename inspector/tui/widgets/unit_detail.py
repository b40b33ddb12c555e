"""The selected unit: its value over the timeline, its gates, and where each gate's input came from.

The split shows how much of a gate's pre-activation came from the character (`W_ih x + b_ih`) and
how much from memory (`W_hh h + b_hh`): the question "does unit 17 react to the letter or count?".
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from rich.segment import Segment
from rich.style import Style

from inspector.tui.widgets.lines import Line, LinesWidget

SPARKS = "▁▂▃▄▅▆▇█"
BOLD = Style(bold=True)
DIM = Style(dim=True)
SPARK = Style(color="cyan")
NONFINITE = Style(color="magenta", bold=True)
INPUT = Style(color="yellow")
MEMORY = Style(color="blue")


def sparkline(values: np.ndarray) -> list[Segment]:
    """One character per value, scaled to the finite range; NaN/Inf drawn as a magenta `!`."""
    values = np.asarray(values, dtype=np.float64)
    finite = np.isfinite(values)
    if not finite.any():
        return [Segment("!" * len(values), NONFINITE)]
    low, high = float(values[finite].min()), float(values[finite].max())
    with np.errstate(invalid="ignore"):
        scaled = (values - low) / (high - low) if high > low else np.full(len(values), 0.5)
    levels = np.rint(np.where(finite, scaled, 0.0) * (len(SPARKS) - 1)).astype(int).tolist()
    if finite.all():
        return [Segment("".join(SPARKS[level] for level in levels), SPARK)]
    return [Segment(SPARKS[level], SPARK) if ok else Segment("!", NONFINITE)
            for level, ok in zip(levels, finite.tolist(), strict=True)]


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


class UnitDetail(LinesWidget):
    """Unit panel; `show(None, placeholder)` before the first step."""

    @property
    def history_width(self) -> int:
        """How many steps of history fit on the sparkline line."""
        return max(4, self.size.width)

    def show(self, view: UnitView | None, placeholder: str = "") -> None:
        if view is None:
            self.set_lines([[Segment(placeholder, DIM)]])
            return
        stop = view.history_start + len(view.history) - 1
        lines: list[Line] = [
            [Segment(f"l{view.layer} unit {view.unit}", BOLD),
             Segment(f" of {view.hidden}", DIM)],
            [Segment("  ".join(f"{k} {signed(v)}" for k, v in view.state.items()))],
            [Segment(f"h over t={view.history_start}..{stop}", DIM)],
            sparkline(view.history),
        ]
        if view.gates:
            lines.append([Segment("    value  input memory", DIM)])
            width = max(3, self.size.width - 22)
            for gate in view.gates:
                share = round(gate.input_share * width)
                lines.append([Segment(f"{gate.name:<2}{signed(gate.value)} "
                                      f"{signed(gate.input_part)} {signed(gate.memory_part)} "),
                              Segment("▆" * share, INPUT), Segment("▆" * (width - share), MEMORY)])
            lines.append([Segment("▆ input", INPUT), Segment(" vs ", DIM),
                          Segment("▆ memory", MEMORY)])
        self.set_lines(lines)
