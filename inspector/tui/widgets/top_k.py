"""The output distribution: the top-k tokens as bars with their probabilities, and the entropy."""

from __future__ import annotations

from collections.abc import Sequence

from rich.segment import Segment
from rich.style import Style

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
        self.top: tuple[tuple[str, float], ...] = ()
        self.entropy: float | None = None

    def on_resize(self) -> None:
        self.show(self.top, self.entropy)

    def show(self, top: Sequence[tuple[str, float]], entropy: float | None) -> None:
        self.top = tuple(top)
        self.entropy = entropy
        if not self.top:
            self.set_lines([[Segment("no step yet: type a character", DIM)]])
            return
        # a word or special as itself, escaped (a vocabulary from a file may hold control or
        # bidi characters); a character as its one-cell glyph
        labels = [printable(token) if len(token) > 1 else glyph(token) for token, _ in self.top]
        pad = max(map(len, labels))
        width = max(4, self.size.width - pad - 8)
        lines = [[Segment(f"{label:<{pad}} ", LABEL), Segment(bar(prob, width), BAR),
                  Segment(f" {prob:5.3f}")]
                 for label, (_, prob) in zip(labels, self.top, strict=True)]
        lines.append([Segment(f"entropy {entropy:.3f} bits", DIM)])
        self.set_lines(lines)
