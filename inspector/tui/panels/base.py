"""The contract every analysis panel keeps: what it is given, where it computes, how it is docked.

A panel is a widget in the main screen's analysis dock. The screen hands the dock one frozen
`PanelInput` per frame (the controller builds it); the dock passes it to the panel on view, and
the panel's `compute` runs in a thread worker, never on the event loop:

    class UnitsPanel(AnalysisPanel):
        def depends_on(self, data):            # what the result depends on (a hashable key)
            return (data.generation, data.feature, data.span)
        def compute(self, data):               # in a worker thread: numpy / torch / analysis
            from inspector.analysis import units   # imported here: no torch before a model
            arrays = {n: data.activations.get(n) for n in data.activations.names()}
            ...
            return result                      # any value; `draw` gets it
        def draw(self, result):                # on the event loop: cheap, set lines / refresh
            ...

    SPEC = PanelSpec("units", "Units behind a pattern", UnitsPanel, order=20)

Rules:
- `compute` reads only its `PanelInput` (and the panel's own immutable settings): never the
  widget tree, the screen or a `Session`. It may call `data.activations.get(...)` and
  `data.run(job)`, both made for worker threads (they may compute, take locks, or wait).
- At most one computation runs per panel. Inputs that arrive meanwhile are coalesced: when it
  ends, the newest input is computed if its key differs; a result whose key is no longer the
  newest is dropped, never drawn. A panel that is not on view computes nothing.
- `compute` raises `PanelError("one line")` for what the user should read (no steps, a feature
  that does not fit): the panel shows the line. Any other exception is logged and shown as one
  line too; the app keeps running.
- Import `inspector.analysis` (torch) inside `compute`, never at module level: importing any
  `inspector.tui` module must not import torch.
- Panels never bind printable keys (every printable key feeds the model); the dock's keys and
  the command palette reach them: ctrl+↑/↓ call `cursor(delta)`, ctrl+←/→ `option(delta)`.
  A panel asks the screen for something by posting `AnalysisPanel.SelectUnit` /
  `AnalysisPanel.ShowUnits`; the screen turns it into a verb.

Activation names are the engine's stable names (`StepRecord.activation`, trace arrays): `l0.h`,
`l0.c`, `l0.dh`, `l0.gate.f`, and `logits`, `probs` for the head's output. Units are named
`l0.h[3]`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import numpy as np
from rich.segment import Segment
from rich.style import Style
from textual import work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message

from inspector.names import parse_name
from inspector.tui.widgets.lines import LinesWidget

R = TypeVar("R")
DIM = Style(dim=True)
ERROR = Style(color="red")
# How long (s) a panel's worker waits for the screen's frame to be out before it computes
# (keys faster than the lookahead never let it out: the panel computes anyway, that late)
FRAME_WAIT = 0.1


class PanelError(ValueError):
    """What a panel cannot show, in one line for the user (`compute` raises it)."""


class Activations(Protocol):
    """Per-step activations of one timeline, as numpy arrays. Call from a worker thread only:
    `get` may compute (a trace, a replay) and wait for the model's lock."""

    @property
    def steps(self) -> int:
        """T: the number of steps (rows of every array)."""

    def names(self) -> tuple[str, ...]:
        """The activations this timeline has: `l0.h`, `l0.c`, `l0.dh`, `l0.gate.f`, …, and
        `logits` / `probs` when the model has a head."""

    def get(self, name: str) -> np.ndarray:
        """`(T, n)` float32, read-only; row t is the value after step t's input (as every
        panel shows). Raises KeyError for a name the model does not have."""

    def chunks(self, names: Sequence[str] | None = None,
               size: int = 2048) -> Iterator[tuple[int, dict[str, np.ndarray]]]:
        """`(first step, {name: rows})` over the whole timeline, `size` steps at a time: what a
        panel that reads every activation streams over, so its memory does not grow with T
        (`UnitStats.update`, `Moments.update` take these rows as they come)."""

    def state_before(self, t: int) -> tuple[tuple[np.ndarray, np.ndarray | None], ...]:
        """The state step t started from, per layer `(h, c or None)`: the state after step
        t-1 with the edits made before step t applied (zeros at t = 0)."""


class ArrayActivations:
    """`Activations` over arrays already in memory (tests, and a timeline computed up front)."""

    def __init__(self, arrays: Mapping[str, np.ndarray], steps: int | None = None) -> None:
        frozen = {}
        for name, values in arrays.items():
            array = np.asarray(values, dtype=np.float32)
            if array.ndim == 1:
                array = array[:, None]
            array = array.copy()
            array.setflags(write=False)
            frozen[name] = array
        self._arrays = frozen
        lengths = {len(a) for a in frozen.values()}
        self._steps = steps if steps is not None else (lengths.pop() if lengths else 0)

    @property
    def steps(self) -> int:
        return self._steps

    def names(self) -> tuple[str, ...]:
        return tuple(self._arrays)

    def get(self, name: str) -> np.ndarray:
        return self._arrays[name]

    def chunks(self, names: Sequence[str] | None = None,
               size: int = 2048) -> Iterator[tuple[int, dict[str, np.ndarray]]]:
        wanted = self.names() if names is None else tuple(names)
        for start in range(0, self._steps, size):
            yield start, {name: self._arrays[name][start:start + size] for name in wanted}

    def state_before(self, t: int) -> tuple[tuple[np.ndarray, np.ndarray | None], ...]:
        """From the rows of step t-1 (these arrays know of no edits)."""
        return rows_state(self._arrays, t)


