"""Compare two steps: why the same `a` gives `a` and then `b` (and why the MLP cannot)."""

import numpy as np
import pytest

from inspector.engine import Session, inspectable
from inspector.engine.step_diff import compare_steps, default_pair
from inspector.loading import ModelSource, open_model


@pytest.fixture(scope="module")
def zoo():
    return {name: inspectable(open_model(ModelSource(name)))
            for name in ("doubled-lstm", "doubled-mlp")}


def test_default_pair_is_the_two_most_recent_steps_with_the_same_character():
    assert default_pair("aa") == (0, 1)
    assert default_pair("abcab") == (1, 4)
    assert default_pair("abcab", newest=3) == (0, 3)
    assert default_pair("abba") == (0, 3)  # the newest step first, then its latest twin
    assert default_pair("abc") is None and default_pair("") is None


def test_the_same_a_differs_only_through_memory_on_the_lstm(zoo):
    records = Session(zoo["doubled-lstm"]).feed("aa")
    comparison = compare_steps(records[0], records[1])
    assert (comparison.t_a, comparison.t_b) == (0, 1)
    assert (comparison.prediction_a, comparison.prediction_b) == ("a", "b")
    assert comparison.same_input_part and not comparison.identical
    assert [layer.activation for layer in comparison.layers] == ["l0.h", "l0.c", "l1.h", "l1.c"]
    for layer, k, what in zip(comparison.layers, (0, 0, 1, 1), "hchc", strict=True):
        a = getattr(records[0].layers[k], what)
        b = getattr(records[1].layers[k], what)
        assert np.isclose(layer.distance, np.linalg.norm(b.astype(np.float64) - a), atol=1e-6)
        sizes = [abs(unit.difference) for unit in layer.top]
        assert sizes == sorted(sizes, reverse=True)
        assert sizes[0] == pytest.approx(np.abs(b - a).max(), abs=1e-6)
        first = layer.top[0]
        unit = int(first.name[first.name.index("[") + 1:-1])
        assert first.name.startswith(f"l{k}.{what}[") and (first.a, first.b) == (a[unit], b[unit])


def test_the_mlp_has_no_memory_so_the_same_a_gives_the_same_state(zoo):
    records = Session(zoo["doubled-mlp"]).feed("aa")
    comparison = compare_steps(records[0], records[1])
    assert comparison.identical and comparison.same_input_part
    assert all(layer.top == () for layer in comparison.layers)
    assert comparison.prediction_a == comparison.prediction_b


def test_different_characters_have_different_input_parts(zoo):
    records = Session(zoo["doubled-lstm"]).feed("ab")
    assert not compare_steps(records[0], records[1]).same_input_part
