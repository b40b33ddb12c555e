"""The output distribution: the top-k tokens as bars with their probabilities, and the entropy."""

from __future__ import annotations

from rich.segment import Segment
from rich.style import Style

from inspector.tui.frames import TopKFrame
from inspector.tui.numbers import number, probability
from inspector.tui.text import glyph
from inspector.tui.widgets.lines import LinesWidget
from models.errors import printable

BLOCKS = " ▏▎▍▌▋▊▉█"
LABEL = Style(bold=True)
BAR = Style(color="green")
DIM = Style(dim=True)


def bar(fraction: float, width: int) -> str:
    """A horizontal bar `width` cells long at most, in eighths of a cell."""
    eighths = round(max(0.0, min(1.0, fraction)) * width * 8)
    full, part = divmod(eighths, 8)
    return ("█" * full + (BLOCKS[part] if part else "")).ljust(width)


class TopK(LinesWidget):
    """Bars for the most probable next tokens of the step on view."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.frame = TopKFrame()

    @property
    def top(self) -> tuple[tuple[str, float], ...]:
        return self.frame.top

    def on_resize(self) -> None:
        self.show(self.frame)

    def show(self, frame: TopKFrame) -> None:
        self.frame = frame
        if not frame.top:
            self.set_lines([[Segment(frame.placeholder, DIM)]])
            return
        # a word or special as itself, escaped (a vocabulary from a file may hold control or
        # bidi characters); a character as its one-cell glyph
        labels = [printable(token) if len(token) > 1 else glyph(token) for token, _ in self.top]
        pad = max(map(len, labels))
        width = max(4, self.size.width - pad - 8)
        lines = [[Segment(f"{label:<{pad}} ", LABEL), Segment(bar(prob, width), BAR),
                  Segment(f" {probability(prob):>5}")]
                 for label, (_, prob) in zip(labels, self.top, strict=True)]
        entropy = f"entropy {number(frame.entropy, sign=False, digits=3)}"
        fits = len(entropy) + 5 <= self.size.width  # a narrow side panel drops the unit
        lines.append([Segment(entropy + " bits" if fits else entropy, DIM)])
        self.set_lines(lines)
