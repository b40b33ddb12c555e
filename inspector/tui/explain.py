"""The words and formulas that explain what is on screen, with the model's own numbers.

`unit_formulas` writes how the selected unit's value is made at the step on view
(`f = σ(input + memory) = σ(-0.32 + -0.80) = 0.25`, then `c = f·c_prev + i·g`, `h = o·tanh(c)`),
from the step's record and the state the step started from, so the learner can redo the sum.
`CONCEPTS` and `SYMBOLS` are F1's few sentences on each idea and each mark. Pure functions over
plain numbers: nothing here imports textual or torch.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from inspector.names import parse_name
from inspector.tui.numbers import number

if TYPE_CHECKING:
    from inspector.engine.cells import LayerStep
    from inspector.engine.records import LayerState
    from inspector.engine.step_diff import StepComparison

GATE_WORDS = {
    "i": "input gate", "f": "forget gate", "g": "cell candidate", "o": "output gate",
    "r": "reset gate", "z": "update gate", "n": "new state",
}


@dataclass(frozen=True)
class Formula:
    """One line of arithmetic: `name = symbolic = numeric = result`."""

    name: str
    symbolic: str
    numeric: str
    result: str
    note: str = ""  # e.g. a clamp holding the unit at another value

    @property
    def text(self) -> str:
        return f"{self.name} = {self.symbolic} = {self.numeric} = {self.result}{self.note}"

    @property
    def compact(self) -> str:
        """Without the symbolic part, for a narrow panel."""
        return f"{self.name} = {self.numeric} = {self.result}{self.note}"


def _sigmoid(x: float) -> float:
    return 0.5 * (1.0 + math.tanh(0.5 * x))


def _sum(a: float, b: float) -> str:
    """`-0.32 + 2.41`, `0.32 + -0.80`: the terms as they are, one sign each (never `+ +2.41`)."""
    return f"{number(a, sign=False)} + {number(b, sign=False)}"


def _factor(value: float) -> str:
    """A factor of a product: `0.50`, or `(-0.30)` in brackets when negative."""
    text = number(value, sign=False)
    return f"({text})" if text.startswith("-") else text


def _held(actual: float, formula: float, held: bool) -> str:
    return f"  (held at {number(actual)} by a clamp)" if held and actual != formula else ""


def unit_formulas(cell: str, step: LayerStep, before: LayerState, unit: int, *,
                  nonlinearity: str = "tanh", held: Iterable[str] = ()) -> tuple[Formula, ...]:
    """How unit `unit` of one layer got its value at one step.

    `step` is the layer's record of the step, `before` the layer's state the step started from
    (`Session.state_before`), `held` the names (`h`, `c`) a clamp holds for this unit: the record
    then shows the held value, the formula the value the step computed."""
    held = set(held)
    ins = {name: float(values[unit]) for name, values in step.input_part.items()}
    mems = {name: float(values[unit]) for name, values in step.memory_part.items()}
    h = float(step.h[unit])
    h_prev = float(before.h[unit])
    if cell in ("rnn", "mlp"):
        f_name = "relu" if nonlinearity == "relu" else "tanh"
        pre = ins["h"] + mems["h"]
        value = max(pre, 0.0) if f_name == "relu" else math.tanh(pre)
        if cell == "mlp":
            return (Formula("act", f"{f_name}(input)", f"{f_name}({number(ins['h'], sign=False)})",
                            number(value)),)
        return (Formula("h", f"{f_name}(input + memory)", f"{f_name}({_sum(ins['h'], mems['h'])})",
                        number(h), _held(h, value, "h" in held)),)
    gates = {name: float(values[unit]) for name, values in step.gates.items()}
    lines = []
    for name in gates:
        squash = "tanh" if name in ("g", "n") else "σ"
        memory = "r·memory" if name == "n" else "memory"
        shown = number(gates[name]) if squash == "tanh" else number(gates[name], sign=False)
        lines.append(Formula(name, f"{squash}(input + {memory})",
                             f"{squash}({_sum(ins[name], mems[name])})", shown))
    if cell == "lstm":
        f, i, g, o = gates["f"], gates["i"], gates["g"], gates["o"]
        c_prev = float(before.c[unit])
        c = float(step.c[unit])
        c_formula = f * c_prev + i * g
        lines.append(Formula("c", "f·c_prev + i·g",
                             f"{_factor(f)}·{_factor(c_prev)} + {_factor(i)}·{_factor(g)}",
                             number(c), _held(c, c_formula, "c" in held)))
        lines.append(Formula("h", "o·tanh(c)", f"{_factor(o)}·tanh({number(c, sign=False)})",
                             number(h), _held(h, o * math.tanh(c), "h" in held)))
    else:  # gru
        z, n = gates["z"], gates["n"]
        h_formula = (1 - z) * n + z * h_prev
        lines.append(Formula("h", "(1-z)·n + z·h_prev",
                             f"{_factor(1 - z)}·{_factor(n)} + {_factor(z)}·{_factor(h_prev)}",
                             number(h), _held(h, h_formula, "h" in held)))
    return tuple(lines)


def held_names(clamps, layer: int, unit: int) -> set[str]:
    """Which of `h`, `c` a step's clamps (`StepRecord.clamps`) hold for one unit of a layer."""
    names = [(parse_name(clamp.target), clamp.unit) for clamp in clamps]
    return {name.what for name, held in names
            if name.layer == layer and held in (None, unit)}


