"""The seq2seq screen: type the source and watch the encoder's states step by step; Enter hands
the encoder's final state over and the decoder runs to `</s>` (or F6 steps it one token at a
time); F5 edits the handoff and the decode re-runs at once.

Every printable key is a source character; Enter, Backspace and the function keys are commands.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.app import ComposeResult
from textual.containers import Container, Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Static

from inspector.tui.bindings import FOOTER_FIRST, SEQ2SEQ_BINDINGS
from inspector.tui.edits import HANDOFF_HELP, parse_handoff_edit
from inspector.tui.screens.edit_prompt import EditPrompt
from inspector.tui.screens.main import MIN_HEIGHT, MIN_WIDTH, TOO_SMALL
from inspector.tui.seq2seq_view import (
    decoder_cells,
    encoder_line,
    expected_output,
    output_text,
)
from inspector.tui.view import map_specs, summarise
from inspector.tui.widgets.footer import KeyFooter
from inspector.tui.widgets.handoff import HandoffPanel
from inspector.tui.widgets.heatmap import Heatmap
from inspector.tui.widgets.lines import LinesWidget
from inspector.tui.widgets.model_view import Panel
from inspector.tui.widgets.step_log import StepLog
from inspector.tui.widgets.tape import Tape
from inspector.tui.widgets.top_k import TopK
from models.errors import printable

if TYPE_CHECKING:
    from inspector.engine import Seq2SeqSession, StepRecord
    from inspector.tui.workers import Seq2SeqLoaded

OUTPUT = Style(bold=True)  # the task's answer unknown: no colour claims it is right
RIGHT = Style(bold=True, color="green")
WRONG = Style(bold=True, color="red")
SOURCE = Style(bold=True)
DIM = Style(dim=True)


def output_segments(output: str, expected: list[str] | None,
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
        self.label = loaded.label
        self.model = loaded.model
        self.session: Seq2SeqSession = loaded.session
        self.loaded = loaded  # what F10 saves the session with
        self.task_name = loaded.task
        # a saved session brings its decode and the step on view
        self.decoded: tuple[StepRecord, ...] | None = getattr(self.session, "decoded", None)
        self.stepping = bool(getattr(self.session, "stepping", False))  # one step per F6
        view, newest = loaded.view, len(self.decoded or ()) - 1
        self.view_t: int | None = (view.t if view is not None and view.t is not None
                                   and 0 <= view.t < newest else None)  # None: the newest
        encoder = self.model.encoder
        self.specs = [spec for spec in map_specs(encoder) if spec.title in ("h", "c")]
        self.status = LinesWidget(id="status")
        self.source = LinesWidget(id="source")
        self.encoder_maps = [Heatmap(spec.activation, spec.activation, encoder.hidden)
                             for spec in self.specs]
        self.encoder_log = StepLog(id="encoder-log")
        self.handoff = HandoffPanel(self.specs, encoder.hidden, id="handoff")
        self.output = LinesWidget(id="output")
        self.decoder_tape = Tape(id="decoder-tape")
        self.decoder_log = StepLog(id="decoder-log")
        self.decoder_top = TopK(id="decoder-top")

    def compose(self) -> ComposeResult:
        yield self.status
        with Horizontal(id="s2s-top"):
            with Vertical(id="encoder"):
                yield Static("encoder: type the source, Enter hands over", classes="section")
                yield self.source
                with Panel(id="encoder-maps"), Container(classes="handoff-maps"):
                    yield from self.encoder_maps
                yield self.encoder_log
            with Vertical(id="handoff-side"):
                yield Static(handoff_title(self.model), classes="section", id="handoff-title")
                yield self.handoff
        with Horizontal(id="decoder"):
            with Vertical(id="decoder-steps"):
                yield self.output
                yield self.decoder_tape
                yield self.decoder_log
            yield self.decoder_top
        yield Static(TOO_SMALL, id="too-small")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.call_after_refresh(self.refresh_view)

    def on_resize(self, event: events.Resize) -> None:
        width, height = event.size
        self.set_class(width < MIN_WIDTH or height < MIN_HEIGHT, "-too-small")
        self.call_after_refresh(self.refresh_view)

    # ---- keys ------------------------------------------------------------------------------

    def on_key(self, event: events.Key) -> None:
        if not (event.is_printable and event.character):
            return
        event.stop()
        event.prevent_default()
        self.feed(event.character)

    def on_paste(self, event: events.Paste) -> None:
        event.stop()
        self.feed("".join(ch for ch in event.text if ch.isprintable()))

    def feed(self, text: str) -> None:
        """Source characters: the encoder steps, and an earlier decode no longer applies."""
        try:
            self.session.feed_source(text)
        except ValueError as exc:  # a character the source vocabulary cannot encode
            self.notify(str(exc), severity="warning")
            return
        self.decoded, self.stepping = None, False
        self.refresh_view()

    def action_step_back(self) -> None:
        if self.session.source:
            self.session.back(1)
            self.decoded, self.stepping = None, False
            self.refresh_view()

    def action_reset(self) -> None:
        self.session.reset()
        self.decoded, self.stepping = None, False
        self.refresh_view()

    def action_hand_over(self) -> None:
        """The whole decode from the (edited) handoff, greedy until `</s>`."""
        self.decoded, self.stepping = self.session.decode().records, False
        self.view_t = None
        self.refresh_view()

    def action_decode_step(self) -> None:
        """One more decoder step (the first press hands over)."""
        if not self.stepping:
            self.session.restart_decode()
            self.stepping = True
        record = self.session.decode_step()
        if record is None and self.decoded:
            self.notify("the decoder has finished: </s> (Enter decodes again)")
        self.decoded = self.session.stepped
        self.view_t = None
        self.refresh_view()

    def action_view_step(self, delta: int) -> None:
        """Move through the decoder's steps: tape, log and top-k follow (an edit keeps the step
        on view, so the same step can be compared before and after)."""
        if self.decoded:
            newest = len(self.decoded) - 1
            current = newest if self.view_t is None else self.view_t
            target = max(0, min(newest, current + delta))
            self.view_t = None if target == newest else target
            self.refresh_view()

    def action_edit_handoff(self) -> None:
        def chosen(line: str | None) -> None:
            if line:
                self.edit(line)

        self.app.push_screen(EditPrompt("Edit the handoff (the decode re-runs)", HANDOFF_HELP,
                                        parse_handoff_edit), chosen)

    def action_clear_edits(self) -> None:
        self.edit("clear")

    def edit(self, line: str) -> None:
        """Apply one edit line and re-run the decode shown (to the same step when stepping)."""
        edit = parse_handoff_edit(line)
        try:
            if edit is None:
                self.session.clear_edits()
            else:
                self.session.edit_handoff(edit)
        except ValueError as exc:
            self.notify(str(exc), title="Cannot edit the handoff", severity="error")
            return
        if self.stepping:
            steps = len(self.decoded or ())  # the edit restarted the stepping
            for _ in range(steps):
                self.session.decode_step()
            self.decoded = self.session.stepped
        elif self.decoded is not None:
            self.decoded = self.session.decode().records
        self.refresh_view()

    # ---- drawing ---------------------------------------------------------------------------

    def refresh_view(self) -> None:
        with self.app.batch_update():
            self._show_encoder()
            self.handoff.show(self.session.handoff())
            self._show_decoder()
            self._show_status()

    def _show_encoder(self) -> None:
        source = self.session.source
        self.source.set_lines([[Segment("source ", DIM), Segment(source, SOURCE),
                                Segment("▏", DIM)]])
        capacity = self.encoder_log.capacity
        records = self.session.encoder.records(len(source) - capacity, len(source))
        last = records[-1] if records else None
        for heatmap, spec in zip(self.encoder_maps, self.specs, strict=True):
            values = None if last is None else last.activation(spec.activation)
            heatmap.show(values, spec.scale_for(values if values is not None else np.zeros(1)))
        self.encoder_log.show([encoder_line(r) for r in records] or ["no source yet: type it"])

    def _show_decoder(self) -> None:
        records = self.decoded
        if records is None:
            self.output.set_lines([[Segment("Enter hands over and decodes · F6 decodes one step",
                                            DIM)]])
            self.decoder_tape.show([], 0, None)
            self.decoder_log.show([])
            self.decoder_top.display = False
            return
        finished = bool(records) and records[-1].prediction == "</s>"
        state = "" if finished else " …" if self.stepping else " (no </s>: length cap)"
        expected = expected_output(self.task_name, self.session.source)
        self.output.set_lines([[Segment("output ", DIM), *output_segments(output_text(records),
                                                                          expected, finished),
                                Segment(f"{state}  {len(records)} steps", DIM)]])
        newest = len(records) - 1
        t = newest if self.view_t is None else min(self.view_t, newest)
        cells = decoder_cells(records, expected)
        capacity = self.decoder_tape.capacity
        start = max(0, min(len(cells) - capacity, t - capacity // 2))
        self.decoder_tape.show(cells[start:start + capacity], start, t - start if records else None)
        self.decoder_log.show([summarise(record).line for record in records[:t + 1]])
        self.decoder_top.display = bool(records)
        if records:
            self.decoder_top.show(records[t].top, records[t].entropy)

    def _show_status(self) -> None:
        model = self.model
        parts = [self.label,
                 f"seq2seq {model.encoder.cell} {model.encoder.n_layers}×{model.encoder.hidden}"
                 + (f" · {self.task_name}" if self.task_name else ""),
                 f"source {len(self.session.source)} chars"]
        if self.session.edits:
            count = len(self.session.edits)
            parts.append(f"{count} handoff edit{'' if count == 1 else 's'}")
        self.status.set_lines([[Segment(" │ ".join(parts))]])
