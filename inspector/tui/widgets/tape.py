"""The input tape: typed characters, the model's output under each, misses marked below.

Only a window of the timeline is ever drawn (the screen asks for `capacity` steps around the step
on view), so a 10,000-character session costs the same per key as a short one.
"""

from __future__ import annotations

from functools import lru_cache

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip

from inspector.tui.frames import TapeCell, TapeFrame
from inspector.tui.text import token_label
from inspector.tui.widgets.cached_style import CachedStyle

LABELS = ("x ", "y ", "  ")
LABEL_STYLE = Style(dim=True)
MISS_STYLE = Style(color="red", bold=True)
VIEW_STYLE = Style(reverse=True)
PENDING_STYLE = Style(dim=True, italic=True)
INTERVENED_STYLE = Style(color="magenta", bold=True)
WRITTEN_STYLE = Style(color="cyan", italic=True)


class Tape(CachedStyle):
    """Three lines: x (typed), y (output at that step, red when a miss), and ✗ under every miss,
    ◆ under a step whose state was edited by an intervention, ✎ under a step the model wrote
    (its x in cyan italics)."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.cells: tuple[TapeCell, ...] = ()
        self.first_t = 0
        self.view_index: int | None = None

    @property
    def capacity(self) -> int:
        """How many steps fit: two columns each after the label."""
        return max(1, (self.size.width - len(LABELS[0])) // 2)

    def show(self, frame: TapeFrame) -> None:
        """Cells for steps frame.first_t.. ; `view_index` (into cells) is highlighted."""
        if (frame.cells, frame.first_t, frame.view_index) == (self.cells, self.first_t,
                                                              self.view_index):
            return
        self.cells = frame.cells
        self.first_t = frame.first_t
        self.view_index = frame.view_index
        self.refresh()

    def line_text(self, y: int) -> str:
        """The plain text of line y (what tests read)."""
        return "".join(segment.text for segment in self.render_line(y)).rstrip()

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        base = self.base_style
        if y >= len(LABELS):
            return Strip.blank(width, base)
        # Runs of equal style become one segment each (a cell's trailing space takes its
        # style, but for the reversed step on view), built on the widget's own style, so the
        # strip needs no further copies: a tape of misses costs a few segments, not 2 a cell.
        plain = tape_style(False, False, False)
        runs: list[list] = [[LABEL_STYLE, LABELS[y]]]
        for index, cell in enumerate(self.cells):
            style = self._style(y, index, cell)
            char = self._char(y, cell)
            if not cell.narrow:  # a word: every line of the cell as wide as its longest
                char = char.ljust(cell.width)
            pieces = ((style, char), (plain, " ")) if style.reverse else ((style, char + " "),)
            for piece_style, text in pieces:
                if runs[-1][0] is piece_style:
                    runs[-1][1] += text
                else:
                    runs.append([piece_style, text])
        used = sum(cell_len(text) for _, text in runs)
        strip = Strip([Segment(text, base + style) for style, text in runs], used)
        if used > width and not all(cell.narrow for cell in self.cells):
            # words are wider than the window planned for: keep the label and the newest ones
            label = len(LABELS[y])
            return Strip.join([strip.crop(0, label), strip.crop(used - width + label, used)])
        return strip if used == width else strip.crop_extend(0, width, base)

    @staticmethod
    def _char(y: int, cell: TapeCell) -> str:
        if y == 0:
            return token_label(cell.typed)
        if y == 1:
            return "…" if cell.predicted is None else token_label(cell.predicted)
        return "◆" if cell.intervened else "✎" if cell.by_model else "✗" if cell.miss else " "

    def _style(self, y: int, index: int, cell: TapeCell) -> Style:
        return tape_style(cell.predicted is None, y > 0 and cell.miss,
                          index == self.view_index and y < 2, y == 2 and cell.intervened,
                          cell.by_model and y != 1)


@lru_cache(maxsize=32)
def tape_style(pending: bool, miss: bool, on_view: bool, intervened: bool = False,
               written: bool = False) -> Style:
    """Built once per combination: adding Styles per cell on every key is measurable."""
    style = Style()
    if pending:
        style += PENDING_STYLE
    if miss:
        style += MISS_STYLE
    if intervened:
        style += INTERVENED_STYLE
    if written:
        style += WRITTEN_STYLE
    if on_view:
        style += VIEW_STYLE
    return style
