"""The agreement line of compare mode: on how many steps the two models' outputs agree, where
they differ, and how often each one misses. It is what makes an MLP's failure on the second
letter of each doubled pair plain to see next to an RNN that gets it right."""

from __future__ import annotations

from rich.segment import Segment
from rich.style import Style

from inspector.tui.frames import AgreementFrame
from inspector.tui.widgets.lines import LinesWidget

DIM = Style(dim=True)
MISS = Style(color="red", bold=True)
GOOD = Style(color="green", bold=True)


class Agreement(LinesWidget):
    """Draws the controller's `AgreementFrame` (None: the partner is not there yet)."""

    def show(self, frame: AgreementFrame | None) -> None:
        if frame is None or not frame.steps:
            self.set_lines([[Segment("both models read every key you type", DIM)]])
            return
        first = [Segment(f"outputs agree on {frame.agree} of {frame.steps} steps",
                         GOOD if frame.agree == frame.steps else Style())]
        if frame.differ_at:
            first.append(Segment(" · differ at t=" + " ".join(map(str, frame.differ_at)), DIM))
        second = [Segment("misses: ", DIM)]
        for n, (label, missed) in enumerate(zip(frame.labels, frame.misses, strict=True)):
            if n:
                second.append(Segment(" · ", DIM))
            second += [Segment(f"{label} "), Segment(str(missed), MISS if missed else GOOD)]
        self.set_lines([first, second])
