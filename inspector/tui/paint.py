"""Put a key's frame on the terminal in the same callback that drew it.

Textual paints a refreshed widget after two trips through the event loop: the widget's own idle
event posts an `Update` to its screen, the screen's idle event resumes its update timer, and
the timer composes and writes the frame. With a dozen widgets refreshed per key that is about
a millisecond of hops before the first byte (issue 16's key->frame budget is ~10 ms). `now()`
does what those hops would have done, for repaints only: it hands the screen the widgets that
asked to be repainted and runs the screen's update at once. Anything else pending (a layout, a
style or scroll update, a recompose, a batch) is left to Textual's own path, unchanged.

It reads private attributes of Textual 8 (pinned `<9`); `tests/test_tui_paint.py` fails if they
are gone, and without them `now()` falls back to Textual's path.
"""

from __future__ import annotations

from rich.console import Console
from rich.control import Control
from textual._compositor import ChopsUpdate, Compositor
from textual.geometry import Region
from textual.screen import Screen
from textual.widget import Widget


def now(screen: Screen) -> bool:
    """Compose and write the screen's repainted widgets now; False (nothing done: Textual will
    paint as usual) when anything but repaints is pending or the screen is not on view."""
    app = screen.app
    if app._batch_count or not screen.is_current or not app._running:
        return False
    if screen._layout_required or screen._scroll_required or screen._recompose_required:
        return False
    compositor = screen._compositor
    dirty = []
    for widget in compositor.widgets:
        if widget._layout_required or widget._scroll_required or widget._refresh_styles_required:
            return False
        if widget._repaint_required and widget.display:
            dirty.append(widget)
    if not dirty and not screen._dirty_widgets and not screen._repaint_required:
        return False
    for widget in dirty:
        widget._repaint_required = False  # what its idle event would do: post an Update ...
    screen._dirty_widgets.update(dirty)  # ... which the screen turns into this
    screen._on_timer_update()
    return True


class DirtyCompositor(Compositor):
    """Textual's compositor, but a partial update renders only the widgets that overlap what
    changed. Textual renders every widget inside the bounding box of the changed regions; a
    key's frame changes the status line at the top and the step log at the bottom, so that box
    is the whole screen and the unchanged scroll bars, footer, titles and legend (~0.6 ms a
    key) were rendered only to be thrown away: no cell of theirs is in a changed span, and
    `ChopsUpdate` writes changed spans only. Containers their children cover entirely (the
    screen, the model view, its rows) are left out too: every cell of theirs is drawn by a
    child in front. The output is byte for byte Textual's (`tests/test_tui_paint.py` compares
    both)."""

    _painting: list[Region] | None = None
    _covered: tuple[object, frozenset[Widget]] | None = None  # (for which layout, widgets)

    def render_partial_update(self) -> ChopsUpdate | None:
        self.cuts  # noqa: B018 -- worked out (and kept) from every widget, before the filter
        self._painting = list(self._dirty_regions)
        try:
            update = super().render_partial_update()
        finally:
            self._painting = None
        return None if update is None else Chops(update.chops, update.spans, update.chop_ends)

    @property
    def visible_widgets(self) -> dict[Widget, tuple[Region, Region]]:
        widgets = super().visible_widgets
        if not self._painting or self._cuts is None:  # the cuts are never of a filtered set
            return widgets
        spans: dict[int, list[tuple[int, int]]] = {}
        for y, x1, x2 in self._regions_to_spans(self._painting):
            spans.setdefault(y, []).append((x1, x2))
        covered = self._covered_by_children(widgets)
        return {widget: (region, clip) for widget, (region, clip) in widgets.items()
                if widget not in covered and _touches(region.intersection(clip), spans)}

    def _covered_by_children(self, widgets: dict[Widget, tuple[Region, Region]]
                             ) -> frozenset[Widget]:
        """The widgets whose every visible cell a visible child covers, worked out once per
        layout (the visible map is a new dict after every reflow)."""
        if self._covered is not None and self._covered[0] is widgets:
            return self._covered[1]
        shown: dict[Widget, list[Region]] = {}
        for widget, (region, clip) in widgets.items():
            parent = widget.parent
            if parent in widgets:
                shown.setdefault(parent, []).append(region.intersection(clip))
        covered = frozenset(widget for widget, parts in shown.items()
                            if _covers(parts, widgets[widget][0].intersection(widgets[widget][1])))
        self._covered = (widgets, covered)
        return covered


class Chops(ChopsUpdate):
    """Textual's `ChopsUpdate`, written with the cursor moves kept as text: a frame of the
    maps moves the cursor ~270 times (once a widget a line), and each `Control.move_to` built
    a Control and its Segment anew. The text written is Textual's, byte for byte."""

    def render_segments(self, console: Console) -> str:
        sequences: list[str] = []
        append = sequences.append
        moves = _MOVES
        chops, chop_ends = self.chops, self.chop_ends
        last_y = self.spans[-1][0]
        for y, x1, x2 in self.spans:
            for end, (x, strip) in zip(chop_ends[y], chops[y].items(), strict=False):
                if strip is None or x > x2 or end <= x1:
                    continue
                move = moves.get((x, y))
                if move is None:
                    move = moves[x, y] = Control.move_to(x, y).segment.text
                append(move)
                if not (x2 > x >= x1 and end <= x2):
                    strip = strip.crop(0, min(end, x2) - x)
                append(strip.render(console))
            if y != last_y:
                append("\n")
        return "".join(sequences)


_MOVES: dict[tuple[int, int], str] = {}  # (x, y) -> the sequence that moves the cursor there


def _touches(visible: Region, spans: dict[int, list[tuple[int, int]]]) -> bool:
    """Whether any changed span crosses this region."""
    x1, x2 = visible.x, visible.right
    for y in visible.line_range:
        for start, end in spans.get(y, ()):
            if start < x2 and end > x1:
                return True
    return False


def _covers(parts: list[Region], visible: Region) -> bool:
    """Whether the regions `parts` together cover every cell of `visible`."""
    for y in visible.line_range:
        reach = visible.x
        for x, width in sorted((part.x, part.width) for part in parts
                               if part.y <= y < part.bottom and part.width):
            if x > reach:
                return False
            reach = max(reach, x + width)
        if reach < visible.right:
            return False
    return True
