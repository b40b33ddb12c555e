"""Every number on screen goes through `number`: short, signed where it matters, never 25 digits."""

import math

import pytest

from inspector.tui.numbers import number


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
