"""Colour scales: fixed over the session vs per step, colour-blind-safe ramp, glyphs, non-finite."""

import numpy as np

from inspector.tui.colours import (
    LEVELS,
    NAN,
    NEG_INF,
    POS_INF,
    RAMP_ENDS,
    SIGNED,
    UNIT,
    SessionRanges,
    contrast_rgb,
    level_glyph,
    level_rgb,
    marker_style,
    scale_for,
)


def test_session_scale_keeps_a_colour_meaning_the_same_number_across_steps():
    ranges = SessionRanges()
    big = np.array([2.0, -1.0, 0.5], dtype=np.float32)
    small = np.array([0.5, -0.25, 0.0], dtype=np.float32)
    first = scale_for("adaptive", "l0.c", big, "session", ranges)
    later = scale_for("adaptive", "l0.c", small, "session", ranges)
    assert (first.low, first.high) == (later.low, later.high) == (-2.0, 2.0)
    assert later.basis == "session"
    # the same value 0.5 gets the same level at both steps
    assert first.quantise(big)[2] == later.quantise(small)[0]


def test_step_scale_stretches_each_map_over_its_own_values():
    ranges = SessionRanges()
    scale_for("adaptive", "l0.c", np.array([2.0, -1.0]), "session", ranges)
    small = np.array([0.5, -0.25, 0.0], dtype=np.float32)
    step = scale_for("adaptive", "l0.c", small, "step", ranges)
    assert (step.low, step.high, step.basis) == (-0.5, 0.5, "step")
    assert step.quantise(small)[0] == LEVELS - 1
    gate = scale_for("unit", "l0.gate.f", np.array([0.1, 0.2]), "step", ranges)
    assert gate.high == np.float32(0.2) and gate.quantise(np.array([0.2]))[0] == LEVELS - 1


def test_bounded_maps_keep_their_natural_range_in_session_mode():
    ranges = SessionRanges()
    assert scale_for("unit", "l0.gate.i", np.array([0.1]), "session", ranges) == UNIT
    assert scale_for("signed", "l0.h", np.array([0.1]), "session", ranges) == SIGNED
    assert scale_for("adaptive", "l0.dh", None, "session", ranges) == SIGNED


def test_session_range_ignores_non_finite_values_and_clears():
    ranges = SessionRanges()
    scale = scale_for("adaptive", "l0.c", np.array([np.nan, np.inf, 3.0]), "session", ranges)
    assert scale.high == 3.0
    levels = scale.quantise(np.array([np.nan, np.inf, -np.inf, 3.0]))
    assert levels.tolist() == [NAN, POS_INF, NEG_INF, LEVELS - 1]
    ranges.clear()
    assert scale_for("adaptive", "l0.c", np.array([1.0]), "session", ranges).high == 1.0


def test_huge_values_quantise_without_overflow_and_label_short():
    scale = scale_for("adaptive", "l0.c", np.array([1e30, -1e30]), "step", SessionRanges())
    assert scale.label() == "±1e+30"
    assert scale.quantise(np.array([1e30, 0.0], dtype=np.float32)).tolist() == [LEVELS - 1, 7]


def test_signed_ramp_is_blue_against_orange_not_red_against_green():
    negative, positive = RAMP_ENDS["signed"]
    assert negative[2] > negative[0]  # blue dominates red on the negative side
    assert positive[0] > positive[2] and positive[1] > positive[2]  # orange: red+green, no blue
    assert level_rgb("signed", 0) == negative and level_rgb("signed", LEVELS - 1) == positive


def test_special_levels_have_colours_of_their_own():
    specials = {level_rgb("signed", level) for level in (NAN, POS_INF, NEG_INF)}
    ramp = {level_rgb(ramp, level) for ramp in ("signed", "unit") for level in range(LEVELS)}
    assert len(specials) == 3 and not specials & ramp


def test_glyph_levels_show_sign_and_strength_without_colour():
    assert level_glyph("signed", 0) != level_glyph("signed", LEVELS - 1)
    assert level_glyph("signed", 7) == "·"
    assert len({level_glyph("signed", level) for level in range(LEVELS)}) >= 7
    assert level_glyph("unit", LEVELS - 1) == "█"
    assert {level_glyph("signed", s) for s in (NAN, POS_INF, NEG_INF)} == {"N", "▲", "▼"}


def test_marker_reads_on_light_and_dark_cells():
    assert contrast_rgb((250, 204, 21)) == (0, 0, 0)
    assert contrast_rgb((28, 28, 34)) == (255, 255, 255)
    style = marker_style("unit", LEVELS - 1)
    assert style.color.triplet == (0, 0, 0)
    assert style.bgcolor.triplet == level_rgb("unit", LEVELS - 1)
