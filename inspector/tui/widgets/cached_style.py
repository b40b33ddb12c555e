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
    CSS gives a border, vertical padding, tint, hatch or opacity takes the general path.

    What the styles say (padding, the background a filter blends with) is read once per style
    update, like `base_style`: reading `opacity` and `background_colors` walks every ancestor.
    Subclasses draw through `draw_line(y, width)`, so the width is looked up once a frame."""

    _plan: tuple[int, int, Style, object] | None | bool = False  # False: not worked out yet
    _padded: dict[int, tuple[Strip, Strip]] | None = None  # y -> (content strip, padded strip)

    def notify_style_update(self) -> None:
        self._plan = False
        self._padded = None
        super().notify_style_update()

    def draw_line(self, y: int, width: int) -> Strip:
        """Line y at content width `width`: what a subclass draws."""
        raise NotImplementedError

    def render_line(self, y: int) -> Strip:
        return self.draw_line(y, self.size.width)

    def _direct_plan(self) -> tuple[int, int, Style, object] | None:
        """(left padding, right padding, the padding's Rich style, the background filters
        blend with) where the direct path draws this widget as Textual would, else None."""
        if self._plan is False:
            styles = self.styles
            padding = styles.padding
            if (styles.gutter != padding or padding.top or padding.bottom or styles.tint.a
                    or styles.text_opacity != 1.0 or self.opacity != 1.0
                    or (styles.has_rule("hatch") and styles.hatch != "none")):
                self._plan = None
            else:
                base_background, background = self.background_colors
                pad_style = TextualStyle(background=base_background + background).rich_style
                self._plan = (padding.left, padding.right, pad_style, background)
        return self._plan

    def render_lines(self, crop: Region) -> list[Strip]:
        plan = self._direct_plan()
        if plan is None:
            return super().render_lines(crop)
        left, right, pad_style, background = plan
        width = self.size.width
        lines = crop.line_range
        if left or right:
            strips = [self._pad(y, width, left, right, pad_style) for y in lines]
        else:
            strips = [self.draw_line(y, width) for y in lines]
        for line_filter in self.get_line_filters():
            strips = [strip.apply_filter(line_filter, background) for strip in strips]
        x1, x2 = crop.column_span
        if (x1, x2) != (0, width + left + right):
            strips = [strip.crop(x1, x2) for strip in strips]
        return strips

    def _pad(self, y: int, width: int, left: int, right: int, style: Style) -> Strip:
        """Line y with its padding, drawn as Textual draws padding (blank cells on the
        background alone), kept until the content strip changes."""
        content = self.draw_line(y, width)
        padded = self._padded if self._padded is not None else {}
        self._padded = padded
        known = padded.get(y)
        if known is not None and known[0] is content:
            return known[1]
        segments = [Segment(" " * left, style)] if left else []
        segments += content
        if right:
            segments.append(Segment(" " * right, style))
        strip = Strip(segments, content.cell_length + left + right)
        padded[y] = (content, strip)
        return strip
