"""The seq2seq screen: type the source and watch the encoder's states step by step; Enter hands
the encoder's final state over and the decoder runs to `</s>` (or F6 steps it one token at a
time); F5 edits the handoff and the decode re-runs at once.

Every printable key is a source character; Enter, Backspace and the function keys are commands,
each a verb of the screen's `Seq2SeqController`, whose frames the screen draws. For a model whose
forward is the user's own, the verbs and the frames after them run in a worker, one at a time in
the order the keys came: keys pressed while it decodes wait in its queue, never lost or reordered,
and the screen keeps answering (F1, ctrl+o, ctrl+q).
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

from rich.segment import Segment
from rich.style import Style
from textual import events, on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Static

from inspector.names import parse_name
from inspector.tui.bindings import FOOTER_FIRST, SEQ2SEQ_BINDINGS
from inspector.tui.controller import Notice, Seq2SeqController
from inspector.tui.edits import EditError, handoff_help, parse_handoff_edit
from inspector.tui.frames import Seq2SeqFrame, Viewport
from inspector.tui.messages import Seq2SeqWorked
from inspector.tui.screens.confirm import Confirm
from inspector.tui.screens.edit_prompt import EditPrompt
from inspector.tui.screens.main import (
    MIN_HEIGHT,
    MIN_WIDTH,
    NARROW_WIDTH,
    SHORT_HEIGHT,
    TOO_SMALL,
)
from inspector.tui.widgets.attention import AttentionRow
from inspector.tui.widgets.footer import KeyFooter
from inspector.tui.widgets.handoff import HandoffPanel
from inspector.tui.widgets.heatmap import Heatmap
from inspector.tui.widgets.lines import LinesWidget
from inspector.tui.widgets.map_grid import MapGrid
from inspector.tui.widgets.model_view import Panel
from inspector.tui.widgets.step_log import StepLog
from inspector.tui.widgets.tape import Tape
from inspector.tui.widgets.top_k import TopK
from inspector.tui.widgets.unit_detail import UnitDetail
from models.errors import first_line, printable

if TYPE_CHECKING:
    from inspector.tui.jobs import Seq2SeqLoaded

log = logging.getLogger("rnn_inspect")

OUTPUT = Style(bold=True)  # the task's answer unknown: no colour claims it is right
RIGHT = Style(bold=True, color="green")
WRONG = Style(bold=True, color="red")
SOURCE = Style(bold=True)
DIM = Style(dim=True)
DECODER_LOG_LINES = 4  # kept for the decoder's log when its maps grow


def output_segments(output: str, expected: tuple[str, ...] | None,
                    finished: bool = True) -> list[Segment]:
    """The decoded text, each character green where it is the task's answer and red where it
    is not (a known task, e.g. `reverse`), a finished output too short ending in red `·`s;
    uncoloured when the answer is unknown."""
    if expected is None:
        return [Segment(output, OUTPUT)]
    answer = "".join(token for token in expected if len(token) == 1)
    segments = [Segment(ch, RIGHT if t < len(answer) and answer[t] == ch else WRONG)
                for t, ch in enumerate(output)]
    if finished and len(output) < len(answer):
        segments.append(Segment("·" * (len(answer) - len(output)), WRONG))  # missing
    return segments


def handoff_title(model) -> str:
    """The handoff's section line; for a mixed pair (`--encoder-from`) it says why it fails."""
    encoder_from = getattr(model, "encoder_from", None)
    if encoder_from is None:
        return "handoff: the decoder's first state"
    return (f"handoff from {printable(encoder_from)}'s encoder, trained separately from this "
            "decoder")


