"""The widget's own Rich style (colours from CSS), computed once instead of once per line.

`Widget.rich_style` walks the widget's ancestors each time it is read; read for every line of
every panel it cost ~9 ms a frame. It changes only when CSS does (theme, classes), which Textual
signals through `notify_style_update`.
"""

from __future__ import annotations

from rich.style import Style
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
