"""Compare mode: a second model beside the first, fed the same keys, each with its own tape,
maps and predictions, and an agreement line under both.

The second model follows the first one's typed text each time the screen redraws (feeding, or
stepping back to the common prefix), so keys, Backspace, reset, pastes, branch switches and model
switches reach both without a second copy of the main screen's key handling.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from textual import work
from textual.containers import Container
from textual.message import Message

from inspector.tui import workers
from inspector.tui.screens.main import MainScreen
from inspector.tui.view import StepCache
from inspector.tui.widgets.agreement import Agreement
from inspector.tui.widgets.model_view import ModelView
from models.errors import first_line

if TYPE_CHECKING:
    from inspector.engine import StepRecord
    from inspector.loading import ModelSource
    from inspector.tui.workers import Loaded
    from models.checkpoint import Checkpoint


class PartnerLoaded(Message):
    def __init__(self, loaded: Loaded | None, error: str | None = None) -> None:
        super().__init__()
        self.loaded = loaded
        self.error = error


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


class CompareScreen(MainScreen):
    """The main screen for the first model, plus the `partner` model fed the same keys."""

    def __init__(self, partner: ModelSource | str, *, opened: Checkpoint | None = None) -> None:
        super().__init__()
        self.partner_source = partner
        self.partner_opened = opened  # already opened by the caller: not opened again
        self.partner: Loaded | None = None
        self.partner_view: ModelView | None = None
        self.partner_cache = StepCache()
        self.agreement = Agreement(id="agreement")
        self.followed: tuple[object, int, StepRecord | None] | None = None
        self._mounting_partner = asyncio.Lock()

    def on_mount(self) -> None:
        super().on_mount()
        self.add_class("-hide-side")  # two models share the width: F4 brings the panels back
        self.mount(self.agreement, after="#content")
        self.load_partner(self.partner_source, self.partner_opened)
        self.partner_opened = None

    @work(thread=True, exclusive=True, group="partner")
    def load_partner(self, source: ModelSource | str, opened: Checkpoint | None = None) -> None:
        label = workers.source_label(source)
        try:
            loaded = workers.load(source, "", opened)
        except Exception as exc:  # reported; the first model stays on screen alone
            reason = first_line(exc)
            self.post_message(PartnerLoaded(None, f"cannot compare with {label}: {reason}"))
            return
        if not isinstance(loaded, workers.Loaded):
            self.post_message(PartnerLoaded(None, f"cannot compare with {label}: seq2seq models "
                                                  "have their own screen"))
            return
        self.post_message(PartnerLoaded(loaded))

    async def on_partner_loaded(self, message: PartnerLoaded) -> None:
        message.stop()
        if message.loaded is None:
            self.notify(message.error, title="Compare", severity="error", timeout=8)
            return
        self.partner = message.loaded
        await self.mount_partner()

    async def attach(self, loaded: Loaded) -> None:
        await super().attach(loaded)  # empties the content, partner view included
        self.view.border_title = loaded.label
        await self.mount_partner()

    async def mount_partner(self) -> None:
        """Put the partner beside the first model (once both are loaded). The two arrive in
        different tasks (the first model through the app), so this is serialised, and a partner
        view already beside the first model is kept."""
        async with self._mounting_partner:
            if self.partner is None or self.view is None:
                return
            content = self.query_one("#content", Container)
            if any(child.id == "partner" for child in content.children):
                return
            self.partner_view = ModelView(self.partner.model, self.partner.task, id="partner")
            self.partner_view.border_title = self.partner.label
            await content.mount(self.partner_view)
            self.followed = None
            self.call_after_refresh(self.refresh_view)

    def follow(self) -> None:
        """Feed or step back the partner until it has read what the first model read."""
        session, partner = self.session, self.partner.session
        last = session.last
        key = (session, session.cursor, last)
        if self.followed is not None and all(a is b for a, b in zip(key, self.followed,
                                                                     strict=True)):
            return
        self.followed = key
        vocab = partner.model.vocab
        target = "".join(ch for ch in session.text if vocab.unk_id is not None or ch in vocab)
        current = partner.text
        keep = common_prefix(current, target)
        if len(current) > keep:
            partner.back(len(current) - keep)
            self.partner_cache.sync(partner)
        if len(target) > keep:
            self.partner_cache.add(workers.feed_in_chunks(partner, target[keep:]))

    def prepare_next_step(self) -> None:
        super().prepare_next_step()
        if self.ready and self.partner is not None:
            self.partner.session.prepare()

    def refresh_view(self) -> None:
        if self.model is not None:  # a click on the partner's maps may name a unit beyond ours
            self.selected_layer = min(self.selected_layer, self.model.n_layers - 1)
            self.selected_unit = min(self.selected_unit, self.model.hidden - 1)
        with self.app.batch_update():
            super().refresh_view()
            if self.partner_view is None or not self.ready:
                return
            self.follow()
            model, steps = self.partner.model, len(self.partner_cache)
            view_t = None if self.view_t is None or self.view_t >= steps - 1 else self.view_t
            self.partner_view.show(self.partner.session, self.partner_cache, self.pending, view_t,
                                   min(self.selected_layer, model.n_layers - 1),
                                   min(self.selected_unit, model.hidden - 1))
            self.agreement.show((self.label, self.partner.label),
                                (self.cache.steps, self.partner_cache.steps),
                                (self.task_name, self.partner.task))
