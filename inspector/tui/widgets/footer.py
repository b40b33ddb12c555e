"""The footer: Textual's, generated from the same binding lists as the help screen."""

from __future__ import annotations

from textual import events
from textual.widgets import Footer

PALETTE_WIDTH = 110  # narrower footers leave out the `^p palette` key


class KeyFooter(Footer):
    """A compact footer whose `^p palette` key (docked on the right) gives its room to the
    command keys on narrow terminals: at 80 columns it hid all but the last column of the keys
    running under it, where a stray letter of the next key showed. Ctrl+P still opens the
    palette, and F1 says so."""

    def __init__(self) -> None:
        super().__init__(compact=True)

    def on_resize(self, event: events.Resize) -> None:
        wide = event.size.width >= PALETTE_WIDTH
        if wide != self.show_command_palette:
            self.show_command_palette = wide
            self.refresh(recompose=True)
