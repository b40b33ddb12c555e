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

from inspector.tui.numbers import number
from inspector.tui.panels.base import PanelError, PanelInput, PanelSpec
from inspector.tui.panels.unit_list import BOLD, DIM, UnitListPanel

TOP = 64  # units kept from a ranking (the panel shows as many as fit)
ORDERS = ("r", "jaccard")


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


class UnitsPanel(UnitListPanel):
    """The ranking, best first; the cursor row is the unit selected from it."""

    ORDERS = ORDERS

    @property
    def matches(self) -> UnitMatches | None:
        return self.result

    def depends_on(self, data: PanelInput):
        return (data.generation, data.feature, data.span, self.order)

    def compute(self, data: PanelInput) -> UnitMatches:
        return match_units(data, self.order)

    def draw(self, result: UnitMatches) -> None:
        self.show(result, fresh=self.result is not None and self.result.pattern != result.pattern)

    def unit_names(self) -> tuple[str, ...]:
        return tuple(score.name for score in self.result.ranking.units)

    def title_line(self) -> list[Segment]:
        matches = self.result
        ranking = matches.ranking
        kind = (f"on at {matches.positives} of {ranking.steps} steps" if matches.binary
                else f"{ranking.steps} steps")
        order = "|r|" if self.order == "r" or not matches.binary else "Jaccard"
        return [Segment("units following ", DIM), Segment(matches.described, BOLD),
                Segment(f" ({kind}), by {order}", DIM)]

    def row_text(self, rank: int) -> str:
        return row_text(rank + 1, self.result.ranking.units[rank], self.result.binary)


SPEC = PanelSpec("units", "Units for a pattern", UnitsPanel, order=20,
                 description="Rank every unit by how well it follows a span of the tape or a "
                             "feature (r, threshold, Jaccard), and select one")