def rows_state(arrays: Mapping[str, np.ndarray],
               t: int) -> tuple[tuple[np.ndarray, np.ndarray | None], ...]:
    """The state after step t-1 read from a plain timeline's rows (zeros at t = 0)."""
    state = []
    k = 0
    while f"l{k}.h" in arrays:
        h = arrays[f"l{k}.h"]
        c = arrays.get(f"l{k}.c")
        if t == 0:
            state.append((np.zeros(h.shape[1], np.float32),
                          None if c is None else np.zeros(c.shape[1], np.float32)))
        else:
            state.append((h[t - 1].copy(), None if c is None else c[t - 1].copy()))
        k += 1
    return tuple(state)


Job = Callable[[Any], R]
Run = Callable[[Job], Any]  # run(job) -> job(model), in the calling worker thread, model locked


@dataclass(frozen=True)
class ModelInfo:
    """What a panel may know of the model without touching it."""

    label: str
    cell: str  # "rnn" | "lstm" | "gru" | "mlp" | "custom"…
    n_layers: int
    hidden: int
    gate_names: tuple[str, ...]
    labels: tuple[str, ...]  # the head's outputs (the vocabulary, or a tagger's labels)
    task: str | None = None  # the task the model was trained on (`doubled`…), if known
    native: bool = True  # its weights are ours: gradients, fixed points and saliency work
    nonlinearity: str | None = None  # a plain RNN's `tanh` | `relu` (a relu h is unbounded)


@dataclass(frozen=True)
class PanelInput:
    """Everything a panel may use, for one frame. Frozen: a worker can keep it."""

    generation: int  # changes whenever the timeline on view changes (a step, back, an edit)
    model: ModelInfo
    tokens: tuple[str, ...]  # the typed token of each step 0..T-1 of the timeline on view
    t: int | None  # the step on view (None: no step yet)
    unit: str | None  # the selected unit, `l0.h[3]`
    activations: Activations  # of the timeline on view, T = len(tokens)
    run: Run  # run(job): job(model) with the model locked, in the worker thread
    feature: str | None = None  # the feature chosen for analysis (`pair-position`, `regex:…`)
    span: tuple[int, int] | None = None  # steps [start, stop) selected on the tape
    branch: str = "main"
    branches: tuple[str, ...] = ("main",)
    interventions: tuple[tuple[int, str], ...] = ()  # (step it acts on, `set l0.h[3] = 5`)
    # reference(None): the same tokens without any intervention; reference("b"): branch b.
    reference: Callable[[str | None], Activations] | None = field(default=None, compare=False)

    @property
    def steps(self) -> int:
        return len(self.tokens)

    @property
    def text(self) -> str:
        return "".join(self.tokens)

    def selected(self) -> tuple[str, int] | None:
        """The selected unit as (activation, index): `l0.h[3]` -> ("l0.h", 3)."""
        return split_unit(self.unit) if self.unit else None


def split_unit(name: str) -> tuple[str, int]:
    """`l0.h[3]` -> ("l0.h", 3), read by the one grammar of names (`inspector.names`)."""
    parsed = parse_name(name)
    if parsed is None or parsed.unit is None:
        raise ValueError(f"{name!r} names no unit (e.g. l0.h[3])")
    return parsed.target, parsed.unit


@dataclass(frozen=True)
class PanelSpec:
    """How a panel is registered in the dock: `ctrl+n` cycles the panels in `order`, the command
    palette lists `Analysis: {title}` for each."""

    id: str  # "units", "text", "probe"…: the widget id is f"panel-{id}"
    title: str  # shown on the dock's title line
    make: Callable[[], AnalysisPanel]
    order: int = 100
    description: str = ""  # the palette's help line


@dataclass
class _Failed:
    message: str
    style: Style


