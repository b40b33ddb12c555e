"""Trajectory panel: the state's path in its first two principal components, in braille, with
the step on view highlighted and the fixed points of its input marked (● stable, ○ unstable);
under it, how far the state moved at each recent step (‖Δh‖ in the full state, aligned bars),
where a rhythm such as the doubled task's pairs (short hop inside a pair, long hop to the next)
shows step by step.

The layer is the selected unit's (else layer 0). PCA is `inspector.analysis.pca` over every step
of the timeline on view; the fixed points are `inspector.analysis.fixed_points` searched from
states the run visited, in a second worker (seconds for a 2×64 LSTM), kept per held input.
"""

from __future__ import annotations

import threading
from collections.abc import Hashable
from dataclasses import dataclass

import numpy as np
from rich.segment import Segment
from rich.style import Style
from textual import work

from inspector.tui.panels.base import PanelError, PanelInput, PanelSpec
from inspector.tui.panels.braille import BrailleCanvas, Scale
from inspector.tui.panels.quiet import QuietPanel
from inspector.tui.text import token_label
from inspector.tui.widgets.lines import LinesWidget

MAX_SEARCHED_STATE = 256  # a 2x64 LSTM's [h; c]: ~2-10 s of search (its Jacobians are D x D)
DRAWN = 400  # newest steps drawn (the axes are of every step)
RECENT = 6  # steps drawn brighter before the one on view
OLD, NEWER, CURRENT, FIXED, VIEW = 0, 1, 2, 3, 4
LAYER_STYLES = {-1: Style(color="grey23"), OLD: Style(color="grey50"),
                NEWER: Style(color="cyan"), CURRENT: Style(color="bright_white", bold=True),
                FIXED: Style(color="green", bold=True), VIEW: Style(color="yellow", bold=True)}
UNSTABLE_STYLE = Style(color="red", bold=True)
BARS = "▁▂▃▄▅▆▇█"
DIM, BOLD = Style(dim=True), Style(bold=True)
HOP_STYLE, HOP_VIEW = Style(color="cyan"), Style(color="yellow", bold=True)


@dataclass(frozen=True)
class TrajectoryView:
    trajectory: object  # inspector.analysis.trajectory.Trajectory
    t: int  # the step on view
    hold: str  # its input, whose fixed points are marked
    hops: np.ndarray  # (T,) ‖h_t − h_{t−1}‖ (h_{−1} the zero state)
    fixed_note: str  # why no fixed points are marked, or "" when they are


def layer_of(data: PanelInput) -> int:
    selected = data.selected()
    if selected is not None and selected[0].startswith("l"):
        head = selected[0].split(".")[0]
        if head[1:].isdigit() and int(head[1:]) < data.model.n_layers:
            return int(head[1:])
    return 0


def stacked_names(data: PanelInput) -> list[str]:
    """The activations a fixed point's state is made of, in the search's order (h, then c, of
    every layer: `fixed_points.StepMap.names`)."""
    have = set(data.activations.names())
    return [f"l{k}.{part}" for k in range(data.model.n_layers) for part in ("h", "c")
            if f"l{k}.{part}" in have]


def fixed_points_possible(data: PanelInput) -> str:
    """'' when fixed points can be searched, else why not."""
    if data.model.cell == "mlp":
        return "an MLP has no state: no fixed points"
    if not data.model.native:
        return "fixed points need the model's own weights (not a model with its own forward)"
    size = data.model.n_layers * data.model.hidden * (2 if data.model.cell == "lstm" else 1)
    if size > MAX_SEARCHED_STATE:
        return (f"fixed points: a state of {size} numbers takes minutes to search; "
                "run rnn-inspect fixed-points")
    return ""


def project(data: PanelInput, fixed) -> TrajectoryView:
    """The path, hops and (given) fixed points for `data` (worker thread)."""
    from inspector.analysis.trajectory import trajectory

    if data.steps < 2:
        raise PanelError("trajectory: type two steps or more to see the state move")
    t = data.steps - 1 if data.t is None else data.t
    name = f"l{layer_of(data)}.h"
    rows = np.asarray(data.activations.get(name), dtype=np.float64)
    hops = np.linalg.norm(np.diff(rows, axis=0, prepend=np.zeros((1, rows.shape[1]))), axis=1)
    hold = data.tokens[t]
    note = fixed_points_possible(data)
    if isinstance(fixed, str):  # the search failed: say why
        note, fixed = fixed, None
    elif not note and fixed is None:
        note = f"searching the fixed points of {token_label(hold)}…"
    return TrajectoryView(trajectory(rows, name, 0, fixed), t, hold, hops, note)


