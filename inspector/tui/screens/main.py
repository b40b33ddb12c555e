"""The main screen for character models: every printable key is a step of the model.

Keys are queued in `pending` and fed in one batch after the keys already waiting have been read
(`call_later`), so a burst of keys costs one redraw; while a model is loading or a long paste is
being fed in a worker they simply wait there, shown on the tape as pending, and are never dropped.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

from rich.segment import Segment
from textual import events, on, work
from textual.app import ComposeResult
from textual.containers import Container
from textual.screen import Screen
from textual.widgets import Static

from inspector.tui.bindings import FOOTER_FIRST, MAIN_BINDINGS
from inspector.tui.screens.compare_steps import CompareSteps
from inspector.tui.screens.confirm import Confirm
from inspector.tui.screens.goto_unit import GotoUnit, parse_unit
from inspector.tui.screens.timeline import TimelineActions
from inspector.tui.view import StepCache, tape_window
from inspector.tui.widgets.footer import KeyFooter
from inspector.tui.widgets.heatmap import Heatmap
from inspector.tui.widgets.lines import LinesWidget
from inspector.tui.widgets.model_view import BlankContainer, ModelView
from inspector.tui.widgets.tape import Tape
from inspector.tui.workers import BulkFed, BulkProgress, Loaded, feed_in_chunks
from models.vocab import UnknownCharacterError

if TYPE_CHECKING:
    from inspector.engine import InspectableModel, Session

MIN_WIDTH, MIN_HEIGHT = 80, 24
SHORT_HEIGHT = 32  # below this the step log shrinks to three lines
NARROW_WIDTH = 110  # below this the side panel narrows
BULK_CHARS = 200  # longer inputs (pastes) are fed by a worker
PROGRESS_EVERY = 0.25  # s between updates of a long paste's progress on the status line
LOOKAHEAD_DELAY = 0.03  # s after a redraw: the frame is out and the next key (~0.1 s) not yet in
TOO_SMALL = (f"The terminal is too small: rnn-inspect needs at least {MIN_WIDTH}x{MIN_HEIGHT} "
             "characters.")


class MainScreen(TimelineActions, Screen):
    """Tape, heatmaps, top-k, unit detail, legend and step log of one character model."""

    BINDINGS = [*FOOTER_FIRST, *MAIN_BINDINGS]

    def __init__(self) -> None:
        super().__init__()
        self.label = ""
        self.model: InspectableModel | None = None
        self.session: Session | None = None
        self.loaded: Loaded | None = None
        self.task_name: str | None = None
        self.cache = StepCache()
        self.pending = ""
        self.word = ""  # a word model's word being typed (fed on space or Enter)
        self.backs_queued = 0  # Backspaces pressed while a paste was being fed (see flush)
        self.view_t: int | None = None
        self.selected_layer = 0
        self.selected_unit = 0
        self.busy = False
        self.fed: tuple[int, int] | None = None  # characters of a long paste fed so far, of all
        self.status_note = "loading…"
        self.nonfinite: tuple[str, ...] = ()
        self.status = LinesWidget(id="status")
        self.view: ModelView | None = None
        self._flush_scheduled = False
        self._lookahead: asyncio.TimerHandle | None = None

    def compose(self) -> ComposeResult:
        yield self.status
        yield BlankContainer(Tape(id="pending-tape"), id="content")
        yield Static(TOO_SMALL, id="too-small")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.update_status()

    def on_resize(self, event: events.Resize) -> None:
        width, height = event.size
        self.set_class(width < MIN_WIDTH or height < MIN_HEIGHT, "-too-small")
        self.set_class(height < SHORT_HEIGHT, "-short")
        self.set_class(width < NARROW_WIDTH, "-narrow")
        self.call_after_refresh(self.refresh_view)

    # ---- the model ------------------------------------------------------------------------

    async def attach(self, loaded: Loaded) -> None:
        """Show a freshly loaded model; its session already holds the text carried over."""
        self.loaded = loaded  # what F10 saves the session with (the model's file, its hash)
        self.label, self.model = loaded.label, loaded.model
        self.session, self.task_name = loaded.session, loaded.task
        self.cache.clear()
        self.cache.add(loaded.steps)
        self.view_t = None
        view = loaded.view  # a saved session's: the step on view and the selection
        if view is not None:
            if len(loaded.session.branches()) > 1:
                self.forked = loaded.session  # its branches are listed on the status line
            self.selected_layer, self.selected_unit = max(view.layer, 0), max(view.unit, 0)
            if view.t is not None and 0 <= view.t < len(loaded.steps) - 1:
                self.view_t = view.t
        self.selected_layer = min(self.selected_layer, loaded.model.n_layers - 1)
        self.selected_unit = min(self.selected_unit, loaded.model.hidden - 1)
        self.status_note = ""
        content = self.query_one("#content", Container)
        await content.remove_children()
        self.view = ModelView(loaded.model, loaded.task, id="primary")
        await content.mount(self.view)
        self.schedule_flush()
        self.call_after_refresh(self.refresh_view)

    def loading(self, note: str) -> None:
        """A model is on its way: keys are queued until it arrives."""
        self.status_note = note
        self.update_status()

    def load_failed(self) -> None:
        """The new model did not load: the old one (if any) takes the keys queued meanwhile."""
        self.status_note = "" if self.session is not None else "no model: ctrl+o opens one"
        self.schedule_flush()
        self.refresh_view()

    @property
    def ready(self) -> bool:
        return self.session is not None and not self.busy and not self.status_note

    # ---- keys ------------------------------------------------------------------------------

    def on_key(self, event: events.Key) -> None:
        if self.has_class("-too-small") and (event.is_printable or event.key == "enter"):
            event.stop()  # the model must not take keys nobody can see it take
            self.notify("the terminal is too small: keys are not fed until it is at least "
                        f"{MIN_WIDTH}x{MIN_HEIGHT}", severity="warning", timeout=3)
            return
        if self.model is not None and self.model.vocab.split == "words":
            self.type_word(event)
            return
        if event.key == "enter":
            if self.model is not None and "\n" not in self.model.vocab:
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
            word, self.word = self.word, ""
            if word:
                self.queue_text(word + " ")
        elif event.is_printable and event.character:
            self.word += event.character
        else:
            return
        event.stop()
        event.prevent_default()
        self.update_status()

    def on_paste(self, event: events.Paste) -> None:
        event.stop()
        self.queue_text(event.text.replace("\r\n", "\n").replace("\r", "\n"))

    def queue_text(self, text: str) -> None:
        self.pending += text
        if self.ready:
            self.schedule_flush()
        else:
            self.refresh_view()

    def schedule_flush(self) -> None:
        if not self._flush_scheduled and (self.pending or self.backs_queued):
            self._flush_scheduled = True
            self.call_later(self.flush)

    def flush(self) -> None:
        """Apply the steps back queued meanwhile, then feed the queued text: directly when
        short, in a worker when long."""
        self._flush_scheduled = False
        if not self.ready or not (self.pending or self.backs_queued):
            return
        if self.backs_queued:
            self.step_back(self.backs_queued)
            self.backs_queued = 0
        text, self.pending = self.usable(self.pending), ""
        if len(text) > BULK_CHARS:
            self.busy = True
            self.feed_bulk(text)
        elif text:
            self.cache.extend(self.session.feed(text))
            self.view_t = None
        self.refresh_view()

    def usable(self, text: str) -> str:
        """Drop (and say so) characters the model cannot take: not in its vocabulary, no <unk>."""
        vocab = self.model.vocab
        if vocab.unk_id is not None:
            return text
        if vocab.split == "words":
            return self.usable_words(text)
        kept = "".join(ch for ch in text if ch in vocab)
        if len(kept) != len(text):
            dropped = sorted({ch for ch in text if ch not in vocab})
            self.notify(f"{self.label} cannot read {', '.join(map(repr, dropped))}: not in its "
                        "vocabulary, which has no <unk>", severity="warning")
        return kept

    def usable_words(self, text: str) -> str:
        kept, dropped = [], []
        for word in text.split():
            try:
                self.model.vocab.tokenize(word)
                kept.append(word)
            except UnknownCharacterError:
                dropped.append(word)
        if dropped:
            self.notify(f"{self.label} cannot read {', '.join(map(repr, dropped[:5]))}: not in "
                        "its vocabulary, which has no <unk>", severity="warning")
        return " ".join(kept) + " " if kept else ""

    @work(thread=True, exclusive=True, group="feed")
    def feed_bulk(self, text: str) -> None:
        said = [time.monotonic()]

        def progress(done: int) -> None:  # a few times a second is enough for the status line
            if time.monotonic() - said[0] >= PROGRESS_EVERY:
                said[0] = time.monotonic()
                self.post_message(BulkProgress(done, len(text)))

        try:
            self.post_message(BulkFed(feed_in_chunks(self.session, text, progress=progress)))
        except Exception as exc:  # the session is left at the last whole chunk
            self.post_message(BulkFed([], f"feeding the paste failed: {exc}"))

    def on_bulk_progress(self, message: BulkProgress) -> None:
        if self.busy:
            self.fed = (message.done, message.total)
            self.update_status()

    def on_bulk_fed(self, message: BulkFed) -> None:
        self.busy = False
        self.fed = None
        self.cache.add(message.steps)
        self.cache.sync(self.session)
        self.view_t = None
        if message.error:
            self.notify(message.error, severity="error")
        self.schedule_flush()
        self.refresh_view()

    # ---- actions ---------------------------------------------------------------------------

    def action_step_back(self) -> None:
        if self.word:
            self.word = self.word[:-1]
            self.update_status()
            return
        if self.pending:
            self.pending = self.pending[:-1]
        elif self.ready:
            self.step_back(1)
        elif self.session is not None:
            # Feeding a paste or switching models: undone once that is done. Queued steps back
            # always precede the queued text, since a Backspace eats queued text first.
            self.backs_queued += 1
        self.refresh_view()

    def step_back(self, n: int) -> None:
        """Undo the last n keystrokes or interventions, for good: a fork or a branch switch
        never brings them back."""
        if self.session.cursor or self.session.pending:
            self.session.back(n)
            self.session.forget_redo()
            self.cache.sync(self.session)
            self.view_t = None

    def action_view(self, delta: int) -> None:
        steps = len(self.cache)
        if not self.ready or not steps:
            return
        current = steps - 1 if self.view_t is None else self.view_t
        target = max(0, min(steps - 1, current + delta))
        self.view_t = None if target == steps - 1 else target
        self.refresh_view()

    def action_view_first(self) -> None:
        self.action_view(-len(self.cache))

    def action_view_last(self) -> None:
        self.action_view(len(self.cache))

    def action_select_unit(self, delta: int) -> None:
        if self.model is not None:
            self.selected_unit = max(0, min(self.model.hidden - 1, self.selected_unit + delta))
            self.refresh_view()

    def action_select_layer(self, delta: int) -> None:
        if self.model is not None:
            self.selected_layer = (self.selected_layer + delta) % self.model.n_layers
            titles = self.query(".layer-title")
            if len(titles) > self.selected_layer:
                titles[self.selected_layer].scroll_visible(top=True, animate=False)
            self.refresh_view()

    def action_reset(self) -> None:
        """Ctrl+r: asks first, since a cleared timeline cannot be brought back."""
        if not (self.cache.steps or self.pending):
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.reset()

        steps = len(self.cache)
        self.app.push_screen(Confirm(f"Clear the timeline ({steps} steps)? It cannot be undone."),
                             answered)

    def reset(self) -> None:
        if self.ready:
            self.session.reset()
            self.cache.clear()
            self.view_t = None
        self.pending = ""
        self.backs_queued = 0
        self.refresh_view()

    def action_toggle_panel(self, panel: str) -> None:
        self.toggle_class(f"-hide-{panel}")
        self.call_after_refresh(self.refresh_view)

    def action_toggle_scale(self) -> None:
        if self.view is not None:
            self.view.toggle_scale()
            self.refresh_view()

    def action_goto_unit(self) -> None:
        if self.model is None:
            return
        shape = (self.model.n_layers, self.model.hidden)

        def chosen(value: str | None) -> None:
            if value:
                self.selected_layer, self.selected_unit = parse_unit(value, *shape,
                                                                     self.selected_layer)
                self.refresh_view()

        self.app.push_screen(GotoUnit(*shape, self.selected_layer), chosen)

    def action_compare_steps(self) -> None:
        """The two most recent steps that read the same character, side by side."""
        from inspector.engine.step_diff import compare_steps, default_pair

        steps = len(self.cache)
        if not self.ready or steps < 2:
            self.notify("type at least two characters to compare two steps", severity="warning")
            return
        session = self.session
        newest = steps - 1 if self.view_t is None else self.view_t

        def compare(a: int, b: int):
            if not (0 <= a < steps and 0 <= b < steps):
                return f"no step {max(a, b)}: the timeline has steps 0..{steps - 1}"
            return compare_steps(session.records(a, a + 1)[0], session.records(b, b + 1)[0])

        pair = default_pair([step.typed for step in self.cache.steps], newest)
        self.app.push_screen(CompareSteps(compare, pair, steps))

    def action_write(self, n: int, temperature: float = 0.0) -> None:
        """Let the model write n steps from its own predictions (Backspace undoes each)."""
        if not self.ready:
            return
        try:
            records = self.session.generate(n, temperature)
        except ValueError as exc:
            self.notify(str(exc), severity="warning")
            return
        if len(records) < n:
            last = self.session.last
            self.notify(f"the model stopped writing after {len(records)} steps: it predicts "
                        f"{last.prediction}, which nobody could type", severity="warning")
        self.cache.extend(records)
        self.view_t = None
        self.refresh_view()

    @on(ModelView.Resized)
    def redraw_resized(self) -> None:
        self.refresh_view()

    @on(Heatmap.UnitClicked)
    def select_clicked_unit(self, message: Heatmap.UnitClicked) -> None:
        self.selected_layer = int(message.heatmap.activation.split(".")[0][1:])
        self.selected_unit = message.unit
        self.refresh_view()

    # ---- drawing ---------------------------------------------------------------------------

    def update_status(self) -> None:
        parts = [self.label or "rnn-inspect"]
        if self.model is not None:
            shape = f"{self.model.cell} {self.model.n_layers}×{self.model.hidden}"
            parts.append(shape + (f" · {self.task_name}" if self.task_name else ""))
            steps = len(self.cache)
            t = steps - 1 if self.view_t is None else self.view_t
            parts.append(f"t={t} of {steps} steps" if steps else "no steps yet: type")
            if self.view_t is not None:
                parts.append("viewing the past (End: newest)")
            parts.append(f"l{self.selected_layer} unit {self.selected_unit}")
            parts.extend(self.timeline_notes())
        if self.nonfinite:
            parts.append(f"NaN/Inf in {', '.join(self.nonfinite)}")
        if self.busy:
            parts.append("feeding…" if self.fed is None
                         else f"feeding… {self.fed[0]:,} of {self.fed[1]:,}")
        if self.status_note:
            parts.append(self.status_note)
        if self.word:
            parts.append(f"typing {self.word!r}: space feeds it")
        if (self.pending or self.backs_queued) and not self.ready:
            parts.append(f"{len(self.pending) + self.backs_queued} keys queued")
        self.status.set_lines([[Segment(" │ ".join(parts))]])

    def refresh_view(self) -> None:
        """Redraw everything for the step on view, in one batch."""
        with self.app.batch_update():
            if not self.ready or self.view is None:
                self.update_status()
                self._show_pending()
                return
            record = self.view.show(self.session, self.cache, self.pending, self.view_t,
                                    self.selected_layer, self.selected_unit)
            self.nonfinite = record.nonfinite if record is not None else ()
            self.update_status()
        self.schedule_lookahead()

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
        if self.ready:
            self.session.prepare()

    def _show_pending(self) -> None:
        """While loading or feeding, only the tape changes: queued keys appear at its end."""
        for tape in self.query(Tape):
            cells, first_t, _ = tape_window(self.cache.steps, self.pending, tape.capacity, None,
                                            self.task_name)
            tape.show(cells, first_t, None)
