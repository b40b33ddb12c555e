"""Counterfactual diff: what an intervention (or another branch) changed, step by step — the
distance between the two runs' states in every layer (‖Δh‖, ‖Δc‖), the KL divergence between
their output distributions (bits) and whether the prediction flipped.

The run on view is compared with the same keys without its interventions when it has any, else
with another branch; a click on the panel takes the next reference. The numbers are
`inspector.analysis.counterfactual.diff_arrays` of the two timelines' activations.
"""

from __future__ import annotations

import math
from collections.abc import Hashable
from dataclasses import dataclass

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual import events

from inspector.tui.panels.base import PanelError, PanelInput, PanelSpec
from inspector.tui.panels.quiet import QuietPanel
from inspector.tui.text import token_label
from inspector.tui.widgets.lines import LinesWidget

DIM, BOLD = Style(dim=True), Style(bold=True)
FLIP = Style(color="red", bold=True)
CHANGED = Style(color="yellow")
VIEW = Style(bgcolor="grey30", bold=True)
COLUMN = 8
CLEAN = None  # the reference "same keys, no interventions"


@dataclass(frozen=True)
class DiffView:
    reference: str | None  # None: the clean run; else the branch compared with
    label: str
    diff: object  # inspector.analysis.counterfactual.CounterfactualDiff
    t: int
    start: int  # the first step compared (the first edited one, against the clean run)
    edited: frozenset[int]  # steps an intervention acts on
    same_distance: float = 0.0  # at most this apart is float32 rounding, not a difference
    same_kl: float = 0.0


def references(data: PanelInput) -> list[str | None]:
    """What the run on view can be compared with, the default first."""
    out: list[str | None] = [CLEAN] if data.interventions else []
    return out + [b for b in data.branches if b != data.branch]


def state_names(data: PanelInput) -> list[str]:
    have = set(data.activations.names())
    return [f"l{k}.{part}" for k in range(data.model.n_layers) for part in ("h", "c")
            if f"l{k}.{part}" in have]


def compare(data: PanelInput, choice: int, clean_runs: dict | None = None) -> DiffView:
    """The diff of the run on view against reference number `choice` (worker thread)."""
    from inspector.analysis.counterfactual import (
        SAME_DISTANCE,
        SAME_KL,
        diff_arrays,
    )

    options = references(data)
    if not options:
        raise PanelError("counterfactual: nothing to compare yet — intervene (F5) or fork a "
                         "branch (F6), then this shows what changed, step by step")
    if data.reference is None and any(option is not CLEAN for option in options):
        raise PanelError("counterfactual: this screen gives no reference run")
    if data.steps == 0:
        raise PanelError("counterfactual: no steps yet")
    reference = options[choice % len(options)]
    names = state_names(data)
    wanted = [*names, "probs"] if "probs" in data.activations.names() else names
    start = min(t for t, _ in data.interventions) if reference is CLEAN else 0
    if reference is CLEAN and data.model.native:
        # Before the first intervention both runs are the same keys from the same state. The
        # clean run is stepped like the replayed timeline with interventions, so the two agree
        # bit for bit wherever an edit has not reached (a fused trace would differ in float32
        # rounding and show 1e-6 where the truth is 0). `run` does not lock a native model
        # (its weights are only read); each step takes the model's lock itself.
        other = data.run(lambda model: clean_run(clean_runs if clean_runs is not None else {},
                                                 model, wanted).arrays(data.tokens, start))
    else:  # another branch (whole runs), or a model with its own forward (locked by `run`)
        runs = data.reference(reference)
        other = {name: runs.get(name)[start:] for name in wanted}
    view = {name: data.activations.get(name)[start:] for name in wanted}
    arrays = [other, view]
    if "probs" not in view:  # a raw head: no distribution, so no KL and no flips
        arrays = [{**run, "probs": run[names[0]][:, :0]} for run in arrays]
    diff = diff_arrays(arrays[0], arrays[1], names, data.model.labels, start, None,
                       data.tokens[start:])
    count = len(data.interventions)
    label = (f"the same keys without its {count} intervention{'s' * (count != 1)}"
             if reference is CLEAN else f"branch {reference}")
    t = data.steps - 1 if data.t is None else data.t
    return DiffView(reference, label, diff, t, start, frozenset(t for t, _ in data.interventions),
                    SAME_DISTANCE, SAME_KL)


def clean_run(kept: dict, model, names: list[str]):
    """The panel's `SteppedRun` of this model (one kept: it grows with the timeline)."""
    from inspector.analysis.counterfactual import SteppedRun

    run = kept.get("run")
    if run is None or run.model is not model or run.names != tuple(names):
        run = kept["run"] = SteppedRun(model, names)
    return run


