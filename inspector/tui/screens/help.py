"""F1: what the screen shows (each idea in a few sentences, every symbol, the mouse) and every
key, the keys generated from the same binding lists as the footer and the command palette."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from inspector.tui.bindings import APP_BINDINGS, MAIN_BINDINGS, SEQ2SEQ_BINDINGS
from inspector.tui.explain import CONCEPTS, MOUSE, SYMBOLS

PALETTE = ("Ctrl+P opens the command palette: open a checkpoint, switch zoo model, export the "
           "trace, save a screenshot. Escape or F1 closes this help.")
TYPING = ("Every printable key feeds the model one step (Enter too, where the model's vocabulary "
          "has a newline). A model opened while a paste is fed reads all of it, and the keys "
          "typed meanwhile. " + PALETTE)
SEQ2SEQ_TYPING = ("Every printable key is a source character for the encoder; Enter hands its "
                  "state over and the decoder runs to </s>. " + PALETTE)


class HelpScreen(ModalScreen[None]):
    """The key reference; Escape or F1 closes it."""

    BINDINGS = [Binding("escape,f1", "dismiss", "Close", id="close-help")]

    def __init__(self, *, seq2seq: bool = False) -> None:
        super().__init__()
        self.screen_bindings = SEQ2SEQ_BINDINGS if seq2seq else MAIN_BINDINGS
        self.typing = SEQ2SEQ_TYPING if seq2seq else TYPING

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-body"):
            yield Static(Text("rnn-inspect keys", style="bold"), id="help-title")
            yield Static(self.typing, id="help-typing")
            yield Static(Text("What you see", style="bold"), classes="help-heading")
            yield Static(self.pairs(CONCEPTS), id="help-concepts")
            yield Static(Text("Symbols and colours", style="bold"), classes="help-heading")
            yield Static(self.pairs(SYMBOLS), id="help-symbols")
            yield Static(Text("The mouse", style="bold"), classes="help-heading")
            yield Static(MOUSE, id="help-mouse")
            yield Static(Text("Keys", style="bold"), classes="help-heading")
            yield Static(self.key_table(), id="help-keys")

    @staticmethod
    def pairs(rows: tuple[tuple[str, str], ...]) -> Table:
        table = Table(box=None, show_header=False, padding=(0, 2, 0, 0))
        table.add_column("name", style="bold", no_wrap=True)
        table.add_column("meaning")
        for name, meaning in rows:
            table.add_row(name, meaning)
        return table

    def key_table(self) -> Table:
        table = Table(box=None, show_header=False, padding=(0, 2, 0, 0))
        table.add_column("key", style="bold", no_wrap=True)
        table.add_column("what it does")
        for binding in [*self.screen_bindings, *APP_BINDINGS]:
            table.add_row(self.app.get_key_display(binding), binding.tooltip or binding.description)
        return table
