"""Every number on screen goes through `number`: short, signed where it matters, never 25 digits."""

import math
import re

import numpy as np
import pytest
from tui_support import log_lines, make_checkpoint, settle

from inspector.tui.app import InspectorApp
from inspector.tui.numbers import number, probability
from inspector.tui.text import log_line, state_summary, vector_summary


@pytest.mark.parametrize(("value", "signed", "unsigned"), [
    (0.734, "+0.73", "0.73"),
    (-0.8, "-0.80", "-0.80"),
    (-0.0, "+0.00", "0.00"),
    (0.0, "+0.00", "0.00"),
    (1e30, "+1e+30", "1e+30"),
    (-1e30, "-1e+30", "-1e+30"),
    (12345.6, "+1.2e+04", "1.2e+04"),
    (9999.99, "+9999.99", "9999.99"),
    (3e-5, "+3e-05", "3e-05"),
    (-0.004, "-0.004", "-0.004"),
    (math.nan, "nan", "nan"),
    (math.inf, "+inf", "inf"),
    (-math.inf, "-inf", "-inf"),
])
def test_numbers_are_short_and_signed_where_asked(value, signed, unsigned):
    assert number(value) == signed
    assert number(value, sign=False) == unsigned


@pytest.mark.parametrize("value", [1e30, -3.4e38, 1e-30, 123456789.0, 2.5e-7, -9.87654321e15])
def test_no_number_runs_off_a_panel(value):
    assert len(number(value)) <= 9
    assert float(number(value)) == pytest.approx(value, rel=0.06)


def test_the_step_log_writes_huge_and_non_finite_values_through_the_formatter():
    values = np.array([1e30, math.nan, -math.inf, math.inf, -0.5, 3e-5], dtype=np.float32)
    assert vector_summary(values) == "[1e+30 nan -inf inf -0.50 3e-05]"
    line = log_line(2, "a", "b", math.nan, state_summary("l1.h", values))
    assert line == "t=2  x='a'  → y='b' (nan)  l1.h[0:6]=[1e+30 nan -inf inf -0.50 3e-05]"
    assert vector_summary(np.array([0.123, -1e30] * 6, dtype=np.float32), 3) == (
        "[0.12 -1e+30 0.12 …]")


async def test_a_set_of_1e30_reads_1e_plus_30_in_the_log_and_nan_reads_nan(tmp_path):
    lstm = make_checkpoint(tmp_path / "one.safetensors", layers=1, hidden=8)
    app = InspectorApp(str(lstm))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("a", "f5")
        await pilot.pause()
        await pilot.press(*"clamp 1e30", "enter")
        await settle(pilot)
        await pilot.press("b")
        await settle(pilot)
        newest = log_lines(app)[-1]
        assert re.search(r"h(\[0:8\])?=\[1e\+30 ", newest), newest
        assert max(len(word) for word in newest.split()) <= 20  # no 31-digit number
    poisoned = make_checkpoint(tmp_path / "nan.safetensors", layers=1, hidden=8, poison=True)
    app = InspectorApp(str(poisoned))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("a")
        await settle(pilot)
        newest = log_lines(app)[-1]
        assert "=[nan " in newest and "(nan)" in newest, newest


@pytest.mark.parametrize(("value", "shown"), [
    (0.998, "0.998"), (0.0011, "0.001"), (0.0, "0.000"), (1.0, "1.000"), (1.2e-5, "1e-05"),
    (6e-7, "6e-07"), (math.nan, "nan"),
])
def test_a_column_of_probabilities_is_five_characters_wide(value, shown):
    assert probability(value) == shown  # a tiny one keeps its magnitude, never 8 characters
