"""Space used well at every size: the step log grows with the terminal, and at 80x24 every
layer of the demo is on screen without scrolling (smaller maps, the side panel collapsed to the
top-k column; F4 opens it)."""

from __future__ import annotations

from tui_support import log_lines, settle

from inspector.tui.app import InspectorApp
from inspector.tui.widgets.heatmap import Heatmap
from inspector.tui.widgets.top_k import TopK
from inspector.tui.widgets.unit_detail import UnitDetail

TEXT = "aabbccddeeffgghhiijjkk"


async def log_rows(size: tuple[int, int]) -> int:
    app = InspectorApp("doubled-lstm")
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        await pilot.press(*TEXT)
        await settle(pilot)
        lines = log_lines(app)
        assert lines[-1].startswith(f"t={len(TEXT) - 1}  x='k'")  # newest last, as always
        return len(lines)


async def test_the_step_log_grows_with_the_terminal():
    small, medium, large = [await log_rows(size) for size in ((80, 24), (120, 40), (200, 60))]
    assert small >= 3 and medium >= 7
    assert large >= 11 and large > medium > small


def inside(inner, outer) -> bool:
    return (inner.x >= outer.x and inner.y >= outer.y and inner.right <= outer.right
            and inner.bottom <= outer.bottom)


async def test_80x24_shows_every_layer_of_the_demo_without_scrolling():
    app = InspectorApp("doubled-lstm")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press(*"aabb")
        await settle(pilot)
        screen = app.main
        maps = screen.query_one("#maps")
        heatmaps = list(screen.query(Heatmap))
        assert len(heatmaps) == 14  # 2 layers x (h, c, i, f, g, o, Δh)
        assert maps.max_scroll_y == 0
        assert all(inside(h.region, maps.region) for h in heatmaps)
        assert all(h.stale is False and h.values is not None for h in heatmaps)
        top = screen.query_one(TopK)  # the collapsed side panel keeps the predictions
        assert top.region.width >= 12 and top.line_text(0).startswith("d ")  # aabb → abcd
        assert not screen.query_one(UnitDetail).region.width
        await pilot.press("f4")  # open the side panel: the unit detail, the maps scroll
        await settle(pilot)
        detail = screen.query_one(UnitDetail)
        assert detail.region.width >= 25 and detail.line_text(0).startswith("l0 unit 0")
        await pilot.press("f4")
        await settle(pilot)
        assert not screen.query_one(UnitDetail).region.width
        assert maps.max_scroll_y == 0


async def test_at_120x40_the_side_panel_is_whole_and_f4_hides_it():
    app = InspectorApp("doubled-lstm")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("a")
        await settle(pilot)
        assert app.main.query_one(UnitDetail).region.width >= 30
        await pilot.press("f4")
        await settle(pilot)
        assert not app.main.query_one("#side").region.width


async def test_tab_scrolls_the_maps_to_the_selected_layers_title(tmp_path):
    """Maps taller than their panel: Tab puts the next layer's title at the top of the maps,
    shift+Tab brings the first layer back."""
    from tui_support import make_checkpoint

    checkpoint = make_checkpoint(tmp_path / "m.safetensors", layers=2, hidden=512)
    app = InspectorApp(str(checkpoint))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("a")
        await settle(pilot)
        view = app.main.view
        maps = view.maps
        assert maps.max_scroll_y > 0 and maps.scroll_y == 0
        await pilot.press("tab")
        await settle(pilot)
        assert app.main.controller.layer == 1
        assert maps.scroll_y > 0
        assert view.layer_titles[1].region.y == maps.content_region.y
        await pilot.press("shift+tab")
        await settle(pilot)
        assert app.main.controller.layer == 0 and maps.scroll_y == 0
