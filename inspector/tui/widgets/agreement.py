"""The agreement line of compare mode: on how many steps the two models' outputs agree, where
they differ, and how often each one misses. It is what makes an MLP's failure on the second
letter of each doubled pair plain to see next to an RNN that gets it right."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.segment import Segment
from rich.style import Style

from inspector.tui.view import is_miss
from inspector.tui.widgets.lines import LinesWidget

if TYPE_CHECKING:
    from inspector.tui.view import StepSummary

DIM = Style(dim=True)
MISS = Style(color="red", bold=True)
GOOD = Style(color="green", bold=True)
SHOWN_DIFFERENCES = 12  # the newest steps where the outputs differ, listed by t


class Agreement(LinesWidget):
    """Kept up to date step by step: a 10,000-step session is never re-compared per key."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.pairs: list[tuple[StepSummary, StepSummary]] = []
        self.flags: list[tuple[bool, bool, bool]] = []  # (agree, first misses, second misses)
        self.totals = [0, 0, 0]

    def show(self, labels: tuple[str, str], steps: tuple[Sequence[StepSummary],
                                                         Sequence[StepSummary]],
             tasks: tuple[str | None, str | None]) -> None:
        self._sync(steps, tasks)
        count = len(self.flags)
        if not count:
            self.set_lines([[Segment("both models read every key you type", DIM)]])
            return
        agree, misses = self.totals[0], self.totals[1:]
        differ = [t for t in range(count - 1, -1, -1) if not self.flags[t][0]][:SHOWN_DIFFERENCES]
        first = [Segment(f"outputs agree on {agree} of {count} steps",
                         GOOD if agree == count else Style())]
        if differ:
            first.append(Segment(" · differ at t=" + " ".join(map(str, reversed(differ))), DIM))
        second = [Segment("misses  ", DIM)]
        for label, missed in zip(labels, misses, strict=True):
            second += [Segment(f"{label} "), Segment(str(missed), MISS if missed else GOOD),
                       Segment("   ")]
        self.set_lines([first, second])

    def _sync(self, steps: tuple[Sequence[StepSummary], Sequence[StepSummary]],
              tasks: tuple[str | None, str | None]) -> None:
        """Drop compared steps that changed (stepped back, re-typed, switched), add new ones."""
        first, second = steps
        count = min(len(first), len(second))
        while self.pairs and (len(self.pairs) > count or self.pairs[-1][0] is not
                              first[len(self.pairs) - 1] or self.pairs[-1][1] is not
                              second[len(self.pairs) - 1]):
            self.pairs.pop()
            self._count(self.flags.pop(), -1)
        for t in range(len(self.pairs), count):
            flags = (first[t].prediction == second[t].prediction,
                     is_miss(tasks[0], first, t), is_miss(tasks[1], second, t))
            self.pairs.append((first[t], second[t]))
            self.flags.append(flags)
            self._count(flags, 1)

    def _count(self, flags: tuple[bool, bool, bool], sign: int) -> None:
        for index, flag in enumerate(flags):
            self.totals[index] += sign * flag