def plot_lines(view: TrajectoryView, width: int, height: int) -> list[list[Segment]]:
    """The header, `height` rows of braille and the hop strip, `width` cells wide."""
    tr = view.trajectory
    explained = " × ".join(f"PC{i + 1} ({share:.0%})" for i, share in enumerate(tr.explained))
    stable = [p for p in tr.fixed if p.stable]
    unstable = [p for p in tr.fixed if not p.stable]
    head = [Segment(f"{tr.name}", BOLD), Segment(f" in {explained} · ", DIM),
            Segment("◆", LAYER_STYLES[VIEW]),
            Segment(f" t={view.t} x={token_label(view.hold)}", DIM)]
    if view.fixed_note:
        head.append(Segment(f" · {view.fixed_note}", DIM))
    else:
        outputs = ",".join(sorted({token_label(p.output) for p in stable}))
        head += [Segment(f" · hold {token_label(view.hold)}: ", DIM),
                 Segment(f"● {len(stable)} stable", LAYER_STYLES[FIXED]),
                 Segment(f" (→{outputs})" if outputs else "", DIM), Segment(" ", DIM),
                 Segment(f"○ {len(unstable)} unstable", UNSTABLE_STYLE)]
        if sum(len(segment.text) for segment in head) > width:  # the counts matter most
            head = [segment for segment in head if not segment.text.startswith(" (→")]
    canvas = BrailleCanvas(width, max(1, height))
    path = tr.path
    first = max(0, len(path) - DRAWN)
    xs = [*path[first:, 0], *(p.x for p in tr.fixed)]
    ys = [*path[first:, 1], *(p.y for p in tr.fixed)]
    scale = Scale(xs, ys, canvas.dot_width, canvas.dot_height)
    dots = [scale(x, y) for x, y in path]
    for i in range(max(first, 1), len(path)):
        layer = CURRENT if i == view.t else NEWER if view.t - RECENT < i < view.t else OLD
        canvas.line(*dots[i - 1], *dots[i], layer)
    if first == 0:
        canvas.dot(*dots[0], OLD)
    for point in tr.fixed:
        canvas.mark(*scale(point.x, point.y), "●" if point.stable else "○", FIXED)
    canvas.mark(*dots[view.t], "◆", VIEW)
    unstable_cells = {(scale(p.x, p.y)[1] // 4, scale(p.x, p.y)[0] // 2) for p in unstable}
    lines = [head]
    for row, runs in enumerate(canvas.rows()):
        line = []
        col = 0
        for text, layer in runs:
            if layer == FIXED:  # split so an unstable point takes its own colour
                for char in text:
                    style = UNSTABLE_STYLE if (row, col) in unstable_cells else LAYER_STYLES[FIXED]
                    line.append(Segment(char, style))
                    col += 1
                continue
            line.append(Segment(text, LAYER_STYLES[layer]))
            col += len(text)
        lines.append(line)
    lines += hop_lines(view, width)
    return lines


def hop_lines(view: TrajectoryView, width: int) -> list[list[Segment]]:
    """‖Δh‖ of the newest steps up to the one on view, one bar per step, two cells a step."""
    label = "‖Δh‖ "
    count = max(1, (width - len(label)) // 2)
    first = max(0, view.t + 1 - count)
    hops = view.hops[first:view.t + 1]
    top = float(hops.max()) if len(hops) else 0.0
    bars = [Segment(label, DIM)]
    for i, hop in enumerate(hops):
        level = 0 if top <= 0 else min(len(BARS) - 1, int(hop / top * (len(BARS) - 1) + 0.5))
        bars += [Segment(BARS[level], HOP_VIEW if first + i == view.t else HOP_STYLE),
                 Segment(" ")]
    return [bars]


class TrajectoryPanel(QuietPanel):
    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.plot = LinesWidget(classes="trajectory-plot")
        self.view: TrajectoryView | None = None
        # (model info, hold) -> FixedPointResult, or the line saying why the search failed
        self.fixed: dict[tuple[object, str], object] = {}
        self.searching: set[tuple[object, str]] = set()
        self.fixed_version = 0
        self._lock = threading.Lock()

    def compose_body(self):
        yield self.plot

    def depends_on(self, data: PanelInput) -> Hashable:
        return (data.generation, data.t, layer_of(data), self.fixed_version)

    def waiting(self, data: PanelInput) -> str:
        return "projecting the path…"

    def compute(self, data: PanelInput) -> TrajectoryView:
        t = data.steps - 1 if data.t is None else data.t
        with self._lock:
            fixed = self.fixed.get((data.model, data.tokens[t])) if data.steps else None
        return project(data, fixed)

    def draw(self, result: TrajectoryView) -> None:
        self.view = result
        self._redraw()
        data = self.data
        key = (data.model, result.hold) if data is not None else None
        with self._lock:
            known = key in self.fixed
        if (data is not None and not known and not fixed_points_possible(data)
                and key not in self.searching):
            self.searching.add(key)
            self._search(data, result.hold, key)

    def _redraw(self) -> None:
        if self.view is None:
            return
        width = max(10, self.plot.size.width or self.size.width or 60)
        rows = max(3, (self.size.height or 12) - 3)
        self.plot.set_lines(plot_lines(self.view, width, rows))

    def on_resize(self) -> None:
        self._redraw()

    @work(thread=True, group="fixed-points")
    def _search(self, data: PanelInput, hold: str, key: tuple[object, str]) -> None:
        from inspector.analysis.trajectory import visited_fixed_points

        try:
            arrays = {name: data.activations.get(name) for name in stacked_names(data)}
            result = data.run(lambda model: visited_fixed_points(model, hold, arrays))
        except Exception as exc:  # a failed search is one line; the path stays
            self.log.error("fixed-point search failed", exc)
            result = f"no fixed points: {type(exc).__name__}: {exc}"
        self.app.call_from_thread(self._found, key, result)

    def _found(self, key: tuple[object, str], result) -> None:
        self.searching.discard(key)
        with self._lock:
            self.fixed[key] = result
        self.fixed_version += 1
        if self.data is not None:
            self.update_input(self.data)


    def clear(self) -> None:
        self.view = None
        self.plot.set_lines([])

SPEC = PanelSpec("trajectory", "Trajectory", TrajectoryPanel, order=40,
                 description="The state's path in its first two principal components, with the "
                             "fixed points of the input on view")
