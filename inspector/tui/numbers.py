"""How every number on screen is written: one function, so a value never runs off a panel.

`1e30` set on a unit used to print as a 33-character fixed-point number; here it is `+1e+30`.
Ordinary values keep two decimals (`+0.73`), non-finite ones read `nan`, `+inf`, `-inf`.
"""

from __future__ import annotations

import math

LARGE = 1e4  # from here on, scientific notation: `+1.2e+04`


def number(value: float, *, sign: bool = True, digits: int = 2) -> str:
    """`value` in at most ~9 characters: `+0.73`, `-12.50`, `+1e+30`, `+3e-05`, `nan`, `-inf`.

    `sign` writes `+` before positive values (states, parts of a sum); without it, `0.25`
    (probabilities, gates in 0..1). Tiny non-zero values keep their magnitude (`+3e-05`, not
    `+0.00`) so a learner can tell "small" from "zero"."""
    value = float(value)
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return ("+inf" if sign else "inf") if value > 0 else "-inf"
    plus = "+" if sign else ""
    magnitude = abs(value)
    if magnitude >= LARGE:
        return f"{value:{plus}.{digits}g}"
    if 0 < magnitude < 0.5 * 10 ** -digits:
        return f"{value:{plus}.{digits}g}"
    return f"{value + 0.0:{plus}.{digits}f}"  # + 0.0: -0.0 reads +0.00


def probability(value: float) -> str:
    """A probability in five characters, for a column of them: `0.998`, `0.001`, a tiny one by
    its magnitude (`1e-05`, never `0.000` beside a real zero, never 8 characters), `nan`."""
    value = float(value)
    if not math.isfinite(value):
        return number(value, sign=False)
    if 0 < value < 0.0005:
        return f"{value:.0e}"
    return f"{value:.3f}"
