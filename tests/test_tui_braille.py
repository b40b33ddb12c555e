"""The braille canvas the trajectory panel draws with: dots, lines, markers and the scale."""

from inspector.tui.panels.braille import BLANK, BrailleCanvas, Scale


def test_each_dot_of_a_cell_is_its_unicode_braille_bit():
    # U+2800 + bits: dots 1-2-3 down the left column, 4-5-6 down the right, 7 and 8 below
    expected = {(0, 0): "⠁", (0, 1): "⠂", (0, 2): "⠄", (0, 3): "⡀",
                (1, 0): "⠈", (1, 1): "⠐", (1, 2): "⠠", (1, 3): "⢀"}
    for (x, y), char in expected.items():
        canvas = BrailleCanvas(1, 1)
        canvas.dot(x, y)
        assert canvas.text() == char
    full = BrailleCanvas(1, 1)
    for x in range(2):
        for y in range(4):
            full.dot(x, y)
    assert full.text() == "⣿"


def test_dots_outside_are_ignored_and_an_empty_canvas_is_blank():
    canvas = BrailleCanvas(3, 2)
    canvas.dot(-1, 0)
    canvas.dot(6, 0)
    canvas.dot(0, 8)
    assert canvas.text() == "\n".join([chr(BLANK) * 3] * 2)
    assert canvas.rows() == [[(chr(BLANK) * 3, -1)]] * 2


def lit(canvas: BrailleCanvas) -> set[tuple[int, int]]:
    bits = {0x01: (0, 0), 0x02: (0, 1), 0x04: (0, 2), 0x40: (0, 3),
            0x08: (1, 0), 0x10: (1, 1), 0x20: (1, 2), 0x80: (1, 3)}
    out = set()
    for row in range(canvas.height):
        for col in range(canvas.width):
            for bit, (dx, dy) in bits.items():
                if canvas.bits[row][col] & bit:
                    out.add((2 * col + dx, 4 * row + dy))
    return out


def test_a_line_lights_both_ends_and_a_connected_run_of_dots():
    canvas = BrailleCanvas(10, 5)
    canvas.line(1, 2, 17, 15)
    dots = lit(canvas)
    assert (1, 2) in dots and (17, 15) in dots
    assert len(dots) == 17  # one dot per column along the longer axis (16 steps + 1)
    ordered = sorted(dots)
    for (x0, y0), (x1, y1) in zip(ordered, ordered[1:]):
        assert x1 - x0 == 1 and abs(y1 - y0) <= 1  # 8-connected, no gaps
    horizontal = BrailleCanvas(4, 1)
    horizontal.line(0, 3, 7, 3)
    assert horizontal.text() == "⣀⣀⣀⣀"
    point = BrailleCanvas(1, 1)
    point.line(1, 1, 1, 1)
    assert point.text() == "⠐"


def test_markers_replace_dots_and_the_higher_layer_wins():
    canvas = BrailleCanvas(3, 1)
    canvas.line(0, 0, 5, 0, layer=0)
    canvas.mark(2, 1, "●", layer=3)
    canvas.mark(3, 2, "○", layer=2)  # the same cell, a lower layer: ● stays
    canvas.mark(4, 0, "◆", layer=4)
    assert canvas.text() == "⠉●◆"
    assert canvas.rows() == [[("⠉", 0), ("●", 3), ("◆", 4)]]
    canvas.mark(3, 3, "○", layer=5)
    assert canvas.text() == "⠉○◆"


def test_runs_merge_cells_of_one_layer():
    canvas = BrailleCanvas(4, 1)
    canvas.dot(0, 0, 1)
    canvas.dot(2, 0, 1)
    canvas.dot(6, 0, 2)
    assert canvas.rows() == [[("⠁⠁", 1), (chr(BLANK), -1), ("⠁", 2)]]


def test_the_scale_puts_the_extremes_inside_and_y_upwards():
    scale = Scale([0.0, 10.0], [-1.0, 1.0], 20, 16)
    x0, y0 = scale(0.0, -1.0)
    x1, y1 = scale(10.0, 1.0)
    assert 0 <= x0 < x1 <= 19 and 0 <= y1 < y0 <= 15  # larger y is higher on screen
    assert scale(5.0, 0.0) == (round((x0 + x1) / 2), round((y0 + y1) / 2))
    flat = Scale([3.0, 3.0], [2.0, 2.0], 20, 16)
    assert flat(3.0, 2.0) == (10, 8)  # a flat range is centred (rounded)
    assert Scale([float("nan")], [float("inf")], 20, 16)(0.0, 0.0) == (10, 8)
