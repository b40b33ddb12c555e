"""Trajectory panel: the state's path in its first two principal components, in braille, with
the step on view highlighted and the fixed points of its input marked (● stable, ○ unstable);
under it, how far the state moved at each recent step (‖Δh‖ in the full state, aligned bars),
where a rhythm such as the doubled task's pairs (short hop inside a pair, long hop to the next)
shows step by step.

The layer is the selected unit's (else layer 0). PCA is `inspector.analysis.pca` over every step
of the timeline on view; the fixed points are `inspector.analysis.fixed_points` searched from
states the run visited, in a second worker that says how far it is and is cancelled when the
input on view changes, kept per held input: the full search (48 starts, 200 iterations, 300
settling steps; seconds for the 2×64 demo) up to `FULL_SEARCH` numbers of state, a bounded one
beyond (fewer of each; ~20 s on one core for a 2×512 LSTM), which the panel says. Either is
exactly `rnn-inspect fixed-points MODEL --hold X --input TEXT --starts N --iterations M
--settle K`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Hashable
from dataclasses import dataclass, replace

import numpy as np
from rich.segment import Segment
from rich.style import Style
from textual import work
from textual.message import Message
from textual.worker import get_current_worker

from inspector.tui.panels.base import PanelError, PanelInput, PanelSpec
from inspector.tui.panels.braille import BrailleCanvas, Scale
from inspector.tui.panels.quiet import QuietPanel
from inspector.tui.text import token_label
from inspector.tui.widgets.lines import LinesWidget

FULL_SEARCH = 512  # numbers of state searched with the full settings (a 2x128 LSTM's [h; c])
LARGEST_SEARCH = 4096  # beyond this a Jacobian alone is 128 MB: the command line's job
# the analysis package's defaults (FIXED_POINT_STARTS, ITERATIONS, SETTLE), without torch here
FULL_STARTS, FULL_ITERATIONS, FULL_SETTLE = 48, 200, 300
BOUNDED_STARTS, BOUNDED_ITERATIONS, BOUNDED_SETTLE = 12, 100, 100  # a 2x512 LSTM: ~20 s
PROGRESS_EVERY = 0.25  # s between progress lines
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
    plan: SearchPlan | None = None  # how the marked points were searched


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


@dataclass(frozen=True)
class SearchPlan:
    """How the panel searches: the command line's --starts and --iterations."""

    starts: int
    iterations: int
    settle: int
    bounded: bool  # fewer than the full search's, because the state is large

    def describe(self) -> str:
        if not self.bounded:
            return f"{self.starts} starts"
        return (f"{self.starts} starts, {self.iterations} iterations, settle {self.settle} "
                "(bounded)")


def state_size(data: PanelInput) -> int:
    return data.model.n_layers * data.model.hidden * (2 if data.model.cell == "lstm" else 1)


def search_plan(data: PanelInput) -> SearchPlan:
    """The full search up to FULL_SEARCH numbers of state, a bounded one beyond; never more
    starts than steps (the command line takes the same evenly spaced states)."""
    if state_size(data) <= FULL_SEARCH:
        return SearchPlan(min(FULL_STARTS, data.steps), FULL_ITERATIONS, FULL_SETTLE, False)
    return SearchPlan(min(BOUNDED_STARTS, data.steps), BOUNDED_ITERATIONS, BOUNDED_SETTLE, True)


def fixed_points_possible(data: PanelInput) -> str:
    """'' when fixed points can be searched, else why not."""
    if data.model.cell == "mlp":
        return "an MLP has no state: no fixed points"
    if not data.model.native:
        return "fixed points need the model's own weights (not a model with its own forward)"
    size = state_size(data)
    if size > LARGEST_SEARCH:
        return (f"fixed points: a state of {size} numbers is too large to search here; "
                "run rnn-inspect fixed-points")
    return ""


STAGES = {"settle": "settling", "adam": "descent", "newton": "refining",
          "stability": "stability"}


def progress_line(hold: str, plan: SearchPlan, stage: str, done: int, total: int,
                  seconds: float) -> str:
    """What a running search says, how far it is first (a narrow panel cuts the end)."""
    return (f"fixed points of {token_label(hold)}: {STAGES.get(stage, stage)} {done}/{total} · "
            f"{seconds:.0f} s · {plan.describe()}")


class SearchCancelled(Exception):
    """The input on view moved on (or the panel was hidden): this search is not wanted."""


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
        note = f"fixed points of {token_label(hold)}: searching · {search_plan(data).describe()}"
    plan = None if fixed is None else replace(search_plan(data), starts=fixed.starts)
    return TrajectoryView(trajectory(rows, name, 0, fixed), t, hold, hops, note, plan)


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
        if sum(len(segment.text) for segment in head) > width:  # the note matters more
            head[1] = Segment(" ", DIM)
    else:
        outputs = ",".join(sorted({token_label(p.output) for p in stable}))
        head += [Segment(f" · hold {token_label(view.hold)}: ", DIM),
                 Segment(f"● {len(stable)} stable", LAYER_STYLES[FIXED]),
                 Segment(f" (→{outputs})" if outputs else "", DIM), Segment(" ", DIM),
                 Segment(f"○ {len(unstable)} unstable", UNSTABLE_STYLE),
                 Segment(f" · {view.plan.describe()}" if view.plan else "", DIM)]
        for drop in (" (→", " in PC"):  # the counts and how they were found matter most
            if sum(len(segment.text) for segment in head) > width:
                head = [segment if not segment.text.startswith(drop) else
                        Segment(" " if drop == " in PC" else "", DIM) for segment in head]
    fixed_lines = [eigen_line(tr.fixed)] if tr.fixed else []
    height -= len(fixed_lines)
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
    lines += fixed_lines + hop_lines(view, width)
    return lines


