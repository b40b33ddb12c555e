"""The branch picker: every branch of the session with its length, fork point and where it
diverges from the branch on screen; choosing one switches to it."""

from __future__ import annotations

from collections.abc import Sequence

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option

from inspector.tui.frames import BranchRow


class BranchPicker(ModalScreen[str | None]):
    """Pick a branch with the arrows and Enter; Escape keeps the one on screen."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="cancel-branch")]

    def __init__(self, rows: Sequence[BranchRow]) -> None:
        super().__init__()
        self.rows = tuple(rows)

    def compose(self) -> ComposeResult:
        with Vertical(id="prompt"):
            yield Label("Switch to a branch", id="prompt-title")
            yield OptionList(*(Option(row.describe(), id=row.name) for row in self.rows),
                             id="branch-list")

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        options.highlighted = next(i for i, row in enumerate(self.rows) if row.current)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)
