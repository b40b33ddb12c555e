"""The widget's own Rich style (colours from CSS), computed once instead of once per line.

`Widget.rich_style` walks the widget's ancestors each time it is read; read for every line of
every panel it cost ~9 ms a frame. It changes only when CSS does (theme, classes), which Textual
signals through `notify_style_update`.
"""

from __future__ import annotations

from rich.style import Style
from textual.geometry import Region
from textual.strip import Strip
from textual.widget import Widget


class CachedStyle(Widget):
    """Mixin base for Line API widgets that draw on their own background."""

    _base_style: Style | None = None

    @property
    def base_style(self) -> Style:
        if self._base_style is None:
            self._base_style = self.rich_style
        return self._base_style

    def notify_style_update(self) -> None:
        self._base_style = None
        super().notify_style_update()


class DirectLines(CachedStyle):
    """Mixin base for Line API widgets whose `render_line` already draws each line whole, on
    the widget's own style and at its full width: their strips go to the screen as they are,
    without Textual's per-line styling pass (borders, padding, tint), which costs ~30 us a
    line, a millisecond a key over a screen of maps and panels. A widget CSS gives a border,
    padding, tint or opacity takes the general path."""

    def render_lines(self, crop: Region) -> list[Strip]:
        styles = self.styles
        if styles.gutter or styles.tint.a or styles.text_opacity != 1.0 or self.opacity != 1.0:
            return super().render_lines(crop)
        strips = [self.render_line(y) for y in crop.line_range]
        filters = self.get_line_filters()
        if filters:
            background = self.background_colors[1]
            for line_filter in filters:
                strips = [strip.apply_filter(line_filter, background) for strip in strips]
        x1, x2 = crop.column_span
        if (x1, x2) != (0, self.size.width):
            strips = [strip.crop(x1, x2) for strip in strips]
        return strips
