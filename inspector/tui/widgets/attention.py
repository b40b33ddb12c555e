"""An attention decoder's weights over the source at the decoder step on view: one cell per
source token shaded on the 0..1 scale (the maps' gate colours), and the heaviest tokens written
with their weights, so the row reads without colour too."""

from __future__ import annotations

import numpy as np
from rich.color import Color
from rich.segment import Segment
from rich.style import Style

from inspector.tui.colours import UNIT, contrast_rgb, level_rgb
from inspector.tui.frames import AttentionFrame
from inspector.tui.numbers import number
from inspector.tui.text import token_label
from inspector.tui.widgets.lines import LinesWidget

DIM = Style(dim=True)
SHOWN = 3  # tokens written out with their weights


def weight_style(weight: float) -> Style:
    level = int(UNIT.quantise(np.array([weight]))[0])
    rgb = level_rgb("unit", level)
    return Style(color=Color.from_rgb(*contrast_rgb(rgb)), bgcolor=Color.from_rgb(*rgb))


class AttentionRow(LinesWidget):
    """`attention t=3  h e l l o ⟩` shaded, then `most: 'l' 0.91 · 'o' 0.05 · …`."""

    def show(self, frame: AttentionFrame | None) -> None:
        self.display = frame is not None
        if frame is None:
            self.set_lines([])
            return
        row = [Segment(f"attention t={frame.t} ", DIM)]
        for token, weight in zip(frame.tokens, frame.weights, strict=True):
            row.append(Segment(f" {token_label(token, 6)} ", weight_style(float(weight))))
        order = np.argsort(-np.nan_to_num(frame.weights, nan=-1.0))[:SHOWN]
        most = " · ".join(f"{token_label(frame.tokens[i], 12)} "
                          f"{number(frame.weights[i], sign=False)}" for i in order)
        self.set_lines([row, [Segment("most: ", DIM), Segment(most)]])
