"""The main screen for character models: every printable key is a step of the model.

The screen maps keys to its `CharController`'s verbs and draws the frames it returns. Keys are
queued and fed in one batch after the keys already waiting have been read (`call_later`), so a
burst of keys costs one redraw; while a model is loading or a paste is being fed they wait in the
controller, shown on the tape as pending, and are never dropped.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from functools import partial

from rich.segment import Segment
from textual import events, on, work
from textual.app import ComposeResult
from textual.containers import Container
from textual.screen import Screen
from textual.widgets import Static

from inspector.names import parse_name
from inspector.tui import gc_pause, paint
from inspector.tui.bindings import FOOTER_FIRST, MAIN_BINDINGS
from inspector.tui.controller import CharController, FeedJob, FeedResult, RecordsJob
from inspector.tui.edits import EditError, intervention_help, parse_intervention
from inspector.tui.frames import Frame, Viewport
from inspector.tui.messages import Fed, FeedProgress, RecordsFetched
from inspector.tui.panels import panel_specs
from inspector.tui.panels.base import AnalysisPanel
from inspector.tui.panels.dock import AnalysisDock
from inspector.tui.panels.inputs import timeline_input
from inspector.tui.screens.branches import BranchEdits, BranchPicker
from inspector.tui.screens.compare_steps import CompareSteps
from inspector.tui.screens.confirm import Confirm
from inspector.tui.screens.edit_prompt import EditPrompt
from inspector.tui.screens.goto_unit import GotoUnit, parse_unit
from inspector.tui.widgets.footer import KeyFooter
from inspector.tui.widgets.heatmap import Heatmap
from inspector.tui.widgets.lines import LinesWidget
from inspector.tui.widgets.model_view import BlankContainer, ModelView
from inspector.tui.widgets.tape import Tape
from models.errors import first_line

log = logging.getLogger("rnn_inspect")

MIN_WIDTH, MIN_HEIGHT = 80, 24
SHORT_HEIGHT = 32  # below this (and under NARROW_WIDTH) the side panel collapses
NARROW_WIDTH = 110  # below this the side panel narrows
PROGRESS_EVERY = 0.25  # s between updates of a long paste's progress on the status line
STALL_CHECK_EVERY = 0.5  # s between checks for a feed job whose model has hung
LOOKAHEAD_DELAY = 0.03  # s after a redraw: the frame is out and the next key (~0.1 s) not yet in
TOO_SMALL = (f"The terminal is too small: rnn-inspect needs at least {MIN_WIDTH}x{MIN_HEIGHT} "
             "characters.")


def run_feed_thread(screen: Screen, controller: CharController, job: FeedJob,
                    partner: bool = False) -> None:
    """Feed a job's text in a daemon thread that posts `FeedProgress` and `Fed` back.

    Not a Textual thread worker: those run in the event loop's executor, which Python joins at
    exit, so a user's forward that never returns would keep ctrl+q from quitting."""
    said = [time.monotonic()]

    def progress(done: int) -> None:  # a few times a second is enough for the status line
        if time.monotonic() - said[0] >= PROGRESS_EVERY:
            said[0] = time.monotonic()
            screen.post_message(FeedProgress(done, partner))

    def body() -> None:
        import torch  # loaded with the model already

        # torch's thread count is per thread: a new thread would start its own pool of one per
        # core, which spins against the event loop (measured: a 10,000-character paste took
        # 42 s instead of 0.6 s on two cores).
        torch.set_num_threads(1)
        try:
            result = controller.run_feed(job, progress)
        except Exception as exc:  # reported, never fatal: the session keeps what was fed
            log.exception("feeding %s failed", controller.label)
            result = FeedResult((), f"{controller.label}: feeding failed ({first_line(exc)})",
                                serial=job.serial)
        screen.post_message(Fed(result, partner))

    threading.Thread(target=body, name="rnn-inspect-feed", daemon=True).start()


