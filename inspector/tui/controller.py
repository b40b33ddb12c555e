"""The one owner of the session on screen: verbs in, frozen frames out.

A `CharController` owns a character model's `Session`, the keys queued while it is busy, the step
on view, the selected unit, the branch summaries and what an export writes; `CompareController`
drives two of them with one key stream; `Seq2SeqController` owns a `Seq2SeqSession`. Screens map
keys to these verbs and draw the frames they return; nothing else touches the engine, so what the
screen shows, what ctrl+e writes and what the model computes come from one place.

Slow work (pastes, catching a partner up, stepping a model whose forward is the user's own) is
handed to the screen as a job to run off the event loop; the job's body is a controller method
that touches only the session, and its result comes back through a `*_done` verb.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np

from inspector.names import parse_name
from inspector.tui.colours import EMPTY, SCALE_MODES, SessionRanges
from inspector.tui.edits import StateShape, parse_handoff_edit
from inspector.tui.explain import Formula, held_names, unit_formulas
from inspector.tui.frames import (
    AgreementFrame,
    AttentionFrame,
    BranchRow,
    Frame,
    GateSplit,
    HandoffFrame,
    MapFrame,
    Seq2SeqFrame,
    TapeCell,
    TapeColours,
    TapeFrame,
    Timeline,
    TopKFrame,
    UnitView,
    ViewFrame,
    ViewLayout,
    Viewport,
    legend_names,
    map_specs,
)
from inspector.tui.jobs import summaries_of_records, usable_text
from inspector.tui.numbers import number
from inspector.tui.summaries import StepSummary, is_miss, summaries_of, tape_window
from inspector.tui.text import log_line, state_summary
from models.errors import StepRefused, first_line, printable
from models.tasks import expected_output

if TYPE_CHECKING:
    from inspector.engine import Intervention, Seq2SeqSession, Session, StepRecord
    from inspector.tui.jobs import Loaded, Seq2SeqLoaded

log = logging.getLogger("rnn_inspect")

BULK_CHARS = 200  # longer inputs (pastes) are fed off the event loop, through the fused path
STALL_SECONDS = 10.0  # a feed job silent this long is given up (a forward that hangs)
SHOWN_DIFFERENCES = 12  # compare mode: the newest steps where the outputs differ, listed by t
MAX_BRANCH_NAME = 40  # a branch name fits the status line


@dataclass(frozen=True)
class Notice:
    """A one-line message for the user (the screen shows it as a notification)."""

    text: str
    title: str = ""
    severity: str = "information"


@dataclass(frozen=True)
class FeedJob:
    """Text to feed off the event loop (`CharController.run_feed`) into `session`, a copy of
    the one on screen: if the work fails or hangs, the session on screen is untouched."""

    text: str
    session: Session
    serial: int


@dataclass(frozen=True)
class RecordsJob:
    """Records [start, stop) the frame on view needs and the session no longer holds (evicted
    from its cache, or a paste's, never built): recomputing them steps the model, so a worker
    does it (`CharController.run_records`) while the screen waits for them."""

    start: int
    stop: int
    session: Session
    serial: int


@dataclass(frozen=True)
class FeedResult:
    steps: tuple[StepSummary, ...]
    error: str | None = None
    cancelled: bool = False
    serial: int = -1
    session: Session | None = None  # the fed copy, to take the place of the one on screen


def verb(method):
    """A user's verb: it changes what is on screen, then returns the one frozen frame to draw
    after it (`frame()`, sized by the screen's `measure`, as laid out now), with the verb's
    refusal, if it returned one, as `frame.error`."""
    @functools.wraps(method)
    def run(self, *args, **kwargs):
        error = method(self, *args, **kwargs)
        if self.measure is not None:
            self.measure()
        frame = self.frame()
        return replace(frame, error=error) if isinstance(error, str) else frame
    return run


def layout_of(label: str, model) -> ViewLayout:
    specs = map_specs(model.cell, model.n_layers, model.gate_names, model.has_cell)
    return ViewLayout(label, model.cell, model.n_layers, model.hidden, model.gate_names, specs,
                      legend_names(specs))


def state_name(cell: str, layer: int) -> str:
    """`l0.h`, or `l0.act` for a model without memory: its hidden layer is an activation of this
    input alone, never a carried state."""
    return f"l{layer}.act" if cell == "mlp" else f"l{layer}.h"


def edits_of(record: StepRecord) -> tuple[str, ...]:
    return tuple(iv.describe() for iv in record.interventions) or tuple(
        "held " + iv.describe().removeprefix("clamp ") for iv in record.clamps)


class CharController:
    """The session of one character model on screen."""

    def __init__(self) -> None:
        self.loaded: Loaded | None = None
        self.layout: ViewLayout | None = None
        self.steps: list[StepSummary] = []  # steps 0..cursor-1 of the branch on screen
        self.branch_steps: dict[str, list[StepSummary]] = {}  # of the branches not on screen
        self.pending = ""  # keys waiting for the model (loading, or a paste being fed)
        self.backs_queued = 0  # Backspaces pressed meanwhile, applied before the pending text
        self.view_t: int | None = None  # the step on view (None: the newest)
        self.layer = 0
        self.unit = 0
        self.feeding: tuple[int, int] | None = None  # (characters fed, of) while a job feeds
        self.fetching: tuple[int, int] | None = None  # records [a, b) a job recomputes
        self.failed_fetch: tuple[int, int, int] | None = None  # (generation, a, b) refused
        self.jobs: list[FeedJob | RecordsJob] = []  # work for the screen's workers (take_jobs)
        self.frame_source: Callable[[], Frame] | None = None  # compare mode: both views
        self.measure: Callable[[], None] | None = None  # the screen's: sets `viewport`
        self.note = "loading…"
        self.forked = False
        self.viewport = Viewport()
        self.notices: list[Notice] = []
        self.cancel = threading.Event()
        self.serial = 0  # of the feed job running; a result of any other is stale
        self.feed_text = ""  # the text of that job, not yet in the steps
        self.last_progress = 0.0  # time.monotonic() of the job's last sign of life
        self.stall_seconds = STALL_SECONDS
        self.word = ""  # a word model's word being typed (fed on space or Enter)
        self.scale_mode = SCALE_MODES[0]  # "session": a colour means one number at every step
        self.ranges = SessionRanges()
        self.generation = 0  # changes whenever the timeline on screen does (panels key on it)
        self.refused = False  # the last key's step was refused (its model's forward failed)
        # issue 16: what the analysis panels and the tape's colours follow
        self.activation = "h"  # of the selected unit: `h`, `c`, `gate.f`… (`l0.gate.f[3]`)
        self.span: tuple[int, int] | None = None  # steps [a, b) selected on the tape
        self.span_anchor: int | None = None  # where shift+arrows started the span
        self.feature: str | None = None  # the feature named for the panels (ctrl+f)
        self.tape_by_unit = False  # ctrl+u: the tape coloured by the selected unit
        self.tape_values: tuple[int, tuple[float, ...], str] | None = None  # a panel's colours
        self.unit_orders: tuple[tuple[int, ...], ...] | None = None  # the maps' units shown
        self.orders_label = ""
        self.panel_source = None  # panels.source.TimelineSource of the model on screen
        # (t, layer) -> (record, its log line): a step's line is written once, not once a key
        self._log_lines: dict[tuple[int, int], tuple[StepRecord, str]] = {}

    # ---- what is loaded ----------------------------------------------------------------------

    @property
    def session(self) -> Session | None:
        return None if self.loaded is None else self.loaded.session

    @property
    def label(self) -> str:
        return "" if self.loaded is None else self.loaded.label

    @property
    def task(self) -> str | None:
        return None if self.loaded is None else self.loaded.task

    @property
    def task_targets(self) -> bool:
        return self.loaded is not None and self.loaded.task in ("shift", "doubled")

    @property
    def busy(self) -> bool:
        return self.feeding is not None

    @property
    def ready(self) -> bool:
        return (self.loaded is not None and not self.busy and not self.note
                and self.fetching is None)

    @property
    def text(self) -> str:
        """The text typed on the branch on screen."""
        return "".join(step.typed for step in self.steps)

    def carried_text(self) -> str:
        """What a model switch carries over: the steps, and a paste still being fed."""
        return self.text + (self.feed_text if self.busy else "")

    @property
    def step_count(self) -> int:
        return len(self.steps)

    @property
    def reads_words(self) -> bool:
        """A word model: letters gather into a word that is fed on space or Enter."""
        return self.loaded is not None and self.loaded.model.vocab.split == "words"

    def takes(self, key: str) -> bool:
        """Whether a key is the model's to read (Enter only where the vocabulary has `\n`)."""
        return self.loaded is None or key in self.loaded.model.vocab

    def attach(self, loaded: Loaded) -> None:
        """Show a freshly loaded model; its session already holds the text carried over."""
        self.loaded = loaded
        self.serial += 1  # a paste fed to the model replaced is not this one's
        self.feeding = self.fetching = None
        self.layout = layout_of(loaded.label, loaded.model)
        self.steps = list(loaded.steps)
        self.generation += 1
        self.branch_steps.clear()
        self.forked = False
        self.view_t = None
        self.layer = min(self.layer, loaded.model.n_layers - 1)
        self.unit = min(self.unit, loaded.model.hidden - 1)
        self.ranges = SessionRanges()
        self.refused = False
        self.note = ""
        self.notices.extend(Notice(note, severity="warning") for note in loaded.notes)
        from inspector.tui.panels.source import TimelineSource

        self.panel_source = TimelineSource(loaded.model)
        self.span = self.span_anchor = self.tape_values = self.unit_orders = None
        if self.activation not in self._activation_kinds():
            self.activation = "h"

    def restore_view(self, view) -> None:
        """A saved session's step on view and selection (`inspector.sessions.View`)."""
        if len(self.session.branches()) > 1:
            self.forked = True  # its branches are listed on the status line
        self.select_unit_at(max(view.layer, 0), max(view.unit, 0))
        if view.t is not None and 0 <= view.t < len(self.steps) - 1:
            self.view_t = view.t

    def on_view(self) -> tuple[int | None, int, int]:
        """(step on view, layer, unit): what a saved session remembers."""
        return self.view_t, self.layer, self.unit

    def loading(self, note: str) -> None:
        """A model is on its way: keys are queued until it arrives."""
        self.note = note

    def load_failed(self) -> None:
        """The new model did not load: the old one (if any) takes the keys queued meanwhile."""
        self.note = "" if self.loaded is not None else "no model: ctrl+o opens one"

    # ---- keys --------------------------------------------------------------------------------

    def queue(self, text: str) -> None:
        self.pending += text

    def take_queued(self) -> str:
        """The keys queued meanwhile, handed to another screen (a seq2seq model's source)."""
        queued, self.pending, self.backs_queued = self.pending, "", 0
        return queued

    def type_word(self, character: str) -> None:
        self.word += character

    def end_word(self) -> str:
        """Space or Enter: the word typed so far, to feed (empty if none)."""
        word, self.word = self.word, ""
        return word + " " if word else ""

    @property
    def has_queued(self) -> bool:
        return bool(self.pending or self.backs_queued)

    @verb
    def type_queued(self) -> None:
        """Type or paste: feed the keys queued (see `flush`); a job for a worker, if one is
        needed, waits in `jobs` for the screen."""
        job = self.flush()
        if job is not None:
            self.jobs.append(job)

    def take_jobs(self) -> list[FeedJob | RecordsJob]:
        """The work the last verbs handed over, for the screen to run in workers."""
        jobs, self.jobs = self.jobs, []
        return jobs

    def flush(self) -> FeedJob | None:
        """Apply the Backspaces queued meanwhile, then feed the queued text: here when short
        and the model is the engine's own, else as a job for a worker."""
        if not self.ready or not self.has_queued:
            return None
        if self.backs_queued:
            self.step_back(self.backs_queued)
            self.backs_queued = 0
        text, self.pending = self._usable(self.pending), ""
        if not text:
            return None
        if len(text) > BULK_CHARS or not self.loaded.inline:
            self.feeding = (0, len(text))
            self.feed_text = text
            self.cancel.clear()
            self.serial += 1
            self.last_progress = time.monotonic()
            return FeedJob(text, self.session.clone(), self.serial)
        records = self.session.feed(text)
        self.steps.extend(summaries_of_records(records, self.task, self.steps))
        self.refused = False
        self.generation += 1
        self.view_t = None
        return None

    def run_feed(self, job: FeedJob, progress: Callable[[int], None]) -> FeedResult:
        """A job's body, in a worker: feed the text through the fused path where the model has
        one (`Session.paste`), building only the tape's summaries. An error keeps what was fed
        before it; `cancel` (Escape) stops after the interval being fed."""
        session, text = job.session, job.text
        start = session.cursor
        held = bool(session.clamps)
        edited_first = bool(session.pending) or held

        def alive(done: int) -> None:
            self.last_progress = time.monotonic()
            progress(done)

        error = None
        try:
            predictions = session.paste(text, alive, self.cancel.is_set)
        except Exception as exc:  # the user's own forward may raise anything: keep what was fed
            log.exception("feeding %d characters to %s failed", len(text), self.label)
            error = f"{self.label}: the step was refused ({first_line(exc)})"
            predictions = [r.prediction for r in session.records(start, session.cursor)]
        vocab = session.model.vocab
        pieces = vocab.tokenize(text)
        steps = tuple(summaries_of(predictions, pieces, self.task, self.steps, start,
                                   vocab.tokens, edited_first, held))
        return FeedResult(steps, error, len(predictions) < len(pieces) and error is None,
                          job.serial, session)

    def feed_progress(self, done: int) -> None:
        if self.feeding is not None:
            self.feeding = (done, self.feeding[1])

    def feed_done(self, result: FeedResult) -> None:
        """A feed job is back: its session takes the place of the one on screen (a stale job,
        from before a model switch or one given up as hung, is ignored)."""
        if result.serial != self.serial or self.feeding is None:
            return
        self.feeding = None
        self.feed_text = ""
        if result.session is not None:
            self.loaded.session = result.session
        self.steps.extend(result.steps)
        self.generation += 1
        if len(self.steps) != self.session.cursor:  # summaries lost to an error: the steps too
            self.session.back(self.session.cursor - len(self.steps))
            self.session.forget_redo()
        self.view_t = None
        self.refused = bool(result.error)
        if result.error:
            self.notices.append(Notice(result.error, "Step refused", "error"))
        elif result.cancelled:
            self.notices.append(Notice(f"paste cancelled: {len(result.steps):,} characters "
                                       "fed, the rest dropped", "Paste"))

    def check_stall(self, now: float) -> bool:
        """Give up a feed job that has shown no sign of life for `stall_seconds` (a user's
        forward that hangs): the step is refused, the session on screen is the one from before
        it. True if a job was given up."""
        if self.feeding is None or now - self.last_progress < self.stall_seconds:
            return False
        self.feeding = None
        self.feed_text = ""
        self.serial += 1
        self.refused = True
        self.notices.append(Notice(f"{self.label}: its forward has not returned for "
                                   f"{self.stall_seconds:g} s; the step is refused (the session "
                                   "is kept as it was)", "Step refused", "error"))
        return True

    def cancel_feed(self) -> bool:
        """Escape while a paste is fed: stop it, keeping what was fed. False if nothing runs."""
        if self.feeding is None:
            return False
        self.cancel.set()
        return True

    def _usable(self, text: str) -> str:
        """Drop (and say so) characters the model cannot take: not in its vocabulary, no <unk>."""
        vocab = self.loaded.model.vocab
        if vocab.unk_id is not None:
            return text
        if vocab.split == "words":
            kept = usable_text(self.loaded.model, text)
            dropped = [word for word in text.split() if word not in kept.split()]
            if dropped:
                self.notices.append(Notice(f"{self.label} cannot read "
                                           f"{', '.join(map(repr, dropped[:5]))}: not in its "
                                           "vocabulary, which has no <unk>", severity="warning"))
            return kept
        kept = "".join(ch for ch in text if ch in vocab)
        if len(kept) != len(text):
            dropped = sorted({ch for ch in text if ch not in vocab})
            self.notices.append(Notice(f"{self.label} cannot read {', '.join(map(repr, dropped))}"
                                       ": not in its vocabulary, which has no <unk>",
                                       severity="warning"))
        return kept

    # ---- the user's verbs -------------------------------------------------------------------

    @verb
    def back(self) -> None:
        """Backspace: a queued key first, else the last step or intervention (gone for good:
        nothing undone comes back on a fork or a branch switch)."""
        if self.word:
            self.word = self.word[:-1]
        elif self.pending:
            self.pending = self.pending[:-1]
        elif self.ready:
            self.step_back(1)
        elif self.loaded is not None:
            self.backs_queued += 1

    def step_back(self, n: int) -> None:
        """Undo the last n steps or interventions, for good."""
        session = self.session
        if session.cursor or session.pending:
            session.back(n)
            session.forget_redo()
            del self.steps[session.cursor:]
            self.refused = False
            self.generation += 1
            self.view_t = None

    @verb
    def view(self, delta: int) -> None:
        self.move_view(delta)

    def move_view(self, delta: int) -> None:
        steps = len(self.steps)
        if not (self.ready or self.fetching is not None) or not steps:
            return  # (while records are computed the view may move: it touches no session)
        current = steps - 1 if self.view_t is None else self.view_t
        target = max(0, min(steps - 1, current + delta))
        self.view_t = None if target == steps - 1 else target

    @verb
    def select_unit(self, delta: int) -> None:
        if self.layout is not None:
            self.unit = max(0, min(self.layout.hidden - 1, self.unit + delta))

    @verb
    def select_layer(self, delta: int) -> None:
        if self.layout is not None:
            self.layer = (self.layer + delta) % self.layout.n_layers

    @verb
    def select(self, layer: int, unit: int) -> None:
        self.select_unit_at(layer, unit)

    def select_unit_at(self, layer: int, unit: int) -> None:
        if self.layout is not None:
            self.layer = min(layer, self.layout.n_layers - 1)
            self.unit = min(unit, self.layout.hidden - 1)

    # ---- issue 16: the analysis panels' selections -------------------------------------------

    def _activation_kinds(self) -> tuple[str, ...]:
        layout = self.layout
        if layout is None:
            return ("h",)
        kinds = ["h"] + (["c"] if layout.cell == "lstm" else [])
        return (*kinds, *(f"gate.{g}" for g in layout.gate_names))

    @verb
    def select_name(self, name: str) -> str | None:
        """Select a unit by its engine name (`l1.gate.f[9]`): the maps mark unit 9 of layer 1,
        the unit panel shows it, the tape and text colours follow `l1.gate.f`. Returns an error
        line, or None."""
        parsed = parse_name(name)
        layout = self.layout
        if (layout is None or parsed is None or parsed.unit is None or parsed.prefix is not None
                or parsed.what not in self._activation_kinds()):
            return f"no unit named {name!r}"
        layer, index, kind = parsed.layer, parsed.unit, parsed.what
        if layer >= layout.n_layers or index >= layout.hidden:
            return f"no unit named {name!r}: the model has {layout.n_layers} layers of " \
                   f"{layout.hidden} units"
        self.layer, self.unit, self.activation = layer, index, kind
        return None

    @verb
    def extend_span(self, delta: int) -> None:
        """shift+← / shift+→: move the step on view and select the steps from where the span
        began to it."""
        if not self.ready or not self.steps:
            return
        here = len(self.steps) - 1 if self.view_t is None else self.view_t
        if self.span is None or self.span_anchor is None:
            self.span_anchor = here
        self.move_view(delta)
        there = len(self.steps) - 1 if self.view_t is None else self.view_t
        self.span = (min(self.span_anchor, there), max(self.span_anchor, there) + 1)

    @verb
    def set_span(self, start: int, stop: int) -> None:
        """Steps [start, stop) selected (a drag on the tape)."""
        steps = len(self.steps)
        start, stop = max(0, min(start, stop)), min(steps, max(start, stop))
        if stop > start:
            self.span, self.span_anchor = (start, stop), start

    def clear_span(self) -> bool:
        had = self.span is not None
        self.span = self.span_anchor = None
        return had

    @verb
    def choose_feature(self, spec: str) -> str | None:
        """The feature the panels rank and probe against (`pair-position`, `regex:…`); an error
        line if it cannot be computed on the text typed."""
        from inspector.analysis.features import FeatureError, feature

        spec = spec.strip()
        if not spec:
            self.feature = None
            return None
        try:
            feature(spec, self.text)
        except FeatureError as exc:
            return str(exc)
        self.feature = spec
        return None

    def toggle_tape_colours(self) -> bool:
        self.tape_by_unit = not self.tape_by_unit
        return self.tape_by_unit

    def colour_tape(self, values: tuple[float, ...] | None, label: str,
                    generation: int | None) -> None:
        """A panel's per-step values on the tape (None: back to the unit's, or none)."""
        self.tape_values = None if values is None else (
            self.generation if generation is None else generation, tuple(values), label)

    def show_units(self, orders: tuple[tuple[int, ...], ...] | None, label: str = "") -> None:
        """Each layer's maps show these units in this order (None: all, in index order)."""
        self.unit_orders, self.orders_label = orders, label

    def _tape_colours(self, tape: TapeFrame) -> TapeColours | None:
        from inspector.tui.panels.unit_colours import scale_of, values_scale

        fed = [t for t in range(tape.first_t, tape.first_t + len(tape.cells))
               if t < len(self.steps)]
        if self.tape_values is not None and self.tape_values[0] == self.generation:
            _, values, label = self.tape_values
            known = np.array([values[t] if t < len(values) else np.nan for t in fed])
            scale = values_scale(np.asarray(values))
        elif self.tape_by_unit:
            name = f"l{self.layer}.{self.activation}"
            known = (self.session.history(name, self.unit, fed[0], fed[-1] + 1) if fed
                     else np.zeros(0, np.float32))
            model = self.loaded.model
            scale = scale_of(name, known, self.loaded.inline, model.nonlinearity)
            label = f"{name}[{self.unit}]"
        else:
            return None
        levels = scale.quantise(known) if len(known) else np.zeros(0, np.int8)
        pad = len(tape.cells) - len(fed)
        return TapeColours(label, scale, tuple(float(v) for v in known) + (None,) * pad,
                           tuple(int(v) for v in levels) + (EMPTY,) * pad)

    def _tape_span(self, tape: TapeFrame) -> tuple[int, int] | None:
        if self.span is None:
            return None
        start = max(self.span[0] - tape.first_t, 0)
        stop = min(self.span[1] - tape.first_t, len(tape.cells))
        return (start, stop) if stop > start else None

    @verb
    def reset(self) -> None:
        if self.ready:
            self.session.reset()
            self.steps.clear()
            self.generation += 1
            self.view_t = None
        self.pending = ""
        self.backs_queued = 0

    def intervention_target(self) -> tuple[str, int, int]:
        """(target, unit, t): the selected unit, and the step whose starting state an edit
        made now changes (the one after the step on view)."""
        t = len(self.steps) if self.view_t is None else self.view_t + 1
        return f"l{self.layer}.h", self.unit, t

    @verb
    def intervene(self, intervention: Intervention) -> str | None:
        """Edit the state the step after the one on view starts from; the steps after it are
        recomputed (Backspace undoes the newest edit or step). Returns why it cannot be done,
        or None."""
        if not self.ready:
            return "the model is busy: try again once the paste is in"
        clamped = {(c.target, c.unit) for c in self.session.clamps}
        if intervention.kind == "release" and (intervention.target,
                                               intervention.unit) not in clamped:
            where = intervention.describe().removeprefix("release ")
            return f"{where} is not clamped: nothing to release"
        _, _, at = self.intervention_target()
        try:
            self.session.intervene(intervention, at)
        except ValueError as exc:
            return str(exc)
        self.generation += 1
        if at < len(self.steps):
            old = self.steps[at:]
            records = self.session.records(at, self.session.cursor)
            self.steps[at:] = [replace(step, prediction=r.prediction,
                                       intervened=bool(r.interventions or r.clamps))
                               for step, r in zip(old, records, strict=True)]
        return None

    @verb
    def fork(self) -> None:
        """A new branch at the step on view; the branch left keeps exactly its steps."""
        if not self.ready:
            return
        session = self.session
        name = session.new_branch_name()
        parent = session.branch
        at = None if self.view_t is None else self.view_t + 1
        self.branch_steps[parent] = list(self.steps)
        session.fork(name, at)
        self.steps = self.steps[:session.cursor]
        self.generation += 1
        self.forked = True
        self.view_t = None
        self.notices.append(Notice(f"forked {name} from {parent} at t={session.cursor}",
                                   "Branch"))

    @verb
    def toggle_scale(self) -> None:
        """Session-wide ranges ⇄ each map stretched over its own step (`scale_mode`)."""
        self.scale_mode = SCALE_MODES[1 - SCALE_MODES.index(self.scale_mode)]

    @verb
    def write(self, n: int, temperature: float = 0.0) -> None:
        """F8: the model writes n steps from its own predictions (Backspace undoes each)."""
        if not self.ready:
            return
        try:
            records = self.session.generate(n, temperature)
        except ValueError as exc:
            self.notices.append(Notice(str(exc), severity="warning"))
            return
        if len(records) < n:
            last = self.session.last
            self.notices.append(Notice(f"the model stopped writing after {len(records)} steps: "
                                       f"it predicts {last.prediction}, which nobody could type",
                                       severity="warning"))
        self.steps.extend(summaries_of_records(records, self.task, self.steps))
        self.generation += 1
        self.view_t = None

    def step_comparison(self):
        """F9: (compare, pair, steps) for the step comparison dialog, or why not."""
        from inspector.engine.step_diff import compare_steps, default_pair

        steps = len(self.steps)
        if not self.ready or steps < 2:
            return "type at least two characters to compare two steps"
        session = self.session
        newest = steps - 1 if self.view_t is None else self.view_t

        def compare(a: int, b: int):
            if not (0 <= a < steps and 0 <= b < steps):
                return f"no step {max(a, b)}: the timeline has steps 0..{steps - 1}"
            return compare_steps(session.records(a, a + 1)[0], session.records(b, b + 1)[0])

        return compare, default_pair([step.typed for step in self.steps], newest), steps

    def branch_rows(self) -> list[BranchRow]:
        session = self.session
        return [BranchRow(info.name, info.length, info.fork_t,
                          None if info.name == session.branch else session.divergence(info.name),
                          info.name == session.branch)
                for info in session.branches()]

    @verb
    def switch(self, name: str) -> None:
        session = self.session
        if not self.ready or name == session.branch:
            return
        self.branch_steps[session.branch] = self.steps
        session.switch(name)
        steps = self.branch_steps.pop(name, None)
        if steps is None:  # a branch this screen never showed (a saved session's)
            steps = summaries_of_records(session.records(0, session.cursor), self.task)
        self.steps = steps
        self.generation += 1
        self.view_t = None

    @verb
    def rename_branch(self, old: str, new: str) -> str | None:
        """Give a branch another name (the one on screen too); None, or why it cannot be."""
        new = new.strip()
        if not new.isprintable():
            return "a branch name must be printable (no control characters)"
        if len(new) > MAX_BRANCH_NAME:
            return f"a branch name has at most {MAX_BRANCH_NAME} characters, not {len(new)}"
        try:
            self.session.rename_branch(old, new)
        except ValueError as exc:
            return str(exc)
        if old in self.branch_steps:
            self.branch_steps[new] = self.branch_steps.pop(old)
        self.generation += 1
        return None

    @verb
    def delete_branch(self, name: str) -> str | None:
        """Drop a branch other than the one on screen; None, or why it cannot be."""
        try:
            self.session.delete_branch(name)
        except ValueError as exc:
            return str(exc)
        self.branch_steps.pop(name, None)
        self.generation += 1
        return None

    def edit_shape(self) -> StateShape:
        """What an intervention may name in the model on screen (for the F5 dialog)."""
        return StateShape.of(self.loaded.model)

    def timeline(self) -> Timeline | None:
        """The timeline on screen as plain values, for panels and their workers (None before
        a model is in, or while a paste is fed)."""
        if not self.ready:
            return None
        session = self.session
        t = len(self.steps) - 1 if self.view_t is None else self.view_t
        if self.span is not None and self.span[1] > len(self.steps):
            self.clear_span()  # the steps it held were taken back
        return Timeline(self.generation, self.loaded.model, tuple(session.events),
                        session.branch, tuple(self.steps), None if t < 0 else t, self.layer,
                        self.unit, self.label, self.task, self.loaded.inline, self.activation,
                        self.span, self.feature)

    # ---- frames ------------------------------------------------------------------------------

    def record(self, t: int) -> StepRecord | None:
        session = self.session
        if t < 0 or session is None or t >= session.cursor:
            return None
        if t == session.cursor - 1:
            return session.last
        return session.records(t, t + 1)[0]

    def view_frame(self, view_t: int | None = None, pending: str | None = None) -> ViewFrame:
        """The model view for step `view_t` (default: the step on view)."""
        view_t = self.view_t if view_t is None else view_t
        steps, layout, viewport = self.steps, self.layout, self.viewport
        t = len(steps) - 1 if view_t is None else view_t
        record = self.record(t)
        tape = tape_window(steps, self.pending if pending is None else pending, viewport.tape,
                           view_t, self.task_targets)
        if self.span is not None and self.span[1] > len(steps):
            self.clear_span()
        if self.tape_by_unit or self.tape_values is not None or self.span is not None:
            tape = replace(tape, colours=self._tape_colours(tape), span=self._tape_span(tape))
        layer, unit = min(self.layer, layout.n_layers - 1), min(self.unit, layout.hidden - 1)
        orders = self.unit_orders
        maps = []
        for spec in layout.specs:
            values = None if record is None else record.activation(spec.activation)
            order = orders[spec.layer] if orders is not None and spec.layer < len(orders) \
                else None
            maps.append(MapFrame(values, spec.scale_for(values, self.scale_mode, self.ranges),
                                 unit if spec.layer == layer else None, order,
                                 self.orders_label if order is not None else ""))
        top = TopKFrame() if record is None else TopKFrame(record.top, record.entropy,
                                                           "output not finite: NaN/Inf")
        return ViewFrame(tape, tuple(maps), top, self._unit_view(record, layer, unit),
                         f"unit {unit} of layer {layer}: no step yet",
                         self._log(t, layer), None if record is None else record.t,
                         self._formulas(record, layer, unit), self.scale_mode)

    def _formulas(self, record: StepRecord | None, layer: int,
                  unit: int) -> tuple[Formula, ...]:
        """The step redone with its numbers for the selected unit (`explain.unit_formulas`)."""
        if record is None:
            return ()
        model = self.loaded.model
        return unit_formulas(model.cell, record.layers[layer],
                             self.session.state_before(record.t)[layer], unit,
                             nonlinearity=model.nonlinearity or "tanh",
                             held=held_names(record.clamps, layer, unit))

    def _log(self, t: int, layer: int) -> tuple[str, ...]:
        if t < 0:
            return ()
        records = self.session.records(max(0, t + 1 - self.viewport.log), t + 1)
        return tuple(self._log_line(r, layer) for r in records)

    def _log_line(self, record: StepRecord, layer: int) -> str:
        """The step's log line, remembered for as long as the step holds this record (a step
        typed again, edited or recomputed is a new record, and writes its line anew)."""
        key = (record.t, layer)
        known = self._log_lines.get(key)
        if known is not None and known[0] is record:
            return known[1]
        line = log_line(record.t, record.token, record.prediction, record.confidence,
                        state_summary(state_name(self.layout.cell, layer),
                                      record.layers[layer].h), edits_of(record))
        if len(self._log_lines) > 4 * max(8, self.viewport.log):
            self._log_lines.clear()
        self._log_lines[key] = (record, line)
        return line

    def _unit_view(self, record: StepRecord | None, layer: int, unit: int) -> UnitView | None:
        if record is None:
            return None
        layout = self.layout
        step = record.layers[layer]
        name = "act" if layout.cell == "mlp" else "h"
        state = {name: float(step.h[unit])}
        if step.c is not None:
            state["c"] = float(step.c[unit])
        stop = record.t + 1
        start = max(0, stop - self.viewport.history)
        history = self.session.history(f"l{layer}.h", unit, start, stop)
        names = layout.gate_names or tuple(step.input_part)  # plain RNN / MLP: "h"
        gates = tuple(GateSplit(gate if gate != "h" else name,
                                float(step.gates.get(gate, step.h)[unit]),
                                float(step.input_part[gate][unit]),
                                float(step.memory_part[gate][unit]))
                      for gate in names)
        return UnitView(layer, unit, layout.hidden, state, np.asarray(history), start, gates,
                        name)

    def status(self) -> str:
        parts = [self.label or "rnn-inspect"]
        layout = self.layout
        nonfinite: tuple[str, ...] = ()
        if layout is not None:
            shape = f"{layout.cell} {layout.n_layers}×{layout.hidden}"
            parts.append(shape + (f" · {self.task}" if self.task else ""))
            steps = len(self.steps)
            t = steps - 1 if self.view_t is None else self.view_t
            parts.append(f"t={t} of {steps} steps" if steps else "no steps yet: type")
            if self.view_t is not None:
                parts.append("viewing the past (End: newest)")
            parts.append(f"l{self.layer} unit {self.unit}")
            parts.extend(self._timeline_notes())
            at_hand = self.ready and (t == self.session.cursor - 1
                                      or self.session.cached(t, t + 1))
            record = self.record(t) if at_hand else None  # the status line steps no model
            nonfinite = record.nonfinite if record is not None else ()
        if nonfinite:
            parts.append(f"NaN/Inf in {', '.join(nonfinite)}")
        if self.feeding is not None:
            done, total = self.feeding
            parts.append(f"feeding… {done:,} of {total:,} (Escape stops)")
        if self.fetching is not None:
            start, stop = self.fetching
            parts.append(f"computing… the records of t={start}..{stop - 1}")
        if self.refused:
            parts.append("step refused: its forward failed (see the notice)")
        if self.note:
            parts.append(self.note)
        if self.word:
            parts.append(f"typing {self.word!r}: space feeds it")
        if self.has_queued and not self.ready:
            parts.append(f"{len(self.pending) + self.backs_queued} keys queued")
        return " │ ".join(parts)

    def _timeline_notes(self) -> list[str]:
        """The branch on screen, edits waiting for the next step, clamps held."""
        session = self.session
        if session is None or self.busy:
            return []
        notes = []
        if self.forked:
            branches = session.branches()
            info = next(b for b in branches if b.name == session.branch)
            forked = "" if info.fork_t is None else f" (forked at t={info.fork_t})"
            notes.append(f"branch {info.name}{forked} of {len(branches)}")
        if session.pending:
            notes.append("next step: " + ", ".join(iv.describe() for iv in session.pending))
        if session.clamps:
            notes.append("clamped " + ", ".join(
                f"{c.target}{'' if c.unit is None else f'[{c.unit}]'}={c.value:g}"
                for c in session.clamps))
        return notes

    def records_job(self) -> RecordsJob | None:
        """The records the frame for the step on view needs and the session does not hold, as
        a job for a worker (None: all at hand). Until it is back, keys wait in the queue."""
        if not self.ready or not self.steps:
            return None
        start, stop = self._needed()
        from inspector.engine.session import RECORD_CACHE

        if (self.session.cached(start, stop) or stop - start > RECORD_CACHE
                or self.failed_fetch == (self.generation, start, stop)):
            return None
        self.fetching = (start, stop)
        self.serial += 1
        self.last_progress = time.monotonic()
        return RecordsJob(start, stop, self.session, self.serial)

    def _needed(self) -> tuple[int, int]:
        """Steps [a, b) the frame reads: its log, the unit's history, the state the step
        started from, and the tape's window when the tape is coloured by the unit."""
        viewport = self.viewport
        t = len(self.steps) - 1 if self.view_t is None else self.view_t
        start = min(t - 1, t + 1 - viewport.log, t + 1 - viewport.history)
        if self.tape_by_unit:
            start = min(start, tape_window(self.steps, self.pending, viewport.tape, self.view_t,
                                           self.task_targets).first_t)
        return max(start, 0), t + 1

    def run_records(self, job: RecordsJob) -> str | None:
        """A records job's body, in a worker: None, or the one line of why they could not
        be computed (a user's forward refused the step)."""
        try:
            job.session.records(job.start, job.stop)
        except Exception as exc:  # the user's own forward may raise anything
            log.exception("recomputing steps %d..%d of %s failed", job.start, job.stop - 1,
                          self.label)
            return f"{self.label}: the steps t={job.start}..{job.stop - 1} cannot be shown " \
                   f"({first_line(exc)})"
        return None

    def records_done(self, serial: int, error: str | None) -> None:
        if serial != self.serial or self.fetching is None:
            return  # a model switch came first
        start, stop = self.fetching
        self.fetching = None
        if error:  # not asked again until the timeline or the view changes
            self.failed_fetch = (self.generation, start, stop)
            self.notices.append(Notice(error, "Step refused", "error"))

    def frame(self) -> Frame:
        """The whole screen for the step on view (in compare mode, both models': see
        `CompareController`). Records it needs and the session no longer holds are handed
        over as a job (`take_jobs`) and the frame says it waits for them."""
        if self.frame_source is not None:
            return self.frame_source()
        return self.own_frame()

    def own_frame(self) -> Frame:
        """This model's part of the screen for the step on view."""
        job = self.records_job()
        if job is not None:
            self.jobs.append(job)
        if not self.ready or self.layout is None:
            tape = tape_window(self.steps, self.pending, self.viewport.tape, None,
                               self.task_targets)
            return Frame(self.status(), pending_tape=tape)
        try:
            view = self.view_frame()
        except StepRefused as exc:  # its records cannot be recomputed: said, never a crash
            tape = tape_window(self.steps, self.pending, self.viewport.tape, self.view_t,
                               self.task_targets)
            return Frame(f"{self.status()} │ cannot show this step: {exc}", pending_tape=tape)
        return Frame(self.status(), (view,))

    def prepare(self) -> None:
        """Between keys: let the model work ahead on the next step (see `Session.prepare`)."""
        if self.ready and self.loaded.inline:
            self.session.prepare()


def common_prefix(a: str, b: str) -> int:
    """Length of the common start of two texts; typing and Backspace hit the fast paths."""
    if b.startswith(a):
        return len(a)
    if a.startswith(b):
        return len(b)
    for index, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            return index
    return min(len(a), len(b))


@dataclass
class Agreement:
    """Compare mode's agreement, kept up to date step by step: a 10,000-step session is never
    re-compared per key."""

    pairs: list[tuple[StepSummary, StepSummary]] = field(default_factory=list)
    flags: list[tuple[bool, bool, bool]] = field(default_factory=list)
    totals: list[int] = field(default_factory=lambda: [0, 0, 0])

    def update(self, first: Sequence[StepSummary], second: Sequence[StepSummary],
               targets: tuple[bool, bool]) -> None:
        """Drop compared steps that changed (stepped back, re-typed, switched), add new ones.
        A language model's miss at t is known once t+1 is typed, so the newest compared step
        is judged again."""
        count = min(len(first), len(second))
        keep = min(len(self.pairs), count)
        while keep and (self.pairs[keep - 1][0] is not first[keep - 1]
                        or self.pairs[keep - 1][1] is not second[keep - 1]):
            keep -= 1
        keep = max(0, keep - 1)  # the newest compared step may change its mind
        while len(self.pairs) > keep:
            self.pairs.pop()
            self._count(self.flags.pop(), -1)
        for t in range(keep, count):
            flags = (first[t].prediction == second[t].prediction,
                     is_miss(first, t, targets[0]), is_miss(second, t, targets[1]))
            self.pairs.append((first[t], second[t]))
            self.flags.append(flags)
            self._count(flags, 1)

    def _count(self, flags: tuple[bool, bool, bool], sign: int) -> None:
        for index, flag in enumerate(flags):
            self.totals[index] += sign * flag

    def frame(self, labels: tuple[str, str]) -> AgreementFrame:
        count = len(self.flags)
        differ = [t for t in range(count - 1, -1, -1) if not self.flags[t][0]][:SHOWN_DIFFERENCES]
        return AgreementFrame(labels, count, self.totals[0], tuple(reversed(differ)),
                              (self.totals[1], self.totals[2]))


class CompareController:
    """Two character models fed one key stream: the partner follows the first one's text."""

    def __init__(self) -> None:
        self.primary = CharController()
        self.partner = CharController()
        self.agreement = Agreement()
        self.primary.frame_source = self.frame  # the first model's verbs return both views

    def partner_target(self) -> str:
        vocab = self.partner.loaded.model.vocab
        return "".join(ch for ch in self.primary.text if vocab.unk_id is not None or ch in vocab)

    def follow(self) -> FeedJob | None:
        """Step the partner back and feed it until it has read what the first model read: here
        when a few keys, as a job for a worker when a paste's worth."""
        partner = self.partner
        if not (self.primary.ready and partner.ready):
            return None
        target, current = self.partner_target(), partner.text
        keep = common_prefix(current, target)
        if len(current) > keep:
            partner.step_back(len(current) - keep)
        if len(target) > keep:
            partner.pending = target[keep:]
            return partner.flush()
        return None

    def frame(self) -> Frame:
        """Both views after the partner is set to follow the first model's text (a job for a
        worker when a paste's worth: `partner.take_jobs`)."""
        primary, partner = self.primary, self.partner
        job = self.follow()
        if job is not None:
            partner.jobs.append(job)
        frame = primary.own_frame()
        job = partner.records_job()
        if job is not None:
            partner.jobs.append(job)
        if partner.feeding is not None:
            done, total = partner.feeding
            frame = replace(frame, status=f"{frame.status} │ {partner.label} catching up: "
                                          f"feeding… {done:,} of {total:,}")
        elif partner.loaded is None and partner.note:
            frame = replace(frame, status=f"{frame.status} │ partner {partner.note}")
        if not frame.views or not partner.ready or partner.layout is None:
            return frame
        steps = len(partner.steps)
        view_t = primary.view_t
        partner_view = partner.view_frame(view_t if view_t is not None and view_t < steps - 1
                                          else None, primary.pending)
        self.agreement.update(primary.steps, partner.steps,
                              (primary.task_targets, partner.task_targets))
        agreement = self.agreement.frame((primary.label, partner.label))
        return replace(frame, views=(*frame.views, partner_view), agreement=agreement)


class Seq2SeqController:
    """The seq2seq screen's session: source, handoff edits, the decode on view. The decode on
    view and whether it was stepped are the journaled session's own (`JournaledSeq2Seq`), so a
    saved session brings them back and nothing here keeps a second copy."""

    def __init__(self, loaded: Seq2SeqLoaded) -> None:
        self.loaded = loaded
        self.session: Seq2SeqSession = loaded.session
        model = loaded.model
        encoder = model.encoder
        self.specs = tuple(spec for spec in layout_of(loaded.label, encoder).specs
                           if spec.title in ("h", "c"))
        self.hidden = encoder.hidden
        # the handoff is the decoder's first state (a bridge may change its width)
        self.handoff_specs = tuple(spec for spec in layout_of(loaded.label, model.decoder).specs
                                   if spec.title in ("h", "c"))
        self.handoff_hidden = model.decoder.hidden
        self.n_layers = encoder.n_layers
        view, newest = loaded.view, len(self.decoded or ()) - 1
        self.view_t: int | None = (view.t if view is not None and view.t is not None
                                   and 0 <= view.t < newest else None)  # None: the newest
        self.layer = encoder.n_layers - 1  # whose state the logs summarise
        decoder = model.decoder
        self.decoder_specs = tuple(spec for spec in layout_of(loaded.label, decoder).specs
                                   if spec.title in ("h", "c"))
        self.unit = 0 if view is None else min(max(view.unit, 0), decoder.hidden - 1)
        self.viewport = Viewport()
        self.notices: list[Notice] = []
        self.measure: Callable[[], None] | None = None  # the screen's: sets `viewport`
        from inspector.engine import NativeModel

        # the engine's own halves step in well under a frame: their verbs run on the event
        # loop; a user's forward (a factory, a trusted pickle) may take any time, so the screen
        # runs every verb and frame of such a model in its worker, one at a time, in order
        self.inline = all(isinstance(half, NativeModel) for half in (encoder, decoder))

    @property
    def label(self) -> str:
        return self.loaded.label

    @property
    def decoded(self) -> tuple[StepRecord, ...] | None:
        """The decode on view: None before the handoff."""
        return self.session.decoded

    @property
    def stepping(self) -> bool:
        """Whether the decode on view is taken one step per F6 rather than to `</s>`."""
        return self.session.stepping

    @property
    def ready(self) -> bool:
        return True

    def on_view(self) -> tuple[int | None, int, int]:
        """(step on view, layer, unit), what a saved session remembers."""
        return self.view_t, self.layer, self.unit

    @property
    def decoder_layer(self) -> int:
        """The decoder layer whose unit is selected: the logs' layer (a decoder with fewer
        layers than the encoder: its last)."""
        return min(self.layer, self.loaded.model.decoder.n_layers - 1)

    @verb
    def select_unit(self, delta: int) -> None:
        """The selected unit of the decoder's maps (and the handoff's, its first state)."""
        hidden = self.loaded.model.decoder.hidden
        self.unit = max(0, min(hidden - 1, self.unit + delta))

    @verb
    def select(self, layer: int, unit: int) -> None:
        """A unit clicked on a decoder or handoff map."""
        self.layer = max(0, min(self.n_layers - 1, layer))
        self.unit = max(0, min(self.loaded.model.decoder.hidden - 1, unit))

    @verb
    def type(self, text: str) -> None:
        """Source characters: the encoder steps, and an earlier decode no longer applies."""
        text = "".join(ch for ch in text if ch.isprintable())
        if not text:
            return
        try:
            self.session.feed_source(text)
        except ValueError as exc:  # a character the source vocabulary cannot encode
            self.notices.append(Notice(str(exc), severity="warning"))
        self.view_t = None

    @verb
    def back(self) -> None:
        if self.session.source:
            self.session.back(1)
            self.view_t = None

    @verb
    def reset(self) -> None:
        self.session.reset()
        self.view_t = None

    @verb
    def select_layer(self, delta: int) -> None:
        """Which layer's state the encoder and decoder logs summarise."""
        self.layer = (self.layer + delta) % self.n_layers

    @verb
    def hand_over(self) -> None:
        """The whole decode from the (edited) handoff, greedy until `</s>`."""
        self.session.decode()
        self.view_t = None

    @verb
    def decode_step(self) -> None:
        """One more decoder step (the first press hands over)."""
        if not self.stepping:
            self.session.restart_decode()
        had = bool(self.decoded)
        record = self.session.decode_step()
        if record is None and had:
            self.notices.append(Notice("the decoder has finished: </s> (Enter decodes again)"))
        self.view_t = None

    @verb
    def view(self, delta: int) -> None:
        """Move through the decoder's steps (an edit keeps the step on view, so the same step
        can be compared before and after)."""
        if self.decoded:
            newest = len(self.decoded) - 1
            current = newest if self.view_t is None else self.view_t
            target = max(0, min(newest, current + delta))
            self.view_t = None if target == newest else target

    def edit_shape(self) -> StateShape:
        """What a handoff edit may name: the decoder's first state (for the F5 dialog)."""
        return StateShape.of(self.loaded.model.decoder)

    @verb
    def edit(self, line: str) -> str | None:
        """Apply one handoff edit line and re-run the decode shown (to the same step when
        stepping). Returns why it cannot be done, or None."""
        edit = parse_handoff_edit(line, self.edit_shape())
        stepping, steps = self.stepping, len(self.decoded or ())
        decoded = self.decoded is not None
        try:
            if edit is None:
                self.session.clear_edits()
            else:
                self.session.edit_handoff(edit)
        except ValueError as exc:
            return str(exc)
        if stepping:  # the edit restarted the stepping: take as many steps again
            for _ in range(steps):
                self.session.decode_step()
        elif decoded:
            self.session.decode()
        return None

    def frame(self) -> Seq2SeqFrame:
        session = self.session
        source = session.source
        encoder = session.encoder
        records = encoder.records(len(source) - self.viewport.log, len(source))
        last = records[-1] if records else None
        layer = self.layer
        name = f"l{layer}.h"
        encoder_maps = []
        for spec in self.specs:
            values = None if last is None else last.activation(spec.activation)
            encoder_maps.append(MapFrame(values, spec.step_scale(values)))
        encoder_log = tuple(log_line(r.t, r.token, None, 0.0,
                                     state_summary(name, r.layers[layer].h))
                            for r in records) or ("no source yet: type it",)
        handoff = session.handoff()
        handoff_maps = []
        for spec in self.handoff_specs:
            values = getattr(handoff.layers[spec.layer], spec.activation.partition(".")[2])
            selected = self.unit if spec.layer == self.decoder_layer else None
            handoff_maps.append(MapFrame(values, spec.step_scale(values), selected))
        layers = sorted({spec.layer for spec in self.handoff_specs})
        norms = tuple(f"l{k}  " + "  ".join(
            f"‖{key.partition('.')[2]}‖ {number(value, sign=False)}"
            for key, value in handoff.norms.items() if key.startswith(f"l{k}."))
            for k in layers)
        edits = tuple(edit.describe() for edit in handoff.edits)
        frame = Seq2SeqFrame(self._status(), source, tuple(encoder_maps), encoder_log,
                             HandoffFrame(tuple(handoff_maps), norms, edits), None,
                             "Enter hands over and decodes · F6 decodes one step", TapeFrame(),
                             (), None)
        decoded = self.decoded
        if decoded is None:
            return frame
        vocab = self.loaded.model.target_vocab
        finished = bool(decoded) and decoded[-1].prediction == vocab.eos
        note = ("" if finished else " …" if self.stepping
                else f" (no {vocab.eos}: length cap)")
        newest = len(decoded) - 1
        t = newest if self.view_t is None else min(self.view_t, newest)
        expected = expected_output(self.loaded.task, source)
        cells = [TapeCell(r.token, r.prediction,
                          expected is not None and (r.t >= len(expected)
                                                    or r.prediction != expected[r.t]))
                 for r in decoded]
        capacity = self.viewport.tape
        start = max(0, min(len(cells) - capacity, t - capacity // 2))
        tape = TapeFrame(tuple(cells[start:start + capacity]), start,
                         t - start if decoded else None)
        shown = decoded[max(0, t + 1 - self.viewport.decoder_log):t + 1]
        # the decoder's log, like the encoder's and every panel, shows the state after the step
        decoder_log = tuple(log_line(r.t, r.token, r.prediction, r.confidence,
                                     state_summary(f"dec.{name}", r.layers[layer].h),
                                     edits_of(r))
                            for r in shown)
        top = TopKFrame(decoded[t].top, decoded[t].entropy, "output not finite: NaN/Inf") \
            if decoded else None
        frame = replace(frame, output=output_text(decoded, vocab),
                        output_note=f"{note}  {len(decoded)} steps", decoder_tape=tape,
                        decoder_log=decoder_log, decoder_top=top,
                        expected=None if expected is None else tuple(expected),
                        finished=finished)
        if not decoded:
            return frame
        return self._decoder_unit(frame, decoded, t, handoff.layers)

    def _decoder_unit(self, frame: Seq2SeqFrame, decoded: Sequence[StepRecord], t: int,
                      first_state) -> Seq2SeqFrame:
        """The decoder's maps at step t with the selected unit marked, and the unit's detail:
        its value over the decode so far and the step redone with its numbers (the state the
        step started from is the handoff at t=0, else the step before's)."""
        decoder = self.loaded.model.decoder
        layer, unit = self.decoder_layer, self.unit
        record = decoded[t]
        maps = []
        for spec in self.decoder_specs:
            values = record.activation(spec.activation)
            maps.append(MapFrame(values, spec.step_scale(values),
                                 unit if spec.layer == layer else None))
        step = record.layers[layer]
        state = {"h": float(step.h[unit])}
        if step.c is not None:
            state["c"] = float(step.c[unit])
        start = max(0, t + 1 - self.viewport.history)
        history = np.array([r.layers[layer].h[unit] for r in decoded[start:t + 1]],
                           dtype=np.float32)
        names = decoder.gate_names or tuple(step.input_part)  # plain RNN: "h"
        gates = tuple(GateSplit(gate, float(step.gates.get(gate, step.h)[unit]),
                                float(step.input_part[gate][unit]),
                                float(step.memory_part[gate][unit]))
                      for gate in names)
        before = first_state[layer] if t == 0 else decoded[t - 1].layers[layer]
        formulas = unit_formulas(decoder.cell, step, before, unit,
                                 nonlinearity=decoder.nonlinearity or "tanh")
        view = UnitView(layer, unit, decoder.hidden, state, history, start, gates, "h", "dec.")
        attention = None
        if record.attention is not None:
            tokens = tuple(r.token for r in self.session.source_records)
            if len(tokens) == record.attention.size:
                attention = AttentionFrame(t, tokens, record.attention)
        return replace(frame, decoder_maps=tuple(maps), decoder_t=t, decoder_unit=view,
                       decoder_formulas=formulas, attention=attention)

    def _status(self) -> str:
        model = self.loaded.model
        task = self.loaded.task
        parts = [self.label,
                 f"seq2seq {model.encoder.cell} {model.encoder.n_layers}×{model.encoder.hidden}"
                 + (f" · {task}" if task else ""),
                 f"source {len(self.session.source)} chars"]
        if self.session.edits:
            count = len(self.session.edits)
            parts.append(f"{count} handoff edit{'' if count == 1 else 's'}")
        if self.n_layers > 1:
            parts.append(f"logs: l{self.layer}.h")
        return " │ ".join(parts)


def output_text(records: Sequence[StepRecord], vocab) -> str:
    """The decoded string up to the vocabulary's own end token (`--eos`) or a non-finite output
    (engine.seq2seq.decoded_text), escaped (a target vocabulary from a file may hold control or
    bidi characters)."""
    from inspector.engine.seq2seq import decoded_text

    return printable(decoded_text(records, vocab))
