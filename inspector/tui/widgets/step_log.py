"""The step log: one line per step in the seed's words, newest last, cut (never wrapped) at the
right edge so a narrow screen loses only the state summary at the end of each line."""

from __future__ import annotations

from collections.abc import Sequence

from rich.segment import Segment
from rich.style import Style

from inspector.tui.widgets.lines import LinesWidget

VIEW_STYLE = Style(bold=True)
OLD_STYLE = Style(dim=True)


class StepLog(LinesWidget):
    """Shows the newest lines it is given that fit; the screen asks for `capacity` of them."""

    DEFAULT_CSS = "StepLog { height: 1fr; }"  # its height decides how many steps are shown

    @property
    def capacity(self) -> int:
        return max(1, self.size.height)

    def show(self, lines: Sequence[str]) -> None:
        shown = list(lines[-self.capacity:]) if lines else []
        self.set_lines([[Segment(text, VIEW_STYLE if y == len(shown) - 1 else OLD_STYLE)]
                        for y, text in enumerate(shown)])

    @property
    def texts(self) -> list[str]:
        return [self.line_text(y) for y in range(len(self.lines))]
