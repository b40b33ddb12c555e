"""The widget's own Rich style (colours from CSS), computed once instead of once per line.

`Widget.rich_style` walks the widget's ancestors each time it is read; read for every line of
every panel it cost ~9 ms a frame. It changes only when CSS does (theme, classes), which Textual
signals through `notify_style_update`.
"""

from __future__ import annotations

from rich.segment import Segment
from rich.style import Style
from textual.geometry import Region
from textual.strip import Strip
from textual.style import Style as TextualStyle
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
    the widget's own style and at its content width: their strips go to the screen as they are
    (with the left and right padding CSS gives them), without Textual's per-line styling pass,
    which costs ~30 us a line, a millisecond a key over a screen of maps and panels. A widget
    CSS gives a border, vertical padding, tint, hatch or opacity takes the general path."""

    _pad_style: Style | None = None
    _padded: dict[int, tuple[Strip, Strip]] | None = None  # y -> (content strip, padded strip)

    def notify_style_update(self) -> None:
        self._pad_style = None
        self._padded = None
        super().notify_style_update()

    def render_lines(self, crop: Region) -> list[Strip]:
        styles = self.styles
        padding = styles.padding
        if (styles.gutter != padding or padding.top or padding.bottom or styles.tint.a
                or styles.text_opacity != 1.0 or self.opacity != 1.0
                or (styles.has_rule("hatch") and styles.hatch != "none")):
            return super().render_lines(crop)
        lines = crop.line_range
        if padding.left or padding.right:
            strips = [self._pad(y, padding.left, padding.right) for y in lines]
        else:
            strips = [self.render_line(y) for y in lines]
        filters = self.get_line_filters()
        if filters:
            background = self.background_colors[1]
            for line_filter in filters:
                strips = [strip.apply_filter(line_filter, background) for strip in strips]
        x1, x2 = crop.column_span
        if (x1, x2) != (0, self.size.width + padding.left + padding.right):
            strips = [strip.crop(x1, x2) for strip in strips]
        return strips

    def _pad(self, y: int, left: int, right: int) -> Strip:
        """Line y with its padding, drawn as Textual draws padding (blank cells on the
        background alone), kept until the content strip changes."""
        content = self.render_line(y)
        padded = self._padded if self._padded is not None else {}
        self._padded = padded
        known = padded.get(y)
        if known is not None and known[0] is content:
            return known[1]
        if self._pad_style is None:
            base_background, background = self.background_colors
            self._pad_style = TextualStyle(background=base_background + background).rich_style
        style = self._pad_style
        segments = [Segment(" " * left, style)] if left else []
        segments += content
        if right:
            segments.append(Segment(" " * right, style))
        strip = Strip(segments, content.cell_length + left + right)
        padded[y] = (content, strip)
        return strip