class AnalysisPanel(Vertical):
    """A dock panel: subclasses give `compose_body` (their widgets), `compute` (worker) and
    `draw` (event loop). The first line, `self.note`, says what is going on (computing, an
    error, a hint); subclasses may write to it with `show_message`."""

    DEFAULT_CSS = """
    AnalysisPanel { height: 1fr; }
    AnalysisPanel > .panel-note { height: auto; }
    """

    class SelectUnit(Message):
        """Ask the screen to select a unit (`l0.h[3]`): maps, unit detail and colours follow."""

        def __init__(self, unit: str) -> None:
            super().__init__()
            self.unit = unit

    class ShowUnits(Message):
        """Ask the screen to show only these units in each layer's maps, in this order: one
        tuple of unit indices per layer (None: every unit, in index order). `label` says why
        (`top 16 by |Δh|`)."""

        def __init__(self, orders: tuple[tuple[int, ...], ...] | None, label: str = "") -> None:
            super().__init__()
            self.orders = orders
            self.label = label

    class ColourTape(Message):
        """Ask the screen to colour the tape's characters by these per-step values (and draw
        them in the strip under it) while this panel is on view: `values[t]` for steps
        0..T-1 of the timeline of `generation`, non-negative ones on a 0..max scale, signed
        ones on ±max (None: the tape goes back to the selected unit's colours, or none)."""

        def __init__(self, values: tuple[float, ...] | None, label: str = "",
                     generation: int | None = None) -> None:
            super().__init__()
            self.values = values
            self.label = label
            self.generation = generation

    class Computed(Message):
        def __init__(self, panel: AnalysisPanel, key: Hashable, result: Any) -> None:
            super().__init__()
            self.panel = panel
            self.key = key
            self.result = result

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.data: PanelInput | None = None  # the newest input
        self.shown_key: Hashable = None  # the key of what is drawn
        self.running_key: Hashable = None
        self._computing = False
        self.on_view = False  # on view in the dock: only then does it compute
        self.note = LinesWidget(classes="panel-note")

    def compose(self) -> ComposeResult:
        yield self.note
        yield from self.compose_body()

    # ---- for subclasses --------------------------------------------------------------------

    def compose_body(self) -> ComposeResult:
        """The panel's own widgets, under its note line."""
        return iter(())

    def depends_on(self, data: PanelInput) -> Hashable:
        """What `compute`'s result depends on: a new key starts a computation."""
        return (data.generation, data.t, data.unit, data.feature, data.span)

    def compute(self, data: PanelInput) -> Any:
        """Runs in a worker thread. Return what `draw` needs; raise PanelError to say why not."""
        raise NotImplementedError

    def draw(self, result: Any) -> None:
        """Runs on the event loop with the result of `compute` for the newest input."""
        raise NotImplementedError

    def waiting(self, data: PanelInput) -> str:
        """The line shown while the first result is being computed."""
        return "computing…"

    def clear(self) -> None:
        """Drop what is drawn (a compute failed: nothing stale stays on screen)."""

    def cursor(self, delta: int) -> None:
        """ctrl+↓ / ctrl+↑ while the panel is on view: move through its list (if it has one)."""

    def option(self, delta: int) -> None:
        """ctrl+→ / ctrl+← while the panel is on view: the next / previous setting (a sort
        order, a layer…), if it has any."""

    # ---- the machinery ---------------------------------------------------------------------

    @property
    def computing(self) -> bool:
        """A computation is running (tests wait for this to be False)."""
        return self._computing

    def update_input(self, data: PanelInput) -> None:
        """The dock calls this on every frame (cheap): computes if on view and the key moved."""
        self.data = data
        if self.on_view:
            self._maybe_start()

    def activate(self, active: bool) -> None:
        self.on_view = active
        if active:
            self._maybe_start()

    def show_message(self, text: str, style: Style = DIM) -> None:
        """One line on the note (empty text: no line)."""
        self.note.set_lines([[Segment(text, style)]] if text else [])

    def _maybe_start(self) -> None:
        data = self.data
        if data is None or self._computing:
            return
        key = self.depends_on(data)
        if key == self.shown_key:
            return
        if self.shown_key is None:  # else the last result stays up until the new one is in
            self.show_message(self.waiting(data))
        self._computing = True
        self.running_key = key
        self._compute_in_worker(data, key, getattr(self.screen, "frame_out", None))

    @work(thread=True, group="analysis-panel")
    def _compute_in_worker(self, data: PanelInput, key: Hashable,
                           frame_out: threading.Event | None = None) -> None:
        if frame_out is not None:  # the screen's frame first (see MainScreen.frame_out)
            frame_out.wait(FRAME_WAIT)
        try:
            result = self.compute(data)
        except PanelError as exc:
            result = _Failed(str(exc), DIM)
        except Exception as exc:  # shown as one line, logged with its traceback
            self.log.error(f"{type(self).__name__}.compute failed", exc)
            result = _Failed(f"{type(self).__name__} failed: {type(exc).__name__}: {exc}", ERROR)
        self.post_message(self.Computed(self, key, result))

    def on_analysis_panel_computed(self, message: AnalysisPanel.Computed) -> None:
        if message.panel is not self:
            return
        message.stop()
        self._computing = False
        newest = self.depends_on(self.data) if self.data is not None else None
        if message.key == newest:  # a stale result is dropped, never drawn
            self.shown_key = message.key
            if isinstance(message.result, _Failed):
                self.show_message(message.result.message, message.result.style)
                self.clear()
            else:
                self.show_message("")
                self.draw(message.result)
        if self.on_view:
            self._maybe_start()
