"""The unit's formulas with the engine's own numbers, signed bars, the compare line, F1's text."""

import math
import re

import numpy as np
import pytest

from inspector.engine import Intervention, Session, inspectable
from inspector.engine.step_diff import compare_steps
from inspector.loading import ModelSource, open_model
from inspector.tui.explain import (
    CONCEPTS,
    SYMBOLS,
    comparison_line,
    formula_value,
    held_names,
    signed_bar,
    unit_formulas,
)

NUMBER = r"[-+]?(?:\d+\.?\d*(?:e[-+]\d+)?|nan|inf)"


@pytest.fixture(scope="module")
def zoo():
    return {name: inspectable(open_model(ModelSource(name)))
            for name in ("doubled-lstm", "doubled-gru", "doubled-rnn", "doubled-mlp")}


def numbers(text: str) -> list[float]:
    return [float(x) for x in re.findall(NUMBER, text.split(" = ", 2)[-1])]


def formulas_at(model, text, t, layer, unit, session=None):
    session = session or Session(model)
    if text:
        session.feed(text)
    record = session.records(t, t + 1)[0]
    before = session.state_before(t)[layer]
    held = held_names(record.clamps, layer, unit)
    lines = unit_formulas(model.cell, record.layers[layer], before, unit,
                          nonlinearity=model.nonlinearity or "tanh", held=held)
    return {line.name: line for line in lines}, record.layers[layer], before


def close(shown: float, actual: float) -> bool:
    return abs(shown - actual) <= 0.005 + 1e-6


@pytest.mark.parametrize("unit", [0, 13, 63])
def test_lstm_formulas_show_the_records_numbers(zoo, unit):
    lines, step, before = formulas_at(zoo["doubled-lstm"], "aab", 2, 1, unit)
    assert list(lines) == ["i", "f", "g", "o", "c", "h"]
    for gate in "ifgo":
        line = lines[gate]
        squash = "tanh" if gate == "g" else "σ"
        assert line.text.startswith(f"{gate} = {squash}(input + memory) = {squash}(")
        part_in, part_mem = numbers(line.numeric)
        assert close(part_in, step.input_part[gate][unit])
        assert close(part_mem, step.memory_part[gate][unit])
        assert close(formula_value(line), step.gates[gate][unit])
    f, c_prev, i, g = numbers(lines["c"].numeric)
    assert close(c_prev, before.c[unit]) and close(f, step.gates["f"][unit])
    assert close(i, step.gates["i"][unit]) and close(g, step.gates["g"][unit])
    assert close(formula_value(lines["c"]), step.c[unit])
    o, c = numbers(lines["h"].numeric)
    assert close(o, step.gates["o"][unit]) and close(c, step.c[unit])
    assert close(formula_value(lines["h"]), step.h[unit])
    assert abs(o * math.tanh(float(step.c[unit])) - step.h[unit]) < 0.005


def test_the_issues_example_line_reads_as_the_issue_writes_it(zoo):
    lines, step, _ = formulas_at(zoo["doubled-lstm"], "aa", 1, 0, 5)
    i, m, v = (step.input_part["f"][5], step.memory_part["f"][5], step.gates["f"][5])
    assert lines["f"].text == f"f = σ(input + memory) = σ({i:.2f} + {m:.2f}) = {v:.2f}"
    assert lines["f"].compact == f"f = σ({i:.2f} + {m:.2f}) = {v:.2f}"


@pytest.mark.parametrize("name", ["doubled-lstm", "doubled-gru", "doubled-rnn"])
def test_every_term_has_one_sign_and_negative_factors_are_bracketed(zoo, name):
    """`σ(0.13 + 0.16)`, `σ(-0.32 + -0.80)` as the issue writes it; never `+ +0.16`."""
    model = zoo[name]
    session = Session(model)
    session.feed("abcabc")
    signs = {"+": 0, "-": 0}
    for t in range(6):
        for unit in range(model.hidden):
            lines, _, _ = formulas_at(model, "", t, 0, unit, session)
            for line in lines.values():
                assert "+ +" not in line.numeric and "++" not in line.numeric, line.text
                assert not re.search(r"·-", line.numeric), line.text  # `·(-0.30)`, not `·-0.30`
                second = line.numeric.partition(" + ")[2]
                if second[:1] in "-0123456789" and second:
                    signs["-" if second.startswith("-") else "+"] += 1
    assert signs["+"] and signs["-"]  # both kinds of second term were seen and written


