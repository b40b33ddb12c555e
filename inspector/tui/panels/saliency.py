"""Saliency strip: for the prediction at the step on view, how much each earlier character
mattered — the squared norm of the gradient of the predicted token's logit with respect to that
step's input (`inspector.analysis.saliency`, exact, on the CPU) — drawn on the tape: the typed
characters two columns a step, as the tape lays them out, each shaded by its share of the
largest score, with a bar under it.

The gradient runs through the model's own weights from the zero state over the typed keys, as a
trace does: interventions and clamps are not in it (the panel says so when the timeline has any).
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from functools import lru_cache

from rich.color import Color
from rich.segment import Segment
from rich.style import Style

from inspector.tui.panels.base import PanelError, PanelInput, PanelSpec
from inspector.tui.panels.quiet import QuietPanel
from inspector.tui.text import token_label
from inspector.tui.widgets.lines import LinesWidget

LEVELS = 8
BARS = " ▁▂▃▄▅▆▇█"
LABEL = "x "
DIM = Style(dim=True)
BOLD = Style(bold=True)
VIEW = Style(reverse=True)
TOP_SHOWN = 3
BAR_STYLE = Style(color="orange1")


@dataclass(frozen=True)
class SaliencyView:
    at: int
    inputs: str  # the characters of steps 0 … at
    prediction: str
    scores: tuple[float, ...]  # steps 0 … at
    intervened: bool  # the timeline has edits the gradient does not include


def explain(data: PanelInput) -> SaliencyView:
    """The saliency of the steps up to the one on view (worker thread)."""
    from inspector.analysis.saliency import saliency

    if data.t is None:
        raise PanelError("saliency: type a character to explain its prediction")
    if not data.model.native:
        raise PanelError("saliency needs gradients through the model's own weights; a model "
                         "with its own forward is not supported")
    if any(len(token) != 1 for token in data.tokens[:data.t + 1]):
        raise PanelError("saliency: inputs are read per character; this model reads words")
    text = data.text[:data.t + 1]
    try:
        result = data.run(lambda model: saliency(model, text, data.t))
    except ValueError as exc:
        raise PanelError(f"saliency: {exc}") from None
    return SaliencyView(result.at, result.inputs, result.prediction, result.scores,
                        any(t <= data.t for t, _ in data.interventions))


@lru_cache(maxsize=LEVELS + 1)
def shade(level: int) -> Style:
    """Background from the panel's dark grey (0) to bright orange (LEVELS)."""
    f = level / LEVELS
    return Style(bgcolor=Color.from_rgb(40 + 215 * f, 40 + 120 * f, 40 - 40 * f),
                 color="black" if f > 0.55 else "white")


def level_of(score: float, top: float) -> int:
    return 0 if top <= 0 else round(LEVELS * score / top)


def window(at: int, capacity: int) -> int:
    """The first step drawn: the newest `capacity` steps up to `at`."""
    return max(0, at + 1 - capacity)


def strip_lines(view: SaliencyView, width: int) -> list[list[Segment]]:
    top = max(view.scores) if view.scores else 0.0
    total = sum(view.scores) or 1.0
    ranked = sorted(range(len(view.scores)), key=lambda t: -view.scores[t])[:TOP_SHOWN]
    best = " · ".join(f"t={t} {token_label(view.inputs[t])} {view.scores[t] / total:.0%}"
                      for t in ranked)
    head = [Segment(f"saliency of {token_label(view.prediction)}", BOLD),
            Segment(f" predicted at t={view.at} (x={token_label(view.inputs[-1])}): "
                    "‖∂logit/∂x‖² of each step's input", DIM)]
    capacity = max(1, (width - len(LABEL)) // 2)
    first = window(view.at, capacity)
    chars: list[Segment] = [Segment(LABEL, DIM)]
    bars: list[Segment] = [Segment("  ", DIM)]
    for t in range(first, view.at + 1):
        level = level_of(view.scores[t], top)
        chars += [Segment(token_label(view.inputs[t]), shade(level) + (VIEW if t == view.at
                                                                        else Style())),
                  Segment(" ")]
        bars += [Segment(BARS[level], BAR_STYLE), Segment(" ")]
    lines = [head, chars, bars, [Segment(f"largest shares of the sum: {best}", DIM)]]
    if view.intervened:
        lines.append([Segment("the gradient is of the typed keys from the zero state: this "
                              "timeline's interventions are not in it", DIM)])
    return lines


class SaliencyPanel(QuietPanel):
    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.strip = LinesWidget(classes="saliency-strip")
        self.view: SaliencyView | None = None

    def compose_body(self):
        yield self.strip

    def depends_on(self, data: PanelInput) -> Hashable:
        return (data.generation, data.t)

    def waiting(self, data: PanelInput) -> str:
        return "computing the saliency…"

    def compute(self, data: PanelInput) -> SaliencyView:
        return explain(data)

    def draw(self, result: SaliencyView) -> None:
        self.view = result
        self.strip.set_lines(strip_lines(result, self.strip.size.width or 80))
        if self.data is not None:  # the main screen's own tape shows the same shares
            values = (*result.scores, *(0.0,) * (self.data.steps - len(result.scores)))
            self.post_message(self.ColourTape(
                values, f"saliency of {token_label(result.prediction)} at t={result.at}",
                self.data.generation))

    def activate(self, active: bool) -> None:
        if not active:
            self.post_message(self.ColourTape(None))
        super().activate(active)

    def clear(self) -> None:
        self.view = None
        self.strip.set_lines([])
        self.post_message(self.ColourTape(None))

    def on_resize(self) -> None:
        if self.view is not None:
            self.strip.set_lines(strip_lines(self.view, self.strip.size.width or 80))


SPEC = PanelSpec("saliency", "Saliency", SaliencyPanel, order=50,
                 description="How much each earlier character mattered to the prediction on view")
