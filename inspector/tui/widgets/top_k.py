"""The output distribution: the top-k tokens as bars with their probabilities, and the entropy."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.widget import Widget

from inspector.tui.text import glyph

BLOCKS = " ▏▎▍▌▋▊▉█"


def bar(fraction: float, width: int) -> str:
    """A horizontal bar `width` cells long at most, in eighths of a cell."""
    eighths = round(max(0.0, min(1.0, fraction)) * width * 8)
    full, part = divmod(eighths, 8)
    return ("█" * full + (BLOCKS[part] if part else "")).ljust(width)


class TopK(Widget):
    """Bars for the most probable next tokens of the step on view."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.top: tuple[tuple[str, float], ...] = ()
        self.entropy: float | None = None

    def show(self, top: Sequence[tuple[str, float]], entropy: float | None) -> None:
        self.top = tuple(top)
        self.entropy = entropy
        self.refresh(layout=True)

    def render(self) -> Text:
        text = Text()
        if not self.top:
            return Text("no step yet: type a character", style="dim")
        labels = [token if len(token) > 1 else glyph(token) for token, _ in self.top]
        pad = max(map(len, labels))
        width = max(4, self.size.width - pad - 8)
        for label, (_, prob) in zip(labels, self.top, strict=True):
            text.append(f"{label:<{pad}} ", style="bold")
            text.append(bar(prob, width), style="green")
            text.append(f" {prob:5.3f}\n")
        text.append(f"entropy {self.entropy:.3f} bits", style="dim")
        return text
