"""Heatmaps two a row (a layer's h beside its c) grown to fill the room their panel has: the
seq2seq screen's encoder, handoff and decoder maps, which were one- or two-line strips with most
of the panel empty at 120x40 and 200x60."""

from __future__ import annotations

import math
from collections.abc import Callable

from textual.containers import Container

from inspector.tui.widgets.heatmap import ZOOMS, Heatmap, map_lines


def grid_zoom(units: int, maps: int, width: int, height: int) -> tuple[int, int]:
    """The largest unit zoom that draws `maps` maps of `units`, two a row with one cell between,
    each with its title line, in `width` x `height` cells; one cell a unit if none fits."""
    rows = math.ceil(maps / 2)
    map_width = (width + 1) // 2 - 1
    for zoom in ZOOMS:
        if map_width >= zoom[0] and rows * (1 + map_lines(units, map_width, zoom)) <= height:
            return zoom
    return (1, 1)


class MapGrid(Container):
    """The maps in a two-column grid (CSS `.handoff-maps`), zoomed to the height `room` says
    they may take (the panel's, less what else it shows)."""

    def __init__(self, heatmaps: list[Heatmap], units: int, room: Callable[[], int], *,
                 id: str | None = None) -> None:
        super().__init__(*heatmaps, id=id, classes="handoff-maps")
        self.heatmaps = heatmaps
        self.units = units
        self.room = room

    def on_resize(self) -> None:
        self.fit()

    def fit(self) -> None:
        shown = [heatmap for heatmap in self.heatmaps if heatmap.display]
        width = self.content_region.width
        if not shown or width < 2:
            return
        zoom = grid_zoom(self.units, len(shown), width, self.room())
        map_width = (width + 1) // 2 - 1
        for heatmap in self.heatmaps:
            heatmap.set_zoom(zoom, map_width)
