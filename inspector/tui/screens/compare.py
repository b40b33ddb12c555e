"""Compare mode: a second model beside the first, fed the same keys, each with its own tape,
maps and predictions, and an agreement line under both.

The screen is the main screen driving a `CompareController`: the partner follows the first
model's typed text after every change (a few keys here, a paste's worth in a worker), so keys,
Backspace, reset, pastes, branch switches and model switches reach both.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from textual import work
from textual.containers import Container

from inspector.tui import jobs
from inspector.tui.colours import SCALE_MODES
from inspector.tui.controller import CharController, CompareController
from inspector.tui.frames import Frame
from inspector.tui.messages import PartnerLoaded
from inspector.tui.screens.main import MainScreen, log
from inspector.tui.widgets.agreement import Agreement
from inspector.tui.widgets.model_view import ModelView
from inspector.tui.widgets.tape import Tape
from models.errors import first_line

if TYPE_CHECKING:
    from inspector.loading import ModelSource
    from models.checkpoint import Checkpoint


class CompareScreen(MainScreen):
    """The main screen for the first model, plus the partner model fed the same keys."""

    COMPACT = False  # its side panels are top-k columns already (F4 opens them)

    def __init__(self, partner: ModelSource | str, *, opened: Checkpoint | None = None) -> None:
        super().__init__()
        self.compare = CompareController()
        self.controller = self.compare.primary
        self.controller.measure = self.measure  # both views' sizes
        self.partner_source = partner
        self.partner_opened = opened  # already opened by the caller: not opened again
        self.partner_view: ModelView | None = None
        self.agreement = Agreement(id="agreement")
        self._mounting_partner = asyncio.Lock()

    def on_mount(self) -> None:
        super().on_mount()
        self.add_class("-hide-side")  # two models share the width: F4 brings the panels back
        self.mount(self.agreement, after="#content")
        self.load_partner(self.partner_source, self.partner_opened)
        self.partner_opened = None

    @work(thread=True, exclusive=True, group="partner")
    def load_partner(self, source: ModelSource | str, opened: Checkpoint | None = None) -> None:
        label = jobs.source_label(source)
        try:
            loaded = jobs.load(source, "", opened)
        except Exception as exc:  # reported; the first model stays on screen alone
            log.exception("loading the partner %s failed", label)
            self.post_message(PartnerLoaded(None, f"cannot compare with {label}: "
                                                  f"{first_line(exc)}"))
            return
        if not isinstance(loaded, jobs.Loaded):
            self.post_message(PartnerLoaded(None, f"cannot compare with {label}: seq2seq models "
                                                  "have their own screen"))
            return
        self.post_message(PartnerLoaded(loaded))

    async def on_partner_loaded(self, message: PartnerLoaded) -> None:
        message.stop()
        if message.loaded is None:
            self.compare.partner.note = ""
            self.notify(message.error, title="Compare", severity="error", timeout=8)
            self.redraw()
            return
        self.compare.partner.attach(message.loaded)
        await self.mount_partner()

    async def attach(self, loaded) -> None:
        await super().attach(loaded)  # empties the content, partner view included
        self.view.border_title = loaded.label
        await self.mount_partner()

    async def mount_partner(self) -> None:
        """Put the partner beside the first model (once both are loaded). The two arrive in
        different tasks (the first model through the app), so this is serialised, and a partner
        view already beside the first model is kept."""
        async with self._mounting_partner:
            partner = self.compare.partner
            if partner.layout is None or self.view is None:
                return
            content = self.query_one("#content", Container)
            if any(child.id == "partner" for child in content.children):
                return
            self.partner_view = ModelView(partner.layout, id="partner")
            self.partner_view.border_title = partner.label
            await content.mount(self.partner_view)
            self.call_after_refresh(self.redraw)

    def cancel_feeds(self) -> bool:
        """Escape stops both: the first model's paste and the partner catching up."""
        return self.controller.cancel_feed() | self.compare.partner.cancel_feed()

    def action_toggle_scale(self) -> None:
        """ctrl+t: both views change scale together, so their colours stay comparable."""
        scale_mode = self.controller.scale_mode
        self.compare.partner.scale_mode = SCALE_MODES[1 - SCALE_MODES.index(scale_mode)]
        self.show(self.controller.toggle_scale())  # the frame of both, in the new scale

    def controller_for(self, partner: bool) -> CharController:
        return self.compare.partner if partner else self.controller

    def check_stalls(self, now: float) -> bool:
        return super().check_stalls(now) | self.compare.partner.check_stall(now)

    def tapes(self) -> list[Tape]:
        partner = self.partner_view
        if partner is None or not partner.is_mounted:
            return super().tapes()
        return [*super().tapes(), partner.tape]

    def measure(self) -> None:
        super().measure()
        if self.partner_view is not None and self.partner_view.is_mounted:
            self.compare.partner.viewport = self.partner_view.viewport()

    def redraw(self) -> None:
        self.measure()
        self.show(self.compare.frame())

    def show(self, frame: Frame) -> None:
        """Both views (the first model's verbs return the compare frame: the partner follows
        in it), and the work either handed over."""
        self.start_jobs(self.controller)
        self.start_jobs(self.compare.partner, partner=True)
        self.draw(frame)
        self.show_notices(self.controller)
        self.show_notices(self.compare.partner)
        self.schedule_lookahead()

    def draw(self, frame: Frame) -> None:
        with self.app.batch_update():
            super().draw(frame)
            if len(frame.views) == 2 and self.partner_view is not None:
                self.partner_view.draw(frame.views[1])
            if frame.views:
                self.agreement.show(frame.agreement)

    def prepare_next_step(self) -> None:
        super().prepare_next_step()
        self.compare.partner.prepare()