def number(value: float, same: float = 0.0) -> str:
    """Three digits; `≈0` for a value no larger than `same` (float32 rounding between two
    paths of one computation), `0` for exactly none."""
    if math.isnan(value):
        return "—"
    if math.isinf(value):
        return "inf"
    if value == 0:
        return "0"
    return "≈0" if value <= same else f"{value:.3g}"


def diff_lines(view: DiffView, rows: int) -> list[list[Segment]]:
    diff = view.diff
    steps = diff.steps
    first = diff.first_difference
    kls = [s.kl for s in steps if not math.isnan(s.kl)]
    worst = max(range(len(steps)), key=lambda i: steps[i].kl if not math.isnan(steps[i].kl)
                else -1.0) if kls else None
    summary = (f"first difference t={first}" if first is not None
               else "identical at every step")
    since = f" from t={view.start}" if view.start else ""
    head = [Segment("vs ", DIM), Segment(view.label, BOLD),
            Segment(" (ctrl+→ or a click: another)", DIM)]
    facts = [Segment(f"{summary} · {diff.flips} of {len(steps)} predictions{since} flipped",
                     DIM)]
    if worst is not None and kls:
        facts.append(Segment(f" · KL max {number(steps[worst].kl, view.same_kl)} bits at "
                             f"t={steps[worst].t}", DIM))
    end = min(len(steps), view.t + 1 - view.start)
    start = max(0, end - max(1, rows))
    shown = steps[start:end] if view.t >= view.start else ()
    # t, the ◆ of an edited step and the character typed, as wide in the header as in every
    # row, so each number sits under its column's name whatever t or the token
    t_width = max([4, *(len(str(step.t)) for step in shown)])
    x_width = max([2, *(cell_len(token_label(step.typed_b)) for step in shown)])
    header = "".join(f"{'‖Δ' + name + '‖':>{COLUMN + 2}}" for name in diff.names)
    lines = [head, facts, [Segment(f"{'t':>{t_width}} {'x':<{x_width}}{header}{'KL bits':>10}"
                                   "  prediction", DIM)]]
    if view.t < view.start:
        lines.append([Segment(f"t={view.t}: before the first intervention (t={view.start}) "
                              "both runs are the same keys from the same state", DIM)])
        return lines
    for step in shown:
        mark = "◆" if step.t in view.edited else " "
        typed = token_label(step.typed_b)
        typed += " " * (x_width - cell_len(typed))
        line = [Segment(f"{step.t:>{t_width}}{mark}{typed}", DIM)]
        for d in step.distances:
            line.append(Segment(f"{number(d, view.same_distance):>{COLUMN + 2}}",
                                CHANGED if d > view.same_distance else DIM))
        line.append(Segment(f"{number(step.kl, view.same_kl):>10}",
                            CHANGED if step.kl > view.same_kl else DIM))
        pred = f"  {token_label(step.prediction_a)}→{token_label(step.prediction_b)}"
        line.append(Segment(pred + (" ✗ flipped" if step.flipped else ""),
                            FLIP if step.flipped else DIM))
        if step.t == view.t:  # the step on view: marked as on the tape, on a lit background
            line = [Segment(seg.text, seg.style + VIEW) for seg in line]
        lines.append(line)
    return lines


class CounterfactualPanel(QuietPanel):
    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.table = LinesWidget(classes="counterfactual-table")
        self.view: DiffView | None = None
        self.choice = 0  # which of `references(data)`; a click takes the next
        self.clean_runs: dict = {}  # the clean run, stepped and grown (worker thread only)

    def compose_body(self):
        yield self.table

    def depends_on(self, data: PanelInput) -> Hashable:
        return (data.generation, data.t, data.branch, data.branches, data.interventions,
                self.choice)

    def waiting(self, data: PanelInput) -> str:
        return "comparing the runs…"

    def compute(self, data: PanelInput) -> DiffView:
        return compare(data, self.choice, self.clean_runs)

    def draw(self, result: DiffView) -> None:
        self.view = result
        self._redraw()

    def _redraw(self) -> None:
        if self.view is not None:
            self.table.set_lines(diff_lines(self.view, max(1, (self.size.height or 12) - 4)))

    def on_resize(self) -> None:
        self._redraw()

    def on_click(self, event: events.Click) -> None:
        """The next reference run (the clean run, then each other branch)."""
        self.option(1)

    def option(self, delta: int) -> None:
        """ctrl+→ / ctrl+← (and a click): the next / previous reference run."""
        self.choice += delta
        if self.data is not None:
            self.update_input(self.data)

    def clear(self) -> None:
        self.view = None
        self.table.set_lines([])


SPEC = PanelSpec("diff", "Counterfactual", CounterfactualPanel, order=60,
                 description="What an intervention or another branch changed: ‖Δh‖ per layer, "
                             "KL and flipped predictions, step by step")