def eigen_line(points) -> list[Segment]:
    """Each fixed point's output and largest |eigenvalue| (stable below 1), as the command line
    prints them (three decimals)."""
    line = [Segment("max|λ|", DIM)]
    for p in points:
        line += [Segment(" "), Segment(f"{'●' if p.stable else '○'}→{token_label(p.output)} ",
                                        LAYER_STYLES[FIXED] if p.stable else UNSTABLE_STYLE),
                 Segment(f"{p.max_abs_eig:.3f}")]
    return line


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
    class SearchProgress(Message):
        def __init__(self, key: tuple[object, str], line: str) -> None:
            super().__init__()
            self.key = key
            self.line = line

    class SearchDone(Message):
        def __init__(self, key: tuple[object, str], result: object) -> None:
            super().__init__()
            self.key = key
            self.result = result  # a FixedPointResult, or the line saying why the search failed

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.plot = LinesWidget(classes="trajectory-plot")
        self.view: TrajectoryView | None = None
        # (model info, hold) -> FixedPointResult, or the line saying why the search failed
        self.fixed: dict[tuple[object, str], object] = {}
        self.search_key: tuple[object, str] | None = None  # the search running, if any
        self.search_line = ""  # its newest progress line
        self.cancelled = 0  # searches stopped before their end (the input moved on)
        self.fixed_version = 0
        self._lock = threading.Lock()

    @property
    def searching(self) -> bool:
        return self.search_key is not None

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
        if data is None or fixed_points_possible(data):
            return
        key = (data.model, result.hold)
        with self._lock:
            known = self.fixed.get(key)
        # searched from fewer states than the session now offers: search again (the old points
        # stay on screen meanwhile)
        fewer = getattr(known, "starts", None) is not None and \
            known.starts < search_plan(data).starts
        if (known is None or fewer) and key != self.search_key:
            self.search_key, self.search_line = key, ""
            self._search(data, result.hold, key)  # exclusive: an older search is cancelled

    def update_input(self, data: PanelInput) -> None:
        """A frame whose input on view is not the one being searched stops that search at
        once (keys coming in: the search waits, with the other panels, for them to pause)."""
        if self.search_key is not None and data.steps:
            t = data.steps - 1 if data.t is None else data.t
            if (data.model, data.tokens[t]) != self.search_key:
                self._stop_search()
        super().update_input(data)

    def activate(self, active: bool) -> None:
        if not active:  # hidden: its search stops
            self._stop_search()
        super().activate(active)

    def _stop_search(self) -> None:
        if self.search_key is not None:
            self.workers.cancel_group(self, "fixed-points")
            self.search_key, self.search_line = None, ""

    def _redraw(self) -> None:
        if self.view is None:
            return
        view = self.view
        if self.search_line and self.search_key == (getattr(self.data, "model", None), view.hold) \
                and not view.trajectory.fixed:
            view = replace(view, fixed_note=self.search_line)
        width = max(10, self.plot.size.width or self.size.width or 60)
        rows = max(3, (self.size.height or 12) - 3)
        self.plot.set_lines(plot_lines(view, width, rows))

    def on_resize(self) -> None:
        self._redraw()

    @work(thread=True, exclusive=True, group="fixed-points")
    def _search(self, data: PanelInput, hold: str, key: tuple[object, str]) -> None:
        from inspector.analysis.trajectory import visited_fixed_points

        worker = get_current_worker()
        plan = search_plan(data)
        started = last = time.monotonic()

        def progress(stage: str, done: int, total: int) -> None:
            nonlocal last
            if worker.is_cancelled:
                raise SearchCancelled
            now = time.monotonic()
            if now - last >= PROGRESS_EVERY:
                last = now
                self.post_message(self.SearchProgress(
                    key, progress_line(hold, plan, stage, done, total, now - started)))

        try:
            arrays = {name: data.activations.get(name) for name in stacked_names(data)}
            result = data.run(lambda model: visited_fixed_points(
                model, hold, arrays, plan.starts, plan.iterations, progress, plan.settle))
        except SearchCancelled:
            self.post_message(self.SearchDone(key, None))
            return
        except Exception as exc:  # a failed search is one line; the path stays
            self.log.error("fixed-point search failed", exc)
            result = f"no fixed points: {type(exc).__name__}: {exc}"
        self.post_message(self.SearchDone(key, result))

    def on_trajectory_panel_search_progress(self, message: SearchProgress) -> None:
        message.stop()
        if message.key == self.search_key:
            self.search_line = message.line
            self._redraw()

    def on_trajectory_panel_search_done(self, message: SearchDone) -> None:
        message.stop()
        if message.result is None:  # cancelled: a newer search (or none) is wanted
            self.cancelled += 1
            return
        if message.key == self.search_key:
            self.search_key, self.search_line = None, ""
        with self._lock:
            self.fixed[message.key] = message.result
        self.fixed_version += 1
        if self.data is not None:
            self.update_input(self.data)

    def clear(self) -> None:
        self.view = None
        self.plot.set_lines([])


SPEC = PanelSpec("trajectory", "Trajectory", TrajectoryPanel, order=40,
                 description="The state's path in its first two principal components, with the "
                             "fixed points of the input on view")