class MainScreen(Screen):
    """Tape, heatmaps, top-k, unit detail, legend and step log of one character model."""

    BINDINGS = [*FOOTER_FIRST, *MAIN_BINDINGS]
    COMPACT = True  # a small terminal collapses the side panel (compare mode has its own)
    BLANK = True  # its children cover it: drawn as blank lines, not styled line by line

    def __init__(self) -> None:
        super().__init__()
        self._compositor = paint.DirtyCompositor()  # renders only what a key changed
        self.controller = CharController()
        self.controller.measure = self.measure  # each verb's frame fits the layout of now
        self.status = LinesWidget(id="status")
        self.view: ModelView | None = None
        self.dock = AnalysisDock(panel_specs(), id="dock")
        self.dock.display = False
        self._flush_scheduled = False
        # Set while no frame is being drawn: the dock's panels compute only then, so a panel's
        # worker never shares the core and the GIL with a key's frame, and its result is not a
        # second frame the key waits for (see AnalysisPanel).
        self.frame_out = threading.Event()
        self.frame_out.set()
        self._lookahead: asyncio.TimerHandle | None = None
        self._dock_behind = False  # a frame was drawn and the dock has not had its input yet

    def compose(self) -> ComposeResult:
        yield self.status
        yield BlankContainer(Tape(id="pending-tape"), id="content")
        yield self.dock
        yield Static(TOO_SMALL, id="too-small")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.set_interval(STALL_CHECK_EVERY, self.watch_stalls)
        self.redraw()

    def on_unmount(self) -> None:
        gc_pause.resume()  # never leave the collector off behind the app
        self.frame_out.set()  # nor a panel's worker waiting

    def watch_stalls(self) -> None:
        gc_pause.check()
        if self.check_stalls(time.monotonic()):
            self.schedule_flush()
            self.redraw()

    def check_stalls(self, now: float) -> bool:
        """Give up feed jobs whose model has hung (see `CharController.check_stall`)."""
        return self.controller.check_stall(now)

    def on_resize(self, event: events.Resize) -> None:
        width, height = event.size
        self.set_class(width < MIN_WIDTH or height < MIN_HEIGHT, "-too-small")
        self.set_class(height < SHORT_HEIGHT, "-short")
        self.set_class(width < NARROW_WIDTH, "-narrow")
        self.set_class(self.COMPACT and width < NARROW_WIDTH and height < SHORT_HEIGHT,
                       "-compact")
        self.call_after_refresh(self.redraw)

    # ---- the model ------------------------------------------------------------------------

    async def attach(self, loaded) -> None:
        """Show a freshly loaded model; its session already holds the text carried over."""
        self.controller.attach(loaded)
        if loaded.view is not None:  # a saved session's step on view and selection
            self.controller.restore_view(loaded.view)
        content = self.query_one("#content", Container)
        await content.remove_children()
        self.view = ModelView(self.controller.layout, id="primary")
        await content.mount(self.view)
        self.schedule_flush()
        self.call_after_refresh(self.redraw)

    def loading(self, note: str) -> None:
        self.controller.loading(note)
        self.redraw()

    def load_failed(self) -> None:
        self.controller.load_failed()
        self.schedule_flush()
        self.redraw()

    # ---- keys ------------------------------------------------------------------------------

    def on_key(self, event: events.Key) -> None:
        if self.has_class("-too-small") and (event.is_printable or event.key == "enter"):
            event.stop()  # the model must not take keys nobody can see it take
            self.notify("the terminal is too small: keys are not fed until it is at least "
                        f"{MIN_WIDTH}x{MIN_HEIGHT}", severity="warning", timeout=3)
            return
        if self.controller.reads_words:
            self.type_word(event)
            return
        if event.key == "enter":
            if not self.controller.takes("\n"):
                return
            text = "\n"
        elif event.is_printable and event.character:
            text = event.character
        else:
            return
        event.stop()
        event.prevent_default()
        self.queue_text(text)

    def type_word(self, event: events.Key) -> None:
        """A word model reads whole words: letters gather until a space or Enter feeds them."""
        if event.key in ("enter", "space") or (event.character or "x").isspace():
            word = self.controller.end_word()
            if word:
                self.queue_text(word)
        elif event.is_printable and event.character:
            self.controller.type_word(event.character)
        else:
            return
        event.stop()
        event.prevent_default()
        self.redraw()

    def on_paste(self, event: events.Paste) -> None:
        event.stop()
        self.queue_text(event.text.replace("\r\n", "\n").replace("\r", "\n"))

    def queue_text(self, text: str) -> None:
        gc_pause.pause()  # until the frame is out (prepare_next_step)
        self.controller.queue(text)
        if self.controller.ready:
            self.schedule_flush()
        else:
            self.redraw()

    def schedule_flush(self) -> None:
        if not self._flush_scheduled and self.controller.has_queued:
            self._flush_scheduled = True
            self.call_later(self.flush)

    def flush(self) -> None:
        self._flush_scheduled = False
        self.show(self.controller.type_queued())
        paint.now(self)  # a typed key's frame goes out now; other redraws keep Textual's pace

    def on_feed_progress(self, message: FeedProgress) -> None:
        message.stop()
        self.controller_for(message.partner).feed_progress(message.done)
        self.redraw()

    def on_fed(self, message: Fed) -> None:
        message.stop()
        if message.result.error:  # its traceback is in the --log file (controller.run_feed)
            self.log.error(message.result.error)
        self.controller_for(message.partner).feed_done(message.result)
        self.schedule_flush()
        self.redraw()

    def controller_for(self, partner: bool) -> CharController:
        return self.controller

    def start_jobs(self, controller: CharController, partner: bool = False) -> None:
        """The work a verb or frame handed over: text to feed (a daemon thread), records the
        frame needs and the session no longer holds (a worker: recomputing them steps the
        model; the frame is drawn once they are back)."""
        for job in controller.take_jobs():
            if isinstance(job, FeedJob):
                run_feed_thread(self, controller, job, partner)
            else:
                self.records_worker(controller, job, partner)

    @work(thread=True, group="records", exit_on_error=False)
    def records_worker(self, controller: CharController, job: RecordsJob,
                       partner: bool) -> None:
        import torch  # loaded with the model already

        torch.set_num_threads(1)  # as the feed threads: one, beside the event loop
        self.post_message(RecordsFetched(job.serial, controller.run_records(job), partner))

    def on_records_fetched(self, message: RecordsFetched) -> None:
        message.stop()
        if message.error:
            self.log.error(message.error)
        self.controller_for(message.partner).records_done(message.serial, message.error)
        self.schedule_flush()  # the keys pressed meanwhile
        self.redraw()

    # ---- actions ---------------------------------------------------------------------------

    def action_step_back(self) -> None:
        self.show(self.controller.back())

    def action_view(self, delta: int) -> None:
        self.show(self.controller.view(delta))

    def action_view_first(self) -> None:
        self.action_view(-len(self.controller.steps))

    def action_view_last(self) -> None:
        self.action_view(len(self.controller.steps))

    def action_select_unit(self, delta: int) -> None:
        self.show(self.controller.select_unit(delta))

    def action_select_layer(self, delta: int) -> None:
        frame = self.controller.select_layer(delta)
        self.scroll_to_layer()
        self.show(frame)

    def scroll_to_layer(self) -> None:
        """The selected layer's maps in view: its title at the top of the maps."""
        if self.view is not None and self.view.is_mounted:
            titles = self.view.layer_titles
            if len(titles) > self.controller.layer:
                titles[self.controller.layer].scroll_visible(top=True, animate=False)

    def action_reset(self) -> None:
        """Ctrl+r: asks first, since a cleared timeline cannot be brought back."""
        steps = self.controller.step_count
        if not (steps or self.controller.has_queued):
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.show(self.controller.reset())

        self.app.push_screen(Confirm(f"Clear the timeline ({steps} steps)? It cannot be undone."),
                             answered)

    def action_cancel_feed(self) -> None:
        """Escape: stop a paste being fed (what was fed is kept); else clear the span selected
        on the tape; else close the keys panel."""
        if self.cancel_feeds():
            self.notify("stopping the paste…", title="Paste")
        elif self.controller.clear_span():
            self.redraw()
        else:
            self.app.action_hide_keys()

    def cancel_feeds(self) -> bool:
        return self.controller.cancel_feed()

    def action_toggle_scale(self) -> None:
        """ctrl+t: session-wide ranges ⇄ each map stretched over its own step."""
        self.show(self.controller.toggle_scale())

    def action_goto_unit(self) -> None:
        layout = self.controller.layout
        if layout is None:
            return
        shape = (layout.n_layers, layout.hidden)

        def chosen(value: str | None) -> None:
            if value:
                self.show(self.controller.select(*parse_unit(value, *shape,
                                                             self.controller.layer)))

        self.app.push_screen(GotoUnit(*shape, self.controller.layer), chosen)

    def action_compare_steps(self) -> None:
        """F9: the two most recent steps that read the same character, side by side."""
        compare = self.controller.step_comparison()
        if isinstance(compare, str):
            self.notify(compare, severity="warning")
            return
        self.app.push_screen(CompareSteps(*compare))

    def action_write(self, n: int, temperature: float = 0.0) -> None:
        """F8: the model writes n steps from its own predictions (Backspace undoes each)."""
        self.show(self.controller.write(n, temperature))

    def action_toggle_panel(self, panel: str) -> None:
        if panel == "side" and self.has_class("-compact"):
            self.toggle_class("-side-open")  # the collapsed side panel opens in full
        else:
            self.toggle_class(f"-hide-{panel}")
        self.call_after_refresh(self.redraw)

    def action_intervene(self) -> None:
        controller = self.controller
        if not controller.ready:
            return
        target, unit, t = controller.intervention_target()
        shape = controller.edit_shape()
        parse = partial(parse_intervention, target=target, unit=unit, shape=shape)

        def apply(line: str) -> str | None:
            try:
                frame = controller.intervene(parse(line))
            except EditError as exc:
                return str(exc)
            if frame.error is None:
                self.show(frame)
            return frame.error

        self.app.push_screen(EditPrompt(f"Intervene on {target}[{unit}]: edits the state step "
                                        f"t={t} starts from", intervention_help(shape), parse,
                                        apply))

    def action_fork(self) -> None:
        self.show(self.controller.fork())

    def action_branches(self) -> None:
        if not self.controller.ready:
            return

        def chosen(name: str | None) -> None:
            if name:
                self.show(self.controller.switch(name))

        controller = self.controller

        def edited(frame: Frame) -> str | None:
            self.show(frame)  # the status line names the branch on screen
            return frame.error

        edits = BranchEdits(controller.branch_rows,
                            lambda old, new: edited(controller.rename_branch(old, new)),
                            lambda name: edited(controller.delete_branch(name)))
        self.app.push_screen(BranchPicker(edits), chosen)

    # ---- issue 16: the analysis dock ---------------------------------------------------------

    def action_toggle_dock(self) -> None:
        """ctrl+d: show or hide the analysis panels (only the one on view computes)."""
        shown = not self.dock.display
        self.dock.set_shown(shown)
        self.set_class(shown, "-dock")
        if not shown:  # the maps and tape go back to what they show without panels
            self.controller.show_units(None)
            self.controller.colour_tape(None, "", None)
        self.call_after_refresh(self.redraw)

    def action_next_panel(self, delta: int) -> None:
        if not self.dock.display:
            self.action_toggle_dock()
            return
        self.dock.next_panel(delta)
        self.redraw()

    def action_show_panel(self, panel_id: str) -> None:
        """The palette's `Analysis: …` commands."""
        if not self.dock.display:
            self.action_toggle_dock()
        self.dock.show_panel(panel_id)
        self.redraw()

    def action_panel_cursor(self, delta: int) -> None:
        if self.dock.display and self.dock.panel is not None:
            self.dock.panel.cursor(delta)

    def action_panel_option(self, delta: int) -> None:
        if self.dock.display and self.dock.panel is not None:
            self.dock.panel.option(delta)

    def action_extend_span(self, delta: int) -> None:
        self.show(self.controller.extend_span(delta))

    def action_tape_colours(self) -> None:
        self.controller.toggle_tape_colours()
        self.call_after_refresh(self.redraw)

    def action_choose_feature(self) -> None:
        """ctrl+f: the feature the units and probe panels follow."""
        from inspector.tui.edits import EditError

        def parse(line: str) -> str:
            if "\n" in line:
                raise EditError("one line")
            return line

        def apply(line: str) -> str | None:
            frame = self.controller.choose_feature(line)
            if frame.error is None:
                self.show(frame)
            return frame.error

        hint = ("pair-position · position · char=X · bit=N · in-quotes · in-parens · indent · "
                "line-position · regex:PATTERN · span:A-B · labels:FILE (empty: none)")
        self.app.push_screen(EditPrompt("Feature for the analysis panels", hint, parse, apply))

    @on(AnalysisPanel.SelectUnit)
    def select_panel_unit(self, message: AnalysisPanel.SelectUnit) -> None:
        message.stop()
        frame = self.controller.select_name(message.unit)
        if frame.error:
            self.notify(frame.error, severity="warning")
        self.scroll_to_layer()  # as Tab does
        self.show(frame)

    @on(AnalysisPanel.ShowUnits)
    def show_panel_units(self, message: AnalysisPanel.ShowUnits) -> None:
        message.stop()
        self.controller.show_units(message.orders, message.label)
        self.redraw()

    @on(AnalysisPanel.ColourTape)
    def colour_tape(self, message: AnalysisPanel.ColourTape) -> None:
        message.stop()
        self.controller.colour_tape(message.values, message.label, message.generation)
        self.call_after_refresh(self.redraw)

    @on(Tape.SpanDragged)
    def drag_span(self, message: Tape.SpanDragged) -> None:
        message.stop()
        self.show(self.controller.set_span(*message.span))

    def feed_dock(self) -> None:
        """Hand the panels the input of the frame on screen, once it is out (`prepare_next_step`;
        the panel on view then computes in a worker): building it reads every step's event, so
        in the key's frame it cost ~0.25 ms at 200 steps, and more the longer the session."""
        if not self.dock.display:
            return
        timeline = self.controller.timeline()
        if timeline is not None and self.controller.panel_source is not None:
            self.dock.update_input(timeline_input(timeline, self.controller.panel_source,
                                                  self.controller.session))

    @on(ModelView.Resized)
    def redraw_resized(self) -> None:
        self.redraw()

    @on(Heatmap.UnitClicked)
    def select_clicked_unit(self, message: Heatmap.UnitClicked) -> None:
        self.show(self.controller.select(parse_name(message.heatmap.activation).layer,
                                         message.unit))

    # ---- drawing ---------------------------------------------------------------------------

    def measure(self) -> None:
        """Tell the controller how much of the timeline fits, as laid out now."""
        controller = self.controller
        strip = controller.tape_by_unit or controller.tape_values is not None
        tapes = self.tapes()
        for tape in tapes:
            if tape.strip != strip:
                tape.strip = strip
                tape.set_class(strip, "-strip")
        if self.view is not None and self.view.is_mounted:
            self.controller.viewport = self.view.viewport()
        elif tapes:
            self.controller.viewport = Viewport(tape=tapes[0].capacity)

    def tapes(self) -> list[Tape]:
        """The tapes on screen: the model's, or the one shown while it loads. (A DOM query
        costs more than half a millisecond a key at a 2x512 model's screen.)"""
        if self.view is not None and self.view.is_mounted:
            return [self.view.tape]
        return list(self.query(Tape))

    def redraw(self) -> None:
        """Draw the controller's frame for the step on view (the layout may have changed)."""
        self.measure()
        self.show(self.controller.frame())

    def show(self, frame: Frame) -> None:
        """Draw the frame a verb returned, in one batch, and start the work it handed over."""
        self.start_jobs(self.controller)
        self.frame_out.clear()  # set by the lookahead, once this frame is on the terminal
        self.draw(frame)
        self._dock_behind = True  # the dock is fed once the frame is out (prepare_next_step)
        self.show_notices(self.controller)
        self.schedule_lookahead()

    def draw(self, frame: Frame) -> None:
        with self.app.batch_update():
            self.status.set_lines([[Segment(frame.status)]])
            if frame.pending_tape is not None:  # loading or feeding: only the tapes change
                for tape in self.query(Tape):
                    tape.show(frame.pending_tape)
            elif frame.views and self.view is not None and self.view.is_mounted:
                self.view.draw(frame.views[0])

    def show_notices(self, controller) -> None:
        for notice in controller.notices:
            self.notify(notice.text, title=notice.title, severity=notice.severity)
        controller.notices.clear()

    def schedule_lookahead(self) -> None:
        """Let the model work ahead on the next key's step once this frame is out, when the
        event loop is idle: run alongside the frame, its numpy calls only slow the frame down
        (they hand the GIL back and forth), and `call_after_refresh` can run before it."""
        if self._lookahead is not None:
            self._lookahead.cancel()
        loop = asyncio.get_running_loop()
        self._lookahead = loop.call_later(LOOKAHEAD_DELAY, self.prepare_next_step)

    def prepare_next_step(self) -> None:
        self._lookahead = None
        gc_pause.resume()  # the frame is out: the collector may run before the next key
        self.frame_out.set()  # and the dock's panels may compute
        if self._dock_behind:  # their input, built here, not in the key's frame: it is O(steps)
            self._dock_behind = False
            self.call_next(self.feed_dock)
        self.controller.prepare()