class Seq2SeqScreen(Screen):
    """Source and encoder maps, the handoff panel, the decoder's output, tape and steps."""

    BINDINGS = [*FOOTER_FIRST, *SEQ2SEQ_BINDINGS]

    def __init__(self, loaded: Seq2SeqLoaded) -> None:
        super().__init__()
        self.controller = Seq2SeqController(loaded)
        self.controller.measure = self.measure  # each verb's frame fits the layout of now
        specs, hidden = self.controller.specs, self.controller.hidden
        self.status = LinesWidget(id="status")
        self.source = LinesWidget(id="source")
        self.encoder_maps = [Heatmap(spec.activation, spec.activation, hidden) for spec in specs]
        self.encoder_log = StepLog(id="encoder-log")
        self.handoff = HandoffPanel(self.controller.handoff_specs, self.controller.handoff_hidden,
                                    id="handoff")
        self.output = LinesWidget(id="output")
        self.decoder_tape = Tape(id="decoder-tape")
        decoder = self.controller.loaded.model.decoder
        self.decoder_maps = [Heatmap(f"dec.{spec.activation}", f"dec.{spec.activation}",
                                     decoder.hidden)
                             for spec in self.controller.decoder_specs]
        self.decoder_log = StepLog(id="decoder-log")
        self.decoder_top = TopK(id="decoder-top")
        self.decoder_unit = UnitDetail(id="decoder-unit")
        self.attention = AttentionRow(id="attention")
        # the maps grow to fill the room their panel has (see MapGrid)
        self.encoder_panel = Panel(id="encoder-maps")
        self.encoder_grid = MapGrid(self.encoder_maps, hidden,
                                    lambda: self.encoder_panel.scrollable_content_region.height)
        self.decoder_grid = MapGrid(self.decoder_maps, decoder.hidden, self.decoder_room,
                                    id="decoder-maps")
        self.queued: deque[Callable[[], object] | None] = deque()  # None: only a new frame
        self.working = False  # the worker is running the verbs it took from `queued`
        self.shown: Seq2SeqFrame | None = None  # the frame on screen

    def decoder_room(self) -> int:
        """Lines the decoder's maps may take: what the output, tape and attention leave, less
        a few lines kept for the decoder's log."""
        steps = self.query_one("#decoder-steps").content_region.height
        used = (max(1, len(self.output.lines)) + self.decoder_tape.outer_size.height
                + len(self.attention.lines))
        return steps - used - 1 - DECODER_LOG_LINES

    @property
    def label(self) -> str:
        return self.controller.label

    def compose(self) -> ComposeResult:
        yield self.status
        with Horizontal(id="s2s-top"):
            with Vertical(id="encoder"):
                yield Static("encoder: type the source, Enter hands over", classes="section")
                yield self.source
                with self.encoder_panel:
                    yield self.encoder_grid
                yield self.encoder_log
            with Vertical(id="handoff-side"):
                yield Static(handoff_title(self.controller.loaded.model), classes="section",
                             id="handoff-title")
                yield self.handoff
        with Horizontal(id="decoder"):
            with Vertical(id="decoder-steps"):
                yield self.output
                yield self.decoder_tape
                yield self.attention
                yield self.decoder_grid
                yield self.decoder_log
            with Panel(id="decoder-side"):
                yield self.decoder_top
                yield self.decoder_unit
        yield Static(TOO_SMALL, id="too-small")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.call_after_refresh(self.redraw)

    def on_resize(self, event: events.Resize) -> None:
        width, height = event.size
        self.set_class(width < MIN_WIDTH or height < MIN_HEIGHT, "-too-small")
        self.set_class(height < SHORT_HEIGHT, "-short")
        self.set_class(width < NARROW_WIDTH, "-narrow")
        self.call_after_refresh(self.fit_maps)
        self.call_after_refresh(self.redraw)

    def fit_maps(self) -> None:
        """Zoom each map grid to its panel's new room (a taller terminal need not change a
        grid's own width, so its resize alone would not say)."""
        for grid in self.query(MapGrid):
            grid.fit()

    # ---- keys ------------------------------------------------------------------------------

    def on_key(self, event: events.Key) -> None:
        if not (event.is_printable and event.character):
            return
        event.stop()
        event.prevent_default()
        self.feed(event.character)

    def on_paste(self, event: events.Paste) -> None:
        event.stop()
        self.feed(event.text)

    def feed(self, text: str) -> None:
        self.run(partial(self.controller.type, text))

    def action_step_back(self) -> None:
        self.run(self.controller.back)

    def action_reset(self) -> None:
        """ctrl+r: asks first, since a cleared source and its edits cannot be brought back."""
        if not self.controller.session.source and not self.controller.session.edits:
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.run(self.controller.reset)

        self.app.push_screen(Confirm("Clear the source, the handoff edits and the decode? "
                                     "It cannot be undone."), answered)

    def action_select_unit(self, delta: int) -> None:
        """↑/↓ (PageUp/PageDown by 16): the unit marked on the decoder's and handoff's maps."""
        self.run(partial(self.controller.select_unit, delta))

    @on(Heatmap.UnitClicked)
    def select_clicked_unit(self, message: Heatmap.UnitClicked) -> None:
        """A click on a decoder or handoff map selects that unit (the encoder's are its own)."""
        activation = message.heatmap.activation
        if message.heatmap in self.encoder_maps:
            return
        self.run(partial(self.controller.select, parse_name(activation).layer, message.unit))

    def action_select_layer(self, delta: int) -> None:
        """Which layer's state the encoder and decoder logs summarise."""
        self.run(partial(self.controller.select_layer, delta))

    def action_hand_over(self) -> None:
        self.run(self.controller.hand_over)

    def action_decode_step(self) -> None:
        self.run(self.controller.decode_step)

    def action_view_step(self, delta: int) -> None:
        self.run(partial(self.controller.view, delta))

    def action_edit_handoff(self) -> None:
        def apply(line: str) -> str | None:
            if not self.controller.inline:  # applied in turn; a refusal comes as a notice
                self.run(partial(self.edit_later, line))
                return None
            try:
                frame = self.controller.edit(line)
            except EditError as exc:
                return str(exc)
            if frame.error is None:
                self.draw_frame(frame)
            return frame.error

        shape = self.controller.edit_shape()
        self.app.push_screen(EditPrompt("Edit the handoff (the decode re-runs)",
                                        handoff_help(shape),
                                        partial(parse_handoff_edit, shape=shape), apply))

    def action_clear_edits(self) -> None:
        self.run(partial(self.controller.edit, "clear"))

    def edit_later(self, line: str) -> Seq2SeqFrame | None:
        """A handoff edit run in its turn: what stops it is said as a notice."""
        try:
            frame = self.controller.edit(line)
        except EditError as exc:
            frame, error = None, str(exc)
        else:
            error = frame.error
        if error:
            self.controller.notices.append(Notice(error, "Handoff edit", "warning"))
        return frame

    # ---- running verbs -----------------------------------------------------------------------

    def run(self, verb: Callable[[], object] | None) -> None:
        """Run a controller verb (None: none) and draw the frame it returns: here for the
        engine's own models, else in the worker, after the verbs queued before it."""
        if self.controller.inline and not self.working and not self.queued:
            self.draw_frame(self.frame_after([verb]))
            return
        if verb is not None or not self.queued or self.queued[-1] is not None:
            self.queued.append(verb)
        self.start_work()

    def start_work(self) -> None:
        if self.queued and not self.working:
            self.working = True
            self.work_queued()
        self.show_waiting()

    @work(thread=True, group="seq2seq", exit_on_error=False)
    def work_queued(self) -> None:
        """Run the verbs queued so far, in order, then build the frame after them (it may
        recompute records, which steps the model too)."""
        verbs = []
        while self.queued:
            verbs.append(self.queued.popleft())
        try:
            message = Seq2SeqWorked(self.frame_after(verbs))
        except Exception as exc:  # the user's own forward may raise anything: say it, go on
            log.exception("a seq2seq step of %s failed", self.label)
            self.log.error(f"a seq2seq step of {self.label} failed: {exc!r}")
            message = Seq2SeqWorked(None, f"{self.label}: {first_line(exc)}")
        self.post_message(message)

    def frame_after(self, verbs: list[Callable[[], object] | None]) -> Seq2SeqFrame:
        """Run the verbs; the frame the last one returned (a fresh one after a redraw)."""
        frame = None
        for verb in verbs:
            result = verb() if verb is not None else None
            frame = result if isinstance(result, Seq2SeqFrame) else None
        return frame if frame is not None else self.controller.frame()

    def on_seq2seq_worked(self, message: Seq2SeqWorked) -> None:
        message.stop()
        self.working = False
        if message.error:
            self.notify(message.error, title="Step refused", severity="error")
        if message.frame is not None:
            self.draw_frame(message.frame)
        self.start_work()  # the keys pressed meanwhile

    def show_waiting(self) -> None:
        """While the worker runs: the frame on screen stays, the status line says so."""
        if not self.working or self.shown is None:
            return
        waiting = len([verb for verb in self.queued if verb is not None])
        line = f"{self.shown.status} │ working…"
        if waiting:
            line += f" ({waiting} key{'' if waiting == 1 else 's'} queued)"
        self.status.set_lines([[Segment(line)]])

    # ---- drawing ---------------------------------------------------------------------------

    def redraw(self) -> None:
        """Draw the frame for what is on view now (after the verbs queued, if any)."""
        self.measure()
        self.run(None)

    def measure(self) -> None:
        self.controller.viewport = Viewport(self.decoder_tape.capacity,
                                            self.encoder_log.capacity,
                                            self.decoder_unit.history_width,
                                            decoder_log=self.decoder_log.capacity)

    def draw_frame(self, frame: Seq2SeqFrame) -> None:
        self.shown = frame
        self.draw(frame)
        controller = self.controller
        for notice in controller.notices:
            self.notify(notice.text, title=notice.title, severity=notice.severity)
        controller.notices.clear()

    def draw(self, frame: Seq2SeqFrame) -> None:
        with self.app.batch_update():
            self.status.set_lines([[Segment(frame.status)]])
            self.source.set_lines([[Segment("source ", DIM), Segment(frame.source, SOURCE),
                                    Segment("▏", DIM)]])
            for heatmap, map_frame in zip(self.encoder_maps, frame.encoder_maps, strict=True):
                heatmap.show(map_frame.values, map_frame.scale)
            self.encoder_log.show(frame.encoder_log)
            self.handoff.show(frame.handoff)
            if frame.output is None:
                self.output.set_lines([[Segment(frame.output_note, DIM)]])
            else:
                self.output.set_lines([[Segment("output ", DIM),
                                        *output_segments(frame.output, frame.expected,
                                                         frame.finished),
                                        Segment(frame.output_note, DIM)]])
            self.decoder_tape.show(frame.decoder_tape)
            self.decoder_log.show(frame.decoder_log)
            self.decoder_top.display = frame.decoder_top is not None
            if frame.decoder_top is not None:
                self.decoder_top.show(frame.decoder_top)
            self.query_one("#decoder-maps").display = bool(frame.decoder_maps)
            for heatmap, map_frame in zip(self.decoder_maps, frame.decoder_maps, strict=False):
                heatmap.show(map_frame.values, map_frame.scale, map_frame.selected,
                             t=frame.decoder_t)
                heatmap.set_class(map_frame.selected is None, "-other-layer")
            self.decoder_unit.show(frame.decoder_unit, frame.decoder_unit_placeholder,
                                   formulas=frame.decoder_formulas)
            attention = len(self.attention.lines)
            self.attention.show(frame.attention)
            if len(self.attention.lines) != attention:
                self.decoder_grid.fit()  # the maps' room changed
