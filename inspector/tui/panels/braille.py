"""A small braille canvas: 2×4 dots a terminal cell (U+2800 + a bit per dot), for drawing a path
in a panel without a plotting library.

Each cell keeps the bits lit in it and the highest `layer` that lit one (the caller's colour
class: path, recent steps, the step on view); a marker (a character such as `●`) replaces a cell's
dots. `rows()` gives every row as runs of (text, layer), ready to become segments.
"""

from __future__ import annotations

from collections.abc import Iterable

# Bit of the dot at (column, row) inside a cell: the Unicode braille numbering.
DOT_BITS = ((0x01, 0x02, 0x04, 0x40), (0x08, 0x10, 0x20, 0x80))
BLANK = 0x2800
EMPTY = -1  # the layer of a cell nothing was drawn in


class BrailleCanvas:
    def __init__(self, width: int, height: int) -> None:
        """`width` × `height` terminal cells: 2·width × 4·height dots."""
        self.width, self.height = max(width, 1), max(height, 1)
        self.bits = [[0] * self.width for _ in range(self.height)]
        self.layers = [[EMPTY] * self.width for _ in range(self.height)]
        self.markers: dict[tuple[int, int], tuple[str, int]] = {}

    @property
    def dot_width(self) -> int:
        return 2 * self.width

    @property
    def dot_height(self) -> int:
        return 4 * self.height

    def dot(self, x: int, y: int, layer: int = 0) -> None:
        """Light dot (x, y), y downwards; dots outside the canvas are ignored."""
        if not (0 <= x < self.dot_width and 0 <= y < self.dot_height):
            return
        row, col = y // 4, x // 2
        self.bits[row][col] |= DOT_BITS[x % 2][y % 4]
        self.layers[row][col] = max(self.layers[row][col], layer)

    def line(self, x0: int, y0: int, x1: int, y1: int, layer: int = 0) -> None:
        """Every dot on the segment from (x0, y0) to (x1, y1) (Bresenham), ends included."""
        dx, dy = abs(x1 - x0), -abs(y1 - y0)
        sx, sy = (1 if x0 < x1 else -1), (1 if y0 < y1 else -1)
        error = dx + dy
        while True:
            self.dot(x0, y0, layer)
            if x0 == x1 and y0 == y1:
                return
            twice = 2 * error
            if twice >= dy:
                error += dy
                x0 += sx
            if twice <= dx:
                error += dx
                y0 += sy

    def mark(self, x: int, y: int, char: str, layer: int) -> None:
        """Put `char` in the cell holding dot (x, y), over its dots; a higher layer wins."""
        if not (0 <= x < self.dot_width and 0 <= y < self.dot_height):
            return
        cell = (y // 4, x // 2)
        if cell not in self.markers or self.markers[cell][1] <= layer:
            self.markers[cell] = (char, layer)

    def cell(self, row: int, col: int) -> tuple[str, int]:
        if (row, col) in self.markers:
            return self.markers[(row, col)]
        return chr(BLANK + self.bits[row][col]), self.layers[row][col]

    def rows(self) -> list[list[tuple[str, int]]]:
        """Each row as runs of equal layer: [(text, layer), …]."""
        out = []
        for row in range(self.height):
            runs: list[list] = []
            for col in range(self.width):
                char, layer = self.cell(row, col)
                if runs and runs[-1][1] == layer:
                    runs[-1][0] += char
                else:
                    runs.append([char, layer])
            out.append([(text, layer) for text, layer in runs])
        return out

    def text(self) -> str:
        return "\n".join("".join(text for text, _ in row) for row in self.rows())


class Scale:
    """Data coordinates to dots: x to the right, y upwards, the bounds padded so a point on
    them is still drawn; a flat range is centred."""

    def __init__(self, xs: Iterable[float], ys: Iterable[float], dot_width: int,
                 dot_height: int) -> None:
        xs, ys = list(xs), list(ys)
        self.x0, self.x1 = _bounds(xs)
        self.y0, self.y1 = _bounds(ys)
        self.dot_width, self.dot_height = dot_width, dot_height

    def __call__(self, x: float, y: float) -> tuple[int, int]:
        fx = (x - self.x0) / (self.x1 - self.x0)
        fy = (y - self.y0) / (self.y1 - self.y0)
        return (round(fx * (self.dot_width - 1)), round((1 - fy) * (self.dot_height - 1)))


def _bounds(values: list[float]) -> tuple[float, float]:
    finite = [v for v in values if v == v and abs(v) != float("inf")]
    if not finite:
        return -1.0, 1.0
    low, high = min(finite), max(finite)
    if high - low < 1e-12:
        return low - 1.0, high + 1.0
    pad = (high - low) * 0.04
    return low - pad, high + pad
