"""The frames the widgets draw: frozen view-models a controller builds from the engine's records.

A key press goes screen → controller verb → engine → frame → widgets. Widgets only ever see these
plain values, never a `Session`, so what they show is exactly what the controller decided, and
tests (and a browser front end) can read a frame without a terminal. Nothing here imports torch.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from rich.cells import cell_len

from inspector.tui.colours import Scale, SessionRanges, adaptive_signed, scale_for
from inspector.tui.explain import Formula
from inspector.tui.text import token_label

SIGMOID_GATES = frozenset("ifozr")


@dataclass(frozen=True)
class MapSpec:
    """One heatmap: the activation it shows, its short title, and how its values are scaled."""

    activation: str
    title: str
    layer: int
    scale: str  # "signed" (fixed ±1) | "unit" (fixed 0..1) | "adaptive" (±max of the values)
    gate: bool = False

    def scale_for(self, values: np.ndarray | None, mode: str, ranges: SessionRanges) -> Scale:
        """Its scale at this step: fixed where the activation is bounded, else per `mode`
        (`colours.SCALE_MODES`: over the session so far, or over this step)."""
        return scale_for(self.scale, self.activation, values, mode, ranges)

    def step_scale(self, values: np.ndarray | None) -> Scale:
        """Fixed where bounded, else ±max of these values (the seq2seq screen's maps)."""
        if self.scale == "adaptive" and values is not None:
            return adaptive_signed(values)
        return scale_for(self.scale, self.activation, values, "session", SessionRanges())


@dataclass(frozen=True)
class ViewLayout:
    """What a model view is built from (once per model): its maps and legend, no numbers."""

    label: str
    cell: str
    n_layers: int
    hidden: int
    gate_names: tuple[str, ...]
    specs: tuple[MapSpec, ...]
    legend: tuple[str, str, str]  # map titles on: fixed ±1, fixed 0..1, per-map scales

    @property
    def maps_per_layer(self) -> int:
        return len(self.specs) // self.n_layers


def map_specs(cell: str, n_layers: int, gate_names: tuple[str, ...],
              has_cell: bool = False) -> tuple[MapSpec, ...]:
    """Per layer: h, c (LSTM), every gate in PyTorch order, Δh. The MLP's hidden layer is an
    activation of this input alone, so it is titled `act` and has no Δh (nothing carries over)."""
    specs = []
    h_scale = "adaptive" if cell == "rnn" else "signed"  # relu RNNs are unbounded
    for layer in range(n_layers):
        specs.append(MapSpec(f"l{layer}.h", "act" if cell == "mlp" else "h", layer, h_scale))
        if has_cell:
            specs.append(MapSpec(f"l{layer}.c", "c", layer, "adaptive"))
        for gate in gate_names:
            scale = "unit" if gate in SIGMOID_GATES else "signed"
            specs.append(MapSpec(f"l{layer}.gate.{gate}", gate, layer, scale, gate=True))
        if cell != "mlp":
            specs.append(MapSpec(f"l{layer}.dh", "Δh", layer, "adaptive"))
    return tuple(specs)


def legend_names(specs: tuple[MapSpec, ...]) -> tuple[str, str, str]:
    first = [s for s in specs if s.layer == 0]
    names = {kind: " ".join(s.title for s in first if s.scale == kind)
             for kind in ("signed", "unit", "adaptive")}
    return names["signed"], names["unit"], names["adaptive"]


@dataclass(frozen=True)
class TapeCell:
    """One step as the tape shows it; `predicted` None for keys still waiting for the model."""

    typed: str
    predicted: str | None
    miss: bool = False
    intervened: bool = False
    by_model: bool = False  # the model wrote it: its own prediction fed back (F8)

    @property
    def width(self) -> int:
        """Cells the step takes on every line: one for characters, a word's own width."""
        return max(cell_len(token_label(self.typed)),
                   cell_len(token_label(self.predicted)) if self.predicted else 1)

    @property
    def narrow(self) -> bool:
        return len(self.typed) <= 1 and (self.predicted is None or len(self.predicted) <= 1)


@dataclass(frozen=True)
class TapeColours:
    """The tape's characters coloured by one value per step (the selected unit, or a panel's
    values such as saliency), and those values drawn in the strip under the tape."""

    label: str  # what the colours are: `l0.h[3]`, `saliency of 'b' at t=12`
    scale: Scale
    values: tuple[float | None, ...]  # per cell (None: a key not fed yet)
    levels: tuple[int, ...]  # the colour level of each value on `scale`


@dataclass(frozen=True)
class TapeFrame:
    cells: tuple[TapeCell, ...] = ()
    first_t: int = 0
    view_index: int | None = None  # index into cells of the step on view
    colours: TapeColours | None = None
    span: tuple[int, int] | None = None  # cells [a, b) of the span selected on the tape


@dataclass(frozen=True)
class MapFrame:
    """One heatmap's values at the step on view (None before the first step)."""

    values: np.ndarray | None
    scale: Scale
    selected: int | None = None
    order: tuple[int, ...] | None = None  # the units shown, in this order (None: all)
    order_label: str = ""  # why: `top 32 by |Δh|`


@dataclass(frozen=True)
class TopKFrame:
    top: tuple[tuple[str, float], ...] = ()
    entropy: float | None = None
    placeholder: str = "no step yet: type a character"


@dataclass(frozen=True)
class GateSplit:
    """One gate of the selected unit at the step on view."""

    name: str
    value: float
    input_part: float
    memory_part: float

    @property
    def input_share(self) -> float:
        total = abs(self.input_part) + abs(self.memory_part)
        return abs(self.input_part) / total if total and np.isfinite(total) else 0.5


@dataclass(frozen=True)
class UnitView:
    """The selected unit at the step on view, plain numbers taken from the engine's records."""

    layer: int
    unit: int
    hidden: int
    state: dict[str, float]  # "h" (or the MLP's "act") and, for LSTMs, "c"
    history: np.ndarray  # h of this unit for steps history_start.. (the window on screen)
    history_start: int
    gates: tuple[GateSplit, ...] = field(default=())
    name: str = "h"  # what the history follows: "h", or "act" for a model without memory
    scope: str = ""  # "dec." for the seq2seq decoder's units (`dec.l1 unit 5`)


@dataclass(frozen=True)
class ViewFrame:
    """Everything one model view draws for the step on view."""

    tape: TapeFrame
    maps: tuple[MapFrame, ...]  # one per ViewLayout.specs entry
    top: TopKFrame
    unit: UnitView | None
    unit_placeholder: str
    log: tuple[str, ...]  # newest last; the last one is the step on view
    t: int | None = None  # the step on view (None before the first)
    formulas: tuple[Formula, ...] = ()  # how the selected unit's value is made at this step
    scale_mode: str = "session"  # how unbounded maps are scaled (colours.SCALE_MODES)


@dataclass(frozen=True)
class AgreementFrame:
    """Compare mode: how often two models' outputs agree and how often each misses."""

    labels: tuple[str, str]
    steps: int
    agree: int
    differ_at: tuple[int, ...]  # the newest steps where the outputs differ
    misses: tuple[int, int]


@dataclass(frozen=True)
class BranchRow:
    """One branch as the picker lists it."""

    name: str
    steps: int
    fork_t: int | None
    divergence: int | None  # first differing step from the branch on screen; None: no difference
    current: bool

    def describe(self) -> str:
        where = "the first branch" if self.fork_t is None else f"forked at t={self.fork_t}"
        if self.current:
            diverges = "on screen"
        elif self.divergence is None:
            diverges = "same steps as the branch on screen"
        else:
            diverges = f"diverges at t={self.divergence}"
        return f"{self.name}  {self.steps} steps · {where} · {diverges}"


@dataclass(frozen=True)
class Frame:
    """A whole main (or compare) screen: the status line and one frame per model view."""

    status: str
    views: tuple[ViewFrame, ...] = ()
    pending_tape: TapeFrame | None = None  # while no model is shown: the keys waiting
    agreement: AgreementFrame | None = None
    error: str | None = None  # why the verb that returned this frame was refused


@dataclass(frozen=True)
class HandoffFrame:
    maps: tuple[MapFrame, ...]
    norms: tuple[str, ...]  # one line per layer
    edits: tuple[str, ...]


@dataclass(frozen=True)
class AttentionFrame:
    """An attention decoder's weights over the source at the decoder step on view."""

    t: int
    tokens: tuple[str, ...]  # the source tokens attended over (the end token too, if fed)
    weights: np.ndarray  # (len(tokens),) float32


@dataclass(frozen=True)
class Seq2SeqFrame:
    """The seq2seq screen: source and encoder, handoff, decoder."""

    status: str
    source: str
    encoder_maps: tuple[MapFrame, ...]
    encoder_log: tuple[str, ...]
    handoff: HandoffFrame
    output: str | None  # None: not handed over yet
    output_note: str
    decoder_tape: TapeFrame
    decoder_log: tuple[str, ...]
    decoder_top: TopKFrame | None
    expected: tuple[str, ...] | None = None  # the task's answer (None: unknown), for colours
    finished: bool = False  # the decode reached </s>
    decoder_maps: tuple[MapFrame, ...] = ()  # the decoder's state after the step on view
    decoder_t: int | None = None  # the decoder step on view
    decoder_unit: UnitView | None = None  # the selected unit at that step
    decoder_unit_placeholder: str = "hand over (Enter) to see the decoder's units"
    decoder_formulas: tuple[Formula, ...] = ()
    attention: AttentionFrame | None = None  # None: the decoder does not attend
    error: str | None = None  # why the verb that returned this frame was refused


@dataclass(frozen=True)
class Timeline:
    """The timeline on screen for panels and workers (`CharController.timeline`): plain
    values only. `model` and `events` are handed on to code that runs in workers (a panel's
    compute, `panels.source.TimelineSource`), never read by a widget; `steps` are the tape's
    summaries (typed, prediction, target, marks), one per step of the branch on screen."""

    generation: int  # changes whenever the timeline does: a cache key
    model: object  # the InspectableModel (workers only)
    events: tuple  # the branch's Feed / Intervene events up to the cursor (Session.events)
    branch: str
    steps: tuple  # StepSummary per step
    t: int | None  # the step on view (None: no step yet)
    layer: int
    unit: int
    label: str
    task: str | None
    native: bool  # the engine steps it itself (False: the user's own forward)
    activation: str = "h"  # what of the selected unit: `h`, `c`, `gate.f`…
    span: tuple[int, int] | None = None  # steps [a, b) selected on the tape
    feature: str | None = None  # the feature chosen for the analysis panels (ctrl+f)

    @property
    def unit_name(self) -> str:
        """`l0.h[3]`, the selected unit as the engine names it."""
        return f"l{self.layer}.{self.activation}[{self.unit}]"


@dataclass(frozen=True)
class Viewport:
    """How much of the timeline fits on screen, measured by the widgets after layout."""

    tape: int = 40
    log: int = 8  # the step log's lines (the seq2seq screen: the encoder log's)
    history: int = 32
    decoder_log: int = 8