def formula_value(formula: Formula) -> float:
    """The result a formula line states, as a number (for tests and hover text)."""
    return float(formula.result)


# ---- signed input / memory bars ------------------------------------------------------------

def signed_bar(value: float, top: float, half: int) -> str:
    """`value` as a bar from a centre line `│`, left for negative, right for positive, in half
    cells, reaching `half` cells at |value| = top: `  ▐██│     ` is about -0.5 of top 1."""
    cells = half * 2
    if not math.isfinite(value):
        mark = "!" * half
        return (mark + "│" + " " * half) if value < 0 or math.isnan(value) else (
            " " * half + "│" + mark)
    size = 0 if top <= 0 else round(min(1.0, abs(value) / top) * cells)
    full, part = divmod(size, 2)
    if value < 0:
        return (" " * (half - full - part) + ("▐" if part else "") + "█" * full + "│"
                + " " * half)
    return " " * half + "│" + "█" * full + ("▌" if part else "") + " " * (half - full - part)


# ---- compare two steps -----------------------------------------------------------------------

def comparison_line(comparison: StepComparison) -> str:
    """The compare-steps view's one-line explanation."""
    a, b = comparison.t_a, comparison.t_b
    out_a = f"{comparison.prediction_a!r} ({number(comparison.confidence_a, sign=False)})"
    out_b = f"{comparison.prediction_b!r} ({number(comparison.confidence_b, sign=False)})"
    if comparison.same_input_part and comparison.identical:
        return (f"t={a} and t={b} both read {comparison.typed_a!r} and nothing carries over: "
                f"same state, same output {out_a}. Without memory the same input always gives "
                "the same answer.")
    if comparison.same_input_part:
        far = max(comparison.layers, key=lambda layer: layer.distance)
        return (f"t={a} and t={b} both read {comparison.typed_a!r}, so their input parts are "
                f"equal: every difference comes from the memory each step started from "
                f"({far.activation} apart by {number(far.distance, sign=False)}); "
                f"output {out_a} vs {out_b}.")
    return (f"t={a} read {comparison.typed_a!r} and t={b} read {comparison.typed_b!r}: both the "
            f"input and the memory differ; output {out_a} vs {out_b}.")


# ---- F1: the ideas and the marks -------------------------------------------------------------

CONCEPTS: tuple[tuple[str, str], ...] = (
    ("hidden state h",
     "The numbers the model carries from one character to the next: its memory. Each step "
     "reads the character and the previous h and writes a new h; the output is read from it. "
     "A map shows one square per unit (l0.h[13] is unit 13 of layer 0)."),
    ("cell state c (LSTM)",
     "A second memory the LSTM keeps beside h, changed only by forgetting (f) and adding (i·g): "
     "c = f·c_prev + i·g. It is unbounded, so its map's range is written in its title."),
    ("input gate i", "How much of the cell candidate g is written into c (0: none, 1: all)."),
    ("forget gate f", "How much of the previous c is kept (0: forget it, 1: keep it all)."),
    ("cell candidate g", "The new content the LSTM may write into c, between -1 and +1."),
    ("output gate o", "How much of tanh(c) shows in h: h = o·tanh(c)."),
    ("reset gate r (GRU)",
     "How much of the previous h the new state n may look at: n = tanh(input + r·memory)."),
    ("update gate z (GRU)",
     "How much of the previous h is kept: h = (1-z)·n + z·h_prev (1: keep the old state)."),
    ("new state n (GRU)", "The candidate state the GRU moves towards, between -1 and +1."),
    ("Δh", "How much h changed at this step: h minus the h the step started from."),
    ("input part and memory part",
     "Every gate adds two sums: the input part W_ih·x + b_ih, from the character alone, and "
     "the memory part W_hh·h + b_hh, from the previous state. The bars show both, signed: the "
     "same character always gives the same input part, so when the same `a` gives different "
     "outputs, the memory part is why (compare two steps to see it). A model without memory "
     "(the MLP) has no memory part: its hidden layer is an activation of this input alone."),
    ("handoff (seq2seq)",
     "The encoder's final h (and c) per layer, passed through the bridge, becomes the "
     "decoder's first state: all the decoder knows of the source. It can be edited."),
    ("scales",
     "Session (default): h and gates on their natural range (±1, 0..1), c and Δh on the "
     "largest value seen so far, so a colour means the same number at every step. Per step: "
     "every map stretched over its own values, to show small differences. Each map's title "
     "shows its range; blue is negative, orange positive, dark zero; gates run dark to yellow."),
)

SYMBOLS: tuple[tuple[str, str], ...] = (
    ("◆", "an intervention (set, zero, scale, clamp) shaped this step"),
    ("✗", "a miss: the output was not the one expected"),
    ("¿", "the unknown token <unk>"),
    ("␣ ↵ ⇥", "a space, a newline, a tab"),
    ("⟨ ⟩", "the start <s> and end </s> of a sequence"),
    ("▲ ▼ (on a map)", "the selected unit: ▲ in the upper half of its square, ▼ in the lower"),
    ("magenta, white, green", "NaN, +Inf and -Inf values on a map (N, ▲, ▼ without colour)"),
    ("✎", "a step the model wrote itself (its own prediction fed back)"),
)

MOUSE = ("Click a square of a map to select its unit (the upper half of a square is one unit, the "
         "lower half the next row's); hovering shows the unit's name and value, like "
         "l0.h[13] = +0.73 (t=4). Scroll the maps with the wheel.")
