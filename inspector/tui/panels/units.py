"""Item 2 of the analysis issue, LSTMVis's select-and-match: the units that follow a pattern.

The pattern is a span selected on the tape (1 on its steps, 0 elsewhere: `span:A-B`) or a
feature named from `inspector.analysis.features`. Every unit of every activation is ranked
against it by `inspector.analysis.units.rank_chunks` over the session's own activations (its
interventions included): r, and for a binary pattern the best threshold and its Jaccard index.
ctrl+↑ / ctrl+↓ (or a click) selects a ranked unit: the maps, the unit panel and the text
colours follow it; ctrl+← / ctrl+→ ranks by |r| or by Jaccard.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.app import ComposeResult

from inspector.tui.numbers import number
from inspector.tui.panels.base import AnalysisPanel, PanelError, PanelInput, PanelSpec
from inspector.tui.widgets.lines import LinesWidget

TOP = 64  # units kept from a ranking (the panel shows as many as fit)
ORDERS = ("r", "jaccard")
BOLD = Style(bold=True)
DIM = Style(dim=True)
CURSOR = Style(reverse=True)
SELECTED = Style(bold=True, underline=True)


@dataclass(frozen=True)
class UnitMatches:
    pattern: str  # the feature spec ranked against: `span:3-7`, `pair-position`
    described: str  # for the title: `the span t=3..6`, `pair-position`
    binary: bool
    positives: int  # steps where a binary pattern is on
    ranking: object  # inspector.analysis.units.UnitRanking


def pattern_of(data: PanelInput) -> tuple[str, str]:
    """The feature spec to rank against and how to say it: a span on the tape wins."""
    if data.span is not None:
        start, stop = data.span
        return f"span:{start}-{stop}", f"the span t={start}..{stop - 1}"
    if data.feature:
        return data.feature, data.feature
    raise PanelError("select a span of the tape (shift+← →, or drag) or choose a feature "
                     "(ctrl+f) to rank the units that follow it")


def match_units(data: PanelInput, by: str = "r", top: int = TOP) -> UnitMatches:
    """Every unit of every activation ranked against the pattern (worker thread)."""
    from inspector.analysis.features import BINARY, FeatureError, feature
    from inspector.analysis.units import rank_chunks

    spec, described = pattern_of(data)
    if data.steps < 2:
        raise PanelError("type a few characters: a ranking needs at least two steps")
    try:
        pattern = feature(spec, data.text)
        if pattern.steps != data.steps:
            raise PanelError(f"{spec} gives {pattern.steps} values for {data.steps} steps: "
                             "name a feature of the tokens (a span, labels:FILE)")
        model = data.run(lambda model: model)  # its names and bounds only: nothing is stepped
        names = model.activation_names()
        ranking = rank_chunks(model, data.activations.chunks(names), pattern, names=names,
                              top=top, by=by)
    except FeatureError as exc:
        raise PanelError(str(exc)) from None
    binary = pattern.kind == BINARY
    return UnitMatches(spec, described, binary,
                       int(pattern.values.sum()) if binary else 0, ranking)


def row_text(rank: int, score, binary: bool) -> str:
    text = f"{rank:>3} {score.name:<14} r {number(score.r)}"
    if binary and score.jaccard is not None:
        side = ">" if score.above else "<"
        text += f"  J {score.jaccard:.2f}  on {side} {number(score.threshold)}"
    return text


class UnitsPanel(AnalysisPanel):
    """The ranking, best first; the cursor row is the unit selected from it."""

    def __init__(self) -> None:
        super().__init__()
        self.by = ORDERS[0]
        self.title = LinesWidget(classes="panel-title")
        self.rows = LinesWidget(classes="panel-rows")
        self.matches: UnitMatches | None = None
        self.row = 0  # the cursor's row in the ranking
        self.first = 0  # the first row on screen

    def compose_body(self) -> ComposeResult:
        yield self.title
        yield self.rows

    def depends_on(self, data: PanelInput):
        return (data.generation, data.feature, data.span, self.by)

    def compute(self, data: PanelInput) -> UnitMatches:
        return match_units(data, self.by)

    def draw(self, result: UnitMatches) -> None:
        if self.matches is None or self.matches.pattern != result.pattern:
            self.row = self.first = 0
        self.matches = result
        self._draw()

    def clear(self) -> None:
        self.matches = None
        self.title.set_lines([])
        self.rows.set_lines([])

    def update_input(self, data: PanelInput) -> None:
        unit_moved = self.data is not None and self.data.unit != data.unit
        super().update_input(data)
        if unit_moved and self.matches is not None:
            self._draw()

    @property
    def capacity(self) -> int:
        return max(1, self.size.height - 2)

    def _draw(self) -> None:
        matches = self.matches
        ranking = matches.ranking
        kind = (f"on at {matches.positives} of {ranking.steps} steps" if matches.binary
                else f"{ranking.steps} steps")
        order = "|r|" if self.by == "r" or not matches.binary else "Jaccard"
        self.title.set_lines([[Segment("units following ", DIM), Segment(matches.described, BOLD),
                               Segment(f" ({kind}), by {order}", DIM)]])
        units = ranking.units
        self.row = min(self.row, len(units) - 1)
        if self.row < self.first:
            self.first = self.row
        elif self.row >= self.first + self.capacity:
            self.first = self.row - self.capacity + 1
        selected = self.data.unit if self.data is not None else None
        lines = []
        for rank in range(self.first, min(len(units), self.first + self.capacity)):
            score = units[rank]
            style = CURSOR if rank == self.row else SELECTED if score.name == selected else Style()
            lines.append([Segment(row_text(rank + 1, score, matches.binary), style)])
        self.rows.set_lines(lines)

    def cursor(self, delta: int) -> None:
        """Move to the next / previous ranked unit and select it (the first press selects the
        row the cursor is on, if it is not selected yet)."""
        if self.matches is None or not self.matches.ranking.units:
            return
        units = self.matches.ranking.units
        selected = self.data.unit if self.data is not None else None
        if units[self.row].name == selected or delta == 0:
            self.row = max(0, min(len(units) - 1, self.row + delta))
        self._draw()
        self.post_message(self.SelectUnit(self.matches.ranking.units[self.row].name))

    def option(self, delta: int) -> None:
        self.by = ORDERS[(ORDERS.index(self.by) + delta) % len(ORDERS)]
        if self.data is not None:
            self.update_input(self.data)

    def on_click(self, event: events.Click) -> None:
        if self.matches is None:
            return
        offset = event.get_content_offset(self.rows)
        if offset is not None and 0 <= offset.y < len(self.rows.lines):
            self.row = self.first + offset.y
            self.cursor(0)


SPEC = PanelSpec("units", "Units for a pattern", UnitsPanel, order=20,
                 description="Rank every unit by how well it follows a span of the tape or a "
                             "feature (r, threshold, Jaccard), and select one")
