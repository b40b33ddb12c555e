"""Issue 12 on the app: every unit identifiable (marker, click either half, hover), F1's words."""

from rich.console import Console
from textual.widgets import Static
from tui_support import settle, status

from inspector.tui.app import InspectorApp
from inspector.tui.screens.help import HelpScreen
from inspector.tui.widgets.heatmap import Heatmap


def l0_h(app) -> Heatmap:
    return next(h for h in app.main.query(Heatmap) if h.activation == "l0.h")


async def test_a_click_selects_a_unit_in_the_lower_half_of_a_cell_and_hover_names_it():
    app = InspectorApp("doubled-lstm")
    async with app.run_test(size=(80, 24)) as pilot:  # no room to grow: two units a cell
        await settle(pilot)
        await pilot.press("a", "a")
        await settle(pilot)
        heatmap = l0_h(app)
        assert heatmap.zoom == (1, 1)
        width = heatmap.size.width
        await pilot.click(heatmap, offset=(3, 1))
        assert "l0 unit 3" in status(app)
        await pilot.click(heatmap, offset=(3, 1))  # the same cell again: its lower unit
        assert f"l0 unit {width + 3}" in status(app)
        assert heatmap.selected == width + 3
        assert "▼" in heatmap.render_line(1).text  # the marker points at the lower half
        value = app.main.session.last.layers[0].h[width + 3]
        await pilot.hover(heatmap, offset=(3, 1))
        assert heatmap.tooltip == f"l0.h[3] = {app.main.session.last.layers[0].h[3]:+.2f} (t=1)"
        assert heatmap.hover_text(width + 3) == f"l0.h[{width + 3}] = {value:+.2f} (t=1)"
        await pilot.press("down")  # the map has focus: one grid row down
        assert heatmap.selected == 2 * width + 3 and f"l0 unit {2 * width + 3}" in status(app)
        await pilot.press("escape", "left")  # the timeline has the arrows again
        await settle(pilot)
        assert "t=0 of 2 steps" in status(app)


async def test_help_explains_the_ideas_the_symbols_and_the_mouse():
    app = InspectorApp("doubled-lstm")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        console = Console(width=100, record=True)
        for part in ("#help-concepts", "#help-symbols", "#help-mouse"):
            console.print(app.screen.query_one(part, Static).content)
        text = console.export_text()
        for words in ("hidden state h", "cell state c", "forget gate", "update gate", "Δh",
                      "input part and memory part", "handoff", "◆", "✗", "¿", "⟨ ⟩",
                      "NaN", "Click a square"):
            assert words in text
