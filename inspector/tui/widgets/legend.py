"""The colour scale and value ranges of the heatmaps, drawn from the same colour scales they use."""

from __future__ import annotations

from rich.color import Color
from rich.style import Style
from rich.text import Text
from textual.widget import Widget

from inspector.tui.colours import LEVELS, NAN, NEG_INF, POS_INF, level_rgb


def ramp_text(ramp: str) -> Text:
    text = Text()
    for level in range(LEVELS):
        text.append("█", style=Style(color=Color.from_rgb(*level_rgb(ramp, level))))
    return text


def swatch(level: int) -> Text:
    return Text("█", style=Style(color=Color.from_rgb(*level_rgb("signed", level))))


class Legend(Widget):
    """Which maps use which scale: fixed ranges for bounded activations, per-map for the rest."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.signed_names = "h"
        self.unit_names = ""
        self.adaptive_names = "c Δh"
        self.mode = "session"

    def set_mode(self, mode: str) -> None:
        """Say which scale the maps use: `session` or `step` (see `colours.scale_for`)."""
        self.mode = mode
        self.refresh(layout=True)

    def describe(self, signed_names: str, unit_names: str, adaptive_names: str) -> None:
        """Name the maps on each scale (they differ between RNN, LSTM, GRU and MLP models)."""
        self.signed_names, self.unit_names = signed_names, unit_names
        self.adaptive_names = adaptive_names
        self.refresh(layout=True)

    def render(self) -> Text:
        text = Text()
        text.append("-1 ")
        text.append_text(ramp_text("signed"))
        text.append(" +1  ")
        text.append(self.signed_names, style="dim")
        if self.unit_names:
            text.append("\n 0 ")
            text.append_text(ramp_text("unit"))
            text.append("  1  ")
            text.append(self.unit_names, style="dim")
        if self.mode == "step":
            text.append("\n* every map over its own step", style="dim")
            text.append("\nctrl+t: ranges over the session", style="dim")
        elif self.adaptive_names:
            text.append("\n±max so far (in title): ", style="dim")
            text.append(self.adaptive_names, style="dim")
            text.append("\nctrl+t: every map per step", style="dim")
        text.append("\n")
        for level, name in ((NAN, "NaN"), (POS_INF, "+Inf"), (NEG_INF, "-Inf")):
            text.append_text(swatch(level))
            text.append(f" {name}  ")
        return text
