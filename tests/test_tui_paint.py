"""The key's frame painted in its own callback (`paint.now`) and only the changed widgets rendered
(`paint.DirtyCompositor`): what reaches the terminal must be byte for byte what Textual's own
path writes."""

from __future__ import annotations

from textual._compositor import Compositor
from textual.screen import Screen
from textual.widget import Widget
from tui_support import make_checkpoint, settle, tape_lines

from inspector.tui import paint
from inspector.tui.app import InspectorApp
from inspector.tui.widgets.heatmap import Heatmap


def test_the_textual_internals_paint_relies_on_are_there():
    """`paint` reads Textual 8's private attributes; a Textual without them must fail here,
    not draw wrong frames."""
    widget = Widget()
    for name in ("_repaint_required", "_layout_required", "_scroll_required",
                 "_refresh_styles_required"):
        assert hasattr(widget, name), name
    for name in ("_on_timer_update", "_dirty_widgets", "_compositor", "_layout_required",
                 "_scroll_required", "_recompose_required", "_repaint_required"):
        assert hasattr(Screen, name) or name in Screen().__dict__, name
    assert callable(Compositor._regions_to_spans)
    assert isinstance(Compositor.visible_widgets, property)


async def test_a_partial_update_writes_what_textual_writes(tmp_path, monkeypatch):
    """Every partial update while typing, moving, opening the dock and stepping back is
    rendered both ways on the same dirty regions; the terminal output must be identical, the
    compositor's cached cuts must stay those of every widget (later frames use them), and the
    filtered render must have left widgets out (else it proves nothing)."""
    compared: list[tuple[int, int]] = []
    honest = paint.DirtyCompositor.render_partial_update

    def both(self):
        regions = set(self._dirty_regions)
        every = len(self.visible_widgets)
        self._painting = list(regions)
        rendered = len(self.visible_widgets)
        self._painting = None
        ours = honest(self)  # first: the cuts may be worked out in it
        kept, self._cuts = self._cuts, None
        assert kept == self.cuts  # the cuts kept are of every widget, not the filtered few
        self._dirty_regions.update(regions)
        stock = Compositor.render_partial_update(self)  # every widget in the bounding box
        console = app.console
        if stock is None:
            assert ours is None
        else:
            assert isinstance(ours, paint.Chops)  # our writer (cached cursor moves) ...
            assert ours.render_segments(console) == stock.render_segments(console)  # ... Textual's
            compared.append((every, rendered))
        return ours

    monkeypatch.setattr(paint.DirtyCompositor, "render_partial_update", both)
    checkpoint = make_checkpoint(tmp_path / "m.safetensors", layers=2, hidden=256)
    app = InspectorApp(str(checkpoint))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        for key in ("h", "e", "l", "l", "o", "down", "right", "ctrl+d", "w", "backspace",
                    "left", "ctrl+u", "x"):
            await pilot.press(key)
            await settle(pilot)
        assert tape_lines(app)[0].startswith("x h e l l o")
        compositor = app.main._compositor
        covered = compositor._covered_by_children(compositor.visible_widgets)
        assert app.main in covered and app.main.view in covered  # left out: children cover them
        assert not any(isinstance(widget, Heatmap) for widget in covered)
    assert len(compared) >= 10
    assert any(rendered < every for every, rendered in compared)


async def test_typing_paints_in_the_keys_own_callback(tmp_path, monkeypatch):
    """A typed key's frame is composed before its callback returns (no trip through the idle
    events); with a layout pending, Textual's own path paints it."""
    painted: list[bool] = []
    honest = paint.now

    def recording(screen):
        painted.append(honest(screen))
        return painted[-1]

    monkeypatch.setattr(paint, "now", recording)
    app = InspectorApp(str(make_checkpoint(tmp_path / "m.safetensors")))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("a")  # the first step lays the log out
        await settle(pilot)
        painted.clear()
        for key in "bcd":
            await pilot.press(key)
            await settle(pilot)
        assert painted and all(painted)
        assert not app.main._dirty_widgets
        app.main.view.refresh(layout=True)  # a layout pending: left to Textual
        assert paint.now(app.main) is False
        await pilot.pause()
