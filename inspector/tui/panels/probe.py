"""Probe panel: per layer, how well a linear probe reads the chosen feature from h and from c,
held out, against the majority baseline (R² against the mean's for a continuous feature).

Refitted on the session's own states (interventions included) as the timeline grows, in the
panel's worker, by `inspector.analysis.probes.probe_rows` — the fit `rnn-inspect probe` makes.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from functools import lru_cache

from rich.segment import Segment
from rich.style import Style

from inspector.tui.panels.base import PanelError, PanelInput, PanelSpec
from inspector.tui.panels.quiet import QuietPanel
from inspector.tui.widgets.lines import LinesWidget

TASK_FEATURES = {"doubled": "pair-position", "flipflop": "bits", "text": "in-quotes"}
DEFAULT_FEATURE = "position"
MIN_STEPS = 8  # fewer and the held-out part has one or two steps
BAR = 20  # cells of the score bar
TOP_SHOWN = 3
NAME_STYLE = Style(bold=True)
DIM = Style(dim=True)
BASELINE_STYLE = Style(color="yellow", bold=True)
GOOD, WEAK = Style(color="green"), Style(color="grey50")


def default_feature(task: str | None) -> str:
    """What the panel probes when no feature is chosen: the task's own, else the position."""
    return TASK_FEATURES.get(task or "", DEFAULT_FEATURE)


@dataclass(frozen=True)
class ProbeView:
    spec: str
    chosen: bool  # the user chose the feature (not the task's default)
    result: object  # inspector.analysis.probes.ProbeResult


def state_names(names: tuple[str, ...]) -> list[str]:
    """h and c of every layer, among an Activations' names (`l0.h`, `l0.c`, …)."""
    return [n for n in names if n.count(".") == 1 and n.split(".")[1] in ("h", "c")]


def fit(data: PanelInput) -> ProbeView:
    """The probes for `data` (worker thread)."""
    from inspector.analysis.features import FeatureError, feature
    from inspector.analysis.probes import probe_rows, stride_for

    spec = data.feature or default_feature(data.model.task)
    if any(len(token) != 1 for token in data.tokens):
        raise PanelError("probe: features are read per character; this model reads words")
    if data.steps < MIN_STEPS:
        raise PanelError(f"probe {spec}: type {MIN_STEPS - data.steps} more step(s) to fit "
                         "one part and score the rest")
    try:
        values = feature(spec, data.text)
        stride = stride_for(data.steps)
        rows = {name: data.activations.get(name)[::stride]
                for name in state_names(data.activations.names())}
        return ProbeView(spec, data.feature is not None, probe_rows(rows, values, stride))
    except FeatureError as exc:
        raise PanelError(f"probe {spec}: {exc}") from None


def score_text(metric: str, value: float) -> str:
    return f"{value * 100:5.1f}%" if metric == "accuracy" else f"{value:+.3f}"


@lru_cache(maxsize=64)
def bar(score: float, baseline: float) -> tuple[Segment, ...]:
    """BAR cells: filled up to the score (0…1), the baseline marked │."""
    filled = round(max(0.0, min(1.0, score)) * BAR)
    mark = min(BAR - 1, round(max(0.0, min(1.0, baseline)) * BAR))
    style = GOOD if score > baseline + 0.05 else WEAK
    cells = ["█" if i < filled else "░" for i in range(BAR)]
    out = []
    for i, char in enumerate(cells):
        if i == mark:
            out.append(Segment("│" if char == "░" else "┃", BASELINE_STYLE))
        else:
            out.append(Segment(char, style))
    return tuple(out)


def probe_lines(view: ProbeView) -> list[list[Segment]]:
    result = view.result
    metric = "accuracy" if result.metric == "accuracy" else "R²"
    origin = "" if view.chosen else " (the task's; name another in Units)"
    lines = [[Segment(f"probe {view.spec}", NAME_STYLE), Segment(origin, DIM),
              Segment(f" · {result.steps} steps: {result.train_steps} fit, "
                      f"{result.test_steps} held out", DIM)],
             [Segment(f"{'':6}{metric:<{BAR}}  {'held out':>8}  {'baseline':>8}  top units",
                      DIM)]]
    for layer in result.layers:
        top = "  ".join(f"{name} {weight:+.2f}" for name, weight in layer.top_units[:TOP_SHOWN])
        lines.append([Segment(f"{layer.name:<6}", NAME_STYLE), *bar(layer.accuracy, layer.baseline),
                      Segment(f"  {score_text(result.metric, layer.accuracy):>8}  "
                              f"{score_text(result.metric, layer.baseline):>8}  "),
                      Segment(top, DIM)])
    return lines


class ProbePanel(QuietPanel):
    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.table = LinesWidget(classes="probe-table")
        self.view: ProbeView | None = None

    def compose_body(self):
        yield self.table

    def depends_on(self, data: PanelInput) -> Hashable:
        return (data.generation, data.feature)  # not the step on view: the fit is of them all

    def waiting(self, data: PanelInput) -> str:
        return f"fitting probes for {data.feature or default_feature(data.model.task)}…"

    def compute(self, data: PanelInput) -> ProbeView:
        return fit(data)

    def draw(self, result: ProbeView) -> None:
        self.view = result
        self.table.set_lines(probe_lines(result))


    def clear(self) -> None:
        self.view = None
        self.table.set_lines([])

SPEC = PanelSpec("probe", "Probe", ProbePanel, order=30,
                 description="How well a linear probe reads the feature from each layer's h and c")