def test_gru_formulas_show_r_z_n_and_the_blend(zoo):
    lines, step, before = formulas_at(zoo["doubled-gru"], "abc", 2, 0, 7)
    assert list(lines) == ["r", "z", "n", "h"]
    assert lines["n"].symbolic == "tanh(input + r·memory)"
    for gate in "rzn":
        part_in, part_mem = numbers(lines[gate].numeric)
        assert close(part_in, step.input_part[gate][7])
        assert close(part_mem, step.memory_part[gate][7])  # r·(W_hn h + b_hn), as the engine
        assert close(formula_value(lines[gate]), step.gates[gate][7])
    one_minus_z, n, z, h_prev = numbers(lines["h"].numeric)
    assert close(one_minus_z, 1 - step.gates["z"][7]) and close(z, step.gates["z"][7])
    assert close(n, step.gates["n"][7]) and close(h_prev, before.h[7])
    assert close(formula_value(lines["h"]), step.h[7])


def test_plain_rnn_and_mlp_formulas(zoo):
    lines, step, _ = formulas_at(zoo["doubled-rnn"], "ab", 1, 0, 3)
    assert list(lines) == ["h"] and lines["h"].symbolic == "tanh(input + memory)"
    part_in, part_mem = numbers(lines["h"].numeric)
    assert close(part_in, step.input_part["h"][3]) and close(part_mem, step.memory_part["h"][3])
    assert close(formula_value(lines["h"]), step.h[3])
    lines, step, _ = formulas_at(zoo["doubled-mlp"], "ab", 1, 0, 3)
    assert lines["act"].symbolic == "tanh(input)"  # no memory term: nothing carries over
    assert close(formula_value(lines["act"]), step.h[3])


def test_a_clamped_unit_says_it_is_held(zoo):
    model = zoo["doubled-lstm"]
    session = Session(model)
    session.feed("a")
    session.intervene(Intervention("clamp", "l0.h", 4, 1e30))
    session.feed("a")
    lines, step, _ = formulas_at(model, "", 1, 0, 4, session)
    assert step.h[4] == np.float32(1e30)
    assert lines["h"].result == "+1e+30" and "held at +1e+30 by a clamp" in lines["h"].text
    assert len(lines["h"].text) < 80  # never a 25-digit number


@pytest.mark.parametrize(("value", "expected"), [
    (0.0, "    │    "), (1.0, "    │████"), (-1.0, "████│    "), (-0.5, "  ██│    "),
    (0.125, "    │▌   "), (-0.375, "  ▐█│    "), (2.0, "    │████"), (math.nan, "!!!!│    "),
])
def test_signed_bars_grow_left_for_negative_and_right_for_positive(value, expected):
    assert signed_bar(value, 1.0, 4) == expected


def test_the_compare_line_says_why_the_same_a_differs(zoo):
    records = Session(zoo["doubled-lstm"]).feed("aa")
    line = comparison_line(compare_steps(records[0], records[1]))
    assert line.startswith("t=0 and t=1 both read 'a', so their input parts are equal")
    assert "memory" in line and "'a' (0.99) vs 'b' (0.99)" in line
    records = Session(zoo["doubled-mlp"]).feed("aa")
    line = comparison_line(compare_steps(records[0], records[1]))
    assert "nothing carries over" in line and "same output 'a' (0.50)" in line


def test_help_explains_every_concept_and_symbol():
    names = " ".join(name for name, _ in CONCEPTS)
    for concept in ("hidden state", "cell state", "input gate", "forget gate", "cell candidate",
                    "output gate", "reset gate", "update gate", "new state", "Δh",
                    "input part and memory part", "handoff"):
        assert concept in names
    marks = " ".join(mark for mark, _ in SYMBOLS)
    for symbol in "◆✗¿␣↵⟨⟩":
        assert symbol in marks
    assert any("NaN" in text for _, text in SYMBOLS)
