"""The selected unit: its value over the timeline, how that value is made, and where each gate's
input came from.

The formulas redo the step with its numbers (`f = σ(-0.32 + -0.80) = 0.25`, `c = f·c_prev + i·g`,
`h = o·tanh(c)`). The signed bars show each gate's input part (from the character, `W_ih x + b_ih`)
and memory part (from the previous state, `W_hh h + b_hh`) from a centre line: left negative, right
positive, so a learner sees which one pushes the gate open or shut.
"""

from __future__ import annotations

import numpy as np
from rich.segment import Segment
from rich.style import Style

from inspector.tui.explain import Formula, signed_bar
from inspector.tui.frames import UnitView
from inspector.tui.numbers import number
from inspector.tui.widgets.lines import Line, LinesWidget

SPARKS = "▁▂▃▄▅▆▇█"
BOLD = Style(bold=True)
DIM = Style(dim=True)
SPARK = Style(color="cyan")
NONFINITE = Style(color="magenta", bold=True)
INPUT = Style(color="yellow")
MEMORY = Style(color="blue")
SIDES = "  (− left, + right)"  # which way the input and memory bars point
KEY_TEXT = "█ input  █ memory" + SIDES


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


def top_level_terms(expression: str) -> list[str]:
    """`a·b + c·(d + e)` -> [`a·b`, `c·(d + e)`]: split at the `+`s outside brackets."""
    terms, depth, start = [], 0, 0
    for at, ch in enumerate(expression):
        depth += (ch == "(") - (ch == ")")
        if depth == 0 and expression.startswith(" + ", at):
            terms.append(expression[start:at])
            start = at + 3
    return [*terms, expression[start:]]


def wrap_terms(first: str, more: str, expression: str, width: int) -> list[str]:
    """The expression after `first`, moved to lines starting `more` at a term that would
    run past `width` (a term longer than a line stays whole: the panel cuts it, not a number)."""
    lines = [first]
    for n, term in enumerate(top_level_terms(expression)):
        joined = lines[-1] + (" + " if n else "") + term
        if n and len(joined) > width:
            lines.append(more + term)
        else:
            lines[-1] = joined
    return lines


def signed(value: float) -> str:
    return number(value)


class UnitDetail(LinesWidget):
    """Unit panel; `show(None, placeholder)` before the first step."""

    @property
    def history_width(self) -> int:
        """How many steps of history fit on the sparkline line."""
        return max(4, self.size.width)

    _shown: tuple = (None, "", ())

    def on_resize(self) -> None:
        """Lay the lines out again for the new width (a scrollbar came or went)."""
        self.show(*self._shown)

    def show(self, view: UnitView | None, placeholder: str = "",
             formulas: tuple[Formula, ...] = ()) -> None:
        self._shown = (view, placeholder, formulas)
        if view is None:
            self.set_lines([[Segment(placeholder, DIM)]])
            return
        stop = view.history_start + len(view.history) - 1
        lines: list[Line] = [
            [Segment(f"{view.scope}l{view.layer} unit {view.unit}", BOLD),
             Segment(f" of {view.hidden}", DIM)],
            [Segment("  ".join(f"{k} {signed(v)}" for k, v in view.state.items()))],
            [Segment(f"{view.name} over t={view.history_start}..{stop}", DIM)],
            sparkline(view.history),
        ]
        width = max(20, self.size.width)
        for formula in formulas:
            if len(formula.text) <= width:
                lines.append([Segment(formula.text)])
            elif len(formula.compact) <= width:
                lines.append([Segment(formula.compact)])
            else:  # the result on a line of its own, the sum broken at its terms if need be
                indent = " " * len(formula.name)
                lines += [[Segment(part)] for part in
                          wrap_terms(f"{formula.name} = ", f"{indent} + ", formula.numeric, width)]
                lines.append([Segment(f"{indent} = {formula.result}{formula.note}")])
        if view.gates:
            half = max(2, (width - 13) // 4)  # 10 + (2 half + 1) + 1 + (2 half + 1) cells
            if view.name == "act":  # an MLP: nothing carries over from the step before
                lines.append([Segment(f"{'':<10}{'input':^{2 * half + 1}} ", DIM),
                              Segment("no memory", BOLD)])
            else:
                lines.append([Segment(f"{'':<10}{'input':^{2 * half + 1}} "
                                      f"{'memory':^{2 * half + 1}}", DIM)])
            finite = [abs(v) for gate in view.gates for v in (gate.input_part, gate.memory_part)
                      if np.isfinite(v)]
            top = max(finite, default=1.0) or 1.0
            for gate in view.gates:
                lines.append([Segment(f"{gate.name:<3}{signed(gate.value):>6} "),
                              Segment(signed_bar(gate.input_part, top, half), INPUT),
                              Segment(" "),
                              Segment(signed_bar(gate.memory_part, top, half), MEMORY)])
            key = [Segment("█ input", INPUT), Segment("  ", DIM), Segment("█ memory", MEMORY)]
            if len(KEY_TEXT) <= width:
                lines.append([*key, Segment(SIDES, DIM)])
            else:  # a narrow panel: the sides on a line of their own, never cut
                lines += [key, [Segment(SIDES.strip(), DIM)]]
        self.set_lines(lines, hold=(view.scope, view.layer, view.unit, width))
